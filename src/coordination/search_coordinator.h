// The pure part of a distributed search: what the coordinating node does with the answers of
// the shards' query phases, without any I/O.
//
// A search runs query-then-fetch (OpenSearch's default search type): every shard returns its
// best `from + size` hits (data::QueryPhaseResult), the coordinator merges them into the
// global top hits (MergeTopHits), asks each shard for the documents of its hits in the
// requested window (fetch phase), and reduces the shards' aggregations. This header holds the
// merge, the total-hits and max-score rules, the sort order the merge compares by, the
// result-window limit, and the codec of scroll and point-in-time ids. rest_search.cc drives
// the phases over data::ShardService.
//
// Merge order is OpenSearch's (TopDocs.merge with shard indices): by score descending or by
// the sort values, ties broken by the shard's position in the request (indices by name, then
// shard number), then by the shard's own order (doc id). So a multi-shard index answers the
// same hits in the same order as one shard holding the same documents, up to score ties.
//
// Thread safety: every function here is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/shard_service.h"
#include "engine/aggs/aggregations.h"
#include "engine/search/searcher.h"

namespace quidditch::rest {

// --- sort order --------------------------------------------------------------------------------

// How the merge compares one sort key. The shards type and validate the sort against their
// mappings (engine::ParseSort); the coordinator only needs direction and missing placement.
struct SortKeyOrder {
  std::string field;
  bool descending = false;
  bool missing_first = false;  // "missing": "_first"; default "_last", whatever the order
};

// The key orders of a search body's "sort" (string, object or array of them), in OpenSearch's
// forms: "f", {"f": "desc"}, {"f": {"order": "desc", "missing": "_first"}}; "_score" defaults
// to descending, everything else to ascending. A null or absent sort is empty (by score).
// Malformed sorts are parsing_exception (as OpenSearch's coordinator rejects them), a bad
// order illegal_argument_exception.
Result<std::vector<SortKeyOrder>> ParseSortOrder(const nlohmann::json& sort);

// Negative when `a` comes first under `key`, positive when `b` does, 0 when equal. A missing
// value (monostate) goes last (or first with missing_first) in either direction; integers and
// doubles compare by value.
int CompareSortValues(const engine::SortValue& a, const engine::SortValue& b,
                      const SortKeyOrder& key);

// --- top hits ----------------------------------------------------------------------------------

// A hit of the merged list: hits[shard][position] of MergeTopHits' input.
struct MergedHit {
  size_t shard = 0;
  size_t position = 0;
  friend bool operator==(const MergedHit&, const MergedHit&) = default;
};

// Merges the shards' top hits (each best first, as the query phase returns them) and returns
// the hits [from, from + size) of the merged order. `shards[i]` is the shard with request
// position i (null: a shard that failed or was skipped). Empty `sort`: by score descending
// (NaN scores last). Otherwise by sort_values key by key.
std::vector<MergedHit> MergeTopHits(const std::vector<const std::vector<data::ShardHit>*>& shards,
                                    const std::vector<SortKeyOrder>& sort, size_t from,
                                    size_t size);

// --- totals ------------------------------------------------------------------------------------

// The `track_total_hits` of a request: count exactly up to this many. true (or -1) is
// engine::kTrackTotalHitsExact, false 0, absent 10000.
inline constexpr uint64_t kDefaultTrackTotalHits = 10000;
// Parses a body's track_total_hits (bool or non-negative integer, or -1). A bad value is
// illegal_argument_exception as OpenSearch words it.
Result<uint64_t> ParseTrackTotalHits(const nlohmann::json& value);

struct TotalHits {
  uint64_t value = 0;
  bool lower_bound = false;  // "relation": "gte"
  friend bool operator==(const TotalHits&, const TotalHits&) = default;
};

// The response's hits.total from the shards' counts: their sum, capped at `track_up_to` with
// relation "gte" when it is larger (OpenSearch's TopDocsStats), "gte" too when any shard
// stopped counting.
TotalHits MergeTotalHits(const std::vector<TotalHits>& shards, uint64_t track_up_to);

// The largest non-NaN score of the shards; nullopt (JSON null) when none has one.
std::optional<float> MergeMaxScore(const std::vector<float>& shard_max_scores);

// Decodes each shard's engine::EncodePartial and reduces them into the response's
// "aggregations" object.
Result<nlohmann::json> ReduceShardAggregations(const std::vector<std::string>& encoded,
                                               const engine::RenderOptions& options);

// --- limits ------------------------------------------------------------------------------------

inline constexpr int64_t kDefaultMaxResultWindow = 10000;

// index.max_result_window of an index's settings.other ({"max_result_window": N}, a number or
// a numeric string); the default when absent or malformed.
int64_t MaxResultWindow(const nlohmann::json& other_settings);

// OpenSearch's check of the window a shard must collect: from + size (size alone for the
// pages of a scroll) against max_result_window. illegal_argument_exception with OpenSearch's
// exact text when too large.
Status CheckResultWindow(int64_t from, int64_t size, int64_t max_result_window, bool scroll);

// --- scroll and point-in-time ids ---------------------------------------------------------------

// A shard reader kept open for a scroll or a point in time.
struct ReaderRef {
  std::string node;  // node id of the shard copy holding the reader
  std::string index;
  int32_t shard = 0;
  std::string reader_id;
  uint64_t position = 0;  // scroll: hits of this shard already returned
  // The filters of the aliases the shard's index was searched through (ApplyAliasFilters in
  // rest_util.h): every later page or PIT search applies them again.
  std::vector<nlohmann::json> alias_filters;
  friend bool operator==(const ReaderRef&, const ReaderRef&) = default;
};

// Everything the next page of a scroll needs: the readers, and the search body that made them
// (its query, sort, size, _source, ...: the shards keep only the snapshot).
struct ScrollId {
  uint64_t context = 0;  // the coordinator's number for this scroll (DELETE _all)
  std::vector<ReaderRef> readers;
  nlohmann::json body = nlohmann::json::object();
  int64_t now_millis = 0;     // "now" of the first page, reused so date math stays fixed
  int32_t total_shards = 0;   // shards of the first page, failed ones included
  int64_t keep_alive_ms = 0;  // the last `scroll` given: pages without one keep it
  friend bool operator==(const ScrollId&, const ScrollId&) = default;
};

// Scroll ids are URL-safe base64 (no padding) of a compact JSON document; clients treat them
// as opaque strings. Decode fails with illegal_argument_exception "Cannot parse scroll id".
std::string EncodeScrollId(const ScrollId& id);
Result<ScrollId> DecodeScrollId(std::string_view text);

// A point in time: the readers of every shard of the indices it was opened on.
struct PitId {
  std::vector<ReaderRef> readers;
  int32_t total_shards = 0;   // shards when it was opened, failed ones included
  int64_t creation_time = 0;  // epoch ms
  int64_t keep_alive_ms = 0;  // keep_alive at creation: searches without one renew by it
  friend bool operator==(const PitId&, const PitId&) = default;
};

std::string EncodePitId(const PitId& id);
// illegal_argument_exception "Cannot parse pit id" when malformed.
Result<PitId> DecodePitId(std::string_view text);

// Base64 (URL-safe alphabet, no padding) of `bytes` and back; decoding also accepts the
// standard alphabet and padding. nullopt when `text` is not base64.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace quidditch::rest
