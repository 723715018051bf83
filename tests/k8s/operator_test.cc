// The operator against a real kube-apiserver: allocation over data pods, reallocation when a pod
// goes, leader election between operator processes, watches across an API server restart, and
// invalid specs. No kubelet runs: the tests create Pod objects and set their status themselves.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "common/testing/ports.h"
#include "tests/k8s/k8s_test_util.h"

namespace quidditch::k8s::testing {
namespace {

using cluster::ShardState;
using controlplane::CallContext;
using controlplane::k8s::IndicesResource;
using controlplane::k8s::K8sControlPlane;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

CallContext Ctx() { return CallContext::WithTimeout(20s); }

// k8s_test_util's WaitFor with this file's default of 30 s.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  return testing::WaitFor(done, timeout);
}

Status MakeReadyDataPod(KubeEnv& env, const std::string& ns, const std::string& name, int ip) {
  Json pod{{"apiVersion", "v1"},
           {"kind", "Pod"},
           {"metadata", {{"name", name}, {"labels", {{"app", "quidditch-data"}}}}},
           {"spec", {{"containers", {{{"name", "data"}, {"image", "quidditch:test"}}}}}}};
  QD_ASSIGN_OR_RETURN(Json created, env.admin().Create(PodsResource(), ns, pod));
  created["status"] = {{"phase", "Running"},
                       {"podIP", "10.0.0." + std::to_string(ip)},
                       {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}};
  return env.admin().UpdateStatus(PodsResource(), ns, created).status();
}

// Shard copies per node in an index.
std::map<std::string, int> CopiesPerNode(const cluster::Index& index) {
  std::map<std::string, int> count;
  for (const cluster::ShardRouting& shard : index.routing.shards) {
    for (const cluster::ShardCopy& c : shard.copies) {
      if (c.state != ShardState::kUnassigned) ++count[c.node_id];
    }
  }
  return count;
}

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = QD_KUBE_ENV_OR_SKIP();
    Result<std::string> ns = env_->NewNamespace("operator");
    ASSERT_TRUE(ns.ok()) << ns.status();
    ns_ = *ns;
  }

  void StartOperatorAndNode() {
    Result<op::OperatorOptions> options = TestOperatorOptions(*env_, ns_, "operator-0");
    ASSERT_TRUE(options.ok()) << options.status();
    Result<std::unique_ptr<op::Operator>> op = op::Operator::Start(*options);
    ASSERT_TRUE(op.ok()) << op.status();
    op_ = std::move(op).value();
    Result<std::unique_ptr<K8sControlPlane>> cp = StartNodeControlPlane(*env_, ns_);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(cp).value();
  }

  // Starts every initializing copy (what data nodes report once their shards are open).
  void StartCopies(const std::string& index) {
    Result<cluster::ShardRoutingTable> routing = cp_->GetShardRouting(Ctx(), index);
    ASSERT_TRUE(routing.ok()) << routing.status();
    for (const cluster::ShardRouting& shard : routing->shards) {
      for (const cluster::ShardCopy& c : shard.copies) {
        if (c.state != ShardState::kInitializing) continue;
        Status s =
            cp_->UpdateShardState(Ctx(), index, shard.shard_id, c.node_id, ShardState::kStarted);
        ASSERT_TRUE(s.ok()) << s;
      }
    }
  }

  cluster::StatePtr State() { return cp_->GetClusterState(Ctx()).value(); }

  void TearDown() override {
    if (cp_) cp_->Stop().PermitUncheckedError();  // cannot fail
    if (op_) op_->Stop();
  }

  KubeEnv* env_ = nullptr;
  std::string ns_;
  std::unique_ptr<op::Operator> op_;
  std::unique_ptr<K8sControlPlane> cp_;
};

