#include "controlplane/k8s/objects.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "cluster/codec.h"

namespace quidditch::controlplane::k8s {

using cluster::Index;
using cluster::IndexSettings;
using cluster::NodeInfo;
using cluster::ShardCopy;
using cluster::ShardRouting;

const quidditch::k8s::ResourceType& IndicesResource() {
  static const quidditch::k8s::ResourceType type{"quidditch.io", "v1", "quidditchindices", true};
  return type;
}
const quidditch::k8s::ResourceType& NodesResource() {
  static const quidditch::k8s::ResourceType type{"quidditch.io", "v1", "quidditchnodes", true};
  return type;
}
const quidditch::k8s::ResourceType& ClustersResource() {
  static const quidditch::k8s::ResourceType type{"quidditch.io", "v1", "quidditchclusters", true};
  return type;
}
const quidditch::k8s::ResourceType& TemplatesResource() {
  static const quidditch::k8s::ResourceType type{"quidditch.io", "v1", "quidditchindextemplates",
                                                 true};
  return type;
}

namespace {

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// An RFC 1123 subdomain: dot-separated labels of [a-z0-9-], each starting and ending with a
// letter or digit, 253 characters at most.
bool IsObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

// A field of `object` at `key`, or Corruption naming `where`.
Result<const Json*> Field(const Json& object, std::string_view key, std::string_view where) {
  auto it = object.find(key);
  if (!object.is_object() || it == object.end() || it->is_null()) {
    return Status::Corruption(fmt::format("{}.{} is missing", where, key));
  }
  return &*it;
}

template <typename T>
Result<T> Get(const Json& object, std::string_view key, std::string_view where) {
  QD_ASSIGN_OR_RETURN(const Json* value, Field(object, key, where));
  try {
    return value->get<T>();
  } catch (const Json::exception&) {
    return Status::Corruption(fmt::format("{}.{} has the wrong type", where, key));
  }
}

template <typename T>
T GetOr(const Json& object, std::string_view key, T fallback) {
  auto it = object.is_object() ? object.find(key) : object.end();
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return fallback;
  }
}

Result<int64_t> GetTime(const Json& object, std::string_view key, std::string_view where) {
  QD_ASSIGN_OR_RETURN(std::string text, Get<std::string>(object, key, where));
  std::optional<int64_t> ms = ParseTime(text);
  if (!ms) return Status::Corruption(fmt::format("{}.{} is not a time: {}", where, key, text));
  return *ms;
}

Json SettingsJson(const IndexSettings& settings) {
  Json json{{"shards", settings.shards},
            {"replicas", settings.replicas},
            {"refreshInterval", settings.refresh_interval},
            {"codec", settings.codec}};
  if (!settings.other.empty()) json["other"] = settings.other;
  return json;
}

// A spec-like object with the CRD's defaults for what is missing.
IndexSettings SettingsWithDefaults(const Json& spec) {
  IndexSettings s;
  s.shards = GetOr<int32_t>(spec, "shards", 0);
  s.replicas = GetOr<int32_t>(spec, "replicas", 1);
  s.refresh_interval = GetOr<std::string>(spec, "refreshInterval", "1s");
  s.codec = GetOr<std::string>(spec, "codec", "default");
  s.other = GetOr<Json>(spec, "other", Json::object());
  return s;
}

Result<cluster::ShardRoutingTable> DecodeRouting(const std::string& index_name, int32_t shards,
                                                 const Json& status) {
  cluster::ShardRoutingTable routing;
  routing.index_name = index_name;
  routing.shards.resize(static_cast<size_t>(shards));
  for (int32_t i = 0; i < shards; ++i) routing.shards[i].shard_id = i;
  QD_ASSIGN_OR_RETURN(const Json* copies, Field(status, "shardAllocations", "status"));
  for (const Json& c : *copies) {
    QD_ASSIGN_OR_RETURN(int32_t id, Get<int32_t>(c, "shardId", "status.shardAllocations[]"));
    if (id < 0 || id >= shards) {
      return Status::Corruption(fmt::format("status.shardAllocations: shard {} out of range", id));
    }
    ShardCopy copy;
    QD_ASSIGN_OR_RETURN(copy.primary, Get<bool>(c, "isPrimary", "status.shardAllocations[]"));
    QD_ASSIGN_OR_RETURN(std::string state,
                        Get<std::string>(c, "state", "status.shardAllocations[]"));
    std::optional<cluster::ShardState> parsed = cluster::ParseShardState(state);
    if (!parsed) return Status::Corruption("status.shardAllocations[].state: unknown " + state);
    copy.state = *parsed;
    copy.node_id = GetOr<std::string>(c, "nodeId", "");
    copy.allocation_id = GetOr<std::string>(c, "allocationId", "");
    routing.shards[id].copies.push_back(std::move(copy));
  }
  for (const Json& s : GetOr<Json>(status, "shards", Json::array())) {
    QD_ASSIGN_OR_RETURN(int32_t id, Get<int32_t>(s, "shardId", "status.shards[]"));
    if (id < 0 || id >= shards) {
      return Status::Corruption(fmt::format("status.shards: shard {} out of range", id));
    }
    ShardRouting& shard = routing.shards[id];
    QD_ASSIGN_OR_RETURN(shard.primary_term, Get<int64_t>(s, "primaryTerm", "status.shards[]"));
    for (const Json& e : GetOr<Json>(s, "inSync", Json::array())) {
      QD_ASSIGN_OR_RETURN(std::string allocation, Get<std::string>(e, "allocationId", "inSync[]"));
      QD_ASSIGN_OR_RETURN(shard.in_sync[allocation], Get<std::string>(e, "nodeId", "inSync[]"));
    }
  }
  for (const ShardRouting& shard : routing.shards) {
    if (shard.copies.empty() || !shard.copies.front().primary) {
      return Status::Corruption(
          fmt::format("status.shardAllocations: shard {} has no primary first", shard.shard_id));
    }
  }
  return routing;
}

}  // namespace

