// ShardEngine: opening and recovery, refresh, commit points and flush, background threads.
#include <spdlog/spdlog.h>

#include <boost/crc.hpp>
#include <charconv>

#include "engine/errors.h"
#include "engine/file_util.h"
#include "engine/shard_engine_impl.h"

namespace quidditch::engine {

namespace {

constexpr char kCommitPrefix[] = "commit_";
// How long the tombstone of a delete is kept for version resolution (OpenSearch's
// index.gc_deletes default).
constexpr auto kTombstoneTtl = std::chrono::seconds(60);

uint32_t Crc32(std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

// Flattens nested settings into dotted keys without the "index." prefix; leaves `analysis`
// objects whole.
void FlattenSettings(const nlohmann::json& j, const std::string& prefix,
                     std::map<std::string, nlohmann::json>* out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (key.starts_with("index.")) key = key.substr(6);
    if (it.value().is_object() && key != "analysis") {
      FlattenSettings(it.value(), key, out);
    } else {
      (*out)[key] = it.value();
    }
  }
}

// OpenSearch TimeValue: "-1" (disabled, returned as -1), or a number with unit
// nanos|micros|ms|s|m|h|d. Milliseconds.
Result<int64_t> ParseTimeValue(const std::string& setting, const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text == "-1") return -1;
  size_t digits = 0;
  while (digits < text.size() && (isdigit(static_cast<unsigned char>(text[digits])) != 0)) {
    ++digits;
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + digits, n);
  std::string unit = text.substr(digits);
  static const std::map<std::string, double> kUnits = {
      {"nanos", 1e-6}, {"micros", 1e-3}, {"ms", 1},      {"s", 1000},
      {"m", 60000},    {"h", 3600000},   {"d", 86400000}};
  auto u = kUnits.find(unit);
  if (digits == 0 || ec != std::errc() || u == kUnits.end()) {
    return IllegalArgument("failed to parse setting [" + setting + "] with value [" + text +
                           "] as a time value: unit is missing or unrecognized");
  }
  return static_cast<int64_t>(static_cast<double>(n) * u->second);
}

// OpenSearch ByteSizeValue: a number with unit b|kb|mb|gb|tb (case-insensitive).
Result<uint64_t> ParseByteSize(const std::string& setting, const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  for (char& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  size_t digits = 0;
  while (digits < text.size() && (isdigit(static_cast<unsigned char>(text[digits])) != 0)) {
    ++digits;
  }
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + digits, n);
  static const std::map<std::string, uint64_t> kUnits = {
      {"b", 1}, {"kb", 1ull << 10}, {"mb", 1ull << 20}, {"gb", 1ull << 30}, {"tb", 1ull << 40}};
  auto u = kUnits.find(text.substr(digits));
  if (digits == 0 || ec != std::errc() || u == kUnits.end()) {
    return IllegalArgument("failed to parse setting [" + setting + "] with value [" + text +
                           "] as a size in bytes: unit is missing or unrecognized");
  }
  return n * u->second;
}

std::string CommitName(int64_t generation) { return kCommitPrefix + std::to_string(generation); }

std::optional<int64_t> ParseCommitName(std::string_view name) {
  if (!name.starts_with(kCommitPrefix)) return std::nullopt;
  std::string_view digits = name.substr(sizeof(kCommitPrefix) - 1);
  int64_t gen = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), gen);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return gen;
}

std::string LiveDocsName(const std::string& segment, int64_t gen) {
  return segment + "_" + std::to_string(gen) + ".liv";
}

}  // namespace

std::string EncodeCommitPoint(const CommitPoint& c) {
  nlohmann::json j;
  j["generation"] = c.generation;
  j["segments"] = nlohmann::json::array();
  for (const CommitPoint::Segment& s : c.segments) {
    j["segments"].push_back({{"name", s.name}, {"max_doc", s.max_doc}, {"live_gen", s.live_gen}});
  }
  j["max_seq_no"] = c.max_seq_no;
  j["local_checkpoint"] = c.local_checkpoint;
  j["translog_generation"] = c.translog_generation;
  j["next_segment"] = c.next_segment;
  j["mapping"] = c.mapping;
  std::string body = j.dump();
  return std::to_string(Crc32(body)) + "\n" + body;
}

