// The unified configuration of a Quidditch process (design §Configuration).
//
// Sources, lowest precedence first: built-in defaults, the YAML file (`--config FILE`, with
// `${VAR}` expansion in scalar values), the environment variables the deployment manifests
// set (CONTROL_PLANE_MODE, NODE_ID, RAFT_PORT, RAFT_PEERS, BOOTSTRAP_CLUSTER, NAMESPACE,
// LEADER_ELECT), then command-line flags. docs/configuration.md lists every key.
//
// Loading is strict: an unknown key, a wrong type, a bad duration or size, an unknown mode or
// role, or an undefined ${VAR} is an InvalidArgument error whose message is one line naming
// the source (file and line, environment variable or flag), the dotted key and the reason.
// Loading never touches the data directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/roles.h"
#include "common/status.h"

namespace quidditch {

enum class ControlPlaneMode { kRaft, kK8s, kAuto };
std::string_view ControlPlaneModeName(ControlPlaneMode mode);  // "raft", "k8s", "auto"

struct RaftConfig {
  std::string node_id;                  // controlPlane.raft.nodeId; defaults to node.nodeId
  std::string bind_addr = "127.0.0.1";  // controlPlane.raft.bindAddr
  int raft_port = 9300;                 // controlPlane.raft.raftPort
  int grpc_port = 9301;                 // controlPlane.raft.grpcPort: masters' control-plane gRPC
  std::string data_dir;  // controlPlane.raft.dataDir; defaults to <data.dataDir>/raft
  // controlPlane.raft.bootstrapCluster; when not set anywhere it is true exactly when `peers`
  // is empty (the single-node default).
  bool bootstrap_cluster = true;
  std::vector<std::string> peers;    // host:raftPort of every master
  std::vector<std::string> masters;  // host:grpcPort; defaults to each peer host with grpc_port
  std::chrono::milliseconds heartbeat_timeout{1000};
  std::chrono::milliseconds election_timeout{3000};
  std::chrono::milliseconds commit_timeout{50};
  std::chrono::milliseconds snapshot_interval{120000};
  int64_t snapshot_threshold = 8192;
  friend bool operator==(const RaftConfig&, const RaftConfig&) = default;
};

struct K8sConfig {
  std::string namespace_ = "quidditch";             // controlPlane.k8s.namespace
  bool leader_elect = true;                         // controlPlane.k8s.leaderElect
  std::chrono::milliseconds lease_duration{15000};  // controlPlane.k8s.leaseDuration
  std::string kubeconfig;   // controlPlane.k8s.kubeconfig: out-of-cluster use; empty = in-cluster
  int health_port = 8081;   // controlPlane.k8s.healthPort: the operator's /healthz, /readyz
  int metrics_port = 8080;  // controlPlane.k8s.metricsPort: the operator's /metrics
  friend bool operator==(const K8sConfig&, const K8sConfig&) = default;
};

struct ControlPlaneConfig {
  ControlPlaneMode mode = ControlPlaneMode::kAuto;
  RaftConfig raft;
  K8sConfig k8s;
  friend bool operator==(const ControlPlaneConfig&, const ControlPlaneConfig&) = default;
};

struct NodeConfig {
  std::string node_id;  // node.nodeId; defaults to the host name
  Roles roles = Roles::All();
  std::string bind_addr = "127.0.0.1";
  int grpc_port = 9302;
  int http_port = 9200;
  // node.heartbeatTimeout: a node without a heartbeat for this long is marked DOWN.
  std::chrono::milliseconds heartbeat_timeout{10000};
  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

struct DiagonConfig {
  int64_t max_memory_bytes = 0;  // data.diagonConfig.maxMemory; 0 = no limit
  int64_t cache_size_bytes = 0;  // data.diagonConfig.cacheSize; 0 = engine default
  friend bool operator==(const DiagonConfig&, const DiagonConfig&) = default;
};

struct DataConfig {
  std::string data_dir = "./data";
  DiagonConfig diagon;
  friend bool operator==(const DataConfig&, const DataConfig&) = default;
};

struct Config {
  std::string cluster_name = "quidditch";
  ControlPlaneConfig control_plane;
  NodeConfig node;
  DataConfig data;
  friend bool operator==(const Config&, const Config&) = default;
};

// What the command line asked for, besides configuration.
struct CommandLine {
  std::optional<std::string> config_file;  // --config FILE
  bool print_config = false;               // --print-config
  bool help = false;                       // --help
  bool version = false;                    // --version
  // Flag overrides as (dotted key, value, flag spelling), in command-line order.
  struct Override {
    std::string key;
    std::string value;
    std::string flag;
  };
  std::vector<Override> overrides;
};

// Parses argv. Unknown flags or missing flag values are InvalidArgument.
Result<CommandLine> ParseCommandLine(int argc, const char* const* argv);

// The text printed by --help.
std::string UsageText();

// Builds the effective configuration from the sources above. `env` is the process
// environment as a map (tests pass their own); `file_text` is read from
// cmdline.config_file when that is set.
Result<Config> LoadConfig(const CommandLine& cmdline,
                          const std::map<std::string, std::string>& env);

// Same, from YAML text already in memory; `source_name` names it in error messages.
Result<Config> LoadConfigFromString(std::string_view yaml_text, std::string_view source_name,
                                    const CommandLine& cmdline,
                                    const std::map<std::string, std::string>& env);

// The effective configuration as YAML in the file format (every key, defaults resolved),
// for --print-config. Feeding it back to LoadConfig yields an equal Config.
std::string ConfigToYaml(const Config& config);

// Parses "500ms", "10s", "2m", "1h", "1d" (and a bare integer as milliseconds).
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// Parses "512", "64KB", "16GB", "1.5gb", "10mb" (binary multiples: 1KB = 1024 bytes, as
// OpenSearch's byte-size values).
Result<int64_t> ParseByteSize(std::string_view text);

// The environment of this process as a map.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace quidditch
