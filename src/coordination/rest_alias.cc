// Index aliases and _close/_open over REST (see rest_alias.h).
#include "coordination/rest_alias.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster/commands.h"
#include "cluster/validation.h"
#include "engine/analysis/analyzer.h"
#include "engine/errors.h"
#include "engine/mapping/mapping.h"
#include "engine/search/searcher.h"

namespace quidditch::rest {

namespace {

using json = nlohmann::json;
using controlplane::CallContext;
using std::chrono::milliseconds;

Status Validation(std::string_view reason) {
  return Status::InvalidArgument(
      "action_request_validation_exception: Validation Failed: 1: " + std::string(reason) + ";");
}

Status UnexpectedToken(std::string_view field, std::string_view expected) {
  return Status::InvalidArgument("x_content_parse_exception: [aliases] failed to parse field [" +
                                 std::string(field) + "]: expected " + std::string(expected));
}

// A string-valued field; numbers are taken as their text, as OpenSearch's parser does.
Result<std::string> TextField(const json& value, std::string_view field) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return UnexpectedToken(field, "a string");
}

// A string or an array of strings.
Result<std::vector<std::string>> TextList(const json& value, std::string_view field) {
  std::vector<std::string> out;
  if (value.is_array()) {
    for (const json& item : value) {
      QD_ASSIGN_OR_RETURN(std::string text, TextField(item, field));
      out.push_back(std::move(text));
    }
    return out;
  }
  QD_ASSIGN_OR_RETURN(std::string text, TextField(value, field));
  out.push_back(std::move(text));
  return out;
}

Result<bool> BoolField(const json& value, std::string_view field) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string() && (value == "true" || value == "false")) return value == "true";
  return UnexpectedToken(field, "a boolean");
}

// The metadata fields of an alias definition (filter, routing, ...) in `body`; other keys are
// left to the caller. Returns whether `key` was one of them.
Result<bool> ReadMetadataField(const std::string& key, const json& value,
                               cluster::AliasMetadata* metadata) {
  if (key == "filter") {
    if (!value.is_object() && !value.is_null()) return UnexpectedToken(key, "an object");
    metadata->filter = value.is_object() && value.empty() ? json() : value;
  } else if (key == "routing") {
    QD_ASSIGN_OR_RETURN(metadata->index_routing, TextField(value, key));
    metadata->search_routing = metadata->index_routing;
  } else if (key == "index_routing") {
    QD_ASSIGN_OR_RETURN(metadata->index_routing, TextField(value, key));
  } else if (key == "search_routing") {
    QD_ASSIGN_OR_RETURN(metadata->search_routing, TextField(value, key));
  } else if (key == "is_write_index") {
    QD_ASSIGN_OR_RETURN(bool flag, BoolField(value, key));
    metadata->is_write_index = flag;
  } else if (key == "is_hidden") {
    QD_ASSIGN_OR_RETURN(bool flag, BoolField(value, key));
    metadata->is_hidden = flag;
  } else {
    return false;
  }
  return true;
}

Status UnknownField(std::string_view key) {
  return Status::InvalidArgument("x_content_parse_exception: [aliases] unknown field [" +
                                 std::string(key) + "]");
}

// One action of a request, its index and alias expressions not resolved yet.
struct ParsedAction {
  cluster::AliasAction::Type type = cluster::AliasAction::Type::kAdd;
  std::vector<std::string> indices;
  std::vector<std::string> aliases;
  cluster::AliasMetadata metadata;
  bool must_exist = false;
};

