// Process tests of the real `quidditch` binary: exit codes, stdout/stderr, and that a bad
// command line or configuration never creates the data directory.
//
// Every run gets a fresh temporary working directory and a controlled environment (PATH plus
// what the test sets); the binary is started with fork + execve.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"

namespace quidditch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs QUIDDITCH_BINARY with `args` in `cwd` with exactly the environment `env`. A process
// still running after `timeout` is killed (a test that reaches that point has failed).
RunResult RunProcess(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& cwd,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  RunResult result;
  std::vector<std::string> argv_s = {QUIDDITCH_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until execve.
    if (dup2(out_pipe[1], STDOUT_FILENO) < 0 || dup2(err_pipe[1], STDERR_FILENO) < 0) _exit(126);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        sinks[i]->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) {
    ADD_FAILURE() << "quidditch did not exit within " << timeout.count() << "ms; killing it";
    kill(pid, SIGKILL);
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "quidditch_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    data_dir_ = dir_ + "/data";
    const char* path = std::getenv("PATH");
    env_["PATH"] = path != nullptr ? path : "/usr/bin:/bin";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `name` in the temporary directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // A configuration whose data directory is inside the temporary directory, plus `extra`.
  std::string WriteConfig(const std::string& extra) {
    return WriteFile("conf.yaml", "data:\n  dataDir: " + data_dir_ + "\n" + extra);
  }

  RunResult RunQuidditch(const std::vector<std::string>& args) {
    return RunProcess(args, env_, dir_);
  }

  // Asserts the configuration-error contract: exit 2, nothing on stdout, exactly one line
  // "quidditch: ..." on stderr containing every part, and nothing created on disk.
  void ExpectConfigError(const RunResult& r, std::initializer_list<std::string> parts) {
    EXPECT_EQ(r.exit_code, 2) << "stderr: " << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, StartsWith("quidditch: "));
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
    for (const std::string& p : parts) EXPECT_THAT(r.err, HasSubstr(p));
    ExpectNothingCreated();
  }

  // Neither the configured data directory nor the default ./data exists, and the working
  // directory holds only the files the test wrote.
  void ExpectNothingCreated() {
    EXPECT_FALSE(fs::exists(data_dir_)) << data_dir_ << " was created";
    for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
      EXPECT_TRUE(e.is_regular_file() && e.path().extension() == ".yaml")
          << "unexpected " << e.path();
    }
  }

  std::string dir_;
  std::string data_dir_;
  std::map<std::string, std::string> env_;
};

// ---------------------------------------------------------------------------------------------
// Bad configurations: exit 2, one line naming file/key/reason, data dir untouched.

TEST_F(CliTest, UnknownKey) {
  std::string conf = WriteConfig("node:\n  httpPort: 9200\n  colour: blue\n");
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"quidditch: " + conf + ":5: node.colour: unknown key"});
}

TEST_F(CliTest, UnknownKeyAtTopLevel) {
  std::string conf = WriteConfig("nodes:\n  httpPort: 9200\n");
  ExpectConfigError(RunQuidditch({"--config=" + conf}),
                    {conf + ":3: nodes: unknown key (did you mean node?)"});
}

TEST_F(CliTest, BadDuration) {
  std::string conf = WriteConfig("controlPlane:\n  raft:\n    heartbeatTimeout: abc\n");
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"quidditch: " + conf +
                     ":5: controlPlane.raft.heartbeatTimeout: invalid duration \"abc\" (expected a "
                     "number followed by ms, s, m, h or d, e.g. 500ms)\n"});
}

TEST_F(CliTest, UnknownMode) {
  std::string conf = WriteConfig("controlPlane:\n  mode: rafty\n");
  ExpectConfigError(
      RunQuidditch({"--config", conf}),
      {"quidditch: " + conf +
       ":4: controlPlane.mode: unknown mode \"rafty\" (expected raft, k8s or auto)\n"});
}

