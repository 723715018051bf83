#include "controlplane/rpc/master_service.h"

#include <fmt/format.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/codec.h"
#include "controlplane/rpc/status_codes.h"

namespace quidditch::controlplane::rpc {

namespace {

using std::chrono::steady_clock;
using std::chrono::system_clock;

// The deadline of a handler's CallContext: the earlier of the request's own timeout
// (`timeout_ms` > 0) and the call's gRPC deadline, or kDefaultTimeout when neither is set.
steady_clock::time_point CallDeadline(const grpc::ServerContext& context, int64_t timeout_ms) {
  const steady_clock::time_point now = steady_clock::now();
  std::optional<steady_clock::time_point> deadline;
  if (timeout_ms > 0) deadline = now + std::chrono::milliseconds(timeout_ms);
  // A call without a deadline reports the far future (time_point::max()).
  const auto remaining = context.deadline() - system_clock::now();
  if (remaining < std::chrono::hours(24 * 365)) {
    const auto grpc_deadline = now + std::chrono::duration_cast<steady_clock::duration>(
                                         std::max(remaining, system_clock::duration::zero()));
    deadline = deadline ? std::min(*deadline, grpc_deadline) : grpc_deadline;
  }
  return deadline.value_or(now + MasterService::kDefaultTimeout);
}

// "host:port", with brackets around an IPv6 host.
std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

}  // namespace

MasterService::MasterService(MasterBackend& backend) : backend_(backend) {}

grpc::Status MasterService::Propose(grpc::ServerContext* context,
                                    const api::ProposeRequest* request,
                                    api::ProposeResponse* response) {
  Result<cluster::Json> json = cluster::ParseJson(request->commands_json());
  if (!json.ok()) {
    ToProto(Status::InvalidArgument(
                fmt::format("commands_json is not JSON: {}", json.status().message())),
            response->mutable_error());
    return grpc::Status::OK;
  }
  Result<std::vector<cluster::Command>> commands = cluster::DecodeCommands(*json);
  if (!commands.ok()) {
    ToProto(Status::InvalidArgument(fmt::format("commands_json is not a batch of commands: {}",
                                                commands.status().message())),
            response->mutable_error());
    return grpc::Status::OK;
  }
  if (commands->empty()) {
    ToProto(Status::InvalidArgument("empty batch of commands"), response->mutable_error());
    return grpc::Status::OK;
  }
  CallContext ctx;
  ctx.deadline = CallDeadline(*context, request->timeout_ms());
  Result<int64_t> version = backend_.ProposeCommands(ctx, *commands);
  if (version.ok()) {
    response->set_version(*version);
  }
  ToProto(version.status(), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterService::GetState(grpc::ServerContext* context,
                                     const api::GetStateRequest* request,
                                     api::GetStateResponse* response) {
  if (request->linearizable()) {
    CallContext ctx;
    ctx.deadline = CallDeadline(*context, 0);
    ctx.linearizable = true;
    Status synced = backend_.SyncLocal(ctx);
    if (!synced.ok()) {
      ToProto(synced, response->mutable_error());
      return grpc::Status::OK;
    }
  }
  cluster::StatePtr state = backend_.LocalStore().Current();
  response->set_version(state->version);
  if (request->version_only()) {
    ToProto(Status::OK(), response->mutable_error());
    return grpc::Status::OK;
  }
  Result<std::string> text = DumpJson(cluster::EncodeState(*state));
  if (!text.ok()) {
    spdlog::error("GetState: cannot encode state version {}: {}", state->version,
                  text.status().ToString());
    ToProto(text.status(), response->mutable_error());
    return grpc::Status::OK;
  }
  response->set_state_json(std::move(text).value());
  ToProto(Status::OK(), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterService::StreamChanges(grpc::ServerContext* context,
                                          const api::StreamChangesRequest* request,
                                          grpc::ServerWriter<api::Change>* writer) {
  std::unique_ptr<ChangeReader> reader =
      backend_.LocalStore().NewChangeReader(request->from_version());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "master is stopping");
    open_readers_.insert(reader.get());
  }
  // Unregisters the reader on every return, before it is destroyed.
  struct Unregister {
    MasterService* service;
    ChangeReader* reader;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(service->mu_);
      service->open_readers_.erase(reader);
    }
  } unregister{this, reader.get()};

  while (true) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream");
    }
    Result<Change> change = reader->Next(steady_clock::now() + kStreamPollInterval);
    if (change.status().IsTimeout()) continue;
    if (!change.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "master is stopping");
      }
      return ToGrpcStatus(change.status().WithPrefix("change stream"));
    }
    api::Change out;
    out.set_version(change->version);
    Result<std::string> text = change->state ? DumpJson(cluster::EncodeState(*change->state))
                                             : DumpJson(cluster::EncodeCommands(change->commands));
    if (!text.ok()) {
      spdlog::error("StreamChanges: cannot encode the change to version {}: {}", change->version,
                    text.status().ToString());
      return ToGrpcStatus(text.status());
    }
    if (change->state) {
      out.set_state_json(std::move(text).value());
    } else {
      out.set_commands_json(std::move(text).value());
    }
    if (!writer->Write(out)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
  }
}

