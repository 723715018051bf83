#include "engine/analysis/analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace quidditch::engine {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const AnalysisRegistry> Registry(const json& analysis = json()) {
  auto r = AnalysisRegistry::Create(analysis);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

std::vector<Token> Analyze(const AnalysisRegistry& registry, std::string_view analyzer,
                           std::string_view text, uint32_t first_position = 0) {
  const Analyzer* a = registry.Find(analyzer);
  EXPECT_NE(a, nullptr) << analyzer;
  std::vector<Token> out;
  if (a != nullptr) a->Analyze(text, first_position, &out);
  return out;
}

std::vector<std::string> Terms(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& t : tokens) out.push_back(t.term);
  return out;
}

std::vector<uint32_t> Positions(const std::vector<Token>& tokens) {
  std::vector<uint32_t> out;
  for (const Token& t : tokens) out.push_back(t.position);
  return out;
}

std::vector<std::pair<uint32_t, uint32_t>> Offsets(const std::vector<Token>& tokens) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const Token& t : tokens) out.emplace_back(t.start_offset, t.end_offset);
  return out;
}

std::vector<std::string> Terms(const AnalysisRegistry& registry, std::string_view analyzer,
                               std::string_view text) {
  return Terms(Analyze(registry, analyzer, text));
}

// One custom analyzer "a" of `tokenizer` and `filters` (with extra definitions).
std::vector<std::string> CustomTerms(const json& tokenizer, const json& filters,
                                     std::string_view text, json extra = json::object()) {
  json analysis = extra;
  analysis["analyzer"]["a"] = {{"type", "custom"}, {"tokenizer", tokenizer}, {"filter", filters}};
  auto registry = Registry(analysis);
  if (!registry) return {};
  return Terms(*registry, "a", text);
}

constexpr const char* kFox = "The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.";

TEST(StandardAnalyzer, OpenSearchExample) {
  auto r = Registry();
  auto tokens = Analyze(*r, "standard", kFox);
  EXPECT_THAT(Terms(tokens), ElementsAre("the", "2", "quick", "brown", "foxes", "jumped", "over",
                                         "the", "lazy", "dog's", "bone"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_THAT(Offsets(tokens),
              ElementsAre(P{0, 3}, P{4, 5}, P{6, 11}, P{12, 17}, P{18, 23}, P{24, 30}, P{31, 35},
                          P{36, 39}, P{40, 44}, P{45, 50}, P{51, 55}));
}

TEST(StandardAnalyzer, DefaultIsStandardAndFirstPosition) {
  auto r = Registry();
  auto tokens = Analyze(*r, "default", "Hello World", 100);
  EXPECT_THAT(Terms(tokens), ElementsAre("hello", "world"));
  EXPECT_THAT(Positions(tokens), ElementsAre(100, 101));
  EXPECT_EQ(r->Find("nope"), nullptr);
}

TEST(StandardAnalyzer, Uax29Words) {
  auto r = Registry();
  EXPECT_THAT(
      Terms(*r, "standard", "3.14 1,000 foo_bar wi-fi dog's U.S.A. x1.5 a.1"),
      ElementsAre("3.14", "1,000", "foo_bar", "wi", "fi", "dog's", "u.s.a", "x1.5", "a", "1"));
  EXPECT_THAT(Terms(*r, "standard", "http://www.example.com/path?q=1 john@example.com"),
              ElementsAre("http", "www.example.com", "path", "q", "1", "john", "example.com"));
  // ':' is a MidLetter in UAX#29 (Lucene keeps it; ICU's root rules do not).
  EXPECT_THAT(Terms(*r, "standard", "foo:bar 10:30"), ElementsAre("foo:bar", "10", "30"));
  // Runs of '_' alone are no token.
  EXPECT_THAT(Terms(*r, "standard", "___ _a_ __1"), ElementsAre("_a_", "__1"));
  EXPECT_THAT(Terms(*r, "standard", ""), ElementsAre());
  EXPECT_THAT(Terms(*r, "standard", " \t\n.,;!?"), ElementsAre());
}

TEST(StandardAnalyzer, NonLatin) {
  auto r = Registry();
  // Each Han ideograph and Hiragana character alone; Katakana runs together.
  auto tokens = Analyze(*r, "standard", "日本語のテキスト");
  EXPECT_THAT(Terms(tokens), ElementsAre("日", "本", "語", "の", "テキスト"));
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_THAT(Offsets(tokens), ElementsAre(P{0, 3}, P{3, 6}, P{6, 9}, P{9, 12}, P{12, 24}));
  EXPECT_THAT(Terms(*r, "standard", "Привет, МИР! Ελληνικά"),
              ElementsAre("привет", "мир", "ελληνικά"));
  EXPECT_THAT(Terms(*r, "standard", "한국어 텍스트"), ElementsAre("한국어", "텍스트"));
  // A Thai run is one token (Lucene's SOUTHEAST_ASIAN), not dictionary words.
  EXPECT_THAT(Terms(*r, "standard", "ภาษาไทย ok"), ElementsAre("ภาษาไทย", "ok"));
  EXPECT_THAT(Terms(*r, "standard", "café naïve"), ElementsAre("café", "naïve"));
  EXPECT_THAT(Terms(*r, "standard", "I ❤️ 🍕!"), ElementsAre("i", "❤️", "🍕"));
  // Offsets are bytes.
  auto cafe = Analyze(*r, "standard", "é a");
  EXPECT_THAT(Offsets(cafe), ElementsAre(P{0, 2}, P{3, 4}));
}

TEST(StandardAnalyzer, LongTokensAreSplit) {
  auto r = Registry();
  std::string text(300, 'a');
  auto tokens = Analyze(*r, "standard", text + " b");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].term, std::string(255, 'a'));
  EXPECT_EQ(tokens[1].term, std::string(45, 'a'));
  EXPECT_EQ(tokens[1].start_offset, 255u);
  EXPECT_EQ(tokens[2].term, "b");
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2));

  auto custom = Registry({{"analyzer", {{"s", {{"type", "standard"}, {"max_token_length", 5}}}}}});
  EXPECT_THAT(Terms(*custom, "s", "abcdefghij éééééé"),
              ElementsAre("abcde", "fghij", "ééééé", "é"));
}

