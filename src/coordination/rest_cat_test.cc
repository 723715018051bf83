#include "coordination/rest_cat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using controlplane::CallContext;
using controlplane::CreateIndexRequest;
using controlplane::testing::Allocation;
using controlplane::testing::DirectControlPlane;
using nlohmann::json;

using fixtures::Ctx;

HttpRequest Get(std::string_view target) { return fixtures::TestRequest(HttpMethod::kGet, target); }

// --- the table writer --------------------------------------------------------------------------

CatTable Fruits() {
  CatTable table({
      CatColumn{"name", "n", "fruit name", false, true},
      CatColumn{"count", "c,cnt", "how many", true, true},
      CatColumn{"size", "sz", "bytes on disk", true, true},
      CatColumn{"age", "", "time since picked", true, false},
  });
  table.AddRow({CatValue::Text("apple"), CatValue::Number(12), CatValue::Bytes(2048),
                CatValue::Millis(1500)});
  table.AddRow(
      {CatValue::Text("fig"), CatValue::Number(3), CatValue::Bytes(100), CatValue::Millis(0)});
  table.AddRow({CatValue::Text("banana"), CatValue(), CatValue::Bytes(5 * 1024 * 1024 + 300000),
                CatValue::Millis(90000)});
  return table;
}

std::string Text(const CatTable& table, std::string_view target) {
  HttpResponse response = table.Render(Get(target));
  EXPECT_EQ(response.status, 200) << target << ": " << response.body;
  EXPECT_EQ(response.content_type, kTextContentType) << target;
  return response.body;
}

TEST(CatTableTest, TextLayoutLikeRestTable) {
  CatTable table = Fruits();
  // Numbers right-aligned (their header too), text left-aligned, null empty, the last column
  // not padded on the right, default columns only.
  EXPECT_EQ(Text(table, "/?v"),
            "name   count  size\n"
            "apple     12   2kb\n"
            "fig        3  100b\n"
            "banana       5.2mb\n");
  EXPECT_EQ(Text(table, "/"),
            "apple  12   2kb\n"
            "fig     3  100b\n"
            "banana    5.2mb\n");
  EXPECT_EQ(Text(table, "/?v=false&h=name"), "apple\nfig\nbanana\n");
}

TEST(CatTableTest, HeadersByNameAliasAndWildcard) {
  CatTable table = Fruits();
  // An alias is displayed as asked; a non-default column can be asked for; unknown names are
  // ignored; each column once.
  EXPECT_EQ(Text(table, "/?v&h=n,age,nope,n"),
            "n       age\n"
            "apple  1.5s\n"
            "fig      0s\n"
            "banana 1.5m\n");
  // Wildcards match names and aliases and show the name.
  EXPECT_EQ(Text(table, "/?v&h=s*,cn*"),
            " size count\n"
            "  2kb    12\n"
            " 100b     3\n"
            "5.2mb      \n");
  EXPECT_EQ(Text(table, "/?h=a*"), "1.5s\n  0s\n1.5m\n");
}

TEST(CatTableTest, PriShowsThePrimariesSiblingOfColumnsAskedFor) {
  CatColumn docs{"docs", "d", "docs of every copy", true, true, "pri"};
  CatTable table({CatColumn{"name", "", "index", false, true}, docs,
                  CatColumn{"pri.docs", "", "docs of the primaries", true, false, ""}});
  table.AddRow({CatValue::Text("logs"), CatValue::Number(14), CatValue::Number(7)});
  // Next to the column, displayed as it was asked for (an alias too).
  EXPECT_EQ(Text(table, "/?v&h=d,name&pri"),
            " d pri.d name\n"
            "14     7 logs\n");
  EXPECT_EQ(Text(table, "/?h=docs&pri=true"), "14 7\n");
  EXPECT_EQ(Text(table, "/?h=docs"), "14\n");
  EXPECT_EQ(Text(table, "/?h=docs&pri=false"), "14\n");
  // Without h, the default columns only, as RestTable.
  EXPECT_EQ(Text(table, "/?pri"), "logs 14\n");
}