Result<CommitPoint> DecodeCommitPoint(std::string_view data) {
  size_t nl = data.find('\n');
  if (nl == std::string_view::npos) return Status::Corruption("commit point without checksum");
  std::string_view body = data.substr(nl + 1);
  uint32_t crc = 0;
  auto [p, ec] = std::from_chars(data.data(), data.data() + nl, crc);
  if (ec != std::errc() || p != data.data() + nl || crc != Crc32(body)) {
    return Status::Corruption("commit point checksum mismatch");
  }
  try {
    nlohmann::json j = nlohmann::json::parse(body);
    CommitPoint c;
    c.generation = j.at("generation").get<int64_t>();
    for (const auto& s : j.at("segments")) {
      c.segments.push_back(CommitPoint::Segment{s.at("name").get<std::string>(),
                                                s.at("max_doc").get<uint32_t>(),
                                                s.at("live_gen").get<int64_t>()});
    }
    c.max_seq_no = j.at("max_seq_no").get<int64_t>();
    c.local_checkpoint = j.at("local_checkpoint").get<int64_t>();
    c.translog_generation = j.at("translog_generation").get<int64_t>();
    c.next_segment = j.at("next_segment").get<int64_t>();
    c.mapping = j.at("mapping");
    return c;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("commit point malformed: ") + e.what());
  }
}

Status ShardEngine::Impl::ApplyDynamicSettings(
    const std::map<std::string, nlohmann::json>& settings) {
  int64_t refresh_ms = kDefaultRefreshIntervalMs;
  bool async = false;
  int64_t sync_ms = kDefaultSyncIntervalMs;
  uint64_t flush_bytes = kDefaultFlushThresholdBytes;
  if (auto it = settings.find("refresh_interval"); it != settings.end()) {
    QD_ASSIGN_OR_RETURN(refresh_ms, ParseTimeValue("index.refresh_interval", it->second));
  }
  if (auto it = settings.find("translog.durability"); it != settings.end()) {
    std::string d = it->second.is_string() ? it->second.get<std::string>() : it->second.dump();
    for (char& c : d) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    if (d == "async" || d == "request") {
      async = d == "async";
    } else {
      return IllegalArgument("No enum constant org.opensearch.index.translog.Translog.Durability." +
                             d);
    }
  }
  if (auto it = settings.find("translog.sync_interval"); it != settings.end()) {
    QD_ASSIGN_OR_RETURN(sync_ms, ParseTimeValue("index.translog.sync_interval", it->second));
    if (sync_ms < 100) {
      return IllegalArgument("failed to parse value [" + it->second.dump() +
                             "] for setting [index.translog.sync_interval], must be >= [100ms]");
    }
  }
  if (auto it = settings.find("translog.flush_threshold_size"); it != settings.end()) {
    QD_ASSIGN_OR_RETURN(flush_bytes,
                        ParseByteSize("index.translog.flush_threshold_size", it->second));
  }
  refresh_interval_ms = refresh_ms;
  async_durability = async;
  sync_interval_ms = sync_ms;
  flush_threshold_bytes = flush_bytes;
  return Status::OK();
}

Status ShardEngine::UpdateSettings(const nlohmann::json& settings) {
  if (!settings.is_object()) return IllegalArgument("index settings must be an object");
  std::map<std::string, nlohmann::json> flat;
  FlattenSettings(settings, "", &flat);
  QD_RETURN_IF_ERROR(impl_->ApplyDynamicSettings(flat));
  {
    std::lock_guard<std::mutex> lock(impl_->bg_mu);  // wakes the loops with the new intervals
  }
  impl_->bg_cv.notify_all();
  return Status::OK();
}

