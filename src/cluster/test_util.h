// Helpers for tests of the pure core: building states by applying commands, and drawing the
// random choices of a walk over states.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "cluster/apply.h"

namespace quidditch::cluster::testing {

inline NodeInfo DataNode(const std::string& id) {
  NodeInfo n;
  n.node_id = id;
  n.address = "127.0.0.1";
  n.grpc_port = 9302;
  n.http_port = 9200;
  n.roles.data = true;
  return n;
}

inline NodeInfo CoordinationNode(const std::string& id) {
  NodeInfo n = DataNode(id);
  n.roles = Roles{false, true, false};
  return n;
}

inline Command Cmd(CommandOp op, int64_t ts = 1000) { return Command{ts, std::move(op)}; }

inline CreateIndexCmd NewIndex(const std::string& name, int32_t shards, int32_t replicas) {
  CreateIndexCmd c;
  c.name = name;
  c.uuid = "uuid-" + name;
  c.settings.shards = shards;
  c.settings.replicas = replicas;
  return c;
}

// Applies `op` and returns the result; fails the test on error.
inline ApplyResult MustApply(const StatePtr& state, CommandOp op, int64_t ts = 1000) {
  Result<ApplyResult> r = Apply(state, Cmd(std::move(op), ts));
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return ApplyResult{state, {}};
  return std::move(r).value();
}

// A state with data nodes n1..n<count>.
inline StatePtr WithNodes(int count) {
  StatePtr s = EmptyState();
  for (int i = 1; i <= count; ++i) {
    s = MustApply(s, RegisterNodeCmd{DataNode("n" + std::to_string(i))}).state;
  }
  return s;
}

// The random choices of a walk over cluster states (property_test.cc, diff_test.cc): the same
// seed gives the same sequence of choices. Not thread-safe.
class RandomPicker {
 public:
  explicit RandomPicker(uint64_t seed) : rng_(seed) {}

  // A number in [0, n). REQUIRES: n > 0.
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // An entry of `map`, each as likely. REQUIRES: !map.empty().
  template <typename Map>
  const typename Map::value_type& AnyOf(const Map& map) {
    auto it = map.begin();
    std::advance(it, Pick(map.size()));
    return *it;
  }

  // The id of a node of `state`; one time in ten, or when there is none, "ghost", a node that
  // does not exist.
  std::string AnyNode(const ClusterState& state) {
    if (state.nodes.empty() || Pick(10) == 0) return "ghost";
    return AnyOf(state.nodes).first;
  }

  // The name of an index of `state`; one time in ten, or when there is none, "ghost".
  std::string AnyIndex(const ClusterState& state) {
    if (state.indices.empty() || Pick(10) == 0) return "ghost";
    return AnyOf(state.indices).first;
  }

  // A command that may well be invalid, or valid and change nothing; one time in four each: an
  // allocation of shard -1..shards-1, a deallocation of shard 0..shards-1, or a change of shard
  // 0..shards-1 to one of `states`, each of any index on any node; or an index with an invalid
  // name. REQUIRES: shards > 0, !states.empty().
  CommandOp MaybeInvalidCommand(const ClusterState& state, int32_t shards,
                                std::span<const ShardState> states) {
    const size_t n = static_cast<size_t>(shards);
    switch (Pick(4)) {
      case 0:
        return AllocateShardCmd{AnyIndex(state), static_cast<int32_t>(Pick(n + 1)) - 1,
                                AnyNode(state)};
      case 1:
        return DeallocateShardCmd{AnyIndex(state), static_cast<int32_t>(Pick(n)), AnyNode(state)};
      case 2:
        return UpdateShardStateCmd{AnyIndex(state), static_cast<int32_t>(Pick(n)), AnyNode(state),
                                   states[Pick(states.size())]};
      default:
        return NewIndex(Pick(2) ? "Bad" : "_x", 1, 0);
    }
  }

  // A node "node-<0..ids-1>" (it may be registered already) with random roles: data five times
  // in six, coordination when it has no data role and otherwise at even odds, master one time in
  // three.
  NodeInfo NewNode(size_t ids) {
    NodeInfo n = DataNode("node-" + std::to_string(Pick(ids)));
    n.roles.data = Pick(6) != 0;
    n.roles.coordination = !n.roles.data || Pick(2) == 0;
    n.roles.master = Pick(3) == 0;
    return n;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace quidditch::cluster::testing
