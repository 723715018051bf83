// Tests of _bulk through a Router on a whole one-node cluster (data/testing/single_node.h):
// response bodies in OpenSearch's shape and order, per-item and whole-request errors, auto
// index creation (also concurrent), routing over several shards, refresh.
#include "coordination/rest_bulk.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coordination/rest_document.h"
#include "coordination/testing/rest_fixtures.h"

namespace quidditch::rest {
namespace {

using nlohmann::json;
using OJson = nlohmann::ordered_json;

class RestBulkTest : public fixtures::SingleNodeRestTest {
 protected:
  void SetUp() override {
    SingleNodeRestTest::SetUp();
    ASSERT_TRUE(RegisterBulkHandlers(context_, &router_).ok());
    ASSERT_TRUE(RegisterDocumentHandlers(context_, &router_).ok());
  }

  HttpResponse Call(HttpMethod method, std::string_view target, std::string body = "") {
    return SingleNodeRestTest::Call(method, target, std::move(body), "application/x-ndjson");
  }
  OJson Bulk(std::string_view target, std::string body, int expected_status = 200) {
    HttpResponse response = Call(HttpMethod::kPost, target, std::move(body));
    EXPECT_EQ(response.status, expected_status) << response.body;
    return OJson::parse(response.body);
  }
  // The error of a request that failed as a whole: {"type", "reason"} of its "error".
  std::pair<std::string, std::string> RequestError(std::string_view target, std::string body,
                                                   int expected_status = 400) {
    HttpResponse response = Call(HttpMethod::kPost, target, std::move(body));
    EXPECT_EQ(response.status, expected_status) << response.body;
    json parsed = json::parse(response.body);
    EXPECT_EQ(parsed["status"], expected_status);
    EXPECT_EQ(parsed["error"]["root_cause"][0]["type"], parsed["error"]["type"]);
    return {parsed["error"]["type"], parsed["error"]["reason"]};
  }
};

TEST_F(RestBulkTest, WritesEveryActionAndAnswersInRequestOrder) {
  OJson body = Bulk("/_bulk",
                    "{\"index\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"msg\":\"a\"}\n"
                    "{\"create\":{\"_index\":\"logs\",\"_id\":\"2\"}}\n{\"msg\":\"b\"}\n"
                    "{\"index\":{\"_index\":\"logs\"}}\n{\"msg\":\"c\"}\n"
                    "{\"update\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"doc\":{\"n\":1}}\n"
                    "{\"delete\":{\"_index\":\"logs\",\"_id\":\"2\"}}\n"
                    "{\"delete\":{\"_index\":\"logs\",\"_id\":\"nope\"}}\n");
  EXPECT_EQ(body["errors"], false);
  EXPECT_TRUE(body["took"].is_number_integer());
  ASSERT_EQ(body["items"].size(), 6u);
  // The exact text of an item: field order as OpenSearch writes it.
  EXPECT_EQ(body["items"][0].dump(),
            R"({"index":{"_index":"logs","_id":"1","_version":1,"result":"created",)"
            R"("_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,)"
            R"("status":201}})");
  EXPECT_EQ(body["items"][1]["create"]["result"], "created");
  EXPECT_EQ(body["items"][1]["create"]["_seq_no"], 1);
  std::string generated = body["items"][2]["index"]["_id"];
  EXPECT_EQ(generated.size(), 20u);
  EXPECT_EQ(generated.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(body["items"][3]["update"]["result"], "updated");
  EXPECT_EQ(body["items"][3]["update"]["_version"], 2);
  EXPECT_EQ(body["items"][3]["update"]["status"], 200);
  EXPECT_EQ(body["items"][4]["delete"]["result"], "deleted");
  EXPECT_EQ(body["items"][4]["delete"]["status"], 200);
  // A delete of a missing document is not an error: 404 with result not_found.
  EXPECT_EQ(body["items"][5].dump(),
            R"({"delete":{"_index":"logs","_id":"nope","_version":1,"result":"not_found",)"
            R"("_shards":{"total":2,"successful":1,"failed":0},"_seq_no":5,"_primary_term":1,)"
            R"("status":404}})");

  // The auto-created index got default settings (1 shard) and the documents are there.
  Result<cluster::Index> meta =
      node_.control_plane()->GetIndex(controlplane::CallContext{}, "logs");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->settings.shards, 1);
  EXPECT_EQ(meta->settings.replicas, 1);
  HttpResponse got = Call(HttpMethod::kGet, "/logs/_doc/1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["_source"], json::parse(R"({"msg":"a","n":1})"));
  EXPECT_EQ(Call(HttpMethod::kGet, "/logs/_doc/" + generated).status, 200);
  EXPECT_EQ(Call(HttpMethod::kGet, "/logs/_doc/2").status, 404);
}

TEST_F(RestBulkTest, ItemFailuresDoNotFailTheRequest) {
  Bulk("/logs/_bulk", "{\"index\":{\"_id\":\"1\"}}\n{\"n\":1}\n");
  std::string uuid = Uuid("logs");
  OJson body = Bulk("/logs/_bulk",
                    "{\"create\":{\"_id\":\"1\"}}\n{\"n\":2}\n"
                    "{\"index\":{\"_id\":\"2\"}}\n{\"n\": oops}\n"
                    "{\"update\":{\"_id\":\"missing\"}}\n{\"doc\":{\"n\":3}}\n"
                    "{\"index\":{\"_id\":\"3\",\"if_seq_no\":7,\"if_primary_term\":1}}\n{}\n"
                    "{\"index\":{\"_id\":\"4\"}}\n{\"n\":4}\n");
  EXPECT_EQ(body["errors"], true);
  ASSERT_EQ(body["items"].size(), 5u);
  EXPECT_EQ(body["items"][0].dump(),
            R"({"create":{"_index":"logs","_id":"1","status":409,"error":{)"
            R"("type":"version_conflict_engine_exception","reason":"[1]: version conflict, )"
            R"~(document already exists (current version [1])","index":"logs","shard":"0",)~"
            R"("index_uuid":")" +
                uuid + R"("}}})");
  EXPECT_EQ(body["items"][1]["index"]["status"], 400);
  EXPECT_EQ(body["items"][1]["index"]["error"]["type"], "mapper_parsing_exception");
  EXPECT_EQ(body["items"][2]["update"]["status"], 404);
  EXPECT_EQ(body["items"][2]["update"]["error"]["type"], "document_missing_exception");
  EXPECT_EQ(body["items"][2]["update"]["error"]["reason"], "[missing]: document missing");
  EXPECT_EQ(body["items"][2]["update"]["error"]["shard"], "0");
  EXPECT_EQ(body["items"][3]["index"]["status"], 409);
  EXPECT_EQ(body["items"][3]["index"]["error"]["reason"],
            "[3]: version conflict, required seqNo [7], primary term [1] but no document was "
            "found");
  EXPECT_EQ(body["items"][4]["index"]["status"], 201);
}