TEST_F(OperatorTest, AllocatesBalancedOverReadyDataPodsAndReallocatesWhenOneGoes) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(MakeReadyDataPod(*env_, ns_, "data-0", 10).ok());
  ASSERT_TRUE(MakeReadyDataPod(*env_, ns_, "data-1", 11).ok());
  ASSERT_TRUE(WaitFor([&] { return State()->nodes.size() == 2; }))
      << "the ready data pods become data nodes";
  EXPECT_EQ(State()->FindNode("data-0")->address, "10.0.0.10");

  controlplane::CreateIndexRequest request;
  request.name = "logs";
  request.settings.shards = 4;
  request.settings.replicas = 1;
  Result<cluster::Index> created = cp_->CreateIndex(Ctx(), request);
  ASSERT_TRUE(created.ok()) << created.status();
  // CreateIndex returns once the operator has accepted the spec and run the allocator.
  const cluster::StatePtr after_create = State();  // keeps *index alive
  const cluster::Index* index = after_create->FindIndex("logs");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(CopiesPerNode(*index), (std::map<std::string, int>{{"data-0", 2}, {"data-1", 2}}))
      << "the four primaries are spread evenly";
  StartCopies("logs");
  ASSERT_TRUE(WaitFor([&] {
    return CopiesPerNode(*State()->FindIndex("logs")) ==
           std::map<std::string, int>{{"data-0", 4}, {"data-1", 4}};
  })) << "the replicas follow once their primaries are active";
  StartCopies("logs");
  EXPECT_EQ(State()->FindIndex("logs")->state, cluster::IndexState::kActive);

  // What kubectl shows.
  Result<Json> object = env_->admin().Get(IndicesResource(), ns_, "logs");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ((*object)["status"]["state"], "ACTIVE");
  EXPECT_EQ((*object)["status"]["shardAllocations"].size(), 8u);
  EXPECT_EQ((*object)["status"]["observedGeneration"], (*object)["metadata"]["generation"]);
  Result<ListResult> events = env_->admin().List(EventsResource(), ns_);
  ASSERT_TRUE(events.ok()) << events.status();
  int allocated_events = 0;
  for (const Json& e : events->items) {
    if (e["involvedObject"]["name"] == "logs" && e["reason"] == "ShardsAllocated")
      ++allocated_events;
  }
  EXPECT_GE(allocated_events, 2) << "primaries, then replicas";

  // data-1 goes away: its copies fail, replicas on data-0 are promoted, and a new pod gets the
  // replicas back.
  ASSERT_TRUE(env_->admin().Delete(PodsResource(), ns_, "data-1").ok());
  ASSERT_TRUE(WaitFor([&] {
    const cluster::StatePtr state = State();
    const cluster::NodeInfo* n = state->FindNode("data-1");
    return n != nullptr && n->state == cluster::NodeState::kDown;
  }));
  {
    const cluster::StatePtr state = State();
    const cluster::Index* logs = state->FindIndex("logs");
    for (const cluster::ShardRouting& shard : logs->routing.shards) {
      EXPECT_EQ(shard.primary().node_id, "data-0") << "shard " << shard.shard_id;
      EXPECT_EQ(shard.primary().state, ShardState::kStarted) << "promoted in-sync replica";
    }
  }
  EXPECT_TRUE(WaitFor([&] {
    Result<ListResult> all = env_->admin().List(EventsResource(), ns_);
    if (!all.ok()) return false;
    for (const Json& e : all->items) {
      if (e["involvedObject"]["kind"] == "QuidditchNode" && e["reason"] == "NodeDown" &&
          e["type"] == "Warning") {
        return true;
      }
    }
    return false;
  })) << "a Warning Event says the node went down";
  ASSERT_TRUE(MakeReadyDataPod(*env_, ns_, "data-2", 12).ok());
  EXPECT_TRUE(WaitFor([&] {
    return CopiesPerNode(*State()->FindIndex("logs")) ==
           std::map<std::string, int>{{"data-0", 4}, {"data-2", 4}};
  })) << "the lost replicas are reallocated to the new pod";
}

