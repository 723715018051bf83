#include "coordination/rest_root.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "coordination/testing/rest_fixtures.h"

namespace quidditch {
namespace {

HttpRequest MakeRequest(HttpMethod method, std::string_view target) {
  return rest::fixtures::TestRequest(method, target);
}

// A handler that answers "<name>" plus its path params as JSON.
RestHandler Named(std::string name) {
  return [name](const HttpRequest&, const PathParams& params) {
    nlohmann::json doc = {{"route", name}, {"params", params}};
    return HttpResponse::Json(200, doc.dump());
  };
}

nlohmann::json Body(const HttpResponse& response) { return nlohmann::json::parse(response.body); }

TEST(RouterTest, ExactSegmentsTakePrecedenceOverParams) {
  Router router;
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/{index}/_doc/{id}", Named("get_doc")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/_cat/indices", Named("cat_indices")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/{index}/{type}/{id}", Named("typed")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/{index}", Named("get_index")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/_cat", Named("cat")).ok());

  auto response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/_cat/indices"));
  EXPECT_EQ(Body(response)["route"], "cat_indices");
  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/_cat"));
  EXPECT_EQ(Body(response)["route"], "cat");
  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/logs"));
  EXPECT_EQ(Body(response)["route"], "get_index");
  EXPECT_EQ(Body(response)["params"]["index"], "logs");

  // "_doc" is exact, so it beats {type}.
  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/logs/_doc/7"));
  EXPECT_EQ(Body(response)["route"], "get_doc");
  EXPECT_EQ(Body(response)["params"], (nlohmann::json{{"index", "logs"}, {"id", "7"}}));

  // Backtracking: "_cat" then "x" has no exact continuation, so {index}/{type}/{id} matches.
  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/_cat/x/1"));
  EXPECT_EQ(Body(response)["route"], "typed");
  EXPECT_EQ(Body(response)["params"],
            (nlohmann::json{{"index", "_cat"}, {"type", "x"}, {"id", "1"}}));
}

TEST(RouterTest, ParamsArePercentDecodedPerSegment) {
  Router router;
  ASSERT_TRUE(router.Register(HttpMethod::kPut, "/{index}/_doc/{id}", Named("put")).ok());
  auto response = router.Dispatch(MakeRequest(HttpMethod::kPut, "/my%20index/_doc/a%2Fb+c%25"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["params"]["index"], "my index");
  EXPECT_EQ(Body(response)["params"]["id"], "a/b+c%");
}

TEST(RouterTest, MethodSpecificRoutesAndFallbacks) {
  Router router;
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/{index}/_doc/{id}", Named("get")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kDelete, "/{index}/_doc/{id}", Named("delete")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kPost, "/{index}/_doc", Named("index")).ok());

  EXPECT_EQ(Body(router.Dispatch(MakeRequest(HttpMethod::kDelete, "/i/_doc/1")))["route"],
            "delete");

  auto response = router.Dispatch(MakeRequest(HttpMethod::kPost, "/i/_doc/1?refresh=true"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(
      response.body,
      R"({"error":"Incorrect HTTP method for uri [/i/_doc/1?refresh=true] and method [POST], )"
      R"(allowed: [GET, DELETE]","status":405})");
  EXPECT_EQ(response.headers.Get("Allow").value_or(""), "GET,DELETE");

  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/i/_nothing/1/2"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body,
            R"({"error":"no handler found for uri [/i/_nothing/1/2] and method [GET]"})");
  EXPECT_EQ(response.content_type, kJsonContentType);
}

TEST(RouterTest, AllowedMethodsUnionsEveryMatchingRoute) {
  Router router;
  ASSERT_TRUE(router.Register(HttpMethod::kPut, "/{index}", Named("create")).ok());
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/_cat", Named("cat")).ok());
  auto allowed = router.AllowedMethods(MakeRequest(HttpMethod::kPost, "/_cat"));
  EXPECT_EQ(allowed, (std::vector<HttpMethod>{HttpMethod::kGet, HttpMethod::kPut}));
  // A method routed by the less specific route still reaches it.
  EXPECT_EQ(Body(router.Dispatch(MakeRequest(HttpMethod::kPut, "/_cat")))["route"], "create");
}

TEST(RouterTest, OptionsAndUnknownMethods) {
  Router router;
  ASSERT_TRUE(RegisterRootHandlers(
                  NodeIdentity{"n", "c"}, [] { return "u"; }, &router)
                  .ok());
  auto response = router.Dispatch(MakeRequest(HttpMethod::kOptions, "/"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(response.headers.Get("Allow").value_or(""), "GET,HEAD");

  response = router.Dispatch(MakeRequest(HttpMethod::kOptions, "/nowhere"));
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.headers.Contains("Allow"));

  HttpRequest request = MakeRequest(HttpMethod::kOther, "/");
  request.method_name = "PROPFIND";
  response = router.Dispatch(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(Body(response)["error"], "Unexpected http method: PROPFIND, allowed: [GET, HEAD]");
}

TEST(RouterTest, RegisterValidatesPatterns) {
  Router router;
  RestHandler handler = Named("x");
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "no-slash", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/a//b", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/a/", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/{}", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/{a", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/{a}/{a}", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kOther, "/a", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/a", RestHandler()).IsInvalidArgument());

  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/{index}/_doc", handler).ok());
  EXPECT_TRUE(router.Register(HttpMethod::kPut, "/{name}/_x", handler).IsInvalidArgument());
  EXPECT_TRUE(router.Register(HttpMethod::kGet, "/{index}/_doc", handler).IsAlreadyExists());
  // All or nothing: HEAD is not registered when GET collides.
  EXPECT_TRUE(router.Register({HttpMethod::kHead, HttpMethod::kGet}, "/{index}/_doc", handler)
                  .IsAlreadyExists());
  EXPECT_EQ(router.AllowedMethods(MakeRequest(HttpMethod::kGet, "/i/_doc")),
            std::vector<HttpMethod>{HttpMethod::kGet});
}

TEST(RouterTest, UnrecognizedQueryParametersAreRefusedBeforeTheHandler) {
  Router router;
  int calls = 0;
  RestHandler counting = [&calls](const HttpRequest&, const PathParams&) {
    ++calls;
    return HttpResponse::Json(200, "{}");
  };
  ASSERT_TRUE(router
                  .Register(HttpMethod::kPost, "/{index}/_doc/{id}", counting,
                            Params({{"routing", "refresh"}, {"timeout", "routing", "time"}}))
                  .ok());
  // The route's own parameters and those every route accepts.
  EXPECT_EQ(router
                .Dispatch(MakeRequest(HttpMethod::kPost,
                                      "/logs/_doc/1?routing=a&refresh&timeout=1s&pretty&human"
                                      "&error_trace&filter_path=x&format=json"))
                .status,
            200);
  EXPECT_EQ(calls, 1);

  auto response = router.Dispatch(MakeRequest(HttpMethod::kPost, "/my%20logs/_doc/1?refersh=true"));
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(response.status, 400);
  const std::string one =
      "request [/my logs/_doc/1] contains unrecognized parameter: [refersh] -> did you mean "
      "[refresh]?";
  EXPECT_EQ(
      Body(response),
      (nlohmann::json{{"error",
                       {{"root_cause", {{{"type", "illegal_argument_exception"}, {"reason", one}}}},
                        {"type", "illegal_argument_exception"},
                        {"reason", one}}},
                      {"status", 400}}));

  // Several: sorted, plural, each with its suggestions (best first) or none.
  response = router.Dispatch(
      MakeRequest(HttpMethod::kPost, "/logs/_doc/1?timeouts=1&zzz=1&rotting=x&routing=a"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Body(response)["error"]["reason"],
            "request [/logs/_doc/1] contains unrecognized parameters: [rotting] -> did you mean "
            "[routing]?, [timeouts] -> did you mean [timeout]?, [zzz]");
  response = router.Dispatch(MakeRequest(HttpMethod::kPost, "/logs/_doc/1?timeo"));
  EXPECT_EQ(Body(response)["error"]["reason"],
            "request [/logs/_doc/1] contains unrecognized parameter: [timeo] -> did you mean "
            "any of [time, timeout]?");

  // A route registered without parameters accepts only the common ones.
  ASSERT_TRUE(router.Register(HttpMethod::kGet, "/", counting).ok());
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/?pretty")).status, 200);
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/?routing=a")).status, 400);
  EXPECT_EQ(calls, 2);
}

TEST(RouterTest, HandlerExceptionBecomes500) {
  Router router;
  ASSERT_TRUE(router
                  .Register(HttpMethod::kGet, "/boom",
                            [](const HttpRequest&, const PathParams&) -> HttpResponse {
                              throw std::runtime_error("bad things");
                            })
                  .ok());
  auto response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/boom"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(Body(response)["error"]["reason"], "bad things");
  EXPECT_EQ(Body(response)["status"], 500);
}

TEST(RestRootTest, RootDocument) {
  auto doc =
      nlohmann::ordered_json::parse(RootDocument(NodeIdentity{"node-a", "cluster-b"}, "uuid-c"));
  std::vector<std::string> keys;
  for (const auto& item : doc.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "cluster_name", "cluster_uuid", "version",
                                            "tagline"}));
  EXPECT_EQ(doc["name"], "node-a");
  EXPECT_EQ(doc["cluster_name"], "cluster-b");
  EXPECT_EQ(doc["cluster_uuid"], "uuid-c");
  const auto& version = doc["version"];
  EXPECT_EQ(version["distribution"], "opensearch");
  EXPECT_EQ(version["number"], "2.19.0");
  EXPECT_EQ(version["build_type"], "tar");
  EXPECT_EQ(version["build_hash"], BuildHash());
  EXPECT_EQ(BuildHash().rfind("quidditch-", 0), 0u);
  EXPECT_EQ(version["build_date"], BuildDate());
  EXPECT_EQ(version["build_snapshot"], false);
  EXPECT_EQ(version["lucene_version"], "9.12.1");
  EXPECT_EQ(version["minimum_wire_compatibility_version"], "7.10.0");
  EXPECT_EQ(version["minimum_index_compatibility_version"], "7.0.0");
  EXPECT_EQ(doc["tagline"], "The OpenSearch Project: https://opensearch.org/");
}

TEST(RestRootTest, ClusterUuidIsNaUntilTheClusterHasOne) {
  auto uuid = [](std::string_view given) {
    return nlohmann::json::parse(RootDocument(NodeIdentity{"n", "c"}, given))["cluster_uuid"];
  };
  EXPECT_EQ(uuid(""), "_na_");
  EXPECT_EQ(uuid("Zx3-q_AbCdEfGhIjKlMnOp"), "Zx3-q_AbCdEfGhIjKlMnOp");
}

TEST(RestRootTest, BuildDateIsIso8601) {
  std::string date = BuildDate();
  ASSERT_GE(date.size(), 20u) << date;
  EXPECT_EQ(date[4], '-');
  EXPECT_EQ(date[7], '-');
  EXPECT_EQ(date[10], 'T');
  EXPECT_EQ(date.back(), 'Z');
  EXPECT_NE(date.substr(5, 2), "00");
}

TEST(RestRootTest, RootAnswersGetAndHeadOnly) {
  Router router;
  std::string uuid;  // the cluster has not formed yet
  ASSERT_TRUE(RegisterRootHandlers(
                  NodeIdentity{"n", "c"}, [&] { return uuid; }, &router)
                  .ok());
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/")).body,
            RootDocument(NodeIdentity{"n", "c"}, ""));
  uuid = "u";
  auto get = router.Dispatch(MakeRequest(HttpMethod::kGet, "/"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.content_type, kJsonContentType);
  EXPECT_EQ(get.body, RootDocument(NodeIdentity{"n", "c"}, "u")) << "the uuid of the moment";
  // The body is dropped on the wire by the server; the router answers HEAD like GET.
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kHead, "/")).body, get.body);

