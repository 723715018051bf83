#include "cluster/codec.h"

#include <fmt/format.h>

#include <stdexcept>

namespace quidditch::cluster {
namespace {

// Decoding walks the JSON with these helpers; a mismatch throws DecodeError with the path of
// the offending field. The exception never leaves this file: every public Decode* catches it.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  Reader(const Json& json, std::string path) : json_(json), path_(std::move(path)) {
    if (!json_.is_object()) Fail("expected an object");
  }

  const Json& Field(const char* key) const {
    auto it = json_.find(key);
    if (it == json_.end()) throw DecodeError(fmt::format("{}.{}: missing", path_, key));
    return *it;
  }
  std::string Path(const char* key) const { return fmt::format("{}.{}", path_, key); }

  std::string String(const char* key) const {
    const Json& v = Field(key);
    if (!v.is_string()) Fail(key, "expected a string");
    return v.get<std::string>();
  }
  int64_t Int(const char* key) const {
    const Json& v = Field(key);
    if (!v.is_number_integer()) Fail(key, "expected an integer");
    return v.get<int64_t>();
  }
  int32_t Int32(const char* key) const {
    int64_t v = Int(key);
    if (v < INT32_MIN || v > INT32_MAX) Fail(key, "out of range");
    return static_cast<int32_t>(v);
  }
  bool Bool(const char* key) const {
    const Json& v = Field(key);
    if (!v.is_boolean()) Fail(key, "expected a boolean");
    return v.get<bool>();
  }
  const Json& Object(const char* key) const {
    const Json& v = Field(key);
    if (!v.is_object()) Fail(key, "expected an object");
    return v;
  }
  const Json& Array(const char* key) const {
    const Json& v = Field(key);
    if (!v.is_array()) Fail(key, "expected an array");
    return v;
  }
  bool Has(const char* key) const { return json_.contains(key); }

  template <typename E>
  E Enum(const char* key, std::optional<E> (*parse)(std::string_view)) const {
    std::string name = String(key);
    std::optional<E> e = parse(name);
    if (!e) Fail(key, fmt::format("unknown value \"{}\"", name));
    return *e;
  }

  [[noreturn]] void Fail(std::string_view why) const {
    throw DecodeError(fmt::format("{}: {}", path_, why));
  }
  [[noreturn]] void Fail(const char* key, std::string_view why) const {
    throw DecodeError(fmt::format("{}.{}: {}", path_, key, why));
  }

 private:
  const Json& json_;
  std::string path_;
};

template <typename T>
Result<T> Decoding(const Json& json, const char* what, T (*decode)(const Json&, std::string)) {
  try {
    return decode(json, what);
  } catch (const DecodeError& e) {
    return Status::Corruption(e.what());
  }
}

// --- settings, nodes, routing ---------------------------------------------------------------

Json ToJson(const IndexSettings& s) {
  return Json{{"shards", s.shards},
              {"replicas", s.replicas},
              {"refreshInterval", s.refresh_interval},
              {"codec", s.codec},
              {"other", s.other}};
}

IndexSettings SettingsFromJson(const Json& j, std::string path) {
  Reader r(j, std::move(path));
  IndexSettings s{r.Int32("shards"), r.Int32("replicas"), r.String("refreshInterval"),
                  r.String("codec")};
  // Absent in states written before it existed.
  if (r.Has("other")) s.other = r.Object("other");
  return s;
}

Json ToJson(const IndexSettingsUpdate& u) {
  Json j = Json::object();
  if (u.shards) j["shards"] = *u.shards;
  if (u.replicas) j["replicas"] = *u.replicas;
  if (u.refresh_interval) j["refreshInterval"] = *u.refresh_interval;
  if (u.codec) j["codec"] = *u.codec;
  if (u.other) j["other"] = *u.other;
  return j;
}

