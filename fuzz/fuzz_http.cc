// fuzz_http: the HTTP layer alone (docs/fuzzing.md): raw request bytes -> ParseHttpRequest ->
// a Router (Content-Type check, the root endpoints and an echo route), plus the
// compression helpers. It links only the HTTP files, so it builds in a minute where fuzz_rest
// (the whole REST API over a node, the engine's parsers) needs the whole tree; use it when
// working on the server. Findings are crashes, sanitizer reports, uncaught exceptions and the
// aborts of the checks below.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "coordination/http_server.h"
#include "coordination/http_types.h"
#include "coordination/rest_root.h"

namespace quidditch {
namespace {

constexpr size_t kMaxBodySize = size_t{1} << 20;

[[noreturn]] void Fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_http invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(std::min<size_t>(detail.size(), 4096)), detail.data());
  std::abort();
}

Router* MakeRouter() {
  auto* router = new Router();
  if (!RegisterRootHandlers(
           NodeIdentity{"fuzz-node", "fuzz-cluster"}, [] { return "uuid"; }, router)
           .ok()) {
    Fail("RegisterRootHandlers", "");
  }
  // Echoes what the handler saw: exercises JSON escaping of arbitrary (decoded) bytes.
  Status status = router->Register(
      {HttpMethod::kGet, HttpMethod::kPost, HttpMethod::kPut}, "/{index}/_echo/{id}",
      [](const HttpRequest& request, const PathParams& params) {
        nlohmann::ordered_json doc = {{"params", request.params},
                                      {"path", params},
                                      {"body", request.body},
                                      {"headers", request.headers.size()}};
        return HttpResponse::Json(
            200, doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
      });
  if (!status.ok()) Fail("Register", status.ToString());
  return router;
}

void CheckResponse(const HttpResponse& response, std::string_view uri) {
  if (response.status < 100 || response.status > 599) Fail("status out of range", uri);
  if (IsJsonContentType(response.content_type) && !response.body.empty() &&
      !nlohmann::json::accept(response.body)) {
    Fail("JSON response is not JSON", response.body);
  }
}

}  // namespace
}  // namespace quidditch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quidditch;
  static const Router* router = MakeRouter();
  static const HttpServerOptions options = [] {
    HttpServerOptions o;
    o.max_body_size = kMaxBodySize;
    o.max_header_size = 8 << 10;
    return o;
  }();

  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The decoders on raw bytes too: a mutated gzip stream rarely survives inside a request.
  for (std::string_view coding : {"gzip", "deflate"}) {
    auto decoded = DecompressBody(bytes, coding, kMaxBodySize);
    if (decoded.ok() && decoded->size() > kMaxBodySize) Fail("decoded past the limit", coding);
  }

  Result<HttpRequest> request = ParseHttpRequest(bytes, options);
  if (!request.ok()) {
    CheckResponse(RequestErrorResponse(request.status()), "<refused>");
    return 0;
  }
  if (request->body.size() > kMaxBodySize) Fail("body past the limit", request->uri);
  if (auto accept = request->headers.Get("Accept-Encoding")) {
    std::string_view coding = ChooseResponseEncoding(*accept);
    if (!coding.empty()) {
      auto compressed = CompressBody(request->body, coding, 3);
      if (!compressed.ok()) Fail("CompressBody", compressed.status().ToString());
      auto back = DecompressBody(*compressed, coding, request->body.size());
      if (!back.ok() || *back != request->body) Fail("compression round trip", coding);
    }
  }
  CheckResponse(router->Dispatch(*request), request->uri);
  return 0;
}
