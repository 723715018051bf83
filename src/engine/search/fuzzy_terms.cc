#include "engine/search/fuzzy_terms.h"

#include <algorithm>
#include <string>
#include <vector>

namespace quidditch::engine {
namespace {

// One code point of `s` at byte `i`, decoded exactly as DecodeUtf8 (query_parser.cc) does so
// that distances agree with EditDistance. Returns its length in bytes. `*stable` is false when
// a multi-byte lead was cut by the end of `s`: it then decodes as a lone byte here, but
// differently in a longer string with the same bytes, so rows computed over it cannot be
// reused for (nor say anything about) other terms sharing those bytes.
size_t DecodeOne(std::string_view s, size_t i, uint32_t* cp, bool* stable) {
  unsigned char c = s[i];
  size_t want = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  *stable = i + want <= s.size();
  if (!*stable || want == 1) {
    *cp = c;
    return 1;
  }
  if (want == 2) {
    *cp = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
  } else if (want == 3) {
    *cp = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
  } else {
    *cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) |
          (s[i + 3] & 0x3f);
  }
  return want;
}

}  // namespace

// Why hand-written: computing EditDistance for every term of the field made fuzzy queries
// 14-18x slower than Lucene. Terms come sorted, so consecutive terms share prefixes: the
// dynamic-programming matrix is kept row by row (one row per code point of the term, one
// column per code point of the query) and only the rows past the prefix shared with the
// previous term are recomputed. Row minima never decrease down the matrix (also with
// transpositions: a transposition cell is prev2[j-2] + 1 >= prev[j-1] >= min(prev)), so once a
// row's minimum exceeds max_edits every term with that prefix is too far, and the enumeration
// seeks past them, to the next code point at that depth that can still match (as Lucene's
// automaton enumeration does). Checked against EditDistance on every term in
// fuzzy_terms_test.cc.
void EnumerateFuzzyTerms(TermsIterator* terms, std::string_view query, std::string_view prefix,
                         uint32_t max_edits, bool transpositions, const FuzzyTermVisitor& visit) {
  std::vector<uint32_t> q;
  for (size_t i = 0; i < query.size();) {
    uint32_t cp;
    bool stable;
    i += DecodeOne(query, i, &cp, &stable);
    q.push_back(cp);
  }
  const size_t n = q.size();
  const size_t w = n + 1;
  // Per depth d (the first d code points of `prev`): the DP row rows[d * w, (d + 1) * w), its
  // minimum, the d-th code point, the bytes those d code points take, and whether all of them
  // are stable (see DecodeOne). Depth 0 is the empty term.
  std::vector<uint32_t> rows(w);
  for (size_t j = 0; j <= n; ++j) rows[j] = static_cast<uint32_t>(j);
  std::vector<uint32_t> mins{0}, cps{0};
  std::vector<size_t> ends{0};
  std::vector<uint8_t> stable{1};
  std::string prev;  // the last term whose rows are computed, up to `depth`
  size_t depth = 0;
  std::string target;
  // Row d of the matrix for code point `c` at depth d, from rows d-1 and d-2; returns its minimum.
  auto fill_row = [&](size_t d, uint32_t c, uint32_t* cur) {
    const uint32_t* up = &rows[(d - 1) * w];
    const uint32_t* up2 = d >= 2 ? &rows[(d - 2) * w] : nullptr;
    cur[0] = static_cast<uint32_t>(d);
    uint32_t row_min = cur[0];
    for (size_t j = 1; j <= n; ++j) {
      uint32_t cost = c == q[j - 1] ? 0 : 1;
      uint32_t v = std::min({up[j] + 1, cur[j - 1] + 1, up[j - 1] + cost});
      if (transpositions && up2 != nullptr && j > 1 && c == q[j - 2] && cps[d - 1] == q[j - 1]) {
        v = std::min(v, up2[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    return row_min;
  };
  // The ASCII code points of the query, ascending, each once.
  std::vector<uint32_t> ascii;
  for (uint32_t c : q) {
    if (c < 0x80) ascii.push_back(c);
  }
  std::sort(ascii.begin(), ascii.end());
  ascii.erase(std::unique(ascii.begin(), ascii.end()), ascii.end());
  std::vector<uint32_t> scratch(w);

  bool ok = prefix.empty() ? terms->Next() : terms->SeekCeil(prefix);
  while (ok) {
    std::string_view t = terms->term();
    if (!t.starts_with(prefix)) break;
    size_t common =
        std::mismatch(prev.begin(), prev.end(), t.begin(), t.end()).first - prev.begin();
    size_t d = 0;
    while (d < depth && ends[d + 1] <= common && stable[d + 1]) ++d;
    prev.assign(t);
    size_t pos = ends[d];
    bool dead = false;
    while (pos < prev.size()) {
      if (mins[d] > max_edits) {
        dead = true;
        break;
      }
      uint32_t c;
      bool st;
      size_t len = DecodeOne(prev, pos, &c, &st);
      ++d;
      pos += len;
      if (mins.size() <= d) {
        mins.resize(d + 1);
        cps.resize(d + 1);
        ends.resize(d + 1);
        stable.resize(d + 1);
        rows.resize((d + 1) * w);
      }
      cps[d] = c;
      ends[d] = pos;
      stable[d] = stable[d - 1] && st;
      mins[d] = fill_row(d, c, &rows[d * w]);
    }
    depth = d;
    if (!dead) {
      uint32_t edits = rows[d * w + n];
      if (edits <= max_edits) max_edits = std::min(max_edits, visit(prev, edits));
      ok = terms->Next();
      continue;
    }
    if (!stable[d]) {
      ok = terms->Next();
      continue;
    }
    // Every term starting with the first d code points (ends[d] bytes) is too far.
    std::string_view parent = std::string_view(prev).substr(0, ends[d - 1]);
    if (static_cast<unsigned char>(prev[ends[d - 1]]) < 0x80) {
      // The next code point at depth d that can still lead to a match: a non-query code point
      // gives a row at least as high as this dead one, so only the query's own can. Byte order
      // is code-point order between ASCII bytes, and an ASCII byte decodes as itself, so every
      // term up to the target is too far. Past the ASCII ones ("\x80") the terms are read
      // again: a malformed sequence there may decode to a code point of the query.
      target.assign(parent);
      target.push_back('\x80');
      for (uint32_t c : ascii) {
        if (c > cps[d] && fill_row(d, c, scratch.data()) <= max_edits) {
          target.back() = static_cast<char>(c);
          break;
        }
      }
      ok = terms->SeekCeil(target);
      continue;
    }
    ok = PrefixSuccessor(std::string_view(prev).substr(0, ends[d]), &target) &&
         terms->SeekCeil(target);
  }
}

}  // namespace quidditch::engine
