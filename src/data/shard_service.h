// ShardService: what the coordination layer may ask of the shards a data node holds.
//
// The coordination layer (src/coordination) reaches shards only through this interface: write
// operations on a primary, realtime get, the query phase and the fetch phase of a search, and
// a few per-shard maintenance calls. On one node the implementation is LocalShardService
// (data/indices_service.h), in the same process; the distributed issue puts the same calls
// behind gRPC, which is why every request and result here is a plain value that serializes
// without pointers into the data node.
//
// Errors: an unknown index or a shard this node does not hold (or has not started yet) is
// Unavailable with "no such shard [index][n]" (the coordinator answers 503
// no_shard_available_action_exception, as OpenSearch does for an unassigned shard). Engine
// failures keep the engine's "<type>_exception: reason" message (engine/errors.h), which the
// REST edge turns into OpenSearch's error body.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/search/searcher.h"
#include "engine/shard_engine.h"

namespace quidditch::data {

// One shard of one index, by index name.
struct ShardKey {
  std::string index;
  int32_t shard = 0;
  friend auto operator<=>(const ShardKey&, const ShardKey&) = default;
};

// "[index][shard]", as OpenSearch names a shard in messages.
std::string ShardName(const ShardKey& shard);

// OpenSearch's `refresh` parameter of writes.
enum class RefreshPolicy {
  kNone,     // "false" (default)
  kRefresh,  // "true" / "": refresh before answering
  kWaitFor,  // "wait_for": answer once a refresh made the writes visible
};

// --- query phase -------------------------------------------------------------------------------

struct QueryPhaseRequest {
  // The whole search body as the client sent it, with the coordinator's defaults filled in:
  // query (absent: match_all), aggs/aggregations, sort, search_after, track_total_hits,
  // min_score, terminate_after, explain, post_filter. Keys the shard does not use are ignored.
  nlohmann::json body = nlohmann::json::object();
  // How many top hits this shard returns: `from + size` of the request (0: counts and
  // aggregations only).
  size_t size = 10;
  // "now" of date math, fixed by the coordinator for the whole request.
  int64_t now_millis = 0;
  // Empty: search a fresh snapshot of the shard. Otherwise the reader of an earlier query phase
  // kept open for a scroll or a point in time (its snapshot is searched, keep_alive renewed).
  std::string reader_id;
  // How long the reader (the snapshot searched) stays open after this phase: zero releases it
  // after the fetch phase (ExecuteFetch with release_reader); scroll and PIT pass their
  // keep_alive. A reader not used for its keep_alive is released by the shard service.
  std::chrono::milliseconds keep_alive{0};
  // Skip this many of the shard's top hits first (scroll pages continue where they left off).
  // Hits are still counted in total_hits.
  size_t skip = 0;
  // The search `timeout`: past it (counted from the start of this phase), the shard stops
  // collecting and answers with what it has, timed_out set. nullopt: no timeout.
  std::optional<std::chrono::milliseconds> timeout;
};

// One top hit of a shard: where it is in the reader's snapshot, and what it sorted by.
struct ShardHit {
  uint32_t doc = 0;  // doc id in the reader's snapshot (leaf doc_base + leaf doc)
  float score = 0;   // NaN when not scored
  std::vector<engine::SortValue> sort_values;  // one per sort key when sorted by fields
  std::optional<nlohmann::json> explanation;   // when the body asks for explain
};

struct QueryPhaseResult {
  // The reader that holds the searched snapshot: pass it to ExecuteFetch, or to the next
  // query phase of a scroll/PIT.
  std::string reader_id;
  uint64_t total_hits = 0;
  bool total_is_lower_bound = false;  // "relation": "gte"
  float max_score = 0;                // NaN when no hits or not scored
  std::vector<ShardHit> hits;         // best first, at most request.size
  // engine::EncodePartial of the aggregations, when the body has aggs.
  std::optional<std::string> aggregations;
  bool terminated_early = false;  // terminate_after was reached
  bool timed_out = false;         // the timeout passed: the results are partial
};

// --- fetch phase -------------------------------------------------------------------------------

struct FetchPhaseRequest {
  std::string reader_id;
  std::vector<uint32_t> docs;  // ShardHit::doc values, in the order hits are wanted
  // The search body: _source (bool, string, array or {includes, excludes}), highlight,
  // docvalue_fields, stored_fields, version, seq_no_primary_term, query (for highlighting).
  nlohmann::json body = nlohmann::json::object();
  int64_t now_millis = 0;
  // Release the reader after this fetch (a plain search; not for scroll/PIT).
  bool release_reader = true;
};

struct FetchedHit {
  std::string id;
  // The _source, filtered as the body asks; nullopt when _source is off (the hit then has
  // no "_source" key).
  std::optional<std::string> source;
  int64_t version = 0;
  int64_t seq_no = 0;
  int64_t primary_term = 0;
  nlohmann::json highlight;  // null when none: {field: [fragments]}
  nlohmann::json fields;     // null when none: {field: [values]} from docvalue_fields
};

struct FetchPhaseResult {
  std::vector<FetchedHit> hits;  // in request.docs order
};

// OpenSearch's search stats of one shard copy (the "search" section of _stats).
struct ShardSearchStats {
  int64_t open_contexts = 0;  // readers kept for scrolls and PITs
  int64_t query_total = 0;
  int64_t query_time_in_millis = 0;
  int64_t query_current = 0;
  int64_t fetch_total = 0;
  int64_t fetch_time_in_millis = 0;
  int64_t fetch_current = 0;
  int64_t scroll_total = 0;  // query phases on a kept reader
};

// --- the service -------------------------------------------------------------------------------

class ShardService {
 public:
  virtual ~ShardService() = default;

