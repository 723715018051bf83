#include "cluster/apply.h"

#include <gtest/gtest.h>

#include "cluster/health.h"
#include "cluster/test_util.h"

namespace quidditch::cluster {
namespace {

using testing::Cmd;
using testing::DataNode;
using testing::MustApply;
using testing::NewIndex;
using testing::WithNodes;

std::vector<EventType> Types(const std::vector<ClusterStateEvent>& events) {
  std::vector<EventType> types;
  for (const auto& e : events) types.push_back(e.type);
  return types;
}

// Expects `op` to fail with `code` on `state`, and checks that the state is untouched.
void ExpectError(const StatePtr& state, CommandOp op, StatusCode code,
                 const std::string& message_part = "") {
  ClusterState before = *state;
  Result<ApplyResult> r = Apply(state, Cmd(std::move(op)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status();
  EXPECT_NE(r.status().message().find(message_part), std::string::npos) << r.status();
  EXPECT_EQ(*state, before);
}

TEST(Apply, CreateIndexBuildsUnassignedRouting) {
  StatePtr s = EmptyState();
  ApplyResult r = MustApply(s, NewIndex("logs", 3, 2), 42);
  EXPECT_EQ(r.state->version, 1);
  const Index* index = r.state->FindIndex("logs");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->uuid, "uuid-logs");
  EXPECT_EQ(index->state, IndexState::kCreating);
  EXPECT_EQ(index->created_at_ms, 42);
  EXPECT_EQ(index->updated_at_ms, 42);
  ASSERT_EQ(index->routing.shards.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) {
    const ShardRouting& shard = index->routing.shards[i];
    EXPECT_EQ(shard.shard_id, i);
    ASSERT_EQ(shard.copies.size(), 3u);
    EXPECT_TRUE(shard.copies[0].primary);
    EXPECT_FALSE(shard.copies[1].primary);
    for (const ShardCopy& c : shard.copies) EXPECT_EQ(c.state, ShardState::kUnassigned);
    EXPECT_TRUE(shard.in_sync.empty());
  }
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, EventType::kIndexCreated);
  EXPECT_EQ(r.events[0].index, "logs");
  EXPECT_EQ(r.events[0].version, 1);
  EXPECT_EQ(r.events[0].timestamp_ms, 42);
  // The previous state is untouched.
  EXPECT_EQ(s->version, 0);
  EXPECT_TRUE(s->indices.empty());
}

TEST(Apply, CreateIndexErrors) {
  StatePtr s = MustApply(EmptyState(), NewIndex("logs", 1, 0)).state;
  CreateIndexCmd duplicate = NewIndex("logs", 1, 0);
  duplicate.uuid = "another-uuid";
  ExpectError(s, duplicate, StatusCode::kAlreadyExists, "index [logs/uuid-logs] already exists");
  ExpectError(s, NewIndex("Bad", 1, 0), StatusCode::kInvalidArgument, "must be lowercase");
  ExpectError(s, NewIndex("x", 0, 0), StatusCode::kInvalidArgument, "number_of_shards");
  ExpectError(s, NewIndex("x", 10001, 0), StatusCode::kInvalidArgument, "number_of_shards");
  ExpectError(s, NewIndex("x", 1, 11), StatusCode::kInvalidArgument, "number_of_replicas");
  CreateIndexCmd no_uuid = NewIndex("x", 1, 0);
  no_uuid.uuid.clear();
  ExpectError(s, no_uuid, StatusCode::kInvalidArgument, "uuid");
  CreateIndexCmd bad_mappings = NewIndex("x", 1, 0);
  bad_mappings.mappings = Json::array();
  ExpectError(s, bad_mappings, StatusCode::kInvalidArgument, "mappings");
}

TEST(Apply, CreateIndexRetriedWithSameUuidIsANoOp) {
  StatePtr s = MustApply(EmptyState(), NewIndex("logs", 1, 0)).state;
  ApplyResult again = MustApply(s, NewIndex("logs", 1, 0));
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(*again.state->FindIndex("logs"), *s->FindIndex("logs"));
}

TEST(Apply, DeleteIndex) {
  StatePtr s = MustApply(EmptyState(), NewIndex("logs", 1, 0)).state;
  ApplyResult r = MustApply(s, DeleteIndexCmd{"logs"});
  EXPECT_EQ(r.state->FindIndex("logs"), nullptr);
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kIndexDeleted});
  ExpectError(r.state, DeleteIndexCmd{"logs"}, StatusCode::kNotFound, "no such index [logs]");
}

