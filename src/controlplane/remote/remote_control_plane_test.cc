// RemoteControlPlane against a real MasterService (gRPC on 127.0.0.1, ephemeral ports) in
// front of a FakeMasterBackend.
#include "controlplane/remote/remote_control_plane.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/test_util.h"
#include "controlplane/rpc/master_service.h"

namespace quidditch::controlplane::remote {
namespace {

using cluster::ClusterStateEvent;
using cluster::Command;
using cluster::EventType;
using cluster::testing::Cmd;
using cluster::testing::DataNode;
using cluster::testing::NewIndex;
using rpc::MasterGrpcServer;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kSlack{1500};
// Long enough for a reconnect on a loaded machine; the waits end as soon as the condition holds.
constexpr milliseconds kConverge{15000};

// A test-only MasterBackend: applies batches with cluster::ApplyBatch to its own StateStore
// under a mutex (the real one needs Raft).
class FakeMasterBackend final : public rpc::MasterBackend {
 public:
  explicit FakeMasterBackend(size_t retained = 4096) : store_(retained) {
    status_.node_id = "m1";
    status_.state = "leader";
    status_.leader_id = "m1";
    status_.healthy = true;
  }

  Result<int64_t> ProposeCommands(const CallContext& /*ctx*/,
                                  const std::vector<Command>& commands) override {
    return Apply(commands);
  }
  Status SyncLocal(const CallContext& /*ctx*/) override { return Status::OK(); }
  StateStore& LocalStore() override { return store_; }
  rpc::MasterStatus GetMasterStatus() override {
    std::lock_guard<std::mutex> lock(mu_);
    rpc::MasterStatus status = status_;
    status.state_version = store_.Current()->version;
    return status;
  }
  Status AddMaster(const CallContext& /*ctx*/, const std::string& /*node_id*/,
                   const std::string& /*raft_address*/,
                   const std::string& /*grpc_address*/) override {
    return Status::OK();
  }

  // Applies a batch directly, as another node's proposal would.
  Result<int64_t> Apply(const std::vector<Command>& commands) {
    std::lock_guard<std::mutex> lock(mu_);
    QD_ASSIGN_OR_RETURN(cluster::ApplyResult result,
                        cluster::ApplyBatch(store_.Current(), commands));
    const int64_t version = result.state->version;
    store_.Publish(result.state, commands, std::move(result.events));
    return version;
  }

  void SetHealthy(bool healthy) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.healthy = healthy;
  }

 private:
  StateStore store_;
  std::mutex mu_;
  rpc::MasterStatus status_;  // GUARDED_BY(mu_)
};

// A master that stopped answering while keeping its connections open (like a SIGSTOPped
// process): its state never changes and GetMasterStatus blocks until Release().
class FrozenMaster final : public rpc::MasterBackend {
 public:
  Result<int64_t> ProposeCommands(const CallContext& /*ctx*/,
                                  const std::vector<Command>& /*commands*/) override {
    return Status::Unavailable("frozen");
  }
  Status SyncLocal(const CallContext& /*ctx*/) override { return Status::OK(); }
  StateStore& LocalStore() override { return store_; }
  rpc::MasterStatus GetMasterStatus() override {
    std::unique_lock<std::mutex> lock(mu_);
    released_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return released_; });
    return rpc::MasterStatus();
  }
  Status AddMaster(const CallContext& /*ctx*/, const std::string& /*node_id*/,
                   const std::string& /*raft_address*/,
                   const std::string& /*grpc_address*/) override {
    return Status::Unavailable("frozen");
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    released_cv_.notify_all();
  }

 private:
  StateStore store_;
  std::mutex mu_;
  std::condition_variable released_cv_;
  bool released_ = false;  // GUARDED_BY(mu_)
};

bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout = kConverge) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::string Encoded(const cluster::StatePtr& state) { return cluster::EncodeState(*state).dump(); }

CallContext Within(milliseconds timeout) { return CallContext::WithTimeout(timeout); }

CreateIndexRequest IndexRequest(const std::string& name) {
  CreateIndexRequest request;
  request.name = name;
  request.settings.replicas = 0;
  return request;
}

