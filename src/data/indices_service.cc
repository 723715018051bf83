#include "data/indices_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "engine/errors.h"

namespace quidditch::data {
namespace {

namespace fs = std::filesystem;

// The engine settings of an index: refresh_interval and codec from the typed settings plus
// everything the control plane keeps in `other` (nested, without the "index." prefix).
nlohmann::json EngineSettings(const cluster::Index& index) {
  nlohmann::json settings =
      index.settings.other.is_object() ? index.settings.other : nlohmann::json::object();
  settings["refresh_interval"] = index.settings.refresh_interval;
  settings["codec"] = index.settings.codec;
  return settings;
}

bool AssignedHere(const cluster::ShardCopy& copy, const std::string& node_id) {
  return copy.node_id == node_id && copy.state != cluster::ShardState::kUnassigned;
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// The leaf field paths of a mapping document ({"properties": ...}), multi-fields included, as
// engine::Mapping::Fields() names them.
void CollectPaths(const nlohmann::json& properties, const std::string& prefix,
                  std::set<std::string>* out) {
  if (!properties.is_object()) return;
  for (const auto& [name, field] : properties.items()) {
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    if (!field.is_object()) continue;
    if (auto it = field.find("properties"); it != field.end()) {
      CollectPaths(*it, path, out);
      continue;
    }
    out->insert(path);
    if (auto it = field.find("fields"); it != field.end()) CollectPaths(*it, path, out);
  }
}

std::set<std::string> MappingPaths(const nlohmann::json& mapping) {
  std::set<std::string> paths;
  if (mapping.is_object()) {
    if (auto it = mapping.find("properties"); it != mapping.end()) CollectPaths(*it, "", &paths);
  }
  return paths;
}

}  // namespace

// --- IndexShard --------------------------------------------------------------------------------

IndexShard::IndexShard(ShardKey key, std::string index_uuid, std::string dir,
                       std::unique_ptr<engine::ShardEngine> engine, nlohmann::json settings)
    : key_(std::move(key)),
      index_uuid_(std::move(index_uuid)),
      dir_(std::move(dir)),
      engine_(std::move(engine)),
      settings_(std::move(settings)) {}

nlohmann::json IndexShard::settings() const {
  std::lock_guard<std::mutex> lock(settings_mu_);
  return settings_;
}

Status IndexShard::UpdateSettings(const nlohmann::json& settings) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  if (settings == settings_) return Status::OK();
  QD_RETURN_IF_ERROR(engine_->UpdateSettings(settings));
  settings_ = settings;
  return Status::OK();
}

IndexShard::~IndexShard() {
  engine_.reset();  // stops its threads and closes its files before the directory goes
  if (delete_on_close_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) {
      spdlog::error("cannot remove the directory {} of deleted shard {}: {}", dir_, ShardName(key_),
                    ec.message());
    } else {
      spdlog::info("removed the data of deleted shard {} ({})", ShardName(key_), dir_);
    }
    // The index directory goes with its last shard.
    fs::path index_dir = fs::path(dir_).parent_path();
    if (fs::is_empty(index_dir, ec) && !ec) fs::remove(index_dir, ec);
  }
}

// --- IndicesService ----------------------------------------------------------------------------

IndicesService::IndicesService(controlplane::ControlPlane* control_plane, std::string node_id,
                               std::string data_dir)
    : control_plane_(control_plane),
      node_id_(std::move(node_id)),
      data_dir_(std::move(data_dir)),
      indices_dir_((fs::path(data_dir_) / "indices").string()) {}

IndicesService::~IndicesService() { Stop(); }

std::string IndicesService::ShardDir(const std::string& index_uuid, int32_t shard) const {
  return (fs::path(indices_dir_) / index_uuid / std::to_string(shard)).string();
}

controlplane::CallContext IndicesService::Ctx() const {
  return controlplane::CallContext::WithTimeout(std::chrono::seconds(30));
}

Status IndicesService::Start() {
  std::error_code ec;
  fs::create_directories(indices_dir_, ec);
  if (ec) {
    return Status::IOError(
        fmt::format("cannot create the indices directory {}: {}", indices_dir_, ec.message()));
  }
  Result<cluster::StatePtr> state = control_plane_->GetClusterState(Ctx());
  if (state.ok()) {
    Apply(**state);
  } else {
    spdlog::warn("data role: cannot read the cluster state yet ({}); shards open once it can",
                 state.status().ToString());
  }
  watch_thread_ = std::thread([this] { WatchLoop(); });
  apply_thread_ = std::thread([this] { ApplyLoop(); });
  return Status::OK();
}

