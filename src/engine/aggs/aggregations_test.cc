// End-to-end tests of aggregations over real segments: hand-checked responses, a brute-force
// reference on random corpora, and the cross-shard property (any split of the documents among
// shards reduces to the same response as one shard).
#include "engine/aggs/aggregations.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "engine/errors.h"

namespace quidditch::engine {
namespace {

using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/qd_aggs_XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Doc {
  std::string id;
  std::vector<std::string> tags;  // keyword, multi-valued
  std::vector<int64_t> n;         // long, multi-valued
  std::optional<double> price;    // double
  std::optional<int64_t> ts;      // date (epoch ms)
  std::optional<bool> flag;       // boolean
};

ParsedDocument ToParsed(const Doc& d) {
  ParsedDocument p;
  p.id = d.id;
  json src = {{"id", d.id}};
  auto numeric = [&](const std::string& name, std::vector<int64_t> values) {
    if (values.empty()) return;
    std::sort(values.begin(), values.end());
    DocumentField f;
    f.name = name;
    f.index_options = IndexOptions::kDocs;
    f.doc_values = DocValuesType::kSortedNumeric;
    for (int64_t v : values) f.tokens.push_back({EncodeSortableLong(v), 0, 0, 0});
    f.numeric_values = values;
    p.fields.push_back(std::move(f));
  };
  if (!d.tags.empty()) {
    DocumentField f;
    f.name = "tag";
    f.index_options = IndexOptions::kDocs;
    f.doc_values = DocValuesType::kSortedSet;
    std::set<std::string> uniq(d.tags.begin(), d.tags.end());
    for (const auto& t : uniq) {
      f.tokens.push_back({t, 0, 0, 0});
      f.sorted_values.push_back(t);
    }
    p.fields.push_back(std::move(f));
    src["tag"] = d.tags;
  }
  numeric("n", d.n);
  if (!d.n.empty()) src["n"] = d.n;
  if (d.price) {
    numeric("price", {SortableDoubleBits(*d.price)});
    src["price"] = *d.price;
  }
  if (d.ts) {
    numeric("ts", {*d.ts});
    src["ts"] = *d.ts;
  }
  if (d.flag) {
    numeric("flag", {*d.flag ? 1 : 0});
    src["flag"] = *d.flag;
  }
  p.source = src.dump();
  return p;
}

const FieldMapping* FindField(std::string_view path) {
  static const std::map<std::string, FieldMapping, std::less<>> fields = [] {
    std::map<std::string, FieldMapping, std::less<>> m;
    auto add = [&](const std::string& name, FieldType type) {
      FieldMapping f;
      f.path = name;
      f.type = type;
      if (type == FieldType::kDate) f.formats = {"strict_date_optional_time", "epoch_millis"};
      m[name] = f;
    };
    add("tag", FieldType::kKeyword);
    add("n", FieldType::kLong);
    add("price", FieldType::kDouble);
    add("ts", FieldType::kDate);
    add("flag", FieldType::kBoolean);
    add("body", FieldType::kText);
    return m;
  }();
  auto it = fields.find(path);
  return it == fields.end() ? nullptr : &it->second;
}

AggregationContext Context() {
  AggregationContext c;
  c.find_field = FindField;
  c.now_millis = 1718000000000;  // 2024-06-10
  c.index_name = "test";
  return c;
}

// Documents grouped into segments, grouped into shards.
class Corpus {
 public:
  // shards[s][l]: the docs of leaf l of shard s.
  explicit Corpus(const std::vector<std::vector<std::vector<Doc>>>& shards) {
    int seg = 0;
    for (const auto& leaves : shards) {
      std::vector<Leaf> out;
      uint32_t base = 0;
      for (const auto& docs : leaves) {
        if (docs.empty()) continue;
        SegmentBuilder b;
        for (const Doc& d : docs) b.AddDocument(ToParsed(d), DocMeta{});
        const std::string name = "s" + std::to_string(seg++);
        Status st = b.Write(dir_.path(), name);
        EXPECT_TRUE(st.ok()) << st;
        auto r = SegmentReader::Open(dir_.path(), name);
        EXPECT_TRUE(r.ok()) << r.status();
        Leaf leaf;
        leaf.reader = *r;
        leaf.doc_base = base;
        base += static_cast<uint32_t>(docs.size());
        out.push_back(leaf);
      }
      shards_.push_back(std::move(out));
    }
  }

  // Runs `aggs` on every shard (all docs match, or those `match` accepts by id) and reduces.
  Result<json> Run(const json& aggs, const std::function<bool(const std::string&)>& match = nullptr,
                   const RenderOptions& options = {}) const {
    QD_ASSIGN_OR_RETURN(std::vector<ShardAggregations> partials, Partials(aggs, match));
    return ReduceAggregations(partials, options);
  }

  // The decoded partial result of every shard.
  Result<std::vector<ShardAggregations>> Partials(
      const json& aggs, const std::function<bool(const std::string&)>& match = nullptr) const {
    std::vector<ShardAggregations> partials;
    for (const auto& leaves : shards_) {
      QD_ASSIGN_OR_RETURN(auto collector, ParseAggregations(aggs, Context()));
      for (size_t l = 0; l < leaves.size(); ++l) {
        collector->SetLeaf(l, leaves[l]);
        for (uint32_t d = 0; d < leaves[l].reader->max_doc(); ++d) {
          if (match) {
            std::string id, src;
            QD_RETURN_IF_ERROR(leaves[l].reader->Document(d, &id, &src));
            if (!match(id)) continue;
          }
          collector->Collect(d, 1.0f + static_cast<float>(d % 7));
        }
      }
      QD_ASSIGN_OR_RETURN(ShardAggregations p, collector->Finish());
      QD_ASSIGN_OR_RETURN(ShardAggregations decoded, DecodePartial(EncodePartial(p)));
      partials.push_back(std::move(decoded));
    }
    return partials;
  }

