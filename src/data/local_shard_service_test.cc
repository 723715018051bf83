// LocalShardService on a one-node cluster: writes, the query and fetch phases across the shards
// of an index, readers and their expiry, and _analyze.
#include "data/local_shard_service.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "data/testing/single_node.h"
#include "engine/aggs/aggregations.h"

namespace quidditch::data {
namespace {

using nlohmann::json;
using testing::SingleNode;

engine::BulkItem IndexItem(std::string id, json source) {
  engine::BulkItem item;
  item.kind = engine::BulkItem::Kind::kIndex;
  item.id = std::move(id);
  item.source = source.dump();
  return item;
}

class LocalShardServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.status().ok()) << node_.status();
    controlplane::CreateIndexRequest request;
    request.name = "books";
    request.settings.shards = 2;
    request.settings.replicas = 0;
    request.settings.refresh_interval = "-1";
    request.mappings = {{"properties",
                         {{"title", {{"type", "text"}}},
                          {"genre", {{"type", "keyword"}}},
                          {"year", {{"type", "long"}}},
                          {"price", {{"type", "double"}}},
                          {"published", {{"type", "date"}}}}}};
    ASSERT_TRUE(node_.control_plane()->CreateIndex(controlplane::CallContext{}, request).ok());
    ASSERT_TRUE(node_.WaitForIndexStarted("books").ok());
    // Six books, alternating between the two shards.
    const std::vector<json> books = {
        {{"title", "The quick brown fox"},
         {"genre", "fable"},
         {"year", 1990},
         {"price", 10.5},
         {"published", "1990-01-02"},
         {"author", {{"name", "Ann"}, {"born", 1950}}}},
        {{"title", "A lazy dog sleeps"}, {"genre", "fable"}, {"year", 1995}, {"price", 7.0}},
        {{"title", "Fox and dog"}, {"genre", "novel"}, {"year", 2001}, {"price", 12.0}},
        {{"title", "Brown bread"}, {"genre", "cooking"}, {"year", 2010}, {"price", 20.0}},
        {{"title", "The fox returns"}, {"genre", "novel"}, {"year", 2015}, {"price", 15.0}},
        {{"title", "Dogs of war"}, {"genre", "history"}, {"year", 1980}, {"price", 30.0}},
    };
    for (size_t i = 0; i < books.size(); ++i) {
      auto r = service()->Bulk(ShardKey{"books", static_cast<int32_t>(i % 2)},
                               {IndexItem(std::to_string(i + 1), books[i])}, RefreshPolicy::kNone);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE((*r)[0].status.ok()) << (*r)[0].status;
    }
    for (int32_t s = 0; s < 2; ++s) ASSERT_TRUE(service()->Refresh(ShardKey{"books", s}).ok());
  }

  LocalShardService* service() { return node_.shard_service(); }

  // Query phase then fetch phase on every shard; the ids of the hits, shard by shard.
  std::vector<std::string> SearchIds(const json& body, size_t size = 10) {
    std::vector<std::string> ids;
    for (int32_t s = 0; s < 2; ++s) {
      QueryPhaseRequest q;
      q.body = body;
      q.size = size;
      auto result = service()->ExecuteQuery(ShardKey{"books", s}, q);
      EXPECT_TRUE(result.ok()) << result.status();
      if (!result.ok() || result->hits.empty()) continue;
      FetchPhaseRequest f;
      f.reader_id = result->reader_id;
      for (const ShardHit& h : result->hits) f.docs.push_back(h.doc);
      auto fetched = service()->ExecuteFetch(ShardKey{"books", s}, f);
      EXPECT_TRUE(fetched.ok()) << fetched.status();
      if (!fetched.ok()) continue;
      for (const FetchedHit& h : fetched->hits) ids.push_back(h.id);
    }
    return ids;
  }

  SingleNode node_;
};

