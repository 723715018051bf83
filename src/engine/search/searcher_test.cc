#include "engine/search/searcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "engine/errors.h"
#include "engine/index/small_float.h"
#include "engine/search/bm25.h"
#include "engine/search/queries.h"
#include "engine/search/query.h"
#include "engine/search/scorers.h"
#include "engine/search/search_test_util.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using search_testing::TestIndex;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

json Mappings() {
  return json::parse(R"({"properties": {
    "title": {"type": "text"},
    "tag": {"type": "keyword"},
    "price": {"type": "long"},
    "rating": {"type": "double"},
    "date": {"type": "date"},
    "flag": {"type": "boolean"},
    "user": {"properties": {"name": {"type": "keyword"}}}
  }})");
}

// Two leaves; doc ids "a".."f".
std::unique_ptr<TestIndex> SmallIndex() {
  auto index = std::make_unique<TestIndex>(Mappings());
  index->AddLeaf({
      json::parse(R"({"_id_": "a", "title": "the quick brown fox", "tag": "x", "price": 10,
                      "rating": 4.5, "date": "2024-03-14T12:00:00Z", "flag": true})"),
      json::parse(R"({"_id_": "b", "title": "quick quick dog", "tag": "y", "price": 20,
                      "rating": 3.0, "date": "2024-03-15T01:00:00Z", "flag": false})"),
      json::parse(R"({"_id_": "c", "title": "lazy dog", "tag": "x", "price": 30,
                      "date": "2024-02-01", "user": {"name": "kimchy"}})"),
  });
  index->AddLeaf({
      json::parse(R"({"_id_": "d", "title": "brown dog jumps over the lazy fox", "tag": "z",
                      "price": 5, "rating": 1.5})"),
      json::parse(R"({"_id_": "e", "title": "a fox", "tag": "y", "price": 25, "rating": 4.5,
                      "date": "2023-12-31T23:59:59Z"})"),
      json::parse(R"({"_id_": "f", "title": "quick brown", "flag": true})"),
  });
  return index;
}

Result<TopDocs> RunQuery(const TestIndex& index, const json& dsl, SearchRequest req = {}) {
  auto q = ParseQuery(dsl, index.ctx());
  if (!q.ok()) return q.status();
  req.query = q->get();
  return Search(req, index.ctx());
}

TEST(SearcherTest, TermScoresEqualLuceneFormula) {
  auto index = SmallIndex();
  SearchRequest req;
  req.explain = true;
  auto top = RunQuery(*index, json::parse(R"({"match": {"title": "quick"}})"), req);
  ASSERT_TRUE(top.ok()) << top.status();
  // "quick" is in a (len 4, tf 1), b (len 3, tf 2), f (len 2, tf 1); 6 docs with a title of
  // total length 4 + 3 + 2 + 7 + 2 + 2 = 20.
  Bm25 sim(1.0f, 6, 20, {3});
  float sa = sim.Score(1, LengthToNorm(4)), sb = sim.Score(2, LengthToNorm(3)),
        sf = sim.Score(1, LengthToNorm(2));
  double idf = std::log(1 + (6 - 3 + 0.5) / 3.5);
  EXPECT_NEAR(sb, idf * 2 / (2 + 1.2 * (0.25 + 0.75 * 3 / (20.0 / 6))), 1e-6);
  ASSERT_EQ(top->hits.size(), 3u);
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"b", "f", "a"}));
  EXPECT_FLOAT_EQ(top->hits[0].score, sb);
  EXPECT_FLOAT_EQ(top->hits[1].score, sf);
  EXPECT_FLOAT_EQ(top->hits[2].score, sa);
  EXPECT_FLOAT_EQ(top->max_score, sb);
  EXPECT_EQ(top->total_hits, 3u);
  EXPECT_FALSE(top->total_is_lower_bound);
  const json& ex = *top->hits[0].explanation;
  EXPECT_FLOAT_EQ(ex["value"].get<float>(), sb);
  EXPECT_EQ(ex["description"], "weight(title:quick in 1) [PerFieldSimilarity], result of:");
  EXPECT_EQ(ex["details"][0]["details"][0]["details"][0]["value"], 3.0);  // n
  EXPECT_EQ(ex["details"][0]["details"][0]["details"][1]["value"], 6.0);  // N
}

TEST(SearcherTest, BoostedMatchExplainsLikeOpenSearch) {
  auto index = SmallIndex();
  SearchRequest req;
  req.explain = true;
  auto top =
      RunQuery(*index, json::parse(R"({"match": {"title": {"query": "lazy", "boost": 2}}})"), req);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->hits.size(), 2u);
  Bm25 sim(2.0f, 6, 20, {2});
  EXPECT_FLOAT_EQ(top->hits[0].score, sim.Score(1, LengthToNorm(2)));  // c: "lazy dog"
  const json& ex = *top->hits[0].explanation;
  EXPECT_EQ(ex["description"], "weight(title:lazy in 2) [PerFieldSimilarity], result of:");
  EXPECT_EQ(ex["details"][0]["details"][0]["description"], "boost");
  EXPECT_EQ(ex["details"][0]["details"][0]["value"], 2.0);
  // A bool explains as the sum of its scoring clauses.
  top = RunQuery(*index, json::parse(R"({"bool": {"should": [{"match": {"title": "lazy"}},
      {"match": {"title": "dog"}}], "filter": {"term": {"tag": "x"}}}})"),
                 req);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->hits.size(), 2u);
  const json& bex = *top->hits[0].explanation;
  EXPECT_EQ(bex["description"], "sum of:");
  EXPECT_FLOAT_EQ(bex["value"].get<float>(), top->hits[0].score);
  float sum = 0;
  for (const json& d : bex["details"]) sum += d["value"].get<float>();
  EXPECT_FLOAT_EQ(sum, top->hits[0].score);
}

