// Metric aggregations: avg, sum, min, max, stats, extended_stats, value_count (one class over
// running sums), cardinality and percentiles (sketches.h).
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/aggs/aggregator.h"
#include "engine/aggs/sketches.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

// Doubles in partials: JSON has no infinities or NaN (a sum can overflow), so those travel as
// strings.
json Dbl(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}
double GetDbl(const json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
  }
  return j.get<double>();
}

// OpenSearch's CompensatedSum (Kahan summation), so shard sums and their reduce round alike.
struct KahanSum {
  double sum = 0, delta = 0;
  void Add(double v) {
    if (!std::isfinite(v)) {
      sum += v;
      return;
    }
    if (!std::isfinite(sum)) return;
    const double corrected = v - delta;
    const double new_sum = sum + corrected;
    delta = (new_sum - sum) - corrected;
    sum = new_sum;
  }
};

// The `missing` value of a numeric metric, as a raw doc value of the field.
Result<std::optional<int64_t>> ParseNumericMissing(const json& body, const FieldSource& src,
                                                   const AggregationContext& ctx) {
  if (!body.contains("missing") || body["missing"].is_null()) return std::optional<int64_t>();
  const json& m = body["missing"];
  switch (src.kind) {
    case ValueKind::kDouble:
      if (!m.is_number()) break;
      return std::optional<int64_t>(SortableDoubleBits(m.get<double>()));
    case ValueKind::kBoolean:
      if (m.is_boolean()) return std::optional<int64_t>(m.get<bool>() ? 1 : 0);
      break;
    case ValueKind::kDate:
      if (m.is_number_integer()) return std::optional<int64_t>(m.get<int64_t>());
      if (m.is_string()) {
        auto zone = DateZone::Utc();
        std::string fmt;
        for (size_t i = 0; i < src.date_formats.size(); ++i) {
          fmt += (i ? "||" : "") + src.date_formats[i];
        }
        QD_ASSIGN_OR_RETURN(auto f, DateFormatter::Create(fmt, zone));
        QD_ASSIGN_OR_RETURN(int64_t v,
                            ParseDateMath(m.get<std::string>(), ctx.now_millis, *f, *zone, false));
        return std::optional<int64_t>(v);
      }
      break;
    case ValueKind::kLong:
      if (m.is_number()) return std::optional<int64_t>(static_cast<int64_t>(m.get<double>()));
      break;
    default:
      return std::optional<int64_t>();
  }
  if (m.is_string()) {
    // OpenSearch parses numeric strings too.
    try {
      double d = std::stod(m.get<std::string>());
      if (src.kind == ValueKind::kDouble) return std::optional<int64_t>(SortableDoubleBits(d));
      return std::optional<int64_t>(static_cast<int64_t>(d));
    } catch (...) {
    }
  }
  return IllegalArgument("failed to parse [missing] value [" + m.dump() + "] for field [" +
                         src.field + "]");
}

// avg, sum, min, max, stats, extended_stats, value_count.
class StatsAggregator : public Aggregator {
 public:
  StatsAggregator(std::string name, std::string type, FieldSource src,
                  std::optional<int64_t> missing, std::optional<std::string> missing_keyword,
                  json fmt, double sigma)
      : Aggregator(std::move(name)),
        type_(std::move(type)),
        src_(std::move(src)),
        missing_(missing),
        missing_keyword_(std::move(missing_keyword)),
        fmt_(std::move(fmt)),
        sigma_(sigma) {}

  void SetLeaf(size_t, const Leaf& leaf) override {
    numeric_ = nullptr;
    ords_ = nullptr;
    if (src_.kind == ValueKind::kKeyword) {
      ords_ = leaf.reader->SortedSet(src_.field);
    } else if (src_.numeric()) {
      numeric_ = leaf.reader->Numeric(src_.field);
    }
  }

