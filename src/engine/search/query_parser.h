// Internal helpers of the DSL parser shared with other parts of the search module and its
// tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quidditch::engine {

// Lucene's Queries.calculateMinShouldMatch: "3", "-1", "75%", "-25%", "3<90%", "2<-25% 9<-3";
// the number of optional clauses (of `optional_count`) that must match, >= 0.
Result<int32_t> CalculateMinShouldMatch(int32_t optional_count, std::string_view spec);

// Levenshtein distance over code points, with adjacent transpositions counting 1 when
// `transpositions` (optimal string alignment, as Lucene's fuzzy automata); stops early and
// returns max_distance + 1 once the distance exceeds `max_distance`.
uint32_t EditDistance(std::string_view a, std::string_view b, bool transpositions,
                      uint32_t max_distance);

// Glob match of `text` against a wildcard pattern: '*' any sequence, '?' one code point,
// '\' escapes the next char.
bool WildcardMatch(std::string_view pattern, std::string_view text);

// AUTO fuzziness: 0 for terms of 1-2 code points, 1 for 3-5, 2 above (AUTO:low,high moves the
// limits). Also "0", "1", "2".
Result<uint32_t> ResolveFuzziness(std::string_view fuzziness, std::string_view term);

}  // namespace quidditch::engine
