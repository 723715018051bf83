// quidditch-admin: the operator's tool. Talks to a master's control-plane gRPC service.
//
//   quidditch-admin cluster-state [--master HOST:PORT] [--json]
//   quidditch-admin health        [--master HOST:PORT] [--json]
//
// Human-readable output by default, --json for scripts. Exit codes: 0 on success, 1 when the
// master cannot be reached or answers with an error, 2 for a bad command line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/health.h"
#include "controlplane/rpc/master_backend.h"

namespace quidditch::admin {

// Runs the tool with `args` (argv without the program name), writing to `out` and `err`.
int RunAdmin(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The human-readable renderings (pure; tested directly).
std::string FormatClusterState(const cluster::ClusterState& state);
std::string FormatHealth(const cluster::ClusterHealth& health,
                         const controlplane::rpc::MasterStatus& master);

}  // namespace quidditch::admin
