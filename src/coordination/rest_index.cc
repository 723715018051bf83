// The index APIs (see rest_index.h).
//
// Settings travel in two shapes. Requests and responses use OpenSearch's: "index."-prefixed
// keys, flat ("index.number_of_shards") or nested ({"index": {"number_of_shards": ...}}), with
// string values on output. The cluster state keeps the typed ones in cluster::IndexSettings
// and every other one in IndexSettings::other, nested and without the prefix, which is what
// the data role hands to the engine. Flatten/Nest convert between them.
#include "coordination/rest_index.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster/types.h"
#include "cluster/validation.h"
#include "coordination/rest_alias.h"
#include "coordination/rest_template.h"
#include "data/analyze.h"
#include "engine/analysis/analyzer.h"
#include "engine/errors.h"
#include "engine/mapping/mapping.h"

namespace quidditch::rest {

namespace {

using json = nlohmann::json;
using controlplane::CallContext;
using std::chrono::milliseconds;

// OpenSearch 2.19.0's Version.id (2190099) with the "OpenSearch" bit 2^27 set, as
// index.version.created reports it.
constexpr std::string_view kVersionCreated = "136407827";
constexpr int32_t kMaxShards = 1024;

Status Illegal(std::string_view reason) { return engine::IllegalArgument(reason); }

Status NotSupportedYet(std::string_view what) {
  return Illegal(std::string(what) + " not supported yet");
}

// The JSON error response of `status`; errors about one index name it (index, index_uuid).
HttpResponse Error(const Status& status, std::string_view index = {}, std::string_view uuid = {}) {
  const std::string type = ErrorTypeOf(status).first;
  const bool about_index = type == "index_not_found_exception" ||
                           type == "invalid_index_name_exception" ||
                           type == "resource_already_exists_exception";
  return about_index ? ErrorResponse(status, index, uuid) : ErrorResponse(status);
}

// "index_not_found_exception: no such index [x]" -> x, so that the error names the index.
std::string IndexOfNotFound(const Status& status) {
  const std::string& m = status.message();
  size_t open = m.rfind('[');
  size_t close = m.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return m.substr(open + 1, close - open - 1);
}

HttpResponse ErrorOf(const Status& status) {
  if (ErrorTypeOf(status).first == "index_not_found_exception") {
    return Error(status, IndexOfNotFound(status));
  }
  return Error(status);
}

std::string ValueText(const json& value) {
  json s = SettingString(value);
  return s.is_string() ? s.get<std::string>() : s.dump();
}

// Flattens nested settings into dotted keys; arrays and scalars are leaves.
void Flatten(const json& j, const std::string& prefix, std::map<std::string, json>* out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object() && !it.value().empty()) {
      Flatten(it.value(), key, out);
    } else if (!it.value().is_object()) {
      (*out)[key] = it.value();
    }
  }
}

// Sets `value` at dotted `path` of the object `root`, creating objects on the way.
void SetPath(json* root, std::string_view path, json value) {
  json* node = root;
  while (true) {
    size_t dot = path.find('.');
    std::string part(path.substr(0, dot));
    if (dot == std::string_view::npos) {
      (*node)[part] = std::move(value);
      return;
    }
    json& child = (*node)[part];
    if (!child.is_object()) child = json::object();
    node = &child;
    path.remove_prefix(dot + 1);
  }
}

// --- settings ----------------------------------------------------------------------------------

enum class Kind {
  kShards,
  kReplicas,
  kRefreshInterval,
  kCodec,
  kInt,         // integer >= min
  kTime,        // time value >= min milliseconds
  kBytes,       // byte size
  kDurability,  // request | async
  kString,      // any string (or list of strings)
  kBool,        // true | false, stored as a string
  kAnalysis,    // analysis.*: validated as a whole by the engine's AnalysisRegistry
};

struct SettingDef {
  std::string_view key;  // without "index."
  Kind kind;
  bool dynamic;
  int64_t min = 0;
};

// The index settings Quidditch accepts. Everything OpenSearch knows but we do not apply is
// rejected rather than stored without effect, except auto_expand_replicas (OpenSearch
// Dashboards sets it on its own indices; it is stored and reported, not applied).
constexpr SettingDef kSettings[] = {
    {"number_of_shards", Kind::kShards, false},
    {"number_of_replicas", Kind::kReplicas, true},
    {"refresh_interval", Kind::kRefreshInterval, true},
    {"codec", Kind::kCodec, false},
    {"max_result_window", Kind::kInt, true, 1},
    {"max_inner_result_window", Kind::kInt, true, 1},
    {"max_docvalue_fields_search", Kind::kInt, true, 0},
    {"max_script_fields", Kind::kInt, true, 0},
    {"max_terms_count", Kind::kInt, true, 1},
    {"max_regex_length", Kind::kInt, true, 1},
    {"max_ngram_diff", Kind::kInt, true, 0},
    {"max_shingle_diff", Kind::kInt, true, 0},
    {"max_rescore_window", Kind::kInt, true, 1},
    {"highlight.max_analyzed_offset", Kind::kInt, true, 1},
    {"mapping.total_fields.limit", Kind::kInt, true, 0},
    {"mapping.depth.limit", Kind::kInt, true, 1},
    {"mapping.nested_fields.limit", Kind::kInt, true, 0},
    {"mapping.nested_objects.limit", Kind::kInt, true, 0},
    {"translog.durability", Kind::kDurability, true},
    {"translog.sync_interval", Kind::kTime, false, 100},
    {"translog.flush_threshold_size", Kind::kBytes, true},
    {"query.default_field", Kind::kString, true},
    {"auto_expand_replicas", Kind::kString, true},
    {"hidden", Kind::kBool, true},
};

// Settings OpenSearch sets itself.
constexpr std::string_view kPrivateSettings[] = {"uuid", "provided_name", "creation_date",
                                                 "version.created", "version.upgraded"};

const SettingDef* FindSetting(std::string_view key) {
  if (key.starts_with("analysis.")) {
    static constexpr SettingDef kAnalysisDef{"analysis", Kind::kAnalysis, false};
    return &kAnalysisDef;
  }
  for (const SettingDef& def : kSettings) {
    if (def.key == key) return &def;
  }
  return nullptr;
}