  auto del = router.Dispatch(MakeRequest(HttpMethod::kDelete, "/"));
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.body, R"({"error":"Incorrect HTTP method for uri [/] and method [DELETE], )"
                      R"(allowed: [GET, HEAD]","status":405})");
  EXPECT_EQ(del.headers.Get("allow").value_or(""), "GET,HEAD");

  auto missing = router.Dispatch(MakeRequest(HttpMethod::kGet, "/foo"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, R"({"error":"no handler found for uri [/foo] and method [GET]"})");
}

TEST(RestRootTest, PrettyAppliesToEveryJsonResponse) {
  Router router;
  ASSERT_TRUE(RegisterRootHandlers(
                  NodeIdentity{"n", "c"}, [] { return "u"; }, &router)
                  .ok());
  auto missing = router.Dispatch(MakeRequest(HttpMethod::kGet, "/foo?pretty=true"));
  EXPECT_EQ(
      missing.body,
      "{\n  \"error\" : \"no handler found for uri [/foo?pretty=true] and method [GET]\"\n}\n");
  auto root = router.Dispatch(MakeRequest(HttpMethod::kGet, "/?pretty"));
  EXPECT_EQ(root.body.rfind("{\n  \"name\" : \"n\",\n", 0), 0u) << root.body;
  EXPECT_EQ(nlohmann::json::parse(root.body), nlohmann::json::parse(RootDocument({"n", "c"}, "u")));
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/?pretty=false")).body,
            RootDocument({"n", "c"}, "u"));
}

