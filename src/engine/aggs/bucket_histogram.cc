// histogram and date_histogram on one shard: buckets are (owning bucket, key) pairs; a doc
// counts once per bucket its values fall into.
#include <cmath>
#include <set>
#include <unordered_map>

#include "engine/aggs/aggregator.h"
#include "engine/aggs/terms_order.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

// OpenSearch's search.max_buckets default, enforced on the shard as its bucket consumer does.
constexpr size_t kMaxShardBuckets = 65535;

struct PairHash {
  size_t operator()(const std::pair<uint32_t, int64_t>& p) const {
    return std::hash<int64_t>()(p.second) * 31 + p.first;
  }
};

class HistogramAggregator : public Aggregator {
 public:
  // date: `rounding` is set and keys are epoch ms; else keys are doubles
  // floor((v - offset) / interval) * interval + offset (stored as their bits).
  HistogramAggregator(std::string name, FieldSource src, AggregatorList subs,
                      std::optional<DateRounding> rounding, double interval, double offset,
                      std::optional<int64_t> missing, json partial_template)
      : Aggregator(std::move(name)),
        src_(std::move(src)),
        subs_(std::move(subs)),
        rounding_(std::move(rounding)),
        interval_(interval),
        offset_(offset),
        missing_(missing),
        template_(std::move(partial_template)),
        dense_(!rounding_ && subs_.empty()) {}