Status FailedToParse(std::string_view full_key, const json& value, std::string_view why = {}) {
  std::string reason = "Failed to parse value [" + ValueText(value) + "] for setting [" +
                       std::string(full_key) + "]";
  if (!why.empty()) reason += " " + std::string(why);
  return Illegal(reason);
}

Result<int64_t> SettingInt(std::string_view full_key, const json& value, int64_t min,
                           std::optional<int64_t> max = std::nullopt) {
  int64_t n = 0;
  if (value.is_number_integer()) {
    n = value.get<int64_t>();
  } else {
    HttpRequest fake;
    fake.params["v"] = ValueText(value);
    Result<int64_t> parsed = IntParam(fake, "v", 0);
    if (!parsed.ok() || value.is_boolean() || value.is_array() || value.is_number_float()) {
      return FailedToParse(full_key, value);
    }
    n = *parsed;
  }
  if (n < min) return FailedToParse(full_key, value, "must be >= " + std::to_string(min));
  if (max && n > *max) return FailedToParse(full_key, value, "must be <= " + std::to_string(*max));
  return n;
}

// OpenSearch ByteSizeValue: digits and b|kb|mb|gb|tb|pb (any case), or -1.
Status ValidateByteSize(std::string_view full_key, const json& value) {
  std::string text = ValueText(value);
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "-1" || lower == "0") return Status::OK();
  size_t digits = 0;
  while (digits < lower.size() && std::isdigit(static_cast<unsigned char>(lower[digits]))) ++digits;
  static const std::set<std::string> kUnits = {"b", "kb", "mb", "gb", "tb", "pb"};
  if (digits == 0 || kUnits.count(lower.substr(digits)) == 0) {
    return Illegal("failed to parse setting [" + std::string(full_key) + "] with value [" + text +
                   "] as a size in bytes: unit is missing or unrecognized");
  }
  return Status::OK();
}

// The result of reading a request's settings.
struct SettingsChange {
  std::optional<int32_t> shards;
  std::optional<int32_t> replicas;  // a null value resets to the default 1
  std::optional<std::string> refresh_interval;
  std::optional<std::string> codec;
  // A merge patch of IndexSettings::other (nested, no "index." prefix; null removes a key).
  json other = json::object();
  // Every "index.*" key the request names that is not dynamic (for updates of open indices).
  std::vector<std::string> static_keys;
};

// Validates and sorts the flat, "index."-prefixed `flat` settings. `creating`: null values
// are not allowed (a new index has nothing to reset).
Result<SettingsChange> ReadSettings(const std::map<std::string, json>& flat, bool creating) {
  SettingsChange change;
  for (const auto& [full_key, value] : flat) {
    const std::string key = full_key.substr(6);  // without "index."
    for (std::string_view priv : kPrivateSettings) {
      if (key == priv) {
        return Illegal("private index setting [" + full_key + "] can not be set explicitly");
      }
    }
    if (key == "number_of_routing_shards" || key == "routing_partition_size") {
      return NotSupportedYet("[" + full_key + "] is");
    }
    const SettingDef* def = FindSetting(key);
    if (def == nullptr) {
      return Illegal("unknown setting [" + full_key +
                     "] please check that any required plugins are installed, or check the "
                     "breaking changes documentation for removed settings");
    }
    if (!def->dynamic) change.static_keys.push_back(full_key);
    const bool reset = value.is_null();
    if (reset && creating) continue;
    switch (def->kind) {
      case Kind::kShards: {
        if (reset) return Illegal("[" + full_key + "] cannot be reset");
        QD_ASSIGN_OR_RETURN(int64_t n, SettingInt(full_key, value, 1, kMaxShards));
        change.shards = static_cast<int32_t>(n);
        break;
      }
      case Kind::kReplicas: {
        if (reset) {
          change.replicas = 1;
          break;
        }
        QD_ASSIGN_OR_RETURN(int64_t n, SettingInt(full_key, value, 0));
        change.replicas = static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
        break;
      }
      // The typed settings always hold a value (their default when not set). Their key in
      // `other` records that they were set, so that GET _settings shows them even at their
      // default, as OpenSearch shows every setting that was set; a reset removes it.
      case Kind::kRefreshInterval: {
        if (reset) {
          change.refresh_interval = "1s";
          SetPath(&change.other, key, nullptr);
          break;
        }
        std::string text = ValueText(value);
        QD_RETURN_IF_ERROR(ParseTimeValue(text, full_key).status());
        change.refresh_interval = text;
        SetPath(&change.other, key, text);
        break;
      }
      case Kind::kCodec: {
        if (reset) {
          change.codec = "default";
          SetPath(&change.other, key, nullptr);
          break;
        }
        std::string text = ValueText(value);
        if (text != "default" && text != "best_compression") {
          return Illegal(
              "unknown value for [index.codec] must be one of [default, "
              "best_compression] but was: " +
              text);
        }
        change.codec = text;
        SetPath(&change.other, key, text);
        break;
      }
      case Kind::kInt: {
        if (reset) {
          SetPath(&change.other, key, nullptr);
          break;
        }
        QD_ASSIGN_OR_RETURN(int64_t n, SettingInt(full_key, value, def->min));
        SetPath(&change.other, key, n);
        break;
      }
      case Kind::kTime: {
        if (!reset) {
          std::string text = ValueText(value);
          QD_ASSIGN_OR_RETURN(std::optional<milliseconds> ms, ParseTimeValue(text, full_key));
          if (!ms || ms->count() < def->min) {
            return Illegal("failed to parse value [" + text + "] for setting [" + full_key +
                           "], must be >= [" + std::to_string(def->min) + "ms]");
          }
        }
        SetPath(&change.other, key, reset ? json(nullptr) : json(ValueText(value)));
        break;
      }
      case Kind::kBytes:
        if (!reset) QD_RETURN_IF_ERROR(ValidateByteSize(full_key, value));
        SetPath(&change.other, key, reset ? json(nullptr) : json(ValueText(value)));
        break;
      case Kind::kDurability: {
        if (!reset) {
          std::string text = ValueText(value);
          std::string upper;
          for (char c : text) {
            upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
          }
          if (upper != "REQUEST" && upper != "ASYNC") {
            return Illegal("No enum constant org.opensearch.index.translog.Translog.Durability." +
                           upper);
          }
        }
        SetPath(&change.other, key, reset ? json(nullptr) : json(ValueText(value)));
        break;
      }
      case Kind::kString:
        SetPath(&change.other, key, reset ? json(nullptr) : SettingString(value));
        break;
      case Kind::kBool: {
        const json text = reset ? json(nullptr) : SettingString(value);
        if (!reset && text != "true" && text != "false") {
          return Illegal("Failed to parse value [" + ValueText(value) +
                         "] as only [true] or [false] are allowed.");
        }
        SetPath(&change.other, key, text);
        break;
      }
      case Kind::kAnalysis:
        // Kept as given (numbers stay numbers): the analysis factories read typed values.
        SetPath(&change.other, key, value);
        break;
    }
  }
  return change;
}

