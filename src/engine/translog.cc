#include "engine/translog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "engine/file_util.h"
#include "engine/index/crc32c.h"

namespace quidditch::engine {

static_assert(std::endian::native == std::endian::little, "the translog format is little-endian");

namespace {

using index_internal::Crc32;

constexpr char kCheckpointName[] = "translog.ckp";
constexpr char kSyncedName[] = "translog.synced";
constexpr char kPrefix[] = "translog-";
constexpr char kSuffix[] = ".tlog";
constexpr uint32_t kHeaderSize = 8;
constexpr uint32_t kMaxRecord = 1u << 30;
// type + seq_no + primary_term + version + three string lengths.
constexpr uint32_t kMinPayload = 1 + 8 * 3 + 4 * 3;

template <typename T>
void Put(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

void PutString(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

template <typename T>
bool Get(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

bool GetString(std::string_view* in, std::string* s) {
  uint32_t len = 0;
  if (!Get(in, &len) || in->size() < len) return false;
  s->assign(in->data(), len);
  in->remove_prefix(len);
  return true;
}

bool DecodePayload(std::string_view in, TranslogOp* op) {
  uint8_t type = 0;
  if (!Get(&in, &type) || type < 1 || type > 3) return false;
  op->type = static_cast<TranslogOpType>(type);
  return Get(&in, &op->seq_no) && Get(&in, &op->primary_term) && Get(&in, &op->version) &&
         GetString(&in, &op->id) && GetString(&in, &op->source) && GetString(&in, &op->routing) &&
         in.empty();
}

// Whether some offset > 0 of `data` starts a record with a plausible length and a matching
// checksum. Scans byte by byte: only run on the damaged tail found by recovery.
bool IntactRecordAfter(std::string_view data) {
  for (size_t p = 1; p + kHeaderSize + kMinPayload <= data.size(); ++p) {
    uint32_t len = 0, crc = 0;
    std::memcpy(&len, data.data() + p, 4);
    std::memcpy(&crc, data.data() + p + 4, 4);
    if (len < kMinPayload || len > data.size() - p - kHeaderSize) continue;
    if (Crc32(data.substr(p + kHeaderSize, len)) == crc) return true;
  }
  return false;
}

// How ScanGeneration treats a damaged record.
struct TailPolicy {
  // Damage that reaches the end of the file (and is followed by no intact record) is a torn
  // tail, not Corruption: the rule for a translog without a synced-offset record.
  bool legacy_torn_tail = false;
  // Damage at or after this offset is where the unacknowledged (never synced) records start
  // to be lost: the scan stops there without complaint. Before it, damage is Corruption.
  uint64_t unsynced_from = UINT64_MAX;
};

// Reads the records of one generation file's first `limit` bytes (all of it when limit is
// npos). Damage the policy tolerates is reported through `*valid_end` (the offset where the
// intact records end) instead of as Corruption.
Status ScanGeneration(const std::string& path, uint64_t limit, const TailPolicy& policy,
                      uint64_t* valid_end, const std::function<Status(const TranslogOp&)>& fn) {
  QD_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (limit < data.size()) data.resize(limit);
  if (policy.unsynced_from != UINT64_MAX && data.size() < policy.unsynced_from) {
    return Status::Corruption("translog " + path + ": " + std::to_string(data.size()) +
                              " bytes, but " + std::to_string(policy.unsynced_from) +
                              " were synced");
  }
  std::string_view rest(data);
  uint64_t pos = 0;
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption("translog " + path + ": " + std::string(what) + " at offset " +
                              std::to_string(pos));
  };
  // Damage past the synced offset: never acknowledged, so cut off whatever it looks like (a
  // machine crash can leave a zero hole followed by intact records).
  auto unsynced = [&]() { return pos >= policy.unsynced_from; };
  auto torn_or_corrupt = [&](std::string_view what) -> Status {
    if (unsynced()) {
      *valid_end = pos;
      return Status::OK();
    }
    // A crash leaves at most the record being appended: if an intact record follows the
    // damage, the damage is not a torn tail (e.g. a flipped length pointing past the end).
    if (policy.legacy_torn_tail && !IntactRecordAfter(rest)) {
      *valid_end = pos;
      return Status::OK();
    }
    return corrupt(what);
  };
  while (!rest.empty()) {
    if (rest.size() < kHeaderSize) return torn_or_corrupt("truncated record header");
    uint32_t len = 0, crc = 0;
    std::memcpy(&len, rest.data(), 4);
    std::memcpy(&crc, rest.data() + 4, 4);
    if (len < kMinPayload || len > kMaxRecord) {
      // A crash can leave a zero-filled tail; anything else is damage.
      bool all_zero = rest.find_first_not_of('\0') == std::string_view::npos;
      if (all_zero || unsynced()) return torn_or_corrupt("zero-filled tail");
      return corrupt("bad record length");
    }
    if (rest.size() - kHeaderSize < len) return torn_or_corrupt("truncated record");
    if (pos < policy.unsynced_from && pos + kHeaderSize + len > policy.unsynced_from) {
      return corrupt("record crossing the synced offset " + std::to_string(policy.unsynced_from));
    }
    std::string_view payload = rest.substr(kHeaderSize, len);
    bool last = rest.size() == kHeaderSize + len;
    if (Crc32(payload) != crc) {
      if (last || unsynced()) return torn_or_corrupt("checksum mismatch in the last record");
      return corrupt("checksum mismatch followed by more records");
    }
    TranslogOp op;
    if (!DecodePayload(payload, &op)) {
      if (unsynced()) return torn_or_corrupt("malformed record");
      return corrupt("malformed record");
    }
    QD_RETURN_IF_ERROR(fn(op));
    rest.remove_prefix(kHeaderSize + len);
    pos += kHeaderSize + len;
  }
  *valid_end = pos;
  return Status::OK();
}

// The synced-offset record: generation:i64 offset:u64 crc32:u32 (of the first 16 bytes),
// overwritten in place after every data fdatasync.
constexpr size_t kSyncedRecordSize = 20;

std::string EncodeSynced(const TranslogLocation& loc) {
  std::string out;
  Put(&out, loc.generation);
  Put(&out, loc.end_offset);
  Put<uint32_t>(&out, Crc32(out));
  return out;
}

// An empty file (created, never written) decodes to nullopt: no information.
Result<std::optional<TranslogLocation>> DecodeSynced(const std::string& path,
                                                     std::string_view data) {
  if (data.empty()) return std::optional<TranslogLocation>();
  TranslogLocation loc;
  uint32_t crc = 0;
  std::string_view in = data;
  if (data.size() != kSyncedRecordSize || !Get(&in, &loc.generation) ||
      !Get(&in, &loc.end_offset) || !Get(&in, &crc) || crc != Crc32(data.substr(0, 16))) {
    return Status::Corruption("translog synced offset " + path + " damaged");
  }
  return std::optional<TranslogLocation>(loc);
}

std::optional<int64_t> ParseGenerationName(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view digits =
      name.substr(sizeof(kPrefix) - 1, name.size() - (sizeof(kPrefix) - 1) - (sizeof(kSuffix) - 1));
  int64_t gen = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), gen);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || gen <= 0) return std::nullopt;
  return gen;
}

// Checkpoint: "min_generation current_generation trimmed_max_seq_no crc32\n".
std::string EncodeCheckpoint(int64_t min_gen, int64_t current_gen, int64_t trimmed_max) {
  std::string body = std::to_string(min_gen) + " " + std::to_string(current_gen) + " " +
                     std::to_string(trimmed_max);
  return body + " " + std::to_string(Crc32(body)) + "\n";
}

Status DecodeCheckpoint(const std::string& path, std::string_view data, int64_t* min_gen,
                        int64_t* current_gen, int64_t* trimmed_max) {
  if (!data.ends_with('\n')) return Status::Corruption("translog checkpoint " + path + " torn");
  data.remove_suffix(1);
  size_t last_space = data.rfind(' ');
  if (last_space == std::string_view::npos) {
    return Status::Corruption("translog checkpoint " + path + " malformed");
  }
  std::string_view body = data.substr(0, last_space);
  std::string_view crc_text = data.substr(last_space + 1);
  uint32_t crc = 0;
  auto [p, ec] = std::from_chars(crc_text.data(), crc_text.data() + crc_text.size(), crc);
  if (ec != std::errc() || crc != Crc32(body)) {
    return Status::Corruption("translog checkpoint " + path + " checksum mismatch");
  }
  int64_t values[3];
  std::string_view rest = body;
  for (int i = 0; i < 3; ++i) {
    size_t space = rest.find(' ');
    std::string_view tok = rest.substr(0, space);
    auto [q, ec2] = std::from_chars(tok.data(), tok.data() + tok.size(), values[i]);
    if (ec2 != std::errc() || q != tok.data() + tok.size()) {
      return Status::Corruption("translog checkpoint " + path + " malformed");
    }
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  *min_gen = values[0];
  *current_gen = values[1];
  *trimmed_max = values[2];
  return Status::OK();
}

void Account(TranslogGenerationInfo* info, const TranslogOp& op) {
  ++info->num_ops;
  if (info->min_seq_no < 0 || op.seq_no < info->min_seq_no) info->min_seq_no = op.seq_no;
  if (op.seq_no > info->max_seq_no) info->max_seq_no = op.seq_no;
}

}  // namespace

std::string EncodeTranslogRecord(const TranslogOp& op) {
  std::string payload;
  payload.reserve(kMinPayload + op.id.size() + op.source.size() + op.routing.size());
  Put<uint8_t>(&payload, static_cast<uint8_t>(op.type));
  Put(&payload, op.seq_no);
  Put(&payload, op.primary_term);
  Put(&payload, op.version);
  PutString(&payload, op.id);
  PutString(&payload, op.source);
  PutString(&payload, op.routing);
  std::string record;
  record.reserve(kHeaderSize + payload.size());
  Put<uint32_t>(&record, static_cast<uint32_t>(payload.size()));
  Put<uint32_t>(&record, Crc32(payload));
  record += payload;
  return record;
}

Translog::Translog(std::string dir) : dir_(std::move(dir)) {}

Translog::~Translog() {
  if (fd_ >= 0) ::close(fd_);
  if (synced_fd_ >= 0) ::close(synced_fd_);
}

std::string Translog::GenerationPath(int64_t generation) const {
  return dir_ + "/" + kPrefix + std::to_string(generation) + kSuffix;
}

Result<std::unique_ptr<Translog>> Translog::Open(const std::string& dir) {
  QD_RETURN_IF_ERROR(CreateDirs(dir));
  std::unique_ptr<Translog> t(new Translog(dir));
  std::string ckp_path = dir + "/" + kCheckpointName;
  int64_t min_gen = 0;
  int64_t ckp_current_gen = 0;  // 0: no checkpoint
  int64_t trimmed_max = -1;
  Result<std::string> ckp = ReadFile(ckp_path);
  if (ckp.ok()) {
    QD_RETURN_IF_ERROR(DecodeCheckpoint(ckp_path, *ckp, &min_gen, &ckp_current_gen, &trimmed_max));
  } else if (!ckp.status().IsNotFound()) {
    return ckp.status();
  }
  std::string synced_path = dir + "/" + kSyncedName;
  std::optional<TranslogLocation> synced;
  Result<std::string> synced_data = ReadFile(synced_path);
  if (synced_data.ok()) {
    QD_ASSIGN_OR_RETURN(synced, DecodeSynced(synced_path, *synced_data));
  } else if (!synced_data.status().IsNotFound()) {
    return synced_data.status();
  }
  QD_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::vector<int64_t> found;
  for (const std::string& name : names) {
    if (name.ends_with(".tmp")) {
      QD_RETURN_IF_ERROR(RemoveFile(dir + "/" + name));
      continue;
    }
    std::optional<int64_t> gen = ParseGenerationName(name);
    if (!gen) continue;
    if (*gen < min_gen) {
      // Left over from a trim interrupted after the checkpoint was written.
      QD_RETURN_IF_ERROR(RemoveFile(dir + "/" + name));
      continue;
    }
    found.push_back(*gen);
  }
  std::sort(found.begin(), found.end());
  if (!found.empty() && min_gen > 0 && found.front() != min_gen) {
    return Status::Corruption("translog " + dir + ": generation " + std::to_string(min_gen) +
                              " is missing");
  }
  for (size_t i = 1; i < found.size(); ++i) {
    if (found[i] != found[i - 1] + 1) {
      return Status::Corruption("translog " + dir + ": generation " +
                                std::to_string(found[i - 1] + 1) + " is missing");
    }
  }
  // The checkpoint is written after its current generation's file is created (and the
  // directory fsynced), so that file and every older retained one must be there.
  if (ckp_current_gen > 0 && (found.empty() || found.back() < ckp_current_gen)) {
    int64_t missing = found.empty() ? std::max<int64_t>(min_gen, 1) : found.back() + 1;
    return Status::Corruption("translog " + dir + ": generation file " +
                              t->GenerationPath(missing) + " is missing (the checkpoint " +
                              ckp_path + " names generation " + std::to_string(ckp_current_gen) +
                              " as current)");
  }
  if (synced && (found.empty() || synced->generation > found.back())) {
    return Status::Corruption("translog " + dir + ": synced generation file " +
                              t->GenerationPath(synced->generation) + " is missing");
  }
  for (size_t i = 0; i < found.size(); ++i) {
    bool last = i + 1 == found.size();
    std::string path = t->GenerationPath(found[i]);
    TranslogGenerationInfo info;
    info.generation = found[i];
    // Older generations were fsynced whole by Roll (or by Open): any damage is Corruption.
    TailPolicy policy;
    if (last && synced) {
      // Synced up to the recorded offset; a later generation was never synced at all.
      policy.unsynced_from = synced->generation == found[i] ? synced->end_offset : 0;
    } else if (last) {
      policy.legacy_torn_tail = true;  // written before synced offsets were recorded
    }
    uint64_t valid_end = 0;
    QD_RETURN_IF_ERROR(
        ScanGeneration(path, UINT64_MAX, policy, &valid_end, [&](const TranslogOp& op) {
          Account(&info, op);
          return Status::OK();
        }));
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return Status::IOError("stat " + path + ": " + std::strerror(errno));
    }
    if (last) {
      // Cut off the torn tail of the last generation and make the kept records durable: the
      // next Open treats this generation as an older one, fully synced.
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
      int rc = 0;
      if (static_cast<uint64_t>(st.st_size) != valid_end) {
        rc = ::ftruncate(fd, static_cast<off_t>(valid_end));
      }
      if (rc == 0) rc = ::fsync(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) return Status::IOError("truncate " + path + ": " + std::strerror(err));
    }
    info.size_bytes = valid_end;
    t->gens_.push_back(info);
  }
  t->synced_fd_ = ::open(synced_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (t->synced_fd_ < 0) {
    return Status::IOError("open " + synced_path + ": " + std::strerror(errno));
  }
  std::lock_guard<std::mutex> sync_lock(t->sync_mu_);
  std::lock_guard<std::mutex> lock(t->mu_);
  t->trimmed_max_seq_no_ = trimmed_max;
  int64_t next = found.empty() ? std::max<int64_t>(min_gen, 1) : found.back() + 1;
  QD_RETURN_IF_ERROR(t->OpenNewGeneration(next));  // also fsyncs the directory
  t->synced_ = TranslogLocation{next, 0};
  t->durable_ = t->synced_;
  QD_RETURN_IF_ERROR(t->WriteSynced(t->synced_));
  return t;
}

Status Translog::OpenNewGeneration(int64_t generation) {
  std::string path = GenerationPath(generation);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("create " + path + ": " + std::strerror(errno));
  Status s = SyncDir(dir_);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  TranslogGenerationInfo info;
  info.generation = generation;
  gens_.push_back(info);
  return WriteCheckpoint();
}

Status Translog::WriteCheckpoint() {
  return WriteFileAtomic(
      dir_ + "/" + kCheckpointName,
      EncodeCheckpoint(gens_.front().generation, gens_.back().generation, trimmed_max_seq_no_));
}

Result<TranslogLocation> Translog::Add(const TranslogOp& op) {
  return AddAll(std::span<const TranslogOp>(&op, 1));
}

Result<TranslogLocation> Translog::AddAll(std::span<const TranslogOp> ops) {
  std::string records;
  for (const TranslogOp& op : ops) records += EncodeTranslogRecord(op);
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  TranslogGenerationInfo& cur = gens_.back();
  Status s = WriteFully(fd_, records, GenerationPath(cur.generation));
  if (!s.ok()) {
    failed_ = s.WithPrefix("translog failed earlier");
    return s;
  }
  cur.size_bytes += records.size();
  for (const TranslogOp& op : ops) Account(&cur, op);
  return TranslogLocation{cur.generation, cur.size_bytes};
}

TranslogLocation Translog::last_location() const {
  std::lock_guard<std::mutex> lock(mu_);
  return TranslogLocation{gens_.back().generation, gens_.back().size_bytes};
}

Status Translog::Sync(const TranslogLocation& location) {
  std::lock_guard<std::mutex> sync_lock(sync_mu_);
  if (location <= synced_) return Status::OK();
  TranslogLocation target;
  int fd;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
    target = TranslogLocation{gens_.back().generation, gens_.back().size_bytes};
    fd = fd_;  // stays open: only Roll closes it, and Roll holds sync_mu_
  }
  Status s;
  if (::fdatasync(fd) != 0) {
    s = Status::IOError("fdatasync translog generation " + std::to_string(target.generation) +
                        ": " + std::strerror(errno));
  } else {
    s = WriteSynced(target);
  }
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = s.WithPrefix("translog failed earlier");
    return s;
  }
  synced_ = target;
  ++sync_count_;
  std::lock_guard<std::mutex> lock(mu_);
  durable_ = target;
  return Status::OK();
}

