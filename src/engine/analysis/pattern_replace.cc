// pattern_replace as a char filter (Lucene's PatternReplaceCharFilter) and as a token filter
// (PatternReplaceFilter), on ICU regular expressions with Java's pattern syntax (see
// pattern_tokenizer.cc) and replacement syntax ($1, ${name}, \$).

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {
namespace {

// `text` as UTF-16 (one U+FFFD per bad byte) and the byte offset of each UTF-16 index.
void ToUtf16(std::string_view text, icu::UnicodeString* u, std::vector<uint32_t>* byte_at) {
  byte_at->clear();
  byte_at->reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    uint32_t start = static_cast<uint32_t>(i);
    char32_t c = DecodeUtf8(text, &i);
    u->append(static_cast<UChar32>(c));
    byte_at->push_back(start);
    if (c >= 0x10000) byte_at->push_back(start);
  }
  byte_at->push_back(static_cast<uint32_t>(text.size()));
}

class PatternReplaceCharFilter final : public CharFilter {
 public:
  PatternReplaceCharFilter(std::unique_ptr<icu::RegexPattern> pattern,
                           icu::UnicodeString replacement)
      : pattern_(std::move(pattern)), replacement_(std::move(replacement)) {}

  void Filter(std::string_view in, std::string* out, OffsetCorrection* map) const override {
    out->clear();
    icu::UnicodeString u;
    std::vector<uint32_t> byte_at;
    ToUtf16(in, &u, &byte_at);
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> m(pattern_->matcher(u, status));
    if (U_FAILURE(status)) {
      out->assign(in);
      return;
    }
    icu::UnicodeString dest;
    int32_t last_end = 0;  // UTF-16
    int64_t diff = 0;
    while (m->find(status) && U_SUCCESS(status)) {
      int32_t s = m->start(status);
      int32_t e = m->end(status);
      int32_t before = dest.length();
      m->appendReplacement(dest, replacement_, status);
      if (U_FAILURE(status)) break;
      std::string rep;
      dest.tempSubString(before + (s - last_end)).toUTF8String(rep);
      out->append(in.substr(byte_at[last_end], byte_at[s] - byte_at[last_end]));
      size_t out_start = out->size();
      out->append(rep);
      int64_t match = static_cast<int64_t>(byte_at[e]) - byte_at[s];
      int64_t d = match - static_cast<int64_t>(rep.size());
      if (d > 0) {
        map->Add(static_cast<uint32_t>(out_start + rep.size()), diff + d);
      } else if (d < 0) {
        for (int64_t extra = 0; extra < -d; ++extra) {
          map->Add(static_cast<uint32_t>(out_start + match + extra), diff - extra - 1);
        }
      }
      diff += d;
      last_end = e;
      if (e == s && e >= u.length()) break;
    }
    out->append(in.substr(byte_at[last_end]));
  }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;
  icu::UnicodeString replacement_;
};

class PatternReplaceFilter final : public TokenFilter {
 public:
  PatternReplaceFilter(std::unique_ptr<icu::RegexPattern> pattern, icu::UnicodeString replacement,
                       bool all)
      : pattern_(std::move(pattern)), replacement_(std::move(replacement)), all_(all) {}

  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> m(pattern_->matcher(status));
    if (U_FAILURE(status)) return;
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& term = (*tokens)[i].term;
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(term);
      m->reset(u);
      status = U_ZERO_ERROR;
      if (!m->find(status)) continue;
      m->reset(u);
      icu::UnicodeString r =
          all_ ? m->replaceAll(replacement_, status) : m->replaceFirst(replacement_, status);
      if (U_FAILURE(status)) continue;
      term.clear();
      r.toUTF8String(term);
    }
  }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;
  icu::UnicodeString replacement_;
  bool all_;
};

Result<std::unique_ptr<icu::RegexPattern>> Compile(const nlohmann::json& params,
                                                   std::string_view name) {
  if (!params.is_object() || !params.contains("pattern")) {
    return IllegalArgument("pattern is missing for [" + std::string(name) + "] " +
                           "pattern_replace");
  }
  QD_ASSIGN_OR_RETURN(std::string pattern, StringParam(params, "pattern", "", name));
  QD_ASSIGN_OR_RETURN(std::string flags, StringParam(params, "flags", "", name));
  return CompileJavaRegex(pattern, flags, name);
}

}  // namespace

Result<std::shared_ptr<const CharFilter>> MakePatternReplaceCharFilter(const nlohmann::json& params,
                                                                       std::string_view name) {
  QD_ASSIGN_OR_RETURN(auto pattern, Compile(params, name));
  QD_ASSIGN_OR_RETURN(std::string replacement, StringParam(params, "replacement", "", name));
  return std::shared_ptr<const CharFilter>(std::make_shared<PatternReplaceCharFilter>(
      std::move(pattern), icu::UnicodeString::fromUTF8(replacement)));
}

Result<std::shared_ptr<const TokenFilter>> MakePatternReplaceFilter(const nlohmann::json& params,
                                                                    std::string_view name) {
  QD_ASSIGN_OR_RETURN(auto pattern, Compile(params, name));
  QD_ASSIGN_OR_RETURN(std::string replacement, StringParam(params, "replacement", "", name));
  QD_ASSIGN_OR_RETURN(bool all, BoolParam(params, "all", true, name));
  return std::shared_ptr<const TokenFilter>(std::make_shared<PatternReplaceFilter>(
      std::move(pattern), icu::UnicodeString::fromUTF8(replacement), all));
}

}  // namespace quidditch::engine::analysis
