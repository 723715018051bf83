// Glob matching of names: index patterns, _source filters, filter_path, field patterns.
#pragma once

#include <string_view>

namespace quidditch {

// True when `text` matches `pattern`, where '*' matches any run of characters (dots and the
// empty run included) and every other character matches itself, as OpenSearch's
// Regex.simpleMatch. Greedy with backtracking to the last '*': linear in practice, no
// recursion, so hostile patterns cannot exhaust the stack.
bool GlobMatch(std::string_view pattern, std::string_view text);

// Whether `pattern` has a '*' (else it matches only itself).
inline bool HasWildcard(std::string_view pattern) {
  return pattern.find('*') != std::string_view::npos;
}

}  // namespace quidditch