// The engine's analysis registry of settings `other` (IndexSettings::other).
Result<std::shared_ptr<const engine::AnalysisRegistry>> RegistryOf(const json& other) {
  json analysis = json::object();
  if (other.is_object()) {
    if (auto it = other.find("analysis"); it != other.end() && it->is_object()) analysis = *it;
  }
  Result<std::shared_ptr<const engine::AnalysisRegistry>> registry =
      engine::AnalysisRegistry::Create(analysis);
  if (!registry.ok() && engine::SplitEngineError(registry.status()).first.empty()) {
    return Illegal(registry.status().message());
  }
  return registry;
}

// The flat "index.*" settings of `index` as OpenSearch's GET _settings prints them.
std::map<std::string, json> RenderedSettings(const cluster::Index& index) {
  std::map<std::string, json> flat;
  if (index.settings.other.is_object()) {
    std::map<std::string, json> other;
    Flatten(index.settings.other, "", &other);
    for (auto& [key, value] : other) flat["index." + key] = SettingString(value);
  }
  flat["index.creation_date"] = std::to_string(index.created_at_ms);
  flat["index.number_of_shards"] = std::to_string(index.settings.shards);
  flat["index.number_of_replicas"] = std::to_string(index.settings.replicas);
  flat["index.provided_name"] = index.name;
  flat["index.replication.type"] = "DOCUMENT";
  flat["index.uuid"] = index.uuid;
  flat["index.version.created"] = std::string(kVersionCreated);
  // The typed settings are always present in the state; show them when they were set (their
  // key is in `other` too, see ReadSettings) or differ from the default (set by a client of the
  // control plane other than REST), as OpenSearch shows only what was set. The typed value wins.
  if (index.settings.refresh_interval != "1s" || flat.count("index.refresh_interval") != 0) {
    flat["index.refresh_interval"] = index.settings.refresh_interval;
  }
  if (index.settings.codec != "default" || flat.count("index.codec") != 0) {
    flat["index.codec"] = index.settings.codec;
  }
  return flat;
}

// --- index lookups -----------------------------------------------------------------------------

// The APIs that work on closed indices: named ones are theirs; wildcards match open ones only
// (strictExpandOpen), and for DELETE closed ones too.
constexpr IndicesOptions kClosedAllowed{.expand_open = true, .forbid_closed = false};
constexpr IndicesOptions kDeleteOptions{
    .expand_open = true, .expand_closed = true, .forbid_closed = false, .ignore_aliases = true};

struct Resolved {
  cluster::StatePtr state;
  std::vector<const cluster::Index*> indices;
};

Result<Resolved> Resolve(const RestContext& context, const HttpRequest& request,
                         std::string_view expression, IndicesOptions defaults) {
  QD_ASSIGN_OR_RETURN(IndicesOptions options, IndicesOptionsOf(request, defaults));
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadClusterState(context, SplitComma(expression)));
  QD_ASSIGN_OR_RETURN(std::vector<std::string> names, ResolveIndices(*state, expression, options));
  Resolved resolved{state, {}};
  for (const std::string& name : names) {
    if (const cluster::Index* index = state->FindIndex(name)) resolved.indices.push_back(index);
  }
  return resolved;
}

std::string PathIndex(const PathParams& params) {
  auto it = params.find("index");
  return it == params.end() ? std::string() : it->second;
}

// The mapping the shards of `index` hold (dynamic fields included); the index metadata's
// when no copy of shard 0 is reachable.
json CurrentMapping(const RestContext& context, const cluster::Index& index) {
  // A closed index's shards are closed: its metadata is all there is.
  if (index.closed) return index.mappings;
  Result<data::ShardService*> service = ReadShardService(context, index, 0);
  if (service.ok()) {
    Result<json> mapping = (*service)->Mapping(data::ShardKey{index.name, 0});
    if (mapping.ok()) return *mapping;
  }
  return index.mappings;
}

// GET _mapping prints an index without fields as {}.
OrderedJson MappingForOutput(const json& mapping) {
  if (!mapping.is_object()) return OrderedJson::object();
  auto props = mapping.find("properties");
  if (mapping.size() == 1 && props != mapping.end() && props->empty()) {
    return OrderedJson::object();
  }
  return OrderedJson(mapping);
}

// wait_for_active_shards: "all" -> -1, a number, or the default 1.
Result<int32_t> ActiveShardsParam(const HttpRequest& request, int32_t replicas) {
  if (!request.HasParam("wait_for_active_shards")) return 1;
  std::string_view value = request.Param("wait_for_active_shards");
  if (value == "all") return -1;
  if (value == "index-setting") return 1;
  HttpRequest fake;
  fake.params["v"] = std::string(value);
  Result<int64_t> n = IntParam(fake, "v", 1);
  if (!n.ok() || *n < 0) {
    return Illegal("cannot parse ActiveShardCount[" + std::string(value) + "]");
  }
  if (*n > replicas + 1) {
    return Status::InvalidArgument(
        "action_request_validation_exception: Validation Failed: 1: index setting "
        "[index.number_of_replicas] must be >= wait_for_active_shards - 1 [" +
        std::to_string(*n - 1) + "];");
  }
  return static_cast<int32_t>(*n);
}

}  // namespace

// --- settings and mappings in OpenSearch's shapes (rest_index.h) ------------------------------

// The value of a setting as OpenSearch prints it: a string (lists stay lists of strings).
json SettingString(const json& value) {
  if (value.is_string()) return value;
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_array()) {
    json out = json::array();
    for (const json& v : value) out.push_back(SettingString(v));
    return out;
  }
  if (value.is_null()) return nullptr;
  return value.dump();
}

