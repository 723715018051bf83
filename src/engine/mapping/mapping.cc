#include "engine/mapping/mapping.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "engine/errors.h"
#include "engine/mapping/date_parser.h"
#include "engine/mapping/mapping_internal.h"

namespace quidditch::engine {

using mapping_internal::Dynamic;
using mapping_internal::Node;
using json = nlohmann::json;

namespace {

constexpr std::pair<FieldType, std::string_view> kTypeNames[] = {
    {FieldType::kText, "text"},       {FieldType::kKeyword, "keyword"},
    {FieldType::kLong, "long"},       {FieldType::kInteger, "integer"},
    {FieldType::kShort, "short"},     {FieldType::kByte, "byte"},
    {FieldType::kDouble, "double"},   {FieldType::kFloat, "float"},
    {FieldType::kBoolean, "boolean"}, {FieldType::kDate, "date"},
    {FieldType::kObject, "object"},
};

const std::vector<std::string>& DefaultDateFormats() {
  static const std::vector<std::string> kFormats = {"strict_date_optional_time", "epoch_millis"};
  return kFormats;
}

std::string JoinPath(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out;
  out.reserve(parent.size() + 1 + name.size());
  out.append(parent).append(1, '.').append(name);
  return out;
}

std::string ShortJson(const json& v) {
  std::string s = v.dump();
  if (s.size() > 100) s = s.substr(0, 100) + "...";
  return s;
}

// Parameters OpenSearch has that Quidditch does not implement: rejected by name rather than
// silently ignored.
bool IsUnsupportedParameter(std::string_view key) {
  static constexpr std::string_view kUnsupported[] = {
      "copy_to",
      "null_value",
      "store",
      "norms",
      "normalizer",
      "similarity",
      "index_options",
      "term_vector",
      "fielddata",
      "eager_global_ordinals",
      "ignore_malformed",
      "boost",
      "meta",
      "search_quote_analyzer",
      "index_prefixes",
      "index_phrases",
      "split_queries_on_whitespace",
      "locale",
      "fielddata_frequency_filter",
      "scaling_factor",
      "ignore_z_value",
      "include_in_parent",
      "include_in_root",
      "on_script_error",
      "script",
  };
  return std::find(std::begin(kUnsupported), std::end(kUnsupported), key) != std::end(kUnsupported);
}

Result<bool> ParseBool(const json& v, std::string_view what) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return MapperParsingError("Failed to parse value [" + ShortJson(v) +
                            "] as only [true] or [false] are allowed for [" + std::string(what) +
                            "]");
}

Result<uint32_t> ParseNonNegative(const json& v, std::string_view param, std::string_view path) {
  int64_t n = -1;
  if (v.is_number_integer()) {
    n = v.get<int64_t>();
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    long long parsed = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size()) n = parsed;
  }
  if (n < 0 || n > std::numeric_limits<uint32_t>::max()) {
    return MapperParsingError("Failed to parse mapping: invalid value [" + ShortJson(v) +
                              "] for parameter [" + std::string(param) + "] on field [" +
                              std::string(path) + "]");
  }
  return static_cast<uint32_t>(n);
}

Result<Dynamic> ParseDynamic(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? Dynamic::kTrue : Dynamic::kFalse;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "true") return Dynamic::kTrue;
    if (s == "false") return Dynamic::kFalse;
    if (s == "strict") return Dynamic::kStrict;
  }
  return MapperParsingError("Could not convert [dynamic] to boolean or \"strict\", got [" +
                            ShortJson(v) + "]");
}

std::string_view DynamicName(Dynamic d) {
  switch (d) {
    case Dynamic::kTrue:
      return "true";
    case Dynamic::kFalse:
      return "false";
    case Dynamic::kStrict:
      return "strict";
  }
  return "true";
}

Result<std::vector<std::string>> ParseFormats(const json& v, std::string_view path) {
  if (!v.is_string()) {
    return MapperParsingError("Failed to parse mapping: [format] on field [" + std::string(path) +
                              "] must be a string");
  }
  std::vector<std::string> out;
  std::string_view rest = v.get_ref<const std::string&>();
  while (true) {
    size_t bar = rest.find("||");
    std::string_view one = rest.substr(0, bar);
    Status valid = mapping_internal::ValidateDateFormat(one);
    if (!valid.ok()) {
      return MapperParsingError("Error parsing [format] on field [" + std::string(path) +
                                "]: " + valid.message());
    }
    out.emplace_back(one);
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 2);
  }
  return out;
}

