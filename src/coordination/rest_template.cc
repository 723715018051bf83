// Index templates (see rest_template.h).
#include "coordination/rest_template.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "coordination/rest_index.h"
#include "engine/errors.h"

namespace quidditch::rest {
namespace {

using json = nlohmann::json;
using cluster::TemplateKind;
using controlplane::CallContext;

Status ParseError(const std::string& reason) {
  return Status::InvalidArgument("x_content_parse_exception: " + reason);
}

Status ValidationFailed(const std::string& reason) {
  return Status::InvalidArgument(
      "action_request_validation_exception: Validation Failed: 1: " + reason + ";");
}

// --- settings, mappings --------------------------------------------------------------------

// `over` merged into `base`: objects key by key, anything else replaced.
void MergeInto(json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (auto it = over.begin(); it != over.end(); ++it) MergeInto(base[it.key()], *it);
}

// The index_patterns value: a string or an array of strings, not empty.
Result<json> Patterns(const json& value, std::string_view what) {
  json patterns = value.is_string() ? json::array({value}) : value;
  if (!patterns.is_array()) {
    return ParseError("[" + std::string(what) + "] index_patterns must be a string or an array");
  }
  for (const json& p : patterns) {
    if (!p.is_string() || p.get_ref<const std::string&>().empty()) {
      return ParseError("[" + std::string(what) + "] index_patterns must be non-empty strings");
    }
  }
  if (patterns.empty()) return ValidationFailed("index patterns are missing");
  return patterns;
}

bool Matches(const json& stored, std::string_view index) {
  for (const json& p : stored.value("index_patterns", json::array())) {
    if (p.is_string() && GlobMatch(p.get_ref<const std::string&>(), index)) return true;
  }
  return false;
}

// The {settings, mappings, aliases} parts of a request body or template, normalized and
// checked: settings nested with string values, mappings untyped, aliases an object.
struct IndexParts {
  std::map<std::string, json> settings;  // flat, "index."-prefixed
  json mappings = json::object();
  json aliases = json::object();
};

Result<IndexParts> ReadParts(const json& settings, const json& mappings, const json& aliases) {
  IndexParts parts;
  if (!settings.is_null()) {
    if (!settings.is_object()) return ParseError("settings must be an object");
    QD_ASSIGN_OR_RETURN(parts.settings, FlatRequestSettings(settings));
    for (auto& [key, value] : parts.settings) value = SettingString(value);
  }
  if (!mappings.is_null()) {
    parts.mappings = UnwrapType(mappings);
    if (!parts.mappings.is_object()) return ParseError("mappings must be an object");
  }
  if (!aliases.is_null()) {
    if (!aliases.is_object()) return ParseError("aliases must be an object");
    parts.aliases = aliases;
  }
  return parts;
}

// The create-index body these parts make, for the validator.
json CreateBody(const IndexParts& parts) {
  json flat = json::object();
  for (const auto& [key, value] : parts.settings) flat[key] = value;
  return json{
      {"settings", std::move(flat)}, {"mappings", parts.mappings}, {"aliases", parts.aliases}};
}

// --- product automaton of two '*' patterns -------------------------------------------------

// The epsilon closure of state (i, j): a '*' may match nothing.
void Close(std::string_view a, std::string_view b, size_t i, size_t j,
           std::vector<std::vector<bool>>& seen, std::vector<std::pair<size_t, size_t>>& todo) {
  if (seen[i][j]) return;
  seen[i][j] = true;
  todo.emplace_back(i, j);
  if (i < a.size() && a[i] == '*') Close(a, b, i + 1, j, seen, todo);
  if (j < b.size() && b[j] == '*') Close(a, b, i, j + 1, seen, todo);
}

// --- handlers --------------------------------------------------------------------------------

TemplateKind KindOf(bool composable) {
  return composable ? TemplateKind::kComposable : TemplateKind::kLegacy;
}

// Stored template as GET _index_template prints it, in OpenSearch's key order.
OrderedJson RenderComposable(const json& stored) {
  OrderedJson out{{"index_patterns", OrderedJson(stored.value("index_patterns", json::array()))}};
  if (stored.contains("template")) out["template"] = OrderedJson(stored["template"]);
  out["composed_of"] = OrderedJson::array();
  for (const char* key : {"priority", "version", "_meta"}) {
    if (stored.contains(key)) out[key] = OrderedJson(stored[key]);
  }
  return out;
}

// Stored legacy template as GET _template prints it.
OrderedJson RenderLegacy(const json& stored) {
  OrderedJson out{{"order", OrderedJson(stored.value("order", 0))}};
  if (stored.contains("version")) out["version"] = OrderedJson(stored["version"]);
  out["index_patterns"] = OrderedJson(stored.value("index_patterns", json::array()));
  for (const char* key : {"settings", "mappings", "aliases"}) {
    out[key] = OrderedJson(stored.value(key, json::object()));
  }
  return out;
}

Result<int64_t> NonNegative(const json& value, const std::string& what) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0) {
    return ParseError("[" + what + "] must be a non-negative integer");
  }
  return value.get<int64_t>();
}

