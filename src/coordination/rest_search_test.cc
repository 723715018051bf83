// Tests of the search endpoints through a Router on a whole one-node cluster in process
// (data::testing::SingleNode): documents are written through the shard service, searched
// over REST.
#include "coordination/rest_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using fixtures::TestRequest;
using nlohmann::json;

class RestSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.status().ok()) << node_.status();
    ASSERT_TRUE(RegisterSearchHandlers(node_.context(), &router_).ok());
  }

  void CreateIndex(const std::string& name, int shards, json other = json::object(),
                   json mappings = json::parse(R"({"properties": {"title": {"type": "text"},
                       "tag": {"type": "keyword"}, "n": {"type": "long"}}})")) {
    controlplane::CreateIndexRequest request;
    request.name = name;
    request.settings.shards = shards;
    request.settings.replicas = 0;
    request.settings.other = std::move(other);
    request.mappings = std::move(mappings);
    Status s =
        node_.control_plane()
            ->CreateIndex(controlplane::CallContext::WithTimeout(std::chrono::seconds(5)), request)
            .status();
    ASSERT_TRUE(s.ok()) << s;
    s = node_.WaitForIndexStarted(name);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(node_.WaitForApplied());
  }

  // Indexes {id: source} with OpenSearch's routing (by _id) and refreshes.
  void Index(const std::string& index, int shards,
             const std::vector<std::pair<std::string, json>>& docs) {
    std::map<int32_t, std::vector<engine::BulkItem>> per_shard;
    for (const auto& [id, source] : docs) {
      engine::BulkItem item;
      item.kind = engine::BulkItem::Kind::kIndex;
      item.id = id;
      item.source = source.dump();
      per_shard[ShardForRouting(id, shards)].push_back(std::move(item));
    }
    for (int32_t s = 0; s < shards; ++s) {
      auto result = node_.shard_service()->Bulk(data::ShardKey{index, s}, per_shard[s],
                                                data::RefreshPolicy::kRefresh);
      ASSERT_TRUE(result.ok()) << result.status();
      for (const auto& item : *result) ASSERT_TRUE(item.status.ok()) << item.status;
    }
  }

  // `count` documents: title words by id, tag "a", "b", "c" in turn, n = id except for ids
  // ending in 3 (no two of which share a tag below 30, so every sort below is free of ties).
  std::vector<std::pair<std::string, json>> Corpus(int count = 30) {
    static const char* kWords[] = {"quick", "brown", "fox", "lazy", "dog", "jumps"};
    std::vector<std::pair<std::string, json>> docs;
    for (int i = 0; i < count; ++i) {
      json source = {{"title", std::string(kWords[i % 6]) + " " + kWords[(i * 5 + 1) % 6]},
                     {"tag", std::string(1, static_cast<char>('a' + i % 3))}};
      if (i % 10 != 3) source["n"] = i;
      docs.emplace_back("d" + std::to_string(i), source);
    }
    return docs;
  }

  HttpResponse Send(HttpMethod method, std::string_view target, std::string body = "") {
    return router_.Dispatch(TestRequest(method, target, std::move(body)));
  }
  json Call(HttpMethod method, std::string_view target, std::string body = "",
            int expected_status = 200) {
    HttpResponse response = Send(method, target, std::move(body));
    EXPECT_EQ(response.status, expected_status) << target << ": " << response.body;
    return json::parse(response.body);
  }
  json Search(std::string_view target, const json& body, int expected_status = 200) {
    return Call(HttpMethod::kPost, target, body.dump(), expected_status);
  }

  static std::vector<std::string> Ids(const json& response) {
    std::vector<std::string> ids;
    for (const json& hit : response["hits"]["hits"]) ids.push_back(hit["_id"]);
    return ids;
  }

  data::testing::SingleNode node_;
  Router router_;
};

TEST_F(RestSearchTest, ResponseShape) {
  CreateIndex("logs", 1);
  Index("logs", 1, {{"1", {{"title", "quick fox"}}}, {"2", {{"title", "lazy dog"}}}});
  HttpResponse response = Send(HttpMethod::kGet, "/logs/_search");
  ASSERT_EQ(response.status, 200) << response.body;
  // Key order as OpenSearch writes it.
  EXPECT_TRUE(response.body.starts_with(R"({"took":)")) << response.body;
  EXPECT_NE(response.body.find(
                R"("timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},)"
                R"("hits":{"total":{"value":2,"relation":"eq"},"max_score":1.0,"hits":[)"
                R"({"_index":"logs","_id":"1","_score":1.0,"_source":{"title":"quick fox"}},)"),
            std::string::npos)
      << response.body;
}

