// Shared pieces of the REST handlers (see rest_util.h).
//
// The wording of every error here follows OpenSearch 2.19's source, so that clients and tests
// that match on reasons see the same text: RestRequest.paramAsBoolean / Booleans.parseBoolean,
// RestRequest.paramAsLong, TimeValue.parseTimeValue, WriteRequest.RefreshPolicy.parse,
// IndicesOptions.fromParameters, IndexNotFoundException and Murmur3HashFunction +
// OperationRouting for document routing.
#include "coordination/rest_util.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "engine/errors.h"

namespace quidditch::rest {

namespace {

struct KnownType {
  std::string_view type;
  int status;
};

// Exception types whose HTTP status OpenSearch fixes (ExceptionsHelper.status and the
// exceptions' status() overrides).
constexpr KnownType kKnownTypes[] = {
    {"index_not_found_exception", 404},
    {"document_missing_exception", 404},
    {"resource_not_found_exception", 404},
    {"search_context_missing_exception", 404},
    {"version_conflict_engine_exception", 409},
    {"parsing_exception", 400},
    {"x_content_parse_exception", 400},
    {"json_parse_exception", 400},
    {"mapper_parsing_exception", 400},
    {"strict_dynamic_mapping_exception", 400},
    {"illegal_argument_exception", 400},
    {"invalid_index_name_exception", 400},
    {"invalid_alias_name_exception", 400},
    {"index_closed_exception", 400},
    {"aliases_not_found_exception", 404},
    {"invalid_type_name_exception", 400},
    {"action_request_validation_exception", 400},
    {"resource_already_exists_exception", 400},
    {"search_phase_execution_exception", 400},
    {"query_shard_exception", 400},
    {"routing_missing_exception", 400},
    {"number_format_exception", 400},
    {"timeout_exception", 408},
    {"opensearch_rejected_execution_exception", 429},
    {"circuit_breaking_exception", 429},
    {"exception", 500},
    {"illegal_state_exception", 500},
    {"master_not_discovered_exception", 503},
    {"no_shard_available_action_exception", 503},
    {"unavailable_shards_exception", 503},
    {"process_cluster_event_timeout_exception", 503},
};

std::optional<int> KnownStatus(std::string_view type) {
  for (const KnownType& known : kKnownTypes) {
    if (known.type == type) return known.status;
  }
  return std::nullopt;
}

// The type and status our own codes stand for when the message names no type.
std::pair<std::string, int> TypeOfCode(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return {"resource_not_found_exception", 404};
    case StatusCode::kAlreadyExists:
      return {"resource_already_exists_exception", 400};
    case StatusCode::kInvalidArgument:
      return {"illegal_argument_exception", 400};
    case StatusCode::kConflict:
      return {"version_conflict_engine_exception", 409};
    case StatusCode::kUnavailable:
      // "[index][0]" or "shard" in the message: a shard copy is missing, not the master.
      if (status.message().find("shard") != std::string::npos ||
          status.message().find("][") != std::string::npos) {
        return {"no_shard_available_action_exception", 503};
      }
      return {"master_not_discovered_exception", 503};
    case StatusCode::kTimeout:
      return {"timeout_exception", 408};
    default:
      return {"exception", 500};
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Java's Long.parseLong: an optional sign and decimal digits, nothing else.
std::optional<int64_t> ParseLong(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + (text.front() == '+' ? 1 : 0),
                                   text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool LooksLikeDouble(std::string_view text) {
  if (text.empty()) return false;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Lucene's StringHelper.murmurhash3_x86_32 (MurmurHash3_x86_32 by Austin Appleby), seed 0.
uint32_t Murmur3X86_32(const uint8_t* data, size_t length, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51;
  constexpr uint32_t c2 = 0x1b873593;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  uint32_t h1 = seed;
  const size_t rounded_end = length & ~size_t{3};
  for (size_t i = 0; i < rounded_end; i += 4) {
    // Little-endian load, as Lucene reads the bytes.
    uint32_t k1 = uint32_t{data[i]} | (uint32_t{data[i + 1]} << 8) | (uint32_t{data[i + 2]} << 16) |
                  (uint32_t{data[i + 3]} << 24);
    k1 *= c1;
    k1 = rotl(k1, 15);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl(h1, 13);
    h1 = h1 * 5 + 0xe6546b64;
  }
  uint32_t k1 = 0;
  switch (length & 3) {
    case 3:
      k1 = uint32_t{data[rounded_end + 2]} << 16;
      [[fallthrough]];
    case 2:
      k1 |= uint32_t{data[rounded_end + 1]} << 8;
      [[fallthrough]];
    case 1:
      k1 |= uint32_t{data[rounded_end]};
      k1 *= c1;
      k1 = rotl(k1, 15);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= static_cast<uint32_t>(length);
  h1 ^= h1 >> 16;
  h1 *= 0x85ebca6b;
  h1 ^= h1 >> 13;
  h1 *= 0xc2b2ae35;
  h1 ^= h1 >> 16;
  return h1;
}

// Appends the UTF-16 code units of UTF-8 `text`, each as two little-endian bytes, which is what
// Murmur3HashFunction.hash(String) hashes. A malformed byte becomes U+FFFD, as Java's decoder
// would have made it when the routing value was read from the request.
std::vector<uint8_t> Utf16LeBytes(std::string_view text) {
  std::vector<uint8_t> out;
  out.reserve(text.size() * 2);
  auto put = [&out](uint32_t unit) {
    out.push_back(static_cast<uint8_t>(unit & 0xff));
    out.push_back(static_cast<uint8_t>(unit >> 8));
  };
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    uint32_t cp = 0xfffd;
    size_t len = 1;
    auto cont = [&](size_t k) {
      return i + k < text.size() && (static_cast<uint8_t>(text[i + k]) & 0xc0) == 0x80;
    };
    auto bits = [&](size_t k) { return static_cast<uint32_t>(text[i + k]) & 0x3f; };
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xc2 && b0 < 0xe0 && cont(1)) {
      cp = ((b0 & 0x1fu) << 6) | bits(1);
      len = 2;
    } else if (b0 >= 0xe0 && b0 < 0xf0 && cont(1) && cont(2)) {
      uint32_t v = ((b0 & 0x0fu) << 12) | (bits(1) << 6) | bits(2);
      if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) {
        cp = v;
        len = 3;
      }
    } else if (b0 >= 0xf0 && b0 < 0xf5 && cont(1) && cont(2) && cont(3)) {
      uint32_t v = ((b0 & 0x07u) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
      if (v >= 0x10000 && v <= 0x10ffff) {
        cp = v;
        len = 4;
      }
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 + (cp >> 10));
      put(0xdc00 + (cp & 0x3ff));
    } else {
      put(cp);
    }
    i += len;
  }
  return out;
}

// MetadataCreateIndexService.calculateNumRoutingShards for indices created on 7.0 or later:
// the largest numShards * 2^k <= 1024, with k >= 1 so that every index can be split once.
int64_t DefaultRoutingNumShards(int32_t number_of_shards) {
  const auto n = static_cast<uint32_t>(number_of_shards);
  int log2_num_shards = n <= 1 ? 0 : 32 - std::countl_zero(n - 1);
  int num_splits = std::max(1, 10 - log2_num_shards);
  return int64_t{number_of_shards} << num_splits;
}

}  // namespace

bool ActiveShardsReached(const cluster::Index& index, int32_t required) {
  for (const cluster::ShardRouting& shard : index.routing.shards) {
    const int32_t active = static_cast<int32_t>(
        std::count_if(shard.copies.begin(), shard.copies.end(),
                      [](const cluster::ShardCopy& c) { return cluster::IsActive(c.state); }));
    const int32_t want = required < 0 ? static_cast<int32_t>(shard.copies.size()) : required;
    if (active < want) return false;
  }
  return !index.routing.shards.empty();
}

Result<cluster::StatePtr> WaitForActiveShards(const RestContext& context,
                                              const std::vector<std::string>& names,
                                              int32_t required, std::chrono::milliseconds timeout) {
  constexpr std::chrono::milliseconds kPollInterval{10};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = timeout >= std::chrono::hours(24 * 365)
                            ? std::chrono::steady_clock::time_point::max()
                            : start + timeout;
  // The first read goes through Raft for an index this node has not seen yet (created a moment
  // ago through another node); the polls after it read the applied state.
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadClusterState(context, names));
  while (true) {
    const bool reached = std::all_of(names.begin(), names.end(), [&](const std::string& name) {
      const cluster::Index* index = state->FindIndex(name);
      return index != nullptr && ActiveShardsReached(*index, required);
    });
    if (reached || std::chrono::steady_clock::now() >= deadline) return state;
    std::this_thread::sleep_for(kPollInterval);
    QD_ASSIGN_OR_RETURN(state, ReadClusterState(context));
  }
}

// --- responses ---------------------------------------------------------------------------------

namespace {

bool ContainsRawJson(const OrderedJson& json) {
  if (json.is_binary()) return true;
  if (!json.is_structured()) return false;
  for (const OrderedJson& child : json) {
    if (ContainsRawJson(child)) return true;
  }
  return false;
}

std::string DumpTree(const OrderedJson& json) {
  return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// Dump of a tree holding RawJson values: the branches down to them by hand, everything else
// by nlohmann.
void DumpWithRaw(const OrderedJson& json, std::string* out) {
  if (json.is_binary()) {
    out->append(json.get_binary().begin(), json.get_binary().end());
  } else if (!ContainsRawJson(json)) {
    out->append(DumpTree(json));
  } else if (json.is_object()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, value] : json.items()) {
      if (!first) out->push_back(',');
      first = false;
      out->append(DumpTree(OrderedJson(key))).push_back(':');
      DumpWithRaw(value, out);
    }
    out->push_back('}');
  } else {
    out->push_back('[');
    bool first = true;
    for (const OrderedJson& value : json) {
      if (!first) out->push_back(',');
      first = false;
      DumpWithRaw(value, out);
    }
    out->push_back(']');
  }
}

}  // namespace