  void Collect(uint32_t doc, float, uint32_t owning) override {
    if (src_.kind == ValueKind::kUnmapped) return;
    if (owning >= count_.size()) Grow(owning);
    if (ords_ != nullptr || src_.kind == ValueKind::kKeyword) {
      // value_count on a keyword field.
      size_t n = ords_ ? ords_->Ords(doc).size() : 0;
      if (n == 0 && missing_keyword_) n = 1;
      count_[owning] += n;
      return;
    }
    std::span<const int64_t> values;
    if (numeric_ != nullptr) values = numeric_->Values(doc);
    if (values.empty()) {
      if (!missing_) return;
      values = std::span<const int64_t>(&*missing_, 1);
    }
    for (int64_t raw : values) Add(owning, src_.ToDouble(raw));
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = {{"type", type_}};
    const bool has = owning < count_.size();
    const uint64_t count = has ? count_[owning] : 0;
    p["count"] = count;
    p["sum"] = Dbl(has ? sum_[owning].sum : 0.0);
    if (count > 0 && type_ != "value_count") {
      p["min"] = Dbl(min_[owning]);
      p["max"] = Dbl(max_[owning]);
    }
    if (type_ == "extended_stats") {
      p["sumsq"] = Dbl(has ? sumsq_[owning].sum : 0.0);
      p["sigma"] = sigma_;
    }
    if (!fmt_.is_null()) p["fmt"] = fmt_;
    return p;
  }

 private:
  void Grow(uint32_t owning) {
    const size_t n = std::max<size_t>(owning + 1, count_.size() * 2);
    count_.resize(n, 0);
    sum_.resize(n);
    sumsq_.resize(n);
    min_.resize(n, std::numeric_limits<double>::infinity());
    max_.resize(n, -std::numeric_limits<double>::infinity());
  }
  void Add(uint32_t b, double v) {
    ++count_[b];
    sum_[b].Add(v);
    sumsq_[b].Add(v * v);
    min_[b] = std::min(min_[b], v);
    max_[b] = std::max(max_[b], v);
  }

  const std::string type_;
  const FieldSource src_;
  const std::optional<int64_t> missing_;
  const std::optional<std::string> missing_keyword_;
  const json fmt_;
  const double sigma_;
  const NumericDocValues* numeric_ = nullptr;
  const SortedSetDocValues* ords_ = nullptr;
  std::vector<uint64_t> count_;
  std::vector<KahanSum> sum_, sumsq_;
  std::vector<double> min_, max_;
};

uint64_t HashNumeric(const FieldSource& src, int64_t raw) {
  if (src.kind == ValueKind::kDouble) {
    return Murmur3Mix64(std::bit_cast<uint64_t>(SortableBitsToDouble(raw)));
  }
  return Murmur3Mix64(static_cast<uint64_t>(raw));
}

class CardinalityAggregator : public Aggregator {
 public:
  CardinalityAggregator(std::string name, FieldSource src, int precision,
                        std::optional<int64_t> missing, std::optional<std::string> missing_kw)
      : Aggregator(std::move(name)),
        src_(std::move(src)),
        precision_(precision),
        missing_(missing),
        missing_kw_(std::move(missing_kw)) {}

  void SetLeaf(size_t, const Leaf& leaf) override {
    numeric_ = nullptr;
    ords_ = nullptr;
    if (src_.kind == ValueKind::kKeyword) {
      ords_ = leaf.reader->SortedSet(src_.field);
      const size_t n = ords_ ? ords_->value_count() : 0;
      ord_hash_.assign(n, 0);
      ord_hashed_.assign(n, 0);
    } else if (src_.numeric()) {
      numeric_ = leaf.reader->Numeric(src_.field);
    }
  }

  void Collect(uint32_t doc, float, uint32_t owning) override {
    if (src_.kind == ValueKind::kUnmapped) return;
    if (owning >= sketches_.size())
      sketches_.resize(std::max<size_t>(owning + 1, sketches_.size() * 2));
    auto& sketch = sketches_[owning];
    if (src_.kind == ValueKind::kKeyword) {
      std::span<const uint32_t> ords;
      if (ords_ != nullptr) ords = ords_->Ords(doc);
      if (ords.empty()) {
        if (missing_kw_) Sketch(sketch).AddHash(Murmur3Hash64(*missing_kw_));
        return;
      }
      for (uint32_t ord : ords) {
        if (!ord_hashed_[ord]) {
          ord_hash_[ord] = Murmur3Hash64(ords_->LookupOrd(ord));
          ord_hashed_[ord] = 1;
        }
        Sketch(sketch).AddHash(ord_hash_[ord]);
      }
      return;
    }
    std::span<const int64_t> values;
    if (numeric_ != nullptr) values = numeric_->Values(doc);
    if (values.empty()) {
      if (missing_) Sketch(sketch).AddHash(HashNumeric(src_, *missing_));
      return;
    }
    for (int64_t raw : values) Sketch(sketch).AddHash(HashNumeric(src_, raw));
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = {{"type", "cardinality"}};
    if (owning < sketches_.size() && sketches_[owning]) {
      p["sketch"] = sketches_[owning]->ToJson();
    } else {
      p["sketch"] = CardinalitySketch(precision_).ToJson();
    }
    return p;
  }

