#include "controlplane/testing/conformance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/apply.h"
#include "cluster/codec.h"

namespace quidditch::controlplane::testing {

std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info) {
  return info.param.name;
}

void PrintTo(const ConformanceTarget& target, std::ostream* os) { *os << target.name; }

void ControlPlaneConformance::SetUp() {
  harness_ = GetParam().make();
  if (IsSkipped()) return;  // the target cannot run on this machine, and said why
  ASSERT_NE(harness_, nullptr) << "the target made no harness";
  ASSERT_NE(harness_->cp(), nullptr) << "the harness has no control plane";
  // A new cluster chooses its uuid as it forms, possibly in the background (the Raft leader):
  // the tests start from a formed cluster, so that this change does not land in the middle of
  // one. ClusterHasAUuidThatNeverChanges checks the uuid itself.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<cluster::StatePtr> state = harness_->cp()->GetClusterState({});
    ASSERT_TRUE(state.ok()) << state.status();
    if (!(*state)->cluster_uuid.empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "the new cluster got no uuid within 30 s";
}

void ControlPlaneConformance::TearDown() { harness_.reset(); }

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ControlPlaneConformance);

namespace {

using cluster::ClusterHealth;
using cluster::ClusterState;
using cluster::ClusterStateEvent;
using cluster::EventType;
using cluster::HealthStatus;
using cluster::Index;
using cluster::IndexSettingsUpdate;
using cluster::IndexState;
using cluster::Json;
using cluster::NodeInfo;
using cluster::NodeState;
using cluster::NodeStatus;
using cluster::ShardCopy;
using cluster::ShardRouting;
using cluster::ShardRoutingTable;
using cluster::ShardState;
using cluster::StatePtr;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Deadlines. They are generous on purpose: a three-process Raft group on a loaded machine must
// pass, and only a broken implementation ever reaches one.
constexpr auto kCallTimeout = 20s;    // one call
constexpr auto kSettleTimeout = 30s;  // an asynchronous effect (automatic allocation)
// How long a watch must stay silent to count as having delivered everything.
constexpr auto kQuietPeriod = 300ms;

CallContext Ctx() { return CallContext::WithTimeout(kCallTimeout); }

CallContext LinearizableCtx() {
  CallContext ctx = Ctx();
  ctx.linearizable = true;
  return ctx;
}

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

#define CP_EXPECT_OK(expr)                                              \
  do {                                                                  \
    ::quidditch::Status _cp_status = StatusOf(expr);                    \
    EXPECT_TRUE(_cp_status.ok()) << #expr << " failed: " << _cp_status; \
  } while (0)

#define CP_ASSERT_OK(expr)                                              \
  do {                                                                  \
    ::quidditch::Status _cp_status = StatusOf(expr);                    \
    ASSERT_TRUE(_cp_status.ok()) << #expr << " failed: " << _cp_status; \
  } while (0)

// `CP_ASSERT_OK_AND_ASSIGN(auto x, Fn());` binds the value of a Result or fails the test.
#define CP_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CP_ASSERT_OK_AND_ASSIGN_IMPL(QD_CONCAT(_cp_result_, __LINE__), lhs, expr)
#define CP_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)             \
  auto tmp = (expr);                                             \
  ASSERT_TRUE(tmp.ok()) << #expr << " failed: " << tmp.status(); \
  lhs = std::move(tmp).value()

// --- values ------------------------------------------------------------------------------------

NodeInfo DataNode(const std::string& id) {
  NodeInfo node;
  node.node_id = id;
  node.address = "127.0.0.1";
  node.grpc_port = 9302;
  node.http_port = 9200;
  node.roles.data = true;
  return node;
}

NodeInfo CoordinationNode(const std::string& id) {
  NodeInfo node = DataNode(id);
  node.roles = Roles{false, true, false};
  return node;
}

CreateIndexRequest IndexRequest(const std::string& name, int32_t shards, int32_t replicas) {
  CreateIndexRequest request;
  request.name = name;
  request.settings.shards = shards;
  request.settings.replicas = replicas;
  return request;
}

NodeStatus StatusWithState(NodeState state) {
  NodeStatus status;
  status.state = state;
  return status;
}

IndexSettingsUpdate ReplicasUpdate(int32_t replicas) {
  IndexSettingsUpdate update;
  update.replicas = replicas;
  return update;
}

// "SHARD_STARTED logs[0] @n1 primary", "INDEX_CREATED logs", "NODE_JOINED @n1", or
// "RESYNC@<version>".
std::string Describe(const ClusterStateEvent& e) {
  std::string out(cluster::EventTypeName(e.type));
  if (e.type == EventType::kResync) return out + "@" + std::to_string(e.version);
  if (!e.index.empty()) out += " " + e.index;
  if (e.shard_id >= 0) out += "[" + std::to_string(e.shard_id) + "]";
  if (!e.node_id.empty()) out += " @" + e.node_id;
  if (e.shard_id >= 0 && e.primary) out += " primary";
  return out;
}

std::vector<std::string> Describe(const std::vector<ClusterStateEvent>& events) {
  std::vector<std::string> out;
  for (const ClusterStateEvent& e : events) out.push_back(Describe(e));
  return out;
}

std::vector<int64_t> Versions(const std::vector<ClusterStateEvent>& events) {
  std::vector<int64_t> out;
  for (const ClusterStateEvent& e : events) out.push_back(e.version);
  return out;
}

// --- reads -------------------------------------------------------------------------------------

// The current state; an empty one (and a test failure) when it cannot be read.
StatePtr StateOf(ControlPlane& cp, const CallContext& ctx = Ctx()) {
  Result<StatePtr> state = cp.GetClusterState(ctx);
  EXPECT_TRUE(state.ok()) << "GetClusterState failed: " << state.status();
  if (!state.ok() || *state == nullptr) {
    ADD_FAILURE() << "no cluster state";
    return cluster::EmptyState();
  }
  return *state;
}

// Shard `shard` of `index` in `state`, or nullptr.
const ShardRouting* ShardIn(const ClusterState& state, const std::string& index, int32_t shard) {
  const Index* found = state.FindIndex(index);
  if (found == nullptr || shard < 0 ||
      shard >= static_cast<int32_t>(found->routing.shards.size())) {
    return nullptr;
  }
  return &found->routing.shards[shard];
}

// The assigned copy of `index`[`shard`] on `node`, or nullptr.
const ShardCopy* CopyOn(const ClusterState& state, const std::string& index, int32_t shard,
                        const std::string& node) {
  const ShardRouting* routing = ShardIn(state, index, shard);
  return routing == nullptr ? nullptr : routing->CopyOn(node);
}

// Whether `routing` has exactly one shard with `copies` copies. Asserted before a test indexes
// them: a wrong table must fail the test, not read past a vector's end.
::testing::AssertionResult OneShardWithCopies(const ShardRoutingTable& routing, size_t copies) {
  if (routing.shards.size() != 1) {
    return ::testing::AssertionFailure() << routing.shards.size() << " shards, expected 1";
  }
  if (routing.shards[0].copies.size() != copies) {
    return ::testing::AssertionFailure()
           << routing.shards[0].copies.size() << " copies, expected " << copies;
  }
  return ::testing::AssertionSuccess();
}

// Waits until `done` holds for the current state and returns that state; nullptr (and a test
// failure) at the deadline. Wakes on every event of a watch, and re-reads at least every 50 ms
// in case the implementation's reads and watch are fed separately.
StatePtr WaitForState(ControlPlane& cp, const std::function<bool(const ClusterState&)>& done,
                      const std::string& what) {
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  StatePtr state = StateOf(cp);
  Result<std::unique_ptr<Watch>> watch = cp.WatchClusterState(Ctx(), state->version);
  while (!done(*state)) {
    if (Clock::now() >= deadline) {
      ADD_FAILURE() << "timed out waiting until " << what
                    << "; state: " << cluster::EncodeState(*state).dump();
      return nullptr;
    }
    const Clock::time_point wake = std::min(deadline, Clock::now() + 50ms);
    if (watch.ok()) {
      Status s = (*watch)->Next(wake).status();
      if (!s.ok() && !s.IsTimeout()) watch = s;  // fall back to re-reading on a timer
    } else {
      std::this_thread::sleep_until(wake);
    }
    state = StateOf(cp);
  }
  return state;
}

// The events a watch delivers next, `count` of them; a failed read ends the list with an
// "ERROR ..." entry in Describe() terms (type kResync, version -1, no state).
std::vector<ClusterStateEvent> ReadEvents(Watch& watch, size_t count) {
  std::vector<ClusterStateEvent> events;
  while (events.size() < count) {
    Result<ClusterStateEvent> e = watch.Next(Clock::now() + kSettleTimeout);
    if (!e.ok()) {
      ADD_FAILURE() << "after " << events.size() << " of " << count
                    << " events the watch failed: " << e.status();
      break;
    }
    events.push_back(*e);
  }
  return events;
}

// Checks that the watch has nothing more to deliver.
void ExpectNoMoreEvents(Watch& watch) {
  Result<ClusterStateEvent> e = watch.Next(Clock::now() + kQuietPeriod);
  EXPECT_TRUE(e.status().IsTimeout())
      << "unexpected: " << (e.ok() ? Describe(*e) : e.status().ToString());
}

// --- checks ------------------------------------------------------------------------------------

// Runs `call`, which must fail with `code`, and checks that it changed nothing: the cluster
// state has the same version and content after it. Only used while no automatic change
// (allocation) can be pending, so that any difference is the call's doing.
template <typename Call>
void ExpectRejected(ControlPlane& cp, StatusCode code, Call&& call, const std::string& what) {
  SCOPED_TRACE(what);
  const StatePtr before = StateOf(cp);
  Status s = StatusOf(call());
  EXPECT_EQ(s.code(), code) << what << " returned " << s;
  const StatePtr after = StateOf(cp);
  EXPECT_EQ(after->version, before->version) << what << " changed the state version";
  if (!(*after == *before)) {
    ADD_FAILURE() << what << " changed the state\nbefore: " << cluster::EncodeState(*before).dump()
                  << "\nafter:  " << cluster::EncodeState(*after).dump();
  }
}

// Gets copy `shard` of `index` onto `node`: asks for it with AllocateShard, or, when the
// implementation allocates by itself and got there first (Conflict: the node already holds
// the copy), waits until the copy is there. Only used where `node` is the one place the
// allocator could choose, so either way the result is the same. Returns the copy's allocation
// id ("" after a test failure).
std::string AllocateOrAwait(ControlPlane& cp, const ConformanceHarness& harness,
                            const std::string& index, int32_t shard, const std::string& node) {
  Status s = cp.AllocateShard(Ctx(), index, shard, node);
  const std::string what = index + "[" + std::to_string(shard) + "] on " + node;
  if (!harness.AllocatesAutomatically()) {
    EXPECT_TRUE(s.ok()) << "AllocateShard " << what << ": " << s;
  } else {
    EXPECT_TRUE(s.ok() || s.IsConflict()) << "AllocateShard " << what << ": " << s;
  }
  StatePtr state = WaitForState(
      cp, [&](const ClusterState& st) { return CopyOn(st, index, shard, node) != nullptr; },
      "a copy of " + what + " is assigned");
  if (state == nullptr) return "";
  const ShardCopy* copy = CopyOn(*state, index, shard, node);
  EXPECT_EQ(copy->state, ShardState::kInitializing) << what;
  EXPECT_FALSE(copy->allocation_id.empty()) << what;
  return copy->allocation_id;
}

// Builds the index `name` with one shard and one replica, the primary STARTED on n1 and the
// replica STARTED on n2, in the one order that leaves the allocator no choice.
void MakeStartedIndexWithReplica(ControlPlane& cp, const ConformanceHarness& harness,
                                 const std::string& name) {
  CP_ASSERT_OK(cp.RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp.CreateIndex(Ctx(), IndexRequest(name, 1, 1)));
  ASSERT_NE(AllocateOrAwait(cp, harness, name, 0, "n1"), "");
  CP_ASSERT_OK(cp.UpdateShardState(Ctx(), name, 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK(cp.RegisterNode(Ctx(), DataNode("n2")));
  ASSERT_NE(AllocateOrAwait(cp, harness, name, 0, "n2"), "");
  CP_ASSERT_OK(cp.UpdateShardState(Ctx(), name, 0, "n2", ShardState::kStarted));
  StatePtr state = StateOf(cp);
  const ShardRouting* shard = ShardIn(*state, name, 0);
  ASSERT_NE(shard, nullptr);
  ASSERT_EQ(shard->copies.size(), 2u);
  ASSERT_EQ(shard->primary().node_id, "n1");
  ASSERT_EQ(shard->primary().state, ShardState::kStarted);
  ASSERT_EQ(shard->copies[1].node_id, "n2");
  ASSERT_EQ(shard->copies[1].state, ShardState::kStarted);
}

Result<ClusterHealth> HealthOf(ControlPlane& cp) { return cp.GetClusterHealth(Ctx()); }

// --- lifecycle ---------------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, IsHealthyOnceStarted) {
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  while (!cp().IsHealthy() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(cp().IsHealthy());
}

TEST_P(ControlPlaneConformance, StopEndsWatchesFailsWritesAndIsIdempotent) {
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch,
                          cp().WatchClusterState(Ctx(), StateOf(cp())->version));
  Status next = Status::Internal("not run");
  std::thread reader([&] { next = watch->Next(Clock::now() + kCallTimeout).status(); });
  CP_EXPECT_OK(cp().Stop());
  reader.join();
  EXPECT_TRUE(next.IsUnavailable()) << "a watch blocked in Next() when Stop() ran got " << next;
  CP_EXPECT_OK(cp().Stop());
  EXPECT_FALSE(cp().IsHealthy());
  Status write = cp().RegisterNode(Ctx(), CoordinationNode("c1"));
  EXPECT_TRUE(write.IsUnavailable()) << "a write after Stop() returned " << write;
}

TEST_P(ControlPlaneConformance, ClusterHasAUuidThatNeverChanges) {
  // Chosen as the cluster formed (SetUp waited for it): by the Raft leader, by the first process
  // of the namespace in Kubernetes mode.
  const std::string uuid = StateOf(cp())->cluster_uuid;
  EXPECT_EQ(uuid.size(), 22u) << uuid;
  EXPECT_EQ(
      uuid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << uuid;
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)).status());
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("d1")));
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "logs"));
  EXPECT_EQ(StateOf(cp())->cluster_uuid, uuid);
  EXPECT_EQ(StateOf(cp(), LinearizableCtx())->cluster_uuid, uuid);
}