std::string Dump(const OrderedJson& json) {
  if (!ContainsRawJson(json)) return DumpTree(json);
  std::string out;
  DumpWithRaw(json, &out);
  return out;
}

OrderedJson RawJson(std::string_view text) {
  return OrderedJson::binary(OrderedJson::binary_t::container_type(text.begin(), text.end()));
}

HttpResponse JsonResponse(int status, const OrderedJson& json) {
  return HttpResponse::Json(status, Dump(json));
}

HttpResponse Acknowledged(bool acknowledged) {
  return JsonResponse(200, OrderedJson{{"acknowledged", acknowledged}});
}

int StatusForErrorType(std::string_view type) { return KnownStatus(type).value_or(400); }

std::pair<std::string, int> ErrorTypeOf(const Status& status) {
  auto [type, reason] = engine::SplitEngineError(status);
  if (type.empty()) return TypeOfCode(status);
  if (std::optional<int> known = KnownStatus(type)) return {std::string(type), *known};
  // A type we have no table entry for: its code says how bad it is.
  return {std::string(type), TypeOfCode(status).second};
}

OrderedJson ErrorObject(const Status& status, std::string_view index, std::string_view index_uuid) {
  auto [type, status_code] = ErrorTypeOf(status);
  auto [typed, reason] = engine::SplitEngineError(status);
  std::string_view text = typed.empty() ? status.message() : reason;
  // "<reason>. Caused by: <type>: <reason>" (engine/errors.h): OpenSearch's nested caused_by.
  std::optional<OrderedJson> caused_by;
  if (size_t at = text.find(engine::kCausedBy); at != std::string_view::npos) {
    const Status cause = Status::InvalidArgument(text.substr(at + engine::kCausedBy.size()));
    auto [cause_type, cause_reason] = engine::SplitEngineError(cause);
    if (!cause_type.empty()) {
      caused_by =
          OrderedJson{{"type", std::string(cause_type)}, {"reason", std::string(cause_reason)}};
      text = text.substr(0, at);
    }
  }
  OrderedJson object = {{"type", type}, {"reason", std::string(text)}};
  // IndexNotFoundError names its index in the reason; OpenSearch always adds the index fields,
  // whichever handler failed.
  constexpr std::string_view kNoSuchIndex = "no such index [";
  if (index.empty() && type == "index_not_found_exception" && reason.starts_with(kNoSuchIndex) &&
      reason.ends_with(']')) {
    index = reason.substr(kNoSuchIndex.size(), reason.size() - kNoSuchIndex.size() - 1);
  }
  // IndexClosedError: "closed [index][uuid]" is OpenSearch's reason "closed" plus both fields.
  std::string closed_index, closed_uuid;
  if (type == "index_closed_exception" && text.starts_with("closed [") && text.ends_with(']')) {
    const std::string_view inner = text.substr(8, text.size() - 9);
    const size_t split = inner.rfind("][");
    if (split != std::string_view::npos) {
      closed_index = inner.substr(0, split);
      closed_uuid = inner.substr(split + 2);
      object["reason"] = "closed";
      if (index.empty()) index = closed_index;
      if (index_uuid.empty()) index_uuid = closed_uuid;
    }
  }
  if (!index.empty()) {
    object["index"] = std::string(index);
    if (type == "index_not_found_exception") {
      object["resource.id"] = std::string(index);
      object["resource.type"] = "index_or_alias";
    }
    object["index_uuid"] = std::string(index_uuid.empty() ? "_na_" : index_uuid);
  }
  // AliasesNotFoundException names its aliases as resources, as OpenSearch renders them.
  constexpr std::string_view kAliases = "aliases [";
  if (type == "aliases_not_found_exception" && text.starts_with(kAliases) &&
      text.ends_with("] missing")) {
    const std::string_view names = text.substr(
        kAliases.size(), text.size() - kAliases.size() - std::string_view("] missing").size());
    object["resource.type"] = "aliases";
    std::vector<std::string> list;
    for (std::string_view rest = names; !rest.empty();) {
      const size_t comma = rest.find(", ");
      list.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
    }
    object["resource.id"] = list.size() == 1 ? OrderedJson(list[0]) : OrderedJson(list);
  }
  if (caused_by) object["caused_by"] = std::move(*caused_by);
  return object;
}