void IndicesService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !watch_thread_.joinable() && !apply_thread_.joinable() && shards_.empty()) {
      return;
    }
    stopping_ = true;
    if (watch_) watch_->Cancel();
  }
  cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (apply_thread_.joinable()) apply_thread_.join();
  std::map<ShardKey, std::shared_ptr<IndexShard>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing.swap(shards_);
  }
  if (!closing.empty()) spdlog::info("data role: closing {} shards", closing.size());
  closing.clear();  // engines close here, outside the lock
}

Result<std::shared_ptr<IndexShard>> IndicesService::Shard(const ShardKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = shards_.find(key);
  if (it == shards_.end()) {
    return Status::Unavailable(fmt::format("no such shard {}", ShardName(key)));
  }
  return it->second;
}

int64_t IndicesService::applied_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_version_;
}

bool IndicesService::WaitForApplied(int64_t version, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return applied_version_ >= version; });
}

// The watch thread: notes every event and wakes the applier. On any failure of the stream it
// opens a new watch from the last version seen (the applier re-reads the whole state anyway).
void IndicesService::WatchLoop() {
  int64_t from_version = 0;
  Status last_error;
  while (true) {
    std::unique_ptr<controlplane::Watch> watch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Result<std::unique_ptr<controlplane::Watch>> opened =
        control_plane_->WatchClusterState(Ctx(), from_version);
    if (opened.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      watch_ = std::move(opened).value();
      state_changed_ = true;  // what happened while there was no watch
    } else if (opened.status().ToString() != last_error.ToString()) {
      last_error = opened.status();
      spdlog::warn("data role: cannot watch the cluster state: {}; retrying",
                   last_error.ToString());
    }
    cv_.notify_all();
    while (opened.ok()) {
      controlplane::Watch* w;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        w = watch_.get();
      }
      Result<cluster::ClusterStateEvent> event =
          w->Next(std::chrono::steady_clock::now() + std::chrono::seconds(1));
      if (event.ok()) {
        from_version = event->version;
        {
          std::lock_guard<std::mutex> lock(mu_);
          state_changed_ = true;
        }
        cv_.notify_all();
        last_error = Status::OK();
        continue;
      }
      if (event.status().IsTimeout()) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      if (event.status().ToString() != last_error.ToString()) {
        last_error = event.status();
        spdlog::warn("data role: the cluster-state watch ended: {}; watching again",
                     last_error.ToString());
      }
      break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    watch_.reset();
    if (cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; })) return;
  }
}

// The applier: one full pass per wake-up, and one every few seconds regardless (a failed
// open or report is retried, a control plane that was unreachable is read again).
void IndicesService::ApplyLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_ || state_changed_; });
      if (stopping_) return;
      state_changed_ = false;
    }
    Result<cluster::StatePtr> state = control_plane_->GetClusterState(Ctx());
    if (!state.ok()) {
      spdlog::debug("data role: cannot read the cluster state: {}", state.status().ToString());
      continue;
    }
    Apply(**state);
  }
}