// --- index management --------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, NewClusterIsEmpty) {
  StatePtr state = StateOf(cp());
  EXPECT_TRUE(state->nodes.empty());
  EXPECT_TRUE(state->indices.empty());
  CP_ASSERT_OK_AND_ASSIGN(std::vector<Index> indices, cp().ListIndices(Ctx()));
  EXPECT_TRUE(indices.empty());
  CP_ASSERT_OK_AND_ASSIGN(std::vector<NodeInfo> nodes, cp().ListNodes(Ctx()));
  EXPECT_TRUE(nodes.empty());
}

TEST_P(ControlPlaneConformance, CreateIndexReturnsTheNewIndexAndReadsSeeIt) {
  CreateIndexRequest request = IndexRequest("logs", 3, 2);
  request.settings.refresh_interval = "5s";
  request.settings.codec = "best_compression";
  request.mappings = Json::parse(R"({"properties": {"message": {"type": "text"}}})");
  const StatePtr before = StateOf(cp());

  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().CreateIndex(Ctx(), request));
  EXPECT_EQ(index.name, "logs");
  EXPECT_FALSE(index.uuid.empty());
  EXPECT_EQ(index.settings, request.settings);
  EXPECT_EQ(index.mappings, request.mappings);
  EXPECT_EQ(index.state, IndexState::kCreating);
  EXPECT_GT(index.created_at_ms, 0);
  EXPECT_GE(index.updated_at_ms, index.created_at_ms);
  EXPECT_EQ(index.routing.index_name, "logs");
  ASSERT_EQ(index.routing.shards.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) {
    const ShardRouting& shard = index.routing.shards[i];
    EXPECT_EQ(shard.shard_id, i);
    ASSERT_EQ(shard.copies.size(), 3u) << "1 primary + 2 replicas";
    for (size_t c = 0; c < shard.copies.size(); ++c) {
      EXPECT_EQ(shard.copies[c].primary, c == 0) << "the primary comes first";
      // There is no data node: nothing can be assigned.
      EXPECT_EQ(shard.copies[c].state, ShardState::kUnassigned);
      EXPECT_TRUE(shard.copies[c].node_id.empty());
      EXPECT_TRUE(shard.copies[c].allocation_id.empty());
    }
    EXPECT_TRUE(shard.in_sync.empty());
  }

  // Read-your-writes, through every read.
  const StatePtr after = StateOf(cp());
  EXPECT_GT(after->version, before->version);
  ASSERT_NE(after->FindIndex("logs"), nullptr);
  EXPECT_EQ(*after->FindIndex("logs"), index);
  CP_ASSERT_OK_AND_ASSIGN(Index got, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(got, index);
  CP_ASSERT_OK_AND_ASSIGN(Index linearizable, cp().GetIndex(LinearizableCtx(), "logs"));
  EXPECT_EQ(linearizable, index);
  CP_ASSERT_OK_AND_ASSIGN(std::vector<Index> listed, cp().ListIndices(Ctx()));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], index);
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  EXPECT_EQ(routing, index.routing);
}

TEST_P(ControlPlaneConformance, CreateIndexRejectsADuplicateName) {
  CP_ASSERT_OK_AND_ASSIGN(Index first, cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  ExpectRejected(
      cp(), StatusCode::kAlreadyExists,
      [&] { return cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)); }, "second create");
  CP_ASSERT_OK_AND_ASSIGN(Index got, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(got.uuid, first.uuid);
  EXPECT_EQ(got.settings.shards, 1);
}

