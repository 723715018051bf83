#include "cluster/codec.h"

#include <gtest/gtest.h>

#include "cluster/allocator.h"
#include "cluster/test_util.h"

namespace quidditch::cluster {
namespace {

using testing::Cmd;
using testing::DataNode;
using testing::MustApply;
using testing::NewIndex;

// A state that uses every field: nodes of every kind, replicas, in-sync sets, mappings.
StatePtr RichState() {
  StatePtr s = EmptyState();
  NodeInfo d1 = DataNode("d1");
  d1.resources = NodeResources{8, int64_t{16} << 30, int64_t{500} << 30, int64_t{400} << 30};
  s = MustApply(s, RegisterNodeCmd{d1}, 10).state;
  s = MustApply(s, RegisterNodeCmd{DataNode("d2")}, 11).state;
  s = MustApply(s, RegisterNodeCmd{testing::CoordinationNode("c1")}, 12).state;
  CreateIndexCmd create = NewIndex("logs", 2, 1);
  create.settings.codec = "best_compression";
  create.settings.refresh_interval = "-1";
  create.settings.other = Json::parse(R"({"max_result_window":500,"analysis":{"analyzer":{}}})");
  create.mappings = Json::parse(
      R"({"properties":{"title":{"type":"text","fields":{"raw":{"type":"keyword"}}}}})");
  AliasMetadata alias;
  alias.filter = Json::parse(R"({"term":{"title":"x"}})");
  alias.index_routing = "1";
  alias.search_routing = "1,2";
  alias.is_write_index = false;
  alias.is_hidden = true;
  create.aliases = {{"all-logs", alias}, {"plain", AliasMetadata{}}};
  s = MustApply(s, create, 13).state;
  s = MustApply(s, SetIndexClosedCmd{"logs", true}, 13).state;
  s = MustApply(s, PutTemplateCmd{TemplateKind::kComposable, "t", Json::parse(R"({"priority":3})")},
                13)
          .state;
  s = MustApply(s, PutTemplateCmd{TemplateKind::kLegacy, "old", Json::parse(R"({"order":1})")}, 13)
          .state;
  Result<ApplyResult> r = ApplyBatch(s, ComputeAllocation(*s, 14));
  EXPECT_TRUE(r.ok());
  s = r->state;
  s = MustApply(s, UpdateShardStateCmd{"logs", 0,
                                       s->FindIndex("logs")->routing.shards[0].primary().node_id,
                                       ShardState::kStarted})
          .state;
  NodeStatus down{NodeState::kDown, std::nullopt};
  s = MustApply(s, SetClusterUuidCmd{"0123456789abcdefghij_-"}, 15).state;
  return MustApply(s, UpdateNodeStatusCmd{"d2", down}, 15).state;
}

TEST(Codec, StateRoundTripIsExactAndStable) {
  StatePtr s = RichState();
  Json encoded = EncodeState(*s);
  Result<ClusterState> decoded = DecodeState(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, *s);
  // Equal values encode to identical bytes, through text too.
  std::string text = encoded.dump();
  Result<Json> reparsed = ParseJson(text);
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(EncodeState(DecodeState(*reparsed).value()).dump(), text);
}

TEST(Codec, EveryCommandRoundTrips) {
  NodeStatus status{NodeState::kLeaving, NodeResources{1, 2, 3, 4}};
  IndexSettingsUpdate update;
  update.replicas = 3;
  update.refresh_interval = "5s";
  update.shards = 2;
  update.codec = "default";
  update.other = Json::parse(R"({"max_result_window":null,"translog":{"durability":"async"}})");
  CreateIndexCmd create = NewIndex("logs", 3, 2);
  create.mappings = Json::parse(R"({"properties":{"n":{"type":"long"}}})");
  AliasMetadata create_alias;
  create_alias.is_write_index = true;
  create_alias.filter = Json::parse(R"({"match_all":{}})");
  create.aliases = {{"l", create_alias}};
  std::vector<Command> commands = {
      Cmd(create, 1),
      Cmd(DeleteIndexCmd{"logs"}, 2),
      Cmd(UpdateIndexSettingsCmd{"logs", update}, 3),
      Cmd(UpdateIndexSettingsCmd{"logs", IndexSettingsUpdate{}}, 3),
      Cmd(PutMappingCmd{"logs", Json::parse(R"({"properties":{}})")}, 4),
      Cmd(RegisterNodeCmd{DataNode("d1")}, 5),
      Cmd(UnregisterNodeCmd{"d1"}, 6),
      Cmd(UpdateNodeStatusCmd{"d1", status}, 7),
      Cmd(UpdateNodeStatusCmd{"d1", NodeStatus{}}, 7),
      Cmd(AllocateShardCmd{"logs", 1, "d1"}, 8),
      Cmd(DeallocateShardCmd{"logs", 2, "d2"}, 9),
      Cmd(UpdateShardStateCmd{"logs", 0, "d1", ShardState::kRelocating}, 10),
      Cmd(UpdateAliasesCmd{{AliasAction{AliasAction::Type::kAdd, "logs", "l", create_alias, false},
                            AliasAction{AliasAction::Type::kRemove, "logs", "m", {}, true},
                            AliasAction{AliasAction::Type::kRemoveIndex, "old", "", {}, false}}},
          12),
      Cmd(SetIndexClosedCmd{"logs", true}, 13),
      Cmd(PutTemplateCmd{TemplateKind::kLegacy, "t", Json::parse(R"({"order":2})"), true}, 14),
      Cmd(DeleteTemplateCmd{TemplateKind::kComposable, "t"}, 15),
      Cmd(SetClusterUuidCmd{"u"}, 16),
  };
  // A command carries what it was given; Apply(), not the codec, rejects bad mappings.
  commands.push_back(Cmd(PutMappingCmd{"logs", Json::array({1, 2})}, 11));
  ASSERT_EQ(commands.size() - 3, std::variant_size_v<CommandOp>);
  for (const Command& c : commands) {
    Result<Command> decoded = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, c) << EncodeCommand(c).dump();
  }
  Result<std::vector<Command>> batch = DecodeCommands(EncodeCommands(commands));
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(*batch, commands);
}

TEST(Codec, StatesAndCommandsStoredBeforeAliasesStillDecode) {
  // What a node stored before indices had aliases and open/close: no such keys.
  Json index = EncodeIndex(*RichState()->FindIndex("logs"));
  index.erase("aliases");
  index.erase("closed");
  Result<Index> decoded = DecodeIndex(index);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->aliases.empty());
  EXPECT_FALSE(decoded->closed);
  Json create = EncodeCommand(Cmd(NewIndex("old", 1, 0), 1));
  create["op"].erase("aliases");
  Result<Command> command = DecodeCommand(create);
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_TRUE(std::get<CreateIndexCmd>(command->op).aliases.empty());
  Json state = EncodeState(*RichState());
  state.erase("indexTemplates");
  state.erase("legacyTemplates");
  state.erase("clusterUuid");
  Result<ClusterState> old_state = DecodeState(state);
  ASSERT_TRUE(old_state.ok()) << old_state.status();
  EXPECT_TRUE(old_state->index_templates.empty());
  EXPECT_EQ(old_state->cluster_uuid, "") << "the Raft leader sets one";
  // A present key is still checked.
  index["aliases"] = Json::array();
  EXPECT_TRUE(DecodeIndex(index).status().IsCorruption());
}

