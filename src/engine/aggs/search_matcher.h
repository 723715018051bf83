// The glue between aggregations and the search module: an AggregationContext whose fields come
// from the mapping and whose filter/filters queries are parsed and run by engine/search.
#pragma once

#include <string>

#include "engine/aggs/aggregations.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {

// A context for aggregations over `search.leaves`. filter/filters queries are parsed with
// ParseQuery and their matches computed at parse time, one pass over the snapshot per filter
// (a bitset per leaf), so the collector must only see leaves of that same snapshot, with the
// same leaf indexes. `search` and what it points to must stay valid while ParseAggregations
// runs; the returned context must not outlive search.mapping.
AggregationContext ContextForSearch(const SearchContext& search, std::string index_name);

}  // namespace quidditch::engine