Result<ParsedAction> ParseAction(const json& action) {
  if (!action.is_object() || action.size() != 1) {
    return Status::InvalidArgument(
        "parsing_exception: [aliases] an action must be an object with one of [add], [remove], "
        "[remove_index]");
  }
  const std::string& verb = action.begin().key();
  const json& body = action.begin().value();
  ParsedAction parsed;
  if (verb == "add") {
    parsed.type = cluster::AliasAction::Type::kAdd;
  } else if (verb == "remove") {
    parsed.type = cluster::AliasAction::Type::kRemove;
  } else if (verb == "remove_index") {
    parsed.type = cluster::AliasAction::Type::kRemoveIndex;
  } else {
    return Status::InvalidArgument("parsing_exception: [aliases] unknown field [" + verb + "]");
  }
  if (!body.is_object()) return UnexpectedToken(verb, "an object");
  const bool remove_index = parsed.type == cluster::AliasAction::Type::kRemoveIndex;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (remove_index && key != "index" && key != "indices") {
      // OpenSearch's remove_index parser declares index, indices, alias and aliases, and the
      // last two refuse any value.
      if (key == "alias" || key == "aliases") {
        return engine::IllegalArgument("[" + key + "] is unsupported for [REMOVE_INDEX]");
      }
      return UnknownField(key);
    }
    if (key == "index") {
      QD_ASSIGN_OR_RETURN(std::string index, TextField(it.value(), key));
      parsed.indices.push_back(std::move(index));
    } else if (key == "indices") {
      QD_ASSIGN_OR_RETURN(std::vector<std::string> indices, TextList(it.value(), key));
      parsed.indices.insert(parsed.indices.end(), indices.begin(), indices.end());
    } else if (key == "alias") {
      QD_ASSIGN_OR_RETURN(std::string alias, TextField(it.value(), key));
      parsed.aliases.push_back(std::move(alias));
    } else if (key == "aliases") {
      QD_ASSIGN_OR_RETURN(std::vector<std::string> aliases, TextList(it.value(), key));
      parsed.aliases.insert(parsed.aliases.end(), aliases.begin(), aliases.end());
    } else if (key == "must_exist") {
      QD_ASSIGN_OR_RETURN(parsed.must_exist, BoolField(it.value(), key));
    } else {
      QD_ASSIGN_OR_RETURN(bool known, ReadMetadataField(key, it.value(), &parsed.metadata));
      if (!known) return UnknownField(key);
    }
  }
  // AliasActions.validate, in its order.
  if (parsed.indices.empty()) return Validation("One of [index] or [indices] is required");
  if (parsed.aliases.empty() && !remove_index) {
    return Validation("One of [alias] or [aliases] is required");
  }
  return parsed;
}

// Resolves the actions to the control plane's, one per concrete index and alias, and checks
// every add's filter against its index. Nothing is written here.
Result<std::vector<cluster::AliasAction>> ResolveActions(const cluster::ClusterState& state,
                                                         const std::vector<ParsedAction>& parsed) {
  // IndicesAliasesRequest: strict (a missing name or a wildcard matching nothing fails), a
  // closed index may be named (wildcards match open ones), index names only (an alias named is
  // "The provided expression [x] matches an alias, ...").
  IndicesOptions options;
  options.allow_no_indices = false;
  options.forbid_closed = false;
  options.ignore_aliases = true;
  std::vector<cluster::AliasAction> out;
  for (const ParsedAction& action : parsed) {
    std::string expression;
    for (const std::string& index : action.indices) {
      expression += (expression.empty() ? "" : ",") + index;
    }
    QD_ASSIGN_OR_RETURN(std::vector<std::string> indices,
                        ResolveIndices(state, expression, options));
    if (action.type == cluster::AliasAction::Type::kRemoveIndex) {
      for (const std::string& name : indices) {
        out.push_back(
            cluster::AliasAction{cluster::AliasAction::Type::kRemoveIndex, name, "", {}, false});
      }
      continue;
    }
    if (action.type == cluster::AliasAction::Type::kAdd) {
      for (const std::string& alias : action.aliases) {
        if (alias.find('*') != std::string::npos) {
          return Status::InvalidArgument("invalid_alias_name_exception: Invalid alias name [" +
                                         alias +
                                         "], must not contain the following characters [*]");
        }
        for (const std::string& name : indices) {
          const cluster::Index* index = state.FindIndex(name);
          if (!action.metadata.filter.is_null()) {
            Status valid =
                ValidateAliasFilter(action.metadata.filter, index->mappings, index->settings.other);
            if (!valid.ok()) {
              return engine::IllegalArgument("failed to parse filter for alias [" + alias + "]" +
                                             std::string(engine::kCausedBy) + valid.message());
            }
          }
          out.push_back(cluster::AliasAction{cluster::AliasAction::Type::kAdd, name, alias,
                                             action.metadata, false});
        }
      }
      continue;
    }
    // Remove: alias names and patterns resolve against each index's aliases (OpenSearch's
    // concreteAliases for REMOVE); a name no index has is left out unless must_exist, and an
    // action removing nothing at all is aliases_not_found_exception.
    size_t removed = 0;
    for (const std::string& name : indices) {
      const cluster::Index* index = state.FindIndex(name);
      std::set<std::string> matched;
      for (const std::string& pattern : action.aliases) {
        const bool all = pattern == "_all";
        if (pattern.find('*') == std::string::npos && !all) {
          if (index->aliases.contains(pattern) || action.must_exist) matched.insert(pattern);
          continue;
        }
        for (const auto& [alias, metadata] : index->aliases) {
          if (all || GlobMatch(pattern, alias)) matched.insert(alias);
        }
      }
      for (const std::string& alias : matched) {
        out.push_back(cluster::AliasAction{
            cluster::AliasAction::Type::kRemove, name, alias, {}, action.must_exist});
        ++removed;
      }
    }
    if (removed == 0) {
      std::string names;
      for (const std::string& alias : action.aliases) names += (names.empty() ? "" : ", ") + alias;
      return Status::NotFound("aliases_not_found_exception: aliases [" + names + "] missing");
    }
  }
  return out;
}

