// LeaderElector: one leader among several operator replicas, through a coordination.k8s.io/v1
// Lease (the client-go leader-election protocol).
//
// The leader renews the Lease every retry period; if it cannot renew for the renew deadline it
// stops leading (before the lease expires, so two leaders never overlap). Followers read the
// Lease every half second and take it over once its record has not changed for the lease
// duration, measured on their own clock from when they first saw that record (so clocks need
// not agree). Every write carries the resourceVersion it was based on, so of two candidates only
// one wins. Stop() releases a held lease (holder cleared, duration 1 s) so that a successor
// takes over at once.
//
// Thread safety: Start/Stop/IsLeader from any thread; callbacks run on the elector's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "k8s/kube_client.h"

namespace quidditch::op {

struct LeaderElectionOptions {
  std::string ns;
  std::string lease_name = "quidditch-operator";
  std::string identity;  // unique per replica (the pod name)
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
};

class LeaderElector {
 public:
  // `client` must outlive the elector.
  LeaderElector(quidditch::k8s::KubeClient* client, LeaderElectionOptions options);
  ~LeaderElector();  // Stop()s

  void Start();
  // Stops campaigning; releases the lease when held. Idempotent.
  void Stop();
  bool IsLeader() const { return leading_.load(); }
  // While leading: the time by which this replica stops leading unless it renews. Work done as
  // the leader must finish by then.
  std::chrono::steady_clock::time_point LeadingUntil() const;

 private:
  void Run();
  // One attempt to acquire or renew; true when this replica holds the lease afterwards.
  bool TryAcquireOrRenew(std::chrono::steady_clock::time_point deadline);
  void SetLeading(bool leading);
  quidditch::k8s::Json LeaseSpec(int32_t transitions, const std::string& acquire_time) const;

  quidditch::k8s::KubeClient* const client_;
  const LeaderElectionOptions options_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  // The record last seen and when (our clock) it was first seen.
  std::string observed_record_;
  std::chrono::steady_clock::time_point observed_at_;
  std::chrono::steady_clock::time_point last_renew_;  // GUARDED_BY(mu_)
};

}  // namespace quidditch::op
