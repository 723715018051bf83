// The masters' gRPC service and its client, over real gRPC on 127.0.0.1 with ephemeral ports,
// in front of a FakeMasterBackend.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
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
#include "controlplane/rpc/master_client.h"
#include "controlplane/rpc/master_service.h"
#include "controlplane/rpc/status_codes.h"

namespace quidditch::controlplane::rpc {
namespace {

using cluster::Command;
using cluster::testing::Cmd;
using cluster::testing::DataNode;
using cluster::testing::NewIndex;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Nothing listens on port 1 of the loopback (it is privileged and unused): connections are
// refused at once.
constexpr char kDeadAddress[] = "127.0.0.1:1";
// How much later than its deadline a call may return on a loaded test machine.
constexpr milliseconds kSlack{1500};

// A test-only MasterBackend: applies batches with cluster::ApplyBatch to its own StateStore
// under a mutex. The real backend needs Raft; this one is enough to test the transport.
class FakeMasterBackend final : public MasterBackend {
 public:
  struct JoinCall {
    std::string node_id, raft_address, grpc_address;
  };

  explicit FakeMasterBackend(size_t retained = 4096) : store_(retained) {
    status_.node_id = "m1";
    status_.state = "leader";
    status_.leader_id = "m1";
    status_.healthy = true;
  }

  Result<int64_t> ProposeCommands(const CallContext& ctx,
                                  const std::vector<Command>& commands) override {
    ++proposals;
    std::function<Status(const CallContext&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hook = before_propose_;
    }
    if (hook) QD_RETURN_IF_ERROR(hook(ctx));
    return Apply(commands);
  }

  Status SyncLocal(const CallContext& /*ctx*/) override {
    ++syncs;
    std::lock_guard<std::mutex> lock(mu_);
    return sync_status_;
  }

  StateStore& LocalStore() override { return store_; }

  MasterStatus GetMasterStatus() override {
    std::lock_guard<std::mutex> lock(mu_);
    MasterStatus status = status_;
    status.state_version = store_.Current()->version;
    return status;
  }

  Status AddMaster(const CallContext& /*ctx*/, const std::string& node_id,
                   const std::string& raft_address, const std::string& grpc_address) override {
    std::lock_guard<std::mutex> lock(mu_);
    joins_.push_back({node_id, raft_address, grpc_address});
    return join_status_;
  }

  // Applies a batch directly, as if another node had proposed it.
  Result<int64_t> Apply(const std::vector<Command>& commands) {
    std::lock_guard<std::mutex> lock(mu_);
    QD_ASSIGN_OR_RETURN(cluster::ApplyResult result,
                        cluster::ApplyBatch(store_.Current(), commands));
    const int64_t version = result.state->version;
    store_.Publish(result.state, commands, std::move(result.events));
    return version;
  }

  void SetBeforePropose(std::function<Status(const CallContext&)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    before_propose_ = std::move(hook);
  }
  void SetStatus(MasterStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }
  void SetSyncStatus(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    sync_status_ = std::move(status);
  }
  void SetJoinStatus(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    join_status_ = std::move(status);
  }
  std::vector<JoinCall> joins() {
    std::lock_guard<std::mutex> lock(mu_);
    return joins_;
  }

  std::atomic<int> proposals{0};
  std::atomic<int> syncs{0};

 private:
  StateStore store_;
  std::mutex mu_;
  std::function<Status(const CallContext&)> before_propose_;  // GUARDED_BY(mu_)
  MasterStatus status_;                                       // GUARDED_BY(mu_)
  Status sync_status_;                                        // GUARDED_BY(mu_)
  Status join_status_;                                        // GUARDED_BY(mu_)
  std::vector<JoinCall> joins_;                               // GUARDED_BY(mu_)
};

std::unique_ptr<MasterGrpcServer> MustServe(MasterBackend& backend, int port = 0) {
  Result<std::unique_ptr<MasterGrpcServer>> server =
      MasterGrpcServer::Start("127.0.0.1", port, backend);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  return std::move(server).value();
}

CallContext Within(milliseconds timeout) { return CallContext::WithTimeout(timeout); }

std::vector<Command> CreateIndexBatch(const std::string& name) {
  return {Cmd(NewIndex(name, 1, 0))};
}

milliseconds Since(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
}

class MasterRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = MustServe(backend_);
    ASSERT_NE(server_, nullptr);
  }