 private:
  TempDir dir_;
  std::vector<std::vector<Leaf>> shards_;
};

constexpr int64_t kJan1 = 1704067200000;  // 2024-01-01T00:00:00Z
constexpr int64_t kDay = 86400000;

std::vector<Doc> SmallDocs() {
  return {
      {"1", {"a", "b"}, {1}, 10.0, kJan1, true},
      {"2", {"a"}, {2, 3}, 20.0, kJan1 + 40 * kDay, false},
      {"3", {"b"}, {3}, 35.5, kJan1 + 41 * kDay, true},
      {"4", {"c"}, {}, std::nullopt, std::nullopt, std::nullopt},
      {"5", {"a"}, {5}, 100.0, kJan1 + 100 * kDay, true},
  };
}

Result<json> RunSmallResult(const json& aggs) {
  std::vector<Doc> docs = SmallDocs();
  Corpus c({{docs}});
  return c.Run(aggs);
}

json RunSmall(const json& aggs, int shards = 1) {
  std::vector<Doc> docs = SmallDocs();
  std::vector<std::vector<std::vector<Doc>>> split(shards, std::vector<std::vector<Doc>>(2));
  for (size_t i = 0; i < docs.size(); ++i) split[i % shards][i % 2].push_back(docs[i]);
  Corpus c(split);
  auto r = c.Run(aggs);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : json();
}

TEST(AggregationsTest, TermsOnKeyword) {
  json r = RunSmall({{"t", {{"terms", {{"field", "tag"}}}}}});
  EXPECT_EQ(r["t"], json::parse(R"({"doc_count_error_upper_bound":0,"sum_other_doc_count":0,
    "buckets":[{"key":"a","doc_count":3},{"key":"b","doc_count":2},{"key":"c","doc_count":1}]})"));
  // size 1: the rest is sum_other_doc_count; _key order; min_doc_count.
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"size", 1}}}}}});
  EXPECT_EQ(r["t"]["buckets"], json::parse(R"([{"key":"a","doc_count":3}])"));
  EXPECT_EQ(r["t"]["sum_other_doc_count"], 3);
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"order", {{"_key", "desc"}}}}}}}});
  EXPECT_EQ(r["t"]["buckets"][0]["key"], "c");
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"min_doc_count", 2}}}}}});
  EXPECT_EQ(r["t"]["buckets"].size(), 2u);
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"include", {"a", "c"}}}}}}});
  EXPECT_EQ(r["t"]["buckets"],
            json::parse(R"([{"key":"a","doc_count":3},{"key":"c","doc_count":1}])"));
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"exclude", "a|b"}}}}}});
  EXPECT_EQ(r["t"]["buckets"], json::parse(R"([{"key":"c","doc_count":1}])"));
}

TEST(AggregationsTest, TermsOnNumbersBooleansAndMissing) {
  json r = RunSmall({{"t", {{"terms", {{"field", "n"}}}}}});
  EXPECT_EQ(r["t"]["buckets"], json::parse(R"([{"key":3,"doc_count":2},{"key":1,"doc_count":1},
    {"key":2,"doc_count":1},{"key":5,"doc_count":1}])"));
  r = RunSmall({{"t", {{"terms", {{"field", "flag"}}}}}});
  EXPECT_EQ(r["t"]["buckets"], json::parse(R"([{"key":1,"key_as_string":"true","doc_count":3},
    {"key":0,"key_as_string":"false","doc_count":1}])"));
  r = RunSmall({{"t", {{"terms", {{"field", "price"}, {"missing", -1}}}}}});
  EXPECT_EQ(r["t"]["buckets"][0], json::parse(R"({"key":-1.0,"doc_count":1})"));
  r = RunSmall({{"t", {{"terms", {{"field", "n"}, {"missing", 99}, {"exclude", {99}}}}}}});
  EXPECT_EQ(r["t"]["buckets"].size(), 4u);  // the excluded missing value makes no bucket
  r = RunSmall({{"t", {{"terms", {{"field", "n"}, {"missing", 99}}}}}});
  EXPECT_EQ(r["t"]["buckets"].size(), 5u);
  r = RunSmall({{"t", {{"terms", {{"field", "tag"}, {"missing", "none"}}}}}});
  EXPECT_EQ(r["t"]["buckets"].size(), 3u);  // every doc has a tag
  r = RunSmall({{"t", {{"terms", {{"field", "ts"}, {"size", 1}}}}}});
  EXPECT_EQ(r["t"]["buckets"][0]["key_as_string"], "2024-01-01T00:00:00.000Z");
  r = RunSmall({{"m", {{"missing", {{"field", "price"}}}}}});
  EXPECT_EQ(r["m"], json::parse(R"({"doc_count":1})"));
  // Unmapped field: nothing.
  r = RunSmall({{"t", {{"terms", {{"field", "nope"}}}}}, {"a", {{"avg", {{"field", "nope"}}}}}});
  EXPECT_EQ(r["t"]["buckets"], json::array());
  EXPECT_EQ(r["a"]["value"], nullptr);
}

