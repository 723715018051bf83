// MasterBackend: what the masters' gRPC service (rpc/master_service.h) needs from the Raft
// control plane of the process it runs in. RaftControlPlane implements it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/commands.h"
#include "common/status.h"
#include "controlplane/control_plane.h"
#include "controlplane/state_store.h"

namespace quidditch::controlplane::rpc {

struct MasterStatus {
  std::string node_id;
  std::string state;  // "leader", "follower", "candidate", "unavailable"
  std::string leader_id;
  std::string leader_grpc_address;  // host:port; empty when no leader is known
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  int64_t state_version = 0;
  bool healthy = false;
  std::vector<std::string> voters;  // node ids
};

class MasterBackend {
 public:
  virtual ~MasterBackend() = default;

  // Applies `commands` as one batch through the Raft log (a follower forwards to the leader)
  // and returns the state version they produced; a command the state rejects returns its
  // typed error. Unavailable only when the batch was certainly not applied (no leader, or not
  // the leader and the leader cannot be reached): clients retry that on another master. When
  // the outcome is unknown (leadership lost after the entry was appended, the deadline passed
  // while waiting) the answer is Timeout.
  virtual Result<int64_t> ProposeCommands(const CallContext& ctx,
                                          const std::vector<cluster::Command>& commands) = 0;

  // Makes the local store hold every entry committed before this call (raft_barrier on the
  // leader; on a follower, waits for the leader's commit index).
  virtual Status SyncLocal(const CallContext& ctx) = 0;

  // This master's copy of the state and its histories.
  virtual StateStore& LocalStore() = 0;

  virtual MasterStatus GetMasterStatus() = 0;

  // Adds a master to the Raft configuration as a voter (raft_add + raft_assign on the leader;
  // a follower forwards). Adding a member that is already a voter with the same address is OK.
  virtual Status AddMaster(const CallContext& ctx, const std::string& node_id,
                           const std::string& raft_address, const std::string& grpc_address) = 0;
};

}  // namespace quidditch::controlplane::rpc
