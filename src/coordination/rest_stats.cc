#include "coordination/rest_stats.h"

#include <chrono>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "coordination/rest_cat.h"
#include "coordination/rest_cluster.h"

namespace quidditch::rest {

namespace {

using cluster::ClusterState;
using cluster::ShardState;
using cluster::StatePtr;

// --- stats sections ----------------------------------------------------------------------------

// The index-stats metrics of OpenSearch's CommonStatsFlags, by their request names.
const std::vector<std::string_view>& IndexMetrics() {
  static const std::vector<std::string_view> kMetrics = {
      "docs",     "store",    "indexing",      "get",         "search",    "merge",
      "refresh",  "flush",    "warmer",        "query_cache", "fielddata", "completion",
      "segments", "translog", "request_cache", "recovery"};
  return kMetrics;
}

// Adds "<name>": "<human>" (when `human`) and "<name>_in_bytes" / "<name>_in_millis".
void PutBytes(OrderedJson* object, std::string_view name, int64_t bytes, bool human) {
  if (human) (*object)[std::string(name)] = FormatByteSize(bytes);
  (*object)[std::string(name) + "_in_bytes"] = bytes;
}
void PutMillis(OrderedJson* object, std::string_view name, int64_t millis, bool human) {
  if (human) (*object)[std::string(name)] = FormatTimeValue(millis);
  (*object)[std::string(name) + "_in_millis"] = millis;
}

// Sums of the engine stats of several copies.
struct StatsSum {
  engine::EngineStats sum;
  data::ShardSearchStats search;
  void Add(const ShardCopyStats& copy) {
    const data::ShardSearchStats& q = copy.search;
    search.open_contexts += q.open_contexts;
    search.query_total += q.query_total;
    search.query_time_in_millis += q.query_time_in_millis;
    search.query_current += q.query_current;
    search.fetch_total += q.fetch_total;
    search.fetch_time_in_millis += q.fetch_time_in_millis;
    search.fetch_current += q.fetch_current;
    search.scroll_total += q.scroll_total;
    if (copy.stats) Add(*copy.stats);
  }
  void Add(const engine::EngineStats& s) {
    sum.docs_count += s.docs_count;
    sum.docs_deleted += s.docs_deleted;
    sum.segment_count += s.segment_count;
    sum.store_size_bytes += s.store_size_bytes;
    sum.index_total += s.index_total;
    sum.index_failed += s.index_failed;
    sum.index_time_ms += s.index_time_ms;
    sum.delete_total += s.delete_total;
    sum.noop_update_total += s.noop_update_total;
    sum.get_total += s.get_total;
    sum.get_exists_total += s.get_exists_total;
    sum.get_missing_total += s.get_missing_total;
    sum.refresh_total += s.refresh_total;
    sum.flush_total += s.flush_total;
    sum.merge_total += s.merge_total;
    sum.translog_operations += s.translog_operations;
    sum.translog_size_bytes += s.translog_size_bytes;
  }
};

// The stats object for `metrics` (request names) in OpenSearch's key order. Counters the
// engine does not keep are 0 (see the header comment).
OrderedJson StatsJson(const StatsSum& sums, const std::set<std::string_view>& metrics, bool human) {
  const engine::EngineStats& s = sums.sum;
  OrderedJson out = OrderedJson::object();
  auto want = [&](std::string_view m) { return metrics.count(m) != 0; };
  if (want("docs")) out["docs"] = {{"count", s.docs_count}, {"deleted", s.docs_deleted}};
  if (want("store")) {
    OrderedJson store = OrderedJson::object();
    PutBytes(&store, "size", static_cast<int64_t>(s.store_size_bytes), human);
    PutBytes(&store, "reserved", 0, human);
    out["store"] = std::move(store);
  }
  if (want("indexing")) {
    OrderedJson indexing = {{"index_total", s.index_total}};
    PutMillis(&indexing, "index_time", s.index_time_ms, human);
    indexing["index_current"] = 0;
    indexing["index_failed"] = s.index_failed;
    indexing["delete_total"] = s.delete_total;
    PutMillis(&indexing, "delete_time", 0, human);
    indexing["delete_current"] = 0;
    indexing["noop_update_total"] = s.noop_update_total;
    indexing["is_throttled"] = false;
    PutMillis(&indexing, "throttle_time", 0, human);
    out["indexing"] = std::move(indexing);
  }
  if (want("get")) {
    OrderedJson get = {{"total", s.get_total}};
    PutMillis(&get, "time", 0, human);
    get["exists_total"] = s.get_exists_total;
    PutMillis(&get, "exists_time", 0, human);
    get["missing_total"] = s.get_missing_total;
    PutMillis(&get, "missing_time", 0, human);
    get["current"] = 0;
    out["get"] = std::move(get);
  }
  if (want("search")) {
    const data::ShardSearchStats& q = sums.search;
    OrderedJson search = {{"open_contexts", q.open_contexts}, {"query_total", q.query_total}};
    PutMillis(&search, "query_time", q.query_time_in_millis, human);
    search["query_current"] = q.query_current;
    search["fetch_total"] = q.fetch_total;
    PutMillis(&search, "fetch_time", q.fetch_time_in_millis, human);
    search["fetch_current"] = q.fetch_current;
    search["scroll_total"] = q.scroll_total;
    PutMillis(&search, "scroll_time", 0, human);
    search["scroll_current"] = 0;
    search["point_in_time_total"] = 0;
    PutMillis(&search, "point_in_time_time", 0, human);
    search["point_in_time_current"] = 0;
    search["suggest_total"] = 0;
    PutMillis(&search, "suggest_time", 0, human);
    search["suggest_current"] = 0;
    out["search"] = std::move(search);
  }
  if (want("merge")) {
    OrderedJson merges = {{"current", 0}, {"current_docs", 0}};
    PutBytes(&merges, "current_size", 0, human);
    merges["total"] = s.merge_total;
    PutMillis(&merges, "total_time", 0, human);
    merges["total_docs"] = 0;
    PutBytes(&merges, "total_size", 0, human);
    PutMillis(&merges, "total_stopped_time", 0, human);
    PutMillis(&merges, "total_throttled_time", 0, human);
    PutBytes(&merges, "total_auto_throttle", 0, human);
    out["merges"] = std::move(merges);
  }
  if (want("refresh")) {
    OrderedJson refresh = {{"total", s.refresh_total}};
    PutMillis(&refresh, "total_time", 0, human);
    refresh["external_total"] = s.refresh_total;
    PutMillis(&refresh, "external_total_time", 0, human);
    refresh["listeners"] = 0;
    out["refresh"] = std::move(refresh);
  }
  if (want("flush")) {
    OrderedJson flush = {{"total", s.flush_total}, {"periodic", 0}};
    PutMillis(&flush, "total_time", 0, human);
    out["flush"] = std::move(flush);
  }
  if (want("warmer")) {
    OrderedJson warmer = {{"current", 0}, {"total", 0}};
    PutMillis(&warmer, "total_time", 0, human);
    out["warmer"] = std::move(warmer);
  }
  if (want("query_cache")) {
    OrderedJson cache = OrderedJson::object();
    PutBytes(&cache, "memory_size", 0, human);
    cache.update({{"total_count", 0},
                  {"hit_count", 0},
                  {"miss_count", 0},
                  {"cache_size", 0},
                  {"cache_count", 0},
                  {"evictions", 0}});
    out["query_cache"] = std::move(cache);
  }
  if (want("fielddata")) {
    OrderedJson fielddata = OrderedJson::object();
    PutBytes(&fielddata, "memory_size", 0, human);
    fielddata["evictions"] = 0;
    out["fielddata"] = std::move(fielddata);
  }
  if (want("completion")) {
    OrderedJson completion = OrderedJson::object();
    PutBytes(&completion, "size", 0, human);
    out["completion"] = std::move(completion);
  }
  if (want("segments")) {
    OrderedJson segments = {{"count", s.segment_count}};
    PutBytes(&segments, "memory", 0, human);
    out["segments"] = std::move(segments);
  }
  if (want("translog")) {
    OrderedJson translog = {{"operations", s.translog_operations}};
    PutBytes(&translog, "size", static_cast<int64_t>(s.translog_size_bytes), human);
    // Operations above the last commit's local checkpoint are what a restart would replay.
    const int64_t uncommitted =
        s.max_seq_no >= 0 ? std::max<int64_t>(0, s.max_seq_no - s.local_checkpoint) : 0;
    translog["uncommitted_operations"] = std::min(uncommitted, s.translog_operations);
    out["translog"] = std::move(translog);
  }
  if (want("request_cache")) {
    OrderedJson cache = OrderedJson::object();
    PutBytes(&cache, "memory_size", 0, human);
    cache.update({{"evictions", 0}, {"hit_count", 0}, {"miss_count", 0}});
    out["request_cache"] = std::move(cache);
  }
  if (want("recovery")) {
    OrderedJson recovery = {{"current_as_source", 0}, {"current_as_target", 0}};
    PutMillis(&recovery, "throttle_time", 0, human);
    out["recovery"] = std::move(recovery);
  }
  return out;
}

// The metrics a {metric} path parameter names; illegal_argument_exception for unknown ones, as
// RestIndicesStatsAction words it.
Result<std::set<std::string_view>> ParseIndexMetrics(const HttpRequest& request,
                                                     const PathParams& params) {
  std::set<std::string_view> metrics;
  auto it = params.find("metric");
  if (it == params.end()) {
    metrics.insert(IndexMetrics().begin(), IndexMetrics().end());
    return metrics;
  }
  std::vector<std::string> unknown;
  for (const std::string& m : SplitComma(it->second)) {
    if (m == "_all") {
      metrics.insert(IndexMetrics().begin(), IndexMetrics().end());
      continue;
    }
    bool found = false;
    for (std::string_view known : IndexMetrics()) {
      if (known == m) {
        metrics.insert(known);
        found = true;
      }
    }
    if (!found) unknown.push_back(m);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const std::string& m : unknown) list += (list.empty() ? "" : ", ") + m;
    std::string path(request.path);
    return Status::InvalidArgument("illegal_argument_exception: request [" + path + "] contains " +
                                   (unknown.size() == 1 ? "unrecognized metric: [" + list + "]"
                                                        : "unrecognized metrics: [" + list + "]"));
  }
  return metrics;
}

HttpResponse IndicesStats(const RestContext& context, const HttpRequest& request,
                          const PathParams& params) {
  Result<std::set<std::string_view>> metrics = ParseIndexMetrics(request, params);
  if (!metrics.ok()) return ErrorResponse(metrics.status());
  Result<bool> human = BoolParam(request, "human", false);
  if (!human.ok()) return ErrorResponse(human.status());
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<IndicesOptions> options = IndicesOptionsOf(request, IndicesOptions{});
  if (!options.ok()) return ErrorResponse(options.status());
  auto it = params.find("index");
  Result<std::vector<std::string>> names = ResolveIndices(
      **state, it == params.end() ? std::string_view("_all") : std::string_view(it->second),
      *options);
  if (!names.ok()) return ErrorResponse(names.status());

  int64_t total = 0, successful = 0, failed = 0;
  StatsSum all_primaries, all_total;
  std::map<std::string, std::pair<StatsSum, StatsSum>> per_index;  // primaries, total
  for (const ShardCopyStats& c : CollectShardStats(context, **state, *names)) {
    ++total;
    if (!c.stats) {
      // An active copy whose service did not answer failed; an inactive one is only counted.
      if (cluster::IsActive(c.copy->state)) {
        ++failed;
      }
      continue;
    }
    ++successful;
    auto& [primaries, all] = per_index[c.index->name];
    all.Add(c);
    all_total.Add(c);
    if (c.copy->primary) {
      primaries.Add(c);
      all_primaries.Add(c);
    }
  }
  OrderedJson indices = OrderedJson::object();
  for (const std::string& name : *names) {
    const cluster::Index* index = (*state)->FindIndex(name);
    if (index == nullptr) continue;
    const auto& sums = per_index[name];
    indices[name] = {{"uuid", index->uuid},
                     {"primaries", StatsJson(sums.first, *metrics, *human)},
                     {"total", StatsJson(sums.second, *metrics, *human)}};
  }
  // As TransportBroadcastByNodeAction: every copy is in total; unassigned ones are neither
  // successful nor failed.
  OrderedJson out = {
      {"_shards", {{"total", total}, {"successful", successful}, {"failed", failed}}},
      {"_all",
       {{"primaries", StatsJson(all_primaries, *metrics, *human)},
        {"total", StatsJson(all_total, *metrics, *human)}}},
      {"indices", std::move(indices)}};
  return JsonResponse(200, out);
}

// --- nodes ---------------------------------------------------------------------------------------

HttpResponse NodesStats(const RestContext& context, const HttpRequest& request,
                        const PathParams& params) {
  static const std::set<std::string, std::less<>> kKnown = {"_all",
                                                            "indices",
                                                            "os",
                                                            "process",
                                                            "jvm",
                                                            "thread_pool",
                                                            "fs",
                                                            "transport",
                                                            "http",
                                                            "breaker",
                                                            "script",
                                                            "discovery",
                                                            "ingest",
                                                            "adaptive_selection",
                                                            "script_cache",
                                                            "indexing_pressure",
                                                            "shard_indexing_pressure",
                                                            "search_backpressure",
                                                            "cluster_manager_throttling",
                                                            "weighted_routing",
                                                            "file_cache",
                                                            "task_cancellation",
                                                            "search_pipeline",
                                                            "resource_usage_stats",
                                                            "segment_replication_backpressure",
                                                            "repositories",
                                                            "admission_control",
                                                            "caches"};
  std::set<std::string, std::less<>> metrics = {"indices", "fs"};
  if (auto it = params.find("metric"); it != params.end()) {
    metrics.clear();
    for (const std::string& m : SplitComma(it->second)) {
      if (kKnown.count(m) == 0) {
        return OpenSearchErrorResponse(
            400, "illegal_argument_exception",
            "request [" + request.path + "] contains unrecognized metric: [" + m + "]");
      }
      if (m == "_all") {
        metrics.insert({"indices", "fs"});
      } else {
        metrics.insert(m);
      }
    }
  }
  Result<bool> human = BoolParam(request, "human", false);
  if (!human.ok()) return ErrorResponse(human.status());
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  std::vector<std::string> all;
  for (const auto& [name, index] : (*state)->indices) all.push_back(name);
  std::map<std::string, StatsSum> by_node;
  if (metrics.count("indices")) {
    for (const ShardCopyStats& c : CollectShardStats(context, **state, all)) {
      if (c.stats) by_node[c.copy->node_id].Add(c);
    }
  }
  std::set<std::string_view> index_metrics(IndexMetrics().begin(), IndexMetrics().end());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  OrderedJson nodes = OrderedJson::object();
  for (const cluster::NodeInfo* node : SelectNodes(context, **state, params)) {
    OrderedJson entry = {{"timestamp", now},
                         {"name", node->node_id},
                         {"transport_address", HostPort(node->address, node->grpc_port)},
                         {"host", node->address},
                         {"ip", node->address},
                         {"roles", OpenSearchRoles(*node)},
                         {"attributes", OrderedJson::object()}};
    if (metrics.count("indices")) {
      entry["indices"] = StatsJson(by_node[node->node_id], index_metrics, *human);
    }
    const cluster::NodeResources& r = node->resources;
    if (metrics.count("fs") && r.disk_bytes > 0) {
      OrderedJson total = OrderedJson::object();
      PutBytes(&total, "total", r.disk_bytes, *human);
      PutBytes(&total, "free", r.disk_available, *human);
      PutBytes(&total, "available", r.disk_available, *human);
      entry["fs"] = {{"timestamp", now}, {"total", std::move(total)}};
    }
    nodes[node->node_id] = std::move(entry);
  }
  const size_t n = nodes.size();
  OrderedJson out = {{"_nodes", {{"total", n}, {"successful", n}, {"failed", 0}}},
                     {"cluster_name", context.identity.cluster_name},
                     {"nodes", std::move(nodes)}};
  return JsonResponse(200, out);
}

HttpResponse NodesHttp(const RestContext& context, const HttpRequest& request,
                       const PathParams& params) {
  Result<bool> human = BoolParam(request, "human", false);
  if (!human.ok()) return ErrorResponse(human.status());
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  OrderedJson nodes = OrderedJson::object();
  for (const cluster::NodeInfo* node : SelectNodes(context, **state, params)) {
    const std::string http = HostPort(node->address, node->http_port);
    OrderedJson http_info = {{"bound_address", {http}}, {"publish_address", http}};
    // http.max_content_length's default, which the server enforces (100mb).
    PutBytes(&http_info, "max_content_length", int64_t{100} * 1024 * 1024, *human);
    nodes[node->node_id] = {{"name", node->node_id},
                            {"transport_address", HostPort(node->address, node->grpc_port)},
                            {"host", node->address},
                            {"ip", node->address},
                            {"version", kOpenSearchVersion},
                            {"build_type", "tar"},
                            {"build_hash", BuildHash()},
                            {"roles", OpenSearchRoles(*node)},
                            {"http", std::move(http_info)}};
  }
  const size_t n = nodes.size();
  OrderedJson out = {{"_nodes", {{"total", n}, {"successful", n}, {"failed", 0}}},
                     {"cluster_name", context.identity.cluster_name},
                     {"nodes", std::move(nodes)}};
  return JsonResponse(200, out);
}

// --- _cluster/settings -------------------------------------------------------------------------

HttpResponse GetClusterSettings(const HttpRequest& request) {
  Result<bool> defaults = BoolParam(request, "include_defaults", false);
  if (!defaults.ok()) return ErrorResponse(defaults.status());
  OrderedJson out = {{"persistent", OrderedJson::object()}, {"transient", OrderedJson::object()}};
  if (*defaults) out["defaults"] = OrderedJson::object();
  return JsonResponse(200, out);
}

// The flat keys of a settings object ({"cluster":{"a":1}} -> "cluster.a").
void FlattenKeys(const nlohmann::json& object, const std::string& prefix,
                 std::vector<std::string>* keys) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object() && !it.value().empty()) {
      FlattenKeys(it.value(), key, keys);
    } else {
      keys->push_back(std::move(key));
    }
  }
}

