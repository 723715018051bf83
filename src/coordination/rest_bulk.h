// The write path of the REST API: `_bulk`, and the one path every document write takes.
//
// A single-document write (PUT /{index}/_doc/{id}, _create, _update, DELETE) is a bulk of one:
// rest_document.cc builds a DocWrite and calls ExecuteWrites like the bulk handler does, and
// both render the outcome with RenderWriteResponse, so an item of a bulk and the response of
// the same write on its own are the same JSON (the item adds "status").
//
// ExecuteWrites reads the cluster state once, creates the missing indices (default settings,
// dynamic mapping) through the control plane and waits for their primaries, routes every
// write to its shard (ShardForRouting over the routing or the _id), sends each shard's writes
// to its primary in one ShardService::Bulk call (shards in parallel), and returns the outcomes
// in the order of the writes.
//
// Bulk bodies are parsed as OpenSearch's BulkRequestParser does: line by line, the action lines
// with simdjson, index/create source lines passed on untouched (the shard parses them once), a
// malformed action line failing the whole request with OpenSearch's message.
//
// Thread safety: everything here is thread-safe.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"
#include "data/fetch_phase.h"
#include "data/shard_service.h"
#include "engine/shard_engine.h"

namespace quidditch::rest {

// The `_source`, `_source_includes` and `_source_excludes` parameters of `request` (and the
// older singular `_source_include`, `_source_exclude`); nullopt when none is given.
Result<std::optional<engine::SourceFilter>> SourceFilterParam(const HttpRequest& request);
extern const RouteParams kSourceFilterParams;  // what SourceFilterParam reads
// One document write: an item of a bulk, or a single-document request.
struct DocWrite {
  enum class Action { kIndex, kCreate, kUpdate, kDelete };
  Action action = Action::kIndex;
  std::string index;
  // item.id: empty for an index/create write means "generate one" (GenerateDocumentId).
  // item.kind, item.source, item.params (routing included) and item.update as the engine takes
  // them; the action decides item.kind and item.params.op_type.
  engine::BulkItem item;
  bool require_alias = false;
  // >= 0: the write goes to this shard whatever its routing says (_delete_by_query and
  // _update_by_query write back to the shard where they found the document).
  int32_t shard = -1;
  // Update only: the document after the update is returned under "get", filtered so.
  std::optional<engine::SourceFilter> fetch_source;
  // Set when the write failed before reaching a shard (its source line did not parse, a
  // script was asked for, ...): it is answered with this error and not executed.
  Status error;
};

struct WriteOptions {
  data::RefreshPolicy refresh = data::RefreshPolicy::kNone;
  // How long to wait for the primaries of auto-created indices.
  std::chrono::milliseconds timeout{30000};
};

// The outcome of one DocWrite.
struct WriteOutcome {
  Status status;  // OK when the write happened (also for a delete of a missing document)
  engine::WriteResult write;
  std::string source;  // update: the document after it
  std::string index_uuid;
  int32_t shard = -1;        // -1 when the write never reached a shard
  int32_t shards_total = 0;  // copies of the shard (1 + replicas)
  bool forced_refresh = false;
};

// Executes `writes` (ids are generated in place for index/create writes without one) and
// returns one outcome per write, in order. Whole-request failures (the cluster state cannot
// be read) are returned as the error; per-write failures are in the outcomes.
Result<std::vector<WriteOutcome>> ExecuteWrites(const RestContext& context,
                                                std::vector<DocWrite>* writes,
                                                const WriteOptions& options);

// The HTTP status of a write's outcome: 201 created, 200 updated/deleted/noop, 404 not_found,
// or the error's status.
int WriteStatus(const WriteOutcome& outcome);
// Appends the response object of one write to `out`: {"_index","_id","_version","result",
// ["forced_refresh",] "_shards", "_seq_no", "_primary_term"[, "get"][, "status"]} on success,
// {"_index","_id",["status",] "error"} on failure; "status" when `with_status` (bulk items).
void RenderWriteResponse(const DocWrite& write, const WriteOutcome& outcome, bool with_status,
                         std::string* out);
// The error object of a failed write as OpenSearch renders an engine exception: {"type",
// "reason"[, "index", "shard", "index_uuid"]} (the shard fields for errors raised on a shard).
OrderedJson WriteErrorObject(const DocWrite& write, const WriteOutcome& outcome);

// The error object of `status` raised for a document of `index` on shard `shard` (-1: not on a
// shard): engine exceptions (version conflicts, missing documents) carry "index", "shard" and
// "index_uuid" as OpenSearch's EngineException does; index-level errors carry the index.
OrderedJson DocumentErrorObject(const Status& status, std::string_view index, int32_t shard,
                                std::string_view index_uuid);
// {"error":{"root_cause":[error],...error},"status":status}, as OpenSearch answers a request
// that failed with `error`.
HttpResponse ErrorObjectResponse(const OrderedJson& error, int status);

// "internal", "external", "external_gte"; illegal_argument_exception "No version type match
// [x]" otherwise.
Result<engine::VersionType> ParseVersionType(std::string_view text);

// OpenSearch's time-based auto-generated _id: 20 characters of URL-safe base64 over a
// sequence number, the time and a per-process random node part.
std::string GenerateDocumentId();

// The checks OpenSearch runs on a write request before executing any of it (BulkRequest /
// IndexRequest / DeleteRequest / UpdateRequest.validate): index and id present, id length,
// versioning combinations. action_request_validation_exception "Validation Failed: 1: ...;"
// listing every problem; "no requests added" for an empty list.
Status ValidateWrites(const std::vector<DocWrite>& writes);

// The body of an update ({"doc", "upsert", "doc_as_upsert", "detect_noop", "_source"}) into
// `write` (kind, item.update, fetch_source). Unknown fields fail as OpenSearch's strict parser
// does (x_content_parse_exception); a script sets write->error (scripts are not supported).
Status ParseUpdateRequestBody(std::string_view body, DocWrite* write);

// Parses the NDJSON body of a bulk request (`default_index` and `default_routing` from the path
// and parameters; `default_source` from the _source parameters, for update items that do not say)
// into writes. The whole request fails with OpenSearch's
// illegal_argument_exception / json_parse_exception / action_request_validation_exception.
Result<std::vector<DocWrite>> ParseBulkBody(
    std::string_view body, std::string_view default_index, std::string_view default_routing,
    bool default_require_alias, const std::optional<engine::SourceFilter>& default_source = {});

// POST|PUT /_bulk and /{index}/_bulk.
Status RegisterBulkHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
