#include "cluster/cluster_state.h"

#include <array>
#include <utility>

namespace quidditch::cluster {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 11> kEventTypes{{
    {EventType::kNodeJoined, "NODE_JOINED"},
    {EventType::kNodeLeft, "NODE_LEFT"},
    {EventType::kNodeModified, "NODE_MODIFIED"},
    {EventType::kIndexCreated, "INDEX_CREATED"},
    {EventType::kIndexModified, "INDEX_MODIFIED"},
    {EventType::kIndexDeleted, "INDEX_DELETED"},
    {EventType::kShardAllocated, "SHARD_ALLOCATED"},
    {EventType::kShardStarted, "SHARD_STARTED"},
    {EventType::kShardRelocated, "SHARD_RELOCATED"},
    {EventType::kShardFailed, "SHARD_FAILED"},
    {EventType::kResync, "RESYNC"},
}};

}  // namespace

std::string_view EventTypeName(EventType t) {
  for (const auto& [type, name] : kEventTypes) {
    if (type == t) return name;
  }
  return "UNKNOWN";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (const auto& [type, n] : kEventTypes) {
    if (n == name) return type;
  }
  return std::nullopt;
}

const Index* ClusterState::FindIndex(std::string_view name) const {
  auto it = indices.find(std::string(name));
  return it == indices.end() ? nullptr : it->second.get();
}

const NodeInfo* ClusterState::FindNode(std::string_view node_id) const {
  auto it = nodes.find(std::string(node_id));
  return it == nodes.end() ? nullptr : &it->second;
}

bool operator==(const ClusterState& a, const ClusterState& b) {
  if (a.version != b.version || a.cluster_uuid != b.cluster_uuid ||
      a.next_allocation_id != b.next_allocation_id || a.nodes != b.nodes ||
      a.index_templates != b.index_templates || a.legacy_templates != b.legacy_templates ||
      a.indices.size() != b.indices.size()) {
    return false;
  }
  for (auto ia = a.indices.begin(), ib = b.indices.begin(); ia != a.indices.end(); ++ia, ++ib) {
    if (ia->first != ib->first || !(*ia->second == *ib->second)) return false;
  }
  return true;
}

bool operator==(const ClusterStateEvent& a, const ClusterStateEvent& b) {
  bool same_state = (a.state == nullptr && b.state == nullptr) ||
                    (a.state != nullptr && b.state != nullptr && *a.state == *b.state);
  return a.type == b.type && a.version == b.version && a.timestamp_ms == b.timestamp_ms &&
         a.index == b.index && a.node_id == b.node_id && a.shard_id == b.shard_id &&
         a.primary == b.primary && same_state;
}

}  // namespace quidditch::cluster