TEST_P(ControlPlaneConformance, CreateIndexRejectsInvalidNames) {
  const std::vector<std::string> invalid = {"",      "Logs", "lo gs", "a/b",
                                            "a\\b",  "a*b",  "a?b",   "a\"b",
                                            "a<b",   "a>b",  "a|b",   "a,b",
                                            "a#b",   "a:b",  "_logs", "-logs",
                                            "+logs", ".",    "..",    std::string(256, 'a')};
  for (const std::string& name : invalid) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&] { return cp().CreateIndex(Ctx(), IndexRequest(name, 1, 0)); }, "create [" + name + "]");
  }
  for (const std::string& name :
       {std::string("logs-2024.01_a+b"), std::string(".hidden"), std::string(255, 'a')}) {
    CP_EXPECT_OK(cp().CreateIndex(Ctx(), IndexRequest(name, 1, 0)));
  }
}

TEST_P(ControlPlaneConformance, CreateIndexRejectsInvalidSettingsAndMappings) {
  auto with = [](std::function<void(CreateIndexRequest&)> change) {
    CreateIndexRequest request = IndexRequest("logs", 1, 1);
    change(request);
    return request;
  };
  const std::vector<std::pair<std::string, CreateIndexRequest>> invalid = {
      {"0 shards", with([](auto& r) { r.settings.shards = 0; })},
      {"-1 shards", with([](auto& r) { r.settings.shards = -1; })},
      {"10001 shards", with([](auto& r) { r.settings.shards = 10001; })},
      {"-1 replicas", with([](auto& r) { r.settings.replicas = -1; })},
      {"11 replicas", with([](auto& r) { r.settings.replicas = 11; })},
      {"refresh 'soon'", with([](auto& r) { r.settings.refresh_interval = "soon"; })},
      {"refresh '5x'", with([](auto& r) { r.settings.refresh_interval = "5x"; })},
      {"codec 'lz4'", with([](auto& r) { r.settings.codec = "lz4"; })},
      {"array mappings", with([](auto& r) { r.mappings = Json::array(); })},
      {"string mappings", with([](auto& r) { r.mappings = "text"; })},
  };
  for (const auto& [what, request] : invalid) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&, &request = request] { return cp().CreateIndex(Ctx(), request); }, what);
  }
  CP_EXPECT_OK(cp().CreateIndex(Ctx(), with([](auto& r) {
                                  r.name = "most-replicas";
                                  r.settings.replicas = 10;
                                  r.settings.refresh_interval = "-1";
                                })));
  CP_EXPECT_OK(cp().CreateIndex(Ctx(), with([](auto& r) {
                                  r.name = "no-replicas";
                                  r.settings.shards = 7;
                                  r.settings.replicas = 0;
                                  r.settings.refresh_interval = "500ms";
                                })));
}

TEST_P(ControlPlaneConformance, GetOfAnUnknownIndexIsNotFound) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  EXPECT_TRUE(cp().GetIndex(Ctx(), "metrics").status().IsNotFound());
  EXPECT_TRUE(cp().GetIndex(Ctx(), "log").status().IsNotFound());
  EXPECT_TRUE(cp().GetShardRouting(Ctx(), "metrics").status().IsNotFound());
}

TEST_P(ControlPlaneConformance, ListIndicesReturnsEveryIndex) {
  for (const char* name : {"c", "a", "b"}) {
    CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest(name, 1, 0)));
  }
  auto names = [&] {
    std::set<std::string> out;
    Result<std::vector<Index>> listed = cp().ListIndices(Ctx());
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (!listed.ok()) return out;
    for (const Index& index : *listed) {
      out.insert(index.name);
      Result<Index> got = cp().GetIndex(Ctx(), index.name);
      EXPECT_TRUE(got.ok() && *got == index) << index.name;
    }
    return out;
  };
  EXPECT_EQ(names(), (std::set<std::string>{"a", "b", "c"}));
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "b"));
  EXPECT_EQ(names(), (std::set<std::string>{"a", "c"}));
}

TEST_P(ControlPlaneConformance, DeleteIndexRemovesItAndTheNameCanBeReused) {
  CP_ASSERT_OK_AND_ASSIGN(Index first, cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)));
  const int64_t before = StateOf(cp())->version;
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "logs"));
  EXPECT_GT(StateOf(cp())->version, before);
  EXPECT_EQ(StateOf(cp())->FindIndex("logs"), nullptr);
  EXPECT_TRUE(cp().GetIndex(Ctx(), "logs").status().IsNotFound());
  EXPECT_TRUE(cp().GetIndex(LinearizableCtx(), "logs").status().IsNotFound());
  EXPECT_TRUE(cp().GetShardRouting(Ctx(), "logs").status().IsNotFound());
  CP_ASSERT_OK_AND_ASSIGN(std::vector<Index> listed, cp().ListIndices(Ctx()));
  EXPECT_TRUE(listed.empty());
  CP_ASSERT_OK_AND_ASSIGN(Index second, cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  EXPECT_NE(second.uuid, first.uuid);
  EXPECT_EQ(second.settings.shards, 1);
}

TEST_P(ControlPlaneConformance, DeleteOfAnUnknownIndexIsNotFound) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().DeleteIndex(Ctx(), "metrics"); },
      "delete an index that never existed");
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "logs"));
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().DeleteIndex(Ctx(), "logs"); },
      "delete an index twice");
}

TEST_P(ControlPlaneConformance, UpdateIndexSettingsChangesDynamicSettings) {
  CP_ASSERT_OK_AND_ASSIGN(Index created, cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)));
  IndexSettingsUpdate update;
  update.replicas = 3;
  update.refresh_interval = "30s";
  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "logs", update));
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.settings.replicas, 3);
  EXPECT_EQ(index.settings.refresh_interval, "30s");
  EXPECT_EQ(index.settings.shards, 2);
  EXPECT_EQ(index.settings.codec, created.settings.codec);
  EXPECT_EQ(index.uuid, created.uuid);
  EXPECT_GE(index.updated_at_ms, created.updated_at_ms);
  ASSERT_EQ(index.routing.shards.size(), 2u);
  for (const ShardRouting& shard : index.routing.shards) {
    ASSERT_EQ(shard.copies.size(), 4u) << "1 primary + 3 replicas";
    EXPECT_TRUE(shard.copies[0].primary);
  }

  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "logs", ReplicasUpdate(0)));
  CP_ASSERT_OK_AND_ASSIGN(index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.settings.replicas, 0);
  EXPECT_EQ(index.settings.refresh_interval, "30s") << "fields not in the update are kept";
  for (const ShardRouting& shard : index.routing.shards) EXPECT_EQ(shard.copies.size(), 1u);
}

TEST_P(ControlPlaneConformance, UpdateIndexSettingsRejectsInvalidChangesAsAWhole) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)));
  auto update = [](std::function<void(IndexSettingsUpdate&)> change) {
    IndexSettingsUpdate u;
    change(u);
    return u;
  };
  const std::vector<std::pair<std::string, IndexSettingsUpdate>> invalid = {
      {"number_of_shards is final", update([](auto& u) { u.shards = 3; })},
      {"codec of an open index", update([](auto& u) { u.codec = "best_compression"; })},
      {"11 replicas", update([](auto& u) { u.replicas = 11; })},
      {"-1 replicas", update([](auto& u) { u.replicas = -1; })},
      {"refresh 'often'", update([](auto& u) { u.refresh_interval = "often"; })},
      {"a valid change with an invalid one", update([](auto& u) {
         u.replicas = 2;
         u.shards = 4;
       })},
  };
  for (const auto& [what, u] : invalid) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&, &u = u] { return cp().UpdateIndexSettings(Ctx(), "logs", u); }, what);
  }
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().UpdateIndexSettings(Ctx(), "metrics", ReplicasUpdate(2)); },
      "unknown index");
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.settings.replicas, 1);
  EXPECT_EQ(index.settings.shards, 2);
}

TEST_P(ControlPlaneConformance, PutMappingMergesNewFields) {
  CreateIndexRequest request = IndexRequest("logs", 1, 0);
  request.mappings = Json::parse(R"({"properties": {"title": {"type": "text"}}})");
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), request));
  CP_ASSERT_OK(cp().PutMapping(Ctx(), "logs", Json::parse(R"({"properties": {
      "views": {"type": "long"},
      "author": {"properties": {"name": {"type": "keyword"}}}}})")));
  // Repeating a field with its type is allowed; nested objects merge field by field.
  CP_ASSERT_OK(cp().PutMapping(Ctx(), "logs", Json::parse(R"({"properties": {
      "title": {"type": "text"},
      "author": {"properties": {"email": {"type": "keyword"}}}}})")));
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.mappings, Json::parse(R"({"properties": {
      "title": {"type": "text"},
      "views": {"type": "long"},
      "author": {"properties": {"name": {"type": "keyword"}, "email": {"type": "keyword"}}}}})"))
      << index.mappings.dump();
}

TEST_P(ControlPlaneConformance, PutMappingRejectsATypeChangeAndBadInput) {
  CreateIndexRequest request = IndexRequest("logs", 1, 0);
  request.mappings = Json::parse(R"({"properties": {"title": {"type": "text"}}})");
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), request));
  ExpectRejected(
      cp(), StatusCode::kConflict,
      [&] {
        return cp().PutMapping(Ctx(), "logs", Json::parse(R"({"properties": {
            "views": {"type": "long"}, "title": {"type": "keyword"}}})"));
      },
      "change the type of [title]");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().PutMapping(Ctx(), "metrics", request.mappings); }, "unknown index");
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument,
      [&] { return cp().PutMapping(Ctx(), "logs", Json::array()); }, "mappings not an object");
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.mappings, request.mappings);
}

