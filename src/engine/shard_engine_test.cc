#include "engine/shard_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "engine/index/segment_file.h"
#include "engine/index/segment_format.h"
#include "engine/testing/engine_test_util.h"

namespace quidditch::engine {
namespace {

using testing::AllLiveDocs;
using testing::TempDir;
using testing::TestOptions;

std::unique_ptr<ShardEngine> OpenOrDie(const EngineOptions& o) {
  auto e = ShardEngine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(e).value() : nullptr;
}

std::string Doc(int n) {
  return R"({"title":"hello world )" + std::to_string(n) + R"(","n":)" + std::to_string(n) + "}";
}

WriteResult IndexOk(ShardEngine& e, const std::string& id, const std::string& source,
                    const WriteParams& p = {}) {
  auto r = e.Index(id, source, p);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : WriteResult{};
}

TEST(ShardEngineTest, IndexAssignsSeqNosAndInternalVersions) {
  TempDir dir("versions");
  auto e = OpenOrDie(TestOptions(dir.path()));
  WriteResult a = IndexOk(*e, "1", Doc(1));
  EXPECT_EQ(e->Stats().translog_sync_total, 1);  // durability request: synced before the ack
  EXPECT_EQ(a.seq_no, 0);
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.primary_term, 1);
  EXPECT_EQ(a.result, WriteResultKind::kCreated);
  WriteResult b = IndexOk(*e, "1", Doc(2));
  EXPECT_EQ(b.seq_no, 1);
  EXPECT_EQ(b.version, 2);
  EXPECT_EQ(b.result, WriteResultKind::kUpdated);
  WriteResult c = IndexOk(*e, "2", Doc(3));
  EXPECT_EQ(c.seq_no, 2);
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(WriteResultName(b.result), "updated");
}

TEST(ShardEngineTest, CreateConflictsWhenTheDocumentExists) {
  TempDir dir("create");
  auto e = OpenOrDie(TestOptions(dir.path()));
  WriteParams create;
  create.op_type = OpType::kCreate;
  EXPECT_EQ(IndexOk(*e, "1", Doc(1), create).result, WriteResultKind::kCreated);
  auto again = e->Index("1", Doc(2), create);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsConflict());
  EXPECT_EQ(again.status().message(),
            "version_conflict_engine_exception: [1]: version conflict, document already exists "
            "(current version [1])");
  // The conflict consumed no seq_no; after a delete, create works again with the next version.
  EXPECT_EQ(e->max_seq_no(), 0);
  ASSERT_TRUE(e->Delete("1").ok());
  WriteResult re = IndexOk(*e, "1", Doc(3), create);
  EXPECT_EQ(re.result, WriteResultKind::kCreated);
  EXPECT_EQ(re.version, 3);
  EXPECT_EQ(re.seq_no, 2);
  // Also when the existing copy is in a segment rather than the buffer.
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_TRUE(e->Index("1", Doc(4), create).status().IsConflict());
}

TEST(ShardEngineTest, IfSeqNoConflicts) {
  TempDir dir("cas");
  auto e = OpenOrDie(TestOptions(dir.path()));
  IndexOk(*e, "1", Doc(1));
  IndexOk(*e, "1", Doc(2));  // seq_no 1
  WriteParams p;
  p.if_seq_no = 0;
  p.if_primary_term = 1;
  auto r = e->Index("1", Doc(3), p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "version_conflict_engine_exception: [1]: version conflict, required seqNo [0], "
            "primary term [1]. current document has seqNo [1] and primary term [1]");
  p.if_seq_no = 1;
  p.if_primary_term = 2;
  EXPECT_TRUE(e->Index("1", Doc(3), p).status().IsConflict());
  p.if_primary_term = 1;
  ASSERT_TRUE(e->Refresh().ok());  // the current copy is in a segment now
  WriteResult ok = IndexOk(*e, "1", Doc(3), p);
  EXPECT_EQ(ok.version, 3);
  auto missing = e->Index("nope", Doc(1), p);
  EXPECT_EQ(missing.status().message(),
            "version_conflict_engine_exception: [nope]: version conflict, required seqNo [1], "
            "primary term [1] but no document was found");
  // Delete honours the same conditions.
  p.if_seq_no = 0;
  EXPECT_TRUE(e->Delete("1", p).status().IsConflict());
  p.if_seq_no = ok.seq_no;
  EXPECT_EQ(e->Delete("1", p)->result, WriteResultKind::kDeleted);
  // Half a condition is a bad request, not a conflict.
  WriteParams half;
  half.if_seq_no = 1;
  EXPECT_TRUE(e->Index("1", Doc(1), half).status().IsInvalidArgument());
  // ... for updates too, and a condition excludes retries.
  IndexOk(*e, "u", Doc(1));
  UpdateRequest update;
  update.doc = R"({"extra":1})";
  update.if_seq_no = 0;
  EXPECT_TRUE(e->Update("u", update).status().IsInvalidArgument());
  update.if_primary_term = 1;
  update.retry_on_conflict = 2;
  Status retry = e->Update("u", update).status();
  EXPECT_EQ(retry.message(),
            "illegal_argument_exception: compare and write operations can not be used with "
            "retry_on_conflict");
}

