// Tests of the index templates: the pure matching and merging, and the handlers through a
// Router on a one-node cluster (SingleNode).
#include "coordination/rest_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "coordination/rest_api.h"
#include "coordination/testing/rest_fixtures.h"
#include "engine/errors.h"

namespace quidditch::rest {
namespace {

using json = nlohmann::json;

TEST(PatternsOverlap, AsAutomataIntersect) {
  EXPECT_TRUE(PatternsOverlap("logs-*", "logs-*"));
  EXPECT_TRUE(PatternsOverlap("logs-*", "*-2024"));  // logs-2024
  EXPECT_TRUE(PatternsOverlap("*", "anything"));
  EXPECT_TRUE(PatternsOverlap("a*c", "ab*"));  // abc
  EXPECT_TRUE(PatternsOverlap("**", ""));
  EXPECT_FALSE(PatternsOverlap("logs-*", "metrics-*"));
  EXPECT_FALSE(PatternsOverlap("a*b", "a*c"));
  EXPECT_FALSE(PatternsOverlap("abc", "abd"));
  EXPECT_FALSE(PatternsOverlap("a", ""));
}

cluster::ClusterState StateWith(std::map<std::string, json> composable,
                                std::map<std::string, json> legacy) {
  cluster::ClusterState state;
  state.index_templates = std::move(composable);
  state.legacy_templates = std::move(legacy);
  return state;
}

TEST(ApplyIndexTemplates, TheHighestPriorityComposableTemplateAloneApplies) {
  cluster::ClusterState state =
      StateWith({{"low", json::parse(R"({"index_patterns":["logs-*"],"priority":1,
          "template":{"settings":{"index":{"number_of_shards":"3","refresh_interval":"5s"}}}})")},
                 {"high", json::parse(R"({"index_patterns":["logs-*"],"priority":2,
          "template":{"settings":{"index":{"number_of_shards":"2"}},
                      "mappings":{"properties":{"a":{"type":"keyword"}}},
                      "aliases":{"all-logs":{}}}})")}},
                {{"legacy", json::parse(R"({"index_patterns":["*"],"order":9,
          "settings":{"index":{"number_of_replicas":"2"}}})")}});
  json body = ApplyIndexTemplates(state, "logs-1", json::parse(R"({
      "settings": {"number_of_replicas": 0},
      "mappings": {"_doc": {"properties": {"b": {"type": "long"}}}},
      "aliases": {"mine": {"is_write_index": true}}})"));
  EXPECT_EQ(body, json::parse(R"({
      "settings": {"index.number_of_shards": "2", "index.number_of_replicas": "0"},
      "mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "long"}}},
      "aliases": {"all-logs": {}, "mine": {"is_write_index": true}}})"))
      << body.dump();
  // No template matches: the body is untouched.
  EXPECT_EQ(ApplyIndexTemplates(StateWith({}, {}), "x", json()), json());
}

TEST(ApplyIndexTemplates, LegacyTemplatesMergeByOrderWhenNoComposableMatches) {
  cluster::ClusterState state =
      StateWith({{"other", json::parse(R"({"index_patterns":["metrics-*"],"template":{}})")}},
                {{"a-high", json::parse(R"({"index_patterns":["lo*"],"order":2,
           "settings":{"index":{"number_of_shards":"4"}},"mappings":{},"aliases":{}})")},
                 {"b-low", json::parse(R"({"index_patterns":["logs*"],"order":1,
           "settings":{"index":{"number_of_shards":"1","refresh_interval":"1m"}},
           "mappings":{"properties":{"x":{"type":"long"}}},"aliases":{}})")}});
  json body = ApplyIndexTemplates(state, "logs", json::object());
  EXPECT_EQ(body, json::parse(R"({
      "settings": {"index.number_of_shards": "4", "index.refresh_interval": "1m"},
      "mappings": {"properties": {"x": {"type": "long"}}}})"))
      << body.dump();
}

class RestTemplateTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    // Stands in for index creation's validation: refuses one setting value.
    auto validate = [](const json& body) {
      if (body["settings"].value("index.number_of_shards", "") == "abc") {
        return engine::IllegalArgument(
            "Failed to parse value [abc] for setting [index.number_of_shards]");
      }
      return Status::OK();
    };
    ASSERT_TRUE(RegisterTemplateHandlers(context_, validate, &router_).ok());
  }
};

TEST_F(RestTemplateTest, ComposableTemplatesPutGetDelete) {
  EXPECT_EQ(CallJson(HttpMethod::kPut, "/_index_template/logs", R"({
      "index_patterns": "logs-*", "priority": 5, "version": 2, "_meta": {"by": "me"},
      "template": {"settings": {"number_of_shards": 2, "index.refresh_interval": "5s"},
                   "mappings": {"properties": {"a": {"type": "keyword"}}}}})",
                     200),
            json::parse(R"({"acknowledged": true})"));
  json got = CallJson(HttpMethod::kGet, "/_index_template/lo*", "", 200);
  EXPECT_EQ(got, json::parse(R"({"index_templates": [{"name": "logs", "index_template": {
      "index_patterns": ["logs-*"],
      "template": {"settings": {"index": {"number_of_shards": "2", "refresh_interval": "5s"}},
                   "mappings": {"properties": {"a": {"type": "keyword"}}}},
      "composed_of": [], "priority": 5, "version": 2, "_meta": {"by": "me"}}}]})"))
      << got.dump();
  EXPECT_EQ(Call(HttpMethod::kHead, "/_index_template/logs").status, 200);