// The body of PUT _index_template/{name}, normalized for storage.
Result<json> ReadComposable(const std::string& name, const json& body, IndexParts* parts) {
  json out = json::object();
  json settings, mappings, aliases;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (key == "index_patterns") {
      QD_ASSIGN_OR_RETURN(out["index_patterns"], Patterns(*it, "index_template"));
    } else if (key == "template") {
      if (!it->is_object()) return ParseError("[template] must be an object");
      for (auto t = it->begin(); t != it->end(); ++t) {
        if (t.key() == "settings") {
          settings = *t;
        } else if (t.key() == "mappings") {
          mappings = *t;
        } else if (t.key() == "aliases") {
          aliases = *t;
        } else {
          return ParseError("[template] unknown field [" + t.key() + "]");
        }
      }
    } else if (key == "composed_of") {
      if (!it->is_array()) return ParseError("[composed_of] must be an array");
      if (!it->empty()) {
        std::string names;
        for (const json& c : *it) names += (names.empty() ? "" : ", ") + c.dump();
        // There are no component templates, so every one named is missing.
        return Status::InvalidArgument("invalid_index_template_exception: index_template [" + name +
                                       "] invalid, cause [index template [" + name +
                                       "] specifies component templates [" + names +
                                       "] that do not exist]");
      }
    } else if (key == "priority" || key == "version") {
      QD_ASSIGN_OR_RETURN(out[key], NonNegative(*it, key));
    } else if (key == "_meta") {
      if (!it->is_object()) return ParseError("[_meta] must be an object");
      out["_meta"] = *it;
    } else if (key == "data_stream") {
      return engine::IllegalArgument("data streams are not supported yet");
    } else {
      return ParseError("[index_template] unknown field [" + key + "]");
    }
  }
  if (!out.contains("index_patterns")) return ValidationFailed("index patterns are missing");
  QD_ASSIGN_OR_RETURN(*parts, ReadParts(settings, mappings, aliases));
  json tmpl = json::object();
  if (!parts->settings.empty()) tmpl["settings"] = json(NestSettings(parts->settings, false));
  if (!mappings.is_null()) tmpl["mappings"] = parts->mappings;
  if (!aliases.is_null()) tmpl["aliases"] = parts->aliases;
  if (body.contains("template")) out["template"] = std::move(tmpl);
  return out;
}

