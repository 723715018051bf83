// Tests of the index APIs through a Router on a whole one-node cluster (SingleNode): the
// control plane, the data role and the shards are real.
#include "coordination/rest_index.h"

#include <gtest/gtest.h>

#include <string>

#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using json = nlohmann::json;

class RestIndexTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterIndexHandlers(context_, &router_).ok());
  }

  bool Exists(const std::string& name) {
    return node_.control_plane()->GetIndex(controlplane::CallContext{}, name).ok();
  }
};

TEST_F(RestIndexTest, CreateGetExistsDelete) {
  json created = CallJson(HttpMethod::kPut, "/logs", R"({
      "settings": {"index": {"number_of_shards": 2}, "number_of_replicas": 0,
                   "index.refresh_interval": "5s", "max_result_window": 500},
      "mappings": {"properties": {"title": {"type": "text"}, "n": {"type": "long"}}}})",
                          200);
  EXPECT_EQ(created,
            json::parse(R"({"acknowledged":true,"shards_acknowledged":true,"index":"logs"})"));

  Result<cluster::Index> meta =
      node_.control_plane()->GetIndex(controlplane::CallContext{}, "logs");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->settings.shards, 2);
  EXPECT_EQ(meta->settings.replicas, 0);
  EXPECT_EQ(meta->settings.refresh_interval, "5s");
  // refresh_interval's key in `other` records that it was set (GET _settings shows it).
  EXPECT_EQ(meta->settings.other,
            json::parse(R"({"max_result_window": 500, "refresh_interval": "5s"})"));
  for (const cluster::ShardRouting& shard : meta->routing.shards) {
    EXPECT_EQ(shard.primary().state, cluster::ShardState::kStarted);
  }

  json got = CallJson(HttpMethod::kGet, "/logs", "", 200);
  ASSERT_TRUE(got.contains("logs")) << got;
  EXPECT_EQ(got["logs"]["aliases"], json::object());
  EXPECT_EQ(got["logs"]["mappings"]["properties"]["n"]["type"], "long");
  const json& settings = got["logs"]["settings"]["index"];
  EXPECT_EQ(settings["number_of_shards"], "2");
  EXPECT_EQ(settings["number_of_replicas"], "0");
  EXPECT_EQ(settings["refresh_interval"], "5s");
  EXPECT_EQ(settings["max_result_window"], "500");
  EXPECT_EQ(settings["provided_name"], "logs");
  EXPECT_EQ(settings["uuid"], Uuid("logs"));
  EXPECT_EQ(settings["version"]["created"], "136407827");
  EXPECT_TRUE(settings["creation_date"].is_string());

  json flat = CallJson(HttpMethod::kGet, "/logs?flat_settings=true", "", 200);
  EXPECT_EQ(flat["logs"]["settings"]["index.number_of_shards"], "2");

  EXPECT_EQ(Call(HttpMethod::kHead, "/logs").status, 200);
  EXPECT_TRUE(Call(HttpMethod::kHead, "/logs").body.empty());
  EXPECT_EQ(Call(HttpMethod::kHead, "/nope").status, 404);

  json again = CallJson(HttpMethod::kPut, "/logs", "", 400);
  EXPECT_EQ(again["error"]["type"], "resource_already_exists_exception");
  EXPECT_EQ(again["error"]["reason"], "index [logs/" + Uuid("logs") + "] already exists");
  EXPECT_EQ(again["error"]["index_uuid"], Uuid("logs"));
  EXPECT_EQ(again["error"]["index"], "logs");

  json missing = CallJson(HttpMethod::kGet, "/nope", "", 404);
  EXPECT_EQ(missing["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(missing["error"]["reason"], "no such index [nope]");
  EXPECT_EQ(missing["error"]["index"], "nope");

  EXPECT_EQ(CallJson(HttpMethod::kDelete, "/logs", "", 200),
            json::parse(R"({"acknowledged":true})"));
  EXPECT_FALSE(Exists("logs"));
  EXPECT_EQ(CallJson(HttpMethod::kDelete, "/logs", "", 404)["error"]["type"],
            "index_not_found_exception");
}

TEST_F(RestIndexTest, WaitForActiveShards) {
  // One node cannot start a replica: "all" is not reached before the timeout, and the index
  // is created all the same.
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/w?wait_for_active_shards=all&timeout=200ms",
                     R"({"settings":{"number_of_replicas":1}})", 200),
            json::parse(R"({"acknowledged":true,"shards_acknowledged":false,"index":"w"})"));
  EXPECT_TRUE(Exists("w"));
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/w2?wait_for_active_shards=1",
                     R"({"settings":{"number_of_replicas":1}})", 200)["shards_acknowledged"],
            true);
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/w3?wait_for_active_shards=3",
                     R"({"settings":{"number_of_replicas":1}})", 400)["error"]["type"],
            "action_request_validation_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/w3?timeout=soon", "", 400)["error"]["type"],
            "illegal_argument_exception");
  EXPECT_FALSE(Exists("w3"));
}

