#include "controlplane/state_backed_control_plane.h"

#include <fmt/format.h>

#include <chrono>

#include "cluster/health.h"
#include "cluster/validation.h"

namespace quidditch::controlplane {

using cluster::Command;
using cluster::CommandOp;

std::string NewUuid() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::string id(22, ' ');
  for (char& c : id) c = kAlphabet[rng() % 64];
  return id;
}

namespace {

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status NoSuchIndex(const std::string& name) {
  return Status::NotFound(fmt::format("no such index [{}]", name));
}

}  // namespace

StateBackedControlPlane::StateBackedControlPlane(std::function<int64_t()> clock)
    : clock_(clock ? std::move(clock) : WallClockMs) {}

Status StateBackedControlPlane::ProposeAndWait(const CallContext& ctx, CommandOp op) {
  QD_ASSIGN_OR_RETURN(int64_t version, Propose(ctx, {Command{NowMs(), std::move(op)}}));
  return store_.WaitForVersion(version, ctx.deadline);
}

Result<cluster::StatePtr> StateBackedControlPlane::ReadState(const CallContext& ctx) {
  if (ctx.linearizable) QD_RETURN_IF_ERROR(SyncForRead(ctx));
  return store_.Current();
}

Result<cluster::Index> StateBackedControlPlane::CreateIndex(const CallContext& ctx,
                                                            const CreateIndexRequest& request) {
  // Checked here too so that a bad request costs no log entry.
  QD_RETURN_IF_ERROR(cluster::ValidateIndexName(request.name));
  QD_RETURN_IF_ERROR(cluster::ValidateIndexSettings(request.settings));
  cluster::CreateIndexCmd cmd{request.name, NewUuid(), request.settings, request.mappings,
                              request.aliases};
  QD_ASSIGN_OR_RETURN(int64_t version, Propose(ctx, {Command{NowMs(), cmd}}));
  QD_RETURN_IF_ERROR(store_.WaitForVersion(version, ctx.deadline));
  // Held while `index` is read: the store may move on meanwhile (the leader allocates the new
  // index's shards at once), and a pointer into a state nobody holds would dangle.
  const cluster::StatePtr state = store_.Current();
  const cluster::Index* index = state->FindIndex(request.name);
  // Deleted again in the meantime by someone else.
  if (index == nullptr || index->uuid != cmd.uuid) return NoSuchIndex(request.name);
  return *index;
}

Result<cluster::Index> StateBackedControlPlane::GetIndex(const CallContext& ctx,
                                                         const std::string& name) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadState(ctx));
  const cluster::Index* index = state->FindIndex(name);
  if (index == nullptr) return NoSuchIndex(name);
  return *index;
}

Result<std::vector<cluster::Index>> StateBackedControlPlane::ListIndices(const CallContext& ctx) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadState(ctx));
  std::vector<cluster::Index> indices;
  for (const auto& [name, index] : state->indices) indices.push_back(*index);
  return indices;
}

Status StateBackedControlPlane::DeleteIndex(const CallContext& ctx, const std::string& name) {
  return ProposeAndWait(ctx, cluster::DeleteIndexCmd{name});
}

Status StateBackedControlPlane::UpdateIndexSettings(const CallContext& ctx, const std::string& name,
                                                    const cluster::IndexSettingsUpdate& update) {
  return ProposeAndWait(ctx, cluster::UpdateIndexSettingsCmd{name, update});
}

Status StateBackedControlPlane::PutMapping(const CallContext& ctx, const std::string& name,
                                           const cluster::Json& mappings) {
  return ProposeAndWait(ctx, cluster::PutMappingCmd{name, mappings});
}

Status StateBackedControlPlane::UpdateAliases(const CallContext& ctx,
                                              const std::vector<cluster::AliasAction>& actions) {
  return ProposeAndWait(ctx, cluster::UpdateAliasesCmd{actions});
}

Status StateBackedControlPlane::SetIndexClosed(const CallContext& ctx, const std::string& name,
                                               bool closed) {
  return ProposeAndWait(ctx, cluster::SetIndexClosedCmd{name, closed});
}

Status StateBackedControlPlane::PutTemplate(const CallContext& ctx, cluster::TemplateKind kind,
                                            const std::string& name, const cluster::Json& body,
                                            bool create) {
  return ProposeAndWait(ctx, cluster::PutTemplateCmd{kind, name, body, create});
}

Status StateBackedControlPlane::DeleteTemplate(const CallContext& ctx, cluster::TemplateKind kind,
                                               const std::string& name) {
  return ProposeAndWait(ctx, cluster::DeleteTemplateCmd{kind, name});
}

Result<cluster::StatePtr> StateBackedControlPlane::GetClusterState(const CallContext& ctx) {
  return ReadState(ctx);
}

Result<cluster::ClusterHealth> StateBackedControlPlane::GetClusterHealth(const CallContext& ctx) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadState(ctx));
  return cluster::ComputeHealth(*state);
}

Status StateBackedControlPlane::RegisterNode(const CallContext& ctx,
                                             const cluster::NodeInfo& node) {
  QD_RETURN_IF_ERROR(cluster::ValidateNodeInfo(node));
  return ProposeAndWait(ctx, cluster::RegisterNodeCmd{node});
}

Status StateBackedControlPlane::UnregisterNode(const CallContext& ctx, const std::string& node_id) {
  return ProposeAndWait(ctx, cluster::UnregisterNodeCmd{node_id});
}

Result<cluster::NodeInfo> StateBackedControlPlane::GetNode(const CallContext& ctx,
                                                           const std::string& node_id) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadState(ctx));
  const cluster::NodeInfo* node = state->FindNode(node_id);
  if (node == nullptr) return Status::NotFound(fmt::format("no such node [{}]", node_id));
  return *node;
}

Result<std::vector<cluster::NodeInfo>> StateBackedControlPlane::ListNodes(const CallContext& ctx) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadState(ctx));
  std::vector<cluster::NodeInfo> nodes;
  for (const auto& [id, node] : state->nodes) nodes.push_back(node);
  return nodes;
}

Status StateBackedControlPlane::UpdateNodeStatus(const CallContext& ctx, const std::string& node_id,
                                                 const cluster::NodeStatus& status) {
  return ProposeAndWait(ctx, cluster::UpdateNodeStatusCmd{node_id, status});
}

Status StateBackedControlPlane::AllocateShard(const CallContext& ctx, const std::string& index,
                                              int32_t shard_id, const std::string& node_id) {
  return ProposeAndWait(ctx, cluster::AllocateShardCmd{index, shard_id, node_id});
}

Status StateBackedControlPlane::DeallocateShard(const CallContext& ctx, const std::string& index,
                                                int32_t shard_id, const std::string& node_id) {
  return ProposeAndWait(ctx, cluster::DeallocateShardCmd{index, shard_id, node_id});
}

Result<cluster::ShardRoutingTable> StateBackedControlPlane::GetShardRouting(
    const CallContext& ctx, const std::string& index) {
  QD_ASSIGN_OR_RETURN(cluster::Index found, GetIndex(ctx, index));
  return std::move(found.routing);
}

Status StateBackedControlPlane::UpdateShardState(const CallContext& ctx, const std::string& index,
                                                 int32_t shard_id, const std::string& node_id,
                                                 cluster::ShardState state) {
  return ProposeAndWait(ctx, cluster::UpdateShardStateCmd{index, shard_id, node_id, state});
}

Result<std::unique_ptr<Watch>> StateBackedControlPlane::WatchClusterState(const CallContext&,
                                                                          int64_t from_version) {
  return store_.NewWatch(from_version);
}

}  // namespace quidditch::controlplane