HttpResponse PutClusterSettings(const HttpRequest& request) {
  Result<std::optional<nlohmann::json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  nlohmann::json doc = body->value_or(nlohmann::json::object());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "persistent" && it.key() != "transient") {
      return OpenSearchErrorResponse(
          400, "x_content_parse_exception",
          "[1:2] [cluster_update_settings_request] unknown field [" + it.key() + "]");
    }
    if (!it.value().is_object() && !it.value().is_null()) {
      return OpenSearchErrorResponse(400, "illegal_argument_exception",
                                     "[" + it.key() + "] settings must be an object");
    }
  }
  std::vector<std::string> transient_keys, persistent_keys;
  if (doc.contains("transient") && doc["transient"].is_object()) {
    FlattenKeys(doc["transient"], "", &transient_keys);
  }
  if (doc.contains("persistent") && doc["persistent"].is_object()) {
    FlattenKeys(doc["persistent"], "", &persistent_keys);
  }
  if (transient_keys.empty() && persistent_keys.empty()) {
    return OpenSearchErrorResponse(400, "action_request_validation_exception",
                                   "Validation Failed: 1: no settings to update;");
  }
  // No cluster setting is honoured yet: each one is unknown here, and OpenSearch rejects an
  // unknown setting (transient ones are validated first).
  if (!transient_keys.empty()) {
    return OpenSearchErrorResponse(
        400, "illegal_argument_exception",
        "transient setting [" + transient_keys.front() + "], not recognized");
  }
  return OpenSearchErrorResponse(
      400, "illegal_argument_exception",
      "persistent setting [" + persistent_keys.front() + "], not recognized");
}