IndexSettingsUpdate SettingsUpdateFromJson(const Json& j, std::string path) {
  Reader r(j, std::move(path));
  IndexSettingsUpdate u;
  if (r.Has("shards")) u.shards = r.Int32("shards");
  if (r.Has("replicas")) u.replicas = r.Int32("replicas");
  if (r.Has("refreshInterval")) u.refresh_interval = r.String("refreshInterval");
  if (r.Has("codec")) u.codec = r.String("codec");
  if (r.Has("other")) u.other = r.Object("other");
  return u;
}

Json ToJson(const NodeResources& res) {
  return Json{{"cpuCores", res.cpu_cores},
              {"memoryBytes", res.memory_bytes},
              {"diskBytes", res.disk_bytes},
              {"diskAvailable", res.disk_available}};
}

NodeResources ResourcesFromJson(const Json& j, std::string path) {
  Reader r(j, std::move(path));
  return NodeResources{r.Int32("cpuCores"), r.Int("memoryBytes"), r.Int("diskBytes"),
                       r.Int("diskAvailable")};
}

Json ToJson(const Roles& roles) { return Json(roles.Names()); }

Roles RolesFromJson(const Json& j, const std::string& path) {
  if (!j.is_array()) throw DecodeError(path + ": expected an array of roles");
  Roles roles;
  for (const Json& role : j) {
    std::string name = role.is_string() ? role.get<std::string>() : role.dump();
    bool* slot = roles.Slot(name);
    if (slot == nullptr) throw DecodeError(fmt::format("{}: unknown role \"{}\"", path, name));
    *slot = true;
  }
  return roles;
}

Json NodeToJson(const NodeInfo& n) {
  return Json{{"nodeId", n.node_id},
              {"address", n.address},
              {"grpcPort", n.grpc_port},
              {"httpPort", n.http_port},
              {"roles", ToJson(n.roles)},
              {"resources", ToJson(n.resources)},
              {"state", NodeStateName(n.state)},
              {"lastSeen", n.last_seen_ms}};
}

NodeInfo NodeFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  NodeInfo n;
  n.node_id = r.String("nodeId");
  n.address = r.String("address");
  n.grpc_port = r.Int32("grpcPort");
  n.http_port = r.Int32("httpPort");
  n.roles = RolesFromJson(r.Field("roles"), r.Path("roles"));
  n.resources = ResourcesFromJson(r.Object("resources"), r.Path("resources"));
  n.state = r.Enum<NodeState>("state", ParseNodeState);
  n.last_seen_ms = r.Int("lastSeen");
  return n;
}

Json ToJson(const ShardRouting& shard) {
  Json copies = Json::array();
  for (const ShardCopy& c : shard.copies) {
    copies.push_back(Json{{"primary", c.primary},
                          {"state", ShardStateName(c.state)},
                          {"nodeId", c.node_id},
                          {"allocationId", c.allocation_id}});
  }
  Json in_sync = Json::object();
  for (const auto& [allocation_id, node_id] : shard.in_sync) in_sync[allocation_id] = node_id;
  return Json{{"shardId", shard.shard_id},
              {"copies", std::move(copies)},
              {"inSync", std::move(in_sync)},
              {"primaryTerm", shard.primary_term}};
}

ShardRouting ShardFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  ShardRouting shard;
  shard.shard_id = r.Int32("shardId");
  shard.primary_term = r.Int("primaryTerm");
  const Json& copies = r.Array("copies");
  for (size_t i = 0; i < copies.size(); ++i) {
    Reader c(copies[i], fmt::format("{}.copies[{}]", path, i));
    shard.copies.push_back(ShardCopy{c.Bool("primary"),
                                     c.Enum<ShardState>("state", ParseShardState),
                                     c.String("nodeId"), c.String("allocationId")});
  }
  if (shard.copies.empty() || !shard.copies.front().primary) {
    r.Fail("copies", "the first copy must be the primary");
  }
  for (const auto& [allocation_id, node_id] : r.Object("inSync").items()) {
    if (!node_id.is_string()) r.Fail("inSync", "expected node ids");
    shard.in_sync[allocation_id] = node_id.get<std::string>();
  }
  return shard;
}

