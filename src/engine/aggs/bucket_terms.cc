// The terms aggregation on one shard: keyword terms through per-leaf ordinal -> term id
// arrays (the term string is looked up once per leaf and ordinal, not per doc), numeric terms
// through a value -> term id hash map; buckets are (owning bucket, term id) pairs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <unordered_map>

#include "engine/aggs/aggregator.h"
#include "engine/aggs/terms_order.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

constexpr uint32_t kUnset = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kRejected = kUnset - 1;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// include/exclude: a regular expression (whole-term match) or exact values.
struct IncludeExclude {
  std::optional<std::regex> include_re, exclude_re;
  std::set<json> include_values, exclude_values;
  bool any = false;

  bool Accepts(const json& key) const {
    if (!any) return true;
    if (key.is_string()) {
      const std::string& s = key.get_ref<const std::string&>();
      if (include_re && !std::regex_match(s, *include_re)) return false;
      if (exclude_re && std::regex_match(s, *exclude_re)) return false;
    }
    if (!include_values.empty() && !include_values.count(key)) return false;
    if (exclude_values.count(key)) return false;
    return true;
  }
};

Status ParseIncludeExclude(const json& body, ValueKind kind, IncludeExclude* out) {
  auto parse_one = [&](const char* what, std::optional<std::regex>* re,
                       std::set<json>* values) -> Status {
    if (!body.contains(what)) return Status::OK();
    out->any = true;
    const json& v = body[what];
    if (v.is_string()) {
      if (kind != ValueKind::kKeyword) {
        return IllegalArgument(std::string("[") + what +
                               "] as a regular expression is only supported on keyword fields");
      }
      try {
        *re = std::regex(v.get<std::string>(), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return IllegalArgument(std::string("invalid regular expression in [") + what +
                               "]: " + e.what());
      }
      return Status::OK();
    }
    if (v.is_array()) {
      for (const json& e : v) {
        if (kind == ValueKind::kKeyword) {
          values->insert(e.is_string() ? e : json(e.dump()));
        } else if (kind == ValueKind::kDouble) {
          values->insert(json(e.is_number() ? e.get<double>() : std::stod(e.get<std::string>())));
        } else if (e.is_boolean()) {
          values->insert(json(int64_t{e.get<bool>() ? 1 : 0}));
        } else {
          values->insert(json(e.is_number() ? static_cast<int64_t>(e.get<double>())
                                            : std::stoll(e.get<std::string>())));
        }
      }
      return Status::OK();
    }
    if (v.is_object()) {
      return IllegalArgument("include partitions are not supported");
    }
    return QueryParsingError(std::string("[terms] [") + what + "] must be a string or an array");
  };
  try {
    QD_RETURN_IF_ERROR(parse_one("include", &out->include_re, &out->include_values));
    QD_RETURN_IF_ERROR(parse_one("exclude", &out->exclude_re, &out->exclude_values));
  } catch (const std::exception& e) {
    return IllegalArgument(std::string("bad include/exclude value: ") + e.what());
  }
  return Status::OK();
}

class TermsAggregator : public Aggregator {
 public:
  TermsAggregator(std::string name, FieldSource src, AggregatorList subs, TermsOrder order,
                  int64_t size, int64_t shard_size, int64_t min_doc_count,
                  int64_t shard_min_doc_count, std::optional<json> missing, IncludeExclude ie,
                  json fmt)
      : Aggregator(std::move(name)),
        src_(std::move(src)),
        subs_(std::move(subs)),
        order_(std::move(order)),
        size_(size),
        shard_size_(shard_size),
        min_doc_count_(min_doc_count),
        shard_min_doc_count_(shard_min_doc_count),
        missing_(std::move(missing)),
        ie_(std::move(ie)),
        fmt_(std::move(fmt)) {
    if (missing_) {
      const uint32_t id = TermIdForKey(*missing_);
      missing_term_ = accepted_[id] ? id : kRejected;
    }
  }

  bool needs_scores() const override { return AnyNeedsScores(subs_); }

  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    SetLeafAll(subs_, leaf_index, leaf);
    ords_ = nullptr;
    numeric_ = nullptr;
    if (src_.kind == ValueKind::kKeyword) {
      ords_ = leaf.reader->SortedSet(src_.field);
      leaf_terms_.assign(ords_ ? ords_->value_count() : 0, kUnset);
      if (subs_.empty()) leaf_counts_.assign(leaf_terms_.size(), 0);
      if (min_doc_count_ == 0 && ords_ != nullptr) {
        for (uint32_t ord = 0; ord < ords_->value_count(); ++ord) TermIdForOrd(ord);
      }
    } else if (src_.numeric()) {
      numeric_ = leaf.reader->Numeric(src_.field);
    }
  }
  void FinishLeaf() override {
    FinishLeafAll(subs_);
    if (ords_ == nullptr || !subs_.empty()) return;
    for (uint32_t ord = 0; ord < leaf_counts_.size(); ++ord) {
      if (leaf_counts_[ord] == 0) continue;
      const uint32_t term = TermIdForOrd(ord);
      if (term != kRejected) bucket_count_[TopBucket(term)] += leaf_counts_[ord];
    }
  }

  void Collect(uint32_t doc, float score, uint32_t owning) override {
    if (src_.kind == ValueKind::kUnmapped) return;
    bool any = false;
    if (ords_ != nullptr && owning == 0 && subs_.empty()) {
      // Top-level counts only: per leaf ordinal, folded into buckets by FinishLeaf.
      for (uint32_t ord : ords_->Ords(doc)) {
        any = true;
        ++leaf_counts_[ord];
      }
    } else if (ords_ != nullptr) {
      for (uint32_t ord : ords_->Ords(doc)) {
        any = true;
        const uint32_t term = TermIdForOrd(ord);
        if (term != kRejected) CollectBucket(doc, score, owning, term);
      }
    } else if (numeric_ != nullptr) {
      std::span<const int64_t> values = numeric_->Values(doc);
      for (size_t i = 0; i < values.size(); ++i) {
        any = true;
        if (i > 0 && values[i] == values[i - 1]) continue;
        const uint32_t term = TermIdForRaw(values[i]);
        if (term != kRejected) CollectBucket(doc, score, owning, term);
      }
    }
    if (!any && missing_term_ != kUnset && missing_term_ != kRejected) {
      CollectBucket(doc, score, owning, missing_term_);
    }
  }

  Result<json> BuildPartial(uint32_t owning) override {
    if (!indexed_) IndexBuckets();
    struct Entry {
      uint32_t term;
      uint64_t count;
      uint32_t bucket;  // kUnset: a term this owning bucket never saw (min_doc_count 0)
      json aggs;
    };
    std::vector<Entry> entries;
    if (owning < by_owner_.size()) {
      for (uint32_t b : by_owner_[owning])
        entries.push_back({bucket_term_[b], bucket_count_[b], b, {}});
    }
    if (min_doc_count_ == 0) {
      std::vector<uint8_t> seen(keys_.size(), 0);
      for (const Entry& e : entries) seen[e.term] = 1;
      for (uint32_t t = 0; t < keys_.size(); ++t) {
        if (!seen[t] && accepted_[t] && t != missing_term_) entries.push_back({t, 0, kUnset, {}});
      }
    }
    // Entries below shard_min_doc_count are not candidates.
    std::erase_if(entries, [&](const Entry& e) {
      return static_cast<int64_t>(e.count) < shard_min_doc_count_;
    });
    const bool by_sub = order_.NeedsSubAggs();
    if (by_sub) {
      for (Entry& e : entries) {
        QD_ASSIGN_OR_RETURN(e.aggs, BuildAll(subs_, e.bucket == kUnset ? kUnset : e.bucket));
      }
    }
    std::vector<TermsOrder::Item> items;
    items.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      items.push_back(
          {&keys_[entries[i].term], entries[i].count, by_sub ? &entries[i].aggs : nullptr, i});
    }
    QD_RETURN_IF_ERROR(order_.Sort(&items, static_cast<size_t>(shard_size_)));
    uint64_t other = 0;
    json buckets = json::array();
    buckets.get_ref<json::array_t&>().reserve(
        std::min<size_t>(items.size(), static_cast<size_t>(shard_size_)));
    for (size_t i = 0; i < items.size(); ++i) {
      Entry& e = entries[items[i].index];
      if (static_cast<int64_t>(i) >= shard_size_) {
        other += e.count;
        continue;
      }
      if (!by_sub) {
        QD_ASSIGN_OR_RETURN(e.aggs, BuildAll(subs_, e.bucket));
      }
      buckets.push_back(KeyedBucket(keys_[e.term], e.count, std::move(e.aggs)));
    }
    json p = {{"type", "terms"},
              {"size", size_},
              {"shard_size", shard_size_},
              {"min_doc_count", min_doc_count_},
              {"order", order_.ToJson()},
              {"kind", KindName()},
              {"other", other},
              {"error", 0},
              {"buckets", std::move(buckets)}};
    if (!fmt_.is_null()) p["fmt"] = fmt_;
    return p;
  }

 private:
  const char* KindName() const {
    switch (src_.kind) {
      case ValueKind::kLong:
        return "long";
      case ValueKind::kDouble:
        return "double";
      case ValueKind::kDate:
        return "date";
      case ValueKind::kBoolean:
        return "bool";
      case ValueKind::kKeyword:
        return "string";
      default:
        return "unmapped";
    }
  }

  uint32_t TopBucket(uint32_t term) {
    if (term >= top_buckets_.size()) top_buckets_.resize(term + 1, kUnset);
    uint32_t& bucket = top_buckets_[term];
    if (bucket == kUnset) bucket = NewBucket(0, term);
    return bucket;
  }

  void CollectBucket(uint32_t doc, float score, uint32_t owning, uint32_t term) {
    uint32_t bucket;
    if (owning == 0) {
      bucket = TopBucket(term);
    } else {
      const uint64_t k = (uint64_t{owning} << 32) | term;
      auto [it, inserted] = nested_buckets_.try_emplace(k, 0);
      if (inserted) it->second = NewBucket(owning, term);
      bucket = it->second;
    }
    ++bucket_count_[bucket];
    CollectAll(subs_, doc, score, bucket);
  }

  uint32_t NewBucket(uint32_t owning, uint32_t term) {
    indexed_ = false;
    bucket_owner_.push_back(owning);
    bucket_term_.push_back(term);
    bucket_count_.push_back(0);
    return static_cast<uint32_t>(bucket_count_.size() - 1);
  }

  void IndexBuckets() {
    by_owner_.clear();
    for (uint32_t b = 0; b < bucket_owner_.size(); ++b) {
      if (bucket_owner_[b] >= by_owner_.size()) by_owner_.resize(bucket_owner_[b] + 1);
      by_owner_[bucket_owner_[b]].push_back(b);
    }
    indexed_ = true;
  }

  // String keys are found through string_ids_, other keys through key_ids_.
  uint32_t TermIdForKey(const json& key) {
    if (key.is_string()) return TermIdForString(key.get_ref<const std::string&>());
    auto it = key_ids_.find(key);
    if (it != key_ids_.end()) return it->second;
    const uint32_t id = NewTerm(key);
    key_ids_.emplace(key, id);
    return id;
  }

  uint32_t TermIdForString(std::string_view term) {
    auto it = string_ids_.find(term);
    if (it != string_ids_.end()) return it->second;
    const uint32_t id = NewTerm(json(std::string(term)));
    string_ids_.emplace(std::string(term), id);
    return id;
  }

  uint32_t NewTerm(json key) {
    accepted_.push_back(ie_.Accepts(key) ? 1 : 0);
    keys_.push_back(std::move(key));
    return static_cast<uint32_t>(keys_.size() - 1);
  }

  uint32_t TermIdForOrd(uint32_t ord) {
    uint32_t& slot = leaf_terms_[ord];
    if (slot != kUnset) return slot;
    const uint32_t id = TermIdForString(ords_->LookupOrd(ord));
    slot = accepted_[id] ? id : kRejected;
    return slot;
  }

  uint32_t TermIdForRaw(int64_t raw) {
    auto it = raw_ids_.find(raw);
    if (it != raw_ids_.end()) return it->second;
    json key = src_.kind == ValueKind::kDouble ? json(SortableBitsToDouble(raw)) : json(raw);
    uint32_t id = TermIdForKey(key);
    id = accepted_[id] ? id : kRejected;
    raw_ids_.emplace(raw, id);
    return id;
  }

  const FieldSource src_;
  AggregatorList subs_;
  const TermsOrder order_;
  const int64_t size_, shard_size_, min_doc_count_, shard_min_doc_count_;
  const std::optional<json> missing_;
  const IncludeExclude ie_;
  const json fmt_;
  uint32_t missing_term_ = kUnset;

  const SortedSetDocValues* ords_ = nullptr;
  const NumericDocValues* numeric_ = nullptr;
  std::vector<uint32_t> leaf_terms_;   // leaf ordinal -> term id (kUnset: not looked up yet)
  std::vector<uint32_t> leaf_counts_;  // leaf ordinal -> docs of owning bucket 0 (no subs)

  std::vector<json> keys_;            // term id -> key
  std::vector<uint8_t> accepted_;     // term id -> passes include/exclude
  std::map<json, uint32_t> key_ids_;  // non-string keys
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> string_ids_;
  std::unordered_map<int64_t, uint32_t> raw_ids_;

  std::vector<uint32_t> top_buckets_;  // term id -> bucket, for owning bucket 0
  std::unordered_map<uint64_t, uint32_t> nested_buckets_;
  std::vector<uint32_t> bucket_owner_, bucket_term_;
  std::vector<uint64_t> bucket_count_;
  std::vector<std::vector<uint32_t>> by_owner_;
  bool indexed_ = false;
};