// The flat settings of a request body's `settings`, every key with the "index." prefix
// (Settings.normalizePrefix).
Result<std::map<std::string, json>> FlatRequestSettings(const json& settings) {
  if (!settings.is_object()) {
    return Status::InvalidArgument(
        "parsing_exception: Failed to parse object: expecting token of type [START_OBJECT] but "
        "found [" +
        std::string(settings.is_array() ? "START_ARRAY" : "VALUE") + "]");
  }
  std::map<std::string, json> flat;
  Flatten(settings, "", &flat);
  std::map<std::string, json> normalized;
  for (auto& [key, value] : flat) {
    normalized[key.starts_with("index.") ? key : "index." + key] = std::move(value);
  }
  return normalized;
}

OrderedJson NestSettings(const std::map<std::string, json>& flat, bool flat_settings) {
  OrderedJson out = OrderedJson::object();
  for (const auto& [key, value] : flat) {
    if (flat_settings) {
      out[key] = OrderedJson(value);
      continue;
    }
    OrderedJson* node = &out;
    std::string_view path = key;
    while (true) {
      size_t dot = path.find('.');
      std::string part(path.substr(0, dot));
      if (dot == std::string_view::npos) {
        (*node)[part] = OrderedJson(value);
        break;
      }
      OrderedJson& child = (*node)[part];
      if (!child.is_object()) child = OrderedJson::object();
      node = &child;
      path.remove_prefix(dot + 1);
    }
  }
  return out;
}

// A mapping body, unwrapped from a single "_doc" type name as OpenSearch accepts it.
json UnwrapType(const json& mappings) {
  if (mappings.is_object() && mappings.size() == 1 && mappings.contains("_doc") &&
      mappings["_doc"].is_object()) {
    return mappings["_doc"];
  }
  return mappings;
}

// --- handlers: create, delete, exists, get -----------------------------------------------------

Result<controlplane::CreateIndexRequest> ParseCreateIndexBody(const std::string& name,
                                                              const json& body) {
  if (!body.is_null() && !body.is_object()) {
    return Status::InvalidArgument("parsing_exception: the create index body must be an object");
  }
  json settings_body = json::object();
  json mappings = json::object();
  cluster::Aliases aliases;
  if (body.is_object()) {
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() == "settings") {
        settings_body = it.value();
      } else if (it.key() == "mappings") {
        mappings = UnwrapType(it.value());
        if (!mappings.is_object()) {
          return engine::MapperParsingError("Failed to parse mapping: mappings must be an object");
        }
      } else if (it.key() == "aliases") {
        Result<cluster::Aliases> parsed = ParseAliasesObject(it.value());
        if (!parsed.ok()) return parsed.status();
        aliases = std::move(parsed).value();
      } else {
        // RestCreateIndexAction.prepareMappings / CreateIndexRequest.source: any other
        // top-level key is rejected.
        return Status::InvalidArgument("parsing_exception: unknown key [" + it.key() +
                                       "] for create index");
      }
    }
  }
  Result<std::map<std::string, json>> flat = FlatRequestSettings(settings_body);
  if (!flat.ok()) return flat.status();
  Result<SettingsChange> change = ReadSettings(*flat, /*creating=*/true);
  if (!change.ok()) return change.status();

  controlplane::CreateIndexRequest create;
  create.name = name;
  if (change->shards) create.settings.shards = *change->shards;
  if (change->replicas) create.settings.replicas = *change->replicas;
  if (change->refresh_interval) create.settings.refresh_interval = *change->refresh_interval;
  if (change->codec) create.settings.codec = *change->codec;
  create.settings.other = change->other;
  create.mappings = mappings;
  create.aliases = aliases;

  // Analysis and mappings are built by the engine here, so that what the shards would reject
  // fails the request before anything exists.
  Result<std::shared_ptr<const engine::AnalysisRegistry>> registry = RegistryOf(change->other);
  if (!registry.ok()) return registry.status();
  Result<engine::Mapping> mapping = engine::Mapping::FromJson(mappings, **registry);
  if (!mapping.ok()) {
    if (engine::SplitEngineError(mapping.status()).first.empty()) {
      return engine::MapperParsingError(mapping.status().message());
    }
    return mapping.status();
  }
  for (const auto& [alias, metadata] : aliases) {
    if (metadata.filter.is_null()) continue;
    Status valid = ValidateAliasFilter(metadata.filter, mappings, change->other);
    if (!valid.ok()) {
      return Illegal("failed to parse filter for alias [" + alias + "]" +
                     std::string(engine::kCausedBy) + valid.message());
    }
  }

  return create;
}

namespace {

HttpResponse CreateIndex(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  const std::string name = PathIndex(params);
  if (Status s = ValidateIndexName(name); !s.ok()) return Error(s, name);
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return Error(body.status());
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return Error(timeout.status());

  Result<cluster::StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return Error(state.status());
  // The matching index templates go under the request's own settings, mappings and aliases.
  Result<controlplane::CreateIndexRequest> parsed =
      ParseCreateIndexBody(name, ApplyIndexTemplates(**state, name, body->value_or(json())));
  if (!parsed.ok()) return Error(parsed.status());
  const controlplane::CreateIndexRequest& create = *parsed;
  Result<int32_t> wait_for = ActiveShardsParam(request, create.settings.replicas);
  if (!wait_for.ok()) return Error(wait_for.status());

  if (const cluster::Index* existing = (*state)->FindIndex(name)) {
    return Error(Status::AlreadyExists("resource_already_exists_exception: index [" + name + "/" +
                                       existing->uuid + "] already exists"),
                 name, existing->uuid);
  }
  Result<cluster::Index> created = context.control_plane->CreateIndex(
      CallContext::WithTimeout(context.control_plane_timeout), create);
  if (!created.ok()) {
    if (created.status().IsAlreadyExists()) {
      // Lost a race with another create: name the winner's uuid.
      std::string uuid = "_na_";
      if (Result<cluster::StatePtr> now = ReadClusterState(context, {name}); now.ok()) {
        if (const cluster::Index* index = (*now)->FindIndex(name)) uuid = index->uuid;
      }
      return Error(Status::AlreadyExists("resource_already_exists_exception: index [" + name + "/" +
                                         uuid + "] already exists"),
                   name, uuid);
    }
    if (created.status().IsTimeout()) {
      return Error(
          Status::Timeout("process_cluster_event_timeout_exception: failed to process "
                          "cluster event (create-index [" +
                          name + "]) within " + std::to_string(timeout->count()) + "ms"));
    }
    return Error(AliasError(created.status()), name);
  }
  bool shards_acknowledged = *wait_for == 0;
  if (!shards_acknowledged) {
    Result<cluster::StatePtr> state = WaitForActiveShards(context, {name}, *wait_for, *timeout);
    const cluster::Index* index = state.ok() ? (*state)->FindIndex(name) : nullptr;
    shards_acknowledged = index != nullptr && ActiveShardsReached(*index, *wait_for);
  }
  return JsonResponse(200, OrderedJson{{"acknowledged", true},
                                       {"shards_acknowledged", shards_acknowledged},
                                       {"index", name}});
}

HttpResponse DeleteIndex(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return Error(timeout.status());
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kDeleteOptions);
  if (!resolved.ok()) return ErrorOf(resolved.status());
  for (const cluster::Index* index : resolved->indices) {
    Status s = context.control_plane->DeleteIndex(CallContext::WithTimeout(*timeout), index->name);
    // Deleted meanwhile by someone else: what was asked for is done.
    if (!s.ok() && !s.IsNotFound()) return Error(s, index->name);
  }
  return Acknowledged();
}