TEST(StandardAnalyzer, InvalidUtf8NeverCrashes) {
  auto r = Registry();
  std::string bad =
      "ab\xff"
      "cd \xc3 \xe2\x82 ok \xf0\x9f\x98";
  for (const char* name : {"standard", "simple", "whitespace", "keyword", "stop", "english"}) {
    auto tokens = Analyze(*r, name, bad);
    for (const Token& t : tokens) {
      EXPECT_LE(t.end_offset, bad.size());
      EXPECT_LE(t.start_offset, t.end_offset);
    }
  }
  EXPECT_THAT(Terms(*r, "standard", bad), ElementsAre("ab", "cd", "ok"));
  EXPECT_THAT(Terms(*r, "whitespace",
                    "a\xff"
                    "b c"),
              ElementsAre("a\xEF\xBF\xBD"
                          "b",
                          "c"));
}

TEST(StandardAnalyzer, Stopwords) {
  auto r = Registry({{"analyzer",
                      {{"std_en", {{"type", "standard"}, {"stopwords", "_english_"}}},
                       {"std_list", {{"type", "standard"}, {"stopwords", {"quick", "lazy"}}}}}}});
  auto tokens = Analyze(*r, "std_en", kFox);
  EXPECT_THAT(Terms(tokens), ElementsAre("2", "quick", "brown", "foxes", "jumped", "over", "lazy",
                                         "dog's", "bone"));
  EXPECT_THAT(Positions(tokens), ElementsAre(1, 2, 3, 4, 5, 6, 8, 9, 10));
  EXPECT_THAT(Terms(*r, "std_list", kFox),
              ElementsAre("the", "2", "brown", "foxes", "jumped", "over", "the", "dog's", "bone"));
}

TEST(EnglishAnalyzer, OpenSearchExample) {
  auto r = Registry();
  auto tokens = Analyze(*r, "english", kFox);
  EXPECT_THAT(Terms(tokens),
              ElementsAre("2", "quick", "brown", "fox", "jump", "over", "lazi", "dog", "bone"));
  EXPECT_THAT(Positions(tokens), ElementsAre(1, 2, 3, 4, 5, 6, 8, 9, 10));
  EXPECT_EQ(tokens[7].start_offset, 45u);  // dog's keeps its offsets
  EXPECT_EQ(tokens[7].end_offset, 50u);
  EXPECT_THAT(Terms(*r, "english", "Running runners ran generously; the nations' DOG’S"),
              ElementsAre("run", "runner", "ran", "gener", "nation", "dog"));
}

TEST(EnglishAnalyzer, Parameters) {
  auto r = Registry(
      {{"analyzer",
        {{"en", {{"type", "english"}, {"stopwords", {"over"}}, {"stem_exclusion", {"jumped"}}}}}}});
  EXPECT_THAT(Terms(*r, "en", kFox), ElementsAre("the", "2", "quick", "brown", "fox", "jumped",
                                                 "the", "lazi", "dog", "bone"));
}

TEST(SimpleStopWhitespaceKeyword, BuiltIns) {
  auto r = Registry();
  EXPECT_THAT(Terms(*r, "simple", kFox), ElementsAre("the", "quick", "brown", "foxes", "jumped",
                                                     "over", "the", "lazy", "dog", "s", "bone"));
  auto stop = Analyze(*r, "stop", kFox);
  EXPECT_THAT(Terms(stop),
              ElementsAre("quick", "brown", "foxes", "jumped", "over", "lazy", "dog", "s", "bone"));
  EXPECT_THAT(Positions(stop), ElementsAre(1, 2, 3, 4, 5, 7, 8, 9, 10));
  EXPECT_THAT(Terms(*r, "whitespace", kFox),
              ElementsAre("The", "2", "QUICK", "Brown-Foxes", "jumped", "over", "the", "lazy",
                          "dog's", "bone."));
  auto kw = Analyze(*r, "keyword", kFox);
  ASSERT_EQ(kw.size(), 1u);
  EXPECT_EQ(kw[0].term, kFox);
  EXPECT_EQ(kw[0].end_offset, std::string_view(kFox).size());
  // Lucene's KeywordTokenizer emits one (empty) token for empty text.
  EXPECT_THAT(Terms(*r, "keyword", ""), ElementsAre(""));
  // Java's Character.isWhitespace: no-break space is not whitespace.
  EXPECT_THAT(Terms(*r, "whitespace", "a\u00A0b\u2003c"), ElementsAre("a\u00A0b", "c"));
  EXPECT_THAT(Terms(*r, "simple", "ÉCOLE naïve 42x"), ElementsAre("école", "naïve", "x"));
}