TEST_F(LocalShardServiceTest, QueryThenFetchAcrossTwoShards) {
  std::vector<std::string> ids = SearchIds({{"query", {{"match", {{"title", "fox"}}}}}});
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "3", "5"}));

  QueryPhaseRequest q;
  q.body = {{"query", {{"match", {{"title", "fox"}}}}}};
  auto result = service()->ExecuteQuery(ShardKey{"books", 0}, q);  // books 1, 3, 5
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->total_hits, 3u);
  EXPECT_FALSE(result->total_is_lower_bound);
  ASSERT_EQ(result->hits.size(), 3u);
  EXPECT_GT(result->max_score, 0);
  EXPECT_EQ(result->max_score, result->hits[0].score);
  EXPECT_EQ(service()->open_readers(), 1u);

  FetchPhaseRequest f;
  f.reader_id = result->reader_id;
  f.docs = {result->hits[0].doc};
  f.body = {{"_source", {"title", "author.*"}}};
  auto fetched = service()->ExecuteFetch(ShardKey{"books", 0}, f);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  ASSERT_EQ(fetched->hits.size(), 1u);
  const FetchedHit& hit = fetched->hits[0];
  EXPECT_EQ(hit.version, 1);
  EXPECT_EQ(hit.primary_term, 1);
  EXPECT_GE(hit.seq_no, 0);
  ASSERT_TRUE(hit.source.has_value());
  json source = json::parse(*hit.source);
  EXPECT_TRUE(source.contains("title"));
  EXPECT_FALSE(source.contains("genre"));
  // The plain search released its reader with the fetch.
  EXPECT_EQ(service()->open_readers(), 0u);
  auto again = service()->ExecuteFetch(ShardKey{"books", 0}, f);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsNotFound());
  EXPECT_EQ(again.status().message().rfind("search_context_missing_exception", 0), 0u);

  auto stats = service()->SearchStats(ShardKey{"books", 0});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->query_total, 2);  // SearchIds' and this test's
  EXPECT_EQ(stats->fetch_total, 2);  // the failed fetch found no reader: not counted
  EXPECT_EQ(stats->query_current, 0);
  EXPECT_EQ(stats->open_contexts, 0);
}

TEST_F(LocalShardServiceTest, SortSearchAfterAndTotals) {
  QueryPhaseRequest q;
  q.body = {{"sort", json::array({{{"year", "desc"}}})}, {"track_total_hits", false}};
  q.size = 2;
  auto first = service()->ExecuteQuery(ShardKey{"books", 1}, q);  // books 2, 4, 6
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->hits.size(), 2u);
  EXPECT_EQ(first->hits[0].sort_values[0], engine::SortValue(int64_t{2010}));
  EXPECT_EQ(first->hits[1].sort_values[0], engine::SortValue(int64_t{1995}));
  EXPECT_TRUE(std::isnan(first->hits[0].score));
  EXPECT_EQ(first->total_hits, 0u);
  EXPECT_TRUE(first->total_is_lower_bound);
  ASSERT_TRUE(service()->ReleaseReader(ShardKey{"books", 1}, first->reader_id).ok());

  q.body["search_after"] = json::array({1995});
  q.body["track_total_hits"] = true;
  auto next = service()->ExecuteQuery(ShardKey{"books", 1}, q);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->hits.size(), 1u);
  EXPECT_EQ(next->hits[0].sort_values[0], engine::SortValue(int64_t{1980}));
  EXPECT_EQ(next->total_hits, 3u);
}

TEST_F(LocalShardServiceTest, AggregationsPostFilterAndMinScore) {
  QueryPhaseRequest q;
  q.body = {{"aggs", {{"genres", {{"terms", {{"field", "genre"}}}}}}},
            {"post_filter", {{"term", {{"genre", "novel"}}}}}};
  q.size = 10;
  auto result = service()->ExecuteQuery(ShardKey{"books", 0}, q);  // fable, novel, novel
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->total_hits, 2u);  // post_filter narrows the hits...
  ASSERT_TRUE(result->aggregations.has_value());
  auto partial = engine::DecodePartial(*result->aggregations);
  ASSERT_TRUE(partial.ok());
  auto reduced = engine::ReduceAggregations({*partial});
  ASSERT_TRUE(reduced.ok()) << reduced.status();
  // ... but not the aggregations.
  const json& buckets = (*reduced)["genres"]["buckets"];
  ASSERT_EQ(buckets.size(), 2u) << reduced->dump();
  EXPECT_EQ(buckets[0]["key"], "novel");
  EXPECT_EQ(buckets[0]["doc_count"], 2);
  EXPECT_EQ(buckets[1]["key"], "fable");

  QueryPhaseRequest scored;
  scored.body = {{"query", {{"match", {{"title", "fox"}}}}}, {"min_score", 1000}};
  auto none = service()->ExecuteQuery(ShardKey{"books", 0}, scored);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total_hits, 0u);
  EXPECT_TRUE(none->reader_id.empty());  // nothing to fetch: no reader kept
}