void IndicesService::Apply(const cluster::ClusterState& state) {
  // What should be open here, by shard.
  struct Wanted {
    const cluster::Index* index;
    const cluster::ShardRouting* routing;
    const cluster::ShardCopy* copy;
  };
  std::map<ShardKey, Wanted> wanted;
  for (const auto& [name, index] : state.indices) {
    // A closed index keeps its copies and its data, but no engine: it serves nothing. Its
    // copies keep their state (an INITIALIZING one starts when the index is opened again).
    if (index->state == cluster::IndexState::kDeleting || index->closed) continue;
    for (const cluster::ShardRouting& routing : index->routing.shards) {
      for (const cluster::ShardCopy& copy : routing.copies) {
        if (AssignedHere(copy, node_id_)) {
          wanted[ShardKey{name, routing.shard_id}] = Wanted{index.get(), &routing, &copy};
        }
      }
    }
  }

  // Close what is no longer assigned here (or belongs to an older index of the same name).
  std::set<std::string> live_uuids;
  for (const auto& [name, index] : state.indices) live_uuids.insert(index->uuid);
  std::vector<std::shared_ptr<IndexShard>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = shards_.begin(); it != shards_.end();) {
      auto w = wanted.find(it->first);
      if (w != wanted.end() && w->second.index->uuid == it->second->index_uuid()) {
        ++it;
        continue;
      }
      if (!live_uuids.count(it->second->index_uuid())) it->second->MarkForDeletion();
      retired_.push_back(it->second);
      closing.push_back(std::move(it->second));
      it = shards_.erase(it);
    }
  }
  for (std::shared_ptr<IndexShard>& shard : closing) {
    const cluster::Index* index = state.FindIndex(shard->key().index);
    const bool closed = index != nullptr && index->uuid == shard->index_uuid() && index->closed;
    spdlog::info("closing shard {}{}", ShardName(shard->key()),
                 !live_uuids.count(shard->index_uuid()) ? " (index deleted)"
                 : closed                               ? " (index closed)"
                                                        : "");
    shard.reset();
  }

  // Open what is newly assigned; report STARTED; merge mapping changes.
  for (const auto& [key, w] : wanted) {
    std::shared_ptr<IndexShard> shard;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      auto it = shards_.find(key);
      if (it != shards_.end()) shard = it->second;
    }
    if (!shard) {
      const auto failure_key = std::make_pair(w.index->uuid, key.shard);
      // Counted across allocations: on one node the allocator puts a failed copy right back.
      Failure& failure = failures_[failure_key];
      if (failure.count >= kMaxOpenFailures) continue;  // logged when it happened
      Result<std::shared_ptr<IndexShard>> opened =
          OpenShard(*w.index, key.shard, w.routing->primary_term);
      if (!opened.ok()) {
        ++failure.count;
        if (failure.count >= kMaxOpenFailures) {
          spdlog::error(
              "failed to open shard {} {} times: {}; leaving it {} (fix the cause and restart "
              "the node)",
              ShardName(key), failure.count, opened.status().ToString(),
              cluster::ShardStateName(w.copy->state));
        } else {
          spdlog::error("failed to open shard {}: {}; reporting the copy failed", ShardName(key),
                        opened.status().ToString());
          ReportState(key.index, key.shard, cluster::ShardState::kUnassigned);
        }
        continue;
      }
      failures_.erase(failure_key);
      shard = std::move(opened).value();
      {
        std::lock_guard<std::mutex> lock(mu_);
        shards_[key] = shard;
      }
    }
    MergeMapping(*shard, w.index->mappings);
    if (Status s = shard->UpdateSettings(EngineSettings(*w.index)); !s.ok()) {
      // The control plane validated them; an engine that still refuses keeps its old ones.
      spdlog::error("shard {}: cannot apply the index's settings: {}", ShardName(key),
                    s.ToString());
    }
    if (w.copy->state == cluster::ShardState::kInitializing) {
      ReportState(key.index, key.shard, cluster::ShardState::kStarted);
    }
  }

  RemoveDeletedIndexDirs(state);

  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_version_ = std::max(applied_version_, state.version);
  }
  cv_.notify_all();
}

