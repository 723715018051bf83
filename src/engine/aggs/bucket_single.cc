// Single-bucket aggregations (missing, filter) and filters: bucket ordinal = owning (missing,
// filter) or owning * buckets + index (filters).
#include <limits>
#include <set>

#include "engine/aggs/aggregator.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

class MissingAggregator : public Aggregator {
 public:
  MissingAggregator(std::string name, FieldSource src, AggregatorList subs)
      : Aggregator(std::move(name)), src_(std::move(src)), subs_(std::move(subs)) {}

  bool needs_scores() const override { return AnyNeedsScores(subs_); }
  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    SetLeafAll(subs_, leaf_index, leaf);
    numeric_ = src_.numeric() ? leaf.reader->Numeric(src_.field) : nullptr;
    ords_ = src_.kind == ValueKind::kKeyword ? leaf.reader->SortedSet(src_.field) : nullptr;
  }
  void FinishLeaf() override { FinishLeafAll(subs_); }

  void Collect(uint32_t doc, float score, uint32_t owning) override {
    if (numeric_ != nullptr && !numeric_->Values(doc).empty()) return;
    if (ords_ != nullptr && !ords_->Ords(doc).empty()) return;
    if (owning >= counts_.size()) counts_.resize(std::max<size_t>(owning + 1, counts_.size() * 2));
    ++counts_[owning];
    CollectAll(subs_, doc, score, owning);
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = {{"type", "missing"}, {"doc_count", owning < counts_.size() ? counts_[owning] : 0}};
    QD_ASSIGN_OR_RETURN(p["aggs"], BuildAll(subs_, owning));
    return p;
  }

 private:
  const FieldSource src_;
  AggregatorList subs_;
  const NumericDocValues* numeric_ = nullptr;
  const SortedSetDocValues* ords_ = nullptr;
  std::vector<uint64_t> counts_;
};

// filter (one matcher, no names) and filters (named or anonymous, with an optional other
// bucket).
class FiltersAggregator : public Aggregator {
 public:
  FiltersAggregator(std::string name, std::string type, std::vector<std::unique_ptr<LeafMatcher>> m,
                    std::vector<std::string> keys, bool keyed, bool other, std::string other_key,
                    AggregatorList subs)
      : Aggregator(std::move(name)),
        type_(std::move(type)),
        matchers_(std::move(m)),
        keys_(std::move(keys)),
        keyed_(keyed),
        other_(other),
        other_key_(std::move(other_key)),
        subs_(std::move(subs)) {}