TEST(CatTableTest, SortByColumns) {
  CatTable table = Fruits();
  EXPECT_EQ(Text(table, "/?h=name&s=name"), "apple\nbanana\nfig\n");
  EXPECT_EQ(Text(table, "/?h=name&s=name:desc"), "fig\nbanana\napple\n");
  // Numbers by value (not "12" < "3"), null first.
  EXPECT_EQ(Text(table, "/?h=name&s=count"), "banana\nfig\napple\n");
  EXPECT_EQ(Text(table, "/?h=name&s=c:desc"), "apple\nfig\nbanana\n");
  EXPECT_EQ(Text(table, "/?h=name&s=size:asc"), "fig\napple\nbanana\n");
  EXPECT_EQ(Text(table, "/?h=name&s=age"), "fig\napple\nbanana\n");

  CatTable ties({CatColumn{"a", "", "", false, true}, CatColumn{"b", "", "", true, true}});
  ties.AddRow({CatValue::Text("x"), CatValue::Number(2)});
  ties.AddRow({CatValue::Text("y"), CatValue::Number(1)});
  ties.AddRow({CatValue::Text("x"), CatValue::Number(1)});
  EXPECT_EQ(Text(ties, "/?s=a,b:desc"), "x 2\nx 1\ny 1\n");
  EXPECT_EQ(Text(ties, "/?s=b,a:desc"), "y 1\nx 1\nx 2\n");

  HttpResponse response = table.Render(Get("/?s=bogus"));
  EXPECT_EQ(response.status, 500);
  json error = json::parse(response.body);
  EXPECT_EQ(error["error"]["type"], "unsupported_operation_exception");
  EXPECT_EQ(error["error"]["reason"], "Unable to sort by unknown sort key `bogus`");
}

TEST(CatTableTest, BytesAndTimeUnits) {
  CatTable table = Fruits();
  EXPECT_EQ(Text(table, "/?h=size&bytes=b"), "   2048\n    100\n5542880\n");
  EXPECT_EQ(Text(table, "/?h=size&bytes=kb"), "   2\n   0\n5412\n");
  EXPECT_EQ(Text(table, "/?h=size&bytes=mb"), "0\n0\n5\n");
  EXPECT_EQ(Text(table, "/?h=age&time=ms"), " 1500\n    0\n90000\n");
  EXPECT_EQ(Text(table, "/?h=age&time=s"), " 1\n 0\n90\n");

  EXPECT_EQ(FormatByteSize(0), "0b");
  EXPECT_EQ(FormatByteSize(1023), "1023b");
  EXPECT_EQ(FormatByteSize(1024), "1kb");
  EXPECT_EQ(FormatByteSize(1024 + 1023), "1.9kb");  // truncated, as format1Decimals
  EXPECT_EQ(FormatByteSize(int64_t{3} << 30), "3gb");
  EXPECT_EQ(FormatByteSize((int64_t{1} << 40) + (int64_t{1} << 39)), "1.5tb");
  EXPECT_EQ(FormatTimeValue(0), "0s");
  EXPECT_EQ(FormatTimeValue(340), "340ms");
  EXPECT_EQ(FormatTimeValue(1000), "1s");
  EXPECT_EQ(FormatTimeValue(61000), "1m");
  EXPECT_EQ(FormatTimeValue(5400000), "1.5h");
  EXPECT_EQ(FormatTimeValue(2 * 86400000), "2d");
}

