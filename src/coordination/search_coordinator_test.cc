// Tests of the coordinator's pure search logic: merge of shard top hits, totals, max score,
// result window, sort orders, and the scroll / point-in-time id codec.
#include "coordination/search_coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "engine/aggs/aggregations.h"

namespace quidditch::rest {
namespace {

using nlohmann::json;

data::ShardHit ScoreHit(uint32_t doc, float score) {
  data::ShardHit hit;
  hit.doc = doc;
  hit.score = score;
  return hit;
}

data::ShardHit SortHit(uint32_t doc, std::vector<engine::SortValue> values) {
  data::ShardHit hit;
  hit.doc = doc;
  hit.score = std::numeric_limits<float>::quiet_NaN();
  hit.sort_values = std::move(values);
  return hit;
}

TEST(MergeTopHitsTest, ByScoreTiesByShardThenShardOrder) {
  std::vector<data::ShardHit> s0 = {ScoreHit(4, 2.0f), ScoreHit(1, 1.0f), ScoreHit(7, 1.0f)};
  std::vector<data::ShardHit> s1 = {ScoreHit(0, 3.0f), ScoreHit(2, 1.0f)};
  std::vector<const std::vector<data::ShardHit>*> shards = {&s0, &s1};
  std::vector<MergedHit> merged = MergeTopHits(shards, {}, 0, 10);
  std::vector<MergedHit> want = {{1, 0}, {0, 0}, {0, 1}, {0, 2}, {1, 1}};
  EXPECT_EQ(merged, want);
}

TEST(MergeTopHitsTest, FromAndSizeWindow) {
  std::vector<data::ShardHit> s0 = {ScoreHit(0, 5), ScoreHit(1, 3), ScoreHit(2, 1)};
  std::vector<data::ShardHit> s1 = {ScoreHit(0, 4), ScoreHit(1, 2), ScoreHit(2, 0.5f)};
  std::vector<const std::vector<data::ShardHit>*> shards = {&s0, &s1};
  EXPECT_EQ(MergeTopHits(shards, {}, 2, 2), (std::vector<MergedHit>{{0, 1}, {1, 1}}));
  EXPECT_EQ(MergeTopHits(shards, {}, 5, 10), (std::vector<MergedHit>{{1, 2}}));
  EXPECT_TRUE(MergeTopHits(shards, {}, 6, 10).empty());
  EXPECT_TRUE(MergeTopHits(shards, {}, 0, 0).empty());
  // A huge size must not overflow from + size.
  EXPECT_EQ(MergeTopHits(shards, {}, 1, std::numeric_limits<size_t>::max()).size(), 5u);
}

TEST(MergeTopHitsTest, SkipsFailedShardsAndNaNScoresGoLast) {
  std::vector<data::ShardHit> s0 = {ScoreHit(0, 1.0f)};
  std::vector<data::ShardHit> s2 = {ScoreHit(3, std::nanf("")), ScoreHit(9, std::nanf(""))};
  std::vector<const std::vector<data::ShardHit>*> shards = {&s0, nullptr, &s2};
  EXPECT_EQ(MergeTopHits(shards, {}, 0, 10), (std::vector<MergedHit>{{0, 0}, {2, 0}, {2, 1}}));
}

TEST(MergeTopHitsTest, BySortValuesWithMissingAndDirections) {
  // sort: price desc (missing _last), name asc.
  std::vector<SortKeyOrder> sort = {{"price", true, false}, {"name", false, false}};
  std::vector<data::ShardHit> s0 = {SortHit(0, {int64_t{10}, std::string("b")}),
                                    SortHit(1, {int64_t{5}, std::string("a")}),
                                    SortHit(2, {std::monostate{}, std::string("a")})};
  std::vector<data::ShardHit> s1 = {SortHit(0, {int64_t{10}, std::string("a")}),
                                    SortHit(1, {7.5, std::monostate{}})};
  std::vector<const std::vector<data::ShardHit>*> shards = {&s0, &s1};
  std::vector<MergedHit> want = {{1, 0}, {0, 0}, {1, 1}, {0, 1}, {0, 2}};
  EXPECT_EQ(MergeTopHits(shards, sort, 0, 10), want);
}

TEST(CompareSortValuesTest, MissingPlacementIgnoresDirection) {
  SortKeyOrder asc{"f", false, false};
  SortKeyOrder desc{"f", true, false};
  SortKeyOrder desc_first{"f", true, true};
  engine::SortValue missing;
  engine::SortValue one = int64_t{1};
  EXPECT_GT(CompareSortValues(missing, one, asc), 0);
  EXPECT_GT(CompareSortValues(missing, one, desc), 0);
  EXPECT_LT(CompareSortValues(missing, one, desc_first), 0);
  EXPECT_EQ(CompareSortValues(missing, missing, asc), 0);
  EXPECT_LT(CompareSortValues(one, engine::SortValue{1.5}, asc), 0);
  EXPECT_GT(CompareSortValues(one, engine::SortValue{1.5}, desc), 0);
  EXPECT_LT(CompareSortValues(engine::SortValue{std::string("a")},
                              engine::SortValue{std::string("b")}, asc),
            0);
}

// Splitting a ranked list over shards and merging gives the list back (reference check).
TEST(MergeTopHitsTest, RandomSplitsMergeBackToTheGlobalOrder) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    const size_t num_docs = rng() % 60;
    const size_t num_shards = 1 + rng() % 5;
    // Global order: score descending, ties by (shard, doc) as OpenSearch merges them.
    struct Doc {
      size_t shard;
      uint32_t doc;
      float score;
    };
    std::vector<Doc> docs;
    std::vector<uint32_t> next_doc(num_shards, 0);
    for (size_t i = 0; i < num_docs; ++i) {
      size_t shard = rng() % num_shards;
      docs.push_back({shard, next_doc[shard]++, static_cast<float>(rng() % 8)});
    }
    std::vector<std::vector<data::ShardHit>> per_shard(num_shards);
    std::vector<Doc> sorted = docs;
    std::sort(sorted.begin(), sorted.end(), [](const Doc& a, const Doc& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.shard != b.shard) return a.shard < b.shard;
      return a.doc < b.doc;
    });
    for (const Doc& d : sorted) per_shard[d.shard].push_back(ScoreHit(d.doc, d.score));
    std::vector<const std::vector<data::ShardHit>*> shards;
    for (const auto& s : per_shard) shards.push_back(&s);
    const size_t from = rng() % 10;
    const size_t size = rng() % 20;
    std::vector<MergedHit> merged = MergeTopHits(shards, {}, from, size);
    std::vector<std::pair<size_t, uint32_t>> got;
    for (const MergedHit& m : merged) got.emplace_back(m.shard, per_shard[m.shard][m.position].doc);
    std::vector<std::pair<size_t, uint32_t>> want;
    for (size_t i = from; i < sorted.size() && i < from + size; ++i) {
      want.emplace_back(sorted[i].shard, sorted[i].doc);
    }
    ASSERT_EQ(got, want) << "round " << round;
  }
}

