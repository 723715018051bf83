// filter / filters through the real search module, on documents parsed by the real mapping.
#include "engine/aggs/search_matcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace quidditch::engine {
namespace {

using nlohmann::json;

class SearchMatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/qd_aggs_search_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto analysis = AnalysisRegistry::Create(json());
    ASSERT_TRUE(analysis.ok()) << analysis.status();
    analysis_ = *analysis;
    auto mapping = Mapping::FromJson(json::parse(R"({"properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "color": {"type": "keyword"}, "price": {"type": "double"},
        "day": {"type": "date", "format": "yyyy-MM-dd"}}})"),
                                     *analysis_);
    ASSERT_TRUE(mapping.ok()) << mapping.status();
    mapping_ = *mapping;
    const char* docs[] = {
        R"({"title": "red apple", "color": "red", "price": 1.5, "day": "2024-01-02"})",
        R"({"title": "green apple", "color": "green", "price": 2.0, "day": "2024-01-03"})",
        R"({"title": "red cherry", "color": "red", "price": 9.25, "day": "2024-02-01"})",
        R"({"title": "banana", "color": "yellow", "day": "2024-02-10"})",
        R"({"title": "lemon", "color": ["yellow", "green"], "price": 0.5})",
    };
    // Two segments: docs 0-2 and 3-4.
    int i = 0;
    for (int seg = 0; seg < 2; ++seg) {
      SegmentBuilder b;
      for (int k = 0; k < (seg == 0 ? 3 : 2); ++k, ++i) {
        auto parsed = ParseDocument(mapping_, *analysis_, std::to_string(i), docs[i]);
        ASSERT_TRUE(parsed.ok()) << parsed.status();
        b.AddDocument(parsed->doc, DocMeta{});
      }
      ASSERT_TRUE(b.Write(dir_, "seg" + std::to_string(seg)).ok());
      auto r = SegmentReader::Open(dir_, "seg" + std::to_string(seg));
      ASSERT_TRUE(r.ok()) << r.status();
      leaves_.push_back(Leaf{*r, nullptr, seg == 0 ? 0u : 3u});
    }
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<json> Run(const json& aggs) {
    SearchContext sc;
    sc.leaves = &leaves_;
    sc.mapping = &mapping_;
    sc.analysis = analysis_.get();
    sc.now_millis = 1718000000000;
    QD_ASSIGN_OR_RETURN(auto collector, ParseAggregations(aggs, ContextForSearch(sc, "fruits")));
    auto all = ParseQuery(json{{"match_all", json::object()}}, sc);
    if (!all.ok()) return all.status();
    QD_RETURN_IF_ERROR(ForEachMatch(**all, sc, collector.get()));
    QD_ASSIGN_OR_RETURN(ShardAggregations p, collector->Finish());
    return ReduceAggregations({p});
  }

  std::string dir_;
  std::shared_ptr<const AnalysisRegistry> analysis_;
  Mapping mapping_;
  std::vector<Leaf> leaves_;
};

TEST_F(SearchMatcherTest, FilterAndFilters) {
  auto r = Run(json::parse(R"({
    "apples": {"filter": {"match": {"title": "apple"}},
               "aggs": {"avg": {"avg": {"field": "price"}}}},
    "named": {"filters": {"other_bucket": true,
                          "filters": {"red": {"term": {"color": "red"}},
                                      "cheap": {"range": {"price": {"lt": 2}}}}},
              "aggs": {"colors": {"terms": {"field": "color"}}}},
    "anon": {"filters": {"filters": [{"term": {"color": "green"}}, {"match_all": {}}]}}
  })"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["apples"], json::parse(R"({"doc_count": 2, "avg": {"value": 1.75}})"));
  const json& named = (*r)["named"]["buckets"];
  EXPECT_EQ(named["red"]["doc_count"], 2);
  EXPECT_EQ(named["cheap"]["doc_count"], 2);    // 1.5 and 0.5
  EXPECT_EQ(named["_other_"]["doc_count"], 2);  // green apple (2.0), banana
  EXPECT_EQ(
      named["_other_"]["colors"]["buckets"],
      json::parse(R"([{"key": "green", "doc_count": 1}, {"key": "yellow", "doc_count": 1}])"));
  EXPECT_EQ((*r)["anon"]["buckets"], json::parse(R"([{"doc_count": 2}, {"doc_count": 5}])"));
}

TEST_F(SearchMatcherTest, FieldsFromTheMapping) {
  auto r = Run(json::parse(R"({
    "titles": {"terms": {"field": "title.raw", "size": 2}},
    "days": {"date_histogram": {"field": "day", "calendar_interval": "month"}},
    "before_feb": {"date_range": {"field": "day", "ranges": [{"to": "2024-02-01"}]}}
  })"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["titles"]["sum_other_doc_count"], 3);
  // The field's own format renders keys.
  EXPECT_EQ((*r)["days"]["buckets"][0]["key_as_string"], "2024-01-01");
  EXPECT_EQ((*r)["days"]["buckets"][1]["doc_count"], 2);
  EXPECT_EQ((*r)["before_feb"]["buckets"][0]["key"], "*-2024-02-01");
  EXPECT_EQ((*r)["before_feb"]["buckets"][0]["doc_count"], 2);
  auto text = Run(json::parse(R"({"t": {"terms": {"field": "title"}}})"));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("Text fields are not optimised"), std::string::npos);
  auto bad_query = Run(json::parse(R"({"f": {"filter": {"nope": {}}}})"));
  EXPECT_FALSE(bad_query.ok());
}

}  // namespace
}  // namespace quidditch::engine