  // Applies `items` in order on the primary of `shard`; each item succeeds or fails on its own
  // (BulkItemResult::status). The translog is synced before returning (per the index's
  // translog.durability). `refresh` as the request's refresh parameter.
  virtual Result<std::vector<engine::BulkItemResult>> Bulk(
      const ShardKey& shard, const std::vector<engine::BulkItem>& items, RefreshPolicy refresh) = 0;
  virtual Result<engine::GetResult> Get(const ShardKey& shard, std::string_view id,
                                        bool realtime) = 0;

  virtual Result<QueryPhaseResult> ExecuteQuery(const ShardKey& shard,
                                                const QueryPhaseRequest& request) = 0;
  virtual Result<FetchPhaseResult> ExecuteFetch(const ShardKey& shard,
                                                const FetchPhaseRequest& request) = 0;
  // Releases a reader kept for a scroll or PIT; NotFound when it is already gone.
  virtual Status ReleaseReader(const ShardKey& shard, const std::string& reader_id) = 0;

  virtual Status Refresh(const ShardKey& shard) = 0;
  virtual Status Flush(const ShardKey& shard) = 0;
  virtual Result<engine::EngineStats> Stats(const ShardKey& shard) = 0;
  virtual Result<ShardSearchStats> SearchStats(const ShardKey& shard) = 0;
  // The shard's mapping document ({"properties": ...}), dynamic fields included.
  virtual Result<nlohmann::json> Mapping(const ShardKey& shard) = 0;
  // Merges `update` into the shard's mapping (PUT _mapping); illegal_argument_exception on a
  // conflict, in which case nothing changes.
  virtual Status UpdateMapping(const ShardKey& shard, const nlohmann::json& update) = 0;
  // POST _analyze against the index's analyzers and mapping: the request body ({"analyzer",
  // "field", "text", "tokenizer", "filter", "char_filter"}) in, {"tokens": [...]} out.
  virtual Result<nlohmann::json> Analyze(const ShardKey& shard, const nlohmann::json& request) = 0;
};

}  // namespace quidditch::data