  // create=true refuses to replace; the same priority and overlapping patterns are refused.
  json exists = CallJson(HttpMethod::kPut, "/_index_template/logs?create=true",
                         R"({"index_patterns": ["x"]})", 400);
  EXPECT_EQ(exists["error"]["reason"], "index template [logs] already exists");
  json overlap = CallJson(HttpMethod::kPut, "/_index_template/all",
                          R"({"index_patterns": ["*-1"], "priority": 5})", 400);
  EXPECT_EQ(overlap["error"]["type"], "illegal_argument_exception");
  EXPECT_NE(overlap["error"]["reason"].get<std::string>().find(
                "that have the same priority [5], multiple index templates may not match"),
            std::string::npos)
      << overlap.dump();
  CallJson(HttpMethod::kPut, "/_index_template/all", R"({"index_patterns": ["*-1"]})", 200);

  EXPECT_EQ(CallJson(HttpMethod::kDelete, "/_index_template/logs", "", 200),
            json::parse(R"({"acknowledged": true})"));
  json missing = CallJson(HttpMethod::kGet, "/_index_template/logs", "", 404);
  EXPECT_EQ(missing["error"]["type"], "resource_not_found_exception");
  EXPECT_EQ(missing["error"]["reason"], "index template matching [logs] not found");
  EXPECT_EQ(Call(HttpMethod::kHead, "/_index_template/logs").status, 404);
  json gone = CallJson(HttpMethod::kDelete, "/_index_template/logs", "", 404);
  EXPECT_EQ(gone["error"]["type"], "index_template_missing_exception");
  EXPECT_EQ(gone["error"]["reason"], "index_template [logs] missing");
}

TEST_F(RestTemplateTest, ComposableTemplateErrors) {
  struct Case {
    std::string body;
    std::string type;
  };
  const Case cases[] = {
      {R"({"priority": 1})", "action_request_validation_exception"},
      {R"({"index_patterns": []})", "action_request_validation_exception"},
      {R"({"index_patterns": ["a"], "nope": 1})", "x_content_parse_exception"},
      {R"({"index_patterns": ["a"], "priority": -1})", "x_content_parse_exception"},
      {R"({"index_patterns": ["a"], "template": {"x": {}}})", "x_content_parse_exception"},
      {R"({"index_patterns": ["a"], "composed_of": ["c"]})", "invalid_index_template_exception"},
      {R"({"index_patterns": ["a"], "data_stream": {}})", "illegal_argument_exception"},
      {R"({"index_patterns": ["a"], "template": {"settings": {"number_of_shards": "abc"}}})",
       "illegal_argument_exception"},
  };
  for (const Case& c : cases) {
    json error = CallJson(HttpMethod::kPut, "/_index_template/t", c.body, 400);
    EXPECT_EQ(error["error"]["type"], c.type) << c.body << " -> " << error.dump();
  }
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_index_template", "", 200),
            json::parse(R"({"index_templates": []})"))
      << "nothing was stored";
}

