// Tests of the shared REST helpers: OpenSearch's error bodies and wording, parameter parsing,
// index resolution and document routing.
#include "coordination/rest_util.h"

#include <gtest/gtest.h>

#include <memory>

namespace quidditch::rest {
namespace {

using std::chrono::milliseconds;

HttpRequest WithParams(std::initializer_list<std::pair<std::string, std::string>> params) {
  HttpRequest request;
  for (const auto& [name, value] : params) request.params[name] = value;
  return request;
}

nlohmann::json BodyOf(const HttpResponse& response) { return nlohmann::json::parse(response.body); }

// RawJson values are spliced verbatim, at any depth; everything around them is written as
// Dump writes it (keys escaped, invalid UTF-8 replaced).
TEST(RestUtilTest, DumpSplicesRawJson) {
  OrderedJson doc = {{"a\"b", 1},
                     {"list", OrderedJson::array({RawJson(R"({ "x" : 1 })"), 2})},
                     {"bad", std::string("\xff")},
                     {"nested", {{"raw", RawJson("[1, 2]")}}}};
  EXPECT_EQ(Dump(doc), std::string(R"({"a\"b":1,"list":[{ "x" : 1 },2],"bad":")") + "\xEF\xBF\xBD" +
                           R"(","nested":{"raw":[1, 2]}})");
  EXPECT_EQ(Dump(OrderedJson{{"a", 1}}), R"({"a":1})");
  EXPECT_EQ(Dump(RawJson("true")), "true");
}

TEST(RestUtilTest, RoutingHashMatchesOpenSearchKnownValues) {
  // Murmur3HashFunctionTests.testKnownValues (the same in Elasticsearch and OpenSearch): the
  // hash of the UTF-16LE bytes of each string.
  EXPECT_EQ(RoutingHash("hell"), static_cast<int32_t>(0x5a0cb7c3));
  EXPECT_EQ(RoutingHash("hello"), static_cast<int32_t>(0xd7c31989));
  EXPECT_EQ(RoutingHash("hello w"), static_cast<int32_t>(0x22ab2984));
  EXPECT_EQ(RoutingHash("hello wo"), static_cast<int32_t>(0xdf0ca123));
  EXPECT_EQ(RoutingHash("hello wor"), static_cast<int32_t>(0xe7744d61));
  EXPECT_EQ(RoutingHash("The quick brown fox jumps over the lazy dog"),
            static_cast<int32_t>(0xe07db09c));
  EXPECT_EQ(RoutingHash("The quick brown fox jumps over the lazy cog"),
            static_cast<int32_t>(0x4e63d2ad));
  EXPECT_EQ(RoutingHash(""), 0);
}

TEST(RestUtilTest, RoutingHashUsesUtf16CodeUnits) {
  // "é" is one UTF-16 unit (0x00e9) and "😀" two (0xd83d 0xde00): the same as the escaped
  // forms built by hand from their code units' bytes would hash. Equal strings hash equal;
  // strings that differ only in a non-ASCII char do not.
  EXPECT_NE(RoutingHash("caf\xc3\xa9"), RoutingHash("cafe"));
  EXPECT_NE(RoutingHash("\xf0\x9f\x98\x80"), RoutingHash("\xef\xbf\xbd"));
  // A malformed byte is U+FFFD, like Java decoding the request.
  EXPECT_EQ(RoutingHash("a\xff"), RoutingHash("a\xef\xbf\xbd"));
}

TEST(RestUtilTest, ShardForRoutingUsesDefaultRoutingShards) {
  EXPECT_EQ(ShardForRouting("anything", 1), 0);
  // 5 shards: routing_num_shards 640, factor 128. hash("hello") = 0xd7c31989 = -675079799;
  // floorMod(-675079799, 640) = 521 -> 521 / 128 = 4. A plain floorMod by 5 would give 1.
  EXPECT_EQ(ShardForRouting("hello", 5), 4);
  // 2 shards: 1024 routing shards, factor 512. hash("hell") = 0x5a0cb7c3 = 1510782915;
  // 1510782915 mod 1024 = 963 -> 1.
  EXPECT_EQ(ShardForRouting("hell", 2), 1);
  // 3 shards: 768, factor 256. hash("hello w") = 0x22ab2984 = 581642628; mod 768 = 132 -> 0.
  EXPECT_EQ(ShardForRouting("hello w", 3), 0);
  for (int shards : {2, 3, 5, 7, 16, 1000, 1500}) {
    for (const char* id : {"1", "2", "abc", "\xc3\xa9t\xc3\xa9"}) {
      int32_t shard = ShardForRouting(id, shards);
      EXPECT_GE(shard, 0);
      EXPECT_LT(shard, shards);
    }
  }
}

TEST(RestUtilTest, ErrorResponseKeepsEngineTypes) {
  HttpResponse response =
      ErrorResponse(Status::InvalidArgument("mapper_parsing_exception: failed to parse field [a]"));
  EXPECT_EQ(response.status, 400);
  nlohmann::json body = BodyOf(response);
  EXPECT_EQ(body["status"], 400);
  EXPECT_EQ(body["error"]["type"], "mapper_parsing_exception");
  EXPECT_EQ(body["error"]["reason"], "failed to parse field [a]");
  ASSERT_EQ(body["error"]["root_cause"].size(), 1u);
  EXPECT_EQ(body["error"]["root_cause"][0]["type"], "mapper_parsing_exception");
  EXPECT_EQ(response.body.find("{\"error\":{\"root_cause\":[{\"type\""), 0u);
}

TEST(RestUtilTest, ErrorTypesFollowCodes) {
  EXPECT_EQ(ErrorTypeOf(Status::NotFound("x")),
            std::make_pair(std::string("resource_not_found_exception"), 404));
  EXPECT_EQ(ErrorTypeOf(Status::AlreadyExists("x")),
            std::make_pair(std::string("resource_already_exists_exception"), 400));
  EXPECT_EQ(ErrorTypeOf(Status::InvalidArgument("x")),
            std::make_pair(std::string("illegal_argument_exception"), 400));
  EXPECT_EQ(ErrorTypeOf(Status::Conflict("x")),
            std::make_pair(std::string("version_conflict_engine_exception"), 409));
  EXPECT_EQ(ErrorTypeOf(Status::Unavailable("no leader")),
            std::make_pair(std::string("master_not_discovered_exception"), 503));
  EXPECT_EQ(ErrorTypeOf(Status::Unavailable("no such shard [i][0]")),
            std::make_pair(std::string("no_shard_available_action_exception"), 503));
  EXPECT_EQ(ErrorTypeOf(Status::Timeout("x")),
            std::make_pair(std::string("timeout_exception"), 408));
  EXPECT_EQ(ErrorTypeOf(Status::IOError("disk")), std::make_pair(std::string("exception"), 500));
  EXPECT_EQ(ErrorTypeOf(Status::NotFound("document_missing_exception: [1]: document missing")),
            std::make_pair(std::string("document_missing_exception"), 404));
  // An unknown type keeps its name and takes the status of its code.
  EXPECT_EQ(ErrorTypeOf(Status::NotFound("weird_thing_exception: x")),
            std::make_pair(std::string("weird_thing_exception"), 404));
  EXPECT_EQ(StatusForErrorType("index_not_found_exception"), 404);
  EXPECT_EQ(StatusForErrorType("search_phase_execution_exception"), 400);
  EXPECT_EQ(StatusForErrorType("no_such_type_exception"), 400);
}

TEST(RestUtilTest, IndexNotFoundHasOpenSearchMetadata) {
  HttpResponse response = IndexNotFound("logs");
  EXPECT_EQ(response.status, 404);
  nlohmann::json body = BodyOf(response);
  for (const nlohmann::json& error : {body["error"], body["error"]["root_cause"][0]}) {
    EXPECT_EQ(error["type"], "index_not_found_exception");
    EXPECT_EQ(error["reason"], "no such index [logs]");
    EXPECT_EQ(error["index"], "logs");
    EXPECT_EQ(error["index_uuid"], "_na_");
    EXPECT_EQ(error["resource.type"], "index_or_alias");
    EXPECT_EQ(error["resource.id"], "logs");
  }
  EXPECT_EQ(body["status"], 404);

  OrderedJson exists = ErrorObject(
      Status::AlreadyExists("resource_already_exists_exception: index [a/u1] already exists"), "a",
      "u1");
  EXPECT_EQ(Dump(exists),
            "{\"type\":\"resource_already_exists_exception\",\"reason\":\"index [a/u1] already "
            "exists\",\"index\":\"a\",\"index_uuid\":\"u1\"}");
}

TEST(RestUtilTest, AcknowledgedAndDump) {
  HttpResponse response = Acknowledged();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"acknowledged\":true}");
  EXPECT_EQ(Acknowledged(false).body, "{\"acknowledged\":false}");
  // Invalid UTF-8 is replaced instead of throwing.
  EXPECT_EQ(Dump(OrderedJson{{"a", std::string("x\xff")}}), "{\"a\":\"x\xef\xbf\xbd\"}");
}

