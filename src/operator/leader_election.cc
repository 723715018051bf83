#include "operator/leader_election.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "controlplane/k8s/objects.h"

namespace quidditch::op {

using quidditch::k8s::Json;
using Clock = std::chrono::steady_clock;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Lease times are RFC 3339 with microseconds (metav1.MicroTime).
std::string MicroTime(int64_t ms) {
  std::string t = controlplane::k8s::FormatTime(ms);  // ...SS.mmmZ
  return t.substr(0, t.size() - 1) + "000Z";
}

}  // namespace

LeaderElector::LeaderElector(quidditch::k8s::KubeClient* client, LeaderElectionOptions options)
    : client_(client), options_(std::move(options)) {}

LeaderElector::~LeaderElector() { Stop(); }

Clock::time_point LeaderElector::LeadingUntil() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_renew_ + options_.renew_deadline;
}

void LeaderElector::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_.exchange(true) && !thread_.joinable()) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaderElector::SetLeading(bool leading) {
  if (leading_.exchange(leading) == leading) return;
  spdlog::info("operator {}: {} the lease {}/{}", options_.identity, leading ? "acquired" : "lost",
               options_.ns, options_.lease_name);
  if (leading && options_.on_started_leading) options_.on_started_leading();
  if (!leading && options_.on_stopped_leading) options_.on_stopped_leading();
}

Json LeaderElector::LeaseSpec(int32_t transitions, const std::string& acquire_time) const {
  return Json{{"holderIdentity", options_.identity},
              {"leaseDurationSeconds",
               std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()},
              {"acquireTime", acquire_time},
              {"renewTime", MicroTime(WallMs())},
              {"leaseTransitions", transitions}};
}

bool LeaderElector::TryAcquireOrRenew(Clock::time_point deadline) {
  const auto& leases = quidditch::k8s::LeasesResource();
  Result<Json> lease = client_->Get(leases, options_.ns, options_.lease_name, deadline);
  if (lease.status().IsNotFound()) {
    Json object{{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", options_.lease_name}}},
                {"spec", LeaseSpec(0, MicroTime(WallMs()))}};
    return client_->Create(leases, options_.ns, object, deadline).ok();
  }
  if (!lease.ok()) {
    spdlog::warn("operator {}: cannot read the lease: {}", options_.identity,
                 lease.status().ToString());
    return false;
  }
  const Json spec = lease->value("spec", Json::object());
  const std::string holder = spec.value("holderIdentity", "");
  const std::string record = holder + "|" + spec.value("renewTime", "") + "|" +
                             std::to_string(spec.value("leaseTransitions", 0));
  const auto now = Clock::now();
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = now;
  }
  const int32_t transitions = spec.value("leaseTransitions", 0);
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && now - observed_at_ < options_.lease_duration) return false;
  Json updated = *lease;
  updated["spec"] = mine ? LeaseSpec(transitions, spec.value("acquireTime", MicroTime(WallMs())))
                         : LeaseSpec(transitions + 1, MicroTime(WallMs()));
  Result<Json> written = client_->Update(leases, options_.ns, updated, deadline);
  if (!written.ok()) {
    if (!written.status().IsConflict()) {
      spdlog::warn("operator {}: cannot write the lease: {}", options_.identity,
                   written.status().ToString());
    }
    return false;
  }
  if (!mine) {
    spdlog::info("operator {}: took over the lease from {}", options_.identity,
                 holder.empty() ? "nobody" : holder);
  }
  return true;
}

void LeaderElector::Run() {
  while (!stop_) {
    // A renewal counts from when it was attempted (the server stored it later, never earlier),
    // and a leader's attempt may not run past its renew deadline: so a leader that cannot renew
    // stops leading renew_deadline after its last renewal at most, well before a follower (which
    // waits lease_duration from when it saw that renewal) takes over.
    const auto attempt = Clock::now();
    auto deadline = attempt + options_.retry_period;
    if (leading_) deadline = std::min(deadline, LeadingUntil());
    if (TryAcquireOrRenew(deadline)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_renew_ = attempt;
      }
      SetLeading(true);
    } else if (leading_ && Clock::now() >= LeadingUntil()) {
      SetLeading(false);
    }
    // Followers look often so that they notice an expired lease soon after it expires.
    const auto wait = leading_ ? options_.retry_period
                               : std::min(options_.retry_period, std::chrono::milliseconds(500));
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [&] { return stop_.load(); });
  }
  if (!leading_) return;
  // Release: clear the holder so that a successor need not wait for the lease to expire.
  const auto& leases = quidditch::k8s::LeasesResource();
  Result<Json> lease = client_->Get(leases, options_.ns, options_.lease_name);
  if (lease.ok() &&
      lease->value("spec", Json::object()).value("holderIdentity", "") == options_.identity) {
    Json released = *lease;
    released["spec"]["holderIdentity"] = "";
    released["spec"]["leaseDurationSeconds"] = 1;
    Status s = client_->Update(leases, options_.ns, released).status();
    if (!s.ok())
      spdlog::warn("operator {}: cannot release the lease: {}", options_.identity, s.ToString());
  }
  SetLeading(false);
}

}  // namespace quidditch::op
