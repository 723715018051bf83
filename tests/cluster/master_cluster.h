// Test harness: a cluster of real `quidditch` master processes on loopback, each with its own
// data directory and ports, started, killed, paused and restarted like an operator would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "controlplane/rpc/master_client.h"

namespace quidditch::testing {

struct MasterClusterOptions {
  int masters = 3;
  std::chrono::milliseconds heartbeat_timeout{100};
  std::chrono::milliseconds election_timeout{
      1000};  // spurious elections on a busy CI machine are rarer
  int snapshot_threshold = 64;
};

class MasterCluster {
 public:
  // Picks ports and directories under a fresh temporary directory; starts nothing.
  explicit MasterCluster(MasterClusterOptions options = {});
  // Kills every process and removes the directory.
  ~MasterCluster();

  // Starts member i (its data directory is kept across restarts). Member 0 bootstraps.
  void Start(int i);
  void StartAll();
  // SIGKILL: no clean shutdown, whatever was not fsynced is lost.
  void Kill(int i);
  // SIGTERM and wait for exit.
  void Stop(int i);
  void Pause(int i);   // SIGSTOP
  void Resume(int i);  // SIGCONT
  bool IsRunning(int i) const { return pids_[i] > 0; }

  // Waits until every running member reports the same leader and `voters` voting members.
  Status WaitForLeader(std::chrono::milliseconds timeout, size_t voters);
  // The index of the member that leads, or -1 when none does within 5 s.
  int Leader();

  // Master gRPC addresses ("127.0.0.1:port").
  const std::vector<std::string>& grpc_addresses() const { return grpc_; }
  // A client to all masters.
  controlplane::rpc::MasterClient& client() { return *client_; }
  // The state as member i has applied it.
  Result<std::string> EncodedStateOf(int i);
  // The member's log file (for failure messages).
  std::string LogOf(int i) const;
  int size() const { return static_cast<int>(pids_.size()); }

 private:
  MasterClusterOptions options_;
  std::string root_;
  std::vector<int> raft_ports_;
  std::vector<std::string> grpc_;
  std::vector<pid_t> pids_;
  std::unique_ptr<controlplane::rpc::MasterClient> client_;
};

}  // namespace quidditch::testing
