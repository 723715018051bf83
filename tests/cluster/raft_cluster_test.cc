// Fault tests of the Raft control plane with three real master processes on loopback.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "admin/admin.h"
#include "cluster/codec.h"
#include "tests/cluster/master_cluster.h"

namespace quidditch::testing {
namespace {

using controlplane::CallContext;
using std::chrono::milliseconds;
using std::chrono::seconds;

cluster::Command CreateIndex(const std::string& name) {
  cluster::CreateIndexCmd c;
  c.name = name;
  c.uuid = "uuid-" + name;
  c.settings.replicas = 0;
  return cluster::Command{1, c};
}

// Waits until every running member has applied the same state; returns it.
std::string WaitForConvergence(MasterCluster& cluster, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string first;
  while (std::chrono::steady_clock::now() < deadline) {
    first.clear();
    bool same = true;
    for (int i = 0; i < cluster.size() && same; ++i) {
      if (!cluster.IsRunning(i)) continue;
      Result<std::string> s = cluster.EncodedStateOf(i);
      if (!s.ok()) {
        same = false;
      } else if (first.empty()) {
        first = *s;
      } else {
        same = first == *s;
      }
    }
    if (same && !first.empty()) return first;
    std::this_thread::sleep_for(milliseconds(50));
  }
  ADD_FAILURE() << "members did not converge";
  return first;
}

class RaftClusterTest : public ::testing::Test {
 protected:
  // The last lines of every member's log, for failure messages.
  std::string Logs() {
    std::string out;
    for (int i = 0; i < cluster_->size(); ++i) {
      std::string log = cluster_->LogOf(i);
      size_t start = log.size() > 3000 ? log.size() - 3000 : 0;
      out += fmt::format("\n--- m{} ---\n{}", i, log.substr(start));
    }
    return out;
  }

  void StartCluster(MasterClusterOptions options = {}) {
    cluster_ = std::make_unique<MasterCluster>(options);
    cluster_->StartAll();
    Status s = cluster_->WaitForLeader(seconds(30), 3);
    ASSERT_TRUE(s.ok()) << s << "\n--- m0 ---\n"
                        << cluster_->LogOf(0) << "\n--- m1 ---\n"
                        << cluster_->LogOf(1) << "\n--- m2 ---\n"
                        << cluster_->LogOf(2);
  }
  // The index of a member that follows the current leader, or -1 when no leader answers.
  int Follower() {
    const int leader = cluster_->Leader();
    return leader < 0 ? -1 : (leader + 1) % cluster_->size();
  }

