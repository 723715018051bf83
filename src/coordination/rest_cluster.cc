#include "coordination/rest_cluster.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/health.h"
#include "cluster/types.h"
#include "coordination/rest_util.h"

namespace quidditch {

namespace {

using rest::ClusterManagerNode;
using rest::HostPort;
using rest::IsLiveNode;
using rest::OpenSearchRoles;
using OrderedJson = nlohmann::ordered_json;
using cluster::ClusterHealth;
using cluster::ClusterState;
using cluster::HealthStatus;
using cluster::NodeInfo;
using cluster::StatePtr;
using controlplane::CallContext;
using controlplane::ControlPlane;

using rest::Dump;
using rest::GlobMatch;
using rest::JsonResponse;
using rest::SplitComma;

constexpr std::chrono::milliseconds kPollInterval{25};
constexpr std::chrono::milliseconds kDefaultHealthTimeout{30000};

// Reads the state through the control plane; on failure fills *error (503
// master_not_discovered_exception).
StatePtr ReadState(const rest::RestContext& context, HttpResponse* error) {
  Result<StatePtr> state = rest::ReadClusterState(context);
  if (!state.ok()) {
    *error = rest::ErrorResponse(state.status());
    return nullptr;
  }
  return *state;
}

std::optional<HealthStatus> ParseHealthStatus(std::string_view name) {
  if (name == "green") return HealthStatus::kGreen;
  if (name == "yellow") return HealthStatus::kYellow;
  if (name == "red") return HealthStatus::kRed;
  return std::nullopt;
}

// --- _cluster/health ---------------------------------------------------------------------------

OrderedJson ShardCountsJson(const cluster::ShardCounts& c, bool with_primary = true) {
  OrderedJson out;
  if (with_primary) out["active_primary_shards"] = c.active_primary_shards;
  out["active_shards"] = c.active_shards;
  out["relocating_shards"] = c.relocating_shards;
  out["initializing_shards"] = c.initializing_shards;
  out["unassigned_shards"] = c.unassigned_shards;
  return out;
}

OrderedJson ShardLevelJson(const cluster::Index& index) {
  OrderedJson shards = OrderedJson::object();
  for (const cluster::ShardRouting& shard : index.routing.shards) {
    cluster::ShardCounts c;
    HealthStatus status = HealthStatus::kGreen;
    bool primary_active = false;
    for (const cluster::ShardCopy& copy : shard.copies) {
      const bool active = cluster::IsActive(copy.state);
      if (copy.state == cluster::ShardState::kRelocating) ++c.relocating_shards;
      if (copy.state == cluster::ShardState::kInitializing) ++c.initializing_shards;
      if (copy.state == cluster::ShardState::kUnassigned) ++c.unassigned_shards;
      if (active) {
        ++c.active_shards;
        if (copy.primary) primary_active = true;
      } else {
        status = std::max(status, copy.primary ? HealthStatus::kRed : HealthStatus::kYellow);
      }
    }
    OrderedJson entry = {{"status", cluster::HealthStatusName(status)},
                         {"primary_active", primary_active}};
    entry.update(ShardCountsJson(c, false));
    shards[std::to_string(shard.shard_id)] = std::move(entry);
  }
  return shards;
}

OrderedJson HealthJson(const NodeIdentity& identity, bool discovered, const ClusterHealth& h,
                       const ClusterState& state, bool timed_out, std::string_view level,
                       bool human) {
  OrderedJson out = {{"cluster_name", identity.cluster_name},
                     {"status", cluster::HealthStatusName(h.status)},
                     {"timed_out", timed_out},
                     {"number_of_nodes", h.number_of_nodes},
                     {"number_of_data_nodes", h.number_of_data_nodes},
                     {"discovered_master", discovered},
                     {"discovered_cluster_manager", discovered}};
  out.update(ShardCountsJson(h.shards));
  out["delayed_unassigned_shards"] = 0;
  out["number_of_pending_tasks"] = 0;
  out["number_of_in_flight_fetch"] = 0;
  // `human` adds the readable twins as ClusterHealthResponse writes them.
  if (human) out["task_max_waiting_in_queue"] = "0s";
  out["task_max_waiting_in_queue_millis"] = 0;
  if (human) {
    char percent[32];
    std::snprintf(percent, sizeof(percent), "%.1f%%", h.active_shards_percent);
    out["active_shards_percent"] = percent;
  }
  out["active_shards_percent_as_number"] = h.active_shards_percent;
  if (level == "indices" || level == "shards") {
    OrderedJson indices = OrderedJson::object();
    for (const auto& [name, ih] : h.indices) {
      OrderedJson entry = {{"status", cluster::HealthStatusName(ih.status)},
                           {"number_of_shards", ih.number_of_shards},
                           {"number_of_replicas", ih.number_of_replicas}};
      entry.update(ShardCountsJson(ih.shards));
      if (level == "shards") {
        const cluster::Index* index = state.FindIndex(name);
        entry["shards"] = index == nullptr ? OrderedJson::object() : ShardLevelJson(*index);
      }
      indices[name] = std::move(entry);
    }
    out["indices"] = std::move(indices);
  }
  return out;
}

// wait_for_nodes: "N", ">=N", "<=N", ">N", "<N", "ge(N)", "le(N)", "gt(N)", "lt(N)".
Result<std::function<bool(int32_t)>> ParseWaitForNodes(std::string_view text) {
  std::string_view op = "==";
  std::string_view number = text;
  for (std::string_view prefix : {">=", "<=", ">", "<"}) {
    if (text.starts_with(prefix)) {
      op = prefix;
      number = text.substr(prefix.size());
      break;
    }
  }
  static constexpr std::pair<std::string_view, std::string_view> kWords[] = {
      {"ge(", ">="}, {"le(", "<="}, {"gt(", ">"}, {"lt(", "<"}};
  for (const auto& [word, symbol] : kWords) {
    if (text.starts_with(word) && text.ends_with(")")) {
      op = symbol;
      number = text.substr(3, text.size() - 4);
    }
  }
  int32_t n = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || end != number.data() + number.size() || number.empty()) {
    return Status::InvalidArgument("illegal_argument_exception: failed to parse [" +
                                   std::string(text) + "] as wait_for_nodes");
  }
  if (op == ">=") return std::function<bool(int32_t)>([n](int32_t v) { return v >= n; });
  if (op == "<=") return std::function<bool(int32_t)>([n](int32_t v) { return v <= n; });
  if (op == ">") return std::function<bool(int32_t)>([n](int32_t v) { return v > n; });
  if (op == "<") return std::function<bool(int32_t)>([n](int32_t v) { return v < n; });
  return std::function<bool(int32_t)>([n](int32_t v) { return v == n; });
}

// What a health request waits for; every condition set must hold.
struct HealthWait {
  std::optional<HealthStatus> status;
  bool no_initializing_shards = false;
  bool no_relocating_shards = false;
  std::optional<int32_t> active_shards;  // -1: all
  std::function<bool(int32_t)> nodes;

