// Tests of aliases and _close/_open through the whole REST API (RegisterRestApi) on a real
// one-node cluster: alias writes and reads, searches, counts, by-query and document APIs
// through (filtered) aliases, and what a closed index answers.
#include "coordination/rest_alias.h"

#include <gtest/gtest.h>

#include <string>

#include "coordination/rest_api.h"
#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using json = nlohmann::json;

class RestAliasTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterRestApi(context_, &router_).ok());
  }

  // Two indices of docs {"n": 0..4} with a keyword "color": even docs red, odd blue.
  void TwoIndices() {
    for (const std::string name : {"a", "b"}) {
      CallJson(HttpMethod::kPut, "/" + name,
               R"({"settings":{"number_of_shards":2,"number_of_replicas":0},
                   "mappings":{"properties":{"color":{"type":"keyword"},"n":{"type":"long"}}}})",
               200);
      std::string bulk;
      for (int i = 0; i < 5; ++i) {
        bulk += R"({"index":{"_id":")" + std::to_string(i) + "\"}}\n";
        bulk +=
            R"({"n":)" + std::to_string(i) + R"(,"color":")" + (i % 2 ? "blue" : "red") + "\"}\n";
      }
      HttpResponse r =
          Call(HttpMethod::kPost, "/" + name + "/_bulk?refresh=true", bulk, "application/x-ndjson");
      ASSERT_EQ(r.status, 200) << r.body;
      ASSERT_EQ(json::parse(r.body)["errors"], false) << r.body;
    }
  }

  int64_t Count(std::string_view target) {
    return CallJson(HttpMethod::kGet, target, "", 200)["count"].get<int64_t>();
  }
};

TEST_F(RestAliasTest, AddGetRemove) {
  TwoIndices();
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[
      {"add":{"index":"a","alias":"both"}},
      {"add":{"indices":["b"],"aliases":["both","reds"],"filter":{"term":{"color":"red"}},
              "routing":"1","is_write_index":true}}]})",
                     200),
            json::parse(R"({"acknowledged":true})"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_alias", "", 200), json::parse(R"({
      "a":{"aliases":{"both":{}}},
      "b":{"aliases":{"both":{"filter":{"term":{"color":"red"}},"index_routing":"1",
                              "search_routing":"1","is_write_index":true},
                      "reds":{"filter":{"term":{"color":"red"}},"index_routing":"1",
                              "search_routing":"1","is_write_index":true}}}})"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_alias/reds", "", 200)["b"]["aliases"].size(), 1u);
  EXPECT_FALSE(CallJson(HttpMethod::kGet, "/_alias/reds", "", 200).contains("a"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/a/_alias/b*", "", 200),
            json::parse(R"({"a":{"aliases":{"both":{}}}})"));
  // A named alias that is missing: 404 with what was found.
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_alias/reds,nope", "", 404), json::parse(R"({
      "error":"alias [nope] missing","status":404,
      "b":{"aliases":{"reds":{"filter":{"term":{"color":"red"}},"index_routing":"1",
                              "search_routing":"1","is_write_index":true}}}})"));
  EXPECT_EQ(Call(HttpMethod::kHead, "/_alias/both").status, 200);
  EXPECT_EQ(Call(HttpMethod::kHead, "/a/_alias/reds").status, 404);
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/a", "", 200)["a"]["aliases"],
            json::parse(R"({"both":{}})"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_cluster/state/metadata", "",
                     200)["metadata"]["indices"]["b"]["aliases"],
            json::parse(R"(["both","reds"])"));
  EXPECT_EQ(Text("/_cat/aliases?h=alias,index,filter,routing.index,is_write_index&s=alias,index"),
            "both a - - -\nboth b * 1 true\nreds b * 1 true\n");

  // PUT and DELETE /{index}/_alias/{name}, wildcards on delete.
  CallJson(HttpMethod::kPut, "/a/_alias/solo", R"({"filter":{"range":{"n":{"gte":3}}}})", 200);
  EXPECT_EQ(Count("/solo/_count"), 2);
  CallJson(HttpMethod::kDelete, "/*/_alias/re*", "", 200);
  EXPECT_EQ(Call(HttpMethod::kHead, "/_alias/reds").status, 404);
  // DELETE /{index} does not delete through an alias.
  EXPECT_EQ(CallJson(HttpMethod::kDelete, "/both", "", 400)["error"]["reason"],
            "The provided expression [both] matches an alias, specify the corresponding concrete "
            "indices instead.");
  CallJson(HttpMethod::kDelete, "/bo*", "", 200);  // wildcards match index names only
  EXPECT_EQ(Call(HttpMethod::kHead, "/a").status, 200);
  json missing = CallJson(HttpMethod::kDelete, "/a/_alias/nope", "", 404);
  EXPECT_EQ(missing["error"]["type"], "aliases_not_found_exception");
  EXPECT_EQ(missing["error"]["reason"], "aliases [nope] missing");
}

