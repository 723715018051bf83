// The pieces of a search's fetch phase that read one hit: _source filtering, highlighting and
// docvalue_fields, in OpenSearch's request shapes. Used by LocalShardService::ExecuteFetch.
//
// Thread safety: everything here is stateless or immutable after construction.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/search/highlighter.h"
#include "engine/search/searcher.h"

namespace quidditch::data {

// The `_source` of a search body (or of a get): true/false, "pattern", ["a*", "b"], or
// {"includes": [...], "excludes": [...]} ("include"/"exclude" too), with '*' wildcards.
// Patterns match full dotted paths; a pattern naming an object takes all of it, as OpenSearch's
// XContentMapValues.filter does.
// The filtered source keeps the stored key order, as OpenSearch does. Used by search hits and
// by the document APIs (GET, _mget, update's "get").
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

// The `highlight` of a search body, resolved against one snapshot: which fields, with which
// options and which query.
class HighlightPlan {
 public:
  // `highlight` is the body's "highlight" object; `body_query` the body's "query" (null:
  // match_all). Fields are expanded against ctx.mapping ('*' patterns: text and keyword fields).
  static Result<std::unique_ptr<HighlightPlan>> Parse(const nlohmann::json& highlight,
                                                      const nlohmann::json* body_query,
                                                      const engine::SearchContext& ctx);
  // Checks the shape of `highlight` as OpenSearch's HighlightBuilder parser does, without an
  // index (the coordinator checks it before any shard runs, as OpenSearch does): only the keys
  // that parser declares (else x_content_parse_exception "[highlight] unknown field [x]", or
  // "[highlight_field] ..." inside a field), the types of the options Quidditch reads, `fields`
  // as an object or an array of one-field objects, pre_tags only with post_tags. No `fields`
  // is valid and highlights nothing.
  static Status Validate(const nlohmann::json& highlight);
  // {field: [fragments]} for one document's source; null when no field has a fragment.
  Result<nlohmann::json> Highlight(std::string_view source) const;

 private:
  struct Field {
    std::string name;
    engine::HighlightOptions options;
    const engine::Query* query = nullptr;  // owned by queries_
  };
  engine::SearchContext ctx_;
  std::vector<std::unique_ptr<engine::Query>> queries_;
  std::vector<Field> fields_;
};

// The `docvalue_fields` of a search body: ["field", {"field": "f", "format": "..."}], with
// '*' patterns. Values come from the doc values of the snapshot's segments.
class DocValueFields {
 public:
  static Result<DocValueFields> Parse(const nlohmann::json& spec, const engine::Mapping& mapping);
  bool empty() const { return fields_.empty(); }
  // {field: [values]} of doc `doc` of `leaf`; null when no field has a value.
  nlohmann::json Values(const engine::Leaf& leaf, uint32_t doc) const;

 private:
  struct Field;
  std::vector<std::shared_ptr<const Field>> fields_;
};

}  // namespace quidditch::data