  FakeMasterBackend backend_;
  std::unique_ptr<MasterGrpcServer> server_;
};

TEST_F(MasterRpcTest, ProposeRoundTrip) {
  MasterClient client({server_->address()});
  Result<int64_t> v1 = client.Propose(Within(milliseconds(5000)), CreateIndexBatch("logs"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, 1);
  Result<int64_t> v2 = client.Propose(
      Within(milliseconds(5000)),
      {Cmd(cluster::RegisterNodeCmd{DataNode("n1")}), Cmd(NewIndex("metrics", 2, 0))});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2);  // one batch, one version
  cluster::StatePtr state = backend_.LocalStore().Current();
  EXPECT_NE(state->FindIndex("logs"), nullptr);
  EXPECT_NE(state->FindIndex("metrics"), nullptr);
  EXPECT_NE(state->FindNode("n1"), nullptr);
  EXPECT_EQ(client.LeaderHint(), server_->address());
}

TEST_F(MasterRpcTest, DomainErrorsPassThroughUnchangedAndAreNotRetried) {
  MasterClient client({server_->address()});
  ASSERT_TRUE(client.Propose(Within(milliseconds(5000)), CreateIndexBatch("logs")).ok());

  struct Case {
    std::vector<Command> batch;
    StatusCode code;
  };
  cluster::CreateIndexCmd again = NewIndex("logs", 1, 0);
  again.uuid = "another-uuid";
  const std::vector<Case> cases = {
      {{Cmd(again)}, StatusCode::kAlreadyExists},
      {{Cmd(NewIndex("Bad Name", 1, 0))}, StatusCode::kInvalidArgument},
      {{Cmd(cluster::DeleteIndexCmd{"missing"})}, StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    // What the state machine itself says, to compare with what crosses the wire.
    Result<cluster::ApplyResult> direct =
        cluster::ApplyBatch(backend_.LocalStore().Current(), c.batch);
    ASSERT_FALSE(direct.ok());
    const int before = backend_.proposals;
    Result<int64_t> remote = client.Propose(Within(milliseconds(5000)), c.batch);
    ASSERT_FALSE(remote.ok());
    EXPECT_EQ(remote.status().code(), c.code) << remote.status();
    EXPECT_EQ(remote.status(), direct.status());
    EXPECT_EQ(backend_.proposals - before, 1) << "a domain error must not be retried";
  }
}

TEST_F(MasterRpcTest, MalformedBatchesAreInvalidArgument) {
  auto stub = api::ControlPlaneService::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  for (const std::string payload : {"not json", "[{\"bogus\": 1}]", "[]", "{}"}) {
    grpc::ClientContext context;
    api::ProposeRequest request;
    request.set_commands_json(payload);
    api::ProposeResponse response;
    grpc::Status sent = stub->Propose(&context, request, &response);
    ASSERT_TRUE(sent.ok()) << sent.error_message();
    EXPECT_EQ(response.error().code(), api::Error::INVALID_ARGUMENT) << payload;
    EXPECT_FALSE(response.error().message().empty());
  }
  EXPECT_EQ(backend_.proposals, 0);
}

TEST_F(MasterRpcTest, GetStateReturnsTheBackendState) {
  ASSERT_TRUE(backend_.Apply(CreateIndexBatch("logs")).ok());
  ASSERT_TRUE(backend_.Apply({Cmd(cluster::RegisterNodeCmd{DataNode("n1")})}).ok());
  MasterClient client({server_->address()});

  Result<cluster::StatePtr> state = client.GetState(Within(milliseconds(5000)), false);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(cluster::EncodeState(**state), cluster::EncodeState(*backend_.LocalStore().Current()));
  EXPECT_EQ(backend_.syncs, 0);

  state = client.GetState(Within(milliseconds(5000)), true);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->version, 2);
  EXPECT_EQ(backend_.syncs, 1);
}

