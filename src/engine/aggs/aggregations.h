// Aggregations: the `aggs` of a search, run on one shard as a MatchCollector, and the exact
// cross-shard reduce of their partial results into the `aggregations` object of an OpenSearch
// search response.
//
//   auto collector = ParseAggregations(request["aggs"], context);   // per shard
//   searcher runs the query with *collector as MatchCollector
//   ShardAggregations partial = (*collector)->Finish();
//   std::string wire = EncodePartial(partial);                       // to the coordinator
//   ... DecodePartial(wire) for every shard ...
//   nlohmann::json response_aggs = *ReduceAggregations(partials);
//
// Partial results carry everything the reduce needs (sizes, orders, formats, sketches), so the
// coordinator needs no request. The reduce follows OpenSearch's InternalAggregation.reduce:
// terms counts beyond shard_size, cardinality above precision_threshold and percentiles are
// approximate exactly as OpenSearch's are; everything else is identical however documents are
// split among shards (floating-point sums up to summation order).
//
// Supported: terms, range, date_range, histogram, date_histogram, missing, filter, filters,
// avg, sum, min, max, stats, extended_stats, value_count, cardinality, percentiles, top_hits.
// Not supported (rejected with an error, never silently ignored): scripts, hard_bounds,
// include partitions, hdr percentiles, show_term_doc_count_error, top_hits options other than
// size/from/sort/_source(true|false). Accepted but without effect: execution_hint,
// collect_mode, a `format` on non-date numeric fields (no DecimalFormat value_as_string).
// terms min_doc_count 0 adds the keyword terms of the collected segments only (numeric fields:
// only values seen).
//
// Thread safety: an AggregationsCollector is used by one search thread. The free functions are
// thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/mapping/mapping.h"
#include "engine/search/collector.h"

namespace quidditch::engine {

// Tests whether documents of a leaf match a query; used by the filter/filters aggregations.
class LeafMatcher {
 public:
  virtual ~LeafMatcher() = default;
  // Called in leaf order before Matches() of that leaf's docs.
  virtual void SetLeaf(size_t leaf_index, const Leaf& leaf) = 0;
  // Docs of the current leaf are asked in ascending order.
  virtual bool Matches(uint32_t doc) = 0;
};

struct AggregationContext {
  // The field of a path, or nullptr when it is unmapped (an unmapped field aggregates nothing,
  // as in OpenSearch). Must stay valid while ParseAggregations runs only.
  std::function<const FieldMapping*(std::string_view path)> find_field;
  // `now` of date math, epoch ms.
  int64_t now_millis = 0;
  // The index name reported in top_hits hits.
  std::string index_name;
  // Builds a matcher for a Query DSL object (filter / filters). Null: those aggregations are
  // rejected with an illegal_argument_exception. The matcher lives as long as the collector.
  std::function<Result<std::unique_ptr<LeafMatcher>>(const nlohmann::json& query)> make_matcher;
};

// A context that resolves fields through `mapping` (which must outlive the context).
inline AggregationContext ContextForMapping(const Mapping& mapping, int64_t now_millis) {
  AggregationContext c;
  c.find_field = [&mapping](std::string_view path) { return mapping.Find(path); };
  c.now_millis = now_millis;
  return c;
}

// The partial results of one shard: {name: partial} (an opaque JSON value; only this module
// reads its inside).
using ShardAggregations = nlohmann::json;

class AggregationsCollector : public MatchCollector {
 public:
  ~AggregationsCollector() override = default;
  // The partial results after all leaves were collected. Fails only when a stored document
  // cannot be read (top_hits).
  virtual Result<ShardAggregations> Finish() = 0;
};

// Parses the `aggs` (or `aggregations`) object of a search request. Errors as OpenSearch:
// unknown type -> parsing_exception "Unknown aggregation type [foo]"; a text field ->
// illegal_argument_exception "Text fields are not optimised ..."; bad parameters ->
// parsing_exception / illegal_argument_exception.
Result<std::unique_ptr<AggregationsCollector>> ParseAggregations(const nlohmann::json& aggs,
                                                                 const AggregationContext& context);

// The wire form of partial results (compact JSON) and back (Corruption when malformed).
std::string EncodePartial(const ShardAggregations& partial);
Result<ShardAggregations> DecodePartial(std::string_view bytes);

// How the reduced aggregations are written.
struct RenderOptions {
  // `typed_keys`: every aggregation's name is prefixed with its result type, "sterms#name",
  // "date_histogram#name", ... (InternalAggregation.getType()), as OpenSearch writes them when
  // the request has typed_keys=true; typed clients (opensearch-java) need it to parse results.
  bool typed_keys = false;
};

// Merges the partial results of all shards (at least one; all from the same request) into the
// `aggregations` object of the search response.
Result<nlohmann::json> ReduceAggregations(const std::vector<ShardAggregations>& shards,
                                          const RenderOptions& options = {});

}  // namespace quidditch::engine
