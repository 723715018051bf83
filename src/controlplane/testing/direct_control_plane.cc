#include "controlplane/testing/direct_control_plane.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cluster/allocator.h"
#include "cluster/apply.h"

namespace quidditch::controlplane::testing {

DirectControlPlane::DirectControlPlane(Allocation allocation, std::function<int64_t()> clock)
    : StateBackedControlPlane(std::move(clock)), allocation_(allocation) {}

DirectControlPlane::~DirectControlPlane() { Stop().PermitUncheckedError(); }

Status DirectControlPlane::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return Status::Conflict("already started");
  started_ = true;
  // A new cluster chooses its uuid as it forms (the Raft leader's duty, done here at once).
  if (store().Current()->cluster_uuid.empty()) {
    QD_RETURN_IF_ERROR(
        ApplyAndPublish({cluster::Command{NowMs(), cluster::SetClusterUuidCmd{NewUuid()}}})
            .status());
  }
  if (allocation_ == Allocation::kInBackground) {
    allocator_thread_ = std::thread([this] { AllocateInBackground(); });
  }
  return Status::OK();
}

Status DirectControlPlane::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    store().Close();  // also wakes the allocator thread
  }
  if (allocator_thread_.joinable()) allocator_thread_.join();
  return Status::OK();
}

bool DirectControlPlane::IsHealthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_ && !stopped_;
}

Status DirectControlPlane::SyncForRead(const CallContext&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || stopped_) return Status::Unavailable("control plane is not running");
  return Status::OK();
}

Result<int64_t> DirectControlPlane::ApplyAndPublish(const std::vector<cluster::Command>& commands) {
  QD_ASSIGN_OR_RETURN(cluster::ApplyResult applied,
                      cluster::ApplyBatch(store().Current(), commands));
  const int64_t version = applied.state->version;
  store().Publish(std::move(applied.state), commands, std::move(applied.events));
  return version;
}

void DirectControlPlane::AllocateAll() {
  while (true) {
    std::vector<cluster::Command> allocation =
        cluster::ComputeAllocation(*store().Current(), NowMs());
    if (allocation.empty()) return;
    Result<int64_t> allocated = ApplyAndPublish(allocation);
    if (!allocated.ok()) {
      // ComputeAllocation promises commands that apply cleanly to the state it was given.
      std::fprintf(stderr, "allocator produced a batch that does not apply: %s\n",
                   allocated.status().ToString().c_str());
      std::abort();
    }
  }
}

void DirectControlPlane::AllocateInBackground() {
  while (true) {
    int64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      AllocateAll();
      seen = store().Current()->version;
    }
    // Unavailable once the store is closed (Stop); Timeout only after an idle hour.
    Status changed =
        store().WaitForVersion(seen + 1, std::chrono::steady_clock::now() + std::chrono::hours(1));
    if (changed.IsUnavailable()) return;
  }
}

Result<int64_t> DirectControlPlane::Propose(const CallContext&,
                                            const std::vector<cluster::Command>& commands) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || stopped_) return Status::Unavailable("control plane is not running");
  QD_ASSIGN_OR_RETURN(int64_t version, ApplyAndPublish(commands));
  if (allocation_ == Allocation::kAfterEachChange) AllocateAll();
  return version;
}

}  // namespace quidditch::controlplane::testing
