// Tokenizers: standard, letter, lowercase, whitespace, keyword, ngram, edge_ngram.

#include <unicode/uchar.h>

#include <algorithm>
#include <functional>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {
namespace {

constexpr uint32_t kDefaultMaxTokenLength = 255;

class StandardTokenizer final : public Tokenizer {
 public:
  StandardTokenizer(uint32_t max_token_length, bool lowercase)
      : max_(max_token_length), lowercase_(lowercase) {}
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    StandardTokenize(text, max_, /*ascii_fast_path=*/true, out, lowercase_);
  }
  std::shared_ptr<const Tokenizer> FusedWithLowercase() const override {
    return lowercase_ ? nullptr : std::make_shared<StandardTokenizer>(max_, true);
  }

 private:
  uint32_t max_;
  bool lowercase_;
};

// Lucene's CharTokenizer: maximal runs of characters for which IsTokenChar holds, each
// normalized, cut every `max_len` UTF-16 units.
template <typename Traits>
class CharTokenizer final : public Tokenizer {
 public:
  explicit CharTokenizer(uint32_t max_len) : max_(max_len == 0 ? 1 : max_len) {}
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    size_t i = 0;
    Token* cur = nullptr;
    uint32_t units = 0;
    while (i < text.size()) {
      size_t start = i;
      unsigned char b = static_cast<unsigned char>(text[i]);
      char32_t c;
      bool token_char;
      if (b < 0x80) {
        ++i;
        c = b;
        token_char = Traits::IsAsciiTokenChar(b);
      } else {
        c = DecodeUtf8(text, &i);
        token_char = Traits::IsTokenChar(c);
      }
      if (!token_char) {
        cur = nullptr;
        continue;
      }
      if (cur == nullptr) {
        cur = &out->emplace_back();
        cur->position = 1;
        cur->start_offset = static_cast<uint32_t>(start);
        units = 0;
      }
      c = Traits::Normalize(c);
      if (c < 0x80) {
        cur->term.push_back(static_cast<char>(c));
      } else {
        AppendUtf8(&cur->term, c);
      }
      cur->end_offset = static_cast<uint32_t>(i);
      units += Utf16Units(c);
      if (units >= max_) cur = nullptr;
    }
  }

 private:
  uint32_t max_;
};

struct LetterTraits {
  static bool IsAsciiTokenChar(unsigned char b) { return ((b | 0x20) >= 'a' && (b | 0x20) <= 'z'); }
  static bool IsTokenChar(char32_t c) { return u_isalpha(c); }
  static char32_t Normalize(char32_t c) { return c; }
};
struct LowercaseTraits {
  static bool IsAsciiTokenChar(unsigned char b) { return LetterTraits::IsAsciiTokenChar(b); }
  static bool IsTokenChar(char32_t c) { return u_isalpha(c); }
  static char32_t Normalize(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return u_tolower(c);
  }
};
// Java's Character.isWhitespace, which ICU's u_isWhitespace implements.
struct WhitespaceTraits {
  static bool IsAsciiTokenChar(unsigned char b) {
    return !(b == ' ' || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F));
  }
  static bool IsTokenChar(char32_t c) { return !u_isWhitespace(c); }
  static char32_t Normalize(char32_t c) { return c; }
};

class KeywordTokenizer final : public Tokenizer {
 public:
  // Like Lucene's KeywordTokenizer: one token, even for empty text.
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    Token& t = out->emplace_back();
    t.term = SanitizeUtf8(text);
    t.position = 1;
    t.start_offset = 0;
    t.end_offset = static_cast<uint32_t>(text.size());
  }
};

// Character classes of the ngram tokenizers' token_chars.
enum CharClass : uint32_t {
  kLetter = 1,
  kDigit = 2,
  kWhitespace = 4,
  kPunctuation = 8,
  kSymbol = 16,
  kCustom = 32,
};