// --- aliases and open/close -------------------------------------------------------------------

cluster::AliasAction AddAlias(const std::string& index, const std::string& alias,
                              cluster::AliasMetadata metadata = {}) {
  return cluster::AliasAction{cluster::AliasAction::Type::kAdd, index, alias, std::move(metadata),
                              false};
}

cluster::AliasAction RemoveAlias(const std::string& index, const std::string& alias,
                                 bool must_exist = false) {
  return cluster::AliasAction{cluster::AliasAction::Type::kRemove, index, alias, {}, must_exist};
}

TEST_P(ControlPlaneConformance, CreateIndexWithAliasesAndSwapThemAtomically) {
  CreateIndexRequest request = IndexRequest("logs-1", 1, 0);
  cluster::AliasMetadata write;
  write.is_write_index = true;
  write.filter = Json::parse(R"({"term": {"level": "error"}})");
  write.index_routing = "r1";
  request.aliases = {{"logs", write}};
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), request));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs-2", 1, 0)));
  CP_ASSERT_OK_AND_ASSIGN(Index first, cp().GetIndex(Ctx(), "logs-1"));
  ASSERT_EQ(first.aliases.size(), 1u);
  EXPECT_EQ(first.aliases.at("logs"), write) << "metadata kept whole";

  // The rollover swap: one call moves the alias (and its write flag) to the new index.
  cluster::AliasMetadata plain;
  CP_ASSERT_OK(
      cp().UpdateAliases(Ctx(), {RemoveAlias("logs-1", "logs"), AddAlias("logs-1", "logs", plain),
                                 AddAlias("logs-2", "logs", write)}));
  CP_ASSERT_OK_AND_ASSIGN(StatePtr state, cp().GetClusterState(Ctx()));
  EXPECT_EQ(state->FindIndex("logs-1")->aliases.at("logs"), plain);
  EXPECT_EQ(state->FindIndex("logs-2")->aliases.at("logs"), write);

  CP_ASSERT_OK(cp().UpdateAliases(Ctx(), {RemoveAlias("logs-1", "logs", /*must_exist=*/true)}));
  CP_ASSERT_OK_AND_ASSIGN(Index after, cp().GetIndex(Ctx(), "logs-1"));
  EXPECT_TRUE(after.aliases.empty());
  // Deleting an index takes its aliases with it.
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "logs-2"));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
}

cluster::AliasAction RemoveIndex(const std::string& index) {
  return cluster::AliasAction{cluster::AliasAction::Type::kRemoveIndex, index, "", {}, false};
}

// remove_index: the index goes before the other actions apply, so an alias may take its name
// (OpenSearch Dashboards turns an index into an alias this way), and a write alias can move
// off the index being removed.
TEST_P(ControlPlaneConformance, UpdateAliasesRemoveIndexDeletesItFirst) {
  CreateIndexRequest old_index = IndexRequest("kibana", 1, 0);
  cluster::AliasMetadata write;
  write.is_write_index = true;
  old_index.aliases = {{"writes", write}};
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), old_index));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("kibana_1", 1, 0)));
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] {
        return cp().UpdateAliases(Ctx(), {RemoveIndex("kibana"), AddAlias("kibana", "x")});
      },
      "an alias on the index being removed");
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().UpdateAliases(Ctx(), {RemoveIndex("nope")}); },
      "removing an unknown index");
  CP_ASSERT_OK(
      cp().UpdateAliases(Ctx(), {AddAlias("kibana_1", "kibana"),
                                 AddAlias("kibana_1", "writes", write), RemoveIndex("kibana")}));
  CP_ASSERT_OK_AND_ASSIGN(StatePtr state, cp().GetClusterState(Ctx()));
  EXPECT_EQ(state->FindIndex("kibana"), nullptr);
  const cluster::Index* now = state->FindIndex("kibana_1");
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->aliases, (cluster::Aliases{{"kibana", {}}, {"writes", write}}));
  // The name is free for an index again once the alias is gone.
  CP_ASSERT_OK(cp().UpdateAliases(Ctx(), {RemoveAlias("kibana_1", "kibana", true)}));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("kibana", 1, 0)));
}

TEST_P(ControlPlaneConformance, UpdateAliasesRejectsBadActionsAsAWhole) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("a", 1, 0)));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("b", 1, 0)));
  cluster::AliasMetadata write;
  write.is_write_index = true;
  CP_ASSERT_OK(cp().UpdateAliases(Ctx(), {AddAlias("a", "both", write), AddAlias("b", "both")}));
  // Each batch starts with a good action that must not survive the bad one after it.
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument,
      [&] {
        return cp().UpdateAliases(Ctx(), {AddAlias("a", "x"), AddAlias("b", "both", write)});
      },
      "a second write index");
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument,
      [&] {
        return cp().UpdateAliases(Ctx(), {AddAlias("a", "x"), AddAlias("a", "b")});
      },
      "an alias named like an index");
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument,
      [&] {
        return cp().UpdateAliases(Ctx(), {AddAlias("a", "x"), AddAlias("a", "_bad")});
      },
      "an invalid alias name");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] {
        return cp().UpdateAliases(Ctx(), {AddAlias("a", "x"), AddAlias("nope", "x")});
      },
      "an unknown index");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] {
        return cp().UpdateAliases(Ctx(), {AddAlias("a", "x"), RemoveAlias("b", "x", true)});
      },
      "removing a missing alias that must exist");
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument, [&] { return cp().UpdateAliases(Ctx(), {}); },
      "no actions");
  CreateIndexRequest clash = IndexRequest("both", 1, 0);
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument, [&] { return cp().CreateIndex(Ctx(), clash); },
      "an index named like an alias");
  // Removing a missing alias that need not exist is a no-op.
  CP_EXPECT_OK(cp().UpdateAliases(Ctx(), {RemoveAlias("a", "never")}));
}

TEST_P(ControlPlaneConformance, CloseAndOpenAnIndex) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  CP_ASSERT_OK(cp().SetIndexClosed(Ctx(), "logs", true));
  CP_ASSERT_OK_AND_ASSIGN(Index closed, cp().GetIndex(Ctx(), "logs"));
  EXPECT_TRUE(closed.closed);
  CP_ASSERT_OK(cp().SetIndexClosed(Ctx(), "logs", true));  // already closed: succeeds
  CP_ASSERT_OK(cp().SetIndexClosed(Ctx(), "logs", false));
  CP_ASSERT_OK_AND_ASSIGN(Index open, cp().GetIndex(Ctx(), "logs"));
  EXPECT_FALSE(open.closed);
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().SetIndexClosed(Ctx(), "nope", true); },
      "unknown index");
}

TEST_P(ControlPlaneConformance, IndexTemplatesAreStoredReplacedAndDeleted) {
  using cluster::TemplateKind;
  const Json v1 = Json::parse(R"({"index_patterns": ["logs-*"], "priority": 1})");
  const Json v2 = Json::parse(R"({"index_patterns": ["logs-*"], "priority": 2})");
  CP_ASSERT_OK(cp().PutTemplate(Ctx(), TemplateKind::kComposable, "logs", v1, /*create=*/true));
  CP_ASSERT_OK(cp().PutTemplate(Ctx(), TemplateKind::kLegacy, "logs", v2, /*create=*/false));
  ExpectRejected(
      cp(), StatusCode::kAlreadyExists,
      [&] { return cp().PutTemplate(Ctx(), TemplateKind::kComposable, "logs", v2, true); },
      "create over an existing template");
  CP_ASSERT_OK(cp().PutTemplate(Ctx(), TemplateKind::kComposable, "logs", v2, false));
  CP_ASSERT_OK_AND_ASSIGN(StatePtr state, cp().GetClusterState(Ctx()));
  EXPECT_EQ(state->index_templates, (std::map<std::string, Json>{{"logs", v2}}));
  EXPECT_EQ(state->legacy_templates, (std::map<std::string, Json>{{"logs", v2}}));

  CP_ASSERT_OK(cp().DeleteTemplate(Ctx(), TemplateKind::kComposable, "logs"));
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().DeleteTemplate(Ctx(), TemplateKind::kComposable, "logs"); },
      "delete a missing template");
  CP_ASSERT_OK_AND_ASSIGN(state, cp().GetClusterState(Ctx()));
  EXPECT_TRUE(state->index_templates.empty());
  EXPECT_EQ(state->legacy_templates.size(), 1u) << "the kinds are separate";
}

// --- cluster state and health ------------------------------------------------------------------