// A hit's _source is the document as it was indexed, spacing, key order and number spelling
// included, as OpenSearch returns it; with ?pretty and filter_path it is still JSON.
TEST_F(RestSearchTest, SourceGoesOutAsIndexed) {
  CreateIndex("logs", 1);
  const std::string source = R"({ "title" : "quick\tfox",  "n": 1.50, "a": [ 1,2 ] })";
  engine::BulkItem item;
  item.kind = engine::BulkItem::Kind::kIndex;
  item.id = "1";
  item.source = source;
  auto result =
      node_.shard_service()->Bulk(data::ShardKey{"logs", 0}, {item}, data::RefreshPolicy::kRefresh);
  ASSERT_TRUE(result.ok()) << result.status();
  HttpResponse response = Send(HttpMethod::kGet, "/logs/_search");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_NE(response.body.find(R"("_score":1.0,"_source":)" + source + "}]}}"), std::string::npos)
      << response.body;
  json pretty = Call(HttpMethod::kGet, "/logs/_search?pretty");
  EXPECT_EQ(pretty["hits"]["hits"][0]["_source"], json::parse(source));
  json filtered = Call(HttpMethod::kGet, "/logs/_search?filter_path=hits.hits._source.a");
  EXPECT_EQ(filtered, json::parse(R"({"hits":{"hits":[{"_source":{"a":[1,2]}}]}})"));
  json msearch = Call(HttpMethod::kPost, "/_msearch", "{\"index\":\"logs\"}\n{}\n");
  EXPECT_EQ(msearch["responses"][0]["hits"]["hits"][0]["_source"], json::parse(source));
}

// `timeout`: a shard past it stops collecting and answers what it has, and the response says
// timed_out. A shard checks the clock every engine::kDeadlineCheckInterval docs, so with 0ms it
// stops at its first check.
TEST_F(RestSearchTest, TimeoutAnswersPartialResults) {
  CreateIndex("logs", 1);
  std::vector<engine::BulkItem> items(3 * engine::kDeadlineCheckInterval);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].kind = engine::BulkItem::Kind::kIndex;
    items[i].id = std::to_string(i);
    items[i].source = R"({"n": 1})";
  }
  auto result =
      node_.shard_service()->Bulk(data::ShardKey{"logs", 0}, items, data::RefreshPolicy::kRefresh);
  ASSERT_TRUE(result.ok()) << result.status();
  json whole = Search("/logs/_search", {{"track_total_hits", true}, {"timeout", "1m"}});
  EXPECT_EQ(whole["timed_out"], false);
  EXPECT_EQ(whole["hits"]["total"]["value"], items.size());
  json partial = Search("/logs/_search", {{"track_total_hits", true}, {"timeout", "0ms"}});
  EXPECT_EQ(partial["timed_out"], true);
  EXPECT_LT(partial["hits"]["total"]["value"].get<uint64_t>(), items.size());
  EXPECT_EQ(partial["hits"]["hits"].size(), 10u);
  json by_param = Call(HttpMethod::kGet, "/logs/_search?timeout=0ms&track_total_hits=true");
  EXPECT_EQ(by_param["timed_out"], true);
  EXPECT_EQ(Search("/logs/_search", {{"timeout", "soon"}}, 400)["error"]["type"],
            "illegal_argument_exception");
}

