// Tests of the custom-resource mapping: object names, times, QuidditchIndex, QuidditchNode and
// QuidditchIndexTemplate objects to cluster values and back, and status conditions.
#include "controlplane/k8s/objects.h"

#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <set>

#include "cluster/allocator.h"
#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/test_util.h"

namespace quidditch::controlplane::k8s {
namespace {

using cluster::Index;
using cluster::IndexSettings;
using cluster::NodeInfo;
using cluster::ShardState;
using cluster::StatePtr;
using cluster::testing::DataNode;
using cluster::testing::MustApply;
using cluster::testing::WithNodes;

// 2026-11-26T08:00:00Z.
constexpr int64_t kTime = 1795680000000;

// A Kubernetes object name: an RFC 1123 subdomain as the API server checks it
// (k8s.io/apimachinery IsDNS1123Subdomain): at most 253 characters, dot-separated labels of
// lower-case letters, digits and '-', each starting and ending with a letter or digit.
bool IsDns1123Subdomain(const std::string& name) {
  static const std::regex kSubdomain(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return name.size() <= 253 && std::regex_match(name, kSubdomain);
}

// --- ObjectNameFor -------------------------------------------------------------------------------

TEST(ObjectNameFor, KeepsValidNames) {
  for (const std::string name : {"logs", "a", "0", "logs-2026.01.01", "node-1", "n1.zone-a"}) {
    EXPECT_EQ(ObjectNameFor(name), name);
  }
  const std::string longest(253, 'a');
  EXPECT_EQ(ObjectNameFor(longest), longest);
}

TEST(ObjectNameFor, DerivesValidDeterministicDistinctNames) {
  const std::vector<std::string> names = {
      "my_index",
      "my-index",
      "My_Index",
      "MY_INDEX",
      "my__index",
      "Logs",
      "logs",
      "-x",
      "x-",
      "_x",
      ".kibana",
      "..",
      "_",
      "-",
      "",
      "UPPER",
      "a b",
      "ünïcode",
      "x_1",
      "x_2",
      std::string(254, 'a'),
      std::string(300, 'a'),
      std::string(300, 'a') + "b",
      std::string(300, '_'),
      std::string(299, 'A') + "_",
  };
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const std::string object = ObjectNameFor(name);
    EXPECT_TRUE(IsDns1123Subdomain(object)) << "'" << name << "' -> '" << object << "'";
    EXPECT_EQ(ObjectNameFor(name), object) << "not deterministic for '" << name << "'";
    EXPECT_TRUE(seen.insert(object).second) << "'" << name << "' -> '" << object << "' is taken";
  }
}

// Every dot-separated label of an object name must start and end with a letter or digit: the
// API server refuses "a..b" or "x.-y" (422), and index names may hold such runs of '.', '-', '_'.
TEST(ObjectNameFor, EveryLabelIsValid) {
  for (const std::string name : {"a..b", "x.-y", "x-.y", "x_.y", "x._y", "logs-.2026"}) {
    const std::string object = ObjectNameFor(name);
    EXPECT_TRUE(IsDns1123Subdomain(object)) << "'" << name << "' -> '" << object << "'";
  }
}

TEST(ObjectNameFor, DerivedNamesStayReadable) {
  const std::string derived = ObjectNameFor("my_index");
  EXPECT_TRUE(derived.starts_with("my-index-")) << derived;
  EXPECT_TRUE(ObjectNameFor("Logs").starts_with("logs-")) << ObjectNameFor("Logs");
  EXPECT_TRUE(ObjectNameFor("-x").starts_with("x-")) << ObjectNameFor("-x");
}

// --- times ---------------------------------------------------------------------------------------

TEST(ObjectsTime, FormatsRfc3339WithMillis) {
  EXPECT_EQ(FormatTime(kTime), "2026-11-26T08:00:00.000Z");
  EXPECT_EQ(FormatTime(kTime + 123), "2026-11-26T08:00:00.123Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
}

TEST(ObjectsTime, RoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{999}, kTime, kTime + 7, kTime + 123,
                     kTime + 86'400'000 * int64_t{400} + 59'999, int64_t{4102444799999}}) {
    std::optional<int64_t> parsed = ParseTime(FormatTime(ms));
    ASSERT_TRUE(parsed.has_value()) << FormatTime(ms);
    EXPECT_EQ(*parsed, ms) << FormatTime(ms);
  }
}

TEST(ObjectsTime, ParsesWithoutFraction) {
  EXPECT_EQ(ParseTime("2026-11-26T08:00:00Z"), kTime);
  EXPECT_EQ(ParseTime("2026-11-26T08:00:00.123Z"), kTime + 123);
  EXPECT_EQ(ParseTime("1970-01-01T00:00:00Z"), 0);
}

TEST(ObjectsTime, GarbageIsNullopt) {
  for (const char* text :
       {"", "yesterday", "2026", "2026-11-26", "2026-11-26T08:00", "2026-11-26T08:00:00",
        "2026-11-26T08:00:00.123", "2026-11-26T08:00:00ZZ", "2026-11-26T08:00:00.123Zjunk",
        "2026-11-26T08:00:00+01:00", "2026-11-26 08:00:00Z", "Z", "T08:00:00Z"}) {
    EXPECT_EQ(ParseTime(text), std::nullopt) << text;
  }
}

// A fraction of other than three digits is valid RFC 3339 (Go writes "…:00.5Z"); it must be
// read at its value or refused, never misread.
TEST(ObjectsTime, ShortFractionIsReadAtItsValueOrRefused) {
  std::optional<int64_t> half = ParseTime("2026-11-26T08:00:00.5Z");
  if (half.has_value()) {
    EXPECT_EQ(*half, kTime + 500);
  }
  std::optional<int64_t> tenths = ParseTime("2026-11-26T08:00:00.25Z");
  if (tenths.has_value()) {
    EXPECT_EQ(*tenths, kTime + 250);
  }
}

// --- QuidditchIndex ------------------------------------------------------------------------------

// An index with everything set: two shards, a promoted primary (term 2), in-sync sets, an
// unassigned copy, mappings, non-default settings, times with milliseconds.
struct Built {
  Index index;
  int64_t next_allocation_id;
};
Built BusyIndex(const std::string& name) {
  StatePtr s = WithNodes(3);
  cluster::CreateIndexCmd create;
  create.name = name;
  create.uuid = "3f2a-uuid";
  create.settings = IndexSettings{2, 2, "5s", "best_compression"};
  create.mappings =
      cluster::Json{{"properties", {{"title", {{"type", "text"}}}, {"count", {{"type", "long"}}}}}};
  cluster::AliasMetadata write;
  write.filter = cluster::Json{{"term", {{"count", 1}}}};
  write.index_routing = "r1";
  write.search_routing = "r1,r2";
  write.is_write_index = true;
  write.is_hidden = false;
  create.aliases = {{name + "-write", write}, {name + "-all", {}}};
  s = MustApply(s, create, kTime + 1).state;
  auto allocate = [&] {
    for (const cluster::Command& c : cluster::ComputeAllocation(*s, kTime + 2)) {
      s = cluster::Apply(s, c)->state;
    }
  };
  auto start_all = [&] {
    const StatePtr at_start = s;  // the shards iterated over outlive the states made below
    for (const cluster::ShardRouting& shard : at_start->FindIndex(name)->routing.shards) {
      for (const cluster::ShardCopy& c : shard.copies) {
        if (c.state != ShardState::kInitializing) continue;
        s = MustApply(
                s,
                cluster::UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kStarted},
                kTime + 3)
                .state;
      }
    }
  };
  allocate();
  start_all();  // the primaries
  allocate();
  start_all();  // the replicas
  // Shard 0 loses its primary: a replica is promoted (term 2) and the lost copy is unassigned.
  const std::string lost = s->FindIndex(name)->routing.shards[0].primary().node_id;
  s = MustApply(s, cluster::DeallocateShardCmd{name, 0, lost}, kTime + 4).state;
  // Shard 1 has a replica relocating.
  const cluster::ShardCopy& replica = s->FindIndex(name)->routing.shards[1].copies[1];
  s = MustApply(s, cluster::UpdateShardStateCmd{name, 1, replica.node_id, ShardState::kRelocating},
                kTime + 5)
          .state;
  s = MustApply(s, cluster::SetIndexClosedCmd{name, true}, kTime + 5).state;
  return Built{*s->FindIndex(name), s->next_allocation_id};
}

// The stored object for `index`: what the API server would return.
cluster::Json StoredIndexObject(const Index& index, int64_t next_allocation_id,
                                const cluster::Json& previous) {
  cluster::Json object =
      NewIndexObject(index.name, index.uuid, index.settings, index.mappings, index.aliases);
  object["spec"]["closed"] = index.closed;
  object["metadata"]["resourceVersion"] = "4711";
  object["metadata"]["generation"] = 3;
  object["metadata"]["uid"] = "k8s-uid";
  object["status"] = IndexStatus(index, next_allocation_id, previous);
  return object;
}

TEST(IndexObject, BusyIndexFixture) {
  const Index index = BusyIndex("logs").index;
  EXPECT_EQ(index.state, cluster::IndexState::kActive);
  EXPECT_EQ(index.routing.shards[0].primary_term, 2);
  EXPECT_EQ(index.routing.shards[0].in_sync.size(), 2u);
  int unassigned = 0;
  for (const cluster::ShardCopy& c : index.routing.shards[0].copies) {
    unassigned += c.state == ShardState::kUnassigned;
  }
  EXPECT_EQ(unassigned, 1);
  EXPECT_EQ(index.routing.shards[1].copies[1].state, ShardState::kRelocating);
  EXPECT_EQ(index.routing.shards[1].in_sync.size(), 3u);
  EXPECT_EQ(index.created_at_ms, kTime + 1);
  EXPECT_EQ(index.updated_at_ms, kTime + 5);
  EXPECT_EQ(index.aliases.size(), 2u);
  EXPECT_TRUE(index.closed);
}

TEST(IndexObject, StatusRoundTripsTheIndexAndKeepsConditions) {
  const Built built = BusyIndex("logs");
  cluster::Json previous = cluster::Json::object();
  previous["observedGeneration"] = 3;
  previous["message"] = "kept";
  SetCondition(previous, kReadyCondition, true, "Accepted", "the spec is in force", 3, kTime);

  const cluster::Json object = StoredIndexObject(built.index, built.next_allocation_id, previous);
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status() << "\n" << object.dump(1);
  EXPECT_EQ(decoded->object_name, "logs");
  EXPECT_EQ(decoded->index_name, "logs");
  EXPECT_EQ(decoded->resource_version, 4711);
  EXPECT_EQ(decoded->generation, 3);
  EXPECT_FALSE(decoded->deleting);
  EXPECT_TRUE(decoded->has_finalizer);
  EXPECT_EQ(decoded->requested_uuid, "3f2a-uuid");  // the annotation, not metadata.uid
  EXPECT_EQ(decoded->spec_settings, built.index.settings);
  EXPECT_EQ(decoded->spec_mappings, built.index.mappings);
  EXPECT_EQ(cluster::DecodeAliases(decoded->spec_aliases).value(), built.index.aliases);
  EXPECT_TRUE(decoded->spec_closed);
  EXPECT_EQ(decoded->observed_generation, 3);
  EXPECT_EQ(decoded->next_allocation_id, built.next_allocation_id);
  ASSERT_TRUE(decoded->applied.has_value());
  EXPECT_EQ(*decoded->applied, built.index);
  EXPECT_EQ(decoded->applied->routing, built.index.routing);
  EXPECT_EQ(decoded->status["message"], "kept");
  const cluster::Json* ready = FindCondition(decoded->status, kReadyCondition);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ((*ready)["status"], "True");
  EXPECT_EQ((*ready)["reason"], "Accepted");

  // Writing the status again over itself changes nothing.
  EXPECT_EQ(IndexStatus(built.index, built.next_allocation_id, object["status"]), object["status"]);
}

TEST(IndexObject, NameThatIsNoObjectNameIsKeptInSpec) {
  const Built built = BusyIndex("my_logs");
  const cluster::Json object = StoredIndexObject(built.index, built.next_allocation_id, {});
  EXPECT_NE(object["metadata"]["name"], "my_logs");
  EXPECT_EQ(object["spec"]["indexName"], "my_logs");
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->object_name, ObjectNameFor("my_logs"));
  EXPECT_EQ(decoded->index_name, "my_logs");
  ASSERT_TRUE(decoded->applied.has_value());
  EXPECT_EQ(*decoded->applied, built.index);
}

