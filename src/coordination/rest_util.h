// Shared pieces of the REST handlers: what every handler reaches (RestContext), OpenSearch's
// error bodies for our Status values, parameter parsing, index-name resolution and document
// routing.
//
// Error mapping (ErrorResponse): a Status whose message starts with an OpenSearch exception
// type ("mapper_parsing_exception: ...", engine/errors.h) keeps that type; otherwise the type
// follows the code: NotFound -> resource_not_found_exception 404, AlreadyExists ->
// resource_already_exists_exception 400, InvalidArgument -> illegal_argument_exception 400,
// Conflict -> version_conflict_engine_exception 409, Unavailable -> 503
// (no_shard_available_action_exception when the message names a shard, else
// master_not_discovered_exception), Timeout -> 408 timeout_exception (process_cluster_event_
// timeout_exception for control-plane writes), anything else -> 500 exception. Known types have
// OpenSearch's status: index_not_found_exception 404, document_missing_exception 404,
// version_conflict_engine_exception 409, parsing_exception / x_content_parse_exception /
// mapper_parsing_exception / illegal_argument_exception / invalid_index_name_exception /
// invalid_alias_name_exception / index_closed_exception (with its index fields, see
// IndexClosedError) / action_request_validation_exception / resource_already_exists_exception
// 400, aliases_not_found_exception 404,
// search_phase_execution_exception 400 (or the status of its cause).
//
// Thread safety: everything here is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/glob.h"
#include "common/status.h"
#include "controlplane/control_plane.h"
#include "coordination/http_types.h"
#include "coordination/rest_root.h"
#include "data/shard_service.h"