TEST(ShardEngineTest, ExternalVersioning) {
  TempDir dir("external");
  auto e = OpenOrDie(TestOptions(dir.path()));
  WriteParams ext;
  ext.version_type = VersionType::kExternal;
  ext.version = 5;
  EXPECT_EQ(IndexOk(*e, "1", Doc(1), ext).version, 5);
  auto same = e->Index("1", Doc(1), ext);
  EXPECT_EQ(same.status().message(),
            "version_conflict_engine_exception: [1]: version conflict, current version [5] is "
            "higher or equal to the one provided [5]");
  WriteParams gte = ext;
  gte.version_type = VersionType::kExternalGte;
  EXPECT_EQ(IndexOk(*e, "1", Doc(2), gte).version, 5);
  gte.version = 4;
  EXPECT_EQ(e->Index("1", Doc(2), gte).status().message(),
            "version_conflict_engine_exception: [1]: version conflict, current version [5] is "
            "higher than the one provided [4]");
  ext.version = 9;
  EXPECT_EQ(IndexOk(*e, "1", Doc(3), ext).version, 9);
  // External delete: lower versions conflict, the tombstone keeps the version.
  ext.version = 8;
  EXPECT_TRUE(e->Delete("1", ext).status().IsConflict());
  ext.version = 10;
  EXPECT_EQ(e->Delete("1", ext)->result, WriteResultKind::kDeleted);
  EXPECT_TRUE(e->Index("1", Doc(4), ext).status().IsConflict());
  // Internal versioning with an explicit version is rejected as OpenSearch does.
  WriteParams bad;
  bad.version = 3;
  auto r = e->Index("2", Doc(1), bad);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_EQ(e->Get("2")->found, false);
}

TEST(ShardEngineTest, DeleteOfMissingDocumentTakesASeqNo) {
  TempDir dir("delete");
  auto e = OpenOrDie(TestOptions(dir.path()));
  auto missing = e->Delete("x");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->result, WriteResultKind::kNotFound);
  EXPECT_EQ(missing->seq_no, 0);
  EXPECT_EQ(missing->version, 1);
  IndexOk(*e, "1", Doc(1));
  ASSERT_TRUE(e->Refresh().ok());
  auto del = e->Delete("1");
  EXPECT_EQ(del->result, WriteResultKind::kDeleted);
  EXPECT_EQ(del->version, 2);
  EXPECT_EQ(del->seq_no, 2);
  EXPECT_FALSE(e->Get("1")->found);
  // Not yet refreshed: the snapshot still shows it; after refresh it is gone.
  EXPECT_EQ(AllLiveDocs(*e->AcquireSnapshot()).size(), 1u);
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_EQ(AllLiveDocs(*e->AcquireSnapshot()).size(), 0u);
  WriteResult again = IndexOk(*e, "1", Doc(2));
  EXPECT_EQ(again.result, WriteResultKind::kCreated);
  EXPECT_EQ(again.version, 3);
}

TEST(ShardEngineTest, DocumentThatFailsToParseChangesNothing) {
  TempDir dir("parse");
  auto e = OpenOrDie(TestOptions(dir.path()));
  IndexOk(*e, "1", R"({"n":5})");
  auto bad = e->Index("2", R"({"n":"not a number"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status();
  auto broken = e->Index("3", R"({"n":)");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(e->max_seq_no(), 0);
  EXPECT_FALSE(e->Get("2")->found);
  EXPECT_EQ(e->Stats().index_failed, 2);
  // Dynamic mapping: the new field is adopted.
  IndexOk(*e, "4", R"({"tag":"red"})");
  EXPECT_NE(e->mapping().Find("tag"), nullptr);
}

TEST(ShardEngineTest, RealtimeGetAndRefreshVisibility) {
  TempDir dir("get");
  auto e = OpenOrDie(TestOptions(dir.path()));
  IndexOk(*e, "1", Doc(1));
  auto g = e->Get("1");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->found);
  EXPECT_EQ(g->source, Doc(1));
  EXPECT_EQ(g->version, 1);
  EXPECT_FALSE(e->Get("1", /*realtime=*/false)->found);
  EXPECT_TRUE(e->AcquireSnapshot()->leaves.empty());
  ASSERT_TRUE(e->Refresh().ok());
  auto snap = e->AcquireSnapshot();
  EXPECT_EQ(snap->max_seq_no, 0);
  ASSERT_EQ(snap->leaves.size(), 1u);
  EXPECT_TRUE(e->Get("1", false)->found);
  // The id is indexed once per document under _id.
  std::optional<TermState> id_term = snap->leaves[0].reader->SeekExact("_id", "1");
  ASSERT_TRUE(id_term.has_value());
  EXPECT_EQ(id_term->doc_freq, 1u);
  EXPECT_EQ(id_term->total_term_freq, 1u);
  // Realtime get of a document in a segment reads its stored source.
  IndexOk(*e, "1", Doc(2));
  EXPECT_EQ(e->Get("1")->source, Doc(2));
  EXPECT_EQ(e->Get("1", false)->source, Doc(1));
  // The old snapshot is immutable.
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_EQ(AllLiveDocs(*snap).at("1").source, Doc(1));
  EXPECT_EQ(AllLiveDocs(*e->AcquireSnapshot()).at("1").source, Doc(2));
  // The first segment's only document was replaced: the segment left the snapshot.
  EngineStats s = e->Stats();
  EXPECT_EQ(s.docs_count, 1);
  EXPECT_EQ(s.docs_deleted, 0);
  EXPECT_EQ(s.segment_count, 1);
  EXPECT_EQ(s.get_total, 5);
  EXPECT_EQ(s.get_exists_total, 4);
}