TEST(ParseSortOrderTest, Forms) {
  auto keys = ParseSortOrder(json::parse(
      R"(["_score", "a", {"b": "desc"}, {"c": {"order": "asc", "missing": "_first"}}, "_doc"])"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 5u);
  EXPECT_EQ((*keys)[0].field, "_score");
  EXPECT_TRUE((*keys)[0].descending);
  EXPECT_FALSE((*keys)[1].descending);
  EXPECT_TRUE((*keys)[2].descending);
  EXPECT_FALSE((*keys)[3].descending);
  EXPECT_TRUE((*keys)[3].missing_first);
  EXPECT_FALSE((*keys)[4].descending);

  auto single = ParseSortOrder(json::parse(R"({"_score": {"order": "asc"}})"));
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_FALSE((*single)[0].descending);
  EXPECT_TRUE(ParseSortOrder(json()).value().empty());

  auto bad_order = ParseSortOrder(json::parse(R"({"a": "sideways"})"));
  ASSERT_FALSE(bad_order.ok());
  EXPECT_EQ(bad_order.status().message(),
            "illegal_argument_exception: Unknown SortOrder [sideways]");
  auto bad_entry = ParseSortOrder(json::parse(R"([3])"));
  ASSERT_FALSE(bad_entry.ok());
  EXPECT_TRUE(bad_entry.status().message().starts_with("parsing_exception: "));
}

TEST(TotalsTest, TrackTotalHits) {
  EXPECT_EQ(ParseTrackTotalHits(json()).value(), 10000u);
  EXPECT_EQ(ParseTrackTotalHits(json(true)).value(), engine::kTrackTotalHitsExact);
  EXPECT_EQ(ParseTrackTotalHits(json(false)).value(), 0u);
  EXPECT_EQ(ParseTrackTotalHits(json(100)).value(), 100u);
  EXPECT_EQ(ParseTrackTotalHits(json(-1)).value(), engine::kTrackTotalHitsExact);
  EXPECT_EQ(ParseTrackTotalHits(json("7")).value(), 7u);
  EXPECT_EQ(ParseTrackTotalHits(json("false")).value(), 0u);
  auto negative = ParseTrackTotalHits(json(-5));
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(),
            "illegal_argument_exception: [track_total_hits] parameter must be positive or "
            "equals to -1, got -5");
  EXPECT_FALSE(ParseTrackTotalHits(json("x")).ok());
}