// The body of PUT _template/{name}, normalized for storage.
Result<json> ReadLegacy(const json& body, IndexParts* parts) {
  json out = json::object();
  json settings, mappings, aliases;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (key == "index_patterns" || key == "template") {
      QD_ASSIGN_OR_RETURN(out["index_patterns"], Patterns(*it, "template"));
    } else if (key == "order" || key == "version") {
      if (!it->is_number_integer()) return ParseError("[" + key + "] must be an integer");
      out[key] = *it;
    } else if (key == "settings") {
      settings = *it;
    } else if (key == "mappings") {
      mappings = *it;
    } else if (key == "aliases") {
      aliases = *it;
    } else {
      return engine::IllegalArgument("unknown key [" + key + "] in the template");
    }
  }
  if (!out.contains("index_patterns")) return ValidationFailed("index patterns are missing");
  QD_ASSIGN_OR_RETURN(*parts, ReadParts(settings, mappings, aliases));
  out["settings"] = json(NestSettings(parts->settings, false));
  out["mappings"] = parts->mappings;
  out["aliases"] = parts->aliases;
  return out;
}

// Another composable template that would match some index together with `stored` at the
// same priority: OpenSearch refuses it, as index creation could not choose.
Status CheckOverlap(const cluster::ClusterState& state, const std::string& name,
                    const json& stored) {
  const int64_t priority = stored.value("priority", int64_t{0});
  for (const auto& [other, body] : state.index_templates) {
    if (other == name || body.value("priority", int64_t{0}) != priority) continue;
    for (const json& mine : stored["index_patterns"]) {
      for (const json& theirs : body.value("index_patterns", json::array())) {
        if (!theirs.is_string() || !PatternsOverlap(mine.get_ref<const std::string&>(),
                                                    theirs.get_ref<const std::string&>())) {
          continue;
        }
        return engine::IllegalArgument(
            "index template [" + name + "] has index patterns " + stored["index_patterns"].dump() +
            " matching patterns from existing templates [" + other + "] with patterns (" + other +
            " => " + body["index_patterns"].dump() + ") that have the same priority [" +
            std::to_string(priority) +
            "], multiple index templates may not match during index creation, please use a "
            "different priority");
      }
    }
  }
  return Status::OK();
}

HttpResponse PutTemplate(const RestContext& context, const IndexBodyValidator& validate,
                         const HttpRequest& request, const PathParams& params, bool composable) {
  const std::string& name = params.at("name");
  Result<bool> create = BoolParam(request, "create", false);
  if (!create.ok()) return ErrorResponse(create.status());
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  if (!body->has_value()) {
    return ErrorResponse(Status::InvalidArgument("parse_exception: request body is required"));
  }
  if (!(*body)->is_object()) return ErrorResponse(ParseError("the template must be an object"));
  IndexParts parts;
  Result<json> stored =
      composable ? ReadComposable(name, **body, &parts) : ReadLegacy(**body, &parts);
  if (!stored.ok()) return ErrorResponse(stored.status());
  // What an index created from this template alone would be: refused now, not at every
  // creation the template matches.
  if (Status valid = validate(CreateBody(parts)); !valid.ok()) return ErrorResponse(valid);
  if (composable) {
    Result<cluster::StatePtr> state = ReadClusterState(context);
    if (!state.ok()) return ErrorResponse(state.status());
    if (Status s = CheckOverlap(**state, name, *stored); !s.ok()) return ErrorResponse(s);
  }
  Status put =
      context.control_plane->PutTemplate(CallContext::WithTimeout(context.control_plane_timeout),
                                         KindOf(composable), name, *stored, *create);
  if (put.IsAlreadyExists()) {
    return ErrorResponse(engine::IllegalArgument(
        (composable ? "index template [" : "index_template [") + name + "] already exists"));
  }
  if (!put.ok()) return ErrorResponse(put);
  return Acknowledged();
}

// The stored templates of a kind whose names match the comma list `names` (all when empty),
// and the names asked for without a wildcard that do not exist.
std::pair<std::map<std::string, json>, std::vector<std::string>> Select(
    const std::map<std::string, json>& templates, const std::string& names) {
  std::map<std::string, json> found;
  std::vector<std::string> missing;
  std::vector<std::string> patterns = SplitComma(names);
  if (patterns.empty() || names == "_all") patterns = {"*"};
  for (const std::string& pattern : patterns) {
    bool any = false;
    for (const auto& [name, body] : templates) {
      if (GlobMatch(pattern, name)) {
        found.emplace(name, body);
        any = true;
      }
    }
    if (!any && pattern.find('*') == std::string::npos) missing.push_back(pattern);
  }
  return {std::move(found), std::move(missing)};
}