TEST(ShardEngineTest, BackgroundRefresherHonoursTheInterval) {
  TempDir dir("refresher");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index.refresh_interval", "50ms"}};
  auto e = OpenOrDie(o);
  IndexOk(*e, "1", Doc(1));
  for (int i = 0; i < 100 && e->AcquireSnapshot()->leaves.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(e->AcquireSnapshot()->leaves.size(), 1u);
}

TEST(ShardEngineTest, UpdateSettingsStartsAndPausesTheRefresher) {
  TempDir dir("update-settings");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index.refresh_interval", "-1"}};
  auto e = OpenOrDie(o);
  IndexOk(*e, "1", Doc(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(e->AcquireSnapshot()->leaves.empty()) << "refresh is off";

  ASSERT_TRUE(e->UpdateSettings({{"index", {{"refresh_interval", "50ms"}}}}).ok());
  for (int i = 0; i < 100 && e->AcquireSnapshot()->leaves.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(e->AcquireSnapshot()->leaves.size(), 1u) << "the refresher follows the new interval";

  // A bad value changes nothing, not even the good values next to it.
  Status bad = e->UpdateSettings(
      {{"index.refresh_interval", "-1"}, {"index.translog.durability", "sometimes"}});
  EXPECT_TRUE(bad.IsInvalidArgument()) << bad;
  IndexOk(*e, "2", Doc(2));
  for (int i = 0; i < 100 && e->AcquireSnapshot()->leaves.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(e->AcquireSnapshot()->leaves.size(), 2u) << "still refreshing every 50ms";

  ASSERT_TRUE(e->UpdateSettings({{"index.refresh_interval", "-1"}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a pass already under way
  const size_t leaves = e->AcquireSnapshot()->leaves.size();
  IndexOk(*e, "3", Doc(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(e->AcquireSnapshot()->leaves.size(), leaves) << "paused again";
}

TEST(ShardEngineTest, ASettingLeftOutOfAnUpdateGoesBackToItsDefault) {
  TempDir dir("settings-reset");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index.refresh_interval", "-1"}};
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->refresh_interval(), std::nullopt);
  ASSERT_TRUE(e->UpdateSettings({{"index.refresh_interval", "30s"}}).ok());
  EXPECT_EQ(e->refresh_interval(), std::chrono::milliseconds(30000));
  // PUT _settings {"index.refresh_interval": null} leaves the key out of the index's settings.
  ASSERT_TRUE(e->UpdateSettings(nlohmann::json::object()).ok());
  EXPECT_EQ(e->refresh_interval(), std::chrono::milliseconds(1000)) << "OpenSearch's default";
}

TEST(ShardEngineTest, TheRefresherPublishesTheSeqNoOfADeleteThatFoundNothing) {
  TempDir dir("delete-missing");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index.refresh_interval", "50ms"}};
  auto e = OpenOrDie(o);
  IndexOk(*e, "1", Doc(1));
  ASSERT_TRUE(e->Refresh().ok());
  Result<WriteResult> deleted = e->Delete("missing");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->result, WriteResultKind::kNotFound);
  // What refresh=wait_for waits for: the snapshot's max_seq_no reaching the delete's.
  for (int i = 0; i < 100 && e->AcquireSnapshot()->max_seq_no < deleted->seq_no; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(e->AcquireSnapshot()->max_seq_no, deleted->seq_no);
  EXPECT_EQ(e->AcquireSnapshot()->leaves.size(), 1u) << "nothing else changed";
}

TEST(ShardEngineTest, BackgroundFlushWhenTheTranslogOutgrowsTheThreshold) {
  TempDir dir("autoflush");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index.refresh_interval", "50ms"}, {"index.translog.flush_threshold_size", "1kb"}};
  auto e = OpenOrDie(o);
  for (int i = 0; i < 30; ++i) IndexOk(*e, std::to_string(i), Doc(i));
  for (int i = 0; i < 100 && e->Stats().flush_total == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(e->Stats().flush_total, 1);
  EXPECT_GE(e->Stats().local_checkpoint, 0);  // a commit point exists
}

TEST(ShardEngineTest, BadSettingsAreIllegalArguments) {
  TempDir dir("settings");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index", {{"translog", {{"durability", "sometimes"}}}}}};
  EXPECT_TRUE(ShardEngine::Open(o).status().IsInvalidArgument());
  o.settings = {{"index.refresh_interval", "fast"}};
  EXPECT_TRUE(ShardEngine::Open(o).status().IsInvalidArgument());
  o.settings = {{"index.translog.flush_threshold_size", "12 parsecs"}};
  EXPECT_TRUE(ShardEngine::Open(o).status().IsInvalidArgument());
  o.settings = {{"index.codec", "lz4"}};
  Status codec = ShardEngine::Open(o).status();
  EXPECT_TRUE(codec.IsInvalidArgument());
  EXPECT_NE(codec.message().find("unknown value for [index.codec]"), std::string::npos) << codec;
}

// The stored-fields codec of every segment in the engine's directory, by segment name.
std::map<std::string, StoredFieldsCodec> SegmentCodecs(const std::string& dir) {
  std::map<std::string, StoredFieldsCodec> codecs;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".si") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    EXPECT_GT(bytes.size(), index_internal::kFooterSize);
    codecs[e.path().stem().string()] =
        index_internal::DecodeSegmentMeta(reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size() - index_internal::kFooterSize)
            .stored_codec;
  }
  return codecs;
}

// index.codec picks the stored-fields compression of the segments written from then on;
// segments written in the other codec stay readable.
TEST(ShardEngineTest, IndexCodecChoosesTheStoredFieldsCompression) {
  TempDir dir("codec");
  EngineOptions o = TestOptions(dir.path());
  o.settings["index"]["codec"] = "best_compression";
  {
    auto e = OpenOrDie(o);
    for (int i = 0; i < 20; ++i) IndexOk(*e, std::to_string(i), Doc(i));
    ASSERT_TRUE(e->Flush().ok());
  }
  EXPECT_EQ(SegmentCodecs(dir.path()),
            (std::map<std::string, StoredFieldsCodec>{{"_0", StoredFieldsCodec::kZstd}}));
  o.settings["index"]["codec"] = "default";
  auto e = OpenOrDie(o);
  for (int i = 20; i < 30; ++i) IndexOk(*e, std::to_string(i), Doc(i));
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_EQ(SegmentCodecs(dir.path()),
            (std::map<std::string, StoredFieldsCodec>{{"_0", StoredFieldsCodec::kZstd},
                                                      {"_1", StoredFieldsCodec::kLz4}}));
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  ASSERT_EQ(docs.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(docs.at(std::to_string(i)).source, Doc(i));
}

TEST(ShardEngineTest, FlushAndReopen) {
  TempDir dir("flush");
  {
    auto e = OpenOrDie(TestOptions(dir.path()));
    for (int i = 0; i < 20; ++i) IndexOk(*e, std::to_string(i), Doc(i));
    ASSERT_TRUE(e->Refresh().ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(e->Delete(std::to_string(i)).ok());
    IndexOk(*e, "7", Doc(70));
    IndexOk(*e, "extra", R"({"color":"blue"})");
    ASSERT_TRUE(e->Flush().ok());
    EXPECT_EQ(e->Stats().flush_total, 1);
    EXPECT_EQ(e->Stats().local_checkpoint, e->max_seq_no());
  }
  auto e = OpenOrDie(TestOptions(dir.path()));
  EXPECT_EQ(e->max_seq_no(), 26);
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.size(), 16u);
  EXPECT_EQ(docs.count("0"), 0u);
  EXPECT_EQ(docs.at("7").source, Doc(70));
  EXPECT_EQ(docs.at("7").meta.version, 2);
  EXPECT_EQ(e->Get("7")->version, 2);
  EXPECT_NE(e->mapping().Find("color"), nullptr);  // the commit carries the dynamic mapping
  EXPECT_EQ(e->Stats().docs_count, 16);
  // Writing continues with the next seq_no.
  EXPECT_EQ(IndexOk(*e, "new", Doc(1)).seq_no, 27);
}

TEST(ShardEngineTest, MappingsOfOpenAreMergedIntoTheCommittedMapping) {
  TempDir dir("mappings");
  EngineOptions o = TestOptions(dir.path());
  o.mappings = {{"properties", {{"k", {{"type", "keyword"}}}}}};
  {
    auto e = OpenOrDie(o);
    IndexOk(*e, "1", R"({"k":"a","dyn":5})");
    ASSERT_TRUE(e->Flush().ok());
    ASSERT_TRUE(e->UpdateMapping({{"properties", {{"later", {{"type", "long"}}}}}}).ok());
    Status conflict = e->UpdateMapping({{"properties", {{"k", {{"type", "long"}}}}}});
    EXPECT_TRUE(conflict.IsInvalidArgument()) << conflict;
  }
  o.mappings = {{"properties", {{"k", {{"type", "keyword"}}}, {"later", {{"type", "long"}}}}}};
  auto e = OpenOrDie(o);
  Mapping m = e->mapping();
  ASSERT_NE(m.Find("k"), nullptr);
  EXPECT_EQ(m.Find("k")->type, FieldType::kKeyword);
  ASSERT_NE(m.Find("dyn"), nullptr);  // dynamic, from the commit point
  ASSERT_NE(m.Find("later"), nullptr);
  EXPECT_EQ(m.Find("later")->type, FieldType::kLong);
  EXPECT_EQ(m.Find("dyn")->type, FieldType::kLong);
}

// A mapping change is durable when acknowledged: documents written under it replay after a
// reopen that does not pass the mapping again.
TEST(ShardEngineTest, MappingUpdateSurvivesReopenWithoutTheCaller) {
  TempDir dir("mapping_durable");
  EngineOptions o = TestOptions(dir.path());
  {
    auto e = OpenOrDie(o);
    ASSERT_TRUE(e->UpdateMapping({{"properties", {{"x", {{"type", "keyword"}}}}}}).ok());
    IndexOk(*e, "1", R"({"x":true})");
    IndexOk(*e, "2", R"({"x":"abc"})");
  }
  auto e = OpenOrDie(o);
  ASSERT_NE(e->mapping().Find("x"), nullptr);
  EXPECT_EQ(e->mapping().Find("x")->type, FieldType::kKeyword);
  EXPECT_TRUE(e->Get("2")->found);
}

TEST(ShardEngineTest, TranslogReplayAfterReopenWithoutFlush) {
  TempDir dir("replay");
  {
    auto e = OpenOrDie(TestOptions(dir.path()));
    for (int i = 0; i < 10; ++i) IndexOk(*e, std::to_string(i), Doc(i));
    ASSERT_TRUE(e->Flush().ok());
    for (int i = 10; i < 15; ++i) IndexOk(*e, std::to_string(i), Doc(i));
    ASSERT_TRUE(e->Refresh().ok());  // a segment no commit references
    ASSERT_TRUE(e->Delete("3").ok());
    IndexOk(*e, "4", Doc(44));
    IndexOk(*e, "dyn", R"({"shape":"round"})");
  }
  auto e = OpenOrDie(TestOptions(dir.path()));
  EXPECT_EQ(e->max_seq_no(), 17);
  EXPECT_FALSE(e->Get("3")->found);
  EXPECT_EQ(e->Get("4")->source, Doc(44));
  EXPECT_EQ(e->Get("4")->version, 2);
  EXPECT_EQ(e->Get("12")->source, Doc(12));
  EXPECT_NE(e->mapping().Find("shape"), nullptr);
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.size(), 15u);
  // Reopen twice: replay is repeatable, and the unreferenced segment was removed.
  e.reset();
  e = OpenOrDie(TestOptions(dir.path()));
  EXPECT_EQ(AllLiveDocs(*e->AcquireSnapshot()).size(), 15u);
  EXPECT_EQ(e->Get("4")->version, 2);
}

TEST(ShardEngineTest, ChangesSinceAndRetention) {
  TempDir dir("changes");
  auto e = OpenOrDie(TestOptions(dir.path()));
  IndexOk(*e, "a", Doc(1));
  IndexOk(*e, "b", Doc(2));
  ASSERT_TRUE(e->Delete("a").ok());
  auto ops = e->ChangesSince(1);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].seq_no, 1);
  EXPECT_EQ((*ops)[0].id, "b");
  EXPECT_EQ((*ops)[0].source, Doc(2));
  EXPECT_EQ((*ops)[1].type, TranslogOpType::kDelete);
  EXPECT_EQ((*ops)[1].version, 2);
  // Default retention: the history the last two commit points need, i.e. everything after
  // the one before the last.
  ASSERT_TRUE(e->Flush().ok());
  ASSERT_TRUE(e->ChangesSince(0).ok());
  EXPECT_EQ(e->ChangesSince(0)->size(), 3u);
  IndexOk(*e, "c", Doc(3));
  ASSERT_TRUE(e->Flush().ok());
  auto gone = e->ChangesSince(0);
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsGone()) << gone.status();
  ASSERT_TRUE(e->ChangesSince(3).ok());
  EXPECT_EQ(e->ChangesSince(3)->size(), 1u);
  IndexOk(*e, "d", Doc(4));
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_TRUE(e->ChangesSince(3).status().IsGone());
  ASSERT_TRUE(e->ChangesSince(4).ok());
  EXPECT_EQ(e->ChangesSince(4)->size(), 1u);
  // An explicit retention seq_no keeps more.
  e->SetRetentionSeqNo(4);
  IndexOk(*e, "e", Doc(5));
  ASSERT_TRUE(e->Flush().ok());
  IndexOk(*e, "f", Doc(6));
  ASSERT_TRUE(e->Flush().ok());
  auto kept = e->ChangesSince(4);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 3u);
  EXPECT_TRUE(e->ChangesSince(3).status().IsGone());
}

TEST(ShardEngineTest, UpdateMergesObjectsAndReplacesArrays) {
  TempDir dir("update");
  auto e = OpenOrDie(TestOptions(dir.path()));
  IndexOk(*e, "1", R"({"title":"a","user":{"name":"x","age":3},"tags":["p","q"]})");
  UpdateRequest u;
  u.doc = R"({"user":{"age":4},"tags":["r"]})";
  auto r = e->Update("1", u);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->write.result, WriteResultKind::kUpdated);
  EXPECT_EQ(r->write.version, 2);
  EXPECT_EQ(r->source, R"({"title":"a","user":{"name":"x","age":4},"tags":["r"]})");
  EXPECT_EQ(e->Get("1")->source, r->source);
  // Nothing changes: noop, no seq_no.
  int64_t seq = e->max_seq_no();
  auto noop = e->Update("1", u);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->write.result, WriteResultKind::kNoop);
  EXPECT_EQ(noop->write.version, 2);
  EXPECT_EQ(e->max_seq_no(), seq);
  // detect_noop false writes anyway.
  u.detect_noop = false;
  EXPECT_EQ(e->Update("1", u)->write.version, 3);
  // Missing document.
  UpdateRequest m;
  m.doc = R"({"a":1})";
  auto missing = e->Update("2", m);
  EXPECT_EQ(missing.status().message(), "document_missing_exception: [2]: document missing");
  m.upsert = R"({"a":0})";
  auto up = e->Update("2", m);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->write.result, WriteResultKind::kCreated);
  EXPECT_EQ(e->Get("2")->source, R"({"a":0})");
  UpdateRequest d;
  d.doc = R"({"b":2})";
  d.doc_as_upsert = true;
  EXPECT_EQ(e->Update("3", d)->write.result, WriteResultKind::kCreated);
  EXPECT_EQ(e->Get("3")->source, R"({"b":2})");
  // if_seq_no on update.
  UpdateRequest c;
  c.doc = R"({"b":3})";
  c.if_seq_no = 0;
  c.if_primary_term = 1;
  EXPECT_TRUE(e->Update("3", c).status().IsConflict());
}

TEST(ShardEngineTest, BulkAppliesEachItemAndSyncsOnce) {
  TempDir dir("bulk");
  auto e = OpenOrDie(TestOptions(dir.path()));
  std::vector<BulkItem> items(4);
  items[0].id = "1";
  items[0].source = Doc(1);
  items[1].id = "1";
  items[1].source = Doc(2);
  items[1].params.op_type = OpType::kCreate;  // conflicts
  items[2].kind = BulkItem::Kind::kUpdate;
  items[2].id = "1";
  items[2].update.doc = R"({"n":9})";
  items[3].kind = BulkItem::Kind::kDelete;
  items[3].id = "zz";
  int64_t syncs_before = e->Stats().translog_sync_total;
  auto out = e->Bulk(items);
  EXPECT_EQ(e->Stats().translog_sync_total, syncs_before + 1);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[1].status.IsConflict());
  ASSERT_TRUE(out[2].status.ok()) << out[2].status;
  EXPECT_EQ(out[2].write.version, 2);
  EXPECT_EQ(out[3].write.result, WriteResultKind::kNotFound);
  EXPECT_EQ(e->Get("1")->source, R"({"title":"hello world 1","n":9})");
}

