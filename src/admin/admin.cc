#include "admin/admin.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cluster/codec.h"
#include "controlplane/rpc/master_client.h"

namespace quidditch::admin {
namespace {

constexpr std::string_view kUsage =
    "usage: quidditch-admin COMMAND [--master HOST:PORT] [--json]\n"
    "\n"
    "commands:\n"
    "  cluster-state   the cluster state: nodes, indices and where every shard copy is\n"
    "  health          cluster health (green/yellow/red) and the master's Raft status\n"
    "\n"
    "options:\n"
    "  --master HOST:PORT   a master's control-plane gRPC address (default 127.0.0.1:9301)\n"
    "  --json               machine-readable output\n";

struct Args {
  std::string command;
  std::string master = "127.0.0.1:9301";
  bool json = false;
};

Result<Args> Parse(const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      a.json = true;
    } else if (arg == "--master" && i + 1 < args.size()) {
      a.master = args[++i];
    } else if (arg.rfind("--master=", 0) == 0) {
      a.master = arg.substr(9);
    } else if (arg == "--help" || arg == "-h") {
      a.command = "help";
    } else if (!arg.empty() && arg[0] != '-' && a.command.empty()) {
      a.command = arg;
    } else {
      return Status::InvalidArgument(fmt::format("unexpected argument {}", arg));
    }
  }
  if (a.command.empty()) return Status::InvalidArgument("no command given");
  if (a.command != "cluster-state" && a.command != "health" && a.command != "help") {
    return Status::InvalidArgument(fmt::format("unknown command {}", a.command));
  }
  return a;
}

std::string CopyCell(const cluster::ShardCopy& c) {
  if (c.state == cluster::ShardState::kUnassigned) return "UNASSIGNED";
  return fmt::format("{}:{}", c.node_id, cluster::ShardStateName(c.state));
}

}  // namespace

std::string FormatClusterState(const cluster::ClusterState& state) {
  std::string out = fmt::format(
      "cluster state version {}, cluster uuid {}\n\nnodes ({}):\n", state.version,
      state.cluster_uuid.empty() ? "(none yet)" : state.cluster_uuid, state.nodes.size());
  for (const auto& [id, n] : state.nodes) {
    out += fmt::format("  {:<24} {:<8} {:<28} {}:{} http {}\n", id, cluster::NodeStateName(n.state),
                       fmt::format("{}", fmt::join(n.roles.Names(), ",")), n.address, n.grpc_port,
                       n.http_port);
  }
  out += fmt::format("\nindices ({}):\n", state.indices.size());
  for (const auto& [name, index] : state.indices) {
    out += fmt::format("  {} [{}] {} shards={} replicas={}\n", name, index->uuid,
                       cluster::IndexStateName(index->state), index->settings.shards,
                       index->settings.replicas);
    for (const cluster::ShardRouting& shard : index->routing.shards) {
      std::vector<std::string> cells;
      for (const cluster::ShardCopy& c : shard.copies) {
        cells.push_back((c.primary ? "p " : "r ") + CopyCell(c));
      }
      out += fmt::format("    shard {}: {} (term {})\n", shard.shard_id, fmt::join(cells, ", "),
                         shard.primary_term);
    }
  }
  return out;
}

std::string FormatHealth(const cluster::ClusterHealth& h,
                         const controlplane::rpc::MasterStatus& m) {
  return fmt::format(
      "cluster health: {}\n"
      "  nodes: {} ({} with data)\n"
      "  shards: {} active ({} primaries), {} initializing, {} relocating, {} unassigned "
      "({:.1f}% active)\n"
      "master {}: {} (term {}, commit {}, applied {}), leader {}, {}\n",
      cluster::HealthStatusName(h.status), h.number_of_nodes, h.number_of_data_nodes,
      h.shards.active_shards, h.shards.active_primary_shards, h.shards.initializing_shards,
      h.shards.relocating_shards, h.shards.unassigned_shards, h.active_shards_percent, m.node_id,
      m.state, m.term, m.commit_index, m.applied_index,
      m.leader_id.empty() ? "unknown" : m.leader_id, m.healthy ? "healthy" : "NOT healthy");
}

int RunAdmin(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Result<Args> parsed = Parse(args);
  if (!parsed.ok()) {
    err << "quidditch-admin: " << parsed.status().message() << "; see --help\n";
    return 2;
  }
  if (parsed->command == "help") {
    out << kUsage;
    return 0;
  }
  controlplane::rpc::MasterClient client({parsed->master});
  auto ctx = controlplane::CallContext::WithTimeout(std::chrono::seconds(5));
  auto failed = [&](const Status& s) {
    err << "quidditch-admin: " << parsed->command << " from " << parsed->master << ": "
        << s.message() << "\n";
    return 1;
  };
  Result<cluster::StatePtr> state = client.GetState(ctx, /*linearizable=*/false);
  if (!state.ok()) return failed(state.status());
  if (parsed->command == "cluster-state") {
    if (parsed->json) {
      out << cluster::EncodeState(**state).dump(2) << "\n";
    } else {
      out << FormatClusterState(**state);
    }
    return 0;
  }
  Result<controlplane::rpc::MasterStatus> master = client.GetMasterStatus(ctx, parsed->master);
  if (!master.ok()) return failed(master.status());
  cluster::ClusterHealth health = cluster::ComputeHealth(**state);
  if (!parsed->json) {
    out << FormatHealth(health, *master);
    return 0;
  }
  cluster::Json j{{"status", cluster::HealthStatusName(health.status)},
                  {"number_of_nodes", health.number_of_nodes},
                  {"number_of_data_nodes", health.number_of_data_nodes},
                  {"active_primary_shards", health.shards.active_primary_shards},
                  {"active_shards", health.shards.active_shards},
                  {"relocating_shards", health.shards.relocating_shards},
                  {"initializing_shards", health.shards.initializing_shards},
                  {"unassigned_shards", health.shards.unassigned_shards},
                  {"active_shards_percent_as_number", health.active_shards_percent},
                  {"master",
                   {{"node_id", master->node_id},
                    {"raft_state", master->state},
                    {"leader", master->leader_id},
                    {"term", master->term},
                    {"commit_index", master->commit_index},
                    {"applied_index", master->applied_index},
                    {"healthy", master->healthy}}}};
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace quidditch::admin