Status CheckAnalyzer(const std::string& name, const AnalysisRegistry& analysis) {
  if (analysis.Find(name) == nullptr) {
    return MapperParsingError("analyzer [" + name + "] has not been configured in mappings");
  }
  return Status::OK();
}

Result<std::unique_ptr<Node>> BuildNode(std::string_view name, const std::string& path,
                                        const json& def, const AnalysisRegistry& analysis,
                                        bool multi_field);

// Adds the `properties` object `props` to the object `parent` (a fresh node).
Status MergeInto(Node* existing, std::unique_ptr<Node> incoming);

Status AddProperties(Node* parent, const json& props, const AnalysisRegistry& analysis) {
  if (!props.is_object()) {
    return MapperParsingError("Expected map for property [properties] on field [" +
                              (parent->field.path.empty() ? "_doc" : parent->field.path) +
                              "] but got " + ShortJson(props));
  }
  for (const auto& [key, def] : props.items()) {
    if (key.empty() || key.front() == '.' || key.back() == '.' ||
        key.find("..") != std::string::npos) {
      return MapperParsingError("field name cannot be an empty string (in [" + key + "])");
    }
    // "a.b": {...} in properties is object a with property b, as OpenSearch expands it.
    size_t dot = key.find('.');
    std::string_view first = std::string_view(key).substr(0, dot);
    std::unique_ptr<Node> child;
    if (dot == std::string::npos) {
      QD_ASSIGN_OR_RETURN(child, BuildNode(key, JoinPath(parent->field.path, key), def, analysis,
                                           /*multi_field=*/false));
    } else {
      json wrapped = def;
      std::string_view rest = std::string_view(key).substr(dot + 1);
      // Wrap from the innermost name outwards: {"properties": {"b": def}}.
      std::vector<std::string_view> parts;
      while (true) {
        size_t d = rest.find('.');
        parts.push_back(rest.substr(0, d));
        if (d == std::string_view::npos) break;
        rest.remove_prefix(d + 1);
      }
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        wrapped = json{{"properties", json{{std::string(*it), std::move(wrapped)}}}};
      }
      QD_ASSIGN_OR_RETURN(child, BuildNode(first, JoinPath(parent->field.path, first), wrapped,
                                           analysis, /*multi_field=*/false));
    }
    auto found = parent->properties.find(first);
    if (found == parent->properties.end()) {
      parent->properties.emplace(std::string(first), std::move(child));
    } else {
      QD_RETURN_IF_ERROR(MergeInto(found->second.get(), std::move(child)));
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<Node>> BuildNode(std::string_view name, const std::string& path,
                                        const json& def, const AnalysisRegistry& analysis,
                                        bool multi_field) {
  if (!def.is_object()) {
    return MapperParsingError("Expected map for property [" + std::string(name) + "] but got " +
                              ShortJson(def));
  }
  auto node = std::make_unique<Node>();
  node->field.path = path;
  FieldType type = FieldType::kObject;
  if (auto t = def.find("type"); t != def.end()) {
    if (!t->is_string()) {
      return MapperParsingError("No handler for type [" + ShortJson(*t) + "] declared on field [" +
                                path + "]");
    }
    std::optional<FieldType> parsed = ParseFieldType(t->get_ref<const std::string&>());
    if (!parsed) {
      return MapperParsingError("No handler for type [" + t->get<std::string>() +
                                "] declared on field [" + path + "]");
    }
    type = *parsed;
  } else if (multi_field) {
    return MapperParsingError("No type specified for field [" + path + "]");
  }
  if (multi_field && type == FieldType::kObject) {
    return MapperParsingError("Type [object] cannot be used in multi field [" + path + "]");
  }
  node->field.type = type;
  std::string_view type_name = FieldTypeName(type);
  if (type == FieldType::kDate) node->field.formats = DefaultDateFormats();

  auto unknown = [&](const std::string& key) {
    if (IsUnsupportedParameter(key)) {
      return MapperParsingError("parameter [" + key + "] on mapper [" + path + "] of type [" +
                                std::string(type_name) + "] is not supported");
    }
    return MapperParsingError("unknown parameter [" + key + "] on mapper [" + path + "] of type [" +
                              std::string(type_name) + "]");
  };

  for (const auto& [key, v] : def.items()) {
    if (key == "type") continue;
    if (type == FieldType::kObject) {
      if (key == "properties") {
        QD_RETURN_IF_ERROR(AddProperties(node.get(), v, analysis));
      } else if (key == "dynamic") {
        QD_ASSIGN_OR_RETURN(node->dynamic, ParseDynamic(v));
      } else if (key == "enabled") {
        QD_ASSIGN_OR_RETURN(node->enabled, ParseBool(v, "enabled"));
      } else {
        return unknown(key);
      }
      continue;
    }
    if (key == "fields" && !multi_field) {
      if (!v.is_object()) {
        return MapperParsingError("Expected map for property [fields] on field [" + path +
                                  "] but got " + ShortJson(v));
      }
      for (const auto& [sub, sub_def] : v.items()) {
        if (sub.empty() || sub.find('.') != std::string::npos) {
          return MapperParsingError("Field name [" + sub + "] which is a multi field of [" + path +
                                    "] cannot contain '.' or be empty");
        }
        QD_ASSIGN_OR_RETURN(auto child,
                            BuildNode(sub, JoinPath(path, sub), sub_def, analysis, true));
        node->fields[sub] = std::move(child);
      }
    } else if (key == "index") {
      QD_ASSIGN_OR_RETURN(node->field.index, ParseBool(v, "index"));
    } else if (key == "doc_values" && type != FieldType::kText) {
      QD_ASSIGN_OR_RETURN(node->field.doc_values, ParseBool(v, "doc_values"));
    } else if (type == FieldType::kText && (key == "analyzer" || key == "search_analyzer")) {
      if (!v.is_string()) {
        return MapperParsingError("Failed to parse mapping: [" + key + "] on field [" + path +
                                  "] must be a string");
      }
      const std::string& a = v.get_ref<const std::string&>();
      QD_RETURN_IF_ERROR(CheckAnalyzer(a, analysis));
      (key == "analyzer" ? node->field.analyzer : node->field.search_analyzer) = a;
    } else if (type == FieldType::kText && key == "position_increment_gap") {
      QD_ASSIGN_OR_RETURN(node->field.position_increment_gap, ParseNonNegative(v, key, path));
    } else if (type == FieldType::kKeyword && key == "ignore_above") {
      QD_ASSIGN_OR_RETURN(node->field.ignore_above, ParseNonNegative(v, key, path));
    } else if (node->field.is_numeric() && key == "coerce") {
      QD_ASSIGN_OR_RETURN(node->coerce, ParseBool(v, "coerce"));
    } else if (type == FieldType::kDate && key == "format") {
      QD_ASSIGN_OR_RETURN(node->field.formats, ParseFormats(v, path));
    } else {
      return unknown(key);
    }
  }
  return node;
}

std::string FormatsString(const std::vector<std::string>& formats) {
  std::string out;
  for (const std::string& f : formats) {
    if (!out.empty()) out += "||";
    out += f;
  }
  return out;
}

Status Conflict(const std::string& path, std::string_view param, const std::string& from,
                const std::string& to) {
  return IllegalArgument("Mapper for [" + path +
                         "] conflicts with existing mapper:\n\tCannot update parameter [" +
                         std::string(param) + "] from [" + from + "] to [" + to + "]");
}

std::string BoolString(bool b) { return b ? "true" : "false"; }

Status MergeInto(Node* existing, std::unique_ptr<Node> incoming) {
  const std::string& path = existing->field.path;
  if (existing->is_object() != incoming->is_object()) {
    if (existing->is_object()) {
      return IllegalArgument("can't merge a non object mapping [" + path +
                             "] with an object mapping");
    }
    return IllegalArgument("mapper [" + path + "] cannot be changed from type [" +
                           std::string(FieldTypeName(existing->field.type)) + "] to [object]");
  }
  if (existing->is_object()) {
    if (incoming->dynamic) existing->dynamic = incoming->dynamic;
    if (existing->enabled != incoming->enabled) {
      return Conflict(path, "enabled", BoolString(existing->enabled),
                      BoolString(incoming->enabled));
    }
    for (auto& [name, child] : incoming->properties) {
      auto found = existing->properties.find(name);
      if (found == existing->properties.end()) {
        existing->properties.emplace(name, std::move(child));
      } else {
        QD_RETURN_IF_ERROR(MergeInto(found->second.get(), std::move(child)));
      }
    }
    return Status::OK();
  }
  const FieldMapping& a = existing->field;
  const FieldMapping& b = incoming->field;
  if (a.type != b.type) {
    return IllegalArgument("mapper [" + path + "] cannot be changed from type [" +
                           std::string(FieldTypeName(a.type)) + "] to [" +
                           std::string(FieldTypeName(b.type)) + "]");
  }
  if (a.analyzer != b.analyzer) return Conflict(path, "analyzer", a.analyzer, b.analyzer);
  if (a.index != b.index) return Conflict(path, "index", BoolString(a.index), BoolString(b.index));
  if (a.doc_values != b.doc_values) {
    return Conflict(path, "doc_values", BoolString(a.doc_values), BoolString(b.doc_values));
  }
  if (a.formats != b.formats) {
    return Conflict(path, "format", FormatsString(a.formats), FormatsString(b.formats));
  }
  if (a.position_increment_gap != b.position_increment_gap) {
    return Conflict(path, "position_increment_gap", std::to_string(a.position_increment_gap),
                    std::to_string(b.position_increment_gap));
  }
  // Updatable parameters take the new value.
  existing->field.search_analyzer = b.search_analyzer;
  existing->field.ignore_above = b.ignore_above;
  existing->coerce = incoming->coerce;
  for (auto& [name, child] : incoming->fields) {
    auto found = existing->fields.find(name);
    if (found == existing->fields.end()) {
      existing->fields.emplace(name, std::move(child));
    } else {
      QD_RETURN_IF_ERROR(MergeInto(found->second.get(), std::move(child)));
    }
  }
  return Status::OK();
}

Result<std::vector<std::string>> ParseStringList(const json& v, std::string_view what) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    return out;
  }
  if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_string()) break;
      out.push_back(e.get<std::string>());
    }
    if (out.size() == v.size()) return out;
  }
  return MapperParsingError("Failed to parse mapping: [" + std::string(what) +
                            "] must be a string or an array of strings, got " + ShortJson(v));
}