TEST(Apply, UpdateIndexSettings) {
  StatePtr s = WithNodes(3);
  s = MustApply(s, NewIndex("logs", 2, 1)).state;
  IndexSettingsUpdate u;
  u.replicas = 2;
  u.refresh_interval = "30s";
  ApplyResult r = MustApply(s, UpdateIndexSettingsCmd{"logs", u}, 77);
  const Index* index = r.state->FindIndex("logs");
  EXPECT_EQ(index->settings.replicas, 2);
  EXPECT_EQ(index->settings.refresh_interval, "30s");
  EXPECT_EQ(index->updated_at_ms, 77);
  for (const ShardRouting& shard : index->routing.shards) EXPECT_EQ(shard.copies.size(), 3u);
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kIndexModified});

  IndexSettingsUpdate shrink;
  shrink.replicas = 0;
  r = MustApply(r.state, UpdateIndexSettingsCmd{"logs", shrink});
  for (const ShardRouting& shard : r.state->FindIndex("logs")->routing.shards) {
    EXPECT_EQ(shard.copies.size(), 1u);
    EXPECT_TRUE(shard.copies[0].primary);
  }

  IndexSettingsUpdate shards;
  shards.shards = 5;
  ExpectError(s, UpdateIndexSettingsCmd{"logs", shards}, StatusCode::kInvalidArgument,
              "final index setting [index.number_of_shards]");
  IndexSettingsUpdate codec;
  codec.codec = "best_compression";
  ExpectError(s, UpdateIndexSettingsCmd{"logs", codec}, StatusCode::kInvalidArgument,
              "index.codec");
  IndexSettingsUpdate too_many;
  too_many.replicas = 11;
  ExpectError(s, UpdateIndexSettingsCmd{"logs", too_many}, StatusCode::kInvalidArgument,
              "number_of_replicas");
  IndexSettingsUpdate bad_refresh;
  bad_refresh.refresh_interval = "soon";
  ExpectError(s, UpdateIndexSettingsCmd{"logs", bad_refresh}, StatusCode::kInvalidArgument,
              "refresh_interval");
  ExpectError(s, UpdateIndexSettingsCmd{"nope", u}, StatusCode::kNotFound);
}

TEST(Apply, UpdateIndexSettingsMergesTheOtherSettings) {
  StatePtr s = WithNodes(1);
  CreateIndexCmd create = NewIndex("logs", 1, 0);
  create.settings.other =
      Json::parse(R"({"max_result_window":500,"translog":{"durability":"async"}})");
  s = MustApply(s, create).state;
  IndexSettingsUpdate u;
  u.other = Json::parse(R"({"max_result_window":null,"translog":{"sync_interval":"10s"}})");
  ApplyResult r = MustApply(s, UpdateIndexSettingsCmd{"logs", u});
  EXPECT_EQ(r.state->FindIndex("logs")->settings.other,
            Json::parse(R"({"translog":{"durability":"async","sync_interval":"10s"}})"));
  IndexSettingsUpdate not_object;
  not_object.other = Json::parse("[1]");
  ExpectError(s, UpdateIndexSettingsCmd{"logs", not_object}, StatusCode::kInvalidArgument,
              "JSON object");
}

TEST(Types, MergePatchBetweenTurnsOneObjectIntoTheOther) {
  const Json from = Json::parse(R"({"a":1,"b":{"c":2,"d":3},"e":[1]})");
  const Json to = Json::parse(R"({"b":{"c":2,"d":4},"e":[2],"f":"x"})");
  const Json patch = MergePatchBetween(from, to);
  EXPECT_EQ(patch, Json::parse(R"({"a":null,"b":{"d":4},"e":[2],"f":"x"})"));
  Json patched = from;
  patched.merge_patch(patch);
  EXPECT_EQ(patched, to);
  EXPECT_EQ(MergePatchBetween(to, to), Json::object());
}