TEST(RestRootTest, PrettyPrintJsonMatchesOpenSearchLayout) {
  EXPECT_EQ(PrettyPrintJson(R"({"a":1,"b":[1,2],"c":{},"d":[],"e":{"f":"x"}})"),
            "{\n"
            "  \"a\" : 1,\n"
            "  \"b\" : [\n"
            "    1,\n"
            "    2\n"
            "  ],\n"
            "  \"c\" : { },\n"
            "  \"d\" : [ ],\n"
            "  \"e\" : {\n"
            "    \"f\" : \"x\"\n"
            "  }\n"
            "}\n");
  // Structural characters inside strings, escapes and existing whitespace.
  EXPECT_EQ(PrettyPrintJson(R"( { "k:{" : "a,[\"b\"]\\" , "n" : [ { } ] } )"),
            "{\n  \"k:{\" : \"a,[\\\"b\\\"]\\\\\",\n  \"n\" : [\n    { }\n  ]\n}\n");
  EXPECT_EQ(PrettyPrintJson("42"), "42\n");
  EXPECT_EQ(PrettyPrintJson("[]"), "[ ]\n");
}

TEST(RestRootTest, WantsPretty) {
  EXPECT_TRUE(WantsPretty(MakeRequest(HttpMethod::kGet, "/?pretty")));
  EXPECT_TRUE(WantsPretty(MakeRequest(HttpMethod::kGet, "/?pretty=true")));
  EXPECT_FALSE(WantsPretty(MakeRequest(HttpMethod::kGet, "/?pretty=false")));
  EXPECT_FALSE(WantsPretty(MakeRequest(HttpMethod::kGet, "/")));
}

// --- filter_path -------------------------------------------------------------------------------

nlohmann::ordered_json J(std::string_view text) { return nlohmann::ordered_json::parse(text); }
std::string Filter(std::string_view document, std::string_view filter_path) {
  return FilterJson(J(document), filter_path).dump();
}

TEST(FilterJsonTest, InclusivePathsKeepWholeSubtrees) {
  const char* doc = R"({"took":3,"timed_out":false,"_shards":{"total":1,"failed":0},
                        "hits":{"total":{"value":2},"hits":[{"_id":"1","_source":{"a":1}},
                                                            {"_id":"2","_source":{"a":2}}]}})";
  EXPECT_EQ(Filter(doc, "took"), R"({"took":3})");
  EXPECT_EQ(Filter(doc, "_shards"), R"({"_shards":{"total":1,"failed":0}})");
  EXPECT_EQ(Filter(doc, "took,_shards.total"), R"({"took":3,"_shards":{"total":1}})");
  // Arrays are transparent; the document order is kept, not the filter order.
  EXPECT_EQ(Filter(doc, "hits.hits._id,took"),
            R"({"took":3,"hits":{"hits":[{"_id":"1"},{"_id":"2"}]}})");
  EXPECT_EQ(Filter(doc, "hits.hits._source.a"),
            R"({"hits":{"hits":[{"_source":{"a":1}},{"_source":{"a":2}}]}})");
  // Nothing matches: an empty object, as OpenSearch answers.
  EXPECT_EQ(Filter(doc, "nope"), "{}");
  EXPECT_EQ(Filter(doc, "took.deeper"), "{}");  // a scalar cannot hold the rest of a path
  EXPECT_EQ(Filter(doc, "hits.hits.missing"), "{}");
  // Empty entries are ignored; only empty entries means no filtering.
  EXPECT_EQ(Filter(doc, " took , "), R"({"took":3})");
  EXPECT_EQ(Filter(R"({"a":1})", ","), R"({"a":1})");
}