HttpResponse IndexExists(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kClosedAllowed);
  HttpResponse response;
  response.status = resolved.ok() ? 200 : (ErrorTypeOf(resolved.status()).second);
  response.content_type.clear();
  return response;
}

HttpResponse GetIndex(const RestContext& context, const HttpRequest& request,
                      const PathParams& params) {
  Result<bool> flat_settings = BoolParam(request, "flat_settings", false);
  if (!flat_settings.ok()) return Error(flat_settings.status());
  if (Result<bool> d = BoolParam(request, "include_defaults", false); !d.ok())
    return Error(d.status());
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kClosedAllowed);
  if (!resolved.ok()) return ErrorOf(resolved.status());
  OrderedJson out = OrderedJson::object();
  for (const cluster::Index* index : resolved->indices) {
    out[index->name] =
        OrderedJson{{"aliases", AliasesJson(index->aliases)},
                    {"mappings", MappingForOutput(CurrentMapping(context, *index))},
                    {"settings", NestSettings(RenderedSettings(*index), *flat_settings)}};
  }
  return JsonResponse(200, out);
}

// --- mappings ----------------------------------------------------------------------------------

HttpResponse GetMapping(const RestContext& context, const HttpRequest& request,
                        const PathParams& params) {
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kClosedAllowed);
  if (!resolved.ok()) return ErrorOf(resolved.status());
  OrderedJson out = OrderedJson::object();
  for (const cluster::Index* index : resolved->indices) {
    out[index->name] = OrderedJson{{"mappings", MappingForOutput(CurrentMapping(context, *index))}};
  }
  return JsonResponse(200, out);
}

// The leaf definitions of a mapping by full path, multi-fields included, as GET
// _mapping/field reports them: {"full_name": path, "mapping": {leaf name: definition}}.
void CollectFieldMappings(const json& properties, const std::string& prefix,
                          std::map<std::string, std::pair<std::string, json>>* out) {
  if (!properties.is_object()) return;
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    if (!it.value().is_object()) continue;
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (auto props = it.value().find("properties"); props != it.value().end()) {
      CollectFieldMappings(*props, path, out);
      continue;
    }
    (*out)[path] = {it.key(), it.value()};
    if (auto fields = it.value().find("fields"); fields != it.value().end()) {
      CollectFieldMappings(*fields, path, out);
    }
  }
}

HttpResponse GetFieldMapping(const RestContext& context, const HttpRequest& request,
                             const PathParams& params) {
  std::vector<std::string> patterns;
  if (auto it = params.find("fields"); it != params.end()) patterns = SplitComma(it->second);
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), IndicesOptions{});
  if (!resolved.ok()) return ErrorOf(resolved.status());
  OrderedJson out = OrderedJson::object();
  for (const cluster::Index* index : resolved->indices) {
    std::map<std::string, std::pair<std::string, json>> fields;
    const json mapping = CurrentMapping(context, *index);
    if (auto props = mapping.find("properties"); props != mapping.end()) {
      CollectFieldMappings(*props, "", &fields);
    }
    OrderedJson mappings = OrderedJson::object();
    for (const auto& [path, leaf] : fields) {
      bool wanted = false;
      for (const std::string& pattern : patterns) wanted = wanted || GlobMatch(pattern, path);
      if (!wanted) continue;
      mappings[path] = OrderedJson{
          {"full_name", path}, {"mapping", OrderedJson{{leaf.first, OrderedJson(leaf.second)}}}};
    }
    out[index->name] = OrderedJson{{"mappings", std::move(mappings)}};
  }
  return JsonResponse(200, out);
}

HttpResponse PutMapping(const RestContext& context, const HttpRequest& request,
                        const PathParams& params) {
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return Error(timeout.status());
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return Error(body.status());
  if (!body->has_value()) {
    return Error(Status::InvalidArgument(
        "action_request_validation_exception: Validation Failed: 1: mapping source is missing;"));
  }
  const json update = UnwrapType(**body);
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), IndicesOptions{});
  if (!resolved.ok()) return ErrorOf(resolved.status());

  // Validate against every index first (a pure merge with the engine's rules), so that a
  // conflict in any of them changes none.
  for (const cluster::Index* index : resolved->indices) {
    Result<std::shared_ptr<const engine::AnalysisRegistry>> registry =
        RegistryOf(index->settings.other);
    if (!registry.ok()) return Error(registry.status());
    Result<engine::Mapping> current =
        engine::Mapping::FromJson(CurrentMapping(context, *index), **registry);
    if (!current.ok()) return Error(current.status());
    Result<engine::Mapping> merged = current->Merge(update, **registry);
    if (!merged.ok()) return Error(merged.status());
  }
  for (const cluster::Index* index : resolved->indices) {
    // Every shard merges it into its own mapping (which may hold dynamic fields the others
    // lack); the cluster state then keeps the merge of shard 0.
    for (size_t shard = 0; shard < index->routing.shards.size(); ++shard) {
      Result<data::ShardService*> service =
          PrimaryShardService(context, *index, static_cast<int32_t>(shard));
      if (!service.ok()) return Error(service.status());
      Status s = (*service)->UpdateMapping(data::ShardKey{index->name, static_cast<int32_t>(shard)},
                                           update);
      if (!s.ok()) return Error(s);
    }
    json merged = CurrentMapping(context, *index);
    Status s =
        context.control_plane->PutMapping(CallContext::WithTimeout(*timeout), index->name, merged);
    if (!s.ok()) {
      if (s.IsConflict()) return Error(Illegal(s.message()));
      return Error(s, index->name);
    }
  }
  return Acknowledged();
}

