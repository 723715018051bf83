// Tests of state diffs: DiffEvents checked against the events Apply() emits for the same change
// (the reference), on random command sequences and on focused cases; FailCopiesOnDeadNodes
// checked against Apply() failing a node's copies.
#include "cluster/diff.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cluster/allocator.h"
#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/test_util.h"

namespace quidditch::cluster {
namespace {

using testing::CoordinationNode;
using testing::DataNode;
using testing::MustApply;
using testing::NewIndex;
using testing::WithNodes;

// One line per event, for readable failures: "SHARD_FAILED [logs][0] n1 primary".
std::string Describe(const std::vector<ClusterStateEvent>& events) {
  std::ostringstream out;
  for (const ClusterStateEvent& e : events) {
    out << EventTypeName(e.type);
    if (!e.index.empty()) out << " [" << e.index << "]";
    if (e.shard_id >= 0) out << "[" << e.shard_id << "]";
    if (!e.node_id.empty()) out << " " << e.node_id;
    if (e.primary) out << " primary";
    out << "\n";
  }
  return out.str();
}

// `index` in `a` and `b` with the same uuid and nothing but its updated time changed.
bool SameIndexButTime(const ClusterState& a, const ClusterState& b, const std::string& name) {
  const Index* x = a.FindIndex(name);
  const Index* y = b.FindIndex(name);
  if (x == nullptr || y == nullptr) return false;
  Index y_at_x_time = *y;
  y_at_x_time.updated_at_ms = x->updated_at_ms;
  return *x == y_at_x_time;
}

// `node_id` in `a` and `b`, with nothing but its last-seen time changed.
bool SameNodeButTime(const ClusterState& a, const ClusterState& b, const std::string& node_id) {
  const NodeInfo* x = a.FindNode(node_id);
  const NodeInfo* y = b.FindNode(node_id);
  if (x == nullptr || y == nullptr) return false;
  NodeInfo y_at_x_time = *y;
  y_at_x_time.last_seen_ms = x->last_seen_ms;
  return *x == y_at_x_time;
}

// How often each known exception applied, so that a test can show they were exercised.
struct Exceptions {
  int64_t unchanged_index = 0;
  int64_t unchanged_node = 0;
  int64_t leaving_rejoined = 0;
};

// The events Apply() emitted for before -> after, less what no diff of the two states can know.
// Only these two documented differences are allowed; everything else must match exactly:
//   (a) Apply() reports a change the command asked for even when it changes nothing but the
//       times (PutMapping with no new field, UpdateIndexSettings to the values in force,
//       RegisterNode of an unchanged node). Dropped here when the index or node is equal but
//       for its updated or last-seen time: a diff sees no change.
//   (b) RegisterNode of a LEAVING node is NODE_JOINED in Apply() (the node came back), but a
//       diff sees an ACTIVE node that was LEAVING, which it cannot tell from UpdateNodeStatus
//       ACTIVE on a LEAVING node (NODE_MODIFIED in Apply()). Expected as NODE_MODIFIED.
std::vector<ClusterStateEvent> DiffableEvents(const ClusterState& before, const ClusterState& after,
                                              std::vector<ClusterStateEvent> events,
                                              Exceptions& seen) {
  std::vector<ClusterStateEvent> out;
  for (ClusterStateEvent& e : events) {
    if (e.type == EventType::kIndexModified && SameIndexButTime(before, after, e.index)) {
      ++seen.unchanged_index;  // (a)
      continue;
    }
    if (e.type == EventType::kNodeModified && SameNodeButTime(before, after, e.node_id)) {
      ++seen.unchanged_node;  // (a)
      continue;
    }
    const NodeInfo* was = before.FindNode(e.node_id);
    const NodeInfo* is = after.FindNode(e.node_id);
    if (e.type == EventType::kNodeJoined && was != nullptr && is != nullptr &&
        was->state == NodeState::kLeaving && is->state == NodeState::kActive) {
      ++seen.leaving_rejoined;  // (b)
      e.type = EventType::kNodeModified;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Random commands of every kind against a growing cluster: a superset of the walk in
// property_test.cc (it also sends PutMapping, refresh-interval changes, LEAVING/JOINING
// statuses, resource reports, role changes, relocations, deallocations and retried creates),
// built from the same helpers (RandomPicker in test_util.h, ComputeAllocation); the Simulation
// there is private to its file. Each command that applies is checked.
class Walk {
 public:
  explicit Walk(uint64_t seed) : random_(seed), state_(EmptyState()) {}

  void Step() {
    ++clock_;
    size_t roll = random_.Pick(24);
    if (roll < 3) return JoinNode();
    if (roll < 4) return Do(UnregisterNodeCmd{random_.AnyNode(*state_)});
    if (roll < 7) return ReportStatus();
    if (roll < 10) return CreateIndex();
    if (roll < 11) return Do(DeleteIndexCmd{random_.AnyIndex(*state_)});
    if (roll < 12) return UpdateSettings();
    if (roll < 13) return PutMapping();
    if (roll < 16) return AllocatorRound();
    if (roll < 18) return StartSome();
    if (roll < 19) return FailSome();
    if (roll < 20) return Relocate();
    return Garbage();
  }

  const StatePtr& state() const { return state_; }
  int64_t applied() const { return applied_; }
  const std::map<EventType, int64_t>& compared() const { return compared_; }
  const Exceptions& exceptions() const { return exceptions_; }
  // Primaries replaced by a replica in the same change.
  int64_t promotions() const { return promotions_; }

 private:
  void JoinNode() {
    // A known node, often unchanged (a restart), or a new one.
    if (!state_->nodes.empty() && random_.Pick(3) == 0) {
      NodeInfo n = random_.AnyOf(state_->nodes).second;
      if (random_.Pick(4) == 0) n.roles.data = !n.roles.data;
      if (n.roles.empty()) n.roles.coordination = true;
      return Do(RegisterNodeCmd{n});
    }
    Do(RegisterNodeCmd{random_.NewNode(10)});
  }

  void ReportStatus() {
    static constexpr NodeState kStates[] = {NodeState::kDown,    NodeState::kDown,
                                            NodeState::kActive,  NodeState::kActive,
                                            NodeState::kLeaving, NodeState::kJoining};
    NodeStatus status{kStates[random_.Pick(6)], std::nullopt};
    if (random_.Pick(3) == 0) {
      status.resources =
          NodeResources{4, 1 << 30, 100, 100 - static_cast<int64_t>(random_.Pick(3))};
    }
    Do(UpdateNodeStatusCmd{random_.AnyNode(*state_), status});
  }

  void CreateIndex() {
    CreateIndexCmd c = testing::NewIndex("idx-" + std::to_string(random_.Pick(12)),
                                         1 + static_cast<int32_t>(random_.Pick(3)),
                                         static_cast<int32_t>(random_.Pick(3)));
    c.uuid = "uuid-" + std::to_string(clock_);
    if (const Index* existing = state_->FindIndex(c.name);
        existing != nullptr && random_.Pick(2) == 0) {
      c.uuid = existing->uuid;  // a retried proposal: a no-op that succeeds
    }
    if (random_.Pick(2) == 0) c.mappings = Json{{"properties", {{"title", {{"type", "text"}}}}}};
    Do(c);
  }

  void UpdateSettings() {
    IndexSettingsUpdate u;
    if (random_.Pick(3) != 0) u.replicas = static_cast<int32_t>(random_.Pick(4));
    if (random_.Pick(3) == 0) u.refresh_interval = random_.Pick(2) == 0 ? "1s" : "5s";
    Do(UpdateIndexSettingsCmd{random_.AnyIndex(*state_), u});
  }

  void PutMapping() {
    static const char* const kFields[] = {"title", "count", "tag"};
    static const char* const kTypes[] = {"text", "long", "keyword"};
    Json mapping{{"properties", {{kFields[random_.Pick(3)], {{"type", kTypes[random_.Pick(3)]}}}}}};
    Do(PutMappingCmd{random_.AnyIndex(*state_), mapping});
  }

  // The allocator's batch, one command at a time, so that each is compared on its own.
  void AllocatorRound() {
    for (const Command& command : ComputeAllocation(*state_, clock_)) {
      DoCommand(command, /*must_apply=*/true);
    }
  }

  void StartSome() {
    std::vector<Command> starts;
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state != ShardState::kInitializing || random_.Pick(3) == 0) continue;
          starts.push_back(Command{
              clock_, UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kStarted}});
        }
      }
    }
    // Primaries come first in a shard, so most replicas find their primary started.
    for (const Command& command : starts) DoCommand(command, /*must_apply=*/false);
  }