TEST_F(RestAliasTest, ErrorsWriteNothing) {
  TwoIndices();
  json error = CallJson(HttpMethod::kPost, "/_aliases",
                        R"({"actions":[{"add":{"index":"a","alias":"x"}},
                                       {"add":{"index":"nope","alias":"y"}}]})",
                        404)["error"];
  EXPECT_EQ(error["type"], "index_not_found_exception");
  EXPECT_EQ(error["index"], "nope");
  EXPECT_EQ(Call(HttpMethod::kHead, "/_alias/x").status, 404);  // all or nothing
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases",
                     R"({"actions":[{"add":{"index":"a","alias":"b"}}]})", 400)["error"]["type"],
            "invalid_alias_name_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases",
                     R"({"actions":[{"add":{"index":"a","alias":"w","is_write_index":true}},
                                    {"add":{"index":"b","alias":"w","is_write_index":true}}]})",
                     400)["error"]["type"],
            "illegal_argument_exception");
  // A filter the query parser refuses is refused before anything is written.
  json bad = CallJson(HttpMethod::kPost, "/_aliases",
                      R"({"actions":[{"add":{"index":"a","alias":"f",
                                             "filter":{"no_such_query":{}}}}]})",
                      400)["error"];
  EXPECT_EQ(bad["type"], "illegal_argument_exception");
  EXPECT_EQ(bad["reason"], "failed to parse filter for alias [f]");
  EXPECT_TRUE(bad.contains("caused_by")) << bad;
  EXPECT_EQ(Call(HttpMethod::kHead, "/_alias/f").status, 404);
  // remove_index with an alias, or on the index an add of the same request targets.
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases",
                     R"({"actions":[{"remove_index":{"index":"a","aliases":["x"]}}]})",
                     400)["error"]["reason"],
            "[aliases] is unsupported for [REMOVE_INDEX]");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases",
                     R"({"actions":[{"remove_index":{"index":"a","filter":{}}}]})",
                     400)["error"]["reason"],
            "[aliases] unknown field [filter]");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases",
                     R"({"actions":[{"add":{"index":"a","alias":"x"}},
                                    {"remove_index":{"index":"a"}}]})",
                     404)["error"]["type"],
            "index_not_found_exception");
  EXPECT_EQ(Call(HttpMethod::kHead, "/a").status, 200);
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[{"add":{"alias":"x"}}]})",
                     400)["error"]["type"],
            "action_request_validation_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[]})", 400)["error"]["reason"],
            "Validation Failed: 1: Must specify at least one alias action;");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/both", R"({"aliases":{"a":{}}})", 400)["error"]["type"],
            "invalid_alias_name_exception");
}

TEST_F(RestAliasTest, SearchesThroughFilteredAliases) {
  TwoIndices();
  CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[
      {"add":{"index":"a","alias":"reds","filter":{"term":{"color":"red"}}}},
      {"add":{"index":"a","alias":"big","filter":{"range":{"n":{"gte":4}}}}},
      {"add":{"index":"b","alias":"reds","filter":{"term":{"color":"red"}}}},
      {"add":{"index":"b","alias":"all_b"}}]})",
           200);
  EXPECT_EQ(Count("/reds/_count"), 6);  // 0, 2, 4 of each
  EXPECT_EQ(Count("/a/_count"), 5);
  // The index named directly as well: no filter for it.
  EXPECT_EQ(Count("/reds,a/_count"), 5 + 3);
  // Two filtered aliases of one index: either filter matches (0, 2, 4 and 4).
  EXPECT_EQ(Count("/reds,big/_count"), 3 + 3);
  // An unfiltered alias of b: b unfiltered.
  EXPECT_EQ(Count("/reds,all_b/_count"), 3 + 5);
  // Wildcards match alias names too.
  EXPECT_EQ(Count("/re*/_count"), 6);
  json hits = CallJson(HttpMethod::kPost, "/reds/_search",
                       R"({"query":{"range":{"n":{"gte":2}}},"size":10})", 200);
  EXPECT_EQ(hits["hits"]["total"]["value"], 4);  // 2 and 4 of each
  for (const json& hit : hits["hits"]["hits"]) {
    EXPECT_EQ(hit["_source"]["color"], "red") << hit;
    EXPECT_TRUE(hit["_index"] == "a" || hit["_index"] == "b") << hit;
  }
  // Later scroll pages and PIT searches keep the filter.
  json page = CallJson(HttpMethod::kPost, "/reds/_search?scroll=1m",
                       R"({"size":2,"sort":[{"n":"asc"}]})", 200);
  int64_t seen = static_cast<int64_t>(page["hits"]["hits"].size());
  while (!page["hits"]["hits"].empty()) {
    for (const json& hit : page["hits"]["hits"]) EXPECT_EQ(hit["_source"]["color"], "red") << hit;
    page = CallJson(HttpMethod::kPost, "/_search/scroll",
                    json{{"scroll", "1m"}, {"scroll_id", page["_scroll_id"]}}.dump(), 200);
    seen += static_cast<int64_t>(page["hits"]["hits"].size());
  }
  EXPECT_EQ(seen, 6);
  json pit = CallJson(HttpMethod::kPost, "/reds/_search/point_in_time?keep_alive=1m", "", 200);
  json in_pit = CallJson(HttpMethod::kPost, "/_search",
                         json{{"pit", {{"id", pit["pit_id"]}}}, {"size", 0}}.dump(), 200);
  EXPECT_EQ(in_pit["hits"]["total"]["value"], 6);
  // _delete_by_query through the alias deletes only what the filter matches.
  json deleted = CallJson(HttpMethod::kPost, "/big/_delete_by_query?refresh=true",
                          R"({"query":{"match_all":{}}})", 200);
  EXPECT_EQ(deleted["deleted"], 1);
  EXPECT_EQ(Count("/a/_count"), 4);
}

