// RaftControlPlane: the control plane of a master node, replicated with libraft (canonical
// raft 0.15, Debian's libraft-dev) over its libuv I/O: a durable log and snapshots in
// `<dataDir>/raft` (fsync before an entry counts as stored) and TCP between masters.
//
// The replicated state machine is the pure cluster core: each log entry is a batch of
// commands (cluster/codec.h JSON) applied with cluster::ApplyBatch; snapshots are the encoded
// ClusterState. Every member applies the same entries in the same order and so holds the same
// state; a batch the state rejects is a no-op on every member and returns its typed error to
// the proposer.
//
// Threads: one thread owns the libuv loop and the `struct raft`. Every other thread submits
// work to it through a queue and uv_async_send, and waits on a future with its deadline.
//
// Membership: the member with bootstrapCluster (the single-node default) bootstraps a
// one-voter configuration; every other member starts empty and asks the leader to add it
// (Join RPC -> raft_add + raft_assign), retrying in any start order. A restarted member
// rejoins from its own disk.
//
// On the leader only: a state without a cluster uuid gets one (SetClusterUuidCmd, once per
// cluster); the Allocator runs after every change that can need it and its commands
// go through the log; nodes that have not sent a heartbeat for node.heartbeatTimeout are marked
// DOWN (which fails their shard copies and triggers reallocation).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/config.h"
#include "controlplane/rpc/master_backend.h"
#include "controlplane/state_backed_control_plane.h"

namespace quidditch::controlplane::raft {

struct RaftOptions {
  RaftConfig raft;  // nodeId, addresses, peers/masters, dataDir, bootstrap, timeouts
  // A node whose last heartbeat is older than this is marked DOWN by the leader.
  std::chrono::milliseconds node_heartbeat_timeout{10000};
  // How often the leader checks node liveness.
  std::chrono::milliseconds liveness_check_interval{1000};
  // Run the allocator on the leader after changes (off only in tests of manual allocation).
  bool run_allocator = true;
};

class RaftControlPlane : public StateBackedControlPlane, public rpc::MasterBackend {
 public:
  explicit RaftControlPlane(RaftOptions options);
  ~RaftControlPlane() override;

  // Opens (or creates) the Raft data directory, loads the last snapshot and log, bootstraps
  // when configured and new, and starts the loop thread. Returns Corruption naming the file
  // when the stored log or snapshot is damaged (the member never starts empty over it), and
  // IOError when the directory or port cannot be used. Does not wait for a leader: joining and
  // elections go on in the background; IsHealthy() says when the member can serve.
  Status Start() override;
  Status Stop() override;
  bool IsHealthy() const override;

  // rpc::MasterBackend
  Result<int64_t> ProposeCommands(const CallContext& ctx,
                                  const std::vector<cluster::Command>& commands) override;
  Status SyncLocal(const CallContext& ctx) override;
  StateStore& LocalStore() override { return store(); }
  rpc::MasterStatus GetMasterStatus() override;
  Status AddMaster(const CallContext& ctx, const std::string& node_id,
                   const std::string& raft_address, const std::string& grpc_address) override;

  // The Raft id this member uses for `node_id` (a digest of the id; never 0).
  static uint64_t RaftIdFor(const std::string& node_id);

 protected:
  Result<int64_t> Propose(const CallContext& ctx,
                          const std::vector<cluster::Command>& commands) override;
  Status SyncForRead(const CallContext& ctx) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace quidditch::controlplane::raft
