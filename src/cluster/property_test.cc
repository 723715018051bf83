// Property tests of the pure core: long random sequences of node joins, leaves and failures,
// index creates and deletes, replica changes, allocator rounds and shard starts/failures, with
// the invariants of apply.h and allocator.h checked after every step.
#include <gtest/gtest.h>

#include <set>

#include "cluster/allocator.h"
#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/test_util.h"

namespace quidditch::cluster {
namespace {

// Checks every invariant; returns the first violation, or "" when there is none.
std::string CheckInvariants(const ClusterState& s) {
  for (const auto& [name, index] : s.indices) {
    if (index->routing.shards.size() != static_cast<size_t>(index->settings.shards)) {
      return name + ": wrong number of shards";
    }
    for (const ShardRouting& shard : index->routing.shards) {
      std::string where = "[" + name + "][" + std::to_string(shard.shard_id) + "]";
      if (shard.copies.size() != static_cast<size_t>(1 + index->settings.replicas)) {
        return where + ": wrong number of copies";
      }
      int primaries = 0;
      std::set<std::string> nodes;
      bool in_sync_active = false;
      for (const ShardCopy& c : shard.copies) {
        if (c.primary) ++primaries;
        if (c.state == ShardState::kUnassigned) {
          if (!c.node_id.empty() || !c.allocation_id.empty())
            return where + ": unassigned copy has a node";
          continue;
        }
        if (!nodes.insert(c.node_id).second) return where + ": two copies on node " + c.node_id;
        const NodeInfo* node = s.FindNode(c.node_id);
        if (node == nullptr) return where + ": copy on unknown node " + c.node_id;
        if (!node->roles.data) return where + ": copy on non-data node " + c.node_id;
        if (node->state == NodeState::kDown) return where + ": copy on DOWN node " + c.node_id;
        if (c.allocation_id.empty()) return where + ": assigned copy without allocation id";
        if (IsActive(c.state) && shard.in_sync.count(c.allocation_id) > 0) in_sync_active = true;
        if (!c.primary && IsActive(c.state) && !IsActive(shard.primary().state)) {
          return where + ": active replica without an active primary";
        }
        if (IsActive(c.state) && shard.in_sync.count(c.allocation_id) == 0) {
          return where + ": active copy missing from the in-sync set";
        }
      }
      if (primaries != 1 || !shard.copies.front().primary)
        return where + ": not exactly one primary, first";
      if (in_sync_active && !IsActive(shard.primary().state)) {
        return where + ": an in-sync copy is live but the primary is not active";
      }
    }
  }
  return "";
}

// After an allocator round: a shard whose in-sync copy sits on an eligible node has its
// primary assigned.
std::string CheckPrimaryRecovered(const ClusterState& s) {
  for (const auto& [name, index] : s.indices) {
    for (const ShardRouting& shard : index->routing.shards) {
      if (shard.primary().state != ShardState::kUnassigned) continue;
      for (const auto& [allocation_id, node_id] : shard.in_sync) {
        const NodeInfo* node = s.FindNode(node_id);
        if (node != nullptr && node->state == NodeState::kActive && node->roles.data) {
          return "[" + name + "]: primary unassigned although node " + node_id +
                 " holds an in-sync copy";
        }
      }
      if (shard.in_sync.empty()) {
        for (const auto& [id, node] : s.nodes) {
          if (node.state == NodeState::kActive && node.roles.data) {
            return "[" + name + "]: new primary unassigned although node " + id + " is free";
          }
        }
      }
    }
  }
  return "";
}

class Simulation {
 public:
  explicit Simulation(uint64_t seed) : random_(seed), state_(EmptyState()) {}

  void Step() {
    ++clock_;
    // Weighted so that the cluster grows to several nodes and indices with live copies, while
    // failures, leaves and deletes keep happening.
    size_t roll = random_.Pick(20);
    if (roll < 3) return JoinNode();
    if (roll < 4) return Do(UnregisterNodeCmd{random_.AnyNode(*state_)});
    if (roll < 6) {
      return Do(UpdateNodeStatusCmd{random_.AnyNode(*state_), NodeStatus{NodeState::kDown, {}}});
    }
    if (roll < 8) {
      return Do(UpdateNodeStatusCmd{random_.AnyNode(*state_), NodeStatus{NodeState::kActive, {}}});
    }
    if (roll < 11) return CreateIndex();
    if (roll < 12) return Do(DeleteIndexCmd{random_.AnyIndex(*state_)});
    if (roll < 13) {
      IndexSettingsUpdate u;
      u.replicas = static_cast<int32_t>(random_.Pick(4));
      return Do(UpdateIndexSettingsCmd{random_.AnyIndex(*state_), u});
    }
    if (roll < 16) return AllocatorRound();
    if (roll < 18) return StartSome();
    if (roll < 19) return FailSome();
    return Garbage();
  }

  const StatePtr& state() const { return state_; }
  const std::vector<std::vector<Command>>& log() const { return log_; }
  int64_t accepted() const { return static_cast<int64_t>(log_.size()); }
  // How many events of each type the run produced.
  const std::map<EventType, int64_t>& event_counts() const { return event_counts_; }
  // The most copies that were STARTED at once.
  int64_t max_started() const { return max_started_; }

