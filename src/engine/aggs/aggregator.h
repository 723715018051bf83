// Internal to engine/aggs: the per-shard Aggregator tree and the reduce of partial results.
//
// Aggregators collect with "owning bucket ordinals" as OpenSearch's do: one aggregator object
// per request node, whatever the number of buckets above it; Collect(doc, score, owning) adds
// the doc to the state of parent bucket `owning`. State lives in arrays indexed by ordinal, so
// per-doc collection allocates nothing except when a new bucket or value appears.
//
// Partial results are JSON objects {"type": <agg type>, ...}; every bucket carries the
// partials of its sub-aggregations (under "aggs", or as the third element of the array
// buckets of terms and histograms: see KeyedBucket).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/aggs/aggregations.h"
#include "engine/aggs/date_time.h"
#include "engine/index/segment.h"
#include "engine/mapping/mapping.h"

namespace quidditch::engine::aggs {

using nlohmann::json;

// Java's Double.toString (OpenSearch prints range keys and percentile keys with it):
// "100.0", "1.5", "1.0E7", "1.0E-4".
std::string JavaDouble(double v);

// How a field's doc values are read.
enum class ValueKind { kUnmapped, kLong, kDouble, kDate, kBoolean, kKeyword };

// The field an aggregation reads, resolved against the mapping at parse time.
struct FieldSource {
  std::string field;
  ValueKind kind = ValueKind::kUnmapped;
  std::vector<std::string> date_formats;  // the field's formats (dates)

  bool numeric() const {
    return kind == ValueKind::kLong || kind == ValueKind::kDouble || kind == ValueKind::kDate ||
           kind == ValueKind::kBoolean;
  }
  // A doc value (int64 from NumericDocValues) as a double.
  double ToDouble(int64_t raw) const {
    return kind == ValueKind::kDouble ? SortableBitsToDouble(raw) : static_cast<double>(raw);
  }
};

// Resolves `body["field"]` (required unless `optional`). Text fields are the OpenSearch
// illegal_argument_exception; unmapped fields give kUnmapped.
Result<FieldSource> ResolveField(const json& body, const std::string& agg_name,
                                 const AggregationContext& ctx, bool optional = false);

// The value format of a metric/bucket key for rendering: raw, date (pattern + zone) or
// boolean. Serialized into partials as {"fmt": ...}.
json FormatSpecFor(const FieldSource& source, const json& body, std::string_view time_zone);
// Renders `value` per a format spec; empty when the format is raw.
std::string FormatValue(const json& fmt, double value);

class Aggregator {
 public:
  explicit Aggregator(std::string name) : name_(std::move(name)) {}
  virtual ~Aggregator() = default;
  const std::string& name() const { return name_; }
  // The request's "meta" object, echoed in the response (null: none).
  const json& meta() const { return meta_; }
  void set_meta(json meta) { meta_ = std::move(meta); }

  virtual void SetLeaf(size_t leaf_index, const Leaf& leaf) = 0;
  // REQUIRES: SetLeaf was called. Allocation-free except for new buckets/values.
  virtual void Collect(uint32_t doc, float score, uint32_t owning) = 0;
  // Called after the last doc of each leaf.
  virtual void FinishLeaf() {}
  // The partial result for owning bucket `owning` (also for one that collected nothing).
  virtual Result<json> BuildPartial(uint32_t owning) = 0;
  virtual bool needs_scores() const { return false; }