Json AliasesToJson(const Aliases& aliases) {
  Json out = Json::object();
  for (const auto& [name, a] : aliases) {
    Json j = Json::object();
    if (!a.filter.is_null()) j["filter"] = a.filter;
    if (!a.index_routing.empty()) j["indexRouting"] = a.index_routing;
    if (!a.search_routing.empty()) j["searchRouting"] = a.search_routing;
    if (a.is_write_index) j["isWriteIndex"] = *a.is_write_index;
    if (a.is_hidden) j["isHidden"] = *a.is_hidden;
    out[name] = std::move(j);
  }
  return out;
}

Aliases AliasesFromJson(const Json& j, std::string path) {
  if (!j.is_object()) throw DecodeError(path + ": expected an object");
  Aliases aliases;
  for (const auto& [name, value] : j.items()) {
    Reader r(value, fmt::format("{}.{}", path, name));
    AliasMetadata a;
    if (r.Has("filter")) a.filter = r.Object("filter");
    if (r.Has("indexRouting")) a.index_routing = r.String("indexRouting");
    if (r.Has("searchRouting")) a.search_routing = r.String("searchRouting");
    if (r.Has("isWriteIndex")) a.is_write_index = r.Bool("isWriteIndex");
    if (r.Has("isHidden")) a.is_hidden = r.Bool("isHidden");
    aliases.emplace(name, std::move(a));
  }
  return aliases;
}

Json IndexToJson(const Index& index) {
  Json shards = Json::array();
  for (const ShardRouting& shard : index.routing.shards) shards.push_back(ToJson(shard));
  return Json{{"name", index.name},
              {"uuid", index.uuid},
              {"settings", ToJson(index.settings)},
              {"mappings", index.mappings},
              {"shards", std::move(shards)},
              {"aliases", AliasesToJson(index.aliases)},
              {"closed", index.closed},
              {"state", IndexStateName(index.state)},
              {"createdAt", index.created_at_ms},
              {"updatedAt", index.updated_at_ms}};
}

Index IndexFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  Index index;
  index.name = r.String("name");
  index.uuid = r.String("uuid");
  index.settings = SettingsFromJson(r.Object("settings"), r.Path("settings"));
  index.mappings = r.Object("mappings");
  index.routing.index_name = index.name;
  const Json& shards = r.Array("shards");
  for (size_t i = 0; i < shards.size(); ++i) {
    ShardRouting shard = ShardFromJson(shards[i], fmt::format("{}.shards[{}]", path, i));
    if (shard.shard_id != static_cast<int32_t>(i)) r.Fail("shards", "shard ids out of order");
    index.routing.shards.push_back(std::move(shard));
  }
  // Absent in states stored before aliases and open/close existed.
  if (r.Has("aliases")) index.aliases = AliasesFromJson(r.Field("aliases"), r.Path("aliases"));
  if (r.Has("closed")) index.closed = r.Bool("closed");
  index.state = r.Enum<IndexState>("state", ParseIndexState);
  index.created_at_ms = r.Int("createdAt");
  index.updated_at_ms = r.Int("updatedAt");
  return index;
}

// --- state ----------------------------------------------------------------------------------

std::string_view TemplateKindName(TemplateKind kind) {
  return kind == TemplateKind::kComposable ? "composable" : "legacy";
}

TemplateKind TemplateKindOf(const Reader& r) {
  const std::string kind = r.String("kind");
  if (kind != "composable" && kind != "legacy") r.Fail("kind", "expected composable or legacy");
  return kind == "composable" ? TemplateKind::kComposable : TemplateKind::kLegacy;
}

std::string_view AliasActionTypeName(AliasAction::Type type) {
  switch (type) {
    case AliasAction::Type::kAdd:
      return "add";
    case AliasAction::Type::kRemove:
      return "remove";
    case AliasAction::Type::kRemoveIndex:
      return "remove_index";
  }
  return "add";  // unreachable: every type is named above
}

