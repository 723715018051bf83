#include "cluster/allocator.h"

#include <algorithm>
#include <limits>
#include <map>

namespace quidditch::cluster {
namespace {

class Planner {
 public:
  Planner(const ClusterState& state, int64_t timestamp_ms) : timestamp_ms_(timestamp_ms) {
    for (const auto& [id, node] : state.nodes) {
      if (node.roles.data && node.state == NodeState::kActive) load_[id] = 0;
    }
    for (const auto& [name, index] : state.indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& copy : shard.copies) {
          auto it = load_.find(copy.node_id);
          if (copy.state != ShardState::kUnassigned && it != load_.end()) ++it->second;
        }
      }
    }
  }

  void PlanShard(const Index& index, const ShardRouting& shard) {
    std::vector<std::string> holders;  // nodes holding (or about to hold) a copy
    for (const ShardCopy& copy : shard.copies) {
      if (copy.state != ShardState::kUnassigned) holders.push_back(copy.node_id);
    }
    const ShardCopy& primary = shard.primary();
    if (primary.state == ShardState::kUnassigned) {
      std::string node = shard.in_sync.empty() ? LeastLoaded(holders) : InSyncHolder(shard);
      if (!node.empty()) Allocate(index, shard, node, holders);
      return;  // replicas wait for the primary to become active
    }
    if (!IsActive(primary.state)) return;
    for (size_t i = 1; i < shard.copies.size(); ++i) {
      if (shard.copies[i].state != ShardState::kUnassigned) continue;
      std::string node = LeastLoaded(holders);
      if (node.empty()) return;
      Allocate(index, shard, node, holders);
    }
  }

  std::vector<Command> Take() && { return std::move(commands_); }

 private:
  // The eligible node, not in `exclude`, with the fewest copies; "" when there is none.
  std::string LeastLoaded(const std::vector<std::string>& exclude) const {
    std::string best;
    int64_t best_load = std::numeric_limits<int64_t>::max();
    for (const auto& [id, load] : load_) {  // ordered by id: ties go to the smallest id
      if (load >= best_load) continue;
      if (std::find(exclude.begin(), exclude.end(), id) != exclude.end()) continue;
      best = id;
      best_load = load;
    }
    return best;
  }

  // An eligible node that holds an in-sync copy of the shard; "" when there is none.
  std::string InSyncHolder(const ShardRouting& shard) const {
    for (const auto& [allocation_id, node_id] : shard.in_sync) {
      if (load_.count(node_id) > 0) return node_id;
    }
    return "";
  }

  void Allocate(const Index& index, const ShardRouting& shard, const std::string& node,
                std::vector<std::string>& holders) {
    commands_.push_back(Command{timestamp_ms_, AllocateShardCmd{index.name, shard.shard_id, node}});
    holders.push_back(node);
    ++load_[node];
  }

  int64_t timestamp_ms_;
  std::map<std::string, int64_t> load_;  // eligible node -> copies it holds
  std::vector<Command> commands_;
};

}  // namespace

std::vector<Command> ComputeAllocation(const ClusterState& state, int64_t timestamp_ms) {
  Planner planner(state, timestamp_ms);
  // Primaries of every index first, so that no replica takes a node a primary needs.
  for (const auto& [name, index] : state.indices) {
    if (index->state == IndexState::kDeleting) continue;
    for (const ShardRouting& shard : index->routing.shards) {
      if (shard.primary().state == ShardState::kUnassigned) planner.PlanShard(*index, shard);
    }
  }
  for (const auto& [name, index] : state.indices) {
    if (index->state == IndexState::kDeleting) continue;
    for (const ShardRouting& shard : index->routing.shards) {
      if (shard.primary().state != ShardState::kUnassigned) planner.PlanShard(*index, shard);
    }
  }
  return std::move(planner).Take();
}

}  // namespace quidditch::cluster