  bool any() const {
    return status || no_initializing_shards || no_relocating_shards || active_shards || nodes;
  }
  bool Satisfied(const ClusterHealth& h, int32_t total_shards) const {
    if (status && h.status > *status) return false;
    if (no_initializing_shards && h.shards.initializing_shards > 0) return false;
    if (no_relocating_shards && h.shards.relocating_shards > 0) return false;
    if (active_shards) {
      int32_t wanted = *active_shards < 0 ? total_shards : *active_shards;
      if (h.shards.active_shards < wanted) return false;
    }
    if (nodes && !nodes(h.number_of_nodes)) return false;
    return true;
  }
};

Result<HealthWait> ParseHealthWait(const HttpRequest& request) {
  HealthWait wait;
  if (request.HasParam("wait_for_status") && !request.Param("wait_for_status").empty()) {
    wait.status = ParseHealthStatus(request.Param("wait_for_status"));
    if (!wait.status) {
      return Status::InvalidArgument("illegal_argument_exception: unknown cluster health status [" +
                                     std::string(request.Param("wait_for_status")) + "]");
    }
  }
  QD_ASSIGN_OR_RETURN(wait.no_initializing_shards,
                      rest::BoolParam(request, "wait_for_no_initializing_shards", false));
  QD_ASSIGN_OR_RETURN(wait.no_relocating_shards,
                      rest::BoolParam(request, "wait_for_no_relocating_shards", false));
  if (request.HasParam("wait_for_active_shards")) {
    std::string_view value = request.Param("wait_for_active_shards");
    if (value == "all") {
      wait.active_shards = -1;
    } else if (!value.empty()) {
      int32_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
        return Status::InvalidArgument("illegal_argument_exception: failed to parse value [" +
                                       std::string(value) + "] for wait_for_active_shards");
      }
      if (n > 0) wait.active_shards = n;
    }
  }
  if (request.HasParam("wait_for_nodes") && !request.Param("wait_for_nodes").empty()) {
    QD_ASSIGN_OR_RETURN(wait.nodes, ParseWaitForNodes(request.Param("wait_for_nodes")));
  }
  return wait;
}