// A bulk is applied in chunks (parsed outside the write mutex, then applied and appended to the
// translog together): across chunk boundaries the items keep their order, a document parsed
// before an earlier item of the same bulk changed the mapping is parsed again, and the
// translog replays to the same state.
TEST(ShardEngineTest, LargeBulkKeepsItemOrderAcrossChunksAndReplays) {
  TempDir dir("bulk_large");
  EngineOptions o = TestOptions(dir.path());
  std::vector<BulkItem> items(400);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].id = std::to_string(i % 100);  // every id three or four times, in other chunks
    items[i].source = Doc(static_cast<int>(i));
  }
  // Item 350 maps a new field as long; item 351, in the same chunk and so parsed against the
  // mapping from before item 350, sends a string for it: under the new mapping it fails.
  items[350].source = R"({"extra":5})";
  items[351].source = R"({"extra":"not a number"})";
  items[260].kind = BulkItem::Kind::kDelete;  // id 60, then created again by item 360
  items[360].params.op_type = OpType::kCreate;
  items[361].params.op_type = OpType::kCreate;  // id 61 exists: a conflict
  items[370].kind = BulkItem::Kind::kUpdate;    // an update between indexes of the same chunk
  items[370].update.doc = R"({"n":-1})";
  std::vector<BulkItemResult> out;
  {
    auto e = OpenOrDie(o);
    out = e->Bulk(items);
    ASSERT_EQ(out.size(), items.size());
  }
  int64_t seq_no = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE("item " + std::to_string(i));
    if (i == 351) {
      EXPECT_THAT(out[i].status.message(),
                  ::testing::HasSubstr("failed to parse field [extra] of type [long]"));
      continue;
    }
    if (i == 361) {
      EXPECT_TRUE(out[i].status.IsConflict()) << out[i].status;
      continue;
    }
    ASSERT_TRUE(out[i].status.ok()) << out[i].status;
    EXPECT_EQ(out[i].write.seq_no, seq_no++);  // in item order, no gaps
  }
  EXPECT_EQ(out[260].write.result, WriteResultKind::kDeleted);
  EXPECT_EQ(out[360].write.result, WriteResultKind::kCreated);
  EXPECT_EQ(out[370].write.version, 4);  // indexed by items 70, 170 and 270

  // Reopened without a flush: everything comes back from the translog.
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->max_seq_no(), seq_no - 1);
  EXPECT_EQ(e->Get("50")->source, R"({"extra":5})");
  EXPECT_EQ(e->Get("51")->source, Doc(251));
  EXPECT_EQ(e->Get("60")->version, 4);  // 60, 160, 260 (delete), 360
  EXPECT_EQ(e->Get("61")->source, Doc(261));
  EXPECT_EQ(e->Get("70")->source, R"({"title":"hello world 270","n":-1})");
  EXPECT_EQ(e->Get("99")->seq_no, seq_no - 1);
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_EQ(AllLiveDocs(*e->AcquireSnapshot()).size(), 100u);
}

