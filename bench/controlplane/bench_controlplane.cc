// Control-plane benchmark (Raft mode): 1 and 3 master processes on loopback, fsync on (the
// Raft log is always fsynced), measured through the same gRPC client a data node uses.
//
// Prints a table beside the design's comparison-matrix figures and writes JSON (argv[1],
// default bench/results/controlplane.json). Never part of `make test`.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench/controlplane/bench_util.h"
#include "cluster/codec.h"
#include "controlplane/remote/remote_control_plane.h"
#include "tests/cluster/master_cluster.h"

namespace {

using quidditch::controlplane::CallContext;
using quidditch::testing::MasterCluster;
using quidditch::testing::MasterClusterOptions;
using Clock = std::chrono::steady_clock;
namespace bench = quidditch::bench;
namespace cluster = quidditch::cluster;

cluster::Command CreateIndex(const std::string& name) {
  cluster::CreateIndexCmd c;
  c.name = name;
  c.uuid = "uuid-" + name;
  c.settings.shards = 1;
  c.settings.replicas = 0;
  return cluster::Command{0, c};
}

struct Result {
  int masters = 0;
  bench::Stats create_index_ms, allocation_ms, read_us, watch_ms;
  double commands_per_s = 0;
  double failover_ms = -1;
};

Result Run(int masters, int samples) {
  Result r;
  r.masters = masters;
  MasterClusterOptions options;
  options.masters = masters;
  // Timeouts for a LAN: heartbeat 100 ms, election 500 ms (libraft randomizes each election
  // timer between 1x and 2x of this).
  options.heartbeat_timeout = std::chrono::milliseconds(100);
  options.election_timeout = std::chrono::milliseconds(500);
  options.snapshot_threshold = 8192;
  MasterCluster cluster(options);
  cluster.StartAll();
  if (!cluster.WaitForLeader(std::chrono::seconds(60), masters).ok()) {
    std::cerr << "cluster did not form\n" << cluster.LogOf(0);
    std::exit(1);
  }
  auto& client = cluster.client();

  // A remote node's view of the state, as a coordination node holds it.
  quidditch::controlplane::remote::RemoteOptions remote_options;
  remote_options.masters = cluster.grpc_addresses();
  quidditch::controlplane::remote::RemoteControlPlane remote(remote_options);
  if (!remote.Start().ok()) std::exit(1);

  bench::Progress(fmt::format("{} master(s): CreateIndex latency ({} samples)", masters, samples));
  std::vector<double> create;
  for (int i = 0; i < samples; ++i) {
    auto t0 = Clock::now();
    auto ctx = CallContext::WithTimeout(std::chrono::seconds(10));
    if (!client.Propose(ctx, {CreateIndex(fmt::format("c{}", i))}).ok()) continue;
    create.push_back(bench::Ms(Clock::now() - t0));
  }
  r.create_index_ms = bench::Summarize(create);

  bench::Progress("watch latency: commit on the leader to a remote node's local state");
  std::vector<double> watch;
  for (int i = 0; i < samples; ++i) {
    auto ctx = CallContext::WithTimeout(std::chrono::seconds(10));
    auto watcher = remote.WatchClusterState(ctx, remote.GetClusterState(ctx).value()->version);
    auto t0 = Clock::now();
    auto v = client.Propose(ctx, {CreateIndex(fmt::format("w{}", i))});
    // The commit is acknowledged once applied on the leader; the event reaches the remote
    // through the change stream.
    auto event = (*watcher)->Next(Clock::now() + std::chrono::seconds(10));
    if (v.ok() && event.ok()) watch.push_back(bench::Ms(Clock::now() - t0));
  }
  r.watch_ms = bench::Summarize(watch);

  bench::Progress("shard allocation latency: data node registered -> primary assigned");
  std::vector<double> alloc;
  for (int i = 0; i < std::min(samples, 50); ++i) {
    auto ctx = CallContext::WithTimeout(std::chrono::seconds(10));
    std::string name = fmt::format("a{}", i);
    if (i == 0) {
      cluster::NodeInfo data;
      data.node_id = "bench-data";
      data.roles.data = true;
      (void)client.Propose(ctx, {cluster::Command{0, cluster::RegisterNodeCmd{data}}});
    }
    auto t0 = Clock::now();
    if (!client.Propose(ctx, {CreateIndex(name)}).ok()) continue;
    while (Clock::now() - t0 < std::chrono::seconds(5)) {
      auto index = remote.GetIndex({}, name);
      if (index.ok() &&
          index->routing.shards[0].primary().state != cluster::ShardState::kUnassigned) {
        alloc.push_back(bench::Ms(Clock::now() - t0));
        break;
      }
      std::this_thread::yield();
    }
  }
  r.allocation_ms = bench::Summarize(alloc);

  bench::Progress("cluster-state read latency (local snapshot, as every node reads it)");
  std::vector<double> reads;
  for (int i = 0; i < 200000; ++i) {
    auto t0 = Clock::now();
    auto state = remote.GetClusterState({});
    reads.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!state.ok()) break;
  }
  r.read_us = bench::Summarize(reads);

