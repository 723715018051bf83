// Validation of names and settings, with OpenSearch's rules and messages.
#pragma once

#include <string_view>

#include "cluster/types.h"
#include "common/status.h"

namespace quidditch::cluster {

// OpenSearch's index-name rules, checked in its order: non-empty, none of
// `\ / * ? " < > | , # :` or space, not starting with `-`, `_` or `+`, at most 255 bytes, not
// `.` or `..`, lowercase. InvalidArgument with OpenSearch's message ("Invalid index name [X],
// must be lowercase").
Status ValidateIndexName(std::string_view name);

// The same rules for an alias name, except that it may hold upper case ("Invalid alias name
// [X], ...").
Status ValidateAliasName(std::string_view name);

// Shards 1..10000, replicas 0..10 (the design's CRD bounds), refresh_interval a time value
// ("1s", "500ms", "-1"), codec "default" or "best_compression".
Status ValidateIndexSettings(const IndexSettings& settings);

// A node id is non-empty, at most 255 bytes, printable ASCII without spaces or slashes; a node
// has at least one role and ports in 0..65535.
Status ValidateNodeInfo(const NodeInfo& node);

// True for OpenSearch time values: "-1", or a number with a unit of nanos, micros, ms, s, m,
// h or d.
bool IsValidTimeValue(std::string_view text);

}  // namespace quidditch::cluster