TEST(IndexObject, NewObjectHasNoAppliedIndex) {
  IndexSettings settings{3, 0, "-1", "best_compression"};
  const cluster::Json mappings{{"properties", {{"f", {{"type", "keyword"}}}}}};
  const cluster::Json object = NewIndexObject("logs", "u-1", settings, mappings);
  EXPECT_EQ(object["apiVersion"], kApiVersion);
  EXPECT_EQ(object["kind"], "QuidditchIndex");
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->applied.has_value());
  EXPECT_TRUE(decoded->status.is_null());
  EXPECT_TRUE(decoded->has_finalizer);
  EXPECT_EQ(decoded->requested_uuid, "u-1");
  EXPECT_EQ(decoded->spec_settings, settings);
  EXPECT_EQ(decoded->spec_mappings, mappings);
  EXPECT_EQ(decoded->next_allocation_id, 1);
  EXPECT_EQ(decoded->resource_version, 0);
  EXPECT_FALSE(object["spec"].contains("aliases")) << "none: left out";
  EXPECT_EQ(decoded->spec_aliases, cluster::Json::object());
  EXPECT_FALSE(decoded->spec_closed);
}

TEST(IndexObject, NewObjectCarriesTheCreateCommandsAliases) {
  cluster::AliasMetadata alias;
  alias.filter = cluster::Json{{"term", {{"level", "error"}}}};
  alias.is_write_index = false;
  const cluster::Aliases aliases{{"errors", alias}, {"logs", {}}};
  const cluster::Json object =
      NewIndexObject("logs-1", "u-1", IndexSettings{}, cluster::Json::object(), aliases);
  // The CRD's camelCase shape, unset fields left out.
  EXPECT_EQ(object["spec"]["aliases"], cluster::Json::parse(R"({
    "errors": {"filter": {"term": {"level": "error"}}, "isWriteIndex": false}, "logs": {}})"));
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(cluster::DecodeAliases(decoded->spec_aliases).value(), aliases);
}

