// StateStore: a process's copy of the cluster state, with the recent history that watchers
// and followers read.
//
// Every ControlPlane implementation keeps one: the Raft FSM publishes each applied batch
// here; a non-master node applies the batches its master streams and publishes them too.
// Readers take the current state as a pointer copy; writers wait here until their change is
// visible.
//
// Two histories are kept, each bounded to the most recent `retained` entries:
//   - events, read through Watch (ControlPlane::WatchClusterState);
//   - changes (the command batch that produced each version), read through ChangeReader: the
//     log tail a master streams to non-master nodes.
// Readers never lose anything silently: a reader that asks for (or falls behind to) history
// that is gone gets the whole current state instead (a kResync event, or a Change carrying a
// state), then everything after it.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "common/status.h"
#include "controlplane/control_plane.h"

namespace quidditch::controlplane {

// One version step: the commands that produced `version`, or, for a resync, the whole state.
struct Change {
  int64_t version = 0;
  std::vector<cluster::Command> commands;  // empty for a resync
  cluster::StatePtr state;                 // set for a resync only
};

// Reads the change history from a version on (see StateStore). One thread at a time.
class ChangeReader {
 public:
  virtual ~ChangeReader() = default;
  // Blocks until the next change, the deadline (Timeout), or Close/Cancel (Unavailable).
  virtual Result<Change> Next(std::chrono::steady_clock::time_point deadline) = 0;
  virtual void Cancel() = 0;
};

class StateStore {
 public:
  explicit StateStore(size_t retained = 4096);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The current state; never null (version 0 and empty before anything is published).
  cluster::StatePtr Current() const;

  // Publishes the state that applying `commands` produced, with the events they caused.
  // REQUIRES: next->version > Current()->version; every event carries next->version.
  void Publish(cluster::StatePtr next, std::vector<cluster::Command> commands,
               std::vector<cluster::ClusterStateEvent> events);

  // Replaces the state wholesale (a snapshot restore, a resync from a master). Both histories
  // are dropped: readers that have not reached state->version get the whole state. Going
  // back to an older version is allowed (a Raft member restoring a snapshot at start).
  void Reset(cluster::StatePtr state);

  // Waits until Current()->version >= version. Timeout at the deadline; Unavailable once
  // closed.
  Status WaitForVersion(int64_t version, std::chrono::steady_clock::time_point deadline) const;

  // Every event with a version after `from_version`.
  std::unique_ptr<Watch> NewWatch(int64_t from_version);
  // Every change with a version after `from_version`.
  std::unique_ptr<ChangeReader> NewChangeReader(int64_t from_version);

  // Ends every reader (Unavailable) and every WaitForVersion.
  void Close();

 private:
  template <typename T>
  class Reader;
  template <typename T>
  struct History;

  const size_t retained_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  cluster::StatePtr state_;                                      // GUARDED_BY(mu_)
  std::unique_ptr<History<cluster::ClusterStateEvent>> events_;  // GUARDED_BY(mu_)
  std::unique_ptr<History<Change>> changes_;                     // GUARDED_BY(mu_)
  // GUARDED_BY(mu_): incremented by Reset(); a reader placed before a reset must resync.
  uint64_t reset_generation_ = 0;
  bool closed_ = false;  // GUARDED_BY(mu_)
};

}  // namespace quidditch::controlplane