Result<std::unique_ptr<ShardEngine>> ShardEngine::Open(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.options = options;
  const std::string& dir = options.data_dir;
  m.segments_dir = dir + "/segments";
  m.livedocs_dir = dir + "/livedocs";

  // Settings.
  if (!options.settings.is_object() && !options.settings.is_null()) {
    return IllegalArgument("index settings must be an object");
  }
  std::map<std::string, nlohmann::json> settings;
  if (options.settings.is_object()) FlattenSettings(options.settings, "", &settings);
  QD_RETURN_IF_ERROR(m.ApplyDynamicSettings(settings));
  nlohmann::json analysis_json = nlohmann::json::object();
  if (auto it = settings.find("analysis"); it != settings.end()) analysis_json = it->second;
  Result<std::shared_ptr<const AnalysisRegistry>> analysis =
      AnalysisRegistry::Create(analysis_json);
  if (!analysis.ok()) {
    if (!SplitEngineError(analysis.status()).first.empty()) return analysis.status();
    return IllegalArgument(analysis.status().message());
  }
  m.analysis = *analysis;
  if (auto it = settings.find("codec"); it != settings.end()) {
    const std::string codec = it->second.is_string() ? it->second.get<std::string>() : "";
    if (codec == "best_compression") {
      m.stored_codec = StoredFieldsCodec::kZstd;
    } else if (codec != "default") {
      return IllegalArgument(
          "unknown value for [index.codec] must be one of [default, best_compression] but was: " +
          (it->second.is_string() ? codec : it->second.dump()));
    }
  }

  QD_RETURN_IF_ERROR(CreateDirs(m.segments_dir));
  QD_RETURN_IF_ERROR(CreateDirs(m.livedocs_dir));

  // The newest commit point. Commit points are renamed into place whole, so the newest one
  // is complete; if it is damaged we stop rather than silently fall back to an older one
  // whose translog may be gone.
  QD_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::optional<int64_t> newest;
  for (const std::string& name : names) {
    std::optional<int64_t> gen = ParseCommitName(name);
    if (gen && (!newest || *gen > *newest)) newest = gen;
  }
  std::optional<CommitPoint> commit;
  if (newest) {
    std::string path = dir + "/" + CommitName(*newest);
    QD_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    Result<CommitPoint> decoded = DecodeCommitPoint(data);
    if (!decoded.ok()) return decoded.status().WithPrefix(path);
    commit = std::move(decoded).value();
  }

  // Mapping.
  const nlohmann::json& mapping_json = commit ? commit->mapping : options.mappings;
  Result<Mapping> mapping = Mapping::FromJson(
      mapping_json.is_null() ? nlohmann::json::object() : mapping_json, *m.analysis);
  if (!mapping.ok()) return mapping.status();
  m.mapping = std::move(mapping).value();
  if (commit && options.mappings.is_object() && !options.mappings.empty()) {
    // The caller's mapping (e.g. from cluster state) may hold fields added after the commit
    // (PUT _mapping is not in the translog): merge it into the committed one.
    QD_ASSIGN_OR_RETURN(m.mapping, m.mapping.Merge(options.mappings, *m.analysis));
  }

  // Segments and their deletes.
  if (commit) {
    for (const CommitPoint::Segment& s : commit->segments) {
      auto seg = std::make_shared<SegmentState>();
      seg->name = s.name;
      QD_ASSIGN_OR_RETURN(seg->reader, SegmentReader::Open(m.segments_dir + "/" + s.name, s.name));
      if (seg->reader->max_doc() != s.max_doc) {
        return Status::Corruption("segment " + s.name + " has " +
                                  std::to_string(seg->reader->max_doc()) +
                                  " documents, the commit point says " + std::to_string(s.max_doc));
      }
      seg->live = LiveDocs(s.max_doc);
      if (s.live_gen > 0) {
        std::string path = m.livedocs_dir + "/" + LiveDocsName(s.name, s.live_gen);
        QD_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
        Result<LiveDocs> live = LiveDocs::Decode(bytes);
        if (!live.ok()) return live.status().WithPrefix(path);
        if (live->max_doc() != s.max_doc) return Status::Corruption(path + ": wrong max_doc");
        seg->live = std::move(live).value();
      }
      seg->live_gen = s.live_gen;
      seg->synced = true;
      seg->dirty_since_publish = seg->live.num_deleted() > 0;
      m.segments.push_back(std::move(seg));
    }
    m.last_commit = *commit;
    m.max_seq_no = commit->max_seq_no;
    m.next_segment = commit->next_segment;
    m.prev_commit_translog_generation = commit->translog_generation;
  }
  // Segment names are never reused, even those of unreferenced leftovers.
  QD_ASSIGN_OR_RETURN(std::vector<std::string> seg_names, ListDir(m.segments_dir));
  for (const std::string& name : seg_names) {
    int64_t n = 0;
    if (name.size() > 1 && name[0] == '_') {
      auto [p, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), n);
      if (ec == std::errc()) m.next_segment = std::max(m.next_segment, n + 1);
    }
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.DeleteUnreferencedFilesLocked();
  }

  // Translog recovery: every operation above the commit's local checkpoint.
  QD_ASSIGN_OR_RETURN(m.translog, Translog::Open(dir + "/translog"));
  int64_t from_gen = commit ? commit->translog_generation : 0;
  std::vector<TranslogGenerationInfo> gens = m.translog->generations();
  if (commit && gens.front().generation > from_gen) {
    return Status::Corruption("translog generation " + std::to_string(from_gen) +
                              " needed by commit point " + std::to_string(commit->generation) +
                              " is missing");
  }
  int64_t checkpoint = commit ? commit->local_checkpoint : -1;
  m.builder = std::make_unique<SegmentBuilder>();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    QD_RETURN_IF_ERROR(m.translog->Read(from_gen, [&](const TranslogOp& op) -> Status {
      if (op.seq_no <= checkpoint) return Status::OK();
      return m.ReplayLocked(op);
    }));
    QD_RETURN_IF_ERROR(m.RefreshLocked());
  }
  m.refresh_total = 0;
  m.StartBackgroundThreads();
  return std::unique_ptr<ShardEngine>(new ShardEngine(std::move(impl)));
}

