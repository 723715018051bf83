#include "engine/aggs/aggregator.h"

#include <charconv>
#include <cmath>
#include <map>

#include "engine/errors.h"

namespace quidditch::engine::aggs {

std::string JavaDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  bool neg = s[0] == '-';
  if (neg) s.erase(0, 1);
  size_t e = s.find('e');
  int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  const double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    if (exp >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      while (static_cast<int>(int_part.size()) < exp + 1) int_part.push_back('0');
      std::string frac =
          digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "0";
      out = int_part + "." + frac;
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" +
          std::to_string(exp);
  }
  return neg ? "-" + out : out;
}

namespace {
constexpr std::string_view kTextFieldError =
    "Text fields are not optimised for operations that require per-document field data like "
    "aggregations and sorting, so these operations are disabled by default. Please use a keyword "
    "field instead. Alternatively, set fielddata=true on [";
}

Result<FieldSource> ResolveField(const json& body, const std::string& agg_name,
                                 const AggregationContext& ctx, bool optional) {
  FieldSource src;
  if (!body.is_object() || !body.contains("field")) {
    if (optional) return src;
    return IllegalArgument(
        "Required one of fields [field, script], but none were specified. "
        "in aggregation [" +
        agg_name + "]");
  }
  if (!body["field"].is_string()) {
    return QueryParsingError("[field] must be a string in aggregation [" + agg_name + "]");
  }
  src.field = body["field"].get<std::string>();
  const FieldMapping* fm = ctx.find_field ? ctx.find_field(src.field) : nullptr;
  if (fm == nullptr) return src;  // unmapped
  switch (fm->type) {
    case FieldType::kText:
      return IllegalArgument(std::string(kTextFieldError) + src.field +
                             "] in order to load field data by uninverting the inverted index. "
                             "Note that this can use significant memory.");
    case FieldType::kKeyword:
      src.kind = ValueKind::kKeyword;
      break;
    case FieldType::kLong:
    case FieldType::kInteger:
    case FieldType::kShort:
    case FieldType::kByte:
      src.kind = ValueKind::kLong;
      break;
    case FieldType::kDouble:
    case FieldType::kFloat:
      src.kind = ValueKind::kDouble;
      break;
    case FieldType::kBoolean:
      src.kind = ValueKind::kBoolean;
      break;
    case FieldType::kDate:
      src.kind = ValueKind::kDate;
      src.date_formats = fm->formats;
      break;
    case FieldType::kObject:
      return IllegalArgument("Field [" + src.field +
                             "] of type [object] is not supported for "
                             "aggregation [" +
                             agg_name + "]");
  }
  if (!fm->doc_values) {
    return IllegalArgument("Can't load fielddata on [" + src.field +
                           "] because fielddata is unsupported on fields of type [" +
                           std::string(FieldTypeName(fm->type)) + "]. Use doc values instead.");
  }
  return src;
}

json FormatSpecFor(const FieldSource& source, const json& body, std::string_view time_zone) {
  if (source.kind == ValueKind::kDate) {
    std::string format;
    if (body.is_object() && body.contains("format") && body["format"].is_string()) {
      format = body["format"].get<std::string>();
    } else if (!source.date_formats.empty()) {
      format = source.date_formats[0];
    } else {
      format = "strict_date_optional_time";
    }
    return json{{"kind", "date"}, {"format", format}, {"tz", std::string(time_zone)}};
  }
  if (source.kind == ValueKind::kBoolean) return json{{"kind", "bool"}};
  return nullptr;
}

std::string FormatValue(const json& fmt, double value) {
  if (!fmt.is_object()) return {};
  const std::string kind = fmt.value("kind", "");
  if (kind == "bool") return value != 0 ? "true" : "false";
  if (kind == "date") {
    auto zone = DateZone::Create(fmt.value("tz", "Z"));
    auto f = DateFormatter::Create(fmt.value("format", ""), zone.ok() ? *zone : DateZone::Utc());
    if (!f.ok()) return {};  // formats were validated at parse time
    return (*f)->Format(static_cast<int64_t>(std::llround(value)));
  }
  return {};
}

void SetLeafAll(AggregatorList& subs, size_t leaf_index, const Leaf& leaf) {
  for (auto& s : subs) s->SetLeaf(leaf_index, leaf);
}
void FinishLeafAll(AggregatorList& subs) {
  for (auto& s : subs) s->FinishLeaf();
}
Result<json> BuildAll(AggregatorList& subs, uint32_t bucket) {
  json out = json::object();
  for (auto& s : subs) {
    QD_ASSIGN_OR_RETURN(json p, s->BuildPartial(bucket));
    if (!s->meta().is_null()) p["meta"] = s->meta();
    out[s->name()] = std::move(p);
  }
  return out;
}
json KeyedBucket(json key, uint64_t doc_count, json aggs) {
  json bucket = json::array();
  bucket.get_ref<json::array_t&>().reserve(aggs.empty() ? 2 : 3);
  bucket.push_back(std::move(key));
  bucket.push_back(doc_count);
  if (!aggs.empty()) bucket.push_back(std::move(aggs));
  return bucket;
}
const json& BucketAggs(const json& bucket) {
  static const json kNone = json::object();
  return bucket.size() > 2 ? bucket[2] : kNone;
}
bool AnyNeedsScores(const AggregatorList& subs) {
  for (const auto& s : subs) {
    if (s->needs_scores()) return true;
  }
  return false;
}

