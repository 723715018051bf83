// Search over the leaves (segments) of one shard: the OpenSearch Query DSL parsed into Query
// objects, BM25 scoring equal to Lucene 9's, top hits by score or by sort fields, and a visit
// of every match for aggregations (MatchCollector, engine/search/collector.h).
//
// A Query is parsed once against a SearchContext (the mapping and the analyzers decide how
// each field is queried) and is then immutable: it may run on any snapshot of leaves of the
// same index, from several threads at once.
//
// Errors: malformed DSL is `parsing_exception`, a query that cannot run on a field
// `query_shard_exception` (see engine/errors.h), both InvalidArgument.
//
// Known differences from OpenSearch: sloppy phrase frequencies approximate Lucene's
// SloppyPhraseMatcher (same matches in common cases, freq may differ); cross_fields does not
// blend term statistics; time_zone takes fixed offsets only; highlight fragments come in
// document order; sort "missing" takes only _first/_last; multi-term queries other than fuzzy
// score constant (as OpenSearch's default constant_score rewrite).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "engine/analysis/analyzer.h"
#include "engine/index/segment.h"
#include "engine/mapping/mapping.h"
#include "engine/search/collector.h"

namespace quidditch::engine {

// OpenSearch's search `timeout`: collection stops once `at` has passed, and the results are
// what was collected until then. Search and ForEachMatch look at the clock every
// kDeadlineCheckInterval documents they visit, so a search overruns its deadline by at most
// that much work.
struct SearchDeadline {
  std::chrono::steady_clock::time_point at;
  bool expired = false;  // set by the search that stopped early

  // True (and remembered) once the deadline has passed.
  bool Check() {
    if (!expired && std::chrono::steady_clock::now() >= at) expired = true;
    return expired;
  }
};
inline constexpr uint64_t kDeadlineCheckInterval = 4096;

// What a query runs against. All pointers are borrowed and must outlive every call that gets
// the context. `leaves` is one point-in-time snapshot of the shard, in doc_base order.
struct SearchContext {
  const std::vector<Leaf>* leaves = nullptr;
  const Mapping* mapping = nullptr;
  const AnalysisRegistry* analysis = nullptr;
  int64_t now_millis = 0;              // "now" of date math, fixed for one request
  SearchDeadline* deadline = nullptr;  // null: no timeout
};

class Weight;  // engine/search/query.h: a query bound to the statistics of one snapshot

// A parsed query: immutable and reusable across snapshots and threads.
class Query {
 public:
  virtual ~Query();
  // A canonical form: equal strings mean equal queries (used as a cache key, and readable in
  // explanations and test failures).
  virtual std::string ToString() const = 0;
  // Binds the query to the index statistics of `ctx.leaves`, its scores multiplied by
  // `boost`. `needs_scores` false lets a query skip scoring. Internal to the search module
  // (engine/search/query.h); other modules call ParseQuery / Search / ForEachMatch.
  virtual Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                                       float boost) const = 0;
  // Whether a hit on `term` of `field` is one this query looks for (highlighting): the terms
  // of term, match and phrase queries, those a multi-term query selects, recursively through
  // the positive clauses of compound queries.
  virtual bool MatchesTerm(std::string_view field, std::string_view term) const {
    (void)field;
    (void)term;
    return false;
  }
};

// Parses an OpenSearch Query DSL object (the value of "query", e.g. {"match": {...}}).
// Field names are resolved and query text is analyzed now, against ctx.mapping and
// ctx.analysis (ctx.leaves is not used). A field the mapping does not know matches nothing,
// as in OpenSearch.
Result<std::unique_ptr<Query>> ParseQuery(const nlohmann::json& dsl, const SearchContext& ctx);

// Visits every live doc of ctx.leaves matching `query`, leaf by leaf, doc ids ascending
// (collector->SetLeaf before each leaf). Scores are computed only if
// collector->needs_scores().
Status ForEachMatch(const Query& query, const SearchContext& ctx, MatchCollector* collector);

// A value of a sort key: null (missing), an integer (long/date fields, _doc), a double
// (double/float fields, _score) or a string (keyword fields).
using SortValue = std::variant<std::monostate, int64_t, double, std::string>;

nlohmann::json SortValueToJson(const SortValue& v);

struct SortField {
  std::string field;  // "_score", "_doc", or a field with doc values
  bool descending = false;
  // Where docs without a value go: OpenSearch's "missing": "_last" (default) or "_first".
  bool missing_first = false;
};

// Parses OpenSearch's "sort" (a string, an object, or an array of them: "field",
// {"field": "desc"}, {"field": {"order": "desc", "missing": "_first"}}, "_score", "_doc").
// Defaults: _score descending, anything else ascending.
Result<std::vector<SortField>> ParseSort(const nlohmann::json& sort, const SearchContext& ctx);

// Converts a JSON search_after array into sort values typed after `sort`.
Result<std::vector<SortValue>> ParseSearchAfter(const nlohmann::json& search_after,
                                                const std::vector<SortField>& sort,
                                                const SearchContext& ctx);

inline constexpr uint64_t kTrackTotalHitsExact = std::numeric_limits<uint64_t>::max();

struct SearchRequest {
  const Query* query = nullptr;  // required; borrowed
  size_t from = 0;
  size_t size = 10;
  // Empty: by _score descending (ties by index order).
  std::vector<SortField> sort;
  // Only hits sorting after these values (one per sort key); empty: none.
  std::vector<SortValue> search_after;
  // track_total_hits: count matches exactly up to this many, then report a lower bound
  // ("gte"). true = kTrackTotalHitsExact, false = 0, default 10000.
  uint64_t track_total_hits = 10000;
  bool explain = false;
  // Hits scoring below are not matches (OpenSearch min_score).
  std::optional<float> min_score;
  // Also receives every match (disables pruning). Borrowed; may be null.
  MatchCollector* collector = nullptr;
  // OpenSearch's terminate_after: > 0 stops the search after this many matches in doc order
  // (disables pruning); the hits are the best of those, the collector sees only those, and
  // TopDocs::terminated_early says whether more matches were left.
  uint64_t terminate_after = 0;
};

struct Hit {
  size_t leaf = 0;                            // index into ctx.leaves
  uint32_t doc = 0;                           // doc id within the leaf
  float score = 0;                            // NaN when sorted by fields without _score
  std::vector<SortValue> sort_values;         // one per sort key when sorted by fields
  std::optional<nlohmann::json> explanation;  // when explain: OpenSearch's shape
};

struct TopDocs {
  uint64_t total_hits = 0;
  bool total_is_lower_bound = false;  // OpenSearch "relation": "gte"
  float max_score = 0;                // NaN when there are no hits or scores were not computed
  std::vector<Hit> hits;              // hits [from, from + size) in order
  bool terminated_early = false;      // stopped at terminate_after with matches left
};

// Runs `req` over ctx.leaves.
Result<TopDocs> Search(const SearchRequest& req, const SearchContext& ctx);

}  // namespace quidditch::engine