TEST(Tokenizers, LetterLowercaseNgram) {
  EXPECT_THAT(CustomTerms("letter", json::array(), "It's 2B-or not"),
              ElementsAre("It", "s", "B", "or", "not"));
  EXPECT_THAT(CustomTerms("lowercase", json::array(), "It's 2B-or NOT"),
              ElementsAre("it", "s", "b", "or", "not"));
  json extra = {{"tokenizer",
                 {{"edge",
                   {{"type", "edge_ngram"},
                    {"min_gram", 2},
                    {"max_gram", 4},
                    {"token_chars", {"letter", "digit"}}}},
                  {"tri", {{"type", "ngram"}, {"min_gram", 2}, {"max_gram", 3}}}}}};
  EXPECT_THAT(CustomTerms("edge", json::array(), "Quick F0x!", extra),
              ElementsAre("Qu", "Qui", "Quic", "F0", "F0x"));
  EXPECT_THAT(CustomTerms("tri", json::array(), "abcd", extra),
              ElementsAre("ab", "abc", "bc", "bcd", "cd"));
  // Default ngram: 1..2, every character (spaces too).
  EXPECT_THAT(CustomTerms("ngram", json::array(), "a b"), ElementsAre("a", "a ", " ", " b", "b"));
  EXPECT_THAT(CustomTerms("edge_ngram", json::array(), "über"), ElementsAre("ü", "üb"));

  json a = {{"tokenizer", {{"e", {{"type", "edge_ngram"}, {"max_gram", 3}}}}},
            {"analyzer", {{"a", {{"tokenizer", "e"}}}}}};
  auto r = Registry(a);
  auto tokens = Analyze(*r, "a", "éab");
  EXPECT_THAT(Terms(tokens), ElementsAre("é", "éa", "éab"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2));
  EXPECT_EQ(tokens[1].end_offset, 3u);
}

TEST(Tokenizers, Pattern) {
  auto r = Registry(
      {{"tokenizer",
        {{"comma", {{"type", "pattern"}, {"pattern", ",\\s*"}}},
         {"quoted",
          {{"type", "pattern"}, {"pattern", "\"((?:\\\\\"|[^\"]|\\\\\")+)\""}, {"group", 1}}}}},
       {"analyzer",
        {{"comma", {{"tokenizer", "comma"}}},
         {"quoted", {{"tokenizer", "quoted"}}},
         {"pat", {{"type", "pattern"}, {"pattern", "\\W|_"}, {"lowercase", true}}},
         {"ci", {{"type", "pattern"}, {"pattern", "x"}, {"flags", "CASE_INSENSITIVE"}}}}}});
  EXPECT_THAT(Terms(*r, "comma", "comma,separated, values,,"),
              ElementsAre("comma", "separated", "values"));
  // OpenSearch's pattern tokenizer page: the quoted strings, via group 1.
  EXPECT_THAT(Terms(*r, "quoted", "\"value\", \"value with embedded \\\" quote\""),
              ElementsAre("value", "value with embedded \\\" quote"));
  // Java's \W is ASCII-only: é is a separator.
  auto tokens = Analyze(*r, "pat", "John_Smith@foo-bar.com café");
  EXPECT_THAT(Terms(tokens), ElementsAre("john", "smith", "foo", "bar", "com", "caf"));
  EXPECT_EQ(tokens[5].start_offset, 23u);
  EXPECT_EQ(tokens[5].end_offset, 26u);
  EXPECT_THAT(Terms(*r, "pattern", "The foo_bar-size!"), ElementsAre("the", "foo_bar", "size"));
  EXPECT_THAT(Terms(*r, "ci", "aXbxc"), ElementsAre("a", "b", "c"));
  EXPECT_FALSE(
      AnalysisRegistry::Create({{"tokenizer", {{"bad", {{"type", "pattern"}, {"pattern", "("}}}}}})
          .ok());
}