// Templates by name; absent in states stored before templates existed.
std::map<std::string, Json> TemplatesFromJson(const Reader& r, const char* key) {
  std::map<std::string, Json> templates;
  if (!r.Has(key)) return templates;
  for (const auto& [name, body] : r.Object(key).items()) {
    if (!body.is_object()) r.Fail(key, fmt::format("template {}: expected an object", name));
    templates.emplace(name, body);
  }
  return templates;
}

ClusterState StateFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  ClusterState state;
  state.version = r.Int("version");
  // States written before the uuid existed have none: the Raft leader then sets one.
  if (r.Has("clusterUuid")) state.cluster_uuid = r.String("clusterUuid");
  state.next_allocation_id = r.Int("nextAllocationId");
  for (const auto& [id, node] : r.Object("nodes").items()) {
    NodeInfo n = NodeFromJson(node, fmt::format("{}.nodes.{}", path, id));
    if (n.node_id != id) r.Fail("nodes", fmt::format("key {} holds node {}", id, n.node_id));
    state.nodes.emplace(id, std::move(n));
  }
  for (const auto& [name, index] : r.Object("indices").items()) {
    Index idx = IndexFromJson(index, fmt::format("{}.indices.{}", path, name));
    if (idx.name != name) r.Fail("indices", fmt::format("key {} holds index {}", name, idx.name));
    state.indices.emplace(name, std::make_shared<const Index>(std::move(idx)));
  }
  state.index_templates = TemplatesFromJson(r, "indexTemplates");
  state.legacy_templates = TemplatesFromJson(r, "legacyTemplates");
  return state;
}

// --- commands -------------------------------------------------------------------------------

struct OpEncoder {
  Json operator()(const CreateIndexCmd& c) const {
    return {{"name", c.name},
            {"uuid", c.uuid},
            {"settings", ToJson(c.settings)},
            {"mappings", c.mappings},
            {"aliases", AliasesToJson(c.aliases)}};
  }
  Json operator()(const DeleteIndexCmd& c) const { return {{"name", c.name}}; }
  Json operator()(const UpdateIndexSettingsCmd& c) const {
    return {{"name", c.name}, {"update", ToJson(c.update)}};
  }
  Json operator()(const PutMappingCmd& c) const {
    return {{"name", c.name}, {"mappings", c.mappings}};
  }
  Json operator()(const UpdateAliasesCmd& c) const {
    Json actions = Json::array();
    for (const AliasAction& a : c.actions) {
      Json j{{"type", AliasActionTypeName(a.type)}, {"index", a.index}, {"alias", a.alias}};
      if (a.type == AliasAction::Type::kAdd) {
        j["metadata"] = AliasesToJson({{a.alias, a.metadata}})[a.alias];
      } else if (a.type == AliasAction::Type::kRemove) {
        j["mustExist"] = a.must_exist;
      }
      actions.push_back(std::move(j));
    }
    return {{"actions", std::move(actions)}};
  }
  Json operator()(const SetClusterUuidCmd& c) const { return {{"uuid", c.uuid}}; }
  Json operator()(const SetIndexClosedCmd& c) const {
    return {{"name", c.name}, {"closed", c.closed}};
  }
  Json operator()(const PutTemplateCmd& c) const {
    return {{"kind", TemplateKindName(c.kind)},
            {"name", c.name},
            {"body", c.body},
            {"create", c.create}};
  }
  Json operator()(const DeleteTemplateCmd& c) const {
    return {{"kind", TemplateKindName(c.kind)}, {"name", c.name}};
  }
  Json operator()(const RegisterNodeCmd& c) const { return {{"node", NodeToJson(c.node)}}; }
  Json operator()(const UnregisterNodeCmd& c) const { return {{"nodeId", c.node_id}}; }
  Json operator()(const UpdateNodeStatusCmd& c) const {
    Json j{{"nodeId", c.node_id}, {"state", NodeStateName(c.status.state)}};
    if (c.status.resources) j["resources"] = ToJson(*c.status.resources);
    return j;
  }
  Json operator()(const AllocateShardCmd& c) const {
    return {{"index", c.index}, {"shardId", c.shard_id}, {"nodeId", c.node_id}};
  }
  Json operator()(const DeallocateShardCmd& c) const {
    return {{"index", c.index}, {"shardId", c.shard_id}, {"nodeId", c.node_id}};
  }
  Json operator()(const UpdateShardStateCmd& c) const {
    return {{"index", c.index},
            {"shardId", c.shard_id},
            {"nodeId", c.node_id},
            {"state", ShardStateName(c.state)}};
  }
};