// Lucene's NGramTokenizer / EdgeNGramTokenizer: within each run of token characters, the
// grams of min..max characters starting at every character (at the run's start only when
// `edges_only`), ordered by start, then length.
class NGramTokenizer final : public Tokenizer {
 public:
  NGramTokenizer(uint32_t min_gram, uint32_t max_gram, bool edges_only, uint32_t classes,
                 std::u32string custom)
      : min_(min_gram),
        max_(max_gram),
        edges_only_(edges_only),
        classes_(classes),
        custom_(std::move(custom)) {}

  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    // Code points of the current run and their byte offsets (one more for the end).
    std::vector<uint32_t> offsets;
    size_t i = 0;
    while (i < text.size()) {
      size_t start = i;
      char32_t c = DecodeUtf8(text, &i);
      if (IsTokenChar(c)) {
        offsets.push_back(static_cast<uint32_t>(start));
        continue;
      }
      if (!offsets.empty()) {
        offsets.push_back(static_cast<uint32_t>(start));
        EmitRun(text, offsets, out);
        offsets.clear();
      }
    }
    if (!offsets.empty()) {
      offsets.push_back(static_cast<uint32_t>(text.size()));
      EmitRun(text, offsets, out);
    }
  }

 private:
  bool IsTokenChar(char32_t c) const {
    if (classes_ == 0) return true;
    if ((classes_ & kLetter) && u_isalpha(c)) return true;
    if ((classes_ & kDigit) && u_isdigit(c)) return true;
    if ((classes_ & kWhitespace) && u_isWhitespace(c)) return true;
    if (classes_ & (kPunctuation | kSymbol)) {
      int8_t t = u_charType(c);
      bool punct = t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION ||
                   t == U_START_PUNCTUATION || t == U_END_PUNCTUATION ||
                   t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
                   t == U_OTHER_PUNCTUATION;
      bool symbol = t == U_MATH_SYMBOL || t == U_CURRENCY_SYMBOL || t == U_MODIFIER_SYMBOL ||
                    t == U_OTHER_SYMBOL;
      if ((classes_ & kPunctuation) && punct) return true;
      if ((classes_ & kSymbol) && symbol) return true;
    }
    if ((classes_ & kCustom) && custom_.find(c) != std::u32string::npos) return true;
    return false;
  }

  void EmitRun(std::string_view text, const std::vector<uint32_t>& offsets,
               std::vector<Token>* out) const {
    size_t chars = offsets.size() - 1;
    size_t last_start = edges_only_ ? 0 : chars;
    for (size_t s = 0; s < chars && s <= last_start; ++s) {
      for (size_t len = min_; len <= max_ && s + len <= chars; ++len) {
        Token& t = out->emplace_back();
        t.start_offset = offsets[s];
        t.end_offset = offsets[s + len];
        t.term = SanitizeUtf8(text.substr(t.start_offset, t.end_offset - t.start_offset));
        t.position = 1;
      }
    }
  }

  uint32_t min_, max_;
  bool edges_only_;
  uint32_t classes_;
  std::u32string custom_;
};

// OpenSearch's char_group tokenizer: splits on the listed characters and character classes.
class CharGroupTokenizer final : public Tokenizer {
 public:
  CharGroupTokenizer(std::u32string chars, uint32_t classes, uint32_t max_len)
      : chars_(std::move(chars)), classes_(classes), max_(max_len == 0 ? 1 : max_len) {}

  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    Token* cur = nullptr;
    uint32_t units = 0;
    for (size_t i = 0; i < text.size();) {
      size_t start = i;
      char32_t c = DecodeUtf8(text, &i);
      if (IsSplit(c)) {
        cur = nullptr;
        continue;
      }
      if (cur == nullptr) {
        cur = &out->emplace_back();
        cur->position = 1;
        cur->start_offset = static_cast<uint32_t>(start);
        units = 0;
      }
      AppendUtf8(&cur->term, c);
      cur->end_offset = static_cast<uint32_t>(i);
      units += Utf16Units(c);
      if (units >= max_) cur = nullptr;
    }
  }

 private:
  bool IsSplit(char32_t c) const {
    if (chars_.find(c) != std::u32string::npos) return true;
    if ((classes_ & kLetter) && u_isalpha(c)) return true;
    if ((classes_ & kDigit) && u_isdigit(c)) return true;
    if ((classes_ & kWhitespace) && u_isWhitespace(c)) return true;
    if (classes_ & (kPunctuation | kSymbol)) {
      int8_t t = u_charType(c);
      bool punct = t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION ||
                   t == U_START_PUNCTUATION || t == U_END_PUNCTUATION ||
                   t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
                   t == U_OTHER_PUNCTUATION;
      bool symbol = t == U_MATH_SYMBOL || t == U_CURRENCY_SYMBOL || t == U_MODIFIER_SYMBOL ||
                    t == U_OTHER_SYMBOL;
      if ((classes_ & kPunctuation) && punct) return true;
      if ((classes_ & kSymbol) && symbol) return true;
    }
    return false;
  }

  std::u32string chars_;
  uint32_t classes_;
  uint32_t max_;
};

Result<uint32_t> MaxTokenLength(const nlohmann::json& params, std::string_view name) {
  QD_ASSIGN_OR_RETURN(int64_t v,
                      IntParam(params, "max_token_length", kDefaultMaxTokenLength, name));
  if (v <= 0 || v > 1024 * 1024) {
    return IllegalArgument(
        "maxTokenLength must be greater than 0 and less than 1048576 "
        "passed: " +
        std::to_string(v));
  }
  return static_cast<uint32_t>(v);
}

