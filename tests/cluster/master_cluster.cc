#include "tests/cluster/master_cluster.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/codec.h"
#include "common/testing/ports.h"

namespace quidditch::testing {

MasterCluster::MasterCluster(MasterClusterOptions options) : options_(options) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "qd-cluster-XXXXXX").string();
  root_ = mkdtemp(tmpl.data());
  for (int i = 0; i < options_.masters; ++i) {
    raft_ports_.push_back(quidditch::testing::FreeLoopbackPort());
    grpc_.push_back(fmt::format("127.0.0.1:{}", quidditch::testing::FreeLoopbackPort()));
    pids_.push_back(-1);
  }
  client_ = std::make_unique<controlplane::rpc::MasterClient>(grpc_);
}

MasterCluster::~MasterCluster() {
  for (int i = 0; i < size(); ++i) {
    if (pids_[i] > 0) Kill(i);
  }
  std::filesystem::remove_all(root_);
}

void MasterCluster::Start(int i) {
  std::vector<std::string> peers;
  for (int port : raft_ports_) peers.push_back(fmt::format("127.0.0.1:{}", port));
  const std::string dir = fmt::format("{}/m{}", root_, i);
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/quidditch.yaml";
  std::ofstream(config) << fmt::format(
      "cluster:\n  name: test\n"
      "controlPlane:\n  mode: raft\n  raft:\n"
      "    bindAddr: 127.0.0.1\n    raftPort: {}\n    grpcPort: {}\n"
      "    bootstrapCluster: {}\n    peers: [{}]\n    masters: [{}]\n"
      "    heartbeatTimeout: {}ms\n    electionTimeout: {}ms\n    snapshotThreshold: {}\n"
      "node:\n  nodeId: m{}\n  nodeType: master\n  bindAddr: 127.0.0.1\n"
      "data:\n  dataDir: {}/data\n",
      raft_ports_[i], grpc_[i].substr(grpc_[i].rfind(':') + 1), i == 0 ? "true" : "false",
      fmt::join(peers, ", "), fmt::join(grpc_, ", "), options_.heartbeat_timeout.count(),
      options_.election_timeout.count(), options_.snapshot_threshold, i, dir);
  pid_t pid = fork();
  if (pid == 0) {
    int log = open((dir + "/log.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    setpgid(0, 0);
    execl(QUIDDITCH_BINARY, QUIDDITCH_BINARY, "--config", config.c_str(), nullptr);
    _exit(127);
  }
  pids_[i] = pid;
}

void MasterCluster::StartAll() {
  for (int i = 0; i < size(); ++i) Start(i);
}

void MasterCluster::Kill(int i) {
  if (pids_[i] <= 0) return;
  kill(pids_[i], SIGCONT);
  kill(pids_[i], SIGKILL);
  waitpid(pids_[i], nullptr, 0);
  pids_[i] = -1;
}

void MasterCluster::Stop(int i) {
  if (pids_[i] <= 0) return;
  kill(pids_[i], SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pids_[i], nullptr, WNOHANG) == pids_[i]) {
      pids_[i] = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(i);
}

void MasterCluster::Pause(int i) { kill(pids_[i], SIGSTOP); }
void MasterCluster::Resume(int i) { kill(pids_[i], SIGCONT); }

int MasterCluster::Leader() {
  // Asks again for a while: on a loaded machine a status call can miss its short deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    for (int i = 0; i < size(); ++i) {
      if (pids_[i] <= 0) continue;
      auto ctx = controlplane::CallContext::WithTimeout(std::chrono::milliseconds(500));
      Result<controlplane::rpc::MasterStatus> s = client_->GetMasterStatus(ctx, grpc_[i]);
      if (s.ok() && s->state == "leader") return i;
    }
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

namespace {

// True once something accepts TCP connections on 127.0.0.1:`port`.
bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

Status MasterCluster::WaitForLeader(std::chrono::milliseconds timeout, size_t voters) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Ask no master before it listens: a refused gRPC connection backs off for a second.
  for (int i = 0; i < size(); ++i) {
    const int port = std::stoi(grpc_[i].substr(grpc_[i].rfind(':') + 1));
    while (pids_[i] > 0 && !Accepts(port) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string leader;
    bool agreed = true;
    for (int i = 0; i < size() && agreed; ++i) {
      if (pids_[i] <= 0) continue;
      auto ctx = controlplane::CallContext::WithTimeout(std::chrono::milliseconds(500));
      Result<controlplane::rpc::MasterStatus> s = client_->GetMasterStatus(ctx, grpc_[i]);
      if (!s.ok() || !s->healthy || s->leader_grpc_address.empty() || s->voters.size() != voters) {
        agreed = false;
        last = s.ok() ? fmt::format("m{}: {} leader [{}] voters {}", i, s->state,
                                    s->leader_grpc_address, s->voters.size())
                      : s.status().ToString();
      } else if (leader.empty()) {
        leader = s->leader_grpc_address;
      } else if (leader != s->leader_grpc_address) {
        agreed = false;
      }
    }
    if (agreed && !leader.empty()) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("no agreed leader: " + last);
}

Result<std::string> MasterCluster::EncodedStateOf(int i) {
  controlplane::rpc::MasterClient one({grpc_[i]});
  auto ctx = controlplane::CallContext::WithTimeout(std::chrono::seconds(5));
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, one.GetState(ctx, /*linearizable=*/false));
  return cluster::EncodeState(*state).dump();
}

std::string MasterCluster::LogOf(int i) const {
  std::ifstream in(fmt::format("{}/m{}/log.txt", root_, i));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace quidditch::testing
