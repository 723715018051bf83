// StateBackedControlPlane: the part of every ControlPlane implementation that does not depend
// on where the state is kept.
//
// Reads are answered from the local StateStore (a pointer copy, no network). Every mutating
// method validates its arguments, turns into cluster Commands stamped with the wall clock, and
// goes to Propose(), which the implementation provides (Raft log, forwarding to the leader,
// Kubernetes API). The method returns once the resulting version is visible locally, so a
// caller always reads its own writes.
#pragma once

#include <functional>
#include <mutex>
#include <random>

#include "cluster/commands.h"
#include "controlplane/control_plane.h"
#include "controlplane/state_store.h"

namespace quidditch::controlplane {

// A random 22-character URL-safe id, like OpenSearch's index UUIDs.
std::string NewUuid();

class StateBackedControlPlane : public ControlPlane {
 public:
  Result<cluster::Index> CreateIndex(const CallContext& ctx,
                                     const CreateIndexRequest& request) override;
  Result<cluster::Index> GetIndex(const CallContext& ctx, const std::string& name) override;
  Result<std::vector<cluster::Index>> ListIndices(const CallContext& ctx) override;
  Status DeleteIndex(const CallContext& ctx, const std::string& name) override;
  Status UpdateIndexSettings(const CallContext& ctx, const std::string& name,
                             const cluster::IndexSettingsUpdate& update) override;
  Status PutMapping(const CallContext& ctx, const std::string& name,
                    const cluster::Json& mappings) override;
  Status UpdateAliases(const CallContext& ctx,
                       const std::vector<cluster::AliasAction>& actions) override;
  Status SetIndexClosed(const CallContext& ctx, const std::string& name, bool closed) override;
  Status PutTemplate(const CallContext& ctx, cluster::TemplateKind kind, const std::string& name,
                     const cluster::Json& body, bool create) override;
  Status DeleteTemplate(const CallContext& ctx, cluster::TemplateKind kind,
                        const std::string& name) override;

  Result<cluster::StatePtr> GetClusterState(const CallContext& ctx) override;
  Result<cluster::ClusterHealth> GetClusterHealth(const CallContext& ctx) override;

  Status RegisterNode(const CallContext& ctx, const cluster::NodeInfo& node) override;
  Status UnregisterNode(const CallContext& ctx, const std::string& node_id) override;
  Result<cluster::NodeInfo> GetNode(const CallContext& ctx, const std::string& node_id) override;
  Result<std::vector<cluster::NodeInfo>> ListNodes(const CallContext& ctx) override;
  Status UpdateNodeStatus(const CallContext& ctx, const std::string& node_id,
                          const cluster::NodeStatus& status) override;

  Status AllocateShard(const CallContext& ctx, const std::string& index, int32_t shard_id,
                       const std::string& node_id) override;
  Status DeallocateShard(const CallContext& ctx, const std::string& index, int32_t shard_id,
                         const std::string& node_id) override;
  Result<cluster::ShardRoutingTable> GetShardRouting(const CallContext& ctx,
                                                     const std::string& index) override;
  Status UpdateShardState(const CallContext& ctx, const std::string& index, int32_t shard_id,
                          const std::string& node_id, cluster::ShardState state) override;

  Result<std::unique_ptr<Watch>> WatchClusterState(const CallContext& ctx,
                                                   int64_t from_version) override;

 protected:
  // `clock` returns milliseconds since the epoch (tests may pin it).
  explicit StateBackedControlPlane(std::function<int64_t()> clock = nullptr);

  // Applies `commands` as one batch wherever the state is kept, and returns the version the
  // batch produced. A command the state rejects returns its typed error (and changes nothing).
  // The implementation need not wait for the version to reach store(); the caller does.
  virtual Result<int64_t> Propose(const CallContext& ctx,
                                  const std::vector<cluster::Command>& commands) = 0;

  // Brings store() up to every change committed before this call (for linearizable reads).
  virtual Status SyncForRead(const CallContext& ctx) = 0;

  StateStore& store() { return store_; }
  const StateStore& store() const { return store_; }

  // Proposes one command and waits until its version is visible in store().
  Status ProposeAndWait(const CallContext& ctx, cluster::CommandOp op);
  int64_t NowMs() const { return clock_(); }

 private:
  Result<cluster::StatePtr> ReadState(const CallContext& ctx);

  std::function<int64_t()> clock_;
  StateStore store_;
};

}  // namespace quidditch::controlplane