TEST(SearcherTest, BoolSemantics) {
  auto index = SmallIndex();
  EXPECT_THAT(index->Ids(json::parse(R"({"bool": {"must": [{"match": {"title": "dog"}}],
      "must_not": [{"term": {"tag": "z"}}]}})")),
              UnorderedElementsAre("b", "c"));
  EXPECT_THAT(index->Ids(json::parse(R"({"bool": {"filter": [{"term": {"tag": "x"}}],
      "should": [{"match": {"title": "fox"}}]}})")),
              ElementsAre("a", "c"));  // should is optional next to a filter; a scores
  EXPECT_THAT(index->Ids(json::parse(R"({"bool": {"should": [{"match": {"title": "lazy"}},
      {"match": {"title": "fox"}}, {"match": {"title": "dog"}}], "minimum_should_match": 2}})")),
              UnorderedElementsAre("c", "d"));
  EXPECT_THAT(
      index->Ids(json::parse(R"({"bool": {"must_not": [{"exists": {"field": "rating"}}]}})")),
      UnorderedElementsAre("c", "f"));
  EXPECT_EQ(index->Ids(json::parse(R"({"bool": {}})")).size(), 6u);
  // Filter-only queries score 0.
  auto top = RunQuery(*index, json::parse(R"({"bool": {"filter": {"term": {"tag": "y"}}}})"));
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->hits.size(), 2u);
  EXPECT_EQ(top->hits[0].score, 0.0f);
}

TEST(SearcherTest, MatchOperatorAndMinimumShouldMatch) {
  auto index = SmallIndex();
  EXPECT_THAT(index->Ids(json::parse(R"({"match": {"title": {"query": "quick brown",
      "operator": "and"}}})")),
              UnorderedElementsAre("a", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match": {"title": {"query": "quick brown lazy dog",
      "minimum_should_match": "75%"}}})")),
              UnorderedElementsAre("d"));
  EXPECT_TRUE(index->Ids(json::parse(R"({"match": {"title": "the"}})")).size() == 2);
  EXPECT_TRUE(
      index->Ids(json::parse(R"({"match": {"title": {"query": "", "zero_terms_query": "all"}}})"))
          .size() == 6);
  EXPECT_TRUE(index->Ids(json::parse(R"({"match": {"title": ""}})")).empty());
  EXPECT_THAT(index->Ids(json::parse(R"({"match": {"price": "20"}})")), ElementsAre("b"));
}

TEST(SearcherTest, Phrases) {
  auto index = SmallIndex();
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase": {"title": "quick brown"}})")),
              UnorderedElementsAre("a", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase": {"title": "brown quick"}})")),
              ::testing::IsEmpty());
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase": {"title": {"query": "brown fox",
      "slop": 1}}})")),
              UnorderedElementsAre("a"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase": {"title": {"query": "lazy fox",
      "slop": 0}}})")),
              UnorderedElementsAre("d"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase_prefix": {"title": "quick br"}})")),
              UnorderedElementsAre("a", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match_phrase_prefix": {"title": "la"}})")),
              UnorderedElementsAre("c", "d"));
}

