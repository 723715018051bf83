// The write path (ExecuteWrites, RenderWriteResponse) and the _bulk endpoint.
//
// Speed matters here (the target is >= 50,000 docs/s for batches of 1,000 on two
// cores): index/create source lines are never parsed on the coordinator (the shard parses each
// document once), action lines go through one reused simdjson parser, the cluster state is read
// once per request, and the response is written as text rather than built as a JSON tree.
#include "coordination/rest_bulk.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "coordination/rest_index.h"
#include "coordination/rest_template.h"
#include "engine/errors.h"

namespace quidditch::rest {

namespace {

namespace dom = simdjson::dom;
using Clock = std::chrono::steady_clock;
using engine::BulkItem;
using engine::WriteResultKind;

constexpr size_t kMaxIdBytes = 512;  // IndexRequest.MAX_DOCUMENT_ID_LENGTH_IN_BYTES

// --- JSON text ---------------------------------------------------------------------------------

void AppendJsonString(std::string_view s, std::string* out) {
  bool plain = true;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->push_back('"');
    out->append(s);
    out->push_back('"');
    return;
  }
  // Escapes and UTF-8 checking (invalid sequences replaced) as every other response does.
  out->append(Dump(OrderedJson(std::string(s))));
}

void AppendField(std::string_view name, std::string* out) {
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

// --- auto-generated ids ------------------------------------------------------------------------

// The node part of generated ids: OpenSearch uses the MAC address or, failing that, random
// bytes with the multicast bit set so that they cannot collide with a real MAC address.
std::array<uint8_t, 6> RandomNodeBytes() {
  std::random_device rd;
  std::array<uint8_t, 6> out{};
  for (auto& b : out) b = static_cast<uint8_t>(rd());
  out[0] |= 0x01;
  return out;
}

std::string Base64Url(const uint8_t* bytes, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

// --- errors ------------------------------------------------------------------------------------

Status IllegalArgument(std::string_view reason) {
  return Status::InvalidArgument(std::string("illegal_argument_exception: ").append(reason));
}

Status ValidationFailed(const std::vector<std::string>& errors) {
  std::string reason = "Validation Failed: ";
  for (size_t i = 0; i < errors.size(); ++i) {
    reason += std::to_string(i + 1) + ": " + errors[i] + ";";
  }
  return Status::InvalidArgument("action_request_validation_exception: " + reason);
}

// Errors raised by the shard's engine carry the shard (OpenSearch's EngineException and
// its subclasses); the others (mapping, validation) do not.
bool IsShardLevelError(std::string_view type) {
  return type == "version_conflict_engine_exception" || type == "document_missing_exception";
}

std::string_view ActionName(DocWrite::Action action) {
  switch (action) {
    case DocWrite::Action::kIndex:
      return "index";
    case DocWrite::Action::kCreate:
      return "create";
    case DocWrite::Action::kUpdate:
      return "update";
    case DocWrite::Action::kDelete:
      return "delete";
  }
  return "index";
}
// --- execution ---------------------------------------------------------------------------------
// An index the writes of a request go to: its metadata, or why every write to it fails.
struct Target {
  std::shared_ptr<const cluster::Index> index;
  Status error;
};

// Creates `name` as OpenSearch's auto-create does: with the matching index templates, else
// default settings and a dynamic mapping; another request creating it at the same time is fine.
Status AutoCreateIndex(const RestContext& context, const std::string& name) {
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadClusterState(context));
  QD_ASSIGN_OR_RETURN(
      controlplane::CreateIndexRequest request,
      ParseCreateIndexBody(name, ApplyIndexTemplates(*state, name, nlohmann::json())));
  Result<cluster::Index> created = context.control_plane->CreateIndex(
      controlplane::CallContext::WithTimeout(context.control_plane_timeout), request);
  if (!created.ok() && !created.status().IsAlreadyExists()) return created.status();
  return Status::OK();
}

// The writes of one shard, in request order.
struct ShardBatch {
  std::shared_ptr<const cluster::Index> index;
  int32_t shard = 0;
  std::vector<size_t> positions;  // into the request's writes
};

void RunShardBatch(const RestContext& context, const ShardBatch& batch,
                   std::vector<DocWrite>& writes, const WriteOptions& options,
                   std::vector<WriteOutcome>* outcomes) {
  const cluster::Index& index = *batch.index;
  auto fail_all = [&](const Status& status) {
    for (size_t pos : batch.positions) (*outcomes)[pos].status = status;
  };
  Result<data::ShardService*> service = PrimaryShardService(context, index, batch.shard);
  if (!service.ok()) return fail_all(service.status());
  std::vector<BulkItem> items;
  items.reserve(batch.positions.size());
  for (size_t pos : batch.positions) items.push_back(std::move(writes[pos].item));
  Result<std::vector<engine::BulkItemResult>> results =
      (*service)->Bulk(data::ShardKey{index.name, batch.shard}, items, options.refresh);
  // The items go back where they came from: responses render their ids and routing.
  for (size_t i = 0; i < batch.positions.size(); ++i) {
    writes[batch.positions[i]].item = std::move(items[i]);
  }
  if (!results.ok()) return fail_all(results.status());
  if (results->size() != batch.positions.size()) {
    return fail_all(Status::Internal("shard answered " + std::to_string(results->size()) +
                                     " results for " + std::to_string(batch.positions.size()) +
                                     " writes"));
  }
  for (size_t i = 0; i < batch.positions.size(); ++i) {
    WriteOutcome& outcome = (*outcomes)[batch.positions[i]];
    engine::BulkItemResult& result = (*results)[i];
    outcome.status = std::move(result.status);
    outcome.write = result.write;
    outcome.source = std::move(result.source);
    outcome.forced_refresh = options.refresh == data::RefreshPolicy::kRefresh;
  }
}

}  // namespace

// --- source filters ----------------------------------------------------------------------------

const RouteParams kSourceFilterParams = {"_source", "_source_exclude", "_source_excludes",
                                         "_source_include", "_source_includes"};

Result<std::optional<engine::SourceFilter>> SourceFilterParam(const HttpRequest& request) {
  bool given = false;
  bool fetch = true;
  std::vector<std::string> includes;
  std::vector<std::string> excludes;
  if (request.HasParam("_source")) {
    given = true;
    std::string_view value = request.Param("_source");
    if (value == "false") {
      fetch = false;
    } else if (value != "true") {
      includes = SplitComma(value);
    }
  }
  for (std::string_view name : {"_source_includes", "_source_include"}) {
    if (request.HasParam(name)) {
      given = true;
      includes = SplitComma(request.Param(name));
    }
  }
  for (std::string_view name : {"_source_excludes", "_source_exclude"}) {
    if (request.HasParam(name)) {
      given = true;
      excludes = SplitComma(request.Param(name));
    }
  }
  if (!given) return std::optional<engine::SourceFilter>();
  return std::optional<engine::SourceFilter>(
      engine::SourceFilter::Of(fetch, std::move(includes), std::move(excludes)));
}

// --- ids ---------------------------------------------------------------------------------------

std::string GenerateDocumentId() {
  static const std::array<uint8_t, 6> node = RandomNodeBytes();
  static std::atomic<uint32_t> sequence{static_cast<uint32_t>(std::random_device{}())};
  static std::atomic<int64_t> last_timestamp{0};
  uint32_t seq = (sequence.fetch_add(1, std::memory_order_relaxed) + 1) & 0xffffff;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  // Never go back in time, and move on a millisecond when the sequence wraps, so ids stay
  // unique on this node (OpenSearch's TimeBasedUUIDGenerator).
  int64_t last = last_timestamp.load(std::memory_order_relaxed);
  int64_t ts;
  do {
    ts = std::max(last, now);
    if (seq == 0) ++ts;
  } while (!last_timestamp.compare_exchange_weak(last, ts, std::memory_order_relaxed));
  // The byte order puts the fast-changing sequence bytes first (they make terms distinct
  // early) and slow-changing time bytes next (shared prefixes compress), as OpenSearch does.
  std::array<uint8_t, 15> b{};
  size_t i = 0;
  b[i++] = static_cast<uint8_t>(seq);
  b[i++] = static_cast<uint8_t>(seq >> 16);
  b[i++] = static_cast<uint8_t>(ts >> 16);
  b[i++] = static_cast<uint8_t>(ts >> 24);
  b[i++] = static_cast<uint8_t>(ts >> 32);
  b[i++] = static_cast<uint8_t>(ts >> 40);
  for (uint8_t n : node) b[i++] = n;
  b[i++] = static_cast<uint8_t>(ts >> 8);
  b[i++] = static_cast<uint8_t>(seq >> 8);
  b[i++] = static_cast<uint8_t>(ts);
  return Base64Url(b.data(), b.size());
}

// --- execution ---------------------------------------------------------------------------------

Result<std::vector<WriteOutcome>> ExecuteWrites(const RestContext& context,
                                                std::vector<DocWrite>* writes,
                                                const WriteOptions& options) {
  std::vector<WriteOutcome> outcomes(writes->size());
  std::vector<std::string> names;
  for (const DocWrite& write : *writes) {
    if (names.empty() || names.back() != write.index) names.push_back(write.index);
  }
  QD_ASSIGN_OR_RETURN(cluster::StatePtr state, ReadClusterState(context, names));
  // A write through an alias goes to the alias's write index (and answers with that index's
  // name, as OpenSearch does); require_alias insists that the name is an alias.
  for (DocWrite& write : *writes) {
    if (!write.error.ok()) continue;
    std::string& routing = write.item.kind == BulkItem::Kind::kUpdate ? write.item.update.routing
                                                                      : write.item.params.routing;
    Result<DocTarget> target = WriteTarget(*state, write.index, routing);
    if (!target.ok()) {
      write.error = target.status();
      continue;
    }
    if (write.require_alias && target->index == write.index) {
      write.error = Status::NotFound("index_not_found_exception: no such index [" + write.index +
                                     "] and [require_alias] request flag is [true] and [" +
                                     write.index + "] is not an alias");
      continue;
    }
    write.index = std::move(target->index);
    routing = std::move(target->routing);  // an alias's index_routing
  }

  // Every index named, once: found, created, or failed.
  std::map<std::string, Target, std::less<>> targets;
  // Indices whose primaries are not started yet: created here, or by another request a moment
  // ago. Their writes wait for the primaries (OpenSearch retries a write on an inactive primary
  // until its timeout).
  std::vector<std::string> created;
  for (const DocWrite& write : *writes) {
    if (!write.error.ok() || targets.contains(write.index)) continue;
    Target& target = targets[write.index];
    auto it = state->indices.find(write.index);
    if (it != state->indices.end()) {
      // A closed index takes no writes; its shards are closed.
      target.error = CheckOpen(*it->second);
      target.index = it->second;
      if (target.error.ok() && !ActiveShardsReached(*it->second, 1)) {
        created.push_back(write.index);
      }
      continue;
    }
    Status valid = ValidateIndexName(write.index);
    if (!valid.ok()) {
      target.error = valid;
      continue;
    }
    target.error = AutoCreateIndex(context, write.index);
    if (target.error.ok()) created.push_back(write.index);
  }
  if (!created.empty()) {
    QD_ASSIGN_OR_RETURN(state, WaitForActiveShards(context, created, 1, options.timeout));
    for (const std::string& name : created) {
      auto it = state->indices.find(name);
      if (it == state->indices.end()) {
        // Deleted again between its creation and now.
        targets[name].error = IndexNotFoundError(name);
      } else {
        targets[name].index = it->second;
      }
    }
  }

  // Group by shard, keeping request order within each shard.
  std::map<std::pair<std::string_view, int32_t>, ShardBatch> batches;
  for (size_t pos = 0; pos < writes->size(); ++pos) {
    DocWrite& write = (*writes)[pos];
    WriteOutcome& outcome = outcomes[pos];
    if (!write.error.ok()) {
      outcome.status = write.error;
      continue;
    }
    const Target& target = targets.find(write.index)->second;
    if (!target.error.ok()) {
      outcome.status = target.error;
      continue;
    }
    const cluster::Index& index = *target.index;
    if (write.item.id.empty() &&
        (write.action == DocWrite::Action::kIndex || write.action == DocWrite::Action::kCreate)) {
      write.item.id = GenerateDocumentId();
    }
    const std::string& routing = write.item.kind == BulkItem::Kind::kUpdate
                                     ? write.item.update.routing
                                     : write.item.params.routing;
    int32_t shard = write.shard >= 0 ? write.shard
                                     : ShardForRouting(routing.empty() ? write.item.id : routing,
                                                       index.settings.shards);
    outcome.index_uuid = index.uuid;
    outcome.shard = shard;
    outcome.shards_total = shard < static_cast<int32_t>(index.routing.shards.size())
                               ? static_cast<int32_t>(index.routing.shards[shard].copies.size())
                               : 1 + index.settings.replicas;
    ShardBatch& batch = batches[{index.name, shard}];
    if (batch.positions.empty()) {
      batch.index = target.index;
      batch.shard = shard;
    }
    batch.positions.push_back(pos);
  }

  // One Bulk call per shard; the shards of a request run in parallel.
  std::vector<const ShardBatch*> list;
  for (const auto& [key, batch] : batches) list.push_back(&batch);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < list.size(); ++i) {
    threads.emplace_back([&, i] { RunShardBatch(context, *list[i], *writes, options, &outcomes); });
  }
  if (!list.empty()) RunShardBatch(context, *list[0], *writes, options, &outcomes);
  for (std::thread& t : threads) t.join();
  return outcomes;
}