TEST(MoreComponents, PatternReplaceElisionCharGroupFingerprint) {
  json a = {
      {"char_filter",
       {{"digits",
         {{"type", "pattern_replace"}, {"pattern", "(\\d+)-(?=\\d)"}, {"replacement", "$1_"}}}}},
      {"tokenizer",
       {{"cg", {{"type", "char_group"}, {"tokenize_on_chars", {"whitespace", "-", "\\n"}}}}}},
      {"filter",
       {{"pr", {{"type", "pattern_replace"}, {"pattern", "[aeiou]"}, {"replacement", "*"}}},
        {"pr1",
         {{"type", "pattern_replace"},
          {"pattern", "[aeiou]"},
          {"replacement", "*"},
          {"all", false}}},
        {"el", {{"type", "elision"}, {"articles", {"l", "j"}}, {"articles_case", true}}}}},
      {"analyzer",
       {{"digits", {{"tokenizer", "standard"}, {"char_filter", {"digits"}}}},
        {"cg", {{"tokenizer", "cg"}}},
        {"fp", {{"type", "fingerprint"}}}}}};
  auto r = Registry(a);
  // OpenSearch's pattern_replace char filter page: 123-456-789 -> 123_456_789.
  auto digits = Analyze(*r, "digits", "My credit card is 123-456-789");
  EXPECT_THAT(Terms(digits), ElementsAre("My", "credit", "card", "is", "123_456_789"));
  EXPECT_EQ(digits[4].start_offset, 18u);
  EXPECT_EQ(digits[4].end_offset, 29u);
  EXPECT_THAT(CustomTerms("whitespace", {"pr"}, "banana split", a), ElementsAre("b*n*n*", "spl*t"));
  EXPECT_THAT(CustomTerms("whitespace", {"pr1"}, "banana", a), ElementsAre("b*nana"));
  EXPECT_THAT(CustomTerms("standard", {"el"}, "L'avion j’aime m'a", a),
              ElementsAre("avion", "aime", "m'a"));
  EXPECT_THAT(CustomTerms("standard", {"elision"}, "l'avion qu'il", a), ElementsAre("avion", "il"));
  EXPECT_THAT(Terms(*r, "cg", "Fast-moving\nrivers  run"),
              ElementsAre("Fast", "moving", "rivers", "run"));
  // The fingerprint analyzer page: sorted, deduplicated, folded.
  EXPECT_THAT(Terms(*r, "fingerprint", "Yes yes, Gödel said this sentence is consistent and."),
              ElementsAre("and consistent godel is said sentence this yes"));
}

TEST(TokenFilters, LowercaseUppercase) {
  EXPECT_THAT(CustomTerms("whitespace", {"lowercase"}, "ÀÉÎ İstanbul ΣΊΣΥΦΟΣ DŽ"),
              ElementsAre("àéî", "istanbul", "σίσυφοσ", "dž"));
  EXPECT_THAT(CustomTerms("whitespace", {"uppercase"}, "straße àb"), ElementsAre("STRAßE", "ÀB"));
}

TEST(TokenFilters, Stop) {
  json extra = {{"filter",
                 {{"my_stop", {{"type", "stop"}, {"stopwords", {"foo", "Bar"}}}},
                  {"ci", {{"type", "stop"}, {"stopwords", {"foo", "Bar"}}, {"ignore_case", true}}},
                  {"none", {{"type", "stop"}, {"stopwords", "_none_"}}}}}};
  json a = extra;
  a["analyzer"]["a"] = {{"tokenizer", "whitespace"}, {"filter", {"my_stop"}}};
  a["analyzer"]["b"] = {{"tokenizer", "whitespace"}, {"filter", {"ci"}}};
  a["analyzer"]["c"] = {{"tokenizer", "whitespace"}, {"filter", {"none"}}};
  a["analyzer"]["d"] = {{"tokenizer", "whitespace"}, {"filter", {"stop"}}};
  auto r = Registry(a);
  auto tokens = Analyze(*r, "a", "foo x bar Bar FOO y");
  EXPECT_THAT(Terms(tokens), ElementsAre("x", "bar", "FOO", "y"));
  EXPECT_THAT(Positions(tokens), ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(Terms(*r, "b", "foo x bar Bar FOO y"), ElementsAre("x", "y"));
  EXPECT_THAT(Terms(*r, "c", "the a"), ElementsAre("the", "a"));
  EXPECT_THAT(Terms(*r, "d", "the cat is on The mat"), ElementsAre("cat", "The", "mat"));
}

TEST(TokenFilters, AsciiFolding) {
  EXPECT_THAT(CustomTerms("whitespace", {"asciifolding"}, "é ß æ ø Ł Æ ñ açaí й plain"),
              ElementsAre("e", "ss", "ae", "o", "L", "AE", "n", "acai", "й", "plain"));
  json extra = {{"filter", {{"keep", {{"type", "asciifolding"}, {"preserve_original", true}}}}}};
  json a = extra;
  a["analyzer"]["a"] = {{"tokenizer", "standard"}, {"filter", {"lowercase", "keep"}}};
  auto r = Registry(a);
  auto tokens = Analyze(*r, "a", "açaí à la carte");
  EXPECT_THAT(Terms(tokens), ElementsAre("acai", "açaí", "a", "à", "la", "carte"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 0, 1, 1, 2, 3));
}

TEST(TokenFilters, Stemmers) {
  EXPECT_THAT(
      CustomTerms("standard", {"lowercase", "porter_stem"},
                  "caresses ponies ties caress cats feed agreed plastered motoring sing "
                  "conflated troubled sized hopping falling hissing filing happy sky "
                  "relational conditional rational valenci hesitanci digitizer "
                  "conformabli radicalli differentli vileli analogousli vietnamization "
                  "predication operator feudalism decisiveness hopefulness callousness "
                  "formaliti sensitiviti sensibiliti triplicate formative formalize "
                  "electriciti electrical hopeful goodness revival allowance inference "
                  "airliner gyroscopic adjustable defensible irritant replacement "
                  "adjustment dependent adoption homologou communism activate "
                  "angulariti homologous effective bowdlerize probate rate cease "
                  "controll roll generalizations oscillators possibly"),
      ElementsAre("caress", "poni", "ti", "caress", "cat", "feed", "agre", "plaster", "motor",
                  "sing", "conflat", "troubl", "size", "hop", "fall", "hiss", "file", "happi",
                  "sky", "relat", "condit", "ration", "valenc", "hesit", "digit", "conform",
                  "radic", "differ", "vile", "analog", "vietnam", "predic", "oper", "feudal",
                  "decis", "hope", "callous", "formal", "sensit", "sensibl", "triplic", "form",
                  "formal", "electr", "electr", "hope", "good", "reviv", "allow", "infer", "airlin",
                  "gyroscop", "adjust", "defens", "irrit", "replac", "adjust", "depend", "adopt",
                  "homolog", "commun", "activ", "angular", "homolog", "effect", "bowdler", "probat",
                  "rate", "ceas", "control", "roll", "gener", "oscil", "possibl"));
  json extra = {{"filter",
                 {{"en", {{"type", "stemmer"}, {"language", "english"}}},
                  {"poss", {{"type", "stemmer"}, {"language", "possessive_english"}}},
                  {"de", {{"type", "stemmer"}, {"language", "german"}}},
                  {"fr", {{"type", "stemmer"}, {"name", "french"}}},
                  {"ru", {{"type", "stemmer"}, {"language", "russian"}}},
                  {"sb", {{"type", "snowball"}, {"language", "English"}}}}}};
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "en"}, "jumping lazy", extra),
              ElementsAre("jump", "lazi"));
  EXPECT_THAT(CustomTerms("standard", {"poss"}, "John's dogs’s", extra),
              ElementsAre("John", "dogs"));
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "de"}, "Häuser Katzen", extra),
              ElementsAre("haus", "katz"));
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "fr"}, "continuellement chevaux", extra),
              ElementsAre("continuel", "cheval"));
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "ru"}, "книги", extra), ElementsAre("книг"));
  // Snowball English is Porter2: "generously" -> "generous", "lazy" -> "lazi".
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "sb"}, "generously lazy running", extra),
              ElementsAre("generous", "lazi", "run"));
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "snowball"}, "running", extra),
              ElementsAre("run"));
}

