#include "cluster/health.h"

#include <algorithm>

namespace quidditch::cluster {

std::string_view HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kGreen:
      return "green";
    case HealthStatus::kYellow:
      return "yellow";
    case HealthStatus::kRed:
      return "red";
  }
  return "red";
}

namespace {

void Add(ShardCounts& into, const ShardCounts& c) {
  into.active_primary_shards += c.active_primary_shards;
  into.active_shards += c.active_shards;
  into.relocating_shards += c.relocating_shards;
  into.initializing_shards += c.initializing_shards;
  into.unassigned_shards += c.unassigned_shards;
}

IndexHealth ComputeIndexHealth(const Index& index) {
  IndexHealth h;
  h.number_of_shards = index.settings.shards;
  h.number_of_replicas = index.settings.replicas;
  for (const ShardRouting& shard : index.routing.shards) {
    for (const ShardCopy& copy : shard.copies) {
      bool active = false;
      switch (copy.state) {
        case ShardState::kStarted:
          active = true;
          break;
        case ShardState::kRelocating:
          active = true;
          ++h.shards.relocating_shards;
          break;
        case ShardState::kInitializing:
          ++h.shards.initializing_shards;
          break;
        case ShardState::kUnassigned:
          ++h.shards.unassigned_shards;
          break;
      }
      if (active) {
        ++h.shards.active_shards;
        if (copy.primary) ++h.shards.active_primary_shards;
      } else {
        HealthStatus worst = copy.primary ? HealthStatus::kRed : HealthStatus::kYellow;
        h.status = std::max(h.status, worst);
      }
    }
  }
  return h;
}

}  // namespace

ClusterHealth ComputeHealth(const ClusterState& state) {
  ClusterHealth health;
  for (const auto& [id, node] : state.nodes) {
    if (node.state == NodeState::kDown) continue;
    ++health.number_of_nodes;
    if (node.roles.data) ++health.number_of_data_nodes;
  }
  int64_t total = 0;
  for (const auto& [name, index] : state.indices) {
    IndexHealth h = ComputeIndexHealth(*index);
    health.status = std::max(health.status, h.status);
    Add(health.shards, h.shards);
    total += static_cast<int64_t>(index->routing.shards.size()) * (1 + index->settings.replicas);
    health.indices.emplace(name, h);
  }
  if (total > 0) health.active_shards_percent = 100.0 * health.shards.active_shards / total;
  return health;
}

}  // namespace quidditch::cluster