// --- responses ---------------------------------------------------------------------------------

int WriteStatus(const WriteOutcome& outcome) {
  if (!outcome.status.ok()) return ErrorTypeOf(outcome.status).second;
  switch (outcome.write.result) {
    case WriteResultKind::kCreated:
      return 201;
    case WriteResultKind::kNotFound:
      return 404;
    default:
      return 200;
  }
}

OrderedJson DocumentErrorObject(const Status& status, std::string_view index, int32_t shard,
                                std::string_view index_uuid) {
  std::string type = ErrorTypeOf(status).first;
  if (IsShardLevelError(type) && shard >= 0) {
    OrderedJson error;
    error["type"] = type;
    error["reason"] = std::string(engine::SplitEngineError(status).second);
    error["index"] = std::string(index);
    error["shard"] = std::to_string(shard);
    error["index_uuid"] = std::string(index_uuid);
    return error;
  }
  if (type == "invalid_index_name_exception" || type == "index_not_found_exception") {
    return ErrorObject(status, index);
  }
  return ErrorObject(status);
}

HttpResponse ErrorObjectResponse(const OrderedJson& error, int status) {
  OrderedJson body;
  body["error"]["root_cause"] = OrderedJson::array({error});
  for (const auto& [key, value] : error.items()) body["error"][key] = value;
  body["status"] = status;
  return JsonResponse(status, body);
}