Status ShardEngine::Impl::ReplayLocked(const TranslogOp& op) {
  max_seq_no = std::max(max_seq_no, op.seq_no);
  if (op.type == TranslogOpType::kNoOp) return Status::OK();
  CurrentDoc cur = LookupLocked(op.id);
  // Operations are in seq_no order; a newer copy can only exist if the log repeats itself.
  if (cur.known() && cur.meta.seq_no >= op.seq_no) return Status::OK();
  DocMeta meta{op.seq_no, op.primary_term, op.version};
  if (op.type == TranslogOpType::kDelete) {
    DeleteCopyLocked(cur);
    versions[op.id] = VersionEntry{meta, true, -1, std::chrono::steady_clock::now()};
    return Status::OK();
  }
  Result<ParseResult> parsed = ParseDocument(mapping, *analysis, op.id, op.source);
  if (!parsed.ok()) {
    return parsed.status().WithPrefix("translog replay of seq_no " + std::to_string(op.seq_no));
  }
  if (parsed->updated_mapping) {
    mapping = *parsed->updated_mapping;
    ++mapping_version;
  }
  AddToBufferLocked(cur, std::move(parsed->doc), meta);
  return Status::OK();
}

Status ShardEngine::Impl::RefreshLocked() {
  if (!failed.ok()) return failed;
  if (builder->num_docs() > 0) {
    bool any_live = false;
    for (const BufferDoc& d : buffer) any_live |= d.live;
    if (any_live) {
      std::string name = "_" + std::to_string(next_segment++);
      std::string dir = segments_dir + "/" + name;
      QD_RETURN_IF_ERROR(CreateDirs(dir));
      QD_RETURN_IF_ERROR(builder->Write(dir, name, stored_codec).WithPrefix("refresh"));
      Result<std::shared_ptr<const SegmentReader>> reader = SegmentReader::Open(dir, name);
      if (!reader.ok()) return reader.status().WithPrefix("refresh");
      auto seg = std::make_shared<SegmentState>();
      seg->name = name;
      seg->reader = *reader;
      seg->live = LiveDocs((*reader)->max_doc());
      for (size_t i = 0; i < buffer.size(); ++i) {
        if (!buffer[i].live) seg->live.Delete(static_cast<uint32_t>(i));
      }
      seg->dirty_since_publish = seg->live.num_deleted() > 0;
      seg->dirty_since_commit = seg->dirty_since_publish;
      segments.push_back(std::move(seg));
      {
        std::lock_guard<std::mutex> bg_lock(bg_mu);  // lock order: mu, then bg_mu
        merge_requested = true;
      }
      merge_cv.notify_all();
    }
    builder = std::make_unique<SegmentBuilder>();
    buffer.clear();
    // Buffered documents are found through the new segment's _id terms from now on.
    auto now = std::chrono::steady_clock::now();
    for (auto it = versions.begin(); it != versions.end();) {
      bool drop = !it->second.deleted || now - it->second.deleted_at > kTombstoneTtl;
      it = drop ? versions.erase(it) : std::next(it);
    }
  }
  // Segments whose documents are all deleted leave the snapshot (their files go once no
  // commit point references them).
  std::erase_if(segments, [](const std::shared_ptr<SegmentState>& s) {
    return !s->merging && s->live.num_deleted() == s->live.max_doc();
  });
  PublishLocked();
  ++refresh_total;
  return Status::OK();
}

