// Search endpoints: _search, _count, _msearch, scroll and point in time, as OpenSearch 2.19
// answers them.
//
//   GET|POST /_search, /{index}/_search          query-then-fetch over every shard of the
//       indices {index} names (a name, comma list, wildcards, _all; none: every index). Body
//       keys: query, from, size, sort, search_after, _source, docvalue_fields, stored_fields,
//       track_total_hits, track_scores, highlight, aggs/aggregations, timeout, terminate_after,
//       explain, version, seq_no_primary_term, min_score, post_filter, pit. URI parameters: q
//       (query_string with df, default_operator, analyzer, lenient, analyze_wildcard), from,
//       size, sort ("field:desc,..."), _source, _source_includes, _source_excludes,
//       stored_fields, docvalue_fields, track_total_hits, track_scores, explain, version,
//       seq_no_primary_term, terminate_after, timeout, routing, scroll,
//       rest_total_hits_as_int, typed_keys (aggregation names as "sterms#name"),
//       allow_partial_search_results, ignore_unavailable, allow_no_indices, expand_wildcards;
//       search_type, preference, request_cache and the concurrency knobs are accepted and
//       ignored.
//   GET|POST /_count, /{index}/_count             {"count", "_shards"}; body {"query"}; q=.
//   GET|POST /_msearch, /{index}/_msearch         NDJSON header/body pairs.
//   GET|POST /_search/scroll[/{scroll_id}]        the next page of a scroll.
//   DELETE /_search/scroll[/{scroll_id}]          frees scrolls (ids or "_all").
//   POST /{index}/_search/point_in_time           opens a PIT (keep_alive required).
//   DELETE /_search/point_in_time[/_all]          closes PITs ({"pit_id": [...]}, or all).
//   GET /_search/point_in_time/_all               lists the PITs this node opened.
//
// Shard failures are reported in _shards.failures; when every shard fails the answer is
// search_phase_execution_exception "all shards failed" with the status of the first cause.
// Malformed DSL (parsing_exception, x_content_parse_exception) is reported at the top level,
// as OpenSearch's coordinator parses the body before any shard sees it.
//
// Not supported (rejected with illegal_argument_exception, never silently ignored): the
// `fields` option, script_fields, suggest, rescore, collapse, slice, indices_boost, profile
// true. Parse errors carry no line/col. dfs_query_then_fetch runs as query_then_fetch.
//
// Scroll and PIT ids are self-contained (search_coordinator.h): they name the shard readers
// that hold the snapshot. The list of open scrolls and PITs ("_all") is kept by the node that
// created them.
#pragma once

#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// Registers the endpoints above on `router`. What `context` points to must outlive `router`.
Status RegisterSearchHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