std::string ObjectNameFor(std::string_view name) {
  if (IsObjectName(name)) return std::string(name);
  std::string base;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    base.push_back(IsAlnum(c) ? c : '-');
    if (base.size() == 200) break;
  }
  while (!base.empty() && !IsAlnum(base.front())) base.erase(base.begin());
  while (!base.empty() && !IsAlnum(base.back())) base.pop_back();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  std::string hash;
  for (int i = 0; i < 5; ++i) hash += fmt::format("{:02x}", digest[i]);
  return base.empty() ? "x-" + hash : base + "-" + hash;
}

std::string FormatTime(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::optional<int64_t> ParseTime(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  int64_t millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    // Any number of fraction digits (Go writes ".5Z", metav1.MicroTime six): milliseconds.
    rest.remove_prefix(1);
    int digits = 0;
    int64_t scale = 100;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      millis += (rest.front() - '0') * scale;
      scale /= 10;
      rest.remove_prefix(1);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  if (rest != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
}

// --- QuidditchIndex ---------------------------------------------------------------------------

Json NewIndexObject(std::string_view name, std::string_view uuid, const IndexSettings& settings,
                    const Json& mappings, const cluster::Aliases& aliases) {
  Json spec = SettingsJson(settings);
  spec["mappings"] = mappings;
  if (!aliases.empty()) spec["aliases"] = cluster::EncodeAliases(aliases);
  const std::string object_name = ObjectNameFor(name);
  if (object_name != name) spec["indexName"] = name;
  return Json{{"apiVersion", kApiVersion},
              {"kind", "QuidditchIndex"},
              {"metadata",
               {{"name", object_name},
                {"annotations", {{"quidditch.io/uuid", uuid}}},
                {"finalizers", Json::array({kIndexFinalizer})}}},
              {"spec", std::move(spec)}};
}

Result<IndexObject> DecodeIndexObject(const Json& object) {
  IndexObject out;
  QD_ASSIGN_OR_RETURN(const Json* metadata, Field(object, "metadata", "QuidditchIndex"));
  QD_ASSIGN_OR_RETURN(out.object_name, Get<std::string>(*metadata, "name", "metadata"));
  out.resource_version = quidditch::k8s::ResourceVersionOf(object);
  out.generation = GetOr<int64_t>(*metadata, "generation", 0);
  out.deleting =
      metadata->contains("deletionTimestamp") && !(*metadata)["deletionTimestamp"].is_null();
  for (const Json& f : GetOr<Json>(*metadata, "finalizers", Json::array())) {
    if (!f.is_string()) continue;
    out.finalizers.push_back(f.get<std::string>());
    if (f == kIndexFinalizer) out.has_finalizer = true;
  }
  const Json annotations = GetOr<Json>(*metadata, "annotations", Json::object());
  out.requested_uuid = GetOr<std::string>(annotations, "quidditch.io/uuid",
                                          GetOr<std::string>(*metadata, "uid", ""));
  const Json spec = GetOr<Json>(object, "spec", Json::object());
  out.index_name = GetOr<std::string>(spec, "indexName", out.object_name);
  out.spec_settings = SettingsWithDefaults(spec);
  out.spec_mappings = GetOr<Json>(spec, "mappings", Json::object());
  out.spec_aliases = GetOr<Json>(spec, "aliases", Json::object());
  out.spec_closed = GetOr<bool>(spec, "closed", false);
  out.status = GetOr<Json>(object, "status", Json());
  if (!out.status.is_object()) return out;
  out.observed_generation = GetOr<int64_t>(out.status, "observedGeneration", 0);
  out.next_allocation_id = GetOr<int64_t>(out.status, "nextAllocationId", 1);
  if (!out.status.contains("appliedSpec")) return out;

  const std::string where = "QuidditchIndex " + out.object_name + " status";
  Index index;
  index.name = out.index_name;
  QD_ASSIGN_OR_RETURN(index.uuid, Get<std::string>(out.status, "uuid", where));
  const Json& applied = out.status["appliedSpec"];
  QD_ASSIGN_OR_RETURN(index.settings.shards,
                      Get<int32_t>(applied, "shards", where + ".appliedSpec"));
  QD_ASSIGN_OR_RETURN(index.settings.replicas,
                      Get<int32_t>(applied, "replicas", where + ".appliedSpec"));
  QD_ASSIGN_OR_RETURN(index.settings.refresh_interval,
                      Get<std::string>(applied, "refreshInterval", where + ".appliedSpec"));
  QD_ASSIGN_OR_RETURN(index.settings.codec,
                      Get<std::string>(applied, "codec", where + ".appliedSpec"));
  index.settings.other = GetOr<Json>(applied, "other", Json::object());
  index.mappings = GetOr<Json>(applied, "mappings", Json::object());
  // Absent in statuses written before aliases and open/close existed: none, and open.
  if (applied.contains("aliases")) {
    Result<cluster::Aliases> aliases = cluster::DecodeAliases(applied["aliases"]);
    if (!aliases.ok()) {
      return Status::Corruption(where + ".appliedSpec: " + aliases.status().message());
    }
    index.aliases = std::move(aliases).value();
  }
  if (applied.contains("closed")) {
    QD_ASSIGN_OR_RETURN(index.closed, Get<bool>(applied, "closed", where + ".appliedSpec"));
  }
  if (index.settings.shards < 1) return Status::Corruption(where + ".appliedSpec.shards < 1");
  QD_ASSIGN_OR_RETURN(std::string state, Get<std::string>(out.status, "state", where));
  std::optional<cluster::IndexState> parsed_state = cluster::ParseIndexState(state);
  if (!parsed_state || *parsed_state == cluster::IndexState::kDeleting) {
    return Status::Corruption(fmt::format("{}.state: unexpected {}", where, state));
  }
  index.state = *parsed_state;
  QD_ASSIGN_OR_RETURN(index.created_at_ms, GetTime(out.status, "createdAt", where));
  QD_ASSIGN_OR_RETURN(index.updated_at_ms, GetTime(out.status, "updatedAt", where));
  QD_ASSIGN_OR_RETURN(index.routing, DecodeRouting(index.name, index.settings.shards, out.status));
  out.applied = std::move(index);
  return out;
}

Json IndexStatus(const Index& index, int64_t next_allocation_id, const Json& previous) {
  Json status = previous.is_object() ? previous : Json::object();
  Json applied = SettingsJson(index.settings);
  applied["mappings"] = index.mappings;
  applied["aliases"] = cluster::EncodeAliases(index.aliases);
  applied["closed"] = index.closed;
  Json copies = Json::array();
  Json shards = Json::array();
  for (const ShardRouting& shard : index.routing.shards) {
    for (const ShardCopy& c : shard.copies) {
      Json copy{{"shardId", shard.shard_id},
                {"isPrimary", c.primary},
                {"state", cluster::ShardStateName(c.state)}};
      if (!c.node_id.empty()) copy["nodeId"] = c.node_id;
      if (!c.allocation_id.empty()) copy["allocationId"] = c.allocation_id;
      copies.push_back(std::move(copy));
    }
    Json in_sync = Json::array();
    for (const auto& [allocation, node] : shard.in_sync) {
      in_sync.push_back({{"allocationId", allocation}, {"nodeId", node}});
    }
    shards.push_back(
        {{"shardId", shard.shard_id}, {"primaryTerm", shard.primary_term}, {"inSync", in_sync}});
  }
  status["state"] = index.state == cluster::IndexState::kActive ? "ACTIVE" : "CREATING";
  status["uuid"] = index.uuid;
  status["appliedSpec"] = std::move(applied);
  status["shardAllocations"] = std::move(copies);
  status["shards"] = std::move(shards);
  status["nextAllocationId"] = next_allocation_id;
  status["createdAt"] = FormatTime(index.created_at_ms);
  status["updatedAt"] = FormatTime(index.updated_at_ms);
  return status;
}

const Json* FindCondition(const Json& status, std::string_view type) {
  if (!status.is_object() || !status.contains("conditions")) return nullptr;
  for (const Json& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

void SetCondition(Json& status, std::string_view type, bool ok, std::string_view reason,
                  std::string_view message, int64_t generation, int64_t now_ms) {
  if (!status.is_object()) status = Json::object();
  Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  const std::string value = ok ? "True" : "False";
  for (Json& c : conditions) {
    if (c.value("type", "") != type) continue;
    if (c.value("status", "") != value) c["lastTransitionTime"] = FormatTime(now_ms / 1000 * 1000);
    c["status"] = value;
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = generation;
    return;
  }
  conditions.push_back({{"type", type},
                        {"status", value},
                        {"reason", reason},
                        {"message", message},
                        {"observedGeneration", generation},
                        {"lastTransitionTime", FormatTime(now_ms / 1000 * 1000)}});
}

// --- QuidditchNode ----------------------------------------------------------------------------

Json NodeObject(const NodeInfo& node, std::string_view pod_name) {
  Json spec{{"roles", node.roles.Names()},
            {"address", node.address},
            {"grpcPort", node.grpc_port},
            {"httpPort", node.http_port}};
  const std::string object_name = ObjectNameFor(node.node_id);
  if (object_name != node.node_id) spec["nodeId"] = node.node_id;
  if (!pod_name.empty()) spec["podName"] = pod_name;
  Json status{{"state", cluster::NodeStateName(node.state)},
              {"lastSeen", FormatTime(node.last_seen_ms)},
              {"resources",
               {{"cpuCores", node.resources.cpu_cores},
                {"memoryBytes", node.resources.memory_bytes},
                {"diskBytes", node.resources.disk_bytes},
                {"diskAvailable", node.resources.disk_available}}}};
  return Json{{"apiVersion", kApiVersion},
              {"kind", "QuidditchNode"},
              {"metadata", {{"name", object_name}}},
              {"spec", std::move(spec)},
              {"status", std::move(status)}};
}

Result<NodeObjectView> DecodeNodeObject(const Json& object) {
  NodeObjectView out;
  QD_ASSIGN_OR_RETURN(const Json* metadata, Field(object, "metadata", "QuidditchNode"));
  QD_ASSIGN_OR_RETURN(out.object_name, Get<std::string>(*metadata, "name", "metadata"));
  out.resource_version = quidditch::k8s::ResourceVersionOf(object);
  const std::string where = "QuidditchNode " + out.object_name;
  QD_ASSIGN_OR_RETURN(const Json* spec, Field(object, "spec", where));
  QD_ASSIGN_OR_RETURN(const Json* status, Field(object, "status", where));
  NodeInfo& node = out.node;
  node.node_id = GetOr<std::string>(*spec, "nodeId", out.object_name);
  out.pod_name = GetOr<std::string>(*spec, "podName", "");
  QD_ASSIGN_OR_RETURN(std::vector<std::string> roles,
                      Get<std::vector<std::string>>(*spec, "roles", where + ".spec"));
  for (const std::string& role : roles) {
    bool* slot = node.roles.Slot(role);
    if (slot == nullptr) return Status::Corruption(where + ": unknown role " + role);
    *slot = true;
  }
  node.address = GetOr<std::string>(*spec, "address", "");
  node.grpc_port = GetOr<int32_t>(*spec, "grpcPort", 0);
  node.http_port = GetOr<int32_t>(*spec, "httpPort", 0);
  QD_ASSIGN_OR_RETURN(std::string state, Get<std::string>(*status, "state", where + ".status"));
  std::optional<cluster::NodeState> parsed = cluster::ParseNodeState(state);
  if (!parsed) return Status::Corruption(where + ".status.state: unknown " + state);
  node.state = *parsed;
  QD_ASSIGN_OR_RETURN(node.last_seen_ms, GetTime(*status, "lastSeen", where + ".status"));
  const Json resources = GetOr<Json>(*status, "resources", Json::object());
  node.resources.cpu_cores = GetOr<int32_t>(resources, "cpuCores", 0);
  node.resources.memory_bytes = GetOr<int64_t>(resources, "memoryBytes", 0);
  node.resources.disk_bytes = GetOr<int64_t>(resources, "diskBytes", 0);
  node.resources.disk_available = GetOr<int64_t>(resources, "diskAvailable", 0);
  return out;
}

// --- QuidditchIndexTemplate -------------------------------------------------------------------

std::string_view TemplateKindName(cluster::TemplateKind kind) {
  return kind == cluster::TemplateKind::kComposable ? "composable" : "legacy";
}

std::string TemplateObjectName(cluster::TemplateKind kind, std::string_view name) {
  return ObjectNameFor(fmt::format("{}-{}", TemplateKindName(kind), name));
}

Json NewTemplateObject(cluster::TemplateKind kind, std::string_view name, const Json& body) {
  return Json{{"apiVersion", kApiVersion},
              {"kind", "QuidditchIndexTemplate"},
              {"metadata", {{"name", TemplateObjectName(kind, name)}}},
              {"spec", {{"templateName", name}, {"kind", TemplateKindName(kind)}, {"body", body}}}};
}

Result<TemplateObject> DecodeTemplateObject(const Json& object) {
  TemplateObject out;
  QD_ASSIGN_OR_RETURN(const Json* metadata, Field(object, "metadata", "QuidditchIndexTemplate"));
  out.metadata = *metadata;
  QD_ASSIGN_OR_RETURN(out.object_name, Get<std::string>(*metadata, "name", "metadata"));
  out.resource_version = quidditch::k8s::ResourceVersionOf(object);
  const std::string where = "QuidditchIndexTemplate " + out.object_name;
  QD_ASSIGN_OR_RETURN(const Json* spec, Field(object, "spec", where));
  QD_ASSIGN_OR_RETURN(out.template_name, Get<std::string>(*spec, "templateName", where + ".spec"));
  QD_ASSIGN_OR_RETURN(std::string kind, Get<std::string>(*spec, "kind", where + ".spec"));
  if (kind == TemplateKindName(cluster::TemplateKind::kComposable)) {
    out.kind = cluster::TemplateKind::kComposable;
  } else if (kind == TemplateKindName(cluster::TemplateKind::kLegacy)) {
    out.kind = cluster::TemplateKind::kLegacy;
  } else {
    return Status::Corruption(where + ".spec.kind: unknown " + kind);
  }
  QD_ASSIGN_OR_RETURN(const Json* body, Field(*spec, "body", where + ".spec"));
  if (!body->is_object()) return Status::Corruption(where + ".spec.body is not an object");
  out.body = *body;
  // Objects are found by the name derived from kind and template name: an object under another
  // name would be a second holder of the template (and a write would never find it).
  const std::string expected = TemplateObjectName(out.kind, out.template_name);
  if (out.object_name != expected) {
    return Status::Corruption(fmt::format("{}: a {} template named [{}] must be the object {}",
                                          where, kind, out.template_name, expected));
  }
  return out;
}

Json NewClusterConfigMap(std::string_view uuid) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", kClusterConfigMapName}}},
              {"immutable", true},
              {"data", {{"clusterUuid", uuid}}}};
}

Result<std::string> ClusterUuidOf(const Json& config_map) {
  const std::string where = fmt::format("ConfigMap {}", kClusterConfigMapName);
  QD_ASSIGN_OR_RETURN(const Json* data, Field(config_map, "data", where));
  QD_ASSIGN_OR_RETURN(std::string uuid, Get<std::string>(*data, "clusterUuid", where + ".data"));
  if (uuid.empty()) return Status::Corruption(where + ".data.clusterUuid is empty");
  return uuid;
}

}  // namespace quidditch::controlplane::k8s