bool IsMetricType(std::string_view type) {
  return type == "avg" || type == "sum" || type == "min" || type == "max" || type == "stats" ||
         type == "extended_stats" || type == "value_count" || type == "cardinality" ||
         type == "percentiles";
}

namespace {

bool IsBucketType(std::string_view type) {
  return type == "terms" || type == "histogram" || type == "date_histogram" || type == "range" ||
         type == "date_range" || type == "missing" || type == "filter" || type == "filters";
}

}  // namespace

Result<AggregatorList> ParseAggregatorList(const json& aggs, const AggregationContext& ctx) {
  AggregatorList out;
  if (aggs.is_null()) return out;
  if (!aggs.is_object()) {
    return QueryParsingError("Expected [START_OBJECT] under [aggregations], but got a [" +
                             std::string(aggs.type_name()) + "]");
  }
  for (const auto& [name, def] : aggs.items()) {
    if (name.find_first_of("[]>") != std::string::npos) {
      return QueryParsingError("Invalid aggregation name [" + name +
                               "]. Aggregation names can contain any character except '[', ']', "
                               "and '>'");
    }
    if (!def.is_object()) {
      return QueryParsingError("Expected [START_OBJECT] under [" + name + "], but got a [" +
                               std::string(def.type_name()) + "] in [" + name + "]");
    }
    std::string type;
    const json* body = nullptr;
    const json* sub_defs = nullptr;
    for (const auto& [key, value] : def.items()) {
      if (key == "aggs" || key == "aggregations") {
        if (sub_defs != nullptr) {
          return QueryParsingError("Found two sub aggregation definitions under [" + name + "]");
        }
        sub_defs = &value;
        continue;
      }
      if (key == "meta") continue;
      if (!type.empty()) {
        return QueryParsingError("Found two aggregation type definitions in [" + name + "]: [" +
                                 type + "] and [" + key + "]");
      }
      type = key;
      body = &value;
    }
    if (type.empty()) {
      return QueryParsingError("Missing definition for aggregation [" + name + "]");
    }
    if (!IsMetricType(type) && !IsBucketType(type) && type != "top_hits") {
      return QueryParsingError("Unknown aggregation type [" + type + "]");
    }
    if (!body->is_object()) {
      return QueryParsingError("Expected [START_OBJECT] under [" + type + "], but got a [" +
                               std::string(body->type_name()) + "] in [" + name + "]");
    }
    AggregatorList subs;
    if (sub_defs != nullptr) {
      if (IsMetricType(type) || type == "top_hits") {
        return Status::InvalidArgument("aggregation_initialization_exception: Aggregator [" + name +
                                       "] of type [" + type + "] cannot accept sub-aggregations");
      }
      QD_ASSIGN_OR_RETURN(subs, ParseAggregatorList(*sub_defs, ctx));
    }
    std::unique_ptr<Aggregator> agg;
    if (IsMetricType(type)) {
      QD_ASSIGN_OR_RETURN(agg, MakeMetricAggregator(name, type, *body, ctx));
    } else if (type == "top_hits") {
      QD_ASSIGN_OR_RETURN(agg, MakeTopHitsAggregator(name, *body, ctx));
    } else if (type == "terms") {
      QD_ASSIGN_OR_RETURN(agg, MakeTermsAggregator(name, *body, std::move(subs), ctx));
    } else if (type == "histogram" || type == "date_histogram") {
      QD_ASSIGN_OR_RETURN(agg, MakeHistogramAggregator(name, type, *body, std::move(subs), ctx));
    } else if (type == "range" || type == "date_range") {
      QD_ASSIGN_OR_RETURN(agg, MakeRangeAggregator(name, type, *body, std::move(subs), ctx));
    } else {
      QD_ASSIGN_OR_RETURN(agg, MakeSingleBucketAggregator(name, type, *body, std::move(subs), ctx));
    }
    if (def.contains("meta")) {
      if (!def["meta"].is_object()) {
        return QueryParsingError("[meta] of aggregation [" + name + "] must be an object");
      }
      agg->set_meta(def["meta"]);
    }
    out.push_back(std::move(agg));
  }
  return out;
}