TEST(Apply, ShrinkingReplicasDropsStartedReplicaFromInSync) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 1, 1)).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n1"}).state;
  s = MustApply(s, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kStarted}).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n2"}).state;
  s = MustApply(s, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted}).state;
  EXPECT_EQ(s->FindIndex("logs")->routing.shards[0].in_sync.size(), 2u);
  IndexSettingsUpdate u;
  u.replicas = 0;
  ApplyResult r = MustApply(s, UpdateIndexSettingsCmd{"logs", u});
  const ShardRouting& shard = r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard.copies.size(), 1u);
  EXPECT_EQ(shard.copies[0].node_id, "n1");
  EXPECT_EQ(shard.in_sync.size(), 1u);
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kShardFailed, EventType::kIndexModified}));
}

TEST(Apply, PutMappingMergesAndRejectsTypeChanges) {
  StatePtr s = MustApply(EmptyState(), NewIndex("logs", 1, 0)).state;
  Json first = Json::parse(R"({"properties":{"title":{"type":"text"}}})");
  s = MustApply(s, PutMappingCmd{"logs", first}).state;
  Json second = Json::parse(R"({"properties":{"count":{"type":"long"}}})");
  ApplyResult r = MustApply(s, PutMappingCmd{"logs", second});
  EXPECT_EQ(r.state->FindIndex("logs")->mappings,
            Json::parse(R"({"properties":{"count":{"type":"long"},"title":{"type":"text"}}})"));
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kIndexModified});

  Json conflict = Json::parse(R"({"properties":{"title":{"type":"keyword"}}})");
  ExpectError(r.state, PutMappingCmd{"logs", conflict}, StatusCode::kConflict,
              "mapper [title] cannot be changed from type [text] to [keyword]");
  ExpectError(r.state, PutMappingCmd{"nope", first}, StatusCode::kNotFound);
  ExpectError(r.state, PutMappingCmd{"logs", Json(3)}, StatusCode::kInvalidArgument);
}

TEST(Apply, UpdateAliasesModifiesEachTouchedIndexOnce) {
  StatePtr s = MustApply(EmptyState(), NewIndex("a", 1, 0)).state;
  s = MustApply(s, NewIndex("b", 1, 0)).state;
  s = MustApply(s, NewIndex("c", 1, 0)).state;
  AliasMetadata write;
  write.is_write_index = true;
  ApplyResult r =
      MustApply(s, UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "a", "x", write, false},
                                     AliasAction{AliasAction::Type::kAdd, "a", "y", {}, false},
                                     AliasAction{AliasAction::Type::kAdd, "b", "x", {}, false}}});
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kIndexModified, EventType::kIndexModified}));
  EXPECT_EQ(r.state->indices.at("c"), s->indices.at("c")) << "untouched index still shared";
  EXPECT_EQ(r.state->FindIndex("a")->aliases.size(), 2u);
  ExpectError(r.state,
              UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "b", "x", write, false}}},
              StatusCode::kInvalidArgument, "alias [x] has more than one write index [a,b]");
  ExpectError(r.state,
              UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "b", "c", {}, false}}},
              StatusCode::kInvalidArgument,
              "Invalid alias name [c]: an index or data stream exists with the same name as the "
              "alias");
  ExpectError(r.state, NewIndex("y", 1, 0), StatusCode::kInvalidArgument,
              "Invalid index name [y], already exists as alias");
  ExpectError(r.state,
              UpdateAliasesCmd{{AliasAction{AliasAction::Type::kRemove, "c", "x", {}, true}}},
              StatusCode::kNotFound, "aliases [x] missing");
}