  bool needs_scores() const override { return AnyNeedsScores(subs_); }
  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    SetLeafAll(subs_, leaf_index, leaf);
    for (auto& m : matchers_) m->SetLeaf(leaf_index, leaf);
  }
  void FinishLeaf() override { FinishLeafAll(subs_); }

  void Collect(uint32_t doc, float score, uint32_t owning) override {
    const size_t n = width();
    const size_t base = static_cast<size_t>(owning) * n;
    if (base + n > counts_.size()) counts_.resize(std::max(base + n, counts_.size() * 2), 0);
    bool any = false;
    for (size_t i = 0; i < matchers_.size(); ++i) {
      if (!matchers_[i]->Matches(doc)) continue;
      any = true;
      ++counts_[base + i];
      CollectAll(subs_, doc, score, static_cast<uint32_t>(base + i));
    }
    if (other_ && !any) {
      ++counts_[base + matchers_.size()];
      CollectAll(subs_, doc, score, static_cast<uint32_t>(base + matchers_.size()));
    }
  }

  Result<json> BuildPartial(uint32_t owning) override {
    const size_t n = width();
    auto bucket = [&](size_t i) -> Result<json> {
      const size_t ord = static_cast<size_t>(owning) * n + i;
      const bool valid = owning != kEmpty;
      json b = {{"doc_count", valid && ord < counts_.size() ? counts_[ord] : 0}};
      QD_ASSIGN_OR_RETURN(b["aggs"], BuildAll(subs_, valid ? static_cast<uint32_t>(ord) : kEmpty));
      return b;
    };
    if (type_ == "filter") {
      QD_ASSIGN_OR_RETURN(json b, bucket(0));
      b["type"] = "filter";
      return b;
    }
    json p = {{"type", "filters"}, {"keyed", keyed_}};
    json buckets = json::array();
    for (size_t i = 0; i < n; ++i) {
      QD_ASSIGN_OR_RETURN(json b, bucket(i));
      if (i < keys_.size()) {
        if (keyed_) b["key"] = keys_[i];
      } else {
        b["key"] = other_key_;
      }
      buckets.push_back(std::move(b));
    }
    p["buckets"] = std::move(buckets);
    return p;
  }

 private:
  size_t width() const { return matchers_.size() + (other_ ? 1 : 0); }

  const std::string type_;
  std::vector<std::unique_ptr<LeafMatcher>> matchers_;
  const std::vector<std::string> keys_;
  const bool keyed_, other_;
  const std::string other_key_;
  AggregatorList subs_;
  std::vector<uint64_t> counts_;
};

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeSingleBucketAggregator(const std::string& name,
                                                               const std::string& type,
                                                               const json& body,
                                                               AggregatorList subs,
                                                               const AggregationContext& ctx) {
  if (type == "missing") {
    for (const auto& [key, value] : body.items()) {
      if (key != "field") return QueryParsingError("[missing] unknown field [" + key + "]");
    }
    QD_ASSIGN_OR_RETURN(FieldSource src, ResolveField(body, name, ctx));
    return std::unique_ptr<Aggregator>(
        new MissingAggregator(name, std::move(src), std::move(subs)));
  }
  if (!ctx.make_matcher) {
    return IllegalArgument("[" + type +
                           "] aggregations need a query matcher, which this search "
                           "context does not provide");
  }
  std::vector<std::unique_ptr<LeafMatcher>> matchers;
  std::vector<std::string> keys;
  if (type == "filter") {
    QD_ASSIGN_OR_RETURN(auto m, ctx.make_matcher(body));
    matchers.push_back(std::move(m));
    return std::unique_ptr<Aggregator>(new FiltersAggregator(name, type, std::move(matchers), {},
                                                             false, false, "", std::move(subs)));
  }
  static const std::set<std::string> kKnown = {"filters", "other_bucket", "other_bucket_key"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.count(key)) return QueryParsingError("[filters] unknown field [" + key + "]");
  }
  if (!body.contains("filters")) {
    return QueryParsingError("[filters] cannot be empty.");
  }
  const json& filters = body["filters"];
  bool keyed;
  if (filters.is_object()) {
    keyed = true;
    for (const auto& [key, q] : filters.items()) {  // nlohmann objects iterate sorted by key
      QD_ASSIGN_OR_RETURN(auto m, ctx.make_matcher(q));
      matchers.push_back(std::move(m));
      keys.push_back(key);
    }
  } else if (filters.is_array()) {
    keyed = false;
    for (const json& q : filters) {
      QD_ASSIGN_OR_RETURN(auto m, ctx.make_matcher(q));
      matchers.push_back(std::move(m));
    }
  } else {
    return QueryParsingError("[filters] must be an object or an array");
  }
  if (matchers.empty()) return IllegalArgument("[filters] cannot be empty.");
  bool other = body.value("other_bucket", false);
  std::string other_key = "_other_";
  if (body.contains("other_bucket_key")) {
    other_key = body["other_bucket_key"].get<std::string>();
    if (!body.contains("other_bucket")) other = true;
  }
  return std::unique_ptr<Aggregator>(new FiltersAggregator(
      name, type, std::move(matchers), std::move(keys), keyed, other, other_key, std::move(subs)));
}

}  // namespace quidditch::engine::aggs