// Every event of `watch` up to and including version `last`, then checks nothing follows.
std::vector<ClusterStateEvent> EventsThrough(Watch& watch, int64_t last) {
  std::vector<ClusterStateEvent> events;
  while (events.empty() || events.back().version < last) {
    Result<ClusterStateEvent> event = watch.Next(steady_clock::now() + kConverge);
    EXPECT_TRUE(event.ok()) << event.status();
    if (!event.ok()) return events;
    events.push_back(std::move(event).value());
  }
  // The rest of the last version's events.
  while (true) {
    Result<ClusterStateEvent> event = watch.Next(steady_clock::now() + milliseconds(200));
    if (!event.ok()) {
      EXPECT_TRUE(event.status().IsTimeout()) << event.status();
      break;
    }
    EXPECT_EQ(event->version, last);
    events.push_back(std::move(event).value());
  }
  return events;
}

class RemoteControlPlaneTest : public ::testing::Test {
 protected:
  RemoteControlPlaneTest() : backend_(std::make_unique<FakeMasterBackend>()) {}

  void TearDown() override {
    // The remote first: it follows the server, which serves the backend.
    if (remote_) {
      EXPECT_TRUE(remote_->Stop().ok());
    }
    if (server_) server_->Stop();
  }

  void Serve(int port = 0) {
    Result<std::unique_ptr<MasterGrpcServer>> server =
        MasterGrpcServer::Start("127.0.0.1", port, *backend_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  // Serves the backend and starts a remote control plane following it.
  void StartRemote(milliseconds probe_interval = milliseconds(1000)) {
    if (!server_) Serve();
    ASSERT_NE(server_, nullptr);
    RemoteOptions options;
    options.masters = {server_->address()};
    options.start_timeout = milliseconds(5000);
    options.probe_interval = probe_interval;
    options.healthy_within = 3 * probe_interval;
    remote_ = std::make_unique<RemoteControlPlane>(options);
    Status started = remote_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  int64_t RemoteVersion() { return remote_->GetClusterState(CallContext())->get()->version; }
  int64_t BackendVersion() { return backend_->LocalStore().Current()->version; }

  // Stops the server, lets the backend change `changes` times, and serves again on the same
  // port; checks the remote ends equal to the backend, and that its watch saw every version:
  // through a resync exactly when `expect_resync`, else event by event.
  void RestartWithChangesInBetween(int changes, bool expect_resync);

  std::unique_ptr<FakeMasterBackend> backend_;
  std::unique_ptr<MasterGrpcServer> server_;
  std::unique_ptr<RemoteControlPlane> remote_;
};

TEST_F(RemoteControlPlaneTest, StartLoadsTheWholeState) {
  ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("before", 1, 0))}).ok());
  ASSERT_TRUE(backend_->Apply({Cmd(cluster::RegisterNodeCmd{DataNode("n1")})}).ok());
  StartRemote();
  Result<cluster::StatePtr> state = remote_->GetClusterState(CallContext());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(Encoded(*state), Encoded(backend_->LocalStore().Current()));
  EXPECT_TRUE(remote_->IsHealthy());
}

TEST_F(RemoteControlPlaneTest, ReadsItsOwnWrites) {
  StartRemote();
  Result<cluster::Index> created =
      remote_->CreateIndex(Within(milliseconds(5000)), IndexRequest("logs"));
  ASSERT_TRUE(created.ok()) << created.status();
  // Visible locally as soon as the call returns, without waiting.
  Result<cluster::Index> got = remote_->GetIndex(CallContext(), "logs");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->uuid, created->uuid);
  ASSERT_NE(backend_->LocalStore().Current()->FindIndex("logs"), nullptr);

  ASSERT_TRUE(remote_->RegisterNode(Within(milliseconds(5000)), DataNode("n1")).ok());
  EXPECT_TRUE(remote_->GetNode(CallContext(), "n1").ok());
  EXPECT_EQ(RemoteVersion(), BackendVersion());

  // Typed errors come back from the master unchanged.
  Result<cluster::Index> again =
      remote_->CreateIndex(Within(milliseconds(5000)), IndexRequest("logs"));
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status();
  EXPECT_TRUE(remote_->DeleteIndex(Within(milliseconds(5000)), "missing").IsNotFound());
}

TEST_F(RemoteControlPlaneTest, ChangesMadeOnTheMasterAppearOnTheRemote) {
  StartRemote();
  ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("direct", 1, 0))}).ok());
  EXPECT_TRUE(WaitUntil([&] { return remote_->GetIndex(CallContext(), "direct").ok(); }));

  // A linearizable read waits for everything committed before it.
  ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("direct-2", 1, 0))}).ok());
  CallContext linearizable = Within(milliseconds(5000));
  linearizable.linearizable = true;
  Result<cluster::Index> got = remote_->GetIndex(linearizable, "direct-2");
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Encoded(*remote_->GetClusterState(CallContext())),
            Encoded(backend_->LocalStore().Current()));
}

