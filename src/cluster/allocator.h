// The shard allocator: a pure function from a cluster state to the allocation commands that
// move it towards every shard copy being assigned.
//
// Raft mode runs it on the leading master, Kubernetes mode in the leading operator: one
// allocator, two hosts. The host applies the returned commands as one batch (ApplyBatch); the
// allocator guarantees that they apply cleanly to the state it was given.
//
// Rules:
//   - copies go only to ACTIVE nodes with the data role, never two copies of a shard on one
//     node;
//   - a new shard's primary goes to the eligible node with the fewest copies (ties broken by
//     node id, so the result is deterministic);
//   - a primary that was lost with no in-sync replica left is brought back only on a node that
//     holds an in-sync copy; otherwise it stays UNASSIGNED (red) rather than starting empty and
//     losing acknowledged writes;
//   - replicas are assigned only once their primary is active, again to the least-loaded
//     eligible node;
//   - started copies are never moved (the allocator is stable): a change is made only where a
//     copy is unassigned. Promotion of an in-sync replica happens inside Apply() when the
//     primary fails, so there is never a state without a primary in between.
#pragma once

#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"

namespace quidditch::cluster {

// Returns AllocateShard commands (stamped with `timestamp_ms`); empty when nothing can be
// improved.
std::vector<Command> ComputeAllocation(const ClusterState& state, int64_t timestamp_ms);

}  // namespace quidditch::cluster