TEST(AggregationsTest, Metrics) {
  json r = RunSmall({{"avg", {{"avg", {{"field", "n"}}}}},
                     {"sum", {{"sum", {{"field", "n"}}}}},
                     {"min", {{"min", {{"field", "price"}}}}},
                     {"max", {{"max", {{"field", "ts"}}}}},
                     {"count", {{"value_count", {{"field", "tag"}}}}},
                     {"stats", {{"stats", {{"field", "n"}}}}},
                     {"ext", {{"extended_stats", {{"field", "n"}}}}},
                     {"card", {{"cardinality", {{"field", "tag"}}}}},
                     {"pct", {{"percentiles", {{"field", "n"}, {"percents", {0, 50, 100}}}}}}});
  // n values: 1, 2, 3, 3, 5
  EXPECT_EQ(r["avg"], json::parse(R"({"value":2.8})"));
  EXPECT_EQ(r["sum"], json::parse(R"({"value":14.0})"));
  EXPECT_EQ(r["min"], json::parse(R"({"value":10.0})"));
  EXPECT_EQ(r["max"]["value_as_string"], "2024-04-10T00:00:00.000Z");
  EXPECT_EQ(r["count"], json::parse(R"({"value":6})"));
  EXPECT_EQ(r["stats"], json::parse(R"({"count":5,"min":1.0,"max":5.0,"avg":2.8,"sum":14.0})"));
  EXPECT_EQ(r["ext"]["sum_of_squares"], 48.0);
  EXPECT_NEAR(r["ext"]["variance"].get<double>(), 48.0 / 5 - 2.8 * 2.8, 1e-12);
  EXPECT_NEAR(r["ext"]["variance_sampling"].get<double>(), (48.0 - 14.0 * 14.0 / 5) / 4, 1e-12);
  EXPECT_NEAR(r["ext"]["std_deviation_bounds"]["upper"].get<double>(),
              2.8 + 2 * std::sqrt(48.0 / 5 - 2.8 * 2.8), 1e-12);
  EXPECT_EQ(r["card"], json::parse(R"({"value":3})"));
  EXPECT_EQ(r["pct"]["values"]["0.0"], 1.0);
  EXPECT_EQ(r["pct"]["values"]["100.0"], 5.0);
  EXPECT_TRUE(r["pct"]["values"].contains("50.0"));
  // Empty metrics.
  r = RunSmall(json::parse(R"({"f": {"terms": {"field": "tag", "include": ["c"]},
    "aggs": {"avg": {"avg": {"field": "n"}}, "min": {"min": {"field": "n"}},
             "sum": {"sum": {"field": "n"}}, "stats": {"stats": {"field": "n"}},
             "pct": {"percentiles": {"field": "n"}}}}})"));
  const json& b = r["f"]["buckets"][0];
  EXPECT_EQ(b["avg"]["value"], nullptr);
  EXPECT_EQ(b["min"]["value"], nullptr);
  EXPECT_EQ(b["sum"]["value"], 0.0);
  EXPECT_EQ(b["stats"], json::parse(R"({"count":0,"min":null,"max":null,"avg":null,"sum":0.0})"));
  EXPECT_EQ(b["pct"]["values"]["50.0"], nullptr);
}

TEST(AggregationsTest, HistogramsAndRanges) {
  json r = RunSmall({{"h", {{"histogram", {{"field", "price"}, {"interval", 25}}}}}});
  EXPECT_EQ(r["h"]["buckets"], json::parse(R"([{"key":0.0,"doc_count":2},
    {"key":25.0,"doc_count":1},{"key":50.0,"doc_count":0},{"key":75.0,"doc_count":0},
    {"key":100.0,"doc_count":1}])"));
  r = RunSmall({{"h",
                 {{"histogram",
                   {{"field", "price"}, {"interval", 25}, {"min_doc_count", 1}, {"offset", 5}}}}}});
  EXPECT_EQ(r["h"]["buckets"], json::parse(R"([{"key":5.0,"doc_count":2},
    {"key":30.0,"doc_count":1},{"key":80.0,"doc_count":1}])"));
  r = RunSmall(
      {{"h",
        {{"histogram",
          {{"field", "n"}, {"interval", 2}, {"extended_bounds", {{"min", -2}, {"max", 7}}}}}}}});
  EXPECT_EQ(r["h"]["buckets"], json::parse(R"([{"key":-2.0,"doc_count":0},
    {"key":0.0,"doc_count":1},{"key":2.0,"doc_count":2},{"key":4.0,"doc_count":1},
    {"key":6.0,"doc_count":0}])"));
  r = RunSmall({{"d", {{"date_histogram", {{"field", "ts"}, {"calendar_interval", "month"}}}}}});
  EXPECT_EQ(r["d"]["buckets"], json::parse(R"([
    {"key_as_string":"2024-01-01T00:00:00.000Z","key":1704067200000,"doc_count":1},
    {"key_as_string":"2024-02-01T00:00:00.000Z","key":1706745600000,"doc_count":2},
    {"key_as_string":"2024-03-01T00:00:00.000Z","key":1709251200000,"doc_count":0},
    {"key_as_string":"2024-04-01T00:00:00.000Z","key":1711929600000,"doc_count":1}])"));
  r = RunSmall({{"d",
                 {{"date_histogram",
                   {{"field", "ts"},
                    {"fixed_interval", "30d"},
                    {"time_zone", "+01:00"},
                    {"format", "yyyy-MM-dd"},
                    {"min_doc_count", 1}}}}}});
  EXPECT_EQ(r["d"]["buckets"][0]["key_as_string"], "2023-12-19");
  r = RunSmall(
      {{"r",
        {{"range",
          {{"field", "price"},
           {"ranges",
            {{{"to", 20}}, {{"from", 20}, {"to", 50}}, {{"from", 50}, {"key", "big"}}}}}}}}});
  EXPECT_EQ(r["r"]["buckets"], json::parse(R"([{"key":"*-20.0","to":20.0,"doc_count":1},
    {"key":"20.0-50.0","from":20.0,"to":50.0,"doc_count":2},
    {"key":"big","from":50.0,"doc_count":1}])"));
  r = RunSmall({{"r",
                 {{"date_range",
                   {{"field", "ts"},
                    {"keyed", true},
                    {"ranges", {{{"to", "2024-02-01"}}, {{"from", "2024-02-01||+1M"}}}}}}}}});
  EXPECT_EQ(r["r"]["buckets"], json::parse(R"({
    "*-2024-02-01T00:00:00.000Z":{"to":1706745600000.0,"to_as_string":"2024-02-01T00:00:00.000Z","doc_count":1},
    "2024-03-01T00:00:00.000Z-*":{"from":1709251200000.0,"from_as_string":"2024-03-01T00:00:00.000Z","doc_count":1}})"));
}

