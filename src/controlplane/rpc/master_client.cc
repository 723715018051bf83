#include "controlplane/rpc/master_client.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "cluster/codec.h"
#include "controlplane/rpc/status_codes.h"

namespace quidditch::controlplane::rpc {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

// gRPC takes deadlines on the system clock; ours are on the steady clock.
system_clock::time_point ToSystem(steady_clock::time_point deadline) {
  auto remaining = deadline - steady_clock::now();
  remaining = std::clamp<steady_clock::duration>(remaining, steady_clock::duration::zero(),
                                                 std::chrono::hours(24 * 365));
  return system_clock::now() + std::chrono::duration_cast<system_clock::duration>(remaining);
}

steady_clock::time_point Earlier(steady_clock::time_point a, steady_clock::duration b) {
  return std::min(a, steady_clock::now() + b);
}

Result<cluster::StatePtr> DecodeStateJson(std::string_view text) {
  QD_ASSIGN_OR_RETURN(cluster::Json json, cluster::ParseJson(text));
  QD_ASSIGN_OR_RETURN(cluster::ClusterState state, cluster::DecodeState(json));
  return cluster::StatePtr(std::make_shared<const cluster::ClusterState>(std::move(state)));
}

}  // namespace

struct MasterClient::Peer {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<api::ControlPlaneService::Stub> stub;
};

namespace {

// A StreamChanges call on gRPC's asynchronous API: one operation in flight at a time, so that
// Next() can wait on the completion queue with a deadline.
class GrpcChangeStream final : public ChangeStream {
 public:
  GrpcChangeStream(std::shared_ptr<grpc::Channel> channel,
                   std::unique_ptr<api::ControlPlaneService::Stub> stub, std::string address,
                   int64_t from_version)
      : channel_(std::move(channel)), stub_(std::move(stub)), address_(std::move(address)) {
    api::StreamChangesRequest request;
    request.set_from_version(from_version);
    reader_ = stub_->PrepareAsyncStreamChanges(&context_, request, &cq_);
    reader_->StartCall(TagOf(Op::kStart));
    pending_ = Op::kStart;
  }