TEST_F(MasterRpcTest, GetCommittedVersionIsALinearizableReadOfTheVersionAlone) {
  ASSERT_TRUE(backend_.Apply(CreateIndexBatch("logs")).ok());
  ASSERT_TRUE(backend_.Apply(CreateIndexBatch("more")).ok());
  MasterClient client({server_->address()});
  Result<int64_t> version = client.GetCommittedVersion(Within(milliseconds(5000)));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, backend_.LocalStore().Current()->version);
  EXPECT_EQ(backend_.syncs, 1) << "it must go through the master's SyncLocal";
  backend_.SetSyncStatus(Status::Unavailable("no leader"));
  EXPECT_TRUE(client.GetCommittedVersion(Within(milliseconds(300))).status().IsUnavailable());
}

TEST_F(MasterRpcTest, LinearizableGetStateRetriesUnavailableUntilTheDeadline) {
  backend_.SetSyncStatus(Status::Unavailable("no leader"));
  MasterClient client({server_->address()});
  const auto start = steady_clock::now();
  Result<cluster::StatePtr> state = client.GetState(Within(milliseconds(400)), true);
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(state.status().IsUnavailable()) << state.status();
  EXPECT_NE(state.status().message().find("no leader"), std::string::npos) << state.status();
  EXPECT_GE(backend_.syncs, 2);
  EXPECT_LT(Since(start), milliseconds(400) + kSlack);
}

// Reads `n` changes from `stream`, failing the test on any error.
std::vector<Change> ReadChanges(ChangeStream& stream, int n) {
  std::vector<Change> changes;
  for (int i = 0; i < n; ++i) {
    Result<Change> change = stream.Next(steady_clock::now() + milliseconds(5000));
    EXPECT_TRUE(change.ok()) << change.status();
    if (!change.ok()) break;
    changes.push_back(std::move(change).value());
  }
  return changes;
}

TEST_F(MasterRpcTest, StreamChangesDeliversEveryChangeInOrder) {
  std::vector<std::vector<Command>> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(CreateIndexBatch("before-" + std::to_string(i)));
  for (const auto& batch : batches) ASSERT_TRUE(backend_.Apply(batch).ok());

  MasterClient client({server_->address()});
  Result<std::unique_ptr<ChangeStream>> stream =
      client.StreamChanges(Within(milliseconds(5000)), /*from_version=*/1);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->address(), server_->address());

  // Nothing new yet beyond the history: versions 2 and 3 first.
  std::vector<Change> changes = ReadChanges(**stream, 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].version, 2);
  EXPECT_EQ(changes[0].commands, batches[1]);
  EXPECT_EQ(changes[1].version, 3);
  EXPECT_EQ(changes[1].commands, batches[2]);
  EXPECT_EQ(changes[1].state, nullptr);

  Result<Change> idle = (*stream)->Next(steady_clock::now() + milliseconds(100));
  EXPECT_TRUE(idle.status().IsTimeout()) << idle.status();

  // Live changes, made while the stream is open, including one through the client.
  for (int i = 0; i < 5; ++i) {
    batches.push_back(CreateIndexBatch("after-" + std::to_string(i)));
    ASSERT_TRUE(backend_.Apply(batches.back()).ok());
  }
  batches.push_back(CreateIndexBatch("proposed"));
  ASSERT_TRUE(client.Propose(Within(milliseconds(5000)), batches.back()).ok());
  changes = ReadChanges(**stream, 6);
  ASSERT_EQ(changes.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(changes[i].version, 4 + i);
    EXPECT_EQ(changes[i].commands, batches[3 + i]);
  }
}