TEST(SearcherTest, TermLevelQueries) {
  auto index = SmallIndex();
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"tag": "x"}})")), UnorderedElementsAre("a", "c"));
  EXPECT_THAT(index->Ids(json::parse(R"({"terms": {"tag": ["x", "z"]}})")),
              UnorderedElementsAre("a", "c", "d"));
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"price": 25}})")), ElementsAre("e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"terms": {"price": [5, "10", 11]}})")),
              UnorderedElementsAre("a", "d"));
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"flag": true}})")),
              UnorderedElementsAre("a", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"rating": 4.5}})")),
              UnorderedElementsAre("a", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"price": {"gt": 10, "lte": 25}}})")),
              UnorderedElementsAre("b", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"price": {"gte": 10.5}}})")),
              UnorderedElementsAre("b", "c", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"rating": {"gt": 1.5, "lt": 4.5}}})")),
              UnorderedElementsAre("b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"tag": {"gte": "y"}}})")),
              UnorderedElementsAre("b", "d", "e"));
  // now = 2024-03-15T10:20:30Z
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"date": {"gte": "now-1d/d"}}})")),
              UnorderedElementsAre("a", "b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"date": {"gt": "now-1d/d"}}})")),
              UnorderedElementsAre("b"));
  // c is 2024-02-01T00:00: not before the rounded-down Feb 1, within the rounded-up month.
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"date": {"lt": "2024-01-01||+1M/M"}}})")),
              UnorderedElementsAre("e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"date": {"lte": "2024-01-01||+1M/M"}}})")),
              UnorderedElementsAre("e", "c"));
  EXPECT_THAT(index->Ids(json::parse(R"({"range": {"date": {"gte": "2024-03-15",
      "time_zone": "+02:00"}}})")),
              UnorderedElementsAre("b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"exists": {"field": "date"}})")),
              UnorderedElementsAre("a", "b", "c", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"exists": {"field": "user"}})")), ElementsAre("c"));
  EXPECT_THAT(index->Ids(json::parse(R"({"ids": {"values": ["a", "f", "zz"]}})")),
              UnorderedElementsAre("a", "f"));
  // _id answers the term-level queries (OpenSearch users delete by {"term": {"_id": ...}}).
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"_id": "b"}})")), ElementsAre("b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"terms": {"_id": ["b", "e", "zz"]}})")),
              UnorderedElementsAre("b", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"match": {"_id": "c"}})")), ElementsAre("c"));
  EXPECT_THAT(index->Ids(json::parse(R"({"bool": {"must_not": {"term": {"_id": "a"}}}})")),
              UnorderedElementsAre("b", "c", "d", "e", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"prefix": {"_id": "d"}})")), ElementsAre("d"));
  auto id_hit = RunQuery(*index, json::parse(R"({"term": {"_id": {"value": "e", "boost": 2}}})"),
                         SearchRequest{});
  ASSERT_TRUE(id_hit.ok()) << id_hit.status();
  ASSERT_EQ(id_hit->hits.size(), 1u);
  EXPECT_FLOAT_EQ(id_hit->hits[0].score, 2.0f) << "a constant score times the boost";
  EXPECT_THAT(index->Ids(json::parse(R"({"prefix": {"title": "qu"}})")),
              UnorderedElementsAre("a", "b", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"wildcard": {"title": {"value": "j*s"}}})")),
              ElementsAre("d"));
  EXPECT_THAT(index->Ids(json::parse(R"({"regexp": {"title": "d.g|fo+x?"}})")),
              UnorderedElementsAre("b", "c", "d", "a", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"fuzzy": {"title": "quikc"}})")),
              UnorderedElementsAre("a", "b", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"fuzzy": {"title": {"value": "quikc",
      "transpositions": false, "fuzziness": 1}}})")),
              ::testing::IsEmpty());
  EXPECT_THAT(index->Ids(json::parse(R"({"term": {"user.name": "kimchy"}})")), ElementsAre("c"));
  {
    // Fuzzy scores as Lucene's blended rewrite: each expansion boosted by
    // 1 - edits / min length, all with the highest df among the expansions.
    auto fz = RunQuery(*index, json::parse(R"({"fuzzy": {"title": {"value": "dob"}}})"));
    ASSERT_TRUE(fz.ok()) << fz.status();
    // "dog" (df 3, 1 edit: boost 2/3); "fox" is 2 edits away (AUTO: 1 for 3 chars).
    ASSERT_EQ(fz->hits.size(), 3u);
    Bm25 sim(1.0f - 1.0f / 3.0f, 6, 20, {3});
    EXPECT_EQ(index->IdOf(fz->hits[0].leaf, fz->hits[0].doc), "c");  // "lazy dog": 2 tokens
    EXPECT_FLOAT_EQ(fz->hits[0].score, sim.Score(1, LengthToNorm(2)));
    auto cs = RunQuery(*index, json::parse(R"({"fuzzy": {"title": {"value": "dob",
        "rewrite": "constant_score"}}})"));
    ASSERT_TRUE(cs.ok());
    ASSERT_EQ(cs->hits.size(), 3u);
    EXPECT_EQ(cs->hits[0].score, 1.0f);
  }
  // Constant scores for multi-term queries.
  auto top = RunQuery(*index, json::parse(R"({"prefix": {"title": {"value": "qu", "boost": 2}}})"));
  ASSERT_TRUE(top.ok());
  for (const Hit& h : top->hits) EXPECT_EQ(h.score, 2.0f);
}

TEST(SearcherTest, FuzzyKeepsTheBestExpansionsOverAllLeaves) {
  // "abcdefgh" (8 code points, AUTO: 2 edits). Boost 1 - edits / min length: 0.875 for one
  // edit at length >= 8, 0.857 for "abcdefg", 0.75 for two edits. Ties go to the smaller term.
  TestIndex index(Mappings());
  auto doc = [](const char* tag) { return json{{"_id_", tag}, {"tag", tag}}; };
  index.AddLeaf({doc("aaadefgh"), doc("abcdefg"), doc("abcdefgy"), doc("zzz")});
  index.AddLeaf({doc("abcdefghi"), doc("abcdefgz"), doc("abcdefgx"), doc("abxdefgy")});
  EXPECT_THAT(index.Ids(json::parse(R"({"fuzzy": {"tag": {"value": "abcdefgh",
      "max_expansions": 3}}})")),
              UnorderedElementsAre("abcdefghi", "abcdefgx", "abcdefgy"));
  EXPECT_THAT(index.Ids(json::parse(R"({"fuzzy": {"tag": {"value": "abcdefgh",
      "max_expansions": 5}}})")),
              UnorderedElementsAre("abcdefghi", "abcdefgx", "abcdefgy", "abcdefgz", "abcdefg"));
  EXPECT_THAT(index.Ids(json::parse(R"({"fuzzy": {"tag": "abcdefgh"}})")),
              UnorderedElementsAre("aaadefgh", "abcdefg", "abcdefgy", "abcdefghi", "abcdefgz",
                                   "abcdefgx", "abxdefgy"));
}