// A translog append that fails (a file size limit, RLIMIT_FSIZE, is the injected fault: a full
// disk): every item of the bulk's chunk fails, the engine refuses further writes, and a reopen
// finds what was acknowledged before and nothing of the failed bulk. In a child process, whose
// limit it is.
TEST(ShardEngineTest, AFailedTranslogAppendFailsTheBulkAndStopsTheEngine) {
  TempDir dir("append_fails");
  EngineOptions o = TestOptions(dir.path());
  {
    auto e = OpenOrDie(o);
    IndexOk(*e, "before", Doc(0));
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto e = ShardEngine::Open(o);  // starts a new, empty translog generation
    if (!e.ok()) ::_exit(10);
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
    rlimit limit{200, 200};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(11);
    std::vector<BulkItem> items(300);
    for (size_t i = 0; i < items.size(); ++i) {
      items[i].id = "bulk-" + std::to_string(i);
      items[i].source = Doc(static_cast<int>(i));
    }
    for (const BulkItemResult& r : (*e)->Bulk(items)) {
      if (r.status.ok() || r.status.message().find("translog") == std::string::npos) ::_exit(12);
    }
    Result<WriteResult> after = (*e)->Index("after", Doc(1));
    if (after.ok() || after.status().message().find("engine failed") == std::string::npos) {
      ::_exit(13);
    }
    ::_exit(0);  // as a crash: no clean close
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10: open, 11: setrlimit, 12: a bulk item did not fail "
                                       "with the translog, 13: a write after it did not fail";
  // The records that reached the file whole before the limit are replayed, as after any crash
  // an operation whose answer was lost may be there or not; the torn one after them is cut
  // off. So the failed bulk left a prefix of its items, in order, and nothing half-written.
  auto e = OpenOrDie(o);
  EXPECT_TRUE(e->Get("before")->found);
  int64_t replayed = 0;
  while (e->Get("bulk-" + std::to_string(replayed))->found) ++replayed;
  EXPECT_LT(replayed, 5) << "200 bytes hold at most a few records";
  for (int64_t i = replayed; i < 300; ++i) {
    EXPECT_FALSE(e->Get("bulk-" + std::to_string(i))->found) << "a hole before bulk-" << i;
  }
  EXPECT_FALSE(e->Get("after")->found);
  EXPECT_EQ(e->max_seq_no(), replayed);
  IndexOk(*e, "again", Doc(2));  // and it takes writes again
}

TEST(ShardEngineTest, ConcurrentWritersAndRefreshes) {
  TempDir dir("concurrent");
  auto e = OpenOrDie(TestOptions(dir.path()));
  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = std::to_string(i % 50);
        auto r = e->Index("t" + std::to_string(t) + "-" + id, Doc(i));
        ASSERT_TRUE(r.ok()) << r.status();
        if (i % 40 == 0) {
          ASSERT_TRUE(e->Refresh().ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(e->max_seq_no(), kThreads * kPerThread - 1);
  ASSERT_TRUE(e->Refresh().ok());
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.size(), static_cast<size_t>(kThreads * 50));
  EXPECT_EQ(docs.at("t2-7").meta.version, 3);
  EXPECT_EQ(docs.at("t2-7").source, Doc(107));
}

TEST(ShardEngineTest, MergeKeepsDocumentsAndCarriesDeletes) {
  TempDir dir("merge");
  auto e = OpenOrDie(TestOptions(dir.path()));
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 5; ++i) IndexOk(*e, std::to_string(s * 5 + i), Doc(s * 5 + i));
    ASSERT_TRUE(e->Refresh().ok());
  }
  ASSERT_TRUE(e->Delete("3").ok());
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_EQ(e->Stats().segment_count, 10);
  auto merged = e->MaybeMerge();
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_TRUE(*merged);
  EXPECT_EQ(e->Stats().segment_count, 1);
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.size(), 49u);
  EXPECT_EQ(docs.at("42").source, Doc(42));
  // Writes after the merge find the merged copies.
  EXPECT_EQ(IndexOk(*e, "42", Doc(0)).version, 2);
  ASSERT_TRUE(e->Flush().ok());
  e.reset();
  e = OpenOrDie(TestOptions(dir.path()));
  docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.size(), 49u);
  EXPECT_EQ(docs.at("42").source, Doc(0));
}

