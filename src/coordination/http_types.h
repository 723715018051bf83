// HTTP value types of the REST layer: HttpRequest, HttpResponse and their helpers.
//
// These are plain values with no dependency on Boost.Beast, so REST handlers and their tests
// never see the transport. The HTTP server (http_server.h) converts to and from the wire.
//
// Thread safety: the types here are ordinary values; const access from several threads is
// safe, mutation needs external synchronization. The free functions are thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace quidditch {

// The methods OpenSearch knows (RestRequest.Method), in OpenSearch's declaration order; that
// order is also the order in which Allow headers list them. kOther is any other token, whose
// spelling is kept in HttpRequest::method_name.
enum class HttpMethod {
  kGet,
  kPost,
  kPut,
  kDelete,
  kOptions,
  kHead,
  kPatch,
  kTrace,
  kConnect,
  kOther
};
inline constexpr int kNumHttpMethods = static_cast<int>(HttpMethod::kOther);

// "GET", "POST", ...; "OTHER" for kOther.
std::string_view HttpMethodName(HttpMethod method);
// Maps an exact, case-sensitive method token ("GET") to its enum; kOther when unknown.
HttpMethod ParseHttpMethod(std::string_view token);

// The content type of every JSON response, as OpenSearch spells it.
inline constexpr std::string_view kJsonContentType = "application/json; charset=UTF-8";
inline constexpr std::string_view kTextContentType = "text/plain; charset=UTF-8";

// True when `content_type` is JSON ("application/json", any parameters, any case).
bool IsJsonContentType(std::string_view content_type);

// An ordered list of header fields with case-insensitive name lookup. Repeated names are kept
// in order of insertion.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field, keeping any existing fields of the same name.
  void Add(std::string name, std::string value);
  // Replaces every field named `name` (case-insensitive) with a single one.
  void Set(std::string name, std::string value);
  // Removes every field named `name`; returns how many were removed.
  size_t Remove(std::string_view name);

  // The value of the first field named `name`, or nullopt. The view stays valid until this
  // object is modified or destroyed.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Contains(std::string_view name) const { return Get(name).has_value(); }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// Query and path parameters. Transparent comparator so lookups take string_view.
using HttpParams = std::map<std::string, std::string, std::less<>>;

// One HTTP request as handlers see it.
struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  // The method token exactly as received ("GET", "PROPFIND"); meaningful for kOther.
  std::string method_name = "GET";
  // 10 for HTTP/1.0, 11 for HTTP/1.1.
  int version = 11;
  // The request target as received, query string included ("/idx/_search?pretty"); this is
  // what OpenSearch calls the uri and quotes in its error messages.
  std::string uri;
  // The path of `uri`, still percent-encoded ("/my%20idx/_doc/1").
  std::string path;
  // The '/'-separated segments of `path`, each percent-decoded on its own (so an encoded
  // "%2F" stays inside its segment); empty segments are dropped, like OpenSearch's PathTrie.
  // '+' is not special in paths. "/" has no segments.
  std::vector<std::string> path_segments;
  // Decoded query parameters ('+' is a space); a parameter without '=' has the value ""; when
  // a name repeats, the last value wins, as in OpenSearch.
  HttpParams params;
  HttpHeaders headers;
  std::string body;
  // "ip:port" of the peer; empty when unknown.
  std::string remote_address;

  bool HasParam(std::string_view name) const { return params.find(name) != params.end(); }
  // The value of query parameter `name`, or `fallback` when absent.
  std::string_view Param(std::string_view name, std::string_view fallback = {}) const;
};

// One HTTP response as handlers produce it.
struct HttpResponse {
  int status = 200;
  // Sent as Content-Type unless empty.
  std::string content_type = std::string(kJsonContentType);
  // Extra header fields. Content-Length, Transfer-Encoding and Connection are owned by the
  // server and ignored here; a "Connection: close" field asks the server to close the
  // connection after this response.
  HttpHeaders headers;
  std::string body;

  // A JSON response with `body` (already serialized).
  static HttpResponse Json(int status, std::string body);
};

// True when a request body of `content_type` is JSON to OpenSearch (XContentType.JSON):
// "application/json" or "application/x-ndjson" (newline-delimited JSON, as _bulk and
// _msearch clients send), any parameters, any case.
bool IsJsonRequestContentType(std::string_view content_type);

// Checks a request's Content-Type the way OpenSearch does before a routed handler runs; only
// requests with a body are checked. Returns nullopt when the body is JSON (see
// IsJsonRequestContentType), else the response OpenSearch gives:
//   - no Content-Type: 406 {"error":"Content-Type header is missing","status":406};
//   - a well-formed media type that is not JSON: 406 {"error":"Content-Type header [text/plain]
//     is not supported","status":406} (OpenSearch also reads SMILE, YAML and CBOR; we do not);
//   - more than one Content-Type field, or one that is not "type/subtype": 400
//     content_type_header_exception, as OpenSearch's bad-request path reports it.
std::optional<HttpResponse> CheckRequestContentType(const HttpRequest& request);

// Percent-decodes `in`. With `plus_as_space`, '+' becomes ' ' (query strings). Returns
// InvalidArgument for a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Fills request->uri, path, path_segments and params from a request target such as
// "/a%20b/_doc?pretty&q=x+y". Returns InvalidArgument (and leaves *request partly filled)
// when a path segment or query component has a malformed escape.
Status ParseRequestTarget(std::string_view target, HttpRequest* request);

// The OpenSearch error document for an exception of type `type` (e.g.
// "illegal_argument_exception") with message `reason` and HTTP status `status`:
// {"error":{"root_cause":[{"type":T,"reason":R}],"type":T,"reason":R},"status":N}
std::string OpenSearchErrorBody(std::string_view type, std::string_view reason, int status);

// A JSON response whose body is OpenSearchErrorBody(type, reason, status).
HttpResponse OpenSearchErrorResponse(int status, std::string_view type, std::string_view reason);

}  // namespace quidditch
