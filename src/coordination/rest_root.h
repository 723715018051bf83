// The REST router, OpenSearch's fallback responses, and the root endpoint ("GET /").
//
// Router maps (method, path pattern) to a RestHandler. A pattern is a '/'-separated list of
// segments, each either exact ("_doc") or a parameter ("{index}"). Dispatch behaves like
// OpenSearch 2.x's RestController:
//   - the first matching route that has a handler for the method answers; among routes that
//     match, exact segments win over parameters, segment by segment from the left;
//   - a matched request with a body whose Content-Type is not JSON gets
//     CheckRequestContentType's 406 (or 400) before its handler runs;
//   - a path that matches some route but not for this method: 405 with
//     {"error":"Incorrect HTTP method for uri [/] and method [DELETE], allowed: [GET, HEAD]",
//      "status":405} and "Allow: GET,HEAD" (OPTIONS instead gets 200 with that Allow header);
//   - a path that matches nothing: 400 with
//     {"error":"no handler found for uri [/foo] and method [GET]"};
//   - a handler that throws: 500 with an OpenSearch error body.
// Matching uses HttpRequest::path_segments, which are already percent-decoded, so exact
// segments compare against decoded text ("/%5Fcat" matches "/_cat").
// The uri quoted in these messages is HttpRequest::uri, query string included, as OpenSearch
// does.
//
// Response parameters that Dispatch applies to every JSON response, errors and fallbacks
// included, as OpenSearch's RestController does:
//   - `filter_path`: a comma list of paths keeping only the matching parts of the response
//     (see FilterJson); applied first.
//   - `pretty` (present without value, or "true"): pretty-printed; see PrettyPrintJson.
// Query parameters are checked before the handler runs, as OpenSearch's BaseRestHandler does:
// a parameter that is neither one of the route's (Register's `params`) nor one of
// kCommonParams is 400 illegal_argument_exception "request [/idx/_search] contains
// unrecognized parameter: [sze] -> did you mean [size]?" (see UnrecognizedParams).
// Parameters that are accepted everywhere and left to the handlers:
//   - `human`: handlers that report sizes and times add OpenSearch's human-readable twin
//     fields ("size": "1.2kb" next to "size_in_bytes") when it is true; elsewhere it changes
//     nothing, as in OpenSearch.
//   - `error_trace`: OpenSearch adds the Java "stack_trace" of the exception to error bodies;
//     there is no Java stack here, so error bodies are the same with or without it.
//
// Thread safety: Register is not thread-safe and must finish before the first Dispatch;
// Dispatch is const and may run concurrently (it is what HttpServer's Handler calls).
#pragma once

#include <array>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "coordination/http_types.h"

namespace quidditch {

// The version facts Quidditch reports as OpenSearch.
inline constexpr std::string_view kOpenSearchVersion = "2.19.0";
inline constexpr std::string_view kLuceneVersion = "9.12.1";
inline constexpr std::string_view kMinimumWireCompatibilityVersion = "7.10.0";
inline constexpr std::string_view kMinimumIndexCompatibilityVersion = "7.0.0";

// Parameters taken from the path, decoded: route "/{index}/_doc/{id}" on "/a%20b/_doc/1"
// gives {"index": "a b", "id": "1"}.
using PathParams = HttpParams;

// Answers a routed request. `path_params` holds the values of the route's {param} segments.
// Must be thread-safe; may throw (Dispatch answers 500).
using RestHandler = std::function<HttpResponse(const HttpRequest&, const PathParams& path_params)>;

// The query parameters a route accepts besides kCommonParams. Params() joins groups:
// Params({kIndexOptionParams, {"routing"}}).
using RouteParams = std::vector<std::string>;
RouteParams Params(std::initializer_list<RouteParams> groups);

// Accepted on every route (OpenSearch's channel consumes them before the handler's check).
extern const RouteParams kCommonParams;

// OpenSearch's "unrecognized parameter" message for `request`, or "" when every query
// parameter is in `params` or kCommonParams. Unknown names are listed in order; each gets
// "-> did you mean [x]?" (or "any of [x, y]") with the accepted names whose Levenshtein
// similarity (1 - distance / longer length, Lucene's LevenshteinDistance) is above 0.5.
std::string UnrecognizedParams(const HttpRequest& request, const RouteParams& params);

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Routes `method` on `pattern` (e.g. "/{index}/_doc/{id}", "/") to `handler`. Returns
  // InvalidArgument for a pattern that does not start with '/', has an empty or half-braced
  // segment, repeats a parameter name, names a parameter differently from an already
  // registered pattern at the same position ("/{index}" vs "/{name}"), for kOther, or for an
  // empty handler; AlreadyExists when (method, pattern) is taken. On error nothing changes.
  // `params` are the query parameters the route accepts besides kCommonParams; any other is
  // answered 400 without running the handler.
  Status Register(HttpMethod method, std::string_view pattern, RestHandler handler,
                  RouteParams params = {});
  // Registers `handler` for each method; all or nothing.
  Status Register(std::initializer_list<HttpMethod> methods, std::string_view pattern,
                  RestHandler handler, RouteParams params = {});