// --- settings ----------------------------------------------------------------------------------

HttpResponse GetSettings(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  Result<bool> flat_settings = BoolParam(request, "flat_settings", false);
  if (!flat_settings.ok()) return Error(flat_settings.status());
  if (Result<bool> d = BoolParam(request, "include_defaults", false); !d.ok())
    return Error(d.status());
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kClosedAllowed);
  if (!resolved.ok()) return ErrorOf(resolved.status());
  std::vector<std::string> names;
  if (auto it = params.find("name"); it != params.end()) names = SplitComma(it->second);
  OrderedJson out = OrderedJson::object();
  for (const cluster::Index* index : resolved->indices) {
    std::map<std::string, json> flat = RenderedSettings(*index);
    if (!names.empty()) {
      std::map<std::string, json> kept;
      for (auto& [key, value] : flat) {
        for (const std::string& pattern : names) {
          if (GlobMatch(pattern, key)) {
            kept[key] = value;
            break;
          }
        }
      }
      flat = std::move(kept);
      // OpenSearch leaves out indices with no matching setting.
      if (flat.empty()) continue;
    }
    out[index->name] = OrderedJson{{"settings", NestSettings(flat, *flat_settings)}};
  }
  return JsonResponse(200, out);
}

HttpResponse PutSettings(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return Error(timeout.status());
  if (Result<bool> p = BoolParam(request, "preserve_existing", false); !p.ok() || *p) {
    return Error(p.ok() ? NotSupportedYet("[preserve_existing] is") : p.status());
  }
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return Error(body.status());
  if (!body->has_value() || (**body).empty()) {
    return Error(Status::InvalidArgument(
        "action_request_validation_exception: Validation Failed: 1: no settings to update;"));
  }
  // RestUpdateSettingsAction: the body is the settings, or {"settings": {...}}.
  const json& settings =
      (**body).contains("settings") && (**body).size() == 1 ? (**body)["settings"] : **body;
  Result<std::map<std::string, json>> flat = FlatRequestSettings(settings);
  if (!flat.ok()) return Error(flat.status());
  Result<SettingsChange> change = ReadSettings(*flat, /*creating=*/false);
  if (!change.ok()) return Error(change.status());
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), kClosedAllowed);
  if (!resolved.ok()) return ErrorOf(resolved.status());

  if (!change->static_keys.empty() && !resolved->indices.empty()) {
    // Every index is open, so a static setting is never updatable.
    std::string keys, indices;
    for (const std::string& key : change->static_keys) keys += (keys.empty() ? "" : ", ") + key;
    for (const cluster::Index* index : resolved->indices) {
      indices += (indices.empty() ? "[" : ", [") + index->name + "/" + index->uuid + "]";
    }
    return Error(Illegal("Can't update non dynamic settings [[" + keys + "]] for open indices [" +
                         indices + "]"));
  }
  cluster::IndexSettingsUpdate update;
  update.replicas = change->replicas;
  update.refresh_interval = change->refresh_interval;
  if (!change->other.empty()) update.other = change->other;
  for (const cluster::Index* index : resolved->indices) {
    Status s = context.control_plane->UpdateIndexSettings(CallContext::WithTimeout(*timeout),
                                                          index->name, update);
    if (!s.ok()) {
      if (s.IsInvalidArgument() && engine::SplitEngineError(s).first.empty()) {
        return Error(Illegal(s.message()));
      }
      return Error(s, index->name);
    }
  }
  return Acknowledged();
}

// --- refresh, flush ----------------------------------------------------------------------------

// Runs `op` on every active copy of every shard of the resolved indices and answers
// {"_shards": {total, successful, failed[, failures]}} as OpenSearch's broadcast actions do:
// total counts every copy, unassigned ones included; only copies that fail count as failed.
HttpResponse Broadcast(const RestContext& context, const HttpRequest& request,
                       const PathParams& params,
                       Status (data::ShardService::*op)(const data::ShardKey&)) {
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), IndicesOptions{});
  if (!resolved.ok()) return ErrorOf(resolved.status());
  int64_t total = 0, successful = 0, failed = 0;
  OrderedJson failures = OrderedJson::array();
  for (const cluster::Index* index : resolved->indices) {
    for (const cluster::ShardRouting& shard : index->routing.shards) {
      for (const cluster::ShardCopy& copy : shard.copies) {
        ++total;
        if (!cluster::IsActive(copy.state)) continue;
        data::ShardService* service =
            context.shard_service ? context.shard_service(copy.node_id) : nullptr;
        Status s = service == nullptr ? Status::Unavailable("no such shard [" + index->name + "][" +
                                                            std::to_string(shard.shard_id) + "]")
                                      : (service->*op)(data::ShardKey{index->name, shard.shard_id});
        if (s.ok()) {
          ++successful;
          continue;
        }
        ++failed;
        auto [type, status] = ErrorTypeOf(s);
        failures.push_back(
            OrderedJson{{"shard", shard.shard_id},
                        {"index", index->name},
                        {"status", status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST"},
                        {"reason", ErrorObject(s)}});
      }
    }
  }
  OrderedJson shards = {{"total", total}, {"successful", successful}, {"failed", failed}};
  if (failed > 0) shards["failures"] = std::move(failures);
  return JsonResponse(200, OrderedJson{{"_shards", std::move(shards)}});
}

// --- analyze -----------------------------------------------------------------------------------