// A user's spec may hold aliases the codec refuses: the object still decodes (the operator
// judges the spec and says what is wrong), with the aliases as written.
TEST(IndexObject, MalformedSpecAliasesAreKeptForTheOperatorToJudge) {
  const cluster::Json object = cluster::Json::parse(R"({
    "apiVersion": "quidditch.io/v1", "kind": "QuidditchIndex",
    "metadata": {"name": "logs", "uid": "k8s-uid", "resourceVersion": "9", "generation": 1},
    "spec": {"shards": 1, "aliases": {"a": {"isWriteIndex": "yes"}, "b": 7}, "closed": true}
  })");
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->spec_aliases, object["spec"]["aliases"]);
  EXPECT_TRUE(decoded->spec_closed);
  EXPECT_FALSE(cluster::DecodeAliases(decoded->spec_aliases).ok());
}

// Statuses written before aliases and open/close existed: no aliases, open.
TEST(IndexObject, AppliedSpecWithoutAliasesOrClosedIsOpenWithoutAliases) {
  const Built built = BusyIndex("logs");
  cluster::Json object = StoredIndexObject(built.index, built.next_allocation_id, {});
  object["status"]["appliedSpec"].erase("aliases");
  object["status"]["appliedSpec"].erase("closed");
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->applied.has_value());
  EXPECT_TRUE(decoded->applied->aliases.empty());
  EXPECT_FALSE(decoded->applied->closed);
}