TEST(SearcherTest, CompoundQueries) {
  auto index = SmallIndex();
  auto top = RunQuery(*index, json::parse(R"({"constant_score": {"filter": {"term": {"tag": "x"}},
      "boost": 1.5}})"));
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->hits.size(), 2u);
  EXPECT_EQ(top->hits[0].score, 1.5f);

  auto quick = RunQuery(*index, json::parse(R"({"match": {"title": "quick"}})"));
  auto dm = RunQuery(*index, json::parse(R"({"dis_max": {"queries": [{"match": {"title": "quick"}},
      {"match": {"title": "brown"}}], "tie_breaker": 0.5}})"));
  ASSERT_TRUE(quick.ok() && dm.ok());
  auto brown = RunQuery(*index, json::parse(R"({"match": {"title": "brown"}})"));
  ASSERT_TRUE(brown.ok());
  // Doc "f" has both: max + 0.5 * other.
  float fq = 0, fb = 0;
  for (const Hit& h : quick->hits)
    if (index->IdOf(h.leaf, h.doc) == "f") fq = h.score;
  for (const Hit& h : brown->hits)
    if (index->IdOf(h.leaf, h.doc) == "f") fb = h.score;
  float fd = 0;
  for (const Hit& h : dm->hits)
    if (index->IdOf(h.leaf, h.doc) == "f") fd = h.score;
  EXPECT_FLOAT_EQ(fd, std::max(fq, fb) + 0.5f * std::min(fq, fb));

  auto boosting =
      RunQuery(*index, json::parse(R"({"boosting": {"positive": {"match": {"title": "quick"}},
      "negative": {"term": {"tag": "y"}}, "negative_boost": 0.1}})"));
  ASSERT_TRUE(boosting.ok());
  EXPECT_EQ(index->IdsOf(*boosting), (std::vector<std::string>{"f", "a", "b"}));

  auto fs = RunQuery(*index, json::parse(R"({"function_score": {"query": {"match_all": {}},
      "field_value_factor": {"field": "price", "factor": 2, "modifier": "sqrt", "missing": 1},
      "boost_mode": "replace"}})"));
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->hits.size(), 6u);
  EXPECT_EQ(index->IdOf(fs->hits[0].leaf, fs->hits[0].doc), "c");
  EXPECT_FLOAT_EQ(fs->hits[0].score, std::sqrt(60.0f));
  EXPECT_EQ(index->IdOf(fs->hits[5].leaf, fs->hits[5].doc), "f");
  EXPECT_FLOAT_EQ(fs->hits[5].score, std::sqrt(2.0f));

  auto gauss =
      RunQuery(*index, json::parse(R"({"function_score": {"query": {"exists": {"field": "price"}},
      "functions": [{"gauss": {"price": {"origin": 20, "scale": 10, "decay": 0.5}}}],
      "boost_mode": "replace"}})"));
  ASSERT_TRUE(gauss.ok());
  EXPECT_EQ(index->IdOf(gauss->hits[0].leaf, gauss->hits[0].doc), "b");
  EXPECT_FLOAT_EQ(gauss->hits[0].score, 1.0f);
  EXPECT_NEAR(gauss->hits[1].score, 0.5 * 0.0 + std::exp(-std::log(2.0) * 0.25),
              1e-6);  // 25 / 5 away
}

TEST(SearcherTest, QueryStringWithNothingToParseEndsWithAnErrorOrSkipsIt) {
  auto index = SmallIndex();
  // Each of these looped forever in the parser (found by fuzz_rest): a character no term
  // can start with was neither consumed nor rejected.
  for (const char* query : {"fox ^^^", "fox )", "a^.", "title:^2"}) {
    Result<TopDocs> r = RunQuery(*index, json{{"query_string", {{"query", query}}}});
    ASSERT_FALSE(r.ok()) << query;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << query << ": " << r.status();
  }
  EXPECT_EQ(index->Ids(json::parse(R"({"simple_query_string": {"query": "fox ^^ |",
      "fields": ["title"]}})")),
            index->Ids(json::parse(R"({"simple_query_string": {"query": "fox",
      "fields": ["title"]}})")));
}

TEST(SearcherTest, MultiMatchAndQueryString) {
  auto index = SmallIndex();
  // The keyword field sees the whole text "x dog" as one term.
  EXPECT_THAT(index->Ids(json::parse(R"({"multi_match": {"query": "x dog",
      "fields": ["title", "tag^2"]}})")),
              UnorderedElementsAre("b", "c", "d"));
  auto tag = RunQuery(*index, json::parse(R"({"term": {"tag": "x"}})"));
  auto mm = RunQuery(*index, json::parse(R"({"multi_match": {"query": "x",
      "fields": ["title", "tag^2"]}})"));
  ASSERT_TRUE(tag.ok() && mm.ok());
  ASSERT_EQ(mm->hits.size(), 2u);
  EXPECT_FLOAT_EQ(mm->hits[0].score, 2 * tag->hits[0].score);
  EXPECT_THAT(
      index->Ids(json::parse(R"({"multi_match": {"query": "quick fox", "type": "most_fields",
      "fields": ["title"], "operator": "and"}})")),
      ElementsAre("a"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "quick AND NOT dog",
      "default_field": "title"}})")),
              UnorderedElementsAre("a", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "tag:x OR title:\"a fox\""}})")),
              UnorderedElementsAre("a", "c", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "(lazy OR jumps) +fox",
      "default_field": "title"}})")),
              UnorderedElementsAre("a", "d", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "qui*",
      "default_field": "title"}})")),
              UnorderedElementsAre("a", "b", "f"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "price:[10 TO 25}"}})")),
              UnorderedElementsAre("a", "b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "price:>=25 OR tag:z"}})")),
              UnorderedElementsAre("c", "d", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"query_string": {"query": "date:[2024-03-01 TO *]"}})")),
              UnorderedElementsAre("a", "b"));
  EXPECT_THAT(index->Ids(json::parse(R"({"simple_query_string": {"query": "fox + -lazy",
      "fields": ["title"]}})")),
              UnorderedElementsAre("a", "e"));
  EXPECT_THAT(index->Ids(json::parse(R"({"simple_query_string": {"query": "dog | \"a fox\"",
      "fields": ["title"], "default_operator": "and"}})")),
              UnorderedElementsAre("b", "c", "d", "e"));
}