  // Fails or deallocates one copy.
  void FailSome() {
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state == ShardState::kUnassigned || random_.Pick(6) != 0) continue;
          if (random_.Pick(2) == 0) return Do(DeallocateShardCmd{name, shard.shard_id, c.node_id});
          return Do(UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kUnassigned});
        }
      }
    }
  }

  // Moves an active copy between STARTED and RELOCATING.
  void Relocate() {
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (!IsActive(c.state) || random_.Pick(4) != 0) continue;
          ShardState to =
              c.state == ShardState::kStarted ? ShardState::kRelocating : ShardState::kStarted;
          return Do(UpdateShardStateCmd{name, shard.shard_id, c.node_id, to});
        }
      }
    }
  }

  // Commands that may well be invalid, or valid and changing nothing.
  void Garbage() {
    static constexpr ShardState kStates[] = {ShardState::kInitializing, ShardState::kStarted,
                                             ShardState::kRelocating};
    Do(random_.MaybeInvalidCommand(*state_, /*shards=*/3, kStates));
  }

  void Do(CommandOp op) { DoCommand(Command{clock_, std::move(op)}, /*must_apply=*/false); }

  void DoCommand(const Command& command, bool must_apply) {
    Result<ApplyResult> r = Apply(state_, command);
    if (!r.ok()) {
      ASSERT_FALSE(must_apply) << r.status();
      return;
    }
    const ClusterState& before = *state_;
    const ClusterState& after = *r->state;
    std::vector<ClusterStateEvent> expected = DiffableEvents(before, after, r->events, exceptions_);
    std::vector<ClusterStateEvent> actual =
        DiffEvents(before, after, after.version, command.timestamp_ms);
    ASSERT_EQ(Describe(actual), Describe(expected))
        << "command: " << EncodeCommand(command).dump()
        << "\nbefore: " << EncodeState(before).dump() << "\nafter: " << EncodeState(after).dump();
    ASSERT_EQ(actual, expected) << "versions or times differ";
    for (size_t i = 0; i < actual.size(); ++i) {
      ++compared_[actual[i].type];
      if (i > 0 && actual[i].type == EventType::kShardStarted && actual[i].primary &&
          actual[i - 1].type == EventType::kShardFailed && actual[i - 1].primary) {
        ++promotions_;
      }
    }
    ++applied_;
    state_ = r->state;
  }

  testing::RandomPicker random_;
  StatePtr state_;
  int64_t clock_ = 0;
  int64_t applied_ = 0;
  int64_t promotions_ = 0;
  std::map<EventType, int64_t> compared_;
  Exceptions exceptions_;
};