Status Translog::WriteSynced(const TranslogLocation& location) {
  std::string rec = EncodeSynced(location);
  ssize_t n = ::pwrite(synced_fd_, rec.data(), rec.size(), 0);
  if (n != static_cast<ssize_t>(rec.size()) || ::fdatasync(synced_fd_) != 0) {
    return Status::IOError(
        "write translog synced offset in " + dir_ + ": " +
        (n < 0 || n == static_cast<ssize_t>(rec.size()) ? std::strerror(errno) : "short write"));
  }
  return Status::OK();
}

int64_t Translog::sync_count() const {
  std::lock_guard<std::mutex> sync_lock(sync_mu_);
  return sync_count_;
}

Status Translog::SyncAll() { return Sync(last_location()); }

Result<int64_t> Translog::Roll() {
  std::lock_guard<std::mutex> sync_lock(sync_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  TranslogGenerationInfo& cur = gens_.back();
  if (::fsync(fd_) != 0) {
    failed_ = Status::IOError("fsync translog generation " + std::to_string(cur.generation) + ": " +
                              std::strerror(errno));
    return failed_;
  }
  int64_t next = cur.generation + 1;
  Status s = OpenNewGeneration(next);
  if (!s.ok()) {
    failed_ = s.WithPrefix("translog failed earlier");
    return s;
  }
  synced_ = TranslogLocation{next, 0};
  durable_ = synced_;
  return next;
}

int64_t Translog::current_generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gens_.back().generation;
}