  ~GrpcChangeStream() override {
    context_.TryCancel();
    // Every operation must complete, and the call must be finished, before the completion
    // queue is drained and destroyed.
    while (true) {
      if (pending_ == Op::kNone) {
        if (finish_started_) break;
        StartFinish();
      }
      void* tag = nullptr;
      bool ok = false;
      if (!cq_.Next(&tag, &ok)) break;
      pending_ = Op::kNone;
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  Result<Change> Next(steady_clock::time_point deadline) override {
    if (ended_) return *ended_;
    while (true) {
      if (pending_ == Op::kNone) {
        reader_->Read(&message_, TagOf(Op::kRead));
        pending_ = Op::kRead;
      }
      void* tag = nullptr;
      bool ok = false;
      switch (cq_.AsyncNext(&tag, &ok, ToSystem(deadline))) {
        case grpc::CompletionQueue::TIMEOUT:
          if (cancelled_) return End(Status::Unavailable("change stream cancelled"));
          return Status::Timeout(
              fmt::format("no change from master {} before the deadline", address_));
        case grpc::CompletionQueue::SHUTDOWN:
          return End(Status::Internal("change stream: completion queue shut down"));
        case grpc::CompletionQueue::GOT_EVENT:
          break;
      }
      const Op done = pending_;
      pending_ = Op::kNone;
      switch (done) {
        case Op::kStart:
          if (!ok) StartFinish();
          break;  // else: the next turn starts the first read
        case Op::kRead:
          if (ok) return Decode();
          StartFinish();
          break;
        case Op::kFinish:
          if (cancelled_) return End(Status::Unavailable("change stream cancelled"));
          if (status_.ok()) {
            return End(
                Status::Unavailable(fmt::format("master {} ended the change stream", address_)));
          }
          return End(FromGrpcStatus(status_, address_));
        case Op::kNone:
          return End(Status::Internal("change stream: completion without an operation"));
      }
    }
  }

  void Cancel() override {
    cancelled_ = true;
    context_.TryCancel();
  }

  const std::string& address() const override { return address_; }

 private:
  enum class Op : intptr_t { kNone = 0, kStart = 1, kRead = 2, kFinish = 3 };
  static void* TagOf(Op op) { return reinterpret_cast<void*>(static_cast<intptr_t>(op)); }

  void StartFinish() {
    if (finish_started_) return;
    finish_started_ = true;
    reader_->Finish(&status_, TagOf(Op::kFinish));
    pending_ = Op::kFinish;
  }

  Status End(Status status) {
    ended_ = status;
    return status;
  }

  Result<Change> Decode() {
    Change change;
    change.version = message_.version();
    if (!message_.state_json().empty()) {
      Result<cluster::StatePtr> state = DecodeStateJson(message_.state_json());
      if (!state.ok()) return Fail(state.status());
      if ((*state)->version != change.version) {
        return Fail(Status::Corruption(fmt::format("resync to version {} carries state version {}",
                                                   change.version, (*state)->version)));
      }
      change.state = std::move(state).value();
      return change;
    }
    Result<cluster::Json> json = cluster::ParseJson(message_.commands_json());
    if (!json.ok()) return Fail(json.status());
    Result<std::vector<cluster::Command>> commands = cluster::DecodeCommands(*json);
    if (!commands.ok()) return Fail(commands.status());
    if (commands->empty()) {
      return Fail(Status::Corruption(
          fmt::format("change to version {} has neither commands nor a state", change.version)));
    }
    change.commands = std::move(commands).value();
    return change;
  }

  // Ends the stream because of an undecodable change.
  Status Fail(const Status& status) {
    context_.TryCancel();
    return End(status.WithPrefix(fmt::format("change stream from master {}", address_)));
  }

  // Declared first: destroyed after the call that refers to it.
  grpc::CompletionQueue cq_;
  grpc::ClientContext context_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::ControlPlaneService::Stub> stub_;
  const std::string address_;
  std::unique_ptr<grpc::ClientAsyncReader<api::Change>> reader_;
  api::Change message_;
  grpc::Status status_;
  Op pending_ = Op::kNone;
  bool finish_started_ = false;
  std::optional<Status> ended_;  // set once the stream has ended: what Next() returns
  std::atomic<bool> cancelled_{false};
};

}  // namespace

MasterClient::MasterClient(std::vector<std::string> masters)
    : MasterClient(MasterClientOptions{std::move(masters)}) {}

MasterClient::MasterClient(MasterClientOptions options) : options_(std::move(options)) {}

MasterClient::~MasterClient() = default;

std::shared_ptr<MasterClient::Peer> MasterClient::PeerFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Peer>& peer = peers_[address];
  if (peer == nullptr) {
    grpc::ChannelArguments args;
    // Find a restarted master quickly. After a failed connection attempt the channel stays in
    // TRANSIENT_FAILURE (which Connect() treats as "down") for the backoff, up to 2 minutes by
    // default; our own loops pace the attempts, so keep it short. The minimum is really the
    // timeout of one connection attempt.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    // A whole cluster state can be large.
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(64 << 20);
    // Notice a dead master under an idle change stream (the server accepts a ping every 5 s).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    peer = std::make_shared<Peer>();
    peer->address = address;
    // Insecure on purpose: see the header (internal network only, for now).
    peer->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    peer->stub = api::ControlPlaneService::NewStub(peer->channel);
  }
  return peer;
}

Result<std::shared_ptr<MasterClient::Peer>> MasterClient::ConnectedPeer(
    const std::string& address, steady_clock::time_point deadline) {
  std::shared_ptr<Peer> peer = PeerFor(address);
  if (!Connect(*peer, deadline)) {
    return Status::Unavailable(fmt::format("master {}: cannot connect", address));
  }
  return peer;
}

bool MasterClient::Connect(Peer& peer, steady_clock::time_point deadline) {
  grpc_connectivity_state state = peer.channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!peer.channel->WaitForStateChange(state, ToSystem(deadline))) return false;
    state = peer.channel->GetState(/*try_to_connect=*/true);
  }
  return true;
}

std::string MasterClient::LeaderHint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_hint_;
}

void MasterClient::SetLeaderHint(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_hint_ = address;
}

void MasterClient::ForgetLeaderHint(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_hint_ == address) leader_hint_.clear();
}

std::vector<std::string> MasterClient::DiscoverLeader(steady_clock::time_point deadline,
                                                      Status* why) {
  std::vector<std::string> forwarders;
  *why = Status::Unavailable("no master knows a leader");
  for (const std::string& address : options_.masters) {
    if (steady_clock::now() >= deadline) break;
    CallContext ctx;
    ctx.deadline = Earlier(deadline, options_.connect_timeout);
    Result<MasterStatus> status = GetMasterStatus(ctx, address);
    if (!status.ok()) {
      spdlog::debug("leader discovery: {}", status.status().ToString());
      *why = status.status();
      continue;
    }
    if (status->state == "leader") return {address};
    if (!status->leader_grpc_address.empty()) {
      std::vector<std::string> candidates{status->leader_grpc_address};
      if (status->leader_grpc_address != address) candidates.push_back(address);
      return candidates;
    }
    // Knows a leader but not its address: it can forward.
    if (!status->leader_id.empty()) forwarders.push_back(address);
  }
  return forwarders;
}