TEST_F(RestIndexTest, DeleteWildcardsAndAll) {
  for (const char* name : {"a-1", "a-2", "b"}) {
    CallJson(HttpMethod::kPut, std::string("/") + name, R"({"settings":{"number_of_replicas":0}})",
             200);
  }
  CallJson(HttpMethod::kDelete, "/a-*", "", 200);
  EXPECT_FALSE(Exists("a-1"));
  EXPECT_FALSE(Exists("a-2"));
  EXPECT_TRUE(Exists("b"));
  // A wildcard matching nothing is fine (allow_no_indices), unless told otherwise.
  CallJson(HttpMethod::kDelete, "/zz*", "", 200);
  CallJson(HttpMethod::kDelete, "/zz*?allow_no_indices=false", "", 404);
  CallJson(HttpMethod::kDelete, "/_all", "", 200);
  EXPECT_FALSE(Exists("b"));
}

TEST_F(RestIndexTest, InvalidNamesAndSettingsCreateNothing) {
  json upper = CallJson(HttpMethod::kPut, "/Logs", "", 400);
  EXPECT_EQ(upper["error"]["type"], "invalid_index_name_exception");
  EXPECT_EQ(upper["error"]["reason"], "Invalid index name [Logs], must be lowercase");
  EXPECT_EQ(upper["error"]["index"], "Logs");
  EXPECT_EQ(upper["error"]["index_uuid"], "_na_");
  EXPECT_EQ(upper["status"], 400);
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/_x", "", 400)["error"]["reason"],
            "Invalid index name [_x], must not start with '_', '-', or '+'");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/a%2Ab", "", 400)["error"]["type"],
            "invalid_index_name_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/..", "", 400)["error"]["reason"],
            "Invalid index name [..], must not be '.' or '..'");
  EXPECT_FALSE(ValidateIndexName(std::string(256, 'a')).ok());
  EXPECT_TRUE(ValidateIndexName(std::string(255, 'a')).ok());
  EXPECT_TRUE(ValidateIndexName(".hidden-ok").ok());

  json unknown = CallJson(HttpMethod::kPut, "/x", R"({"settings":{"index.foo":1}})", 400);
  EXPECT_EQ(unknown["error"]["type"], "illegal_argument_exception");
  EXPECT_EQ(unknown["error"]["reason"],
            "unknown setting [index.foo] please check that any required plugins are installed, "
            "or check the breaking changes documentation for removed settings");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"settings":{"number_of_shards":0}})",
                     400)["error"]["reason"],
            "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"settings":{"refresh_interval":"fast"}})",
                     400)["error"]["reason"],
            "failed to parse setting [index.refresh_interval] with value [fast] as a time value: "
            "unit is missing or unrecognized");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"mappings":{"properties":{"a":{"type":"nope"}}}})",
                     400)["error"]["type"],
            "mapper_parsing_exception");
  // A mapping naming an analyzer the settings do not define fails too.
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x",
                     R"({"mappings":{"properties":{"a":{"type":"text","analyzer":"mine"}}}})",
                     400)["error"]["type"],
            "mapper_parsing_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x",
                     R"({"settings":{"analysis":{"analyzer":{"mine":{"type":"custom",
                        "tokenizer":"no_such_tokenizer"}}}}})",
                     400)["error"]["type"],
            "illegal_argument_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"aliases":{"_y":{}}})", 400)["error"]["type"],
            "invalid_alias_name_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"aliases":{"y":{"filter":{"nope":{}}}}})",
                     400)["error"]["type"],
            "illegal_argument_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", "{bad json", 400)["error"]["type"],
            "x_content_parse_exception");
  for (const char* body : {"[1]", "\"settings\"", "7"}) {
    EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", body, 400)["error"]["type"], "parsing_exception")
        << body;
  }
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/x", R"({"settings": [1]})", 400)["error"]["type"],
            "parsing_exception");
  EXPECT_FALSE(Exists("x"));
}