HttpResponse HandleHealth(const rest::RestContext& context, const HttpRequest& request,
                          const PathParams& params) {
  std::string_view level = request.Param("level", "cluster");
  if (level != "cluster" && level != "indices" && level != "shards") {
    return OpenSearchErrorResponse(
        400, "illegal_argument_exception",
        "level must be one of [cluster, indices, shards] but was [" + std::string(level) + "]");
  }
  Result<bool> human = rest::BoolParam(request, "human", false);
  if (!human.ok()) return rest::ErrorResponse(human.status());
  Result<HealthWait> wait = ParseHealthWait(request);
  if (!wait.ok()) return rest::ErrorResponse(wait.status());
  Result<std::chrono::milliseconds> timeout =
      rest::TimeParam(request, "timeout", kDefaultHealthTimeout);
  if (!timeout.ok()) return rest::ErrorResponse(timeout.status());
  // ClusterHealthRequest's default options are lenient: missing names are skipped.
  // Closed and hidden indices have health too (lenientExpandHidden).
  rest::IndicesOptions lenient;
  lenient.ignore_unavailable = true;
  lenient.expand_closed = true;
  lenient.expand_hidden = true;
  lenient.forbid_closed = false;
  Result<rest::IndicesOptions> options = rest::IndicesOptionsOf(request, lenient);
  if (!options.ok()) return rest::ErrorResponse(options.status());
  std::string expression;
  if (auto it = params.find("index"); it != params.end()) expression = it->second;

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = *timeout >= std::chrono::hours(24 * 365)
                            ? std::chrono::steady_clock::time_point::max()
                            : start + *timeout;
  while (true) {
    HttpResponse error;
    StatePtr state = ReadState(context, &error);
    if (state == nullptr) return error;
    ClusterState view = *state;
    bool missing_index = false;
    if (!expression.empty()) {
      Result<std::vector<std::string>> names = rest::ResolveIndices(*state, expression, *options);
      if (!names.ok()) return rest::ErrorResponse(names.status());
      view.indices.clear();
      for (const std::string& name : *names) view.indices[name] = state->indices.at(name);
      // As TransportClusterHealthAction: the named indices existing (strictly resolved) is
      // one more condition to wait for, and while one is missing the status is red.
      rest::IndicesOptions strict;
      strict.forbid_closed = false;
      missing_index = !rest::ResolveIndices(*state, expression, strict).ok();
    }
    ClusterHealth health = cluster::ComputeHealth(view);
    if (missing_index) health.status = HealthStatus::kRed;
    int32_t total_shards = 0;
    for (const auto& [name, index] : view.indices) {
      total_shards += index->settings.shards * (1 + index->settings.replicas);
    }
    bool satisfied = !missing_index && wait->Satisfied(health, total_shards);
    bool timed_out = !satisfied && std::chrono::steady_clock::now() >= deadline;
    if (satisfied || timed_out) {
      return JsonResponse(timed_out ? 408 : 200,
                          HealthJson(context.identity, context.control_plane->IsHealthy(), health,
                                     view, timed_out, level, *human));
    }
    auto now = std::chrono::steady_clock::now();
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(remaining, kPollInterval));
  }
}

