// Index templates: composable ones (`_index_template`, OpenSearch 2.x) and legacy ones
// (`_template`), stored in the cluster state and applied to the indices created after them.
//
// Routes (OpenSearch 2.19 paths, parameters and bodies):
//   PUT|POST /_index_template/{name}     index_patterns, template {settings, mappings, aliases},
//                                        priority, version, _meta; `create`
//   GET /_index_template[/{name}]        names: comma list, wildcards; HEAD /_index_template/{name}
//   DELETE /_index_template/{name}
//   PUT|POST /_template/{name}           index_patterns, order, version, settings, mappings,
//                                        aliases; `create`
//   GET /_template[/{name}], HEAD /_template/{name}, DELETE /_template/{name}
//
// A template is stored normalized, as GET prints it: index_patterns an array, settings nested
// under "index" with string values, mappings without a type level. Its settings and mappings
// are validated as index creation validates them (`validate_index_body`), so that a template
// cannot make every matching index creation fail. Component templates (`composed_of`) and
// data streams are not supported: a template naming them is refused.
//
// Which templates a new index gets (OpenSearch's MetadataCreateIndexService): the composable
// template with the highest priority among those whose patterns match its name; when none
// matches, every matching legacy template, a higher `order` overriding a lower one. The
// create request's own settings, mappings and aliases override the template's. Two composable
// templates with the same priority and overlapping patterns are refused, as in OpenSearch, so
// the choice is never ambiguous.
//
// Thread safety: the handlers and functions are thread-safe; they keep no state.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// Checks a create-index body ({settings, mappings, aliases}) as PUT /{index} would, without
// creating anything: OK or the error PUT /{index} would answer.
using IndexBodyValidator = std::function<Status(const nlohmann::json& body)>;

// The create-index body for a new index `index`: `body` (the request's {settings, mappings,
// aliases}, possibly empty) with the matching templates' parts under it.
nlohmann::json ApplyIndexTemplates(const cluster::ClusterState& state, std::string_view index,
                                   const nlohmann::json& body);

// True when some name matches both '*'-patterns (the overlap OpenSearch refuses between two
// composable templates of one priority).
bool PatternsOverlap(std::string_view a, std::string_view b);

// Registers the routes above. REQUIRES: context.control_plane set.
Status RegisterTemplateHandlers(const RestContext& context, IndexBodyValidator validate_index_body,
                                Router* router);

}  // namespace quidditch::rest