TEST(CatTableTest, JsonAndYaml) {
  CatTable table = Fruits();
  HttpResponse response = table.Render(Get("/?format=json&bytes=b&s=name&h=name,cnt,size"));
  EXPECT_TRUE(IsJsonContentType(response.content_type));
  EXPECT_EQ(json::parse(response.body), json::parse(R"([{"name":"apple","cnt":"12","size":"2048"},
                            {"name":"banana","cnt":null,"size":"5542880"},
                            {"name":"fig","cnt":"3","size":"100"}])"));
  // Without format, an Accept header asking for JSON gets JSON.
  HttpRequest request = Get("/?h=name");
  request.headers.Add("Accept", "application/json");
  EXPECT_EQ(json::parse(table.Render(request).body),
            json::parse(R"([{"name":"apple"},{"name":"fig"},{"name":"banana"}])"));
  response = table.Render(Get("/?format=yaml&h=name,count&s=count:desc"));
  EXPECT_EQ(response.body,
            "---\n"
            "- name: \"apple\"\n"
            "  count: \"12\"\n"
            "- name: \"fig\"\n"
            "  count: \"3\"\n"
            "- name: \"banana\"\n"
            "  count: null\n");
  CatTable empty({CatColumn{"a", "", "", false, true}});
  EXPECT_EQ(empty.Render(Get("/?format=json")).body, "[]");
  EXPECT_EQ(Text(empty, "/?v"), "a\n");
  EXPECT_EQ(Text(empty, "/"), "");
}

TEST(CatTableTest, HelpAndTimestamps) {
  CatTable table = Fruits();
  EXPECT_EQ(Text(table, "/?help"),
            "name  | n     | fruit name       \n"
            "count | c,cnt | how many         \n"
            "size  | sz    | bytes on disk    \n"
            "age   |       | time since picked\n");
  CatTable stamped({CatColumn{"epoch", "t", "", true, true},
                    CatColumn{"timestamp", "ts", "", false, true},
                    CatColumn{"count", "", "", false, true}});
  stamped.AddRow({CatValue::Number(1700000000), CatValue::Text("22:13:20"), CatValue::Number(5)});
  EXPECT_EQ(Text(stamped, "/"), "1700000000 22:13:20 5\n");
  EXPECT_EQ(Text(stamped, "/?ts=false"), "5\n");
  EXPECT_EQ(Text(stamped, "/?ts=false&h=epoch,count"), "5\n");
}

// --- endpoints on a manually allocated cluster -------------------------------------------------

class CatEndpointsTest : public fixtures::ManualClusterRestTest {
 protected:
  void SetUp() override {
    ManualClusterRestTest::SetUp();
    RestContext context;
    context.identity = NodeIdentity{"n1", "qd-test"};
    context.control_plane = &cp_;
    context.control_plane_timeout = std::chrono::seconds(5);
    // No shard services: document and store cells are null.
    ASSERT_TRUE(RegisterCatHandlers(context, &router_).ok());
  }
};

TEST_F(CatEndpointsTest, CatListsEndpoints) {
  std::string body = Text("/_cat");
  EXPECT_EQ(body.rfind("=^.^=\n", 0), 0u);
  EXPECT_NE(body.find("/_cat/indices/{index}\n"), std::string::npos);
}

TEST_F(CatEndpointsTest, Health) {
  BuildGreenAndYellow();
  HttpResponse response = Dispatch("/_cat/health?v");
  std::string header = response.body.substr(0, response.body.find('\n'));
  EXPECT_EQ(header.rfind("epoch", 0), 0u) << header;
  for (const char* column :
       {"timestamp", "cluster", "status", "node.total", "node.data", "discovered_cluster_manager",
        "shards", "pri", "relo", "init", "unassign", "pending_tasks", "max_task_wait_time",
        "active_shards_percent"}) {
    EXPECT_NE(header.find(column), std::string::npos) << column;
  }
  std::string row = response.body.substr(header.size() + 1);
  EXPECT_NE(row.find(" qd-test yellow "), std::string::npos) << row;
  EXPECT_NE(row.find("66.7%\n"), std::string::npos) << row;
  EXPECT_EQ(Text("/_cat/health?h=status,node.total"), "yellow 3\n");
  EXPECT_EQ(Text("/_cat/health?h=status,node.total&v"),
            "status node.total\n"
            "yellow          3\n");
  EXPECT_EQ(Text("/_cat/health?h=st,nt,sh,p,u&v"),
            "st     nt sh p u\n"
            "yellow  3  2 2 1\n");

  json body = Body("/_cat/health?format=json");
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["node.data"], "2");
  EXPECT_EQ(body[0]["discovered_cluster_manager"], "true");
  EXPECT_EQ(body[0]["active_shards_percent"], "66.7%");
  EXPECT_EQ(body[0].size(), 15u);
  EXPECT_TRUE(body[0]["epoch"].is_string());
}