TEST_P(ControlPlaneConformance, EveryWriteIsVisibleToTheNextReadWithAHigherVersion) {
  for (bool linearizable : {false, true}) {
    SCOPED_TRACE(linearizable ? "linearizable reads" : "local reads");
    const CallContext read = linearizable ? LinearizableCtx() : Ctx();
    const std::string name = linearizable ? "lin" : "local";
    int64_t version = StateOf(cp(), read)->version;
    auto advanced = [&] {
      const int64_t now = StateOf(cp(), read)->version;
      EXPECT_GT(now, version);
      version = now;
    };
    CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode(name)));
    advanced();
    CP_ASSERT_OK_AND_ASSIGN(NodeInfo node, cp().GetNode(read, name));
    EXPECT_EQ(node.state, NodeState::kActive);
    CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest(name, 1, 0)));
    advanced();
    CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(read, name));
    CP_ASSERT_OK(
        cp().PutMapping(Ctx(), name, Json::parse(R"({"properties": {"f": {"type": "long"}}})")));
    advanced();
    CP_ASSERT_OK_AND_ASSIGN(index, cp().GetIndex(read, name));
    EXPECT_TRUE(index.mappings.contains("properties"));
    CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), name, ReplicasUpdate(3)));
    advanced();
    CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(read, name));
    EXPECT_EQ(routing.shards.at(0).copies.size(), 4u);
    CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), name, StatusWithState(NodeState::kLeaving)));
    advanced();
    CP_ASSERT_OK_AND_ASSIGN(node, cp().GetNode(read, name));
    EXPECT_EQ(node.state, NodeState::kLeaving);
    CP_ASSERT_OK(cp().DeleteIndex(Ctx(), name));
    advanced();
    EXPECT_TRUE(cp().GetIndex(read, name).status().IsNotFound());
    CP_ASSERT_OK(cp().UnregisterNode(Ctx(), name));
    advanced();
    EXPECT_TRUE(cp().GetNode(read, name).status().IsNotFound());
    CP_ASSERT_OK_AND_ASSIGN(std::vector<NodeInfo> nodes, cp().ListNodes(read));
    EXPECT_TRUE(nodes.empty());
  }
}

TEST_P(ControlPlaneConformance, ClusterStateSnapshotsNeverChange) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 1)));
  const StatePtr snapshot = StateOf(cp());
  const ClusterState copy = *snapshot;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "logs", ReplicasUpdate(2)));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("metrics", 1, 1)));
  EXPECT_TRUE(*snapshot == copy) << "a state already handed out was modified";
  EXPECT_GT(StateOf(cp())->version, snapshot->version);
}

TEST_P(ControlPlaneConformance, HealthIsGreenWithoutIndicesAndCountsLiveNodes) {
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth empty, HealthOf(cp()));
  EXPECT_EQ(empty.status, HealthStatus::kGreen);
  EXPECT_EQ(empty.number_of_nodes, 0);
  EXPECT_EQ(empty.active_shards_percent, 100.0);
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen);
  EXPECT_EQ(health.number_of_nodes, 3);
  EXPECT_EQ(health.number_of_data_nodes, 2);
  EXPECT_TRUE(health.indices.empty());
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n2", StatusWithState(NodeState::kDown)));
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.number_of_nodes, 2) << "a DOWN node is not counted";
  EXPECT_EQ(health.number_of_data_nodes, 1);
}

TEST_P(ControlPlaneConformance, HealthIsRedWhilePrimariesAreUnassigned) {
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)));
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kRed);
  EXPECT_EQ(health.shards.unassigned_shards, 4);
  EXPECT_EQ(health.shards.active_shards, 0);
  EXPECT_EQ(health.active_shards_percent, 0.0);
  ASSERT_EQ(health.indices.count("logs"), 1u);
  const cluster::IndexHealth& index = health.indices.at("logs");
  EXPECT_EQ(index.status, HealthStatus::kRed);
  EXPECT_EQ(index.number_of_shards, 2);
  EXPECT_EQ(index.number_of_replicas, 1);
  EXPECT_EQ(index.shards.unassigned_shards, 4);
}

TEST_P(ControlPlaneConformance, HealthGoesFromRedToYellowToGreenAsCopiesStart) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 1)));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "logs", 0, "n1"), "");
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kRed) << "the primary is only initializing";
  EXPECT_EQ(health.shards.initializing_shards, 1);
  EXPECT_EQ(health.shards.unassigned_shards, 1);

  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow) << "only the replica is missing";
  EXPECT_EQ(health.shards.active_primary_shards, 1);
  EXPECT_EQ(health.shards.active_shards, 1);
  EXPECT_EQ(health.active_shards_percent, 50.0);

  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "logs", 0, "n2"), "");
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow);
  EXPECT_EQ(health.shards.initializing_shards, 1);

  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n2", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen);
  EXPECT_EQ(health.shards.active_shards, 2);
  EXPECT_EQ(health.shards.unassigned_shards, 0);
  EXPECT_EQ(health.active_shards_percent, 100.0);
  EXPECT_EQ(health.indices.at("logs").status, HealthStatus::kGreen);
}

// --- node management ---------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, RegisterNodeMakesItActiveAndVisible) {
  NodeInfo node;
  node.node_id = "node-1";
  node.address = "10.1.2.3";
  node.grpc_port = 9303;
  node.http_port = 9201;
  node.roles = Roles{false, true, true};
  node.resources =
      cluster::NodeResources{8, int64_t{16} << 30, int64_t{100} << 30, int64_t{60} << 30};
  node.state = NodeState::kJoining;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), node));
  CP_ASSERT_OK_AND_ASSIGN(NodeInfo got, cp().GetNode(Ctx(), "node-1"));
  EXPECT_EQ(got.state, NodeState::kActive);
  EXPECT_GT(got.last_seen_ms, 0);
  NodeInfo expected = node;
  expected.state = got.state;
  expected.last_seen_ms = got.last_seen_ms;
  EXPECT_EQ(got, expected) << "every registered field is kept";
  CP_ASSERT_OK_AND_ASSIGN(std::vector<NodeInfo> nodes, cp().ListNodes(Ctx()));
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0], got);
  const StatePtr state = StateOf(cp());  // held: `in_state` points into it
  const NodeInfo* in_state = state->FindNode("node-1");
  ASSERT_NE(in_state, nullptr);
  EXPECT_EQ(*in_state, got);
}

TEST_P(ControlPlaneConformance, RegisteringAKnownNodeAgainUpdatesIt) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  NodeInfo moved = DataNode("n1");
  moved.address = "10.9.9.9";
  moved.http_port = 9250;
  moved.roles.coordination = true;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), moved));
  CP_ASSERT_OK_AND_ASSIGN(NodeInfo got, cp().GetNode(Ctx(), "n1"));
  EXPECT_EQ(got.address, "10.9.9.9");
  EXPECT_EQ(got.http_port, 9250);
  EXPECT_EQ(got.roles, moved.roles);
  EXPECT_EQ(got.state, NodeState::kActive);
  CP_ASSERT_OK_AND_ASSIGN(std::vector<NodeInfo> nodes, cp().ListNodes(Ctx()));
  EXPECT_EQ(nodes.size(), 2u);
}

TEST_P(ControlPlaneConformance, RegisterNodeRejectsInvalidNodes) {
  auto with = [](std::function<void(NodeInfo&)> change) {
    NodeInfo node = DataNode("n1");
    change(node);
    return node;
  };
  const std::vector<std::pair<std::string, NodeInfo>> invalid = {
      {"empty id", with([](auto& n) { n.node_id = ""; })},
      {"id with a space", with([](auto& n) { n.node_id = "n 1"; })},
      {"id with a slash", with([](auto& n) { n.node_id = "n/1"; })},
      {"256-byte id", with([](auto& n) { n.node_id = std::string(256, 'n'); })},
      {"no role", with([](auto& n) { n.roles = Roles{}; })},
      {"grpc port 70000", with([](auto& n) { n.grpc_port = 70000; })},
      {"http port -1", with([](auto& n) { n.http_port = -1; })},
  };
  for (const auto& [what, node] : invalid) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&, &node = node] { return cp().RegisterNode(Ctx(), node); }, what);
  }
}

TEST_P(ControlPlaneConformance, UnregisterNodeRemovesIt) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK(cp().UnregisterNode(Ctx(), "n1"));
  EXPECT_TRUE(cp().GetNode(Ctx(), "n1").status().IsNotFound());
  EXPECT_EQ(StateOf(cp())->FindNode("n1"), nullptr);
  CP_ASSERT_OK_AND_ASSIGN(std::vector<NodeInfo> nodes, cp().ListNodes(Ctx()));
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].node_id, "c1");
}

TEST_P(ControlPlaneConformance, CallsNamingAnUnknownNodeAreNotFound) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  EXPECT_TRUE(cp().GetNode(Ctx(), "ghost").status().IsNotFound());
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().UnregisterNode(Ctx(), "ghost"); },
      "unregister");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().UpdateNodeStatus(Ctx(), "ghost", StatusWithState(NodeState::kActive)); },
      "update status");
  CP_ASSERT_OK(cp().UnregisterNode(Ctx(), "c1"));
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().UnregisterNode(Ctx(), "c1"); },
      "unregister twice");
}