// The table of OpenSearch's "Analyzers" page, on "It’s fun to contribute a brand-new PR or 2 to
// OpenSearch!".
TEST(BuiltInAnalyzers, OpenSearchDocsTable) {
  auto r = Registry();
  const char* text = "It’s fun to contribute a brand-new PR or 2 to OpenSearch!";
  EXPECT_THAT(Terms(*r, "standard", text),
              ElementsAre("it’s", "fun", "to", "contribute", "a", "brand", "new", "pr", "or", "2",
                          "to", "opensearch"));
  EXPECT_THAT(Terms(*r, "simple", text),
              ElementsAre("it", "s", "fun", "to", "contribute", "a", "brand", "new", "pr", "or",
                          "to", "opensearch"));
  EXPECT_THAT(Terms(*r, "whitespace", text),
              ElementsAre("It’s", "fun", "to", "contribute", "a", "brand-new", "PR", "or", "2",
                          "to", "OpenSearch!"));
  EXPECT_THAT(Terms(*r, "stop", text),
              ElementsAre("s", "fun", "contribute", "brand", "new", "pr", "opensearch"));
  EXPECT_THAT(Terms(*r, "keyword", text), ElementsAre(text));
  // OpenSearch's porter_stem page: "running runners ran" -> run, runner, ran.
  EXPECT_THAT(CustomTerms("standard", {"lowercase", "porter_stem"}, "running runners ran"),
              ElementsAre("run", "runner", "ran"));
}

// The custom English analyzer recipe of OpenSearch's english analyzer page gives the same
// terms as the built-in one; keyword_marker keeps its words from the stemmer.
TEST(EnglishAnalyzer, DocsCustomRecipeAndKeywordMarker) {
  json filters = {
      {"english_stop", {{"type", "stop"}, {"stopwords", "_english_"}}},
      {"english_stemmer", {{"type", "stemmer"}, {"language", "english"}}},
      {"english_keywords", {{"type", "keyword_marker"}, {"keywords", json::array()}}},
      {"english_possessive_stemmer", {{"type", "stemmer"}, {"language", "possessive_english"}}},
      {"kw",
       {{"type", "keyword_marker"}, {"keywords", {"jumped", "LAZY"}}, {"ignore_case", true}}}};
  json a = {{"filter", filters},
            {"analyzer",
             {{"rebuilt",
               {{"type", "custom"},
                {"tokenizer", "standard"},
                {"filter",
                 {"english_possessive_stemmer", "lowercase", "english_stop", "english_keywords",
                  "english_stemmer"}}}},
              {"marked",
               {{"type", "custom"},
                {"tokenizer", "standard"},
                {"filter",
                 {"english_possessive_stemmer", "lowercase", "english_stop", "kw",
                  "english_stemmer"}}}}}}};
  auto r = Registry(a);
  auto builtin = Analyze(*r, "english", kFox);
  auto rebuilt = Analyze(*r, "rebuilt", kFox);
  EXPECT_EQ(Terms(builtin), Terms(rebuilt));
  EXPECT_EQ(Positions(builtin), Positions(rebuilt));
  EXPECT_THAT(Terms(*r, "marked", kFox),
              ElementsAre("2", "quick", "brown", "fox", "jumped", "over", "lazy", "dog", "bone"));
}