TEST_F(LocalShardServiceTest, TerminateAfter) {
  QueryPhaseRequest q;
  q.body = {{"terminate_after", 2}, {"sort", json::array({{{"year", "desc"}}})}};
  auto result = service()->ExecuteQuery(ShardKey{"books", 0}, q);  // 1990, 2001, 2015
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated_early);
  EXPECT_EQ(result->total_hits, 2u);
  ASSERT_EQ(result->hits.size(), 2u);
  // The best of the first two documents (1990 and 2001), not of all three.
  EXPECT_EQ(result->hits[0].sort_values[0], engine::SortValue(int64_t{2001}));
  EXPECT_EQ(result->hits[1].sort_values[0], engine::SortValue(int64_t{1990}));

  q.body["terminate_after"] = 10;
  result = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->terminated_early);
  EXPECT_EQ(result->total_hits, 3u);
  // The aggregations see the same first matches (fable, novel of fable, novel, novel); with a
  // post_filter, the query's first matches, while the hits are the filtered query's.
  auto genres = [&](const json& body) {
    QueryPhaseRequest a;
    a.body = body;
    auto r = service()->ExecuteQuery(ShardKey{"books", 0}, a);
    EXPECT_TRUE(r.ok() && r->aggregations.has_value());
    auto partial = engine::DecodePartial(*r->aggregations);
    EXPECT_TRUE(partial.ok());
    auto reduced = engine::ReduceAggregations({*partial});
    EXPECT_TRUE(reduced.ok());
    std::map<std::string, int64_t> counts;
    for (const json& b : (*reduced)["genres"]["buckets"]) counts[b["key"]] = b["doc_count"];
    return std::make_pair(counts, r->total_hits);
  };
  const json terms = {{"genres", {{"terms", {{"field", "genre"}}}}}};
  auto [counts, total] = genres({{"terminate_after", 2}, {"aggs", terms}});
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"fable", 1}, {"novel", 1}}));
  EXPECT_EQ(total, 2u);
  std::tie(counts, total) = genres(
      {{"terminate_after", 2}, {"aggs", terms}, {"post_filter", {{"term", {{"genre", "novel"}}}}}});
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"fable", 1}, {"novel", 1}}));
  EXPECT_EQ(total, 2u);  // the two novels: the first two matches of the filtered query
}

TEST_F(LocalShardServiceTest, FetchHighlightAndDocValueFields) {
  QueryPhaseRequest q;
  q.body = {{"query", {{"match", {{"title", "brown"}}}}}};
  auto result = service()->ExecuteQuery(ShardKey{"books", 0}, q);  // book 1
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  FetchPhaseRequest f;
  f.reader_id = result->reader_id;
  f.docs = {result->hits[0].doc};
  f.body = {{"query", q.body["query"]},
            {"_source", false},
            {"highlight",
             {{"pre_tags", {"["}}, {"post_tags", {"]"}}, {"fields", {{"title", json::object()}}}}},
            {"docvalue_fields", json::array({"year", "genre", "price", "published", "nope"})}};
  auto fetched = service()->ExecuteFetch(ShardKey{"books", 0}, f);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  const FetchedHit& hit = fetched->hits[0];
  EXPECT_EQ(hit.id, "1");
  EXPECT_FALSE(hit.source.has_value());
  EXPECT_EQ(hit.highlight, (json{{"title", {"The quick [brown] fox"}}}));
  EXPECT_EQ(hit.fields["year"], json::array({1990}));
  EXPECT_EQ(hit.fields["genre"], json::array({"fable"}));
  EXPECT_EQ(hit.fields["price"], json::array({10.5}));
  EXPECT_EQ(hit.fields["published"], json::array({"1990-01-02T00:00:00.000Z"}));
  EXPECT_FALSE(hit.fields.contains("nope"));

  // stored_fields without _source: no source.
  q.keep_alive = std::chrono::milliseconds(0);
  result = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_TRUE(result.ok());
  f.reader_id = result->reader_id;
  f.body = {{"stored_fields", json::array({"title"})}};
  fetched = service()->ExecuteFetch(ShardKey{"books", 0}, f);
  ASSERT_TRUE(fetched.ok());
  EXPECT_FALSE(fetched->hits[0].source.has_value());
  EXPECT_TRUE(fetched->hits[0].highlight.is_null());
  EXPECT_TRUE(fetched->hits[0].fields.is_null());
}