void ShardEngine::Impl::PublishLocked() {
  auto snap = std::make_shared<EngineSnapshot>();
  uint32_t base = 0;
  for (const auto& seg : segments) {
    if (seg->dirty_since_publish) {
      seg->published = std::make_shared<const LiveDocs>(seg->live);
      seg->dirty_since_publish = false;
    }
    if (seg->live.num_deleted() == seg->live.max_doc()) continue;
    Leaf leaf;
    leaf.reader = seg->reader;
    leaf.live = seg->published;
    leaf.doc_base = base;
    base += seg->reader->max_doc();
    snap->leaves.push_back(std::move(leaf));
  }
  snap->mapping = mapping;
  snap->max_seq_no = max_seq_no;
  deletes_since_publish = false;
  std::lock_guard<std::mutex> lock(snapshot_mu);
  snapshot = std::move(snap);
}

Status ShardEngine::Impl::FlushLocked() {
  if (!failed.ok()) return failed;
  QD_RETURN_IF_ERROR(RefreshLocked());
  // Every operation up to max_seq_no is in a segment now (the write mutex is held), so the
  // new commit needs no translog generation before the one started here.
  QD_ASSIGN_OR_RETURN(int64_t translog_gen, translog->Roll());
  CommitPoint c;
  c.generation = last_commit.generation + 1;
  for (const auto& seg : segments) {
    if (!seg->synced) {
      QD_RETURN_IF_ERROR(SyncDir(segments_dir + "/" + seg->name));
      seg->synced = true;
    }
    if (seg->dirty_since_commit && seg->live.num_deleted() > 0) {
      int64_t gen = seg->live_gen + 1;
      QD_RETURN_IF_ERROR(
          WriteFileAtomic(livedocs_dir + "/" + LiveDocsName(seg->name, gen), seg->live.Encode()));
      seg->live_gen = gen;
    }
    c.segments.push_back(CommitPoint::Segment{seg->name, seg->reader->max_doc(), seg->live_gen});
  }
  QD_RETURN_IF_ERROR(SyncDir(segments_dir));
  c.max_seq_no = max_seq_no;
  c.local_checkpoint = max_seq_no;
  c.translog_generation = translog_gen;
  c.next_segment = next_segment;
  c.mapping = mapping.ToJson();
  if (Status s =
          WriteFileAtomic(options.data_dir + "/" + CommitName(c.generation), EncodeCommitPoint(c));
      !s.ok()) {
    // The commit point may already be renamed into place (only the directory sync failed):
    // the engine stops, so nothing it references is deleted as unreferenced.
    failed = s.WithPrefix("engine failed: commit");
    return failed;
  }
  for (const auto& seg : segments) seg->dirty_since_commit = false;
  prev_commit_translog_generation = last_commit.translog_generation;
  last_commit = std::move(c);
  ++flush_total;
  DeleteUnreferencedFilesLocked();

  // Translog retention: the commit needs generations from its own; history retention keeps
  // those holding operations >= retention_seq_no, or by default those since the previous
  // commit point.
  int64_t keep_from = last_commit.translog_generation;
  if (retention_seq_no >= 0) {
    for (const TranslogGenerationInfo& g : translog->generations()) {
      if (g.max_seq_no >= retention_seq_no) {
        keep_from = std::min(keep_from, g.generation);
        break;
      }
    }
  } else {
    keep_from = std::min(keep_from, prev_commit_translog_generation);
  }
  return translog->TrimBelow(keep_from);
}