TEST_F(CatEndpointsTest, Nodes) {
  BuildGreenAndYellow();
  json body = Body("/_cat/nodes?format=json");
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0]["name"], "n1");
  EXPECT_EQ(body[0]["ip"], "10.0.0.1");
  EXPECT_EQ(body[0]["node.role"], "dm");
  EXPECT_EQ(body[0]["node.roles"], "cluster_manager,data");
  EXPECT_EQ(body[0]["cluster_manager"], "*");
  EXPECT_TRUE(body[0]["heap.percent"].is_null());
  EXPECT_TRUE(body[0]["load_1m"].is_null());
  EXPECT_EQ(body[1]["node.role"], "d");
  EXPECT_EQ(body[1]["cluster_manager"], "-");
  EXPECT_EQ(body[2]["node.role"], "-");

  EXPECT_EQ(Text("/_cat/nodes?v&h=ip,node.role,cluster_manager,name,cpu&s=name:desc"),
            "ip       node.role cluster_manager name cpu\n"
            "10.0.0.3 -         -               n3      \n"
            "10.0.0.2 d         -               n2      \n"
            "10.0.0.1 dm        *               n1      \n");
  EXPECT_EQ(Text("/_cat/nodes?h=id,version,http"),
            "n1 2.19.0 10.0.0.1:9200\n"
            "n2 2.19.0 10.0.0.2:9200\n"
            "n3 2.19.0 10.0.0.3:9200\n");

  cluster::NodeStatus down;
  down.state = cluster::NodeState::kDown;
  ASSERT_TRUE(cp_.UpdateNodeStatus(Ctx(), "n3", down).ok());
  EXPECT_EQ(Body("/_cat/nodes?format=json").size(), 2u);
}

