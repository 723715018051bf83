// The parts analyzers are built from: char filters, tokenizers and token filters, with
// the factories that build them from OpenSearch-shaped settings. Internal to the analysis
// module; everything else uses analyzer.h.
//
// Inside an analysis chain Token::position holds the position increment of the token (as
// Lucene's PositionIncrementAttribute does): a tokenizer emits increments of 1, a filter
// that drops a token adds the dropped increment to the next one kept (stop, length), a
// filter that adds a token at the same place gives it increment 0. The analyzer turns
// increments into absolute positions at the end.
//
// All components are immutable after construction and safe to use from many threads.
#pragma once

#include <unicode/regex.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/analysis/analyzer.h"

namespace quidditch::engine::analysis {

// Maps byte offsets of a char filter's output back to its input, like Lucene's
// BaseCharFilter: from output offset `points[i].first` on, add `points[i].second`.
class OffsetCorrection {
 public:
  // REQUIRES: calls come in non-decreasing `out_offset` order.
  void Add(uint32_t out_offset, int64_t cumulative_diff);
  uint32_t Correct(uint32_t out_offset) const;
  bool empty() const { return points_.empty(); }

 private:
  std::vector<std::pair<uint32_t, int64_t>> points_;
};

class CharFilter {
 public:
  virtual ~CharFilter() = default;
  // Writes the filtered `in` to `*out` and how to map offsets of `*out` back to `in`.
  virtual void Filter(std::string_view in, std::string* out, OffsetCorrection* map) const = 0;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Appends the tokens of `text` to `*out`, with byte offsets into `text` and position
  // increments (1 for each token).
  virtual void Tokenize(std::string_view text, std::vector<Token>* out) const = 0;

  // This tokenizer followed by the lowercase filter, fused into one tokenizer when it knows
  // how (the standard tokenizer does); nullptr otherwise.
  virtual std::shared_ptr<const Tokenizer> FusedWithLowercase() const { return nullptr; }
};

class TokenFilter {
 public:
  virtual ~TokenFilter() = default;
  // Transforms `(*tokens)[begin..]` in place (Token::position holds increments).
  virtual void Filter(std::vector<Token>* tokens, size_t begin) const = 0;

  // True for the lowercase filter (Lucene's LowerCaseFilter), which tokenizers may fuse.
  virtual bool IsLowercase() const { return false; }
  // True for stemmers: filters that keyword_marker tells to leave terms alone, and that
  // neither add nor remove tokens.
  virtual bool IsStemmer() const { return false; }
};

// `filters` with each stemmer that follows a keyword_marker filter made to leave the terms
// that marker names alone (checked on the term as it reaches the stemmer).
std::vector<std::shared_ptr<const TokenFilter>> ApplyKeywordMarkers(
    std::vector<std::shared_ptr<const TokenFilter>> filters);

// Factories. `type` is the OpenSearch type name, `params` the definition object (may be
// null for a built-in used by name), `name` the name the settings gave it (for messages).
// Unknown types return NotFound (the caller words the message); bad parameters return
// InvalidArgument through IllegalArgument().
Result<std::shared_ptr<const Tokenizer>> MakeTokenizer(std::string_view type,
                                                       const nlohmann::json& params,
                                                       std::string_view name);
Result<std::shared_ptr<const TokenFilter>> MakeTokenFilter(std::string_view type,
                                                           const nlohmann::json& params,
                                                           std::string_view name);
Result<std::shared_ptr<const CharFilter>> MakeCharFilter(std::string_view type,
                                                         const nlohmann::json& params,
                                                         std::string_view name);

// A Java regular expression (with Java flag names, "CASE_INSENSITIVE|COMMENTS") compiled
// for ICU; Java's ASCII-only \w \W \d \D \s \S are kept ASCII-only.
Result<std::unique_ptr<icu::RegexPattern>> CompileJavaRegex(const std::string& pattern,
                                                            const std::string& flags,
                                                            std::string_view name);

// pattern_replace (params: pattern, replacement, flags; the filter also all).
Result<std::shared_ptr<const CharFilter>> MakePatternReplaceCharFilter(const nlohmann::json& params,
                                                                       std::string_view name);
Result<std::shared_ptr<const TokenFilter>> MakePatternReplaceFilter(const nlohmann::json& params,
                                                                    std::string_view name);

// The pattern tokenizer (params: pattern, default "\W+"; flags; group, default -1 = split).
Result<std::shared_ptr<const Tokenizer>> MakePatternTokenizer(const nlohmann::json& params,
                                                              std::string_view name);

// Lucene's EnglishPossessiveFilter, and PorterStemFilter leaving `exclusions` alone (the
// english analyzer's stem_exclusion).
std::shared_ptr<const TokenFilter> MakeEnglishPossessiveFilter();
std::shared_ptr<const TokenFilter> MakePorterStemFilter(std::vector<std::string> exclusions);

// The standard tokenizer's segmentation (Lucene's StandardTokenizer: UAX#29 words, each Han
// ideograph and Hiragana character a token of its own, runs of South-East Asian script one
// token, emoji kept, tokens longer than `max_token_length` UTF-16 units split). With
// `ascii_fast_path` false every byte goes through ICU; tests use it to check the fast path.
// With `lowercase`, terms are lowercased as the lowercase filter would.
void StandardTokenize(std::string_view text, uint32_t max_token_length, bool ascii_fast_path,
                      std::vector<Token>* out, bool lowercase = false);

// Java's Character.toLowerCase on each code point of `*s` (Lucene's LowerCaseFilter).
void LowercaseTerm(std::string* s);

// Lucene's PorterStemmer (the reference C version of Martin Porter's algorithm that
// PorterStemFilter and OpenSearch's english stemmer use) on `*word`, in place. Like
// Lucene, only lowercase a e i o u (and y) are vowels; other characters are consonants.
void PorterStem(std::string* word);

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
const std::vector<std::string>& EnglishStopWords();

// Parameter helpers shared by the factories: read an optional integer / bool / string /
// string list, or an IllegalArgument naming `what` and the key.
Result<int64_t> IntParam(const nlohmann::json& params, const char* key, int64_t dflt,
                         std::string_view what);
Result<bool> BoolParam(const nlohmann::json& params, const char* key, bool dflt,
                       std::string_view what);
Result<std::string> StringParam(const nlohmann::json& params, const char* key,
                                std::string_view dflt, std::string_view what);
// A list, or a string as a comma-separated list (OpenSearch's Settings.getAsList); absent
// gives `*present` false.
Result<std::vector<std::string>> ListParam(const nlohmann::json& params, const char* key,
                                           std::string_view what, bool* present = nullptr);
// The `stopwords` parameter: a list, "_english_" or "_none_"; absent gives `dflt`.
Result<std::vector<std::string>> StopWordsParam(const nlohmann::json& params,
                                                const std::vector<std::string>& dflt,
                                                std::string_view what);

}  // namespace quidditch::engine::analysis
