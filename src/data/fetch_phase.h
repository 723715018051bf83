// The pieces of a search's fetch phase that read one hit: highlighting and docvalue_fields
// (_source filtering is engine/search/source_filter.h), in OpenSearch's request shapes. Used by
// LocalShardService::ExecuteFetch.
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
#include "engine/search/source_filter.h"

namespace quidditch::data {

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