void RemoteControlPlaneTest::RestartWithChangesInBetween(int changes, bool expect_resync) {
  StartRemote();
  const int64_t from = RemoteVersion();
  Result<std::unique_ptr<Watch>> watch = remote_->WatchClusterState(CallContext(), from);
  ASSERT_TRUE(watch.ok()) << watch.status();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        remote_
            ->CreateIndex(Within(milliseconds(5000)), IndexRequest("before-" + std::to_string(i)))
            .ok());
  }

  const int port = server_->port();
  server_->Stop();
  server_.reset();
  EXPECT_TRUE(WaitUntil([&] { return !remote_->IsHealthy(); }));
  for (int i = 0; i < changes; ++i) {
    ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("while-down-" + std::to_string(i), 1, 0))}).ok());
    ASSERT_TRUE(
        backend_->Apply({Cmd(cluster::RegisterNodeCmd{DataNode("n" + std::to_string(i))})}).ok());
  }
  const int64_t last = BackendVersion();
  EXPECT_LT(RemoteVersion(), last);

  Serve(port);
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return RemoteVersion() == last; }))
      << "remote at version " << RemoteVersion() << ", master at " << last;
  EXPECT_EQ(Encoded(*remote_->GetClusterState(CallContext())),
            Encoded(backend_->LocalStore().Current()));
  EXPECT_TRUE(WaitUntil([&] { return remote_->IsHealthy(); }));

  // Writes work again.
  ASSERT_TRUE(remote_->CreateIndex(Within(milliseconds(5000)), IndexRequest("after")).ok());
  const int64_t final_version = BackendVersion();
  EXPECT_EQ(RemoteVersion(), final_version);

  // The watch saw everything, in order: each version's events, or a resync.
  std::vector<ClusterStateEvent> events = EventsThrough(**watch, final_version);
  int64_t expected = from + 1;
  int resyncs = 0;
  for (const ClusterStateEvent& event : events) {
    if (event.type == EventType::kResync) {
      ++resyncs;
      ASSERT_GE(event.version, expected);
      ASSERT_NE(event.state, nullptr);
      expected = event.version + 1;
      continue;
    }
    if (event.version == expected - 1) continue;  // another event of the same version
    ASSERT_EQ(event.version, expected) << "a version was skipped";
    ++expected;
  }
  EXPECT_EQ(expected, final_version + 1);
  if (expect_resync) {
    EXPECT_EQ(resyncs, 1);
  } else {
    EXPECT_EQ(resyncs, 0) << "the master still had every change; none may be skipped";
  }
}

TEST_F(RemoteControlPlaneTest, ResumesAfterAMasterRestartWithoutLosingChanges) {
  RestartWithChangesInBetween(5, /*expect_resync=*/false);
}

TEST_F(RemoteControlPlaneTest, ResyncsAfterAMasterRestartWhenTheHistoryIsGone) {
  backend_ = std::make_unique<FakeMasterBackend>(/*retained=*/2);
  RestartWithChangesInBetween(5, /*expect_resync=*/true);
}

TEST_F(RemoteControlPlaneTest, WatchDeliversTheMastersEventsInVersionOrder) {
  StartRemote();
  const int64_t from = RemoteVersion();
  Result<std::unique_ptr<Watch>> watch = remote_->WatchClusterState(CallContext(), from);
  ASSERT_TRUE(watch.ok()) << watch.status();
  std::unique_ptr<Watch> master_watch = backend_->LocalStore().NewWatch(from);

  ASSERT_TRUE(remote_->RegisterNode(Within(milliseconds(5000)), DataNode("n1")).ok());
  ASSERT_TRUE(remote_->RegisterNode(Within(milliseconds(5000)), DataNode("n2")).ok());
  ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("direct", 2, 1))}).ok());
  ASSERT_TRUE(remote_->CreateIndex(Within(milliseconds(5000)), IndexRequest("logs")).ok());
  ASSERT_TRUE(remote_->AllocateShard(Within(milliseconds(5000)), "logs", 0, "n1").ok());
  ASSERT_TRUE(remote_
                  ->UpdateShardState(Within(milliseconds(5000)), "logs", 0, "n1",
                                     cluster::ShardState::kStarted)
                  .ok());
  ASSERT_TRUE(remote_->DeleteIndex(Within(milliseconds(5000)), "direct").ok());
  const int64_t last = BackendVersion();

  std::vector<ClusterStateEvent> seen = EventsThrough(**watch, last);
  std::vector<ClusterStateEvent> expected = EventsThrough(*master_watch, last);
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(cluster::EncodeEvent(seen[i]).dump(), cluster::EncodeEvent(expected[i]).dump());
    if (i > 0) {
      EXPECT_GE(seen[i].version, seen[i - 1].version);
    }
  }
  EXPECT_EQ(seen.front().type, EventType::kNodeJoined);
  EXPECT_EQ(seen.back().type, EventType::kIndexDeleted);
}