// OpenSearch's remove_index: the indices go first, wherever the action stands, so an alias may
// take a removed index's name (how Dashboards turns an index into an alias), and any other
// action on a removed index fails the whole command.
TEST(Apply, UpdateAliasesRemovesIndicesFirst) {
  StatePtr s = MustApply(EmptyState(), NewIndex("kibana", 1, 0)).state;
  s = MustApply(s, NewIndex("kibana_1", 1, 0)).state;
  const AliasAction remove_index{AliasAction::Type::kRemoveIndex, "kibana", "", {}, false};
  ApplyResult r = MustApply(
      s, UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "kibana_1", "kibana", {}, false},
                           remove_index}});
  EXPECT_EQ(r.state->FindIndex("kibana"), nullptr);
  EXPECT_TRUE(r.state->FindIndex("kibana_1")->aliases.contains("kibana"));
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kIndexDeleted, EventType::kIndexModified}));
  ExpectError(s,
              UpdateAliasesCmd{
                  {remove_index, AliasAction{AliasAction::Type::kAdd, "kibana", "k", {}, false}}},
              StatusCode::kNotFound, "no such index [kibana]");
  ExpectError(s, UpdateAliasesCmd{{remove_index, remove_index}}, StatusCode::kNotFound,
              "no such index [kibana]");
  // The write flag moves to the new index as the old one goes.
  AliasMetadata write;
  write.is_write_index = true;
  s = MustApply(
          s, UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "kibana", "w", write, false}}})
          .state;
  r = MustApply(
      s, UpdateAliasesCmd{
             {AliasAction{AliasAction::Type::kAdd, "kibana_1", "w", write, false}, remove_index}});
  EXPECT_EQ(r.state->FindIndex("kibana_1")->aliases.at("w"), write);
}

TEST(Apply, CloseAndOpen) {
  StatePtr s = MustApply(EmptyState(), NewIndex("logs", 1, 0)).state;
  ApplyResult closed = MustApply(s, SetIndexClosedCmd{"logs", true});
  EXPECT_TRUE(closed.state->FindIndex("logs")->closed);
  EXPECT_EQ(Types(closed.events), std::vector<EventType>{EventType::kIndexModified});
  ApplyResult again = MustApply(closed.state, SetIndexClosedCmd{"logs", true});
  EXPECT_TRUE(again.events.empty()) << "closing a closed index changes nothing";
  EXPECT_FALSE(
      MustApply(closed.state, SetIndexClosedCmd{"logs", false}).state->FindIndex("logs")->closed);
  ExpectError(s, SetIndexClosedCmd{"nope", true}, StatusCode::kNotFound);
}

TEST(Apply, TemplatesAreStoredByKind) {
  const Json body = Json::parse(R"({"index_patterns":["a*"]})");
  StatePtr s =
      MustApply(EmptyState(), PutTemplateCmd{TemplateKind::kLegacy, "t", body, true}).state;
  EXPECT_EQ(s->legacy_templates.at("t"), body);
  EXPECT_TRUE(s->index_templates.empty());
  ExpectError(s, PutTemplateCmd{TemplateKind::kLegacy, "t", body, true}, StatusCode::kAlreadyExists,
              "index template [t] already exists");
  ExpectError(s, PutTemplateCmd{TemplateKind::kLegacy, "u", Json::array(), false},
              StatusCode::kInvalidArgument);
  ExpectError(s, DeleteTemplateCmd{TemplateKind::kComposable, "t"}, StatusCode::kNotFound,
              "index_template [t] missing");
  EXPECT_TRUE(
      MustApply(s, DeleteTemplateCmd{TemplateKind::kLegacy, "t"}).state->legacy_templates.empty());
}

TEST(Apply, ClusterUuidIsSetOnce) {
  StatePtr s = MustApply(EmptyState(), SetClusterUuidCmd{"first"}).state;
  EXPECT_EQ(s->cluster_uuid, "first");
  EXPECT_EQ(MustApply(s, SetClusterUuidCmd{"first"}).state->cluster_uuid, "first")
      << "setting it again (a retried proposal) succeeds";
  ExpectError(s, SetClusterUuidCmd{"second"}, StatusCode::kConflict,
              "the cluster uuid is already [first], not [second]");
  ExpectError(EmptyState(), SetClusterUuidCmd{""}, StatusCode::kInvalidArgument);
}

TEST(Apply, RegisterNodeIsIdempotentAndActivates) {
  NodeInfo n = DataNode("n1");
  n.state = NodeState::kJoining;
  ApplyResult r = MustApply(EmptyState(), RegisterNodeCmd{n}, 5);
  const NodeInfo* stored = r.state->FindNode("n1");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->state, NodeState::kActive);
  EXPECT_EQ(stored->last_seen_ms, 5);
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kNodeJoined});

  n.http_port = 9201;
  ApplyResult again = MustApply(r.state, RegisterNodeCmd{n}, 6);
  EXPECT_EQ(again.state->FindNode("n1")->http_port, 9201);
  EXPECT_EQ(Types(again.events), std::vector<EventType>{EventType::kNodeModified});

  NodeInfo bad = n;
  bad.node_id = "";
  ExpectError(r.state, RegisterNodeCmd{bad}, StatusCode::kInvalidArgument);
}