// Applies the root-level parameters of `mappings` to `rep` (which may hold an existing
// mapping: PUT _mapping).
Status ApplyRoot(const json& mappings_in, const AnalysisRegistry& analysis, bool is_update,
                 MappingAccess::Rep* rep) {
  const json* mappings = &mappings_in;
  if (mappings->is_null()) return Status::OK();
  if (!mappings->is_object()) {
    return MapperParsingError("Failed to parse mapping: mappings must be an object, got " +
                              ShortJson(*mappings));
  }
  // {"_doc": {...}}: the type name OpenSearch 2.x still accepts.
  if (mappings->size() == 1 && mappings->contains("_doc") && (*mappings)["_doc"].is_object()) {
    mappings = &(*mappings)["_doc"];
  }
  for (const auto& [key, v] : mappings->items()) {
    if (key == "properties") {
      auto incoming = std::make_unique<Node>();
      QD_RETURN_IF_ERROR(AddProperties(incoming.get(), v, analysis));
      for (auto& [name, child] : incoming->properties) {
        auto found = rep->root.properties.find(name);
        if (found == rep->root.properties.end()) {
          rep->root.properties.emplace(name, std::move(child));
        } else {
          QD_RETURN_IF_ERROR(MergeInto(found->second.get(), std::move(child)));
        }
      }
    } else if (key == "dynamic") {
      QD_ASSIGN_OR_RETURN(rep->root.dynamic, ParseDynamic(v));
    } else if (key == "date_detection") {
      QD_ASSIGN_OR_RETURN(rep->date_detection, ParseBool(v, "date_detection"));
    } else if (key == "numeric_detection") {
      QD_ASSIGN_OR_RETURN(bool numeric, ParseBool(v, "numeric_detection"));
      if (numeric) {
        return MapperParsingError("parameter [numeric_detection] set to true is not supported");
      }
    } else if (key == "dynamic_date_formats") {
      QD_ASSIGN_OR_RETURN(auto formats, ParseStringList(v, key));
      for (const std::string& f : formats) {
        QD_RETURN_IF_ERROR(ParseFormats(json(f), "dynamic_date_formats").status());
      }
      rep->dynamic_date_formats = std::move(formats);
    } else if (key == "_source") {
      if (!v.is_object()) {
        return MapperParsingError("Failed to parse mapping: [_source] must be an object");
      }
      for (const auto& [sk, sv] : v.items()) {
        if (sk == "enabled") {
          QD_ASSIGN_OR_RETURN(bool enabled, ParseBool(sv, "enabled"));
          if (is_update && enabled != rep->source_enabled) {
            return Conflict("_source", "enabled", BoolString(rep->source_enabled),
                            BoolString(enabled));
          }
          rep->source_enabled = enabled;
        } else if (sk == "includes") {
          QD_ASSIGN_OR_RETURN(rep->source_includes, ParseStringList(sv, "includes"));
        } else if (sk == "excludes") {
          QD_ASSIGN_OR_RETURN(rep->source_excludes, ParseStringList(sv, "excludes"));
        } else {
          return MapperParsingError("unknown parameter [" + sk + "] on metadata field [_source]");
        }
      }
    } else {
      return MapperParsingError("Root mapping definition has unsupported parameters:  [" + key +
                                " : " + ShortJson(v) + "]");
    }
  }
  return Status::OK();
}

