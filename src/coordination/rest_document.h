// The document APIs: index, create, get, source, delete, update, _mget, _delete_by_query and
// _update_by_query, with OpenSearch 2.19's paths, parameters, responses and errors.
//
// Writes are bulks of one through the shared write path (rest_bulk.h: ExecuteWrites,
// RenderWriteResponse), so a document written here and the same document written by _bulk
// behave and answer alike, auto-creating the index included. Reads go to an active copy of the
// document's shard (ShardService::Get, realtime by default).
//
// _delete_by_query and _update_by_query find the matching documents with the query and fetch
// phases of every shard (one snapshot per shard, read page by page), then write them back in
// batches of `scroll_size` with if_seq_no/if_primary_term, so a document changed meanwhile is
// a version conflict (counted, or fatal with conflicts=abort) as in OpenSearch. Scripts,
// slices > 1 and wait_for_completion=false are not supported (400 saying so).
//
// Thread safety: the handlers are thread-safe.
#pragma once

#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// Registers the document endpoints on `router`.
Status RegisterDocumentHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
