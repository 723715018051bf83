#include "node/node.h"

#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <string>

#include "controlplane/k8s/k8s_control_plane.h"
#include "controlplane/mode.h"
#include "controlplane/raft/raft_control_plane.h"
#include "controlplane/remote/remote_control_plane.h"
#include "controlplane/rpc/master_service.h"
#include "coordination/http_server.h"
#include "coordination/rest_api.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"
#include "data/indices_service.h"
#include "data/local_shard_service.h"
#include "node/data_dir.h"
#include "node/node_agent.h"

namespace quidditch::node {
namespace {

bool FileExists(std::string_view path) {
  struct stat st;
  return ::stat(std::string(path).c_str(), &st) == 0;
}

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts afterwards,
// so that WaitForShutdownSignal() is the only place they are delivered.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int WaitForShutdownSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// Everything a running node owns, stopped in reverse order of start.
struct Running {
  std::unique_ptr<DataDir> data_dir;
  std::unique_ptr<controlplane::raft::RaftControlPlane> raft;  // master role
  // Other roles in Raft mode (RemoteControlPlane), every role in Kubernetes mode.
  std::unique_ptr<controlplane::ControlPlane> remote;
  std::unique_ptr<controlplane::rpc::MasterGrpcServer> master_service;
  std::unique_ptr<NodeAgent> agent;
  // The data role: the shards allocated to this node, and the service the REST layer reaches
  // them through.
  std::unique_ptr<data::IndicesService> indices;
  std::unique_ptr<data::LocalShardService> shards;
  std::unique_ptr<HttpServer> http;

  controlplane::ControlPlane* control_plane() {
    return raft ? static_cast<controlplane::ControlPlane*>(raft.get()) : remote.get();
  }

