// MasterClient: the gRPC client of the masters' control-plane service, used by nodes that do
// not run Raft themselves (controlplane/remote) and by tools.
//
// Routing. Writes (Propose, Join) go to the leader: the last leader that answered, else the
// one the masters name in MasterStatus. A master that is not the leader forwards writes
// itself, so any master is correct; going straight to the leader saves a hop. GetState goes
// to the last known leader first, then to any master; StreamChanges to any master (every
// master streams the same committed changes), which spreads the streams over the masters.
//
// Retries. A call is retried on another master, with backoff (50 ms doubling to 1 s), until
// ctx.deadline, only when it is known not to have taken effect or is harmless to repeat:
//   - no connection could be made to the master (the request was never sent);
//   - the master answered UNAVAILABLE: no leader, or not the leader and cannot forward. By
//     the MasterBackend contract that answer means the batch was not applied; a backend that
//     cannot tell (leadership lost after appending) answers TIMEOUT instead;
//   - for idempotent calls (GetState, Join): also a connection that broke mid-call, and for
//     GetState a connected master that does not answer within attempt_timeout.
// Domain errors (NotFound, AlreadyExists, InvalidArgument, Conflict, ...) return at once.
//
// Propose is not idempotent: a batch delivered to a master that then failed may have been
// applied. So a Propose that fails after its request may have been sent (the connection
// broke mid-call, or the deadline passed) is never retried and returns Timeout, whose
// message says the outcome is unknown. The rule for callers, and for a master that forwards
// through this client: Unavailable means nothing was applied (safe to retry); Timeout means
// the outcome is unknown. Retrying such a CreateIndex by hand is safe: the Raft side makes it
// idempotent through the index uuid, and the duplicate answers AlreadyExists.
//
// Every call honours its CallContext's deadline: it returns by then (plus scheduling slack)
// with Timeout (a master was reached but did not answer in time) or Unavailable (no master
// could be used).
//
// Transport security: insecure channel credentials. The masters' service is internal, on
// loopback or the cluster's private network; TLS is future work.
//
// Thread safety: every method may be called concurrently from any thread.
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/controlplane.grpc.pb.h"
#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "common/status.h"
#include "controlplane/control_plane.h"
#include "controlplane/rpc/master_backend.h"
#include "controlplane/state_store.h"

namespace quidditch::controlplane::rpc {

// An open StreamChanges call: the committed changes of one master, in version order.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;

  // Blocks until the next change (decoded: commands, or for a resync the whole state), the
  // deadline (Timeout; the stream stays usable), or the end of the stream: Unavailable when
  // the master went away, stopped or Cancel() was called; Corruption when a change cannot be
  // decoded. After an error other than Timeout, every later call returns an error.
  // REQUIRES: one thread at a time.
  virtual Result<Change> Next(std::chrono::steady_clock::time_point deadline) = 0;

  // Ends the stream and wakes a blocked Next(). Callable from any thread, any number of times.
  virtual void Cancel() = 0;

  // The master this stream reads from.
  virtual const std::string& address() const = 0;
};

struct MasterClientOptions {
  // host:port of each master's control-plane service (RaftConfig::masters).
  std::vector<std::string> masters;
  // How long one attempt waits for a connection to one master before trying the next.
  std::chrono::milliseconds connect_timeout{1000};
  // How long one GetState attempt may wait for a connected master's answer before the next
  // master is asked (a stopped process keeps its connections open).
  std::chrono::milliseconds attempt_timeout{5000};
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
};

class MasterClient {
 public:
  explicit MasterClient(std::vector<std::string> masters);
  explicit MasterClient(MasterClientOptions options);
  ~MasterClient();
  MasterClient(const MasterClient&) = delete;
  MasterClient& operator=(const MasterClient&) = delete;

  // Applies `commands` as one batch and returns the state version it produced (see
  // "Retries" above for what is retried).
  Result<int64_t> Propose(const CallContext& ctx, const std::vector<cluster::Command>& commands);

  // The cluster state of a master; with `linearizable`, one that holds every change
  // committed before the call.
  Result<cluster::StatePtr> GetState(const CallContext& ctx, bool linearizable);
  // The version of the committed state (a linearizable read), without shipping the state:
  // what a node waits for before it answers a linearizable read from its own copy.
  Result<int64_t> GetCommittedVersion(const CallContext& ctx);

  // The status of the master at `address` (any address, not only the configured ones); not
  // retried elsewhere.
  Result<MasterStatus> GetMasterStatus(const CallContext& ctx, const std::string& address);

  // Adds a master to the Raft configuration (idempotent).
  Status Join(const CallContext& ctx, const std::string& node_id, const std::string& raft_address,
              const std::string& grpc_address);

  // Opens a stream of every change after `from_version` on one reachable master, trying the
  // configured masters in turn from one further on each call, so that reconnecting after a
  // failure tries another master first. ctx.deadline bounds finding a master, not the stream.
  // Unavailable when no master can be reached.
  Result<std::unique_ptr<ChangeStream>> StreamChanges(const CallContext& ctx, int64_t from_version);

  const std::vector<std::string>& masters() const { return options_.masters; }
  // The last master known to be the leader, or empty.
  std::string LeaderHint() const;

 private:
  struct Peer;
  // The outcome of one try of a call on one master.
  struct Attempt {
    Status status;
    bool retry = false;  // failed, and safe to try again elsewhere or later
  };
  enum class Route { kLeader, kAny };

  // The connection to `address`, created on first use.
  std::shared_ptr<Peer> PeerFor(const std::string& address);
  // PeerFor(address), connected by `deadline`; Unavailable ("cannot connect") otherwise, in
  // which case nothing was sent.
  Result<std::shared_ptr<Peer>> ConnectedPeer(const std::string& address,
                                              std::chrono::steady_clock::time_point deadline);
  // GetState from any master: fills `*state` when it is not null (else asks for the version
  // alone), and `*version` when it is not null.
  Status FetchState(const CallContext& ctx, bool linearizable, cluster::StatePtr* state,
                    int64_t* version);
  // Runs `attempt` on masters chosen by `route` until it succeeds, fails for good (a
  // non-retryable status), or ctx.deadline passes (Unavailable naming the masters and the
  // last error). `what` names the call in messages.
  Status Run(const CallContext& ctx, Route route, std::string_view what,
             const std::function<Attempt(const std::string& address)>& attempt);
  // Where to send a write: the leader's address, then masters that know a leader (they
  // forward). Empty when no master names a leader by `deadline`; `why` then says why (the
  // last master's error, or that none knows a leader).
  std::vector<std::string> DiscoverLeader(std::chrono::steady_clock::time_point deadline,
                                          Status* why);
  // Waits until the connection to `peer` is ready, at most until `deadline`; false at once
  // when the last connection attempt failed (the master is down).
  bool Connect(Peer& peer, std::chrono::steady_clock::time_point deadline);
  void SetLeaderHint(const std::string& address);
  void ForgetLeaderHint(const std::string& address);

  const MasterClientOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Peer>> peers_;  // GUARDED_BY(mu_)
  std::string leader_hint_;                             // GUARDED_BY(mu_)
  size_t next_stream_master_ = 0;                       // GUARDED_BY(mu_): rotation
};

}  // namespace quidditch::controlplane::rpc
