// quidditch: one binary for every role (master, coordination, data).
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM) or after --help, --version and
// --print-config; 2 for a bad command line or configuration (one line on stderr, nothing
// written); 1 when the node fails at run time.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "common/config.h"
#include "controlplane/k8s/k8s_control_plane.h"
#include "node/node.h"
#include "operator/operator.h"

namespace {

int Fail(const quidditch::Status& status) {
  std::fprintf(stderr, "quidditch: %s\n", status.message().c_str());
  return 2;
}

// `quidditch operator`: the Kubernetes operator, configured by the same file and flags
// (controlPlane.k8s.*, node.heartbeatTimeout). Its identity for leader election is POD_NAME,
// else the host name.
int RunOperatorCommand(const quidditch::Config& config) {
  using namespace quidditch;
  Result<k8s::KubeConfig> kube = controlplane::k8s::KubeConfigFor(config.control_plane.k8s);
  if (!kube.ok()) return Fail(kube.status());
  op::OperatorOptions options;
  options.kube = std::move(kube).value();
  options.ns = config.control_plane.k8s.namespace_;
  options.leader_elect = config.control_plane.k8s.leader_elect;
  options.lease_duration = config.control_plane.k8s.lease_duration;
  options.renew_deadline = options.lease_duration * 2 / 3;
  options.node_heartbeat_timeout = config.node.heartbeat_timeout;
  options.health_port = config.control_plane.k8s.health_port;
  options.metrics_port = config.control_plane.k8s.metrics_port;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
    options.identity = pod;
  } else {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    options.identity = fmt::format("{}-{}", host, getpid());
  }
  return op::RunOperator(options);
}

int Main(int argc, char** argv) {
  using namespace quidditch;
  // `quidditch operator [flags]`: the same flags, a different program.
  const bool run_operator = argc > 1 && std::string_view(argv[1]) == "operator";
  if (run_operator) {
    argv[1] = argv[0];
    ++argv;
    --argc;
  }
  Result<CommandLine> cmdline = ParseCommandLine(argc, argv);
  if (!cmdline.ok()) return Fail(cmdline.status());
  if (cmdline->help) {
    std::cout << UsageText();
    return 0;
  }
  if (cmdline->version) {
    std::cout << "quidditch " << QUIDDITCH_VERSION << "\n";
    return 0;
  }
  Result<Config> config = LoadConfig(*cmdline, ProcessEnvironment());
  if (!config.ok()) return Fail(config.status());
  if (cmdline->print_config) {
    std::cout << ConfigToYaml(*config);
    return 0;
  }
  if (run_operator) return RunOperatorCommand(*config);
  return node::RunNode(*config);
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