// _analyze without an index: the built-in analyzers, or a chain of built-in (or inline)
// tokenizer, filters and char_filters.
Result<json> AnalyzeWithoutIndex(const json& request) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<const engine::AnalysisRegistry> builtins,
                      RegistryOf(json::object()));
  return data::AnalyzeText(request, json::object(), *builtins, nullptr);
}

HttpResponse Analyze(const RestContext& context, const HttpRequest& request,
                     const PathParams& params) {
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return Error(body.status());
  json analyze = body->has_value() ? **body : json::object();
  // RestAnalyzeAction also takes text/analyzer/... as parameters when there is no body.
  for (const char* name : {"text", "analyzer", "tokenizer", "field"}) {
    if (request.HasParam(name) && !analyze.contains(name)) analyze[name] = request.Param(name);
  }
  for (const char* name : {"filter", "char_filter"}) {
    if (request.HasParam(name) && !analyze.contains(name)) {
      analyze[name] = SplitComma(request.Param(name));
    }
  }
  const std::string index_name = PathIndex(params);
  Result<json> result = Status::Internal("unreachable");
  if (index_name.empty()) {
    result = AnalyzeWithoutIndex(analyze);
  } else {
    Result<cluster::StatePtr> state = ReadClusterState(context, {index_name});
    if (!state.ok()) return Error(state.status());
    // An alias of one index analyzes with that index (AnalyzeAction is a single-index op).
    Result<DocTarget> concrete = ReadTarget(**state, index_name, "");
    if (!concrete.ok()) return Error(concrete.status());
    const cluster::Index* index = (*state)->FindIndex(concrete->index);
    if (index == nullptr) return IndexNotFound(index_name);
    if (Status open = CheckOpen(*index); !open.ok()) return Error(open);
    Result<data::ShardService*> service = ReadShardService(context, *index, 0);
    if (!service.ok()) return Error(service.status());
    result = (*service)->Analyze(data::ShardKey{index->name, 0}, analyze);
  }
  if (!result.ok()) return Error(result.status());
  return JsonResponse(200, OrderedJson(*result));
}

// --- field caps --------------------------------------------------------------------------------

struct FieldCap {
  std::string type;
  bool searchable = true;
  bool aggregatable = false;
};

// The fields of a mapping document by full path, multi-fields and objects included.
void CollectFields(const json& properties, const std::string& prefix,
                   std::map<std::string, FieldCap>* out) {
  if (!properties.is_object()) return;
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    const json& field = it.value();
    if (!field.is_object()) continue;
    std::string type = field.value("type", field.contains("properties") ? "object" : "object");
    FieldCap cap;
    cap.type = type;
    const bool indexed = field.value("index", true);
    const bool doc_values = field.value("doc_values", true);
    if (type == "object" || type == "nested") {
      cap.searchable = false;
      cap.aggregatable = false;
    } else if (type == "text") {
      cap.searchable = indexed;
      cap.aggregatable = field.value("fielddata", false);
    } else {
      cap.searchable = indexed;
      cap.aggregatable = doc_values;
    }
    (*out)[path] = cap;
    if (auto props = field.find("properties"); props != field.end()) {
      CollectFields(*props, path, out);
    }
    if (auto fields = field.find("fields"); fields != field.end()) {
      CollectFields(*fields, path, out);
    }
  }
}

HttpResponse FieldCaps(const RestContext& context, const HttpRequest& request,
                       const PathParams& params) {
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return Error(body.status());
  std::vector<std::string> patterns = SplitComma(request.Param("fields"));
  if (body->has_value()) {
    if (auto it = (*body)->find("fields"); it != (*body)->end()) {
      if (it->is_string()) {
        for (std::string& f : SplitComma(it->get<std::string>())) patterns.push_back(std::move(f));
      } else if (it->is_array()) {
        for (const json& f : *it) {
          if (f.is_string()) patterns.push_back(f.get<std::string>());
        }
      }
    }
  }
  if (patterns.empty()) {
    return Error(Status::InvalidArgument(
        "action_request_validation_exception: Validation Failed: 1: no fields specified;"));
  }
  Result<bool> unmapped = BoolParam(request, "include_unmapped", false);
  if (!unmapped.ok()) return Error(unmapped.status());
  Result<Resolved> resolved = Resolve(context, request, PathIndex(params), IndicesOptions{});
  if (!resolved.ok()) return ErrorOf(resolved.status());

  // field -> type -> (searchable, aggregatable) -> indices
  using Key = std::pair<bool, bool>;
  std::map<std::string, std::map<std::string, std::map<Key, std::vector<std::string>>>> caps;
  OrderedJson indices = OrderedJson::array();
  for (const cluster::Index* index : resolved->indices) {
    indices.push_back(index->name);
    std::map<std::string, FieldCap> fields;
    const json mapping = CurrentMapping(context, *index);
    if (auto props = mapping.find("properties"); props != mapping.end()) {
      CollectFields(*props, "", &fields);
    }
    // The metadata fields every index has.
    fields["_id"] = {"_id", true, true};
    fields["_index"] = {"_index", true, true};
    fields["_routing"] = {"_routing", true, false};
    fields["_seq_no"] = {"_seq_no", true, true};
    fields["_source"] = {"_source", false, false};
    fields["_version"] = {"_version", false, false};
    for (const auto& [path, cap] : fields) {
      bool wanted = false;
      for (const std::string& pattern : patterns) wanted = wanted || GlobMatch(pattern, path);
      if (!wanted) continue;
      // "*" does not list metadata fields unless named, as OpenSearch only matches them by name
      // or by a pattern starting with '_'.
      if (path.starts_with("_")) {
        bool named = false;
        for (const std::string& pattern : patterns) {
          named = named || (pattern.starts_with("_") && GlobMatch(pattern, path));
        }
        if (!named && std::find(patterns.begin(), patterns.end(), "*") == patterns.end()) continue;
      }
      caps[path][cap.type][{cap.searchable, cap.aggregatable}].push_back(index->name);
    }
  }
  const size_t index_count = resolved->indices.size();
  OrderedJson fields = OrderedJson::object();
  for (const auto& [path, types] : caps) {
    OrderedJson by_type = OrderedJson::object();
    const bool several_types = types.size() > 1;
    for (const auto& [type, variants] : types) {
      OrderedJson entry = {{"type", type}};
      bool searchable = true, aggregatable = true;
      std::vector<std::string> in_type, non_searchable, non_aggregatable;
      for (const auto& [key, names] : variants) {
        searchable = searchable && key.first;
        aggregatable = aggregatable && key.second;
        for (const std::string& n : names) {
          in_type.push_back(n);
          if (!key.first) non_searchable.push_back(n);
          if (!key.second) non_aggregatable.push_back(n);
        }
      }
      std::sort(in_type.begin(), in_type.end());
      entry["searchable"] = searchable;
      entry["aggregatable"] = aggregatable;
      if (several_types || (in_type.size() != index_count && *unmapped)) entry["indices"] = in_type;
      if (!searchable && non_searchable.size() != in_type.size()) {
        entry["non_searchable_indices"] = non_searchable;
      }
      if (!aggregatable && non_aggregatable.size() != in_type.size()) {
        entry["non_aggregatable_indices"] = non_aggregatable;
      }
      by_type[type] = std::move(entry);
    }
    if (*unmapped) {
      size_t mapped = 0;
      for (const auto& [type, variants] : types) {
        for (const auto& [key, names] : variants) mapped += names.size();
      }
      if (mapped < index_count) {
        by_type["unmapped"] =
            OrderedJson{{"type", "unmapped"}, {"searchable", false}, {"aggregatable", false}};
      }
    }
    fields[path] = std::move(by_type);
  }
  return JsonResponse(200,
                      OrderedJson{{"indices", std::move(indices)}, {"fields", std::move(fields)}});
}

}  // namespace

