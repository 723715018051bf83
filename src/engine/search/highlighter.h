// The plain highlighter: fragments of a field's stored text with the query's terms wrapped in
// tags, computed by re-analyzing the text (OpenSearch's "plain" highlighter).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {

struct HighlightOptions {
  std::string pre_tag = "<em>";
  std::string post_tag = "</em>";
  size_t fragment_size = 100;      // characters (bytes) per fragment, about
  size_t number_of_fragments = 5;  // 0: the whole value, highlighted, as one fragment
};

// The highlighted fragments of `field` of the document whose _source is `source_json`, for
// `query` (parsed against ctx). Values are looked up by the field's dotted path; each value of
// an array is highlighted on its own. Fragments without a query term are left out; they come
// in document order, at most number_of_fragments of the best ones (most distinct terms).
// Text fields are re-analyzed with their index analyzer; keyword fields match whole values;
// other types are not highlighted (empty result). A malformed source is InvalidArgument.
Result<std::vector<std::string>> Highlight(const Query& query, std::string_view source_json,
                                           const std::string& field, const SearchContext& ctx,
                                           const HighlightOptions& options);

}  // namespace quidditch::engine