TEST_F(RestBulkTest, MalformedActionLinesFailTheWholeRequest) {
  EXPECT_EQ(RequestError("/_bulk", "\"foo\"\n"),
            std::make_pair(std::string("illegal_argument_exception"),
                           std::string("Malformed action/metadata line [1], expected "
                                       "START_OBJECT but found [VALUE_STRING]")));
  EXPECT_EQ(RequestError("/_bulk", "{\"index\":\"x\"}\n{}\n").second,
            "Malformed action/metadata line [1], expected START_OBJECT or END_OBJECT but found "
            "[VALUE_STRING]");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{}}\n{}\n{\"foo\":{}}\n{}\n").second,
            "Malformed action/metadata line [3], expected field [create], [delete], [index] or "
            "[update] but found [foo]");
  EXPECT_EQ(RequestError("/i/_bulk", "{}\n").second,
            "Malformed action/metadata line [1], expected FIELD_NAME but found [END_OBJECT]");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{\"_type\":\"doc\"}}\n{}\n").second,
            "Action/metadata line [1] contains an unknown parameter [_type]");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{\"_id\":[1]}}\n{}\n").second,
            "Malformed action/metadata line [1], expected a simple value for field [_id] but "
            "found [START_ARRAY]");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{}}\n{}").second,
            "The bulk request must be terminated by a newline [\\n]");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"update\":{\"_id\":\"1\",\"version\":2}}\n{}\n").second,
            "Update requests do not support versioning. Please use `if_seq_no` and "
            "`if_primary_term` instead");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"update\":{\"_id\":\"1\"}}\n{\"dok\":{}}\n").first,
            "x_content_parse_exception");
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{\"_id\":\"1\"}}\n").second,
            "Validation Failed: 1: no requests added;");
  EXPECT_EQ(RequestError("/_bulk", "{\"index\":{}}\n{}\n{\"delete\":{\"_index\":\"i\"}}\n"),
            std::make_pair(std::string("action_request_validation_exception"),
                           std::string("Validation Failed: 1: index is missing;2: id is "
                                       "missing;")));
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{\"version\":3}}\n{}\n").second,
            "Validation Failed: 1: internal versioning can not be used for optimistic "
            "concurrency control. Please use `if_seq_no` and `if_primary_term` instead;");
  EXPECT_EQ(RequestError("/i/_bulk?pipeline=p", "{\"index\":{}}\n{}\n").second,
            "pipeline with id [p] does not exist");
  EXPECT_EQ(RequestError("/i/_bulk", ""), std::make_pair(std::string("parse_exception"),
                                                         std::string("request body is required")));
  EXPECT_EQ(RequestError("/i/_bulk", "{\"index\":{oops}}\n{}\n").first, "json_parse_exception");
  // Nothing was written by any of them.
  EXPECT_FALSE(node_.control_plane()->GetIndex(controlplane::CallContext{}, "i").ok());
}