Status Translog::TrimBelow(int64_t generation) {
  std::vector<int64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t trimmed = trimmed_max_seq_no_;
    size_t n = 0;
    while (n + 1 < gens_.size() && gens_[n].generation < generation) {
      trimmed = std::max(trimmed, gens_[n].max_seq_no);
      doomed.push_back(gens_[n].generation);
      ++n;
    }
    if (n == 0) return Status::OK();
    std::vector<TranslogGenerationInfo> kept(gens_.begin() + static_cast<ptrdiff_t>(n),
                                             gens_.end());
    int64_t old_trimmed = trimmed_max_seq_no_;
    std::swap(gens_, kept);
    trimmed_max_seq_no_ = trimmed;
    Status s = WriteCheckpoint();
    if (!s.ok()) {
      std::swap(gens_, kept);
      trimmed_max_seq_no_ = old_trimmed;
      return s;
    }
  }
  for (int64_t gen : doomed) QD_RETURN_IF_ERROR(RemoveFile(GenerationPath(gen)));
  return SyncDir(dir_);
}

Status Translog::Read(int64_t from_generation,
                      const std::function<Status(const TranslogOp&)>& fn) const {
  std::vector<TranslogGenerationInfo> gens;
  TranslogLocation durable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gens = gens_;
    durable = durable_;
  }
  for (TranslogGenerationInfo& g : gens) {
    if (g.generation < from_generation) continue;
    // Only synced operations are handed out: older generations are synced whole, the current
    // one up to the synced offset (a record boundary).
    if (g.generation == durable.generation) {
      g.size_bytes = std::min(g.size_bytes, durable.end_offset);
    } else if (g.generation > durable.generation) {
      g.size_bytes = 0;  // cannot happen: Roll and Open set durable_ to the new generation
    }
    uint64_t end = 0;
    Status s = ScanGeneration(GenerationPath(g.generation), g.size_bytes, TailPolicy{}, &end, fn);
    if (!s.ok()) {
      // A generation trimmed while we read it is history that is gone, not damage.
      if (s.IsNotFound()) {
        return Status::Gone("translog generation " + std::to_string(g.generation) +
                            " was trimmed while being read");
      }
      return s;
    }
    if (end != g.size_bytes) {
      return Status::Corruption("translog generation " + std::to_string(g.generation) +
                                " is shorter than what was appended");
    }
  }
  return Status::OK();
}

std::vector<TranslogGenerationInfo> Translog::generations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gens_;
}

int64_t Translog::trimmed_max_seq_no() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trimmed_max_seq_no_;
}

}  // namespace quidditch::engine