TEST_F(RestIndexTest, AnalysisAndTypedMappingAreAccepted) {
  CallJson(HttpMethod::kPut, "/x", R"({
      "settings": {"number_of_replicas": 0, "analysis": {"analyzer": {"mine": {
          "type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}}}},
      "mappings": {"_doc": {"properties": {"a": {"type": "text", "analyzer": "mine"}}}},
      "aliases": {}})",
           200);
  json settings = CallJson(HttpMethod::kGet, "/x/_settings", "", 200);
  EXPECT_EQ(settings["x"]["settings"]["index"]["analysis"]["analyzer"]["mine"]["tokenizer"],
            "whitespace");
  EXPECT_EQ(settings["x"]["settings"]["index"]["analysis"]["analyzer"]["mine"]["filter"],
            json::array({"lowercase"}));
  json tokens = CallJson(HttpMethod::kPost, "/x/_analyze",
                         R"({"analyzer":"mine","text":"Hello WORLD-wide"})", 200);
  ASSERT_EQ(tokens["tokens"].size(), 2u) << tokens;
  EXPECT_EQ(tokens["tokens"][1]["token"], "world-wide");
  json by_field =
      CallJson(HttpMethod::kPost, "/x/_analyze", R"({"field":"a","text":"A-B c"})", 200);
  EXPECT_EQ(by_field["tokens"][0]["token"], "a-b");
}

TEST_F(RestIndexTest, PutMappingMergesAndRejectsConflicts) {
  CallJson(HttpMethod::kPut, "/m",
           R"({"settings":{"number_of_shards":2,"number_of_replicas":0},
               "mappings":{"properties":{"n":{"type":"long"}}}})",
           200);
  EXPECT_EQ(
      CallJson(HttpMethod::kPut, "/m/_mapping", R"({"properties":{"t":{"type":"keyword"}}})", 200),
      json::parse(R"({"acknowledged":true})"));
  json mapping = CallJson(HttpMethod::kGet, "/m/_mapping", "", 200);
  EXPECT_EQ(mapping["m"]["mappings"]["properties"]["t"]["type"], "keyword");
  EXPECT_EQ(mapping["m"]["mappings"]["properties"]["n"]["type"], "long");
  // Every shard got the field, and so did the cluster state.
  for (int32_t shard : {0, 1}) {
    Result<json> held = node_.shard_service()->Mapping(data::ShardKey{"m", shard});
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ((*held)["properties"]["t"]["type"], "keyword");
  }
  Result<cluster::Index> meta = node_.control_plane()->GetIndex(controlplane::CallContext{}, "m");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->mappings["properties"]["t"]["type"], "keyword");

  json field = CallJson(HttpMethod::kGet, "/m/_mapping/field/t,x*", "", 200);
  EXPECT_EQ(field, json::parse(R"({"m":{"mappings":{
      "t":{"full_name":"t","mapping":{"t":{"type":"keyword"}}}}}})"));

  json conflict =
      CallJson(HttpMethod::kPut, "/m/_mapping", R"({"properties":{"n":{"type":"text"}}})", 400);
  EXPECT_EQ(conflict["error"]["type"], "illegal_argument_exception");
  EXPECT_EQ(conflict["error"]["reason"], "mapper [n] cannot be changed from type [long] to [text]");
  EXPECT_EQ(
      CallJson(HttpMethod::kGet, "/_mapping", "", 200)["m"]["mappings"]["properties"]["n"]["type"],
      "long");
  EXPECT_EQ(
      CallJson(HttpMethod::kPut, "/nope/_mapping", R"({"properties":{}})", 404)["error"]["type"],
      "index_not_found_exception");
}