Status MasterClient::Run(const CallContext& ctx, Route route, std::string_view what,
                         const std::function<Attempt(const std::string& address)>& attempt) {
  if (options_.masters.empty()) {
    return Status::Unavailable(fmt::format("{}: no master addresses configured", what));
  }
  milliseconds backoff = options_.initial_backoff;
  Status last = Status::Unavailable("no attempt was made before the deadline");
  while (true) {
    std::vector<std::string> order;
    const std::string hint = LeaderHint();
    if (!hint.empty()) order.push_back(hint);
    if (route == Route::kLeader) {
      if (hint.empty()) {
        Status why;
        order = DiscoverLeader(ctx.deadline, &why);
        if (order.empty()) last = std::move(why);
      }
    } else {
      for (const std::string& address : options_.masters) {
        if (address != hint) order.push_back(address);
      }
    }
    for (const std::string& address : order) {
      if (steady_clock::now() >= ctx.deadline) break;
      Attempt result = attempt(address);
      if (result.status.ok()) {
        if (route == Route::kLeader) SetLeaderHint(address);
        return Status::OK();
      }
      if (!result.retry) return result.status;
      spdlog::debug("{} on master {} failed, trying elsewhere: {}", what, address,
                    result.status.ToString());
      ForgetLeaderHint(address);
      last = std::move(result.status);
    }
    const auto remaining = ctx.deadline - steady_clock::now();
    if (remaining <= steady_clock::duration::zero()) {
      return Status::Unavailable(
          fmt::format("{}: no master could serve it before the deadline (masters: {}); last "
                      "error: {}",
                      what, fmt::join(options_.masters, ", "), last.ToString()));
    }
    // One more round right at the deadline rather than giving up early.
    std::this_thread::sleep_for(std::min<steady_clock::duration>(backoff, remaining));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Result<int64_t> MasterClient::Propose(const CallContext& ctx,
                                      const std::vector<cluster::Command>& commands) {
  QD_ASSIGN_OR_RETURN(std::string text, DumpJson(cluster::EncodeCommands(commands)));
  int64_t version = 0;
  auto attempt = [&](const std::string& address) -> Attempt {
    Result<std::shared_ptr<Peer>> connected =
        ConnectedPeer(address, Earlier(ctx.deadline, options_.connect_timeout));
    if (!connected.ok()) return {connected.status(), true};  // nothing sent: try another master
    const std::shared_ptr<Peer>& peer = *connected;
    grpc::ClientContext context;
    context.set_deadline(ToSystem(ctx.deadline));
    api::ProposeRequest request;
    request.set_commands_json(text);
    request.set_timeout_ms(std::max<int64_t>(
        1, std::chrono::duration_cast<milliseconds>(ctx.deadline - steady_clock::now()).count()));
    api::ProposeResponse response;
    grpc::Status sent = peer->stub->Propose(&context, request, &response);
    if (!sent.ok()) {
      // The request may have reached the master: the outcome is unknown, which is Timeout
      // (Unavailable would tell callers, and forwarding masters, that retrying is safe).
      Status failed = FromGrpcStatus(sent, address);
      if (failed.IsUnavailable() || failed.IsTimeout()) {
        failed = Status::Timeout(
            fmt::format("{}; the batch may or may not have been applied", failed.message()));
      }
      return {failed, false};
    }
    Status answer = FromProto(response.error());
    if (answer.ok()) version = response.version();
    // UNAVAILABLE from a master means "not applied" (MasterBackend contract).
    return {answer, answer.IsUnavailable()};
  };
  QD_RETURN_IF_ERROR(Run(ctx, Route::kLeader, "propose", attempt));
  return version;
}

Result<cluster::StatePtr> MasterClient::GetState(const CallContext& ctx, bool linearizable) {
  cluster::StatePtr state;
  QD_RETURN_IF_ERROR(FetchState(ctx, linearizable, &state, nullptr));
  return state;
}

Result<int64_t> MasterClient::GetCommittedVersion(const CallContext& ctx) {
  int64_t version = 0;
  QD_RETURN_IF_ERROR(FetchState(ctx, /*linearizable=*/true, nullptr, &version));
  return version;
}

Status MasterClient::FetchState(const CallContext& ctx, bool linearizable, cluster::StatePtr* state,
                                int64_t* version) {
  auto attempt = [&](const std::string& address) -> Attempt {
    Result<std::shared_ptr<Peer>> connected =
        ConnectedPeer(address, Earlier(ctx.deadline, options_.connect_timeout));
    if (!connected.ok()) return {connected.status(), true};  // nothing sent: try another master
    const std::shared_ptr<Peer>& peer = *connected;
    // A master that accepts the call but does not answer (stopped, overloaded) gets
    // attempt_timeout, then the next master is asked.
    grpc::ClientContext context;
    context.set_deadline(ToSystem(Earlier(ctx.deadline, options_.attempt_timeout)));
    api::GetStateRequest request;
    request.set_linearizable(linearizable);
    request.set_version_only(state == nullptr);
    api::GetStateResponse response;
    grpc::Status sent = peer->stub->GetState(&context, request, &response);
    if (!sent.ok()) {
      Status failed = FromGrpcStatus(sent, address);
      const bool time_left = steady_clock::now() < ctx.deadline;
      return {failed, failed.IsUnavailable() || (failed.IsTimeout() && time_left)};
    }
    Status answer = FromProto(response.error());
    if (!answer.ok()) return {answer, answer.IsUnavailable()};
    if (version != nullptr) *version = response.version();
    if (state == nullptr) return {Status::OK(), false};
    Result<cluster::StatePtr> decoded = DecodeStateJson(response.state_json());
    if (!decoded.ok()) {
      return {decoded.status().WithPrefix(fmt::format("state from master {}", address)), false};
    }
    *state = std::move(decoded).value();
    return {Status::OK(), false};
  };
  return Run(ctx, Route::kAny, "get state", attempt);
}

Result<MasterStatus> MasterClient::GetMasterStatus(const CallContext& ctx,
                                                   const std::string& address) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<Peer> peer, ConnectedPeer(address, ctx.deadline));
  grpc::ClientContext context;
  context.set_deadline(ToSystem(ctx.deadline));
  api::MasterStatusResponse response;
  QD_RETURN_IF_ERROR(FromGrpcStatus(
      peer->stub->MasterStatus(&context, api::MasterStatusRequest(), &response), address));
  MasterStatus status;
  status.node_id = response.node_id();
  status.state = response.state();
  status.leader_id = response.leader_id();
  status.leader_grpc_address = response.leader_grpc_address();
  status.term = response.term();
  status.commit_index = response.commit_index();
  status.applied_index = response.applied_index();
  status.state_version = response.state_version();
  status.healthy = response.healthy();
  status.voters.assign(response.voters().begin(), response.voters().end());
  return status;
}