 private:
  CardinalitySketch& Sketch(std::optional<CardinalitySketch>& s) {
    if (!s) s.emplace(precision_);
    return *s;
  }

  const FieldSource src_;
  const int precision_;
  const std::optional<int64_t> missing_;
  const std::optional<std::string> missing_kw_;
  const NumericDocValues* numeric_ = nullptr;
  const SortedSetDocValues* ords_ = nullptr;
  std::vector<uint64_t> ord_hash_;
  std::vector<uint8_t> ord_hashed_;
  std::vector<std::optional<CardinalitySketch>> sketches_;
};

class PercentilesAggregator : public Aggregator {
 public:
  PercentilesAggregator(std::string name, FieldSource src, std::vector<double> percents, bool keyed,
                        double compression, std::optional<int64_t> missing, json fmt)
      : Aggregator(std::move(name)),
        src_(std::move(src)),
        percents_(std::move(percents)),
        keyed_(keyed),
        compression_(compression),
        missing_(missing),
        fmt_(std::move(fmt)) {}

  void SetLeaf(size_t, const Leaf& leaf) override {
    numeric_ = src_.numeric() ? leaf.reader->Numeric(src_.field) : nullptr;
  }

  void Collect(uint32_t doc, float, uint32_t owning) override {
    if (src_.kind == ValueKind::kUnmapped) return;
    if (owning >= digests_.size())
      digests_.resize(std::max<size_t>(owning + 1, digests_.size() * 2));
    std::span<const int64_t> values;
    if (numeric_ != nullptr) values = numeric_->Values(doc);
    if (values.empty()) {
      if (!missing_) return;
      values = std::span<const int64_t>(&*missing_, 1);
    }
    auto& d = digests_[owning];
    if (!d) d.emplace(compression_);
    for (int64_t raw : values) d->Add(src_.ToDouble(raw));
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = {{"type", "percentiles"}, {"percents", percents_}, {"keyed", keyed_}};
    if (owning < digests_.size() && digests_[owning]) {
      p["digest"] = digests_[owning]->ToJson();
    } else {
      p["digest"] = TDigest(compression_).ToJson();
    }
    if (!fmt_.is_null()) p["fmt"] = fmt_;
    return p;
  }