TEST_F(RestSearchTest, MultiShardIndexAnswersAsOneShard) {
  CreateIndex("one", 1);
  CreateIndex("many", 3);
  Index("one", 1, Corpus());
  Index("many", 3, Corpus());
  const std::vector<json> bodies = {
      json::parse(R"({"sort": [{"n": "desc"}, {"tag": "asc"}], "size": 50})"),
      json::parse(R"({"sort": ["tag", {"n": {"order": "asc", "missing": "_first"}}], "from": 3,
                      "size": 7})"),
      json::parse(R"({"query": {"term": {"tag": "b"}}, "sort": "n", "size": 4})"),
      json::parse(R"({"query": {"range": {"n": {"gte": 10}}}, "sort": [{"n": "asc"}],
                      "search_after": [14], "size": 5})"),
  };
  for (const json& body : bodies) {
    json one = Search("/one/_search", body);
    json many = Search("/many/_search", body);
    EXPECT_EQ(Ids(one), Ids(many)) << body.dump();
    EXPECT_EQ(one["hits"]["total"], many["hits"]["total"]) << body.dump();
    for (size_t i = 0; i < one["hits"]["hits"].size(); ++i) {
      EXPECT_EQ(one["hits"]["hits"][i]["sort"], many["hits"]["hits"][i]["sort"]);
    }
    EXPECT_EQ(many["_shards"]["total"], 3);
    // Sorted by a field without track_scores: no scores.
    EXPECT_TRUE(many["hits"]["max_score"].is_null()) << many.dump();
  }
  // Aggregations reduce across shards to the single shard's answer.
  json aggs = json::parse(R"({"size": 0, "aggs": {"tags": {"terms": {"field": "tag"}},
                              "total": {"sum": {"field": "n"}}, "top": {"max": {"field": "n"}}}})");
  json one = Search("/one/_search", aggs);
  json many = Search("/many/_search", aggs);
  EXPECT_EQ(one["aggregations"], many["aggregations"]);
  EXPECT_EQ(many["aggregations"]["tags"]["buckets"][0],
            json::parse(R"({"key":"a","doc_count":10})"));
  EXPECT_TRUE(many["hits"]["hits"].empty());
  // Relevance: same matches (scores are per-shard statistics, as in OpenSearch).
  json match = json::parse(R"({"query": {"match": {"title": "fox"}}, "size": 100})");
  std::vector<std::string> a = Ids(Search("/one/_search", match));
  std::vector<std::string> b = Ids(Search("/many/_search", match));
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
}

TEST_F(RestSearchTest, SeveralIndicesAndWildcards) {
  CreateIndex("logs-1", 1);
  CreateIndex("logs-2", 2);
  Index("logs-1", 1, {{"a", {{"n", 1}}}});
  Index("logs-2", 2, {{"b", {{"n", 2}}}, {"c", {{"n", 3}}}});
  json all = Search("/_search", json::parse(R"({"sort": "n"})"));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(all["_shards"]["total"], 3);
  EXPECT_EQ(all["hits"]["hits"][0]["_index"], "logs-1");
  EXPECT_EQ(Ids(Search("/logs-*/_search", json::parse(R"({"sort": "n"})"))).size(), 3u);
  EXPECT_EQ(Ids(Search("/logs-2,logs-1/_search", json::parse(R"({"sort": "n"})"))).size(), 3u);
  json missing = Search("/nope/_search", json::object(), 404);
  EXPECT_EQ(missing["error"]["type"], "index_not_found_exception");
  // Score ties across indices: by index order.
  json ties = Search("/_all/_search", json::object());
  EXPECT_EQ(Ids(ties)[0], "a");
}

TEST_F(RestSearchTest, ResultWindow) {
  CreateIndex("logs", 2);
  CreateIndex("small", 1, json{{"max_result_window", 5}});
  json error = Search("/logs/_search", json{{"from", 9995}, {"size", 6}}, 400);
  const std::string reason =
      "Result window is too large, from + size must be less than or equal to: [10000] but was "
      "[10001]. See the scroll api for a more efficient way to request large data sets. This "
      "limit can be set by changing the [index.max_result_window] index level setting.";
  EXPECT_EQ(error["error"]["type"], "search_phase_execution_exception");
  EXPECT_EQ(error["error"]["reason"], "all shards failed");
  EXPECT_EQ(error["error"]["phase"], "query");
  EXPECT_EQ(error["error"]["grouped"], true);
  json cause = {{"type", "illegal_argument_exception"}, {"reason", reason}};
  EXPECT_EQ(error["error"]["root_cause"], json::array({cause}));
  ASSERT_EQ(error["error"]["failed_shards"].size(), 1u);  // grouped: one per cause and index
  EXPECT_EQ(error["error"]["failed_shards"][0]["index"], "logs");
  EXPECT_EQ(error["error"]["caused_by"]["reason"], reason);
  EXPECT_EQ(error["status"], 400);
  json small = Search("/small/_search", json{{"size", 6}}, 400);
  EXPECT_NE(small["error"]["root_cause"][0]["reason"].get<std::string>().find("[5] but was [6]"),
            std::string::npos);
  Search("/small/_search", json{{"size", 5}});

  // from + size must not wrap around past the window (int64 overflow): OpenSearch reads both
  // as ints, so anything above 2^31 - 1 is rejected before the window is computed.
  json huge = Call(HttpMethod::kGet, "/logs/_search?from=9223372036854775800&size=10", "", 400);
  EXPECT_EQ(huge["error"]["type"], "illegal_argument_exception") << huge;
  huge = Search("/logs/_search", json{{"from", 2147483648LL}}, 400);
  EXPECT_EQ(huge["error"]["type"], "illegal_argument_exception") << huge;
  huge = Search("/logs/_search", json{{"size", 1e300}}, 400);
  EXPECT_EQ(huge["error"]["type"], "illegal_argument_exception") << huge;
}