  bool needs_scores() const override { return AnyNeedsScores(subs_); }

  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    SetLeafAll(subs_, leaf_index, leaf);
    numeric_ = src_.numeric() ? leaf.reader->Numeric(src_.field) : nullptr;
  }
  void FinishLeaf() override { FinishLeafAll(subs_); }

  void Collect(uint32_t doc, float score, uint32_t owning) override {
    if (src_.kind == ValueKind::kUnmapped) return;
    std::span<const int64_t> values;
    if (numeric_ != nullptr) values = numeric_->Values(doc);
    if (values.empty()) {
      if (!missing_) return;
      values = std::span<const int64_t>(&*missing_, 1);
    }
    if (owning == 0 && dense_ && CollectDense(values)) return;
    bool first = true;
    int64_t prev = 0;
    for (int64_t raw : values) {
      const int64_t key = KeyOf(raw);
      if (!first && key == prev) continue;  // values ascending: equal keys are adjacent
      first = false;
      prev = key;
      const uint32_t bucket = BucketOf(owning, key);
      if (bucket == kNoBucket) continue;
      ++counts_[bucket];
      CollectAll(subs_, doc, score, bucket);
    }
  }

  Result<json> BuildPartial(uint32_t owning) override {
    FoldDense();
    if (too_many_) {
      return Status::InvalidArgument(
          "too_many_buckets_exception: Trying to create too many buckets. Must be less than or "
          "equal to: [65535] but was [65536]. This limit can be set by changing the "
          "[search.max_buckets] cluster level setting.");
    }
    if (indexed_ != owners_.size()) {
      by_owner_.clear();
      for (uint32_t b = 0; b < owners_.size(); ++b) {
        if (owners_[b] >= by_owner_.size()) by_owner_.resize(owners_[b] + 1);
        by_owner_[owners_[b]].push_back(b);
      }
      indexed_ = owners_.size();
    }
    std::vector<std::pair<int64_t, uint32_t>> mine;  // key, bucket
    if (owning < by_owner_.size()) {
      for (uint32_t b : by_owner_[owning]) mine.push_back({keys_[b], b});
    }
    auto key_json = [&](int64_t key) {
      return rounding_ ? json(key) : json(std::bit_cast<double>(key));
    };
    std::sort(mine.begin(), mine.end(), [&](const auto& a, const auto& b) {
      if (rounding_) return a.first < b.first;
      return std::bit_cast<double>(a.first) < std::bit_cast<double>(b.first);
    });
    json p = template_;
    json buckets = json::array();
    buckets.get_ref<json::array_t&>().reserve(mine.size());
    for (const auto& [key, b] : mine) {
      QD_ASSIGN_OR_RETURN(json aggs, BuildAll(subs_, b));
      buckets.push_back(KeyedBucket(key_json(key), counts_[b], std::move(aggs)));
    }
    p["buckets"] = std::move(buckets);
    // Sub-aggregation partials of an empty bucket, for the buckets the reduce adds.
    QD_ASSIGN_OR_RETURN(p["empty_aggs"], BuildAll(subs_, std::numeric_limits<uint32_t>::max()));
    return p;
  }

 private:
  static constexpr uint32_t kNoBucket = std::numeric_limits<uint32_t>::max();

  // The interval number of a value (an integral double, or NaN); histograms without rounding.
  double IntervalOf(int64_t raw) const {
    return std::floor((src_.ToDouble(raw) - offset_) / interval_);
  }
  // The key of an interval number, as its bits.
  int64_t KeyOfInterval(double n) const {
    return std::bit_cast<int64_t>(n * interval_ + offset_ + 0.0);  // +0.0: no -0.0 keys
  }
  int64_t KeyOf(int64_t raw) {
    return rounding_ ? rounding_->Round(raw) : KeyOfInterval(IntervalOf(raw));
  }

  // The bucket of (owning, key), created when new; kNoBucket past the limit (too_many_).
  uint32_t BucketOf(uint32_t owning, int64_t key) {
    auto found = buckets_.find({owning, key});
    if (found != buckets_.end()) return found->second;
    if (counts_.size() >= kMaxShardBuckets) {
      too_many_ = true;  // reported by BuildPartial; stop growing
      return kNoBucket;
    }
    const uint32_t bucket = static_cast<uint32_t>(counts_.size());
    buckets_.emplace(std::pair{owning, key}, bucket);
    counts_.push_back(0);
    owners_.push_back(owning);
    keys_.push_back(key);
    return bucket;
  }

  // Numeric histograms without sub-aggregations count the docs of owning bucket 0 per interval
  // number in a dense array, with no hash lookup per value, while those numbers span at most
  // kMaxShardBuckets; FoldDense moves the counts into buckets. Returns false, having counted
  // nothing, when the doc's values do not fit: the array is then given up.
  bool CollectDense(std::span<const int64_t> values) {
    // Values ascend, so their interval numbers do: the first and last bound them all.
    const double lo = IntervalOf(values.front()), hi = IntervalOf(values.back());
    if (!(std::fabs(lo) < 0x1p52 && std::fabs(hi) < 0x1p52) ||
        !ReserveDense(static_cast<int64_t>(lo), static_cast<int64_t>(hi))) {
      dense_ = false;  // what it counted joins the buckets in BuildPartial
      return false;
    }
    int64_t prev = 0;
    bool first = true;
    for (int64_t raw : values) {
      const int64_t n = static_cast<int64_t>(IntervalOf(raw));
      if (!first && n == prev) continue;  // a doc counts once per bucket
      first = false;
      prev = n;
      ++dense_counts_[static_cast<size_t>(n - dense_base_)];
    }
    return true;
  }
  // Makes the dense array cover interval numbers [lo, hi], growing it by at least its size
  // (amortized growth at either end); false when that would span more than kMaxShardBuckets.
  bool ReserveDense(int64_t lo, int64_t hi) {
    if (dense_counts_.empty()) dense_base_ = lo;
    const int64_t end = dense_base_ + static_cast<int64_t>(dense_counts_.size());
    if (lo >= dense_base_ && hi < end) return true;
    const int64_t want_lo = std::min(lo, dense_base_), want_end = std::max(hi + 1, end);
    if (want_end - want_lo > static_cast<int64_t>(kMaxShardBuckets)) return false;
    const int64_t slack = static_cast<int64_t>(dense_counts_.size());
    const int64_t new_lo =
        lo < dense_base_
            ? std::max(want_end - static_cast<int64_t>(kMaxShardBuckets), want_lo - slack)
            : dense_base_;
    const int64_t new_end =
        hi >= end ? std::min(new_lo + static_cast<int64_t>(kMaxShardBuckets), want_end + slack)
                  : end;
    std::vector<uint32_t> grown(static_cast<size_t>(new_end - new_lo), 0);
    std::copy(dense_counts_.begin(), dense_counts_.end(), grown.begin() + (dense_base_ - new_lo));
    dense_counts_ = std::move(grown);
    dense_base_ = new_lo;
    return true;
  }
  void FoldDense() {
    for (size_t i = 0; i < dense_counts_.size(); ++i) {
      if (dense_counts_[i] == 0) continue;
      const uint32_t bucket =
          BucketOf(0, KeyOfInterval(static_cast<double>(dense_base_ + static_cast<int64_t>(i))));
      if (bucket != kNoBucket) counts_[bucket] += dense_counts_[i];
    }
    dense_counts_.clear();
  }

  const FieldSource src_;
  AggregatorList subs_;
  std::optional<DateRounding> rounding_;
  const double interval_, offset_;
  const std::optional<int64_t> missing_;
  const json template_;
  const NumericDocValues* numeric_ = nullptr;
  std::unordered_map<std::pair<uint32_t, int64_t>, uint32_t, PairHash> buckets_;
  std::vector<uint64_t> counts_;
  std::vector<uint32_t> owners_;
  std::vector<int64_t> keys_;
  std::vector<std::vector<uint32_t>> by_owner_;  // built at the first BuildPartial
  size_t indexed_ = 0;                           // owners_.size() when by_owner_ was built
  bool too_many_ = false;
  bool dense_;                          // CollectDense is in use
  std::vector<uint32_t> dense_counts_;  // interval number - dense_base_ -> docs (< 2^32)
  int64_t dense_base_ = 0;
};

