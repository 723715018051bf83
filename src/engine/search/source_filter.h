// _source filtering, shared by search hits, top_hits and the document APIs.
//
// Thread safety: immutable after construction.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quidditch::engine {

// The `_source` of a search body (or of a get): true/false, "pattern", ["a*", "b"], or
// {"includes": [...], "excludes": [...]} ("include"/"exclude" too), with '*' wildcards.
// Patterns match full dotted paths; a pattern naming an object takes all of it, as OpenSearch's
// XContentMapValues.filter does.
// The filtered source keeps the stored key order, as OpenSearch does. Used by search hits and
// by the document APIs (GET, _mget, update's "get") and by top_hits.
class SourceFilter {
 public:
  // Absent or null: the whole source. Anything else malformed is parsing_exception.
  static Result<SourceFilter> Parse(const nlohmann::json* spec);
  // From its parts (the `_source`, `_source_includes`, `_source_excludes` URL parameters).
  static SourceFilter Of(bool fetch, std::vector<std::string> includes,
                         std::vector<std::string> excludes);

  bool fetch() const { return fetch_; }
  bool filters() const { return !includes_.empty() || !excludes_.empty(); }
  // The filtered source. REQUIRES: fetch(). A source that is not JSON is Corruption.
  Result<std::string> Apply(std::string_view source) const;

 private:
  nlohmann::ordered_json FilterObject(const nlohmann::ordered_json& object,
                                      const std::string& prefix, bool included) const;
  nlohmann::ordered_json FilterValue(const nlohmann::ordered_json& value, const std::string& path,
                                     bool included) const;
  bool Excluded(const std::string& path) const;
  bool Included(const std::string& path) const;
  // Whether some include pattern may match a path below `path`.
  bool MayIncludeBelow(const std::string& path) const;

  bool fetch_ = true;
  std::vector<std::string> includes_;
  std::vector<std::string> excludes_;
};

}  // namespace quidditch::engine
