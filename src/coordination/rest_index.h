// The index APIs: create, delete, exists and get an index; its mappings and settings; refresh,
// flush, _analyze and _field_caps. Aliases and _close/_open are rest_alias.h's, index templates
// rest_template.h's (a new index gets the matching templates' settings, mappings and aliases).
//
// Routes (OpenSearch 2.19 paths, parameters and bodies):
//   PUT /{index}                         create (settings, mappings, aliases)
//   DELETE /{index}                      delete (comma list, wildcards, _all; closed ones too)
//   HEAD /{index}, GET /{index}          exists, get ({aliases, mappings, settings})
//   GET /_mapping, /{index}/_mapping     mappings as the shards hold them (dynamic fields too)
//   GET /_mapping/field/{fields}, /{index}/_mapping/field/{fields}   leaf field definitions
//   PUT|POST /{index}/_mapping           add fields (validated on every shard first)
//   GET /_settings, /{index}/_settings, /_settings/{name}, /{index}/_settings/{name}
//   PUT /_settings, /{index}/_settings   dynamic settings only on open indices
//   GET|POST /_refresh, /{index}/_refresh, /_flush, /{index}/_flush
//   GET|POST /_analyze, /{index}/_analyze
//   GET|POST /_field_caps, /{index}/_field_caps
//
// GET /{index}, _mapping, _settings and DELETE work on closed indices (a closed index's mapping
// comes from its metadata: its shards are closed); the others answer index_closed_exception for
// a closed index named explicitly.
//
// A new index is validated completely before ControlPlane.CreateIndex is called: its name,
// every setting (unknown ones are rejected as OpenSearch rejects them), its analysis (by
// building the engine's AnalysisRegistry) and its mappings (by building the engine's Mapping),
// so that a bad request creates nothing.
//
// Thread safety: the handlers are thread-safe; they keep no state between requests.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// OpenSearch's index-name rules (MetadataCreateIndexService.validateIndexName): OK, or
// invalid_index_name_exception (InvalidArgument) "Invalid index name [name], <why>".
Status ValidateIndexName(std::string_view name);

// The index a create-index body ({settings, mappings, aliases}; null for none) asks for,
// validated completely (every setting, the analysis, the mappings, alias filters) as PUT
// /{index} does, or the error PUT /{index} answers. Creates nothing.
Result<controlplane::CreateIndexRequest> ParseCreateIndexBody(const std::string& name,
                                                              const nlohmann::json& body);

// --- settings and mappings in OpenSearch's shapes (shared with index templates) ---------------

// The settings of a request body (nested or flat, with or without "index."), flat, every key
// "index."-prefixed (Settings.normalizePrefix); parsing_exception when not an object.
Result<std::map<std::string, nlohmann::json>> FlatRequestSettings(const nlohmann::json& settings);
// The value of a setting as OpenSearch prints it: a string (lists stay lists of strings).
nlohmann::json SettingString(const nlohmann::json& value);
// Flat settings nested at their dots, or left flat with `flat_settings`, as GET prints them.
OrderedJson NestSettings(const std::map<std::string, nlohmann::json>& flat, bool flat_settings);
// A mapping body, unwrapped from a single "_doc" type name as OpenSearch accepts it.
nlohmann::json UnwrapType(const nlohmann::json& mappings);

// Registers every route listed above on `router`. REQUIRES: context.control_plane set.
Status RegisterIndexHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
