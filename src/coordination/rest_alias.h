// Index aliases and closing/opening indices over REST, as OpenSearch 2.19 answers them.
//
// Routes:
//   POST /_aliases                           {"actions": [{"add"|"remove"|"remove_index": {...}}]}
//   PUT|POST /{index}/_alias/{name}, /{index}/_aliases/{name}   add (body: filter, routing, ...)
//   DELETE /{index}/_alias/{name}, /{index}/_aliases/{name}     remove (wildcards)
//   GET /_alias, /_aliases, /_alias/{name}, /{index}/_alias, /{index}/_aliases,
//       /{index}/_alias/{name}; HEAD /_alias/{name}, /{index}/_alias/{name}
//   POST /{index}/_close, /{index}/_open
//
// Index names in actions are resolved to concrete indices (wildcards; an alias's name is refused,
// as OpenSearch refuses it) before anything is written; alias names of remove actions are
// resolved against the aliases the indices have. An alias filter is parsed by the engine's query
// parser against the index's mapping, so that a filter searches would fail on is refused up
// front. Every action of one request is applied by one control-plane command
// (cluster::UpdateAliasesCmd): all or nothing, remove_index (which deletes the index) included.
//
// Thread safety: the handlers are thread-safe; they keep no state between requests.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "cluster/types.h"
#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// The "aliases" object of a create-index body ({name: {filter, routing, index_routing,
// search_routing, is_write_index, is_hidden}}), alias names validated; filters are checked
// later against the mapping (ValidateAliasFilter).
Result<cluster::Aliases> ParseAliasesObject(const nlohmann::json& aliases);
// Parses `filter` against `index`'s mappings and analysis settings: OK, or the parser's error.
Status ValidateAliasFilter(const nlohmann::json& filter, const nlohmann::json& mappings,
                           const nlohmann::json& settings_other);
// An alias's metadata as GET _alias and GET /{index} print it ({} when it has none).
OrderedJson AliasMetadataJson(const cluster::AliasMetadata& metadata);
// {alias: metadata...} of `aliases`.
OrderedJson AliasesJson(const cluster::Aliases& aliases);
// The control plane's alias errors as OpenSearch types them (invalid_alias_name_exception,
// invalid_index_name_exception, index_not_found_exception, aliases_not_found_exception).
Status AliasError(const Status& status);

// Registers every route listed above. REQUIRES: context.control_plane set.
Status RegisterAliasHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