TEST(Codec, EventsRoundTripIncludingResync) {
  ClusterStateEvent shard{EventType::kShardStarted, 7, 99, "logs", "d1", 2, true, nullptr};
  EXPECT_EQ(DecodeEvent(EncodeEvent(shard)).value(), shard);
  ClusterStateEvent resync{EventType::kResync, 9, 100, "", "", -1, false, RichState()};
  Result<ClusterStateEvent> decoded = DecodeEvent(EncodeEvent(resync));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, resync);
}

TEST(Codec, CommandWireFormat) {
  // The format is a contract (Raft log, export files): pin one encoding.
  Json j = EncodeCommand(Cmd(AllocateShardCmd{"logs", 1, "d1"}, 5));
  EXPECT_EQ(
      j.dump(),
      R"({"op":{"index":"logs","nodeId":"d1","shardId":1},"timestamp":5,"type":"AllocateShard"})");
}

TEST(Codec, StrictDecodingNamesTheField) {
  Json j = EncodeState(*RichState());
  struct Case {
    std::function<void(Json&)> damage;
    std::string message;
  };
  const Case cases[] = {
      {[](Json& s) { s.erase("version"); }, "state.version: missing"},
      {[](Json& s) { s["version"] = "7"; }, "state.version: expected an integer"},
      {[](Json& s) { s["nodes"]["d1"]["state"] = "SLEEPING"; },
       "state.nodes.d1.state: unknown value \"SLEEPING\""},
      {[](Json& s) { s["nodes"]["d1"]["roles"] = Json::array({"chef"}); }, "unknown role"},
      {[](Json& s) { s["indices"]["logs"]["shards"][0]["copies"][0]["primary"] = false; },
       "the first copy must be the primary"},
      {[](Json& s) { s["indices"]["logs"]["settings"]["shards"] = 1.5; },
       "state.indices.logs.settings.shards: expected an integer"},
      {[](Json& s) { s["indices"]["other"] = s["indices"]["logs"]; }, "key other holds index logs"},
      {[](Json& s) { s = Json::array(); }, "state: expected an object"},
  };
  for (const Case& c : cases) {
    Json damaged = j;
    c.damage(damaged);
    Result<ClusterState> r = DecodeState(damaged);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status();
  }
  Json unknown = EncodeCommand(Cmd(DeleteIndexCmd{"x"}));
  unknown["type"] = "Explode";
  EXPECT_NE(DecodeCommand(unknown).status().message().find("unknown command \"Explode\""),
            std::string::npos);
  EXPECT_TRUE(ParseJson("{not json").status().IsCorruption());
}

}  // namespace
}  // namespace quidditch::cluster