TEST(TokenFilters, TruncateReverseLimitKeepApostropheDigits) {
  json extra = {
      {"filter",
       {{"t3", {{"type", "truncate"}, {"length", 3}}},
        {"l2", {{"type", "limit"}, {"max_token_count", 2}}},
        {"keep", {{"type", "keep"}, {"keep_words", {"one", "THREE"}}}},
        {"keepci",
         {{"type", "keep"}, {"keep_words", {"one", "THREE"}}, {"keep_words_case", true}}}}}};
  EXPECT_THAT(CustomTerms("whitespace", {"t3"}, "abcdef ab éééé", extra),
              ElementsAre("abc", "ab", "ééé"));
  EXPECT_THAT(CustomTerms("whitespace", {"truncate"}, "abcdefghijklmn", extra),
              ElementsAre("abcdefghij"));
  EXPECT_THAT(CustomTerms("whitespace", {"reverse"}, "abc été", extra), ElementsAre("cba", "été"));
  EXPECT_THAT(CustomTerms("whitespace", {"l2"}, "a b c d", extra), ElementsAre("a", "b"));
  EXPECT_THAT(CustomTerms("whitespace", {"limit"}, "a b c d", extra), ElementsAre("a"));
  json a = extra;
  a["analyzer"]["k"] = {{"tokenizer", "whitespace"}, {"filter", {"keep"}}};
  auto r = Registry(a);
  auto kept = Analyze(*r, "k", "one two THREE three");
  EXPECT_THAT(Terms(kept), ElementsAre("one", "THREE"));
  EXPECT_THAT(Positions(kept), ElementsAre(0, 2));
  EXPECT_THAT(CustomTerms("whitespace", {"keepci"}, "One two three", extra),
              ElementsAre("One", "three"));
  EXPECT_THAT(CustomTerms("standard", {"apostrophe"}, "Istanbul'a don't l’avion", extra),
              ElementsAre("Istanbul", "don", "l"));
  EXPECT_THAT(CustomTerms("whitespace", {"decimal_digit"}, "١٢٣ x१", extra),
              ElementsAre("123", "x1"));
}