OrderedJson WriteErrorObject(const DocWrite& write, const WriteOutcome& outcome) {
  return DocumentErrorObject(outcome.status, write.index, outcome.shard, outcome.index_uuid);
}

void RenderWriteResponse(const DocWrite& write, const WriteOutcome& outcome, bool with_status,
                         std::string* out) {
  out->push_back('{');
  AppendField("_index", out);
  AppendJsonString(write.index, out);
  out->push_back(',');
  AppendField("_id", out);
  if (write.item.id.empty()) {
    out->append("null");
  } else {
    AppendJsonString(write.item.id, out);
  }
  if (!outcome.status.ok()) {
    if (with_status) {
      out->append(",\"status\":");
      out->append(std::to_string(WriteStatus(outcome)));
    }
    out->append(",\"error\":");
    out->append(Dump(WriteErrorObject(write, outcome)));
    out->push_back('}');
    return;
  }
  const engine::WriteResult& w = outcome.write;
  bool noop = w.result == WriteResultKind::kNoop;
  out->append(",\"_version\":");
  out->append(std::to_string(w.version));
  out->append(",\"result\":\"");
  out->append(engine::WriteResultName(w.result));
  out->push_back('"');
  if (outcome.forced_refresh && !noop) out->append(",\"forced_refresh\":true");
  // A noop wrote nothing, so no copy took part (OpenSearch's empty ShardInfo); otherwise the
  // primary did and replicas are not written yet.
  int total = noop ? 0 : outcome.shards_total;
  int successful = noop ? 0 : 1;
  out->append(",\"_shards\":{\"total\":");
  out->append(std::to_string(total));
  out->append(",\"successful\":");
  out->append(std::to_string(successful));
  out->append(",\"failed\":0}");
  out->append(",\"_seq_no\":");
  out->append(std::to_string(w.seq_no));
  out->append(",\"_primary_term\":");
  out->append(std::to_string(w.primary_term));
  if (write.action == DocWrite::Action::kUpdate && write.fetch_source &&
      write.fetch_source->fetch()) {
    Result<std::string> filtered = write.fetch_source->Apply(outcome.source);
    out->append(",\"get\":{\"_seq_no\":");
    out->append(std::to_string(w.seq_no));
    out->append(",\"_primary_term\":");
    out->append(std::to_string(w.primary_term));
    out->append(",\"found\":true,\"_source\":");
    out->append(filtered.ok() ? *filtered : outcome.source);
    out->push_back('}');
  }
  if (with_status) {
    out->append(",\"status\":");
    out->append(std::to_string(WriteStatus(outcome)));
  }
  out->push_back('}');
}

