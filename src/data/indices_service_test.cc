// IndicesService against an in-process control plane: shards open where they are allocated,
// are reported STARTED, survive a restart of the data role, publish dynamic mappings and are
// removed with their index.
#include "data/indices_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "data/testing/single_node.h"

namespace quidditch::data {
namespace {

using nlohmann::json;
using testing::SingleNode;

controlplane::CallContext Ctx() { return controlplane::CallContext{}; }

cluster::Index CreateIndex(SingleNode& node, const std::string& name, int32_t shards,
                           json mappings = json::object(), json other = json::object()) {
  controlplane::CreateIndexRequest request;
  request.name = name;
  request.settings.shards = shards;
  request.settings.replicas = 0;
  request.settings.other = std::move(other);
  request.mappings = std::move(mappings);
  Result<cluster::Index> index = node.control_plane()->CreateIndex(Ctx(), request);
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : cluster::Index{};
}

engine::BulkItem IndexItem(std::string id, std::string source) {
  engine::BulkItem item;
  item.kind = engine::BulkItem::Kind::kIndex;
  item.id = std::move(id);
  item.source = std::move(source);
  return item;
}

TEST(IndicesService, OpensAllocatedShardsAndReportsThemStarted) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok()) << node.status();
  cluster::Index index = CreateIndex(node, "logs", 2);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());

  Result<cluster::Index> meta = node.control_plane()->GetIndex(Ctx(), "logs");
  ASSERT_TRUE(meta.ok());
  for (const cluster::ShardRouting& shard : meta->routing.shards) {
    EXPECT_EQ(shard.primary().node_id, SingleNode::kNodeId);
    EXPECT_EQ(shard.primary().state, cluster::ShardState::kStarted);
    EXPECT_TRUE(
        std::filesystem::is_directory(node.indices()->ShardDir(index.uuid, shard.shard_id)));
    EXPECT_TRUE(node.indices()->Shard(ShardKey{"logs", shard.shard_id}).ok());
  }
  Result<std::shared_ptr<IndexShard>> missing = node.indices()->Shard(ShardKey{"logs", 2});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsUnavailable());
  EXPECT_EQ(missing.status().message(), "no such shard [logs][2]");
}

TEST(IndicesService, EngineGetsTheIndexSettings) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  json other = {{"analysis",
                 {{"analyzer", {{"shouty", {{"type", "custom"}, {"tokenizer", "whitespace"}}}}}}}};
  CreateIndex(node, "docs", 1,
              {{"properties", {{"body", {{"type", "text"}, {"analyzer", "shouty"}}}}}}, other);
  ASSERT_TRUE(node.WaitForIndexStarted("docs").ok());
  Result<std::shared_ptr<IndexShard>> shard = node.indices()->Shard(ShardKey{"docs", 0});
  ASSERT_TRUE(shard.ok());
  EXPECT_NE((*shard)->engine().analysis().Find("shouty"), nullptr);
  EXPECT_EQ((*shard)->settings()["refresh_interval"], "1s");
}

TEST(IndicesService, ShardThatCannotOpenIsReportedAndNotServed) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  // An analyzer type the engine does not know: every open fails.
  json other = {{"analysis", {{"analyzer", {{"bad", {{"type", "no-such-type"}}}}}}}};
  CreateIndex(node, "broken", 1, json::object(), other);
  // The copy fails, is allocated again, fails again... until the node gives up on it.
  Status started = node.WaitForIndexStarted("broken", std::chrono::milliseconds(500));
  EXPECT_TRUE(started.IsTimeout()) << started;
  ASSERT_TRUE(node.WaitForApplied());
  EXPECT_TRUE(node.indices()->Shard(ShardKey{"broken", 0}).status().IsUnavailable());
  Result<cluster::Index> meta = node.control_plane()->GetIndex(Ctx(), "broken");
  ASSERT_TRUE(meta.ok());
  EXPECT_NE(meta->routing.shards[0].primary().state, cluster::ShardState::kStarted);
}

