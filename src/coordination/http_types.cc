#include "coordination/http_types.h"

#include <array>
#include <nlohmann/json.hpp>

namespace quidditch {

namespace {

constexpr std::array<std::string_view, kNumHttpMethods> kMethodNames = {
    "GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT"};

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view HttpMethodName(HttpMethod method) {
  int i = static_cast<int>(method);
  return (i >= 0 && i < kNumHttpMethods) ? kMethodNames[i] : std::string_view("OTHER");
}

HttpMethod ParseHttpMethod(std::string_view token) {
  for (int i = 0; i < kNumHttpMethods; ++i) {
    if (kMethodNames[i] == token) return static_cast<HttpMethod>(i);
  }
  return HttpMethod::kOther;
}

bool IsJsonContentType(std::string_view content_type) {
  constexpr std::string_view kJson = "application/json";
  if (content_type.size() < kJson.size() ||
      !EqualsIgnoreCase(content_type.substr(0, kJson.size()), kJson)) {
    return false;
  }
  if (content_type.size() == kJson.size()) return true;
  char next = content_type[kJson.size()];
  return next == ';' || next == ' ' || next == '\t';
}

bool IsJsonRequestContentType(std::string_view content_type) {
  if (IsJsonContentType(content_type)) return true;
  constexpr std::string_view kNdjson = "application/x-ndjson";
  if (content_type.size() < kNdjson.size() ||
      !EqualsIgnoreCase(content_type.substr(0, kNdjson.size()), kNdjson)) {
    return false;
  }
  if (content_type.size() == kNdjson.size()) return true;
  char next = content_type[kNdjson.size()];
  return next == ';' || next == ' ' || next == '\t';
}

std::optional<HttpResponse> CheckRequestContentType(const HttpRequest& request) {
  if (request.body.empty()) return std::nullopt;
  std::vector<std::string_view> values;
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "Content-Type")) values.push_back(value);
  }
  auto simple_error = [](int status, std::string message) {
    nlohmann::ordered_json doc = {{"error", std::move(message)}, {"status", status}};
    return HttpResponse::Json(
        status, doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  };
  auto bad_header = [](std::string_view message) {
    return OpenSearchErrorResponse(400, "content_type_header_exception",
                                   "java.lang.IllegalArgumentException: " + std::string(message));
  };
  if (values.empty()) return simple_error(406, "Content-Type header is missing");
  if (values.size() > 1) return bad_header("only one Content-Type header should be provided");
  std::string_view value = values.front();
  if (IsJsonRequestContentType(value)) return std::nullopt;
  // OpenSearch requires "type/subtype" made of RFC 7230 token characters before it looks the
  // media type up; anything else is a malformed header.
  std::string_view media_type = value.substr(0, value.find(';'));
  while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t')) {
    media_type.remove_suffix(1);
  }
  size_t slash = media_type.find('/');
  auto is_token = [](std::string_view part) {
    if (part.empty()) return false;
    for (char c : part) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      if (!ok) return false;
    }
    return true;
  };
  if (slash == std::string_view::npos || !is_token(media_type.substr(0, slash)) ||
      !is_token(media_type.substr(slash + 1))) {
    return bad_header("invalid Content-Type header [" + std::string(value) + "]");
  }
  return simple_error(406, "Content-Type header [" + std::string(value) + "] is not supported");
}

void HttpHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

size_t HttpHeaders::Remove(std::string_view name) {
  return std::erase_if(fields_, [name](const Field& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string_view> HttpHeaders::Get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::string_view HttpRequest::Param(std::string_view name, std::string_view fallback) const {
  auto it = params.find(name);
  return it == params.end() ? fallback : std::string_view(it->second);
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Result<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return Status::InvalidArgument("unterminated escape sequence at end of string: " +
                                       std::string(in));
      }
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("invalid escape sequence `%" +
                                       std::string(in.substr(i + 1, 2)) + "' at index " +
                                       std::to_string(i) + " of: " + std::string(in));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status ParseRequestTarget(std::string_view target, HttpRequest* request) {
  request->uri = std::string(target);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  // A fragment is never sent by conforming clients; drop it if one is.
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  request->path = std::string(path);

  request->path_segments.clear();
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) {
      QD_ASSIGN_OR_RETURN(std::string segment,
                          PercentDecode(path.substr(start, slash - start), false));
      request->path_segments.push_back(std::move(segment));
    }
    start = slash + 1;
  }

  request->params.clear();
  start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view component = query.substr(start, amp - start);
    start = amp + 1;
    if (component.empty()) continue;
    size_t eq = component.find('=');
    std::string_view raw_name = component.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : component.substr(eq + 1);
    QD_ASSIGN_OR_RETURN(std::string name, PercentDecode(raw_name, true));
    QD_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw_value, true));
    request->params.insert_or_assign(std::move(name), std::move(value));
  }
  return Status::OK();
}

std::string OpenSearchErrorBody(std::string_view type, std::string_view reason, int status) {
  nlohmann::ordered_json cause = {{"type", type}, {"reason", reason}};
  nlohmann::ordered_json error = {
      {"root_cause", nlohmann::ordered_json::array({cause})}, {"type", type}, {"reason", reason}};
  nlohmann::ordered_json doc = {{"error", std::move(error)}, {"status", status}};
  // Replace invalid UTF-8 (reasons may quote client input) rather than throw.
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse OpenSearchErrorResponse(int status, std::string_view type, std::string_view reason) {
  return HttpResponse::Json(status, OpenSearchErrorBody(type, reason, status));
}

}  // namespace quidditch