TEST_F(CliTest, BadSizeAndWrongType) {
  std::string conf = WriteConfig("  diagonConfig:\n    maxMemory: 12 parsecs\n");
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {conf + ":4: data.diagonConfig.maxMemory: invalid size \"12 parsecs\""});
  conf = WriteConfig("node:\n  httpPort: abc\n");
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {conf + ":4: node.httpPort: expected an integer, got \"abc\""});
}

TEST_F(CliTest, MissingFile) {
  std::string missing = dir_ + "/missing.yaml";
  ExpectConfigError(RunQuidditch({"--config", missing}),
                    {"quidditch: " + missing + ": cannot read file: No such file or directory\n"});
}

TEST_F(CliTest, UndefinedVariable) {
  std::string conf = WriteConfig("node:\n  nodeId: ${QD_CLI_TEST_UNSET}\n");
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"quidditch: " + conf +
                     ":4: node.nodeId: undefined environment variable ${QD_CLI_TEST_UNSET}\n"});
}

TEST_F(CliTest, YamlSyntaxError) {
  std::string conf = WriteConfig("node:\n  httpPort: [9200\n");
  ExpectConfigError(RunQuidditch({"--config", conf}), {"quidditch: " + conf + ":", "invalid YAML"});
}

TEST_F(CliTest, BadEnvironmentValue) {
  std::string conf = WriteConfig("");
  env_["RAFT_PORT"] = "abc";
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"quidditch: environment variable RAFT_PORT: controlPlane.raft.raftPort: "
                     "expected an integer, got \"abc\"\n"});
}

TEST_F(CliTest, EmptyNodeIdEnvironmentValue) {
  std::string conf = WriteConfig("");
  env_["NODE_ID"] = "";
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"quidditch: environment variable NODE_ID: node.nodeId: must not be empty\n"});
}

TEST_F(CliTest, BadEnvironmentPeers) {
  std::string conf = WriteConfig("");
  env_["RAFT_PEERS"] = "m0:9300,,m2:9300";
  ExpectConfigError(RunQuidditch({"--config", conf}),
                    {"environment variable RAFT_PEERS: controlPlane.raft.peers: empty item"});
}

TEST_F(CliTest, UnknownFlag) {
  ExpectConfigError(RunQuidditch({"--data-dir", data_dir_, "--foo"}),
                    {"quidditch: unknown flag --foo; see --help\n"});
}

TEST_F(CliTest, MissingFlagValue) {
  ExpectConfigError(RunQuidditch({"--data-dir", data_dir_, "--http-port"}),
                    {"quidditch: flag --http-port requires a value; see --help\n"});
}

TEST_F(CliTest, PositionalArgument) {
  ExpectConfigError(RunQuidditch({"--data-dir", data_dir_, "start"}),
                    {"quidditch: unexpected argument \"start\""});
}

TEST_F(CliTest, BadFlagValue) {
  ExpectConfigError(RunQuidditch({"--data-dir", data_dir_, "--http-port=99999"}),
                    {"quidditch: flag --http-port: node.httpPort: port 99999 out of range "
                     "(expected 1 to 65535)\n"});
}

TEST_F(CliTest, UnknownSetKey) {
  ExpectConfigError(RunQuidditch({"--data-dir", data_dir_, "-E", "node.color=blue"}),
                    {"quidditch: flag -E: node.color: unknown key\n"});
}

TEST_F(CliTest, FlagErrorWinsOverValidFile) {
  std::string conf = WriteConfig("node:\n  httpPort: 9200\n");
  ExpectConfigError(RunQuidditch({"--config", conf, "--mode", "swarm"}),
                    {"quidditch: flag --mode: controlPlane.mode: unknown mode \"swarm\""});
}

// ---------------------------------------------------------------------------------------------
// --help, --version, --print-config

TEST_F(CliTest, Help) {
  for (const char* flag : {"--help", "-h"}) {
    RunResult r = RunQuidditch({flag});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, UsageText());
    EXPECT_EQ(r.err, "");
    ExpectNothingCreated();
  }
}