  std::unique_ptr<MasterCluster> cluster_;
};

TEST_F(RaftClusterTest, ThreeMastersFormReplicateAndForward) {
  StartCluster();
  // Proposals sent to each member (followers forward to the leader) all land.
  for (int i = 0; i < 3; ++i) {
    controlplane::rpc::MasterClient one({cluster_->grpc_addresses()[i]});
    auto ctx = CallContext::WithTimeout(seconds(10));
    Result<int64_t> v = one.Propose(ctx, {CreateIndex(fmt::format("via-m{}", i))});
    ASSERT_TRUE(v.ok()) << v.status();
  }
  std::string state = WaitForConvergence(*cluster_, seconds(10));
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(state.find(fmt::format("\"via-m{}\"", i)), std::string::npos);
  }
  // The first leader chose the cluster's uuid; every member holds the same one.
  EXPECT_EQ(cluster::ParseJson(state).value()["clusterUuid"].get<std::string>().size(), 22u)
      << state;
  // A typed error crosses the forwarding hop unchanged.
  const int follower_index = Follower();
  ASSERT_GE(follower_index, 0) << Logs();
  controlplane::rpc::MasterClient follower({cluster_->grpc_addresses()[follower_index]});
  auto ctx = CallContext::WithTimeout(seconds(10));
  cluster::Command dup = CreateIndex("via-m0");
  std::get<cluster::CreateIndexCmd>(dup.op).uuid = "another";
  EXPECT_TRUE(follower.Propose(ctx, {dup}).status().IsAlreadyExists());
}

// SIGKILL the leader while a client creates indices: a new leader takes over, every index the
// client saw acknowledged exists on every member, and nothing is created twice.
TEST_F(RaftClusterTest, LeaderKilledDuringWritesLosesNoAcknowledgedWrite) {
  StartCluster();
  const int rounds = std::getenv("QD_KILL_ROUNDS") ? std::atoi(std::getenv("QD_KILL_ROUNDS")) : 3;
  std::set<std::string> acknowledged;
  int next = 0;
  for (int round = 0; round < rounds; ++round) {
    std::atomic<bool> stop{false};
    std::vector<std::string> acked_this_round;
    std::thread writer([&] {
      while (!stop) {
        std::string name = fmt::format("idx-{}", next++);
        auto ctx = CallContext::WithTimeout(seconds(15));
        Result<int64_t> v = cluster_->client().Propose(ctx, {CreateIndex(name)});
        if (v.ok()) acked_this_round.push_back(name);
      }
    });
    std::this_thread::sleep_for(milliseconds(150));
    int leader = cluster_->Leader();
    ASSERT_GE(leader, 0);
    cluster_->Kill(leader);
    std::this_thread::sleep_for(milliseconds(700));
    stop = true;
    writer.join();
    cluster_->Start(leader);
    Status s = cluster_->WaitForLeader(seconds(30), 3);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s << Logs();
    acknowledged.insert(acked_this_round.begin(), acked_this_round.end());
    std::string state = WaitForConvergence(*cluster_, seconds(20));
    Result<cluster::Json> json = cluster::ParseJson(state);
    ASSERT_TRUE(json.ok());
    const cluster::Json& indices = (*json)["indices"];
    for (const std::string& name : acknowledged) {
      ASSERT_TRUE(indices.contains(name))
          << "round " << round << ": acknowledged " << name << " is lost";
    }
    std::set<std::string> uuids;
    for (const auto& [name, index] : indices.items()) {
      EXPECT_TRUE(uuids.insert(index["uuid"].get<std::string>()).second) << "duplicate " << name;
    }
  }
  EXPECT_GT(acknowledged.size(), static_cast<size_t>(rounds));
  // Election safety: no term ever had two leaders (each member logs the terms it led).
  std::map<std::string, int> leader_of_term;
  for (int i = 0; i < 3; ++i) {
    std::istringstream log(cluster_->LogOf(i));
    const std::string marker = "this member is now the leader (term ";
    for (std::string line; std::getline(log, line);) {
      size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      std::string term = line.substr(at + marker.size());
      term = term.substr(0, term.find(')'));
      auto [it, inserted] = leader_of_term.emplace(term, i);
      EXPECT_TRUE(inserted || it->second == i)
          << "term " << term << " had two leaders: m" << it->second << " and m" << i;
    }
  }
  EXPECT_GE(leader_of_term.size(), static_cast<size_t>(rounds));
  std::cout << fmt::format(
      "leader-kill: {} rounds, {} indices acknowledged, all present once on every member; {} "
      "terms with a leader, none with two\n",
      rounds, acknowledged.size(), leader_of_term.size());
}

// Proposes `count` CreateIndex commands named <prefix><i>, each carrying 32 KiB of mapping
// metadata so that the log passes the snapshot threshold with some volume.
// Proposes `command` until it is acknowledged or `timeout` passes. Retrying is safe: a
// CreateIndex with the same uuid applies once (what a real client relies on when a leader
// change leaves an answer unknown).
Status ProposeRetrying(MasterCluster& cluster, const cluster::Command& command,
                       milliseconds timeout = seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    CallContext ctx;
    ctx.deadline = std::min(deadline, std::chrono::steady_clock::now() + seconds(5));
    Result<int64_t> v = cluster.client().Propose(ctx, {command});
    if (v.ok()) return Status::OK();
    last = v.status();
    if (!last.IsTimeout() && !last.IsUnavailable()) return last;
  }
  return last;
}

// Proposes `count` CreateIndex commands named <prefix><i>, each carrying 32 KiB of mapping
// metadata so that the log passes the snapshot threshold with some volume.
Status ProposeLarge(MasterCluster& cluster, const std::string& prefix, int count) {
  const std::string filler(32 << 10, 'x');
  for (int i = 0; i < count; ++i) {
    cluster::Command c = CreateIndex(fmt::format("{}{}", prefix, i));
    std::get<cluster::CreateIndexCmd>(c.op).mappings = {{"_meta", {{"filler", filler}}}};
    QD_RETURN_IF_ERROR(ProposeRetrying(cluster, c).WithPrefix(fmt::format("{}{}", prefix, i)));
  }
  return Status::OK();
}