TEST_F(OperatorTest, InvalidSpecGetsErrorStateAndTheOperatorGoesOn) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  Json bad{{"apiVersion", "quidditch.io/v1"},
           {"kind", "QuidditchIndex"},
           {"metadata", {{"name", "bad"}}},
           {"spec", {{"shards", 1}, {"indexName", "_bad"}}}};
  ASSERT_TRUE(env_->admin().Create(IndicesResource(), ns_, bad).ok());
  Json status;
  ASSERT_TRUE(WaitFor([&] {
    Result<Json> got = env_->admin().Get(IndicesResource(), ns_, "bad");
    if (!got.ok() || !got->contains("status")) return false;
    status = (*got)["status"];
    return status.value("state", "") == "ERROR";
  })) << status.dump();
  EXPECT_NE(status.value("message", ""), "");
  const Json* ready = controlplane::k8s::FindCondition(status, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ((*ready)["status"], "False");
  EXPECT_EQ((*ready)["reason"], "InvalidSpec");
  EXPECT_EQ(State()->FindIndex("bad"), nullptr) << "a rejected index is not part of the state";

  controlplane::CreateIndexRequest good;
  good.name = "good";
  EXPECT_TRUE(cp_->CreateIndex(Ctx(), good).ok()) << "the operator keeps working";
  // A hand-made object with a name OpenSearch allows but Kubernetes does not goes through
  // spec.indexName.
  good.name = "My_Index";
  Result<cluster::Index> odd = cp_->CreateIndex(Ctx(), good);
  EXPECT_TRUE(odd.status().IsInvalidArgument()) << "capitals are not allowed: " << odd.status();
  good.name = "my_index";
  EXPECT_TRUE(cp_->CreateIndex(Ctx(), good).ok());
  EXPECT_NE(State()->FindIndex("my_index"), nullptr);
}

// spec.aliases and spec.closed, written by hand, reach appliedSpec and the state; an alias spec
// Apply refuses (a second write index) is judged like any bad spec and leaves the state alone.
TEST_F(OperatorTest, SpecAliasesAndClosedAreAppliedAndABadAliasSpecIsRejected) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  for (const char* name : {"logs-1", "logs-2"}) {
    controlplane::CreateIndexRequest request;
    request.name = name;
    ASSERT_TRUE(cp_->CreateIndex(Ctx(), request).ok()) << name;
  }
  auto patch_spec = [&](const std::string& name, const Json& spec) {
    Result<Json> patched =
        env_->admin().Patch(IndicesResource(), ns_, name, PatchType::kMerge, Json{{"spec", spec}});
    EXPECT_TRUE(patched.ok()) << patched.status();
    return patched.ok() ? (*patched)["metadata"].value("generation", int64_t{0}) : 0;
  };
  // Waits until the operator has judged `generation` of `name`; returns the status.
  auto judged = [&](const std::string& name, int64_t generation) {
    Json status;
    EXPECT_TRUE(WaitFor([&] {
      Result<Json> got = env_->admin().Get(IndicesResource(), ns_, name);
      if (!got.ok()) return false;
      status = got->value("status", Json::object());
      const Json* ready = controlplane::k8s::FindCondition(status, "Ready");
      return ready != nullptr && ready->value("observedGeneration", int64_t{0}) >= generation;
    })) << status.dump();
    return status;
  };

  const Json aliases = Json::parse(R"({
    "logs": {"isWriteIndex": true, "filter": {"term": {"level": "error"}}, "indexRouting": "r1"},
    "all": {}})");
  Json status = judged("logs-1", patch_spec("logs-1", {{"aliases", aliases}, {"closed", true}}));
  EXPECT_EQ(controlplane::k8s::FindCondition(status, "Ready")->value("status", ""), "True")
      << status.dump();
  EXPECT_EQ(status["appliedSpec"]["aliases"], aliases) << "not pruned by the API server";
  EXPECT_EQ(status["appliedSpec"]["closed"], true);
  ASSERT_TRUE(WaitFor([&] {
    const cluster::Index* index = State()->FindIndex("logs-1");
    return index != nullptr && index->closed && index->aliases.size() == 2;
  }));
  const cluster::AliasMetadata& logs = State()->FindIndex("logs-1")->aliases.at("logs");
  EXPECT_EQ(logs.is_write_index, true);
  EXPECT_EQ(logs.index_routing, "r1");
  EXPECT_EQ(logs.filter, aliases["logs"]["filter"]);

  // A second write index for "logs": refused, with the reason, and nothing of it applied.
  const int64_t bad = patch_spec(
      "logs-2", {{"aliases", {{"logs", {{"isWriteIndex", true}}}, {"fine", Json::object()}}}});
  status = judged("logs-2", bad);
  const Json* ready = controlplane::k8s::FindCondition(status, "Ready");
  ASSERT_NE(ready, nullptr) << status.dump();
  EXPECT_EQ((*ready)["status"], "False");
  EXPECT_EQ((*ready)["reason"], "InvalidSpec");
  EXPECT_NE(status.value("message", "").find("logs"), std::string::npos) << status.dump();
  EXPECT_EQ(status["appliedSpec"]["aliases"], Json::object());
  EXPECT_TRUE(State()->FindIndex("logs-2")->aliases.empty());
  EXPECT_TRUE(WaitFor([&] {
    Result<ListResult> events = env_->admin().List(EventsResource(), ns_);
    if (!events.ok()) return false;
    for (const Json& e : events->items) {
      if (e.value("type", "") == "Warning" && e.value("reason", "") == "InvalidSpec" &&
          e["involvedObject"].value("name", "") == "logs-2") {
        return true;
      }
    }
    return false;
  })) << "a Warning Event for the rejected spec";

  // An alias change through the control plane starts from the state in force, not from the
  // rejected spec: the rejected aliases are gone and the spec is accepted again.
  cluster::AliasAction add{cluster::AliasAction::Type::kAdd, "logs-2", "other", {}, false};
  Status s = cp_->UpdateAliases(Ctx(), {add});
  ASSERT_TRUE(s.ok()) << s;
  const cluster::Index* logs2 = State()->FindIndex("logs-2");
  ASSERT_NE(logs2, nullptr);
  EXPECT_EQ(logs2->aliases, (cluster::Aliases{{"other", {}}}));
  Result<Json> object = env_->admin().Get(IndicesResource(), ns_, "logs-2");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ((*object)["spec"]["aliases"], Json::parse(R"({"other": {}})"));

  // A malformed alias in a new object's spec: ERROR, as for any bad spec.
  Json odd{{"apiVersion", "quidditch.io/v1"},
           {"kind", "QuidditchIndex"},
           {"metadata", {{"name", "odd"}}},
           {"spec", {{"shards", 1}, {"aliases", {{"_bad", Json::object()}}}}}};
  ASSERT_TRUE(env_->admin().Create(IndicesResource(), ns_, odd).ok());
  status = judged("odd", 1);
  EXPECT_EQ(status.value("state", ""), "ERROR") << status.dump();
  EXPECT_EQ(State()->FindIndex("odd"), nullptr);
}