Status ValidateIndexName(std::string_view name) {
  Status valid = cluster::ValidateIndexName(name);
  if (valid.ok()) return valid;
  return Status::InvalidArgument("invalid_index_name_exception: " + valid.message());
}

Status RegisterIndexHandlers(const RestContext& context, Router* router) {
  if (context.control_plane == nullptr || router == nullptr) {
    return Status::InvalidArgument("RegisterIndexHandlers needs a control plane and a router");
  }
  using M = HttpMethod;
  auto bind = [context](HttpResponse (*fn)(const RestContext&, const HttpRequest&,
                                           const PathParams&)) -> RestHandler {
    return [context, fn](const HttpRequest& request, const PathParams& params) {
      return fn(context, request, params);
    };
  };
  struct Route {
    std::vector<HttpMethod> methods;
    std::string_view pattern;
    RestHandler handler;
    RouteParams params;
  };
  const RestHandler refresh = [context](const HttpRequest& r, const PathParams& p) {
    return Broadcast(context, r, p, &data::ShardService::Refresh);
  };
  const RestHandler flush = [context](const HttpRequest& r, const PathParams& p) {
    return Broadcast(context, r, p, &data::ShardService::Flush);
  };
  // local and the cluster-manager timeouts of reads change nothing here; neither do flush's
  // force and wait_if_ongoing (a flush always commits what is buffered, and waits).
  const RouteParams read =
      Params({kIndexOptionParams, {"cluster_manager_timeout", "local", "master_timeout"}});
  const RouteParams read_settings = Params({read, {"flat_settings", "include_defaults"}});
  const RouteParams change = Params({kIndexOptionParams, kAckTimeoutParams});
  const RouteParams analyze = {"analyzer", "char_filter", "field", "filter", "text", "tokenizer"};
  const RouteParams field_caps = Params({kIndexOptionParams, {"fields", "include_unmapped"}});
  const RouteParams flush_params = Params({kIndexOptionParams, {"force", "wait_if_ongoing"}});
  const Route routes[] = {
      {{M::kPut},
       "/{index}",
       bind(CreateIndex),
       Params({kAckTimeoutParams, {"wait_for_active_shards"}})},
      {{M::kDelete}, "/{index}", bind(DeleteIndex), change},
      {{M::kHead}, "/{index}", bind(IndexExists), read_settings},
      {{M::kGet}, "/{index}", bind(GetIndex), read_settings},
      {{M::kGet}, "/_mapping", bind(GetMapping), read},
      {{M::kGet}, "/{index}/_mapping", bind(GetMapping), read},
      {{M::kGet}, "/_mappings", bind(GetMapping), read},
      {{M::kGet}, "/{index}/_mappings", bind(GetMapping), read},
      {{M::kGet}, "/_mapping/field/{fields}", bind(GetFieldMapping), read},
      {{M::kGet}, "/{index}/_mapping/field/{fields}", bind(GetFieldMapping), read},
      {{M::kPut, M::kPost}, "/{index}/_mapping", bind(PutMapping), change},
      {{M::kPut, M::kPost}, "/{index}/_mappings", bind(PutMapping), change},
      {{M::kGet}, "/_settings", bind(GetSettings), read_settings},
      {{M::kGet}, "/_settings/{name}", bind(GetSettings), read_settings},
      {{M::kGet}, "/{index}/_settings", bind(GetSettings), read_settings},
      {{M::kGet}, "/{index}/_settings/{name}", bind(GetSettings), read_settings},
      {{M::kPut},
       "/_settings",
       bind(PutSettings),
       Params({change, {"flat_settings", "preserve_existing"}})},
      {{M::kPut},
       "/{index}/_settings",
       bind(PutSettings),
       Params({change, {"flat_settings", "preserve_existing"}})},
      {{M::kGet, M::kPost}, "/_refresh", refresh, kIndexOptionParams},
      {{M::kGet, M::kPost}, "/{index}/_refresh", refresh, kIndexOptionParams},
      {{M::kGet, M::kPost}, "/_flush", flush, flush_params},
      {{M::kGet, M::kPost}, "/{index}/_flush", flush, flush_params},
      {{M::kGet, M::kPost}, "/_analyze", bind(Analyze), analyze},
      {{M::kGet, M::kPost}, "/{index}/_analyze", bind(Analyze), analyze},
      {{M::kGet, M::kPost}, "/_field_caps", bind(FieldCaps), field_caps},
      {{M::kGet, M::kPost}, "/{index}/_field_caps", bind(FieldCaps), field_caps},
  };
  for (const Route& route : routes) {
    for (HttpMethod method : route.methods) {
      QD_RETURN_IF_ERROR(router->Register(method, route.pattern, route.handler, route.params));
    }
  }
  return Status::OK();
}

}  // namespace quidditch::rest