TEST(RestUtilTest, ParseJsonBody) {
  HttpRequest request;
  Result<std::optional<nlohmann::json>> empty = ParseJsonBody(request);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  request.body = " \n ";
  ASSERT_TRUE(ParseJsonBody(request).ok());
  EXPECT_FALSE(ParseJsonBody(request)->has_value());

  request.body = R"({"a": 1})";
  Result<std::optional<nlohmann::json>> object = ParseJsonBody(request);
  ASSERT_TRUE(object.ok());
  EXPECT_EQ((**object)["a"], 1);

  request.body = "{\n\"a\": }";
  Result<std::optional<nlohmann::json>> bad = ParseJsonBody(request);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorTypeOf(bad.status()).first, "x_content_parse_exception");
  EXPECT_NE(bad.status().message().find("[2:"), std::string::npos) << bad.status().message();

  request.body = "[1]";
  Result<std::optional<nlohmann::json>> array = ParseJsonBody(request);
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(ErrorTypeOf(array.status()).first, "parsing_exception");
  EXPECT_TRUE(ParseJsonBody(request, /*require_object=*/false).ok());
}

TEST(RestUtilTest, BoolParam) {
  EXPECT_TRUE(*BoolParam(WithParams({}), "x", true));
  EXPECT_FALSE(*BoolParam(WithParams({}), "x", false));
  EXPECT_TRUE(*BoolParam(WithParams({{"x", ""}}), "x", false));
  EXPECT_TRUE(*BoolParam(WithParams({{"x", "true"}}), "x", false));
  EXPECT_FALSE(*BoolParam(WithParams({{"x", "false"}}), "x", true));
  Result<bool> bad = BoolParam(WithParams({{"x", "yes"}}), "x", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "illegal_argument_exception: Failed to parse value [yes] as only [true] or [false] "
            "are allowed.");
}