TEST(MasterRpc, StreamChangesResyncsWhenHistoryIsGone) {
  FakeMasterBackend backend(/*retained=*/2);
  std::unique_ptr<MasterGrpcServer> server = MustServe(backend);
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(backend.Apply(CreateIndexBatch("index-" + std::to_string(i))).ok());
  }
  MasterClient client({server->address()});
  Result<std::unique_ptr<ChangeStream>> stream =
      client.StreamChanges(Within(milliseconds(5000)), /*from_version=*/1);
  ASSERT_TRUE(stream.ok()) << stream.status();

  std::vector<Change> changes = ReadChanges(**stream, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].version, 6);
  ASSERT_NE(changes[0].state, nullptr);
  EXPECT_TRUE(changes[0].commands.empty());
  EXPECT_EQ(cluster::EncodeState(*changes[0].state),
            cluster::EncodeState(*backend.LocalStore().Current()));

  // Then the changes after the resync, as commands again.
  std::vector<Command> next = CreateIndexBatch("index-6");
  ASSERT_TRUE(backend.Apply(next).ok());
  changes = ReadChanges(**stream, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].version, 7);
  EXPECT_EQ(changes[0].commands, next);
}

TEST_F(MasterRpcTest, CancelWakesABlockedNext) {
  MasterClient client({server_->address()});
  Result<std::unique_ptr<ChangeStream>> stream =
      client.StreamChanges(Within(milliseconds(5000)), 0);
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (*stream)->Cancel();
  });
  const auto start = steady_clock::now();
  Result<Change> change = (*stream)->Next(steady_clock::now() + milliseconds(10000));
  canceller.join();
  EXPECT_TRUE(change.status().IsUnavailable()) << change.status();
  EXPECT_LT(Since(start), milliseconds(100) + kSlack);
  // The stream stays ended.
  EXPECT_TRUE((*stream)->Next(steady_clock::now() + milliseconds(10)).status().IsUnavailable());
}

TEST_F(MasterRpcTest, MasterStatusCarriesEveryField) {
  MasterStatus status;
  status.node_id = "m2";
  status.state = "follower";
  status.leader_id = "m1";
  status.leader_grpc_address = "10.0.0.1:9301";
  status.term = 7;
  status.commit_index = 42;
  status.applied_index = 41;
  status.healthy = true;
  status.voters = {"m1", "m2", "m3"};
  backend_.SetStatus(status);
  ASSERT_TRUE(backend_.Apply(CreateIndexBatch("logs")).ok());
  status.state_version = 1;

  MasterClient client({kDeadAddress});  // GetMasterStatus asks exactly the address it is given
  Result<MasterStatus> got = client.GetMasterStatus(Within(milliseconds(5000)), server_->address());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->node_id, status.node_id);
  EXPECT_EQ(got->state, status.state);
  EXPECT_EQ(got->leader_id, status.leader_id);
  EXPECT_EQ(got->leader_grpc_address, status.leader_grpc_address);
  EXPECT_EQ(got->term, status.term);
  EXPECT_EQ(got->commit_index, status.commit_index);
  EXPECT_EQ(got->applied_index, status.applied_index);
  EXPECT_EQ(got->state_version, status.state_version);
  EXPECT_EQ(got->healthy, status.healthy);
  EXPECT_EQ(got->voters, status.voters);

  Result<MasterStatus> dead = client.GetMasterStatus(Within(milliseconds(2000)), kDeadAddress);
  EXPECT_TRUE(dead.status().IsUnavailable()) << dead.status();
  EXPECT_NE(dead.status().message().find(kDeadAddress), std::string::npos) << dead.status();
}

TEST_F(MasterRpcTest, JoinIsForwardedToTheBackend) {
  MasterClient client({server_->address()});
  Status joined = client.Join(Within(milliseconds(5000)), "m4", "10.0.0.4:9300", "10.0.0.4:9301");
  ASSERT_TRUE(joined.ok()) << joined;
  std::vector<FakeMasterBackend::JoinCall> joins = backend_.joins();
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].node_id, "m4");
  EXPECT_EQ(joins[0].raft_address, "10.0.0.4:9300");
  EXPECT_EQ(joins[0].grpc_address, "10.0.0.4:9301");

  backend_.SetJoinStatus(Status::Conflict("address taken by another member"));
  Status refused = client.Join(Within(milliseconds(5000)), "m5", "10.0.0.5:9300", "x:1");
  EXPECT_EQ(refused, Status::Conflict("address taken by another member"));

  Status empty = client.Join(Within(milliseconds(5000)), "", "10.0.0.5:9300", "x:1");
  EXPECT_TRUE(empty.IsInvalidArgument()) << empty;
  EXPECT_EQ(backend_.joins().size(), 2u);
}