// A follower paused (SIGSTOP) while the log grows far past the snapshot threshold serves the
// same state after SIGCONT. (libuv queues the leader's messages to it in memory, so it catches
// up from those; the snapshot path is the next test.)
TEST_F(RaftClusterTest, PausedFollowerCatchesUp) {
  MasterClusterOptions options;
  options.snapshot_threshold = 16;
  StartCluster(options);
  const int follower = Follower();
  ASSERT_GE(follower, 0) << Logs();
  cluster_->Pause(follower);
  Status s = ProposeLarge(*cluster_, "p", 120);
  ASSERT_TRUE(s.ok()) << s << Logs();
  cluster_->Resume(follower);
  std::string state = WaitForConvergence(*cluster_, seconds(30));
  EXPECT_NE(state.find("\"p119\""), std::string::npos);
}

// A follower that was down while the leader compacted its log past what the follower has
// catches up through a snapshot install.
TEST_F(RaftClusterTest, LaggingFollowerCatchesUpThroughSnapshotInstall) {
  MasterClusterOptions options;
  options.snapshot_threshold = 16;
  StartCluster(options);
  const int follower = Follower();
  ASSERT_GE(follower, 0) << Logs();
  cluster_->Kill(follower);
  Status s = ProposeLarge(*cluster_, "s", 120);
  ASSERT_TRUE(s.ok()) << s << Logs();
  cluster_->Start(follower);
  std::string state = WaitForConvergence(*cluster_, seconds(30));
  EXPECT_NE(state.find("\"s119\""), std::string::npos);
  EXPECT_NE(cluster_->LogOf(follower).find("installed a snapshot from the leader"),
            std::string::npos)
      << Logs();
}

TEST_F(RaftClusterTest, AdminToolReadsStateAndHealthFromAnyMaster) {
  StartCluster();
  auto ctx = CallContext::WithTimeout(seconds(10));
  ASSERT_TRUE(cluster_->client().Propose(ctx, {CreateIndex("admin-idx")}).ok());
  WaitForConvergence(*cluster_, seconds(10));
  const int follower_index = Follower();
  ASSERT_GE(follower_index, 0) << Logs();
  const std::string follower = cluster_->grpc_addresses()[follower_index];
  std::ostringstream out, err;
  ASSERT_EQ(admin::RunAdmin({"cluster-state", "--master", follower, "--json"}, out, err), 0)
      << err.str();
  Result<cluster::Json> state = cluster::ParseJson(out.str());
  ASSERT_TRUE(state.ok()) << out.str();
  EXPECT_TRUE((*state)["indices"].contains("admin-idx"));
  std::ostringstream health_out, health_err;
  ASSERT_EQ(admin::RunAdmin({"health", "--master", follower, "--json"}, health_out, health_err), 0)
      << health_err.str();
  Result<cluster::Json> health = cluster::ParseJson(health_out.str());
  ASSERT_TRUE(health.ok()) << health_out.str();
  EXPECT_EQ((*health)["status"], "red") << "no data node holds the index's primary";
  EXPECT_EQ((*health)["master"]["raft_state"], "follower");
  EXPECT_EQ((*health)["master"]["healthy"], true);
}

TEST_F(RaftClusterTest, StopAllAndRestartKeepsTheState) {
  StartCluster();
  for (int i = 0; i < 30; ++i) {
    Status s = ProposeRetrying(*cluster_, CreateIndex(fmt::format("r{}", i)));
    ASSERT_TRUE(s.ok()) << s << Logs();
  }
  std::string before = WaitForConvergence(*cluster_, seconds(10));
  for (int i = 0; i < 3; ++i) cluster_->Stop(i);
  cluster_->StartAll();
  ASSERT_TRUE(cluster_->WaitForLeader(seconds(30), 3).ok());
  // The restarted members re-register themselves (heartbeats): compare the indices only.
  std::string after = WaitForConvergence(*cluster_, seconds(20));
  EXPECT_EQ(cluster::ParseJson(after).value()["indices"],
            cluster::ParseJson(before).value()["indices"]);
  EXPECT_EQ(cluster::ParseJson(after).value()["clusterUuid"],
            cluster::ParseJson(before).value()["clusterUuid"]);
  EXPECT_NE(cluster::ParseJson(before).value()["clusterUuid"], "");
}

}  // namespace
}  // namespace quidditch::testing