TEST_F(RestTemplateTest, LegacyTemplatesPutGetDelete) {
  CallJson(HttpMethod::kPut, "/_template/old", R"({
      "index_patterns": ["old-*"], "order": 3,
      "settings": {"index.number_of_replicas": 0}, "aliases": {"old": {}}})",
           200);
  json got = CallJson(HttpMethod::kGet, "/_template/old", "", 200);
  EXPECT_EQ(got, json::parse(R"({"old": {"order": 3, "index_patterns": ["old-*"],
      "settings": {"index": {"number_of_replicas": "0"}}, "mappings": {},
      "aliases": {"old": {}}}})"))
      << got.dump();
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_template/nope", "", 404), json::object());
  EXPECT_EQ(Call(HttpMethod::kHead, "/_template/old").status, 200);
  json exists =
      CallJson(HttpMethod::kPut, "/_template/old?create=true", R"({"index_patterns": "x"})", 400);
  EXPECT_EQ(exists["error"]["reason"], "index_template [old] already exists");
  json unknown =
      CallJson(HttpMethod::kPut, "/_template/t", R"({"index_patterns": "x", "foo": 1})", 400);
  EXPECT_EQ(unknown["error"]["reason"], "unknown key [foo] in the template");
  CallJson(HttpMethod::kDelete, "/_template/old", "", 200);
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_template", "", 200), json::object());
}

// The whole REST API: templates reach index creation, explicit and automatic, and are validated
// as index creation validates.
class RestTemplateApiTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterRestApi(context_, &router_).ok());
  }
};

TEST_F(RestTemplateApiTest, NewIndicesGetTheMatchingTemplate) {
  CallJson(HttpMethod::kPut, "/_index_template/logs", R"({"index_patterns": ["logs-*"],
      "template": {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                   "mappings": {"properties": {"k": {"type": "keyword"}}},
                   "aliases": {"all-logs": {}}}})",
           200);
  CallJson(HttpMethod::kPut, "/_template/legacy", R"({"index_patterns": ["*"], "order": 5,
      "settings": {"number_of_shards": 3}})",
           200);

  // Explicit creation: the request's own settings win over the template's.
  CallJson(HttpMethod::kPut, "/logs-1", R"({"settings": {"number_of_replicas": 0}})", 200);
  Result<cluster::Index> one = node_.control_plane()->GetIndex(fixtures::Ctx(), "logs-1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->settings.shards, 2) << "the composable template, not the legacy one";
  EXPECT_EQ(one->mappings["properties"]["k"]["type"], "keyword");
  EXPECT_EQ(one->aliases.count("all-logs"), 1u);

  // Auto-creation by a write.
  CallJson(HttpMethod::kPut, "/logs-2/_doc/1?refresh=true", R"({"k": "v"})", 201);
  Result<cluster::Index> two = node_.control_plane()->GetIndex(fixtures::Ctx(), "logs-2");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->settings.shards, 2);
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/all-logs/_count", "", 200)["count"], 1);

  // No composable match: the legacy template applies.
  CallJson(HttpMethod::kPost, "/_bulk", "{\"index\":{\"_index\":\"other\",\"_id\":\"1\"}}\n{}\n",
           200);
  Result<cluster::Index> other = node_.control_plane()->GetIndex(fixtures::Ctx(), "other");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->settings.shards, 3);
}

TEST_F(RestTemplateApiTest, ATemplateIsValidatedAsIndexCreationWouldBe) {
  json bad = CallJson(HttpMethod::kPut, "/_index_template/t", R"({"index_patterns": ["t*"],
      "template": {"mappings": {"properties": {"f": {"type": "nope"}}}}})",
                      400);
  EXPECT_EQ(bad["error"]["type"], "mapper_parsing_exception") << bad.dump();
  json setting =
      CallJson(HttpMethod::kPut, "/_template/t",
               R"({"index_patterns": ["t*"], "settings": {"number_of_shards": 0}})", 400);
  EXPECT_EQ(setting["error"]["type"], "illegal_argument_exception") << setting.dump();
  EXPECT_EQ(CallJson(HttpMethod::kGet, "/_index_template", "", 200),
            json::parse(R"({"index_templates": []})"));
}

}  // namespace
}  // namespace quidditch::rest