Result<std::shared_ptr<const Tokenizer>> MakeNGram(const nlohmann::json& params,
                                                   std::string_view name, bool edges_only) {
  QD_ASSIGN_OR_RETURN(int64_t min_gram, IntParam(params, "min_gram", 1, name));
  QD_ASSIGN_OR_RETURN(int64_t max_gram, IntParam(params, "max_gram", 2, name));
  if (min_gram < 1) return IllegalArgument("minGram must be greater than zero");
  if (min_gram > max_gram) return IllegalArgument("minGram must not be greater than maxGram");
  bool present = false;
  QD_ASSIGN_OR_RETURN(std::vector<std::string> chars,
                      ListParam(params, "token_chars", name, &present));
  uint32_t classes = 0;
  for (const std::string& c : chars) {
    if (c == "letter") {
      classes |= kLetter;
    } else if (c == "digit") {
      classes |= kDigit;
    } else if (c == "whitespace") {
      classes |= kWhitespace;
    } else if (c == "punctuation") {
      classes |= kPunctuation;
    } else if (c == "symbol") {
      classes |= kSymbol;
    } else if (c == "custom") {
      classes |= kCustom;
    } else {
      return IllegalArgument("Unknown token type: '" + c +
                             "', must be one of [symbol, custom, whitespace, letter, digit, "
                             "punctuation]");
    }
  }
  std::u32string custom;
  QD_ASSIGN_OR_RETURN(std::string custom_chars,
                      StringParam(params, "custom_token_chars", "", name));
  if ((classes & kCustom) && custom_chars.empty()) {
    return IllegalArgument("Token type: 'custom' requires setting `custom_token_chars`");
  }
  for (size_t i = 0; i < custom_chars.size();) custom.push_back(DecodeUtf8(custom_chars, &i));
  return std::shared_ptr<const Tokenizer>(std::make_shared<NGramTokenizer>(
      static_cast<uint32_t>(min_gram), static_cast<uint32_t>(max_gram), edges_only, classes,
      std::move(custom)));
}

Result<std::shared_ptr<const Tokenizer>> MakeCharGroup(const nlohmann::json& params,
                                                       std::string_view name) {
  QD_ASSIGN_OR_RETURN(uint32_t max, MaxTokenLength(params, name));
  QD_ASSIGN_OR_RETURN(std::vector<std::string> items, ListParam(params, "tokenize_on_chars", name));
  std::u32string chars;
  uint32_t classes = 0;
  for (const std::string& item : items) {
    if (item == "letter") {
      classes |= kLetter;
    } else if (item == "digit") {
      classes |= kDigit;
    } else if (item == "whitespace") {
      classes |= kWhitespace;
    } else if (item == "punctuation") {
      classes |= kPunctuation;
    } else if (item == "symbol") {
      classes |= kSymbol;
    } else if (item == "\\n") {
      chars.push_back('\n');
    } else if (item == "\\r") {
      chars.push_back('\r');
    } else if (item == "\\t") {
      chars.push_back('\t');
    } else if (item == "\\f") {
      chars.push_back('\f');
    } else if (item == "\\\\") {
      chars.push_back('\\');
    } else if (item.size() == 6 && item.starts_with("\\u")) {
      chars.push_back(static_cast<char32_t>(std::strtoul(item.c_str() + 2, nullptr, 16)));
    } else {
      size_t i = 0;
      char32_t c = item.empty() ? 0 : DecodeUtf8(item, &i);
      if (item.empty() || i != item.size()) {
        return IllegalArgument("Invalid escaped char in [" + item + "]");
      }
      chars.push_back(c);
    }
  }
  return std::shared_ptr<const Tokenizer>(
      std::make_shared<CharGroupTokenizer>(std::move(chars), classes, max));
}

}  // namespace

Result<std::shared_ptr<const Tokenizer>> MakeTokenizer(std::string_view type,
                                                       const nlohmann::json& params,
                                                       std::string_view name) {
  if (type == "standard") {
    QD_ASSIGN_OR_RETURN(uint32_t max, MaxTokenLength(params, name));
    return std::shared_ptr<const Tokenizer>(std::make_shared<StandardTokenizer>(max, false));
  }
  if (type == "letter") {
    QD_ASSIGN_OR_RETURN(uint32_t max, MaxTokenLength(params, name));
    return std::shared_ptr<const Tokenizer>(std::make_shared<CharTokenizer<LetterTraits>>(max));
  }
  if (type == "lowercase") {
    QD_ASSIGN_OR_RETURN(uint32_t max, MaxTokenLength(params, name));
    return std::shared_ptr<const Tokenizer>(std::make_shared<CharTokenizer<LowercaseTraits>>(max));
  }
  if (type == "whitespace") {
    QD_ASSIGN_OR_RETURN(uint32_t max, MaxTokenLength(params, name));
    return std::shared_ptr<const Tokenizer>(std::make_shared<CharTokenizer<WhitespaceTraits>>(max));
  }
  if (type == "keyword") {
    return std::shared_ptr<const Tokenizer>(std::make_shared<KeywordTokenizer>());
  }
  if (type == "pattern") return MakePatternTokenizer(params, name);
  if (type == "char_group") return MakeCharGroup(params, name);
  if (type == "ngram" || type == "nGram") return MakeNGram(params, name, false);
  if (type == "edge_ngram" || type == "edgeNGram") return MakeNGram(params, name, true);
  return Status::NotFound(std::string(type));
}

}  // namespace quidditch::engine::analysis