TEST_F(RestBulkTest, OpTypeCreateInAnIndexActionAnswersAsCreate) {
  Bulk("/i/_bulk", "{\"index\":{\"_id\":\"1\"}}\n{}\n");
  OJson body = Bulk("/i/_bulk",
                    "{\"index\":{\"_id\":\"1\",\"op_type\":\"create\"}}\n{}\n"
                    "{\"index\":{\"_id\":\"1\",\"op_type\":\"whatever\"}}\n{}\n");
  EXPECT_EQ(body["items"][0]["create"]["status"], 409);
  EXPECT_EQ(body["items"][1]["index"]["status"], 200);
}

TEST_F(RestBulkTest, BlankLinesAndCarriageReturnsAreSkipped) {
  OJson body = Bulk("/i/_bulk", "\n{\"index\":{\"_id\":\"1\"}}\r\n{\"a\":1}\r\n\n");
  EXPECT_EQ(body["errors"], false);
  ASSERT_EQ(body["items"].size(), 1u);
  EXPECT_EQ(body["items"][0]["index"]["status"], 201);
}

TEST_F(RestBulkTest, InvalidIndexNamesFailTheirItems) {
  OJson body = Bulk("/_bulk",
                    "{\"index\":{\"_index\":\"Bad\",\"_id\":\"1\"}}\n{}\n"
                    "{\"index\":{\"_index\":\"good\",\"_id\":\"1\"}}\n{}\n");
  EXPECT_EQ(body["errors"], true);
  EXPECT_EQ(body["items"][0].dump(),
            R"({"index":{"_index":"Bad","_id":"1","status":400,"error":{)"
            R"("type":"invalid_index_name_exception","reason":"Invalid index name [Bad], must )"
            R"(be lowercase","index":"Bad","index_uuid":"_na_"}}})");
  EXPECT_EQ(body["items"][1]["index"]["status"], 201);
}