TEST(AggregationsTest, SubAggregationsAndOrderBySubMetric) {
  json r = RunSmall({{"t",
                      {{"terms", {{"field", "tag"}, {"order", {{"avg_n", "asc"}}}}},
                       {"aggs",
                        {{"avg_n", {{"avg", {{"field", "n"}}}}},
                         {"h",
                          {{"histogram", {{"field", "n"}, {"interval", 10}}},
                           {"aggs", {{"mx", {{"max", {{"field", "price"}}}}}}}}}}}}}});
  // a: n of docs 1,2,5 = 1,2,3,5 -> avg 2.75; b: docs 1,3 = 1,3 -> 2; c: none -> null last
  // (OpenSearch compares with Double.compare: NaN above every value)
  const json& b = r["t"]["buckets"];
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["key"], "b");
  EXPECT_EQ(b[1]["key"], "a");
  EXPECT_EQ(b[1]["avg_n"]["value"], 2.75);
  EXPECT_EQ(b[1]["h"]["buckets"][0]["mx"]["value"], 100.0);
  EXPECT_EQ(b[2]["key"], "c");
  EXPECT_EQ(b[2]["h"]["buckets"], json::array());
  EXPECT_EQ(r["t"]["doc_count_error_upper_bound"], 0);
}

TEST(AggregationsTest, TopHits) {
  json r = RunSmall(
      {{"t",
        {{"terms", {{"field", "tag"}, {"size", 1}}},
         {"aggs", {{"top", {{"top_hits", {{"size", 2}, {"sort", {{{"price", "desc"}}}}}}}}}}}}});
  const json& hits = r["t"]["buckets"][0]["top"]["hits"];
  EXPECT_EQ(hits["total"], json::parse(R"({"value":3,"relation":"eq"})"));
  ASSERT_EQ(hits["hits"].size(), 2u);
  EXPECT_EQ(hits["hits"][0]["_id"], "5");
  EXPECT_EQ(hits["hits"][0]["sort"], json::array({100.0}));
  EXPECT_EQ(hits["hits"][0]["_source"]["price"], 100.0);
  EXPECT_EQ(hits["hits"][0]["_index"], "test");
  EXPECT_EQ(hits["hits"][1]["_id"], "2");
}

TEST(AggregationsTest, TopHitsFiltersTheSourceAsASearchDoes) {
  auto top = [](const json& source) {
    json r = RunSmall(
        {{"top",
          {{"top_hits", {{"size", 1}, {"sort", {{{"price", "desc"}}}}, {"_source", source}}}}}});
    return r["top"]["hits"]["hits"][0];
  };
  EXPECT_EQ(top(json::array({"pri*"}))["_source"], json::parse(R"({"price":100.0})"));
  EXPECT_EQ(top(json{{"excludes", {"price"}}})["_source"].count("price"), 0u);
  EXPECT_GT(top(json{{"excludes", {"price"}}})["_source"].size(), 0u);
  EXPECT_FALSE(top(false).contains("_source"));
  EXPECT_EQ(top(true)["_source"]["price"], 100.0);
  auto bad = ParseAggregations(json{{"top", {{"top_hits", {{"_source", 3}}}}}}, Context());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "parsing_exception: Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, "
            "START_OBJECT] but found [VALUE_NUMBER]");
}

TEST(AggregationsTest, OverflowingSumsSurviveThePartials) {
  Doc a{"1", {}, {}, 1e308, std::nullopt, std::nullopt};
  Doc b{"2", {}, {}, 1e308, std::nullopt, std::nullopt};
  for (int shards = 1; shards <= 2; ++shards) {
    Corpus c(shards == 1 ? std::vector<std::vector<std::vector<Doc>>>{{{a, b}}}
                         : std::vector<std::vector<std::vector<Doc>>>{{{a}}, {{b}}});
    auto r = c.Run(json::parse(R"({"s": {"sum": {"field": "price"}},
                                   "e": {"extended_stats": {"field": "price"}}})"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)["s"]["value"], nullptr);  // +Infinity has no JSON form
    EXPECT_EQ((*r)["e"]["max"], 1e308);
  }
}

TEST(AggregationsTest, TooManyBuckets) {
  auto r =
      RunSmallResult(json::parse(R"({"h": {"histogram": {"field": "price", "interval": 0.001}}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too_many_buckets_exception"), std::string::npos);
}