TEST_F(RestIndexTest, UpdateSettings) {
  CallJson(HttpMethod::kPut, "/s", R"({"settings":{"number_of_replicas":0}})", 200);
  CallJson(HttpMethod::kPut, "/s/_settings",
           R"({"index":{"refresh_interval":"2s","max_result_window":20}})", 200);
  Result<cluster::Index> meta = node_.control_plane()->GetIndex(controlplane::CallContext{}, "s");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->settings.refresh_interval, "2s");
  EXPECT_EQ(meta->settings.other["max_result_window"], 20);

  // null resets to the default.
  CallJson(HttpMethod::kPut, "/s/_settings", R"({"index.max_result_window":null})", 200);
  meta = node_.control_plane()->GetIndex(controlplane::CallContext{}, "s");
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->settings.other.contains("max_result_window")) << meta->settings.other;

  json static_change =
      CallJson(HttpMethod::kPut, "/s/_settings", R"({"index":{"number_of_shards":3}})", 400);
  EXPECT_EQ(static_change["error"]["type"], "illegal_argument_exception");
  EXPECT_EQ(static_change["error"]["reason"],
            "Can't update non dynamic settings [[index.number_of_shards]] for open indices [[s/" +
                Uuid("s") + "]]");
  EXPECT_EQ(
      CallJson(HttpMethod::kPut, "/s/_settings", R"({"index":{"bogus":1}})", 400)["error"]["type"],
      "illegal_argument_exception");

  json filtered = CallJson(HttpMethod::kGet, "/s/_settings/index.refresh*?flat_settings", "", 200);
  EXPECT_EQ(filtered, json::parse(R"({"s":{"settings":{"index.refresh_interval":"2s"}}})"));
  json all = CallJson(HttpMethod::kGet, "/_settings", "", 200);
  EXPECT_EQ(all["s"]["settings"]["index"]["refresh_interval"], "2s");
}

// OpenSearch shows every setting that was set, at its default value too, and none that was not.
TEST_F(RestIndexTest, TypedSettingsSetAtTheirDefaultAreShown) {
  auto shown = [&](const std::string& index) {
    json s = CallJson(HttpMethod::kGet, "/" + index + "/_settings?flat_settings", "", 200);
    return std::make_pair(s[index]["settings"].value("index.refresh_interval", "(none)"),
                          s[index]["settings"].value("index.codec", "(none)"));
  };
  CallJson(HttpMethod::kPut, "/set",
           R"({"settings":{"refresh_interval":"1s","codec":"default","number_of_replicas":0}})",
           200);
  EXPECT_EQ(shown("set"), std::make_pair(std::string("1s"), std::string("default")));
  EXPECT_EQ(
      CallJson(HttpMethod::kGet, "/set", "", 200)["set"]["settings"]["index"]["refresh_interval"],
      "1s");
  CallJson(HttpMethod::kPut, "/unset", R"({"settings":{"number_of_replicas":0}})", 200);
  EXPECT_EQ(shown("unset"), std::make_pair(std::string("(none)"), std::string("(none)")));
  CallJson(HttpMethod::kPut, "/unset/_settings", R"({"index.refresh_interval":"1s"})", 200);
  EXPECT_EQ(shown("unset").first, "1s");
  CallJson(HttpMethod::kPut, "/unset/_settings", R"({"index.refresh_interval":"7s"})", 200);
  EXPECT_EQ(shown("unset").first, "7s");
  CallJson(HttpMethod::kPut, "/unset/_settings", R"({"index.refresh_interval":null})", 200);
  EXPECT_EQ(shown("unset").first, "(none)");
  Result<cluster::Index> meta =
      node_.control_plane()->GetIndex(controlplane::CallContext{}, "unset");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->settings.refresh_interval, "1s");
}