TEST_F(RestBulkTest, RequireAliasFailsWithoutAnAlias) {
  OJson body = Bulk("/_bulk?require_alias=true", "{\"index\":{\"_index\":\"x\"}}\n{}\n");
  EXPECT_EQ(body["items"][0]["index"]["status"], 404);
  EXPECT_EQ(body["items"][0]["index"]["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(body["items"][0]["index"]["error"]["reason"],
            "no such index [x] and [require_alias] request flag is [true] and [x] is not an "
            "alias");
}

TEST_F(RestBulkTest, RefreshMakesWritesVisibleToNonRealtimeGets) {
  OJson body = Bulk("/i/_bulk?refresh=true", "{\"index\":{\"_id\":\"1\"}}\n{\"a\":1}\n");
  EXPECT_EQ(body["items"][0]["index"]["forced_refresh"], true);
  EXPECT_EQ(Call(HttpMethod::kGet, "/i/_doc/1?realtime=false").status, 200);
  body = Bulk("/i/_bulk", "{\"index\":{\"_id\":\"2\"}}\n{\"a\":1}\n");
  EXPECT_FALSE(body["items"][0]["index"].contains("forced_refresh"));
}

TEST_F(RestBulkTest, RoutesDocumentsToTheirShards) {
  controlplane::CreateIndexRequest create;
  create.name = "multi";
  create.settings.shards = 3;
  create.settings.replicas = 0;
  ASSERT_TRUE(node_.control_plane()->CreateIndex(controlplane::CallContext{}, create).ok());
  ASSERT_TRUE(node_.WaitForIndexStarted("multi").ok());
  std::string ndjson;
  for (int i = 0; i < 60; ++i) {
    ndjson +=
        "{\"index\":{\"_id\":\"" + std::to_string(i) + "\"}}\n{\"i\":" + std::to_string(i) + "}\n";
  }
  ndjson += "{\"index\":{\"_id\":\"r\",\"routing\":\"1\"}}\n{}\n";
  OJson body = Bulk("/multi/_bulk", ndjson);
  EXPECT_EQ(body["errors"], false);
  ASSERT_EQ(body["items"].size(), 61u);
  std::set<int32_t> shards;
  for (int i = 0; i < 60; ++i) {
    const OJson& item = body["items"][i]["index"];
    EXPECT_EQ(item["_id"], std::to_string(i));
    EXPECT_EQ(item["_shards"]["total"], 1);
    shards.insert(ShardForRouting(std::to_string(i), 3));
    // Each document is found on the shard its id routes to.
    Result<engine::GetResult> doc = node_.shard_service()->Get(
        data::ShardKey{"multi", ShardForRouting(std::to_string(i), 3)}, std::to_string(i), true);
    ASSERT_TRUE(doc.ok());
    EXPECT_TRUE(doc->found) << i;
  }
  EXPECT_EQ(shards.size(), 3u);
  Result<engine::GetResult> routed =
      node_.shard_service()->Get(data::ShardKey{"multi", ShardForRouting("1", 3)}, "r", true);
  ASSERT_TRUE(routed.ok());
  EXPECT_TRUE(routed->found);
  EXPECT_EQ(Call(HttpMethod::kGet, "/multi/_doc/r?routing=1").status, 200);
}

TEST_F(RestBulkTest, ConcurrentAutoCreatesOfOneIndexAllSucceed) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string ndjson;
      for (int i = 0; i < 10; ++i) {
        ndjson += "{\"index\":{\"_id\":\"" + std::to_string(t * 100 + i) +
                  "\"}}\n{\"t\":" + std::to_string(t) + "}\n";
      }
      HttpResponse response = Call(HttpMethod::kPost, "/fresh/_bulk", ndjson);
      if (response.status != 200 || json::parse(response.body)["errors"] != false) {
        ++failures;
        ADD_FAILURE() << response.body;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Call(HttpMethod::kGet, "/fresh/_doc/309").status, 200);
}

TEST_F(RestBulkTest, UpdateItemsReturnTheSourceWhenAsked) {
  Bulk("/i/_bulk", "{\"index\":{\"_id\":\"1\"}}\n{\"a\":1,\"b\":{\"c\":2}}\n");
  OJson body = Bulk("/i/_bulk",
                    "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{\"a\":5},\"_source\":[\"b.*\"]}\n"
                    "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{\"a\":5}}\n"
                    "{\"update\":{\"_id\":\"2\"}}\n{\"doc\":{\"x\":1},\"doc_as_upsert\":true}\n"
                    "{\"update\":{\"_id\":\"3\"}}\n{\"doc\":{\"x\":1},\"upsert\":{\"y\":2}}\n");
  const OJson& first = body["items"][0]["update"];
  EXPECT_EQ(first["get"].dump(),
            R"({"_seq_no":1,"_primary_term":1,"found":true,"_source":{"b":{"c":2}}})");
  // Nothing changed: noop, no copy written.
  EXPECT_EQ(body["items"][1].dump(),
            R"({"update":{"_index":"i","_id":"1","_version":2,"result":"noop",)"
            R"("_shards":{"total":0,"successful":0,"failed":0},"_seq_no":1,"_primary_term":1,)"
            R"("status":200}})");
  EXPECT_EQ(body["items"][2]["update"]["result"], "created");
  EXPECT_EQ(body["items"][2]["update"]["status"], 201);
  EXPECT_EQ(body["items"][3]["update"]["result"], "created");
  // The _source parameters are the default of update items.
  OJson defaulted =
      Bulk("/i/_bulk?_source_includes=y", "{\"update\":{\"_id\":\"3\"}}\n{\"doc\":{\"z\":1}}\n");
  EXPECT_EQ(defaulted["items"][0]["update"]["get"]["_source"].dump(), R"({"y":2})")
      << defaulted.dump();
  HttpResponse got = Call(HttpMethod::kGet, "/i/_source/3");
  EXPECT_EQ(json::parse(got.body), json::parse(R"({"y":2,"z":1})"));
}

TEST(GenerateDocumentIdTest, IdsAreUniqueAndTwentyCharacters) {
  std::set<std::string> ids;
  for (int i = 0; i < 100000; ++i) {
    std::string id = GenerateDocumentId();
    ASSERT_EQ(id.size(), 20u);
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), 100000u);
}

}  // namespace
}  // namespace quidditch::rest
