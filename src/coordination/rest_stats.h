// Statistics and cluster-level extras: index stats, node stats, cluster settings and
// allocation explain.
//
//   GET /_stats[/{metric}], GET /{index}/_stats[/{metric}]
//       {"_shards":{total,successful,failed},"_all":{"primaries":{...},"total":{...}},
//        "indices":{name:{"uuid","primaries":{...},"total":{...}}}} summed over the started
//       copies (ShardService::Stats, ::SearchStats). Metrics: docs, store, indexing, get,
//       search, refresh, flush, merges, translog, segments (and _all). search has the query,
//       fetch and scroll counts and times and open_contexts; scroll times, point-in-time and
//       suggest counters are 0. There are no merge-time or throttling counters: merges
//       reports merge_total as total. `human` adds the human-readable twins of sizes and times
//       as OpenSearch does ("size": "1.2kb" before "size_in_bytes"). An unknown metric is 400
//       illegal_argument_exception as OpenSearch words it. level=shards is not supported (the
//       indices level is returned).
//   GET /_nodes/stats[/{metric}], GET /_nodes/{node_id}/stats[/{metric}]
//       per live node: name, transport_address, host, ip, roles, indices (docs, store,
//       indexing, get, search, refresh, flush, merges, translog of the copies on the node) and,
//       when the node reported them, fs.total {total, free, available}_in_bytes. jvm, os,
//       process, thread_pool, transport, http, breakers are absent: there is no JVM and these
//       are not measured.
//   GET /_nodes/http, GET /_nodes/{node_id}/http
//       nodes info restricted to name, transport_address, host, ip, version, build_type,
//       build_hash, roles and http {bound_address, publish_address, max_content_length_in_bytes}.
//   GET /_cluster/settings      {"persistent":{},"transient":{}} (include_defaults adds
//       "defaults":{}); flat_settings accepted.
//   PUT /_cluster/settings      No cluster setting is honoured yet, so every setting named in
//       "persistent" is 400 illegal_argument_exception "persistent setting [x], not
//       recognized" and in "transient" "transient setting [x], not dynamically updateable", as
//       OpenSearch answers for unknown settings; an empty body part is acknowledged. A body
//       without either is action_request_validation_exception "no settings to update".
//   GET|POST /_cluster/allocation/explain
//       With a body {index, shard, primary[, current_node]}: that copy; without: the first
//       unassigned copy, or 400 illegal_argument_exception "No shard was specified in the
//       request which means the response should explain a randomly-chosen unassigned shard,
//       but there are no unassigned shards in this cluster." Answers index, shard, primary,
//       current_state, and for an unassigned copy can_allocate and allocate_explanation from
//       what the allocator needs (a data node without a copy of the shard); for an assigned
//       copy current_node {id, name, transport_address} and can_remain_on_current_node "yes".
//
// Thread safety: everything here is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"
#include "engine/shard_engine.h"

namespace quidditch::rest {

// One assigned copy of a shard, with its engine stats when its shard service answered.
struct ShardCopyStats {
  const cluster::Index* index = nullptr;  // points into the state passed to CollectShardStats
  int32_t shard = 0;
  const cluster::ShardCopy* copy = nullptr;
  std::optional<engine::EngineStats> stats;  // nullopt: not started, or not reachable
  data::ShardSearchStats search;             // zero when `stats` is nullopt
};

// The copies of every shard of `indices` (names in `state`), in index, shard, copy order.
// Stats are asked only of STARTED (and RELOCATING) copies, from the shard service of their
// node; a failing service leaves that copy's stats empty. Unassigned copies are included
// (copy->state tells) without stats.
std::vector<ShardCopyStats> CollectShardStats(const RestContext& context,
                                              const cluster::ClusterState& state,
                                              const std::vector<std::string>& indices);

// Registers the endpoints above on `router`.
Status RegisterStatsHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