HttpResponse Apply(const RestContext& context, const HttpRequest& request,
                   const std::vector<ParsedAction>& parsed) {
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return ErrorResponse(timeout.status());
  std::vector<std::string> names;
  for (const ParsedAction& action : parsed) {
    names.insert(names.end(), action.indices.begin(), action.indices.end());
  }
  Result<cluster::StatePtr> state = ReadClusterState(context, names);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<cluster::AliasAction>> actions = ResolveActions(**state, parsed);
  if (!actions.ok()) return ErrorResponse(actions.status());
  Status applied =
      context.control_plane->UpdateAliases(CallContext::WithTimeout(*timeout), *actions);
  if (!applied.ok()) return ErrorResponse(AliasError(applied));
  return Acknowledged();
}

HttpResponse UpdateAliases(const RestContext& context, const HttpRequest& request,
                           const PathParams&) {
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  std::vector<ParsedAction> parsed;
  if (body->has_value()) {
    for (auto it = (*body)->begin(); it != (*body)->end(); ++it) {
      if (it.key() != "actions") return ErrorResponse(UnknownField(it.key()));
      if (!it.value().is_array()) return ErrorResponse(UnexpectedToken("actions", "an array"));
      for (const json& action : it.value()) {
        Result<ParsedAction> one = ParseAction(action);
        if (!one.ok()) return ErrorResponse(one.status());
        parsed.push_back(std::move(one).value());
      }
    }
  }
  if (parsed.empty()) {
    return ErrorResponse(Validation("Must specify at least one alias action"));
  }
  return Apply(context, request, parsed);
}

// PUT|POST /{index}/_alias/{name}: the body holds the alias's metadata (and may repeat index
// and alias, as RestIndexPutAliasAction reads them).
HttpResponse PutAlias(const RestContext& context, const HttpRequest& request,
                      const PathParams& params) {
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  ParsedAction action;
  action.indices = SplitComma(params.at("index"));
  action.aliases = SplitComma(params.at("name"));
  if (body->has_value()) {
    for (auto it = (*body)->begin(); it != (*body)->end(); ++it) {
      if (it.key() == "index" || it.key() == "alias") continue;  // the path's win
      Result<bool> known = ReadMetadataField(it.key(), it.value(), &action.metadata);
      if (!known.ok()) return ErrorResponse(known.status());
      if (!*known) return ErrorResponse(UnknownField(it.key()));
    }
  }
  if (request.HasParam("routing")) {
    action.metadata.index_routing = action.metadata.search_routing = request.Param("routing");
  }
  return Apply(context, request, {action});
}

HttpResponse DeleteAlias(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  ParsedAction action;
  action.type = cluster::AliasAction::Type::kRemove;
  action.indices = SplitComma(params.at("index"));
  action.aliases = SplitComma(params.at("name"));
  return Apply(context, request, {action});
}

