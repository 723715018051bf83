// Control-plane benchmark (Kubernetes mode): a real kube-apiserver + etcd on loopback (built by
// scripts/build-k8s-tools, started like the tests' KubeEnv), the operator in this process, and
// two K8sControlPlanes (two "nodes") as the node service account.
//
// Measures what the design's comparison matrix lists for K8s-native mode: CreateIndex latency
// (until the operator has accepted the index and run the allocator), shard allocation latency
// (index accepted -> primary assigned, as a watching node sees it), watch latency (a write by
// one node -> the event on another node), cluster-state reads, and node status writes/s.
// Writes JSON (argv[1], default bench/results/controlplane_k8s.json). Never part of `make test`.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench/controlplane/bench_util.h"
#include "tests/k8s/k8s_test_util.h"

namespace {

using quidditch::controlplane::CallContext;
using quidditch::controlplane::k8s::K8sControlPlane;
using Clock = std::chrono::steady_clock;
namespace bench = quidditch::bench;
namespace cluster = quidditch::cluster;
namespace kt = quidditch::k8s::testing;

[[noreturn]] void Die(const std::string& what, const quidditch::Status& s) {
  std::cerr << "bench_k8s: " << what << ": " << s.ToString() << "\n";
  std::exit(1);
}

cluster::NodeInfo DataNode(const std::string& id) {
  cluster::NodeInfo n;
  n.node_id = id;
  n.address = "127.0.0.1";
  n.roles.data = true;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const std::string out = argc > 1 ? argv[1] : "bench/results/controlplane_k8s.json";
  const int samples = argc > 2 ? std::atoi(argv[2]) : 200;
  bench::Progress("starting kube-apiserver + etcd");
  std::string why;
  kt::KubeEnv* env = kt::KubeEnv::Shared(&why);
  if (env == nullptr) {
    std::cerr << "bench_k8s: no Kubernetes API server: " << why << "\n";
    return 1;
  }
  auto ns = env->NewNamespace("bench");
  if (!ns.ok()) Die("namespace", ns.status());
  auto op_options = kt::TestOperatorOptions(*env, *ns, "bench-operator");
  if (!op_options.ok()) Die("operator options", op_options.status());
  auto op = quidditch::op::Operator::Start(*op_options);
  if (!op.ok()) Die("operator", op.status());
  auto a = kt::StartNodeControlPlane(*env, *ns);
  auto b = kt::StartNodeControlPlane(*env, *ns);
  if (!a.ok() || !b.ok()) Die("control planes", a.ok() ? b.status() : a.status());
  K8sControlPlane& writer = **a;
  K8sControlPlane& watcher = **b;
  auto ctx = [] { return CallContext::WithTimeout(std::chrono::seconds(20)); };
  if (auto s = writer.RegisterNode(ctx(), DataNode("bench-data")); !s.ok()) Die("register", s);

  bench::Progress(
      fmt::format("CreateIndex latency, to accepted and allocated ({} samples), and shard "
                  "allocation latency as a watching node sees it",
                  samples));
  std::vector<double> create, alloc;
  {
    // Another node watches, on its own thread, and notes when each index appears and when its
    // primary is assigned.
    std::mutex mu;
    std::map<std::string, std::pair<Clock::time_point, Clock::time_point>> seen;
    auto watch = watcher.WatchClusterState(ctx(), watcher.CurrentState()->version);
    if (!watch.ok()) Die("watch", watch.status());
    std::atomic<bool> done{false};
    std::thread reader([&] {
      while (!done) {
        auto e = (*watch)->Next(Clock::now() + std::chrono::milliseconds(200));
        if (!e.ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (e->type == cluster::EventType::kIndexCreated) seen[e->index].first = Clock::now();
        if (e->type == cluster::EventType::kShardAllocated) seen[e->index].second = Clock::now();
      }
    });
    for (int i = 0; i < samples; ++i) {
      quidditch::controlplane::CreateIndexRequest request;
      request.name = fmt::format("c{}", i);
      request.settings.replicas = 0;
      auto t0 = Clock::now();
      auto created = writer.CreateIndex(ctx(), request);
      if (!created.ok()) Die("CreateIndex", created.status());
      create.push_back(bench::Ms(Clock::now() - t0));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    done = true;
    reader.join();
    for (const auto& [name, times] : seen) {
      if (times.first != Clock::time_point{} && times.second != Clock::time_point{}) {
        alloc.push_back(bench::Ms(times.second - times.first));
      }
    }
  }

  bench::Progress("watch latency: a node status write on one node -> the event on another");
  std::vector<double> watch_ms;
  for (int i = 0; i < samples; ++i) {
    auto watch = watcher.WatchClusterState(ctx(), watcher.CurrentState()->version);
    cluster::NodeStatus status;
    status.resources = cluster::NodeResources{1, i + 1, 0, 0};
    auto t0 = Clock::now();
    if (auto s = writer.UpdateNodeStatus(ctx(), "bench-data", status); !s.ok()) Die("status", s);
    auto e = (*watch)->Next(Clock::now() + std::chrono::seconds(20));
    if (!e.ok()) Die("watch", e.status());
    watch_ms.push_back(bench::Ms(Clock::now() - t0));
  }

  bench::Progress("cluster-state read latency (local snapshot)");
  std::vector<double> reads;
  for (int i = 0; i < 200000; ++i) {
    auto t0 = Clock::now();
    auto state = watcher.GetClusterState({});
    reads.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!state.ok()) Die("read", state.status());
  }

  bench::Progress("sustained node status writes/s (4 nodes writing concurrently, 5 s)");
  for (int w = 0; w < 4; ++w) {
    if (auto s = writer.RegisterNode(ctx(), DataNode(fmt::format("hb{}", w))); !s.ok()) {
      Die("register", s);
    }
  }
  const double writes_per_s = bench::SustainedRate(4, std::chrono::seconds(5), [&](int w, int i) {
    cluster::NodeStatus status;
    status.resources = cluster::NodeResources{1, i + 1, 0, 0};
    return writer.UpdateNodeStatus(ctx(), fmt::format("hb{}", w), status).ok();
  });

  (void)watcher.Stop();
  (void)writer.Stop();
  (*op)->Stop();

  const bench::Stats c = bench::Summarize(create), al = bench::Summarize(alloc),
                     w = bench::Summarize(watch_ms), r = bench::Summarize(reads);
  std::string table = "| metric | design (K8s-native) | target | measured |\n|---|---|---|---|\n";
  table += fmt::format(
      "| CreateIndex p50 / p99 (accepted + allocated) | 40-80 ms | p50 <= 20 ms | "
      "{:.2f} / {:.2f} ms |\n",
      c.p50, c.p99);
  table += fmt::format(
      "| shard allocation p50 / p99 (accepted -> primary assigned) | 15 ms | - | "
      "{:.2f} / {:.2f} ms |\n",
      al.p50, al.p99);
  table += fmt::format(
      "| watch: write -> event on another node p50 / p99 | 10-100 ms | p99 <= 20 ms "
      "| {:.2f} / {:.2f} ms |\n",
      w.p50, w.p99);
  table += fmt::format("| cluster-state read p50 / p99 | < 1 ms | <= 1 us | {:.3f} / {:.3f} us |\n",
                       r.p50, r.p99);
  table += fmt::format("| node status writes/s (4 writers) | - | - | {:.0f} |\n", writes_per_s);
  cluster::Json j{{"machine", bench::Machine()},
                  {"samples", samples},
                  {"create_index_ms", bench::StatsJson(c)},
                  {"allocation_ms", bench::StatsJson(al)},
                  {"watch_ms", bench::StatsJson(w)},
                  {"state_read_us", bench::StatsJson(r)},
                  {"node_status_writes_per_s", writes_per_s},
                  {"table", table}};
  std::ofstream(out) << j.dump(2) << "\n";
  std::cout << "machine: " << bench::Machine() << "\n\n" << table;
  return 0;
}
