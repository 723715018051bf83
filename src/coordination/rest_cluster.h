// Read-only cluster endpoints, answered from the ControlPlane's local state:
//
//   GET /_cluster/health[/{index}]   OpenSearch 2.x health document. Parameters: level
//       (cluster | indices | shards: per-index entries, and per-shard entries below them),
//       wait_for_status (green | yellow | red), wait_for_no_initializing_shards,
//       wait_for_no_relocating_shards, wait_for_active_shards (a number or "all"),
//       wait_for_nodes ("N", ">=N", "<=N", ">N", "<N", "ge(N)", "le(N)", "gt(N)", "lt(N)"), with
//       timeout (OpenSearch time units, default 30s; on timeout the answer is 408 with timed_out
//       true). {index} is an index expression as every index API takes it (rest_util.h
//       ResolveIndices; expand_wildcards, ignore_unavailable, allow_no_indices); a missing index
//       makes the answer red with no index counted (so a wait for yellow or green times out),
//       as OpenSearch's TransportClusterHealthAction does. wait_for_events and local are
//       accepted and ignored (there is no pending-task queue to wait on).
//   (_cat/health and _cat/nodes are in rest_cat.h.)
//   GET /_nodes[/{node_id}]          nodes info: name, transport_address, host, ip, version,
//       build_type, build_hash, roles, http.{publish_address, bound_address}. {node_id} is a
//       comma list of node ids ("_all" and "*" mean every node); unknown ids are skipped.
//   GET /_cluster/state[/{metrics}]  a summary in OpenSearch's shape: cluster_name,
//       cluster_uuid, version, state_uuid, master_node, nodes, metadata.indices,
//       routing_table.indices. {metrics} is a comma list of version, master_node, nodes,
//       metadata, routing_table, _all; anything else is 400.
//
// Nodes whose state is DOWN are not cluster members: they are left out of every node list and
// count (as in ComputeHealth). Quidditch has no elected cluster manager visible in the state;
// master_node is the first (by id) live node with the master role, or null when there is none.
// A failed state read is 503 master_not_discovered_exception.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "controlplane/control_plane.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch {

// Registers the endpoints above on `router`. `cp` must outlive `router`.
Status RegisterClusterHandlers(const NodeIdentity& identity, controlplane::ControlPlane* cp,
                               Router* router);

namespace rest {

// Helpers shared by the cluster, _cat and stats endpoints.

// A node whose state is not DOWN: a cluster member.
bool IsLiveNode(const cluster::NodeInfo& node);
// The node reported as cluster manager: the first (by id) live node with the master role, or
// nullptr.
const cluster::NodeInfo* ClusterManagerNode(const cluster::ClusterState& state);
// The live nodes, in id order, that a node specification names, as OpenSearch's
// DiscoveryNodes.resolveNodes reads one: an empty specification or `_all` names every node;
// otherwise each comma-separated part adds `_local` (the node `local_node_id`), `_master` /
// `_cluster_manager` (ClusterManagerNode), or the nodes whose id or address matches it (`*`
// globs), and a role filter `master|cluster_manager|data:true|false` adds (true) or removes
// (false) the nodes with that role, in order.
std::vector<const cluster::NodeInfo*> ResolveNodes(const cluster::ClusterState& state,
                                                   std::string_view spec,
                                                   std::string_view local_node_id);
// ResolveNodes of the {node_id} path parameter (every node without it), `_local` being the
// node answering.
std::vector<const cluster::NodeInfo*> SelectNodes(const RestContext& context,
                                                  const cluster::ClusterState& state,
                                                  const PathParams& params);
// OpenSearch's role names of `node` ("cluster_manager", "data"), sorted as OpenSearch sorts
// them.
std::vector<std::string> OpenSearchRoles(const cluster::NodeInfo& node);
// "address:port".
std::string HostPort(const std::string& address, int32_t port);

}  // namespace rest

}  // namespace quidditch
