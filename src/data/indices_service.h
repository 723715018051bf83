// IndicesService: the shards a data node holds, opened and closed as the cluster state says.
//
// It follows the cluster state through ControlPlane::WatchClusterState. The watch thread only
// notes that the state moved on; a second thread (the applier) reads the whole current state
// (GetClusterState) and makes the node match it, so that a slow engine open never holds up the
// watch, and a missed or resynced event cannot leave the node behind: every pass compares the
// whole state with what is open.
//
// For every copy assigned to this node (INITIALIZING, STARTED or RELOCATING), the applier opens
// a ShardEngine under <data_dir>/indices/<index uuid>/<shard id>/ and reports the copy STARTED.
// A copy that fails to open is reported UNASSIGNED (the control plane's way of saying a copy
// failed; the allocator may place it again), at most kMaxOpenFailures times (over all its
// allocations) before the applier leaves it INITIALIZING and only logs. Engines of copies no longer
// assigned here are closed; the directory of an index that left the cluster state is deleted
// once nothing uses its engines. A closed index's engines are closed too (its data stays) and
// opened again when the index is opened. Mapping changes of the index metadata are merged into the
// open engines.
//
// Dynamic mappings: a write that adds fields changes the engine's mapping; the shard service
// calls PublishMapping before acknowledging such a write, which puts the new mapping into the
// cluster state (ControlPlane::PutMapping), as OpenSearch updates the mapping on the master
// before it acknowledges.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "controlplane/control_plane.h"
#include "data/shard_service.h"
#include "engine/shard_engine.h"

namespace quidditch::data {

// One open shard copy. Shared by the service and the calls using it: an engine closed by the
// applier stays usable by a call already holding it, and is destroyed (and, for a deleted
// index, its directory removed) when the last holder lets go.
class IndexShard {
 public:
  IndexShard(ShardKey key, std::string index_uuid, std::string dir,
             std::unique_ptr<engine::ShardEngine> engine, nlohmann::json settings);
  // Closes the engine; removes the shard's directory when MarkForDeletion() was called.
  ~IndexShard();
  IndexShard(const IndexShard&) = delete;
  IndexShard& operator=(const IndexShard&) = delete;

  const ShardKey& key() const { return key_; }
  const std::string& index_uuid() const { return index_uuid_; }
  const std::string& dir() const { return dir_; }
  engine::ShardEngine& engine() const { return *engine_; }
  // The engine's current settings ({"refresh_interval", "analysis", ...}).
  nlohmann::json settings() const;
  // Applies changed index settings to the open engine (its dynamic ones; the others, e.g.
  // analysis, take effect when the shard is next opened). No-op when nothing changed.
  Status UpdateSettings(const nlohmann::json& settings);

  // Search counters of this copy (OpenSearch's indices.search stats), kept by the shard
  // service. Relaxed atomics: they are statistics, not synchronization.
  struct SearchCounters {
    std::atomic<int64_t> query_total{0};
    std::atomic<int64_t> query_time_ms{0};
    std::atomic<int64_t> query_current{0};
    std::atomic<int64_t> fetch_total{0};
    std::atomic<int64_t> fetch_time_ms{0};
    std::atomic<int64_t> fetch_current{0};
    std::atomic<int64_t> scroll_total{0};  // query phases on a kept reader (scroll / PIT)
  };
  SearchCounters& search_counters() { return search_counters_; }

  // The index was deleted: remove the directory once the engine is closed.
  void MarkForDeletion() { delete_on_close_ = true; }

  // The mapping last merged from the cluster state, and the field paths the cluster state is
  // known to have (a write that added a path not in it must publish). Guarded by mapping_mu().
  std::mutex& mapping_mu() { return mapping_mu_; }
  nlohmann::json& known_mapping() { return known_mapping_; }
  std::set<std::string>& known_paths() { return known_paths_; }

 private:
  const ShardKey key_;
  const std::string index_uuid_;
  const std::string dir_;
  std::unique_ptr<engine::ShardEngine> engine_;
  mutable std::mutex settings_mu_;
  nlohmann::json settings_;  // GUARDED_BY(settings_mu_)
  std::atomic<bool> delete_on_close_{false};
  SearchCounters search_counters_;
  std::mutex mapping_mu_;
  nlohmann::json known_mapping_;       // GUARDED_BY(mapping_mu_)
  std::set<std::string> known_paths_;  // GUARDED_BY(mapping_mu_)
};

class IndicesService {
 public:
  // An allocation whose engine failed to open this many times is left INITIALIZING.
  static constexpr int kMaxOpenFailures = 3;

  // `control_plane` must outlive the service. Shards live under `data_dir`/indices.
  IndicesService(controlplane::ControlPlane* control_plane, std::string node_id,
                 std::string data_dir);
  ~IndicesService();  // calls Stop()

  // Applies the current cluster state once (opening the shards assigned here, which a
  // restarted node finds on disk), then starts following it. Fails only when the indices
  // directory cannot be created.
  Status Start();
  // Stops following the state and closes every engine. Idempotent.
  void Stop();

  // The open copy of `key`, or Unavailable "no such shard [index][n]".
  Result<std::shared_ptr<IndexShard>> Shard(const ShardKey& key) const;

  // Puts the engine's current mapping into the cluster state when it differs from the one last
  // known there (a write added fields). Returns once the control plane accepted it.
  Status PublishMapping(IndexShard& shard);

  // Blocks until a pass of the applier has seen state version `version` or later; false on
  // timeout. For tests and for callers that changed the state and want its effect.
  bool WaitForApplied(int64_t version, std::chrono::milliseconds timeout);
  // The state version the applier last applied (0 before the first pass).
  int64_t applied_version() const;

  const std::string& node_id() const { return node_id_; }
  // <data_dir>/indices/<uuid>/<shard>
  std::string ShardDir(const std::string& index_uuid, int32_t shard) const;

 private:
  struct Failure {
    int count = 0;
  };

  void WatchLoop();
  void ApplyLoop();
  // One pass: makes the open shards match `state`. Runs on the applier thread only.
  void Apply(const cluster::ClusterState& state);
  // Opens the copy of `index`'s shard `shard` assigned here. Runs on the applier thread.
  Result<std::shared_ptr<IndexShard>> OpenShard(const cluster::Index& index, int32_t shard,
                                                int64_t primary_term);
  void ReportState(const std::string& index, int32_t shard, cluster::ShardState state);
  void MergeMapping(IndexShard& shard, const cluster::Json& mappings);
  // Removes index directories whose uuid is not in `state`, except those of open shards.
  void RemoveDeletedIndexDirs(const cluster::ClusterState& state);
  controlplane::CallContext Ctx() const;

  controlplane::ControlPlane* const control_plane_;
  const std::string node_id_;
  const std::string data_dir_;
  const std::string indices_dir_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<ShardKey, std::shared_ptr<IndexShard>> shards_;  // GUARDED_BY(mu_)
  // Shards taken out of shards_ that a call may still hold (a scroll, a search under way):
  // their directories are not removed under them; the last holder removes a deleted one.
  std::vector<std::weak_ptr<IndexShard>> retired_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                           // GUARDED_BY(mu_)
  bool state_changed_ = false;                      // GUARDED_BY(mu_)
  int64_t applied_version_ = 0;                     // GUARDED_BY(mu_)
  std::unique_ptr<controlplane::Watch> watch_;      // GUARDED_BY(mu_)

  // Applier thread only.
  std::map<std::pair<std::string, int32_t>, Failure> failures_;  // (uuid, shard) -> failures

  std::thread watch_thread_;
  std::thread apply_thread_;
};

}  // namespace quidditch::data
