// The masters' control-plane gRPC service (api/controlplane.proto) and the server that hosts
// it on controlPlane.raft.grpcPort.
//
// MasterService translates between the wire and a MasterBackend (the Raft control plane of
// the same process); it holds no state of its own beyond the streams it serves. Domain
// errors travel in the responses' api::Error with gRPC OK (see rpc/status_codes.h).
//
// Transport security: none yet. The service is meant for the cluster's internal network
// (loopback in the single-node default); it listens with insecure server credentials.
#pragma once

#include <grpcpp/server.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "api/controlplane.grpc.pb.h"
#include "common/status.h"
#include "controlplane/rpc/master_backend.h"

namespace quidditch::controlplane::rpc {

// Thread safety: gRPC calls the handlers from its own threads, concurrently; BeginShutdown()
// may be called from any thread.
class MasterService final : public api::ControlPlaneService::Service {
 public:
  // How often an idle StreamChanges handler wakes to notice a client that went away.
  static constexpr std::chrono::milliseconds kStreamPollInterval{200};
  // The deadline of a call whose client set none and whose request names no timeout.
  static constexpr std::chrono::milliseconds kDefaultTimeout{10000};

  // `backend` must outlive this service.
  explicit MasterService(MasterBackend& backend);

  // Decodes the batch (malformed JSON or commands: INVALID_ARGUMENT) and proposes it with a
  // deadline of min(timeout_ms, the call's gRPC deadline).
  grpc::Status Propose(grpc::ServerContext* context, const api::ProposeRequest* request,
                       api::ProposeResponse* response) override;
  // The local state; with `linearizable`, after backend.SyncLocal().
  grpc::Status GetState(grpc::ServerContext* context, const api::GetStateRequest* request,
                        api::GetStateResponse* response) override;
  // Every change of the local store after from_version, then new ones, until the client
  // cancels, the store closes or BeginShutdown() (the call then ends UNAVAILABLE).
  grpc::Status StreamChanges(grpc::ServerContext* context, const api::StreamChangesRequest* request,
                             grpc::ServerWriter<api::Change>* writer) override;
  grpc::Status MasterStatus(grpc::ServerContext* context, const api::MasterStatusRequest* request,
                            api::MasterStatusResponse* response) override;
  // backend.AddMaster(); every field must be non-empty (else INVALID_ARGUMENT).
  grpc::Status Join(grpc::ServerContext* context, const api::JoinRequest* request,
                    api::JoinResponse* response) override;

  // Ends every open StreamChanges call now and refuses new ones. Unary calls are not
  // interrupted: they end when the backend returns (bounded by their deadline).
  void BeginShutdown();

 private:
  MasterBackend& backend_;
  std::mutex mu_;
  bool shutting_down_ = false;            // GUARDED_BY(mu_)
  std::set<ChangeReader*> open_readers_;  // GUARDED_BY(mu_): of the open StreamChanges calls
};

// A gRPC server hosting one MasterService.
//
// Thread safety: Stop() and the accessors may be called from any thread.
class MasterGrpcServer {
 public:
  // Starts serving the masters' service for `backend` on `host`:`port` (port 0: a free port,
  // see port()). IOError naming the address when it cannot be bound (for instance another
  // process listens there; the port is never shared: SO_REUSEPORT is off).
  // `backend` must outlive the server.
  static Result<std::unique_ptr<MasterGrpcServer>> Start(const std::string& host, int port,
                                                         MasterBackend& backend);

  // Stop().
  ~MasterGrpcServer();
  MasterGrpcServer(const MasterGrpcServer&) = delete;
  MasterGrpcServer& operator=(const MasterGrpcServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  // host:port, as clients dial it.
  const std::string& address() const { return address_; }

  // Ends open streams, cancels calls still running after a short grace period, and returns
  // once every handler has returned (a unary call blocked in the backend is waited for).
  // Idempotent.
  void Stop();

 private:
  MasterGrpcServer(std::unique_ptr<MasterService> service, std::unique_ptr<grpc::Server> server,
                   int port, std::string address);

  std::unique_ptr<MasterService> service_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::string address_;
  std::once_flag stopped_;
};

}  // namespace quidditch::controlplane::rpc
