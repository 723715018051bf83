// The translog: the shard's write-ahead log of operations not yet in a commit point.
// Hand-written: none of the installed libraries provides a write-ahead log; the record
// framing follows LevelDB's log format idea (length + CRC32 from boost/crc.hpp + payload).
//
// Layout: `<dir>/translog-<generation>.tlog` files, one per generation, the checkpoint
// `<dir>/translog.ckp` and the synced offset `<dir>/translog.synced`. A generation file is a
// sequence of records:
//
//   record  := length:u32 crc32:u32 payload[length]      (little-endian; crc32 of payload)
//   payload := type:u8 seq_no:i64 primary_term:i64 version:i64
//              id_len:u32 id source_len:u32 source routing_len:u32 routing
//
// The checkpoint (written atomically: tmp + fsync + rename + directory fsync) records the
// oldest retained generation, the generation being appended to, and the highest seq_no of any
// operation in a generation already deleted (so that a reader can tell which history is gone).
//
// The synced offset is one fixed-size record, generation:i64 offset:u64 crc32:u32 (of the
// first 16 bytes), overwritten in place (pwrite + fdatasync) after every data fdatasync and
// before Sync returns: everything acknowledged as durable lies below it. Roll fsyncs the whole
// generation it closes, and Open fsyncs the recovered last generation.
//
// Recovery on Open: generations are read in order. Only the last generation may end in damage:
// - with a synced offset: damage at or after the offset (a torn record, a zero hole left by a
//   page the kernel never wrote, followed or not by intact records) is where the never
//   acknowledged records end: the file is truncated there, without complaint. A generation
//   newer than the recorded one was never synced at all (offset 0). Damage before the offset,
//   or a file shorter than it, is Corruption.
// - without one (a translog written before synced offsets were recorded): a record cut short
//   (or whose checksum fails while it reaches the end of the file) is what a crash in the
//   middle of an append leaves: it is cut off and is not an error, unless an intact record
//   follows it.
// Any damage in an older generation, or a missing generation, is Corruption. Open then starts
// a new generation, so recovered generations are never appended to again.
//
// Thread safety: all methods may be called from many threads at once. Add() appends under a
// mutex; Sync() shares one fsync between concurrent callers (group commit).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace quidditch::engine {

enum class TranslogOpType : uint8_t { kIndex = 1, kDelete = 2, kNoOp = 3 };

struct TranslogOp {
  TranslogOpType type = TranslogOpType::kIndex;
  int64_t seq_no = 0;
  int64_t primary_term = 0;
  int64_t version = 0;
  std::string id;
  std::string source;   // index: the document; no-op: the reason
  std::string routing;  // empty when none

  friend bool operator==(const TranslogOp&, const TranslogOp&) = default;
};

// The encoded record (header + payload) of `op`, as it is appended to a generation file.
std::string EncodeTranslogRecord(const TranslogOp& op);

// Where an appended operation ends: Sync(location) makes it (and everything before) durable.
struct TranslogLocation {
  int64_t generation = 0;
  uint64_t end_offset = 0;
  friend auto operator<=>(const TranslogLocation&, const TranslogLocation&) = default;
};

struct TranslogGenerationInfo {
  int64_t generation = 0;
  int64_t num_ops = 0;
  int64_t min_seq_no = -1;  // -1: no operations
  int64_t max_seq_no = -1;
  uint64_t size_bytes = 0;
};

class Translog {
 public:
  // Opens (creating when needed) the translog in `dir`, recovering as described above, and
  // starts a new generation for appends.
  static Result<std::unique_ptr<Translog>> Open(const std::string& dir);
  ~Translog();
  Translog(const Translog&) = delete;
  Translog& operator=(const Translog&) = delete;

  // Appends `op` to the current generation (written to the OS, not synced). After a failed
  // write the translog refuses further appends (the file may hold a partial record).
  Result<TranslogLocation> Add(const TranslogOp& op);
  // Appends `ops` in order with one write: where the last one ends (the current end when `ops`
  // is empty). A bulk request's operations go through here, a write call per batch instead of
  // per operation.
  Result<TranslogLocation> AddAll(std::span<const TranslogOp> ops);

  // Makes every operation up to `location` durable (fdatasync). Returns at once when already
  // synced; concurrent callers wait for one fsync that covers them all.
  Status Sync(const TranslogLocation& location);
  // Syncs everything appended so far.
  Status SyncAll();
  // How many fsyncs Sync/SyncAll have issued (callers already covered issue none).
  int64_t sync_count() const;
  // The location just past the last appended operation.
  TranslogLocation last_location() const;

  // Starts a new generation: syncs and closes the current one, creates the next one, fsyncs
  // the directory and writes the checkpoint. Returns the new generation.
  Result<int64_t> Roll();
  int64_t current_generation() const;

  // Deletes every generation below `generation` (never the current one): the checkpoint is
  // updated first, so a crash in between leaves only files that Open removes.
  Status TrimBelow(int64_t generation);

  // Calls `fn` for every operation of the generations >= `from_generation`, in order. Only
  // durable operations are read: the current generation up to the last completed Sync (an
  // appended but unsynced operation is not handed out; call SyncAll first to include it). Stops at
  // the first non-OK status of `fn` and returns it.
  Status Read(int64_t from_generation, const std::function<Status(const TranslogOp&)>& fn) const;

  // The retained generations, oldest first (the last one is the current generation).
  std::vector<TranslogGenerationInfo> generations() const;
  // The highest seq_no of an operation in a deleted generation; -1 when none was deleted.
  int64_t trimmed_max_seq_no() const;

 private:
  Translog(std::string dir);
  Status OpenNewGeneration(int64_t generation);  // REQUIRES: mu_ held
  Status WriteCheckpoint();                      // REQUIRES: mu_ held
  // Records durably (pwrite + fdatasync in place) that `location` is synced.
  Status WriteSynced(const TranslogLocation& location);  // REQUIRES: sync_mu_ held
  std::string GenerationPath(int64_t generation) const;

  const std::string dir_;
  // Lock order: sync_mu_ before mu_.
  mutable std::mutex sync_mu_;  // one fsync at a time; Roll holds it too
  TranslogLocation synced_;     // GUARDED_BY(sync_mu_)
  int64_t sync_count_ = 0;      // GUARDED_BY(sync_mu_)
  int synced_fd_ = -1;          // GUARDED_BY(sync_mu_) the synced-offset file
  mutable std::mutex mu_;
  int fd_ = -1;                               // GUARDED_BY(mu_) current generation
  std::vector<TranslogGenerationInfo> gens_;  // GUARDED_BY(mu_) retained, oldest first
  int64_t trimmed_max_seq_no_ = -1;           // GUARDED_BY(mu_)
  Status failed_;                             // GUARDED_BY(mu_) sticky append failure
  TranslogLocation durable_;                  // GUARDED_BY(mu_) copy of synced_ for readers
};

}  // namespace quidditch::engine