// --- bulk parsing ------------------------------------------------------------------------------

namespace {

// The XContent token OpenSearch would report for the start of `element`.
std::string_view TokenName(dom::element_type type) {
  switch (type) {
    case dom::element_type::OBJECT:
      return "START_OBJECT";
    case dom::element_type::ARRAY:
      return "START_ARRAY";
    case dom::element_type::STRING:
      return "VALUE_STRING";
    case dom::element_type::BOOL:
      return "VALUE_BOOLEAN";
    case dom::element_type::NULL_VALUE:
      return "VALUE_NULL";
    default:
      return "VALUE_NUMBER";
  }
}

Status JsonParseError(std::string_view line_text, simdjson::error_code code, size_t line) {
  (void)line_text;
  return Status::InvalidArgument(
      "json_parse_exception: " + std::string(simdjson::error_message(code)) + " at line [" +
      std::to_string(line) + "]");
}

// A simple metadata value as text (XContentParser.text(): strings and numbers alike).
std::optional<std::string> ScalarText(dom::element value) {
  switch (value.type()) {
    case dom::element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case dom::element_type::INT64:
      return std::to_string(value.get_int64().value_unsafe());
    case dom::element_type::UINT64:
      return std::to_string(value.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE:
      return simdjson::to_string(value);
    case dom::element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    default:
      return std::nullopt;
  }
}

Result<int64_t> LongValue(dom::element value, std::string_view field) {
  if (value.type() == dom::element_type::INT64) return value.get_int64().value_unsafe();
  if (value.type() == dom::element_type::UINT64 || value.type() == dom::element_type::DOUBLE) {
    return IllegalArgument("Value [" + simdjson::to_string(value) + "] is out of range for [" +
                           std::string(field) + "]");
  }
  std::optional<std::string> text = ScalarText(value);
  if (text) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text->c_str(), &end, 10);
    if (errno == 0 && end != text->c_str() && *end == '\0') return static_cast<int64_t>(v);
  }
  return IllegalArgument("For input string: \"" + text.value_or("") + "\"");
}