class DiffProperty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DiffProperty, DiffOfEveryAppliedCommandEqualsItsEvents) {
  constexpr int kSteps = 2000;
  Walk walk(GetParam());
  for (int i = 0; i < kSteps && !HasFatalFailure(); ++i) walk.Step();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(walk.applied(), kSteps / 3) << "too few commands applied to mean anything";
  // Every event type Apply() emits was compared, and the exceptions are real, not a mask.
  for (EventType t : {EventType::kNodeJoined, EventType::kNodeLeft, EventType::kNodeModified,
                      EventType::kIndexCreated, EventType::kIndexModified, EventType::kIndexDeleted,
                      EventType::kShardAllocated, EventType::kShardStarted,
                      EventType::kShardRelocated, EventType::kShardFailed}) {
    EXPECT_GT(walk.compared().count(t), 0u) << EventTypeName(t);
  }
  EXPECT_GT(walk.exceptions().unchanged_index, 0);
  EXPECT_GT(walk.exceptions().unchanged_node, 0);
  EXPECT_GT(walk.exceptions().leaving_rejoined, 0);
  EXPECT_GT(walk.promotions(), 0);
}

// 8 seeds x 2,000 steps.
INSTANTIATE_TEST_SUITE_P(Diff, DiffProperty,
                         ::testing::Values(1, 2, 3, 42, 1234, 99991, 271828, 314159));

// --- focused cases -------------------------------------------------------------------------------

// Applies `op` to `state` and returns the diff's events next to Apply()'s.
struct Both {
  std::string diff;
  std::string apply;
  StatePtr state;
};
Both DiffAndApply(const StatePtr& state, CommandOp op, int64_t ts = 2000) {
  ApplyResult r = MustApply(state, std::move(op), ts);
  return Both{Describe(DiffEvents(*state, *r.state, r.state->version, ts)), Describe(r.events),
              r.state};
}

