// ShardEngine: the storage engine of one shard, knowing nothing of the cluster.
//
// Writes go to the translog (write-ahead log) and to an in-memory indexing buffer
// (SegmentBuilder). Refresh() turns the buffer into a segment and publishes a new searcher
// snapshot; Flush() writes a durable commit point and trims the translog. Open() recovers from
// the newest commit point plus the translog operations above its local checkpoint.
//
// On-disk layout under `data_dir`:
//   commit_<N>                  commit point N: crc32 line + JSON (segments, live-docs
//                               generations, max_seq_no, local checkpoint, translog
//                               generation, mapping); only the newest is kept
//   segments/<name>/            one directory per segment, written by SegmentBuilder::Write
//   livedocs/<name>_<gen>.liv   LiveDocs::Encode of a committed segment's deletes
//   translog/                   see engine/translog.h
//
// Every document is indexed under the field "_id" (IndexOptions::kDocs, one token: the id;
// ParseDocument adds it, the engine adds it when a parser did not), which the engine uses to
// find a document's current copy in the segments.
//
// Thread safety: every method may be called from many threads at once. Writes (Index, Delete,
// Update, Bulk) are serialized by one write mutex while they resolve versions, take a seq_no,
// append to the translog and add to the buffer; parsing happens before it and the translog
// fsync after it, shared by concurrent writers (group commit). Refresh and Flush hold the
// write mutex while they write segments and commit points. Readers use snapshots.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/analysis/analyzer.h"
#include "engine/index/segment.h"
#include "engine/mapping/mapping.h"
#include "engine/translog.h"

namespace quidditch::engine {

struct EngineOptions {
  std::string data_dir;
  // Index settings, nested ({"index": {"refresh_interval": "1s"}}) or flat
  // ({"index.refresh_interval": "1s"}), with or without the "index." prefix. Read:
  // refresh_interval ("1s" default; "-1" disables the background refresher),
  // translog.durability ("request" default | "async"), translog.sync_interval ("5s"),
  // translog.flush_threshold_size ("512mb": the background refresher flushes when the
  // translog since the last commit outgrows it),
  // analysis (the analysis object of the index), codec ("default": stored fields in LZ4 |
  // "best_compression": zstd; static: it applies to segments written from then on).
  // Everything else is ignored.
  nlohmann::json settings = nlohmann::json::object();
  // The `mappings` object of index creation (or the index's current mapping): the mapping
  // of a new shard; for a shard with a commit point it is merged into the committed mapping
  // (which carries dynamic fields), so fields added by UpdateMapping after the last commit
  // survive a restart when the caller passes them again.
  nlohmann::json mappings = nlohmann::json::object();
  int64_t primary_term = 1;
  // Background merging of small segments (tiered, `merge_factor` at a time).
  bool background_merges = true;
  int merge_factor = 10;  // >= 2
  // Testing only: called by a merge after it wrote the merged segment and before it swaps it
  // in, with no engine lock held, so that tests can write while a merge is under way.
  std::function<void()> merge_hook_for_testing;
};

enum class OpType { kIndex, kCreate };
enum class VersionType { kInternal, kExternal, kExternalGte };

// The concurrency conditions of one write.
struct WriteParams {
  OpType op_type = OpType::kIndex;  // Index only
  std::optional<int64_t> if_seq_no;
  std::optional<int64_t> if_primary_term;
  std::optional<int64_t> version;  // with version_type external / external_gte
  VersionType version_type = VersionType::kInternal;
  std::string routing;  // recorded in the translog only
};

enum class WriteResultKind { kCreated, kUpdated, kDeleted, kNotFound, kNoop };
// "created", "updated", "deleted", "not_found", "noop".
std::string_view WriteResultName(WriteResultKind kind);

struct WriteResult {
  int64_t seq_no = 0;
  int64_t primary_term = 0;
  int64_t version = 0;
  WriteResultKind result = WriteResultKind::kCreated;
};

struct UpdateRequest {
  std::string doc;                    // the partial document (JSON object); may be empty
  std::optional<std::string> upsert;  // indexed when the document is missing
  bool doc_as_upsert = false;         // index `doc` itself when the document is missing
  bool detect_noop = true;
  int retry_on_conflict = 0;
  std::optional<int64_t> if_seq_no;
  std::optional<int64_t> if_primary_term;
  std::string routing;
};

struct UpdateResult {
  WriteResult write;
  std::string source;  // the document after the update (unchanged for noop)
};

struct GetResult {
  bool found = false;
  std::string source;
  int64_t version = 0;
  int64_t seq_no = 0;
  int64_t primary_term = 0;
};

// One operation of a bulk.
struct BulkItem {
  enum class Kind { kIndex, kDelete, kUpdate };
  Kind kind = Kind::kIndex;
  std::string id;
  std::string source;    // kIndex
  WriteParams params;    // kIndex, kDelete
  UpdateRequest update;  // kUpdate
};

struct BulkItemResult {
  Status status;
  WriteResult write;
  std::string source;  // kUpdate: the document after the update
};

// An immutable point-in-time view for searchers. Acquiring one is a shared_ptr copy.
struct EngineSnapshot {
  std::vector<Leaf> leaves;
  Mapping mapping;
  int64_t max_seq_no = -1;  // every operation up to this one is visible
};

struct EngineStats {
  int64_t docs_count = 0;    // live documents in the refreshed snapshot
  int64_t docs_deleted = 0;  // deleted documents still held by its segments
  int64_t segment_count = 0;
  uint64_t store_size_bytes = 0;  // segments, live docs, commit point and translog
  int64_t index_total = 0;
  int64_t index_failed = 0;
  int64_t index_time_ms = 0;
  int64_t delete_total = 0;
  int64_t noop_update_total = 0;
  int64_t get_total = 0;
  int64_t get_exists_total = 0;
  int64_t get_missing_total = 0;
  int64_t refresh_total = 0;
  int64_t flush_total = 0;
  int64_t merge_total = 0;
  int64_t translog_operations = 0;  // operations in retained translog generations
  uint64_t translog_size_bytes = 0;
  int64_t translog_sync_total = 0;  // fsyncs issued for acknowledgements
  int64_t max_seq_no = -1;
  int64_t local_checkpoint = -1;  // of the last commit point
};

class ShardEngine {
 public:
  // Creates or opens the shard in options.data_dir: reads the newest commit point, opens its
  // segments and live docs, removes files no commit references, replays the translog
  // operations above the commit's local checkpoint into the buffer, publishes a snapshot and
  // starts the background refresher, translog syncer (async durability) and merger.
  // Bad settings or mappings are illegal_argument_exception / mapper_parsing_exception.
  static Result<std::unique_ptr<ShardEngine>> Open(const EngineOptions& options);
  // Stops the background threads and syncs the translog (no flush).
  ~ShardEngine();
  ShardEngine(const ShardEngine&) = delete;
  ShardEngine& operator=(const ShardEngine&) = delete;

