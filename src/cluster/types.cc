#include "cluster/types.h"

#include <array>
#include <utility>

namespace quidditch::cluster {
namespace {

// One table per enum keeps each name and its parse in one place.
template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "UNKNOWN";
}

template <typename E, size_t N>
std::optional<E> Parse(const std::array<std::pair<E, std::string_view>, N>& table,
                       std::string_view name) {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<IndexState, std::string_view>, 3> kIndexStates{{
    {IndexState::kCreating, "CREATING"},
    {IndexState::kActive, "ACTIVE"},
    {IndexState::kDeleting, "DELETING"},
}};
constexpr std::array<std::pair<ShardState, std::string_view>, 4> kShardStates{{
    {ShardState::kInitializing, "INITIALIZING"},
    {ShardState::kStarted, "STARTED"},
    {ShardState::kRelocating, "RELOCATING"},
    {ShardState::kUnassigned, "UNASSIGNED"},
}};
constexpr std::array<std::pair<NodeState, std::string_view>, 4> kNodeStates{{
    {NodeState::kJoining, "JOINING"},
    {NodeState::kActive, "ACTIVE"},
    {NodeState::kLeaving, "LEAVING"},
    {NodeState::kDown, "DOWN"},
}};

}  // namespace

std::string_view IndexStateName(IndexState s) { return NameOf(kIndexStates, s); }
std::string_view ShardStateName(ShardState s) { return NameOf(kShardStates, s); }
std::string_view NodeStateName(NodeState s) { return NameOf(kNodeStates, s); }
std::optional<IndexState> ParseIndexState(std::string_view n) { return Parse(kIndexStates, n); }
std::optional<ShardState> ParseShardState(std::string_view n) { return Parse(kShardStates, n); }
std::optional<NodeState> ParseNodeState(std::string_view n) { return Parse(kNodeStates, n); }

const ShardCopy* ShardRouting::CopyOn(std::string_view node_id) const {
  for (const ShardCopy& copy : copies) {
    if (copy.state != ShardState::kUnassigned && copy.node_id == node_id) return &copy;
  }
  return nullptr;
}

Json MergePatchBetween(const Json& from, const Json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  Json patch = Json::object();
  for (const auto& [key, value] : from.items()) {
    if (!to.contains(key)) patch[key] = nullptr;
  }
  for (const auto& [key, value] : to.items()) {
    auto old = from.find(key);
    if (old == from.end()) {
      patch[key] = value;
    } else if (*old != value) {
      patch[key] = MergePatchBetween(*old, value);
    }
  }
  return patch;
}

}  // namespace quidditch::cluster