TEST(IndexObject, MinimalUserSpecGetsTheCrdDefaults) {
  const cluster::Json object = cluster::Json::parse(R"({
    "apiVersion": "quidditch.io/v1", "kind": "QuidditchIndex",
    "metadata": {"name": "logs", "uid": "k8s-uid", "resourceVersion": "9", "generation": 1},
    "spec": {"shards": 3}
  })");
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->applied.has_value());
  EXPECT_FALSE(decoded->has_finalizer);
  EXPECT_EQ(decoded->requested_uuid, "k8s-uid");
  EXPECT_EQ(decoded->index_name, "logs");
  EXPECT_EQ(decoded->spec_settings, (IndexSettings{3, 1, "1s", "default"}));
  EXPECT_EQ(decoded->spec_mappings, cluster::Json::object());
  EXPECT_EQ(decoded->resource_version, 9);
}

TEST(IndexObject, StatusWithoutAppliedSpecHasNoAppliedIndex) {
  cluster::Json object = NewIndexObject("logs", "u-1", IndexSettings{}, cluster::Json::object());
  object["metadata"]["deletionTimestamp"] = "2026-11-26T08:00:00Z";
  object["status"] = {{"state", "ERROR"}, {"message", "bad"}, {"observedGeneration", 2}};
  Result<IndexObject> decoded = DecodeIndexObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->applied.has_value());
  EXPECT_TRUE(decoded->deleting);
  EXPECT_EQ(decoded->observed_generation, 2);
  EXPECT_EQ(decoded->status["message"], "bad");
}