TEST(TotalsTest, MergeTotalHitsCapsAtTheTrackingLimit) {
  EXPECT_EQ(MergeTotalHits({{3, false}, {4, false}}, 10000), (TotalHits{7, false}));
  EXPECT_EQ(MergeTotalHits({{3, false}, {4, false}}, 5), (TotalHits{5, true}));
  EXPECT_EQ(MergeTotalHits({{5, true}, {0, false}}, 5), (TotalHits{5, true}));
  EXPECT_EQ(MergeTotalHits({}, 10), (TotalHits{0, false}));
}

TEST(TotalsTest, MaxScore) {
  EXPECT_FALSE(MergeMaxScore({}).has_value());
  EXPECT_FALSE(MergeMaxScore({std::nanf(""), std::nanf("")}).has_value());
  EXPECT_EQ(MergeMaxScore({1.5f, std::nanf(""), 2.5f}).value(), 2.5f);
}

TEST(ResultWindowTest, OpenSearchText) {
  EXPECT_TRUE(CheckResultWindow(0, 10000, 10000, false).ok());
  Status s = CheckResultWindow(1, 10000, 10000, false);
  EXPECT_EQ(s.message(),
            "illegal_argument_exception: Result window is too large, from + size must be less "
            "than or equal to: [10000] but was [10001]. See the scroll api for a more efficient "
            "way to request large data sets. This limit can be set by changing the "
            "[index.max_result_window] index level setting.");
  EXPECT_TRUE(CheckResultWindow(50, 10000, 10000, true).ok());
  EXPECT_FALSE(CheckResultWindow(0, 10001, 10000, true).ok());
  EXPECT_EQ(MaxResultWindow(json::object()), 10000);
  EXPECT_EQ(MaxResultWindow(json::parse(R"({"max_result_window": 50})")), 50);
  EXPECT_EQ(MaxResultWindow(json::parse(R"({"max_result_window": "60"})")), 60);
}

TEST(IdCodecTest, Base64RoundTrip) {
  std::mt19937 rng(7);
  for (int i = 0; i < 100; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64Decode(encoded).value(), bytes);
  }
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Decode("Zm9vYg==").value(), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(IdCodecTest, ScrollIdRoundTrip) {
  ScrollId id;
  id.context = 12;
  id.now_millis = 1700000000000;
  id.total_shards = 3;
  id.keep_alive_ms = 60000;
  id.body = json::parse(R"({"query": {"match": {"t": "x"}}, "size": 2})");
  id.readers = {{"n1", "a", 0, "r7", 4}, {"n1", "b", 2, "r8", 0}};
  auto decoded = DecodeScrollId(EncodeScrollId(id));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, id);

  auto bad = DecodeScrollId("not a scroll id");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "illegal_argument_exception: Cannot parse scroll id");
  EXPECT_FALSE(DecodeScrollId(Base64UrlEncode("{}")).ok());
  EXPECT_FALSE(DecodeScrollId(Base64UrlEncode("[1]")).ok());
}

TEST(IdCodecTest, PitIdRoundTrip) {
  PitId id;
  id.total_shards = 2;
  id.creation_time = 99;
  id.keep_alive_ms = 120000;
  id.readers = {{"n1", "logs", 1, "r1", 0}};
  auto decoded = DecodePitId(EncodePitId(id));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, id);
  EXPECT_FALSE(DecodePitId("%%%").ok());
  // A scroll id is not a pit id.
  EXPECT_FALSE(DecodePitId(EncodeScrollId(ScrollId{})).ok());
}

TEST(ReduceTest, RejectsMalformedPartials) {
  // Real partials are reduced in rest_search_test (aggregations across shards); here: a partial
  // that does not decode fails the reduce instead of being dropped.
  auto bad = ReduceShardAggregations({"not json"}, {});
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace quidditch::rest
