#include "cluster/diff.h"

#include <algorithm>
#include <set>

#include "cluster/apply.h"

namespace quidditch::cluster {

namespace {

// Collects events in order, all with one version and time.
class EventSink {
 public:
  EventSink(int64_t version, int64_t timestamp_ms)
      : version_(version), timestamp_ms_(timestamp_ms) {}

  void Add(EventType type, const std::string& index, const std::string& node_id,
           int32_t shard_id = -1, bool primary = false) {
    events_.push_back(ClusterStateEvent{type, version_, timestamp_ms_, index, node_id, shard_id,
                                        primary, nullptr});
  }
  std::vector<ClusterStateEvent> Take() { return std::move(events_); }

 private:
  const int64_t version_;
  const int64_t timestamp_ms_;
  std::vector<ClusterStateEvent> events_;
};

const ShardCopy* FindAllocation(const ShardRouting& shard, const std::string& allocation_id) {
  for (const ShardCopy& c : shard.copies) {
    if (c.state != ShardState::kUnassigned && c.allocation_id == allocation_id) return &c;
  }
  return nullptr;
}

// Apply()'s order for one shard: the lost primary, the replica promoted in its place, other
// lost copies (in the order Apply() removes them when the replica count went down), new copies,
// then state changes of the copies that stayed.
void DiffShard(const std::string& index, const ShardRouting& before, const ShardRouting& after,
               EventSink& sink) {
  const int32_t id = after.shard_id;
  const ShardCopy& old_primary = before.primary();
  if (old_primary.state != ShardState::kUnassigned &&
      FindAllocation(after, old_primary.allocation_id) == nullptr) {
    sink.Add(EventType::kShardFailed, index, old_primary.node_id, id, true);
  }
  const ShardCopy& new_primary = after.primary();
  const ShardCopy* promoted = nullptr;
  if (new_primary.state != ShardState::kUnassigned) {
    const ShardCopy* was = FindAllocation(before, new_primary.allocation_id);
    if (was != nullptr && !was->primary) {
      promoted = &new_primary;
      sink.Add(EventType::kShardStarted, index, new_primary.node_id, id, true);
    }
  }
  std::vector<size_t> lost;  // positions in before.copies
  for (size_t i = 0; i < before.copies.size(); ++i) {
    const ShardCopy& c = before.copies[i];
    if (c.primary || c.state == ShardState::kUnassigned) continue;
    if (FindAllocation(after, c.allocation_id) == nullptr) lost.push_back(i);
  }
  if (after.copies.size() < before.copies.size()) {
    // Fewer replicas: Apply() removes INITIALIZING copies first, then RELOCATING, then STARTED,
    // each from the back.
    auto rank = [&](size_t i) {
      const ShardState s = before.copies[i].state;
      return s == ShardState::kInitializing ? 0 : s == ShardState::kRelocating ? 1 : 2;
    };
    std::sort(lost.begin(), lost.end(),
              [&](size_t a, size_t b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a > b; });
  }
  for (size_t i : lost) {
    sink.Add(EventType::kShardFailed, index, before.copies[i].node_id, id, false);
  }
  for (const ShardCopy& c : after.copies) {
    if (c.state == ShardState::kUnassigned) continue;
    const ShardCopy* was = FindAllocation(before, c.allocation_id);
    if (was == nullptr) {
      sink.Add(EventType::kShardAllocated, index, c.node_id, id, c.primary);
      continue;
    }
    if (&c == promoted || was->state == c.state) continue;
    if (c.state == ShardState::kStarted) {
      sink.Add(EventType::kShardStarted, index, c.node_id, id, c.primary);
    } else if (c.state == ShardState::kRelocating) {
      sink.Add(EventType::kShardRelocated, index, c.node_id, id, c.primary);
    }
  }
}

void DiffIndex(const Index& before, const Index& after, EventSink& sink) {
  const size_t shards = std::min(before.routing.shards.size(), after.routing.shards.size());
  for (size_t i = 0; i < shards; ++i) {
    DiffShard(after.name, before.routing.shards[i], after.routing.shards[i], sink);
  }
  if (before.settings != after.settings || before.mappings != after.mappings ||
      before.aliases != after.aliases || before.closed != after.closed ||
      before.state != after.state || before.uuid != after.uuid ||
      before.created_at_ms != after.created_at_ms) {
    sink.Add(EventType::kIndexModified, after.name, "");
  }
}

void DiffNode(const NodeInfo& before, const NodeInfo& after, EventSink& sink) {
  const bool was_down = before.state == NodeState::kDown;
  const bool is_down = after.state == NodeState::kDown;
  if (!was_down && is_down) {
    sink.Add(EventType::kNodeLeft, "", after.node_id);
    return;
  }
  if (was_down && !is_down) {
    sink.Add(EventType::kNodeJoined, "", after.node_id);
    return;
  }
  NodeInfo seen_now = before;
  seen_now.last_seen_ms = after.last_seen_ms;
  if (!(seen_now == after)) sink.Add(EventType::kNodeModified, "", after.node_id);
}

template <typename Map>
std::set<std::string> KeysOf(const Map& a, const Map& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  return keys;
}

}  // namespace

std::vector<ClusterStateEvent> DiffEvents(const ClusterState& before, const ClusterState& after,
                                          int64_t version, int64_t timestamp_ms) {
  EventSink sink(version, timestamp_ms);
  for (const std::string& name : KeysOf(before.indices, after.indices)) {
    const Index* b = before.FindIndex(name);
    const Index* a = after.FindIndex(name);
    if (b == a) continue;
    if (a == nullptr) {
      sink.Add(EventType::kIndexDeleted, name, "");
    } else if (b == nullptr || b->uuid != a->uuid) {
      if (b != nullptr) sink.Add(EventType::kIndexDeleted, name, "");
      sink.Add(EventType::kIndexCreated, name, "");
      for (const ShardRouting& shard : a->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state == ShardState::kUnassigned) continue;
          sink.Add(EventType::kShardAllocated, name, c.node_id, shard.shard_id, c.primary);
        }
      }
    } else {
      DiffIndex(*b, *a, sink);
    }
  }
  for (const std::string& id : KeysOf(before.nodes, after.nodes)) {
    const NodeInfo* b = before.FindNode(id);
    const NodeInfo* a = after.FindNode(id);
    if (a == nullptr) {
      sink.Add(EventType::kNodeLeft, "", id);
    } else if (b == nullptr) {
      sink.Add(EventType::kNodeJoined, "", id);
    } else {
      DiffNode(*b, *a, sink);
    }
  }
  return sink.Take();
}

