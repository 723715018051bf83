#include "controlplane/remote/remote_control_plane.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/apply.h"

namespace quidditch::controlplane::remote {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kInitialBackoff{50};
constexpr milliseconds kMaxBackoff{1000};
// How long opening a change stream may look for a reachable master.
constexpr milliseconds kOpenStreamTimeout{2000};
// How long reloading the whole state after a failed change may take.
constexpr milliseconds kResyncTimeout{5000};
// A stream that lasted this long, with a master that answered, counts as having worked.
constexpr milliseconds kWorkedFor{2000};

}  // namespace

RemoteControlPlane::RemoteControlPlane(RemoteOptions options)
    : StateBackedControlPlane(options.clock),
      options_(std::move(options)),
      client_(rpc::MasterClientOptions{options_.masters}) {}

RemoteControlPlane::~RemoteControlPlane() { Stop().PermitUncheckedError(); }

Status RemoteControlPlane::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::InvalidArgument("the control plane is already started");
    started_ = true;
  }
  if (options_.masters.empty()) {
    return Status::InvalidArgument(
        "no master addresses (controlPlane.raft.masters) for a node without the master role");
  }
  const std::string masters = fmt::format("{}", fmt::join(options_.masters, ", "));
  CallContext ctx = CallContext::WithTimeout(options_.start_timeout);
  ctx.linearizable = true;
  Result<cluster::StatePtr> state = client_.GetState(ctx, /*linearizable=*/true);
  if (!state.ok()) {
    return Status::Unavailable(
        fmt::format("cannot load the cluster state from the masters ({}) within {} ms: {}", masters,
                    options_.start_timeout.count(), state.status().ToString()));
  }
  store().Reset(*state);
  spdlog::info("control plane: loaded cluster state version {} from the masters ({})",
               (*state)->version, masters);
  thread_ = std::thread(&RemoteControlPlane::SyncLoop, this);

  std::unique_lock<std::mutex> lock(mu_);
  const bool streaming =
      probed_cv_.wait_until(lock, ctx.deadline, [this] { return probed_ || stopping_; });
  lock.unlock();
  if (!streaming) {
    Stop().PermitUncheckedError();  // Stop() cannot fail; the error below says why.
    return Status::Unavailable(
        fmt::format("cannot open a change stream from any master ({}) within {} ms", masters,
                    options_.start_timeout.count()));
  }
  return Status::OK();
}

Status RemoteControlPlane::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::OK();
    stopped_ = true;
    stopping_ = true;
    if (stream_ != nullptr) stream_->Cancel();
  }
  stop_cv_.notify_all();
  probed_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  store().Close();
  return Status::OK();
}

bool RemoteControlPlane::IsHealthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || stopping_ || !stream_open_) return false;
  if (steady_clock::now() - last_probe_ok_ > options_.healthy_within) return false;
  return master_has_leader_ && !lagging_;
}

Result<int64_t> RemoteControlPlane::Propose(const CallContext& ctx,
                                            const std::vector<cluster::Command>& commands) {
  {
    // A write accepted now could never become visible here.
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return Status::Unavailable("the control plane is not running");
  }
  return client_.Propose(ctx, commands);
}

Status RemoteControlPlane::SyncForRead(const CallContext& ctx) {
  // The leader's committed version; the stream brings the local copy there.
  QD_ASSIGN_OR_RETURN(int64_t version, client_.GetCommittedVersion(ctx));
  return store().WaitForVersion(version, ctx.deadline);
}