TEST_F(RestSearchTest, MalformedDslIsATopLevelParsingException) {
  CreateIndex("logs", 2);
  json error = Search("/logs/_search", json::parse(R"({"query": {"foo": {}}})"), 400);
  EXPECT_EQ(error["error"]["type"], "parsing_exception");
  EXPECT_EQ(error["error"]["reason"], "unknown query [foo]");
  EXPECT_EQ(error["status"], 400);
  json key = Search("/logs/_search", json::parse(R"({"qurey": {}})"), 400);
  EXPECT_EQ(key["error"]["type"], "parsing_exception");
  EXPECT_EQ(key["error"]["reason"], "Unknown key for a START_OBJECT in [qurey].");
  json agg = Search("/logs/_search", json::parse(R"({"aggs": {"x": {"nope": {}}}})"), 400);
  EXPECT_EQ(agg["error"]["type"], "parsing_exception");
  json bad_json = Call(HttpMethod::kPost, "/logs/_search", "{\"query\":", 400);
  EXPECT_EQ(bad_json["error"]["type"], "x_content_parse_exception");
  json negative = Search("/logs/_search", json{{"size", -1}}, 400);
  EXPECT_EQ(negative["error"]["reason"], "[size] parameter cannot be negative, found [-1]");
}

TEST_F(RestSearchTest, UriParameters) {
  CreateIndex("logs", 2);
  Index("logs", 2, Corpus(12));
  json q = Call(HttpMethod::kGet, "/logs/_search?q=tag:b&sort=n:desc&size=2&_source=n");
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"d10", "d7"}));
  EXPECT_EQ(q["hits"]["total"]["value"], 4);
  EXPECT_EQ(q["hits"]["hits"][0]["_source"], json::parse(R"({"n": 10})"));
  EXPECT_EQ(q["hits"]["hits"][0]["sort"], json::array({10}));
  json df = Call(HttpMethod::kGet, "/logs/_search?q=fox&df=title&size=0");
  EXPECT_GT(df["hits"]["total"]["value"].get<int>(), 0);
  json no_source = Call(HttpMethod::kGet, "/logs/_search?_source=false&size=1");
  EXPECT_FALSE(no_source["hits"]["hits"][0].contains("_source"));
  json excludes = Call(HttpMethod::kGet, "/logs/_search?_source_excludes=title,n&size=1&q=tag:a");
  EXPECT_EQ(excludes["hits"]["hits"][0]["_source"], json::parse(R"({"tag": "a"})"));
}

TEST_F(RestSearchTest, TotalHitsTracking) {
  CreateIndex("logs", 3);
  Index("logs", 3, Corpus(30));
  json capped = Search("/logs/_search", json{{"track_total_hits", 7}, {"size", 1}});
  EXPECT_EQ(capped["hits"]["total"], json::parse(R"({"value": 7, "relation": "gte"})"));
  json off = Search("/logs/_search", json{{"track_total_hits", false}});
  EXPECT_FALSE(off["hits"].contains("total"));
  json as_int = Call(HttpMethod::kGet, "/logs/_search?rest_total_hits_as_int=true");
  EXPECT_EQ(as_int["hits"]["total"], 30);
  json exact = Call(HttpMethod::kGet, "/logs/_search?track_total_hits=true&size=0");
  EXPECT_EQ(exact["hits"]["total"]["value"], 30);
}