// GET _alias and friends: RestGetAliasesAction's body. `exists` answers HEAD.
HttpResponse GetAliases(const RestContext& context, const HttpRequest& request,
                        const PathParams& params, bool exists) {
  auto fail = [exists](const Status& status) {
    if (!exists) return ErrorResponse(status);
    HttpResponse response;
    response.status = ErrorTypeOf(status).second;
    response.content_type.clear();
    return response;
  };
  // GetAliasesRequest: strictExpandHidden (open, closed and hidden indices).
  IndicesOptions defaults;
  defaults.expand_closed = true;
  defaults.expand_hidden = true;
  defaults.forbid_closed = false;
  Result<IndicesOptions> options = IndicesOptionsOf(request, defaults);
  if (!options.ok()) return fail(options.status());
  auto index_param = params.find("index");
  const std::string expression = index_param == params.end() ? "_all" : index_param->second;
  Result<cluster::StatePtr> state = ReadClusterState(context, SplitComma(expression));
  if (!state.ok()) return fail(state.status());
  Result<std::vector<std::string>> indices = ResolveIndices(**state, expression, *options);
  if (!indices.ok()) return fail(indices.status());

  auto name_param = params.find("name");
  const std::vector<std::string> patterns =
      name_param == params.end() ? std::vector<std::string>{} : SplitComma(name_param->second);
  const bool explicit_names = !patterns.empty();
  // An alias matches the last pattern that speaks of it: "-x" after a wildcard excludes.
  auto matches = [&](const std::string& alias) {
    bool match = !explicit_names;
    bool wildcard_seen = false;
    for (const std::string& pattern : patterns) {
      std::string_view p = pattern;
      const bool exclude = p.starts_with('-') && wildcard_seen;
      if (exclude) p.remove_prefix(1);
      if (p == "_all" || p.find('*') != std::string_view::npos) wildcard_seen = true;
      if (p == "_all" || GlobMatch(p, alias)) match = !exclude;
    }
    return match;
  };
  OrderedJson found = OrderedJson::object();
  std::set<std::string> seen;
  for (const std::string& name : *indices) {
    const cluster::Index* index = (*state)->FindIndex(name);
    OrderedJson aliases = OrderedJson::object();
    for (const auto& [alias, metadata] : index->aliases) {
      if (!matches(alias)) continue;
      aliases[alias] = AliasMetadataJson(metadata);
      seen.insert(alias);
    }
    if (!explicit_names || !aliases.empty()) {
      found[name] = OrderedJson{{"aliases", std::move(aliases)}};
    }
  }
  // Named aliases (no wildcard, not excluded) that no index has: 404 with what was found.
  std::vector<std::string> missing;
  for (const std::string& pattern : patterns) {
    if (pattern == "_all" || pattern.starts_with('-') || pattern.find('*') != std::string::npos) {
      continue;
    }
    if (!seen.contains(pattern)) missing.push_back(pattern);
  }
  if (exists) {
    HttpResponse response;
    response.status = missing.empty() && !(explicit_names && found.empty()) ? 200 : 404;
    response.content_type.clear();
    return response;
  }
  if (missing.empty()) return JsonResponse(200, found);
  std::string list;
  for (const std::string& alias : missing) list += (list.empty() ? "" : ",") + alias;
  OrderedJson out = {
      {"error", (missing.size() == 1 ? "alias [" : "aliases [") + list + "] missing"},
      {"status", 404}};
  for (auto& [name, value] : found.items()) out[name] = value;
  return JsonResponse(404, out);
}

// wait_for_active_shards: "all" -> -1, a number, or the default 1.
Result<int32_t> ActiveShards(const HttpRequest& request) {
  if (!request.HasParam("wait_for_active_shards")) return 1;
  std::string_view value = request.Param("wait_for_active_shards");
  if (value == "all") return -1;
  if (value == "index-setting") return 1;
  Result<int64_t> n = IntParam(request, "wait_for_active_shards", 1);
  if (!n.ok() || *n < 0) {
    return engine::IllegalArgument("cannot parse ActiveShardCount[" + std::string(value) + "]");
  }
  return static_cast<int32_t>(*n);
}