TEST_F(MasterRpcTest, ClientTriesTheNextMasterWhenOneIsDown) {
  MasterClient client({kDeadAddress, server_->address()});
  Result<int64_t> version = client.Propose(Within(milliseconds(5000)), CreateIndexBatch("logs"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 1);
  Result<cluster::StatePtr> state = client.GetState(Within(milliseconds(5000)), false);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->version, 1);
  Result<std::unique_ptr<ChangeStream>> stream =
      client.StreamChanges(Within(milliseconds(5000)), 0);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->address(), server_->address());
}

TEST(MasterRpc, WritesGoToTheLeaderTheMastersName) {
  FakeMasterBackend follower_backend, leader_backend;
  follower_backend.SetBeforePropose(
      [](const CallContext&) { return Status::Unavailable("not the leader"); });
  std::unique_ptr<MasterGrpcServer> follower = MustServe(follower_backend);
  std::unique_ptr<MasterGrpcServer> leader = MustServe(leader_backend);
  ASSERT_NE(follower, nullptr);
  ASSERT_NE(leader, nullptr);
  MasterStatus status;
  status.node_id = "m1";
  status.state = "follower";
  status.leader_id = "m2";
  status.leader_grpc_address = leader->address();
  status.healthy = true;
  follower_backend.SetStatus(status);

  MasterClient client({follower->address(), leader->address()});
  Result<int64_t> version = client.Propose(Within(milliseconds(5000)), CreateIndexBatch("logs"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(follower_backend.proposals, 0);
  EXPECT_EQ(leader_backend.proposals, 1);
  EXPECT_EQ(client.LeaderHint(), leader->address());
  ASSERT_TRUE(client.Join(Within(milliseconds(5000)), "m3", "a:1", "a:2").ok());
  EXPECT_EQ(leader_backend.joins().size(), 1u);
  EXPECT_TRUE(follower_backend.joins().empty());
}

TEST_F(MasterRpcTest, NotLeaderAnswersAreRetriedUntilALeaderAccepts) {
  std::atomic<int> refusals{2};
  backend_.SetBeforePropose([&](const CallContext&) {
    if (refusals.fetch_sub(1) > 0) return Status::Unavailable("leadership is changing");
    return Status::OK();
  });
  MasterClient client({server_->address()});
  Result<int64_t> version = client.Propose(Within(milliseconds(5000)), CreateIndexBatch("logs"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(backend_.proposals, 3);
  EXPECT_EQ(backend_.LocalStore().Current()->version, 1);
}

TEST(MasterRpc, DeadlineIsHonouredWhenNoMasterIsReachable) {
  MasterClient client({kDeadAddress, "127.0.0.1:2"});
  const auto start = steady_clock::now();
  Result<int64_t> version = client.Propose(Within(milliseconds(500)), CreateIndexBatch("logs"));
  ASSERT_FALSE(version.ok());
  EXPECT_TRUE(version.status().IsUnavailable()) << version.status();
  EXPECT_NE(version.status().message().find(kDeadAddress), std::string::npos) << version.status();
  EXPECT_LT(Since(start), milliseconds(500) + kSlack);

  Result<cluster::StatePtr> state = client.GetState(Within(milliseconds(300)), true);
  EXPECT_TRUE(state.status().IsUnavailable()) << state.status();
  Result<std::unique_ptr<ChangeStream>> stream = client.StreamChanges(Within(milliseconds(300)), 0);
  EXPECT_TRUE(stream.status().IsUnavailable()) << stream.status();
  EXPECT_LT(Since(start), milliseconds(1100) + kSlack);
}

TEST_F(MasterRpcTest, DeadlineIsHonouredWhenTheMasterDoesNotAnswer) {
  // The backend ignores the deadline it is given and blocks until released.
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  backend_.SetBeforePropose([&](const CallContext&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; });
    return Status::Unavailable("released");
  });
  MasterClient client({server_->address()});
  const auto start = steady_clock::now();
  Result<int64_t> version = client.Propose(Within(milliseconds(300)), CreateIndexBatch("logs"));
  const milliseconds took = Since(start);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  ASSERT_FALSE(version.ok());
  // Sent, then no answer: the outcome is unknown, which is Timeout and never retried.
  EXPECT_TRUE(version.status().IsTimeout()) << version.status();
  EXPECT_NE(version.status().message().find("may or may not"), std::string::npos)
      << version.status();
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(300) + kSlack);
  EXPECT_EQ(backend_.proposals, 1);
  // The handler still runs the hook, which refers to this test's locals.
  server_->Stop();
}

TEST_F(MasterRpcTest, StopWithAnOpenStreamReturnsPromptly) {
  MasterClient client({server_->address()});
  Result<std::unique_ptr<ChangeStream>> stream =
      client.StreamChanges(Within(milliseconds(5000)), 0);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE(backend_.Apply(CreateIndexBatch("logs")).ok());
  ASSERT_EQ(ReadChanges(**stream, 1).size(), 1u);  // the call is open on the server

  const auto start = steady_clock::now();
  server_->Stop();
  EXPECT_LT(Since(start), milliseconds(500) + kSlack);
  Result<Change> ended = (*stream)->Next(steady_clock::now() + milliseconds(5000));
  EXPECT_TRUE(ended.status().IsUnavailable()) << ended.status();
  server_->Stop();  // idempotent
}

TEST_F(MasterRpcTest, APortInUseIsAnIOError) {
  FakeMasterBackend other;
  Result<std::unique_ptr<MasterGrpcServer>> second =
      MasterGrpcServer::Start("127.0.0.1", server_->port(), other);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError) << second.status();
  EXPECT_NE(second.status().message().find(server_->address()), std::string::npos)
      << second.status();
}

