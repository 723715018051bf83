// fuzz_rest: libFuzzer target over the REST surface of one node (docs/fuzzing.md).
//
// Each input is the raw bytes a client could send on a connection. They go through exactly
// what the server runs on a request:
//   1. ParseHttpRequest (Beast's parser, limits, target decoding, gzip/deflate bodies);
//   2. Router::Dispatch of the real REST API (its Content-Type check, rest::RegisterRestApi
//      over data::testing::SingleNode: a control plane, a data role and real shards in a
//      temporary directory, in this process);
//   3. the response: a JSON response must be valid JSON; a large one must survive the
//      compression the server would apply;
// and the body, when it is JSON, also goes straight to the parsers a search or an index
// creation reaches (Query DSL, aggregations, sort, mappings, analysis settings, documents),
// so that their error paths are fuzzed even when the REST handler rejects the request first.
//
// A crash, a sanitizer report, an uncaught exception or a broken invariant (abort) is a
// finding. The node persists across inputs (starting one per input would make fuzzing ~100x
// slower), so an index created by one input can be searched by the next; it is rebuilt every
// kInputsPerNode inputs to bound the disk and memory it holds.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "coordination/http_server.h"
#include "coordination/http_types.h"
#include "coordination/rest_api.h"
#include "coordination/rest_root.h"
#include "data/testing/single_node.h"
#include "engine/aggs/aggregations.h"
#include "engine/aggs/search_matcher.h"
#include "engine/analysis/analyzer.h"
#include "engine/mapping/mapping.h"
#include "engine/search/filter_cache.h"
#include "engine/search/searcher.h"

namespace quidditch {
namespace {

using nlohmann::json;

constexpr int kInputsPerNode = 2000;
// Small limits: the fuzzer should reach them, and a Content-Length near the limit should not
// make every input allocate 100 MB.
constexpr size_t kMaxBodySize = size_t{1} << 20;
constexpr size_t kMaxHeaderSize = size_t{8} << 10;
// A fixed "now" keeps date math deterministic.
constexpr int64_t kNowMillis = 1767225600000;  // 2026-01-01T00:00:00Z
// NDJSON lines parsed as documents per input.
constexpr int kMaxNdjsonLines = 64;

[[noreturn]] void Fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_rest invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(std::min<size_t>(detail.size(), 4096)), detail.data());
  std::abort();
}

// The mapping and analyzers the direct parser calls use: one field of each common type.
struct Parsers {
  std::shared_ptr<const engine::AnalysisRegistry> analysis;
  engine::Mapping mapping;
  std::vector<engine::Leaf> leaves;  // no segments: parsing only

  static std::unique_ptr<Parsers> Make() {
    auto p = std::make_unique<Parsers>();
    auto analysis = engine::AnalysisRegistry::Create(json::object());
    if (!analysis.ok()) Fail("default analysis registry", analysis.status().ToString());
    p->analysis = *analysis;
    json mappings = json::parse(R"({"properties":{
        "title":{"type":"text","fields":{"raw":{"type":"keyword"}}},
        "body":{"type":"text","analyzer":"english"},
        "tag":{"type":"keyword"},
        "n":{"type":"long"}, "x":{"type":"double"}, "i":{"type":"integer"},
        "when":{"type":"date"}, "flag":{"type":"boolean"},
        "user":{"properties":{"name":{"type":"keyword"},"age":{"type":"integer"}}}}})");
    auto mapping = engine::Mapping::FromJson(mappings, **analysis);
    if (!mapping.ok()) Fail("fixed mapping", mapping.status().ToString());
    p->mapping = std::move(mapping).value();
    return p;
  }

  engine::SearchContext Context() const {
    engine::SearchContext ctx;
    ctx.leaves = &leaves;
    ctx.mapping = &mapping;
    ctx.analysis = analysis.get();
    ctx.now_millis = kNowMillis;
    return ctx;
  }
};

struct Env {
  std::unique_ptr<data::testing::SingleNode> node;
  std::unique_ptr<Router> router;
  int inputs = 0;

  void Restart() {
    router.reset();
    node.reset();
    node = std::make_unique<data::testing::SingleNode>();
    if (!node->status().ok()) Fail("SingleNode", node->status().ToString());
    rest::RestContext context = node->context();
    // Bounded waits: a request that waits on the control plane must not look like a hang.
    context.control_plane_timeout = std::chrono::milliseconds(2000);
    router = std::make_unique<Router>();
    Status status = rest::RegisterRestApi(context, router.get());
    if (!status.ok()) Fail("RegisterRestApi", status.ToString());
    inputs = 0;
  }
};

HttpServerOptions Options() {
  HttpServerOptions options;
  options.max_body_size = kMaxBodySize;
  options.max_header_size = kMaxHeaderSize;
  return options;
}

// Requests that wait for a condition (wait_for_status=..., refresh=wait_for, and
// _cluster/health on an index, which waits for the index to exist) would wait for their full
// timeout when the condition never comes, which libFuzzer reports as a hang though OpenSearch
// waits too. Keep the waiting code path but make the wait short.
void BoundWaits(HttpRequest* request) {
  const std::vector<std::string>& segments = request->path_segments;
  bool waits = segments.size() >= 2 && segments[0] == "_cluster" && segments[1] == "health";
  for (const auto& [name, value] : request->params) {
    if (name.rfind("wait_for", 0) == 0) waits = true;
  }
  if (waits || request->HasParam("timeout")) request->params["timeout"] = "10ms";
  if (request->HasParam("master_timeout")) request->params["master_timeout"] = "10ms";
  if (request->HasParam("cluster_manager_timeout")) {
    request->params["cluster_manager_timeout"] = "10ms";
  }
  if (request->Param("refresh") == "wait_for") request->params["refresh"] = "true";
}