  void Stop() {
    if (http) http->Stop();
    shards.reset();
    if (indices) indices->Stop();
    if (agent) agent->Stop();
    if (master_service) master_service->Stop();
    if (remote) remote->Stop().PermitUncheckedError();  // Stop of a remote cannot fail
    if (raft) raft->Stop().PermitUncheckedError();      // likewise
  }
};

Status StartControlPlane(const Config& config, Running& node) {
  controlplane::ResolvedMode mode =
      controlplane::ResolveMode(config.control_plane.mode, ProcessEnvironment(), FileExists);
  spdlog::info("control plane mode: {}", mode.reason);
  if (mode.mode == ControlPlaneMode::kK8s) {
    QD_ASSIGN_OR_RETURN(k8s::KubeConfig kube,
                        controlplane::k8s::KubeConfigFor(config.control_plane.k8s));
    if (config.node.roles.master) {
      spdlog::info("Kubernetes mode: the master role has nothing to do (the operator leads)");
    }
    controlplane::k8s::K8sControlPlaneOptions options;
    options.kube = std::move(kube);
    options.ns = config.control_plane.k8s.namespace_;
    node.remote = std::make_unique<controlplane::k8s::K8sControlPlane>(std::move(options));
    return node.remote->Start();
  }
  const RaftConfig& raft = config.control_plane.raft;
  if (config.node.roles.master) {
    controlplane::raft::RaftOptions options;
    options.raft = raft;
    options.node_heartbeat_timeout = config.node.heartbeat_timeout;
    node.raft = std::make_unique<controlplane::raft::RaftControlPlane>(options);
    QD_RETURN_IF_ERROR(node.raft->Start());
    QD_ASSIGN_OR_RETURN(node.master_service, controlplane::rpc::MasterGrpcServer::Start(
                                                 raft.bind_addr, raft.grpc_port, *node.raft));
    spdlog::info("control-plane gRPC service listening on {}:{}", raft.bind_addr,
                 node.master_service->port());
    return Status::OK();
  }
  if (raft.masters.empty()) {
    return Status::InvalidArgument(
        "this node has no master role and no masters are configured "
        "(controlPlane.raft.masters or controlPlane.raft.peers)");
  }
  controlplane::remote::RemoteOptions options;
  options.masters = raft.masters;
  node.remote = std::make_unique<controlplane::remote::RemoteControlPlane>(options);
  spdlog::info("connecting to masters {}", fmt::join(raft.masters, ", "));
  return node.remote->Start();
}

cluster::NodeInfo SelfInfo(const Config& config) {
  cluster::NodeInfo self;
  self.node_id = config.node.node_id;
  self.address = config.node.bind_addr;
  self.grpc_port = config.node.grpc_port;
  self.http_port = config.node.http_port;
  self.roles = config.node.roles;
  return self;
}

}  // namespace

int RunNode(const Config& config) {
  spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::flush_on(spdlog::level::info);  // operators tail the log: never hold lines back
  const sigset_t signals = BlockShutdownSignals();
  // A peer that closes its connection must be an EPIPE error, not the end of this process.
  signal(SIGPIPE, SIG_IGN);

  spdlog::info("quidditch {} starting: node [{}] of cluster [{}], roles [{}]", QUIDDITCH_VERSION,
               config.node.node_id, config.cluster_name,
               fmt::join(config.node.roles.Names(), ", "));
  Running node;
  auto fail = [&](std::string_view what, const Status& s) {
    spdlog::error("cannot start: {}: {}", what, s.message());
    node.Stop();
    return 1;
  };

  Result<std::unique_ptr<DataDir>> data_dir = DataDir::Open(config.data.data_dir);
  if (!data_dir.ok()) return fail("data directory", data_dir.status());
  node.data_dir = std::move(data_dir).value();
  spdlog::info("data directory: {}", node.data_dir->path());

  if (Status s = StartControlPlane(config, node); !s.ok()) return fail("control plane", s);

  // Nodes that serve clients or hold shards join the cluster state and send heartbeats, at a
  // fifth of the timeout (four can be lost before the node is marked DOWN). A dedicated master
  // has nothing for other nodes to route to: it is known through the Raft membership instead.
  if (config.node.roles.coordination || config.node.roles.data) {
    node.agent =
        std::make_unique<NodeAgent>(node.control_plane(), SelfInfo(config), node.data_dir->path(),
                                    config.node.heartbeat_timeout / 5);
    node.agent->Start();
  }

  if (config.node.roles.data) {
    node.indices = std::make_unique<data::IndicesService>(node.control_plane(), config.node.node_id,
                                                          node.data_dir->path());
    if (Status s = node.indices->Start(); !s.ok()) return fail("data role", s);
    node.shards = std::make_unique<data::LocalShardService>(node.indices.get());
    spdlog::info("data role: shards under {}/indices", node.data_dir->path());
  }

  if (config.node.roles.coordination) {
    auto router = std::make_shared<Router>();
    rest::RestContext context;
    context.identity = NodeIdentity{config.node.node_id, config.cluster_name};
    context.control_plane = node.control_plane();
    // One node: only this node's own shards are reachable (other data nodes come with the
    // distributed issue's gRPC shard service).
    data::ShardService* local = node.shards.get();
    context.shard_service =
        [local, self = config.node.node_id](const std::string& node_id) -> data::ShardService* {
      return node_id == self ? local : nullptr;
    };
    if (Status s = rest::RegisterRestApi(context, router.get()); !s.ok()) {
      return fail("REST routes", s);
    }
    HttpServerOptions options;
    options.bind_address = config.node.bind_addr;
    options.port = static_cast<uint16_t>(config.node.http_port);
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(
        options, [router](const HttpRequest& request) { return router->Dispatch(request); });
    if (!server.ok()) return fail("REST server", server.status());
    node.http = std::move(server).value();
    spdlog::info("REST API listening on http://{}:{}", config.node.bind_addr, node.http->port());
  }

  spdlog::info("started; stop with Ctrl-C or SIGTERM");
  int sig = WaitForShutdownSignal(signals);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  node.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace quidditch::node