// n1..n<nodes>, index "logs" with `replicas`, every copy allocated and started.
StatePtr GreenIndex(int nodes, int32_t replicas) {
  StatePtr s = WithNodes(nodes);
  s = MustApply(s, NewIndex("logs", 1, replicas)).state;
  for (const Command& c : ComputeAllocation(*s, 1000)) s = Apply(s, c)->state;
  for (int round = 0; round < 2; ++round) {
    const StatePtr at_start = s;  // the copies iterated over outlive the states made below
    for (const ShardCopy& c : at_start->FindIndex("logs")->routing.shards[0].copies) {
      if (c.state != ShardState::kInitializing || (!c.primary && round == 0)) continue;
      s = MustApply(s, UpdateShardStateCmd{"logs", 0, c.node_id, ShardState::kStarted}).state;
    }
    for (const Command& c : ComputeAllocation(*s, 1000)) s = Apply(s, c)->state;
  }
  return s;
}

TEST(Diff, EqualStatesHaveNoEvents) {
  StatePtr s = GreenIndex(3, 2);
  EXPECT_TRUE(DiffEvents(*s, *s, 7, 7).empty());
  ClusterState copy = *s;
  EXPECT_TRUE(DiffEvents(*s, copy, 7, 7).empty());
}

TEST(Diff, EventsCarryTheGivenVersionAndTime) {
  StatePtr s = WithNodes(1);
  StatePtr after = MustApply(s, NewIndex("logs", 1, 0)).state;
  std::vector<ClusterStateEvent> events = DiffEvents(*s, *after, 77, 1234);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kIndexCreated);
  EXPECT_EQ(events[0].version, 77);
  EXPECT_EQ(events[0].timestamp_ms, 1234);
  EXPECT_EQ(events[0].state, nullptr);
}

TEST(Diff, NodeDownFailsPrimaryPromotesReplicaThenLeaves) {
  StatePtr s = GreenIndex(3, 2);
  const std::string primary = s->FindIndex("logs")->routing.shards[0].primary().node_id;
  Both b = DiffAndApply(s, UpdateNodeStatusCmd{primary, NodeStatus{NodeState::kDown, {}}});
  EXPECT_EQ(b.diff, b.apply);
  EXPECT_NE(b.diff.find("SHARD_FAILED [logs][0] " + primary + " primary\nSHARD_STARTED"),
            std::string::npos)
      << b.diff;
}

TEST(Diff, RecreatedIndexIsDeletedCreatedAndAllocated) {
  // Kubernetes may show an index deleted and created again (another uuid) as one change.
  StatePtr s = GreenIndex(2, 1);
  ClusterState after = *s;
  Index recreated = *s->FindIndex("logs");
  recreated.uuid = "other";
  after.indices["logs"] = std::make_shared<const Index>(recreated);
  EXPECT_EQ(Describe(DiffEvents(*s, after, 9, 9)),
            "INDEX_DELETED [logs]\nINDEX_CREATED [logs]\n"
            "SHARD_ALLOCATED [logs][0] n1 primary\nSHARD_ALLOCATED [logs][0] n2\n");
}

TEST(Diff, LastSeenAndUpdatedTimesAloneAreNoEvents) {
  StatePtr s = GreenIndex(2, 1);
  ClusterState after = *s;
  after.nodes["n1"].last_seen_ms += 5000;
  Index touched = *s->FindIndex("logs");
  touched.updated_at_ms += 5000;
  after.indices["logs"] = std::make_shared<const Index>(touched);
  EXPECT_TRUE(DiffEvents(*s, after, 9, 9).empty());
}

// Found by the property test. Lowering the replica count removes replicas as Apply()'s
// ResizeReplicas picks them: INITIALIZING ones first, then RELOCATING, then STARTED, each from
// the back of the copies; the diff must report them in that order, not in the order of the
// copies.
TEST(Diff, RemovedReplicasFailInTheOrderApplyRemovesThem) {
  StatePtr s = GreenIndex(4, 3);  // n1 primary; n2, n3, n4 started replicas
  s = MustApply(s, UpdateShardStateCmd{"logs", 0, "n3", ShardState::kRelocating}).state;
  s = MustApply(s, DeallocateShardCmd{"logs", 0, "n4"}).state;
  s = MustApply(s, AllocateShardCmd{"logs", 0, "n4"}).state;  // n4 initializing again
  IndexSettingsUpdate none;
  none.replicas = 0;
  Both b = DiffAndApply(s, UpdateIndexSettingsCmd{"logs", none});
  EXPECT_EQ(b.apply,
            "SHARD_FAILED [logs][0] n4\nSHARD_FAILED [logs][0] n3\nSHARD_FAILED [logs][0] n2\n"
            "INDEX_MODIFIED [logs]\n");
  EXPECT_EQ(b.diff, b.apply);

  // Two replicas of one state go from the back.
  s = GreenIndex(3, 2);
  b = DiffAndApply(s, UpdateIndexSettingsCmd{"logs", none});
  EXPECT_EQ(b.apply,
            "SHARD_FAILED [logs][0] n3\nSHARD_FAILED [logs][0] n2\nINDEX_MODIFIED [logs]\n");
  EXPECT_EQ(b.diff, b.apply);
}