TEST(TokenFilters, TrimLengthUnique) {
  EXPECT_THAT(CustomTerms("keyword", {"trim"}, "  padded \t"), ElementsAre("padded"));
  json extra = {
      {"filter",
       {{"len", {{"type", "length"}, {"min", 2}, {"max", 4}}}, {"u", {{"type", "unique"}}}}}};
  json a = extra;
  a["analyzer"]["len"] = {{"tokenizer", "whitespace"}, {"filter", {"len"}}};
  a["analyzer"]["u"] = {{"tokenizer", "whitespace"}, {"filter", {"u"}}};
  auto r = Registry(a);
  auto len = Analyze(*r, "len", "a bb ccc dddd eeeee éé");
  EXPECT_THAT(Terms(len), ElementsAre("bb", "ccc", "dddd", "éé"));
  EXPECT_THAT(Positions(len), ElementsAre(1, 2, 3, 5));
  // unique drops later duplicates without leaving gaps (OpenSearch's UniqueTokenFilter).
  auto u = Analyze(*r, "u", "a b a c b d");
  EXPECT_THAT(Terms(u), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(Positions(u), ElementsAre(0, 1, 2, 3));
}

TEST(TokenFilters, NgramFilters) {
  json extra = {{"filter",
                 {{"eg", {{"type", "edge_ngram"}, {"min_gram", 1}, {"max_gram", 3}}},
                  {"ng", {{"type", "ngram"}, {"min_gram", 2}, {"max_gram", 3}}}}}};
  json a = extra;
  a["analyzer"]["eg"] = {{"tokenizer", "whitespace"}, {"filter", {"eg"}}};
  a["analyzer"]["ng"] = {{"tokenizer", "whitespace"}, {"filter", {"ng"}}};
  auto r = Registry(a);
  auto eg = Analyze(*r, "eg", "quick fox");
  EXPECT_THAT(Terms(eg), ElementsAre("q", "qu", "qui", "f", "fo", "fox"));
  EXPECT_THAT(Positions(eg), ElementsAre(0, 0, 0, 1, 1, 1));
  EXPECT_EQ(eg[4].start_offset, 6u);
  EXPECT_EQ(eg[4].end_offset, 9u);
  auto ng = Analyze(*r, "ng", "a abcd");
  EXPECT_THAT(Terms(ng), ElementsAre("ab", "abc", "bc", "bcd", "cd"));
  EXPECT_THAT(Positions(ng), ElementsAre(1, 1, 1, 1, 1));
}

TEST(CharFilters, MappingAndHtmlStrip) {
  json a = {
      {"char_filter",
       {{"m",
         {{"type", "mapping"}, {"mappings", {"ph => f", "qu => kw", ":) => _happy_", "x => "}}}}}},
      {"analyzer",
       {{"m", {{"tokenizer", "standard"}, {"char_filter", {"m"}}}},
        {"h", {{"tokenizer", "standard"}, {"char_filter", {"html_strip"}}}}}}};
  auto r = Registry(a);
  auto m = Analyze(*r, "m", "phone quick :) go");
  EXPECT_THAT(Terms(m), ElementsAre("fone", "kwick", "_happy_", "go"));
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_THAT(Offsets(m), ElementsAre(P{0, 5}, P{6, 11}, P{12, 14}, P{15, 17}));

  auto h = Analyze(*r, "h", "<p>I&apos;m <b>so</b> happy&#33;</p><script>x()</script>ok");
  EXPECT_THAT(Terms(h), ElementsAre("I'm", "so", "happy", "ok"));
  EXPECT_EQ(h[0].start_offset, 3u);
  EXPECT_EQ(h[1].start_offset, 15u);
  EXPECT_EQ(h[2].start_offset, 22u);
  EXPECT_EQ(h[3].start_offset, 56u);
  EXPECT_EQ(h[3].end_offset, 58u);
}

// The examples of OpenSearch's html_strip page.
TEST(CharFilters, HtmlStripDocsExamples) {
  json a = {{"char_filter", {{"keep_b", {{"type", "html_strip"}, {"escaped_tags", {"b"}}}}}},
            {"analyzer",
             {{"kw", {{"tokenizer", "keyword"}, {"char_filter", {"html_strip"}}}},
              {"kw_b", {{"tokenizer", "keyword"}, {"char_filter", {"keep_b"}}}},
              {"std", {{"tokenizer", "standard"}, {"char_filter", {"html_strip"}}}}}}};
  auto r = Registry(a);
  std::string calculus =
      "<p>Commonly used calculus symbols include &alpha;, &beta; and &theta; </p>";
  auto tokens = Analyze(*r, "kw", calculus);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].term, "\nCommonly used calculus symbols include α, β and θ \n");
  EXPECT_EQ(tokens[0].start_offset, 0u);
  EXPECT_EQ(tokens[0].end_offset, 74u);
  EXPECT_THAT(Terms(*r, "kw", "<p>I&apos;m so <b>happy</b>!</p>"),
              ElementsAre("\nI'm so happy!\n"));
  EXPECT_THAT(Terms(*r, "std", "<p>I&apos;m so <b>happy</b>!</p>"),
              ElementsAre("I'm", "so", "happy"));
  EXPECT_THAT(Terms(*r, "kw_b", "<p>I&apos;m so <b>happy</b>!</p>"),
              ElementsAre("\nI'm so <b>happy</b>!\n"));
}

