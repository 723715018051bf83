// State diffs: the events between two cluster states, for control planes that learn of changes
// as new states rather than as commands.
//
// The Kubernetes control plane sees the cluster as custom resources that change one object at a
// time; it rebuilds the ClusterState from them and needs the same events Apply() would have
// emitted for the change. DiffEvents derives them, in Apply()'s order: shard events before
// the index and node events of the same change, failures of a primary before the promotion
// that replaces it.
//
// Pure: no clock, no I/O.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"

namespace quidditch::cluster {

// The events that turn `before` into `after`, each stamped with `version` and `timestamp_ms`.
// Changes that Apply() makes without an event (a node's last-seen time, an index's updated
// time) produce none.
std::vector<ClusterStateEvent> DiffEvents(const ClusterState& before, const ClusterState& after,
                                          int64_t version, int64_t timestamp_ms);

// Fails, as Apply() does when a node goes DOWN or away, every shard copy assigned to a node
// that is not in `state`, is DOWN, or lacks the data role (promoting in-sync replicas). An index
// it changes is stamped with the node's last-seen time (the time of the command that made the
// node DOWN), or keeps its updated time when the node is gone. Returns `state` itself when no
// copy is affected; the version is left as it was.
//
// `known_gone`, when given, says whether a node missing from `state` is known to be gone (rather
// than not seen yet by a reader that learns of nodes and indices on separate streams); copies on
// a missing node that is not known to be gone stay as they are.
StatePtr FailCopiesOnDeadNodes(
    const StatePtr& state,
    const std::function<bool(const std::string& node_id)>& known_gone = nullptr);

}  // namespace quidditch::cluster
