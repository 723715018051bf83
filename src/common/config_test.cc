#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace quidditch {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

CommandLine Args(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"quidditch"};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<CommandLine> cl = ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(cl.ok()) << cl.status();
  return cl.ok() ? *cl : CommandLine{};
}

Result<Config> Load(std::string_view yaml, const Env& env = {}, const CommandLine& cl = {}) {
  return LoadConfigFromString(yaml, "conf.yaml", cl, env);
}

std::string HostName() {
  char buf[256] = {};
  EXPECT_EQ(gethostname(buf, sizeof(buf) - 1), 0);
  return buf;
}

// Asserts an InvalidArgument whose one-line message is exactly `message`.
void ExpectError(const Result<Config>& r, const std::string& message) {
  ASSERT_FALSE(r.ok()) << "expected error: " << message;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(r.status().message(), message);
}

// Asserts an InvalidArgument whose message contains every part.
void ExpectErrorContains(const Result<Config>& r, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status();
  for (const std::string& p : parts) EXPECT_THAT(r.status().message(), HasSubstr(p));
}

// ---------------------------------------------------------------------------------------------
// Defaults and full files

void ExpectDefaults(const Config& c) {
  EXPECT_EQ(c.cluster_name, "quidditch");
  EXPECT_EQ(c.control_plane.mode, ControlPlaneMode::kAuto);
  const RaftConfig& r = c.control_plane.raft;
  EXPECT_EQ(r.node_id, HostName());
  EXPECT_EQ(r.bind_addr, "127.0.0.1");
  EXPECT_EQ(r.raft_port, 9300);
  EXPECT_EQ(r.grpc_port, 9301);
  EXPECT_EQ(r.data_dir, "./data/raft");
  EXPECT_TRUE(r.bootstrap_cluster);
  EXPECT_TRUE(r.peers.empty());
  EXPECT_TRUE(r.masters.empty());
  EXPECT_EQ(r.heartbeat_timeout, milliseconds(1000));
  EXPECT_EQ(r.election_timeout, milliseconds(3000));
  EXPECT_EQ(r.commit_timeout, milliseconds(50));
  EXPECT_EQ(r.snapshot_interval, milliseconds(120000));
  EXPECT_EQ(r.snapshot_threshold, 8192);
  EXPECT_EQ(c.control_plane.k8s.namespace_, "quidditch");
  EXPECT_TRUE(c.control_plane.k8s.leader_elect);
  EXPECT_EQ(c.control_plane.k8s.lease_duration, milliseconds(15000));
  EXPECT_EQ(c.control_plane.k8s.kubeconfig, "");
  EXPECT_EQ(c.node.node_id, HostName());
  EXPECT_EQ(c.node.roles, Roles::All());
  EXPECT_EQ(c.node.bind_addr, "127.0.0.1");
  EXPECT_EQ(c.node.grpc_port, 9302);
  EXPECT_EQ(c.node.http_port, 9200);
  EXPECT_EQ(c.node.heartbeat_timeout, milliseconds(10000));
  EXPECT_EQ(c.data.data_dir, "./data");
  EXPECT_EQ(c.data.diagon.max_memory_bytes, 0);
  EXPECT_EQ(c.data.diagon.cache_size_bytes, 0);
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  Result<Config> c = Load("");
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectDefaults(*c);
}

TEST(ConfigTest, CommentsOnlyAndEmptyDocumentsGiveDefaults) {
  for (const char* text : {"# nothing here\n   # still nothing\n", "---\n", "~\n", "\n\n"}) {
    SCOPED_TRACE(text);
    Result<Config> c = Load(text);
    ASSERT_TRUE(c.ok()) << c.status();
    ExpectDefaults(*c);
  }
}

TEST(ConfigTest, EmptySectionsAreAllowed) {
  Result<Config> c =
      Load("cluster:\ncontrolPlane:\n  raft:\n  k8s:\nnode:\ndata:\n  diagonConfig:\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectDefaults(*c);
}

TEST(ConfigTest, LoadConfigWithoutFileGivesDefaults) {
  Result<Config> c = LoadConfig(CommandLine{}, Env{});
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectDefaults(*c);
}

constexpr char kFullFile[] = R"(# every key
cluster:
  name: prod
controlPlane:
  mode: raft
  raft:
    nodeId: raft-1
    bindAddr: 0.0.0.0
    raftPort: 7000
    grpcPort: 7001
    dataDir: /var/lib/raft
    bootstrapCluster: false
    peers:
      - m1:7000
      - m2:7000
      - "[::1]:7000"
    masters: [m1:7001, m2:7001]
    heartbeatTimeout: 500ms
    electionTimeout: 2.5s
    commitTimeout: 10
    snapshotInterval: 5m
    snapshotThreshold: 100000
  k8s:
    namespace: search
    leaderElect: false
    leaseDuration: 1h
    kubeconfig: /home/me/.kube/config
node:
  nodeId: node-1
  nodeType: [master, data]
  bindAddr: 10.0.0.5
  grpcPort: 8302
  httpPort: 8200
  heartbeatTimeout: 1d
data:
  dataDir: /var/lib/quidditch
  diagonConfig:
    maxMemory: 16GB
    cacheSize: 1.5gb
)";

TEST(ConfigTest, FullFileSetsEveryKey) {
  Result<Config> r = Load(kFullFile);
  ASSERT_TRUE(r.ok()) << r.status();
  const Config& c = *r;
  EXPECT_EQ(c.cluster_name, "prod");
  EXPECT_EQ(c.control_plane.mode, ControlPlaneMode::kRaft);
  const RaftConfig& raft = c.control_plane.raft;
  EXPECT_EQ(raft.node_id, "raft-1");
  EXPECT_EQ(raft.bind_addr, "0.0.0.0");
  EXPECT_EQ(raft.raft_port, 7000);
  EXPECT_EQ(raft.grpc_port, 7001);
  EXPECT_EQ(raft.data_dir, "/var/lib/raft");
  EXPECT_FALSE(raft.bootstrap_cluster);
  EXPECT_EQ(raft.peers, (std::vector<std::string>{"m1:7000", "m2:7000", "[::1]:7000"}));
  EXPECT_EQ(raft.masters, (std::vector<std::string>{"m1:7001", "m2:7001"}));
  EXPECT_EQ(raft.heartbeat_timeout, milliseconds(500));
  EXPECT_EQ(raft.election_timeout, milliseconds(2500));
  EXPECT_EQ(raft.commit_timeout, milliseconds(10));
  EXPECT_EQ(raft.snapshot_interval, milliseconds(300000));
  EXPECT_EQ(raft.snapshot_threshold, 100000);
  EXPECT_EQ(c.control_plane.k8s.namespace_, "search");
  EXPECT_FALSE(c.control_plane.k8s.leader_elect);
  EXPECT_EQ(c.control_plane.k8s.lease_duration, milliseconds(3600000));
  EXPECT_EQ(c.control_plane.k8s.kubeconfig, "/home/me/.kube/config");
  EXPECT_EQ(c.node.node_id, "node-1");
  EXPECT_EQ(c.node.roles, (Roles{true, false, true}));
  EXPECT_EQ(c.node.bind_addr, "10.0.0.5");
  EXPECT_EQ(c.node.grpc_port, 8302);
  EXPECT_EQ(c.node.http_port, 8200);
  EXPECT_EQ(c.node.heartbeat_timeout, milliseconds(86400000));
  EXPECT_EQ(c.data.data_dir, "/var/lib/quidditch");
  EXPECT_EQ(c.data.diagon.max_memory_bytes, int64_t{16} << 30);
  EXPECT_EQ(c.data.diagon.cache_size_bytes, int64_t{3} << 29);
}