TEST(IndicesService, DataSurvivesARestartOfTheDataRole) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  CreateIndex(node, "logs", 1);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  ShardKey key{"logs", 0};
  Result<std::vector<engine::BulkItemResult>> written = node.shard_service()->Bulk(
      key, {IndexItem("1", R"({"msg":"hello"})"), IndexItem("2", R"({"msg":"world"})")},
      RefreshPolicy::kNone);
  ASSERT_TRUE(written.ok()) << written.status();
  for (const auto& r : *written) ASSERT_TRUE(r.status.ok()) << r.status;

  ASSERT_TRUE(node.RestartDataRole().ok());
  // A restarted copy is STARTED in the state already; the node opens it again from disk.
  Result<engine::GetResult> got = node.shard_service()->Get(key, "2", true);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->found);
  EXPECT_EQ(got->source, R"({"msg":"world"})");
  Result<engine::EngineStats> stats = node.shard_service()->Stats(key);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->docs_count, 2);
}

TEST(IndicesService, DynamicFieldsReachTheClusterMappingBeforeTheWriteReturns) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  CreateIndex(node, "logs", 2, {{"properties", {{"msg", {{"type", "text"}}}}}});
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  Result<std::vector<engine::BulkItemResult>> written = node.shard_service()->Bulk(
      ShardKey{"logs", 0}, {IndexItem("1", R"({"msg":"x","count":3})")}, RefreshPolicy::kNone);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE((*written)[0].status.ok());

  Result<cluster::Index> meta = node.control_plane()->GetIndex(Ctx(), "logs");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->mappings["properties"]["count"]["type"], "long") << meta->mappings.dump();
  EXPECT_EQ(meta->mappings["properties"]["msg"]["type"], "text");

  // A write that adds no field does not touch the cluster state.
  Result<cluster::StatePtr> before = node.control_plane()->GetClusterState(Ctx());
  ASSERT_TRUE(before.ok());
  written = node.shard_service()->Bulk(
      ShardKey{"logs", 0}, {IndexItem("3", R"({"msg":"y","count":4})")}, RefreshPolicy::kNone);
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE((*written)[0].status.ok());
  Result<cluster::StatePtr> after = node.control_plane()->GetClusterState(Ctx());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->version, (*before)->version);

  // The other shard learns the field from the cluster state.
  ASSERT_TRUE(node.WaitForApplied());
  Result<json> other = node.shard_service()->Mapping(ShardKey{"logs", 1});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)["properties"]["count"]["type"], "long") << other->dump();

  // A conflicting dynamic field on the other shard is refused when published.
  written = node.shard_service()->Bulk(
      ShardKey{"logs", 1}, {IndexItem("2", R"({"count":"not a number"})")}, RefreshPolicy::kNone);
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE((*written)[0].status.ok());
}

TEST(IndicesService, PutMappingReachesTheOpenEngines) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  CreateIndex(node, "logs", 1);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  ASSERT_TRUE(node.control_plane()
                  ->PutMapping(Ctx(), "logs", {{"properties", {{"tag", {{"type", "keyword"}}}}}})
                  .ok());
  ASSERT_TRUE(node.WaitForApplied());
  Result<json> mapping = node.shard_service()->Mapping(ShardKey{"logs", 0});
  ASSERT_TRUE(mapping.ok());
  EXPECT_EQ((*mapping)["properties"]["tag"]["type"], "keyword");
}

TEST(IndicesService, SettingsUpdatesReachTheOpenEngines) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  // Mapped up front: a dynamic mapping update commits (so refreshes) the shard.
  CreateIndex(node, "logs", 1, {{"properties", {{"a", {{"type", "long"}}}}}});
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  cluster::IndexSettingsUpdate update;
  update.refresh_interval = "-1";
  update.other = json{{"translog", {{"durability", "async"}}}};
  ASSERT_TRUE(node.control_plane()->UpdateIndexSettings(Ctx(), "logs", update).ok());
  ASSERT_TRUE(node.WaitForApplied());
  Result<std::shared_ptr<IndexShard>> shard = node.indices()->Shard(ShardKey{"logs", 0});
  ASSERT_TRUE(shard.ok());
  EXPECT_EQ((*shard)->engine().refresh_interval(), std::nullopt);
  EXPECT_EQ((*shard)->settings()["translog"]["durability"], "async");

  // With refresh off, a write stays invisible to search until an explicit refresh.
  Result<std::vector<engine::BulkItemResult>> written = node.shard_service()->Bulk(
      ShardKey{"logs", 0}, {IndexItem("1", R"({"a":1})")}, RefreshPolicy::kNone);
  ASSERT_TRUE(written.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ((*shard)->engine().Stats().docs_count, 0);
  ASSERT_TRUE(node.shard_service()->Refresh(ShardKey{"logs", 0}).ok());
  EXPECT_EQ((*shard)->engine().Stats().docs_count, 1);
}

