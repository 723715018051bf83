// The shared ControlPlane conformance suite against Kubernetes mode: a K8sControlPlane (as the
// node service account) with an operator (as the operator service account) in a fresh namespace
// of a real kube-apiserver + etcd, per test.
#include <thread>

#include "controlplane/testing/conformance.h"
#include "tests/k8s/k8s_test_util.h"

namespace quidditch::k8s::testing {
namespace {

using controlplane::testing::ConformanceHarness;
using controlplane::testing::ConformanceTarget;
using controlplane::testing::ControlPlaneConformance;

class K8sHarness : public ConformanceHarness {
 public:
  K8sHarness(std::unique_ptr<op::Operator> op,
             std::unique_ptr<controlplane::k8s::K8sControlPlane> cp)
      : operator_(std::move(op)), cp_(std::move(cp)) {}
  ~K8sHarness() override {
    // Both at once: each waits about a second for its watches to notice.
    std::thread stop_operator([this] { operator_->Stop(); });
    cp_->Stop().PermitUncheckedError();  // Stop of a K8sControlPlane cannot fail
    stop_operator.join();
  }
  controlplane::ControlPlane* cp() override { return cp_.get(); }

 private:
  std::unique_ptr<op::Operator> operator_;
  std::unique_ptr<controlplane::k8s::K8sControlPlane> cp_;
};

std::unique_ptr<ConformanceHarness> MakeK8sHarness() {
  std::string why;
  KubeEnv* env = KubeEnv::Shared(&why);
  if (env == nullptr) {
    PrintSkipBanner(why);
    // GTEST_SKIP() returns void; record the skip and return no harness.
    GTEST_MESSAGE_(("no Kubernetes API server (" + why + ")").c_str(),
                   ::testing::TestPartResult::kSkip);
    return nullptr;
  }
  Result<std::string> ns = env->NewNamespace("conformance");
  if (!ns.ok()) {
    ADD_FAILURE() << ns.status();
    return nullptr;
  }
  Result<op::OperatorOptions> options = TestOperatorOptions(*env, *ns, "operator-0");
  if (!options.ok()) {
    ADD_FAILURE() << options.status();
    return nullptr;
  }
  Result<std::unique_ptr<op::Operator>> op = op::Operator::Start(*options);
  if (!op.ok()) {
    ADD_FAILURE() << "operator: " << op.status();
    return nullptr;
  }
  Result<std::unique_ptr<controlplane::k8s::K8sControlPlane>> cp = StartNodeControlPlane(*env, *ns);
  if (!cp.ok()) {
    ADD_FAILURE() << "control plane: " << cp.status();
    return nullptr;
  }
  return std::make_unique<K8sHarness>(std::move(op).value(), std::move(cp).value());
}

INSTANTIATE_TEST_SUITE_P(Kubernetes, ControlPlaneConformance,
                         ::testing::Values(ConformanceTarget{"OperatorAndNode", MakeK8sHarness}),
                         controlplane::testing::ConformanceTargetName);

}  // namespace
}  // namespace quidditch::k8s::testing