TEST_F(CatEndpointsTest, IndicesWithoutShardServices) {
  BuildGreenAndYellow();
  cluster::StatePtr state = *cp_.GetClusterState(Ctx());
  json body = Body("/_cat/indices?format=json");
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["health"], "green");
  EXPECT_EQ(body[0]["status"], "open");
  EXPECT_EQ(body[0]["index"], "green");
  EXPECT_EQ(body[0]["uuid"], state->FindIndex("green")->uuid);
  EXPECT_EQ(body[0]["pri"], "1");
  EXPECT_EQ(body[0]["rep"], "0");
  // No shard service answered: unknown, not zero.
  EXPECT_TRUE(body[0]["docs.count"].is_null());
  EXPECT_TRUE(body[0]["store.size"].is_null());
  EXPECT_EQ(body[1]["health"], "yellow");
  EXPECT_EQ(body[1]["rep"], "1");
  // Column order, as the table declares it.
  nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(Text("/_cat/indices?format=json"));
  std::vector<std::string> keys;
  for (auto it = ordered[0].begin(); it != ordered[0].end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"health", "status", "index", "uuid", "pri", "rep",
                                            "docs.count", "docs.deleted", "store.size",
                                            "pri.store.size"}));

  EXPECT_EQ(Text("/_cat/indices?h=index&s=index:desc"), "yellow\ngreen\n");
  EXPECT_EQ(Text("/_cat/indices/yel*?h=i,h"), "yellow yellow\n");
  EXPECT_EQ(Text("/_cat/indices?h=index&health=green"), "green\n");
  EXPECT_EQ(Text("/_cat/indices/green,yellow?h=index,pri,rep&v"),
            "index  pri rep\n"
            "green    1   0\n"
            "yellow   1   1\n");
  body = Body("/_cat/indices/nope", 404);
  EXPECT_EQ(body["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(Text("/_cat/indices/nope*"), "");
  Body("/_cat/indices?health=purple", 400);
}

TEST_F(CatEndpointsTest, ShardsAllocationRecoveryWithoutStats) {
  BuildGreenAndYellow();
  EXPECT_EQ(Text("/_cat/shards?v"),
            "index  shard prirep state      docs store ip       node\n"
            "green  0     p      STARTED               10.0.0.2 n2\n"
            "yellow 0     p      STARTED               10.0.0.1 n1\n"
            "yellow 0     r      UNASSIGNED                     \n");
  EXPECT_EQ(Text("/_cat/shards/yellow?h=index,prirep,state&s=prirep:desc"),
            "yellow r UNASSIGNED\n"
            "yellow p STARTED\n");
  // One row per live data node, plus the unassigned copies.
  json body = Body("/_cat/allocation?format=json");
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0]["node"], "n1");
  EXPECT_EQ(body[0]["shards"], "1");
  EXPECT_EQ(body[0]["ip"], "10.0.0.1");
  EXPECT_TRUE(body[0]["disk.total"].is_null());  // the node reported no disk
  EXPECT_EQ(body[1]["node"], "n2");
  EXPECT_EQ(body[2]["node"], "UNASSIGNED");
  EXPECT_EQ(body[2]["shards"], "1");
  EXPECT_EQ(Body("/_cat/allocation/n2?format=json").size(), 1u);

  // A node that reports its disk.
  cluster::NodeStatus status;
  status.state = cluster::NodeState::kActive;
  status.resources = cluster::NodeResources{2, 1 << 30, int64_t{100} << 30, int64_t{40} << 30};
  ASSERT_TRUE(cp_.UpdateNodeStatus(Ctx(), "n2", status).ok());
  EXPECT_EQ(Text("/_cat/allocation/n2?v&h=node,disk.used,disk.avail,disk.total,disk.percent"),
            "node disk.used disk.avail disk.total disk.percent\n"
            "n2        60gb       40gb      100gb           60\n");

  body = Body("/_cat/recovery?format=json");
  ASSERT_EQ(body.size(), 2u);  // unassigned copies have no recovery
  EXPECT_EQ(body[0]["index"], "green");
  EXPECT_EQ(body[0]["type"], "empty_store");
  EXPECT_EQ(body[0]["stage"], "done");
  EXPECT_EQ(body[0]["source_host"], "n/a");
  EXPECT_EQ(body[0]["target_host"], "10.0.0.2");
  EXPECT_EQ(body[0]["target_node"], "n2");
  EXPECT_EQ(body[0]["translog_ops_percent"], "100.0%");
  EXPECT_EQ(body[0]["time"], "0s");
  EXPECT_EQ(Text("/_cat/recovery?active_only=true"), "");
}

TEST_F(CatEndpointsTest, EmptyAliasesAndTemplates) {
  EXPECT_EQ(Text("/_cat/aliases"), "");
  EXPECT_EQ(Text("/_cat/aliases?v"),
            "alias index filter routing.index routing.search is_write_index\n");
  EXPECT_EQ(Body("/_cat/aliases?format=json"), json::array());
  EXPECT_EQ(Text("/_cat/templates?v"), "name index_patterns order version composed_of\n");
  EXPECT_EQ(Body("/_cat/templates/x*?format=json"), json::array());
}

TEST_F(CatEndpointsTest, Templates) {
  using cluster::TemplateKind;
  ASSERT_TRUE(cp_.PutTemplate(fixtures::Ctx(), TemplateKind::kComposable, "logs",
                              json::parse(R"({"index_patterns":["logs-*","l-*"],"priority":7})"),
                              false)
                  .ok());
  ASSERT_TRUE(cp_.PutTemplate(fixtures::Ctx(), TemplateKind::kLegacy, "old",
                              json::parse(R"({"index_patterns":["old*"],"order":2,"version":3})"),
                              false)
                  .ok());
  EXPECT_EQ(Body("/_cat/templates?format=json&s=name"), json::parse(R"([
      {"name": "logs", "index_patterns": "[logs-*, l-*]", "order": "7", "version": "",
       "composed_of": "[]"},
      {"name": "old", "index_patterns": "[old*]", "order": "2", "version": "3",
       "composed_of": ""}])"));
  EXPECT_EQ(Body("/_cat/templates/o*?format=json&h=name"), json::parse(R"([{"name": "old"}])"));
}