TEST(RestUtilTest, IntParam) {
  EXPECT_EQ(*IntParam(WithParams({}), "size", 10), 10);
  EXPECT_EQ(*IntParam(WithParams({{"size", "25"}}), "size", 10), 25);
  EXPECT_EQ(*IntParam(WithParams({{"size", "-3"}}), "size", 10), -3);
  Result<int64_t> bad = IntParam(WithParams({{"size", "2x"}}), "size", 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "illegal_argument_exception: Failed to parse long parameter [size] with value [2x]");
  EXPECT_FALSE(IntParam(WithParams({{"size", ""}}), "size", 10).ok());
}

TEST(RestUtilTest, TimeValues) {
  auto ms = [](std::string_view v) { return ParseTimeValue(v, "timeout"); };
  EXPECT_EQ(**ms("30s"), milliseconds(30000));
  EXPECT_EQ(**ms("1m"), milliseconds(60000));
  EXPECT_EQ(**ms("500ms"), milliseconds(500));
  EXPECT_EQ(**ms("2h"), milliseconds(7200000));
  EXPECT_EQ(**ms("1d"), milliseconds(86400000));
  EXPECT_EQ(**ms("1500micros"), milliseconds(1));
  EXPECT_EQ(**ms(" 10S "), milliseconds(10000));
  EXPECT_EQ(**ms("0"), milliseconds(0));
  EXPECT_FALSE(ms("-1")->has_value());
  EXPECT_FALSE(ms("-1s")->has_value());
  EXPECT_EQ(ms("10").status().message(),
            "illegal_argument_exception: failed to parse setting [timeout] with value [10] as a "
            "time value: unit is missing or unrecognized");
  // "M" is months in OpenSearch, so minutes are lower-case only.
  EXPECT_FALSE(ms("1M").ok());
  EXPECT_EQ(ms("1.5s").status().message(),
            "illegal_argument_exception: failed to parse [1.5s], fractional time values are not "
            "supported");
  EXPECT_EQ(ms("xs").status().message(), "illegal_argument_exception: failed to parse [xs]");
  EXPECT_EQ(ms("-2s").status().message(),
            "illegal_argument_exception: failed to parse setting [timeout] with value [-2s] as a "
            "time value: negative durations are not supported");

  EXPECT_EQ(*TimeParam(WithParams({}), "timeout", milliseconds(5)), milliseconds(5));
  EXPECT_EQ(*TimeParam(WithParams({{"timeout", "2s"}}), "timeout", milliseconds(5)),
            milliseconds(2000));
  EXPECT_EQ(*TimeParam(WithParams({{"timeout", "-1"}}), "timeout", milliseconds(5)),
            milliseconds::max());
  EXPECT_FALSE(TimeParam(WithParams({{"timeout", "soon"}}), "timeout", milliseconds(5)).ok());
}