TEST_P(ControlPlaneConformance, UpdateNodeStatusChangesStateAndResources) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK_AND_ASSIGN(NodeInfo registered, cp().GetNode(Ctx(), "c1"));
  NodeStatus leaving = StatusWithState(NodeState::kLeaving);
  leaving.resources = cluster::NodeResources{4, 1 << 30, 2 << 30, 1 << 30};
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "c1", leaving));
  CP_ASSERT_OK_AND_ASSIGN(NodeInfo node, cp().GetNode(Ctx(), "c1"));
  EXPECT_EQ(node.state, NodeState::kLeaving);
  EXPECT_EQ(node.resources, *leaving.resources);
  EXPECT_GE(node.last_seen_ms, registered.last_seen_ms);
  EXPECT_EQ(node.address, registered.address) << "a status report changes nothing else";

  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "c1", StatusWithState(NodeState::kActive)));
  CP_ASSERT_OK_AND_ASSIGN(node, cp().GetNode(Ctx(), "c1"));
  EXPECT_EQ(node.state, NodeState::kActive);
  EXPECT_EQ(node.resources, *leaving.resources) << "a report without resources keeps them";

  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "c1", StatusWithState(NodeState::kDown)));
  CP_ASSERT_OK_AND_ASSIGN(node, cp().GetNode(Ctx(), "c1"));
  EXPECT_EQ(node.state, NodeState::kDown);
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "c1", StatusWithState(NodeState::kActive)));
  CP_ASSERT_OK_AND_ASSIGN(node, cp().GetNode(Ctx(), "c1"));
  EXPECT_EQ(node.state, NodeState::kActive) << "a DOWN node comes back";
}

// --- shard management --------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, ShardCopiesAreAssignedAutomaticallyOrOnRequestOnly) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 1)));
  if (!harness().AllocatesAutomatically()) {
    CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
    for (const ShardRouting& shard : routing.shards) {
      for (const ShardCopy& copy : shard.copies) EXPECT_EQ(copy.state, ShardState::kUnassigned);
    }
    for (int32_t s = 0; s < 2; ++s) {
      CP_ASSERT_OK(cp().AllocateShard(Ctx(), "logs", s, s == 0 ? "n1" : "n2"));
    }
  }
  StatePtr state = WaitForState(
      cp(),
      [](const ClusterState& st) {
        const Index* index = st.FindIndex("logs");
        return index != nullptr &&
               std::all_of(index->routing.shards.begin(), index->routing.shards.end(),
                           [](const auto& shard) {
                             return shard.primary().state != ShardState::kUnassigned;
                           });
      },
      "every primary is assigned");
  ASSERT_NE(state, nullptr);
  for (const ShardRouting& shard : state->FindIndex("logs")->routing.shards) {
    ASSERT_EQ(shard.copies.size(), 2u) << "shard " << shard.shard_id;
    EXPECT_EQ(shard.primary().state, ShardState::kInitializing);
    EXPECT_TRUE(shard.primary().node_id == "n1" || shard.primary().node_id == "n2")
        << "a primary on " << shard.primary().node_id << ", which is not a data node";
    EXPECT_EQ(shard.copies[1].state, ShardState::kUnassigned)
        << "a replica is not assigned before its primary is active";
    CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", shard.shard_id, shard.primary().node_id,
                                       ShardState::kStarted));
  }
  if (!harness().AllocatesAutomatically()) {
    for (const ShardRouting& shard : state->FindIndex("logs")->routing.shards) {
      const std::string other = shard.primary().node_id == "n1" ? "n2" : "n1";
      CP_ASSERT_OK(cp().AllocateShard(Ctx(), "logs", shard.shard_id, other));
    }
  }
  state = WaitForState(
      cp(),
      [](const ClusterState& st) {
        const Index* index = st.FindIndex("logs");
        return index != nullptr &&
               std::all_of(index->routing.shards.begin(), index->routing.shards.end(),
                           [](const auto& shard) {
                             return shard.copies.size() == 2 &&
                                    shard.copies[1].state != ShardState::kUnassigned;
                           });
      },
      "every replica is assigned");
  ASSERT_NE(state, nullptr);
  for (const ShardRouting& shard : state->FindIndex("logs")->routing.shards) {
    EXPECT_NE(shard.copies[1].node_id, shard.primary().node_id)
        << "two copies of shard " << shard.shard_id << " on one node";
    EXPECT_TRUE(shard.copies[1].node_id == "n1" || shard.copies[1].node_id == "n2");
  }
}

TEST_P(ControlPlaneConformance, PrimaryStartsFirstThenItsReplica) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 1)));
  const std::string primary_id = AllocateOrAwait(cp(), harness(), "logs", 0, "n1");
  ASSERT_NE(primary_id, "");
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_TRUE(routing.shards[0].copies[0].primary);
  EXPECT_EQ(routing.shards[0].copies[0].node_id, "n1");
  EXPECT_EQ(routing.shards[0].copies[1].state, ShardState::kUnassigned);

  // A replica may be placed while its primary initializes (no allocator does this on its own,
  // so the call must succeed), but it cannot start before the primary.
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  CP_ASSERT_OK(cp().AllocateShard(Ctx(), "logs", 0, "n2"));
  CP_ASSERT_OK_AND_ASSIGN(routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  ASSERT_NE(routing.shards[0].CopyOn("n2"), nullptr);
  const ShardCopy replica = *routing.shards[0].CopyOn("n2");
  EXPECT_FALSE(replica.primary);
  EXPECT_EQ(replica.state, ShardState::kInitializing);
  EXPECT_NE(replica.allocation_id, primary_id);
  ExpectRejected(
      cp(), StatusCode::kConflict,
      [&] { return cp().UpdateShardState(Ctx(), "logs", 0, "n2", ShardState::kStarted); },
      "start a replica before its primary");

  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(index.routing, 2));
  EXPECT_EQ(index.routing.shards[0].primary().state, ShardState::kStarted);
  EXPECT_EQ(index.routing.shards[0].in_sync,
            (std::map<std::string, std::string>{{primary_id, "n1"}}));
  EXPECT_EQ(index.state, IndexState::kActive) << "every primary has started";

  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n2", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  ASSERT_NE(routing.shards[0].CopyOn("n2"), nullptr);
  EXPECT_EQ(routing.shards[0].CopyOn("n2")->state, ShardState::kStarted);
  EXPECT_EQ(routing.shards[0].in_sync, (std::map<std::string, std::string>{
                                           {primary_id, "n1"}, {replica.allocation_id, "n2"}}));
  // Starting a started copy again changes nothing that matters (a retried report).
  CP_EXPECT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n2", ShardState::kStarted));
}

TEST_P(ControlPlaneConformance, IndexBecomesActiveWhenEveryPrimaryHasStarted) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 2, 0)));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "logs", 0, "n1"), "");
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "logs", 1, "n1"), "");
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(Index index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.state, IndexState::kCreating) << "shard 1 has not started";
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 1, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(index, cp().GetIndex(Ctx(), "logs"));
  EXPECT_EQ(index.state, IndexState::kActive);
}

TEST_P(ControlPlaneConformance, NodeGoingDownPromotesAnInSyncReplica) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable before, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(before, 2));
  const std::string old_primary = before.shards[0].primary().allocation_id;
  const std::string replica = before.shards[0].copies[1].allocation_id;

  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kDown)));
  CP_ASSERT_OK_AND_ASSIGN(NodeInfo n1, cp().GetNode(Ctx(), "n1"));
  EXPECT_EQ(n1.state, NodeState::kDown);
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable after, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(after, 2)) << "the failed copy stays, unassigned";
  const ShardRouting& shard = after.shards[0];
  EXPECT_TRUE(shard.copies[0].primary);
  EXPECT_EQ(shard.primary().node_id, "n2") << "the in-sync replica is promoted at once";
  EXPECT_EQ(shard.primary().allocation_id, replica);
  EXPECT_EQ(shard.primary().state, ShardState::kStarted);
  EXPECT_EQ(shard.primary_term, before.shards[0].primary_term + 1);
  EXPECT_EQ(shard.CopyOn("n1"), nullptr) << "no copy stays on a DOWN node";
  EXPECT_EQ(shard.in_sync.count(old_primary), 0u);
  EXPECT_EQ(shard.in_sync.count(replica), 1u);
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow) << "no node is left for the replica";

  // The node comes back: the missing replica goes there (the only data node without a copy).
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kActive)));
  const std::string new_replica = AllocateOrAwait(cp(), harness(), "logs", 0, "n1");
  EXPECT_NE(new_replica, old_primary) << "a returning replica is a new copy";
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen);
}

TEST_P(ControlPlaneConformance, LostPrimaryWithoutAnInSyncCopyWaitsForItsNode) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  const std::string allocation_id = AllocateOrAwait(cp(), harness(), "logs", 0, "n1");
  ASSERT_NE(allocation_id, "");
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kDown)));

  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 1));
  EXPECT_EQ(routing.shards[0].primary().state, ShardState::kUnassigned);
  EXPECT_EQ(routing.shards[0].in_sync, (std::map<std::string, std::string>{{allocation_id, "n1"}}))
      << "the only copy with the data is remembered";
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kRed);

  // An empty primary elsewhere would lose acknowledged writes: refused, by hand or allocator.
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  ExpectRejected(
      cp(), StatusCode::kConflict, [&] { return cp().AllocateShard(Ctx(), "logs", 0, "n2"); },
      "allocate the lost primary to a node without its data");

  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kActive)));
  EXPECT_EQ(AllocateOrAwait(cp(), harness(), "logs", 0, "n1"), allocation_id)
      << "the primary comes back as the same copy";
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen);
}