TEST(AggregationsTest, MetaIsEchoed) {
  json r = RunSmall(json::parse(R"({"t": {"terms": {"field": "tag"}, "meta": {"color": "blue"},
    "aggs": {"s": {"sum": {"field": "n"}, "meta": {"x": 1}}}}})"),
                    2);
  EXPECT_EQ(r["t"]["meta"], json::parse(R"({"color": "blue"})"));
  EXPECT_EQ(r["t"]["buckets"][0]["s"]["meta"], json::parse(R"({"x": 1})"));
}

// The names of every aggregation (at any depth) in a rendered response, or in a bucket.
std::set<std::string> AggregationNames(const json& aggs) {
  std::set<std::string> names;
  for (const auto& [name, agg] : aggs.items()) {
    if (!agg.is_object() || name == "meta") continue;  // a bucket's key, doc_count, ...
    names.insert(name);
    std::vector<const json*> buckets;
    if (agg.contains("buckets")) {
      for (const json& bucket : agg["buckets"]) buckets.push_back(&bucket);
    } else if (agg.contains("doc_count")) {
      buckets.push_back(&agg);  // a single-bucket aggregation
    }
    for (const json* bucket : buckets) names.merge(AggregationNames(*bucket));
  }
  return names;
}

// (filter and filters need a search's query matcher: the REST behaviour tests cover them.)
TEST(AggregationsTest, TypedKeysPrefixEveryAggregationWithItsResultType) {
  Corpus corpus({{SmallDocs()}});
  const json aggs = json::parse(R"({
    "tags": {"terms": {"field": "tag"}, "aggs": {
      "by_n": {"terms": {"field": "n"}},
      "by_price": {"terms": {"field": "price"}},
      "by_day": {"terms": {"field": "ts"}},
      "by_flag": {"terms": {"field": "flag"}},
      "nowhere": {"terms": {"field": "absent"}}}},
    "h": {"histogram": {"field": "n", "interval": 2}, "aggs": {"a": {"avg": {"field": "n"}}}},
    "dh": {"date_histogram": {"field": "ts", "calendar_interval": "month"}},
    "r": {"range": {"field": "n", "ranges": [{"to": 3}]}, "aggs": {"c": {"cardinality": {"field": "tag"}}}},
    "dr": {"date_range": {"field": "ts", "ranges": [{"to": "now"}]}},
    "miss": {"missing": {"field": "price"}, "aggs": {"th": {"top_hits": {"size": 1}},
      "m": {"max": {"field": "n"}}, "v": {"value_count": {"field": "n"}}}},
    "p": {"percentiles": {"field": "n"}},
    "st": {"stats": {"field": "n"}},
    "es": {"extended_stats": {"field": "n"}},
    "mn": {"min": {"field": "n"}},
    "sm": {"sum": {"field": "n"}}})");
  auto plain = corpus.Run(aggs);
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto typed = corpus.Run(aggs, nullptr, RenderOptions{.typed_keys = true});
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(AggregationNames(*typed), (std::set<std::string>{"sterms#tags",
                                                             "lterms#by_n",
                                                             "dterms#by_price",
                                                             "lterms#by_day",
                                                             "lterms#by_flag",
                                                             "sterms#nowhere",
                                                             "histogram#h",
                                                             "avg#a",
                                                             "date_histogram#dh",
                                                             "range#r",
                                                             "cardinality#c",
                                                             "date_range#dr",
                                                             "max#m",
                                                             "value_count#v",
                                                             "missing#miss",
                                                             "top_hits#th",
                                                             "tdigest_percentiles#p",
                                                             "stats#st",
                                                             "extended_stats#es",
                                                             "min#mn",
                                                             "sum#sm"}));
  // Only the names change.
  EXPECT_EQ(typed->at("sterms#tags").at("buckets").at(0).at("lterms#by_n"),
            plain->at("tags").at("buckets").at(0).at("by_n"));
  EXPECT_EQ(typed->at("tdigest_percentiles#p"), plain->at("p"));
}

// Two indices where a field is mapped differently: the merged terms take the type OpenSearch's
// reduce gives them.
TEST(AggregationsTest, TypedKeysOfTermsMergedAcrossMappings) {
  Corpus corpus({{SmallDocs()}});
  auto merged_type = [&](const std::string& field_a, const std::string& field_b) {
    auto a = corpus.Partials({{"t", {{"terms", {{"field", field_a}}}}}});
    auto b = corpus.Partials({{"t", {{"terms", {{"field", field_b}}}}}});
    EXPECT_TRUE(a.ok() && b.ok());
    auto r = ReduceAggregations({a->at(0), b->at(0)}, RenderOptions{.typed_keys = true});
    EXPECT_TRUE(r.ok()) << r.status();
    return r->begin().key();
  };
  EXPECT_EQ(merged_type("absent", "n"), "lterms#t");  // unmapped gives way to mapped
  EXPECT_EQ(merged_type("n", "absent"), "lterms#t");
  EXPECT_EQ(merged_type("absent", "absent"), "sterms#t");
  EXPECT_EQ(merged_type("n", "price"), "dterms#t");  // long and double merge as double
  EXPECT_EQ(merged_type("price", "n"), "dterms#t");
}