TEST(SearcherTest, SortsAcrossLeaves) {
  auto index = SmallIndex();
  auto q = index->Parse(json::parse(R"({"match_all": {}})"));
  SearchRequest req;
  req.query = q.get();
  auto sort = ParseSort(json::parse(R"([{"price": "desc"}])"), index->ctx());
  ASSERT_TRUE(sort.ok());
  req.sort = *sort;
  auto top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"c", "e", "b", "a", "d", "f"}));
  EXPECT_EQ(std::get<int64_t>(top->hits[0].sort_values[0]), 30);
  EXPECT_TRUE(std::isnan(top->hits[0].score));

  sort =
      ParseSort(json::parse(R"([{"price": {"order": "asc", "missing": "_first"}}])"), index->ctx());
  ASSERT_TRUE(sort.ok());
  req.sort = *sort;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"f", "d", "a", "b", "e", "c"}));

  // Keyword then double, desc; ties broken by the second key.
  sort = ParseSort(json::parse(R"([{"tag": "asc"}, {"rating": "desc"}, "_doc"])"), index->ctx());
  ASSERT_TRUE(sort.ok());
  req.sort = *sort;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"a", "c", "e", "b", "d", "f"}));
  EXPECT_EQ(std::get<std::string>(top->hits[0].sort_values[0]), "x");
  EXPECT_EQ(std::get<double>(top->hits[0].sort_values[1]), 4.5);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(top->hits[1].sort_values[1]));

  // search_after the third hit gives the rest; from/size page.
  auto after = ParseSearchAfter(json::array({"y", 4.5, 4}), req.sort, index->ctx());
  ASSERT_TRUE(after.ok()) << after.status();
  req.search_after = *after;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"b", "d", "f"}));
  req.search_after.clear();
  req.from = 2;
  req.size = 2;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(index->IdsOf(*top), (std::vector<std::string>{"e", "b"}));
  EXPECT_EQ(top->total_hits, 6u);

  EXPECT_FALSE(ParseSort(json::parse(R"(["title"])"), index->ctx()).ok());
}

TEST(SearcherTest, DeletedDocsAndTotals) {
  auto index = SmallIndex();
  index->Delete(0, 1);  // b
  EXPECT_THAT(index->Ids(json::parse(R"({"match": {"title": "quick"}})")),
              UnorderedElementsAre("a", "f"));
  auto q = index->Parse(json::parse(R"({"match_all": {}})"));
  SearchRequest req;
  req.query = q.get();
  req.size = 1;
  req.track_total_hits = 3;
  auto top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->total_hits, 3u);
  EXPECT_TRUE(top->total_is_lower_bound);
  req.track_total_hits = kTrackTotalHitsExact;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->total_hits, 5u);
  EXPECT_FALSE(top->total_is_lower_bound);

  struct Counter : MatchCollector {
    std::vector<std::pair<size_t, uint32_t>> seen;
    size_t leaf = 0;
    void SetLeaf(size_t i, const Leaf&) override { leaf = i; }
    void Collect(uint32_t doc, float score) override {
      EXPECT_GT(score, 0.0f);
      seen.emplace_back(leaf, doc);
    }
    bool needs_scores() const override { return true; }
  } counter;
  auto dog = index->Parse(json::parse(R"({"match": {"title": "dog"}})"));
  ASSERT_TRUE(ForEachMatch(*dog, index->ctx(), &counter).ok());
  EXPECT_EQ(counter.seen, (std::vector<std::pair<size_t, uint32_t>>{{0, 2}, {1, 0}}));
}

// Counts the matches it is given.
struct MatchCounter : MatchCollector {
  uint64_t n = 0;
  void SetLeaf(size_t, const Leaf&) override {}
  void Collect(uint32_t, float) override { ++n; }
  bool needs_scores() const override { return false; }
};

// A deadline that has passed stops Search and ForEachMatch at their next clock check, with
// what they had collected; one in the future changes nothing.
TEST(SearcherTest, DeadlineStopsCollectionWithPartialResults) {
  TestIndex index(Mappings());
  for (int leaf = 0; leaf < 2; ++leaf) {
    std::vector<json> docs;
    for (int i = 0; i < 5000; ++i) docs.push_back({{"_id_", std::to_string(leaf * 5000 + i)}});
    index.AddLeaf(docs);
  }
  auto all = index.Parse(json::parse(R"({"match_all": {}})"));
  SearchRequest req;
  req.query = all.get();
  req.track_total_hits = kTrackTotalHitsExact;
  SearchContext ctx = index.ctx();
  SearchDeadline later{std::chrono::steady_clock::now() + std::chrono::hours(1)};
  ctx.deadline = &later;
  auto top = Search(req, ctx);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->total_hits, 10000u);
  EXPECT_FALSE(later.expired);

  SearchDeadline past{std::chrono::steady_clock::now()};
  ctx.deadline = &past;
  top = Search(req, ctx);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_TRUE(past.expired);
  EXPECT_EQ(top->total_hits, kDeadlineCheckInterval - 1);  // the docs before the first check
  EXPECT_EQ(top->hits.size(), 10u);

  MatchCounter counter;
  SearchDeadline past_too{std::chrono::steady_clock::now()};
  ctx.deadline = &past_too;
  ASSERT_TRUE(ForEachMatch(*all, ctx, &counter).ok());
  EXPECT_TRUE(past_too.expired);
  EXPECT_EQ(counter.n, kDeadlineCheckInterval);
}

