// The pattern tokenizer (Lucene's PatternTokenizer) on ICU regular expressions.
//
// Patterns are Java regular expressions. ICU's syntax is close to Java's; the difference
// that changes tokens on ordinary patterns is that Java's \w \W \d \D \s \S are ASCII-only
// unless UNICODE_CHARACTER_CLASS is set, while ICU's are Unicode, so those escapes are
// rewritten to ASCII classes first.

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {
namespace {

std::string JavaToIcuRegex(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' || i + 1 >= p.size()) {
      out.push_back(p[i]);
      continue;
    }
    char e = p[i + 1];
    const char* rep = nullptr;
    switch (e) {
      case 'w':
        rep = "[a-zA-Z0-9_]";
        break;
      case 'W':
        rep = "[^a-zA-Z0-9_]";
        break;
      case 'd':
        rep = "[0-9]";
        break;
      case 'D':
        rep = "[^0-9]";
        break;
      case 's':
        rep = "[ \\t\\n\\x{0B}\\f\\r]";
        break;
      case 'S':
        rep = "[^ \\t\\n\\x{0B}\\f\\r]";
        break;
      default:
        break;
    }
    if (rep != nullptr) {
      out.append(rep);
    } else {
      out.push_back('\\');
      out.push_back(e);
    }
    ++i;
  }
  return out;
}

class PatternTokenizer final : public Tokenizer {
 public:
  PatternTokenizer(std::unique_ptr<icu::RegexPattern> pattern, int group)
      : pattern_(std::move(pattern)), group_(group) {}

  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    // UTF-16 text built with our decoder, so that bad bytes are one U+FFFD each, and the
    // byte offset of every UTF-16 index.
    icu::UnicodeString u;
    std::vector<uint32_t> byte_at;
    byte_at.reserve(text.size() + 1);
    for (size_t i = 0; i < text.size();) {
      uint32_t start = static_cast<uint32_t>(i);
      char32_t c = DecodeUtf8(text, &i);
      u.append(static_cast<UChar32>(c));
      byte_at.push_back(start);
      if (c >= 0x10000) byte_at.push_back(start);
    }
    byte_at.push_back(static_cast<uint32_t>(text.size()));

    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> m(pattern_->matcher(u, status));
    if (U_FAILURE(status)) return;
    auto emit = [&](int32_t s, int32_t e) {
      Token& t = out->emplace_back();
      t.start_offset = byte_at[s];
      t.end_offset = byte_at[e];
      t.term = SanitizeUtf8(text.substr(t.start_offset, t.end_offset - t.start_offset));
      t.position = 1;
    };
    if (group_ < 0) {
      int32_t index = 0;
      while (m->find(status) && U_SUCCESS(status)) {
        int32_t s = m->start(status);
        if (s - index > 0) emit(index, s);
        index = m->end(status);
      }
      if (u.length() - index > 0) emit(index, u.length());
    } else {
      while (m->find(status) && U_SUCCESS(status)) {
        int32_t s = m->start(group_, status);
        int32_t e = m->end(group_, status);
        if (U_FAILURE(status)) return;
        if (s >= 0 && e > s) emit(s, e);
      }
    }
  }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;  // immutable; ICU patterns are thread-safe
  int group_;
};

Result<uint32_t> ParseFlags(const std::string& flags, bool* unicode_classes) {
  uint32_t out = 0;
  *unicode_classes = false;
  size_t start = 0;
  while (start <= flags.size()) {
    size_t bar = flags.find('|', start);
    if (bar == std::string::npos) bar = flags.size();
    std::string f = flags.substr(start, bar - start);
    while (!f.empty() && f.back() == ' ') f.pop_back();
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
    if (f == "CASE_INSENSITIVE") {
      out |= UREGEX_CASE_INSENSITIVE;
    } else if (f == "MULTILINE") {
      out |= UREGEX_MULTILINE;
    } else if (f == "DOTALL") {
      out |= UREGEX_DOTALL;
    } else if (f == "COMMENTS") {
      out |= UREGEX_COMMENTS;
    } else if (f == "UNIX_LINES") {
      out |= UREGEX_UNIX_LINES;
    } else if (f == "LITERAL") {
      out |= UREGEX_LITERAL;
    } else if (f == "UNICODE_CHARACTER_CLASS") {
      *unicode_classes = true;
    } else if (f == "UNICODE_CASE" || f == "CANON_EQ" || f.empty()) {
      // UNICODE_CASE is ICU's behaviour already; CANON_EQ is not supported and ignored.
    } else {
      return IllegalArgument("Unknown regex flag [" + f + "]");
    }
    start = bar + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<icu::RegexPattern>> CompileJavaRegex(const std::string& pattern,
                                                            const std::string& flags,
                                                            std::string_view name) {
  bool unicode_classes = false;
  QD_ASSIGN_OR_RETURN(uint32_t icu_flags, ParseFlags(flags, &unicode_classes));
  std::string icu_pattern =
      (unicode_classes || (icu_flags & UREGEX_LITERAL)) ? pattern : JavaToIcuRegex(pattern);
  UErrorCode status = U_ZERO_ERROR;
  UParseError pe;
  std::unique_ptr<icu::RegexPattern> compiled(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(icu_pattern), icu_flags, pe, status));
  if (U_FAILURE(status)) {
    return IllegalArgument("invalid pattern [" + pattern + "] of [" + std::string(name) +
                           "]: " + u_errorName(status));
  }
  return compiled;
}

Result<std::shared_ptr<const Tokenizer>> MakePatternTokenizer(const nlohmann::json& params,
                                                              std::string_view name) {
  QD_ASSIGN_OR_RETURN(std::string pattern, StringParam(params, "pattern", "\\W+", name));
  QD_ASSIGN_OR_RETURN(std::string flags, StringParam(params, "flags", "", name));
  QD_ASSIGN_OR_RETURN(int64_t group, IntParam(params, "group", -1, name));
  QD_ASSIGN_OR_RETURN(auto compiled, CompileJavaRegex(pattern, flags, name));
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> probe(compiled->matcher(status));
  int32_t groups = U_SUCCESS(status) && probe ? probe->groupCount() : 0;
  if (group > groups) {
    return IllegalArgument("invalid group [" + std::to_string(group) + "] of [" +
                           std::string(name) + "]: the pattern has " + std::to_string(groups) +
                           " groups");
  }
  return std::shared_ptr<const Tokenizer>(
      std::make_shared<PatternTokenizer>(std::move(compiled), static_cast<int>(group)));
}

}  // namespace quidditch::engine::analysis