// A control plane whose state reads fail, as when no master can be reached.
class FailingControlPlane : public DirectControlPlane {
 public:
  FailingControlPlane() : DirectControlPlane(Allocation::kManual) {}
  Result<cluster::StatePtr> GetClusterState(const CallContext&) override {
    return Status::Unavailable("no leader");
  }
};

TEST(CatStandaloneTest, ControlPlaneErrorIs503) {
  FailingControlPlane cp;
  ASSERT_TRUE(cp.Start().ok());
  Router router;
  RestContext context;
  context.control_plane = &cp;
  ASSERT_TRUE(RegisterCatHandlers(context, &router).ok());
  for (const char* target : {"/_cat/health", "/_cat/nodes", "/_cat/indices", "/_cat/shards",
                             "/_cat/count", "/_cat/allocation", "/_cat/recovery"}) {
    HttpResponse response = router.Dispatch(Get(target));
    EXPECT_EQ(response.status, 503) << target;
    EXPECT_EQ(json::parse(response.body)["error"]["type"], "master_not_discovered_exception")
        << target;
  }
  EXPECT_TRUE(cp.Stop().ok());
}

// --- endpoints on a real node ------------------------------------------------------------------

class CatSingleNodeTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterCatHandlers(context_, &router_).ok());
  }
};

TEST_F(CatSingleNodeTest, IndicesShardsAndCountSeeDocuments) {
  CreateIndex("logs", 2);
  CreateIndex("empty", 1);
  IndexDocs("logs", 2, 7);

  json body = json::parse(Text("/_cat/indices?format=json&bytes=b&s=index"));
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["index"], "empty");
  EXPECT_EQ(body[0]["docs.count"], "0");
  EXPECT_EQ(body[1]["index"], "logs");
  EXPECT_EQ(body[1]["health"], "green");
  EXPECT_EQ(body[1]["pri"], "2");
  EXPECT_EQ(body[1]["docs.count"], "7");
  EXPECT_EQ(body[1]["docs.deleted"], "0");
  const int64_t store = std::stoll(body[1]["store.size"].get<std::string>());
  EXPECT_GT(store, 0);
  EXPECT_EQ(body[1]["pri.store.size"], body[1]["store.size"]);  // no replicas

  EXPECT_EQ(Text("/_cat/indices/logs?h=index,docs.count,indexing.index_total"), "logs 7 7\n");
  // Every primary-only counter follows its total with `pri` (no replicas: the same values).
  body = json::parse(Text("/_cat/indices/logs?format=json&pri&h=iito,gto,rto,ft,sc,ss&bytes=b"));
  ASSERT_EQ(body.size(), 1u);
  for (const std::string column : {"iito", "gto", "rto", "ft", "sc", "ss"}) {
    ASSERT_TRUE(body[0].contains("pri." + column)) << column << ": " << body[0];
    EXPECT_EQ(body[0]["pri." + column], body[0][column]) << column;
  }
  EXPECT_EQ(body[0]["pri.iito"], "7");

  body = json::parse(Text("/_cat/shards/logs?format=json&s=shard"));
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["docs"], "4");  // docs 0, 2, 4, 6
  EXPECT_EQ(body[1]["docs"], "3");
  EXPECT_EQ(body[0]["state"], "STARTED");
  EXPECT_EQ(body[0]["ip"], "127.0.0.1");
  EXPECT_EQ(body[0]["node"], data::testing::SingleNode::kNodeId);

  body = json::parse(Text("/_cat/count?format=json"));
  EXPECT_EQ(body[0]["count"], "7");
  EXPECT_EQ(Text("/_cat/count/empty?h=count"), "0\n");
  EXPECT_EQ(Text("/_cat/count/logs,empty?h=count"), "7\n");

  body = json::parse(Text("/_cat/allocation?format=json&bytes=b"));
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["shards"], "3");
  EXPECT_GE(std::stoll(body[0]["disk.indices"].get<std::string>()), store);

  body = json::parse(Text("/_cat/recovery/logs?format=json"));
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["stage"], "done");
  EXPECT_EQ(body[0]["target_node"], data::testing::SingleNode::kNodeId);
}

}  // namespace
}  // namespace quidditch::rest
