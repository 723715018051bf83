// Helpers for tests of the pure core: building states by applying commands.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace quidditch::cluster::testing