HttpResponse ErrorResponse(const Status& status, std::string_view index,
                           std::string_view index_uuid) {
  OrderedJson object = ErrorObject(status, index, index_uuid);
  OrderedJson root_cause = object;
  root_cause.erase("caused_by");  // OpenSearch renders root causes without their causes
  OrderedJson error = {{"root_cause", OrderedJson::array({std::move(root_cause)})}};
  for (auto& [key, value] : object.items()) error[key] = value;
  return JsonResponse(
      ErrorTypeOf(status).second,
      OrderedJson{{"error", std::move(error)}, {"status", ErrorTypeOf(status).second}});
}

Status IndexNotFoundError(std::string_view index) {
  return Status::NotFound("index_not_found_exception: no such index [" + std::string(index) + "]");
}

HttpResponse IndexNotFound(std::string_view index) {
  return ErrorResponse(IndexNotFoundError(index), index);
}

// --- requests ----------------------------------------------------------------------------------

Result<std::optional<nlohmann::json>> ParseJsonBody(const HttpRequest& request,
                                                    bool require_object) {
  std::string_view body = request.body;
  if (Trim(body).empty() || body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return std::optional<nlohmann::json>();
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // OpenSearch quotes the parser's [line:column]; nlohmann reports a byte offset (1-based,
    // pointing at the offending byte), so count lines up to it.
    size_t offset = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, body.size());
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (body[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // nlohmann's what() starts with "[json.exception.parse_error.101] parse error at line 1,
    // column 2: "; keep only the explanation after it.
    std::string_view what = e.what();
    size_t colon = what.find(": ");
    std::string detail(colon == std::string_view::npos ? what : what.substr(colon + 2));
    return Status::InvalidArgument("x_content_parse_exception: [" + std::to_string(line) + ":" +
                                   std::to_string(column) + "] " + detail);
  }
  if (require_object && !json.is_object()) {
    std::string found(engine::XContentTokenName(json));
    return Status::InvalidArgument(
        "parsing_exception: Failed to parse object: expecting token of type [START_OBJECT] but "
        "found [" +
        found + "]");
  }
  return std::optional<nlohmann::json>(std::move(json));
}

Result<bool> BoolParam(const HttpRequest& request, std::string_view name, bool fallback) {
  if (!request.HasParam(name)) return fallback;
  std::string_view value = request.Param(name);
  // RestRequest.paramAsBoolean: a parameter present without a value turns the option on.
  if (value.empty() || value == "true") return true;
  if (value == "false") return false;
  return Status::InvalidArgument("illegal_argument_exception: Failed to parse value [" +
                                 std::string(value) + "] as only [true] or [false] are allowed.");
}

Result<int64_t> IntParam(const HttpRequest& request, std::string_view name, int64_t fallback) {
  if (!request.HasParam(name)) return fallback;
  std::string_view value = request.Param(name);
  std::optional<int64_t> parsed = ParseLong(value);
  if (!parsed) {
    return Status::InvalidArgument("illegal_argument_exception: Failed to parse long parameter [" +
                                   std::string(name) + "] with value [" + std::string(value) + "]");
  }
  return *parsed;
}

Result<std::optional<std::chrono::milliseconds>> ParseTimeValue(std::string_view value,
                                                                std::string_view name) {
  using std::chrono::milliseconds;
  const std::string normalized = Lower(Trim(value));
  std::string_view n = normalized;
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument("illegal_argument_exception: failed to parse setting [" +
                                   std::string(name) + "] with value [" + std::string(value) +
                                   "] as a time value: " + std::string(why));
  };
  // TimeValue.parseTimeValue tries the suffixes in this order; "m" alone is case-sensitive
  // there ("M" would be months), so it is matched on the original text.
  struct Unit {
    std::string_view suffix;
    double to_ms;
  };
  static constexpr Unit kUnits[] = {{"nanos", 1e-6},  {"micros", 1e-3}, {"ms", 1.0},
                                    {"s", 1000.0},    {"m", 60000.0},   {"h", 3600000.0},
                                    {"d", 86400000.0}};
  for (const Unit& unit : kUnits) {
    bool matches = unit.suffix == "m" ? Trim(value).ends_with("m") : n.ends_with(unit.suffix);
    if (!matches) continue;
    std::string_view number = Trim(n.substr(0, n.size() - unit.suffix.size()));
    std::optional<int64_t> parsed = ParseLong(number);
    if (!parsed) {
      if (LooksLikeDouble(number)) {
        return Status::InvalidArgument("illegal_argument_exception: failed to parse [" +
                                       std::string(value) +
                                       "], fractional time values are not supported");
      }
      return Status::InvalidArgument("illegal_argument_exception: failed to parse [" +
                                     std::string(value) + "]");
    }
    if (*parsed < -1) return fail("negative durations are not supported");
    if (*parsed == -1) return std::optional<milliseconds>();
    return std::optional<milliseconds>(
        milliseconds(static_cast<int64_t>(static_cast<double>(*parsed) * unit.to_ms)));
  }
  // Bare "-1" (any number of leading zeros after the sign) and bare zeros are unit-less.
  if (n.size() >= 2 && n.front() == '-' && n.back() == '1' &&
      n.substr(1, n.size() - 2).find_first_not_of('0') == std::string_view::npos) {
    return std::optional<milliseconds>();
  }
  if (!n.empty() && n.find_first_not_of('0') == std::string_view::npos) {
    return std::optional<milliseconds>(milliseconds(0));
  }
  return fail("unit is missing or unrecognized");
}