TEST(FilterJsonTest, Wildcards) {
  const char* doc =
      R"({"nodes":{"n1":{"version":"2.19.0","ip":"10.0.0.1","http":{"publish_address":"10.0.0.1:9200"}},
                                 "n2":{"version":"2.19.0","ip":"10.0.0.2","name":"x"}},"cluster_name":"c"})";
  EXPECT_EQ(Filter(doc, "nodes.*.version"),
            R"({"nodes":{"n1":{"version":"2.19.0"},"n2":{"version":"2.19.0"}}})");
  EXPECT_EQ(
      Filter(doc, "nodes.*.http.publish_address,nodes.*.ip"),
      R"({"nodes":{"n1":{"ip":"10.0.0.1","http":{"publish_address":"10.0.0.1:9200"}},"n2":{"ip":"10.0.0.2"}}})");
  EXPECT_EQ(Filter(doc, "nodes.n*.v*"),
            R"({"nodes":{"n1":{"version":"2.19.0"},"n2":{"version":"2.19.0"}}})");
  EXPECT_EQ(Filter(doc, "*_name"), R"({"cluster_name":"c"})");
  EXPECT_EQ(Filter(doc, "nodes.n2.*a*"), R"({"nodes":{"n2":{"name":"x"}}})");
  // "**" matches any number of levels, zero included.
  EXPECT_EQ(Filter(doc, "**.publish_address"),
            R"({"nodes":{"n1":{"http":{"publish_address":"10.0.0.1:9200"}}}})");
  EXPECT_EQ(Filter(doc, "**.cluster_name"), R"({"cluster_name":"c"})");
  EXPECT_EQ(Filter(doc, "nodes.**.ip"),
            R"({"nodes":{"n1":{"ip":"10.0.0.1"},"n2":{"ip":"10.0.0.2"}}})");
  EXPECT_EQ(Filter(doc, "nodes.n2.**"),
            R"({"nodes":{"n2":{"version":"2.19.0","ip":"10.0.0.2","name":"x"}}})");
  EXPECT_EQ(Filter(doc, "**"), J(doc).dump());
}