TEST(AggregationsTest, ErrorsAsOpenSearch) {
  auto err = [](const json& aggs) {
    auto c = ParseAggregations(aggs, Context());
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.status().message();
  };
  EXPECT_EQ(err({{"x", {{"foo", json::object()}}}}),
            "parsing_exception: Unknown aggregation type [foo]");
  std::string text = err({{"x", {{"terms", {{"field", "body"}}}}}});
  EXPECT_EQ(text.rfind("illegal_argument_exception: Text fields are not optimised for operations "
                       "that require per-document field data like aggregations and sorting, so "
                       "these operations are disabled by default.",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("set fielddata=true on [body]"), std::string::npos);
  EXPECT_NE(err({{"x", {{"avg", {{"field", "tag"}}}}}}).find("illegal_argument_exception"),
            std::string::npos);
  EXPECT_NE(
      err({{"x", {{"avg", {{"field", "n"}}}, {"aggs", {{"y", {{"max", {{"field", "n"}}}}}}}}}})
          .find("cannot accept sub-aggregations"),
      std::string::npos);
  EXPECT_NE(err({{"x", {{"terms", {{"field", "tag"}, {"order", {{"nope", "asc"}}}}}}}})
                .find("Invalid aggregator order path"),
            std::string::npos);
  EXPECT_NE(err({{"x", {{"date_histogram", {{"field", "ts"}, {"calendar_interval", "3d"}}}}}})
                .find("illegal_argument_exception"),
            std::string::npos);
  EXPECT_NE(
      err({{"x",
            {{"date_histogram",
              {{"field", "ts"}, {"calendar_interval", "day"}, {"time_zone", "Nowhere/Zone"}}}}}})
          .find("illegal_argument_exception"),
      std::string::npos);
  EXPECT_FALSE(DecodePartial("{not json").ok());
  EXPECT_NE(err({{"a>b", {{"avg", {{"field", "n"}}}}}}).find("Invalid aggregation name"),
            std::string::npos);
}

// --- Random corpora: brute-force reference and shard splits ---------------------------------

std::vector<Doc> RandomDocs(std::mt19937_64& rng, size_t n, int num_tags) {
  std::vector<Doc> docs;
  for (size_t i = 0; i < n; ++i) {
    Doc d;
    d.id = std::to_string(i);
    const int tags = static_cast<int>(rng() % 3);
    for (int t = 0; t < tags; ++t) {
      // Skewed: low tag numbers are frequent.
      const int k = static_cast<int>(std::min<uint64_t>(rng() % num_tags, rng() % num_tags));
      d.tags.push_back("t" + std::to_string(k));
    }
    const int ns = static_cast<int>(rng() % 3);
    for (int t = 0; t < ns; ++t) d.n.push_back(static_cast<int64_t>(rng() % 200) - 50);
    if (rng() % 5) d.price = static_cast<double>(rng() % 1000) / 4;  // exact in binary
    if (rng() % 4) d.ts = kJan1 + static_cast<int64_t>(rng() % (400 * kDay));
    if (rng() % 3) d.flag = rng() % 2;
    docs.push_back(std::move(d));
  }
  return docs;
}

// Splits docs among `shards` shards of up to 3 leaves each.
std::vector<std::vector<std::vector<Doc>>> Split(const std::vector<Doc>& docs, int shards,
                                                 std::mt19937_64& rng) {
  std::vector<std::vector<std::vector<Doc>>> out(shards, std::vector<std::vector<Doc>>(3));
  for (const Doc& d : docs) out[rng() % shards][rng() % 3].push_back(d);
  return out;
}

const json kExactAggs = json::parse(R"({
  "tags": {"terms": {"field": "tag", "size": 100},
           "aggs": {"avg_price": {"avg": {"field": "price"}},
                    "n_stats": {"extended_stats": {"field": "n"}},
                    "flags": {"terms": {"field": "flag"}},
                    "card": {"cardinality": {"field": "n"}},
                    "h": {"histogram": {"field": "n", "interval": 50},
                          "aggs": {"r": {"range": {"field": "price", "ranges": [{"to": 100}]}}}}}},
  "by_avg": {"terms": {"field": "tag", "size": 5, "shard_size": 100,
                       "order": {"avg_price": "asc"}},
             "aggs": {"avg_price": {"avg": {"field": "price"}}}},
  "nums": {"terms": {"field": "n", "size": 500, "order": {"_key": "asc"}}},
  "hist": {"histogram": {"field": "price", "interval": 25, "extended_bounds": {"min": -50, "max": 300}},
           "aggs": {"s": {"sum": {"field": "n"}}, "m": {"missing": {"field": "ts"}}}},
  "months": {"date_histogram": {"field": "ts", "calendar_interval": "month",
                                "time_zone": "America/New_York"},
             "aggs": {"p": {"stats": {"field": "price"}}}},
  "weeks": {"date_histogram": {"field": "ts", "fixed_interval": "7d", "min_doc_count": 3,
                               "order": {"_count": "desc"}}},
  "ranges": {"range": {"field": "n", "ranges": [{"to": 0}, {"from": 0, "to": 100}, {"from": 50}]},
             "aggs": {"mx": {"max": {"field": "price"}}}},
  "dates": {"date_range": {"field": "ts", "ranges": [{"to": "2024-06-01"}, {"from": "2024-06-01"}]}},
  "nots": {"missing": {"field": "ts"}, "aggs": {"c": {"value_count": {"field": "tag"}}}},
  "card": {"cardinality": {"field": "tag"}},
  "card_n": {"cardinality": {"field": "n", "precision_threshold": 10}},
  "top": {"top_hits": {"size": 3, "sort": [{"price": "desc"}, {"n": "asc"}]}}
})");

