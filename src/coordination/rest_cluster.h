// Read-only cluster endpoints, answered from the ControlPlane's local state:
//
//   GET /_cluster/health[/{index}]   OpenSearch 2.x health document. Parameters: level
//       (cluster | indices | shards), wait_for_status (green | yellow | red) with timeout
//       (OpenSearch time units, default 30s; on timeout the answer is 408 with timed_out true).
//       {index} is a comma list of names or '*' globs ("_all" and "*" mean every index); an
//       unknown concrete name is 404 index_not_found_exception. Other OpenSearch parameters
//       (wait_for_nodes, wait_for_active_shards, wait_for_events, local, ...) are ignored.
//   GET /_cat/health                 columns: epoch timestamp cluster status node.total
//       node.data discovered_cluster_manager shards pri relo init unassign pending_tasks
//       max_task_wait_time active_shards_percent.
//   GET /_cat/nodes                  columns: ip heap.percent ram.percent cpu load_1m load_5m
//       load_15m node.role node.roles cluster_manager name. The control plane knows no heap,
//       RAM, CPU or load figures: those cells are "-" in text and null in format=json.
//       node.role uses OpenSearch's letters (d = data, m = cluster_manager, i.e. our master
//       role; "-" for a coordination-only node); cluster_manager is "*" on the node reported as
//       master_node (see below), "-" elsewhere; name is the node id.
//     Both _cat endpoints take v (header row), h (comma list of column names; unknown names are
//     ignored) and format=json (an array of objects with string values). s, help and other
//     formats are not supported (text is used).
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

#include "common/status.h"
#include "controlplane/control_plane.h"
#include "coordination/rest_root.h"

namespace quidditch {

// Registers the endpoints above on `router`. `cp` must outlive `router`.
Status RegisterClusterHandlers(const NodeIdentity& identity, controlplane::ControlPlane* cp,
                               Router* router);

}  // namespace quidditch