// --- _cluster/allocation/explain ---------------------------------------------------------------

OrderedJson NodeJson(const cluster::NodeInfo& node) {
  return {{"id", node.node_id},
          {"name", node.node_id},
          {"transport_address", HostPort(node.address, node.grpc_port)}};
}

HttpResponse AllocationExplain(const RestContext& context, const HttpRequest& request) {
  Result<std::optional<nlohmann::json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  const ClusterState& s = **state;

  const cluster::Index* index = nullptr;
  const cluster::ShardRouting* shard = nullptr;
  const cluster::ShardCopy* copy = nullptr;
  const nlohmann::json doc = body->value_or(nlohmann::json::object());
  if (doc.empty()) {
    for (const auto& [name, i] : s.indices) {
      for (const cluster::ShardRouting& r : i->routing.shards) {
        for (const cluster::ShardCopy& c : r.copies) {
          if (copy == nullptr && c.state == ShardState::kUnassigned) {
            index = i.get();
            shard = &r;
            copy = &c;
          }
        }
      }
    }
    if (copy == nullptr) {
      return OpenSearchErrorResponse(
          400, "illegal_argument_exception",
          "No shard was specified in the request which means the response should explain a "
          "randomly-chosen unassigned shard, but there are no unassigned shards in this "
          "cluster.");
    }
  } else {
    std::string problems;
    int n = 0;
    if (!doc.contains("index") || !doc["index"].is_string()) {
      problems += std::to_string(++n) + ": index must be specified;";
    }
    if (!doc.contains("shard") || !doc["shard"].is_number_integer()) {
      problems += std::to_string(++n) + ": shard must be specified;";
    }
    if (!doc.contains("primary") || !doc["primary"].is_boolean()) {
      problems += std::to_string(++n) + ": primary must be specified;";
    }
    if (n > 0) {
      return OpenSearchErrorResponse(400, "action_request_validation_exception",
                                     "Validation Failed: " + problems);
    }
    const std::string name = doc["index"].get<std::string>();
    index = s.FindIndex(name);
    if (index == nullptr) return IndexNotFound(name);
    const int64_t shard_id = doc["shard"].get<int64_t>();
    if (shard_id < 0 || shard_id >= static_cast<int64_t>(index->routing.shards.size())) {
      return OpenSearchErrorResponse(
          404, "shard_not_found_exception",
          "no such shard [" + name + "][" + std::to_string(shard_id) + "]");
    }
    shard = &index->routing.shards[static_cast<size_t>(shard_id)];
    const bool primary = doc["primary"].get<bool>();
    std::string node;
    if (doc.contains("current_node") && doc["current_node"].is_string()) {
      node = doc["current_node"].get<std::string>();
    }
    // As OpenSearch: the copy on current_node when given, else the primary, else an
    // unassigned replica before an assigned one.
    for (const cluster::ShardCopy& c : shard->copies) {
      if (c.primary != primary || (!node.empty() && c.node_id != node)) continue;
      if (copy == nullptr ||
          (copy->state != ShardState::kUnassigned && c.state == ShardState::kUnassigned)) {
        copy = &c;
      }
    }
    if (copy == nullptr) {
      return OpenSearchErrorResponse(
          400, "illegal_argument_exception",
          "unable to find a " + std::string(primary ? "primary" : "replica") + " shard for [" +
              name + "][" + std::to_string(shard_id) + "]" +
              (node.empty() ? "" : " assigned to node [" + node + "]"));
    }
  }

  std::string current_state(cluster::ShardStateName(copy->state));
  for (char& ch : current_state) ch = static_cast<char>(std::tolower(ch));
  OrderedJson out = {{"index", index->name},
                     {"shard", shard->shard_id},
                     {"primary", copy->primary},
                     {"current_state", current_state}};
  if (copy->state != ShardState::kUnassigned) {
    if (const cluster::NodeInfo* node = s.FindNode(copy->node_id)) {
      out["current_node"] = NodeJson(*node);
    } else {
      out["current_node"] = {{"id", copy->node_id}, {"name", copy->node_id}};
    }
    out["can_remain_on_current_node"] = "yes";
    out["can_rebalance_cluster"] = "no";
    out["rebalance_explanation"] = "Quidditch does not rebalance shards between nodes";
    return JsonResponse(200, out);
  }
  // An unassigned copy: the allocator places a copy on a live data node that holds no other
  // copy of the shard (and a replica only once the primary is active).
  const bool primary_active = cluster::IsActive(shard->primary().state);
  OrderedJson decisions = OrderedJson::array();
  bool any_yes = false;
  for (const auto& [id, node] : s.nodes) {
    if (!IsLiveNode(node) || !node.roles.data) continue;
    OrderedJson entry = NodeJson(node);
    entry.erase("id");
    entry["node_id"] = id;
    entry["node_name"] = id;
    entry.erase("name");
    OrderedJson deciders = OrderedJson::array();
    if (shard->CopyOn(id) != nullptr) {
      deciders.push_back(
          {{"decider", "same_shard"},
           {"decision", "NO"},
           {"explanation", "a copy of this shard is already allocated to this node"}});
    }
    if (!copy->primary && !primary_active) {
      deciders.push_back({{"decider", "replica_after_primary_active"},
                          {"decision", "NO"},
                          {"explanation", "primary shard for this replica is not yet active"}});
    }
    const bool yes = deciders.empty();
    any_yes = any_yes || yes;
    entry["node_decision"] = yes ? "yes" : "no";
    if (!yes) entry["deciders"] = std::move(deciders);
    decisions.push_back(std::move(entry));
  }
  out["can_allocate"] = any_yes ? "yes" : "no";
  out["allocate_explanation"] =
      any_yes ? "can allocate the shard"
              : "cannot allocate because allocation is not permitted to any of the nodes";
  out["node_allocation_decisions"] = std::move(decisions);
  return JsonResponse(200, out);
}

}  // namespace