TEST_F(RestAliasTest, DocumentsThroughAliases) {
  TwoIndices();
  CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[
      {"add":{"index":"a","alias":"one"}},
      {"add":{"index":"a","alias":"two"}},
      {"add":{"index":"b","alias":"two","is_write_index":true}},
      {"add":{"index":"a","alias":"none"}},
      {"add":{"index":"b","alias":"none"}}]})",
           200);
  json put = CallJson(HttpMethod::kPut, "/one/_doc/x?refresh=true", R"({"n":9})", 201);
  EXPECT_EQ(put["_index"], "a");
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/one/_doc/x", "", 200)["_index"], "a");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/two/_doc/y", R"({"n":9})", 201)["_index"], "b");
  json no_write = CallJson(HttpMethod::kPut, "/none/_doc/z", R"({"n":9})", 400)["error"];
  EXPECT_EQ(no_write["type"], "illegal_argument_exception");
  EXPECT_EQ(no_write["reason"],
            "no write index is defined for alias [none]. The write index may be explicitly "
            "disabled using is_write_index=false or the alias points to multiple indices without "
            "one being designated as a write index");
  json several = CallJson(HttpMethod::kGet, "/two/_doc/y", "", 400)["error"];
  EXPECT_EQ(several["reason"],
            "alias [two] has more than one index associated with it [a, b], can't execute a "
            "single index op");
  // _bulk into an alias, and require_alias.
  HttpResponse bulk = Call(HttpMethod::kPost, "/_bulk?require_alias=true",
                           "{\"index\":{\"_index\":\"two\",\"_id\":\"q\"}}\n{\"n\":1}\n"
                           "{\"index\":{\"_index\":\"a\",\"_id\":\"r\"}}\n{\"n\":1}\n",
                           "application/x-ndjson");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  json items = json::parse(bulk.body)["items"];
  EXPECT_EQ(items[0]["index"]["_index"], "b");
  EXPECT_EQ(items[0]["index"]["status"], 201);
  EXPECT_EQ(items[1]["index"]["status"], 404);
  EXPECT_EQ(items[1]["index"]["error"]["type"], "index_not_found_exception");
}