namespace quidditch::rest {

using OrderedJson = nlohmann::ordered_json;

// What the REST handlers of a node work with. Borrowed pointers: they outlive the router.
struct RestContext {
  NodeIdentity identity;
  controlplane::ControlPlane* control_plane = nullptr;
  // The shard service of data node `node_id`, or null when this node cannot reach it (on one
  // node: the local service for the local id, null otherwise).
  std::function<data::ShardService*(const std::string& node_id)> shard_service;
  // Control-plane calls (reads and writes) take at most this long.
  std::chrono::milliseconds control_plane_timeout{30000};
};

// --- responses ---------------------------------------------------------------------------------

// Compact JSON (invalid UTF-8 replaced), as every handler answers. RawJson values go out
// verbatim.
std::string Dump(const OrderedJson& json);
// A JSON text that Dump writes verbatim: a hit's stored _source goes out as it was indexed, as
// OpenSearch returns it, instead of being parsed into a tree only to be written again (that
// was a fifth of a node's CPU on searches returning ten hits). Held as a binary value, which
// parsing JSON never produces. REQUIRES: `text` is valid JSON (the engine stores only
// _source that parsed).
OrderedJson RawJson(std::string_view text);
HttpResponse JsonResponse(int status, const OrderedJson& json);
// {"acknowledged": true} and friends.
HttpResponse Acknowledged(bool acknowledged = true);

// The HTTP status OpenSearch answers for exception `type` (400 for unknown types).
int StatusForErrorType(std::string_view type);
// The OpenSearch type and status of `status` (see the header comment).
std::pair<std::string, int> ErrorTypeOf(const Status& status);
// The error object {"type","reason"[, "index","index_uuid"]} of `status` (no root_cause), as
// bulk items and shard failures carry it. `index_uuid` defaults to "_na_" when an index is given;
// index_not_found_exception also gets resource.id and resource.type, as OpenSearch adds them.
OrderedJson ErrorObject(const Status& status, std::string_view index = {},
                        std::string_view index_uuid = {});
// The whole error response of `status`: {"error":{"root_cause":[...],"type","reason"[,index]},
// "status":N}. `index`, when given, is added as OpenSearch adds it ("index" and
// "index_uuid": "_na_" unless `index_uuid` is given, for index-level errors).
HttpResponse ErrorResponse(const Status& status, std::string_view index = {},
                           std::string_view index_uuid = {});
// 404 index_not_found_exception "no such index [name]" with index, index_uuid "_na_",
// resource.type "index_or_alias" and resource.id, as OpenSearch answers.
HttpResponse IndexNotFound(std::string_view index);
Status IndexNotFoundError(std::string_view index);

// --- requests ----------------------------------------------------------------------------------

// The body as JSON. An empty body is nullopt. Malformed JSON is x_content_parse_exception
// (InvalidArgument) with the parser's position, as OpenSearch reports it; a body that is not
// an object, when `require_object`, is parsing_exception.
Result<std::optional<nlohmann::json>> ParseJsonBody(const HttpRequest& request,
                                                    bool require_object = true);

// Boolean parameter: absent -> fallback; "" or "true" -> true; "false" -> false; anything else
// illegal_argument_exception "Failed to parse value [x] as only [true] or [false] are allowed.".
Result<bool> BoolParam(const HttpRequest& request, std::string_view name, bool fallback);
// Integer parameter; illegal_argument_exception when not a number.
Result<int64_t> IntParam(const HttpRequest& request, std::string_view name, int64_t fallback);
// An OpenSearch time value ("30s", "1m", "500ms", "2h", "1d", "-1"); -1 -> nullopt.
// illegal_argument_exception "failed to parse setting [name] with value [v] as a time value:
// ..." otherwise.
Result<std::optional<std::chrono::milliseconds>> ParseTimeValue(std::string_view value,
                                                                std::string_view name);
Result<std::chrono::milliseconds> TimeParam(const HttpRequest& request, std::string_view name,
                                            std::chrono::milliseconds fallback);
// The time parameters of acknowledged cluster-state changes (kAckTimeoutParams: timeout,
// master_timeout, cluster_manager_timeout), each validated (default 30s); returns `timeout`.
Result<std::chrono::milliseconds> AckTimeout(const HttpRequest& request);

// Query parameter groups that many routes accept (Router::Register's `params`).
extern const RouteParams kAckTimeoutParams;   // AckTimeout
extern const RouteParams kIndexOptionParams;  // IndicesOptionsOf

// `refresh`: absent/"false" -> kNone, ""/"true" -> kRefresh, "wait_for" -> kWaitFor.
Result<data::RefreshPolicy> RefreshParam(const HttpRequest& request);

// Splits a comma list, trimming spaces and dropping empty parts.
std::vector<std::string> SplitComma(std::string_view text);
using ::quidditch::GlobMatch;  // common/glob.h

// --- indices -----------------------------------------------------------------------------------

struct IndicesOptions {
  bool ignore_unavailable = false;  // skip missing (and forbidden closed) names instead of failing
  bool allow_no_indices = true;     // a wildcard (or _all) matching nothing is not an error
  bool expand_open = true;          // expand_wildcards open: wildcards match open indices
  bool expand_closed = false;       // expand_wildcards closed: wildcards match closed indices
  // expand_wildcards hidden: wildcards (and _all) also match hidden indices (index.hidden) and
  // hidden aliases (is_hidden). Without it, only a wildcard starting with '.' matches the hidden
  // ones whose names start with '.', as OpenSearch's WildcardExpressionResolver.
  bool expand_hidden = false;
  // OpenSearch's forbidClosedIndices: a closed index named (directly or through an alias) is
  // index_closed_exception, or skipped with ignore_unavailable; wildcards never yield it. The
  // APIs that work on closed indices (GET /{index}, settings, _close/_open, delete, _cat,
  // health) turn it off.
  bool forbid_closed = true;
  // OpenSearch's ignoreAliases (DELETE /{index}): wildcards match index names only, and an alias
  // named is illegal_argument_exception "The provided expression [x] matches an alias, ...".
  bool ignore_aliases = false;
};
// The options a request's ignore_unavailable, allow_no_indices and expand_wildcards say.
Result<IndicesOptions> IndicesOptionsOf(const HttpRequest& request, IndicesOptions defaults);

// One concrete index an expression resolves to, with the alias filters searches of it apply.
struct ResolvedIndex {
  std::string name;
  // The filters of the filtered aliases the index was reached through; a document matches when
  // any of them does. Empty when no filter applies: the index was named directly, matched by a
  // wildcard itself, or reached through an alias without a filter (OpenSearch's
  // IndicesService.buildAliasFilter).
  std::vector<nlohmann::json> filters;
  // The search_routing values of the aliases it was reached through (searches go to their
  // shards only); empty when any way it was reached has none (OpenSearch's
  // resolveSearchRouting).
  std::vector<std::string> search_routing;
};

// The concrete indices an expression names, sorted by name and without duplicates: a comma
// list of index names, alias names and '*' patterns (a pattern matches index and alias names;
// an alias stands for all its indices); "_all", "*" or empty for every index; a "-pattern"
// after a wildcard entry removes matching indices (before any wildcard it is an ordinary name,
// as in OpenSearch). A missing concrete name is index_not_found_exception unless
// options.ignore_unavailable; nothing matched at all is index_not_found_exception when
// !options.allow_no_indices; closed indices follow options (IndexClosedError).
Result<std::vector<ResolvedIndex>> ResolveIndicesWithFilters(const cluster::ClusterState& state,
                                                             std::string_view expression,
                                                             const IndicesOptions& options);
// The names of ResolveIndicesWithFilters, for the APIs that apply no alias filter.
Result<std::vector<std::string>> ResolveIndices(const cluster::ClusterState& state,
                                                std::string_view expression,
                                                const IndicesOptions& options);

// A query that matches what `query` matches within the alias `filters` (any of them): `query`
// itself when there are none. `query` null means match_all.
nlohmann::json ApplyAliasFilters(const nlohmann::json& query,
                                 const std::vector<nlohmann::json>& filters);

// The index a single-document request or bulk item naming `name` works on, and its routing.
struct DocTarget {
  std::string index;
  // The request's routing, or the alias's index_routing when the request gives none.
  std::string routing;
};
// For a write: `name` itself when it is no alias (an index, or one that does not exist yet),
// else the alias's write index (its is_write_index index, else its only index). An alias with no
// write index is illegal_argument_exception as OpenSearch words it; so is a `routing` other
// than the alias's index_routing.
Result<DocTarget> WriteTarget(const cluster::ClusterState& state, std::string_view name,
                              std::string_view routing);
// For a GET by id: `name` itself, or the only index of alias `name` (several:
// illegal_argument_exception as OpenSearch's single-index operations answer).
Result<DocTarget> ReadTarget(const cluster::ClusterState& state, std::string_view name,
                             std::string_view routing);

// OpenSearch's IndexClosedException for `index`: 400 index_closed_exception "closed" with the
// index and index_uuid fields (ErrorObject reads them back from the message).
Status IndexClosedError(std::string_view index, std::string_view index_uuid);
// index.hidden: wildcards skip the index unless expand_wildcards includes hidden.
bool IsHiddenIndex(const cluster::Index& index);
// IndexClosedError when `index` is closed, OK otherwise.
Status CheckOpen(const cluster::Index& index);

// The shard of a document: OpenSearch's Murmur3HashFunction over the UTF-16 code units of the
// routing value (the _id when no routing is given), then OperationRouting's
// floorMod(hash, routing_num_shards) / (routing_num_shards / number_of_shards) with OpenSearch's
// default routing_num_shards for the index (number_of_shards * 2^k, the largest <= 1024, k >= 1):
// an index created on OpenSearch with the same number_of_shards puts each id on the same shard.
int32_t ShardForRouting(std::string_view routing, int32_t number_of_shards);
// OpenSearch's Murmur3HashFunction.hash(String): MurmurHash3_x86_32, seed 0, over the UTF-16LE
// bytes of `routing` (UTF-8; a malformed byte counts as U+FFFD).
int32_t RoutingHash(std::string_view routing);

// True when every shard of `index` has `required` active copies (-1: all its copies).
bool ActiveShardsReached(const cluster::Index& index, int32_t required);
// Waits until every index in `names` exists with ActiveShardsReached(required), polling the
// node's applied cluster state (the copies report STARTED through the control plane; polling
// costs no log write). Returns the newest state, reached or not once `timeout` passes; callers
// check what they need in it.
Result<cluster::StatePtr> WaitForActiveShards(const RestContext& context,
                                              const std::vector<std::string>& names,
                                              int32_t required, std::chrono::milliseconds timeout);

// The shard service holding the STARTED primary of shard `shard_id` of `index`; Unavailable
// ("no such shard [index][n]": the primary is not active) otherwise.
Result<data::ShardService*> PrimaryShardService(const RestContext& context,
                                                const cluster::Index& index, int32_t shard_id);
// The shard service of an active copy (primary first) of each shard, for reads and searches.
Result<data::ShardService*> ReadShardService(const RestContext& context,
                                             const cluster::Index& index, int32_t shard_id);

// The cluster state this node has applied, as OpenSearch's coordinating node uses its local
// ClusterState: a linearizable read would cost a Raft barrier (a log write) per request. It is
// read again linearizably when an index `indices` names (patterns and "_all" aside) is missing
// from it, so that an index created a moment ago through another node is not taken for
// missing. master_not_discovered_exception (503) when it cannot be read.
Result<cluster::StatePtr> ReadClusterState(const RestContext& context,
                                           const std::vector<std::string>& indices = {});

}  // namespace quidditch::rest