TEST_P(ControlPlaneConformance, UnregisterNodeFailsItsShardCopies) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable before, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(before, 2));
  const std::string primary = before.shards[0].primary().allocation_id;

  CP_ASSERT_OK(cp().UnregisterNode(Ctx(), "n2"));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].copies[1].state, ShardState::kUnassigned);
  EXPECT_EQ(routing.shards[0].in_sync, (std::map<std::string, std::string>{{primary, "n1"}}));
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow);

  CP_ASSERT_OK(cp().UnregisterNode(Ctx(), "n1"));
  CP_ASSERT_OK_AND_ASSIGN(routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].primary().state, ShardState::kUnassigned);
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kRed);
  EXPECT_EQ(health.number_of_nodes, 0);
}

TEST_P(ControlPlaneConformance, DeallocateShardRemovesTheCopy) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n3")));  // holds nothing: nothing to allocate
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().DeallocateShard(Ctx(), "logs", 0, "n3"); },
      "a node without a copy");
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().DeallocateShard(Ctx(), "metrics", 0, "n1"); },
      "unknown index");
  for (int32_t shard : {-1, 1}) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&] { return cp().DeallocateShard(Ctx(), "logs", shard, "n1"); },
        "shard " + std::to_string(shard));
  }

  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable before, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(before, 2));
  const std::string replica = before.shards[0].copies[1].allocation_id;
  CP_ASSERT_OK(cp().DeallocateShard(Ctx(), "logs", 0, "n2"));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable after, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(after, 2));
  const ShardRouting& shard = after.shards[0];
  EXPECT_EQ(shard.primary().node_id, "n1");
  EXPECT_EQ(shard.primary().state, ShardState::kStarted);
  EXPECT_EQ(shard.in_sync.count(replica), 0u) << "a removed copy leaves the in-sync set";
  for (const ShardCopy& copy : shard.copies) {
    EXPECT_NE(copy.allocation_id, replica) << "the removed copy is gone (a new one may follow)";
  }
}

TEST_P(ControlPlaneConformance, DeallocatingThePrimaryPromotesAnInSyncReplica) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable before, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(before, 2));
  CP_ASSERT_OK(cp().DeallocateShard(Ctx(), "logs", 0, "n1"));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable after, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(after, 2));
  const ShardRouting& shard = after.shards[0];
  EXPECT_EQ(shard.primary().node_id, "n2");
  EXPECT_EQ(shard.primary().allocation_id, before.shards[0].copies[1].allocation_id);
  EXPECT_EQ(shard.primary().state, ShardState::kStarted);
  EXPECT_EQ(shard.primary_term, before.shards[0].primary_term + 1);
  EXPECT_EQ(shard.in_sync.count(before.shards[0].primary().allocation_id), 0u);
}

TEST_P(ControlPlaneConformance, UpdateShardStateFollowsTheCopyLifecycle) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n3")));  // holds nothing: nothing to allocate
  ExpectRejected(
      cp(), StatusCode::kConflict,
      [&] { return cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kInitializing); },
      "STARTED -> INITIALIZING");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().UpdateShardState(Ctx(), "logs", 0, "n3", ShardState::kStarted); },
      "a node without a copy");
  ExpectRejected(
      cp(), StatusCode::kNotFound,
      [&] { return cp().UpdateShardState(Ctx(), "metrics", 0, "n1", ShardState::kStarted); },
      "unknown index");
  for (int32_t shard : {-1, 1}) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&] { return cp().UpdateShardState(Ctx(), "logs", shard, "n1", ShardState::kStarted); },
        "shard " + std::to_string(shard));
  }

  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kRelocating));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].primary().state, ShardState::kRelocating);
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen) << "a relocating copy is active";
  EXPECT_EQ(health.shards.relocating_shards, 1);
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK_AND_ASSIGN(routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].primary().state, ShardState::kStarted);

  // A copy that reports UNASSIGNED has failed: it leaves the in-sync set.
  const std::string replica = routing.shards[0].copies[1].allocation_id;
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "logs", 0, "n2", ShardState::kUnassigned));
  CP_ASSERT_OK_AND_ASSIGN(routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].in_sync.count(replica), 0u);
  CP_ASSERT_OK_AND_ASSIGN(health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow);
}

TEST_P(ControlPlaneConformance, ReducingReplicasRemovesAssignedReplicaCopies) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable before, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(before, 2));
  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "logs", ReplicasUpdate(0)));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable after, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(after, 1));
  EXPECT_EQ(after.shards[0].primary(), before.shards[0].primary()) << "the primary stays";
  EXPECT_EQ(after.shards[0].CopyOn("n2"), nullptr);
  EXPECT_EQ(after.shards[0].in_sync,
            (std::map<std::string, std::string>{{before.shards[0].primary().allocation_id, "n1"}}));
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kGreen);
}

TEST_P(ControlPlaneConformance, ReRegisteringWithoutTheDataRoleFailsTheNodesCopies) {
  MakeStartedIndexWithReplica(cp(), harness(), "logs");
  if (HasFatalFailure()) return;
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("n2")));
  CP_ASSERT_OK_AND_ASSIGN(ShardRoutingTable routing, cp().GetShardRouting(Ctx(), "logs"));
  ASSERT_TRUE(OneShardWithCopies(routing, 2));
  EXPECT_EQ(routing.shards[0].CopyOn("n2"), nullptr) << "no copy stays on a node without data";
  EXPECT_EQ(routing.shards[0].copies[1].state, ShardState::kUnassigned);
  CP_ASSERT_OK_AND_ASSIGN(ClusterHealth health, HealthOf(cp()));
  EXPECT_EQ(health.status, HealthStatus::kYellow);
  EXPECT_EQ(health.number_of_data_nodes, 1);
}

TEST_P(ControlPlaneConformance, AllocateShardRejectsInvalidTargets) {
  // No data node yet: nothing can be allocated automatically while the errors are checked.
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("logs", 1, 0)));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  ExpectRejected(
      cp(), StatusCode::kInvalidArgument,
      [&] { return cp().AllocateShard(Ctx(), "logs", 0, "c1"); }, "a node without the data role");
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().AllocateShard(Ctx(), "logs", 0, "ghost"); },
      "an unknown node");

  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "logs", 0, "n1"), "");
  // Every copy is assigned now: again nothing can happen on its own.
  ExpectRejected(
      cp(), StatusCode::kNotFound, [&] { return cp().AllocateShard(Ctx(), "metrics", 0, "n1"); },
      "an unknown index");
  for (int32_t shard : {-1, 1, 10000}) {
    ExpectRejected(
        cp(), StatusCode::kInvalidArgument,
        [&] { return cp().AllocateShard(Ctx(), "logs", shard, "n1"); },
        "shard " + std::to_string(shard));
  }
  ExpectRejected(
      cp(), StatusCode::kConflict, [&] { return cp().AllocateShard(Ctx(), "logs", 0, "n1"); },
      "a second copy on the same node");
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n2")));
  ExpectRejected(
      cp(), StatusCode::kConflict, [&] { return cp().AllocateShard(Ctx(), "logs", 0, "n2"); },
      "a copy beyond 1 + replicas");
  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "logs", ReplicasUpdate(1)));
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n2", StatusWithState(NodeState::kDown)));
  ExpectRejected(
      cp(), StatusCode::kConflict, [&] { return cp().AllocateShard(Ctx(), "logs", 0, "n2"); },
      "a DOWN node");
}

// --- watch -------------------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, WatchDeliversEveryChangeInOrder) {
  const int64_t from = StateOf(cp())->version;
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch, cp().WatchClusterState(Ctx(), from));
  std::vector<int64_t> versions;  // the state version after each call
  auto record = [&] { versions.push_back(StateOf(cp())->version); };
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  record();
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("a", 1, 1)));
  record();
  CP_ASSERT_OK(
      cp().PutMapping(Ctx(), "a", Json::parse(R"({"properties": {"f": {"type": "long"}}})")));
  record();
  CP_ASSERT_OK(cp().UpdateIndexSettings(Ctx(), "a", ReplicasUpdate(2)));
  record();
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "c1", StatusWithState(NodeState::kLeaving)));
  record();
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "a"));
  record();
  CP_ASSERT_OK(cp().UnregisterNode(Ctx(), "c1"));
  record();

  std::vector<ClusterStateEvent> events = ReadEvents(*watch, 7);
  EXPECT_EQ(Describe(events),
            (std::vector<std::string>{"NODE_JOINED @c1", "INDEX_CREATED a", "INDEX_MODIFIED a",
                                      "INDEX_MODIFIED a", "NODE_MODIFIED @c1", "INDEX_DELETED a",
                                      "NODE_LEFT @c1"}));
  EXPECT_EQ(Versions(events), versions) << "each event carries the version its change produced";
  EXPECT_GT(versions.front(), from);
  EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end()) &&
              std::adjacent_find(versions.begin(), versions.end()) == versions.end())
      << "versions strictly increase";
  for (const ClusterStateEvent& e : events) {
    EXPECT_GT(e.timestamp_ms, 0) << Describe(e);
    EXPECT_EQ(e.state, nullptr) << "only a resync carries a state";
  }
  ExpectNoMoreEvents(*watch);
}

