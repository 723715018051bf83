// Internals of ShardEngine shared by its .cc files (split by concern: shard_engine.cc the
// write and read paths, shard_engine_open.cc open/refresh/flush/commit points,
// shard_engine_merge.cc background merging). Not for use outside src/engine/shard_engine*.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <set>

#include "engine/shard_engine.h"

namespace quidditch::engine {

// The field under which every document's id is indexed.
inline constexpr char kIdField[] = "_id";

// One segment of the engine's current state.
struct SegmentState {
  std::string name;
  std::shared_ptr<const SegmentReader> reader;
  LiveDocs live{0};                           // current deletes, including those not yet published
  std::shared_ptr<const LiveDocs> published;  // as of the last publish; null: none deleted
  bool dirty_since_publish = false;
  bool dirty_since_commit = false;
  int64_t live_gen = 0;  // generation of its live-docs file in the last commit; 0: none
  bool synced = false;   // its directory was fsynced (done once, by the first commit)
  bool merging = false;
};

// A document of the indexing buffer, by its doc id in the SegmentBuilder.
struct BufferDoc {
  std::string id;
  std::string source;
  DocMeta meta;
  bool live = true;
};

// The live version map: documents of the buffer and tombstones of deletes.
struct VersionEntry {
  DocMeta meta;
  bool deleted = false;
  int64_t buffer_doc = -1;  // index in buffer; -1 for tombstones
  std::chrono::steady_clock::time_point deleted_at;
};

// Where the current copy of a document is, as Lookup finds it.
struct CurrentDoc {
  bool exists = false;     // a live copy
  bool tombstone = false;  // deleted, and the delete's meta is known
  DocMeta meta;
  int64_t buffer_doc = -1;
  SegmentState* segment = nullptr;
  uint32_t doc = 0;
  bool known() const { return exists || tombstone; }
};

// What a commit point records.
struct CommitPoint {
  int64_t generation = 0;
  struct Segment {
    std::string name;
    uint32_t max_doc = 0;
    int64_t live_gen = 0;
  };
  std::vector<Segment> segments;
  int64_t max_seq_no = -1;
  int64_t local_checkpoint = -1;
  int64_t translog_generation = 1;
  int64_t next_segment = 0;
  nlohmann::json mapping;
};

std::string EncodeCommitPoint(const CommitPoint& commit);
Result<CommitPoint> DecodeCommitPoint(std::string_view data);

struct ShardEngine::Impl {
  EngineOptions options;
  std::string segments_dir;
  std::string livedocs_dir;
  std::shared_ptr<const AnalysisRegistry> analysis;
  // index.codec (static): how new and merged segments compress stored fields.
  StoredFieldsCodec stored_codec = StoredFieldsCodec::kLz4;
  // The dynamic settings, OpenSearch's defaults until set (UpdateSettings changes them while
  // writers and the background threads read them).
  static constexpr int64_t kDefaultRefreshIntervalMs = 1000;
  static constexpr int64_t kDefaultSyncIntervalMs = 5000;
  static constexpr uint64_t kDefaultFlushThresholdBytes = 512ull << 20;
  std::atomic<int64_t> refresh_interval_ms{kDefaultRefreshIntervalMs};  // <= 0: no refresh
  std::atomic<bool> async_durability{false};
  std::atomic<int64_t> sync_interval_ms{kDefaultSyncIntervalMs};
  std::atomic<uint64_t> flush_threshold_bytes{kDefaultFlushThresholdBytes};
  // Sets these fields from `settings` (flattened, without "index."): a setting absent there
  // takes its default, so a setting reset to null goes back to it. All or nothing.
  Status ApplyDynamicSettings(const std::map<std::string, nlohmann::json>& settings);
  std::unique_ptr<Translog> translog;