 private:
  void JoinNode() { Do(RegisterNodeCmd{random_.NewNode(12)}); }

  void CreateIndex() {
    CreateIndexCmd c = testing::NewIndex("idx-" + std::to_string(random_.Pick(15)),
                                         1 + static_cast<int32_t>(random_.Pick(4)),
                                         static_cast<int32_t>(random_.Pick(3)));
    c.uuid = "uuid-" + std::to_string(clock_);  // a new proposal; duplicates are AlreadyExists
    Do(c);
  }

  void AllocatorRound() {
    std::vector<Command> commands = ComputeAllocation(*state_, clock_);
    if (commands.empty()) {
      Check(CheckPrimaryRecovered(*state_));
      return;
    }
    Result<ApplyResult> r = ApplyBatch(state_, commands);
    ASSERT_TRUE(r.ok()) << "allocator produced commands that do not apply: " << r.status();
    Accept(std::move(r).value(), commands);
    Check(CheckPrimaryRecovered(*state_));
  }

  void StartSome() {
    std::vector<Command> starts;
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state != ShardState::kInitializing || random_.Pick(3) == 0) continue;
          if (!c.primary && !IsActive(shard.primary().state)) continue;
          starts.push_back(Command{
              clock_, UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kStarted}});
        }
      }
    }
    if (!starts.empty()) Accept(ApplyBatch(state_, starts).value(), starts);
  }

  void FailSome() {
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state == ShardState::kUnassigned || random_.Pick(8) != 0) continue;
          return Do(UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kUnassigned});
        }
      }
    }
  }

  // Commands that may well be invalid: they must fail cleanly or apply with invariants intact.
  void Garbage() {
    static constexpr ShardState kStates[] = {ShardState::kRelocating, ShardState::kStarted};
    Do(random_.MaybeInvalidCommand(*state_, /*shards=*/5, kStates));
  }

  void Do(CommandOp op) {
    Command command{clock_, std::move(op)};
    ClusterState before = *state_;
    Result<ApplyResult> r = Apply(state_, command);
    if (!r.ok()) {
      ASSERT_NE(r.status().code(), StatusCode::kInternal) << r.status();
      ASSERT_EQ(*state_, before) << "a failed command changed the state";
      return;
    }
    Accept(std::move(r).value(), {command});
  }

  void Accept(ApplyResult r, const std::vector<Command>& commands) {
    ASSERT_EQ(r.state->version, state_->version + 1) << "versions must step by one";
    for (const ClusterStateEvent& e : r.events) {
      ASSERT_EQ(e.version, r.state->version);
      ++event_counts_[e.type];
    }
    state_ = r.state;
    log_.push_back(commands);
    Check(CheckInvariants(*state_));
    int64_t started = 0;
    for (const auto& [name, index] : state_->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) started += c.state == ShardState::kStarted;
      }
    }
    max_started_ = std::max(max_started_, started);
  }

  void Check(const std::string& violation) {
    ASSERT_EQ(violation, "") << "at version " << state_->version << "\n"
                             << EncodeState(*state_).dump(1);
  }

  testing::RandomPicker random_;
  StatePtr state_;
  int64_t clock_ = 0;
  std::vector<std::vector<Command>> log_;
  std::map<EventType, int64_t> event_counts_;
  int64_t max_started_ = 0;
};

class ClusterProperty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ClusterProperty, InvariantsHoldOnEveryStep) {
  constexpr int kSteps = 2500;
  Simulation sim(GetParam());
  for (int i = 0; i < kSteps && !HasFatalFailure(); ++i) sim.Step();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(sim.accepted(), kSteps / 3) << "too few commands applied to mean anything";
  // The run must have exercised what the invariants are about.
  EXPECT_GE(sim.max_started(), 10);
  for (EventType t : {EventType::kNodeJoined, EventType::kNodeLeft, EventType::kIndexCreated,
                      EventType::kIndexDeleted, EventType::kShardAllocated,
                      EventType::kShardStarted, EventType::kShardFailed}) {
    EXPECT_GT(sim.event_counts().count(t), 0u) << EventTypeName(t);
  }

  // Replaying the accepted log from the empty state reproduces the state exactly, and the
  // state survives its encoding: what a restarted or new Raft member relies on.
  StatePtr replay = EmptyState();
  for (const std::vector<Command>& entry : sim.log()) {
    Result<std::vector<Command>> decoded = DecodeCommands(EncodeCommands(entry));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    Result<ApplyResult> r = ApplyBatch(replay, *decoded);
    ASSERT_TRUE(r.ok()) << r.status();
    replay = r->state;
  }
  EXPECT_EQ(*replay, *sim.state());
  EXPECT_EQ(DecodeState(EncodeState(*sim.state())).value(), *sim.state());
}

// 8 seeds x 2,500 steps = 20,000 random steps.
INSTANTIATE_TEST_SUITE_P(Seeds, ClusterProperty,
                         ::testing::Values(1, 2, 3, 42, 1234, 99991, 271828, 314159));

}  // namespace
}  // namespace quidditch::cluster