Status MasterClient::Join(const CallContext& ctx, const std::string& node_id,
                          const std::string& raft_address, const std::string& grpc_address) {
  auto attempt = [&](const std::string& address) -> Attempt {
    Result<std::shared_ptr<Peer>> connected =
        ConnectedPeer(address, Earlier(ctx.deadline, options_.connect_timeout));
    if (!connected.ok()) return {connected.status(), true};  // nothing sent: try another master
    const std::shared_ptr<Peer>& peer = *connected;
    grpc::ClientContext context;
    context.set_deadline(ToSystem(ctx.deadline));
    api::JoinRequest request;
    request.set_node_id(node_id);
    request.set_raft_address(raft_address);
    request.set_grpc_address(grpc_address);
    api::JoinResponse response;
    grpc::Status sent = peer->stub->Join(&context, request, &response);
    // Joining is idempotent: a transport failure may be retried.
    Status failed = sent.ok() ? FromProto(response.error()) : FromGrpcStatus(sent, address);
    return {failed, failed.IsUnavailable()};
  };
  return Run(ctx, Route::kLeader, "join", attempt);
}

Result<std::unique_ptr<ChangeStream>> MasterClient::StreamChanges(const CallContext& ctx,
                                                                  int64_t from_version) {
  if (options_.masters.empty()) {
    return Status::Unavailable("change stream: no master addresses configured");
  }
  size_t first = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = next_stream_master_++;
  }
  std::vector<std::string> order;
  const size_t n = options_.masters.size();
  for (size_t i = 0; i < n; ++i) order.push_back(options_.masters[(first + i) % n]);
  for (const std::string& address : order) {
    if (steady_clock::now() >= ctx.deadline) break;
    std::shared_ptr<Peer> peer = PeerFor(address);
    if (!Connect(*peer, Earlier(ctx.deadline, options_.connect_timeout))) continue;
    // Each stream has its own stub (stubs are cheap) on the shared channel.
    return std::unique_ptr<ChangeStream>(std::make_unique<GrpcChangeStream>(
        peer->channel, api::ControlPlaneService::NewStub(peer->channel), address, from_version));
  }
  return Status::Unavailable(fmt::format("change stream: no master reachable (masters: {})",
                                         fmt::join(options_.masters, ", ")));
}

}  // namespace quidditch::controlplane::rpc