// Write indices trading places between two aliases: whichever index is written first, its new
// spec alone would give an alias two write indices. The control plane writes the indices
// without the write flags they gain first, then the flags, so every spec the operator judges
// is valid and the call succeeds.
TEST_F(OperatorTest, AnAliasChangeThatSwapsWriteIndicesBothWaysIsWrittenInAValidOrder) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  for (const char* name : {"a", "b"}) {
    controlplane::CreateIndexRequest request;
    request.name = name;
    ASSERT_TRUE(cp_->CreateIndex(Ctx(), request).ok()) << name;
  }
  cluster::AliasMetadata write;
  write.is_write_index = true;
  auto add = [](const std::string& index, const std::string& alias, cluster::AliasMetadata m) {
    return cluster::AliasAction{cluster::AliasAction::Type::kAdd, index, alias, std::move(m),
                                false};
  };
  Status s = cp_->UpdateAliases(
      Ctx(), {add("a", "x", write), add("b", "x", {}), add("a", "y", {}), add("b", "y", write)});
  ASSERT_TRUE(s.ok()) << s;
  s = cp_->UpdateAliases(
      Ctx(), {add("a", "x", {}), add("b", "x", write), add("a", "y", write), add("b", "y", {})});
  ASSERT_TRUE(s.ok()) << s;
  const cluster::StatePtr state = State();
  EXPECT_EQ(state->FindIndex("a")->aliases,
            (cluster::Aliases{{"x", cluster::AliasMetadata{}}, {"y", write}}));
  EXPECT_EQ(state->FindIndex("b")->aliases,
            (cluster::Aliases{{"x", write}, {"y", cluster::AliasMetadata{}}}));
  for (const char* name : {"a", "b"}) {
    Result<Json> object = env_->admin().Get(IndicesResource(), ns_, name);
    ASSERT_TRUE(object.ok()) << object.status();
    const Json* ready = controlplane::k8s::FindCondition((*object)["status"], "Ready");
    ASSERT_NE(ready, nullptr);
    EXPECT_EQ((*ready)["status"], "True") << name << ": no spec was rejected on the way";
  }
}