 private:
  const FieldSource src_;
  const std::vector<double> percents_;
  const bool keyed_;
  const double compression_;
  const std::optional<int64_t> missing_;
  const json fmt_;
  const NumericDocValues* numeric_ = nullptr;
  std::vector<std::optional<TDigest>> digests_;
};

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeMetricAggregator(const std::string& name,
                                                         const std::string& type, const json& body,
                                                         const AggregationContext& ctx) {
  QD_ASSIGN_OR_RETURN(FieldSource src, ResolveField(body, name, ctx));
  for (const auto& [key, value] : body.items()) {
    static const std::vector<std::string> kCommon = {"field", "missing", "format", "script"};
    bool known =
        std::find(kCommon.begin(), kCommon.end(), key) != kCommon.end() ||
        (type == "extended_stats" && key == "sigma") ||
        (type == "cardinality" && (key == "precision_threshold" || key == "execution_hint")) ||
        (type == "percentiles" &&
         (key == "percents" || key == "keyed" || key == "tdigest" || key == "hdr"));
    if (!known) {
      return QueryParsingError("[" + type + "] unknown field [" + key + "]");
    }
    if (key == "script") {
      return IllegalArgument("scripts are not supported in aggregation [" + name + "]");
    }
  }
  const bool keyword_ok = type == "value_count" || type == "cardinality";
  if (src.kind == ValueKind::kKeyword && !keyword_ok) {
    return IllegalArgument("Field [" + src.field +
                           "] of type [keyword] is not supported for "
                           "aggregation [" +
                           type + "]");
  }
  std::optional<int64_t> missing;
  std::optional<std::string> missing_kw;
  if (src.kind == ValueKind::kKeyword) {
    if (body.contains("missing") && !body["missing"].is_null()) {
      const json& m = body["missing"];
      missing_kw = m.is_string() ? m.get<std::string>() : m.dump();
    }
  } else {
    QD_ASSIGN_OR_RETURN(missing, ParseNumericMissing(body, src, ctx));
  }
  json fmt = FormatSpecFor(src, body, "Z");
  if (!fmt.is_null() && fmt.value("kind", "") == "date") {
    QD_ASSIGN_OR_RETURN(auto f,
                        DateFormatter::Create(fmt["format"].get<std::string>(), DateZone::Utc()));
    (void)f;
  }
  if (type == "cardinality") {
    int64_t threshold = 3000;
    if (body.contains("precision_threshold")) {
      if (!body["precision_threshold"].is_number()) {
        return QueryParsingError("[cardinality] precision_threshold must be a number");
      }
      threshold = body["precision_threshold"].get<int64_t>();
      if (threshold < 0) {
        return IllegalArgument("[precisionThreshold] must be greater than or equal to 0. Found [" +
                               std::to_string(threshold) + "] in [" + name + "]");
      }
      threshold = std::min<int64_t>(threshold, 40000);
    }
    return std::unique_ptr<Aggregator>(new CardinalityAggregator(
        name, std::move(src), CardinalitySketch::PrecisionFromThreshold(threshold), missing,
        std::move(missing_kw)));
  }
  if (type == "percentiles") {
    if (body.contains("hdr")) {
      return IllegalArgument("[hdr] percentiles are not supported in aggregation [" + name + "]");
    }
    std::vector<double> percents = {1, 5, 25, 50, 75, 95, 99};
    if (body.contains("percents")) {
      if (!body["percents"].is_array() || body["percents"].empty()) {
        return IllegalArgument("[percents] must not be empty: [" + name + "]");
      }
      percents.clear();
      for (const json& p : body["percents"]) {
        if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 100) {
          return IllegalArgument("percent must be in [0,100], got [" + p.dump() + "]: [" + name +
                                 "]");
        }
        percents.push_back(p.get<double>());
      }
      std::sort(percents.begin(), percents.end());
    }
    bool keyed = body.value("keyed", true);
    double compression = 100;
    if (body.contains("tdigest") && body["tdigest"].is_object() &&
        body["tdigest"].contains("compression")) {
      compression = body["tdigest"]["compression"].get<double>();
      if (compression < 0) {
        return IllegalArgument("[compression] must be greater than or equal to 0. Found [" +
                               JavaDouble(compression) + "] in [" + name + "]");
      }
    }
    return std::unique_ptr<Aggregator>(
        new PercentilesAggregator(name, std::move(src), std::move(percents), keyed,
                                  std::max(compression, 1.0), missing, std::move(fmt)));
  }
  double sigma = 2.0;
  if (type == "extended_stats" && body.contains("sigma")) {
    if (!body["sigma"].is_number() || body["sigma"].get<double>() < 0) {
      return IllegalArgument("[sigma] must be greater than or equal to 0. Found [" +
                             body["sigma"].dump() + "] in [" + name + "]");
    }
    sigma = body["sigma"].get<double>();
  }
  if (type == "value_count") fmt = nullptr;
  return std::unique_ptr<Aggregator>(new StatsAggregator(
      name, type, std::move(src), missing, std::move(missing_kw), std::move(fmt), sigma));
}

// --- Reduce ---------------------------------------------------------------------------------

Result<json> MergeMetric(const std::string& type, const std::vector<const json*>& parts) {
  json out = *parts[0];
  if (type == "cardinality") {
    QD_ASSIGN_OR_RETURN(CardinalitySketch s, CardinalitySketch::FromJson(out["sketch"]));
    for (size_t i = 1; i < parts.size(); ++i) {
      QD_ASSIGN_OR_RETURN(CardinalitySketch o, CardinalitySketch::FromJson((*parts[i])["sketch"]));
      if (o.precision() != s.precision()) {
        return Status::Corruption("cardinality partials of different precisions");
      }
      s.Merge(o);
    }
    out["sketch"] = s.ToJson();
    return out;
  }
  if (type == "percentiles") {
    QD_ASSIGN_OR_RETURN(TDigest d, TDigest::FromJson(out["digest"]));
    for (size_t i = 1; i < parts.size(); ++i) {
      QD_ASSIGN_OR_RETURN(TDigest o, TDigest::FromJson((*parts[i])["digest"]));
      d.Merge(o);
    }
    out["digest"] = d.ToJson();
    return out;
  }
  uint64_t count = 0;
  KahanSum sum, sumsq;
  std::optional<double> mn, mx;
  for (const json* p : parts) {
    count += p->at("count").get<uint64_t>();
    sum.Add(GetDbl(p->at("sum")));
    if (p->contains("sumsq")) sumsq.Add(GetDbl(p->at("sumsq")));
    if (p->contains("min")) {
      double v = GetDbl(p->at("min"));
      mn = mn ? std::min(*mn, v) : v;
    }
    if (p->contains("max")) {
      double v = GetDbl(p->at("max"));
      mx = mx ? std::max(*mx, v) : v;
    }
  }
  out["count"] = count;
  out["sum"] = Dbl(sum.sum);
  if (out.contains("sumsq")) out["sumsq"] = Dbl(sumsq.sum);
  out.erase("min");
  out.erase("max");
  if (mn) out["min"] = Dbl(*mn);
  if (mx) out["max"] = Dbl(*mx);
  return out;
}