HttpResponse GetTemplates(const RestContext& context, const HttpRequest& request,
                          const PathParams& params, bool composable) {
  auto name = params.find("name");
  const std::string names = name == params.end() ? "" : name->second;
  Result<cluster::StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  auto [found, missing] =
      Select(composable ? (*state)->index_templates : (*state)->legacy_templates, names);
  HttpResponse response;
  if (composable) {
    if (!missing.empty()) {
      response =
          ErrorResponse(Status::NotFound("resource_not_found_exception: index template matching [" +
                                         missing.front() + "] not found"));
    } else {
      OrderedJson list = OrderedJson::array();
      for (const auto& [n, body] : found) {
        list.push_back(OrderedJson{{"name", n}, {"index_template", RenderComposable(body)}});
      }
      response = JsonResponse(200, OrderedJson{{"index_templates", std::move(list)}});
    }
  } else {
    OrderedJson out = OrderedJson::object();
    for (const auto& [n, body] : found) out[n] = RenderLegacy(body);
    // RestGetIndexTemplateAction: 404 when names were asked for and none exists.
    response = JsonResponse(!names.empty() && found.empty() ? 404 : 200, out);
  }
  if (request.method == HttpMethod::kHead) {
    response.body.clear();
    response.content_type.clear();
  }
  return response;
}

HttpResponse DeleteTemplates(const RestContext& context, const PathParams& params,
                             bool composable) {
  const std::string& names = params.at("name");
  Result<cluster::StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  auto [found, missing] =
      Select(composable ? (*state)->index_templates : (*state)->legacy_templates, names);
  if (!missing.empty() || found.empty()) {
    return ErrorResponse(Status::NotFound("index_template_missing_exception: index_template [" +
                                          (missing.empty() ? names : missing.front()) +
                                          "] missing"));
  }
  for (const auto& [n, body] : found) {
    Status s = context.control_plane->DeleteTemplate(
        CallContext::WithTimeout(context.control_plane_timeout), KindOf(composable), n);
    // Deleted meanwhile by another request: what this one asked for is done.
    if (!s.ok() && !s.IsNotFound()) return ErrorResponse(s);
  }
  return Acknowledged();
}

}  // namespace

bool PatternsOverlap(std::string_view a, std::string_view b) {
  // Breadth-first search of the product of the two patterns' automata: (i, j) = positions in
  // a and b; a literal advances when both read the same character, a '*' reads anything.
  std::vector<std::vector<bool>> seen(a.size() + 1, std::vector<bool>(b.size() + 1, false));
  std::vector<std::pair<size_t, size_t>> todo;
  Close(a, b, 0, 0, seen, todo);
  while (!todo.empty()) {
    auto [i, j] = todo.back();
    todo.pop_back();
    if (i == a.size() && j == b.size()) return true;
    const bool star_a = i < a.size() && a[i] == '*';
    const bool star_b = j < b.size() && b[j] == '*';
    if (i < a.size() && j < b.size() && !star_a && !star_b && a[i] == b[j]) {
      Close(a, b, i + 1, j + 1, seen, todo);
    } else if (star_a && j < b.size() && !star_b) {
      Close(a, b, i, j + 1, seen, todo);
    } else if (star_b && i < a.size() && !star_a) {
      Close(a, b, i + 1, j, seen, todo);
    }
  }
  return false;
}