TEST_F(RemoteControlPlaneTest, HealthFollowsTheMaster) {
  StartRemote(/*probe_interval=*/milliseconds(100));
  EXPECT_TRUE(remote_->IsHealthy());
  backend_->SetHealthy(false);  // e.g. the master lost its leader
  EXPECT_TRUE(WaitUntil([&] { return !remote_->IsHealthy(); }));
  backend_->SetHealthy(true);
  EXPECT_TRUE(WaitUntil([&] { return remote_->IsHealthy(); }));
}

TEST_F(RemoteControlPlaneTest, StopEndsWatchesAndIsIdempotent) {
  StartRemote();
  Result<std::unique_ptr<Watch>> watch = remote_->WatchClusterState(CallContext(), RemoteVersion());
  ASSERT_TRUE(watch.ok());
  std::atomic<bool> ended{false};
  std::thread reader([&] {
    Result<ClusterStateEvent> event = (*watch)->Next(steady_clock::now() + kConverge);
    EXPECT_TRUE(event.status().IsUnavailable()) << event.status();
    ended = true;
  });
  const auto start = steady_clock::now();
  EXPECT_TRUE(remote_->Stop().ok());
  reader.join();
  EXPECT_TRUE(ended);
  EXPECT_LT(steady_clock::now() - start, kSlack + milliseconds(1000));
  EXPECT_FALSE(remote_->IsHealthy());
  EXPECT_TRUE(remote_->Stop().ok());
  // Nothing reaches the masters after Stop().
  const int64_t before = BackendVersion();
  Result<cluster::Index> late =
      remote_->CreateIndex(Within(milliseconds(1000)), IndexRequest("late"));
  EXPECT_TRUE(late.status().IsUnavailable()) << late.status();
  EXPECT_EQ(BackendVersion(), before);
}

TEST_F(RemoteControlPlaneTest, LeavesAMasterThatStoppedAnswering) {
  FrozenMaster frozen;
  Result<std::unique_ptr<MasterGrpcServer>> frozen_server =
      MasterGrpcServer::Start("127.0.0.1", 0, frozen);
  ASSERT_TRUE(frozen_server.ok()) << frozen_server.status();
  Serve();
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(backend_->Apply({Cmd(NewIndex("logs", 1, 0))}).ok());

  RemoteOptions options;
  // The frozen master first: Start loads its (empty) state and follows it.
  options.masters = {(*frozen_server)->address(), server_->address()};
  options.start_timeout = milliseconds(5000);
  options.probe_interval = milliseconds(100);
  options.healthy_within = milliseconds(300);
  remote_ = std::make_unique<RemoteControlPlane>(options);
  ASSERT_TRUE(remote_->Start().ok());
  EXPECT_EQ(RemoteVersion(), 0);

  // Without answers from the frozen master, the remote moves to the other one.
  EXPECT_TRUE(WaitUntil([&] { return RemoteVersion() == BackendVersion(); }))
      << "remote at version " << RemoteVersion();
  EXPECT_TRUE(WaitUntil([&] { return remote_->IsHealthy(); }));
  EXPECT_TRUE(remote_->Stop().ok());
  frozen.Release();
  (*frozen_server)->Stop();
}

TEST(RemoteControlPlane, StartFailsWhenNoMasterIsReachable) {
  RemoteOptions options;
  options.masters = {"127.0.0.1:1"};
  options.start_timeout = milliseconds(500);
  RemoteControlPlane remote(options);
  const auto start = steady_clock::now();
  Status started = remote.Start();
  EXPECT_TRUE(started.IsUnavailable()) << started;
  EXPECT_NE(started.message().find("127.0.0.1:1"), std::string::npos) << started;
  EXPECT_LT(steady_clock::now() - start, milliseconds(500) + kSlack);
  EXPECT_FALSE(remote.IsHealthy());
}

TEST(RemoteControlPlane, StartNeedsMasters) {
  RemoteControlPlane remote(RemoteOptions{});
  EXPECT_TRUE(remote.Start().IsInvalidArgument());
}

}  // namespace
}  // namespace quidditch::controlplane::remote
