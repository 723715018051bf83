// ClusterState: the immutable, versioned value every node reads, and the events that a change
// of state produces.
//
// A ClusterState is never modified once published: readers hold a StatePtr and a read is a
// pointer copy. Indices are held through shared pointers so that a new state shares every
// index that a command did not touch with the state before it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/types.h"

namespace quidditch::cluster {

struct ClusterState {
  // Strictly increasing: every applied command (or batch of commands) adds one.
  int64_t version = 0;
  // The cluster's identity ("cluster_uuid" on `GET /` and in `_cluster/state`): chosen once, when
  // the cluster first forms (SetClusterUuidCmd), and never changed. Empty until then, which the
  // REST layer reports as "_na_", as OpenSearch does.
  std::string cluster_uuid;
  std::map<std::string, NodeInfo> nodes;
  std::map<std::string, std::shared_ptr<const Index>> indices;
  // Index templates by name, as the REST layer stored them (OpenSearch's template bodies,
  // normalized): composable ones (`_index_template`) and legacy ones (`_template`). The
  // cluster core only stores them; the REST layer matches them against new index names.
  std::map<std::string, Json> index_templates;
  std::map<std::string, Json> legacy_templates;
  // Source of allocation ids ("a<N>"); strictly increasing, never reused.
  int64_t next_allocation_id = 1;

  // The index called `name`, or nullptr.
  const Index* FindIndex(std::string_view name) const;
  // The node `node_id`, or nullptr.
  const NodeInfo* FindNode(std::string_view node_id) const;

  // Deep equality (indices are compared by value, not by pointer).
  friend bool operator==(const ClusterState& a, const ClusterState& b);
};

using StatePtr = std::shared_ptr<const ClusterState>;

enum class EventType {
  kNodeJoined,
  kNodeLeft,
  kNodeModified,
  kIndexCreated,
  kIndexModified,
  kIndexDeleted,
  kShardAllocated,
  kShardStarted,
  kShardRelocated,
  kShardFailed,
  // A watcher that fell behind the retained history receives the whole state instead of the
  // events it missed.
  kResync,
};
std::string_view EventTypeName(EventType t);  // "NODE_JOINED", ...
std::optional<EventType> ParseEventType(std::string_view name);

struct ClusterStateEvent {
  EventType type = EventType::kResync;
  int64_t version = 0;       // the state version this event produced
  int64_t timestamp_ms = 0;  // the time of the command that caused it
  std::string index;         // set for index and shard events
  std::string node_id;       // set for node events, and for shard events: the copy's node
  int32_t shard_id = -1;     // set for shard events
  bool primary = false;      // for shard events: whether the copy is (now) the primary
  StatePtr state;            // set for kResync only
  friend bool operator==(const ClusterStateEvent& a, const ClusterStateEvent& b);
};

}  // namespace quidditch::cluster
