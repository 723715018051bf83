#include "controlplane/raft/raft_control_plane.h"

#include <fmt/format.h>
// libraft's headers have no C++ linkage guards.
extern "C" {
#include <raft.h>
#include <raft/uv.h>
}
#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "cluster/allocator.h"
#include "cluster/apply.h"
#include "cluster/codec.h"
#include "controlplane/raft/cluster_fsm.h"
#include "controlplane/rpc/master_client.h"

namespace quidditch::controlplane::raft {
namespace {

using Clock = std::chrono::steady_clock;
using cluster::Command;

// The host part of "host:port".
std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

// This member's advertised Raft address and its index in `peers` (or -1): the peer whose host
// is the node id or starts with "<nodeId>." (a StatefulSet pod's DNS name), or whose address is
// bindAddr:raftPort; without a match, bindAddr:raftPort itself.
std::pair<std::string, int> SelfAddress(const RaftConfig& c) {
  const std::string bound = fmt::format("{}:{}", c.bind_addr, c.raft_port);
  for (size_t i = 0; i < c.peers.size(); ++i) {
    const std::string host = HostOf(c.peers[i]);
    if (c.peers[i] == bound || host == c.node_id || host.rfind(c.node_id + ".", 0) == 0) {
      return {c.peers[i], static_cast<int>(i)};
    }
  }
  return {bound, -1};
}

// The gRPC address of the master whose Raft address is `raft_address`: masters[i] serves
// peers[i] (docs/configuration.md).
std::string GrpcAddressFor(const RaftConfig& c, const std::string& raft_address,
                           const std::string& self_raft, const std::string& self_grpc) {
  if (raft_address == self_raft) return self_grpc;
  for (size_t i = 0; i < c.peers.size() && i < c.masters.size(); ++i) {
    if (c.peers[i] == raft_address) return c.masters[i];
  }
  return "";
}

std::string RaftError(std::string_view what, int rv, const char* detail) {
  return fmt::format("{}: {}{}{}", what, raft_strerror(rv), detail && *detail ? ": " : "",
                     detail ? detail : "");
}

std::string_view StateName(int state) {
  switch (state) {
    case RAFT_LEADER:
      return "leader";
    case RAFT_FOLLOWER:
      return "follower";
    case RAFT_CANDIDATE:
      return "candidate";
    default:
      return "unavailable";
  }
}

// The snapshots named by a ".meta" file whose data file is missing, as a phrase for an error
// message ("" when there are none). A SIGKILL while a snapshot is written leaves such a file
// behind, and libraft rightly ignores it while the log still holds the entries; when the log
// does not (the data file was lost after the log was compacted), libraft's start fails with a
// message about the log alone, and this says why.
std::string MissingSnapshotData(const std::string& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("snapshot-", 0) != 0 || entry.path().extension() != ".meta") continue;
    const std::filesystem::path data = entry.path().parent_path() / entry.path().stem();
    if (!std::filesystem::exists(data)) {
      out += fmt::format("{}snapshot {} is named by {} but missing", out.empty() ? "" : "; ",
                         data.filename().string(), name);
    }
  }
  return out;
}

// True when the Raft directory holds a member's metadata (it has run before).
bool HasRaftState(const std::string& dir) {
  return std::filesystem::exists(dir + "/metadata1") || std::filesystem::exists(dir + "/metadata2");
}

}  // namespace

uint64_t RaftControlPlane::RaftIdFor(const std::string& node_id) {
  uint64_t id = raft_digest(node_id.c_str(), 0);
  return id == 0 ? 1 : id;
}

class RaftControlPlane::Impl {
 public:
  Impl(RaftControlPlane* owner, RaftOptions options)
      : owner_(owner),
        options_(std::move(options)),
        fsm_(&owner->store(), [this](const std::vector<Command>& commands, bool had_events) {
          NoteHeartbeats(commands);
          if (had_events) RequestAllocation();
        }) {
    std::tie(self_raft_address_, self_index_) = SelfAddress(options_.raft);
    const RaftConfig& c = options_.raft;
    self_grpc_address_ = self_index_ >= 0 && static_cast<size_t>(self_index_) < c.masters.size()
                             ? c.masters[self_index_]
                             : fmt::format("{}:{}", HostOf(self_raft_address_), c.grpc_port);
    std::vector<std::string> others;
    for (const std::string& m : c.masters) {
      if (m != self_grpc_address_) others.push_back(m);
    }
    if (!others.empty()) client_ = std::make_unique<rpc::MasterClient>(others);
  }