StatePtr FailCopiesOnDeadNodes(const StatePtr& state,
                               const std::function<bool(const std::string&)>& known_gone) {
  auto dead = [&](const std::string& node_id) {
    const NodeInfo* node = state->FindNode(node_id);
    if (node == nullptr) return !known_gone || known_gone(node_id);
    return node->state == NodeState::kDown || !node->roles.data;
  };
  StatePtr current = state;
  for (const auto& [name, index] : state->indices) {
    for (const ShardRouting& shard : index->routing.shards) {
      for (const ShardCopy& c : shard.copies) {
        if (c.state == ShardState::kUnassigned || !dead(c.node_id)) continue;
        const NodeInfo* node = state->FindNode(c.node_id);
        const Index* now = current->FindIndex(name);
        const ShardCopy* still = now->routing.shards[shard.shard_id].CopyOn(c.node_id);
        if (still == nullptr) continue;  // already failed with its primary
        Command fail{node != nullptr ? node->last_seen_ms : now->updated_at_ms,
                     UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kUnassigned}};
        Result<ApplyResult> r = Apply(current, fail);
        if (!r.ok()) continue;  // cannot happen: the copy exists; keep the state as it is
        auto next = std::make_shared<ClusterState>(*r->state);
        next->version = state->version;
        current = std::move(next);
      }
    }
  }
  return current;
}

}  // namespace quidditch::cluster