 private:
  std::string name_;
  json meta_;
};

using AggregatorList = std::vector<std::unique_ptr<Aggregator>>;

// Parses an `aggs` object into aggregators.
Result<AggregatorList> ParseAggregatorList(const json& aggs, const AggregationContext& ctx);

// Factories, one per family (metrics.cc, bucket_*.cc, top_hits.cc). `subs` are the parsed
// sub-aggregations (metric aggregations reject non-empty ones).
Result<std::unique_ptr<Aggregator>> MakeMetricAggregator(const std::string& name,
                                                         const std::string& type, const json& body,
                                                         const AggregationContext& ctx);
Result<std::unique_ptr<Aggregator>> MakeTermsAggregator(const std::string& name, const json& body,
                                                        AggregatorList subs,
                                                        const AggregationContext& ctx);
Result<std::unique_ptr<Aggregator>> MakeHistogramAggregator(const std::string& name,
                                                            const std::string& type,
                                                            const json& body, AggregatorList subs,
                                                            const AggregationContext& ctx);
Result<std::unique_ptr<Aggregator>> MakeRangeAggregator(const std::string& name,
                                                        const std::string& type, const json& body,
                                                        AggregatorList subs,
                                                        const AggregationContext& ctx);
Result<std::unique_ptr<Aggregator>> MakeSingleBucketAggregator(const std::string& name,
                                                               const std::string& type,
                                                               const json& body,
                                                               AggregatorList subs,
                                                               const AggregationContext& ctx);
Result<std::unique_ptr<Aggregator>> MakeTopHitsAggregator(const std::string& name, const json& body,
                                                          const AggregationContext& ctx);

// Helpers for bucket aggregators.
void SetLeafAll(AggregatorList& subs, size_t leaf_index, const Leaf& leaf);
void FinishLeafAll(AggregatorList& subs);
inline void CollectAll(AggregatorList& subs, uint32_t doc, float score, uint32_t bucket) {
  for (auto& s : subs) s->Collect(doc, score, bucket);
}
Result<json> BuildAll(AggregatorList& subs, uint32_t bucket);
bool AnyNeedsScores(const AggregatorList& subs);

// The buckets of keyed partials (terms, histogram, date_histogram) are arrays, [key, doc_count]
// or [key, doc_count, {sub-aggregation partials}] when there are sub-aggregations, not objects:
// a partial can hold tens of thousands of buckets, and an object costs a tree node per member
// to build, look up and free at every step of the reduce.
json KeyedBucket(json key, uint64_t doc_count, json aggs);
inline const json& BucketKey(const json& bucket) { return bucket.at(0); }
inline uint64_t BucketCount(const json& bucket) { return bucket.at(1).get<uint64_t>(); }
// The sub-aggregation partials ({} when there are none).
const json& BucketAggs(const json& bucket);

// --- Reduce ---------------------------------------------------------------------------------

// A copy of `partial` without its member `skip`, for merges that rebuild that member (a deep
// copy of the buckets only to overwrite them cost as much as the merge itself).
json CopyWithout(const json& partial, std::string_view skip);

// Merges partials of one aggregation (same type) from several shards into one partial.
Result<json> MergePartials(const std::vector<const json*>& parts);
// Merges {name: partial} objects.
Result<json> MergeAggsObjects(const std::vector<const json*>& objects);
// Renders a merged partial in OpenSearch's response shape.
Result<json> RenderPartial(const json& partial, const RenderOptions& options);
// Renders {name: partial} into `out` (a bucket or the top-level aggregations object).
Status RenderAggsInto(const json& aggs, const RenderOptions& options, json* out);
// The type typed_keys writes before a merged partial's name: its aggregation type, but
// "sterms"/"lterms"/"dterms" for terms by the kind of their keys and "tdigest_percentiles" for
// percentiles (the names of OpenSearch's result classes).
std::string TypedKeysType(const json& partial);

// Family reducers.
Result<json> MergeMetric(const std::string& type, const std::vector<const json*>& parts);
Result<json> RenderMetric(const std::string& type, const json& partial);
Result<json> MergeBuckets(const std::string& type, const std::vector<const json*>& parts);
Result<json> RenderBuckets(const std::string& type, const json& partial,
                           const RenderOptions& options);
Result<json> MergeTopHits(const std::vector<const json*>& parts);
Result<json> RenderTopHits(const json& partial);

bool IsMetricType(std::string_view type);

// The value of a metric for ordering terms by it: `path` is "" for single-value metrics,
// else "avg", "max", "99", ... (terms "order": {"agg.path": "desc"}); `_count`-like single
// bucket aggregations give their doc_count. InvalidArgument when the path is not a value.
Result<double> SortValueOf(const json& partial, std::string_view path);

}  // namespace quidditch::engine::aggs