TEST(Diff, KnownExceptionUnchangedRegisterIsModifiedOnlyInApply) {
  StatePtr s = WithNodes(1);
  Both b = DiffAndApply(s, RegisterNodeCmd{DataNode("n1")});
  EXPECT_EQ(b.apply, "NODE_MODIFIED n1\n");
  EXPECT_EQ(b.diff, "");
}

TEST(Diff, KnownExceptionLeavingNodeRegisteringIsJoinedOnlyInApply) {
  StatePtr s = WithNodes(1);
  s = MustApply(s, UpdateNodeStatusCmd{"n1", NodeStatus{NodeState::kLeaving, {}}}).state;
  Both b = DiffAndApply(s, RegisterNodeCmd{DataNode("n1")});
  EXPECT_EQ(b.apply, "NODE_JOINED n1\n");
  EXPECT_EQ(b.diff, "NODE_MODIFIED n1\n");
}

TEST(Diff, DroppingTheDataRoleFailsCopiesBeforeTheNodeEvent) {
  StatePtr s = GreenIndex(2, 1);
  NodeInfo n2 = CoordinationNode("n2");
  Both b = DiffAndApply(s, RegisterNodeCmd{n2});
  EXPECT_EQ(b.diff, b.apply);
  EXPECT_EQ(b.diff, "SHARD_FAILED [logs][0] n2\nNODE_MODIFIED n2\n");
}

// --- FailCopiesOnDeadNodes -----------------------------------------------------------------------

// `state` with `node_id` changed by `change`, as a control plane that learns of the node alone
// would see it: its copies not failed yet.
template <typename F>
StatePtr WithNode(const StatePtr& state, const std::string& node_id, F change) {
  auto next = std::make_shared<ClusterState>(*state);
  change(next->nodes.at(node_id));
  return next;
}

StatePtr Without(const StatePtr& state, const std::string& node_id) {
  auto next = std::make_shared<ClusterState>(*state);
  next->nodes.erase(node_id);
  return next;
}

// Equal but for the version (FailCopiesOnDeadNodes keeps it, Apply steps it).
void ExpectSameButVersion(const ClusterState& actual, const ClusterState& expected) {
  ClusterState a = actual;
  a.version = expected.version;
  EXPECT_EQ(a, expected) << "actual:   " << EncodeState(actual).dump()
                         << "\nexpected: " << EncodeState(expected).dump();
}

TEST(DiffFailCopiesOnDeadNodes, NothingToDoReturnsTheSameState) {
  StatePtr s = GreenIndex(3, 2);
  EXPECT_EQ(FailCopiesOnDeadNodes(s), s);
  StatePtr empty = EmptyState();
  EXPECT_EQ(FailCopiesOnDeadNodes(empty), empty);
  // A DOWN node that holds nothing, and a LEAVING node that keeps its copies.
  StatePtr down = MustApply(s, RegisterNodeCmd{DataNode("n4")}).state;
  down = MustApply(down, UpdateNodeStatusCmd{"n4", NodeStatus{NodeState::kDown, {}}}).state;
  down = MustApply(down, UpdateNodeStatusCmd{"n1", NodeStatus{NodeState::kLeaving, {}}}).state;
  EXPECT_EQ(FailCopiesOnDeadNodes(down), down);
}