TEST_F(OperatorTest, WatchesResumeAfterAnApiServerRestartWithoutLosingAChange) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  Result<std::unique_ptr<controlplane::Watch>> watch =
      cp_->WatchClusterState(Ctx(), State()->version);
  ASSERT_TRUE(watch.ok());
  controlplane::CreateIndexRequest request;
  request.name = "before";
  ASSERT_TRUE(cp_->CreateIndex(Ctx(), request).ok());
  // SIGKILL: a crash, and no graceful shutdown waiting for our open watches to drain.
  ASSERT_TRUE(env_->RestartApiServer(/*kill=*/true).ok());
  // Another node writes as soon as the server is back, while our watches reconnect.
  Result<std::unique_ptr<K8sControlPlane>> other = StartNodeControlPlane(*env_, ns_);
  ASSERT_TRUE(other.ok()) << other.status();
  request.name = "after";
  Result<cluster::Index> after = (*other)->CreateIndex(Ctx(), request);
  ASSERT_TRUE(after.ok()) << after.status();
  std::vector<std::string> created;
  while (created.size() < 2) {
    Result<cluster::ClusterStateEvent> e = (*watch)->Next(Clock::now() + 30s);
    ASSERT_TRUE(e.ok()) << e.status();
    if (e->type == cluster::EventType::kIndexCreated) created.push_back(e->index);
  }
  EXPECT_EQ(created, (std::vector<std::string>{"before", "after"}));
  EXPECT_TRUE(WaitFor([&] { return cp_->IsHealthy(); }));
  (*other)->Stop().PermitUncheckedError();
}

// --- operator processes ------------------------------------------------------------------------

struct OperatorProcess {
  pid_t pid = -1;
  int metrics_port = 0;
  int health_port = 0;
};

// The value of an unlabelled Prometheus sample in /metrics, or -1.
double Metric(const OperatorProcess& p, const std::string& name) {
  auto [status, body] = HttpGet(p.metrics_port, "/metrics");
  if (status != 200) return -1;
  const std::string prefix = "\n" + name + " ";
  size_t at = body.find(prefix);
  return at == std::string::npos ? -1 : std::atof(body.c_str() + at + prefix.size());
}

OperatorProcess SpawnOperator(const std::string& kubeconfig, const std::string& ns,
                              const std::string& identity, const std::string& log) {
  OperatorProcess p;
  p.metrics_port = quidditch::testing::FreeLoopbackPort();
  p.health_port = quidditch::testing::FreeLoopbackPort();
  const int health_port = p.health_port;
  std::vector<std::string> args = {"operator",
                                   "-E",
                                   "controlPlane.k8s.kubeconfig=" + kubeconfig,
                                   "-E",
                                   "controlPlane.k8s.namespace=" + ns,
                                   "-E",
                                   "controlPlane.k8s.healthPort=" + std::to_string(health_port),
                                   "-E",
                                   "controlPlane.k8s.metricsPort=" + std::to_string(p.metrics_port),
                                   "-E",
                                   "node.heartbeatTimeout=10m"};
  p.pid = SpawnQuidditch(args, log, {{"POD_NAME", identity}});
  return p;
}

std::string LeaseHolder(KubeEnv& env, const std::string& ns) {
  Result<Json> lease = env.admin().Get(LeasesResource(), ns, "quidditch-operator");
  if (!lease.ok()) return "";
  return lease->value("spec", Json::object()).value("holderIdentity", "");
}

