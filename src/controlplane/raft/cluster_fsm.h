// ClusterFsm: the replicated state machine of the Raft control plane, as libraft's
// `struct raft_fsm`.
//
// Each log entry is a batch of commands (cluster/codec.h JSON, padded, see EntryPayload);
// applying it runs cluster::ApplyBatch on the current state and publishes the result to a
// StateStore. Snapshots are the encoded ClusterState. Every member applies the same bytes and
// so reaches the same state; a batch the state rejects changes nothing on any member and its
// typed error goes back to the proposer through the apply result.
//
// Thread safety: libraft calls the FSM from the one thread that owns the `struct raft` (the
// loop thread, or the test's thread with raft_fixture). The StateStore may be read anywhere.
#pragma once

#include <functional>
#include <string>
#include <vector>

extern "C" {
#include <raft.h>
}

#include "cluster/commands.h"
#include "common/status.h"
#include "controlplane/state_store.h"

namespace quidditch::controlplane::raft {

// What applying one entry produced; the `result` libraft hands to the raft_apply callback.
struct ApplyOutcome {
  Status status;
  int64_t version = 0;  // the new state version when status is OK
};

// The bytes of one log entry for `commands`.
std::string EntryPayload(const std::vector<cluster::Command>& commands);

class ClusterFsm {
 public:
  // Called on the applying thread after each successfully applied batch, and after a snapshot
  // is restored (with no commands and had_events = true: anything may have changed).
  using AppliedHook =
      std::function<void(const std::vector<cluster::Command>& commands, bool had_events)>;

  // `store` must outlive the FSM.
  explicit ClusterFsm(StateStore* store, AppliedHook on_applied = nullptr);
  ClusterFsm(const ClusterFsm&) = delete;
  ClusterFsm& operator=(const ClusterFsm&) = delete;

  // The libraft view of this FSM; valid as long as this object.
  struct raft_fsm* fsm() {
    return &fsm_;
  }

  // Set by the owner once start-up is over, so that a restore after it is reported as a
  // snapshot installed by the leader rather than the member's own snapshot.
  void set_running(bool running) { running_ = running; }

 private:
  int Apply(const struct raft_buffer* buf, void** result);
  int Snapshot(struct raft_buffer* bufs[], unsigned* n_bufs);
  int Restore(struct raft_buffer* buf);

  StateStore* const store_;
  const AppliedHook on_applied_;
  struct raft_fsm fsm_;
  // Written by Apply, read by the raft_apply callback that libraft 0.15 calls right after it.
  // Newer libraft (cowsql/raft >= 0.20) queues that callback instead: moving there needs one
  // outcome per proposal (e.g. keyed by a request id in the entry), not this single slot.
  ApplyOutcome last_outcome_;
  bool running_ = false;
};

}  // namespace quidditch::controlplane::raft
