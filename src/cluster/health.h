// Cluster health computed from the routing table, as OpenSearch defines it: red when a
// primary is not active, yellow when a replica is not active, green otherwise.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cluster/cluster_state.h"

namespace quidditch::cluster {

enum class HealthStatus { kGreen, kYellow, kRed };
std::string_view HealthStatusName(HealthStatus s);  // "green", "yellow", "red"

struct ShardCounts {
  int32_t active_primary_shards = 0;
  int32_t active_shards = 0;
  int32_t relocating_shards = 0;
  int32_t initializing_shards = 0;
  int32_t unassigned_shards = 0;
  friend bool operator==(const ShardCounts&, const ShardCounts&) = default;
};

struct IndexHealth {
  HealthStatus status = HealthStatus::kGreen;
  int32_t number_of_shards = 0;
  int32_t number_of_replicas = 0;
  ShardCounts shards;
  friend bool operator==(const IndexHealth&, const IndexHealth&) = default;
};

struct ClusterHealth {
  HealthStatus status = HealthStatus::kGreen;
  int32_t number_of_nodes = 0;       // nodes that are not DOWN
  int32_t number_of_data_nodes = 0;  // of those, nodes with the data role
  ShardCounts shards;
  double active_shards_percent = 100.0;
  std::map<std::string, IndexHealth> indices;
  friend bool operator==(const ClusterHealth&, const ClusterHealth&) = default;
};

ClusterHealth ComputeHealth(const ClusterState& state);

}  // namespace quidditch::cluster
