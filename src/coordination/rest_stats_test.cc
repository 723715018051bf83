#include "coordination/rest_stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "coordination/rest_api.h"
#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using controlplane::CallContext;
using controlplane::CreateIndexRequest;
using nlohmann::json;

using fixtures::Ctx;
using fixtures::TestRequest;

class StatsTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterStatsHandlers(context_, &router_).ok());
  }
};

TEST_F(StatsTest, IndexStatsSumShards) {
  CreateIndex("logs", 2);
  CreateIndex("other", 1);
  IndexDocs("logs", 2, 5);
  IndexDocs("other", 1, 2);
  ASSERT_TRUE(node_.shard_service()->Get(data::ShardKey{"other", 0}, "1", true).ok());

  json body = Body("/_stats");
  EXPECT_EQ(body["_shards"], (json{{"total", 3}, {"successful", 3}, {"failed", 0}}));
  const json& all = body["_all"]["primaries"];
  EXPECT_EQ(all["docs"], (json{{"count", 7}, {"deleted", 0}}));
  EXPECT_GT(all["store"]["size_in_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(all["indexing"]["index_total"], 7);
  EXPECT_EQ(all["get"]["total"], 1);
  EXPECT_EQ(all["get"]["exists_total"], 1);
  EXPECT_GE(all["refresh"]["total"].get<int64_t>(), 2);
  for (const char* section : {"search", "merges", "flush", "translog", "segments", "query_cache",
                              "fielddata", "request_cache"}) {
    EXPECT_TRUE(all.contains(section)) << section;
  }
  EXPECT_EQ(body["_all"]["total"], body["_all"]["primaries"]);  // no replicas
  ASSERT_EQ(body["indices"].size(), 2u);
  EXPECT_EQ(body["indices"]["logs"]["primaries"]["docs"]["count"], 5);
  EXPECT_EQ(body["indices"]["other"]["primaries"]["docs"]["count"], 2);
  cluster::StatePtr state = *node_.control_plane()->GetClusterState(Ctx());
  EXPECT_EQ(body["indices"]["logs"]["uuid"], state->FindIndex("logs")->uuid);

  body = Body("/logs/_stats/docs,store");
  EXPECT_EQ(body["indices"].size(), 1u);
  EXPECT_EQ(body["_shards"]["total"], 2);
  std::vector<std::string> keys;
  for (auto it = body["_all"]["primaries"].begin(); it != body["_all"]["primaries"].end(); ++it) {
    keys.push_back(it.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"docs", "store"}));
  EXPECT_EQ(body["_all"]["primaries"]["docs"]["count"], 5);

  // merge is the metric, merges the section.
  EXPECT_TRUE(Body("/_stats/merge")["_all"]["total"].contains("merges"));
  body = Body("/_stats/docs,bogus", 400);
  EXPECT_EQ(body["error"]["type"], "illegal_argument_exception");
  EXPECT_EQ(body["error"]["reason"],
            "request [/_stats/docs,bogus] contains unrecognized metric: [bogus]");
  EXPECT_EQ(Body("/nope/_stats", 404)["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(Body("/nope*/_stats")["indices"], json::object());
}

TEST_F(StatsTest, SearchCountersSumTheShardServicesCounters) {
  CreateIndex("logs", 2);
  IndexDocs("logs", 2, 4);
  data::QueryPhaseRequest query;
  query.size = 10;
  for (int shard = 0; shard < 2; ++shard) {
    ASSERT_TRUE(node_.shard_service()->ExecuteQuery(data::ShardKey{"logs", shard}, query).ok());
  }
  const json search = Body("/logs/_stats/search")["_all"]["primaries"]["search"];
  EXPECT_EQ(search["query_total"], 2) << search.dump();
  EXPECT_EQ(search["open_contexts"], 2) << "each reader waits for its fetch phase";
  EXPECT_EQ(search["query_current"], 0);
}

TEST_F(StatsTest, HumanAddsReadableTwins) {
  CreateIndex("logs", 1);
  IndexDocs("logs", 1, 3);
  json store = Body("/_stats/store")["_all"]["primaries"]["store"];
  EXPECT_FALSE(store.contains("size"));
  store = Body("/_stats/store?human")["_all"]["primaries"]["store"];
  ASSERT_TRUE(store["size"].is_string());
  std::string size = store["size"];
  EXPECT_TRUE(size.ends_with("b")) << size;
  json indexing = Body("/_stats/indexing?human=true")["_all"]["primaries"]["indexing"];
  EXPECT_TRUE(indexing["index_time"].is_string());
  EXPECT_TRUE(indexing["index_time_in_millis"].is_number());
}

TEST_F(StatsTest, NodesStatsAndHttp) {
  CreateIndex("logs", 2);
  IndexDocs("logs", 2, 4);
  const std::string id = data::testing::SingleNode::kNodeId;
  json body = Body("/_nodes/stats");
  EXPECT_EQ(body["_nodes"], (json{{"total", 1}, {"successful", 1}, {"failed", 0}}));
  EXPECT_EQ(body["cluster_name"], "quidditch-test");
  const json& node = body["nodes"][id];
  EXPECT_EQ(node["name"], id);
  EXPECT_EQ(node["ip"], "127.0.0.1");
  EXPECT_EQ(node["roles"], (json{"data"}));
  EXPECT_EQ(node["indices"]["docs"]["count"], 4);
  EXPECT_TRUE(node["timestamp"].is_number());
  EXPECT_FALSE(node.contains("jvm"));  // not measured

  body = Body("/_nodes/" + id + "/stats/indices");
  EXPECT_EQ(body["nodes"][id]["indices"]["indexing"]["index_total"], 4);
  EXPECT_EQ(Body("/_nodes/other/stats")["nodes"], json::object());
  EXPECT_FALSE(Body("/_nodes/stats/jvm")["nodes"][id].contains("indices"));
  Body("/_nodes/stats/bogus", 400);

  body = Body("/_nodes/http");
  EXPECT_EQ(body["nodes"][id]["http"]["publish_address"], "127.0.0.1:0");
  EXPECT_EQ(body["nodes"][id]["http"]["max_content_length_in_bytes"], 100 * 1024 * 1024);
  EXPECT_EQ(body["nodes"][id]["version"], "2.19.0");
  EXPECT_EQ(Body("/_nodes/_all/http")["nodes"].size(), 1u);
}

TEST_F(StatsTest, ClusterSettings) {
  EXPECT_EQ(Body("/_cluster/settings"),
            (json{{"persistent", json::object()}, {"transient", json::object()}}));
  EXPECT_TRUE(Body("/_cluster/settings?include_defaults=true").contains("defaults"));

  HttpResponse response = Call(HttpMethod::kPut, "/_cluster/settings",
                               R"({"persistent":{"cluster":{"routing.allocation.enable":"all"}}})");
  EXPECT_EQ(response.status, 400);
  json body = json::parse(response.body);
  EXPECT_EQ(body["error"]["type"], "illegal_argument_exception");
  EXPECT_EQ(body["error"]["reason"],
            "persistent setting [cluster.routing.allocation.enable], not recognized");
  body = json::parse(Call(HttpMethod::kPut, "/_cluster/settings",
                          R"({"persistent":{"a":1},"transient":{"b":null}})")
                         .body);
  EXPECT_EQ(body["error"]["reason"], "transient setting [b], not recognized");
  response = Call(HttpMethod::kPut, "/_cluster/settings", R"({"persistent":{}})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(response.body)["error"]["type"], "action_request_validation_exception");
  EXPECT_EQ(Call(HttpMethod::kPut, "/_cluster/settings", "{bad").status, 400);
}

TEST_F(StatsTest, AllocationExplain) {
  CreateIndex("solo", 1);
  HttpResponse response = Call(HttpMethod::kGet, "/_cluster/allocation/explain");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(response.body)["error"]["reason"],
            "No shard was specified in the request which means the response should explain a "
            "randomly-chosen unassigned shard, but there are no unassigned shards in this "
            "cluster.");

  // One node cannot hold a replica next to its primary.
  CreateIndex("pair", 1, 1);
  json body = Body("/_cluster/allocation/explain");
  EXPECT_EQ(body["index"], "pair");
  EXPECT_EQ(body["shard"], 0);
  EXPECT_EQ(body["primary"], false);
  EXPECT_EQ(body["current_state"], "unassigned");
  EXPECT_EQ(body["can_allocate"], "no");
  ASSERT_EQ(body["node_allocation_decisions"].size(), 1u);
  EXPECT_EQ(body["node_allocation_decisions"][0]["node_decision"], "no");
  EXPECT_EQ(body["node_allocation_decisions"][0]["deciders"][0]["decider"], "same_shard");
  // The unassigned replica counts in _shards.total only.
  EXPECT_EQ(Body("/pair/_stats")["_shards"],
            (json{{"total", 2}, {"successful", 1}, {"failed", 0}}));

  response = Call(HttpMethod::kPost, "/_cluster/allocation/explain",
                  R"({"index":"solo","shard":0,"primary":true})");
  ASSERT_EQ(response.status, 200) << response.body;
  body = json::parse(response.body);
  EXPECT_EQ(body["current_state"], "started");
  EXPECT_EQ(body["current_node"]["id"], data::testing::SingleNode::kNodeId);
  EXPECT_EQ(body["can_remain_on_current_node"], "yes");

  response = Call(HttpMethod::kPost, "/_cluster/allocation/explain", R"({"index":"solo"})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(response.body)["error"]["reason"],
            "Validation Failed: 1: shard must be specified;2: primary must be specified;");
  response = Call(HttpMethod::kPost, "/_cluster/allocation/explain",
                  R"({"index":"nope","shard":0,"primary":true})");
  EXPECT_EQ(response.status, 404);
}

// The whole API registers without route conflicts, and these endpoints answer through it.
TEST(StatsRestApiTest, RegisteredWithTheWholeApi) {
  data::testing::SingleNode node;
  ASSERT_TRUE(node.status().ok()) << node.status();
  Router router;
  Status s = RegisterRestApi(node.context(), &router);
  ASSERT_TRUE(s.ok()) << s;
  for (const char* target : {"/_stats", "/_nodes/stats", "/_nodes/http", "/_cluster/settings",
                             "/_cat/indices", "/_cat/health", "/_cluster/health"}) {
    EXPECT_EQ(router.Dispatch(TestRequest(HttpMethod::kGet, target)).status, 200) << target;
  }
  HttpResponse response = router.Dispatch(
      TestRequest(HttpMethod::kGet, "/_cluster/health?filter_path=status,number_of_nodes"));
  EXPECT_EQ(json::parse(response.body), (json{{"status", "green"}, {"number_of_nodes", 1}}));
}

}  // namespace
}  // namespace quidditch::rest
