// The shared ControlPlane conformance suite against a one-member Raft control plane in this
// process (real libraft, real files and fsync, loopback TCP).
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/testing/ports.h"
#include "controlplane/raft/raft_control_plane.h"
#include "controlplane/testing/conformance.h"

namespace quidditch::controlplane::raft {

namespace fs = std::filesystem;

// Not in an anonymous namespace: the instantiation below names it from another namespace.
class SingleMemberHarness : public testing::ConformanceHarness {
 public:
  SingleMemberHarness() {
    std::string tmpl = (fs::temp_directory_path() / "qd-raft-conf-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    RaftOptions options;
    options.raft.node_id = "master-0";
    options.raft.bind_addr = "127.0.0.1";
    options.raft.raft_port = quidditch::testing::FreeLoopbackPort();
    options.raft.data_dir = dir_ + "/raft";
    options.raft.bootstrap_cluster = true;
    options.raft.heartbeat_timeout = std::chrono::milliseconds(100);
    options.raft.election_timeout = std::chrono::milliseconds(300);
    // Nodes registered by the suite send no heartbeats; they must not be marked DOWN midway.
    options.node_heartbeat_timeout = std::chrono::minutes(10);
    cp_ = std::make_unique<RaftControlPlane>(options);
    Status s = cp_->Start();
    EXPECT_TRUE(s.ok()) << s;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!cp_->IsHealthy() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(cp_->IsHealthy());
  }
  ~SingleMemberHarness() override {
    cp_->Stop().PermitUncheckedError();  // the suite checks Stop itself where it matters
    cp_.reset();
    fs::remove_all(dir_);
  }
  ControlPlane* cp() override { return cp_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<RaftControlPlane> cp_;
};

}  // namespace quidditch::controlplane::raft

namespace quidditch::controlplane::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(RaftOneMaster, ControlPlaneConformance,
                         ::testing::Values(ConformanceTarget{
                             "RaftOneMaster",
                             [] { return std::make_unique<raft::SingleMemberHarness>(); }}),
                         ConformanceTargetName);

}  // namespace
}  // namespace quidditch::controlplane::testing