bool RemoteControlPlane::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool RemoteControlPlane::SleepUnlessStopping(milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !stop_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void RemoteControlPlane::SyncLoop() {
  milliseconds backoff = kInitialBackoff;
  // Failures are logged once until the stream works again.
  bool down_logged = false;
  while (!Stopping()) {
    const int64_t from = store().Current()->version;
    Result<std::unique_ptr<rpc::ChangeStream>> opened =
        client_.StreamChanges(CallContext::WithTimeout(kOpenStreamTimeout), from);
    if (opened.ok()) {
      std::unique_ptr<rpc::ChangeStream> stream = std::move(opened).value();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) break;
        stream_ = stream.get();
        stream_open_ = true;
        master_has_leader_ = false;
        master_version_ = 0;
        lagging_ = false;
      }
      const steady_clock::time_point opened_at = steady_clock::now();
      bool answered = false;
      Status ended = Follow(*stream, &answered);
      {
        std::lock_guard<std::mutex> lock(mu_);
        stream_ = nullptr;
        stream_open_ = false;
      }
      if (Stopping()) break;
      // A stream that worked for a while starts a new outage; one that ends at once (a master
      // that answers but cannot stream) must not make this loop spin or flood the log.
      const bool worked = answered && steady_clock::now() - opened_at >= kWorkedFor;
      if (worked) backoff = kInitialBackoff;
      if (!down_logged || worked) {
        spdlog::warn(
            "control plane: change stream from master {} ended at version {}: {}; reconnecting",
            stream->address(), store().Current()->version, ended.ToString());
        down_logged = true;
      } else {
        spdlog::debug("control plane: change stream from master {} ended: {}", stream->address(),
                      ended.ToString());
      }
    } else if (!down_logged) {
      spdlog::warn("control plane: no master reachable, retrying: {}", opened.status().ToString());
      down_logged = true;
    } else {
      spdlog::debug("control plane: no master reachable: {}", opened.status().ToString());
    }
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Status RemoteControlPlane::Follow(rpc::ChangeStream& stream, bool* answered) {
  steady_clock::time_point last_answer = steady_clock::now();
  steady_clock::time_point next_probe = steady_clock::now();
  while (!Stopping()) {
    if (steady_clock::now() >= next_probe) {
      if (Probe(stream.address())) {
        if (!*answered) {
          spdlog::info("control plane: following master {} from version {}", stream.address(),
                       store().Current()->version);
        }
        *answered = true;
        last_answer = steady_clock::now();
      } else if (steady_clock::now() - last_answer > options_.healthy_within) {
        // A stopped or cut-off process can keep its connection open for a long time; do not
        // wait for TCP keepalive to notice.
        return Status::Unavailable(fmt::format("master {} stopped answering", stream.address()));
      }
      next_probe = steady_clock::now() + options_.probe_interval;
      {
        std::lock_guard<std::mutex> lock(mu_);
        probed_ = true;
      }
      probed_cv_.notify_all();
    }
    Result<Change> change = stream.Next(next_probe);
    if (change.status().IsTimeout()) continue;
    if (!change.ok()) return change.status();
    Status applied = ApplyChange(std::move(change).value());
    if (!applied.ok()) {
      spdlog::error("control plane: {}; reloading the whole state", applied.ToString());
      Resync();
      return applied;
    }
  }
  return Status::OK();
}

Status RemoteControlPlane::ApplyChange(Change change) {
  cluster::StatePtr current = store().Current();
  if (change.state != nullptr) {
    if (change.state->version < current->version) {
      return Status::Conflict(
          fmt::format("master sent the whole state at version {}, older than the local version {}",
                      change.state->version, current->version));
    }
    spdlog::info("control plane: master sent the whole state at version {} (local was {})",
                 change.state->version, current->version);
    store().Reset(std::move(change.state));
    return Status::OK();
  }
  if (change.version != current->version + 1) {
    return Status::Corruption(
        fmt::format("change to version {} does not follow the local version {}", change.version,
                    current->version));
  }
  Result<cluster::ApplyResult> result = cluster::ApplyBatch(current, change.commands);
  if (!result.ok()) {
    return Status::Corruption(
        fmt::format("change to version {} does not apply to the local version {}: {}",
                    change.version, current->version, result.status().ToString()));
  }
  if (result->state->version != change.version) {
    return Status::Corruption(fmt::format("change to version {} produced version {} locally",
                                          change.version, result->state->version));
  }
  store().Publish(result->state, std::move(change.commands), std::move(result->events));
  return Status::OK();
}

void RemoteControlPlane::Resync() {
  Result<cluster::StatePtr> state =
      client_.GetState(CallContext::WithTimeout(kResyncTimeout), /*linearizable=*/false);
  if (!state.ok()) {
    spdlog::warn("control plane: cannot reload the whole state: {}", state.status().ToString());
    return;
  }
  const int64_t local = store().Current()->version;
  if ((*state)->version < local) {
    spdlog::warn("control plane: not reloading state version {}, older than the local {}",
                 (*state)->version, local);
    return;
  }
  store().Reset(*state);
}

bool RemoteControlPlane::Probe(const std::string& address) {
  Result<rpc::MasterStatus> status =
      client_.GetMasterStatus(CallContext::WithTimeout(options_.probe_interval), address);
  const int64_t local = store().Current()->version;
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    spdlog::debug("control plane: probe of master {} failed: {}", address,
                  status.status().ToString());
    return false;
  }
  // Behind if the version the master had one probe ago has not arrived yet.
  lagging_ = local < master_version_;
  master_version_ = status->state_version;
  master_has_leader_ = status->healthy && (status->state == "leader" || !status->leader_id.empty());
  last_probe_ok_ = steady_clock::now();
  return true;
}

}  // namespace quidditch::controlplane::remote