json NodeToJson(const Node& node) {
  json out = json::object();
  if (node.is_object()) {
    if (node.properties.empty()) out["type"] = "object";
    if (node.dynamic) out["dynamic"] = DynamicName(*node.dynamic);
    if (!node.enabled) out["enabled"] = false;
    if (!node.properties.empty()) {
      json props = json::object();
      for (const auto& [name, child] : node.properties) props[name] = NodeToJson(*child);
      out["properties"] = std::move(props);
    }
    return out;
  }
  const FieldMapping& f = node.field;
  out["type"] = FieldTypeName(f.type);
  if (f.type == FieldType::kText && f.analyzer != "standard") out["analyzer"] = f.analyzer;
  if (!f.search_analyzer.empty()) out["search_analyzer"] = f.search_analyzer;
  if (f.type == FieldType::kText && f.position_increment_gap != 100) {
    out["position_increment_gap"] = f.position_increment_gap;
  }
  if (f.ignore_above != std::numeric_limits<uint32_t>::max()) out["ignore_above"] = f.ignore_above;
  if (!f.index) out["index"] = false;
  if (!f.doc_values) out["doc_values"] = false;
  if (!node.coerce) out["coerce"] = false;
  if (f.type == FieldType::kDate && f.formats != DefaultDateFormats()) {
    out["format"] = FormatsString(f.formats);
  }
  if (!node.fields.empty()) {
    json fields = json::object();
    for (const auto& [name, child] : node.fields) fields[name] = NodeToJson(*child);
    out["fields"] = std::move(fields);
  }
  return out;
}

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "object";
}

