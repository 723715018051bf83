#include "engine/search/fuzzy_terms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/search/query_parser.h"

namespace quidditch::engine {
namespace {

// A term dictionary over a sorted vector, counting how the enumeration moves.
class VectorTermsIterator final : public TermsIterator {
 public:
  explicit VectorTermsIterator(const std::vector<std::string>* terms) : terms_(terms) {}
  bool SeekCeil(std::string_view target) override {
    ++moves;
    i_ = std::lower_bound(terms_->begin(), terms_->end(), target) - terms_->begin();
    started_ = true;
    return i_ < terms_->size();
  }
  bool Next() override {
    ++moves;
    i_ = started_ ? std::min(i_ + 1, terms_->size()) : 0;
    started_ = true;
    return i_ < terms_->size();
  }
  std::string_view term() const override { return (*terms_)[i_]; }
  const TermState& state() const override { return state_; }
  uint64_t ord() const override { return i_; }
  size_t moves = 0;

 private:
  const std::vector<std::string>* terms_;
  size_t i_ = 0;
  bool started_ = false;
  TermState state_;
};

using Expansions = std::vector<std::pair<std::string, uint32_t>>;

// The reference: EditDistance on every term starting with `prefix`.
Expansions BruteForce(const std::vector<std::string>& dict, const std::string& query,
                      const std::string& prefix, uint32_t max_edits, bool transpositions) {
  Expansions out;
  for (const std::string& t : dict) {
    if (!t.starts_with(prefix)) continue;
    uint32_t ed = EditDistance(query, t, transpositions, max_edits);
    if (ed <= max_edits) out.emplace_back(t, ed);
  }
  return out;
}

Expansions Enumerate(const std::vector<std::string>& dict, const std::string& query,
                     const std::string& prefix, uint32_t max_edits, bool transpositions,
                     size_t* moves = nullptr) {
  VectorTermsIterator it(&dict);
  Expansions out;
  EnumerateFuzzyTerms(&it, query, prefix, max_edits, transpositions,
                      [&](std::string_view t, uint32_t ed) {
                        out.emplace_back(t, ed);
                        return max_edits;
                      });
  if (moves != nullptr) *moves = it.moves;
  return out;
}

// A visitor that lowers the bound: after `n` terms it wants nothing farther than the closest
// term seen so far. The reference applies the same rule to BruteForce's terms, in order.
Expansions EnumerateLowering(const std::vector<std::string>& dict, const std::string& query,
                             const std::string& prefix, uint32_t max_edits, bool transpositions,
                             size_t n) {
  VectorTermsIterator it(&dict);
  Expansions out;
  uint32_t closest = max_edits;
  EnumerateFuzzyTerms(&it, query, prefix, max_edits, transpositions,
                      [&](std::string_view t, uint32_t ed) {
                        out.emplace_back(t, ed);
                        closest = std::min(closest, ed);
                        return out.size() >= n ? closest : max_edits;
                      });
  return out;
}

Expansions BruteForceLowering(const std::vector<std::string>& dict, const std::string& query,
                              const std::string& prefix, uint32_t max_edits, bool transpositions,
                              size_t n) {
  Expansions out;
  uint32_t bound = max_edits, closest = max_edits;
  for (auto& [t, ed] : BruteForce(dict, query, prefix, max_edits, transpositions)) {
    if (ed > bound) continue;
    out.emplace_back(t, ed);
    closest = std::min(closest, ed);
    if (out.size() >= n) bound = closest;
  }
  return out;
}

// The first `n` code points of `s` in bytes, as FuzzyQuery::Prefix cuts them.
std::string CodePointPrefix(const std::string& s, uint32_t n) {
  size_t bytes = 0;
  for (uint32_t k = 0; k < n && bytes < s.size(); ++k) {
    ++bytes;
    while (bytes < s.size() && (static_cast<unsigned char>(s[bytes]) & 0xC0) == 0x80) ++bytes;
  }
  return s.substr(0, bytes);
}

TEST(FuzzyTermsTest, SmallExamples) {
  std::vector<std::string> dict = {"ab", "abc", "acb", "b", "ba", "bac", "quick", "quikc"};
  EXPECT_EQ(Enumerate(dict, "abc", "", 1, true),
            (Expansions{{"ab", 1}, {"abc", 0}, {"acb", 1}, {"bac", 1}}));
  EXPECT_EQ(Enumerate(dict, "abc", "", 1, false), (Expansions{{"ab", 1}, {"abc", 0}}));
  EXPECT_EQ(Enumerate(dict, "quick", "q", 2, false), (Expansions{{"quick", 0}, {"quikc", 2}}));
  EXPECT_EQ(Enumerate(dict, "abc", "b", 2, true), (Expansions{{"b", 2}, {"ba", 2}, {"bac", 1}}));
  EXPECT_TRUE(Enumerate({}, "abc", "", 2, true).empty());
}

TEST(FuzzyTermsTest, DistancesAreInCodePoints) {
  std::vector<std::string> dict = {"caf", "cafe", "café", "cafés", "cafö", "c中fé"};
  EXPECT_EQ(
      Enumerate(dict, "café", "", 1, true),
      (Expansions{{"caf", 1}, {"cafe", 1}, {"café", 0}, {"cafés", 1}, {"cafö", 1}, {"c中fé", 1}}));
}

TEST(FuzzyTermsTest, SkipsTermsWithATooDistantPrefix) {
  // "abc", "abd" and the 26^3 terms "xaaa".."xzzz": the enumeration must not walk them all.
  std::vector<std::string> dict = {"abc", "abd"};
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'z'; ++b) {
      for (char c = 'a'; c <= 'z'; ++c) dict.push_back(std::string("x") + a + b + c);
    }
  }
  std::sort(dict.begin(), dict.end());
  size_t moves = 0;
  // "x" alone is already 1 edit from "abc": one jump past every "x..." term.
  EXPECT_EQ(Enumerate(dict, "abc", "", 0, true, &moves), (Expansions{{"abc", 0}}));
  EXPECT_LT(moves, 16u);
  // Within 1 edit most "x??" prefixes are dead after 3 code points.
  for (const char* query : {"abc", "xabc", "xmmm"}) {
    EXPECT_EQ(Enumerate(dict, query, "", 1, true, &moves), BruteForce(dict, query, "", 1, true));
    EXPECT_LT(moves, dict.size() / 2) << query;
  }
  // A prefix seeks straight to it: only the 676 "xm??" terms are candidates (all within 1 edit
  // up to their last code point, so all read), plus the move past them.
  EXPECT_EQ(Enumerate(dict, "xmmm", "xm", 1, false, &moves),
            BruteForce(dict, "xmmm", "xm", 1, false));
  EXPECT_LE(moves, 26u * 26u + 1);
}