std::vector<ShardCopyStats> CollectShardStats(const RestContext& context,
                                              const cluster::ClusterState& state,
                                              const std::vector<std::string>& indices) {
  std::vector<ShardCopyStats> out;
  for (const std::string& name : indices) {
    const cluster::Index* index = state.FindIndex(name);
    if (index == nullptr) continue;
    for (const cluster::ShardRouting& shard : index->routing.shards) {
      for (const cluster::ShardCopy& copy : shard.copies) {
        ShardCopyStats entry{index, shard.shard_id, &copy, std::nullopt};
        // A closed index's shards are closed on the data nodes: they are not asked.
        const bool active = cluster::IsActive(copy.state) && !index->closed;
        data::ShardService* service =
            active && context.shard_service ? context.shard_service(copy.node_id) : nullptr;
        if (service != nullptr) {
          Result<engine::EngineStats> stats = service->Stats(data::ShardKey{name, shard.shard_id});
          // An unreachable or failing copy is reported without stats (null cells, not
          // successful in _shards); the callers say so in their answers.
          if (stats.ok()) {
            entry.stats = *stats;
            Result<data::ShardSearchStats> search =
                service->SearchStats(data::ShardKey{name, shard.shard_id});
            if (search.ok()) entry.search = *search;
          }
        }
        out.push_back(entry);
      }
    }
  }
  return out;
}