CommandOp OpFromJson(std::string_view type, const Json& j, const std::string& path) {
  Reader r(j, path);
  if (type == "CreateIndex") {
    CreateIndexCmd cmd{r.String("name"),
                       r.String("uuid"),
                       SettingsFromJson(r.Object("settings"), r.Path("settings")),
                       r.Field("mappings"),
                       {}};
    // Absent in commands logged before aliases existed.
    if (r.Has("aliases")) cmd.aliases = AliasesFromJson(r.Field("aliases"), r.Path("aliases"));
    return cmd;
  }
  if (type == "UpdateAliases") {
    UpdateAliasesCmd cmd;
    const Json& actions = r.Array("actions");
    for (size_t i = 0; i < actions.size(); ++i) {
      const std::string where = fmt::format("{}.actions[{}]", path, i);
      Reader a(actions[i], where);
      AliasAction action;
      const std::string kind = a.String("type");
      if (kind == "add") {
        action.type = AliasAction::Type::kAdd;
      } else if (kind == "remove") {
        action.type = AliasAction::Type::kRemove;
      } else if (kind == "remove_index") {
        action.type = AliasAction::Type::kRemoveIndex;
      } else {
        a.Fail("type", "expected add, remove or remove_index");
      }
      action.index = a.String("index");
      action.alias = a.String("alias");
      if (action.type == AliasAction::Type::kAdd) {
        action.metadata =
            AliasesFromJson(Json{{action.alias, a.Object("metadata")}}, where).at(action.alias);
      } else if (action.type == AliasAction::Type::kRemove) {
        action.must_exist = a.Bool("mustExist");
      }
      cmd.actions.push_back(std::move(action));
    }
    return cmd;
  }
  if (type == "PutTemplate") {
    return PutTemplateCmd{TemplateKindOf(r), r.String("name"), r.Field("body"), r.Bool("create")};
  }
  if (type == "DeleteTemplate") return DeleteTemplateCmd{TemplateKindOf(r), r.String("name")};
  if (type == "SetClusterUuid") return SetClusterUuidCmd{r.String("uuid")};
  if (type == "SetIndexClosed") return SetIndexClosedCmd{r.String("name"), r.Bool("closed")};
  if (type == "DeleteIndex") return DeleteIndexCmd{r.String("name")};
  if (type == "UpdateIndexSettings") {
    return UpdateIndexSettingsCmd{r.String("name"),
                                  SettingsUpdateFromJson(r.Object("update"), r.Path("update"))};
  }
  if (type == "PutMapping") return PutMappingCmd{r.String("name"), r.Field("mappings")};
  if (type == "RegisterNode")
    return RegisterNodeCmd{NodeFromJson(r.Object("node"), r.Path("node"))};
  if (type == "UnregisterNode") return UnregisterNodeCmd{r.String("nodeId")};
  if (type == "UpdateNodeStatus") {
    NodeStatus status{r.Enum<NodeState>("state", ParseNodeState), std::nullopt};
    if (r.Has("resources")) {
      status.resources = ResourcesFromJson(r.Object("resources"), r.Path("resources"));
    }
    return UpdateNodeStatusCmd{r.String("nodeId"), status};
  }
  if (type == "AllocateShard") {
    return AllocateShardCmd{r.String("index"), r.Int32("shardId"), r.String("nodeId")};
  }
  if (type == "DeallocateShard") {
    return DeallocateShardCmd{r.String("index"), r.Int32("shardId"), r.String("nodeId")};
  }
  if (type == "UpdateShardState") {
    return UpdateShardStateCmd{r.String("index"), r.Int32("shardId"), r.String("nodeId"),
                               r.Enum<ShardState>("state", ParseShardState)};
  }
  throw DecodeError(fmt::format("{}.type: unknown command \"{}\"", path, type));
}

