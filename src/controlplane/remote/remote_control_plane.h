// RemoteControlPlane: the ControlPlane of a node without the master role in Raft mode.
//
// The node keeps an exact copy of the cluster state in its StateStore: Start() loads the
// whole state from a master, then a background thread follows one master's change stream
// (rpc::MasterClient::StreamChanges) and applies every batch with cluster::ApplyBatch, which
// is deterministic, so the copy equals the master's version for version. When the stream
// fails (the master died, restarted, or is unreachable) the thread backs off and reconnects
// to any master from its local version: it misses nothing, because the master replays every
// change after that version, or sends the whole state when it no longer holds them.
//
// Writes go to the leader through MasterClient (see its retry rules) and return once their
// version is visible locally, so a caller reads its own writes. Reads are local; a
// linearizable read first asks the leader for its committed version and waits for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/rpc/master_client.h"
#include "controlplane/state_backed_control_plane.h"

namespace quidditch::controlplane::remote {

struct RemoteOptions {
  // host:port of every master's control-plane gRPC service (RaftConfig::masters).
  std::vector<std::string> masters;
  // Start() fails with Unavailable when it cannot load the state within this time.
  std::chrono::milliseconds start_timeout{30000};
  // How often the followed master is asked whether it still has a leader.
  std::chrono::milliseconds probe_interval{1000};
  // IsHealthy() needs a successful probe at most this old; a followed master that answers
  // no probe for this long is left for another one.
  std::chrono::milliseconds healthy_within{3000};
  // Milliseconds since the epoch for command timestamps; the wall clock when empty.
  std::function<int64_t()> clock;
};

// Thread safety: as ControlPlane. Start() and Stop() are called by the owner, not
// concurrently with each other.
class RemoteControlPlane final : public StateBackedControlPlane {
 public:
  explicit RemoteControlPlane(RemoteOptions options);
  // Stop().
  ~RemoteControlPlane() override;

  // Loads the whole state from a master (a linearizable read), starts following the change
  // stream, and returns once the stream is open. InvalidArgument without masters;
  // Unavailable naming the masters when this does not succeed within start_timeout.
  Status Start() override;
  // Ends the stream, joins the background thread and closes the store (every Watch and
  // waiting write ends with Unavailable). Idempotent.
  Status Stop() override;
  // True while a change stream is open, the followed master answered a probe within
  // healthy_within and reported a leader, and the local copy has reached the version that
  // master had one probe earlier (it is not falling behind).
  bool IsHealthy() const override;

 protected:
  Result<int64_t> Propose(const CallContext& ctx,
                          const std::vector<cluster::Command>& commands) override;
  Status SyncForRead(const CallContext& ctx) override;

 private:
  // The background thread: follows change streams until Stop().
  void SyncLoop();
  // Applies one stream's changes until it fails (its error) or Stop() (OK). Sets `*answered`
  // once the master has answered a probe.
  Status Follow(rpc::ChangeStream& stream, bool* answered);
  // Applies one change to store(); an error means the local copy and the master disagree.
  Status ApplyChange(Change change);
  // Replaces the local copy by a master's current state after ApplyChange failed.
  void Resync();
  // Asks the followed master for its status and records the result for IsHealthy(); false
  // when it did not answer.
  bool Probe(const std::string& address);
  // Sleeps for `delay` unless Stop() is called; false when stopping.
  bool SleepUnlessStopping(std::chrono::milliseconds delay);
  bool Stopping() const;

  const RemoteOptions options_;
  rpc::MasterClient client_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::thread thread_;
  bool started_ = false;                 // GUARDED_BY(mu_)
  bool stopping_ = false;                // GUARDED_BY(mu_)
  bool stopped_ = false;                 // GUARDED_BY(mu_)
  bool stream_open_ = false;             // GUARDED_BY(mu_)
  rpc::ChangeStream* stream_ = nullptr;  // GUARDED_BY(mu_): owned by SyncLoop, for Cancel()
  bool probed_ = false;                  // GUARDED_BY(mu_): a probe ran on the open stream
  std::condition_variable probed_cv_;    // signalled when probed_ becomes true
  // GUARDED_BY(mu_): the last successful probe of the followed master and what it said.
  std::chrono::steady_clock::time_point last_probe_ok_;
  bool master_has_leader_ = false;  // GUARDED_BY(mu_)
  int64_t master_version_ = 0;      // GUARDED_BY(mu_): its state version at that probe
  bool lagging_ = false;            // GUARDED_BY(mu_)
};

}  // namespace quidditch::controlplane::remote