TEST(FilterJsonTest, Exclusions) {
  const char* doc =
      R"({"took":3,"_shards":{"total":1,"failed":0},"hits":{"hits":[{"_id":"1","_source":{"a":1}}]},"e":{}})";
  EXPECT_EQ(Filter(doc, "-_shards"),
            R"({"took":3,"hits":{"hits":[{"_id":"1","_source":{"a":1}}]},"e":{}})");
  EXPECT_EQ(Filter(doc, "-hits.hits._source,-took,-e"),
            R"({"_shards":{"total":1,"failed":0},"hits":{"hits":[{"_id":"1"}]}})");
  EXPECT_EQ(Filter(doc, "-_shards.*"),
            R"({"took":3,"hits":{"hits":[{"_id":"1","_source":{"a":1}}]},"e":{}})");
  EXPECT_EQ(Filter(doc, "-**.a"),
            R"({"took":3,"_shards":{"total":1,"failed":0},"hits":{"hits":[{"_id":"1"}]},"e":{}})");
  // Inclusive and exclusive together: what the inclusive paths keep, minus the exclusions.
  EXPECT_EQ(Filter(doc, "_shards,-_shards.failed"), R"({"_shards":{"total":1}})");
  EXPECT_EQ(Filter(doc, "-_shards.failed,_shards,took"), R"({"took":3,"_shards":{"total":1}})");
  EXPECT_EQ(Filter(doc, "-*"), "{}");
  EXPECT_EQ(Filter(doc, "-**"), "{}");
}