  // Routes `request` (by request.method and request.path_segments), applies the fallbacks and
  // `pretty`, and returns the response. Never throws.
  HttpResponse Dispatch(const HttpRequest& request) const;

  // The methods routed on `request.path_segments` by any matching pattern, in OpenSearch's
  // method order (as in the Allow header).
  std::vector<HttpMethod> AllowedMethods(const HttpRequest& request) const;

 private:
  struct Node;

  // Depth-first search, exact children before the parameter child; calls visit(node, params)
  // on every node matching the whole path until visit returns true.
  template <typename Visit>
  bool Walk(const Node& node, const std::vector<std::string>& segments, size_t depth,
            PathParams* params, Visit& visit) const;

  HttpResponse Route(const HttpRequest& request) const;

  std::unique_ptr<Node> root_;
};

// Re-indents compact or pretty JSON the way OpenSearch's pretty printer does: two-space
// indent, "key" : value, empty containers as "{ }" and "[ ]", and a trailing newline. The
// input is assumed to be valid JSON; strings and numbers are copied verbatim.
std::string PrettyPrintJson(std::string_view json);

// OpenSearch's response filtering (the `filter_path` parameter, XContent's FilterPath).
// `filter_path` is a comma list of paths of field names separated by '.' ("\." is a dot within
// a name: "error.resource\.type"); a name may contain
// '*' wildcards (matching any run of characters within one name), and a name "**" matches any
// number of levels, zero included. Arrays are transparent: a path applies to every element
// ("hits.hits._id" keeps the _id of each hit). Paths starting with '-' exclude what they
// match. The result keeps every field matched by an inclusive path (whole: "nodes" keeps
// everything below it) minus every field matched by an exclusive path; with no inclusive path
// everything is included first. Objects and arrays that were reached only partially and end up
// with nothing in them are dropped; when nothing remains at all the result is an empty object
// (an empty array for an array document), as OpenSearch answers "{}". Scalars in an array that
// a path reaches only partially are dropped.
nlohmann::ordered_json FilterJson(const nlohmann::ordered_json& document,
                                  std::string_view filter_path);

// True when the request asks for pretty output (`pretty` present with "" or "true").
bool WantsPretty(const HttpRequest& request);

// The identity a node reports on "GET /", from its configuration.
struct NodeIdentity {
  std::string node_name;
  std::string cluster_name;
};

// How the cluster uuid of a state is reported: "_na_" while there is none, as OpenSearch
// reports it until the cluster has formed.
std::string ReportedClusterUuid(std::string_view uuid);

// "quidditch-<project version>": the build_hash reported on "GET /".
std::string BuildHash();
// The ISO-8601 UTC build_date reported on "GET /" (the compile date of this module, or the
// QUIDDITCH_BUILD_DATE macro when the build defines it).
std::string BuildDate();

// The compact JSON root document: name, cluster_name, cluster_uuid, version{...}, tagline.
std::string RootDocument(const NodeIdentity& identity, std::string_view cluster_uuid);

// Registers GET / and HEAD /, answering RootDocument(identity, cluster_uuid()): the uuid is asked
// for on every request, since a node can answer before its cluster has formed.
Status RegisterRootHandlers(const NodeIdentity& identity, std::function<std::string()> cluster_uuid,
                            Router* router);

}  // namespace quidditch
