#include "coordination/rest_root.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/glob.h"

namespace quidditch {

namespace {

using OrderedJson = nlohmann::ordered_json;

std::string Dump(const OrderedJson& json) {
  // Replace invalid UTF-8 (messages may quote client input) rather than throw.
  return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

std::string MethodToken(const HttpRequest& request) {
  return request.method == HttpMethod::kOther ? request.method_name
                                              : std::string(HttpMethodName(request.method));
}

// "[GET, HEAD]" (Java's Set.toString) and "GET,HEAD" (the Allow header).
std::string JoinMethods(const std::vector<HttpMethod>& methods, std::string_view separator) {
  std::string out;
  for (HttpMethod method : methods) {
    if (!out.empty()) out += separator;
    out += HttpMethodName(method);
  }
  return out;
}

// One parsed pattern segment.
struct PatternSegment {
  std::string text;  // the exact text, or the parameter name
  bool is_param = false;
};

Result<std::vector<PatternSegment>> ParsePattern(std::string_view pattern) {
  if (pattern.empty() || pattern[0] != '/') {
    return Status::InvalidArgument("route pattern must start with '/': [" + std::string(pattern) +
                                   "]");
  }
  std::vector<PatternSegment> segments;
  if (pattern == "/") return segments;
  std::set<std::string, std::less<>> names;
  size_t start = 1;
  while (start <= pattern.size()) {
    size_t slash = pattern.find('/', start);
    if (slash == std::string_view::npos) slash = pattern.size();
    std::string_view segment = pattern.substr(start, slash - start);
    start = slash + 1;
    if (segment.empty()) {
      return Status::InvalidArgument("route pattern has an empty segment: [" +
                                     std::string(pattern) + "]");
    }
    bool braced = segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
    std::string_view inner = braced ? segment.substr(1, segment.size() - 2) : segment;
    if (inner.empty() || inner.find_first_of("{}") != std::string_view::npos) {
      return Status::InvalidArgument("route pattern has a malformed segment [" +
                                     std::string(segment) + "]: [" + std::string(pattern) + "]");
    }
    if (braced && !names.insert(std::string(inner)).second) {
      return Status::InvalidArgument("route pattern repeats parameter {" + std::string(inner) +
                                     "}: [" + std::string(pattern) + "]");
    }
    segments.push_back(PatternSegment{std::string(inner), braced});
  }
  return segments;
}

// --- filter_path -------------------------------------------------------------------------------

using FilterSegments = std::vector<std::string>;

// A position in one filter: segments[pos] is the next name to match.
struct FilterState {
  const FilterSegments* segments;
  size_t pos;
};

// How a set of filter states relates to one field.
struct FieldMatch {
  bool full = false;              // some filter ends at this field
  std::vector<FilterState> next;  // states to apply below the field
};

// Expands "**" (which may match zero levels) so that every state points at a concrete name or
// at the end; a state at the end is a full match of the field that led there.
void AddState(const FilterSegments* segments, size_t pos, FieldMatch* match) {
  while (pos < segments->size() && (*segments)[pos] == "**") {
    match->next.push_back(FilterState{segments, pos});  // "**" consumes this level, stays
    ++pos;                                              // ... or matches no level at all
  }
  if (pos == segments->size()) {
    match->full = true;
  } else {
    match->next.push_back(FilterState{segments, pos});
  }
}

FieldMatch MatchField(const std::vector<FilterState>& states, std::string_view name) {
  FieldMatch match;
  for (const FilterState& state : states) {
    const std::string& segment = (*state.segments)[state.pos];
    if (segment == "**") {
      // Consumes `name`; below it, it may consume more levels or none (AddState adds both).
      AddState(state.segments, state.pos, &match);
    } else if (GlobMatch(segment, name)) {
      AddState(state.segments, state.pos + 1, &match);
    }
  }
  return match;
}

// Keeps what `states` reach below `value` (a field matched partially). Returns nullopt when
// nothing is left.
std::optional<OrderedJson> IncludeBelow(const OrderedJson& value,
                                        const std::vector<FilterState>& states) {
  if (value.is_object()) {
    OrderedJson out = OrderedJson::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      FieldMatch match = MatchField(states, it.key());
      if (match.full) {
        out[it.key()] = it.value();
      } else if (!match.next.empty()) {
        std::optional<OrderedJson> child = IncludeBelow(it.value(), match.next);
        if (child) out[it.key()] = std::move(*child);
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  if (value.is_array()) {
    OrderedJson out = OrderedJson::array();
    for (const OrderedJson& element : value) {
      std::optional<OrderedJson> child = IncludeBelow(element, states);
      if (child) out.push_back(std::move(*child));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  return std::nullopt;  // a scalar cannot hold the rest of a path
}

// Drops what `states` reach below `value`. Returns nullopt when a container that had content
// lost all of it.
std::optional<OrderedJson> ExcludeBelow(const OrderedJson& value,
                                        const std::vector<FilterState>& states) {
  if (value.is_object()) {
    if (value.empty()) return value;
    OrderedJson out = OrderedJson::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      FieldMatch match = MatchField(states, it.key());
      if (match.full) continue;
      if (match.next.empty()) {
        out[it.key()] = it.value();
      } else if (std::optional<OrderedJson> child = ExcludeBelow(it.value(), match.next)) {
        out[it.key()] = std::move(*child);
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  if (value.is_array()) {
    if (value.empty()) return value;
    OrderedJson out = OrderedJson::array();
    for (const OrderedJson& element : value) {
      if (std::optional<OrderedJson> child = ExcludeBelow(element, states)) {
        out.push_back(std::move(*child));
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  return value;
}

}  // namespace

OrderedJson FilterJson(const OrderedJson& document, std::string_view filter_path) {
  std::vector<FilterSegments> includes;
  std::vector<FilterSegments> excludes;
  size_t start = 0;
  while (start <= filter_path.size()) {
    size_t comma = filter_path.find(',', start);
    if (comma == std::string_view::npos) comma = filter_path.size();
    std::string_view filter = filter_path.substr(start, comma - start);
    start = comma + 1;
    while (!filter.empty() && filter.front() == ' ') filter.remove_prefix(1);
    while (!filter.empty() && filter.back() == ' ') filter.remove_suffix(1);
    bool exclude = !filter.empty() && filter.front() == '-';
    if (exclude) filter.remove_prefix(1);
    if (filter.empty()) continue;
    // Names are separated by '.'; "\." is a dot inside a name ("resource\.type"), as in
    // OpenSearch's FilterPath.
    FilterSegments segments(1);
    for (size_t i = 0; i < filter.size(); ++i) {
      if (filter[i] == '\\' && i + 1 < filter.size() && filter[i + 1] == '.') {
        segments.back() += '.';
        ++i;
      } else if (filter[i] == '.') {
        segments.emplace_back();
      } else {
        segments.back() += filter[i];
      }
    }
    (exclude ? excludes : includes).push_back(std::move(segments));
  }
  // The states at the root; a filter made of "**" only matches the whole document.
  auto root_of = [](const std::vector<FilterSegments>& filters) {
    FieldMatch root;
    for (const FilterSegments& segments : filters) AddState(&segments, 0, &root);
    return root;
  };
  const OrderedJson empty = document.is_array() ? OrderedJson::array() : OrderedJson::object();
  std::optional<OrderedJson> out = document;
  if (!includes.empty()) {
    FieldMatch root = root_of(includes);
    if (!root.full) out = IncludeBelow(document, root.next);
  }
  if (out && !excludes.empty()) {
    FieldMatch root = root_of(excludes);
    out = root.full ? std::nullopt : ExcludeBelow(*out, root.next);
  }
  return out ? std::move(*out) : empty;
}

struct Router::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>> exact;
  std::unique_ptr<Node> param;  // the {param} child, if any
  std::string param_name;       // set on a {param} child: the name it binds
  std::array<RestHandler, kNumHttpMethods> handlers;
  std::array<RouteParams, kNumHttpMethods> params;  // sorted
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

RouteParams Params(std::initializer_list<RouteParams> groups) {
  RouteParams all;
  for (const RouteParams& group : groups) all.insert(all.end(), group.begin(), group.end());
  return all;
}

const RouteParams kCommonParams = {"error_trace", "filter_path", "format", "human", "pretty"};

namespace {

// Lucene's LevenshteinDistance.getDistance: 1 - edits / the longer length.
float Similarity(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.size() == b.size() ? 1.0f : 0.0f;
  std::vector<size_t> previous(a.size() + 1), current(a.size() + 1);
  for (size_t i = 0; i <= a.size(); ++i) previous[i] = i;
  for (size_t j = 1; j <= b.size(); ++j) {
    current[0] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      const size_t substitute = previous[i - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[i] = std::min({current[i - 1] + 1, previous[i] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return 1.0f -
         static_cast<float>(previous[a.size()]) / static_cast<float>(std::max(a.size(), b.size()));
}

}  // namespace

std::string UnrecognizedParams(const HttpRequest& request, const RouteParams& params) {
  auto accepted = [&params](const std::string& name) {
    return std::binary_search(params.begin(), params.end(), name) ||
           std::find(kCommonParams.begin(), kCommonParams.end(), name) != kCommonParams.end();
  };
  std::vector<std::string> unknown;
  for (const auto& [name, value] : request.params) {
    if (!accepted(name)) unknown.push_back(name);
  }
  if (unknown.empty()) return {};
  std::sort(unknown.begin(), unknown.end());
  Result<std::string> path = PercentDecode(request.path, /*plus_as_space=*/false);
  std::string message = "request [" + (path.ok() ? *path : request.path) +
                        "] contains unrecognized parameter" + (unknown.size() > 1 ? "s" : "") +
                        ": ";
  for (size_t i = 0; i < unknown.size(); ++i) {
    std::vector<std::pair<float, std::string_view>> close;
    for (const RouteParams* names : {&params, &kCommonParams}) {
      for (const std::string& candidate : *names) {
        const float similarity = Similarity(unknown[i], candidate);
        if (similarity > 0.5f) close.emplace_back(similarity, candidate);
      }
    }
    std::sort(close.begin(), close.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    message += (i > 0 ? ", [" : "[") + unknown[i] + "]";
    if (close.empty()) continue;
    message += " -> did you mean ";
    if (close.size() == 1) {
      message += "[" + std::string(close[0].second) + "]?";
      continue;
    }
    message += "any of [";
    for (size_t j = 0; j < close.size(); ++j) {
      message += (j > 0 ? ", " : "") + std::string(close[j].second);
    }
    message += "]?";
  }
  return message;
}

Status Router::Register(HttpMethod method, std::string_view pattern, RestHandler handler,
                        RouteParams params) {
  return Register({method}, pattern, std::move(handler), std::move(params));
}

Status Router::Register(std::initializer_list<HttpMethod> methods, std::string_view pattern,
                        RestHandler handler, RouteParams params) {
  if (!handler) {
    return Status::InvalidArgument("empty handler for route [" + std::string(pattern) + "]");
  }
  for (HttpMethod method : methods) {
    if (method == HttpMethod::kOther) {
      return Status::InvalidArgument("cannot route method OTHER on [" + std::string(pattern) + "]");
    }
  }
  QD_ASSIGN_OR_RETURN(std::vector<PatternSegment> segments, ParsePattern(pattern));

  // Validate against the existing tree before changing anything.
  const Node* node = root_.get();
  for (const PatternSegment& segment : segments) {
    if (node == nullptr) break;
    if (segment.is_param) {
      if (node->param && node->param->param_name != segment.text) {
        return Status::InvalidArgument("route [" + std::string(pattern) + "] names parameter {" +
                                       segment.text + "} where another route has {" +
                                       node->param->param_name + "}");
      }
      node = node->param.get();
    } else {
      auto it = node->exact.find(segment.text);
      node = it == node->exact.end() ? nullptr : it->second.get();
    }
  }
  if (node != nullptr) {
    for (HttpMethod method : methods) {
      if (node->handlers[static_cast<int>(method)]) {
        return Status::AlreadyExists("route " + std::string(HttpMethodName(method)) + " [" +
                                     std::string(pattern) + "] is already registered");
      }
    }
  }

  Node* target = root_.get();
  for (PatternSegment& segment : segments) {
    if (segment.is_param) {
      if (!target->param) {
        target->param = std::make_unique<Node>();
        target->param->param_name = std::move(segment.text);
      }
      target = target->param.get();
    } else {
      std::unique_ptr<Node>& child = target->exact[segment.text];
      if (!child) child = std::make_unique<Node>();
      target = child.get();
    }
  }
  std::sort(params.begin(), params.end());
  params.erase(std::unique(params.begin(), params.end()), params.end());
  for (HttpMethod method : methods) {
    target->handlers[static_cast<int>(method)] = handler;
    target->params[static_cast<int>(method)] = params;
  }
  return Status::OK();
}

template <typename Visit>
bool Router::Walk(const Node& node, const std::vector<std::string>& segments, size_t depth,
                  PathParams* params, Visit& visit) const {
  if (depth == segments.size()) return visit(node, *params);
  const std::string& segment = segments[depth];
  if (auto it = node.exact.find(segment); it != node.exact.end()) {
    if (Walk(*it->second, segments, depth + 1, params, visit)) return true;
  }
  if (node.param) {
    // Names are unique along one branch (Register checks), so erasing after is exact.
    params->insert_or_assign(node.param->param_name, segment);
    if (Walk(*node.param, segments, depth + 1, params, visit)) return true;
    params->erase(node.param->param_name);
  }
  return false;
}

std::vector<HttpMethod> Router::AllowedMethods(const HttpRequest& request) const {
  std::array<bool, kNumHttpMethods> allowed{};
  auto visit = [&allowed](const Node& node, const PathParams&) {
    for (int i = 0; i < kNumHttpMethods; ++i) allowed[i] = allowed[i] || bool(node.handlers[i]);
    return false;  // keep walking: the union over every matching route
  };
  PathParams params;
  Walk(*root_, request.path_segments, 0, &params, visit);
  std::vector<HttpMethod> methods;
  for (int i = 0; i < kNumHttpMethods; ++i) {
    if (allowed[i]) methods.push_back(static_cast<HttpMethod>(i));
  }
  return methods;
}

HttpResponse Router::Route(const HttpRequest& request) const {
  if (request.method != HttpMethod::kOther) {
    const int m = static_cast<int>(request.method);
    const Node* found = nullptr;
    PathParams found_params;
    auto visit = [&](const Node& node, const PathParams& params) {
      if (!node.handlers[m]) return false;
      found = &node;
      found_params = params;
      return true;
    };
    PathParams params;
    Walk(*root_, request.path_segments, 0, &params, visit);
    if (found != nullptr) {
      // As OpenSearch's RestController: a routed request with a body must say it is JSON.
      if (std::optional<HttpResponse> refused = CheckRequestContentType(request)) return *refused;
      if (std::string unknown = UnrecognizedParams(request, found->params[m]); !unknown.empty()) {
        return OpenSearchErrorResponse(400, "illegal_argument_exception", unknown);
      }
      return found->handlers[m](request, found_params);
    }
  }

  // The fallbacks of OpenSearch's RestController.
  std::vector<HttpMethod> allowed = AllowedMethods(request);
  if (request.method == HttpMethod::kOptions) {
    HttpResponse response;
    response.content_type = std::string(kTextContentType);
    if (!allowed.empty()) response.headers.Set("Allow", JoinMethods(allowed, ","));
    return response;
  }
  if (!allowed.empty() || request.method == HttpMethod::kOther) {
    std::string message = request.method == HttpMethod::kOther
                              ? "Unexpected http method: " + request.method_name
                              : "Incorrect HTTP method for uri [" + request.uri + "] and method [" +
                                    MethodToken(request) + "]";
    if (!allowed.empty()) message += ", allowed: [" + JoinMethods(allowed, ", ") + "]";
    HttpResponse response =
        HttpResponse::Json(405, Dump(OrderedJson{{"error", message}, {"status", 405}}));
    if (!allowed.empty()) response.headers.Set("Allow", JoinMethods(allowed, ","));
    return response;
  }
  return HttpResponse::Json(
      400, Dump(OrderedJson{{"error", "no handler found for uri [" + request.uri +
                                          "] and method [" + MethodToken(request) + "]"}}));
}

HttpResponse Router::Dispatch(const HttpRequest& request) const {
  try {
    HttpResponse response;
    try {
      response = Route(request);
    } catch (const std::exception& e) {
      response = OpenSearchErrorResponse(500, "exception", e.what());
    } catch (...) {
      response = OpenSearchErrorResponse(500, "exception", "unknown exception");
    }
    const bool json = IsJsonContentType(response.content_type) && !response.body.empty();
    if (json) {
      if (auto it = request.params.find("filter_path");
          it != request.params.end() && !it->second.empty()) {
        // Handlers only produce valid JSON; should one not, it goes out unfiltered rather
        // than as a 500 that hides the handler's answer. Error documents are never filtered:
        // OpenSearch builds them with channel.newErrorBuilder(), which turns filtering off.
        OrderedJson document = OrderedJson::parse(response.body, nullptr, false);
        const bool error =
            response.status >= 400 && document.is_object() && document.contains("error");
        if (!document.is_discarded() && !error) {
          response.body = Dump(FilterJson(document, it->second));
        }
      }
    }
    if (json && WantsPretty(request)) response.body = PrettyPrintJson(response.body);
    return response;
  } catch (...) {
    // Only allocation failure gets here; answer without allocating much.
    HttpResponse response;
    response.status = 500;
    return response;
  }
}

bool WantsPretty(const HttpRequest& request) {
  auto it = request.params.find("pretty");
  return it != request.params.end() && (it->second.empty() || it->second == "true");
}

std::string PrettyPrintJson(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 2 + 16);
  int depth = 0;
  auto newline = [&out, &depth] {
    out.push_back('\n');
    out.append(static_cast<size_t>(std::max(depth, 0)) * 2, ' ');
  };
  const size_t n = json.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = json[i];
    switch (c) {
      case '"': {
        out.push_back(c);
        for (++i; i < n; ++i) {
          out.push_back(json[i]);
          if (json[i] == '\\' && i + 1 < n) {
            out.push_back(json[++i]);
          } else if (json[i] == '"') {
            break;
          }
        }
        break;
      }
      case '{':
      case '[': {
        const char close = c == '{' ? '}' : ']';
        size_t j = i + 1;
        while (j < n && std::strchr(" \t\r\n", json[j]) != nullptr) ++j;
        out.push_back(c);
        if (j < n && json[j] == close) {
          out.push_back(' ');
          out.push_back(close);
          i = j;
        } else {
          ++depth;
          newline();
        }
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(',');
        newline();
        break;
      case ':':
        out.append(" : ");
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

std::string BuildHash() {
#ifdef QUIDDITCH_VERSION
  return std::string("quidditch-") + QUIDDITCH_VERSION;
#else
  return "quidditch-unknown";
#endif
}

std::string BuildDate() {
#ifdef QUIDDITCH_BUILD_DATE
  return QUIDDITCH_BUILD_DATE;
#else
  // __DATE__ is "Mmm dd yyyy" (day space-padded).
  constexpr std::string_view kDate = __DATE__;
  constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  size_t month = kMonths.find(kDate.substr(0, 3)) / 3 + 1;
  std::string day(kDate.substr(4, 2));
  if (day[0] == ' ') day[0] = '0';
  std::string out(kDate.substr(7, 4));
  out += '-';
  if (month < 10) out += '0';
  out += std::to_string(month);
  out += '-';
  out += day;
  out += "T00:00:00.000000Z";
  return out;
#endif
}

std::string ReportedClusterUuid(std::string_view uuid) {
  return uuid.empty() ? "_na_" : std::string(uuid);
}

std::string RootDocument(const NodeIdentity& identity, std::string_view cluster_uuid) {
  OrderedJson version = {
      {"distribution", "opensearch"},
      {"number", kOpenSearchVersion},
      {"build_type", "tar"},
      {"build_hash", BuildHash()},
      {"build_date", BuildDate()},
      {"build_snapshot", false},
      {"lucene_version", kLuceneVersion},
      {"minimum_wire_compatibility_version", kMinimumWireCompatibilityVersion},
      {"minimum_index_compatibility_version", kMinimumIndexCompatibilityVersion},
  };
  OrderedJson doc = {
      {"name", identity.node_name},
      {"cluster_name", identity.cluster_name},
      {"cluster_uuid", ReportedClusterUuid(cluster_uuid)},
      {"version", std::move(version)},
      {"tagline", "The OpenSearch Project: https://opensearch.org/"},
  };
  return Dump(doc);
}

Status RegisterRootHandlers(const NodeIdentity& identity, std::function<std::string()> cluster_uuid,
                            Router* router) {
  // The document changes only with the uuid (once, when the cluster forms), so it is built again
  // only then: GET / stays the cheapest request there is.
  struct Cache {
    std::mutex mu;
    std::string uuid;
    std::string body;
  };
  auto cache = std::make_shared<Cache>();
  cache->body = RootDocument(identity, cache->uuid);
  return router->Register({HttpMethod::kGet, HttpMethod::kHead}, "/",
                          [identity, cluster_uuid = std::move(cluster_uuid), cache](
                              const HttpRequest&, const PathParams&) {
                            const std::string uuid = cluster_uuid();
                            std::lock_guard<std::mutex> lock(cache->mu);
                            if (uuid != cache->uuid) {
                              cache->body = RootDocument(identity, uuid);
                              cache->uuid = uuid;
                            }
                            return HttpResponse::Json(200, cache->body);
                          });
}

}  // namespace quidditch