TEST(FilterJsonTest, ArrayDocumentsAndErrors) {
  // _cat format=json answers an array of objects.
  EXPECT_EQ(Filter(R"([{"index":"a","health":"green"},{"index":"b","health":"red"}])", "index"),
            R"([{"index":"a"},{"index":"b"}])");
  EXPECT_EQ(Filter(R"([{"index":"a"}])", "nope"), "[]");
  // Scalars of an array reached partially are dropped; reached fully they are kept.
  EXPECT_EQ(Filter(R"({"a":[1,{"b":2,"c":3}],"d":[1,2]})", "a.b,d"),
            R"({"a":[{"b":2}],"d":[1,2]})");
  EXPECT_EQ(
      Filter(
          R"({"error":{"root_cause":[{"type":"t","reason":"r"}],"type":"t","reason":"r"},"status":404})",
          "error.type,status"),
      R"({"error":{"type":"t"},"status":404})");
  // "\." is a dot inside a field name.
  EXPECT_EQ(Filter(R"({"error":{"resource.type":"index","resource":{"type":"x"}}})",
                   R"(error.resource\.type)"),
            R"({"error":{"resource.type":"index"}})");
  EXPECT_EQ(Filter(R"({"error":{"resource.type":"index","resource":{"type":"x"}}})",
                   "error.resource.type"),
            R"({"error":{"resource":{"type":"x"}}})");
}

TEST(FilterJsonTest, DispatchAppliesFilterPathThenPretty) {
  Router router;
  ASSERT_TRUE(router
                  .Register(HttpMethod::kGet, "/x",
                            [](const HttpRequest&, const PathParams&) {
                              return HttpResponse::Json(200, R"({"a":{"b":1,"c":2},"d":3})");
                            })
                  .ok());
  ASSERT_TRUE(router
                  .Register(HttpMethod::kGet, "/text",
                            [](const HttpRequest&, const PathParams&) {
                              HttpResponse response;
                              response.content_type = std::string(kTextContentType);
                              response.body = "a b\n";
                              return response;
                            })
                  .ok());
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/x?filter_path=a.b")).body,
            R"({"a":{"b":1}})");
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/x?filter_path=-a&pretty")).body,
            "{\n  \"d\" : 3\n}\n");
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/x?filter_path=")).body,
            R"({"a":{"b":1,"c":2},"d":3})");
  // Accepted everywhere without changing this response.
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/x?human&error_trace=true")).body,
            R"({"a":{"b":1,"c":2},"d":3})");
  // Text responses are left alone.
  EXPECT_EQ(router.Dispatch(MakeRequest(HttpMethod::kGet, "/text?filter_path=a")).body, "a b\n");
  // Errors and fallbacks are never filtered, as in OpenSearch (newErrorBuilder).
  HttpResponse response =
      router.Dispatch(MakeRequest(HttpMethod::kDelete, "/x?filter_path=status"));
  EXPECT_EQ(response.status, 405);
  EXPECT_NE(response.body.find(R"("error":"Incorrect HTTP method)"), std::string::npos)
      << response.body;
  response = router.Dispatch(MakeRequest(HttpMethod::kGet, "/nothing?filter_path=-error"));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find(R"("error":"no handler found)"), std::string::npos) << response.body;
}

}  // namespace
}  // namespace quidditch