// terminate_after: the first matches in doc order (across leaves), counted exactly; the hits
// are the best of those and a collector sees only those.
TEST(SearcherTest, TerminateAfterStopsAtTheFirstMatches) {
  auto index = SmallIndex();
  auto q = index->Parse(json::parse(R"({"match": {"title": "fox dog quick"}})"));
  MatchCounter counter;
  SearchRequest req;
  req.query = q.get();
  req.terminate_after = 3;
  req.collector = &counter;
  auto top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_TRUE(top->terminated_early);
  EXPECT_EQ(top->total_hits, 3u);
  EXPECT_EQ(counter.n, 3u);
  std::vector<std::string> ids;
  for (const Hit& h : top->hits) ids.push_back(index->IdOf(h.leaf, h.doc));
  EXPECT_THAT(ids, UnorderedElementsAre("a", "b", "c"));  // the first three docs all match

  req.terminate_after = 6;  // every doc matches: nothing left over
  req.collector = nullptr;
  top = Search(req, index->ctx());
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_FALSE(top->terminated_early);
  EXPECT_EQ(top->total_hits, 6u);
}

TEST(SearcherTest, CountsWithoutHits) {
  auto index = SmallIndex();
  auto count = [&](const char* dsl) -> uint64_t {
    SearchRequest req;
    req.size = 0;
    req.track_total_hits = kTrackTotalHitsExact;
    auto top = RunQuery(*index, json::parse(dsl), req);
    EXPECT_TRUE(top.ok()) << top.status();
    EXPECT_TRUE(top->hits.empty());
    return top.ok() ? top->total_hits : 0;
  };
  EXPECT_EQ(count(R"({"match": {"title": "quick"}})"), 3u);  // doc_freq fast path
  EXPECT_EQ(count(R"({"match_all": {}})"), 6u);
  EXPECT_EQ(count(R"({"match": {"title": "quick dog"}})"), 5u);  // iterated
  index->Delete(0, 1);                                           // b
  EXPECT_EQ(count(R"({"match": {"title": "quick"}})"), 2u);
  EXPECT_EQ(count(R"({"match_all": {}})"), 5u);
  EXPECT_EQ(count(R"({"match": {"title": "quick dog"}})"), 4u);
}

TEST(SearcherTest, ParseErrors) {
  auto index = SmallIndex();
  auto expect_error = [&](const char* dsl, const char* message) {
    auto q = ParseQuery(json::parse(dsl), index->ctx());
    ASSERT_FALSE(q.ok()) << dsl;
    EXPECT_EQ(q.status().message(), message) << dsl;
  };
  expect_error(R"({"foo": {}})", "parsing_exception: unknown query [foo]");
  expect_error(
      R"({"match": {"a": "x", "b": "y"}})",
      "parsing_exception: [match] query doesn't support multiple fields, found [a] and [b]");
  expect_error(R"({"bool": {"must": {"term": {"tag": "x"}}, "shoulde": []}})",
               "parsing_exception: [bool] query does not support [shoulde]");
  auto q = ParseQuery(json::parse(R"({"wildcard": {"price": "1*"}})"), index->ctx());
  ASSERT_FALSE(q.ok());
  EXPECT_TRUE(q.status().message().starts_with("query_shard_exception: "));
  q = ParseQuery(json::parse(R"({"term": {"price": "abc"}})"), index->ctx());
  ASSERT_FALSE(q.ok());
  EXPECT_TRUE(q.status().message().starts_with("query_shard_exception: ")) << q.status();
  // Unmapped fields match nothing.
  EXPECT_TRUE(index->Ids(json::parse(R"({"match": {"nope": "x"}})")).empty());
}

// A search for the exact total only (size 0), as `_count` runs it.
Result<TopDocs> ExactCount(const TestIndex& index, const json& dsl) {
  auto q = index.Parse(dsl);
  if (q == nullptr) return Status::InvalidArgument("cannot parse " + dsl.dump());
  SearchRequest req;
  req.query = q.get();
  req.size = 0;
  req.track_total_hits = kTrackTotalHitsExact;
  return Search(req, index.ctx());
}

// Disjunction counts (size 0, exact total) take shortcuts: |A| + |B| - |A and B| for two
// clauses with known counts, a bitset union for more clauses, doc-by-doc merging for sparse
// unions, and deletes filtered through the live docs. Every path must equal a brute-force
// count over the generated docs.
TEST(SearcherTest, DisjunctionCountsEqualBruteForce) {
  TestIndex index(
      json::parse(R"({"properties": {"body": {"type": "text"}, "n": {"type": "long"}}})"));
  // Doc i of leaf l has global number g = 3000 * l + i.
  auto has = [](uint32_t g, const std::string& t) {
    if (t == "a") return g % 3 == 0;
    if (t == "b") return g % 5 == 0;
    if (t == "c") return g % 7 == 0;
    if (t == "r1") return g % 700 == 0;
    if (t == "r2") return g % 900 == 1;
    return g % 1100 == 2;  // r3
  };
  const std::vector<std::string> words = {"a", "b", "c", "r1", "r2", "r3"};
  for (uint32_t l = 0; l < 2; ++l) {
    std::vector<json> docs;
    for (uint32_t i = 0; i < 3000; ++i) {
      const uint32_t g = 3000 * l + i;
      std::string body = "x";
      for (const std::string& w : words) {
        if (has(g, w)) body += " " + w;
      }
      docs.push_back(json{{"body", body}, {"n", g}});
    }
    index.AddLeaf(docs);
  }
  std::vector<bool> deleted(6000, false);
  struct Case {
    std::vector<std::string> terms;
    int64_t n_max;  // also matches docs with n <= n_max (a range clause); -1: none
  };
  const std::vector<Case> cases = {
      {{"a", "b"}, -1},          // two known counts: inclusion-exclusion
      {{"r1", "r2"}, -1},        // two rare terms
      {{"a"}, 120},              // a term and a range (a bitset count)
      {{"a", "b", "c"}, -1},     // three clauses: bitset union
      {{"r1", "r2", "r3"}, -1},  // sparse: merged doc by doc
      {{"a", "r1", "c", "b"}, -1},
  };
  auto check = [&](const char* phase) {
    for (const Case& c : cases) {
      json should = json::array();
      for (const std::string& t : c.terms) should.push_back({{"term", {{"body", t}}}});
      if (c.n_max >= 0) should.push_back({{"range", {{"n", {{"lte", c.n_max}}}}}});
      const json dsl = {{"bool", {{"should", should}}}};
      uint64_t want = 0;
      for (uint32_t g = 0; g < 6000; ++g) {
        if (deleted[g]) continue;
        bool match = c.n_max >= 0 && g <= c.n_max;
        for (const std::string& t : c.terms) match = match || has(g, t);
        want += match;
      }
      auto top = ExactCount(index, dsl);
      ASSERT_TRUE(top.ok()) << top.status();
      EXPECT_EQ(top->total_hits, want) << phase << ": " << dsl.dump();
      EXPECT_FALSE(top->total_is_lower_bound);
    }
  };
  check("no deletes");
  for (uint32_t g = 0; g < 6000; g += 11) {
    deleted[g] = true;
    index.Delete(g / 3000, g % 3000);
  }
  check("with deletes");
}