TEST(DiffFailCopiesOnDeadNodes, DownPrimaryPromotesInSyncReplicaAsApplyDoes) {
  StatePtr s = GreenIndex(3, 2);
  const ShardRouting& shard = s->FindIndex("logs")->routing.shards[0];
  const std::string primary = shard.primary().node_id;
  ASSERT_EQ(shard.in_sync.size(), 3u);
  ASSERT_EQ(shard.primary_term, 1);

  StatePtr expected =
      MustApply(s, UpdateNodeStatusCmd{primary, NodeStatus{NodeState::kDown, {}}}, 5000).state;
  StatePtr marked = WithNode(s, primary, [](NodeInfo& n) {
    n.state = NodeState::kDown;
    n.last_seen_ms = 5000;
  });
  StatePtr failed = FailCopiesOnDeadNodes(marked);
  ASSERT_NE(failed, marked);
  EXPECT_EQ(failed->version, marked->version);
  ExpectSameButVersion(*failed, *expected);

  const ShardRouting& now = failed->FindIndex("logs")->routing.shards[0];
  EXPECT_EQ(now.primary().state, ShardState::kStarted);
  EXPECT_NE(now.primary().node_id, primary);
  EXPECT_EQ(now.primary_term, 2);
  EXPECT_EQ(now.CopyOn(primary), nullptr);
  EXPECT_EQ(failed->FindIndex("logs")->updated_at_ms, 5000);
  // The input is untouched.
  EXPECT_NE(marked->FindIndex("logs")->routing.shards[0].CopyOn(primary), nullptr);
}

TEST(DiffFailCopiesOnDeadNodes, IsIdempotent) {
  StatePtr s = GreenIndex(3, 1);
  StatePtr marked = WithNode(s, "n1", [](NodeInfo& n) { n.state = NodeState::kDown; });
  StatePtr once = FailCopiesOnDeadNodes(marked);
  ASSERT_NE(once, marked);
  StatePtr twice = FailCopiesOnDeadNodes(once);
  EXPECT_EQ(twice, once);
}

TEST(DiffFailCopiesOnDeadNodes, MissingNodeFailsItsCopiesAndKeepsUpdatedTime) {
  StatePtr s = GreenIndex(2, 1);
  const int64_t updated = s->FindIndex("logs")->updated_at_ms;
  StatePtr expected = MustApply(s, UnregisterNodeCmd{"n1"}, 5000).state;
  StatePtr failed = FailCopiesOnDeadNodes(Without(s, "n1"));
  EXPECT_EQ(failed->FindIndex("logs")->routing, expected->FindIndex("logs")->routing);
  EXPECT_EQ(failed->FindIndex("logs")->updated_at_ms, updated);
  EXPECT_EQ(failed->nodes, expected->nodes);
  EXPECT_EQ(failed->FindIndex("logs")->routing.shards[0].primary().node_id, "n2");
}

TEST(DiffFailCopiesOnDeadNodes, NodeWithoutDataRoleLosesItsCopiesAsApplyDoes) {
  StatePtr s = GreenIndex(2, 1);
  NodeInfo coordination = CoordinationNode("n2");
  StatePtr expected = MustApply(s, RegisterNodeCmd{coordination}, 5000).state;
  StatePtr marked = WithNode(s, "n2", [](NodeInfo& n) {
    n.roles = Roles{false, true, false};
    n.last_seen_ms = 5000;
  });
  StatePtr failed = FailCopiesOnDeadNodes(marked);
  ExpectSameButVersion(*failed, *expected);
  EXPECT_EQ(failed->FindIndex("logs")->routing.shards[0].CopyOn("n2"), nullptr);
}

// On random states: for every node with copies, marking it DOWN (or dropping its data role, or
// removing it) and failing its copies gives the state Apply() gives for the command.
TEST(DiffFailCopiesOnDeadNodes, EqualsApplyOnRandomStates) {
  int64_t checked = 0;
  for (uint64_t seed : {7u, 8u, 9u, 10u}) {
    Walk walk(seed);
    for (int step = 0; step < 600 && !HasFatalFailure(); ++step) {
      walk.Step();
      if (step % 20 != 0) continue;
      const StatePtr& s = walk.state();
      for (const auto& [id, node] : s->nodes) {
        if (node.state == NodeState::kDown) continue;
        const int64_t ts = 100000 + step;

        StatePtr down =
            MustApply(s, UpdateNodeStatusCmd{id, NodeStatus{NodeState::kDown, {}}}, ts).state;
        StatePtr marked = WithNode(s, id, [&](NodeInfo& n) {
          n.state = NodeState::kDown;
          n.last_seen_ms = ts;
        });
        StatePtr failed = FailCopiesOnDeadNodes(marked);
        ExpectSameButVersion(*failed, *down);
        EXPECT_EQ(FailCopiesOnDeadNodes(failed), failed);

        StatePtr gone = MustApply(s, UnregisterNodeCmd{id}, ts).state;
        StatePtr removed = FailCopiesOnDeadNodes(Without(s, id));
        for (const auto& [name, index] : gone->indices) {
          EXPECT_EQ(removed->FindIndex(name)->routing, index->routing) << name;
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace quidditch::cluster