Result<engine::VersionType> VersionTypeOf(std::string_view text) {
  if (text == "internal") return engine::VersionType::kInternal;
  if (text == "external") return engine::VersionType::kExternal;
  if (text == "external_gte") return engine::VersionType::kExternalGte;
  return IllegalArgument("No version type match [" + std::string(text) + "]");
}

// A _source value of an action or update line.
Result<engine::SourceFilter> SourceFilterOf(dom::element value) {
  nlohmann::json parsed = nlohmann::json::parse(simdjson::to_string(value), nullptr, false);
  return engine::SourceFilter::Parse(&parsed);
}

// The metadata of one action line.
struct Metadata {
  std::string index;
  std::string id;
  std::string routing;
  std::optional<std::string> op_type;
  std::optional<int64_t> version;
  engine::VersionType version_type = engine::VersionType::kInternal;
  std::optional<int64_t> if_seq_no;
  std::optional<int64_t> if_primary_term;
  int retry_on_conflict = 0;
  std::optional<std::string> pipeline;
  std::optional<engine::SourceFilter> fetch_source;
  bool require_alias = false;
};

Status ParseMetadata(dom::object meta, size_t line, Metadata* out) {
  for (dom::key_value_pair field : meta) {
    std::string_view key = field.key;
    dom::element value = field.value;
    dom::element_type type = value.type();
    if (type == dom::element_type::NULL_VALUE) continue;
    if (type == dom::element_type::OBJECT && key == "_source") {
      QD_ASSIGN_OR_RETURN(out->fetch_source, SourceFilterOf(value));
      continue;
    }
    if (type == dom::element_type::OBJECT || type == dom::element_type::ARRAY) {
      return IllegalArgument("Malformed action/metadata line [" + std::to_string(line) +
                             "], expected a simple value for field [" + std::string(key) +
                             "] but found [" + std::string(TokenName(type)) + "]");
    }
    std::string text = ScalarText(value).value_or("");
    if (key == "_index") {
      out->index = std::move(text);
    } else if (key == "_id") {
      out->id = std::move(text);
    } else if (key == "routing") {
      out->routing = std::move(text);
    } else if (key == "op_type") {
      out->op_type = std::move(text);
    } else if (key == "version") {
      QD_ASSIGN_OR_RETURN(out->version, LongValue(value, key));
    } else if (key == "version_type") {
      QD_ASSIGN_OR_RETURN(out->version_type, VersionTypeOf(text));
    } else if (key == "if_seq_no") {
      QD_ASSIGN_OR_RETURN(out->if_seq_no, LongValue(value, key));
    } else if (key == "if_primary_term") {
      QD_ASSIGN_OR_RETURN(out->if_primary_term, LongValue(value, key));
    } else if (key == "retry_on_conflict") {
      QD_ASSIGN_OR_RETURN(int64_t retries, LongValue(value, key));
      out->retry_on_conflict = static_cast<int>(retries);
    } else if (key == "pipeline") {
      out->pipeline = std::move(text);
    } else if (key == "_source") {
      QD_ASSIGN_OR_RETURN(out->fetch_source, SourceFilterOf(value));
    } else if (key == "require_alias") {
      if (type != dom::element_type::BOOL && text != "true" && text != "false") {
        return IllegalArgument("Failed to parse value [" + text +
                               "] as only [true] or [false] are allowed.");
      }
      out->require_alias = text == "true";
    } else {
      return IllegalArgument("Action/metadata line [" + std::to_string(line) +
                             "] contains an unknown parameter [" + std::string(key) + "]");
    }
  }
  return Status::OK();
}