void CheckResponse(const HttpRequest& request, const HttpResponse& response) {
  if (response.status < 100 || response.status > 599) {
    Fail("response status out of range", request.uri);
  }
  if (IsJsonContentType(response.content_type) && !response.body.empty() &&
      !json::accept(response.body)) {
    Fail("JSON response is not JSON: " + request.method_name + " " + request.uri, response.body);
  }
  if (response.body.size() > kMinCompressedBodySize && response.body.size() <= kMaxBodySize) {
    // What the server does for a client with Accept-Encoding: gzip.
    auto compressed = CompressBody(response.body, "gzip", 3);
    if (!compressed.ok()) Fail("CompressBody", compressed.status().ToString());
    auto round_trip = DecompressBody(*compressed, "gzip", response.body.size());
    if (!round_trip.ok() || *round_trip != response.body) Fail("gzip round trip", request.uri);
  }
}

// Feeds one JSON value to the engine's parsers, the way a search or an index creation
// would. Errors are expected; only crashes and sanitizer reports count.
void ParseWithEngine(const Parsers& parsers, const json& body) {
  engine::SearchContext ctx = parsers.Context();
  if (!body.is_object()) {
    (void)engine::ParseQuery(body, ctx);
    return;
  }
  // The body itself as a query ({"match": ...}) and its "query".
  (void)engine::ParseQuery(body, ctx);
  if (auto it = body.find("query"); it != body.end()) (void)engine::ParseQuery(*it, ctx);
  for (const char* key : {"aggs", "aggregations"}) {
    if (auto it = body.find(key); it != body.end()) {
      auto collector = engine::ParseAggregations(*it, engine::ContextForSearch(ctx, "fuzz"));
      if (collector.ok()) (void)(*collector)->Finish();
    }
  }
  if (auto it = body.find("sort"); it != body.end()) {
    auto sort = engine::ParseSort(*it, ctx);
    if (auto after = body.find("search_after"); sort.ok() && after != body.end()) {
      (void)engine::ParseSearchAfter(*after, *sort, ctx);
    }
  }
  // Index creation: settings.analysis (or settings.index.analysis), then mappings against it.
  std::shared_ptr<const engine::AnalysisRegistry> analysis = parsers.analysis;
  if (auto settings = body.find("settings"); settings != body.end() && settings->is_object()) {
    const json* analysis_json = nullptr;
    if (auto a = settings->find("analysis"); a != settings->end()) analysis_json = &*a;
    if (auto index = settings->find("index"); index != settings->end() && index->is_object()) {
      if (auto a = index->find("analysis"); a != index->end()) analysis_json = &*a;
    }
    if (analysis_json != nullptr) {
      auto created = engine::AnalysisRegistry::Create(*analysis_json);
      if (created.ok()) analysis = *created;
    }
  }
  const json* mappings = &body;
  if (auto it = body.find("mappings"); it != body.end()) mappings = &*it;
  if (auto mapping = engine::Mapping::FromJson(*mappings, *analysis); mapping.ok()) {
    (void)mapping->ToJson();
    // A document against the new mapping: the body itself.
    (void)engine::ParseDocument(*mapping, *analysis, "1", body.dump());
  }
  (void)parsers.mapping.Merge(*mappings, *parsers.analysis);
}

void ParseBody(const Parsers& parsers, std::string_view body) {
  // As a document of the fixed mapping: the raw bytes (the document parser reads JSON itself).
  (void)engine::ParseDocument(parsers.mapping, *parsers.analysis, "1", body);
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) {
    ParseWithEngine(parsers, parsed);
    return;
  }
  // NDJSON (_bulk, _msearch): each line on its own.
  int lines = 0;
  size_t start = 0;
  while (start < body.size() && lines < kMaxNdjsonLines) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    ++lines;
    (void)engine::ParseDocument(parsers.mapping, *parsers.analysis, "1", line);
    json value = json::parse(line, nullptr, false);
    if (!value.is_discarded()) ParseWithEngine(parsers, value);
  }
}

}  // namespace
}  // namespace quidditch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quidditch;
  static Env* env = [] {
    // The node is never destroyed with the process's statics: its threads would keep running
    // while spdlog's registry and the filter cache they use are destroyed at exit (a
    // use-after-free ASan reported after a clean run). Those statics are built first, so the
    // exit handler registered after them runs before their destructors and joins the node.
    spdlog::default_logger();
    engine::FilterCache::Default();
    auto* e = new Env();
    e->Restart();
    static Env* at_exit = e;
    std::atexit([] {
      at_exit->router.reset();
      at_exit->node.reset();
    });
    return e;
  }();
  static const Parsers* parsers = Parsers::Make().release();
  static const HttpServerOptions options = Options();

  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<HttpRequest> request = ParseHttpRequest(bytes, options);
  if (!request.ok()) {
    HttpResponse refusal = RequestErrorResponse(request.status());
    CheckResponse(HttpRequest{}, refusal);
    return 0;
  }
  if (auto accept = request->headers.Get("Accept-Encoding")) (void)ChooseResponseEncoding(*accept);

  if (++env->inputs > kInputsPerNode) env->Restart();
  BoundWaits(&*request);
  HttpResponse response = env->router->Dispatch(*request);
  CheckResponse(*request, response);

  if (!request->body.empty()) ParseBody(*parsers, request->body);
  return 0;
}