// Multi-term counts (size 0) add up the selected terms' doc freqs when no doc has two terms in
// the field; a multi-valued field, a text field or deletes take the bitset. Each must equal a
// brute-force count.
// A clause whose scorer cannot be made (as a leaf whose files fail to read).
class BrokenQuery final : public Query {
 public:
  std::string ToString() const override { return "broken"; }
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext&, bool, float) const override {
    return std::unique_ptr<Weight>(std::make_unique<BrokenWeight>());
  }

 private:
  class BrokenWeight final : public Weight {
   public:
    Result<std::unique_ptr<Scorer>> MakeScorer(size_t) const override {
      return Status::Internal("broken clause");
    }
    std::string Describe() const override { return "broken"; }
  };
};

// The count shortcuts give up on a clause that fails, and the search then reports its error
// (counting it as 0 matches would answer a wrong total).
TEST(SearcherTest, CountsReportAClauseThatFails) {
  auto index = SmallIndex();
  for (bool conjunction : {true, false}) {
    BooleanQuery::Clauses c;
    auto& list = conjunction ? c.must : c.should;
    list.push_back(std::make_unique<TermQuery>("title", "quick"));
    list.push_back(std::make_unique<BrokenQuery>());
    BooleanQuery q(std::move(c), std::nullopt);
    SearchRequest req;
    req.query = &q;
    req.size = 0;
    req.track_total_hits = kTrackTotalHitsExact;
    auto top = Search(req, index->ctx());
    ASSERT_FALSE(top.ok()) << (conjunction ? "must" : "should");
    EXPECT_NE(top.status().message().find("broken clause"), std::string::npos) << top.status();
  }
}

TEST(SearcherTest, MultiTermCountsEqualBruteForce) {
  TestIndex index(json::parse(R"({"properties": {"n": {"type": "long"}, "m": {"type": "long"},
      "k": {"type": "keyword"}, "t": {"type": "text"}}})"));
  std::vector<json> docs;
  for (int i = 0; i < 1000; ++i) {
    json d = {{"n", i % 300},
              {"m", json::array({i % 50, i % 50 + 1})},
              {"k", "key" + std::to_string(i % 70)},
              {"t", "w" + std::to_string(i % 9) + " w9"}};
    if (i % 13 == 0) d.erase("n");  // some docs without the field
    docs.push_back(d);
  }
  index.AddLeaf(docs);
  std::vector<bool> deleted(1000, false);
  struct Case {
    json dsl;
    std::function<bool(int)> match;
  };
  const std::vector<Case> cases = {
      {{{"range", {{"n", {{"gte", 10}, {"lt", 120}}}}}},
       [](int i) { return i % 13 != 0 && i % 300 >= 10 && i % 300 < 120; }},
      {{{"range", {{"m", {{"gte", 10}, {"lte", 20}}}}}},  // two values per doc, 10..21
       [](int i) { return i % 50 + 1 >= 10 && i % 50 <= 20; }},
      {{{"range", {{"n", {{"gt", 5}, {"lte", 299}}}}}},  // up to the largest value
       [](int i) { return i % 13 != 0 && i % 300 > 5; }},
      {{{"range", {{"k", {{"gt", "key1"}, {"lte", "key3"}}}}}},  // "key1x" > "key1"; "key3" in
       [](int i) {
         std::string k = "key" + std::to_string(i % 70);
         return k > "key1" && k <= "key3";
       }},
      {{{"range", {{"k", {{"gte", "key2"}, {"lt", "key5"}}}}}},
       [](int i) {
         std::string k = "key" + std::to_string(i % 70);
         return k >= "key2" && k < "key5";
       }},
      {{{"prefix", {{"k", "key1"}}}},
       [](int i) { return std::to_string(i % 70).starts_with("1"); }},
      // Conjunctions: dense clauses (bitsets), a sparse one (leapfrog), a filter, no match.
      {{{"bool", {{"must", {{{"term", {{"t", "w1"}}}}, {{"term", {{"t", "w9"}}}}}}}}},
       [](int i) { return i % 9 == 1; }},
      {{{"bool",
         {{"must", {{{"term", {{"t", "w9"}}}}}},
          {"filter", {{{"range", {{"n", {{"lt", 100}}}}}}, {{"term", {{"k", "key3"}}}}}}}}},
       [](int i) { return i % 13 != 0 && i % 300 < 100 && i % 70 == 3; }},
      {{{"bool", {{"must", {{{"term", {{"n", 13}}}}, {{"term", {{"t", "w9"}}}}}}}}},
       [](int i) { return i % 13 != 0 && i % 300 == 13; }},
      {{{"bool", {{"filter", {{{"term", {{"t", "w1"}}}}, {{"term", {{"t", "nope"}}}}}}}}},
       [](int) { return false; }},
      {{{"wildcard", {{"t", "w*"}}}}, [](int) { return true; }},
  };
  auto check = [&](const char* phase) {
    for (const Case& c : cases) {
      uint64_t want = 0;
      for (int i = 0; i < 1000; ++i) want += !deleted[i] && c.match(i);
      auto top = ExactCount(index, c.dsl);
      ASSERT_TRUE(top.ok()) << top.status();
      EXPECT_EQ(top->total_hits, want) << phase << ": " << c.dsl.dump();
    }
  };
  check("no deletes");
  for (int i = 0; i < 1000; i += 7) {
    deleted[i] = true;
    index.Delete(0, i);
  }
  check("with deletes");
}

