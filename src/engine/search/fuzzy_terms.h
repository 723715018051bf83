// Fuzzy term selection: the terms of a sorted term dictionary within a few edits of a query
// term, found without computing a full edit distance per term.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "engine/index/segment.h"

namespace quidditch::engine {

// Called once per selected term, in term order: the term (valid only during the call) and its
// edit distance to the query (<= max_edits). During the call the iterator is positioned on
// that term, so `terms->state()` is its state. Returns the largest distance still wanted from
// then on (at most the one before): a caller keeping only the best terms lowers it once terms
// that far can no longer make the cut, and the enumeration then skips more.
using FuzzyTermVisitor = std::function<uint32_t(std::string_view term, uint32_t edits)>;

// Visits every term of `terms` that starts with `prefix` (bytes) and is within `max_edits` of
// `query`, the distance being EditDistance's (query_parser.h): Levenshtein over code points
// (UTF-8 decoded as DecodeUtf8 does, malformed bytes as single code points), adjacent
// transpositions counting 1 when `transpositions` (optimal string alignment).
// Selects exactly the terms (and distances) of computing EditDistance on every term that
// starts with `prefix` (with the bound `visit` returns), but skips every run of terms sharing a
// prefix that is already too far.
// REQUIRES: `terms` is freshly created (not positioned). Moves it; it is not usable after.
void EnumerateFuzzyTerms(TermsIterator* terms, std::string_view query, std::string_view prefix,
                         uint32_t max_edits, bool transpositions, const FuzzyTermVisitor& visit);

}  // namespace quidditch::engine
