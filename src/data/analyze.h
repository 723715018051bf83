// _analyze: the tokens an analyzer produces for a text, in OpenSearch's shape. Shared by the
// data role (an index's analyzers) and the coordinator (_analyze without an index).
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/analysis/analyzer.h"
#include "engine/mapping/mapping.h"

namespace quidditch::data {

// Runs the _analyze request `request` ({"text", "analyzer" | "tokenizer" + "filter" +
// "char_filter" (names or inline definitions) | "field"}) and answers {"tokens": [{"token",
// "start_offset", "end_offset" (UTF-16 units, as Java counts), "type", "position"}]}.
// `analysis` is the index's `analysis` settings object (which inline chains may name),
// `registry` the index's analyzers, `mapping` its mapping; without an index, pass an empty
// object, a registry of the built-ins and null (then `field` is an error and an unknown
// analyzer is a "global" one, as OpenSearch words it). Errors are illegal_argument_exception and
// action_request_validation_exception (no text).
Result<nlohmann::json> AnalyzeText(const nlohmann::json& request, const nlohmann::json& analysis,
                                   const engine::AnalysisRegistry& registry,
                                   const engine::Mapping* mapping);

}  // namespace quidditch::data
