// Bucket order of terms and histogram aggregations: "_count", "_key" or a sub-aggregation
// value ("avg_price", "stats.max"), asc or desc, with the key ascending as OpenSearch's final
// tie-breaker. Serializable, so the reduce sorts exactly as the shards did.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "engine/aggs/aggregator.h"

namespace quidditch::engine::aggs {

class TermsOrder {
 public:
  enum class Default { kCountDesc, kKeyAsc };
  struct Criterion {
    enum class Kind { kCount, kKey, kSub } kind = Kind::kCount;
    bool asc = false;
    std::string agg;   // kSub: the sub-aggregation name
    std::string path;  // kSub: the metric in it ("" for single-value metrics)
  };
  struct Item {
    const json* key;
    uint64_t count;
    const json* aggs;  // sub-aggregation partials (only needed when ordering by them)
    size_t index;      // caller's position
  };

  // `order` is null (default), an object {"_count": "desc"} or an array of such objects.
  // `subs` are checked to contain ordering sub-aggregations.
  static Result<TermsOrder> Parse(const json& order, Default def, const AggregatorList& subs);
  static Result<TermsOrder> FromJson(const json& j);
  json ToJson() const;

  bool NeedsSubAggs() const;
  bool IsKeyOrder() const { return criteria_[0].kind == Criterion::Kind::kKey; }
  bool IsCountDesc() const {
    return criteria_[0].kind == Criterion::Kind::kCount && !criteria_[0].asc;
  }
  // Sorts `items`, or only puts the first `first` of them in order at the front (the others
  // follow in no particular order): the first `first` are the same either way, since the
  // criteria always end with the key and keys are unique. Errors when a sub-aggregation value
  // cannot be read.
  Status Sort(std::vector<Item>* items, size_t first = std::numeric_limits<size_t>::max()) const;

 private:
  std::vector<Criterion> criteria_;
};

}  // namespace quidditch::engine::aggs