TEST_F(RestAliasTest, AliasRouting) {
  TwoIndices();
  CallJson(HttpMethod::kPost, "/_aliases", R"({"actions":[
      {"add":{"index":"a","alias":"r1","routing":"1"}},
      {"add":{"index":"a","alias":"s1","search_routing":"1"}}]})",
           200);
  // Writes and gets through the alias use its index_routing.
  CallJson(HttpMethod::kPut, "/r1/_doc/x?refresh=true", R"({"n":7})", 201);
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/a/_doc/x?routing=1", "", 200)["found"], true);
  json got = CallJson(HttpMethod::kGet, "/r1/_doc/x", "", 200);
  EXPECT_EQ(got["_routing"], "1");
  EXPECT_EQ(
      CallJson(HttpMethod::kPut, "/r1/_doc/y?routing=2", R"({"n":7})", 400)["error"]["reason"],
      "Alias [r1] has index routing associated with it [1], and was provided with routing "
      "value [2], rejecting operation");
  // Searches through the alias go to the shard of its search_routing only; a request routing
  // must agree with it.
  EXPECT_EQ(Count("/s1/_count"), Count("/a/_count?routing=1"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/s1/_count", "", 200)["_shards"]["total"], 1);
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/s1/_count?routing=zzz", "", 200)["_shards"]["total"], 0);
  // Named directly too: every shard.
  EXPECT_EQ(Count("/s1,a/_count"), 6);
}

// Hidden indices (index.hidden) and hidden aliases (is_hidden) are left out of wildcards and
// _all unless expand_wildcards includes hidden, except a '.' pattern for '.' names; named
// directly, they answer as any other.
TEST_F(RestAliasTest, HiddenIndicesAndAliases) {
  TwoIndices();
  for (const std::string name : {"c", ".secret"}) {
    CallJson(HttpMethod::kPut, "/" + name, R"({"settings":{"index.hidden":true}})", 200);
    CallJson(HttpMethod::kPut, "/" + name + "/_doc/1?refresh=true", R"({"n":1})", 201);
  }
  CallJson(HttpMethod::kPost, "/_aliases",
           R"({"actions":[{"add":{"index":"a","alias":"h","is_hidden":true}}]})", 200);
  EXPECT_EQ(Count("/_count"), 10);
  EXPECT_EQ(Count("/*/_count"), 10);
  EXPECT_EQ(Count("/*/_count?expand_wildcards=open,hidden"), 12);
  EXPECT_EQ(Count("/*/_count?expand_wildcards=all"), 12);
  EXPECT_EQ(Count("/c/_count"), 1);
  EXPECT_EQ(Count("/.s*/_count"), 1);
  EXPECT_EQ(Count("/h/_count"), 5);
  EXPECT_EQ(Count("/h*/_count"), 0);
  EXPECT_EQ(Count("/h*/_count?expand_wildcards=open,hidden"), 5);
  // GET _alias and _cluster/health see hidden indices by default (strict/lenientExpandHidden).
  json aliases = CallJson(HttpMethod::kGet, "/_alias", "", 200);
  EXPECT_TRUE(aliases.contains("c") && aliases.contains(".secret")) << aliases;
  json health = CallJson(HttpMethod::kGet, "/_cluster/health?level=indices", "", 200);
  EXPECT_TRUE(health["indices"].contains("c")) << health;
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/c/_settings", R"({"index.hidden":"maybe"})",
                     400)["error"]["reason"],
            "Failed to parse value [maybe] as only [true] or [false] are allowed.");
  CallJson(HttpMethod::kPut, "/c/_settings", R"({"index.hidden":false})", 200);
  EXPECT_EQ(Count("/*/_count"), 11);
}

TEST_F(RestAliasTest, CloseAndOpen) {
  TwoIndices();
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/a/_close", "", 200), json::parse(R"({
      "acknowledged":true,"shards_acknowledged":true,"indices":{"a":{"closed":true}}})"));
  json closed = CallJson(HttpMethod::kGet, "/a/_search", "", 400)["error"];
  EXPECT_EQ(closed["type"], "index_closed_exception");
  EXPECT_EQ(closed["reason"], "closed");
  EXPECT_EQ(closed["index"], "a");
  EXPECT_EQ(closed["index_uuid"], Uuid("a"));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/a/_count", "", 400)["error"]["type"],
            "index_closed_exception");
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/a/_doc/1", "", 400)["error"]["type"],
            "index_closed_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/a/_doc/1", R"({"n":1})", 400)["error"]["type"],
            "index_closed_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/a/_refresh", "", 400)["error"]["type"],
            "index_closed_exception");
  // Wildcards skip it; ignore_unavailable skips it; GET /a still answers.
  EXPECT_EQ(Count("/*/_count"), 5);
  EXPECT_EQ(Count("/a,b/_count?ignore_unavailable=true"), 5);
  EXPECT_TRUE(CallJson(HttpMethod::kGet, "/a", "", 200).contains("a"));
  EXPECT_EQ(Text("/_cat/indices?h=status,index,docs.count&s=index"), "close a  \nopen  b 5\n");
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_cluster/state/metadata", "",
                     200)["metadata"]["indices"]["a"]["state"],
            "close");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/a/_open", "", 200),
            json::parse(R"({"acknowledged":true,"shards_acknowledged":true})"));
  EXPECT_EQ(Count("/a/_count"), 5);
  CallJson(HttpMethod::kPut, "/a/_doc/new?refresh=true", R"({"n":1})", 201);
  EXPECT_EQ(Count("/a/_count"), 6);
}

}  // namespace
}  // namespace quidditch::rest