namespace {

class CollectorImpl : public AggregationsCollector {
 public:
  explicit CollectorImpl(AggregatorList aggs) : aggs_(std::move(aggs)) {}

  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    if (in_leaf_) FinishLeafAll(aggs_);
    SetLeafAll(aggs_, leaf_index, leaf);
    in_leaf_ = true;
  }
  void Collect(uint32_t doc, float score) override { CollectAll(aggs_, doc, score, 0); }
  bool needs_scores() const override { return AnyNeedsScores(aggs_); }

  Result<ShardAggregations> Finish() override {
    if (in_leaf_) FinishLeafAll(aggs_);
    in_leaf_ = false;
    return BuildAll(aggs_, 0);
  }

 private:
  AggregatorList aggs_;
  bool in_leaf_ = false;
};

}  // namespace

}  // namespace quidditch::engine::aggs

namespace quidditch::engine {

Result<std::unique_ptr<AggregationsCollector>> ParseAggregations(
    const nlohmann::json& aggs, const AggregationContext& context) {
  QD_ASSIGN_OR_RETURN(auto list, aggs::ParseAggregatorList(aggs, context));
  return std::unique_ptr<AggregationsCollector>(new aggs::CollectorImpl(std::move(list)));
}

std::string EncodePartial(const ShardAggregations& partial) { return partial.dump(); }

Result<ShardAggregations> DecodePartial(std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("aggregation partial results are not a JSON object");
  }
  return j;
}

Result<nlohmann::json> ReduceAggregations(const std::vector<ShardAggregations>& shards,
                                          const RenderOptions& options) {
  if (shards.empty()) return nlohmann::json::object();
  std::vector<const nlohmann::json*> ptrs;
  for (const auto& s : shards) ptrs.push_back(&s);
  QD_ASSIGN_OR_RETURN(nlohmann::json merged, aggs::MergeAggsObjects(ptrs));
  nlohmann::json out = nlohmann::json::object();
  QD_RETURN_IF_ERROR(aggs::RenderAggsInto(merged, options, &out));
  return out;
}

}  // namespace quidditch::engine

namespace quidditch::engine::aggs {

json CopyWithout(const json& partial, std::string_view skip) {
  json out = json::object();
  for (const auto& [key, value] : partial.items()) {
    if (key != skip) out[key] = value;
  }
  return out;
}

Result<json> MergeAggsObjects(const std::vector<const json*>& objects) {
  std::map<std::string, std::vector<const json*>> by_name;
  for (const json* o : objects) {
    if (!o->is_object()) return Status::Corruption("aggregation partial: not an object");
    for (const auto& [name, part] : o->items()) by_name[name].push_back(&part);
  }
  json out = json::object();
  for (const auto& [name, parts] : by_name) {
    QD_ASSIGN_OR_RETURN(out[name], MergePartials(parts));
  }
  return out;
}

Result<json> MergePartials(const std::vector<const json*>& parts) {
  if (parts.empty()) return Status::Internal("no partials to merge");
  for (const json* p : parts) {
    if (!p->is_object() || !p->contains("type") || !(*p)["type"].is_string()) {
      return Status::Corruption("aggregation partial without a type");
    }
  }
  const std::string type = (*parts[0])["type"].get<std::string>();
  for (const json* p : parts) {
    if ((*p)["type"] != type) {
      return Status::Corruption("aggregation partials of different types: " + type + " and " +
                                (*p)["type"].get<std::string>());
    }
  }
  try {
    if (IsMetricType(type)) return MergeMetric(type, parts);
    if (type == "top_hits") return MergeTopHits(parts);
    return MergeBuckets(type, parts);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("malformed aggregation partial: ") + e.what());
  }
}

Result<json> RenderPartial(const json& partial, const RenderOptions& options) {
  const std::string type = partial.at("type").get<std::string>();
  try {
    if (IsMetricType(type)) return RenderMetric(type, partial);
    if (type == "top_hits") return RenderTopHits(partial);
    return RenderBuckets(type, partial, options);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("malformed aggregation partial: ") + e.what());
  }
}

Status RenderAggsInto(const json& aggs, const RenderOptions& options, json* out) {
  for (const auto& [name, part] : aggs.items()) {
    QD_ASSIGN_OR_RETURN(json rendered, RenderPartial(part, options));
    if (part.contains("meta")) rendered["meta"] = part["meta"];
    if (options.typed_keys) {
      (*out)[TypedKeysType(part) + "#" + name] = std::move(rendered);
    } else {
      (*out)[name] = std::move(rendered);
    }
  }
  return Status::OK();
}

std::string TypedKeysType(const json& partial) {
  std::string type = partial.at("type").get<std::string>();
  if (type == "percentiles") return "tdigest_percentiles";
  if (type != "terms") return type;
  const std::string kind = partial.value("kind", "");
  if (kind == "double") return "dterms";
  // Dates and booleans are long terms with a format in OpenSearch too.
  if (kind == "long" || kind == "date" || kind == "bool") return "lterms";
  return "sterms";  // keywords; and unmapped fields, as UnmappedTerms.getType() says
}

}  // namespace quidditch::engine::aggs