TEST_F(RestSearchTest, HitOptions) {
  CreateIndex("logs", 2);
  Index("logs", 2, {{"1", {{"title", "quick fox"}, {"n", 5}}}});
  json hit = Search("/logs/_search", json::parse(R"({"query": {"match": {"title": "fox"}},
      "explain": true, "version": true, "seq_no_primary_term": true,
      "highlight": {"fields": {"title": {}}}, "docvalue_fields": ["n"]})"))["hits"]["hits"][0];
  EXPECT_EQ(hit["_shard"], "[logs][" + std::to_string(ShardForRouting("1", 2)) + "]");
  EXPECT_EQ(hit["_node"], "node-1");
  EXPECT_EQ(hit["_version"], 1);
  EXPECT_EQ(hit["_seq_no"], 0);
  EXPECT_EQ(hit["_primary_term"], 1);
  EXPECT_EQ(hit["highlight"]["title"], json::array({"quick <em>fox</em>"}));
  EXPECT_EQ(hit["fields"]["n"], json::array({5}));
  EXPECT_TRUE(hit["_explanation"].contains("value"));
  // nlohmann::json sorts keys: the order is checked on the raw body.
  HttpResponse raw =
      Send(HttpMethod::kPost, "/logs/_search", R"({"explain": true, "version": true})");
  EXPECT_NE(raw.body.find(R"({"_shard":"[logs][)"), std::string::npos) << raw.body;
  EXPECT_NE(raw.body.find(R"("_index":"logs","_id":"1","_version":1,"_score":1.0,"_source")"),
            std::string::npos)
      << raw.body;
}

TEST_F(RestSearchTest, Count) {
  CreateIndex("logs", 3);
  Index("logs", 3, Corpus(30));
  EXPECT_EQ(Call(HttpMethod::kGet, "/logs/_count"),
            json::parse(R"({"count": 30, "_shards": {"total": 3, "successful": 3, "skipped": 0,
                                                      "failed": 0}})"));
  EXPECT_EQ(Call(HttpMethod::kGet, "/logs/_count?q=tag:a")["count"], 10);
  EXPECT_EQ(Search("/_count", json::parse(R"({"query": {"term": {"tag": "c"}}})"))["count"], 10);
  json bad = Search("/logs/_count", json{{"size", 1}}, 400);
  EXPECT_EQ(bad["error"]["type"], "parsing_exception");
}

TEST_F(RestSearchTest, MultiSearch) {
  CreateIndex("logs", 2);
  Index("logs", 2, Corpus(6));
  std::string body =
      "{\"index\": \"logs\"}\n{\"query\": {\"term\": {\"tag\": \"a\"}}}\n"
      "{\"index\": \"nope\"}\n{}\n"
      "{}\n{\"size\": 0}\n";
  json out = Call(HttpMethod::kPost, "/_msearch", body);
  ASSERT_EQ(out["responses"].size(), 3u);
  EXPECT_EQ(out["responses"][0]["status"], 200);
  EXPECT_EQ(out["responses"][0]["hits"]["total"]["value"], 2);
  EXPECT_EQ(out["responses"][1]["status"], 404);
  EXPECT_EQ(out["responses"][1]["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(out["responses"][2]["hits"]["total"]["value"], 6);
  json with_index = Call(HttpMethod::kPost, "/logs/_msearch", "{}\n{\"size\": 1}\n");
  EXPECT_EQ(with_index["responses"][0]["hits"]["hits"].size(), 1u);
  json unterminated = Call(HttpMethod::kPost, "/_msearch", "{}\n{}", 400);
  EXPECT_EQ(unterminated["error"]["type"], "illegal_argument_exception");
}

TEST_F(RestSearchTest, ScrollPagesThroughEveryDocumentOnce) {
  CreateIndex("logs", 3);
  Index("logs", 3, Corpus(25));
  json page = Search("/logs/_search?scroll=1m", json::parse(R"({"size": 10, "sort": ["n"]})"));
  ASSERT_TRUE(page.contains("_scroll_id")) << page.dump();
  std::vector<std::string> seen = Ids(page);
  EXPECT_EQ(page["hits"]["total"]["value"], 25);
  std::string id = page["_scroll_id"];
  for (int i = 0; i < 5; ++i) {
    page = Call(HttpMethod::kPost, "/_search/scroll",
                json{{"scroll", "1m"}, {"scroll_id", id}}.dump());
    id = page["_scroll_id"];
    for (const std::string& hit : Ids(page)) seen.push_back(hit);
    if (Ids(page).empty()) break;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u);
  // Sorted by n across pages (missing values last).
  json by_n = Search("/logs/_search", json::parse(R"({"size": 25, "sort": ["n"]})"));
  EXPECT_EQ(seen, Ids(by_n));
  // Documents indexed after the scroll started are not seen by it.
  json cleared = Call(HttpMethod::kDelete, "/_search/scroll", json{{"scroll_id", {id}}}.dump());
  EXPECT_EQ(cleared, json::parse(R"({"succeeded": true, "num_freed": 3})"));
  json gone = Call(HttpMethod::kPost, "/_search/scroll", json{{"scroll_id", id}}.dump(), 404);
  EXPECT_EQ(gone["error"]["type"], "search_phase_execution_exception");
  EXPECT_EQ(gone["error"]["root_cause"][0]["type"], "search_context_missing_exception");
  json again = Call(HttpMethod::kDelete, "/_search/scroll", json{{"scroll_id", id}}.dump(), 404);
  EXPECT_EQ(again["num_freed"], 0);
  json bad = Call(HttpMethod::kPost, "/_search/scroll", R"({"scroll_id": "garbage!"})", 400);
  EXPECT_EQ(bad["error"]["reason"], "Cannot parse scroll id");
}

TEST_F(RestSearchTest, ScrollSnapshotAndClearAll) {
  CreateIndex("logs", 2);
  Index("logs", 2, Corpus(4));
  json page = Search("/logs/_search?scroll=1m", json{{"size", 2}});
  Index("logs", 2, {{"late", {{"n", 100}}}});
  std::string id = page["_scroll_id"];
  size_t total = Ids(page).size();
  while (true) {
    page = Call(HttpMethod::kGet, "/_search/scroll?scroll=1m&scroll_id=" + id);
    if (Ids(page).empty()) break;
    total += Ids(page).size();
    id = page["_scroll_id"];
  }
  EXPECT_EQ(total, 4u);
  Search("/logs/_search?scroll=1m", json{{"size", 1}});
  json cleared = Call(HttpMethod::kDelete, "/_search/scroll/_all");
  EXPECT_EQ(cleared["num_freed"], 4);  // two scrolls of two shards
  json from = Search("/logs/_search?scroll=1m", json{{"from", 1}}, 400);
  EXPECT_EQ(from["error"]["type"], "action_request_validation_exception");
}

TEST_F(RestSearchTest, PointInTime) {
  CreateIndex("logs", 2);
  Index("logs", 2, Corpus(5));
  json pit = Call(HttpMethod::kPost, "/logs/_search/point_in_time?keep_alive=1m");
  ASSERT_TRUE(pit.contains("pit_id")) << pit.dump();
  EXPECT_EQ(pit["_shards"]["total"], 2);
  EXPECT_TRUE(pit["creation_time"].is_number_integer());
  std::string id = pit["pit_id"];
  Index("logs", 2, {{"late", {{"n", 100}}}});
  json search = Search("/_search", json{{"pit", {{"id", id}, {"keep_alive", "1m"}}}});
  EXPECT_EQ(search["pit_id"], id);
  EXPECT_EQ(search["hits"]["total"]["value"], 5);
  EXPECT_EQ(Search("/logs/_search", json::object())["hits"]["total"]["value"], 6);
  json with_index = Search("/logs/_search", json{{"pit", {{"id", id}}}}, 400);
  EXPECT_EQ(with_index["error"]["type"], "action_request_validation_exception");
  json list = Call(HttpMethod::kGet, "/_search/point_in_time/_all");
  ASSERT_EQ(list["pits"].size(), 1u);
  EXPECT_EQ(list["pits"][0]["pit_id"], id);
  EXPECT_EQ(list["pits"][0]["keep_alive"], 60000);
  json deleted = Call(HttpMethod::kDelete, "/_search/point_in_time", json{{"pit_id", {id}}}.dump());
  EXPECT_EQ(deleted["pits"][0], json::parse(json{{"successful", true}, {"pit_id", id}}.dump()));
  json gone = Search("/_search", json{{"pit", {{"id", id}}}}, 404);
  EXPECT_EQ(gone["error"]["root_cause"][0]["type"], "search_context_missing_exception");
  EXPECT_TRUE(Call(HttpMethod::kGet, "/_search/point_in_time/_all")["pits"].empty());
  Call(HttpMethod::kPost, "/logs/_search/point_in_time", "", 400);  // keep_alive missing
}

TEST_F(RestSearchTest, PointInTimeDeleteAll) {
  CreateIndex("logs", 1);
  Call(HttpMethod::kPost, "/logs/_search/point_in_time?keep_alive=1m");
  Call(HttpMethod::kPost, "/logs/_search/point_in_time?keep_alive=1m");
  json deleted = Call(HttpMethod::kDelete, "/_search/point_in_time/_all");
  ASSERT_EQ(deleted["pits"].size(), 2u);
  EXPECT_EQ(deleted["pits"][0]["successful"], true);
  EXPECT_EQ(node_.shard_service()->open_readers(), 0u);
}

TEST_F(RestSearchTest, PlainSearchesReleaseTheirReaders) {
  CreateIndex("logs", 3);
  Index("logs", 3, Corpus(10));
  Search("/logs/_search", json{{"size", 2}});
  Search("/logs/_search", json{{"size", 0}, {"aggs", {{"t", {{"terms", {{"field", "tag"}}}}}}}});
  Call(HttpMethod::kGet, "/logs/_count");
  EXPECT_EQ(node_.shard_service()->open_readers(), 0u);
}

TEST_F(RestSearchTest, ShardFailuresArePartialResults) {
  // "n" is a long in one index and a keyword in the other: a term query for "abc" cannot run
  // on the long field's shard, and matches in the other.
  CreateIndex("numbers", 1);
  CreateIndex("words", 1, json::object(),
              json::parse(R"({"properties": {"n": {"type": "keyword"}}})"));
  Index("numbers", 1, {{"1", {{"n", 1}}}});
  Index("words", 1, {{"2", {{"n", "abc"}}}});
  json partial =
      Search("/numbers,words/_search", json::parse(R"({"query": {"term": {"n": "abc"}}})"));
  EXPECT_EQ(Ids(partial), (std::vector<std::string>{"2"}));
  EXPECT_EQ(partial["_shards"]["total"], 2);
  EXPECT_EQ(partial["_shards"]["successful"], 1);
  EXPECT_EQ(partial["_shards"]["failed"], 1);
  ASSERT_EQ(partial["_shards"]["failures"].size(), 1u) << partial.dump();
  const json& failure = partial["_shards"]["failures"][0];
  EXPECT_EQ(failure["shard"], 0);
  EXPECT_EQ(failure["index"], "numbers");
  EXPECT_EQ(failure["node"], "node-1");
  EXPECT_FALSE(failure["reason"]["type"].get<std::string>().empty());

  json strict = Call(HttpMethod::kPost, "/numbers,words/_search?allow_partial_search_results=false",
                     R"({"query": {"term": {"n": "abc"}}})", 400);
  EXPECT_EQ(strict["error"]["type"], "search_phase_execution_exception");
  EXPECT_EQ(strict["error"]["reason"], "Partial shards failure");

  json all_failed =
      Search("/numbers/_search", json::parse(R"({"query": {"term": {"n": "abc"}}})"), 400);
  EXPECT_EQ(all_failed["error"]["type"], "search_phase_execution_exception");
  EXPECT_EQ(all_failed["error"]["reason"], "all shards failed");
  EXPECT_EQ(all_failed["error"]["failed_shards"][0]["index"], "numbers");
  EXPECT_EQ(all_failed["error"]["root_cause"][0]["type"], failure["reason"]["type"]);
}

TEST_F(RestSearchTest, NoIndicesIsAnEmptyAnswer) {
  json out = Call(HttpMethod::kGet, "/_search");
  EXPECT_EQ(out["_shards"]["total"], 0);
  EXPECT_EQ(out["hits"]["total"]["value"], 0);
  EXPECT_TRUE(out["hits"]["max_score"].is_null());
}

}  // namespace
}  // namespace quidditch::rest