std::optional<FieldType> ParseFieldType(std::string_view name) {
  for (const auto& [t, n] : kTypeNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

bool FieldMapping::is_numeric() const {
  switch (type) {
    case FieldType::kLong:
    case FieldType::kInteger:
    case FieldType::kShort:
    case FieldType::kByte:
    case FieldType::kDouble:
    case FieldType::kFloat:
      return true;
    default:
      return false;
  }
}

namespace mapping_internal {

std::vector<std::string> DefaultDynamicDateFormats() {
  return {"strict_date_optional_time", "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"};
}

std::unique_ptr<Node> Node::Clone() const {
  auto out = std::make_unique<Node>();
  out->field = field;
  out->coerce = coerce;
  out->enabled = enabled;
  out->dynamic = dynamic;
  for (const auto& [name, child] : properties) out->properties.emplace(name, child->Clone());
  for (const auto& [name, child] : fields) out->fields.emplace(name, child->Clone());
  return out;
}

Node* AddDynamicField(Node* parent, std::string_view name, FieldType type,
                      std::vector<std::string> date_formats) {
  auto node = std::make_unique<Node>();
  node->field.path = JoinPath(parent->field.path, name);
  node->field.type = type;
  if (type == FieldType::kText) {
    auto keyword = std::make_unique<Node>();
    keyword->field.path = node->field.path + ".keyword";
    keyword->field.type = FieldType::kKeyword;
    keyword->field.ignore_above = 256;
    node->fields.emplace("keyword", std::move(keyword));
  } else if (type == FieldType::kDate) {
    node->field.formats = date_formats.empty() ? DefaultDateFormats() : std::move(date_formats);
  }
  Node* raw = node.get();
  parent->properties[std::string(name)] = std::move(node);
  return raw;
}

}  // namespace mapping_internal

Mapping::Rep::Rep() {
  root.field.type = FieldType::kObject;
  root.dynamic = Dynamic::kTrue;
}

std::unique_ptr<Mapping::Rep> Mapping::Rep::Clone() const {
  auto out = std::make_unique<Rep>();
  std::unique_ptr<Node> root_copy = root.Clone();
  out->root.field = root_copy->field;
  out->root.dynamic = root_copy->dynamic;
  out->root.enabled = root_copy->enabled;
  out->root.properties = std::move(root_copy->properties);
  out->date_detection = date_detection;
  out->dynamic_date_formats = dynamic_date_formats;
  out->source_enabled = source_enabled;
  out->source_includes = source_includes;
  out->source_excludes = source_excludes;
  return out;
}

void Mapping::Rep::Finalize() {
  by_path.clear();
  leaves.clear();
  std::vector<const std::string*> ancestors;
  // Recursion depth is the depth of the mapping, which FromJson bounds by its JSON input.
  std::function<void(Node*, bool)> visit = [&](Node* node, bool is_root) {
    if (!is_root) {
      by_path.emplace(node->field.path, node);
      ancestors.push_back(&node->field.path);
    }
    if (node->is_object()) {
      for (auto& [name, child] : node->properties) visit(child.get(), false);
    } else {
      node->slot = static_cast<int32_t>(leaves.size());
      leaves.push_back(node);
      node->exists_names = ancestors;
      for (auto& [name, child] : node->fields) visit(child.get(), false);
    }
    if (!is_root) ancestors.pop_back();
  };
  visit(&root, true);
}

Mapping::Mapping() {
  // Every empty mapping shares one representation (callers default-construct Mappings often).
  static const std::shared_ptr<const Rep> kEmpty = [] {
    auto rep = std::make_shared<Rep>();
    rep->Finalize();
    return std::shared_ptr<const Rep>(std::move(rep));
  }();
  rep_ = kEmpty;
}

Result<Mapping> Mapping::FromJson(const json& mappings, const AnalysisRegistry& analysis) {
  auto rep = std::make_unique<Rep>();
  QD_RETURN_IF_ERROR(ApplyRoot(mappings, analysis, /*is_update=*/false, rep.get()));
  return MappingAccess::Make(std::move(rep));
}

Result<Mapping> Mapping::Merge(const json& update, const AnalysisRegistry& analysis) const {
  std::unique_ptr<Rep> rep = rep_->Clone();
  QD_RETURN_IF_ERROR(ApplyRoot(update, analysis, /*is_update=*/true, rep.get()));
  return MappingAccess::Make(std::move(rep));
}

json Mapping::ToJson() const {
  json out = json::object();
  if (*rep_->root.dynamic != Dynamic::kTrue) out["dynamic"] = DynamicName(*rep_->root.dynamic);
  if (!rep_->date_detection) out["date_detection"] = false;
  if (rep_->dynamic_date_formats != mapping_internal::DefaultDynamicDateFormats()) {
    out["dynamic_date_formats"] = rep_->dynamic_date_formats;
  }
  if (!rep_->source_enabled || !rep_->source_includes.empty() || !rep_->source_excludes.empty()) {
    json source = json::object();
    if (!rep_->source_enabled) source["enabled"] = false;
    if (!rep_->source_includes.empty()) source["includes"] = rep_->source_includes;
    if (!rep_->source_excludes.empty()) source["excludes"] = rep_->source_excludes;
    out["_source"] = std::move(source);
  }
  if (!rep_->root.properties.empty()) {
    json props = json::object();
    for (const auto& [name, child] : rep_->root.properties) props[name] = NodeToJson(*child);
    out["properties"] = std::move(props);
  }
  return out;
}

const FieldMapping* Mapping::Find(std::string_view path) const {
  auto it = rep_->by_path.find(path);
  return it == rep_->by_path.end() ? nullptr : &it->second->field;
}

std::vector<const FieldMapping*> Mapping::Fields() const {
  std::vector<const FieldMapping*> out;
  for (const auto& [path, node] : rep_->by_path) {
    if (!node->is_object()) out.push_back(&node->field);
  }
  return out;
}

bool Mapping::source_enabled() const { return rep_->source_enabled; }

}  // namespace quidditch::engine