// A stored object of BusyIndex("logs") with `corrupt` applied to its status.
template <typename F>
Status DecodeCorrupted(F corrupt) {
  const Built built = BusyIndex("logs");
  cluster::Json object = StoredIndexObject(built.index, built.next_allocation_id, {});
  corrupt(object["status"]);
  Result<IndexObject> decoded = DecodeIndexObject(object);
  return decoded.ok() ? Status::OK() : decoded.status();
}

TEST(IndexObject, CorruptStatusIsCorruption) {
  using Corrupt = std::function<void(cluster::Json&)>;
  const std::vector<std::pair<std::string, Corrupt>> cases = {
      {"allocation shard out of range",
       [](cluster::Json& s) { s["shardAllocations"][0]["shardId"] = 2; }},
      {"negative allocation shard",
       [](cluster::Json& s) { s["shardAllocations"][0]["shardId"] = -1; }},
      {"shards[] out of range", [](cluster::Json& s) { s["shards"][1]["shardId"] = 7; }},
      {"unknown shard state",
       [](cluster::Json& s) { s["shardAllocations"][1]["state"] = "FLYING"; }},
      {"missing shard state", [](cluster::Json& s) { s["shardAllocations"][1].erase("state"); }},
      {"missing primary", [](cluster::Json& s) { s["shardAllocations"][0]["isPrimary"] = false; }},
      {"shard without copies",
       [](cluster::Json& s) {
         cluster::Json kept = cluster::Json::array();
         for (const cluster::Json& c : s["shardAllocations"]) {
           if (c["shardId"] != 1) kept.push_back(c);
         }
         s["shardAllocations"] = kept;
       }},
      {"no shardAllocations", [](cluster::Json& s) { s.erase("shardAllocations"); }},
      {"missing primary term", [](cluster::Json& s) { s["shards"][0].erase("primaryTerm"); }},
      {"in-sync entry without node",
       [](cluster::Json& s) { s["shards"][0]["inSync"][0].erase("nodeId"); }},
      {"missing uuid", [](cluster::Json& s) { s.erase("uuid"); }},
      {"missing state", [](cluster::Json& s) { s.erase("state"); }},
      {"malformed createdAt", [](cluster::Json& s) { s["createdAt"] = "last tuesday"; }},
      {"missing updatedAt", [](cluster::Json& s) { s.erase("updatedAt"); }},
      {"appliedSpec without shards", [](cluster::Json& s) { s["appliedSpec"].erase("shards"); }},
      {"appliedSpec with zero shards", [](cluster::Json& s) { s["appliedSpec"]["shards"] = 0; }},
      {"mistyped replicas", [](cluster::Json& s) { s["appliedSpec"]["replicas"] = "two"; }},
      {"mistyped alias flag",
       [](cluster::Json& s) { s["appliedSpec"]["aliases"]["logs-write"]["isWriteIndex"] = "yes"; }},
      {"aliases not an object", [](cluster::Json& s) { s["appliedSpec"]["aliases"] = "logs"; }},
      {"mistyped closed", [](cluster::Json& s) { s["appliedSpec"]["closed"] = "no"; }},
  };
  for (const auto& [what, corrupt] : cases) {
    Status status = DecodeCorrupted(corrupt);
    EXPECT_TRUE(status.IsCorruption()) << what << ": " << status;
  }
}