void ShardEngine::Impl::DeleteUnreferencedFilesLocked() {
  std::set<std::string> segs, livedocs;
  for (const CommitPoint::Segment& s : last_commit.segments) {
    segs.insert(s.name);
    if (s.live_gen > 0) livedocs.insert(LiveDocsName(s.name, s.live_gen));
  }
  for (const auto& seg : segments) segs.insert(seg->name);
  segs.insert(merging_outputs.begin(), merging_outputs.end());
  auto remove = [](const std::string& path) {
    Status s = RemoveAll(path);
    // Leftovers are harmless (retried at the next commit and open); say so in the log.
    if (!s.ok()) spdlog::warn("engine: could not remove unreferenced {}: {}", path, s.ToString());
  };
  if (Result<std::vector<std::string>> names = ListDir(segments_dir); names.ok()) {
    for (const std::string& name : *names) {
      if (!segs.contains(name)) remove(segments_dir + "/" + name);
    }
  }
  if (Result<std::vector<std::string>> names = ListDir(livedocs_dir); names.ok()) {
    for (const std::string& name : *names) {
      if (!livedocs.contains(name)) remove(livedocs_dir + "/" + name);
    }
  }
  if (Result<std::vector<std::string>> names = ListDir(options.data_dir); names.ok()) {
    for (const std::string& name : *names) {
      std::optional<int64_t> gen = ParseCommitName(name);
      bool stale_commit = gen && *gen != last_commit.generation;
      if (stale_commit || (name.starts_with(kCommitPrefix) && name.ends_with(".tmp"))) {
        remove(options.data_dir + "/" + name);
      }
    }
  }
}

void ShardEngine::Impl::StartBackgroundThreads() {
  // Runs `work` every `interval` ms, re-reading the interval each time; an interval <= 0
  // pauses the work until UpdateSettings (or the destructor) wakes the loop.
  auto loop = [this](const std::atomic<int64_t>& interval, auto work) {
    std::unique_lock<std::mutex> lock(bg_mu);
    while (!stopping) {
      const int64_t ms = interval;
      if (ms > 0) {
        bg_cv.wait_for(lock, std::chrono::milliseconds(ms));
      } else {
        bg_cv.wait(lock);
      }
      if (stopping) break;
      if (ms <= 0 || interval <= 0) continue;
      lock.unlock();
      work();
      lock.lock();
    }
  };
  {
    threads.emplace_back(loop, std::cref(refresh_interval_ms), [this] {
      std::lock_guard<std::mutex> lock(mu);
      uint64_t uncommitted = 0;
      for (const TranslogGenerationInfo& g : translog->generations()) {
        if (g.generation >= last_commit.translog_generation) uncommitted += g.size_bytes;
      }
      if (uncommitted > flush_threshold_bytes) {
        Status s = FlushLocked();
        if (!s.ok()) spdlog::warn("engine: background flush failed: {}", s.ToString());
        return;
      }
      if (builder->num_docs() == 0 && !deletes_since_publish) {
        // Only operations that changed no document since the last publish (deletes of
        // missing ids): publish their seq_nos, which refresh=wait_for callers wait for.
        int64_t published;
        {
          std::lock_guard<std::mutex> snap_lock(snapshot_mu);
          published = snapshot->max_seq_no;
        }
        if (published < max_seq_no) PublishLocked();
        return;
      }
      Status s = RefreshLocked();
      if (!s.ok()) spdlog::warn("engine: background refresh failed: {}", s.ToString());
    });
  }
  {
    threads.emplace_back(loop, std::cref(sync_interval_ms), [this] {
      if (!async_durability) return;  // request durability syncs on every write
      Status s = translog->SyncAll();
      if (!s.ok()) spdlog::error("engine: translog sync failed: {}", s.ToString());
    });
  }
  if (options.background_merges) {
    // Woken by every refresh that adds a segment (and once a second); merges until the
    // policy finds nothing more to merge.
    threads.emplace_back([this] {
      std::unique_lock<std::mutex> lock(bg_mu);
      while (!stopping) {
        merge_cv.wait_for(lock, std::chrono::seconds(1),
                          [this] { return stopping || merge_requested; });
        if (stopping) break;
        merge_requested = false;
        lock.unlock();
        while (true) {
          Result<bool> merged = MergeOnce();
          if (!merged.ok()) spdlog::warn("engine: merge failed: {}", merged.status().ToString());
          if (!merged.ok() || !*merged) break;
          std::lock_guard<std::mutex> stop_check(bg_mu);
          if (stopping) break;
        }
        lock.lock();
      }
    });
  }
}

void ShardEngine::Impl::StopBackgroundThreads() {
  {
    std::lock_guard<std::mutex> lock(bg_mu);
    stopping = true;
  }
  bg_cv.notify_all();
  merge_cv.notify_all();
  for (std::thread& t : threads) t.join();
  threads.clear();
}

ShardEngine::Impl::~Impl() { StopBackgroundThreads(); }

}  // namespace quidditch::engine