  // Indexes `source` under `id`. A document that fails to parse changes nothing (no seq_no is
  // consumed). Conflicts are version_conflict_engine_exception (Conflict).
  Result<WriteResult> Index(std::string_view id, std::string_view source,
                            const WriteParams& params = {});
  // Deletes `id`; result kNotFound when it does not exist (which still takes a seq_no).
  Result<WriteResult> Delete(std::string_view id, const WriteParams& params = {});
  // Partial update (see UpdateRequest); document_missing_exception when missing without
  // upsert; kNoop (nothing written) when detect_noop and nothing changed.
  Result<UpdateResult> Update(std::string_view id, const UpdateRequest& request);
  // Applies `items` in order and syncs the translog once before returning (durability
  // request); each item succeeds or fails on its own.
  std::vector<BulkItemResult> Bulk(const std::vector<BulkItem>& items);

  // realtime: sees every acknowledged write; otherwise only the refreshed snapshot.
  Result<GetResult> Get(std::string_view id, bool realtime = true);

  // Writes the buffer as a segment, applies pending deletes and publishes a new snapshot.
  Status Refresh();
  // Refresh, then a durable commit point; rolls and trims the translog.
  Status Flush();
  // PUT _mapping: merges `update` into the mapping (illegal_argument_exception on conflict).
  // Durable with the next commit point; not written to the translog (see EngineOptions).
  Status UpdateMapping(const nlohmann::json& update);
  // Applies the dynamic settings in `settings` (the form of EngineOptions::settings):
  // refresh_interval (the background refresher follows it, "-1" pauses it),
  // translog.durability, translog.sync_interval, translog.flush_threshold_size; others are
  // ignored. Bad values are illegal_argument_exception and change nothing. Not persisted: the
  // caller passes its settings again to Open.
  Status UpdateSettings(const nlohmann::json& settings);

  std::shared_ptr<const EngineSnapshot> AcquireSnapshot() const;
  Mapping mapping() const;
  const AnalysisRegistry& analysis() const;

  // The index and delete operations with seq_no >= from_seq_no, in seq_no order, from the
  // retained translog; Gone when some of them are no longer retained.
  Result<std::vector<TranslogOp>> ChangesSince(int64_t from_seq_no) const;
  // Keeps translog history for operations with seq_no >= `seq_no` (beyond what the commit
  // needs). Default (never called): the history since the last two commit points.
  void SetRetentionSeqNo(int64_t seq_no);

  EngineStats Stats() const;
  int64_t max_seq_no() const;
  // The background refresh interval now in force; nullopt when periodic refresh is off.
  std::optional<std::chrono::milliseconds> refresh_interval() const;

  // Runs one merge round now (what the background merger does); returns whether it merged.
  Result<bool> MaybeMerge();

 private:
  struct Impl;
  explicit ShardEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quidditch::engine