// --- _nodes ----------------------------------------------------------------------------------

HttpResponse HandleNodes(const rest::RestContext& context, const PathParams& params) {
  const NodeIdentity& identity = context.identity;
  HttpResponse error;
  StatePtr state = ReadState(context, &error);
  if (state == nullptr) return error;
  OrderedJson nodes = OrderedJson::object();
  for (const NodeInfo* n : rest::SelectNodes(context, *state, params)) {
    const NodeInfo& node = *n;
    const std::string& id = node.node_id;
    std::string http = HostPort(node.address, node.http_port);
    nodes[id] = {{"name", id},
                 {"transport_address", HostPort(node.address, node.grpc_port)},
                 {"host", node.address},
                 {"ip", node.address},
                 {"version", kOpenSearchVersion},
                 {"build_type", "tar"},
                 {"build_hash", BuildHash()},
                 {"roles", OpenSearchRoles(node)},
                 {"http", {{"publish_address", http}, {"bound_address", {http}}}}};
  }
  size_t n = nodes.size();
  OrderedJson out = {{"_nodes", {{"total", n}, {"successful", n}, {"failed", 0}}},
                     {"cluster_name", identity.cluster_name},
                     {"nodes", std::move(nodes)}};
  return JsonResponse(200, out);
}

// --- _cluster/state ----------------------------------------------------------------------------

OrderedJson IndexMetadataJson(const cluster::Index& index) {
  OrderedJson settings = {{"index",
                           {{"creation_date", std::to_string(index.created_at_ms)},
                            {"number_of_shards", std::to_string(index.settings.shards)},
                            {"number_of_replicas", std::to_string(index.settings.replicas)},
                            {"uuid", index.uuid},
                            {"refresh_interval", index.settings.refresh_interval},
                            {"provided_name", index.name}}}};
  if (index.settings.codec != "default") settings["index"]["codec"] = index.settings.codec;
  OrderedJson mappings = OrderedJson::object();
  if (index.mappings.is_object() && !index.mappings.empty()) {
    mappings["_doc"] = OrderedJson::parse(
        index.mappings.dump(-1, ' ', false, cluster::Json::error_handler_t::replace));
  }
  OrderedJson aliases = OrderedJson::array();
  for (const auto& [alias, metadata] : index.aliases) aliases.push_back(alias);
  return {{"state", index.closed ? "close" : "open"},
          {"settings", std::move(settings)},
          {"mappings", std::move(mappings)},
          {"aliases", std::move(aliases)}};
}

OrderedJson RoutingJson(const cluster::Index& index) {
  OrderedJson shards = OrderedJson::object();
  for (const cluster::ShardRouting& shard : index.routing.shards) {
    OrderedJson copies = OrderedJson::array();
    for (const cluster::ShardCopy& copy : shard.copies) {
      bool assigned = copy.state != cluster::ShardState::kUnassigned;
      OrderedJson entry = {{"state", cluster::ShardStateName(copy.state)},
                           {"primary", copy.primary},
                           {"node", assigned ? OrderedJson(copy.node_id) : OrderedJson(nullptr)},
                           {"relocating_node", nullptr},
                           {"shard", shard.shard_id},
                           {"index", index.name}};
      if (assigned && !copy.allocation_id.empty()) {
        entry["allocation_id"] = {{"id", copy.allocation_id}};
      }
      copies.push_back(std::move(entry));
    }
    shards[std::to_string(shard.shard_id)] = std::move(copies);
  }
  return {{"shards", std::move(shards)}};
}