TEST(AggregationsTest, ShardSplitsReduceToTheSingleShardResponse) {
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 3; ++round) {
    std::vector<Doc> docs = RandomDocs(rng, 300 + rng() % 300, 40);
    auto one_split = Split(docs, 1, rng);
    Corpus one(one_split);
    auto expected = one.Run(kExactAggs);
    ASSERT_TRUE(expected.ok()) << expected.status();
    for (int shards = 2; shards <= 4; ++shards) {
      Corpus many(Split(docs, shards, rng));
      auto got = many.Run(kExactAggs);
      ASSERT_TRUE(got.ok()) << got.status();
      for (const auto& [name, value] : expected->items()) {
        if (name == "top") {
          // Ties in (price, n) may resolve by shard; compare the sort values only.
          ASSERT_EQ(value["hits"]["total"], (*got)[name]["hits"]["total"]);
          for (size_t i = 0; i < value["hits"]["hits"].size(); ++i) {
            EXPECT_EQ(value["hits"]["hits"][i]["sort"], (*got)[name]["hits"]["hits"][i]["sort"]);
          }
          continue;
        }
        EXPECT_EQ(value, (*got)[name])
            << "aggregation " << name << " with " << shards << " shards, round " << round;
      }
    }
  }
}

TEST(AggregationsTest, MatchesBruteForceReference) {
  std::mt19937_64 rng(77);
  std::vector<Doc> docs = RandomDocs(rng, 800, 30);
  Corpus c(Split(docs, 2, rng));
  // Only docs with an even id match the "query".
  auto match = [](const std::string& id) { return std::stoi(id) % 2 == 0; };
  auto r = c.Run(kExactAggs, match);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, uint64_t> tag_counts;
  std::map<std::string, std::pair<double, uint64_t>> tag_price;
  std::map<double, uint64_t> hist;
  std::map<int64_t, uint64_t> nums;
  uint64_t no_ts = 0;
  for (const Doc& d : docs) {
    if (!match(d.id)) continue;
    std::set<std::string> tags(d.tags.begin(), d.tags.end());
    for (const auto& t : tags) {
      ++tag_counts[t];
      if (d.price) {
        tag_price[t].first += *d.price;
        ++tag_price[t].second;
      }
    }
    if (d.price) ++hist[std::floor(*d.price / 25) * 25];
    std::set<int64_t> ns(d.n.begin(), d.n.end());
    for (int64_t v : ns) ++nums[v];
    if (!d.ts) ++no_ts;
  }
  const json& tb = (*r)["tags"]["buckets"];
  ASSERT_EQ(tb.size(), tag_counts.size());
  for (size_t i = 0; i < tb.size(); ++i) {
    const std::string key = tb[i]["key"];
    EXPECT_EQ(tb[i]["doc_count"], tag_counts[key]) << key;
    if (i > 0) {
      EXPECT_GE(tb[i - 1]["doc_count"].get<uint64_t>(), tb[i]["doc_count"].get<uint64_t>());
    }
    auto [sum, n] = tag_price[key];
    if (n) {
      EXPECT_NEAR(tb[i]["avg_price"]["value"].get<double>(), sum / n, 1e-9);
    }
  }
  for (const json& b : (*r)["hist"]["buckets"]) {
    const double key = b["key"];
    EXPECT_EQ(b["doc_count"], hist.count(key) ? hist[key] : 0) << key;
  }
  EXPECT_EQ((*r)["hist"]["buckets"][0]["key"], -50.0);
  const json& nb = (*r)["nums"]["buckets"];
  ASSERT_EQ(nb.size(), nums.size());
  size_t i = 0;
  for (const auto& [v, count] : nums) {
    EXPECT_EQ(nb[i]["key"], v);
    EXPECT_EQ(nb[i]["doc_count"], count);
    ++i;
  }
  EXPECT_EQ((*r)["nots"]["doc_count"], no_ts);
  EXPECT_EQ((*r)["card"]["value"], tag_counts.size());  // below the threshold: exact
}

// The non-empty buckets of a rendered terms or histogram aggregation: key -> doc_count.
template <typename Key>
std::map<Key, uint64_t> BucketCounts(const json& buckets) {
  std::map<Key, uint64_t> out;
  for (const json& b : buckets) {
    if (b["doc_count"] != 0) out[b["key"].get<Key>()] = b["doc_count"];
  }
  return out;
}

// Keyword terms without sub-aggregations count per leaf ordinal and fold the counts into
// buckets at the end of each leaf: at the top level (owning bucket 0), under other buckets,
// and with an exclude.
TEST(AggregationsTest, KeywordTermsWithoutSubAggregationsMatchBruteForce) {
  std::mt19937_64 rng(78);
  std::vector<Doc> docs = RandomDocs(rng, 900, 30);
  Corpus c(Split(docs, 2, rng));
  auto match = [](const std::string& id) { return std::stoi(id) % 3 != 0; };
  auto r = c.Run(json::parse(R"({
      "t": {"terms": {"field": "tag", "size": 100, "exclude": "t1.*"}},
      "h": {"histogram": {"field": "price", "interval": 100},
            "aggs": {"t": {"terms": {"field": "tag", "size": 100}}}}})"),
                 match);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, uint64_t> top;
  std::map<double, std::map<std::string, uint64_t>> by_price;
  for (const Doc& d : docs) {
    if (!match(d.id)) continue;
    for (const std::string& t : std::set<std::string>(d.tags.begin(), d.tags.end())) {
      if (t.rfind("t1", 0) != 0) ++top[t];
      if (d.price) ++by_price[std::floor(*d.price / 100) * 100][t];
    }
  }
  EXPECT_EQ(BucketCounts<std::string>((*r)["t"]["buckets"]), top);
  size_t checked = 0;
  for (const json& b : (*r)["h"]["buckets"]) {
    EXPECT_EQ(BucketCounts<std::string>(b["t"]["buckets"]), by_price[b["key"].get<double>()])
        << b["key"];
    ++checked;
  }
  EXPECT_EQ(checked, 3u);  // prices are below 250
}

