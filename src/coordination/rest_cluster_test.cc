#include "coordination/rest_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "coordination/testing/rest_fixtures.h"

namespace quidditch {
namespace {

using controlplane::CallContext;
using controlplane::CreateIndexRequest;
using controlplane::testing::Allocation;
using controlplane::testing::DirectControlPlane;
using nlohmann::json;

using rest::fixtures::Ctx;
using rest::fixtures::TestRequest;

HttpRequest Get(std::string_view target) { return TestRequest(HttpMethod::kGet, target); }

class RestClusterTest : public rest::fixtures::ManualClusterRestTest {
 protected:
  void SetUp() override {
    ManualClusterRestTest::SetUp();
    ASSERT_TRUE(RegisterClusterHandlers(NodeIdentity{"n1", "qd-test"}, &cp_, &router_).ok());
  }
};

TEST_F(RestClusterTest, HealthOfEmptyClusterIsGreen) {
  json body = Body("/_cluster/health");
  EXPECT_EQ(body["cluster_name"], "qd-test");
  EXPECT_EQ(body["status"], "green");
  EXPECT_EQ(body["timed_out"], false);
  EXPECT_EQ(body["number_of_nodes"], 0);
  EXPECT_EQ(body["discovered_master"], true);
  EXPECT_EQ(body["discovered_cluster_manager"], true);
  EXPECT_EQ(body["active_shards_percent_as_number"], 100.0);
  for (const char* key : {"delayed_unassigned_shards", "number_of_pending_tasks",
                          "number_of_in_flight_fetch", "task_max_waiting_in_queue_millis"}) {
    EXPECT_EQ(body[key], 0) << key;
  }
  EXPECT_FALSE(body.contains("indices"));
}

TEST_F(RestClusterTest, HealthGreenYellowRedWithCounts) {
  AddNode("n1", Roles{true, true, true});
  AddNode("n2", Roles{false, false, true});
  AddNode("n3", Roles{false, true, false});
  CreateIndex("logs", 2, 1);
  StartCopy("logs", 0, "n1");
  StartCopy("logs", 1, "n2");
  StartCopy("logs", 0, "n2");
  StartCopy("logs", 1, "n1");
  json body = Body("/_cluster/health");
  EXPECT_EQ(body["status"], "green");
  EXPECT_EQ(body["number_of_nodes"], 3);
  EXPECT_EQ(body["number_of_data_nodes"], 2);
  EXPECT_EQ(body["active_primary_shards"], 2);
  EXPECT_EQ(body["active_shards"], 4);
  EXPECT_EQ(body["unassigned_shards"], 0);
  EXPECT_EQ(body["active_shards_percent_as_number"], 100.0);

  CreateIndex("metrics", 1, 1);  // primary and replica unassigned: red
  body = Body("/_cluster/health");
  EXPECT_EQ(body["status"], "red");
  EXPECT_EQ(body["unassigned_shards"], 2);
  EXPECT_DOUBLE_EQ(body["active_shards_percent_as_number"].get<double>(), 100.0 * 4 / 6);

  ASSERT_TRUE(cp_.AllocateShard(Ctx(), "metrics", 0, "n1").ok());
  body = Body("/_cluster/health");
  EXPECT_EQ(body["status"], "red");
  EXPECT_EQ(body["initializing_shards"], 1);
  EXPECT_EQ(body["unassigned_shards"], 1);

  ASSERT_TRUE(cp_.UpdateShardState(Ctx(), "metrics", 0, "n1", cluster::ShardState::kStarted).ok());
  body = Body("/_cluster/health");
  EXPECT_EQ(body["status"], "yellow");
  EXPECT_EQ(body["active_primary_shards"], 3);
  EXPECT_EQ(body["active_shards"], 5);
  EXPECT_EQ(body["initializing_shards"], 0);
  EXPECT_EQ(body["unassigned_shards"], 1);
}

TEST_F(RestClusterTest, HealthLevelIndicesAndShards) {
  BuildGreenAndYellow();
  json body = Body("/_cluster/health?level=indices");
  EXPECT_EQ(body["status"], "yellow");
  ASSERT_TRUE(body.contains("indices"));
  EXPECT_EQ(body["indices"]["green"], (json{{"status", "green"},
                                            {"number_of_shards", 1},
                                            {"number_of_replicas", 0},
                                            {"active_primary_shards", 1},
                                            {"active_shards", 1},
                                            {"relocating_shards", 0},
                                            {"initializing_shards", 0},
                                            {"unassigned_shards", 0}}));
  EXPECT_EQ(body["indices"]["yellow"]["status"], "yellow");
  EXPECT_EQ(body["indices"]["yellow"]["number_of_replicas"], 1);
  EXPECT_EQ(body["indices"]["yellow"]["unassigned_shards"], 1);

  body = Body("/_cluster/health?level=shards");
  EXPECT_EQ(body["indices"]["yellow"]["shards"]["0"]["status"], "yellow");
  EXPECT_EQ(body["indices"]["yellow"]["shards"]["0"]["primary_active"], true);

  Body("/_cluster/health?level=bogus", 400);
}

TEST_F(RestClusterTest, HealthOfSelectedIndices) {
  BuildGreenAndYellow();
  json body = Body("/_cluster/health/green");
  EXPECT_EQ(body["status"], "green");
  EXPECT_EQ(body["active_shards"], 1);
  EXPECT_EQ(body["number_of_nodes"], 3);  // nodes are not filtered

  body = Body("/_cluster/health/green,yellow?level=indices");
  EXPECT_EQ(body["status"], "yellow");
  EXPECT_EQ(body["active_shards"], 2);
  EXPECT_EQ(body["indices"].size(), 2u);

  body = Body("/_cluster/health/yel*?level=indices");
  EXPECT_EQ(body["status"], "yellow");
  EXPECT_EQ(body["indices"].size(), 1u);
}

TEST_F(RestClusterTest, HealthOfMissingIndexIsRedLikeOpenSearch) {
  BuildGreenAndYellow();
  // As TransportClusterHealthAction: the existing indices are counted, the answer is red, and
  // the missing index is waited for until the timeout.
  auto start = std::chrono::steady_clock::now();
  json body = Body("/_cluster/health/green,nope?level=indices&timeout=100ms", 408);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(body["status"], "red");
  EXPECT_EQ(body["timed_out"], true);
  EXPECT_EQ(body["number_of_nodes"], 3);
  EXPECT_EQ(body["active_shards"], 1);
  EXPECT_EQ(body["indices"].size(), 1u);
  body = Body("/_cluster/health/nope?wait_for_status=red&timeout=100ms", 408);
  EXPECT_EQ(body["status"], "red");
  // The index appearing ends the wait.
  std::thread creator([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CreateIndex("later", 1, 0);
  });
  body = Body("/_cluster/health/later?timeout=10s");
  creator.join();
  EXPECT_EQ(body["timed_out"], false);
  EXPECT_EQ(body["status"], "red");  // its primary is unassigned (manual allocation)
  // A pattern matching nothing is not missing.
  body = Body("/_cluster/health/nope*");
  EXPECT_EQ(body["status"], "green");
}

TEST_F(RestClusterTest, WaitForNoInitializingShardsAndNodesAndActiveShards) {
  BuildGreenAndYellow();
  ASSERT_TRUE(cp_.AllocateShard(Ctx(), "yellow", 0, "n2").ok());  // replica initializing
  json body = Body("/_cluster/health?wait_for_no_initializing_shards=true&timeout=100ms", 408);
  EXPECT_EQ(body["initializing_shards"], 1);
  EXPECT_EQ(body["timed_out"], true);
  std::thread starter([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(cp_.UpdateShardState(Ctx(), "yellow", 0, "n2", cluster::ShardState::kStarted).ok());
  });
  body = Body("/_cluster/health?wait_for_no_initializing_shards&timeout=10s");
  starter.join();
  EXPECT_EQ(body["initializing_shards"], 0);
  EXPECT_EQ(body["status"], "green");
  EXPECT_EQ(body["timed_out"], false);

  EXPECT_EQ(Body("/_cluster/health?wait_for_nodes=3&timeout=50ms")["timed_out"], false);
  EXPECT_EQ(Body("/_cluster/health?wait_for_nodes=>=2&timeout=50ms")["timed_out"], false);
  EXPECT_EQ(Body("/_cluster/health?wait_for_nodes=ge(3)&timeout=50ms")["timed_out"], false);
  EXPECT_EQ(Body("/_cluster/health?wait_for_nodes=4&timeout=50ms", 408)["timed_out"], true);
  EXPECT_EQ(Body("/_cluster/health?wait_for_nodes=lt(3)&timeout=50ms", 408)["timed_out"], true);
  Body("/_cluster/health?wait_for_nodes=x", 400);
  EXPECT_EQ(Body("/_cluster/health?wait_for_active_shards=all&timeout=50ms")["timed_out"], false);
  EXPECT_EQ(Body("/_cluster/health?wait_for_active_shards=4&timeout=50ms", 408)["timed_out"], true);
  Body("/_cluster/health?wait_for_no_initializing_shards=maybe", 400);
}

TEST_F(RestClusterTest, WaitForStatusAlreadySatisfiedReturnsAtOnce) {
  BuildGreenAndYellow();
  auto start = std::chrono::steady_clock::now();
  json body = Body("/_cluster/health?wait_for_status=yellow&timeout=10s");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(body["status"], "yellow");
  EXPECT_EQ(body["timed_out"], false);

  body = Body("/_cluster/health/green?wait_for_status=green&timeout=10s");
  EXPECT_EQ(body["status"], "green");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(RestClusterTest, WaitForGreenWithUnassignedReplicaTimesOut) {
  BuildGreenAndYellow();
  auto start = std::chrono::steady_clock::now();
  json body = Body("/_cluster/health?wait_for_status=green&timeout=200ms", 408);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(body["timed_out"], true);
  EXPECT_EQ(body["status"], "yellow");
}

TEST_F(RestClusterTest, WaitForStatusSeesLaterChange) {
  BuildGreenAndYellow();
  std::thread starter([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    StartCopy("yellow", 0, "n2");
  });
  json body = Body("/_cluster/health?wait_for_status=green&timeout=10s");
  starter.join();
  EXPECT_EQ(body["status"], "green");
  EXPECT_EQ(body["timed_out"], false);
}

TEST_F(RestClusterTest, HealthHumanAddsReadableTwins) {
  BuildGreenAndYellow();
  json body = Body("/_cluster/health");
  EXPECT_FALSE(body.contains("active_shards_percent"));
  EXPECT_FALSE(body.contains("task_max_waiting_in_queue"));
  body = Body("/_cluster/health?human");
  EXPECT_EQ(body["active_shards_percent"], "66.7%");
  EXPECT_EQ(body["task_max_waiting_in_queue"], "0s");
  EXPECT_EQ(body["task_max_waiting_in_queue_millis"], 0);
}

TEST_F(RestClusterTest, HealthRejectsBadParameters) {
  Body("/_cluster/health?wait_for_status=purple", 400);
  Body("/_cluster/health?wait_for_status=green&timeout=5x", 400);
}

TEST_F(RestClusterTest, NodesInfoShape) {
  BuildGreenAndYellow();
  json body = Body("/_nodes");
  EXPECT_EQ(body["_nodes"], (json{{"total", 3}, {"successful", 3}, {"failed", 0}}));
  EXPECT_EQ(body["cluster_name"], "qd-test");
  ASSERT_EQ(body["nodes"].size(), 3u);
  const json& n1 = body["nodes"]["n1"];
  EXPECT_EQ(n1["name"], "n1");
  EXPECT_EQ(n1["transport_address"], "10.0.0.1:9300");
  EXPECT_EQ(n1["host"], "10.0.0.1");
  EXPECT_EQ(n1["ip"], "10.0.0.1");
  EXPECT_EQ(n1["version"], "2.19.0");
  EXPECT_EQ(n1["build_type"], "tar");
  EXPECT_EQ(n1["build_hash"], BuildHash());
  EXPECT_EQ(n1["roles"], (json{"cluster_manager", "data"}));
  EXPECT_EQ(n1["http"],
            (json{{"publish_address", "10.0.0.1:9200"}, {"bound_address", {"10.0.0.1:9200"}}}));
  EXPECT_EQ(body["nodes"]["n3"]["roles"], json::array());

  body = Body("/_nodes/n2,n3,nope");
  EXPECT_EQ(body["_nodes"]["total"], 2);
  EXPECT_EQ(body["nodes"].size(), 2u);
  EXPECT_TRUE(body["nodes"].contains("n2"));
  body = Body("/_nodes/_all");
  EXPECT_EQ(body["nodes"].size(), 3u);
}

// Node specifications as OpenSearch resolves them (n1: cluster manager + data, n2: data, n3:
// coordinating only; this node is n1).
TEST_F(RestClusterTest, NodeSpecifications) {
  BuildGreenAndYellow();
  auto names = [&](const std::string& spec) {
    const json nodes = Body("/_nodes/" + spec)["nodes"];
    std::vector<std::string> out;
    for (const auto& [id, node] : nodes.items()) out.push_back(id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("_local"), V{"n1"});
  EXPECT_EQ(names("_master"), V{"n1"});
  EXPECT_EQ(names("_cluster_manager"), V{"n1"});
  EXPECT_EQ(names("data:true"), (V{"n1", "n2"}));
  EXPECT_EQ(names("_all,data:false"), V{"n3"});
  EXPECT_EQ(names("_all,master:false,data:false"), V{"n3"});
  EXPECT_EQ(names("cluster_manager:true,n3"), (V{"n1", "n3"}));
  EXPECT_EQ(names("n*"), (V{"n1", "n2", "n3"}));
  const std::string n2_address = Body("/_nodes/n2")["nodes"]["n2"]["ip"];
  EXPECT_EQ(names(n2_address), V{"n2"});
  EXPECT_EQ(names("nope"), V{});
}

TEST_F(RestClusterTest, ClusterStateShape) {
  BuildGreenAndYellow();
  cluster::StatePtr state = *cp_.GetClusterState(Ctx());
  json body = Body("/_cluster/state");
  EXPECT_EQ(body["cluster_name"], "qd-test");
  ASSERT_EQ(state->cluster_uuid.size(), 22u) << "the control plane chose it as it started";
  EXPECT_EQ(body["cluster_uuid"], state->cluster_uuid);
  EXPECT_EQ(body["metadata"]["cluster_uuid"], state->cluster_uuid);
  EXPECT_EQ(body["metadata"]["cluster_uuid_committed"], true);
  EXPECT_EQ(body["version"], state->version);
  EXPECT_TRUE(body["state_uuid"].is_string());
  EXPECT_EQ(body["master_node"], "n1");
  EXPECT_EQ(body["nodes"]["n2"]["transport_address"], "10.0.0.2:9300");
  EXPECT_EQ(body["nodes"]["n2"]["roles"], (json{"data"}));

  const json& meta = body["metadata"]["indices"]["yellow"];
  EXPECT_EQ(meta["state"], "open");
  EXPECT_EQ(meta["settings"]["index"]["number_of_shards"], "1");
  EXPECT_EQ(meta["settings"]["index"]["number_of_replicas"], "1");
  EXPECT_EQ(meta["settings"]["index"]["uuid"], state->FindIndex("yellow")->uuid);
  EXPECT_EQ(meta["settings"]["index"]["refresh_interval"], "1s");
  EXPECT_TRUE(meta["mappings"].is_object());

  const json& copies = body["routing_table"]["indices"]["yellow"]["shards"]["0"];
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0]["state"], "STARTED");
  EXPECT_EQ(copies[0]["primary"], true);
  EXPECT_EQ(copies[0]["node"], "n1");
  EXPECT_EQ(copies[0]["shard"], 0);
  EXPECT_EQ(copies[0]["index"], "yellow");
  EXPECT_EQ(copies[0]["allocation_id"]["id"],
            state->FindIndex("yellow")->routing.shards[0].copies[0].allocation_id);
  EXPECT_EQ(copies[1]["state"], "UNASSIGNED");
  EXPECT_EQ(copies[1]["primary"], false);
  EXPECT_TRUE(copies[1]["node"].is_null());
  EXPECT_FALSE(copies[1].contains("allocation_id"));
}

TEST_F(RestClusterTest, ClusterStateMetricFilter) {
  BuildGreenAndYellow();
  json body = Body("/_cluster/state/version,master_node");
  EXPECT_TRUE(body.contains("version"));
  EXPECT_EQ(body["master_node"], "n1");
  EXPECT_FALSE(body.contains("nodes"));
  EXPECT_FALSE(body.contains("metadata"));
  EXPECT_FALSE(body.contains("routing_table"));
  body = Body("/_cluster/state/routing_table");
  EXPECT_TRUE(body.contains("routing_table"));
  EXPECT_FALSE(body.contains("version"));
  Body("/_cluster/state/bogus", 400);
}

TEST_F(RestClusterTest, ClusterStateOfSomeIndices) {
  BuildGreenAndYellow();
  using V = std::vector<std::string>;
  auto indices = [&](std::string_view target, const char* section) {
    const json body = Body(target);
    V out;
    for (const auto& [name, value] : body[section]["indices"].items()) out.push_back(name);
    return out;
  };
  EXPECT_EQ(indices("/_cluster/state/metadata/yellow", "metadata"), V{"yellow"});
  EXPECT_EQ(indices("/_cluster/state/routing_table/yel*,nope", "routing_table"), V{"yellow"});
  EXPECT_EQ(indices("/_cluster/state/metadata/_all", "metadata"), (V{"green", "yellow"}));
  EXPECT_EQ(indices("/_cluster/state/metadata/nope", "metadata"), V{});  // lenient by default
  Body("/_cluster/state/metadata/nope?ignore_unavailable=false", 404);
  json body = Body("/_cluster/state/master_node,metadata/green");
  EXPECT_EQ(body["master_node"], "n1");
  EXPECT_FALSE(body.contains("routing_table"));
}

TEST_F(RestClusterTest, NoMasterNodeIsNull) {
  AddNode("n2", Roles{false, false, true});
  json body = Body("/_cluster/state");
  EXPECT_TRUE(body["master_node"].is_null());
}

// A control plane whose state reads fail, as when no master can be reached.
class FailingControlPlane : public DirectControlPlane {
 public:
  FailingControlPlane() : DirectControlPlane(Allocation::kManual) {}
  Result<cluster::StatePtr> GetClusterState(const CallContext&) override {
    return Status::Unavailable("no leader");
  }
};

TEST(RestClusterStandaloneTest, ControlPlaneErrorIs503) {
  FailingControlPlane cp;
  ASSERT_TRUE(cp.Start().ok());
  Router router;
  ASSERT_TRUE(RegisterClusterHandlers(NodeIdentity{"n1", "qd"}, &cp, &router).ok());
  for (const char* target : {"/_cluster/health", "/_nodes", "/_cluster/state"}) {
    HttpResponse response = router.Dispatch(Get(target));
    EXPECT_EQ(response.status, 503) << target;
    EXPECT_EQ(json::parse(response.body)["error"]["type"], "master_not_discovered_exception")
        << target;
  }
  EXPECT_TRUE(cp.Stop().ok());
}

}  // namespace
}  // namespace quidditch
