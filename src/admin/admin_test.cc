#include "admin/admin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "cluster/apply.h"

namespace quidditch::admin {
namespace {

cluster::StatePtr SampleState() {
  cluster::StatePtr s = cluster::EmptyState();
  cluster::NodeInfo n;
  n.node_id = "data-0";
  n.address = "10.0.0.5";
  n.grpc_port = 9302;
  n.http_port = 9200;
  n.roles.data = true;
  n.roles.coordination = true;
  s = cluster::Apply(s, {1, cluster::RegisterNodeCmd{n}}).value().state;
  cluster::CreateIndexCmd c;
  c.name = "logs";
  c.uuid = "u1";
  c.settings.shards = 1;
  c.settings.replicas = 1;
  s = cluster::Apply(s, {2, c}).value().state;
  s = cluster::Apply(s, {3, cluster::AllocateShardCmd{"logs", 0, "data-0"}}).value().state;
  return cluster::Apply(s, {4, cluster::SetClusterUuidCmd{"Ikw4m8hksuwZTlxb_R0H6X"}}).value().state;
}

TEST(AdminFormat, ClusterStateShowsNodesIndicesAndCopies) {
  std::string text = FormatClusterState(*SampleState());
  EXPECT_NE(text.find("cluster state version 4, cluster uuid Ikw4m8hksuwZTlxb_R0H6X\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("data-0"), std::string::npos);
  EXPECT_NE(text.find("coordination,data"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0.0.5:9302"), std::string::npos);
  EXPECT_NE(text.find("logs [u1] CREATING shards=1 replicas=1"), std::string::npos) << text;
  EXPECT_NE(text.find("shard 0: p data-0:INITIALIZING, r UNASSIGNED (term 1)"), std::string::npos)
      << text;
}

TEST(AdminFormat, HealthShowsStatusCountsAndRaft) {
  controlplane::rpc::MasterStatus m;
  m.node_id = "m0";
  m.state = "leader";
  m.leader_id = "m0";
  m.term = 3;
  m.commit_index = 40;
  m.applied_index = 40;
  m.healthy = true;
  std::string text = FormatHealth(cluster::ComputeHealth(*SampleState()), m);
  EXPECT_NE(text.find("cluster health: red"), std::string::npos) << text;
  EXPECT_NE(text.find("nodes: 1 (1 with data)"), std::string::npos) << text;
  EXPECT_NE(text.find("0 active (0 primaries), 1 initializing"), std::string::npos) << text;
  EXPECT_NE(text.find("master m0: leader (term 3, commit 40, applied 40), leader m0, healthy"),
            std::string::npos)
      << text;
}

TEST(AdminCommandLine, BadUsageIsExitCodeTwo) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {}, {"explode"}, {"health", "--bogus"}, {"health", "extra"}}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunAdmin(args, out, err), 2);
    const std::string message = err.str();
    EXPECT_EQ(message.rfind("quidditch-admin: ", 0), 0u) << message;
    EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1) << message;
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunAdmin({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("cluster-state"), std::string::npos);
}

TEST(AdminCommandLine, UnreachableMasterIsExitCodeOne) {
  std::ostringstream out, err;
  // Port 1 on loopback: nothing listens there.
  EXPECT_EQ(RunAdmin({"health", "--master", "127.0.0.1:1"}, out, err), 1);
  EXPECT_NE(err.str().find("127.0.0.1:1"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace quidditch::admin