TEST(IndicesService, DeletingAnIndexClosesItsShardsAndRemovesItsDirectory) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  cluster::Index index = CreateIndex(node, "logs", 2);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  const std::filesystem::path dir = std::filesystem::path(node.data_dir()) / "indices" / index.uuid;
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  ASSERT_TRUE(node.shard_service()
                  ->Bulk(ShardKey{"logs", 0}, {IndexItem("1", "{}")}, RefreshPolicy::kRefresh)
                  .ok());

  ASSERT_TRUE(node.control_plane()->DeleteIndex(Ctx(), "logs").ok());
  ASSERT_TRUE(node.WaitForApplied());
  EXPECT_TRUE(node.indices()->Shard(ShardKey{"logs", 0}).status().IsUnavailable());
  EXPECT_FALSE(std::filesystem::exists(dir));

  // A new index of the same name starts empty.
  CreateIndex(node, "logs", 1);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  Result<engine::GetResult> got = node.shard_service()->Get(ShardKey{"logs", 0}, "1", true);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->found);
}

TEST(IndicesService, ClosingAnIndexClosesItsShardsAndOpeningReopensThemWithTheirData) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  cluster::Index index = CreateIndex(node, "logs", 2);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  const ShardKey key{"logs", 1};
  ASSERT_TRUE(node.shard_service()->Bulk(key, {IndexItem("1", "{}")}, RefreshPolicy::kNone).ok());

  ASSERT_TRUE(node.control_plane()->SetIndexClosed(Ctx(), "logs", true).ok());
  ASSERT_TRUE(node.WaitForApplied());
  EXPECT_TRUE(node.indices()->Shard(key).status().IsUnavailable()) << "engine released";
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::path(node.data_dir()) / "indices" /
                                            index.uuid))
      << "a closed index keeps its data";

  ASSERT_TRUE(node.control_plane()->SetIndexClosed(Ctx(), "logs", false).ok());
  ASSERT_TRUE(node.WaitForApplied());
  Result<engine::GetResult> got = node.shard_service()->Get(key, "1", true);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->found) << "the unrefreshed write came back from the translog";
}

TEST(IndicesService, ADeletedShardStillHeldKeepsItsDataUntilReleased) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  cluster::Index index = CreateIndex(node, "logs", 1);
  ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
  const std::filesystem::path dir = std::filesystem::path(node.data_dir()) / "indices" / index.uuid;
  Result<std::shared_ptr<IndexShard>> held = node.indices()->Shard(ShardKey{"logs", 0});
  ASSERT_TRUE(held.ok());

  ASSERT_TRUE(node.control_plane()->DeleteIndex(Ctx(), "logs").ok());
  ASSERT_TRUE(node.WaitForApplied());
  // Another pass of the applier (any state change) must not remove it either.
  CreateIndex(node, "other", 1);
  ASSERT_TRUE(node.WaitForIndexStarted("other").ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir)) << "a holder still reads it";
  EXPECT_TRUE((*held)->engine().Get("1", true).ok());

  held->reset();  // the last holder: the shard's data goes with it
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(IndicesService, OrphanDirectoriesAreRemovedAtStart) {
  SingleNode node;
  ASSERT_TRUE(node.status().ok());
  const std::filesystem::path orphan =
      std::filesystem::path(node.data_dir()) / "indices" / "no-such-uuid" / "0";
  std::filesystem::create_directories(orphan);
  ASSERT_TRUE(node.RestartDataRole().ok());
  EXPECT_FALSE(std::filesystem::exists(orphan.parent_path()));
}

}  // namespace
}  // namespace quidditch::data