json ApplyIndexTemplates(const cluster::ClusterState& state, std::string_view index,
                         const json& body) {
  // Lowest precedence first.
  std::vector<const json*> parts;
  const json* best = nullptr;
  for (const auto& [name, stored] : state.index_templates) {
    if (!Matches(stored, index)) continue;
    if (best == nullptr ||
        stored.value("priority", int64_t{0}) > best->value("priority", int64_t{0})) {
      best = &stored;
    }
  }
  if (best != nullptr) {
    if (best->contains("template")) parts.push_back(&(*best)["template"]);
  } else {
    for (const auto& [name, stored] : state.legacy_templates) {
      if (Matches(stored, index)) parts.push_back(&stored);
    }
    std::stable_sort(parts.begin(), parts.end(), [](const json* x, const json* y) {
      return x->value("order", int64_t{0}) < y->value("order", int64_t{0});
    });
  }
  if (parts.empty() || !(body.is_object() || body.is_null())) return body;
  std::map<std::string, json> settings;  // flat, "index."-prefixed
  auto add_settings = [&settings](const json& more) {
    Result<std::map<std::string, json>> flat = FlatRequestSettings(more);
    if (!flat.ok()) return;  // not an object: left for index creation to refuse
    for (const auto& [key, value] : *flat) settings[key] = SettingString(value);
  };
  json mappings = json::object();
  json aliases = json::object();
  for (const json* part : parts) {
    add_settings(part->value("settings", json::object()));
    MergeInto(mappings, part->value("mappings", json::object()));
    const json part_aliases = part->value("aliases", json::object());
    for (const auto& [alias, value] : part_aliases.items()) aliases[alias] = value;
  }
  json out = body.is_object() ? body : json::object();
  // The request's own parts win; malformed ones are left for index creation to refuse.
  if (const json own = out.value("settings", json::object()); own.is_object()) {
    add_settings(own);
    json flat = json::object();
    for (const auto& [key, value] : settings) flat[key] = value;
    out["settings"] = std::move(flat);
  }
  if (const json own = UnwrapType(out.value("mappings", json::object())); own.is_object()) {
    MergeInto(mappings, own);
    out["mappings"] = std::move(mappings);
  }
  if (const json own = out.value("aliases", json::object()); own.is_object()) {
    for (const auto& [alias, value] : own.items()) aliases[alias] = value;
    if (!aliases.empty()) out["aliases"] = std::move(aliases);
  }
  return out;
}

Status RegisterTemplateHandlers(const RestContext& context, IndexBodyValidator validate_index_body,
                                Router* router) {
  if (context.control_plane == nullptr || router == nullptr || !validate_index_body) {
    return Status::InvalidArgument(
        "RegisterTemplateHandlers needs a control plane, a validator and a router");
  }
  using M = HttpMethod;
  for (bool composable : {true, false}) {
    const std::string base = composable ? "/_index_template" : "/_template";
    const RestHandler get = [context, composable](const HttpRequest& r, const PathParams& p) {
      return GetTemplates(context, r, p, composable);
    };
    const RestHandler put = [context, validate_index_body, composable](const HttpRequest& r,
                                                                       const PathParams& p) {
      return PutTemplate(context, validate_index_body, r, p, composable);
    };
    const RestHandler del = [context, composable](const HttpRequest&, const PathParams& p) {
      return DeleteTemplates(context, p, composable);
    };
    // local and the cluster-manager timeouts change nothing here.
    const RouteParams read = {"cluster_manager_timeout", "local", "master_timeout"};
    QD_RETURN_IF_ERROR(router->Register(M::kGet, base, get, read));
    QD_RETURN_IF_ERROR(router->Register(M::kGet, base + "/{name}", get, read));
    QD_RETURN_IF_ERROR(router->Register(M::kHead, base + "/{name}", get, read));
    const RouteParams change = Params({kAckTimeoutParams, {"create"}});
    QD_RETURN_IF_ERROR(router->Register(M::kPut, base + "/{name}", put, change));
    QD_RETURN_IF_ERROR(router->Register(M::kPost, base + "/{name}", put, change));
    QD_RETURN_IF_ERROR(router->Register(M::kDelete, base + "/{name}", del, kAckTimeoutParams));
  }
  return Status::OK();
}

}  // namespace quidditch::rest