TEST(Apply, UnregisterNodeFailsItsCopies) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 1, 0)).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n1"}).state;
  ApplyResult r = MustApply(s, UnregisterNodeCmd{"n1"});
  EXPECT_EQ(r.state->FindNode("n1"), nullptr);
  const ShardCopy& primary = r.state->FindIndex("logs")->routing.shards[0].primary();
  EXPECT_EQ(primary.state, ShardState::kUnassigned);
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kShardFailed, EventType::kNodeLeft}));
  ExpectError(r.state, UnregisterNodeCmd{"n1"}, StatusCode::kNotFound, "no such node [n1]");
}

TEST(Apply, UpdateNodeStatus) {
  StatePtr s = WithNodes(1);
  NodeStatus heartbeat;
  heartbeat.state = NodeState::kActive;
  ApplyResult r = MustApply(s, UpdateNodeStatusCmd{"n1", heartbeat}, 99);
  EXPECT_EQ(r.state->FindNode("n1")->last_seen_ms, 99);
  EXPECT_TRUE(r.events.empty());  // a plain heartbeat changes nothing anyone watches
  EXPECT_EQ(r.state->version, s->version + 1);

  NodeStatus resources;
  resources.resources = NodeResources{2, 1 << 30, 1 << 30, 1 << 29};
  r = MustApply(r.state, UpdateNodeStatusCmd{"n1", resources});
  EXPECT_EQ(r.state->FindNode("n1")->resources.cpu_cores, 2);
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kNodeModified});

  NodeStatus down{NodeState::kDown, std::nullopt};
  r = MustApply(r.state, UpdateNodeStatusCmd{"n1", down});
  EXPECT_EQ(r.state->FindNode("n1")->state, NodeState::kDown);
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kNodeLeft});
  r = MustApply(r.state, UpdateNodeStatusCmd{"n1", heartbeat});
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kNodeJoined});
  ExpectError(s, UpdateNodeStatusCmd{"zz", heartbeat}, StatusCode::kNotFound);
}

TEST(Apply, AllocateShardErrors) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, RegisterNodeCmd{testing::CoordinationNode("c1")}).state;
  s = MustApply(s, NewIndex("logs", 2, 1)).state;
  ExpectError(s, AllocateShardCmd{"nope", 0, "n1"}, StatusCode::kNotFound, "no such index");
  ExpectError(s, AllocateShardCmd{"logs", 0, "zz"}, StatusCode::kNotFound, "no such node");
  ExpectError(s, AllocateShardCmd{"logs", 2, "n1"}, StatusCode::kInvalidArgument,
              "shard id [2] out of range [0, 2)");
  ExpectError(s, AllocateShardCmd{"logs", -1, "n1"}, StatusCode::kInvalidArgument, "out of range");
  ExpectError(s, AllocateShardCmd{"logs", 0, "c1"}, StatusCode::kInvalidArgument, "no data role");
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n1"}).state;
  ExpectError(s, AllocateShardCmd{"logs", 0, "n1"}, StatusCode::kConflict, "already holds");
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n2"}).state;
  s = MustApply(s, RegisterNodeCmd{DataNode("n3")}).state;
  ExpectError(s, AllocateShardCmd{"logs", 0, "n3"}, StatusCode::kConflict, "already assigned");
  NodeStatus down{NodeState::kDown, std::nullopt};
  s = MustApply(s, UpdateNodeStatusCmd{"n3", down}).state;
  ExpectError(s, AllocateShardCmd{"logs", 1, "n3"}, StatusCode::kConflict, "DOWN");
}