Result<double> NumberParam(const json& body, const char* key, const std::string& type) {
  const json& v = body[key];
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    try {
      return std::stod(v.get<std::string>());
    } catch (...) {
    }
  }
  return QueryParsingError("[" + type + "] failed to parse field [" + key + "]");
}

// A date bound: epoch ms, or a date / date math string in the field's format.
Result<int64_t> DateParam(const json& v, const DateFormatter& parser, const DateZone& zone,
                          int64_t now) {
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) return ParseDateMath(v.get<std::string>(), now, parser, zone, false);
  return QueryParsingError("failed to parse date value [" + v.dump() + "]");
}

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeHistogramAggregator(const std::string& name,
                                                            const std::string& type,
                                                            const json& body, AggregatorList subs,
                                                            const AggregationContext& ctx) {
  const bool date = type == "date_histogram";
  static const std::set<std::string> kKnown = {
      "field",  "interval",  "fixed_interval", "calendar_interval", "offset",
      "order",  "keyed",     "min_doc_count",  "extended_bounds",   "missing",
      "format", "time_zone", "hard_bounds"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.count(key)) return QueryParsingError("[" + type + "] unknown field [" + key + "]");
    if (key == "hard_bounds") return IllegalArgument("[hard_bounds] is not supported");
  }
  QD_ASSIGN_OR_RETURN(FieldSource src, ResolveField(body, name, ctx));
  if (src.kind == ValueKind::kKeyword) {
    return IllegalArgument("Field [" + src.field +
                           "] of type [keyword] is not supported for "
                           "aggregation [" +
                           type + "]");
  }
  json p = {{"type", type}};
  int64_t min_doc_count = 0;
  if (body.contains("min_doc_count")) {
    if (!body["min_doc_count"].is_number_integer() || body["min_doc_count"].get<int64_t>() < 0) {
      return IllegalArgument("[minDocCount] must be greater than or equal to 0. Found [" +
                             body["min_doc_count"].dump() + "] in [" + name + "]");
    }
    min_doc_count = body["min_doc_count"].get<int64_t>();
  }
  p["min_doc_count"] = min_doc_count;
  p["keyed"] = body.value("keyed", false);
  QD_ASSIGN_OR_RETURN(TermsOrder order,
                      TermsOrder::Parse(body.contains("order") ? body["order"] : json(),
                                        TermsOrder::Default::kKeyAsc, subs));
  p["order"] = order.ToJson();
  std::optional<int64_t> missing;

  if (!date) {
    if (!body.contains("interval")) {
      return QueryParsingError("Required [interval]");  // OpenSearch: histogram needs interval
    }
    QD_ASSIGN_OR_RETURN(double interval, NumberParam(body, "interval", type));
    if (!(interval > 0)) {
      return IllegalArgument("[interval] must be >0 for histogram aggregation [" + name + "]");
    }
    double offset = 0;
    if (body.contains("offset")) {
      QD_ASSIGN_OR_RETURN(offset, NumberParam(body, "offset", type));
    }
    p["interval"] = interval;
    p["offset"] = offset;
    if (body.contains("extended_bounds")) {
      const json& eb = body["extended_bounds"];
      json bounds = json::object();
      if (eb.contains("min")) {
        QD_ASSIGN_OR_RETURN(double v, NumberParam(eb, "min", type));
        bounds["min"] = v;
      }
      if (eb.contains("max")) {
        QD_ASSIGN_OR_RETURN(double v, NumberParam(eb, "max", type));
        bounds["max"] = v;
      }
      if (bounds.contains("min") && bounds.contains("max") && bounds["min"] > bounds["max"]) {
        return IllegalArgument("[extended_bounds.min][" + JavaDouble(bounds["min"]) +
                               "] cannot be greater than [extended_bounds.max][" +
                               JavaDouble(bounds["max"]) + "] for histogram aggregation [" + name +
                               "]");
      }
      p["extended_bounds"] = bounds;
    }
    if (body.contains("missing")) {
      QD_ASSIGN_OR_RETURN(double m, NumberParam(body, "missing", type));
      missing = src.kind == ValueKind::kDouble ? SortableDoubleBits(m) : static_cast<int64_t>(m);
    }
    json fmt = FormatSpecFor(src, body, "Z");
    if (!fmt.is_null()) p["fmt"] = fmt;
    return std::unique_ptr<Aggregator>(new HistogramAggregator(
        name, std::move(src), std::move(subs), std::nullopt, interval, offset, missing, p));
  }

  if (src.kind != ValueKind::kDate && src.kind != ValueKind::kLong &&
      src.kind != ValueKind::kUnmapped) {
    return IllegalArgument("Field [" + src.field + "] of type [" +
                           (src.kind == ValueKind::kDouble ? "double" : "boolean") +
                           "] is not supported for aggregation [date_histogram]");
  }
  std::string tz_id = "Z";
  std::shared_ptr<const DateZone> zone = DateZone::Utc();
  if (body.contains("time_zone")) {
    if (!body["time_zone"].is_string()) return QueryParsingError("[time_zone] must be a string");
    tz_id = body["time_zone"].get<std::string>();
    QD_ASSIGN_OR_RETURN(zone, DateZone::Create(tz_id));
  }
  int64_t offset_ms = 0;
  if (body.contains("offset")) {
    const json& o = body["offset"];
    if (o.is_number_integer()) {
      offset_ms = o.get<int64_t>();
    } else if (o.is_string()) {
      std::string s = o.get<std::string>();
      int sign = 1;
      if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        s.erase(0, 1);
      }
      QD_ASSIGN_OR_RETURN(int64_t ms, ParseTimeValueMillis(s));
      offset_ms = sign * ms;
    } else {
      return QueryParsingError("[date_histogram] failed to parse field [offset]");
    }
  }
  int set = body.contains("calendar_interval") + body.contains("fixed_interval") +
            body.contains("interval");
  if (set == 0) {
    return IllegalArgument("Invalid interval specified, must be non-null and non-empty");
  }
  if (set > 1) {
    return IllegalArgument(
        "Cannot use [fixed_interval] with [calendar_interval] configuration "
        "option.");
  }
  json rounding_spec;
  std::optional<DateRounding> rounding;
  auto interval_str = [&](const char* key) -> Result<std::string> {
    if (!body[key].is_string()) {
      return QueryParsingError(std::string("[date_histogram] [") + key + "] must be a string");
    }
    return body[key].get<std::string>();
  };
  if (body.contains("calendar_interval")) {
    QD_ASSIGN_OR_RETURN(std::string s, interval_str("calendar_interval"));
    QD_ASSIGN_OR_RETURN(rounding, DateRounding::Calendar(s, zone, offset_ms));
    rounding_spec = {{"calendar", s}};
  } else if (body.contains("fixed_interval")) {
    QD_ASSIGN_OR_RETURN(std::string s, interval_str("fixed_interval"));
    auto r = DateRounding::Fixed(s, zone, offset_ms);
    if (!r.ok()) {
      if (DateRounding::Calendar(s, zone, offset_ms).ok()) {
        return IllegalArgument(
            "failed to parse setting [date_histogram.fixedInterval] with value "
            "[" +
            s + "] as a time value: unit is missing or unrecognized");
      }
      return r.status();
    }
    rounding = std::move(*r);
    rounding_spec = {{"fixed", s}};
  } else {
    // The deprecated `interval`: a calendar unit name, else a fixed time value.
    std::string s = body["interval"].is_number()
                        ? std::to_string(body["interval"].get<int64_t>()) + "ms"
                        : body["interval"].get<std::string>();
    auto cal = DateRounding::Calendar(s, zone, offset_ms);
    if (cal.ok()) {
      rounding = std::move(*cal);
      rounding_spec = {{"calendar", s}};
    } else {
      QD_ASSIGN_OR_RETURN(rounding, DateRounding::Fixed(s, zone, offset_ms));
      rounding_spec = {{"fixed", s}};
    }
  }
  rounding_spec["tz"] = tz_id;
  rounding_spec["offset"] = offset_ms;
  p["rounding"] = rounding_spec;

  json fmt = src.kind == ValueKind::kDate || src.kind == ValueKind::kUnmapped
                 ? json{{"kind", "date"},
                        {"format", body.contains("format")    ? body["format"].get<std::string>()
                                   : src.date_formats.empty() ? "strict_date_optional_time"
                                                              : src.date_formats[0]},
                        {"tz", tz_id}}
                 : json(nullptr);
  if (src.kind == ValueKind::kLong && body.contains("format")) {
    fmt = {{"kind", "date"}, {"format", body["format"].get<std::string>()}, {"tz", tz_id}};
  }
  std::shared_ptr<const DateFormatter> parser;
  if (!fmt.is_null()) {
    QD_ASSIGN_OR_RETURN(parser, DateFormatter::Create(fmt["format"].get<std::string>(), zone));
    p["fmt"] = fmt;
  } else {
    QD_ASSIGN_OR_RETURN(parser, DateFormatter::Create("", zone));
  }
  if (body.contains("extended_bounds")) {
    const json& eb = body["extended_bounds"];
    json bounds = json::object();
    // Bounds are parsed with the field's formats (or the agg's format) and date math.
    std::string field_fmt;
    for (size_t i = 0; i < src.date_formats.size(); ++i) {
      field_fmt += (i ? "||" : "") + src.date_formats[i];
    }
    QD_ASSIGN_OR_RETURN(
        auto bound_parser,
        DateFormatter::Create(
            body.contains("format") ? body["format"].get<std::string>() : field_fmt, zone));
    for (const char* k : {"min", "max"}) {
      if (eb.contains(k)) {
        QD_ASSIGN_OR_RETURN(int64_t v, DateParam(eb[k], *bound_parser, *zone, ctx.now_millis));
        bounds[k] = v;
      }
    }
    if (bounds.contains("min") && bounds.contains("max") && bounds["min"] > bounds["max"]) {
      return IllegalArgument("[extended_bounds.min][" + bounds["min"].dump() +
                             "] cannot be greater than [extended_bounds.max][" +
                             bounds["max"].dump() + "] for histogram aggregation [" + name + "]");
    }
    p["extended_bounds"] = bounds;
  }
  if (body.contains("missing")) {
    QD_ASSIGN_OR_RETURN(int64_t m, DateParam(body["missing"], *parser, *zone, ctx.now_millis));
    missing = m;
  }
  return std::unique_ptr<Aggregator>(new HistogramAggregator(
      name, std::move(src), std::move(subs), std::move(rounding), 0, 0, missing, p));
}

}  // namespace quidditch::engine::aggs