Command CommandFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  std::string type = r.String("type");
  return Command{r.Int("timestamp"), OpFromJson(type, r.Object("op"), r.Path("op"))};
}

std::vector<Command> CommandsFromJson(const Json& j, std::string path) {
  if (!j.is_array()) throw DecodeError(path + ": expected an array of commands");
  std::vector<Command> commands;
  for (size_t i = 0; i < j.size(); ++i) {
    commands.push_back(CommandFromJson(j[i], fmt::format("{}[{}]", path, i)));
  }
  return commands;
}

ClusterStateEvent EventFromJson(const Json& j, std::string path) {
  Reader r(j, path);
  ClusterStateEvent e;
  e.type = r.Enum<EventType>("type", ParseEventType);
  e.version = r.Int("version");
  e.timestamp_ms = r.Int("timestamp");
  e.index = r.String("index");
  e.node_id = r.String("nodeId");
  e.shard_id = r.Int32("shardId");
  e.primary = r.Bool("primary");
  if (r.Has("state")) {
    e.state =
        std::make_shared<const ClusterState>(StateFromJson(r.Object("state"), r.Path("state")));
  }
  return e;
}

}  // namespace

Json EncodeState(const ClusterState& state) {
  Json nodes = Json::object();
  for (const auto& [id, node] : state.nodes) nodes[id] = NodeToJson(node);
  Json indices = Json::object();
  for (const auto& [name, index] : state.indices) indices[name] = IndexToJson(*index);
  return Json{{"version", state.version},
              {"clusterUuid", state.cluster_uuid},
              {"nextAllocationId", state.next_allocation_id},
              {"nodes", std::move(nodes)},
              {"indices", std::move(indices)},
              {"indexTemplates", state.index_templates},
              {"legacyTemplates", state.legacy_templates}};
}

Result<ClusterState> DecodeState(const Json& json) {
  return Decoding<ClusterState>(json, "state", StateFromJson);
}

Json EncodeCommand(const Command& command) {
  return Json{{"type", CommandName(command)},
              {"timestamp", command.timestamp_ms},
              {"op", std::visit(OpEncoder{}, command.op)}};
}

Result<Command> DecodeCommand(const Json& json) {
  return Decoding<Command>(json, "command", CommandFromJson);
}

Json EncodeCommands(const std::vector<Command>& commands) {
  Json j = Json::array();
  for (const Command& c : commands) j.push_back(EncodeCommand(c));
  return j;
}

Result<std::vector<Command>> DecodeCommands(const Json& json) {
  return Decoding<std::vector<Command>>(json, "commands", CommandsFromJson);
}

Json EncodeEvent(const ClusterStateEvent& e) {
  Json j{{"type", EventTypeName(e.type)}, {"version", e.version},
         {"timestamp", e.timestamp_ms},   {"index", e.index},
         {"nodeId", e.node_id},           {"shardId", e.shard_id},
         {"primary", e.primary}};
  if (e.state) j["state"] = EncodeState(*e.state);
  return j;
}

Result<ClusterStateEvent> DecodeEvent(const Json& json) {
  return Decoding<ClusterStateEvent>(json, "event", EventFromJson);
}

Json EncodeIndex(const Index& index) { return IndexToJson(index); }
Result<Index> DecodeIndex(const Json& json) {
  return Decoding<Index>(json, "index", IndexFromJson);
}
Json EncodeAliases(const Aliases& aliases) { return AliasesToJson(aliases); }
Result<Aliases> DecodeAliases(const Json& json) {
  return Decoding<Aliases>(json, "aliases", AliasesFromJson);
}
Json EncodeNode(const NodeInfo& node) { return NodeToJson(node); }
Result<NodeInfo> DecodeNode(const Json& json) {
  return Decoding<NodeInfo>(json, "node", NodeFromJson);
}

Result<Json> ParseJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption("malformed JSON");
  return j;
}

}  // namespace quidditch::cluster