// The update line ({"doc", "upsert", "doc_as_upsert", "detect_noop", "_source", ...}) into
// `write`. Unknown fields fail the request (UpdateRequest's strict parser); a script fails the
// item, since scripts are not supported.
Status ParseUpdateBody(dom::element body, DocWrite* write) {
  dom::object object;
  if (body.get(object) != simdjson::SUCCESS) {
    return Status::InvalidArgument(
        "x_content_parse_exception: [1:1] [UpdateRequest] Expected START_OBJECT but was " +
        std::string(TokenName(body.type())));
  }
  engine::UpdateRequest& update = write->item.update;
  for (dom::key_value_pair field : object) {
    std::string_view key = field.key;
    dom::element value = field.value;
    if (key == "doc") {
      update.doc = simdjson::minify(value);
    } else if (key == "upsert") {
      update.upsert = simdjson::minify(value);
    } else if (key == "doc_as_upsert") {
      bool b = false;
      if (value.get(b) != simdjson::SUCCESS) {
        return IllegalArgument("[UpdateRequest] failed to parse field [doc_as_upsert]");
      }
      update.doc_as_upsert = b;
    } else if (key == "detect_noop") {
      bool b = true;
      if (value.get(b) != simdjson::SUCCESS) {
        return IllegalArgument("[UpdateRequest] failed to parse field [detect_noop]");
      }
      update.detect_noop = b;
    } else if (key == "_source") {
      QD_ASSIGN_OR_RETURN(write->fetch_source, SourceFilterOf(value));
    } else if (key == "script" || key == "scripted_upsert") {
      write->error = IllegalArgument("scripts are not supported: [" + std::string(key) + "]");
    } else if (key == "if_seq_no" || key == "if_primary_term") {
      Result<int64_t> v = LongValue(value, key);
      if (!v.ok()) return v.status();
      (key == "if_seq_no" ? update.if_seq_no : update.if_primary_term) = *v;
    } else {
      return Status::InvalidArgument(
          "x_content_parse_exception: [1:2] [UpdateRequest] unknown "
          "field [" +
          std::string(key) + "]");
    }
  }
  return Status::OK();
}

// Trims a '\r' before the '\n' (sliceTrimmingCarriageReturn).
std::string_view LineAt(std::string_view body, size_t from, size_t end) {
  if (end > from && body[end - 1] == '\r') --end;
  return body.substr(from, end - from);
}

// The validation OpenSearch runs on a bulk before executing any of it (BulkRequest.validate).
void ValidateWrite(const DocWrite& write, std::vector<std::string>* errors) {
  if (write.index.empty()) errors->push_back("index is missing");
  bool update_or_delete =
      write.action == DocWrite::Action::kUpdate || write.action == DocWrite::Action::kDelete;
  if (write.item.id.empty() && update_or_delete) errors->push_back("id is missing");
  if (write.item.id.size() > kMaxIdBytes) {
    errors->push_back("id [" + write.item.id + "] is too long, must be no longer than 512 " +
                      "bytes but was: " + std::to_string(write.item.id.size()));
  }
  if (write.action == DocWrite::Action::kUpdate) return;
  const engine::WriteParams& p = write.item.params;
  if (write.action == DocWrite::Action::kCreate &&
      p.version_type != engine::VersionType::kInternal) {
    errors->push_back("create operations only support internal versioning. use index instead");
  } else if (p.version_type == engine::VersionType::kInternal && p.version) {
    errors->push_back(
        "internal versioning can not be used for optimistic concurrency control. Please use "
        "`if_seq_no` and `if_primary_term` instead");
  }
  if (p.if_seq_no && (p.version || p.version_type != engine::VersionType::kInternal)) {
    errors->push_back("compare and write operations can not use versioning");
  }
  if (p.if_seq_no && !p.if_primary_term) {
    errors->push_back("ifSeqNo is set, but primary term is [0]");
  }
  if (p.if_primary_term && !p.if_seq_no) {
    errors->push_back("ifSeqNo is unassigned, but primary term is [" +
                      std::to_string(*p.if_primary_term) + "]");
  }
}

}  // namespace

Result<engine::VersionType> ParseVersionType(std::string_view text) { return VersionTypeOf(text); }