  // The write mutex.
  mutable std::mutex mu;
  Mapping mapping;                                         // GUARDED_BY(mu)
  uint64_t mapping_version = 0;                            // GUARDED_BY(mu)
  std::unique_ptr<SegmentBuilder> builder;                 // GUARDED_BY(mu)
  std::vector<BufferDoc> buffer;                           // GUARDED_BY(mu)
  std::unordered_map<std::string, VersionEntry> versions;  // GUARDED_BY(mu)
  std::vector<std::shared_ptr<SegmentState>> segments;     // GUARDED_BY(mu)
  bool deletes_since_publish = false;                      // GUARDED_BY(mu)
  int64_t max_seq_no = -1;                                 // GUARDED_BY(mu)
  int64_t next_segment = 0;                                // GUARDED_BY(mu)
  CommitPoint last_commit;                                 // GUARDED_BY(mu)
  int64_t prev_commit_translog_generation = 1;             // GUARDED_BY(mu)
  int64_t retention_seq_no = -1;                           // GUARDED_BY(mu)
  std::set<std::string> merging_outputs;                   // GUARDED_BY(mu)
  // GUARDED_BY(mu) sticky: a translog append or sync, or a commit, failed; writes, refresh,
  // flush and merges stop until the shard is reopened.
  Status failed;

  mutable std::mutex snapshot_mu;
  std::shared_ptr<const EngineSnapshot> snapshot;  // GUARDED_BY(snapshot_mu)

  std::atomic<int64_t> index_total{0}, index_failed{0}, index_time_us{0}, delete_total{0},
      noop_update_total{0}, get_total{0}, get_exists_total{0}, refresh_total{0}, flush_total{0},
      merge_total{0};

  std::mutex bg_mu;
  std::condition_variable bg_cv;
  bool stopping = false;  // GUARDED_BY(bg_mu)
  std::condition_variable merge_cv;
  bool merge_requested = false;  // GUARDED_BY(bg_mu) a refresh added a segment
  std::vector<std::thread> threads;

  ~Impl();

  // --- write path (shard_engine.cc) ---
  // An index operation's document, parsed outside the write mutex (the expensive part)
  // against the mapping of version `mapping_version`.
  struct PreparedIndex {
    Result<ParseResult> parsed = Status::Internal("not parsed");
    uint64_t mapping_version = 0;
    int64_t parse_us = 0;
  };
  // Validates an index operation and parses its document; needs no lock.
  PreparedIndex PrepareIndex(std::string_view id, std::string_view source,
                             const WriteParams& params, const Mapping& mapping,
                             uint64_t mapping_version);
  // The rest of an index or delete, under `mu`: the version checks, the seq_no, the buffer. The
  // operation is added to *pending; AppendLocked writes it to the translog before `mu` is
  // released (the translog stays in seq_no order).
  Result<WriteResult> IndexLocked(std::string_view id, std::string_view source,
                                  const WriteParams& params, PreparedIndex prepared,
                                  std::vector<TranslogOp>* pending);
  Result<WriteResult> DeleteLocked(std::string_view id, const WriteParams& params,
                                   std::vector<TranslogOp>* pending);
  // Writes *pending to the translog with one write and clears it: where it ends. A failed
  // write fails the engine (the operations are already in the buffer; nothing publishes them).
  Result<TranslogLocation> AppendLocked(std::vector<TranslogOp>* pending);
  // One index or delete, without syncing the translog; `*location` is where it ended.
  Result<WriteResult> ApplyIndex(std::string_view id, std::string_view source,
                                 const WriteParams& params, TranslogLocation* location);
  Result<WriteResult> ApplyDelete(std::string_view id, const WriteParams& params,
                                  TranslogLocation* location);
  Result<UpdateResult> ApplyUpdate(std::string_view id, const UpdateRequest& request,
                                   TranslogLocation* location);
  // Syncs up to `location` when durability is request.
  Status SyncForAck(const TranslogLocation& location);
  // Re-applies a recovered translog operation (no version checks, no translog append).
  Status ReplayLocked(const TranslogOp& op);
  CurrentDoc LookupLocked(std::string_view id);
  void DeleteCopyLocked(const CurrentDoc& current);
  void AddToBufferLocked(const CurrentDoc& current, ParsedDocument doc, const DocMeta& meta);
  Result<GetResult> GetLocked(std::string_view id);

  // --- refresh / commit (shard_engine_open.cc) ---
  Status RefreshLocked();
  void PublishLocked();
  Status FlushLocked();
  void DeleteUnreferencedFilesLocked();
  void StartBackgroundThreads();
  void StopBackgroundThreads();

  // --- merging (shard_engine_merge.cc) ---
  Result<bool> MergeOnce();
};

}  // namespace quidditch::engine