TEST(Apply, ShardLifecycleActivatesIndexAndTracksInSync) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 1, 1)).state;
  ApplyResult r = MustApply(s, AllocateShardCmd{"logs", 0, "n1"});
  const ShardRouting* shard = &r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard->primary().node_id, "n1");
  EXPECT_EQ(shard->primary().state, ShardState::kInitializing);
  EXPECT_EQ(shard->primary().allocation_id, "a1");
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kShardAllocated});
  EXPECT_TRUE(r.events[0].primary);

  // A replica may be allocated early but cannot start before its primary.
  r = MustApply(r.state, AllocateShardCmd{"logs", 0, "n2"});
  ExpectError(r.state, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted},
              StatusCode::kConflict, "cannot start before its primary");

  r = MustApply(r.state, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kStarted});
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kShardStarted, EventType::kIndexModified}));
  EXPECT_EQ(r.state->FindIndex("logs")->state, IndexState::kActive);
  shard = &r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard->in_sync, (std::map<std::string, std::string>{{"a1", "n1"}}));

  r = MustApply(r.state, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted});
  shard = &r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard->in_sync, (std::map<std::string, std::string>{{"a1", "n1"}, {"a2", "n2"}}));
  EXPECT_EQ(ComputeHealth(*r.state).status, HealthStatus::kGreen);

  // Starting a started copy again is accepted and changes nothing but the version.
  ApplyResult again =
      MustApply(r.state, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted});
  EXPECT_TRUE(again.events.empty());

  // Relocation marks.
  r = MustApply(r.state, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kRelocating});
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kShardRelocated});
  r = MustApply(r.state, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted});

  ExpectError(r.state, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kInitializing},
              StatusCode::kConflict, "cannot go from STARTED to INITIALIZING");
  ExpectError(r.state, UpdateShardStateCmd{"logs", 0, "zz", ShardState::kStarted},
              StatusCode::kNotFound, "has no copy on node [zz]");
  ExpectError(r.state, UpdateShardStateCmd{"logs", 5, "n1", ShardState::kStarted},
              StatusCode::kInvalidArgument, "out of range");
}

// Builds logs[0] with a started primary on n1 and a started replica on n2.
StatePtr StartedPair() {
  StatePtr s = WithNodes(3);
  s = MustApply(s, NewIndex("logs", 1, 1)).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n1"}).state;
  s = MustApply(s, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kStarted}).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n2"}).state;
  return MustApply(s, UpdateShardStateCmd{"logs", 0, "n2", ShardState::kStarted}).state;
}

TEST(Apply, LostPrimaryPromotesInSyncReplicaAtOnce) {
  StatePtr s = StartedPair();
  NodeStatus down{NodeState::kDown, std::nullopt};
  ApplyResult r = MustApply(s, UpdateNodeStatusCmd{"n1", down});
  const ShardRouting& shard = r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard.primary().node_id, "n2");
  EXPECT_EQ(shard.primary().state, ShardState::kStarted);
  EXPECT_TRUE(shard.primary().primary);
  EXPECT_FALSE(shard.copies[1].primary);
  EXPECT_EQ(shard.copies[1].state, ShardState::kUnassigned);
  EXPECT_EQ(shard.primary_term, 2);
  // The failed copy leaves the in-sync set: the new primary holds every write.
  EXPECT_EQ(shard.in_sync, (std::map<std::string, std::string>{{"a2", "n2"}}));
  EXPECT_EQ(Types(r.events),
            (std::vector<EventType>{EventType::kShardFailed, EventType::kShardStarted,
                                    EventType::kNodeLeft}));
  EXPECT_EQ(ComputeHealth(*r.state).status, HealthStatus::kYellow);
}

TEST(Apply, StaleReplicaIsNeverPromoted) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 1, 1)).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n1"}).state;
  s = MustApply(s, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kStarted}).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n2"}).state;  // still INITIALIZING
  ApplyResult r = MustApply(s, DeallocateShardCmd{"logs", 0, "n1"});
  const ShardRouting& shard = r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard.primary().state, ShardState::kUnassigned);
  // The recovering replica fails with its source.
  EXPECT_EQ(shard.copies[1].state, ShardState::kUnassigned);
  // The only in-sync copy is kept so that its node can bring the shard back.
  EXPECT_EQ(shard.in_sync, (std::map<std::string, std::string>{{"a1", "n1"}}));
  EXPECT_EQ(ComputeHealth(*r.state).status, HealthStatus::kRed);
  // An empty primary elsewhere would lose data; on n1 it comes back with its old id.
  ExpectError(r.state, AllocateShardCmd{"logs", 0, "n2"}, StatusCode::kConflict,
              "holds no in-sync copy");
  ApplyResult back = MustApply(r.state, AllocateShardCmd{"logs", 0, "n1"});
  EXPECT_EQ(back.state->FindIndex("logs")->routing.shards[0].primary().allocation_id, "a1");
}