Status RegisterStatsHandlers(const RestContext& context, Router* router) {
  if (context.control_plane == nullptr || router == nullptr) {
    return Status::InvalidArgument("RegisterStatsHandlers needs a control plane and a router");
  }
  auto stats = [context](const HttpRequest& request, const PathParams& params) {
    return IndicesStats(context, request, params);
  };
  for (std::string_view path :
       {"/_stats", "/_stats/{metric}", "/{index}/_stats", "/{index}/_stats/{metric}"}) {
    QD_RETURN_IF_ERROR(
        router->Register(HttpMethod::kGet, path, stats, Params({kIndexOptionParams, {"level"}})));
  }
  auto nodes_stats = [context](const HttpRequest& request, const PathParams& params) {
    return NodesStats(context, request, params);
  };
  for (std::string_view path : {"/_nodes/stats", "/_nodes/stats/{metric}",
                                "/_nodes/{node_id}/stats", "/_nodes/{node_id}/stats/{metric}"}) {
    QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, path, nodes_stats, {"level", "timeout"}));
  }
  auto nodes_http = [context](const HttpRequest& request, const PathParams& params) {
    return NodesHttp(context, request, params);
  };
  for (std::string_view path : {"/_nodes/http", "/_nodes/{node_id}/http"}) {
    QD_RETURN_IF_ERROR(
        router->Register(HttpMethod::kGet, path, nodes_http, {"flat_settings", "timeout"}));
  }
  QD_RETURN_IF_ERROR(router->Register(
      HttpMethod::kGet, "/_cluster/settings",
      [](const HttpRequest& request, const PathParams&) { return GetClusterSettings(request); },
      {"cluster_manager_timeout", "flat_settings", "include_defaults", "local", "master_timeout"}));
  QD_RETURN_IF_ERROR(router->Register(
      HttpMethod::kPut, "/_cluster/settings",
      [](const HttpRequest& request, const PathParams&) { return PutClusterSettings(request); },
      Params({kAckTimeoutParams, {"flat_settings"}})));
  return router->Register({HttpMethod::kGet, HttpMethod::kPost}, "/_cluster/allocation/explain",
                          [context](const HttpRequest& request, const PathParams&) {
                            return AllocationExplain(context, request);
                          });
}

}  // namespace quidditch::rest
