// DirectControlPlane: a ControlPlane that applies every command batch to its own StateStore,
// in process, under a mutex.
//
// TEST ONLY. It exists to run the ControlPlane conformance suite (testing/conformance.h)
// against StateBackedControlPlane, and to test the suite itself, without Raft, gRPC or a
// Kubernetes API server. No running node ever uses it: it has no durability, no replication
// and no leader.
//
// Thread safety: as ControlPlane.
#pragma once

#include <functional>
#include <mutex>
#include <thread>

#include "controlplane/state_backed_control_plane.h"

namespace quidditch::controlplane::testing {

// Who assigns shard copies to nodes.
enum class Allocation {
  // Only AllocateShard() does.
  kManual,
  // The shard allocator (cluster::ComputeAllocation) runs after every accepted batch, before
  // Propose() returns; each round is published as its own version.
  kAfterEachChange,
  // The allocator runs on a background thread whenever the state changes, and races with the
  // callers, the way the Raft leader proposes allocation commands after a change.
  kInBackground,
};

class DirectControlPlane : public StateBackedControlPlane {
 public:
  // `clock` returns milliseconds since the epoch; null means the wall clock.
  explicit DirectControlPlane(Allocation allocation, std::function<int64_t()> clock = nullptr);
  ~DirectControlPlane() override;

  Status Start() override;
  Status Stop() override;
  bool IsHealthy() const override;

  Allocation allocation() const { return allocation_; }

 protected:
  Result<int64_t> Propose(const CallContext& ctx,
                          const std::vector<cluster::Command>& commands) override;
  // Every batch is in store() once Propose returns: nothing to catch up with.
  Status SyncForRead(const CallContext& ctx) override;

 private:
  // Applies `commands` and publishes the result. REQUIRES: mu_ held.
  Result<int64_t> ApplyAndPublish(const std::vector<cluster::Command>& commands);
  // Applies allocation rounds until the allocator has nothing left to do. REQUIRES: mu_ held.
  void AllocateAll();
  // The body of allocator_thread_ (Allocation::kInBackground).
  void AllocateInBackground();

  const Allocation allocation_;
  mutable std::mutex mu_;
  bool started_ = false;  // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
  // Joined by the first Stop(); serialized by stop_mu_.
  std::mutex stop_mu_;
  std::thread allocator_thread_;
};

}  // namespace quidditch::controlplane::testing