// Every doc of a leaf with score 1, through a BitsetScorer; counts the docs handed out.
class VisitCountingQuery final : public Query {
 public:
  explicit VisitCountingQuery(uint64_t* visits) : visits_(visits) {}
  std::string ToString() const override { return "visit_counting"; }
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool,
                                               float) const override {
    return std::unique_ptr<Weight>(std::make_unique<CountingWeight>(ctx.leaves, visits_));
  }

 private:
  class CountingScorer final : public Scorer {
   public:
    CountingScorer(std::unique_ptr<Scorer> inner, uint64_t* visits)
        : inner_(std::move(inner)), visits_(visits) {}
    uint32_t doc() const override { return inner_->doc(); }
    uint32_t NextDoc() override { return Count(inner_->NextDoc()); }
    uint32_t Advance(uint32_t target) override { return Count(inner_->Advance(target)); }
    float Score() override { return inner_->Score(); }
    uint64_t cost() const override { return inner_->cost(); }
    float MaxScore() const override { return inner_->MaxScore(); }
    void SetMinCompetitiveScore(float m) override { inner_->SetMinCompetitiveScore(m); }

   private:
    uint32_t Count(uint32_t doc) {
      *visits_ += doc != kNoMoreDocs;
      return doc;
    }
    std::unique_ptr<Scorer> inner_;
    uint64_t* visits_;
  };
  class CountingWeight final : public Weight {
   public:
    CountingWeight(const std::vector<Leaf>* leaves, uint64_t* visits)
        : leaves_(leaves), visits_(visits) {}
    Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
      auto bits = std::make_shared<DocBitset>((*leaves_)[i].reader->max_doc());
      for (uint32_t d = 0; d < bits->max_doc(); ++d) bits->Set(d);
      return std::unique_ptr<Scorer>(
          std::make_unique<CountingScorer>(std::make_unique<BitsetScorer>(bits, 1.0f), visits_));
    }
    std::string Describe() const override { return "visit_counting"; }

   private:
    const std::vector<Leaf>* leaves_;
    uint64_t* visits_;
  };
  uint64_t* visits_;
};

// Constant-score scorers stop once the top-k collector needs a higher score than theirs
// (Lucene's ConstantScoreScorer does the same); a minimum at or below their score changes
// nothing.
TEST(SearcherTest, ConstantScorersStopBelowTheMinimumCompetitiveScore) {
  auto bits = std::make_shared<DocBitset>(100);
  for (uint32_t d : {3u, 40u, 41u, 99u}) bits->Set(d);
  std::vector<std::unique_ptr<Scorer>> scorers;
  scorers.push_back(std::make_unique<BitsetScorer>(bits, 2.0f));
  scorers.push_back(std::make_unique<AllScorer>(100, 2.0f));
  scorers.push_back(std::make_unique<ConstantScorer>(std::make_unique<AllScorer>(100, 5.0f), 2.0f));
  for (auto& s : scorers) {
    uint32_t first = s->NextDoc();
    EXPECT_NE(first, kNoMoreDocs);
    s->SetMinCompetitiveScore(2.0f);  // ties may still compete
    uint32_t second = s->NextDoc();
    EXPECT_GT(second, first);
    EXPECT_NE(second, kNoMoreDocs);
    s->SetMinCompetitiveScore(std::nextafter(2.0f, 3.0f));
    EXPECT_EQ(s->NextDoc(), kNoMoreDocs);
    EXPECT_EQ(s->doc(), kNoMoreDocs);
    EXPECT_EQ(s->Advance(50), kNoMoreDocs);
  }
  // Through Search: once the total passes track_total_hits, a heap full of equal scores
  // raises the minimum, and the scorer hands out no further doc.
  TestIndex index(json::parse(R"({"properties": {"n": {"type": "long"}}})"));
  std::vector<json> docs;
  for (int i = 0; i < 500; ++i) docs.push_back(json{{"n", i}});
  index.AddLeaf(docs);
  uint64_t visits = 0;
  VisitCountingQuery q(&visits);
  SearchRequest req;
  req.query = &q;
  req.size = 10;
  req.track_total_hits = 50;
  auto top = Search(req, index.ctx());
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->hits.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(top->hits[i].doc, i);
  EXPECT_EQ(top->total_hits, 50u);
  EXPECT_TRUE(top->total_is_lower_bound);
  EXPECT_EQ(visits, 51u);  // the 51st doc crossed the threshold
  // An exact total visits every doc, with the same hits.
  visits = 0;
  req.track_total_hits = kTrackTotalHitsExact;
  top = Search(req, index.ctx());
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->total_hits, 500u);
  EXPECT_EQ(top->hits[9].doc, 9u);
  EXPECT_EQ(visits, 500u);
}

}  // namespace
}  // namespace quidditch::engine