// The configuration example of the control-plane design document loads as written.
TEST(ConfigTest, DesignDocumentExampleLoads) {
  constexpr char kDesignExample[] = R"(# config/quidditch.yaml
cluster:
  name: "quidditch-prod"

# Control plane configuration
controlPlane:
  # Mode: "raft", "k8s", or "auto"
  # auto = detect environment and choose automatically
  mode: auto

  # Raft mode configuration (used if mode=raft or auto+non-K8S)
  raft:
    nodeId: "${NODE_ID}"
    bindAddr: "0.0.0.0"
    raftPort: 9300
    dataDir: "/var/lib/quidditch/raft"
    bootstrapCluster: false
    peers:
      - "master-0.master.svc.cluster.local:9300"
      - "master-1.master.svc.cluster.local:9300"
      - "master-2.master.svc.cluster.local:9300"
    # Raft tuning
    heartbeatTimeout: 1000ms
    electionTimeout: 3000ms
    commitTimeout: 50ms
    snapshotInterval: 120s
    snapshotThreshold: 8192

  # K8S mode configuration (used if mode=k8s or auto+K8S)
  k8s:
    namespace: "quidditch"
    leaderElect: true
    leaseDuration: 15s

# Node configuration
node:
  nodeId: "${NODE_ID}"
  nodeType: "coordination"  # coordination, data, master
  bindAddr: "0.0.0.0"
  grpcPort: 9302
  httpPort: 9200

# Data node specific
data:
  dataDir: "/var/lib/quidditch/data"
  diagonConfig:
    maxMemory: "16GB"
    cacheSize: "8GB"
)";
  Result<Config> c = Load(kDesignExample, {{"NODE_ID", "coord-0"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cluster_name, "quidditch-prod");
  EXPECT_EQ(c->node.node_id, "coord-0");
  EXPECT_EQ(c->node.roles, (Roles{false, true, false}));
  EXPECT_EQ(c->control_plane.raft.peers.size(), 3u);
  EXPECT_EQ(c->control_plane.raft.masters[0], "master-0.master.svc.cluster.local:9301");
  EXPECT_FALSE(c->control_plane.raft.bootstrap_cluster);
  EXPECT_EQ(c->data.diagon.cache_size_bytes, int64_t{8} << 30);
  ExpectErrorContains(Load(kDesignExample), {"conf.yaml:13: controlPlane.raft.nodeId: undefined "
                                             "environment variable ${NODE_ID}"});
}

TEST(ConfigTest, NodeTypeAsSingleRoleName) {
  for (auto [text, roles] : {std::pair{"master", Roles{true, false, false}},
                             std::pair{"coordination", Roles{false, true, false}},
                             std::pair{"data", Roles{false, false, true}}}) {
    Result<Config> c = Load(std::string("node:\n  nodeType: ") + text + "\n");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->node.roles, roles);
  }
  Result<Config> c = Load("node:\n  nodeType:\n    - coordination\n    - master\n    - data\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.roles, Roles::All());
}

TEST(ConfigTest, QuotedScalarsAreAccepted) {
  Result<Config> c =
      Load("node:\n  httpPort: \"9201\"\ncontrolPlane:\n  k8s:\n    leaderElect: 'false'\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 9201);
  EXPECT_FALSE(c->control_plane.k8s.leader_elect);
}

TEST(ConfigTest, NullListMeansNotSet) {
  Result<Config> c = Load("controlPlane:\n  raft:\n    peers:\n    masters:\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->control_plane.raft.peers.empty());
  EXPECT_TRUE(c->control_plane.raft.masters.empty());
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);
}

TEST(ConfigTest, ControlPlaneModeNames) {
  EXPECT_EQ(ControlPlaneModeName(ControlPlaneMode::kRaft), "raft");
  EXPECT_EQ(ControlPlaneModeName(ControlPlaneMode::kK8s), "k8s");
  EXPECT_EQ(ControlPlaneModeName(ControlPlaneMode::kAuto), "auto");
  for (const char* mode : {"raft", "k8s", "auto"}) {
    Result<Config> c = Load(std::string("controlPlane:\n  mode: ") + mode + "\n");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(ControlPlaneModeName(c->control_plane.mode), mode);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(ConfigErrorTest, UnknownKeyAtTopLevel) {
  ExpectError(Load("cluster:\n  name: x\nfoo: 1\n"), "conf.yaml:3: foo: unknown key");
}

TEST(ConfigErrorTest, UnknownKeyNested) {
  ExpectError(Load("node:\n  httpPort: 9200\n  foo: bar\n"), "conf.yaml:3: node.foo: unknown key");
  ExpectError(Load("controlPlane:\n  raft:\n    bogus: 1\n"),
              "conf.yaml:3: controlPlane.raft.bogus: unknown key");
  ExpectError(Load("data:\n  diagonConfig:\n    maxMemory: 1\n    other:\n"),
              "conf.yaml:4: data.diagonConfig.other: unknown key");
}

TEST(ConfigErrorTest, UnknownKeySuggestsTheRightSpelling) {
  ExpectError(Load("node:\n  http_port: 9200\n"),
              "conf.yaml:2: node.http_port: unknown key (did you mean httpPort?)");
  ExpectError(Load("controlplane:\n  mode: raft\n"),
              "conf.yaml:1: controlplane: unknown key (did you mean controlPlane?)");
}

TEST(ConfigErrorTest, UnknownKeySuggestsCloseKeys) {
  ExpectError(Load("nodes:\n  httpPort: 1\n"),
              "conf.yaml:1: nodes: unknown key (did you mean node?)");
  ExpectError(Load("node:\n  htpPort: 1\n"),
              "conf.yaml:2: node.htpPort: unknown key (did you mean httpPort?)");
  ExpectError(Load("node:\n  colour: 1\n"), "conf.yaml:2: node.colour: unknown key");
}

TEST(ConfigErrorTest, AliasBombIsBounded) {
  std::string yaml = "node:\n  nodeType:\n    - &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    yaml += "    - &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  ExpectErrorContains(Load(yaml), {"conf.yaml:", "node.nodeType", "too many values"});
}

TEST(ConfigErrorTest, DeepNestingIsAnError) {
  std::string yaml = "node:\n  nodeType: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  ExpectErrorContains(Load(yaml), {"conf.yaml"});
}

TEST(ConfigErrorTest, DuplicateKey) {
  ExpectError(Load("node:\n  httpPort: 1\n  httpPort: 2\n"),
              "conf.yaml:3: node.httpPort: duplicate key");
}

TEST(ConfigErrorTest, WrongKind) {
  ExpectError(Load("node: 5\n"), "conf.yaml:1: node: expected a map, got a scalar");
  ExpectError(Load("node:\n  - a\n"), "conf.yaml:2: node: expected a map, got a list");
  ExpectError(Load("cluster:\n  name:\n    a: b\n"),
              "conf.yaml:3: cluster.name: expected a string, got a map");
  ExpectError(Load("node:\n  httpPort: [1]\n"),
              "conf.yaml:2: node.httpPort: expected an integer, got a list");
  ExpectError(Load("controlPlane:\n  raft:\n    peers: a:1\n"),
              "conf.yaml:3: controlPlane.raft.peers: expected a list of host:port addresses, got a "
              "scalar");
  ExpectError(Load("node:\n  nodeType: {a: b}\n"),
              "conf.yaml:2: node.nodeType: expected a role or a list of roles, got a map");
  ExpectError(Load("node:\n  nodeId:\n"),
              "conf.yaml:2: node.nodeId: expected a string, got nothing (null)");
}

TEST(ConfigErrorTest, WrongType) {
  ExpectError(Load("cluster:\n  name: x\nnode:\n  httpPort: abc\n"),
              "conf.yaml:4: node.httpPort: expected an integer, got \"abc\"");
  ExpectError(Load("node:\n  httpPort: 9200.5\n"),
              "conf.yaml:2: node.httpPort: expected an integer, got \"9200.5\"");
  ExpectError(Load("controlPlane:\n  k8s:\n    leaderElect: yes\n"),
              "conf.yaml:3: controlPlane.k8s.leaderElect: expected true or false, got \"yes\"");
  ExpectError(Load("controlPlane:\n  raft:\n    bootstrapCluster: 1\n"),
              "conf.yaml:3: controlPlane.raft.bootstrapCluster: expected true or false, got \"1\"");
  ExpectError(Load("controlPlane:\n  raft:\n    snapshotThreshold: 0\n"),
              "conf.yaml:3: controlPlane.raft.snapshotThreshold: must be greater than 0, got 0");
  ExpectError(Load("controlPlane:\n  raft:\n    snapshotThreshold: 99999999999999999999\n"),
              "conf.yaml:3: controlPlane.raft.snapshotThreshold: integer out of range: "
              "\"99999999999999999999\"");
}

TEST(ConfigErrorTest, EmptyStrings) {
  ExpectError(Load("cluster:\n  name: \"\"\n"), "conf.yaml:2: cluster.name: must not be empty");
  ExpectError(Load("data:\n  dataDir: ''\n"), "conf.yaml:2: data.dataDir: must not be empty");
  Result<Config> c = Load("controlPlane:\n  k8s:\n    kubeconfig: \"\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
}

TEST(ConfigErrorTest, BadDuration) {
  ExpectError(Load("# line 1\ncluster:\n  name: x\ncontrolPlane:\n  mode: raft\n  raft:\n"
                   "    heartbeatTimeout: abc\n"),
              "conf.yaml:7: controlPlane.raft.heartbeatTimeout: invalid duration \"abc\" "
              "(expected a number followed by ms, s, m, h or d, e.g. 500ms)");
  ExpectError(Load("node:\n  heartbeatTimeout: 10 years\n"),
              "conf.yaml:2: node.heartbeatTimeout: invalid duration \"10 years\" (expected a "
              "number followed by ms, s, m, h or d, e.g. 500ms)");
  ExpectError(Load("node:\n  heartbeatTimeout: 0s\n"),
              "conf.yaml:2: node.heartbeatTimeout: must be greater than 0, got \"0s\"");
  ExpectError(Load("node:\n  heartbeatTimeout: -5s\n"),
              "conf.yaml:2: node.heartbeatTimeout: invalid duration \"-5s\" (expected a number "
              "followed by ms, s, m, h or d, e.g. 500ms)");
  ExpectError(Load("controlPlane:\n  k8s:\n    leaseDuration: 0.5ms\n"),
              "conf.yaml:3: controlPlane.k8s.leaseDuration: invalid duration \"0.5ms\" (not a "
              "whole number of milliseconds)");
}

TEST(ConfigErrorTest, BadSize) {
  ExpectError(Load("data:\n  diagonConfig:\n    maxMemory: lots\n"),
              "conf.yaml:3: data.diagonConfig.maxMemory: invalid size \"lots\" (expected a number "
              "of bytes, optionally followed by b, kb, mb, gb or tb, e.g. 512mb)");
  ExpectError(Load("data:\n  diagonConfig:\n    cacheSize: -1mb\n"),
              "conf.yaml:3: data.diagonConfig.cacheSize: invalid size \"-1mb\" (must not be "
              "negative)");
  ExpectError(Load("data:\n  diagonConfig:\n    cacheSize: 5pb\n"),
              "conf.yaml:3: data.diagonConfig.cacheSize: invalid size \"5pb\" (expected a number "
              "of bytes, optionally followed by b, kb, mb, gb or tb, e.g. 512mb)");
}

TEST(ConfigErrorTest, UnknownMode) {
  ExpectError(
      Load("cluster:\n  name: x\ncontrolPlane:\n  mode: rafty\n"),
      "conf.yaml:4: controlPlane.mode: unknown mode \"rafty\" (expected raft, k8s or auto)");
  ExpectError(Load("controlPlane:\n  mode: RAFT\n"),
              "conf.yaml:2: controlPlane.mode: unknown mode \"RAFT\" (expected raft, k8s or auto)");
}

TEST(ConfigErrorTest, UnknownRole) {
  ExpectError(Load("node:\n  nodeType: ingest\n"),
              "conf.yaml:2: node.nodeType: unknown role \"ingest\" (expected master, coordination "
              "or data)");
  ExpectError(Load("node:\n  nodeType:\n    - master\n    - all\n"),
              "conf.yaml:4: node.nodeType[1]: unknown role \"all\" (expected master, coordination "
              "or data)");
}

TEST(ConfigErrorTest, EmptyRoleList) {
  ExpectError(Load("node:\n  nodeType: []\n"),
              "conf.yaml:2: node.nodeType: must list at least one role (master, coordination or "
              "data)");
}

TEST(ConfigErrorTest, DuplicateRole) {
  ExpectError(Load("node:\n  nodeType: [data, master, data]\n"),
              "conf.yaml:2: node.nodeType[2]: duplicate role \"data\"");
}

TEST(ConfigErrorTest, PortOutOfRange) {
  ExpectError(Load("node:\n  httpPort: 70000\n"),
              "conf.yaml:2: node.httpPort: port 70000 out of range (expected 1 to 65535)");
  ExpectError(Load("controlPlane:\n  raft:\n    raftPort: 0\n"),
              "conf.yaml:3: controlPlane.raft.raftPort: port 0 out of range (expected 1 to 65535)");
  ExpectError(Load("node:\n  grpcPort: -1\n"),
              "conf.yaml:2: node.grpcPort: port -1 out of range (expected 1 to 65535)");
}

TEST(ConfigErrorTest, BadPeerAddresses) {
  ExpectError(Load("controlPlane:\n  raft:\n    peers:\n      - m1:9300\n      - m2\n"),
              "conf.yaml:5: controlPlane.raft.peers[1]: invalid address \"m2\" (expected "
              "host:port, e.g. 10.0.0.1:9300)");
  ExpectErrorContains(Load("controlPlane:\n  raft:\n    peers: [\"m1:99999\"]\n"),
                      {"conf.yaml:3", "controlPlane.raft.peers[0]", "out of range"});
  ExpectErrorContains(Load("controlPlane:\n  raft:\n    peers: [\"::1:9300\"]\n"),
                      {"conf.yaml:3", "controlPlane.raft.peers[0]", "invalid address"});
  ExpectError(Load("controlPlane:\n  raft:\n    masters: [a:1, a:1]\n"),
              "conf.yaml:3: controlPlane.raft.masters[1]: duplicate address \"a:1\"");
}

TEST(ConfigErrorTest, UndefinedVariable) {
  ExpectError(Load("node:\n  nodeId: ${NODE_ID}\n"),
              "conf.yaml:2: node.nodeId: undefined environment variable ${NODE_ID}");
  ExpectError(
      Load("node:\n  nodeId: x-${A\n", {{"A", "1"}}),
      "conf.yaml:2: node.nodeId: unterminated ${ in \"x-${A\" (write $${ for a literal ${)");
  ExpectErrorContains(Load("node:\n  nodeId: ${1A}\n"),
                      {"conf.yaml:2", "node.nodeId", "invalid variable reference ${1A}"});
}

TEST(ConfigErrorTest, TopLevelNotAMap) {
  ExpectError(Load("- a\n- b\n"),
              "conf.yaml:1: the top level must be a map of sections (cluster, controlPlane, node, "
              "data), got a list");
  ExpectError(Load("just a string\n"),
              "conf.yaml:1: the top level must be a map of sections (cluster, controlPlane, node, "
              "data), got a scalar");
}

TEST(ConfigErrorTest, YamlSyntaxError) {
  Result<Config> r = Load("node:\n  httpPort: [9200\n");
  ExpectErrorContains(r, {"conf.yaml:", ": invalid YAML: "});
  EXPECT_THAT(r.status().message(), ::testing::StartsWith("conf.yaml:3: invalid YAML: "));
  ExpectErrorContains(Load("node:\n  a: b: c\n"), {"conf.yaml:2: invalid YAML: illegal map value"});
}

TEST(ConfigErrorTest, MoreThanOneDocument) {
  ExpectErrorContains(Load("node:\n  httpPort: 1\n---\nnode:\n  httpPort: 2\n"),
                      {"conf.yaml:4", "more than one YAML document"});
}

TEST(ConfigErrorTest, BadEnvironmentValueNamesTheVariable) {
  ExpectError(Load("", {{"RAFT_PORT", "abc"}}),
              "environment variable RAFT_PORT: controlPlane.raft.raftPort: expected an integer, "
              "got \"abc\"");
  ExpectError(Load("", {{"CONTROL_PLANE_MODE", "swarm"}}),
              "environment variable CONTROL_PLANE_MODE: controlPlane.mode: unknown mode \"swarm\" "
              "(expected raft, k8s or auto)");
  ExpectError(Load("", {{"LEADER_ELECT", "yes"}}),
              "environment variable LEADER_ELECT: controlPlane.k8s.leaderElect: expected true or "
              "false, got \"yes\"");
  ExpectError(
      Load("", {{"BOOTSTRAP_CLUSTER", "TRUE"}}),
      "environment variable BOOTSTRAP_CLUSTER: controlPlane.raft.bootstrapCluster: expected "
      "true or false, got \"TRUE\"");
  ExpectError(Load("", {{"RAFT_PEERS", "m1:9300,m2"}}),
              "environment variable RAFT_PEERS: controlPlane.raft.peers[1]: invalid address \"m2\" "
              "(expected host:port, e.g. 10.0.0.1:9300)");
}

TEST(ConfigErrorTest, SetButEmptyEnvironmentVariables) {
  ExpectError(
      Load("", {{"RAFT_PORT", ""}}),
      "environment variable RAFT_PORT: controlPlane.raft.raftPort: expected an integer, got "
      "\"\"");
  ExpectError(Load("", {{"LEADER_ELECT", ""}}),
              "environment variable LEADER_ELECT: controlPlane.k8s.leaderElect: expected true or "
              "false, got \"\"");
  ExpectError(Load("", {{"NODE_ID", ""}}),
              "environment variable NODE_ID: node.nodeId: must not be empty");
  ExpectError(Load("", {{"NAMESPACE", ""}}),
              "environment variable NAMESPACE: controlPlane.k8s.namespace: must not be empty");
  ExpectErrorContains(Load("", {{"CONTROL_PLANE_MODE", ""}}),
                      {"environment variable CONTROL_PLANE_MODE", "unknown mode \"\""});
}

TEST(ConfigErrorTest, BadFlagValueNamesTheFlag) {
  ExpectError(Load("", {}, Args({"--http-port=abc"})),
              "flag --http-port: node.httpPort: expected an integer, got \"abc\"");
  ExpectError(Load("", {}, Args({"--raft-port", "0"})),
              "flag --raft-port: controlPlane.raft.raftPort: port 0 out of range (expected 1 to "
              "65535)");
  ExpectError(Load("", {}, Args({"-E", "node.heartbeatTimeout=soon"})),
              "flag -E: node.heartbeatTimeout: invalid duration \"soon\" (expected a number "
              "followed by ms, s, m, h or d, e.g. 500ms)");
  ExpectError(Load("", {}, Args({"--set=controlPlane.k8s.leaderElect=no"})),
              "flag --set: controlPlane.k8s.leaderElect: expected true or false, got \"no\"");
  ExpectError(Load("", {}, Args({"--node-type", "master,master"})),
              "flag --node-type: node.nodeType[1]: duplicate role \"master\"");
  ExpectError(Load("", {}, Args({"--node-type="})),
              "flag --node-type: node.nodeType: must list at least one role (master, coordination "
              "or data)");
  ExpectError(Load("", {}, Args({"--mode", "k9s"})),
              "flag --mode: controlPlane.mode: unknown mode \"k9s\" (expected raft, k8s or auto)");
  ExpectError(Load("", {}, Args({"--node-id="})), "flag --node-id: node.nodeId: must not be empty");
  ExpectError(Load("", {}, Args({"--bootstrap=maybe"})),
              "flag --bootstrap: controlPlane.raft.bootstrapCluster: expected true or false, got "
              "\"maybe\"");
}

TEST(ConfigErrorTest, UnknownSetKey) {
  const char* argv[] = {"quidditch", "-E", "node.foo=1"};
  Result<CommandLine> cl = ParseCommandLine(3, argv);
  ASSERT_FALSE(cl.ok());
  EXPECT_EQ(cl.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cl.status().message(), "flag -E: node.foo: unknown key");

  const char* argv2[] = {"quidditch", "--set", "node=1"};
  cl = ParseCommandLine(3, argv2);
  ASSERT_FALSE(cl.ok());
  EXPECT_THAT(cl.status().message(), HasSubstr("flag --set: node: is a section"));

  // A hand-built command line is checked by the loader too.
  CommandLine manual;
  manual.overrides.push_back({"data.nope", "1", "-E"});
  ExpectError(Load("", {}, manual), "flag -E: data.nope: unknown key");
}

TEST(ConfigErrorTest, MissingFileNamesFileAndReason) {
  CommandLine cl;
  cl.config_file = "/nonexistent-dir-qd/missing.yaml";
  ExpectError(LoadConfig(cl, {}),
              "/nonexistent-dir-qd/missing.yaml: cannot read file: No such file or directory");
  cl.config_file = "/";
  ExpectError(LoadConfig(cl, {}), "/: cannot read file: Is a directory");
}

TEST(ConfigErrorTest, MessagesAreOneLine) {
  ExpectErrorContains(
      Load("cluster:\n  name: |\n    two\n    lines\nnode:\n  httpPort: \"a\\nb\"\n"),
      {"conf.yaml:6", "node.httpPort", "expected an integer, got \"a\\nb\""});
}

TEST(ConfigErrorTest, ErrorsUseTheGivenSourceName) {
  Result<Config> r = LoadConfigFromString("x: 1\n", "path/to/file.yaml", {}, {});
  ExpectError(r, "path/to/file.yaml:1: x: unknown key");
}

// ---------------------------------------------------------------------------------------------
// Files on disk

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd_config_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigFileTest, LoadsFileAndNamesItInErrors) {
  std::string path = Write("good.yaml", "node:\n  httpPort: 9999\n");
  CommandLine cl;
  cl.config_file = path;
  Result<Config> c = LoadConfig(cl, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 9999);

  path = Write("bad.yaml", "node:\n  httpPort: 9999\n  nope: 1\n");
  cl.config_file = path;
  ExpectError(LoadConfig(cl, {}), path + ":3: node.nope: unknown key");
}

TEST_F(ConfigFileTest, FlagsApplyOverTheFile) {
  std::string path = Write("c.yaml", "node:\n  httpPort: 9999\n");
  Result<CommandLine> cl = [&] {
    std::string config_flag = "--config=" + path;
    const char* argv[] = {"quidditch", config_flag.c_str(), "--http-port", "1234"};
    return ParseCommandLine(4, argv);
  }();
  ASSERT_TRUE(cl.ok()) << cl.status();
  Result<Config> c = LoadConfig(*cl, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 1234);
}

// ---------------------------------------------------------------------------------------------
// Precedence, environment, expansion

TEST(ConfigPrecedenceTest, FileThenEnvironmentThenFlags) {
  const std::string file = "controlPlane:\n  mode: k8s\n  raft:\n    raftPort: 1000\n";
  Result<Config> c = Load(file);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.raft_port, 1000);
  EXPECT_EQ(c->control_plane.mode, ControlPlaneMode::kK8s);

  Env env = {{"RAFT_PORT", "2000"}, {"CONTROL_PLANE_MODE", "auto"}};
  c = Load(file, env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.raft_port, 2000);
  EXPECT_EQ(c->control_plane.mode, ControlPlaneMode::kAuto);

  c = Load(file, env, Args({"--raft-port", "3000", "--mode=raft"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.raft_port, 3000);
  EXPECT_EQ(c->control_plane.mode, ControlPlaneMode::kRaft);

  // Flags in command-line order: the last one wins.
  c = Load(file, env, Args({"--raft-port", "3000", "-E", "controlPlane.raft.raftPort=4000"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.raft_port, 4000);
}

TEST(ConfigPrecedenceTest, OverriddenFileValuesAreNotUsed) {
  // The file value is replaced before decoding, so neither its bad content nor an undefined
  // variable in it matters.
  Result<Config> c = Load("node:\n  httpPort: nonsense\n  nodeId: ${UNSET}\n", {{"NODE_ID", "n1"}},
                          Args({"--http-port=8080"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 8080);
  EXPECT_EQ(c->node.node_id, "n1");
}

TEST(ConfigPrecedenceTest, EveryEnvironmentVariable) {
  Env env = {{"CONTROL_PLANE_MODE", "k8s"}, {"NODE_ID", "pod-3"},
             {"RAFT_PORT", "7300"},         {"RAFT_PEERS", "a:7300,b:7300"},
             {"BOOTSTRAP_CLUSTER", "true"}, {"NAMESPACE", "search"},
             {"LEADER_ELECT", "false"},     {"UNRELATED", "ignored"}};
  Result<Config> c = Load("", env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.mode, ControlPlaneMode::kK8s);
  EXPECT_EQ(c->node.node_id, "pod-3");
  EXPECT_EQ(c->control_plane.raft.node_id, "pod-3");
  EXPECT_EQ(c->control_plane.raft.raft_port, 7300);
  EXPECT_EQ(c->control_plane.raft.peers, (std::vector<std::string>{"a:7300", "b:7300"}));
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);
  EXPECT_EQ(c->control_plane.k8s.namespace_, "search");
  EXPECT_FALSE(c->control_plane.k8s.leader_elect);
}

TEST(ConfigPrecedenceTest, NodeIdEnvironmentOverridesBothIds) {
  Result<Config> c = Load("controlPlane:\n  raft:\n    nodeId: file-raft\nnode:\n  nodeId: file\n",
                          {{"NODE_ID", "env"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.node_id, "env");
  EXPECT_EQ(c->control_plane.raft.node_id, "env");

  c = Load("", {{"NODE_ID", "env"}}, Args({"--node-id", "flag"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.node_id, "flag");
  EXPECT_EQ(c->control_plane.raft.node_id, "flag");
}

TEST(ConfigPrecedenceTest, EveryConvenienceFlag) {
  Result<Config> c = Load("", {},
                          Args({"--mode", "raft", "--node-id", "n7", "--node-type", "master, data",
                                "--bind-addr", "0.0.0.0", "--http-port", "9201", "--grpc-port=9402",
                                "--raft-port", "9500", "--data-dir", "/srv/qd", "--peers",
                                "a:9500,b:9500", "--bootstrap", "--cluster-name=blue"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.mode, ControlPlaneMode::kRaft);
  EXPECT_EQ(c->node.node_id, "n7");
  EXPECT_EQ(c->control_plane.raft.node_id, "n7");
  EXPECT_EQ(c->node.roles, (Roles{true, false, true}));
  EXPECT_EQ(c->node.bind_addr, "0.0.0.0");
  EXPECT_EQ(c->control_plane.raft.bind_addr, "127.0.0.1");
  EXPECT_EQ(c->node.http_port, 9201);
  EXPECT_EQ(c->node.grpc_port, 9402);
  EXPECT_EQ(c->control_plane.raft.raft_port, 9500);
  EXPECT_EQ(c->data.data_dir, "/srv/qd");
  EXPECT_EQ(c->control_plane.raft.data_dir, "/srv/qd/raft");
  EXPECT_EQ(c->control_plane.raft.peers, (std::vector<std::string>{"a:9500", "b:9500"}));
  EXPECT_EQ(c->control_plane.raft.masters, (std::vector<std::string>{"a:9301", "b:9301"}));
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);  // --bootstrap despite peers
  EXPECT_EQ(c->cluster_name, "blue");
}

TEST(ConfigPrecedenceTest, SetAnyKeyIncludingLists) {
  Result<Config> c = Load("", {},
                          Args({"-E", "node.httpPort=9201",
                                "-Econtrol"
                                "Plane.raft.masters=x:1,y:2",
                                "--set", "data.diagonConfig.maxMemory=2gb",
                                "--set=node.nodeType=data", "-E", "controlPlane.k8s.kubeconfig="}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 9201);
  EXPECT_EQ(c->control_plane.raft.masters, (std::vector<std::string>{"x:1", "y:2"}));
  EXPECT_EQ(c->data.diagon.max_memory_bytes, int64_t{2} << 30);
  EXPECT_EQ(c->node.roles, (Roles{false, false, true}));
  EXPECT_EQ(c->control_plane.k8s.kubeconfig, "");
}

TEST(ConfigPrecedenceTest, OverrideIntoNullSection) {
  Result<Config> c = Load("node:\n", {}, Args({"--http-port", "1"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.http_port, 1);
}

TEST(ConfigEnvTest, RaftPeersListParsing) {
  Result<Config> c = Load("", {{"RAFT_PEERS", " m1:9300 , m2:9300,m3:9300  "}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.peers,
            (std::vector<std::string>{"m1:9300", "m2:9300", "m3:9300"}));
  EXPECT_FALSE(c->control_plane.raft.bootstrap_cluster);

  c = Load("", {{"RAFT_PEERS", "m1:9300"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.peers, (std::vector<std::string>{"m1:9300"}));

  // Set but empty: no peers (single-node bootstrap), overriding the file.
  c = Load("controlPlane:\n  raft:\n    peers: [a:1]\n", {{"RAFT_PEERS", ""}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->control_plane.raft.peers.empty());
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);

  for (const char* bad : {"m1:9300,,m2:9300", "m1:9300,", ",m1:9300", "m1:9300, ,m2:9300"}) {
    SCOPED_TRACE(bad);
    ExpectErrorContains(Load("", {{"RAFT_PEERS", bad}}),
                        {"environment variable RAFT_PEERS: controlPlane.raft.peers: empty item"});
  }
  ExpectError(Load("", {{"RAFT_PEERS", "m1:9300,m1:9300"}}),
              "environment variable RAFT_PEERS: controlPlane.raft.peers[1]: duplicate address "
              "\"m1:9300\"");
}

TEST(ConfigEnvTest, VariableExpansion) {
  Env env = {{"NODE", "n-1"}, {"PORT", "9400"}, {"EMPTY", ""}, {"DIR", "/srv"}};
  Result<Config> c = Load(
      "node:\n"
      "  nodeId: ${NODE}\n"
      "  httpPort: ${PORT}\n"
      "  bindAddr: ${MISSING:-0.0.0.0}\n"
      "cluster:\n"
      "  name: \"${EMPTY:-fallback}-${NODE}-${EMPTY}x\"\n"
      "data:\n"
      "  dataDir: ${DIR}/data\n"
      "controlPlane:\n"
      "  raft:\n"
      "    peers: [\"${NODE}:9300\"]\n"
      "  k8s:\n"
      "    kubeconfig: cost $$5 and $${LITERAL}\n",
      env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.node_id, "n-1");
  EXPECT_EQ(c->node.http_port, 9400);
  EXPECT_EQ(c->node.bind_addr, "0.0.0.0");
  EXPECT_EQ(c->cluster_name, "fallback-n-1-x");
  EXPECT_EQ(c->data.data_dir, "/srv/data");
  EXPECT_EQ(c->control_plane.raft.data_dir, "/srv/data/raft");
  EXPECT_EQ(c->control_plane.raft.peers, (std::vector<std::string>{"n-1:9300"}));
  EXPECT_EQ(c->control_plane.k8s.kubeconfig, "cost $$5 and ${LITERAL}");
}

TEST(ConfigEnvTest, ExpandedValuesAreValidated) {
  ExpectError(Load("node:\n  httpPort: ${PORT}\n", {{"PORT", "http"}}),
              "conf.yaml:2: node.httpPort: expected an integer, got \"http\"");
  ExpectError(Load("node:\n  nodeId: ${EMPTY}\n", {{"EMPTY", ""}}),
              "conf.yaml:2: node.nodeId: must not be empty");
}

TEST(ConfigEnvTest, ExpansionIsNotAppliedToOverrides) {
  Result<Config> c = Load("", {{"NODE_ID", "${X}"}, {"X", "y"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.node_id, "${X}");
}

// ---------------------------------------------------------------------------------------------
// Derived defaults

TEST(ConfigDerivedTest, BootstrapDefaultsToNoPeers) {
  Result<Config> c = Load("");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);
  c = Load("controlPlane:\n  raft:\n    peers: [a:1, b:1]\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->control_plane.raft.bootstrap_cluster);
  c = Load("controlPlane:\n  raft:\n    peers: [a:1]\n    bootstrapCluster: true\n");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);
  c = Load("controlPlane:\n  raft:\n    bootstrapCluster: false\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->control_plane.raft.bootstrap_cluster);
  c = Load("", {{"RAFT_PEERS", "a:1"}, {"BOOTSTRAP_CLUSTER", "true"}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->control_plane.raft.bootstrap_cluster);
}

TEST(ConfigDerivedTest, MastersDefaultToPeerHostsWithGrpcPort) {
  Result<Config> c = Load(
      "controlPlane:\n  raft:\n    grpcPort: 7777\n    peers: [m1:9300, \"10.0.0.2:9300\", "
      "\"[fe80::1]:9300\"]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.masters,
            (std::vector<std::string>{"m1:7777", "10.0.0.2:7777", "[fe80::1]:7777"}));

  c = Load("controlPlane:\n  raft:\n    peers: [m1:9300]\n    masters: [lb:443]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->control_plane.raft.masters, (std::vector<std::string>{"lb:443"}));

  c = Load("controlPlane:\n  raft:\n    peers: [m1:9300]\n    masters: []\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->control_plane.raft.masters.empty());
}

TEST(ConfigDerivedTest, RaftDataDirFollowsDataDir) {
  Result<Config> c = Load("data:\n  dataDir: /var/qd\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.data_dir, "/var/qd/raft");
  c = Load("data:\n  dataDir: /var/qd/\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.data_dir, "/var/qd/raft");
  c = Load("data:\n  dataDir: /var/qd\ncontrolPlane:\n  raft:\n    dataDir: /fast/raft\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.data_dir, "/fast/raft");
  c = Load("", {}, Args({"--data-dir", "rel"}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.data_dir, "rel/raft");
}

TEST(ConfigDerivedTest, RaftNodeIdFollowsNodeId) {
  Result<Config> c = Load("node:\n  nodeId: alpha\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.node_id, "alpha");
  c = Load("node:\n  nodeId: alpha\ncontrolPlane:\n  raft:\n    nodeId: beta\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node.node_id, "alpha");
  EXPECT_EQ(c->control_plane.raft.node_id, "beta");
  c = Load("", {}, Args({"-E", "node.nodeId=gamma"}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_plane.raft.node_id, "gamma");
  c = Load("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node.node_id, HostName());
  EXPECT_EQ(c->control_plane.raft.node_id, HostName());
}

// ---------------------------------------------------------------------------------------------
// Durations and sizes

TEST(ParseDurationTest, Good) {
  struct Case {
    const char* text;
    int64_t ms;
  } cases[] = {{"500ms", 500},
               {"10s", 10000},
               {"2m", 120000},
               {"1h", 3600000},
               {"1d", 86400000},
               {"1500", 1500},
               {"0", 0},
               {"0s", 0},
               {"1.5s", 1500},
               {"0.25m", 15000},
               {"2.0ms", 2},
               {"10 s", 10000},
               {"10S", 10000},
               {"  7ms ", 7},
               {"1.000s", 1000},
               {"0.001s", 1},
               {"106751991167d", 106751991167LL * 86400000}};
  for (const Case& c : cases) {
    Result<milliseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(ParseDurationTest, Bad) {
  for (const char* text :
       {"", "abc", "ms", "5x", "5 sec", "-1s", "+1s", "1.s", ".5s", "1e3ms", "1,5s", "5s5", "1.5ms",
        "0.0001s", "99999999999999999999ms", "106751991168d", "1.2.3s"}) {
    Result<milliseconds> d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr("invalid duration"));
  }
  EXPECT_EQ(
      ParseDuration("abc").status().message(),
      "invalid duration \"abc\" (expected a number followed by ms, s, m, h or d, e.g. 500ms)");
}

TEST(ParseByteSizeTest, Good) {
  struct Case {
    const char* text;
    int64_t bytes;
  } cases[] = {{"512", 512},
               {"0", 0},
               {"10b", 10},
               {"64KB", 64 << 10},
               {"10mb", 10 << 20},
               {"16GB", int64_t{16} << 30},
               {"1.5gb", int64_t{3} << 29},
               {"2tb", int64_t{2} << 40},
               {"1 Kb", 1024},
               {"0.5kb", 512},
               {"8388607tb", int64_t{8388607} << 40}};
  for (const Case& c : cases) {
    Result<int64_t> s = ParseByteSize(c.text);
    ASSERT_TRUE(s.ok()) << c.text << ": " << s.status();
    EXPECT_EQ(*s, c.bytes) << c.text;
  }
}

TEST(ParseByteSizeTest, Bad) {
  for (const char* text : {"", "abc", "-1", "-1kb", "1xb", "1k", "1.1b", "0.3kb", "1e3",
                           "8388608tb", "99999999999999999999", "kb"}) {
    Result<int64_t> s = ParseByteSize(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr("invalid size"));
  }
}

// ---------------------------------------------------------------------------------------------
// Command line

Result<CommandLine> Parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"quidditch"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(ParseCommandLineTest, Empty) {
  Result<CommandLine> cl = Parse({});
  ASSERT_TRUE(cl.ok());
  EXPECT_FALSE(cl->config_file.has_value());
  EXPECT_FALSE(cl->help || cl->version || cl->print_config);
  EXPECT_TRUE(cl->overrides.empty());
}

TEST(ParseCommandLineTest, ModeFlags) {
  Result<CommandLine> cl = Parse({"--help", "--version", "--print-config"});
  ASSERT_TRUE(cl.ok());
  EXPECT_TRUE(cl->help);
  EXPECT_TRUE(cl->version);
  EXPECT_TRUE(cl->print_config);
  cl = Parse({"-h"});
  ASSERT_TRUE(cl.ok());
  EXPECT_TRUE(cl->help);
}

TEST(ParseCommandLineTest, ConfigBothForms) {
  Result<CommandLine> cl = Parse({"--config", "a.yaml"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->config_file, "a.yaml");
  cl = Parse({"--config=b.yaml"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->config_file, "b.yaml");
  cl = Parse({"--config=a=b.yaml"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->config_file, "a=b.yaml");
}

TEST(ParseCommandLineTest, OverridesRecordKeyValueAndFlag) {
  Result<CommandLine> cl =
      Parse({"--http-port", "1", "--node-id=n", "-E", "node.grpcPort=2", "-Edata.dataDir=d=e",
             "--set", "cluster.name = x", "--bootstrap", "--peers", "a:1,b:2"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  std::vector<std::tuple<std::string, std::string, std::string>> got;
  for (const auto& o : cl->overrides) got.emplace_back(o.key, o.value, o.flag);
  std::vector<std::tuple<std::string, std::string, std::string>> want = {
      {"node.httpPort", "1", "--http-port"},
      {"node.nodeId", "n", "--node-id"},
      {"controlPlane.raft.nodeId", "n", "--node-id"},
      {"node.grpcPort", "2", "-E"},
      {"data.dataDir", "d=e", "-E"},
      {"cluster.name", " x", "--set"},
      {"controlPlane.raft.bootstrapCluster", "true", "--bootstrap"},
      {"controlPlane.raft.peers", "a:1,b:2", "--peers"},
  };
  EXPECT_EQ(got, want);
}

TEST(ParseCommandLineTest, Errors) {
  struct Case {
    std::initializer_list<const char*> args;
    const char* message;
  } cases[] = {
      {{"--foo"}, "unknown flag --foo; see --help"},
      {{"--foo=1"}, "unknown flag --foo; see --help"},
      {{"-x"}, "unknown flag -x; see --help"},
      {{"serve"},
       "unexpected argument \"serve\" (quidditch takes no positional arguments); see "
       "--help"},
      {{"--http-port"}, "flag --http-port requires a value; see --help"},
      {{"--config"}, "flag --config requires a value; see --help"},
      {{"--config="}, "flag --config requires a file name; see --help"},
      {{"--node-id", "--print-config"}, "flag --node-id requires a value; see --help"},
      {{"-E"}, "flag -E requires a value; see --help"},
      {{"-E", "node.httpPort"}, "flag -E: expected key=value, got \"node.httpPort\""},
      {{"--set", "=1"}, "flag --set: expected key=value, got \"=1\""},
      {{"-E", "node.foo=1"}, "flag -E: node.foo: unknown key"},
      {{"--help=yes"}, "flag --help does not take a value; see --help"},
      {{"--version=1"}, "flag --version does not take a value; see --help"},
      {{"--print-config=1"}, "flag --print-config does not take a value; see --help"},
  };
  for (const Case& c : cases) {
    Result<CommandLine> cl = Parse(c.args);
    ASSERT_FALSE(cl.ok()) << *c.args.begin();
    EXPECT_EQ(cl.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(cl.status().message(), c.message);
  }
}

TEST(ParseCommandLineTest, UsageMentionsEveryFlagAndVariable) {
  std::string usage = UsageText();
  for (const char* s : {"--config",
                        "--print-config",
                        "--help",
                        "-h",
                        "--version",
                        "-E",
                        "--set",
                        "--mode",
                        "--node-id",
                        "--node-type",
                        "--bind-addr",
                        "--http-port",
                        "--grpc-port",
                        "--raft-port",
                        "--data-dir",
                        "--peers",
                        "--bootstrap",
                        "--cluster-name",
                        "CONTROL_PLANE_MODE",
                        "NODE_ID",
                        "RAFT_PORT",
                        "RAFT_PEERS",
                        "BOOTSTRAP_CLUSTER",
                        "NAMESPACE",
                        "LEADER_ELECT"}) {
    EXPECT_THAT(usage, HasSubstr(s));
  }
}

// ---------------------------------------------------------------------------------------------
// --print-config

void ExpectRoundTrip(const Config& c) {
  std::string yaml = ConfigToYaml(c);
  Result<Config> back = LoadConfigFromString(yaml, "printed", {}, {});
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
  EXPECT_EQ(*back, c) << yaml;
  EXPECT_EQ(ConfigToYaml(*back), yaml);
}

TEST(ConfigToYamlTest, DefaultsRoundTrip) {
  Result<Config> c = Load("");
  ASSERT_TRUE(c.ok());
  ExpectRoundTrip(*c);
}

TEST(ConfigToYamlTest, FullFileRoundTrips) {
  Result<Config> c = Load(kFullFile);
  ASSERT_TRUE(c.ok());
  ExpectRoundTrip(*c);
}

TEST(ConfigToYamlTest, AwkwardValuesRoundTrip) {
  Config c;
  c.cluster_name = "quote \" backslash \\ ${NOT_A_VAR} $${x} $ tab\t nl\n: # [x] 'é'";
  c.node.node_id = "${HOME}";
  c.control_plane.raft.node_id = "- yes";
  c.control_plane.raft.data_dir = "null";
  c.data.data_dir = "true";
  c.control_plane.k8s.kubeconfig = "";
  c.node.roles = Roles{false, true, false};
  c.control_plane.raft.heartbeat_timeout = milliseconds(1001);
  c.control_plane.raft.snapshot_interval = milliseconds(90000);
  c.data.diagon.max_memory_bytes = 1536;
  c.data.diagon.cache_size_bytes = 1;
  ExpectRoundTrip(c);
}

TEST(ConfigToYamlTest, Format) {
  Result<Config> c = Load(
      "node:\n  nodeId: n1\n  nodeType: data\ndata:\n  diagonConfig:\n    maxMemory: 16gb\n"
      "    cacheSize: 1536\ncontrolPlane:\n  raft:\n    peers: [a:1]\n");
  ASSERT_TRUE(c.ok());
  std::string yaml = ConfigToYaml(*c);
  for (const char* line : {"cluster:\n  name: \"quidditch\"\n",
                           "controlPlane:\n  mode: auto\n  raft:\n",
                           "    nodeId: \"n1\"\n",
                           "    raftPort: 9300\n",
                           "    bootstrapCluster: false\n",
                           "    peers: [\"a:1\"]\n",
                           "    masters: [\"a:9301\"]\n",
                           "    heartbeatTimeout: 1s\n",
                           "    electionTimeout: 3s\n",
                           "    commitTimeout: 50ms\n",
                           "    snapshotInterval: 2m\n",
                           "    snapshotThreshold: 8192\n",
                           "  k8s:\n    namespace: \"quidditch\"\n",
                           "    leaderElect: true\n",
                           "    leaseDuration: 15s\n",
                           "    kubeconfig: \"\"\n",
                           "node:\n  nodeId: \"n1\"\n  nodeType: [data]\n",
                           "  heartbeatTimeout: 10s\n",
                           "data:\n  dataDir: \"./data\"\n  diagonConfig:\n    maxMemory: 16gb\n",
                           "    cacheSize: 1536b\n"}) {
    EXPECT_THAT(yaml, HasSubstr(line));
  }
  EXPECT_THAT(ConfigToYaml(Config{}), HasSubstr("nodeType: [master, coordination, data]\n"));
  EXPECT_THAT(ConfigToYaml(Config{}), HasSubstr("maxMemory: 0\n"));
}

TEST(ConfigEnvTest, ProcessEnvironment) {
  ASSERT_EQ(setenv("QD_CONFIG_TEST_VAR", "a=b", 1), 0);
  std::map<std::string, std::string> env = ProcessEnvironment();
  EXPECT_EQ(env["QD_CONFIG_TEST_VAR"], "a=b");
  unsetenv("QD_CONFIG_TEST_VAR");
}

}  // namespace
}  // namespace quidditch