TEST_P(ControlPlaneConformance, WatchDeliversShardEventsWithTheirChange) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch,
                          cp().WatchClusterState(Ctx(), StateOf(cp())->version));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("s", 1, 0)));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "s", 0, "n1"), "");
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "s", 0, "n1", ShardState::kStarted));
  const int64_t started = StateOf(cp())->version;
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kDown)));
  const int64_t down = StateOf(cp())->version;

  std::vector<ClusterStateEvent> events = ReadEvents(*watch, 6);
  ASSERT_EQ(Describe(events),
            (std::vector<std::string>{"INDEX_CREATED s", "SHARD_ALLOCATED s[0] @n1 primary",
                                      "SHARD_STARTED s[0] @n1 primary", "INDEX_MODIFIED s",
                                      "SHARD_FAILED s[0] @n1 primary", "NODE_LEFT @n1"}));
  EXPECT_LT(events[0].version, events[1].version);
  EXPECT_LT(events[1].version, events[2].version);
  EXPECT_EQ(events[2].version, started) << "the start and the activation are one change";
  EXPECT_EQ(events[3].version, started);
  EXPECT_EQ(events[4].version, down) << "the failure and the node leaving are one change";
  EXPECT_EQ(events[5].version, down);
  ExpectNoMoreEvents(*watch);
}

TEST_P(ControlPlaneConformance, WatchResumedFromTheLastSeenVersionLosesAndRepeatsNothing) {
  const int64_t from = StateOf(cp())->version;
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> unbroken, cp().WatchClusterState(Ctx(), from));

  CP_ASSERT_OK(cp().RegisterNode(Ctx(), DataNode("n1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("r", 2, 0)));
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "r", 0, "n1"), "");
  ASSERT_NE(AllocateOrAwait(cp(), harness(), "r", 1, "n1"), "");
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "r", 0, "n1", ShardState::kStarted));
  CP_ASSERT_OK(cp().UpdateShardState(Ctx(), "r", 1, "n1", ShardState::kStarted));
  const std::vector<std::string> first_part = {"NODE_JOINED @n1",
                                               "INDEX_CREATED r",
                                               "SHARD_ALLOCATED r[0] @n1 primary",
                                               "SHARD_ALLOCATED r[1] @n1 primary",
                                               "SHARD_STARTED r[0] @n1 primary",
                                               "SHARD_STARTED r[1] @n1 primary",
                                               "INDEX_MODIFIED r"};
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> first, cp().WatchClusterState(Ctx(), from));
  std::vector<ClusterStateEvent> seen = ReadEvents(*first, first_part.size());
  ASSERT_EQ(Describe(seen), first_part);
  first->Cancel();
  first.reset();

  // While nobody watches: one change with several events, then one more change.
  CP_ASSERT_OK(cp().UpdateNodeStatus(Ctx(), "n1", StatusWithState(NodeState::kDown)));
  CP_ASSERT_OK(
      cp().PutMapping(Ctx(), "r", Json::parse(R"({"properties": {"f": {"type": "long"}}})")));
  const std::vector<std::string> second_part = {"SHARD_FAILED r[0] @n1 primary",
                                                "SHARD_FAILED r[1] @n1 primary", "NODE_LEFT @n1",
                                                "INDEX_MODIFIED r"};
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> resumed,
                          cp().WatchClusterState(Ctx(), seen.back().version));
  std::vector<ClusterStateEvent> rest = ReadEvents(*resumed, second_part.size());
  EXPECT_EQ(Describe(rest), second_part);
  ExpectNoMoreEvents(*resumed);

  seen.insert(seen.end(), rest.begin(), rest.end());
  std::vector<ClusterStateEvent> all =
      ReadEvents(*unbroken, first_part.size() + second_part.size());
  EXPECT_EQ(Describe(seen), Describe(all));
  const std::vector<int64_t> versions = Versions(all);
  EXPECT_EQ(Versions(seen), versions);
  EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end()));
  ExpectNoMoreEvents(*unbroken);
}

TEST_P(ControlPlaneConformance, WatchFromVersionZeroStartsAtTheBeginningOrWithAResync) {
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  CP_ASSERT_OK(cp().CreateIndex(Ctx(), IndexRequest("z", 1, 0)));
  const StatePtr current = StateOf(cp());
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch, cp().WatchClusterState(Ctx(), 0));
  std::vector<ClusterStateEvent> first = ReadEvents(*watch, 1);
  ASSERT_EQ(first.size(), 1u);
  if (first[0].type == EventType::kResync) {
    ASSERT_NE(first[0].state, nullptr);
    EXPECT_EQ(first[0].state->version, first[0].version);
    EXPECT_TRUE(*first[0].state == *current) << "a resync carries the whole current state";
  } else {
    std::vector<ClusterStateEvent> second = ReadEvents(*watch, 1);
    first.insert(first.end(), second.begin(), second.end());
    EXPECT_EQ(Describe(first), (std::vector<std::string>{"NODE_JOINED @c1", "INDEX_CREATED z"}));
  }
  ExpectNoMoreEvents(*watch);
  CP_ASSERT_OK(cp().DeleteIndex(Ctx(), "z"));
  EXPECT_EQ(Describe(ReadEvents(*watch, 1)), (std::vector<std::string>{"INDEX_DELETED z"}));
}

TEST_P(ControlPlaneConformance, IdleWatchTimesOutAtTheDeadlineAndStaysUsable) {
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch,
                          cp().WatchClusterState(Ctx(), StateOf(cp())->version));
  const Clock::time_point deadline = Clock::now() + 100ms;
  Result<ClusterStateEvent> e = watch->Next(deadline);
  EXPECT_TRUE(e.status().IsTimeout()) << e.status();
  // With some slack: a remote implementation may convert the deadline between clocks.
  EXPECT_GE(Clock::now() + 10ms, deadline) << "returned well before its deadline";
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  EXPECT_EQ(Describe(ReadEvents(*watch, 1)), (std::vector<std::string>{"NODE_JOINED @c1"}));
}

TEST_P(ControlPlaneConformance, CancelEndsAWatchBlockedInAnotherThread) {
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch,
                          cp().WatchClusterState(Ctx(), StateOf(cp())->version));
  Status next = Status::Internal("not run");
  std::thread reader([&] { next = watch->Next(Clock::now() + kCallTimeout).status(); });
  watch->Cancel();
  reader.join();
  EXPECT_TRUE(next.IsUnavailable()) << next;
  // Other watches are not affected.
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> other,
                          cp().WatchClusterState(Ctx(), StateOf(cp())->version));
  CP_ASSERT_OK(cp().RegisterNode(Ctx(), CoordinationNode("c1")));
  EXPECT_EQ(Describe(ReadEvents(*other, 1)), (std::vector<std::string>{"NODE_JOINED @c1"}));
}

// --- concurrency -------------------------------------------------------------------------------

TEST_P(ControlPlaneConformance, ConcurrentWritersAreAllAppliedOnceAndWatched) {
  constexpr int kThreads = 4;
  constexpr int kIndicesPerThread = 5;
  const int64_t from = StateOf(cp())->version;
  CP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Watch> watch, cp().WatchClusterState(Ctx(), from));
  std::vector<Status> race(kThreads);
  std::vector<std::vector<Status>> creates(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      race[t] = cp().CreateIndex(Ctx(), IndexRequest("race", 1, 0)).status();
      for (int i = 0; i < kIndicesPerThread; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        creates[t].push_back(cp().CreateIndex(Ctx(), IndexRequest(name, 1, 0)).status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  int winners = 0;
  for (const Status& s : race) {
    if (s.ok()) {
      ++winners;
    } else {
      EXPECT_TRUE(s.IsAlreadyExists()) << s;
    }
  }
  EXPECT_EQ(winners, 1) << "exactly one of the concurrent creates of one name succeeds";
  std::set<std::string> expected = {"race"};
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kIndicesPerThread; ++i) {
      EXPECT_TRUE(creates[t][i].ok()) << creates[t][i];
      expected.insert("t" + std::to_string(t) + "-" + std::to_string(i));
    }
  }
  CP_ASSERT_OK_AND_ASSIGN(std::vector<Index> listed, cp().ListIndices(Ctx()));
  std::set<std::string> names;
  for (const Index& index : listed) names.insert(index.name);
  EXPECT_EQ(names, expected);

  std::vector<ClusterStateEvent> events = ReadEvents(*watch, expected.size());
  std::multiset<std::string> created;
  int64_t last = from;
  for (const ClusterStateEvent& e : events) {
    EXPECT_EQ(e.type, EventType::kIndexCreated) << Describe(e);
    EXPECT_GT(e.version, last) << "one version per create, increasing";
    last = e.version;
    created.insert(e.index);
  }
  EXPECT_EQ(created, std::multiset<std::string>(expected.begin(), expected.end()));
  ExpectNoMoreEvents(*watch);
}

}  // namespace
}  // namespace quidditch::controlplane::testing