TEST_F(OperatorTest, ExactlyOneOfTwoOperatorProcessesLeadsAndTheOtherTakesOverAfterSigkill) {
  Result<KubeConfig> config = env_->ServiceAccountConfig(ns_, "quidditch-operator");
  ASSERT_TRUE(config.ok()) << config.status();
  Result<std::string> kubeconfig = env_->WriteKubeconfig(*config, ns_ + "-operator");
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status();
  std::map<std::string, OperatorProcess> ops;
  for (const std::string id : {"op-a", "op-b"}) {
    ops[id] = SpawnOperator(*kubeconfig, ns_, id, "/tmp/quidditch-" + ns_ + "-" + id + ".log");
  }
  ASSERT_TRUE(WaitFor([&] { return !LeaseHolder(*env_, ns_).empty(); }));
  const std::string leader = LeaseHolder(*env_, ns_);
  const std::string follower = leader == "op-a" ? "op-b" : "op-a";
  // Both serve their probes; both are ready (followers keep warm caches); one says it leads.
  ASSERT_TRUE(WaitFor([&] {
    return HttpGet(ops[leader].health_port, "/readyz").first == 200 &&
           HttpGet(ops[follower].health_port, "/readyz").first == 200;
  }));
  EXPECT_EQ(HttpGet(ops[leader].health_port, "/healthz").first, 200);
  EXPECT_TRUE(WaitFor([&] { return Metric(ops[leader], "quidditch_operator_leader") == 1; }));
  EXPECT_EQ(Metric(ops[follower], "quidditch_operator_leader"), 0);
  // Both stay: the follower does not take over a lease that is being renewed.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(LeaseHolder(*env_, ns_), leader);

  Result<std::unique_ptr<K8sControlPlane>> cp = StartNodeControlPlane(*env_, ns_);
  ASSERT_TRUE(cp.ok()) << cp.status();
  controlplane::CreateIndexRequest request;
  request.name = "first";
  ASSERT_TRUE((*cp)->CreateIndex(Ctx(), request).ok()) << "the leader reconciles";

  kill(ops[leader].pid, SIGKILL);
  waitpid(ops[leader].pid, nullptr, 0);
  const auto killed = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return LeaseHolder(*env_, ns_) == follower; }, 20s));
  const auto takeover =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  std::fprintf(stderr, "operator %s took over %lld ms after %s was killed\n", follower.c_str(),
               static_cast<long long>(takeover.count()), leader.c_str());
  EXPECT_LE(takeover, 17s) << "within leaseDuration (15 s) + 2 s";
  request.name = "second";
  EXPECT_TRUE((*cp)->CreateIndex(Ctx(), request).ok()) << "work continues under the new leader";
  EXPECT_EQ(Metric(ops[follower], "quidditch_operator_leader"), 1);

  // A clean shutdown releases the lease at once.
  kill(ops[follower].pid, SIGTERM);
  int status = 0;
  waitpid(ops[follower].pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(LeaseHolder(*env_, ns_), "") << "released on clean shutdown";
  (*cp)->Stop().PermitUncheckedError();
}

TEST_F(OperatorTest, ReportsNodesAndHealthInQuidditchClusterStatus) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  Json qc{{"apiVersion", "quidditch.io/v1"},
          {"kind", "QuidditchCluster"},
          {"metadata", {{"name", "search"}}},
          {"spec", {{"data", {{"replicas", 2}}}}}};
  ASSERT_TRUE(env_->admin().Create(controlplane::k8s::ClustersResource(), ns_, qc).ok());
  cluster::NodeInfo node;
  node.node_id = "coord-0";
  node.roles.coordination = true;
  ASSERT_TRUE(cp_->RegisterNode(Ctx(), node).ok());
  Json status;
  EXPECT_TRUE(WaitFor([&] {
    Result<Json> got = env_->admin().Get(controlplane::k8s::ClustersResource(), ns_, "search");
    if (!got.ok()) return false;
    status = got->value("status", Json::object());
    return status.value("nodes", Json::array()).size() == 1;
  })) << status.dump();
  EXPECT_EQ(status["nodes"][0]["nodeId"], "coord-0");
  EXPECT_EQ(status["nodes"][0]["nodeType"], "coordination");
  EXPECT_EQ(status["nodes"][0]["state"], "ACTIVE");
  EXPECT_EQ(status["state"], "Running");
  EXPECT_EQ(status["health"], "green");
  EXPECT_EQ(status["spec"], nullptr);
}