TEST_F(LocalShardServiceTest, ScrollReaderKeepsItsSnapshotAndExpires) {
  QueryPhaseRequest q;
  q.size = 1;
  q.keep_alive = std::chrono::milliseconds(300);
  auto page = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 1u);
  const std::string reader = page->reader_id;

  // A write after the first page is not seen by later pages of the same reader.
  ASSERT_TRUE(service()
                  ->Bulk(ShardKey{"books", 0}, {IndexItem("99", {{"title", "new"}})},
                         RefreshPolicy::kRefresh)
                  .ok());
  q.reader_id = reader;
  q.skip = 1;
  auto second = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->reader_id, reader);
  EXPECT_EQ(second->total_hits, 3u);
  ASSERT_EQ(second->hits.size(), 1u);
  EXPECT_NE(second->hits[0].doc, page->hits[0].doc);

  // A fetch that keeps the reader; then the reader expires unused.
  FetchPhaseRequest f;
  f.reader_id = reader;
  f.docs = {second->hits[0].doc};
  f.release_reader = false;
  ASSERT_TRUE(service()->ExecuteFetch(ShardKey{"books", 0}, f).ok());
  EXPECT_EQ(service()->open_readers(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto expired = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_FALSE(expired.ok());
  EXPECT_TRUE(expired.status().IsNotFound()) << expired.status();
  EXPECT_EQ(service()->open_readers(), 0u);
  EXPECT_TRUE(service()->ReleaseReader(ShardKey{"books", 0}, reader).IsNotFound());
}

TEST_F(LocalShardServiceTest, RefreshPolicies) {
  ShardKey key{"books", 1};
  auto count = [&] {
    QueryPhaseRequest q;
    q.size = 0;
    auto r = service()->ExecuteQuery(key, q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->total_hits : 0;
  };
  ASSERT_EQ(count(), 3u);
  ASSERT_TRUE(service()->Bulk(key, {IndexItem("a", {{"x", 1}})}, RefreshPolicy::kNone).ok());
  EXPECT_EQ(count(), 3u);  // refresh_interval -1: not visible yet
  EXPECT_TRUE(service()->Get(key, "a", true)->found);
  EXPECT_FALSE(service()->Get(key, "a", false)->found);
  ASSERT_TRUE(service()->Bulk(key, {IndexItem("b", {{"x", 2}})}, RefreshPolicy::kWaitFor).ok());
  EXPECT_EQ(count(), 5u);
  ASSERT_TRUE(service()->Bulk(key, {IndexItem("c", {{"x", 3}})}, RefreshPolicy::kRefresh).ok());
  EXPECT_EQ(count(), 6u);
  ASSERT_TRUE(service()->Flush(key).ok());
  EXPECT_GE(service()->Stats(key)->flush_total, 1);
}

TEST_F(LocalShardServiceTest, UnknownShardIsUnavailable) {
  QueryPhaseRequest q;
  auto r = service()->ExecuteQuery(ShardKey{"nope", 0}, q);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().message(), "no such shard [nope][0]");
  EXPECT_TRUE(service()->Get(ShardKey{"books", 7}, "1", true).status().IsUnavailable());
}

TEST_F(LocalShardServiceTest, BadQueryKeepsTheEngineErrorType) {
  QueryPhaseRequest q;
  q.body = {{"query", {{"no_such_query", json::object()}}}};
  auto r = service()->ExecuteQuery(ShardKey{"books", 0}, q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("parsing_exception", 0), 0u) << r.status();
}

TEST_F(LocalShardServiceTest, Analyze) {
  ShardKey key{"books", 0};
  auto r = service()->Analyze(key, {{"text", "Héllo World 42"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (json{{"tokens",
                       {{{"token", "héllo"},
                         {"start_offset", 0},
                         {"end_offset", 5},
                         {"type", "<ALPHANUM>"},
                         {"position", 0}},
                        {{"token", "world"},
                         {"start_offset", 6},
                         {"end_offset", 11},
                         {"type", "<ALPHANUM>"},
                         {"position", 1}},
                        {{"token", "42"},
                         {"start_offset", 12},
                         {"end_offset", 14},
                         {"type", "<NUM>"},
                         {"position", 2}}}}}));

  r = service()->Analyze(
      key, {{"tokenizer", "whitespace"}, {"filter", {"lowercase"}}, {"text", {"A B", "C"}}});
  ASSERT_TRUE(r.ok()) << r.status();
  const json& tokens = (*r)["tokens"];
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0]["token"], "a");
  EXPECT_EQ(tokens[0]["type"], "word");
  EXPECT_EQ(tokens[2]["token"], "c");
  EXPECT_EQ(tokens[2]["start_offset"], 4);  // "A B" + the offset gap of 1
  EXPECT_EQ(tokens[2]["position"], 2);

  r = service()->Analyze(key, {{"field", "genre"}, {"text", "Mixed Case"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)["tokens"].size(), 1u);
  EXPECT_EQ((*r)["tokens"][0]["token"], "Mixed Case");

  r = service()->Analyze(key, {{"analyzer", "nope"}, {"text", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "illegal_argument_exception: failed to find analyzer [nope]");
  r = service()->Analyze(key, {{"analyzer", "standard"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("action_request_validation_exception", 0), 0u);
}

}  // namespace
}  // namespace quidditch::data