TEST(ShardEngineTest, WritesDuringAMergeAreCarriedOverToTheMergedSegment) {
  TempDir dir("merge_carry");
  EngineOptions o = TestOptions(dir.path());
  ShardEngine* engine = nullptr;
  o.merge_hook_for_testing = [&] {
    // The merge has read its sources; these land in the source segments meanwhile.
    ASSERT_TRUE(engine->Delete("3").ok());
    ASSERT_TRUE(engine->Index("42", Doc(4242)).ok());
    UpdateRequest u;
    u.doc = R"({"n":-1})";
    ASSERT_TRUE(engine->Update("17", u).ok());
  };
  auto e = OpenOrDie(o);
  engine = e.get();
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 5; ++i) IndexOk(*e, std::to_string(s * 5 + i), Doc(s * 5 + i));
    ASSERT_TRUE(e->Refresh().ok());
  }
  ASSERT_TRUE(e->Delete("0").ok());  // seen by the merge: not copied at all
  auto merged = e->MaybeMerge();
  ASSERT_TRUE(merged.ok()) << merged.status();
  ASSERT_TRUE(*merged);
  ASSERT_TRUE(e->Refresh().ok());
  auto check = [](ShardEngine& eng) {
    auto docs = AllLiveDocs(*eng.AcquireSnapshot());
    EXPECT_EQ(docs.size(), 48u);
    EXPECT_EQ(docs.count("0"), 0u);
    EXPECT_EQ(docs.count("3"), 0u);
    EXPECT_EQ(docs.at("42").source, Doc(4242));
    EXPECT_EQ(docs.at("42").meta.version, 2);
    EXPECT_EQ(docs.at("17").source, R"({"title":"hello world 17","n":-1})");
    EXPECT_EQ(docs.at("16").source, Doc(16));
    EXPECT_FALSE(eng.Get("3")->found);
    EXPECT_EQ(eng.Stats().docs_count, 48);
  };
  check(*e);
  // Further writes find the merged copies (no second live copy appears).
  IndexOk(*e, "16", Doc(1616));
  ASSERT_TRUE(e->Flush().ok());
  e.reset();
  o.merge_hook_for_testing = nullptr;
  e = OpenOrDie(o);
  auto docs = AllLiveDocs(*e->AcquireSnapshot());
  EXPECT_EQ(docs.at("16").source, Doc(1616));
  EXPECT_EQ(docs.at("16").meta.version, 2);
  EXPECT_EQ(docs.size(), 48u);
}