// Whether every primary of `index` answers (waiting until `deadline`). The copies of a closed
// index stay STARTED in the routing table while the data nodes close their engines, so the
// routing cannot tell when an opened index's shards serve again; their answer can.
bool PrimariesServe(const RestContext& context, const cluster::Index& index,
                    std::chrono::steady_clock::time_point deadline) {
  for (int32_t shard = 0; shard < static_cast<int32_t>(index.routing.shards.size()); ++shard) {
    while (true) {
      Result<data::ShardService*> service = PrimaryShardService(context, index, shard);
      if (service.ok() && (*service)->Stats(data::ShardKey{index.name, shard}).ok()) break;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  return true;
}

// POST /{index}/_close and /{index}/_open.
HttpResponse SetClosed(const RestContext& context, const HttpRequest& request,
                       const PathParams& params, bool close) {
  Result<milliseconds> timeout = AckTimeout(request);
  if (!timeout.ok()) return ErrorResponse(timeout.status());
  Result<int32_t> wait_for = ActiveShards(request);
  if (!wait_for.ok()) return ErrorResponse(wait_for.status());
  // CloseIndexRequest: strictExpandOpen; OpenIndexRequest: wildcards expand closed indices.
  IndicesOptions defaults;
  defaults.forbid_closed = false;
  defaults.expand_open = close;
  defaults.expand_closed = !close;
  Result<IndicesOptions> options = IndicesOptionsOf(request, defaults);
  if (!options.ok()) return ErrorResponse(options.status());
  const std::string expression = params.at("index");
  Result<cluster::StatePtr> state = ReadClusterState(context, SplitComma(expression));
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<std::string>> names = ResolveIndices(**state, expression, *options);
  if (!names.ok()) return ErrorResponse(names.status());
  OrderedJson indices = OrderedJson::object();
  std::vector<std::string> changed;
  for (const std::string& name : *names) {
    const cluster::Index* index = (*state)->FindIndex(name);
    if (index->closed == close) continue;  // already as asked: nothing to do for it
    Status s =
        context.control_plane->SetIndexClosed(CallContext::WithTimeout(*timeout), name, close);
    if (s.IsNotFound()) continue;  // deleted meanwhile
    if (!s.ok()) return ErrorResponse(AliasError(s), name);
    indices[name] = OrderedJson{{"closed", true}};
    changed.push_back(name);
  }
  bool shards_acknowledged = true;
  if (!close && !changed.empty() && *wait_for != 0) {
    const auto deadline = std::chrono::steady_clock::now() + *timeout;
    Result<cluster::StatePtr> now = WaitForActiveShards(context, changed, *wait_for, *timeout);
    for (const std::string& name : changed) {
      const cluster::Index* index = now.ok() ? (*now)->FindIndex(name) : nullptr;
      shards_acknowledged = shards_acknowledged && index != nullptr &&
                            ActiveShardsReached(*index, *wait_for) &&
                            PrimariesServe(context, *index, deadline);
    }
  }
  OrderedJson out = {{"acknowledged", true}, {"shards_acknowledged", shards_acknowledged}};
  if (close) out["indices"] = std::move(indices);
  return JsonResponse(200, out);
}

}  // namespace

Result<cluster::Aliases> ParseAliasesObject(const json& aliases) {
  if (!aliases.is_object()) {
    return Status::InvalidArgument("parsing_exception: Failed to parse value [aliases]");
  }
  cluster::Aliases out;
  for (auto it = aliases.begin(); it != aliases.end(); ++it) {
    Status valid = cluster::ValidateAliasName(it.key());
    if (!valid.ok()) return AliasError(valid);
    cluster::AliasMetadata metadata;
    if (!it.value().is_object()) return UnexpectedToken(it.key(), "an object");
    for (auto field = it.value().begin(); field != it.value().end(); ++field) {
      QD_ASSIGN_OR_RETURN(bool known, ReadMetadataField(field.key(), field.value(), &metadata));
      if (!known) return UnknownField(field.key());
    }
    out[it.key()] = std::move(metadata);
  }
  return out;
}

Status ValidateAliasFilter(const json& filter, const json& mappings, const json& settings_other) {
  json analysis = json::object();
  if (settings_other.is_object()) {
    if (auto it = settings_other.find("analysis"); it != settings_other.end() && it->is_object()) {
      analysis = *it;
    }
  }
  QD_ASSIGN_OR_RETURN(std::shared_ptr<const engine::AnalysisRegistry> registry,
                      engine::AnalysisRegistry::Create(analysis));
  QD_ASSIGN_OR_RETURN(engine::Mapping mapping, engine::Mapping::FromJson(mappings, *registry));
  engine::SearchContext ctx{nullptr, &mapping, registry.get(), 0};
  return engine::ParseQuery(filter, ctx).status();
}

OrderedJson AliasMetadataJson(const cluster::AliasMetadata& metadata) {
  OrderedJson out = OrderedJson::object();
  if (!metadata.filter.is_null()) out["filter"] = OrderedJson(metadata.filter);
  if (!metadata.index_routing.empty()) out["index_routing"] = metadata.index_routing;
  if (!metadata.search_routing.empty()) out["search_routing"] = metadata.search_routing;
  if (metadata.is_write_index) out["is_write_index"] = *metadata.is_write_index;
  if (metadata.is_hidden) out["is_hidden"] = *metadata.is_hidden;
  return out;
}

OrderedJson AliasesJson(const cluster::Aliases& aliases) {
  OrderedJson out = OrderedJson::object();
  for (const auto& [name, metadata] : aliases) out[name] = AliasMetadataJson(metadata);
  return out;
}

Status AliasError(const Status& status) {
  if (!engine::SplitEngineError(status).first.empty()) return status;
  const std::string& m = status.message();
  if (status.IsNotFound()) {
    if (m.starts_with("aliases [")) {
      return Status::NotFound("aliases_not_found_exception: " + m);
    }
    return Status::NotFound("index_not_found_exception: " + m);
  }
  if (status.IsInvalidArgument()) {
    if (m.starts_with("Invalid alias name")) {
      return Status::InvalidArgument("invalid_alias_name_exception: " + m);
    }
    if (m.starts_with("Invalid index name")) {
      return Status::InvalidArgument("invalid_index_name_exception: " + m);
    }
    return Status::InvalidArgument("illegal_argument_exception: " + m);
  }
  return status;
}

Status RegisterAliasHandlers(const RestContext& context, Router* router) {
  if (context.control_plane == nullptr || router == nullptr) {
    return Status::InvalidArgument("RegisterAliasHandlers needs a control plane and a router");
  }
  using M = HttpMethod;
  auto get = [context](const HttpRequest& r, const PathParams& p) {
    return GetAliases(context, r, p, /*exists=*/false);
  };
  auto head = [context](const HttpRequest& r, const PathParams& p) {
    return GetAliases(context, r, p, /*exists=*/true);
  };
  auto update = [context](const HttpRequest& r, const PathParams& p) {
    return UpdateAliases(context, r, p);
  };
  auto put = [context](const HttpRequest& r, const PathParams& p) {
    return PutAlias(context, r, p);
  };
  auto remove = [context](const HttpRequest& r, const PathParams& p) {
    return DeleteAlias(context, r, p);
  };
  auto close = [context](const HttpRequest& r, const PathParams& p) {
    return SetClosed(context, r, p, /*close=*/true);
  };
  auto open = [context](const HttpRequest& r, const PathParams& p) {
    return SetClosed(context, r, p, /*close=*/false);
  };
  // local changes nothing here.
  const RouteParams read = Params({kIndexOptionParams, {"local"}});
  for (std::string_view path : {"/_alias", "/_aliases", "/_alias/{name}", "/{index}/_alias",
                                "/{index}/_aliases", "/{index}/_alias/{name}"}) {
    QD_RETURN_IF_ERROR(router->Register(M::kGet, path, get, read));
  }
  for (std::string_view path : {"/_alias/{name}", "/{index}/_alias/{name}"}) {
    QD_RETURN_IF_ERROR(router->Register(M::kHead, path, head, read));
  }
  QD_RETURN_IF_ERROR(router->Register(M::kPost, "/_aliases", update, kAckTimeoutParams));
  for (std::string_view path : {"/{index}/_alias/{name}", "/{index}/_aliases/{name}"}) {
    QD_RETURN_IF_ERROR(
        router->Register({M::kPut, M::kPost}, path, put, Params({kAckTimeoutParams, {"routing"}})));
    QD_RETURN_IF_ERROR(router->Register(M::kDelete, path, remove, kAckTimeoutParams));
  }
  const RouteParams open_close =
      Params({kIndexOptionParams, kAckTimeoutParams, {"wait_for_active_shards"}});
  QD_RETURN_IF_ERROR(router->Register(M::kPost, "/{index}/_close", close, open_close));
  QD_RETURN_IF_ERROR(router->Register(M::kPost, "/{index}/_open", open, open_close));
  return Status::OK();
}

}  // namespace quidditch::rest