  bench::Progress("sustained commands/s (4 concurrent clients, 5 s)");
  r.commands_per_s = bench::SustainedRate(4, std::chrono::seconds(5), [&](int w, int i) {
    auto ctx = CallContext::WithTimeout(std::chrono::seconds(10));
    return client.Propose(ctx, {CreateIndex(fmt::format("s{}-{}", w, i))}).ok();
  });

  if (masters > 1) {
    bench::Progress("leader failover after SIGKILL");
    int leader = cluster.Leader();
    auto t_kill = Clock::now();
    cluster.Kill(leader);
    while (Clock::now() - t_kill < std::chrono::seconds(30)) {
      auto ctx = CallContext::WithTimeout(std::chrono::milliseconds(500));
      const std::string name = fmt::format("f{}", bench::Ms(Clock::now() - t_kill));
      if (client.Propose(ctx, {CreateIndex(name)}).ok()) {
        r.failover_ms = bench::Ms(Clock::now() - t_kill);
        break;
      }
    }
  }
  (void)remote.Stop();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const std::string out = argc > 1 ? argv[1] : "bench/results/controlplane.json";
  const int samples = argc > 2 ? std::atoi(argv[2]) : 200;
  std::vector<Result> results = {Run(1, samples), Run(3, samples)};

  cluster::Json j{
      {"machine", bench::Machine()}, {"samples", samples}, {"runs", cluster::Json::array()}};
  std::string table =
      "| metric | design (Raft) | target | 1 master | 3 masters |\n|---|---|---|---|---|\n";
  auto row = [&](const std::string& metric, const std::string& design, const std::string& target,
                 auto get) {
    table += fmt::format("| {} | {} | {} | {} | {} |\n", metric, design, target, get(results[0]),
                         get(results[1]));
  };
  row("CreateIndex p50 / p99", "25-35 ms", "p50 <= 5 ms (3 masters)", [](const Result& r) {
    return fmt::format("{:.2f} / {:.2f} ms", r.create_index_ms.p50, r.create_index_ms.p99);
  });
  row("shard allocation p50 / p99", "10 ms", "-", [](const Result& r) {
    return fmt::format("{:.2f} / {:.2f} ms", r.allocation_ms.p50, r.allocation_ms.p99);
  });
  row("cluster-state read p50 / p99", "< 1 ms", "<= 1 us", [](const Result& r) {
    return fmt::format("{:.3f} / {:.3f} us", r.read_us.p50, r.read_us.p99);
  });
  row("watch: propose -> event on a remote node p50 / p99", "immediate", "p99 <= 2 ms",
      [](const Result& r) {
        return fmt::format("{:.2f} / {:.2f} ms", r.watch_ms.p50, r.watch_ms.p99);
      });
  row("sustained commands/s (4 clients)", "-", "-",
      [](const Result& r) { return fmt::format("{:.0f}", r.commands_per_s); });
  row("failover after SIGKILL", "-", "<= 2 s", [](const Result& r) {
    return r.failover_ms < 0 ? std::string("n/a") : fmt::format("{:.0f} ms", r.failover_ms);
  });
  for (const Result& r : results) {
    j["runs"].push_back({{"masters", r.masters},
                         {"create_index_ms", bench::StatsJson(r.create_index_ms)},
                         {"allocation_ms", bench::StatsJson(r.allocation_ms)},
                         {"state_read_us", bench::StatsJson(r.read_us)},
                         {"watch_ms", bench::StatsJson(r.watch_ms)},
                         {"commands_per_s", r.commands_per_s},
                         {"failover_ms", r.failover_ms}});
  }
  j["table"] = table;
  std::ofstream(out) << j.dump(2) << "\n";
  std::cout << "machine: " << bench::Machine() << "\n\n" << table;
  return 0;
}