TEST_F(CliTest, Version) {
  RunResult r = RunQuidditch({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("quidditch ") + QUIDDITCH_VERSION + "\n");
  EXPECT_EQ(r.err, "");
  ExpectNothingCreated();
}

TEST_F(CliTest, PrintConfigDefaults) {
  RunResult r = RunQuidditch({"--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  Result<Config> expected = LoadConfigFromString("", "", {}, {});
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(r.out, ConfigToYaml(*expected));
  ExpectNothingCreated();
}

TEST_F(CliTest, PrintConfigAppliesFileEnvironmentAndFlags) {
  std::string conf = WriteConfig(
      "cluster:\n  name: ${CLUSTER}\nnode:\n  httpPort: 1000\ncontrolPlane:\n  mode: k8s\n"
      "  raft:\n    raftPort: 1000\n");
  env_["CLUSTER"] = "blue";
  env_["RAFT_PORT"] = "2000";
  env_["CONTROL_PLANE_MODE"] = "raft";
  env_["RAFT_PEERS"] = "m0:2000, m1:2000";
  env_["NODE_ID"] = "n-7";
  RunResult r = RunQuidditch({"--config", conf, "--print-config", "--http-port", "3000", "-E",
                              "controlPlane.raft.grpcPort=4000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  Result<Config> printed = LoadConfigFromString(r.out, "stdout", {}, {});
  ASSERT_TRUE(printed.ok()) << printed.status() << "\n" << r.out;
  EXPECT_EQ(printed->cluster_name, "blue");
  EXPECT_EQ(printed->node.http_port, 3000);
  EXPECT_EQ(printed->node.node_id, "n-7");
  EXPECT_EQ(printed->control_plane.mode, ControlPlaneMode::kRaft);
  EXPECT_EQ(printed->control_plane.raft.node_id, "n-7");
  EXPECT_EQ(printed->control_plane.raft.raft_port, 2000);
  EXPECT_EQ(printed->control_plane.raft.grpc_port, 4000);
  EXPECT_EQ(printed->control_plane.raft.peers, (std::vector<std::string>{"m0:2000", "m1:2000"}));
  EXPECT_EQ(printed->control_plane.raft.masters, (std::vector<std::string>{"m0:4000", "m1:4000"}));
  EXPECT_FALSE(printed->control_plane.raft.bootstrap_cluster);
  EXPECT_EQ(printed->data.data_dir, data_dir_);
  EXPECT_EQ(printed->control_plane.raft.data_dir, data_dir_ + "/raft");
  ExpectNothingCreated();
}

TEST_F(CliTest, ExampleConfigFileLoads) {
  std::string example = std::string(QUIDDITCH_SOURCE_DIR) + "/config/quidditch.yaml";
  env_["NODE_ID"] = "example-node";
  RunResult r = RunQuidditch({"--config", example, "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  Result<Config> printed = LoadConfigFromString(r.out, "stdout", {}, {});
  ASSERT_TRUE(printed.ok()) << printed.status() << "\n" << r.out;
  EXPECT_EQ(printed->control_plane.mode, ControlPlaneMode::kRaft);
  EXPECT_EQ(printed->node.node_id, "example-node");
  EXPECT_EQ(printed->control_plane.raft.node_id, "example-node");
  EXPECT_TRUE(printed->control_plane.raft.bootstrap_cluster);
  ExpectNothingCreated();

  // Without NODE_ID the file's ${NODE_ID:-...} default applies.
  env_.erase("NODE_ID");
  env_["QUIDDITCH_DATA_DIR"] = data_dir_;
  r = RunQuidditch({"--config", example, "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  printed = LoadConfigFromString(r.out, "stdout", {}, {});
  ASSERT_TRUE(printed.ok()) << printed.status() << "\n" << r.out;
  EXPECT_EQ(printed->node.node_id, "quidditch-1");
  EXPECT_EQ(printed->data.data_dir, data_dir_);
  ExpectNothingCreated();
}

TEST_F(CliTest, HelpNeedsNoValidConfiguration) {
  // --help and --version answer before the configuration is loaded.
  env_["RAFT_PORT"] = "abc";
  RunResult r = RunQuidditch({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunQuidditch({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace quidditch