// Quidditch writes only CREATING and ACTIVE next to an appliedSpec; anything else there is not
// an index state it can hold.
TEST(IndexObject, UnknownIndexStateIsCorruption) {
  Status status = DecodeCorrupted([](cluster::Json& s) { s["state"] = "EXPLODED"; });
  EXPECT_TRUE(status.IsCorruption()) << status;
}

// --- conditions ----------------------------------------------------------------------------------

TEST(ObjectsConditions, SetAndFind) {
  cluster::Json status;  // null: SetCondition makes it an object
  EXPECT_EQ(FindCondition(status, kReadyCondition), nullptr);
  SetCondition(status, kReadyCondition, true, "Accepted", "in force", 4, kTime + 1500);
  ASSERT_TRUE(status.is_object());
  const cluster::Json* ready = FindCondition(status, kReadyCondition);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(*ready, (cluster::Json{{"type", "Ready"},
                                   {"status", "True"},
                                   {"reason", "Accepted"},
                                   {"message", "in force"},
                                   {"observedGeneration", 4},
                                   {"lastTransitionTime", "2026-11-26T08:00:01.000Z"}}));
  EXPECT_EQ(FindCondition(status, kAllocatedCondition), nullptr);
  EXPECT_EQ(FindCondition(cluster::Json("text"), kReadyCondition), nullptr);
}