// Random code points from a small alphabet (so that terms share prefixes and lie within a few
// edits of each other) of 1- to 4-byte UTF-8, and now and then a malformed byte (a cut lead
// byte, a stray continuation byte, 0xff, an overlong "a" that decodes to an ASCII code point but
// sorts after every ASCII byte), which both sides must decode the same way.
std::string RandomString(std::mt19937* rng, bool malformed) {
  static const std::vector<std::string> kValid = {"a", "b", "c", "d", "é", "ö", "中", "😀"};
  static const std::vector<std::string> kBad = {"\xc3", "\xe4\xb8", "\xf0\x9f",
                                                "\x80", "\xff",     "\xc1\xa1"};
  std::uniform_int_distribution<int> len(0, 7);
  std::string s;
  for (int n = len(*rng); n > 0; --n) {
    if (malformed && (*rng)() % 8 == 0) {
      s += kBad[(*rng)() % kBad.size()];
    } else {
      s += kValid[(*rng)() % kValid.size()];
    }
  }
  return s;
}

TEST(FuzzyTermsTest, MatchesBruteForceOnRandomDictionaries) {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    bool malformed = round % 4 == 3;
    std::vector<std::string> dict;
    int size = static_cast<int>(rng() % 300);
    for (int i = 0; i < size; ++i) dict.push_back(RandomString(&rng, malformed));
    std::sort(dict.begin(), dict.end());
    dict.erase(std::unique(dict.begin(), dict.end()), dict.end());
    for (int k = 0; k < 20; ++k) {
      // Half the queries are dictionary terms (hits at distance 0 and their neighbours).
      std::string query = !dict.empty() && rng() % 2 == 0 ? dict[rng() % dict.size()]
                                                          : RandomString(&rng, malformed);
      uint32_t max_edits = rng() % 3;
      bool transpositions = rng() % 2 == 0;
      std::string prefix = CodePointPrefix(query, rng() % 4);
      SCOPED_TRACE("round " + std::to_string(round) + " query '" + query + "' prefix '" + prefix +
                   "' max_edits " + std::to_string(max_edits) +
                   (transpositions ? " transpositions" : ""));
      ASSERT_EQ(Enumerate(dict, query, prefix, max_edits, transpositions),
                BruteForce(dict, query, prefix, max_edits, transpositions));
      size_t n = rng() % 4;
      ASSERT_EQ(EnumerateLowering(dict, query, prefix, max_edits, transpositions, n),
                BruteForceLowering(dict, query, prefix, max_edits, transpositions, n))
          << "lowering after " << n;
    }
  }
}

}  // namespace
}  // namespace quidditch::engine
