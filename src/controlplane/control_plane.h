// ControlPlane: the one interface through which coordination and data nodes see and change
// the cluster, whatever keeps the state (design: "Control Plane Interface").
//
// Implementations: RaftControlPlane (master role, libraft), RemoteControlPlane (gRPC client of
// the masters, for other roles in Raft mode) and K8sControlPlane (custom resources + operator).
// Every implementation passes the same conformance suite.
//
// Thread safety: every method may be called concurrently from any thread once Start() has
// returned OK. Reads (Get*, List*, GetClusterState) are served from a local immutable
// snapshot and never block on the network unless CallContext::linearizable is set.
//
// Errors are typed: NotFound (unknown index, node or shard copy), AlreadyExists,
// InvalidArgument (bad names, settings, shard ids), Conflict (a change the current state does
// not allow), Unavailable (no leader / API server unreachable within the deadline), Timeout.
// A call that fails changes nothing.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "cluster/health.h"
#include "cluster/types.h"
#include "common/status.h"

namespace quidditch::controlplane {

// Per-call options: the Go design's context.Context.
struct CallContext {
  // The call fails with Timeout (or Unavailable when no leader could be found) after this.
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Reads: confirm leadership / read through to the source of truth before answering.
  bool linearizable = false;

  static CallContext WithTimeout(std::chrono::milliseconds timeout) {
    CallContext ctx;
    ctx.deadline = std::chrono::steady_clock::now() + timeout;
    return ctx;
  }
};

struct CreateIndexRequest {
  std::string name;
  cluster::IndexSettings settings;
  cluster::Json mappings = cluster::Json::object();
  cluster::Aliases aliases;
};

// A stream of cluster-state events, in version order, with no gaps: a watcher that falls
// behind what the implementation retains receives one kResync event carrying the whole state
// at that version, then the events after it. The design's sketch drops events for slow
// watchers; no implementation here may.
//
// Thread safety: Next() is called by one thread at a time; Cancel() from any thread.
class Watch {
 public:
  virtual ~Watch() = default;
  // Blocks until the next event, the deadline (Timeout), cancellation (Unavailable) or a
  // failure of the underlying stream (its Status).
  virtual Result<cluster::ClusterStateEvent> Next(
      std::chrono::steady_clock::time_point deadline) = 0;
  // Wakes a blocked Next() and ends the stream.
  virtual void Cancel() = 0;
};

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  // --- lifecycle ---
  // Connects, joins or bootstraps, and loads the current state. REQUIRES: called once.
  virtual Status Start() = 0;
  // Stops background work, ends every Watch. Idempotent.
  virtual Status Stop() = 0;
  // True only while this process can both read a current state and get writes committed:
  // a known leader (or a reachable API server) and a synced local copy.
  virtual bool IsHealthy() const = 0;

  // --- index management ---
  virtual Result<cluster::Index> CreateIndex(const CallContext& ctx,
                                             const CreateIndexRequest& request) = 0;
  virtual Result<cluster::Index> GetIndex(const CallContext& ctx, const std::string& name) = 0;
  virtual Result<std::vector<cluster::Index>> ListIndices(const CallContext& ctx) = 0;
  virtual Status DeleteIndex(const CallContext& ctx, const std::string& name) = 0;
  virtual Status UpdateIndexSettings(const CallContext& ctx, const std::string& name,
                                     const cluster::IndexSettingsUpdate& update) = 0;
  // Merges new fields into the index's mappings (a changed field type is Conflict).
  virtual Status PutMapping(const CallContext& ctx, const std::string& name,
                            const cluster::Json& mappings) = 0;
  // Applies `_aliases` actions, all or nothing (cluster::UpdateAliasesCmd).
  virtual Status UpdateAliases(const CallContext& ctx,
                               const std::vector<cluster::AliasAction>& actions) = 0;
  // Closes (`_close`) or opens (`_open`) an index.
  virtual Status SetIndexClosed(const CallContext& ctx, const std::string& name, bool closed) = 0;
  // Stores an index template (`create`: only when there is none of that name, else
  // AlreadyExists), or removes one (NotFound when there is none). Read them from the state.
  virtual Status PutTemplate(const CallContext& ctx, cluster::TemplateKind kind,
                             const std::string& name, const cluster::Json& body, bool create) = 0;
  virtual Status DeleteTemplate(const CallContext& ctx, cluster::TemplateKind kind,
                                const std::string& name) = 0;

  // --- cluster state ---
  virtual Result<cluster::StatePtr> GetClusterState(const CallContext& ctx) = 0;
  virtual Result<cluster::ClusterHealth> GetClusterHealth(const CallContext& ctx) = 0;

  // --- node management ---
  virtual Status RegisterNode(const CallContext& ctx, const cluster::NodeInfo& node) = 0;
  virtual Status UnregisterNode(const CallContext& ctx, const std::string& node_id) = 0;
  virtual Result<cluster::NodeInfo> GetNode(const CallContext& ctx, const std::string& node_id) = 0;
  virtual Result<std::vector<cluster::NodeInfo>> ListNodes(const CallContext& ctx) = 0;
  virtual Status UpdateNodeStatus(const CallContext& ctx, const std::string& node_id,
                                  const cluster::NodeStatus& status) = 0;

  // --- shard management ---
  // The design's Go signatures name no node for UpdateShardState; with replicas a shard has
  // several copies, so every shard call names the copy's node.
  virtual Status AllocateShard(const CallContext& ctx, const std::string& index, int32_t shard_id,
                               const std::string& node_id) = 0;
  virtual Status DeallocateShard(const CallContext& ctx, const std::string& index, int32_t shard_id,
                                 const std::string& node_id) = 0;
  virtual Result<cluster::ShardRoutingTable> GetShardRouting(const CallContext& ctx,
                                                             const std::string& index) = 0;
  virtual Status UpdateShardState(const CallContext& ctx, const std::string& index,
                                  int32_t shard_id, const std::string& node_id,
                                  cluster::ShardState state) = 0;

  // --- watch ---
  // Events for every state version after `from_version` (0: from the beginning, which for a
  // long-lived cluster starts with a kResync). Resuming with the version of the last event
  // seen loses nothing.
  virtual Result<std::unique_ptr<Watch>> WatchClusterState(const CallContext& ctx,
                                                           int64_t from_version) = 0;
};

}  // namespace quidditch::controlplane
