#include "node/node.h"

#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <string>

#include "controlplane/mode.h"
#include "coordination/http_server.h"
#include "coordination/rest_root.h"
#include "node/data_dir.h"

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

}  // namespace

int RunNode(const Config& config) {
  spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [%^%l%$] %v");
  const sigset_t signals = BlockShutdownSignals();

  spdlog::info("quidditch {} starting: node [{}] of cluster [{}], roles [{}]", QUIDDITCH_VERSION,
               config.node.node_id, config.cluster_name,
               fmt::join(config.node.roles.Names(), ", "));
  controlplane::ResolvedMode mode =
      controlplane::ResolveMode(config.control_plane.mode, ProcessEnvironment(), FileExists);
  spdlog::info("control plane mode: {}", mode.reason);
  spdlog::warn(
      "this build serves the REST root endpoint only: the control plane, data and search roles "
      "are not implemented yet");

  Result<std::unique_ptr<DataDir>> data_dir = DataDir::Open(config.data.data_dir);
  if (!data_dir.ok()) {
    spdlog::error("cannot start: {}", data_dir.status().message());
    return 1;
  }
  spdlog::info("data directory: {}", (*data_dir)->path());

  std::unique_ptr<HttpServer> http;
  if (config.node.roles.coordination) {
    auto router = std::make_shared<Router>();
    NodeIdentity identity{config.node.node_id, config.cluster_name};
    if (Status s = RegisterRootHandlers(identity, router.get()); !s.ok()) {
      spdlog::error("cannot start: {}", s.ToString());
      return 1;
    }
    HttpServerOptions options;
    options.bind_address = config.node.bind_addr;
    options.port = static_cast<uint16_t>(config.node.http_port);
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(
        options, [router](const HttpRequest& request) { return router->Dispatch(request); });
    if (!server.ok()) {
      spdlog::error("cannot start the REST server: {}", server.status().message());
      return 1;
    }
    http = std::move(server).value();
    spdlog::info("REST API listening on http://{}:{}", config.node.bind_addr, http->port());
  }

  spdlog::info("started; stop with Ctrl-C or SIGTERM");
  int sig = WaitForShutdownSignal(signals);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (http) http->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace quidditch::node