Result<std::shared_ptr<IndexShard>> IndicesService::OpenShard(const cluster::Index& index,
                                                              int32_t shard, int64_t primary_term) {
  const ShardKey key{index.name, shard};
  const auto start = std::chrono::steady_clock::now();
  engine::EngineOptions options;
  options.data_dir = ShardDir(index.uuid, shard);
  options.settings = EngineSettings(index);
  options.mappings = index.mappings;
  options.primary_term = primary_term;
  const bool existed = fs::exists(options.data_dir);
  QD_ASSIGN_OR_RETURN(std::unique_ptr<engine::ShardEngine> engine,
                      engine::ShardEngine::Open(options));
  const engine::EngineStats stats = engine->Stats();
  auto shard_ptr = std::make_shared<IndexShard>(key, index.uuid, options.data_dir,
                                                std::move(engine), options.settings);
  {
    std::lock_guard<std::mutex> lock(shard_ptr->mapping_mu());
    shard_ptr->known_mapping() = index.mappings;
    shard_ptr->known_paths() = MappingPaths(index.mappings);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  if (existed) {
    spdlog::info("opened shard {} ({} docs, {} operations in the translog, max seq_no {}) in {} ms",
                 ShardName(key), WithThousands(static_cast<uint64_t>(stats.docs_count)),
                 WithThousands(static_cast<uint64_t>(stats.translog_operations)), stats.max_seq_no,
                 ms);
  } else {
    spdlog::info("created shard {} in {} ({} ms)", ShardName(key), options.data_dir, ms);
  }
  return shard_ptr;
}

void IndicesService::ReportState(const std::string& index, int32_t shard,
                                 cluster::ShardState state) {
  Status s = control_plane_->UpdateShardState(Ctx(), index, shard, node_id_, state);
  if (!s.ok()) {
    // The next pass retries (a STARTED report is sent while the copy is INITIALIZING).
    spdlog::warn("cannot report shard [{}][{}] {}: {}", index, shard,
                 cluster::ShardStateName(state), s.ToString());
  }
}

void IndicesService::MergeMapping(IndexShard& shard, const cluster::Json& mappings) {
  std::lock_guard<std::mutex> lock(shard.mapping_mu());
  if (shard.known_mapping() == mappings) return;
  Status s = shard.engine().UpdateMapping(mappings);
  if (!s.ok()) {
    // The control plane accepted a mapping this shard cannot take: it keeps its own, and the
    // next change of the index's mapping is tried again.
    spdlog::error("shard {}: cannot apply the index's mapping: {}", ShardName(shard.key()),
                  s.ToString());
  }
  shard.known_mapping() = mappings;
  shard.known_paths() = MappingPaths(mappings);
}

Status IndicesService::PublishMapping(IndexShard& shard) {
  std::lock_guard<std::mutex> lock(shard.mapping_mu());
  // Compared by field paths, not as documents: the cluster's copy and the engine's rendering
  // of the same mapping need not be equal JSON, and a write that added nothing must not cost
  // a control-plane round trip.
  const engine::Mapping mapping = shard.engine().mapping();
  bool added = false;
  for (const engine::FieldMapping* f : mapping.Fields()) {
    if (!shard.known_paths().count(f->path)) {
      added = true;
      break;
    }
  }
  if (!added) return Status::OK();
  nlohmann::json rendered = mapping.ToJson();
  Status s = control_plane_->PutMapping(Ctx(), shard.key().index, rendered);
  if (s.IsConflict() || s.IsInvalidArgument()) {
    // Another shard mapped the same new field differently first. The engine has applied the
    // write already (it maps fields while it indexes), so this shard's mapping now differs
    // from the index's; the write is reported failed, and later writes are not failed again
    // for the same fields.
    spdlog::error("shard {}: its dynamic mapping conflicts with the index's: {}",
                  ShardName(shard.key()), s.message());
    for (const engine::FieldMapping* f : mapping.Fields()) shard.known_paths().insert(f->path);
    return engine::IllegalArgument(s.message());
  }
  if (!s.ok()) return s;  // the control plane is unreachable: the write is not acknowledged
  for (const engine::FieldMapping* f : mapping.Fields()) shard.known_paths().insert(f->path);
  return Status::OK();
}

void IndicesService::RemoveDeletedIndexDirs(const cluster::ClusterState& state) {
  // Only a state that is known current may delete data: a node whose control plane is not
  // synced might see an old state in which a new index does not exist yet.
  if (!control_plane_->IsHealthy() || state.version <= 0) return;
  std::set<std::string> keep;
  for (const auto& [name, index] : state.indices) keep.insert(index->uuid);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, shard] : shards_) keep.insert(shard->index_uuid());
    std::erase_if(retired_, [](const std::weak_ptr<IndexShard>& w) { return w.expired(); });
    for (const std::weak_ptr<IndexShard>& w : retired_) {
      if (std::shared_ptr<IndexShard> held = w.lock()) keep.insert(held->index_uuid());
    }
  }
  std::error_code ec;
  fs::directory_iterator it(indices_dir_, ec);
  if (ec) return;
  for (const fs::directory_entry& entry : it) {
    const std::string uuid = entry.path().filename().string();
    if (keep.count(uuid) || !entry.is_directory()) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm) {
      spdlog::error("cannot remove the data of deleted index {}: {}", entry.path().string(),
                    rm.message());
    } else {
      spdlog::info("removed the data of deleted index {} ({})", uuid, entry.path().string());
    }
  }
}

}  // namespace quidditch::data