HttpResponse HandleClusterState(const rest::RestContext& context, const HttpRequest& request,
                                const PathParams& params) {
  const NodeIdentity& identity = context.identity;
  static const std::set<std::string, std::less<>> kMetrics = {"version", "master_node", "nodes",
                                                              "metadata", "routing_table"};
  std::set<std::string, std::less<>> metrics = kMetrics;
  if (auto it = params.find("metrics"); it != params.end()) {
    metrics.clear();
    for (const std::string& m : SplitComma(it->second)) {
      if (m == "_all") {
        metrics = kMetrics;
      } else if (kMetrics.count(m) != 0) {
        metrics.insert(m);
      } else {
        return OpenSearchErrorResponse(400, "illegal_argument_exception",
                                       "unknown metric [" + m + "] for [/_cluster/state]");
      }
    }
  }
  HttpResponse error;
  StatePtr state = ReadState(context, &error);
  if (state == nullptr) return error;
  // /{metrics}/{index}: metadata and routing_table show only these indices, resolved as
  // ClusterStateRequest's default options (lenientExpandOpen) say: a missing name is skipped,
  // a closed index named is shown.
  std::optional<std::set<std::string, std::less<>>> only;
  if (auto it = params.find("index"); it != params.end()) {
    rest::IndicesOptions lenient;
    lenient.ignore_unavailable = true;
    lenient.forbid_closed = false;
    Result<rest::IndicesOptions> options = rest::IndicesOptionsOf(request, lenient);
    if (!options.ok()) return rest::ErrorResponse(options.status());
    Result<std::vector<std::string>> names = rest::ResolveIndices(*state, it->second, *options);
    if (!names.ok()) return rest::ErrorResponse(names.status());
    only.emplace(names->begin(), names->end());
  }
  auto shown = [&](const std::string& name) { return !only || only->count(name) != 0; };
  const std::string cluster_uuid = ReportedClusterUuid(state->cluster_uuid);
  OrderedJson out = {{"cluster_name", identity.cluster_name}, {"cluster_uuid", cluster_uuid}};
  if (metrics.count("version")) {
    out["version"] = state->version;
    out["state_uuid"] = "qd-state-" + std::to_string(state->version);
  }
  const NodeInfo* master = ClusterManagerNode(*state);
  if (metrics.count("master_node")) {
    out["master_node"] = master ? OrderedJson(master->node_id) : OrderedJson(nullptr);
  }
  if (metrics.count("nodes")) {
    OrderedJson nodes = OrderedJson::object();
    for (const auto& [id, node] : state->nodes) {
      if (!IsLiveNode(node)) continue;
      nodes[id] = {{"name", id},
                   {"transport_address", HostPort(node.address, node.grpc_port)},
                   {"attributes", OrderedJson::object()},
                   {"roles", OpenSearchRoles(node)}};
    }
    out["nodes"] = std::move(nodes);
  }
  if (metrics.count("metadata")) {
    OrderedJson indices = OrderedJson::object();
    for (const auto& [name, index] : state->indices) {
      if (shown(name)) indices[name] = IndexMetadataJson(*index);
    }
    // The state holds a uuid only once the command that chose it was committed.
    out["metadata"] = {{"cluster_uuid", cluster_uuid},
                       {"cluster_uuid_committed", !state->cluster_uuid.empty()},
                       {"indices", std::move(indices)}};
  }
  if (metrics.count("routing_table")) {
    OrderedJson indices = OrderedJson::object();
    for (const auto& [name, index] : state->indices) {
      if (shown(name)) indices[name] = RoutingJson(*index);
    }
    out["routing_table"] = {{"indices", std::move(indices)}};
  }
  return JsonResponse(200, out);
}

}  // namespace