TEST(RestUtilTest, RefreshParam) {
  EXPECT_EQ(*RefreshParam(WithParams({})), data::RefreshPolicy::kNone);
  EXPECT_EQ(*RefreshParam(WithParams({{"refresh", "false"}})), data::RefreshPolicy::kNone);
  EXPECT_EQ(*RefreshParam(WithParams({{"refresh", ""}})), data::RefreshPolicy::kRefresh);
  EXPECT_EQ(*RefreshParam(WithParams({{"refresh", "true"}})), data::RefreshPolicy::kRefresh);
  EXPECT_EQ(*RefreshParam(WithParams({{"refresh", "wait_for"}})), data::RefreshPolicy::kWaitFor);
  Result<data::RefreshPolicy> bad = RefreshParam(WithParams({{"refresh", "now"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "illegal_argument_exception: Unknown value for refresh: [now].");
}

TEST(RestUtilTest, SplitCommaAndGlob) {
  EXPECT_EQ(SplitComma(" a, b ,,c,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitComma("").empty());
  EXPECT_TRUE(GlobMatch("log*", "logs-1"));
  EXPECT_TRUE(GlobMatch("*-1", "logs-1"));
  EXPECT_TRUE(GlobMatch("l*s*1", "logs-1"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("log?", "logs"));
  EXPECT_FALSE(GlobMatch("a*b", "acbd"));
  EXPECT_TRUE(GlobMatch("a*b*b", "abbb"));
}

cluster::ClusterState StateWith(std::initializer_list<std::string> names) {
  cluster::ClusterState state;
  for (const std::string& name : names) {
    auto index = std::make_shared<cluster::Index>();
    index->name = name;
    state.indices[name] = index;
  }
  return state;
}

TEST(RestUtilTest, ResolveIndices) {
  cluster::ClusterState state = StateWith({"logs-1", "logs-2", "metrics", "other"});
  IndicesOptions options;
  using Names = std::vector<std::string>;
  EXPECT_EQ(*ResolveIndices(state, "_all", options),
            (Names{"logs-1", "logs-2", "metrics", "other"}));
  EXPECT_EQ(*ResolveIndices(state, "", options), (Names{"logs-1", "logs-2", "metrics", "other"}));
  EXPECT_EQ(*ResolveIndices(state, "*", options), (Names{"logs-1", "logs-2", "metrics", "other"}));
  EXPECT_EQ(*ResolveIndices(state, "metrics,logs-*", options),
            (Names{"logs-1", "logs-2", "metrics"}));
  EXPECT_EQ(*ResolveIndices(state, "logs-*,-logs-2", options), (Names{"logs-1"}));
  EXPECT_EQ(*ResolveIndices(state, "metrics,metrics", options), (Names{"metrics"}));

  Result<Names> missing = ResolveIndices(state, "metrics,nope", options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "index_not_found_exception: no such index [nope]");
  // Before any wildcard, "-x" is a name.
  EXPECT_FALSE(ResolveIndices(state, "-metrics", options).ok());

  EXPECT_TRUE(ResolveIndices(state, "nomatch*", options)->empty());
  options.allow_no_indices = false;
  EXPECT_FALSE(ResolveIndices(state, "nomatch*", options).ok());
  options.ignore_unavailable = true;
  EXPECT_EQ(*ResolveIndices(state, "metrics,nope", options), (Names{"metrics"}));

  EXPECT_TRUE(ResolveIndices(StateWith({}), "_all", IndicesOptions{})->empty());
  IndicesOptions strict;
  strict.allow_no_indices = false;
  EXPECT_FALSE(ResolveIndices(StateWith({}), "_all", strict).ok());
}

// "logs-1" (filtered alias "errors", alias "logs" as write index), "logs-2" (unfiltered alias
// "logs", filtered "errors" with search routing), "old" closed.
cluster::ClusterState AliasedState() {
  cluster::ClusterState state = StateWith({"logs-1", "logs-2", "old"});
  auto with = [&](const std::string& name, auto edit) {
    auto index = std::make_shared<cluster::Index>(*state.indices[name]);
    edit(*index);
    state.indices[name] = index;
  };
  const nlohmann::json error_filter = {{"term", {{"level", "error"}}}};
  with("logs-1", [&](cluster::Index& i) {
    i.aliases["errors"].filter = error_filter;
    i.aliases["logs"].is_write_index = true;
  });
  with("logs-2", [&](cluster::Index& i) {
    i.aliases["logs"] = {};
    i.aliases["errors"].filter = error_filter;
    i.aliases["errors"].search_routing = "a,b";
  });
  with("old", [](cluster::Index& i) { i.closed = true; });
  return state;
}

TEST(RestUtilTest, ResolveAliasesFiltersAndClosedIndices) {
  const cluster::ClusterState state = AliasedState();
  using Names = std::vector<std::string>;
  const IndicesOptions options;
  EXPECT_EQ(*ResolveIndices(state, "logs", options), (Names{"logs-1", "logs-2"}));
  EXPECT_EQ(*ResolveIndices(state, "err*", options), (Names{"logs-1", "logs-2"}));
  EXPECT_EQ(*ResolveIndices(state, "*", options), (Names{"logs-1", "logs-2"}));  // "old" closed

  Result<std::vector<ResolvedIndex>> errors = ResolveIndicesWithFilters(state, "errors", options);
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].filters.size(), 1u);
  EXPECT_TRUE((*errors)[0].search_routing.empty());
  EXPECT_EQ((*errors)[1].search_routing, (Names{"a", "b"}));
  // logs-2 also through an unfiltered alias, logs-1 named itself: no filter, no routing.
  Result<std::vector<ResolvedIndex>> mixed =
      ResolveIndicesWithFilters(state, "errors,logs-1,logs", options);
  ASSERT_TRUE(mixed.ok());
  for (const ResolvedIndex& index : *mixed) {
    EXPECT_TRUE(index.filters.empty()) << index.name;
    EXPECT_TRUE(index.search_routing.empty()) << index.name;
  }
  EXPECT_EQ(ApplyAliasFilters(nlohmann::json(), {{{"term", {{"a", 1}}}}, {{"term", {{"b", 2}}}}}),
            nlohmann::json::parse(R"({"bool":{"must":{"match_all":{}},
                "filter":{"bool":{"should":[{"term":{"a":1}},{"term":{"b":2}}]}}}})"));

  // Closed: named is index_closed_exception (its fields in the error), skipped with
  // ignore_unavailable, listed where closed indices are allowed.
  Result<Names> closed = ResolveIndices(state, "old", options);
  ASSERT_FALSE(closed.ok());
  OrderedJson error = ErrorObject(closed.status());
  EXPECT_EQ(error["type"], "index_closed_exception");
  EXPECT_EQ(error["reason"], "closed");
  EXPECT_EQ(error["index"], "old");
  IndicesOptions lenient;
  lenient.ignore_unavailable = true;
  EXPECT_EQ(*ResolveIndices(state, "old,logs-1", lenient), (Names{"logs-1"}));
  IndicesOptions all;
  all.expand_closed = true;
  all.forbid_closed = false;
  EXPECT_EQ(*ResolveIndices(state, "*", all), (Names{"logs-1", "logs-2", "old"}));
  IndicesOptions deleting = all;
  deleting.ignore_aliases = true;
  EXPECT_EQ(*ResolveIndices(state, "err*,o*", deleting), (Names{"old"}));
  EXPECT_FALSE(ResolveIndices(state, "logs", deleting).ok());

  // Document targets.
  EXPECT_EQ(WriteTarget(state, "logs", "")->index, "logs-1");
  EXPECT_EQ(WriteTarget(state, "new-index", "r")->routing, "r");
  EXPECT_FALSE(WriteTarget(state, "errors", "").ok());  // two indices, no write index
  EXPECT_FALSE(ReadTarget(state, "logs", "").ok());
  EXPECT_EQ(ReadTarget(state, "logs-2", "")->index, "logs-2");
}

TEST(RestUtilTest, IndicesOptionsFromRequest) {
  Result<IndicesOptions> options =
      IndicesOptionsOf(WithParams({{"ignore_unavailable", "true"}, {"allow_no_indices", "false"}}),
                       IndicesOptions{});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->ignore_unavailable);
  EXPECT_FALSE(options->allow_no_indices);
  EXPECT_TRUE(options->expand_open);
  EXPECT_FALSE(IndicesOptionsOf(WithParams({{"expand_wildcards", "none"}}), {})->expand_open);
  EXPECT_TRUE(IndicesOptionsOf(WithParams({{"expand_wildcards", "open,hidden"}}), {})->expand_open);
  EXPECT_TRUE(
      IndicesOptionsOf(WithParams({{"expand_wildcards", "open,hidden"}}), {})->expand_hidden);
  EXPECT_TRUE(IndicesOptionsOf(WithParams({{"expand_wildcards", "all"}}), {})->expand_hidden);
  EXPECT_FALSE(IndicesOptionsOf(WithParams({{"expand_wildcards", "open"}}), {})->expand_hidden);
  Result<IndicesOptions> bad = IndicesOptionsOf(WithParams({{"expand_wildcards", "bogus"}}), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "illegal_argument_exception: No valid expand wildcard value [bogus]");
  EXPECT_FALSE(IndicesOptionsOf(WithParams({{"ignore_unavailable", "maybe"}}), {}).ok());

  cluster::ClusterState state = StateWith({"a"});
  IndicesOptions none;
  none.expand_open = false;
  EXPECT_TRUE(ResolveIndices(state, "a*", none)->empty());
  EXPECT_EQ(*ResolveIndices(state, "a", none), std::vector<std::string>{"a"});
}

TEST(RestUtilTest, ShardServicesFollowRouting) {
  // Two fake node ids mapped to distinct (never dereferenced) service pointers: the helpers
  // only choose among them.
  auto* local = reinterpret_cast<data::ShardService*>(0x1000);
  RestContext context;
  context.shard_service = [local](const std::string& node) -> data::ShardService* {
    return node == "n1" ? local : nullptr;
  };
  cluster::Index index;
  index.name = "i";
  cluster::ShardRouting shard;
  shard.copies.push_back({true, cluster::ShardState::kInitializing, "n1", "a1"});
  index.routing.shards.push_back(shard);

  Result<data::ShardService*> primary = PrimaryShardService(context, index, 0);
  ASSERT_FALSE(primary.ok());
  EXPECT_EQ(ErrorTypeOf(primary.status()).first, "no_shard_available_action_exception");
  EXPECT_FALSE(ReadShardService(context, index, 0).ok());

  index.routing.shards[0].copies[0].state = cluster::ShardState::kStarted;
  EXPECT_EQ(*PrimaryShardService(context, index, 0), local);
  EXPECT_EQ(*ReadShardService(context, index, 0), local);
  EXPECT_FALSE(PrimaryShardService(context, index, 1).ok());
  EXPECT_FALSE(ReadShardService(context, index, -1).ok());

  // A started primary on a node we cannot reach: unavailable; a started replica here serves
  // reads.
  index.routing.shards[0].copies[0].node_id = "n2";
  index.routing.shards[0].copies.push_back({false, cluster::ShardState::kStarted, "n1", "a2"});
  EXPECT_FALSE(PrimaryShardService(context, index, 0).ok());
  EXPECT_EQ(*ReadShardService(context, index, 0), local);
}

TEST(RestUtilTest, ReadClusterStateWithoutControlPlane) {
  RestContext context;
  Result<cluster::StatePtr> state = ReadClusterState(context);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(ErrorTypeOf(state.status()),
            std::make_pair(std::string("master_not_discovered_exception"), 503));
}

}  // namespace
}  // namespace quidditch::rest