Result<std::chrono::milliseconds> TimeParam(const HttpRequest& request, std::string_view name,
                                            std::chrono::milliseconds fallback) {
  if (!request.HasParam(name)) return fallback;
  QD_ASSIGN_OR_RETURN(std::optional<std::chrono::milliseconds> parsed,
                      ParseTimeValue(request.Param(name), name));
  // -1 is "no limit" for every timeout that accepts it.
  return parsed.value_or(std::chrono::milliseconds::max());
}

Result<std::chrono::milliseconds> AckTimeout(const HttpRequest& request) {
  constexpr std::chrono::milliseconds kDefault{30000};
  QD_RETURN_IF_ERROR(TimeParam(request, "master_timeout", kDefault).status());
  QD_RETURN_IF_ERROR(TimeParam(request, "cluster_manager_timeout", kDefault).status());
  return TimeParam(request, "timeout", kDefault);
}

const RouteParams kAckTimeoutParams = {"cluster_manager_timeout", "master_timeout", "timeout"};
const RouteParams kIndexOptionParams = {"allow_no_indices", "expand_wildcards",
                                        "ignore_unavailable"};

Result<data::RefreshPolicy> RefreshParam(const HttpRequest& request) {
  if (!request.HasParam("refresh")) return data::RefreshPolicy::kNone;
  std::string_view value = request.Param("refresh");
  if (value == "false") return data::RefreshPolicy::kNone;
  if (value.empty() || value == "true") return data::RefreshPolicy::kRefresh;
  if (value == "wait_for") return data::RefreshPolicy::kWaitFor;
  return Status::InvalidArgument("illegal_argument_exception: Unknown value for refresh: [" +
                                 std::string(value) + "].");
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> parts;
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = Trim(text.substr(0, comma));
    if (!part.empty()) parts.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

// --- indices -----------------------------------------------------------------------------------

Result<IndicesOptions> IndicesOptionsOf(const HttpRequest& request, IndicesOptions defaults) {
  IndicesOptions options = defaults;
  QD_ASSIGN_OR_RETURN(options.ignore_unavailable,
                      BoolParam(request, "ignore_unavailable", defaults.ignore_unavailable));
  QD_ASSIGN_OR_RETURN(options.allow_no_indices,
                      BoolParam(request, "allow_no_indices", defaults.allow_no_indices));
  if (request.HasParam("expand_wildcards")) {
    bool open = false;
    bool closed = false;
    bool hidden = false;
    for (const std::string& value : SplitComma(request.Param("expand_wildcards"))) {
      if (value == "open") {
        open = true;
      } else if (value == "closed") {
        closed = true;
      } else if (value == "all") {
        open = closed = hidden = true;
      } else if (value == "hidden") {
        hidden = true;
      } else if (value == "none") {
      } else {
        return Status::InvalidArgument(
            "illegal_argument_exception: No valid expand wildcard value [" + value + "]");
      }
    }
    options.expand_closed = closed;
    options.expand_open = open;
    options.expand_hidden = hidden;
  }
  return options;
}

namespace {

// The indices of alias `alias` (sorted), each with its metadata.
std::vector<std::pair<const cluster::Index*, const cluster::AliasMetadata*>> AliasIndices(
    const cluster::ClusterState& state, std::string_view alias) {
  std::vector<std::pair<const cluster::Index*, const cluster::AliasMetadata*>> out;
  for (const auto& [name, index] : state.indices) {
    auto it = index->aliases.find(std::string(alias));
    if (it != index->aliases.end()) out.emplace_back(index.get(), &it->second);
  }
  return out;
}

// What an expression reached an index through, while resolving.
struct Reached {
  bool unfiltered = false;  // named directly, by a wildcard, or through an unfiltered alias
  std::vector<nlohmann::json> filters;
  bool unrouted = false;  // the same, for aliases without search_routing
  std::set<std::string> routing;

  void Direct() { unfiltered = unrouted = true; }
  void Through(const cluster::AliasMetadata& alias) {
    if (alias.filter.is_null()) {
      unfiltered = true;
    } else if (std::find(filters.begin(), filters.end(), alias.filter) == filters.end()) {
      filters.push_back(alias.filter);
    }
    if (alias.search_routing.empty()) {
      unrouted = true;
    } else {
      for (const std::string& value : SplitComma(alias.search_routing)) routing.insert(value);
    }
  }
};

}  // namespace

bool IsHiddenIndex(const cluster::Index& index) {
  const nlohmann::json& other = index.settings.other;
  if (!other.is_object()) return false;
  auto it = other.find("hidden");
  return it != other.end() && *it == "true";  // settings are stored as strings
}

Status IndexClosedError(std::string_view index, std::string_view index_uuid) {
  return Status::InvalidArgument("index_closed_exception: closed [" + std::string(index) + "][" +
                                 std::string(index_uuid) + "]");
}

Status CheckOpen(const cluster::Index& index) {
  return index.closed ? IndexClosedError(index.name, index.uuid) : Status::OK();
}

Result<std::vector<ResolvedIndex>> ResolveIndicesWithFilters(const cluster::ClusterState& state,
                                                             std::string_view expression,
                                                             const IndicesOptions& options) {
  std::vector<std::string> parts = SplitComma(expression);
  std::map<std::string, Reached> result;
  // Wildcards yield the indices whose state expand_wildcards asks for, and hidden indices and
  // aliases only when it asks for them or both pattern and name start with '.'.
  auto expands = [&](const cluster::Index& index) {
    if (index.closed) return options.expand_closed && !options.forbid_closed;
    return options.expand_open;
  };
  auto visible = [&](bool hidden, std::string_view pattern, std::string_view name) {
    return !hidden || options.expand_hidden || (pattern.starts_with('.') && name.starts_with('.'));
  };
  // A concrete name (or alias) reaching a closed index: OpenSearch's failClosed.
  // `alias` null: the index named itself.
  auto add_named = [&](const cluster::Index& index, const cluster::AliasMetadata* alias) -> Status {
    if (index.closed && options.forbid_closed) {
      if (options.ignore_unavailable) return Status::OK();
      return CheckOpen(index);
    }
    Reached& reached = result[index.name];
    if (alias == nullptr) {
      reached.Direct();
    } else {
      reached.Through(*alias);
    }
    return Status::OK();
  };
  const bool all = parts.empty() || (parts.size() == 1 && (parts[0] == "_all" || parts[0] == "*"));
  if (all) {
    for (const auto& [name, index] : state.indices) {
      if (expands(*index) && visible(IsHiddenIndex(*index), "*", name)) result[name].Direct();
    }
  } else {
    // IndexNameExpressionResolver.WildcardExpressionResolver: "-x" excludes only once a
    // wildcard has been seen; before that it is a name like any other.
    bool wildcard_seen = false;
    for (const std::string& part : parts) {
      std::string_view expr = part;
      bool exclude = false;
      if (expr.front() == '-' && wildcard_seen) {
        exclude = true;
        expr.remove_prefix(1);
      }
      // Names starting with '_' are reserved for APIs: a path that reaches here with one named
      // no API (GET /_nope), as WildcardExpressionResolver.validateAliasOrIndex says.
      if (!expr.empty() && expr.front() == '_') {
        return Status::InvalidArgument("invalid_index_name_exception: Invalid index name [" +
                                       std::string(expr) + "], must not start with '_'.");
      }
      const bool wildcard = expr.find('*') != std::string_view::npos;
      if (wildcard) wildcard_seen = true;
      if (exclude) {
        // An exclusion removes the indices whose own name matches (OpenSearch removes names
        // from the expanded list, where an index matched by a wildcard stands for itself).
        for (auto it = result.begin(); it != result.end();) {
          it = GlobMatch(expr, it->first) ? result.erase(it) : std::next(it);
        }
        continue;
      }
      if (!wildcard) {
        if (const cluster::Index* index = state.FindIndex(expr)) {
          QD_RETURN_IF_ERROR(add_named(*index, nullptr));
          continue;
        }
        auto indices = AliasIndices(state, expr);
        if (!indices.empty() && options.ignore_aliases) {
          return Status::InvalidArgument("illegal_argument_exception: The provided expression [" +
                                         std::string(expr) +
                                         "] matches an alias, specify the corresponding concrete "
                                         "indices instead.");
        }
        if (indices.empty()) {
          if (!options.ignore_unavailable) return IndexNotFoundError(expr);
          continue;
        }
        for (const auto& [index, metadata] : indices) {
          QD_RETURN_IF_ERROR(add_named(*index, metadata));
        }
        continue;
      }
      for (const auto& [name, index] : state.indices) {
        if (!expands(*index)) continue;
        if (GlobMatch(expr, name) && visible(IsHiddenIndex(*index), expr, name)) {
          result[name].Direct();
        }
        if (options.ignore_aliases) continue;
        for (const auto& [alias, metadata] : index->aliases) {
          if (GlobMatch(expr, alias) && visible(metadata.is_hidden.value_or(false), expr, alias)) {
            result[name].Through(metadata);
          }
        }
      }
    }
  }
  if (result.empty() && !options.allow_no_indices) {
    return IndexNotFoundError(parts.empty() ? std::string("_all") : std::string(expression));
  }
  std::vector<ResolvedIndex> out;
  out.reserve(result.size());
  for (auto& [name, reached] : result) {
    ResolvedIndex resolved{name, {}, {}};
    if (!reached.unfiltered) resolved.filters = std::move(reached.filters);
    if (!reached.unrouted)
      resolved.search_routing.assign(reached.routing.begin(), reached.routing.end());
    out.push_back(std::move(resolved));
  }
  return out;
}

Result<std::vector<std::string>> ResolveIndices(const cluster::ClusterState& state,
                                                std::string_view expression,
                                                const IndicesOptions& options) {
  QD_ASSIGN_OR_RETURN(std::vector<ResolvedIndex> resolved,
                      ResolveIndicesWithFilters(state, expression, options));
  std::vector<std::string> names;
  names.reserve(resolved.size());
  for (ResolvedIndex& index : resolved) names.push_back(std::move(index.name));
  return names;
}

nlohmann::json ApplyAliasFilters(const nlohmann::json& query,
                                 const std::vector<nlohmann::json>& filters) {
  if (filters.empty()) return query;
  nlohmann::json filter =
      filters.size() == 1 ? filters[0] : nlohmann::json{{"bool", {{"should", filters}}}};
  nlohmann::json must =
      query.is_null() ? nlohmann::json{{"match_all", nlohmann::json::object()}} : query;
  return nlohmann::json{{"bool", {{"must", std::move(must)}, {"filter", std::move(filter)}}}};
}

namespace {

// The routing of a document request through `alias`: the alias's index_routing when the request
// gives none; a different one is refused (IndexNameExpressionResolver.resolveIndexRouting).
Result<std::string> AliasRouting(std::string_view alias, const cluster::AliasMetadata& metadata,
                                 std::string_view routing) {
  if (metadata.index_routing.empty()) return std::string(routing);
  if (metadata.index_routing.find(',') != std::string::npos) {
    return Status::InvalidArgument(
        "illegal_argument_exception: index/alias [" + std::string(alias) +
        "] provided with routing value [" + metadata.index_routing +
        "] that resolved to several routing values, rejecting operation");
  }
  if (!routing.empty() && routing != metadata.index_routing) {
    return Status::InvalidArgument("illegal_argument_exception: Alias [" + std::string(alias) +
                                   "] has index routing associated with it [" +
                                   metadata.index_routing +
                                   "], and was provided with routing value [" +
                                   std::string(routing) + "], rejecting operation");
  }
  return metadata.index_routing;
}

}  // namespace

Result<DocTarget> WriteTarget(const cluster::ClusterState& state, std::string_view name,
                              std::string_view routing) {
  if (state.FindIndex(name) != nullptr) return DocTarget{std::string(name), std::string(routing)};
  auto indices = AliasIndices(state, name);
  if (indices.empty()) return DocTarget{std::string(name), std::string(routing)};
  const std::pair<const cluster::Index*, const cluster::AliasMetadata*>* chosen = nullptr;
  for (const auto& entry : indices) {
    if (entry.second->is_write_index.value_or(false)) chosen = &entry;
  }
  // MetadataIndexAbstraction.Alias: a single index is the write index unless disabled.
  if (chosen == nullptr && indices.size() == 1 &&
      indices[0].second->is_write_index.value_or(true)) {
    chosen = &indices[0];
  }
  if (chosen == nullptr) {
    return Status::InvalidArgument(
        "illegal_argument_exception: no write index is defined for alias [" + std::string(name) +
        "]. The write index may be explicitly disabled using is_write_index=false or the alias "
        "points to multiple indices without one being designated as a write index");
  }
  QD_ASSIGN_OR_RETURN(std::string resolved, AliasRouting(name, *chosen->second, routing));
  return DocTarget{chosen->first->name, std::move(resolved)};
}

Result<DocTarget> ReadTarget(const cluster::ClusterState& state, std::string_view name,
                             std::string_view routing) {
  if (state.FindIndex(name) != nullptr) return DocTarget{std::string(name), std::string(routing)};
  auto indices = AliasIndices(state, name);
  if (indices.empty()) return DocTarget{std::string(name), std::string(routing)};
  if (indices.size() > 1) {
    std::string names;
    for (const auto& [index, metadata] : indices) {
      names += (names.empty() ? "" : ", ") + index->name;
    }
    return Status::InvalidArgument("illegal_argument_exception: alias [" + std::string(name) +
                                   "] has more than one index associated with it [" + names +
                                   "], can't execute a single index op");
  }
  QD_ASSIGN_OR_RETURN(std::string resolved, AliasRouting(name, *indices[0].second, routing));
  return DocTarget{indices[0].first->name, std::move(resolved)};
}

int32_t RoutingHash(std::string_view routing) {
  std::vector<uint8_t> bytes = Utf16LeBytes(routing);
  return static_cast<int32_t>(Murmur3X86_32(bytes.data(), bytes.size(), 0));
}

int32_t ShardForRouting(std::string_view routing, int32_t number_of_shards) {
  if (number_of_shards <= 1) return 0;
  const int32_t hash = RoutingHash(routing);
  // OperationRouting.calculateScaledShardId: floorMod(hash, routing_num_shards) / factor.
  const int64_t routing_num_shards = DefaultRoutingNumShards(number_of_shards);
  const int64_t routing_factor = routing_num_shards / number_of_shards;
  int64_t mod = hash % routing_num_shards;
  if (mod < 0) mod += routing_num_shards;
  return static_cast<int32_t>(mod / routing_factor);
}

Result<data::ShardService*> PrimaryShardService(const RestContext& context,
                                                const cluster::Index& index, int32_t shard_id) {
  auto unavailable = [&] {
    return Status::Unavailable("no such shard [" + index.name + "][" + std::to_string(shard_id) +
                               "]: the primary is not active");
  };
  if (shard_id < 0 || static_cast<size_t>(shard_id) >= index.routing.shards.size()) {
    return unavailable();
  }
  const cluster::ShardRouting& shard = index.routing.shards[shard_id];
  if (shard.copies.empty() || !cluster::IsActive(shard.primary().state) || !context.shard_service) {
    return unavailable();
  }
  data::ShardService* service = context.shard_service(shard.primary().node_id);
  if (service == nullptr) return unavailable();
  return service;
}

Result<data::ShardService*> ReadShardService(const RestContext& context,
                                             const cluster::Index& index, int32_t shard_id) {
  if (shard_id >= 0 && static_cast<size_t>(shard_id) < index.routing.shards.size() &&
      context.shard_service) {
    // copies[0] is the primary, so this tries it first.
    for (const cluster::ShardCopy& copy : index.routing.shards[shard_id].copies) {
      if (!cluster::IsActive(copy.state)) continue;
      if (data::ShardService* service = context.shard_service(copy.node_id)) return service;
    }
  }
  return Status::Unavailable("no_shard_available_action_exception: No shard available for [" +
                             index.name + "][" + std::to_string(shard_id) + "]");
}

namespace {

Result<cluster::StatePtr> ReadState(const RestContext& context, bool linearizable) {
  if (context.control_plane == nullptr) {
    return Status::Unavailable("master_not_discovered_exception: no control plane");
  }
  controlplane::CallContext call =
      controlplane::CallContext::WithTimeout(context.control_plane_timeout);
  call.linearizable = linearizable;
  Result<cluster::StatePtr> state = context.control_plane->GetClusterState(call);
  if (!state.ok()) {
    return Status::Unavailable("master_not_discovered_exception: cluster state unavailable: " +
                               state.status().message());
  }
  if (*state == nullptr) {
    return Status::Unavailable("master_not_discovered_exception: no cluster state yet");
  }
  return *state;
}

}  // namespace

Result<cluster::StatePtr> ReadClusterState(const RestContext& context,
                                           const std::vector<std::string>& indices) {
  Result<cluster::StatePtr> local = ReadState(context, /*linearizable=*/false);
  if (local.ok()) {
    const bool missing = std::any_of(indices.begin(), indices.end(), [&](const std::string& name) {
      return name != "_all" && name.find('*') == std::string::npos && !name.starts_with('-') &&
             (*local)->FindIndex(name) == nullptr;
    });
    if (!missing) return local;
  }
  return ReadState(context, /*linearizable=*/true);
}

}  // namespace quidditch::rest