  ~Impl() { Stop(); }

  Status Start() {
    // libuv writes to peers' sockets with write(2): a peer that died would raise SIGPIPE and
    // kill this process. The error is handled as EPIPE instead.
    signal(SIGPIPE, SIG_IGN);
    const RaftConfig& c = options_.raft;
    std::error_code ec;
    std::filesystem::create_directories(c.data_dir, ec);
    if (ec) {
      return Status::IOError(
          fmt::format("cannot create Raft directory {}: {}", c.data_dir, ec.message()));
    }
    const bool fresh = !HasRaftState(c.data_dir);
    // Before libraft opens the directory: it removes the ".meta" files it finds orphaned.
    const std::string missing_snapshots = fresh ? "" : MissingSnapshotData(c.data_dir);
    id_ = RaftIdFor(c.node_id);
    spdlog::info("raft: member [{}] (id {}) at {}, data in {}{}", c.node_id, id_,
                 self_raft_address_, c.data_dir, fresh ? " (new)" : "");

    if (int rv = uv_loop_init(&loop_); rv != 0) {
      return Status::Internal(fmt::format("uv_loop_init: {}", uv_strerror(rv)));
    }
    loop_open_ = true;
    uv_async_init(&loop_, &wakeup_, [](uv_async_t* h) { static_cast<Impl*>(h->data)->Drain(); });
    wakeup_.data = this;
    uv_timer_init(&loop_, &status_timer_);
    status_timer_.data = this;

    if (int rv = raft_uv_tcp_init(&transport_, &loop_); rv != 0) {
      return Fail(Status::Internal(RaftError("raft transport", rv, nullptr)));
    }
    transport_open_ = true;
    const std::string bind = fmt::format("{}:{}", c.bind_addr, c.raft_port);
    if (int rv = raft_uv_tcp_set_bind_address(&transport_, bind.c_str()); rv != 0) {
      return Fail(Status::InvalidArgument(RaftError(
          fmt::format("controlPlane.raft.bindAddr {} (an IPv4 address is required)", bind), rv,
          nullptr)));
    }
    if (int rv = raft_uv_init(&io_, &loop_, c.data_dir.c_str(), &transport_); rv != 0) {
      return Fail(Status::IOError(RaftError("raft storage " + c.data_dir, rv, io_.errmsg)));
    }
    io_open_ = true;
    // Never "repair" a damaged log by dropping entries: a member must refuse to start instead.
    raft_uv_set_auto_recovery(&io_, false);

    if (int rv = raft_init(&raft_, &io_, fsm_.fsm(), id_, self_raft_address_.c_str()); rv != 0) {
      return Fail(Status::Internal(RaftError("raft_init", rv, raft_errmsg(&raft_))));
    }
    raft_.data = this;
    raft_open_ = true;
    raft_set_heartbeat_timeout(&raft_, static_cast<unsigned>(c.heartbeat_timeout.count()));
    raft_set_election_timeout(&raft_, static_cast<unsigned>(c.election_timeout.count()));
    raft_set_snapshot_threshold(&raft_, static_cast<unsigned>(c.snapshot_threshold));
    raft_set_snapshot_trailing(&raft_, static_cast<unsigned>(c.snapshot_threshold));
    raft_set_pre_vote(&raft_, true);
    // After a failed snapshot send (e.g. the member was not listening yet) libraft waits this
    // long before it tries again; its 30 s default would leave a restarted member behind for
    // half a minute.
    raft_set_install_snapshot_timeout(&raft_,
                                      static_cast<unsigned>(5 * c.election_timeout.count()));

    if (fresh && c.bootstrap_cluster) {
      raft_configuration conf;
      raft_configuration_init(&conf);
      raft_configuration_add(&conf, id_, self_raft_address_.c_str(), RAFT_VOTER);
      int rv = raft_bootstrap(&raft_, &conf);
      raft_configuration_close(&conf);
      if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
        return Fail(Status::IOError(RaftError("raft bootstrap", rv, raft_errmsg(&raft_))));
      }
      spdlog::info("raft: bootstrapped a new cluster with this member as its only voter");
    }
    if (int rv = raft_start(&raft_); rv != 0) {
      std::string what = "raft data in " + c.data_dir + " cannot be loaded; refusing to start";
      if (!missing_snapshots.empty()) what += " (" + missing_snapshots + ")";
      return Fail(rv == RAFT_IOERR ? Status::IOError(RaftError(what, rv, raft_errmsg(&raft_)))
                                   : Status::Corruption(RaftError(what, rv, raft_errmsg(&raft_))));
    }
    uv_timer_start(
        &status_timer_, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->OnStatusTimer(); }, 0,
        100);
    running_ = true;
    fsm_.set_running(true);
    loop_thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    leader_thread_ = std::thread([this] { LeaderDuties(); });
    if (fresh && !c.bootstrap_cluster) {
      join_thread_ = std::thread([this] { JoinCluster(); });
    }
    return Status::OK();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(duty_mu_);
      if (stopping_) return;
      stopping_ = true;
      duty_cv_.notify_all();
    }
    if (join_thread_.joinable()) join_thread_.join();
    if (leader_thread_.joinable()) leader_thread_.join();
    if (running_) {
      {
        std::lock_guard<std::mutex> lock(queue_mu_);
        queue_.push_back([this] { CloseOnLoop(); });
        accepting_ = false;
        uv_async_send(&wakeup_);
      }
      loop_thread_.join();
      running_ = false;
    }
    if (loop_open_) {
      uv_loop_close(&loop_);
      loop_open_ = false;
    }
    {
      std::lock_guard<std::mutex> lock(status_mu_);
      status_.state = "unavailable";
      status_.leader_id.clear();
      status_.leader_grpc_address.clear();
    }
    owner_->store().Close();
  }

  bool IsHealthy() const {
    std::lock_guard<std::mutex> lock(status_mu_);
    return IsHealthyLocked();
  }

  rpc::MasterStatus StatusSnapshot() const {
    std::lock_guard<std::mutex> lock(status_mu_);
    rpc::MasterStatus s = status_;
    s.healthy = IsHealthyLocked();
    return s;
  }

  // Proposes through the local Raft when this member leads, else forwards to the leader.
  Result<int64_t> Propose(const CallContext& ctx, const std::vector<Command>& commands) {
    if (commands.empty()) return Status::InvalidArgument("nothing to propose");
    std::string payload = EntryPayload(commands);
    while (true) {
      Result<int64_t> local = ProposeLocal(ctx, payload);
      if (local.ok() || !IsNotLeader(local.status())) return local;
      if (client_ == nullptr) {
        // A single-member cluster with no leader yet (still starting): wait for it.
        if (Clock::now() + std::chrono::milliseconds(20) >= ctx.deadline) {
          return Status::Unavailable("no Raft leader is elected yet");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      return client_->Propose(ctx, commands);
    }
  }

  Status SyncLocal(const CallContext& ctx) {
    auto promise = std::make_shared<std::promise<quidditch::Status>>();
    std::future<quidditch::Status> done = promise->get_future();
    bool queued = RunOnLoop([this, promise] {
      if (raft_state(&raft_) != RAFT_LEADER) {
        promise->set_value(Status::Unavailable(kNotLeader));
        return;
      }
      auto* req = new BarrierRequest{{}, promise};
      req->req.data = req;
      int rv = raft_barrier(&raft_, &req->req, [](struct raft_barrier* r, int status) {
        auto* self = static_cast<BarrierRequest*>(r->data);
        self->promise->set_value(status == 0
                                     ? Status::OK()
                                     : Status::Unavailable(RaftError("barrier", status, nullptr)));
        delete self;
      });
      if (rv != 0) {
        delete req;
        promise->set_value(Status::Unavailable(RaftError("barrier", rv, nullptr)));
      }
    });
    if (!queued) return Stopped();
    QD_RETURN_IF_ERROR(Wait(done, ctx));
    quidditch::Status local = done.get();
    if (local.ok() || !IsNotLeader(local) || client_ == nullptr) return local;
    // A follower: read the leader's committed version, then wait until it is applied here.
    QD_ASSIGN_OR_RETURN(int64_t committed, client_->GetCommittedVersion(ctx));
    return owner_->store().WaitForVersion(committed, ctx.deadline);
  }

  Status AddMaster(const CallContext& ctx, const std::string& node_id,
                   const std::string& raft_address, const std::string& grpc_address) {
    const uint64_t id = RaftIdFor(node_id);
    auto promise = std::make_shared<std::promise<quidditch::Status>>();
    std::future<quidditch::Status> done = promise->get_future();
    if (!RunOnLoop([this, promise, id, raft_address] { AddOnLoop(promise, id, raft_address); })) {
      return Stopped();
    }
    QD_RETURN_IF_ERROR(Wait(done, ctx));
    quidditch::Status local = done.get();
    if (IsNotLeader(local) && client_ != nullptr) {
      return client_->Join(ctx, node_id, raft_address, grpc_address);
    }
    if (local.ok()) spdlog::info("raft: [{}] at {} is now a voting member", node_id, raft_address);
    return local;
  }

 private:
  static constexpr uint64_t kMaxApplyLag = 16;
  static constexpr const char* kNotLeader = "this master is not the Raft leader";

  struct ApplyRequest {
    struct raft_apply req;
    std::shared_ptr<std::promise<Result<int64_t>>> promise;
  };
  struct BarrierRequest {
    struct raft_barrier req;
    std::shared_ptr<std::promise<quidditch::Status>> promise;
  };
  struct ChangeRequest {
    raft_change req;
    std::shared_ptr<std::promise<quidditch::Status>> promise;
    uint64_t id;
    Impl* impl;
  };

  static bool IsNotLeader(const quidditch::Status& s) {
    return s.IsUnavailable() && s.message() == kNotLeader;
  }

  // A follower is healthy while it knows a leader and has applied nearly all it knows to be
  // committed; one that lost its leader is not (unlike the design's sketch).
  bool IsHealthyLocked() const {
    if (status_.state == "leader") return true;
    return status_.state == "follower" && !status_.leader_id.empty() &&
           status_.commit_index <= status_.applied_index + kMaxApplyLag;
  }

  Status Fail(quidditch::Status status) {
    // Release what Start() opened, running the loop here until every handle is closed.
    if (raft_open_ || io_open_ || transport_open_ || loop_open_) {
      CloseOnLoop();
      uv_run(&loop_, UV_RUN_DEFAULT);
      uv_loop_close(&loop_);
      loop_open_ = false;
    }
    return status;
  }

  // --- the loop thread ------------------------------------------------------------------------

  // Queues `task` for the loop thread. Returns false (and drops it) once the loop is closing.
  [[nodiscard]] bool RunOnLoop(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!accepting_) return false;
    queue_.push_back(std::move(task));
    uv_async_send(&wakeup_);
    return true;
  }

  static quidditch::Status Stopped() { return Status::Unavailable("the control plane is stopped"); }

  void Drain() {
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      tasks.swap(queue_);
    }
    for (auto& task : tasks) task();
  }

  // Waits for an answer from the loop thread until the call's deadline.
  template <typename T>
  static quidditch::Status Wait(std::future<T>& future, const CallContext& ctx) {
    if (future.wait_until(ctx.deadline) != std::future_status::ready) {
      return Status::Timeout("the Raft control plane did not answer before the deadline");
    }
    return Status::OK();
  }

  Result<int64_t> ProposeLocal(const CallContext& ctx, const std::string& payload) {
    auto promise = std::make_shared<std::promise<Result<int64_t>>>();
    std::future<Result<int64_t>> done = promise->get_future();
    bool queued = RunOnLoop([this, promise, payload] {
      if (raft_state(&raft_) != RAFT_LEADER) {
        promise->set_value(Status::Unavailable(kNotLeader));
        return;
      }
      raft_buffer buf;
      buf.len = payload.size();
      buf.base = raft_malloc(buf.len);
      std::memcpy(buf.base, payload.data(), buf.len);
      auto* req = new ApplyRequest{{}, promise};
      req->req.data = req;
      int rv = raft_apply(
          &raft_, &req->req, &buf, 1, [](struct raft_apply* r, int status, void* result) {
            auto* self = static_cast<ApplyRequest*>(r->data);
            if (status != 0) {
              // Unavailable promises that nothing was applied (clients retry it elsewhere);
              // leadership lost after the entry was appended leaves the outcome unknown.
              self->promise->set_value(
                  status == RAFT_NOTLEADER
                      ? Status::Unavailable(kNotLeader)
                      : Status::Timeout(RaftError("the change may or may not have been applied",
                                                  status, nullptr)));
            } else {
              const auto* outcome = static_cast<const ApplyOutcome*>(result);
              if (outcome->status.ok()) {
                self->promise->set_value(outcome->version);
              } else {
                self->promise->set_value(outcome->status);
              }
            }
            delete self;
          });
      if (rv != 0) {
        raft_free(buf.base);
        delete req;
        promise->set_value(Status::Unavailable(
            rv == RAFT_NOTLEADER ? std::string(kNotLeader) : RaftError("raft apply", rv, nullptr)));
      }
    });
    if (!queued) return Stopped();
    QD_RETURN_IF_ERROR(Wait(done, ctx));
    return done.get();
  }

  void AddOnLoop(std::shared_ptr<std::promise<quidditch::Status>> promise, uint64_t id,
                 const std::string& address) {
    if (raft_state(&raft_) != RAFT_LEADER) {
      promise->set_value(Status::Unavailable(kNotLeader));
      return;
    }
    for (unsigned i = 0; i < raft_.configuration.n; ++i) {
      const raft_server& s = raft_.configuration.servers[i];
      if (s.id != id) continue;
      if (address != s.address) {
        promise->set_value(Status::Conflict(fmt::format(
            "member id {} is already in the cluster at {}, not {}", id, s.address, address)));
        return;
      }
      if (s.role == RAFT_VOTER) {
        promise->set_value(Status::OK());
        return;
      }
      return AssignVoter(promise, id);
    }
    // A new member joins as a spare, then becomes a voter once it has caught up.
    auto* req = new ChangeRequest{{}, promise, id, this};
    req->req.data = req;
    int rv = raft_add(&raft_, &req->req, id, address.c_str(), [](raft_change* r, int status) {
      auto* self = static_cast<ChangeRequest*>(r->data);
      if (status != 0) {
        self->promise->set_value(Status::Unavailable(RaftError("raft add", status, nullptr)));
      } else {
        self->impl->AssignVoter(self->promise, self->id);
      }
      delete self;
    });
    if (rv != 0) {
      delete req;
      promise->set_value(Status::Unavailable(RaftError("raft add", rv, raft_errmsg(&raft_))));
    }
  }

  void AssignVoter(std::shared_ptr<std::promise<quidditch::Status>> promise, uint64_t id) {
    auto* req = new ChangeRequest{{}, promise, id, this};
    req->req.data = req;
    int rv = raft_assign(&raft_, &req->req, id, RAFT_VOTER, [](raft_change* r, int status) {
      auto* self = static_cast<ChangeRequest*>(r->data);
      self->promise->set_value(
          status == 0 ? Status::OK()
                      : Status::Unavailable(RaftError("raft assign", status, nullptr)));
      delete self;
    });
    if (rv != 0) {
      delete req;
      promise->set_value(Status::Unavailable(RaftError("raft assign", rv, raft_errmsg(&raft_))));
    }
  }

  // libraft 0.15 snapshots by entry count only (snapshotThreshold). To honor
  // snapshotInterval too, once the interval has passed with entries applied since the last
  // snapshot, the threshold drops to 1 so that the next applied entry takes one; it is put
  // back as soon as the snapshot exists.
  void PaceSnapshots() {
    const auto now = Clock::now();
    const raft_index snapshot = raft_.log.snapshot.last_index;
    if (snapshot != last_snapshot_index_) {
      last_snapshot_index_ = snapshot;
      last_snapshot_time_ = now;
      if (forcing_snapshot_) {
        raft_set_snapshot_threshold(&raft_,
                                    static_cast<unsigned>(options_.raft.snapshot_threshold));
        forcing_snapshot_ = false;
      }
      return;
    }
    if (!forcing_snapshot_ && raft_last_applied(&raft_) > snapshot &&
        now - last_snapshot_time_ >= options_.raft.snapshot_interval) {
      raft_set_snapshot_threshold(&raft_, 1);
      forcing_snapshot_ = true;
    }
  }

  void OnStatusTimer() {
    PaceSnapshots();
    rpc::MasterStatus s;
    s.node_id = options_.raft.node_id;
    s.state = std::string(StateName(raft_state(&raft_)));
    raft_id leader_id = 0;
    const char* leader_address = nullptr;
    raft_leader(&raft_, &leader_id, &leader_address);
    if (leader_id != 0 && leader_address != nullptr) {
      // Other masters' node ids are not known here, only their Raft addresses.
      s.leader_id = leader_id == id_ ? options_.raft.node_id : leader_address;
      s.leader_grpc_address =
          GrpcAddressFor(options_.raft, leader_address, self_raft_address_, self_grpc_address_);
    }
    s.term = raft_.current_term;
    s.commit_index = raft_.commit_index;
    s.applied_index = raft_last_applied(&raft_);
    s.state_version = owner_->store().Current()->version;
    for (unsigned i = 0; i < raft_.configuration.n; ++i) {
      const raft_server& server = raft_.configuration.servers[i];
      if (server.role == RAFT_VOTER) s.voters.push_back(server.address);
    }
    const bool was_leader = is_leader_.load();
    const bool leader = s.state == "leader";
    if (leader != was_leader) {
      is_leader_ = leader;
      spdlog::info("raft: this member is {} (term {})",
                   leader ? "now the leader" : "no longer the leader", s.term);
      if (leader) OnBecameLeader();
    }
    if (s.state != last_logged_state_) {
      if (s.state == "candidate" || s.state == "unavailable") {
        spdlog::warn("raft: no leader reachable (state {}); retrying", s.state);
      }
      last_logged_state_ = s.state;
    }
    std::lock_guard<std::mutex> lock(status_mu_);
    status_ = std::move(s);
  }

  void CloseOnLoop() {
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&status_timer_))) uv_timer_stop(&status_timer_);
    auto close_handles = [this] {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&status_timer_))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&status_timer_), nullptr);
      }
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&wakeup_))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
      }
    };
    if (raft_open_) {
      raft_open_ = false;
      close_handles_ = close_handles;
      raft_close(&raft_, [](struct raft* r) {
        Impl* self = static_cast<Impl*>(r->data);
        self->CloseIo();
        self->close_handles_();
      });
      return;
    }
    CloseIo();
    close_handles();
  }

  void CloseIo() {
    if (io_open_) {
      raft_uv_close(&io_);
      io_open_ = false;
    }
    if (transport_open_) {
      raft_uv_tcp_close(&transport_);
      transport_open_ = false;
    }
  }

  // --- leader duties (their own thread: they propose and wait) ------------------------------

  void NoteHeartbeats(const std::vector<Command>& commands) {
    std::lock_guard<std::mutex> lock(duty_mu_);
    const auto now = Clock::now();
    for (const Command& c : commands) {
      if (const auto* reg = std::get_if<cluster::RegisterNodeCmd>(&c.op)) {
        last_heartbeat_[reg->node.node_id] = now;
      } else if (const auto* upd = std::get_if<cluster::UpdateNodeStatusCmd>(&c.op)) {
        if (upd->status.state != cluster::NodeState::kDown) last_heartbeat_[upd->node_id] = now;
      }
    }
  }

  void OnBecameLeader() {
    // Commit an entry of the new term, so that every entry of earlier terms is committed and
    // applied here now rather than at the next proposal.
    auto* barrier = new struct raft_barrier;
    if (raft_barrier(&raft_, barrier, [](struct raft_barrier* b, int) { delete b; }) != 0)
      delete barrier;
    // A new leader has not seen anyone's heartbeats: give every node a full timeout.
    std::lock_guard<std::mutex> lock(duty_mu_);
    const auto now = Clock::now();
    // Held for the loop: a range-for does not keep a temporary StatePtr alive (before C++23).
    const cluster::StatePtr state = owner_->store().Current();
    for (const auto& [id, node] : state->nodes) last_heartbeat_[id] = now;
    allocation_requested_ = true;
    duty_cv_.notify_all();
  }

  void RequestAllocation() {
    std::lock_guard<std::mutex> lock(duty_mu_);
    allocation_requested_ = true;
    duty_cv_.notify_all();
  }

  void LeaderDuties() {
    std::unique_lock<std::mutex> lock(duty_mu_);
    auto next_liveness_check = Clock::now() + options_.liveness_check_interval;
    while (!stopping_) {
      duty_cv_.wait_until(lock, next_liveness_check,
                          [&] { return stopping_ || allocation_requested_; });
      if (stopping_) return;
      if (!is_leader_) {
        allocation_requested_ = false;
        next_liveness_check = Clock::now() + options_.liveness_check_interval;
        continue;
      }
      std::vector<std::string> dead;
      if (Clock::now() >= next_liveness_check) {
        next_liveness_check = Clock::now() + options_.liveness_check_interval;
        // Held for the loop: a range-for does not keep a temporary StatePtr alive (before
        // C++23), and the Raft thread publishes new states meanwhile.
        const cluster::StatePtr state = owner_->store().Current();
        for (const auto& [id, node] : state->nodes) {
          if (node.state != cluster::NodeState::kActive) continue;
          auto seen = last_heartbeat_.find(id);
          if (seen == last_heartbeat_.end()) {
            last_heartbeat_[id] = Clock::now();
          } else if (Clock::now() - seen->second > options_.node_heartbeat_timeout) {
            dead.push_back(id);
          }
        }
      }
      const bool allocate = allocation_requested_ && options_.run_allocator;
      allocation_requested_ = false;
      lock.unlock();
      // A cluster gets its uuid from its first leader (as OpenSearch's first elected
      // cluster-manager chooses it); one that a leader of an earlier term set but that is not
      // applied here yet makes this proposal a Conflict, and the next round sees it.
      if (owner_->store().Current()->cluster_uuid.empty()) {
        const std::string uuid = NewUuid();
        if (ProposeDuty({Command{owner_->NowMs(), cluster::SetClusterUuidCmd{uuid}}})) {
          spdlog::info("raft: the cluster has formed with uuid {}", uuid);
        }
      }
      for (const std::string& id : dead) {
        spdlog::warn("node [{}] sent no heartbeat for {} ms: marking it DOWN", id,
                     options_.node_heartbeat_timeout.count());
        ProposeDuty({Command{owner_->NowMs(),
                             cluster::UpdateNodeStatusCmd{id, {cluster::NodeState::kDown, {}}}}});
      }
      if (allocate) {
        std::vector<Command> commands =
            cluster::ComputeAllocation(*owner_->store().Current(), owner_->NowMs());
        if (!commands.empty()) ProposeDuty(commands);
      }
      lock.lock();
    }
  }

  // Whether the commands were applied.
  bool ProposeDuty(const std::vector<Command>& commands) {
    CallContext ctx = CallContext::WithTimeout(std::chrono::seconds(5));
    Result<int64_t> r = ProposeLocal(ctx, EntryPayload(commands));
    if (r.ok()) return true;
    // The state moved on between computing and applying (Conflict), or leadership changed:
    // the next trigger recomputes from the new state.
    spdlog::debug("raft: leader duty not applied: {}", r.status().ToString());
    if (r.status().IsConflict()) RequestAllocation();
    return false;
  }

  void JoinCluster() {
    auto backoff = std::chrono::milliseconds(200);
    while (true) {
      {
        std::unique_lock<std::mutex> lock(duty_mu_);
        if (duty_cv_.wait_for(lock, backoff, [&] { return stopping_; })) return;
      }
      if (client_ == nullptr) {
        spdlog::error(
            "raft: this member is new and does not bootstrap, but no other master is "
            "configured (controlPlane.raft.masters/peers): it cannot join a cluster");
        return;
      }
      CallContext ctx = CallContext::WithTimeout(std::chrono::seconds(10));
      quidditch::Status s =
          client_->Join(ctx, options_.raft.node_id, self_raft_address_, self_grpc_address_);
      if (s.ok()) {
        spdlog::info("raft: joined the cluster as a voting member");
        return;
      }
      spdlog::info("raft: cannot join the cluster yet ({}); retrying", s.ToString());
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }

  RaftControlPlane* owner_;
  const RaftOptions options_;
  std::string self_raft_address_;
  std::string self_grpc_address_;
  int self_index_ = -1;
  uint64_t id_ = 0;
  std::unique_ptr<rpc::MasterClient> client_;  // the other masters; null when there are none

  // Owned by the loop thread once running.
  uv_loop_t loop_;
  uv_async_t wakeup_;
  uv_timer_t status_timer_;
  raft_uv_transport transport_;
  raft_io io_;
  ClusterFsm fsm_;
  struct raft raft_;
  std::string last_logged_state_;
  raft_index last_snapshot_index_ = 0;
  Clock::time_point last_snapshot_time_ = Clock::now();
  bool forcing_snapshot_ = false;
  std::function<void()> close_handles_;
  bool loop_open_ = false, transport_open_ = false, io_open_ = false, raft_open_ = false;
  bool running_ = false;

  std::mutex queue_mu_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(queue_mu_)
  bool accepting_ = true;                    // GUARDED_BY(queue_mu_): false once closing

  mutable std::mutex status_mu_;
  rpc::MasterStatus status_;  // GUARDED_BY(status_mu_)
  std::atomic<bool> is_leader_{false};

  std::mutex duty_mu_;
  std::condition_variable duty_cv_;
  bool stopping_ = false;                                    // GUARDED_BY(duty_mu_)
  bool allocation_requested_ = false;                        // GUARDED_BY(duty_mu_)
  std::map<std::string, Clock::time_point> last_heartbeat_;  // GUARDED_BY(duty_mu_)

  std::thread loop_thread_;
  std::thread leader_thread_;
  std::thread join_thread_;
};

