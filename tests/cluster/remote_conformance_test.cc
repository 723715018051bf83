// The shared ControlPlane conformance suite against three real master processes, reached the
// way a coordination or data node reaches them: through RemoteControlPlane over gRPC.
#include "controlplane/remote/remote_control_plane.h"
#include "controlplane/testing/conformance.h"
#include "tests/cluster/master_cluster.h"

namespace quidditch::controlplane::testing {
namespace {

class ThreeMastersHarness : public ConformanceHarness {
 public:
  ThreeMastersHarness() {
    cluster_.StartAll();
    Status formed = cluster_.WaitForLeader(std::chrono::seconds(30), 3);
    EXPECT_TRUE(formed.ok()) << formed << "\n" << cluster_.LogOf(0);
    remote::RemoteOptions options;
    options.masters = cluster_.grpc_addresses();
    remote_ = std::make_unique<remote::RemoteControlPlane>(options);
    Status started = remote_->Start();
    EXPECT_TRUE(started.ok()) << started;
  }
  ~ThreeMastersHarness() override { remote_->Stop().PermitUncheckedError(); }
  ControlPlane* cp() override { return remote_.get(); }

 private:
  quidditch::testing::MasterCluster cluster_;
  std::unique_ptr<remote::RemoteControlPlane> remote_;
};

INSTANTIATE_TEST_SUITE_P(RaftThreeMasterProcesses, ControlPlaneConformance,
                         ::testing::Values(ConformanceTarget{
                             "RaftThreeMasterProcesses",
                             [] { return std::make_unique<ThreeMastersHarness>(); }}),
                         ConformanceTargetName);

}  // namespace
}  // namespace quidditch::controlplane::testing