TEST(ObjectsConditions, TransitionTimeMovesOnlyOnFlips) {
  cluster::Json status = cluster::Json::object();
  SetCondition(status, kReadyCondition, true, "Accepted", "a", 1, kTime);
  SetCondition(status, kAllocatedCondition, false, "Waiting", "no nodes", 1, kTime);

  // The same status later, with a new reason and generation: only those change.
  SetCondition(status, kReadyCondition, true, "StillAccepted", "b", 2, kTime + 60'000);
  const cluster::Json* ready = FindCondition(status, kReadyCondition);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ((*ready)["lastTransitionTime"], FormatTime(kTime));
  EXPECT_EQ((*ready)["reason"], "StillAccepted");
  EXPECT_EQ((*ready)["message"], "b");
  EXPECT_EQ((*ready)["observedGeneration"], 2);

  // A flip moves it.
  SetCondition(status, kReadyCondition, false, "InvalidSpec", "c", 3, kTime + 120'000);
  ready = FindCondition(status, kReadyCondition);
  EXPECT_EQ((*ready)["status"], "False");
  EXPECT_EQ((*ready)["lastTransitionTime"], FormatTime(kTime + 120'000));

  // One entry per type; the other condition is untouched.
  EXPECT_EQ(status["conditions"].size(), 2u);
  const cluster::Json* allocated = FindCondition(status, kAllocatedCondition);
  ASSERT_NE(allocated, nullptr);
  EXPECT_EQ((*allocated)["status"], "False");
  EXPECT_EQ((*allocated)["lastTransitionTime"], FormatTime(kTime));
}

// --- QuidditchNode -------------------------------------------------------------------------------

NodeInfo FullNode(const std::string& id) {
  NodeInfo node = DataNode(id);
  node.address = "10.0.0.7";
  node.grpc_port = 9302;
  node.http_port = 9200;
  node.roles = Roles{true, false, true};
  node.resources = cluster::NodeResources{8, int64_t{32} << 30, int64_t{1} << 40, int64_t{5} << 39};
  node.state = cluster::NodeState::kLeaving;
  node.last_seen_ms = kTime + 321;
  return node;
}

TEST(NodeObject, RoundTrips) {
  const NodeInfo node = FullNode("node-1");
  cluster::Json object = NodeObject(node, "quidditch-data-0");
  EXPECT_EQ(object["kind"], "QuidditchNode");
  EXPECT_EQ(object["metadata"]["name"], "node-1");
  EXPECT_FALSE(object["spec"].contains("nodeId"));
  EXPECT_FALSE(object["metadata"].contains("resourceVersion"));
  object["metadata"]["resourceVersion"] = "77";
  Result<NodeObjectView> decoded = DecodeNodeObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->object_name, "node-1");
  EXPECT_EQ(decoded->resource_version, 77);
  EXPECT_EQ(decoded->pod_name, "quidditch-data-0");
  EXPECT_EQ(decoded->node, node);
}

TEST(NodeObject, IdThatIsNoObjectNameIsKeptInSpec) {
  NodeInfo node = FullNode("Node_7");
  node.state = cluster::NodeState::kDown;
  node.roles = Roles{false, true, false};
  const cluster::Json object = NodeObject(node);
  EXPECT_EQ(object["metadata"]["name"], ObjectNameFor("Node_7"));
  EXPECT_NE(object["metadata"]["name"], "Node_7");
  EXPECT_EQ(object["spec"]["nodeId"], "Node_7");
  EXPECT_FALSE(object["spec"].contains("podName"));
  Result<NodeObjectView> decoded = DecodeNodeObject(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->node, node);
  EXPECT_EQ(decoded->pod_name, "");
}

TEST(NodeObject, EveryStateAndRoleMixRoundTrips) {
  for (cluster::NodeState state : {cluster::NodeState::kJoining, cluster::NodeState::kActive,
                                   cluster::NodeState::kLeaving, cluster::NodeState::kDown}) {
    for (int roles = 1; roles < 8; ++roles) {
      NodeInfo node = FullNode("n1");
      node.state = state;
      node.roles = Roles{(roles & 1) != 0, (roles & 2) != 0, (roles & 4) != 0};
      Result<NodeObjectView> decoded = DecodeNodeObject(NodeObject(node));
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(decoded->node, node);
    }
  }
}

TEST(NodeObject, CorruptObjectsAreCorruption) {
  const cluster::Json good = NodeObject(FullNode("n1"));
  using Corrupt = std::function<void(cluster::Json&)>;
  const std::vector<std::pair<std::string, Corrupt>> cases = {
      {"unknown role", [](cluster::Json& o) { o["spec"]["roles"].push_back("chef"); }},
      {"missing roles", [](cluster::Json& o) { o["spec"].erase("roles"); }},
      {"unknown state", [](cluster::Json& o) { o["status"]["state"] = "ASLEEP"; }},
      {"missing status", [](cluster::Json& o) { o.erase("status"); }},
      {"missing spec", [](cluster::Json& o) { o.erase("spec"); }},
      {"missing name", [](cluster::Json& o) { o["metadata"].erase("name"); }},
      {"malformed lastSeen", [](cluster::Json& o) { o["status"]["lastSeen"] = "now"; }},
  };
  for (const auto& [what, corrupt] : cases) {
    cluster::Json object = good;
    corrupt(object);
    Result<NodeObjectView> decoded = DecodeNodeObject(object);
    ASSERT_FALSE(decoded.ok()) << what;
    EXPECT_TRUE(decoded.status().IsCorruption()) << what << ": " << decoded.status();
  }
}

// --- QuidditchIndexTemplate ---------------------------------------------------------------------

TEST(TemplateObject, NamesCarryTheKindAndAreDerivedLikeIndexNames) {
  using cluster::TemplateKind;
  EXPECT_EQ(TemplateObjectName(TemplateKind::kComposable, "logs"), "composable-logs");
  EXPECT_EQ(TemplateObjectName(TemplateKind::kLegacy, "logs"), "legacy-logs");
  EXPECT_EQ(TemplateObjectName(TemplateKind::kLegacy, "My_Logs"), ObjectNameFor("legacy-My_Logs"));
  // Names OpenSearch allows and Kubernetes does not, and one so long that the prefix makes it
  // too long: valid, distinct object names, never shared between the kinds.
  std::set<std::string> seen;
  for (const std::string& name :
       {std::string("logs"), std::string("My_Logs"), std::string("my-logs"), std::string("*"),
        std::string(250, 'a'), std::string("a.b")}) {
    for (TemplateKind kind : {TemplateKind::kComposable, TemplateKind::kLegacy}) {
      const std::string object = TemplateObjectName(kind, name);
      EXPECT_TRUE(IsDns1123Subdomain(object)) << object;
      EXPECT_TRUE(object.starts_with(std::string(TemplateKindName(kind)) + "-")) << object;
      EXPECT_TRUE(seen.insert(object).second) << "shared: " << object;
    }
  }
}

TEST(TemplateObject, RoundTripsBothKinds) {
  const cluster::Json body = cluster::Json::parse(R"({"index_patterns": ["logs-*"], "order": 3,
    "settings": {"index": {"number_of_shards": "2"}}, "aliases": {"all": {}}, "x": null})");
  for (cluster::TemplateKind kind :
       {cluster::TemplateKind::kComposable, cluster::TemplateKind::kLegacy}) {
    cluster::Json object = NewTemplateObject(kind, "Logs_1", body);
    EXPECT_EQ(object["kind"], "QuidditchIndexTemplate");
    EXPECT_EQ(object["spec"]["kind"], TemplateKindName(kind));
    EXPECT_EQ(object["spec"]["templateName"], "Logs_1");
    EXPECT_EQ(object["spec"]["body"], body);
    object["metadata"]["resourceVersion"] = "812";
    object["metadata"]["labels"] = {{"team", "search"}};
    Result<TemplateObject> decoded = DecodeTemplateObject(object);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->object_name, TemplateObjectName(kind, "Logs_1"));
    EXPECT_EQ(decoded->resource_version, 812);
    EXPECT_EQ(decoded->kind, kind);
    EXPECT_EQ(decoded->template_name, "Logs_1");
    EXPECT_EQ(decoded->body, body);
    EXPECT_EQ(decoded->metadata["labels"], object["metadata"]["labels"]) << "kept for a replace";
  }
}

TEST(TemplateObject, MalformedOrMisnamedObjectsAreCorruption) {
  const cluster::Json good = NewTemplateObject(cluster::TemplateKind::kComposable, "logs",
                                               cluster::Json{{"index_patterns", {"l*"}}});
  ASSERT_TRUE(DecodeTemplateObject(good).ok());
  using Corrupt = std::function<void(cluster::Json&)>;
  const std::vector<std::pair<std::string, Corrupt>> cases = {
      {"missing spec", [](cluster::Json& o) { o.erase("spec"); }},
      {"missing templateName", [](cluster::Json& o) { o["spec"].erase("templateName"); }},
      {"unknown kind", [](cluster::Json& o) { o["spec"]["kind"] = "component"; }},
      {"missing body", [](cluster::Json& o) { o["spec"].erase("body"); }},
      {"body not an object", [](cluster::Json& o) { o["spec"]["body"] = "logs-*"; }},
      {"missing name", [](cluster::Json& o) { o["metadata"].erase("name"); }},
      // A second object for one template would be a second holder of it.
      {"another object name", [](cluster::Json& o) { o["metadata"]["name"] = "my-template"; }},
      {"the other kind's name", [](cluster::Json& o) { o["spec"]["kind"] = "legacy"; }},
      {"another template's name", [](cluster::Json& o) { o["spec"]["templateName"] = "Logs"; }},
  };
  for (const auto& [what, corrupt] : cases) {
    cluster::Json object = good;
    corrupt(object);
    Result<TemplateObject> decoded = DecodeTemplateObject(object);
    ASSERT_FALSE(decoded.ok()) << what;
    EXPECT_TRUE(decoded.status().IsCorruption()) << what << ": " << decoded.status();
  }
}

TEST(ClusterConfigMap, HoldsTheUuidImmutablyAndBadOnesAreCorruption) {
  const Json config_map = NewClusterConfigMap("Ikw4m8hksuwZTlxb_R0H6X");
  EXPECT_EQ(config_map["metadata"]["name"], "quidditch-cluster");
  EXPECT_EQ(config_map["immutable"], true);
  Result<std::string> uuid = ClusterUuidOf(config_map);
  ASSERT_TRUE(uuid.ok()) << uuid.status();
  EXPECT_EQ(*uuid, "Ikw4m8hksuwZTlxb_R0H6X");
  // Someone else's ConfigMap of that name, or one edited by hand.
  EXPECT_TRUE(ClusterUuidOf(NewClusterConfigMap("")).status().IsCorruption());
  EXPECT_TRUE(ClusterUuidOf(Json{{"data", {{"other", "x"}}}}).status().IsCorruption());
  EXPECT_TRUE(ClusterUuidOf(Json{{"metadata", Json::object()}}).status().IsCorruption());
  EXPECT_TRUE(ClusterUuidOf(Json{{"data", {{"clusterUuid", 7}}}}).status().IsCorruption());
}

}  // namespace
}  // namespace quidditch::controlplane::k8s