namespace {

struct StatsValues {
  uint64_t count = 0;
  double sum = 0, sumsq = 0, sigma = 2;
  std::optional<double> min, max;
  double avg() const { return sum / static_cast<double>(count); }
  double var_pop() const {
    double v = (sumsq - sum * sum / static_cast<double>(count)) / static_cast<double>(count);
    return v < 0 ? 0 : v;
  }
  double var_sample() const {
    if (count < 2) return std::numeric_limits<double>::quiet_NaN();
    double v = (sumsq - sum * sum / static_cast<double>(count)) / static_cast<double>(count - 1);
    return v < 0 ? 0 : v;
  }
};

StatsValues ReadStats(const json& p) {
  StatsValues s;
  s.count = p.at("count").get<uint64_t>();
  s.sum = GetDbl(p.at("sum"));
  s.sumsq = p.contains("sumsq") ? GetDbl(p["sumsq"]) : 0.0;
  s.sigma = p.value("sigma", 2.0);
  if (p.contains("min")) s.min = GetDbl(p["min"]);
  if (p.contains("max")) s.max = GetDbl(p["max"]);
  return s;
}

json Num(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  return v;
}

}  // namespace

Result<json> RenderMetric(const std::string& type, const json& p) {
  const json fmt = p.value("fmt", json());
  auto with_string = [&](json& out, const char* field, const char* as_string, double v) {
    out[field] = Num(v);
    std::string s = FormatValue(fmt, v);
    if (!s.empty() && !std::isnan(v) && !std::isinf(v)) out[as_string] = s;
  };
  if (type == "cardinality") {
    QD_ASSIGN_OR_RETURN(CardinalitySketch s, CardinalitySketch::FromJson(p.at("sketch")));
    return json{{"value", s.Estimate()}};
  }
  if (type == "percentiles") {
    QD_ASSIGN_OR_RETURN(TDigest d, TDigest::FromJson(p.at("digest")));
    const bool keyed = p.value("keyed", true);
    json values = keyed ? json::object() : json::array();
    for (const json& pj : p.at("percents")) {
      const double pct = pj.get<double>();
      const double v =
          d.count() == 0 ? std::numeric_limits<double>::quiet_NaN() : d.Quantile(pct / 100.0);
      const std::string key = JavaDouble(pct);
      if (keyed) {
        values[key] = Num(v);
        std::string s = d.count() == 0 ? "" : FormatValue(fmt, v);
        if (!s.empty()) values[key + "_as_string"] = s;
      } else {
        json e = {{"key", pct}, {"value", Num(v)}};
        std::string s = d.count() == 0 ? "" : FormatValue(fmt, v);
        if (!s.empty()) e["value_as_string"] = s;
        values.push_back(e);
      }
    }
    return json{{"values", values}};
  }
  const StatsValues s = ReadStats(p);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  json out = json::object();
  if (type == "value_count") {
    out["value"] = s.count;
  } else if (type == "sum") {
    with_string(out, "value", "value_as_string", s.sum);
  } else if (type == "avg") {
    with_string(out, "value", "value_as_string", s.count ? s.avg() : nan);
  } else if (type == "min") {
    with_string(out, "value", "value_as_string", s.min.value_or(nan));
  } else if (type == "max") {
    with_string(out, "value", "value_as_string", s.max.value_or(nan));
  } else {  // stats, extended_stats
    out["count"] = s.count;
    out["min"] = s.min ? json(*s.min) : json(nullptr);
    out["max"] = s.max ? json(*s.max) : json(nullptr);
    out["avg"] = s.count ? json(s.avg()) : json(nullptr);
    out["sum"] = s.sum;
    if (s.count > 0 && !fmt.is_null()) {
      out["min_as_string"] = FormatValue(fmt, *s.min);
      out["max_as_string"] = FormatValue(fmt, *s.max);
      out["avg_as_string"] = FormatValue(fmt, s.avg());
      out["sum_as_string"] = FormatValue(fmt, s.sum);
    }
    if (type == "extended_stats") {
      const bool has = s.count > 0;
      out["sum_of_squares"] = has ? json(s.sumsq) : json(nullptr);
      out["variance"] = has ? Num(s.var_pop()) : json(nullptr);
      out["variance_population"] = has ? Num(s.var_pop()) : json(nullptr);
      out["variance_sampling"] = has ? Num(s.var_sample()) : json(nullptr);
      const double sd = std::sqrt(s.var_pop()), sds = std::sqrt(s.var_sample());
      out["std_deviation"] = has ? Num(sd) : json(nullptr);
      out["std_deviation_population"] = has ? Num(sd) : json(nullptr);
      out["std_deviation_sampling"] = has ? Num(sds) : json(nullptr);
      json bounds;
      bounds["upper"] = has ? Num(s.avg() + s.sigma * sd) : json(nullptr);
      bounds["lower"] = has ? Num(s.avg() - s.sigma * sd) : json(nullptr);
      bounds["upper_population"] = has ? Num(s.avg() + s.sigma * sd) : json(nullptr);
      bounds["lower_population"] = has ? Num(s.avg() - s.sigma * sd) : json(nullptr);
      bounds["upper_sampling"] = has ? Num(s.avg() + s.sigma * sds) : json(nullptr);
      bounds["lower_sampling"] = has ? Num(s.avg() - s.sigma * sds) : json(nullptr);
      out["std_deviation_bounds"] = bounds;
    }
  }
  return out;
}

