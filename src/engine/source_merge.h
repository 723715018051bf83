// Merging a partial document into a _source, as the update API does.
#pragma once

#include <nlohmann/json.hpp>

namespace quidditch::engine {

// Merges `changes` into `*source` the way OpenSearch's XContentHelper.update does: for every
// key of `changes`, when both the old and the new value are objects they are merged
// recursively; otherwise the new value replaces the old one (arrays replace, null sets null;
// unlike JSON merge patch, null does not remove the key). Key order of `*source` is kept; new
// keys are appended. Returns whether `*source` changed (what detect_noop checks).
// REQUIRES: source->is_object() and changes.is_object().
bool MergeSource(nlohmann::ordered_json* source, const nlohmann::ordered_json& changes);

}  // namespace quidditch::engine