grpc::Status MasterService::MasterStatus(grpc::ServerContext* /*context*/,
                                         const api::MasterStatusRequest* /*request*/,
                                         api::MasterStatusResponse* response) {
  const rpc::MasterStatus status = backend_.GetMasterStatus();
  response->set_node_id(status.node_id);
  response->set_state(status.state);
  response->set_leader_id(status.leader_id);
  response->set_leader_grpc_address(status.leader_grpc_address);
  response->set_term(status.term);
  response->set_commit_index(status.commit_index);
  response->set_applied_index(status.applied_index);
  response->set_state_version(status.state_version);
  response->set_healthy(status.healthy);
  for (const std::string& voter : status.voters) response->add_voters(voter);
  return grpc::Status::OK;
}

grpc::Status MasterService::Join(grpc::ServerContext* context, const api::JoinRequest* request,
                                 api::JoinResponse* response) {
  if (request->node_id().empty() || request->raft_address().empty() ||
      request->grpc_address().empty()) {
    ToProto(Status::InvalidArgument("join needs node_id, raft_address and grpc_address"),
            response->mutable_error());
    return grpc::Status::OK;
  }
  CallContext ctx;
  ctx.deadline = CallDeadline(*context, 0);
  Status added =
      backend_.AddMaster(ctx, request->node_id(), request->raft_address(), request->grpc_address());
  ToProto(added, response->mutable_error());
  return grpc::Status::OK;
}

void MasterService::BeginShutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  for (ChangeReader* reader : open_readers_) reader->Cancel();
}

Result<std::unique_ptr<MasterGrpcServer>> MasterGrpcServer::Start(const std::string& host, int port,
                                                                  MasterBackend& backend) {
  const std::string address = JoinHostPort(host, port);
  auto service = std::make_unique<MasterService>(backend);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.RegisterService(service.get());
  // Two masters must never share a port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Batches carry mappings; states can be large. Answers are not limited.
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(-1);
  // Notice dead clients of long-lived streams, and accept the clients' keepalive pings
  // (MasterClient pings every 10 s while a stream is open and idle).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    if (server != nullptr) server->Shutdown();
    return Status::IOError(fmt::format(
        "cannot serve the control-plane gRPC service on {}: the address cannot be bound (in "
        "use, or not an address of this host)",
        address));
  }
  std::string bound = JoinHostPort(host, selected_port);
  spdlog::debug("control-plane gRPC service listening on {}", bound);
  return std::unique_ptr<MasterGrpcServer>(
      new MasterGrpcServer(std::move(service), std::move(server), selected_port, bound));
}

MasterGrpcServer::MasterGrpcServer(std::unique_ptr<MasterService> service,
                                   std::unique_ptr<grpc::Server> server, int port,
                                   std::string address)
    : service_(std::move(service)),
      server_(std::move(server)),
      port_(port),
      address_(std::move(address)) {}

MasterGrpcServer::~MasterGrpcServer() { Stop(); }

void MasterGrpcServer::Stop() {
  std::call_once(stopped_, [this] {
    service_->BeginShutdown();
    // Calls still running after the grace period are cancelled; Shutdown returns once every
    // handler has returned.
    server_->Shutdown(system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
    spdlog::info("control-plane gRPC service on {} stopped", address_);
  });
}

}  // namespace quidditch::controlplane::rpc