Status ValidateWrites(const std::vector<DocWrite>& writes) {
  std::vector<std::string> errors;
  if (writes.empty()) errors.push_back("no requests added");
  for (const DocWrite& write : writes) ValidateWrite(write, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  return Status::OK();
}

Status ParseUpdateRequestBody(std::string_view body, DocWrite* write) {
  write->item.kind = BulkItem::Kind::kUpdate;
  thread_local dom::parser parser;
  dom::element root;
  simdjson::error_code code = parser.parse(body.data(), body.size(), true).get(root);
  if (code != simdjson::SUCCESS) return JsonParseError(body, code, 1);
  return ParseUpdateBody(root, write);
}

Result<std::vector<DocWrite>> ParseBulkBody(
    std::string_view body, std::string_view default_index, std::string_view default_routing,
    bool default_require_alias, const std::optional<engine::SourceFilter>& default_source) {
  std::vector<DocWrite> writes;
  // At most one write per action line and usually two lines per write: no regrowth (a DocWrite
  // is large) for the usual body.
  writes.reserve(static_cast<size_t>(std::count(body.begin(), body.end(), '\n')) / 2 + 1);
  // One parser per thread, and one padded line buffer it reads from in place (no copy per line
  // inside simdjson).
  thread_local dom::parser parser;
  thread_local std::string padded;
  auto parse_line = [&](std::string_view line, dom::element* out) -> simdjson::error_code {
    if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) {
      padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(padded.data(), line.data(), line.size());
    return parser.parse(padded.data(), line.size(), false).get(*out);
  };

  size_t line = 0;
  size_t from = 0;
  auto next_marker = [&](size_t start) -> Result<size_t> {
    size_t pos = body.find('\n', start);
    if (pos != std::string_view::npos) return pos;
    if (start != body.size()) {
      return IllegalArgument("The bulk request must be terminated by a newline [\\n]");
    }
    return std::string_view::npos;
  };
  for (;;) {
    QD_ASSIGN_OR_RETURN(size_t marker, next_marker(from));
    if (marker == std::string_view::npos) break;
    ++line;
    std::string_view action_line = LineAt(body, from, marker);
    from = marker + 1;
    if (action_line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    dom::element root;
    simdjson::error_code code = parse_line(action_line, &root);
    if (code != simdjson::SUCCESS) return JsonParseError(action_line, code, line);
    // Built only when a line is malformed: this loop runs once per document.
    auto malformed = [line](std::string_view expected) {
      return IllegalArgument("Malformed action/metadata line [" + std::to_string(line) +
                             "], expected " + std::string(expected));
    };
    dom::object root_object;
    if (root.get(root_object) != simdjson::SUCCESS) {
      return malformed("START_OBJECT but found [" + std::string(TokenName(root.type())) + "]");
    }
    auto first = root_object.begin();
    if (first == root_object.end()) {
      return malformed("FIELD_NAME but found [END_OBJECT]");
    }
    std::string_view action = first.key();
    DocWrite write;
    if (action == "index") {
      write.action = DocWrite::Action::kIndex;
    } else if (action == "create") {
      write.action = DocWrite::Action::kCreate;
    } else if (action == "update") {
      write.action = DocWrite::Action::kUpdate;
    } else if (action == "delete") {
      write.action = DocWrite::Action::kDelete;
    } else {
      return malformed("field [create], [delete], [index] or [update] but found [" +
                       std::string(action) + "]");
    }
    Metadata meta;
    meta.index = std::string(default_index);
    meta.routing = std::string(default_routing);
    meta.require_alias = default_require_alias;
    meta.fetch_source = default_source;
    dom::element meta_value = first.value();
    dom::object meta_object;
    if (meta_value.get(meta_object) == simdjson::SUCCESS) {
      QD_RETURN_IF_ERROR(ParseMetadata(meta_object, line, &meta));
    } else {
      return malformed("START_OBJECT or END_OBJECT but found [" +
                       std::string(TokenName(meta_value.type())) + "]");
    }
    if (meta.pipeline && *meta.pipeline != "_none") {
      return IllegalArgument("pipeline with id [" + *meta.pipeline + "] does not exist");
    }
    write.index = std::move(meta.index);
    write.require_alias = meta.require_alias;
    write.item.id = std::move(meta.id);
    engine::WriteParams& params = write.item.params;
    params.routing = meta.routing;
    params.version = meta.version;
    params.version_type = meta.version_type;
    params.if_seq_no = meta.if_seq_no;
    params.if_primary_term = meta.if_primary_term;

    if (write.action == DocWrite::Action::kDelete) {
      write.item.kind = BulkItem::Kind::kDelete;
      writes.push_back(std::move(write));
      continue;
    }
    // The source line.
    QD_ASSIGN_OR_RETURN(marker, next_marker(from));
    if (marker == std::string_view::npos) break;
    ++line;
    std::string_view source = LineAt(body, from, marker);
    from = marker + 1;
    if (write.action == DocWrite::Action::kUpdate) {
      if (meta.version || meta.version_type != engine::VersionType::kInternal) {
        return IllegalArgument(
            "Update requests do not support versioning. Please use `if_seq_no` and "
            "`if_primary_term` instead");
      }
      write.item.kind = BulkItem::Kind::kUpdate;
      engine::UpdateRequest& update = write.item.update;
      update.routing = meta.routing;
      update.retry_on_conflict = meta.retry_on_conflict;
      update.if_seq_no = meta.if_seq_no;
      update.if_primary_term = meta.if_primary_term;
      QD_RETURN_IF_ERROR(ParseUpdateRequestBody(source, &write));
      // The action line's _source (or the request's) wins over the update body's, as in
      // BulkRequestParser.
      if (meta.fetch_source) write.fetch_source = meta.fetch_source;
    } else {
      write.item.kind = BulkItem::Kind::kIndex;
      // An op_type other than "create" is a plain index (BulkRequestParser:
      // create("create".equals(opType))).
      if (write.action == DocWrite::Action::kCreate ||
          (meta.op_type && *meta.op_type == "create")) {
        write.action = DocWrite::Action::kCreate;
        params.op_type = engine::OpType::kCreate;
      }
      write.item.source = std::string(source);
    }
    writes.push_back(std::move(write));
  }

  QD_RETURN_IF_ERROR(ValidateWrites(writes));
  return writes;
}

// --- the endpoint ------------------------------------------------------------------------------

namespace {

HttpResponse HandleBulk(const RestContext& context, const HttpRequest& request,
                        const PathParams& path) {
  auto start = Clock::now();
  Result<data::RefreshPolicy> refresh = RefreshParam(request);
  if (!refresh.ok()) return ErrorResponse(refresh.status());
  Result<std::chrono::milliseconds> timeout =
      TimeParam(request, "timeout", std::chrono::milliseconds(60000));
  if (!timeout.ok()) return ErrorResponse(timeout.status());
  Result<bool> require_alias = BoolParam(request, "require_alias", false);
  if (!require_alias.ok()) return ErrorResponse(require_alias.status());
  if (request.HasParam("pipeline") && request.Param("pipeline") != "_none") {
    return ErrorResponse(IllegalArgument(
        "pipeline with id [" + std::string(request.Param("pipeline")) + "] does not exist"));
  }
  if (request.body.empty()) {
    return ErrorResponse(Status::InvalidArgument("parse_exception: request body is required"));
  }
  auto index_it = path.find("index");
  std::string_view default_index =
      index_it == path.end() ? std::string_view() : std::string_view(index_it->second);
  Result<std::optional<engine::SourceFilter>> source = SourceFilterParam(request);
  if (!source.ok()) return ErrorResponse(source.status());
  Result<std::vector<DocWrite>> writes =
      ParseBulkBody(request.body, default_index, request.Param("routing"), *require_alias, *source);
  if (!writes.ok()) return ErrorResponse(writes.status());

  WriteOptions options;
  options.refresh = *refresh;
  options.timeout = std::min(*timeout, std::chrono::milliseconds(30000));
  Result<std::vector<WriteOutcome>> outcomes = ExecuteWrites(context, &*writes, options);
  if (!outcomes.ok()) return ErrorResponse(outcomes.status());

  bool errors = false;
  for (const WriteOutcome& outcome : *outcomes) errors |= !outcome.status.ok();
  std::string out;
  out.reserve(64 + writes->size() * 200);
  out.append("{\"took\":");
  out.append(std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()));
  out.append(errors ? ",\"errors\":true,\"items\":[" : ",\"errors\":false,\"items\":[");
  for (size_t i = 0; i < writes->size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append("{\"");
    out.append(ActionName((*writes)[i].action));
    out.append("\":");
    RenderWriteResponse((*writes)[i], (*outcomes)[i], /*with_status=*/true, &out);
    out.push_back('}');
  }
  out.append("]}");
  return HttpResponse::Json(200, std::move(out));
}

}  // namespace

Status RegisterBulkHandlers(const RestContext& context, Router* router) {
  RestHandler handler = [context](const HttpRequest& request, const PathParams& path) {
    return HandleBulk(context, request, path);
  };
  // wait_for_active_shards is accepted without effect (docs/api.md).
  const RouteParams params = Params(
      {kSourceFilterParams,
       {"pipeline", "refresh", "require_alias", "routing", "timeout", "wait_for_active_shards"}});
  for (std::string_view path : {"/_bulk", "/{index}/_bulk"}) {
    QD_RETURN_IF_ERROR(
        router->Register({HttpMethod::kPost, HttpMethod::kPut}, path, handler, params));
  }
  return Status::OK();
}

}  // namespace quidditch::rest
