// Apply(): the deterministic transition function of the cluster state.
//
// Given the same state and command, Apply returns the same next state and events on every
// machine: it reads no clock, no randomness and no I/O. On success the next state has
// version + 1. On error the returned Status is typed (NotFound, AlreadyExists,
// InvalidArgument, Conflict) and no state is produced, so the caller's state is unchanged.
//
// Invariants that every state produced by Apply keeps (checked by the property tests):
//   - every shard has exactly 1 + replicas copies, the first one primary;
//   - no node holds two copies of one shard; every assigned copy is on a known, non-DOWN
//     node with the data role;
//   - when a primary fails and an in-sync started replica exists, that replica is promoted
//     in the same transition (there is no state without a primary in between);
//   - replicas are never STARTED while their primary is not active.
#pragma once

#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "common/status.h"

namespace quidditch::cluster {

struct ApplyResult {
  StatePtr state;
  std::vector<ClusterStateEvent> events;  // in the order they happened; all carry state->version
};

// REQUIRES: state != nullptr.
Result<ApplyResult> Apply(const StatePtr& state, const Command& command);

// Applies `commands` in order as one transition: all of them or none, one version step.
// An empty batch is InvalidArgument.
Result<ApplyResult> ApplyBatch(const StatePtr& state, const std::vector<Command>& commands);

// The empty state a new cluster starts from (version 0).
StatePtr EmptyState();

}  // namespace quidditch::cluster
