#include "cluster/allocator.h"

#include <gtest/gtest.h>

#include "cluster/test_util.h"

namespace quidditch::cluster {
namespace {

using testing::DataNode;
using testing::MustApply;
using testing::NewIndex;
using testing::WithNodes;

// Runs the allocator, applies its commands, then starts every initializing copy; repeats until
// the allocator has nothing to do. Returns the settled state.
StatePtr Settle(StatePtr s) {
  for (int round = 0; round < 20; ++round) {
    std::vector<Command> commands = ComputeAllocation(*s, 1);
    std::vector<Command> starts;
    for (const auto& [name, index] : s->indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        for (const ShardCopy& c : shard.copies) {
          if (c.state == ShardState::kInitializing &&
              (c.primary || shard.primary().state == ShardState::kStarted)) {
            starts.push_back(testing::Cmd(
                UpdateShardStateCmd{name, shard.shard_id, c.node_id, ShardState::kStarted}));
          }
        }
      }
    }
    if (commands.empty() && starts.empty()) return s;
    commands.insert(commands.end(), starts.begin(), starts.end());
    Result<ApplyResult> r = ApplyBatch(s, commands);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return s;
    s = r->state;
  }
  ADD_FAILURE() << "allocation did not settle";
  return s;
}

std::map<std::string, int> CopiesPerNode(const ClusterState& s) {
  std::map<std::string, int> count;
  for (const auto& [name, index] : s.indices) {
    for (const ShardRouting& shard : index->routing.shards) {
      for (const ShardCopy& c : shard.copies) {
        if (c.state != ShardState::kUnassigned) ++count[c.node_id];
      }
    }
  }
  return count;
}

TEST(Allocator, NothingToDoOnEmptyCluster) {
  EXPECT_TRUE(ComputeAllocation(*EmptyState(), 1).empty());
  EXPECT_TRUE(ComputeAllocation(*WithNodes(3), 1).empty());
}

TEST(Allocator, PrimariesFirstThenReplicasOnceActive) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 2, 1)).state;
  std::vector<Command> commands = ComputeAllocation(*s, 7);
  ASSERT_EQ(commands.size(), 2u);  // two primaries; replicas wait
  for (const Command& c : commands) {
    EXPECT_EQ(c.timestamp_ms, 7);
    EXPECT_TRUE(std::holds_alternative<AllocateShardCmd>(c.op));
  }
  // Balanced: one primary per node.
  EXPECT_NE(std::get<AllocateShardCmd>(commands[0].op).node_id,
            std::get<AllocateShardCmd>(commands[1].op).node_id);
  s = ApplyBatch(s, commands).value().state;
  EXPECT_TRUE(ComputeAllocation(*s, 7).empty()) << "replicas must wait for started primaries";
}

TEST(Allocator, SettlesGreenAndBalanced) {
  StatePtr s = WithNodes(3);
  s = MustApply(s, NewIndex("a", 5, 1)).state;
  s = MustApply(s, NewIndex("b", 3, 2)).state;
  s = Settle(s);
  for (const auto& [name, index] : s->indices) {
    EXPECT_EQ(index->state, IndexState::kActive);
    for (const ShardRouting& shard : index->routing.shards) {
      std::set<std::string> nodes;
      for (const ShardCopy& c : shard.copies) {
        EXPECT_EQ(c.state, ShardState::kStarted);
        EXPECT_TRUE(nodes.insert(c.node_id).second) << "two copies on " << c.node_id;
      }
    }
  }
  // 5*2 + 3*3 = 19 copies over 3 nodes: 6 or 7 each.
  for (const auto& [node, count] : CopiesPerNode(*s)) {
    EXPECT_GE(count, 6) << node;
    EXPECT_LE(count, 7) << node;
  }
}

TEST(Allocator, LeavesCopiesUnassignedWhenNoNodeCanTakeThem) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, RegisterNodeCmd{testing::CoordinationNode("c1")}).state;
  s = MustApply(s, NewIndex("logs", 1, 3)).state;
  s = Settle(s);
  const ShardRouting& shard = s->FindIndex("logs")->routing.shards[0];
  int unassigned = 0;
  for (const ShardCopy& c : shard.copies) {
    EXPECT_NE(c.node_id, "c1");
    if (c.state == ShardState::kUnassigned) ++unassigned;
  }
  EXPECT_EQ(unassigned, 2);
}

TEST(Allocator, IsStableWhenNothingChanged) {
  StatePtr s = WithNodes(3);
  s = MustApply(s, NewIndex("a", 4, 1)).state;
  s = Settle(s);
  // A new empty node joins: started copies stay where they are.
  s = MustApply(s, RegisterNodeCmd{DataNode("n4")}).state;
  EXPECT_TRUE(ComputeAllocation(*s, 1).empty());
}

TEST(Allocator, ReplacesLostCopiesAfterPromotion) {
  StatePtr s = WithNodes(3);
  s = MustApply(s, NewIndex("logs", 3, 1)).state;
  s = Settle(s);
  NodeStatus down{NodeState::kDown, std::nullopt};
  s = MustApply(s, UpdateNodeStatusCmd{"n1", down}).state;
  s = Settle(s);
  for (const ShardRouting& shard : s->FindIndex("logs")->routing.shards) {
    for (const ShardCopy& c : shard.copies) {
      EXPECT_EQ(c.state, ShardState::kStarted);
      EXPECT_NE(c.node_id, "n1");
    }
  }
}

TEST(Allocator, RedShardWaitsForANodeWithAnInSyncCopy) {
  StatePtr s = WithNodes(2);
  s = MustApply(s, NewIndex("logs", 1, 0)).state;
  s = Settle(s);
  std::string holder = s->FindIndex("logs")->routing.shards[0].primary().node_id;
  NodeStatus down{NodeState::kDown, std::nullopt};
  s = MustApply(s, UpdateNodeStatusCmd{holder, down}).state;
  // The other node is free, but an empty primary there would lose the shard's data.
  EXPECT_TRUE(ComputeAllocation(*s, 1).empty());
  NodeStatus up{NodeState::kActive, std::nullopt};
  s = MustApply(s, UpdateNodeStatusCmd{holder, up}).state;
  std::vector<Command> commands = ComputeAllocation(*s, 1);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(std::get<AllocateShardCmd>(commands[0].op).node_id, holder);
}

TEST(Allocator, IsDeterministic) {
  StatePtr s = WithNodes(5);
  s = MustApply(s, NewIndex("a", 7, 2)).state;
  s = MustApply(s, NewIndex("b", 3, 1)).state;
  EXPECT_EQ(ComputeAllocation(*s, 1), ComputeAllocation(*s, 1));
}

}  // namespace
}  // namespace quidditch::cluster