TEST_F(OperatorTest, HeartbeatsKeepWhatOthersPutOnANodesMetadata) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  cluster::NodeInfo node;
  node.node_id = "n1";
  node.roles.data = true;
  ASSERT_TRUE(cp_->RegisterNode(Ctx(), node).ok());
  Json label{{"metadata", {{"labels", {{"team", "search"}}}}}};
  ASSERT_TRUE(env_->admin()
                  .Patch(controlplane::k8s::NodesResource(), ns_, "n1", PatchType::kMerge, label)
                  .ok());
  cluster::NodeStatus heartbeat;
  heartbeat.resources = cluster::NodeResources{4, 1 << 30, 0, 0};
  ASSERT_TRUE(WaitFor([&] { return cp_->UpdateNodeStatus(Ctx(), "n1", heartbeat).ok(); }));
  Result<Json> got = env_->admin().Get(controlplane::k8s::NodesResource(), ns_, "n1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["metadata"]["labels"]["team"], "search");
  EXPECT_EQ((*got)["status"]["resources"]["cpuCores"], 4);
}

TEST_F(OperatorTest, TheDeploymentManifestsAreAcceptedByTheApiServer) {
  for (const char* file : {"operator.yaml", "quidditch.yaml"}) {
    Status s = env_->ApplyFile(
        std::string(QUIDDITCH_SOURCE_DIR) + "/deploy/kubernetes/k8s-native/" + file, ns_);
    EXPECT_TRUE(s.ok()) << file << ": " << s;
  }
}

// A whole `quidditch` node in Kubernetes mode: it registers itself, heartbeats, and answers
// the REST API from the custom resources.
TEST_F(OperatorTest, AQuidditchNodeProcessRunsInKubernetesMode) {
  StartOperatorAndNode();
  if (HasFatalFailure()) return;
  Result<KubeConfig> config = env_->ServiceAccountConfig(ns_, "quidditch");
  ASSERT_TRUE(config.ok()) << config.status();
  Result<std::string> kubeconfig = env_->WriteKubeconfig(*config, ns_ + "-node");
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status();
  char dir[] = "/tmp/qd-k8s-node-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const int http_port = quidditch::testing::FreeLoopbackPort();
  const std::string log = std::string(dir) + "/node.log";
  std::vector<std::string> args = {"-E", "controlPlane.mode=k8s",
                                   "-E", "controlPlane.k8s.kubeconfig=" + *kubeconfig,
                                   "-E", "controlPlane.k8s.namespace=" + ns_,
                                   "-E", "node.nodeId=node-0",
                                   "-E", "node.nodeType=coordination,data",
                                   "-E", "node.httpPort=" + std::to_string(http_port),
                                   "-E", std::string("data.dataDir=") + dir + "/data"};
  const pid_t pid = SpawnQuidditch(args, log);
  ASSERT_NE(pid, -1);
  EXPECT_TRUE(WaitFor([&] {
    const cluster::StatePtr state = State();
    const cluster::NodeInfo* n = state->FindNode("node-0");
    return n != nullptr && n->state == cluster::NodeState::kActive && n->roles.data;
  })) << "the node registers itself; log "
      << log;
  std::string body;
  EXPECT_TRUE(WaitFor([&] {
    auto [status, text] = HttpGet(http_port, "/_cluster/health");
    body = text;
    return status == 200 && text.find("\"number_of_nodes\":1") != std::string::npos;
  })) << body;
  // This test's control plane and the node process are one cluster: one uuid, the one in the
  // ConfigMap (which the operator, started first, created).
  Result<Json> config_map = env_->admin().Get(ConfigMapsResource(), ns_, "quidditch-cluster");
  ASSERT_TRUE(config_map.ok()) << config_map.status();
  const std::string uuid = (*config_map)["data"]["clusterUuid"];
  EXPECT_EQ(uuid.size(), 22u) << uuid;
  EXPECT_EQ(State()->cluster_uuid, uuid);
  auto [root_status, root] = HttpGet(http_port, "/");
  EXPECT_EQ(root_status, 200);
  EXPECT_NE(root.find("\"cluster_uuid\":\"" + uuid + "\""), std::string::npos) << root;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "log " << log;
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("control plane mode: k8s"), std::string::npos) << text;
}

}  // namespace
}  // namespace quidditch::k8s::testing