Status RegisterClusterHandlers(const NodeIdentity& identity, controlplane::ControlPlane* cp,
                               Router* router) {
  if (cp == nullptr || router == nullptr) {
    return Status::InvalidArgument("RegisterClusterHandlers needs a control plane and a router");
  }
  rest::RestContext context;
  context.identity = identity;
  context.control_plane = cp;
  auto health = [context](const HttpRequest& request, const PathParams& params) {
    return HandleHealth(context, request, params);
  };
  // local, wait_for_events and the cluster-manager timeouts change nothing on this cluster.
  const RouteParams health_params = Params(
      {rest::kIndexOptionParams,
       rest::kAckTimeoutParams,
       {"level", "local", "wait_for_active_shards", "wait_for_events", "wait_for_nodes",
        "wait_for_no_initializing_shards", "wait_for_no_relocating_shards", "wait_for_status"}});
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cluster/health", health, health_params));
  QD_RETURN_IF_ERROR(
      router->Register(HttpMethod::kGet, "/_cluster/health/{index}", health, health_params));
  auto nodes = [context](const HttpRequest&, const PathParams& params) {
    return HandleNodes(context, params);
  };
  const RouteParams nodes_params = {"flat_settings", "timeout"};
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_nodes", nodes, nodes_params));
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_nodes/{node_id}", nodes, nodes_params));
  auto state = [context](const HttpRequest& request, const PathParams& params) {
    return HandleClusterState(context, request, params);
  };
  const RouteParams state_params =
      Params({rest::kIndexOptionParams,
              {"cluster_manager_timeout", "flat_settings", "local", "master_timeout"}});
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cluster/state", state, state_params));
  QD_RETURN_IF_ERROR(
      router->Register(HttpMethod::kGet, "/_cluster/state/{metrics}", state, state_params));
  return router->Register(HttpMethod::kGet, "/_cluster/state/{metrics}/{index}", state,
                          state_params);
}

namespace rest {

bool IsLiveNode(const cluster::NodeInfo& node) { return node.state != cluster::NodeState::kDown; }

const cluster::NodeInfo* ClusterManagerNode(const cluster::ClusterState& state) {
  for (const auto& [id, node] : state.nodes) {
    if (IsLiveNode(node) && node.roles.master) return &node;
  }
  return nullptr;
}

std::vector<const cluster::NodeInfo*> ResolveNodes(const cluster::ClusterState& state,
                                                   std::string_view spec,
                                                   std::string_view local_node_id) {
  std::set<std::string> ids;  // the nodes named so far
  const std::vector<std::string> parts = SplitComma(spec);
  auto live = [&](auto&& pick) {
    for (const auto& [id, node] : state.nodes) {
      if (IsLiveNode(node) && pick(node)) ids.insert(id);
    }
  };
  if (parts.empty()) live([](const cluster::NodeInfo&) { return true; });
  for (const std::string& part : parts) {
    const size_t colon = part.find(':');
    if (part == "_all") {
      live([](const cluster::NodeInfo&) { return true; });
    } else if (part == "_local") {
      live([&](const cluster::NodeInfo& node) { return node.node_id == local_node_id; });
    } else if (part == "_master" || part == "_cluster_manager") {
      if (const cluster::NodeInfo* master = ClusterManagerNode(state)) ids.insert(master->node_id);
    } else if (colon != std::string::npos) {
      const std::string role = part.substr(0, colon);
      const std::string value = part.substr(colon + 1);
      auto has_role = [&](const cluster::NodeInfo& node) {
        return role == "data"
                   ? node.roles.data
                   : (role == "master" || role == "cluster_manager") && node.roles.master;
      };
      if (value == "true") {
        live(has_role);
      } else if (value == "false") {
        std::erase_if(ids, [&](const std::string& id) { return has_role(state.nodes.at(id)); });
      }
    } else {
      live([&](const cluster::NodeInfo& node) {
        return GlobMatch(part, node.node_id) || GlobMatch(part, node.address);
      });
    }
  }
  std::vector<const cluster::NodeInfo*> out;
  for (const std::string& id : ids) out.push_back(&state.nodes.at(id));
  return out;
}

std::vector<const cluster::NodeInfo*> SelectNodes(const RestContext& context,
                                                  const cluster::ClusterState& state,
                                                  const PathParams& params) {
  auto spec = params.find("node_id");
  return ResolveNodes(state, spec == params.end() ? "" : spec->second, context.identity.node_name);
}

std::vector<std::string> OpenSearchRoles(const cluster::NodeInfo& node) {
  std::vector<std::string> roles;
  if (node.roles.master) roles.emplace_back("cluster_manager");
  if (node.roles.data) roles.emplace_back("data");
  return roles;
}

std::string HostPort(const std::string& address, int32_t port) {
  return address + ":" + std::to_string(port);
}

}  // namespace rest

}  // namespace quidditch