TEST(ShardEngineTest, OpenRemovesFilesNoCommitReferences) {
  TempDir dir("leftovers");
  {
    auto e = OpenOrDie(TestOptions(dir.path()));
    IndexOk(*e, "1", Doc(1));
    ASSERT_TRUE(e->Flush().ok());
  }
  namespace fs = std::filesystem;
  fs::create_directories(dir.path() + "/segments/_99");
  std::ofstream(dir.path() + "/segments/_99/junk") << "half a segment";
  std::ofstream(dir.path() + "/commit_7.tmp") << "half a commit";
  std::ofstream(dir.path() + "/livedocs/_0_5.liv") << "stale";
  auto e = OpenOrDie(TestOptions(dir.path()));
  EXPECT_FALSE(fs::exists(dir.path() + "/segments/_99"));
  EXPECT_FALSE(fs::exists(dir.path() + "/commit_7.tmp"));
  EXPECT_FALSE(fs::exists(dir.path() + "/livedocs/_0_5.liv"));
  EXPECT_TRUE(e->Get("1")->found);
  // New segments do not reuse the leftover's name.
  IndexOk(*e, "2", Doc(2));
  ASSERT_TRUE(e->Refresh().ok());
  EXPECT_TRUE(fs::exists(dir.path() + "/segments/_100"));
}

TEST(ShardEngineTest, AsyncDurabilityStillRecoversOnCleanClose) {
  TempDir dir("async");
  EngineOptions o = TestOptions(dir.path());
  o.settings = {{"index",
                 {{"refresh_interval", "-1"},
                  {"translog", {{"durability", "async"}, {"sync_interval", "5s"}}}}}};
  {
    auto e = OpenOrDie(o);
    for (int i = 0; i < 10; ++i) IndexOk(*e, std::to_string(i), Doc(i));
    EXPECT_EQ(e->Stats().translog_sync_total, 0);  // acknowledged without an fsync
  }
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->max_seq_no(), 9);
  EXPECT_TRUE(e->Get("9")->found);
}

}  // namespace
}  // namespace quidditch::engine
