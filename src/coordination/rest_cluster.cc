#include "coordination/rest_cluster.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
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

namespace quidditch {

namespace {

using OrderedJson = nlohmann::ordered_json;
using cluster::ClusterHealth;
using cluster::ClusterState;
using cluster::HealthStatus;
using cluster::NodeInfo;
using cluster::StatePtr;
using controlplane::CallContext;
using controlplane::ControlPlane;

constexpr std::chrono::milliseconds kReadTimeout{2000};
constexpr std::chrono::milliseconds kPollInterval{25};
constexpr std::chrono::milliseconds kDefaultHealthTimeout{30000};

std::string Dump(const OrderedJson& json) {
  return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

HttpResponse JsonResponse(int status, const OrderedJson& json) {
  return HttpResponse::Json(status, Dump(json));
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

// '*' matches any run of characters; everything else matches itself.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

HttpResponse MasterNotDiscovered(const Status& status) {
  return OpenSearchErrorResponse(503, "master_not_discovered_exception",
                                 "cluster state unavailable: " + status.message());
}

// Reads the local state; on failure fills *error.
StatePtr ReadState(ControlPlane* cp, HttpResponse* error) {
  Result<StatePtr> state = cp->GetClusterState(CallContext::WithTimeout(kReadTimeout));
  if (!state.ok()) {
    *error = MasterNotDiscovered(state.status());
    return nullptr;
  }
  if (*state == nullptr) {
    *error = MasterNotDiscovered(Status::Unavailable("no cluster state"));
    return nullptr;
  }
  return *state;
}

bool Live(const NodeInfo& node) { return node.state != cluster::NodeState::kDown; }

// The node reported as the cluster manager: the first live node with the master role.
const NodeInfo* MasterNode(const ClusterState& state) {
  for (const auto& [id, node] : state.nodes) {
    if (Live(node) && node.roles.master) return &node;
  }
  return nullptr;
}

// OpenSearch role names, sorted as OpenSearch sorts them.
std::vector<std::string> OpenSearchRoles(const NodeInfo& node) {
  std::vector<std::string> roles;
  if (node.roles.master) roles.emplace_back("cluster_manager");
  if (node.roles.data) roles.emplace_back("data");
  return roles;
}

std::string HostPort(const std::string& address, int32_t port) {
  return address + ":" + std::to_string(port);
}

HttpResponse IndexNotFound(const std::string& index) {
  OrderedJson cause = {{"type", "index_not_found_exception"},
                       {"reason", "no such index [" + index + "]"},
                       {"index", index},
                       {"resource.type", "index_or_alias"},
                       {"resource.id", index},
                       {"index_uuid", "_na_"}};
  OrderedJson error = {{"root_cause", OrderedJson::array({cause})}};
  for (const auto& [key, value] : cause.items()) error[key] = value;
  return JsonResponse(404, OrderedJson{{"error", error}, {"status", 404}});
}

// Parses an OpenSearch time value ("500ms", "2s", "1m", "-1"); nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseTimeValue(std::string_view text) {
  if (text == "-1") return std::chrono::milliseconds::max();
  if (text == "0") return std::chrono::milliseconds(0);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  int64_t value = std::stoll(std::string(text.substr(0, digits)));
  std::string_view unit = text.substr(digits);
  double ms = 0;
  if (unit == "nanos") {
    ms = value / 1e6;
  } else if (unit == "micros") {
    ms = value / 1e3;
  } else if (unit == "ms") {
    ms = static_cast<double>(value);
  } else if (unit == "s") {
    ms = value * 1e3;
  } else if (unit == "m") {
    ms = value * 60e3;
  } else if (unit == "h") {
    ms = value * 3600e3;
  } else if (unit == "d") {
    ms = value * 86400e3;
  } else {
    return std::nullopt;
  }
  if (ms > 1e15) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::optional<HealthStatus> ParseHealthStatus(std::string_view name) {
  if (name == "green") return HealthStatus::kGreen;
  if (name == "yellow") return HealthStatus::kYellow;
  if (name == "red") return HealthStatus::kRed;
  return std::nullopt;
}

// --- _cluster/health ---------------------------------------------------------------------------

// The indices named by `expressions` (comma list), or NotFound naming the first unknown one.
Result<std::set<std::string>> ResolveIndices(const ClusterState& state,
                                             const std::vector<std::string>& expressions) {
  std::set<std::string> names;
  for (const std::string& expr : expressions) {
    if (expr == "_all" || expr == "*") {
      for (const auto& [name, index] : state.indices) names.insert(name);
    } else if (expr.find('*') != std::string::npos) {
      for (const auto& [name, index] : state.indices) {
        if (GlobMatch(expr, name)) names.insert(name);
      }
    } else if (state.FindIndex(expr) != nullptr) {
      names.insert(expr);
    } else {
      return Status::NotFound(expr);
    }
  }
  return names;
}

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
      bool active = copy.state == cluster::ShardState::kStarted ||
                    copy.state == cluster::ShardState::kRelocating;
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
                       const ClusterState& state, bool timed_out, std::string_view level) {
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
  out["task_max_waiting_in_queue_millis"] = 0;
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

HttpResponse HandleHealth(const NodeIdentity& identity, ControlPlane* cp,
                          const HttpRequest& request, const PathParams& params) {
  std::string_view level = request.Param("level", "cluster");
  if (level != "cluster" && level != "indices" && level != "shards") {
    return OpenSearchErrorResponse(
        400, "illegal_argument_exception",
        "level must be one of [cluster, indices, shards] but was [" + std::string(level) + "]");
  }
  std::optional<HealthStatus> wait_for;
  if (request.HasParam("wait_for_status") && !request.Param("wait_for_status").empty()) {
    wait_for = ParseHealthStatus(request.Param("wait_for_status"));
    if (!wait_for) {
      return OpenSearchErrorResponse(
          400, "illegal_argument_exception",
          "unknown cluster health status [" + std::string(request.Param("wait_for_status")) + "]");
    }
  }
  std::chrono::milliseconds timeout = kDefaultHealthTimeout;
  if (request.HasParam("timeout")) {
    std::optional<std::chrono::milliseconds> parsed = ParseTimeValue(request.Param("timeout"));
    if (!parsed) {
      return OpenSearchErrorResponse(400, "illegal_argument_exception",
                                     "failed to parse setting [timeout] with value [" +
                                         std::string(request.Param("timeout")) +
                                         "] as a time value: unit is missing or unrecognized");
    }
    timeout = *parsed;
  }
  std::vector<std::string> expressions;
  if (auto it = params.find("index"); it != params.end()) expressions = SplitComma(it->second);

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = timeout == std::chrono::milliseconds::max()
                            ? std::chrono::steady_clock::time_point::max()
                            : start + timeout;
  while (true) {
    HttpResponse error;
    StatePtr state = ReadState(cp, &error);
    if (state == nullptr) return error;
    ClusterState view = *state;
    if (!expressions.empty()) {
      Result<std::set<std::string>> names = ResolveIndices(*state, expressions);
      if (!names.ok()) return IndexNotFound(names.status().message());
      view.indices.clear();
      for (const std::string& name : *names) view.indices[name] = state->indices.at(name);
    }
    ClusterHealth health = cluster::ComputeHealth(view);
    bool satisfied = !wait_for || health.status <= *wait_for;
    bool timed_out = !satisfied && std::chrono::steady_clock::now() >= deadline;
    if (satisfied || timed_out) {
      return JsonResponse(timed_out ? 408 : 200,
                          HealthJson(identity, cp->IsHealthy(), health, view, timed_out, level));
    }
    auto now = std::chrono::steady_clock::now();
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(remaining, kPollInterval));
  }
}

// --- _cat ------------------------------------------------------------------------------------

struct CatColumn {
  std::string name;
  bool right_align = false;
};

using CatRow = std::vector<std::optional<std::string>>;  // nullopt: unknown ("-" / null)

HttpResponse RenderCat(const HttpRequest& request, const std::vector<CatColumn>& columns,
                       const std::vector<CatRow>& rows) {
  std::vector<size_t> selected;
  if (request.HasParam("h") && !request.Param("h").empty()) {
    for (const std::string& name : SplitComma(request.Param("h"))) {
      for (size_t i = 0; i < columns.size(); ++i) {
        if (GlobMatch(name, columns[i].name)) selected.push_back(i);
      }
    }
  } else {
    for (size_t i = 0; i < columns.size(); ++i) selected.push_back(i);
  }
  if (request.Param("format") == "json") {
    OrderedJson out = OrderedJson::array();
    for (const CatRow& row : rows) {
      OrderedJson obj = OrderedJson::object();
      for (size_t i : selected) {
        obj[columns[i].name] = row[i] ? OrderedJson(*row[i]) : OrderedJson(nullptr);
      }
      out.push_back(std::move(obj));
    }
    return JsonResponse(200, out);
  }
  std::string_view v = request.Param("v", "false");
  bool header = request.HasParam("v") && (v.empty() || v == "true");
  std::vector<std::vector<std::string>> cells;
  if (header) {
    std::vector<std::string> line;
    for (size_t i : selected) line.push_back(columns[i].name);
    cells.push_back(std::move(line));
  }
  for (const CatRow& row : rows) {
    std::vector<std::string> line;
    for (size_t i : selected) line.push_back(row[i].value_or("-"));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(selected.size(), 0);
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  std::string body;
  for (size_t r = 0; r < cells.size(); ++r) {
    const std::vector<std::string>& line = cells[r];
    for (size_t c = 0; c < line.size(); ++c) {
      if (c != 0) body += ' ';
      std::string pad(width[c] - line[c].size(), ' ');
      bool last = c + 1 == line.size();
      // Like OpenSearch's RestTable: headers are left-aligned, numeric cells right-aligned.
      if (columns[selected[c]].right_align && !(header && r == 0)) {
        body += pad + line[c];
      } else {
        body += line[c];
        if (!last) body += pad;
      }
    }
    body += '\n';
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = std::string(kTextContentType);
  response.body = std::move(body);
  return response;
}

std::string FormatPercent(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", value);
  return buf;
}

HttpResponse HandleCatHealth(const NodeIdentity& identity, ControlPlane* cp,
                             const HttpRequest& request) {
  HttpResponse error;
  StatePtr state = ReadState(cp, &error);
  if (state == nullptr) return error;
  ClusterHealth health = cluster::ComputeHealth(*state);
  static const std::vector<CatColumn> kColumns = {{"epoch", true},
                                                  {"timestamp", false},
                                                  {"cluster", false},
                                                  {"status", false},
                                                  {"node.total", true},
                                                  {"node.data", true},
                                                  {"discovered_cluster_manager", true},
                                                  {"shards", true},
                                                  {"pri", true},
                                                  {"relo", true},
                                                  {"init", true},
                                                  {"unassign", true},
                                                  {"pending_tasks", true},
                                                  {"max_task_wait_time", true},
                                                  {"active_shards_percent", true}};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char hms[16];
  std::strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
  CatRow row = {std::to_string(static_cast<int64_t>(now)),
                std::string(hms),
                identity.cluster_name,
                std::string(cluster::HealthStatusName(health.status)),
                std::to_string(health.number_of_nodes),
                std::to_string(health.number_of_data_nodes),
                cp->IsHealthy() ? "true" : "false",
                std::to_string(health.shards.active_shards),
                std::to_string(health.shards.active_primary_shards),
                std::to_string(health.shards.relocating_shards),
                std::to_string(health.shards.initializing_shards),
                std::to_string(health.shards.unassigned_shards),
                "0",
                "-",
                FormatPercent(health.active_shards_percent)};
  return RenderCat(request, kColumns, {row});
}

HttpResponse HandleCatNodes(ControlPlane* cp, const HttpRequest& request) {
  HttpResponse error;
  StatePtr state = ReadState(cp, &error);
  if (state == nullptr) return error;
  static const std::vector<CatColumn> kColumns = {{"ip", false},         {"heap.percent", true},
                                                  {"ram.percent", true}, {"cpu", true},
                                                  {"load_1m", true},     {"load_5m", true},
                                                  {"load_15m", true},    {"node.role", false},
                                                  {"node.roles", false}, {"cluster_manager", false},
                                                  {"name", false}};
  const NodeInfo* master = MasterNode(*state);
  std::vector<CatRow> rows;
  for (const auto& [id, node] : state->nodes) {
    if (!Live(node)) continue;
    std::string letters;
    if (node.roles.data) letters += 'd';
    if (node.roles.master) letters += 'm';
    if (letters.empty()) letters = "-";
    std::string names;
    for (const std::string& role : OpenSearchRoles(node)) {
      if (!names.empty()) names += ',';
      names += role;
    }
    if (names.empty()) names = "-";
    rows.push_back(CatRow{node.address, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                          std::nullopt, std::nullopt, letters, names,
                          std::string(master == &node ? "*" : "-"), id});
  }
  return RenderCat(request, kColumns, rows);
}

// --- _nodes ----------------------------------------------------------------------------------

HttpResponse HandleNodes(const NodeIdentity& identity, ControlPlane* cp, const PathParams& params) {
  HttpResponse error;
  StatePtr state = ReadState(cp, &error);
  if (state == nullptr) return error;
  std::vector<std::string> filter;
  if (auto it = params.find("node_id"); it != params.end()) filter = SplitComma(it->second);
  auto wanted = [&](const std::string& id) {
    if (filter.empty()) return true;
    for (const std::string& f : filter) {
      if (f == "_all" || GlobMatch(f, id)) return true;
    }
    return false;
  };
  OrderedJson nodes = OrderedJson::object();
  for (const auto& [id, node] : state->nodes) {
    if (!Live(node) || !wanted(id)) continue;
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
  return {{"state", "open"},
          {"settings", std::move(settings)},
          {"mappings", std::move(mappings)},
          {"aliases", OrderedJson::array()}};
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

HttpResponse HandleClusterState(const NodeIdentity& identity, ControlPlane* cp,
                                const PathParams& params) {
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
  StatePtr state = ReadState(cp, &error);
  if (state == nullptr) return error;
  OrderedJson out = {{"cluster_name", identity.cluster_name}, {"cluster_uuid", "_na_"}};
  if (metrics.count("version")) {
    out["version"] = state->version;
    out["state_uuid"] = "qd-state-" + std::to_string(state->version);
  }
  const NodeInfo* master = MasterNode(*state);
  if (metrics.count("master_node")) {
    out["master_node"] = master ? OrderedJson(master->node_id) : OrderedJson(nullptr);
  }
  if (metrics.count("nodes")) {
    OrderedJson nodes = OrderedJson::object();
    for (const auto& [id, node] : state->nodes) {
      if (!Live(node)) continue;
      nodes[id] = {{"name", id},
                   {"transport_address", HostPort(node.address, node.grpc_port)},
                   {"attributes", OrderedJson::object()},
                   {"roles", OpenSearchRoles(node)}};
    }
    out["nodes"] = std::move(nodes);
  }
  if (metrics.count("metadata")) {
    OrderedJson indices = OrderedJson::object();
    for (const auto& [name, index] : state->indices) indices[name] = IndexMetadataJson(*index);
    out["metadata"] = {{"cluster_uuid", "_na_"}, {"indices", std::move(indices)}};
  }
  if (metrics.count("routing_table")) {
    OrderedJson indices = OrderedJson::object();
    for (const auto& [name, index] : state->indices) indices[name] = RoutingJson(*index);
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
  auto health = [identity, cp](const HttpRequest& request, const PathParams& params) {
    return HandleHealth(identity, cp, request, params);
  };
  Status s = router->Register(HttpMethod::kGet, "/_cluster/health", health);
  if (!s.ok()) return s;
  s = router->Register(HttpMethod::kGet, "/_cluster/health/{index}", health);
  if (!s.ok()) return s;
  s = router->Register(HttpMethod::kGet, "/_cat/health",
                       [identity, cp](const HttpRequest& request, const PathParams&) {
                         return HandleCatHealth(identity, cp, request);
                       });
  if (!s.ok()) return s;
  s = router->Register(
      HttpMethod::kGet, "/_cat/nodes",
      [cp](const HttpRequest& request, const PathParams&) { return HandleCatNodes(cp, request); });
  if (!s.ok()) return s;
  auto nodes = [identity, cp](const HttpRequest&, const PathParams& params) {
    return HandleNodes(identity, cp, params);
  };
  s = router->Register(HttpMethod::kGet, "/_nodes", nodes);
  if (!s.ok()) return s;
  s = router->Register(HttpMethod::kGet, "/_nodes/{node_id}", nodes);
  if (!s.ok()) return s;
  auto state = [identity, cp](const HttpRequest&, const PathParams& params) {
    return HandleClusterState(identity, cp, params);
  };
  s = router->Register(HttpMethod::kGet, "/_cluster/state", state);
  if (!s.ok()) return s;
  return router->Register(HttpMethod::kGet, "/_cluster/state/{metrics}", state);
}

}  // namespace quidditch
