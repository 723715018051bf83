// The standard tokenizer's ASCII fast path against the ICU path (the reference).

#include <gtest/gtest.h>

#include <random>

#include "engine/analysis/components.h"

namespace quidditch::engine::analysis {
namespace {

std::string Describe(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    out += "[" + t.term + " " + std::to_string(t.start_offset) + "-" +
           std::to_string(t.end_offset) + "]";
  }
  return out;
}

void ExpectSamePaths(const std::string& text, uint32_t max_len = 255) {
  std::vector<Token> fast, icu;
  StandardTokenize(text, max_len, true, &fast);
  StandardTokenize(text, max_len, false, &icu);
  ASSERT_EQ(Describe(fast), Describe(icu)) << "text: " << text;
  fast.clear();
  icu.clear();
  StandardTokenize(text, max_len, true, &fast, /*lowercase=*/true);
  StandardTokenize(text, max_len, false, &icu, /*lowercase=*/true);
  ASSERT_EQ(Describe(fast), Describe(icu)) << "lowercased, text: " << text;
}

TEST(StandardTokenizer, FastPathMatchesIcuOnExamples) {
  for (const char* text :
       {"The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.", "3.14 1,000 1;2 1'000",
        "foo_bar __ _a a_ a__b", "wi-fi e-mail", "http://www.example.com/a/b?c=d&e=f#g",
        "john.doe@example.com", "foo:bar a:1 1:a ::", "U.S.A. a.b. .a a.", "x1.5 1.a a.1 1a2b",
        "don't 'quoted' rock'n'roll", "tab\tnew\nline\r\ncr\vvt\fff", "a,b 1,b a;b",
        "$100 #hash @user 50% (paren) [br] {cb} <a> \"q\"", "ends with dot.",
        "éclair déjà-vu 日本 mixed ascii and ünïcödé words"}) {
    ExpectSamePaths(text);
  }
}

TEST(StandardTokenizer, FastPathMatchesIcuOnRandomText) {
  const std::string alphabet = "abcXYZ0129 _.,;:'-@/\"!?\t\n\r\v\f\x01#$%&()*+<=>[]\\^`{|}~";
  std::mt19937 rng(42);
  for (int iter = 0; iter < 20000; ++iter) {
    size_t len = rng() % 40;
    std::string text;
    for (size_t i = 0; i < len; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
    ExpectSamePaths(text);
    if (HasFailure()) return;
  }
}

TEST(StandardTokenizer, FastPathMatchesIcuOnRandomMixedText) {
  // ASCII pieces mixed with letters, marks, ideographs, emoji, no-break and other spaces,
  // and bad bytes: the region split must not change any token.
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           "1",
                                           " ",
                                           ".",
                                           "'",
                                           ":",
                                           ",",
                                           "_",
                                           "-",
                                           "\t",
                                           "\n",
                                           "@",
                                           "\xC3\xA9",          // é
                                           "\xCC\x81",          // combining acute
                                           "\xE2\x80\x99",      // ’
                                           "\xC2\xA0",          // no-break space
                                           "\xE2\x80\x83",      // em space
                                           "\xE6\x97\xA5",      // 日
                                           "\xE3\x81\xAE",      // の
                                           "\xE3\x83\x86",      // テ
                                           "\xF0\x9F\x98\x80",  // 😀
                                           "\xE2\x80\x8D",      // ZWJ
                                           "\xD9\xA1",          // Arabic-Indic digit one
                                           "\xFF",
                                           "\xC3"};  // bad bytes
  std::mt19937 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    size_t len = rng() % 16;
    std::string text;
    for (size_t i = 0; i < len; ++i) text += pieces[rng() % pieces.size()];
    ExpectSamePaths(text);
    if (HasFailure()) return;
  }
}

TEST(StandardTokenizer, FastPathMatchesIcuWithShortMaxLength) {
  ExpectSamePaths("abcdefghijkl 12345678 a_b_c_d_e_f", 3);
  ExpectSamePaths("one two three", 1);
}

TEST(StandardTokenizer, MixedTextGoesThroughIcuPerRegion) {
  // Non-ASCII regions between ASCII whitespace go to ICU; results equal ICU on all of it.
  ExpectSamePaths("ascii déjà vu ascii 日本語 more\u00A0nbsp ok \u0301combining x");
  ExpectSamePaths("a\u2019s l\u2019homme 3\u066B14 ＡＢＣ");
}

}  // namespace
}  // namespace quidditch::engine::analysis