TEST_F(RestIndexTest, RefreshAndFlushCountShardCopies) {
  // One replica that cannot be assigned on one node: total counts it, failed does not.
  CallJson(HttpMethod::kPut, "/r", R"({"settings":{"number_of_shards":2,"number_of_replicas":1}})",
           200);
  json refreshed = CallJson(HttpMethod::kPost, "/r/_refresh", "", 200);
  EXPECT_EQ(refreshed, json::parse(R"({"_shards":{"total":4,"successful":2,"failed":0}})"));
  json flushed = CallJson(HttpMethod::kGet, "/_flush", "", 200);
  EXPECT_EQ(flushed, json::parse(R"({"_shards":{"total":4,"successful":2,"failed":0}})"));
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/nope/_refresh", "", 404)["error"]["type"],
            "index_not_found_exception");
}

TEST_F(RestIndexTest, AnalyzeWithoutIndex) {
  json tokens = CallJson(HttpMethod::kPost, "/_analyze",
                         R"({"analyzer":"standard","text":"Quick 42 Foxes"})", 200);
  EXPECT_EQ(tokens, json::parse(R"({"tokens":[
      {"token":"quick","start_offset":0,"end_offset":5,"type":"<ALPHANUM>","position":0},
      {"token":"42","start_offset":6,"end_offset":8,"type":"<NUM>","position":1},
      {"token":"foxes","start_offset":9,"end_offset":14,"type":"<ALPHANUM>","position":2}]})"));
  json chain =
      CallJson(HttpMethod::kGet, "/_analyze",
               R"({"tokenizer":"whitespace","filter":["lowercase"],"text":["A B","C"]})", 200);
  ASSERT_EQ(chain["tokens"].size(), 3u) << chain;
  EXPECT_EQ(chain["tokens"][2]["token"], "c");
  EXPECT_EQ(chain["tokens"][2]["type"], "word");
  EXPECT_EQ(chain["tokens"][2]["start_offset"], 4);  // 3 chars + the gap of 1 between values
  EXPECT_EQ(
      CallJson(HttpMethod::kPost, "/_analyze", R"({"analyzer":"standard"})", 400)["error"]["type"],
      "action_request_validation_exception");
  EXPECT_EQ(CallJson(HttpMethod::kPost, "/_analyze", R"({"analyzer":"nope","text":"x"})",
                     400)["error"]["type"],
            "illegal_argument_exception");
}

TEST_F(RestIndexTest, FieldCaps) {
  CallJson(HttpMethod::kPut, "/f1",
           R"({"settings":{"number_of_replicas":0},"mappings":{"properties":{
               "title":{"type":"text","fields":{"raw":{"type":"keyword"}}},"n":{"type":"long"}}}})",
           200);
  CallJson(HttpMethod::kPut, "/f2",
           R"({"settings":{"number_of_replicas":0},"mappings":{"properties":{
               "n":{"type":"keyword"}}}})",
           200);
  json caps = CallJson(HttpMethod::kGet, "/f1/_field_caps?fields=title*", "", 200);
  EXPECT_EQ(caps, json::parse(R"({"indices":["f1"],"fields":{
      "title":{"text":{"type":"text","searchable":true,"aggregatable":false}},
      "title.raw":{"keyword":{"type":"keyword","searchable":true,"aggregatable":true}}}})"));
  json both = CallJson(HttpMethod::kPost, "/f*/_field_caps", R"({"fields":["n"]})", 200);
  EXPECT_EQ(both["indices"], json::array({"f1", "f2"}));
  EXPECT_EQ(both["fields"]["n"]["long"]["indices"], json::array({"f1"}));
  EXPECT_EQ(both["fields"]["n"]["keyword"]["indices"], json::array({"f2"}));
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_field_caps", "", 400)["error"]["type"],
            "action_request_validation_exception");
}

// Aliases and open/close are tested in rest_alias_test.cc.
}  // namespace
}  // namespace quidditch::rest