RaftControlPlane::RaftControlPlane(RaftOptions options)
    : impl_(std::make_unique<Impl>(this, std::move(options))) {}

RaftControlPlane::~RaftControlPlane() { impl_->Stop(); }

Status RaftControlPlane::Start() { return impl_->Start(); }
Status RaftControlPlane::Stop() {
  impl_->Stop();
  return Status::OK();
}
bool RaftControlPlane::IsHealthy() const { return impl_->IsHealthy(); }

Result<int64_t> RaftControlPlane::ProposeCommands(const CallContext& ctx,
                                                  const std::vector<cluster::Command>& commands) {
  return impl_->Propose(ctx, commands);
}
Result<int64_t> RaftControlPlane::Propose(const CallContext& ctx,
                                          const std::vector<cluster::Command>& commands) {
  return impl_->Propose(ctx, commands);
}
Status RaftControlPlane::SyncLocal(const CallContext& ctx) { return impl_->SyncLocal(ctx); }
Status RaftControlPlane::SyncForRead(const CallContext& ctx) { return impl_->SyncLocal(ctx); }
rpc::MasterStatus RaftControlPlane::GetMasterStatus() { return impl_->StatusSnapshot(); }
Status RaftControlPlane::AddMaster(const CallContext& ctx, const std::string& node_id,
                                   const std::string& raft_address,
                                   const std::string& grpc_address) {
  return impl_->AddMaster(ctx, node_id, raft_address, grpc_address);
}

}  // namespace quidditch::controlplane::raft