Result<double> SortValueOf(const json& p, std::string_view path) {
  const std::string type = p.at("type").get<std::string>();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!IsMetricType(type)) {
    if ((type == "filter" || type == "missing") &&
        (path.empty() || path == "_count" || path == "doc_count")) {
      return static_cast<double>(p.at("doc_count").get<uint64_t>());
    }
    return IllegalArgument(
        "Buckets can only be sorted on a sub-aggregator path that is built "
        "out of zero or more single-bucket aggregations within the path and a "
        "final single-bucket or a metrics aggregation at the path end.");
  }
  if (type == "cardinality") {
    QD_ASSIGN_OR_RETURN(CardinalitySketch s, CardinalitySketch::FromJson(p.at("sketch")));
    return static_cast<double>(s.Estimate());
  }
  if (type == "percentiles") {
    QD_ASSIGN_OR_RETURN(TDigest d, TDigest::FromJson(p.at("digest")));
    double pct = 0;
    try {
      pct = std::stod(std::string(path));
    } catch (...) {
      return IllegalArgument("Invalid percentile [" + std::string(path) + "]");
    }
    return d.count() == 0 ? nan : d.Quantile(pct / 100);
  }
  const StatsValues s = ReadStats(p);
  std::string_view metric = path;
  if (metric.empty()) {
    if (type == "stats" || type == "extended_stats") {
      return IllegalArgument("The provided aggregation [" + type +
                             "] is a multi-value aggregation; a metric path is required");
    }
    // A string_view of `type` itself: a conditional mixing literals and `type` would make a
    // temporary std::string and leave `metric` dangling.
    if (type == "value_count") return static_cast<double>(s.count);
    metric = type;
  }
  if (metric == "count" || metric == "value_count") return static_cast<double>(s.count);
  if (metric == "sum") return s.sum;
  if (metric == "avg") return s.count ? s.avg() : nan;
  if (metric == "min") return s.min.value_or(nan);
  if (metric == "max") return s.max.value_or(nan);
  if (metric == "sum_of_squares") return s.sumsq;
  if (metric == "variance") return s.count ? s.var_pop() : nan;
  if (metric == "std_deviation") return s.count ? std::sqrt(s.var_pop()) : nan;
  return IllegalArgument("Invalid aggregation order path [" + std::string(path) + "]");
}

}  // namespace quidditch::engine::aggs