TEST(Apply, DeallocateShard) {
  StatePtr s = StartedPair();
  ApplyResult r = MustApply(s, DeallocateShardCmd{"logs", 0, "n2"});
  const ShardRouting& shard = r.state->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(shard.copies[1].state, ShardState::kUnassigned);
  EXPECT_EQ(shard.in_sync, (std::map<std::string, std::string>{{"a1", "n1"}}));
  EXPECT_EQ(Types(r.events), std::vector<EventType>{EventType::kShardFailed});
  ExpectError(r.state, DeallocateShardCmd{"logs", 0, "n2"}, StatusCode::kNotFound);
  ExpectError(r.state, DeallocateShardCmd{"logs", 3, "n1"}, StatusCode::kInvalidArgument);
  ExpectError(r.state, DeallocateShardCmd{"nope", 0, "n1"}, StatusCode::kNotFound);
}

TEST(Apply, FailingCopyThroughShardState) {
  StatePtr s = StartedPair();
  ApplyResult r = MustApply(s, UpdateShardStateCmd{"logs", 0, "n1", ShardState::kUnassigned});
  EXPECT_EQ(r.state->FindIndex("logs")->routing.shards[0].primary().node_id, "n2");
}

TEST(Apply, UntouchedIndicesAreShared) {
  StatePtr s = WithNodes(1);
  s = MustApply(s, NewIndex("a", 1, 0)).state;
  s = MustApply(s, NewIndex("b", 1, 0)).state;
  ApplyResult r = MustApply(s, AllocateShardCmd{"a", 0, "n1"});
  EXPECT_EQ(r.state->indices.at("b").get(), s->indices.at("b").get());
  EXPECT_NE(r.state->indices.at("a").get(), s->indices.at("a").get());
}

TEST(ApplyBatch, AllOrNothingOneVersion) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 2, 0)).state;
  std::vector<Command> ok = {Cmd(AllocateShardCmd{"logs", 0, "n1"}),
                             Cmd(AllocateShardCmd{"logs", 1, "n2"})};
  Result<ApplyResult> r = ApplyBatch(s, ok);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state->version, s->version + 1);
  EXPECT_EQ(r->events.size(), 2u);
  for (const auto& e : r->events) EXPECT_EQ(e.version, s->version + 1);

  std::vector<Command> bad = {Cmd(AllocateShardCmd{"logs", 0, "n1"}),
                              Cmd(AllocateShardCmd{"logs", 0, "n1"})};
  ClusterState before = *s;
  Result<ApplyResult> failed = ApplyBatch(s, bad);
  EXPECT_TRUE(failed.status().IsConflict());
  EXPECT_EQ(*s, before);
  EXPECT_TRUE(ApplyBatch(s, {}).status().IsInvalidArgument());
}

TEST(Health, CountsLikeOpenSearch) {
  StatePtr s = StartedPair();
  s = MustApply(s, NewIndex("empty", 2, 1)).state;
  ClusterHealth h = ComputeHealth(*s);
  EXPECT_EQ(h.status, HealthStatus::kRed);
  EXPECT_EQ(h.number_of_nodes, 3);
  EXPECT_EQ(h.number_of_data_nodes, 3);
  EXPECT_EQ(h.shards.active_primary_shards, 1);
  EXPECT_EQ(h.shards.active_shards, 2);
  EXPECT_EQ(h.shards.unassigned_shards, 4);
  EXPECT_DOUBLE_EQ(h.active_shards_percent, 100.0 * 2 / 6);
  EXPECT_EQ(h.indices.at("logs").status, HealthStatus::kGreen);
  EXPECT_EQ(h.indices.at("empty").status, HealthStatus::kRed);
  EXPECT_EQ(HealthStatusName(h.status), "red");
  EXPECT_EQ(ComputeHealth(*EmptyState()).status, HealthStatus::kGreen);
}

}  // namespace
}  // namespace quidditch::cluster
