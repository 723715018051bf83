// range and date_range on one shard: bucket ordinal = owning * ranges + range index; a doc
// counts once per range holding any of its values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/aggs/aggregator.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Range {
  double from = -kInf;  // inclusive
  double to = kInf;     // exclusive
  std::string key;      // empty: generated at render time
};

class RangeAggregator : public Aggregator {
 public:
  RangeAggregator(std::string name, FieldSource src, AggregatorList subs, std::vector<Range> ranges,
                  std::optional<int64_t> missing, json partial_template)
      : Aggregator(std::move(name)),
        src_(std::move(src)),
        subs_(std::move(subs)),
        ranges_(std::move(ranges)),
        missing_(missing),
        template_(std::move(partial_template)) {}

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
    const size_t n = ranges_.size();
    const size_t base = static_cast<size_t>(owning) * n;
    if (base + n > counts_.size()) counts_.resize(std::max(base + n, counts_.size() * 2), 0);
    for (size_t r = 0; r < n; ++r) {
      // Values ascending: the first value >= from decides.
      for (int64_t raw : values) {
        const double v = src_.ToDouble(raw);
        if (v < ranges_[r].from) continue;
        if (v < ranges_[r].to) {
          ++counts_[base + r];
          CollectAll(subs_, doc, score, static_cast<uint32_t>(base + r));
        }
        break;
      }
    }
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = template_;
    json buckets = json::array();
    const size_t n = ranges_.size();
    for (size_t r = 0; r < n; ++r) {
      const size_t ord = static_cast<size_t>(owning) * n + r;
      const bool valid = owning != std::numeric_limits<uint32_t>::max();
      json b = json::object();
      b["doc_count"] = valid && ord < counts_.size() ? counts_[ord] : 0;
      QD_ASSIGN_OR_RETURN(b["aggs"], BuildAll(subs_, valid ? static_cast<uint32_t>(ord)
                                                           : std::numeric_limits<uint32_t>::max()));
      buckets.push_back(std::move(b));
    }
    p["buckets"] = std::move(buckets);
    return p;
  }

 private:
  const FieldSource src_;
  AggregatorList subs_;
  const std::vector<Range> ranges_;
  const std::optional<int64_t> missing_;
  const json template_;
  const NumericDocValues* numeric_ = nullptr;
  std::vector<uint64_t> counts_;
};

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeRangeAggregator(const std::string& name,
                                                        const std::string& type, const json& body,
                                                        AggregatorList subs,
                                                        const AggregationContext& ctx) {
  const bool date = type == "date_range";
  static const std::set<std::string> kKnown = {"field",   "ranges", "keyed",
                                               "missing", "format", "time_zone"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.count(key)) return QueryParsingError("[" + type + "] unknown field [" + key + "]");
  }
  QD_ASSIGN_OR_RETURN(FieldSource src, ResolveField(body, name, ctx));
  if (src.kind == ValueKind::kKeyword) {
    return IllegalArgument("Field [" + src.field +
                           "] of type [keyword] is not supported for "
                           "aggregation [" +
                           type + "]");
  }
  if (!body.contains("ranges") || !body["ranges"].is_array() || body["ranges"].empty()) {
    return IllegalArgument("No [ranges] specified for the [" + name + "] aggregation");
  }
  std::string tz_id = "Z";
  std::shared_ptr<const DateZone> zone = DateZone::Utc();
  if (body.contains("time_zone")) {
    tz_id = body["time_zone"].get<std::string>();
    QD_ASSIGN_OR_RETURN(zone, DateZone::Create(tz_id));
  }
  json fmt;
  std::shared_ptr<const DateFormatter> parser;
  if (date) {
    std::string format = body.contains("format")    ? body["format"].get<std::string>()
                         : src.date_formats.empty() ? "strict_date_optional_time"
                                                    : src.date_formats[0];
    fmt = {{"kind", "date"}, {"format", format}, {"tz", tz_id}};
    // From/to strings parse with the agg's format, else the field's formats.
    std::string field_fmt;
    for (size_t i = 0; i < src.date_formats.size(); ++i) {
      field_fmt += (i ? "||" : "") + src.date_formats[i];
    }
    QD_ASSIGN_OR_RETURN(parser,
                        DateFormatter::Create(body.contains("format") ? format : field_fmt, zone));
  } else {
    fmt = FormatSpecFor(src, body, "Z");
  }
  std::vector<Range> ranges;
  for (const json& r : body["ranges"]) {
    if (!r.is_object()) return QueryParsingError("[ranges] must be objects");
    Range range;
    for (const char* k : {"from", "to"}) {
      if (!r.contains(k) || r[k].is_null()) continue;
      double v = 0;
      if (date) {
        if (r[k].is_number()) {
          v = r[k].get<double>();
        } else if (r[k].is_string()) {
          QD_ASSIGN_OR_RETURN(int64_t ms, ParseDateMath(r[k].get<std::string>(), ctx.now_millis,
                                                        *parser, *zone, false));
          v = static_cast<double>(ms);
        } else {
          return QueryParsingError(std::string("[date_range] bad [") + k + "]");
        }
      } else if (r[k].is_number()) {
        v = r[k].get<double>();
      } else if (r[k].is_string()) {
        try {
          v = std::stod(r[k].get<std::string>());
        } catch (...) {
          return QueryParsingError(std::string("[range] failed to parse field [") + k + "]");
        }
      } else {
        return QueryParsingError(std::string("[range] failed to parse field [") + k + "]");
      }
      (std::string_view(k) == "from" ? range.from : range.to) = v;
    }
    if (r.contains("key")) {
      if (!r["key"].is_string()) return QueryParsingError("[range] [key] must be a string");
      range.key = r["key"].get<std::string>();
    }
    ranges.push_back(range);
  }
  // RangeAggregator sorts its ranges by (from, to), and reports them in that order.
  std::stable_sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    if (a.from != b.from) return a.from < b.from;
    return a.to < b.to;
  });
  json p = {{"type", type}, {"keyed", body.value("keyed", false)}};
  if (!fmt.is_null()) p["fmt"] = fmt;
  json rs = json::array();
  for (const Range& r : ranges) {
    json j = json::object();
    if (r.from != -kInf) j["from"] = r.from;
    if (r.to != kInf) j["to"] = r.to;
    if (!r.key.empty()) j["key"] = r.key;
    rs.push_back(j);
  }
  p["ranges"] = rs;
  std::optional<int64_t> missing;
  if (body.contains("missing") && !body["missing"].is_null()) {
    const json& m = body["missing"];
    if (date && m.is_string()) {
      QD_ASSIGN_OR_RETURN(
          int64_t ms, ParseDateMath(m.get<std::string>(), ctx.now_millis, *parser, *zone, false));
      missing = ms;
    } else if (m.is_number()) {
      missing = src.kind == ValueKind::kDouble ? SortableDoubleBits(m.get<double>())
                                               : static_cast<int64_t>(m.get<double>());
    } else {
      return QueryParsingError("[" + type + "] failed to parse field [missing]");
    }
  }
  return std::unique_ptr<Aggregator>(
      new RangeAggregator(name, std::move(src), std::move(subs), std::move(ranges), missing, p));
}

}  // namespace quidditch::engine::aggs
