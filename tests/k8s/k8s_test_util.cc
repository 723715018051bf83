#include "tests/k8s/k8s_test_util.h"

namespace quidditch::k8s::testing {

Result<op::OperatorOptions> TestOperatorOptions(KubeEnv& env, const std::string& ns,
                                                const std::string& identity) {
  op::OperatorOptions options;
  QD_ASSIGN_OR_RETURN(options.kube, env.ServiceAccountConfig(ns, "quidditch-operator"));
  options.ns = ns;
  options.identity = identity;
  options.health_port = -1;
  options.metrics_port = -1;
  options.node_heartbeat_timeout = std::chrono::minutes(10);
  return options;
}

Result<std::unique_ptr<controlplane::k8s::K8sControlPlane>> StartNodeControlPlane(
    KubeEnv& env, const std::string& ns) {
  controlplane::k8s::K8sControlPlaneOptions options;
  QD_ASSIGN_OR_RETURN(options.kube, env.ServiceAccountConfig(ns, "quidditch"));
  options.ns = ns;
  auto cp = std::make_unique<controlplane::k8s::K8sControlPlane>(std::move(options));
  QD_RETURN_IF_ERROR(cp->Start());
  return cp;
}

}  // namespace quidditch::k8s::testing