TEST(Registry, CustomAnalyzersAndDefault) {
  json a = {
      {"analyzer",
       {{"default", {{"type", "custom"}, {"tokenizer", "whitespace"}, {"filter", "uppercase"}}},
        {"my", {{"tokenizer", "standard"}, {"filter", {"lowercase", "my_stop"}}}}}},
      {"filter", {{"my_stop", {{"type", "stop"}, {"stopwords", {"foo"}}}}}}};
  auto r = Registry(a);
  EXPECT_THAT(Terms(*r, "default", "a-b c"), ElementsAre("A-B", "C"));
  EXPECT_THAT(Terms(*r, "standard", "a-b c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Terms(*r, "my", "Foo bar FOO"), ElementsAre("bar"));
  EXPECT_NE(Registry(json::object())->Find("english"), nullptr);
  // Lists given as comma-separated strings, values as strings (OpenSearch settings style).
  auto s = Registry(
      {{"filter",
        {{"st", {{"type", "stop"}, {"stopwords", "foo, bar"}}},
         {"len", {{"type", "length"}, {"min", "2"}}}}},
       {"analyzer", {{"x", {{"tokenizer", "standard"}, {"filter", "lowercase, st,len"}}}}}});
  EXPECT_THAT(Terms(*s, "x", "Foo a bar baz"), ElementsAre("baz"));
}

Status CreateError(const json& analysis) {
  auto r = AnalysisRegistry::Create(analysis);
  EXPECT_FALSE(r.ok());
  return r.status();
}

TEST(Registry, Errors) {
  Status s = CreateError({{"analyzer", {{"my", {{"tokenizer", "foo"}}}}}});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "illegal_argument_exception: Custom Analyzer [my] failed to find tokenizer under "
            "name [foo]");
  s = CreateError({{"analyzer", {{"my", {{"tokenizer", "standard"}, {"filter", {"bar"}}}}}}});
  EXPECT_EQ(s.message(),
            "illegal_argument_exception: Custom Analyzer [my] failed to find filter under name "
            "[bar]");
  s = CreateError({{"analyzer", {{"my", {{"tokenizer", "standard"}, {"char_filter", "zz"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("failed to find char_filter under name [zz]"));
  s = CreateError({{"analyzer", {{"my", {{"type", "custom"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("Custom Analyzer [my] must be configured with a tokenizer"));
  s = CreateError({{"analyzer", {{"my", {{"type", "nope"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("Unknown analyzer type [nope] for [my]"));
  s = CreateError({{"analyzer", {{"my", json::object()}}}});
  EXPECT_THAT(s.message(), HasSubstr("must specify either an analyzer type, or a tokenizer"));
  s = CreateError({{"filter", {{"f", {{"type", "nope"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("Unknown filter type [nope] for [f]"));
  s = CreateError({{"filter", {{"f", {{"stopwords", {"a"}}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("filter [f] must have a type associated with it"));
  s = CreateError({{"tokenizer", {{"t", {{"type", "nope"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("Unknown tokenizer type [nope] for [t]"));
  s = CreateError({{"filter", {{"f", {{"type", "stemmer"}, {"language", "light_english"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("light_english"));
  s = CreateError({{"filter", {{"f", {{"type", "stop"}, {"stopwords", "_klingon_"}}}}}});
  EXPECT_THAT(s.message(), HasSubstr("_klingon_"));
  s = CreateError({{"tokenizer", {{"t", {{"type", "ngram"}, {"min_gram", 3}, {"max_gram", 2}}}}}});
  EXPECT_TRUE(s.IsInvalidArgument());
  s = CreateError({{"filter", {{"f", {{"type", "length"}, {"min", "x"}}}}}});
  EXPECT_TRUE(s.IsInvalidArgument());
  s = CreateError(json::array());
  EXPECT_TRUE(s.IsInvalidArgument());
}

// Random bytes through every kind of chain: no crash, offsets inside the text, positions
// never decreasing.
TEST(Analyzer, RandomBytesKeepInvariants) {
  json a = {
      {"char_filter",
       {{"m", {{"type", "mapping"}, {"mappings", {"a => xyz", "bc => ", "\\u00e9 => e"}}}}}},
      {"tokenizer", {{"ng", {{"type", "ngram"}, {"min_gram", 1}, {"max_gram", 3}}}}},
      {"filter",
       {{"eg", {{"type", "edge_ngram"}, {"max_gram", 3}, {"preserve_original", true}}},
        {"fold", {{"type", "asciifolding"}, {"preserve_original", true}}}}},
      {"analyzer",
       {{"html",
         {{"tokenizer", "standard"},
          {"char_filter", {"html_strip", "m"}},
          {"filter", {"lowercase", "fold", "porter_stem", "unique"}}}},
        {"grams", {{"tokenizer", "ng"}, {"filter", {"eg", "reverse", "truncate", "trim"}}}},
        {"snow", {{"tokenizer", "letter"}, {"filter", {"uppercase", "snowball", "length"}}}}}}};
  auto r = Registry(a);
  const std::string alphabet = "aAbc <>&;#x/!'p\xC3\xA9\xFF\x80\xE6\x97\xA5\xF0\x9F\x98\x80";
  std::mt19937 rng(3);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
    for (const char* name : {"standard", "simple", "whitespace", "keyword", "stop", "english",
                             "pattern", "html", "grams", "snow"}) {
      auto tokens = Analyze(*r, name, text, 5);
      uint32_t last = 5;
      for (const Token& t : tokens) {
        ASSERT_LE(t.start_offset, t.end_offset) << name << " " << text;
        ASSERT_LE(t.end_offset, text.size()) << name << " " << text;
        ASSERT_GE(t.position, last) << name << " " << text;
        last = t.position;
      }
    }
  }
}

TEST(Analyzer, ThreadSafe) {
  json a = {
      {"filter",
       {{"fold", {{"type", "asciifolding"}}},
        {"de", {{"type", "snowball"}, {"language", "German"}}}}},
      {"analyzer",
       {{"mix",
         {{"tokenizer", "standard"}, {"filter", {"lowercase", "fold", "de", "porter_stem"}}}}}}};
  auto r = Registry(a);
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += std::string(kFox) + " Häuser café 日本語 naïve résumé 3.14 foo_bar ";
  }
  std::vector<std::vector<Token>> expected;
  for (const char* name : {"english", "standard", "mix", "pattern"}) {
    expected.push_back(Analyze(*r, name, text));
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int iter = 0; iter < 20; ++iter) {
        int k = 0;
        for (const char* name : {"english", "standard", "mix", "pattern"}) {
          std::vector<Token> out;
          r->Find(name)->Analyze(text, 0, &out);
          if (out.size() != expected[k].size()) {
            ++mismatches;
          } else {
            for (size_t i = 0; i < out.size(); ++i) {
              if (out[i].term != expected[k][i].term ||
                  out[i].position != expected[k][i].position ||
                  out[i].start_offset != expected[k][i].start_offset) {
                ++mismatches;
              }
            }
          }
          ++k;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace quidditch::engine
