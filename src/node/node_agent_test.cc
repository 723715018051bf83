#include "node/node_agent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "controlplane/testing/direct_control_plane.h"

namespace quidditch::node {
namespace {

using std::chrono::milliseconds;

cluster::NodeInfo Self() {
  cluster::NodeInfo self;
  self.node_id = "data-0";
  self.address = "127.0.0.1";
  self.roles.data = true;
  return self;
}

// Waits (bounded) until `pred` holds for the control plane's node "data-0".
template <typename Pred>
bool WaitForNode(controlplane::ControlPlane& cp, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<cluster::NodeInfo> node = cp.GetNode({}, "data-0");
    if (node.ok() && pred(*node)) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(NodeAgent, RegistersWithResourcesAndHeartbeats) {
  controlplane::testing::DirectControlPlane cp(controlplane::testing::Allocation::kManual);
  ASSERT_TRUE(cp.Start().ok());
  NodeAgent agent(&cp, Self(), std::filesystem::temp_directory_path().string(), milliseconds(20));
  agent.Start();
  ASSERT_TRUE(WaitForNode(cp, [](const cluster::NodeInfo& n) {
    return n.state == cluster::NodeState::kActive && n.resources.cpu_cores > 0 &&
           n.resources.memory_bytes > 0 && n.resources.disk_bytes > 0;
  }));
  const int64_t first_seen = cp.GetNode({}, "data-0")->last_seen_ms;
  // Heartbeats keep refreshing the node.
  EXPECT_TRUE(
      WaitForNode(cp, [&](const cluster::NodeInfo& n) { return n.last_seen_ms > first_seen; }));
  agent.Stop();
  ASSERT_TRUE(cp.Stop().ok());
}

TEST(NodeAgent, RegistersAgainAfterBeingUnregistered) {
  controlplane::testing::DirectControlPlane cp(controlplane::testing::Allocation::kManual);
  ASSERT_TRUE(cp.Start().ok());
  NodeAgent agent(&cp, Self(), std::filesystem::temp_directory_path().string(), milliseconds(20));
  agent.Start();
  ASSERT_TRUE(WaitForNode(cp, [](const cluster::NodeInfo&) { return true; }));
  ASSERT_TRUE(cp.UnregisterNode({}, "data-0").ok());
  // The next heartbeat gets NotFound and the agent registers the node again.
  EXPECT_TRUE(WaitForNode(
      cp, [](const cluster::NodeInfo& n) { return n.state == cluster::NodeState::kActive; }));
  agent.Stop();
  ASSERT_TRUE(cp.Stop().ok());
}

TEST(NodeAgent, KeepsRetryingUntilTheControlPlaneAcceptsIt) {
  controlplane::testing::DirectControlPlane cp(controlplane::testing::Allocation::kManual);
  // Not started yet: registration fails (Unavailable) and is retried.
  NodeAgent agent(&cp, Self(), std::filesystem::temp_directory_path().string(), milliseconds(20));
  agent.Start();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(cp.GetNode({}, "data-0").status().IsNotFound());
  ASSERT_TRUE(cp.Start().ok());
  EXPECT_TRUE(WaitForNode(cp, [](const cluster::NodeInfo&) { return true; }));
  agent.Stop();
  ASSERT_TRUE(cp.Stop().ok());
}

TEST(NodeAgent, MeasuresThisMachine) {
  cluster::NodeResources r =
      NodeAgent::MeasureResources(std::filesystem::temp_directory_path().string());
  EXPECT_GT(r.cpu_cores, 0);
  EXPECT_GT(r.memory_bytes, 0);
  EXPECT_GT(r.disk_bytes, 0);
  EXPECT_LE(r.disk_available, r.disk_bytes);
}

}  // namespace
}  // namespace quidditch::node