TEST(MasterRpcStatusCodes, EveryStatusCodeSurvivesTheWire) {
  const std::vector<Status> statuses = {
      Status::OK(),
      Status::NotFound("no such index [x]"),
      Status::AlreadyExists("index [x] already exists"),
      Status::InvalidArgument("bad"),
      Status::Conflict("mapper [f] cannot be changed"),
      Status::Unavailable("no leader"),
      Status::Timeout("late"),
      Status::Corruption("bad bytes"),
      Status::IOError("disk"),
      Status::Internal("bug"),
  };
  for (const Status& status : statuses) {
    api::Error error;
    ToProto(status, &error);
    EXPECT_EQ(static_cast<int>(error.code()), static_cast<int>(status.code()));
    EXPECT_EQ(FromProto(error), status);
    EXPECT_EQ(FromProtoCode(ToProtoCode(status.code())), status.code());
  }
  api::Error unknown;
  unknown.set_code(static_cast<api::Error::Code>(77));
  unknown.set_message("from the future");
  EXPECT_EQ(FromProto(unknown).code(), StatusCode::kInternal);
  EXPECT_TRUE(FromProto(api::Error()).ok());  // a response without an error
}

TEST(MasterRpcStatusCodes, TransportFailuresNameTheMaster) {
  Status down = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"),
                               "10.0.0.1:9301");
  EXPECT_TRUE(down.IsUnavailable());
  EXPECT_EQ(down.message(), "master 10.0.0.1:9301: connection refused (gRPC UNAVAILABLE)");
  EXPECT_TRUE(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), "a:1").IsTimeout());
  EXPECT_TRUE(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "x"), "a:1").IsUnavailable());
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "x"), "a:1").code(),
            StatusCode::kInternal);
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK, "a:1").ok());
  // A stream's end survives the round trip through a gRPC status.
  for (const Status& status : {Status::Unavailable("stopping"), Status::NotFound("gone"),
                               Status::Conflict("c"), Status::Timeout("t")}) {
    EXPECT_EQ(FromGrpcStatus(ToGrpcStatus(status), "a:1").code(), status.code());
  }
}

}  // namespace
}  // namespace quidditch::controlplane::rpc