Result<int64_t> IntParam(const json& body, const char* key, int64_t def) {
  if (!body.contains(key)) return def;
  const json& v = body[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    try {
      return static_cast<int64_t>(std::stoll(v.get<std::string>()));
    } catch (...) {
    }
  }
  return QueryParsingError(std::string("[terms] failed to parse field [") + key + "]");
}

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeTermsAggregator(const std::string& name, const json& body,
                                                        AggregatorList subs,
                                                        const AggregationContext& ctx) {
  static const std::set<std::string> kKnown = {"field",
                                               "size",
                                               "shard_size",
                                               "min_doc_count",
                                               "shard_min_doc_count",
                                               "order",
                                               "missing",
                                               "include",
                                               "exclude",
                                               "format",
                                               "execution_hint",
                                               "collect_mode",
                                               "value_type",
                                               "show_term_doc_count_error"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.count(key)) return QueryParsingError("[terms] unknown field [" + key + "]");
    if (key == "show_term_doc_count_error" && value == true) {
      return IllegalArgument("[show_term_doc_count_error] is not supported");
    }
  }
  QD_ASSIGN_OR_RETURN(FieldSource src, ResolveField(body, name, ctx));
  QD_ASSIGN_OR_RETURN(int64_t size, IntParam(body, "size", 10));
  if (size <= 0) {
    return IllegalArgument("[size] must be greater than 0. Found [" + std::to_string(size) +
                           "] in [" + name + "]");
  }
  QD_ASSIGN_OR_RETURN(int64_t shard_size, IntParam(body, "shard_size", -1));
  if (shard_size == 0) {
    return IllegalArgument("[shardSize] must be greater than 0. Found [0] in [" + name + "]");
  }
  if (shard_size < 0) {
    // BucketUtils.suggestShardSideQueueSize.
    shard_size = static_cast<int64_t>(std::min<double>(size * 1.5 + 10, INT32_MAX));
  }
  shard_size = std::max(shard_size, size);
  QD_ASSIGN_OR_RETURN(int64_t min_doc_count, IntParam(body, "min_doc_count", 1));
  if (min_doc_count < 0) {
    return IllegalArgument("[minDocCount] must be greater than or equal to 0. Found [" +
                           std::to_string(min_doc_count) + "] in [" + name + "]");
  }
  QD_ASSIGN_OR_RETURN(int64_t shard_min, IntParam(body, "shard_min_doc_count", 0));
  QD_ASSIGN_OR_RETURN(TermsOrder order,
                      TermsOrder::Parse(body.contains("order") ? body["order"] : json(),
                                        TermsOrder::Default::kCountDesc, subs));
  std::optional<json> missing;
  if (body.contains("missing") && !body["missing"].is_null()) {
    const json& m = body["missing"];
    switch (src.kind) {
      case ValueKind::kKeyword:
        missing = m.is_string() ? m : json(m.dump());
        break;
      case ValueKind::kDouble:
        if (!m.is_number())
          return IllegalArgument("[missing] must be a number for field [" + src.field + "]");
        missing = json(m.get<double>());
        break;
      case ValueKind::kBoolean:
        missing = json(int64_t{m.is_boolean() ? (m.get<bool>() ? 1 : 0) : m.get<int64_t>()});
        break;
      case ValueKind::kDate: {
        if (m.is_number_integer()) {
          missing = m;
        } else if (m.is_string()) {
          QD_ASSIGN_OR_RETURN(
              auto f, DateFormatter::Create(src.date_formats.empty() ? "" : src.date_formats[0],
                                            DateZone::Utc()));
          QD_ASSIGN_OR_RETURN(int64_t v, ParseDateMath(m.get<std::string>(), ctx.now_millis, *f,
                                                       *DateZone::Utc(), false));
          missing = json(v);
        }
        break;
      }
      case ValueKind::kLong:
        if (!m.is_number())
          return IllegalArgument("[missing] must be a number for field [" + src.field + "]");
        missing = json(static_cast<int64_t>(m.get<double>()));
        break;
      default:
        break;
    }
  }
  IncludeExclude ie;
  QD_RETURN_IF_ERROR(ParseIncludeExclude(body, src.kind, &ie));
  json fmt = FormatSpecFor(src, body, "Z");
  return std::unique_ptr<Aggregator>(new TermsAggregator(
      name, std::move(src), std::move(subs), std::move(order), size, shard_size, min_doc_count,
      shard_min, std::move(missing), std::move(ie), std::move(fmt)));
}

}  // namespace quidditch::engine::aggs