// Top-level numeric histograms without sub-aggregations count per interval number in a dense
// array while the numbers span at most 65535 intervals, and through buckets beyond that (the
// epoch-millisecond "ts" at one-second intervals spans millions).
TEST(AggregationsTest, NumericHistogramsWithoutSubAggregationsMatchBruteForce) {
  std::mt19937_64 rng(79);
  std::vector<Doc> docs = RandomDocs(rng, 900, 30);
  Corpus c(Split(docs, 2, rng));
  auto match = [](const std::string& id) { return std::stoi(id) % 4 != 1; };
  auto r = c.Run(json::parse(R"({
      "n": {"histogram": {"field": "n", "interval": 7, "offset": 3}},
      "ts": {"histogram": {"field": "ts", "interval": 1000, "min_doc_count": 1}},
      "t": {"terms": {"field": "tag"},
            "aggs": {"n": {"histogram": {"field": "n", "interval": 10}}}}})"),
                 match);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<double, uint64_t> n, ts;
  std::map<std::string, std::map<double, uint64_t>> by_tag;
  for (const Doc& d : docs) {
    if (!match(d.id)) continue;
    std::set<double> keys, tens;
    for (int64_t v : d.n) {
      keys.insert(std::floor((static_cast<double>(v) - 3) / 7) * 7 + 3);
      tens.insert(std::floor(static_cast<double>(v) / 10) * 10);
    }
    for (double k : keys) ++n[k];
    if (d.ts) ++ts[std::floor(static_cast<double>(*d.ts) / 1000) * 1000];
    for (const std::string& t : std::set<std::string>(d.tags.begin(), d.tags.end())) {
      for (double k : tens) ++by_tag[t][k];
    }
  }
  EXPECT_EQ(BucketCounts<double>((*r)["n"]["buckets"]), n);
  EXPECT_EQ(BucketCounts<double>((*r)["ts"]["buckets"]), ts);
  ASSERT_FALSE((*r)["t"]["buckets"].empty());
  for (const json& b : (*r)["t"]["buckets"]) {
    EXPECT_EQ(BucketCounts<double>(b["n"]["buckets"]), by_tag[b["key"]]) << b["key"];
  }
}

TEST(AggregationsTest, TermsErrorBoundsWhenShardSizeTruncates) {
  std::mt19937_64 rng(5);
  std::vector<Doc> docs = RandomDocs(rng, 2000, 200);
  std::map<std::string, uint64_t> truth;
  for (const Doc& d : docs) {
    std::set<std::string> tags(d.tags.begin(), d.tags.end());
    for (const auto& t : tags) ++truth[t];
  }
  uint64_t total = 0;
  for (const auto& [t, n] : truth) total += n;
  for (int shards = 1; shards <= 4; ++shards) {
    Corpus c(Split(docs, shards, rng));
    auto r =
        c.Run(json::parse(R"({"t": {"terms": {"field": "tag", "size": 5, "shard_size": 8}}})"));
    ASSERT_TRUE(r.ok()) << r.status();
    const json& t = (*r)["t"];
    const int64_t bound = t["doc_count_error_upper_bound"];
    EXPECT_GE(bound, 0);
    uint64_t sum = t["sum_other_doc_count"];
    for (const json& b : t["buckets"]) {
      const uint64_t got = b["doc_count"], real = truth[b["key"].get<std::string>()];
      EXPECT_LE(got, real);
      EXPECT_LE(real - got, static_cast<uint64_t>(bound)) << b;
      sum += got;
    }
    EXPECT_EQ(sum, total);  // every counted (doc, term) is in a bucket or in the other count
    if (shards == 1) {
      EXPECT_EQ(t["buckets"][0]["doc_count"], truth["t0"]);
    }
  }
}

TEST(AggregationsTest, CardinalityAndPercentilesAcrossShardsWithinBounds) {
  std::mt19937_64 rng(9);
  std::vector<Doc> docs;
  std::set<int64_t> distinct;
  std::vector<double> prices;
  for (int i = 0; i < 6000; ++i) {
    Doc d;
    d.id = std::to_string(i);
    d.n = {static_cast<int64_t>(rng() % 5000)};
    distinct.insert(d.n[0]);
    d.price = static_cast<double>(rng() % 100000) / 8;
    prices.push_back(*d.price);
    docs.push_back(d);
  }
  std::sort(prices.begin(), prices.end());
  const json aggs =
      json::parse(R"({"c": {"cardinality": {"field": "n", "precision_threshold": 100}},
    "p": {"percentiles": {"field": "price", "keyed": false}}})");
  std::optional<json> first;
  for (int shards = 1; shards <= 4; ++shards) {
    Corpus c(Split(docs, shards, rng));
    auto r = c.Run(aggs);
    ASSERT_TRUE(r.ok()) << r.status();
    const double card = (*r)["c"]["value"];
    EXPECT_NEAR(card, static_cast<double>(distinct.size()), 0.1 * distinct.size());
    if (!first) first = (*r)["c"];
    EXPECT_EQ((*r)["c"], *first);  // HLL registers merge exactly
    for (const json& e : (*r)["p"]["values"]) {
      const double q = e["key"].get<double>() / 100;
      const double v = e["value"];
      const double rank =
          static_cast<double>(std::lower_bound(prices.begin(), prices.end(), v) - prices.begin()) /
          prices.size();
      EXPECT_NEAR(rank, q, 0.01) << e;
    }
  }
}

}  // namespace
}  // namespace quidditch::engine
