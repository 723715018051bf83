// Token filters: lowercase, uppercase, stop, asciifolding, stemmer, snowball, porter_stem,
// trim, length, unique, ngram, edge_ngram.

#include <libstemmer.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {
namespace {

// Removes the tokens of (*tokens)[begin..] for which `drop` holds. With `keep_gaps` (Lucene's
// FilteringTokenFilter) the increments of dropped tokens go to the next token kept;
// without (OpenSearch's UniqueTokenFilter) they are lost.
template <typename Pred>
void RemoveTokens(std::vector<Token>* tokens, size_t begin, bool keep_gaps, Pred drop) {
  size_t w = begin;
  uint32_t carried = 0;
  for (size_t r = begin; r < tokens->size(); ++r) {
    Token& t = (*tokens)[r];
    if (drop(t)) {
      if (keep_gaps) carried += t.position;
      continue;
    }
    t.position += carried;
    carried = 0;
    if (w != r) (*tokens)[w] = std::move(t);
    ++w;
  }
  tokens->resize(w);
}

void MapCodePoints(std::string* s, char32_t (*fn)(char32_t)) {
  std::string out;
  out.reserve(s->size());
  for (size_t i = 0; i < s->size();) AppendUtf8(&out, fn(DecodeUtf8(*s, &i)));
  *s = std::move(out);
}

char32_t ToLower(char32_t c) { return u_tolower(c); }
char32_t ToUpper(char32_t c) { return u_toupper(c); }

// Java's Character.toLowerCase applied to each code point, as Lucene's LowerCaseFilter.
void Lowercase(std::string* s) {
  if (IsAscii(*s)) {
    for (char& c : *s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return;
  }
  MapCodePoints(s, ToLower);
}

void Uppercase(std::string* s) {
  if (IsAscii(*s)) {
    for (char& c : *s) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return;
  }
  MapCodePoints(s, ToUpper);
}

// A set of terms for the hot lookups of stop filters: open addressing with FNV-1a, which
// on short terms is several times cheaper than std::unordered_set<std::string>.
class TermSet {
 public:
  TermSet() = default;
  explicit TermSet(const std::vector<std::string>& terms) {
    size_t cap = 8;
    while (cap < terms.size() * 4) cap <<= 1;
    slots_.resize(cap);
    used_.assign(cap, false);
    for (const std::string& t : terms) {
      if (contains(t)) continue;
      size_t i = Hash(t) & (cap - 1);
      while (used_[i]) i = (i + 1) & (cap - 1);
      slots_[i] = t;
      used_[i] = true;
      max_len_ = std::max(max_len_, t.size());
      ++size_;
    }
  }
  bool empty() const { return size_ == 0; }
  bool contains(std::string_view t) const {
    if (size_ == 0 || t.size() > max_len_) return false;
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(t) & mask; used_[i]; i = (i + 1) & mask) {
      if (slots_[i] == t) return true;
    }
    return false;
  }

 private:
  static size_t Hash(std::string_view t) {
    uint64_t h = 1469598103934665603ull;
    for (char c : t) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
  std::vector<std::string> slots_;
  std::vector<bool> used_;
  size_t max_len_ = 0;
  size_t size_ = 0;
};

class LowercaseFilter final : public TokenFilter {
 public:
  bool IsLowercase() const override { return true; }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) Lowercase(&(*tokens)[i].term);
  }
};

class UppercaseFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) Uppercase(&(*tokens)[i].term);
  }
};

class StopFilter final : public TokenFilter {
 public:
  StopFilter(std::vector<std::string> words, bool ignore_case) : ignore_case_(ignore_case) {
    if (ignore_case_) {
      for (std::string& w : words) Lowercase(&w);
    }
    words_ = TermSet(words);
  }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    if (words_.empty()) return;
    RemoveTokens(tokens, begin, true, [this](const Token& t) {
      if (!ignore_case_) return words_.contains(t.term);
      std::string lower = t.term;
      Lowercase(&lower);
      return words_.contains(lower);
    });
  }

 private:
  bool ignore_case_;
  TermSet words_;
};

// Lucene's ASCIIFoldingFilter through ICU's Latin-ASCII transliterator (same results on
// Latin letters; Lucene's table also folds some non-Latin symbols this does not).
class AsciiFoldingFilter final : public TokenFilter {
 public:
  explicit AsciiFoldingFilter(bool preserve_original) : preserve_(preserve_original) {}

  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      if (IsAscii((*tokens)[i].term)) continue;
      std::string folded = Fold((*tokens)[i].term);
      if (folded == (*tokens)[i].term) continue;
      if (preserve_) {
        // Lucene emits the folded token, then the original at the same position.
        Token original = (*tokens)[i];
        original.position = 0;
        (*tokens)[i].term = std::move(folded);
        tokens->insert(tokens->begin() + static_cast<ptrdiff_t>(i) + 1, std::move(original));
        ++i;
      } else {
        (*tokens)[i].term = std::move(folded);
      }
    }
  }

  // REQUIRES: the transliterator can be built (checked by Validate()).
  static std::string Fold(const std::string& term) {
    thread_local std::unique_ptr<icu::Transliterator> tr(Prototype()->clone());
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(term);
    tr->transliterate(u);
    std::string out;
    u.toUTF8String(out);
    return out;
  }

  static bool Available() { return Prototype() != nullptr; }

 private:
  static const icu::Transliterator* Prototype() {
    static const icu::Transliterator* prototype = [] {
      UErrorCode status = U_ZERO_ERROR;
      icu::Transliterator* t =
          icu::Transliterator::createInstance("Latin-ASCII", UTRANS_FORWARD, status);
      if (U_FAILURE(status)) {
        delete t;
        return static_cast<icu::Transliterator*>(nullptr);
      }
      return t;
    }();
    return prototype;
  }

  bool preserve_;
};

// One sb_stemmer per algorithm per thread: sb_stemmer is not thread-safe.
struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

sb_stemmer* ThreadStemmer(const std::string& algorithm) {
  thread_local std::unordered_map<std::string, std::unique_ptr<sb_stemmer, StemmerDeleter>>
      stemmers;
  auto& slot = stemmers[algorithm];
  if (!slot) slot.reset(sb_stemmer_new(algorithm.c_str(), "UTF_8"));
  return slot.get();
}

bool SnowballAlgorithmExists(const std::string& algorithm) {
  sb_stemmer* s = sb_stemmer_new(algorithm.c_str(), "UTF_8");
  if (s == nullptr) return false;
  sb_stemmer_delete(s);
  return true;
}

class SnowballFilter final : public TokenFilter {
 public:
  explicit SnowballFilter(std::string algorithm) : algorithm_(std::move(algorithm)) {}
  bool IsStemmer() const override { return true; }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    sb_stemmer* s = ThreadStemmer(algorithm_);
    if (s == nullptr) return;  // cannot happen: the factory checked the algorithm exists
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& term = (*tokens)[i].term;
      const sb_symbol* r = sb_stemmer_stem(s, reinterpret_cast<const sb_symbol*>(term.data()),
                                           static_cast<int>(term.size()));
      if (r != nullptr) term.assign(reinterpret_cast<const char*>(r), sb_stemmer_length(s));
    }
  }

 private:
  std::string algorithm_;
};

class PorterStemFilter final : public TokenFilter {
 public:
  explicit PorterStemFilter(const std::vector<std::string>& exclusions) : exclusions_(exclusions) {}
  bool IsStemmer() const override { return true; }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& term = (*tokens)[i].term;
      if (!exclusions_.empty() && exclusions_.contains(term)) continue;
      PorterStem(&term);
    }
  }

 private:
  TermSet exclusions_;
};

// Lucene's EnglishPossessiveFilter: drops a trailing 's, ’s or ＇s (s or S).
class EnglishPossessiveFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      if (t.size() < 2 || (t.back() != 's' && t.back() != 'S')) continue;
      std::string_view head = std::string_view(t).substr(0, t.size() - 1);
      if (head.ends_with('\'')) {
        t.resize(t.size() - 2);
      } else if (head.ends_with("\u2019") || head.ends_with("\uFF07")) {
        t.resize(t.size() - 4);
      }
    }
  }
};

// Lucene's TrimFilter: drops leading and trailing characters <= ' '; offsets stay.
class TrimFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      size_t s = 0, e = t.size();
      while (s < e && static_cast<unsigned char>(t[s]) <= ' ') ++s;
      while (e > s && static_cast<unsigned char>(t[e - 1]) <= ' ') --e;
      if (s != 0 || e != t.size()) t = t.substr(s, e - s);
    }
  }
};

class LengthFilter final : public TokenFilter {
 public:
  LengthFilter(int64_t min, int64_t max) : min_(min), max_(max) {}
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    RemoveTokens(tokens, begin, true, [this](const Token& t) {
      int64_t len = static_cast<int64_t>(Utf16Length(t.term));
      return len < min_ || len > max_;
    });
  }

 private:
  int64_t min_, max_;
};

class UniqueFilter final : public TokenFilter {
 public:
  explicit UniqueFilter(bool only_on_same_position) : same_position_(only_on_same_position) {}
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    std::unordered_set<std::string> seen;
    RemoveTokens(tokens, begin, false, [&](const Token& t) {
      if (same_position_ && t.position > 0) seen.clear();
      bool duplicate = (!same_position_ || t.position == 0) && seen.contains(t.term);
      seen.insert(t.term);
      return duplicate;
    });
  }

 private:
  bool same_position_;
};

// Lucene's NGramTokenFilter / EdgeNGramTokenFilter: each token becomes its grams (by start,
// then length), the first with the token's increment, the others at the same position, all
// with the token's offsets. Tokens with no gram disappear (their increment carries over)
// unless `preserve_original`; with it, tokens longer than max_gram are kept too.
class NGramFilter final : public TokenFilter {
 public:
  NGramFilter(uint32_t min_gram, uint32_t max_gram, bool edges_only, bool preserve_original)
      : min_(min_gram), max_(max_gram), edges_only_(edges_only), preserve_(preserve_original) {}

  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    std::vector<Token> out;
    uint32_t carried = 0;
    std::vector<size_t> starts;
    for (size_t i = begin; i < tokens->size(); ++i) {
      Token& t = (*tokens)[i];
      carried += t.position;
      starts.clear();
      for (size_t k = 0; k < t.term.size();) {
        starts.push_back(k);
        DecodeUtf8(t.term, &k);
      }
      size_t count = starts.size();
      starts.push_back(t.term.size());
      if (preserve_ && count < min_) {
        t.position = carried;
        carried = 0;
        out.push_back(std::move(t));
        continue;
      }
      size_t last_start = edges_only_ ? 0 : count;
      for (size_t s = 0; s < count && s <= last_start; ++s) {
        for (size_t len = min_; len <= max_ && s + len <= count; ++len) {
          Token& g = out.emplace_back();
          g.term = t.term.substr(starts[s], starts[s + len] - starts[s]);
          g.start_offset = t.start_offset;
          g.end_offset = t.end_offset;
          g.position = carried;
          carried = 0;
        }
      }
      if (preserve_ && count > max_) {
        t.position = carried;
        carried = 0;
        out.push_back(std::move(t));
      }
    }
    tokens->resize(begin);
    for (Token& t : out) tokens->push_back(std::move(t));
  }

 private:
  uint32_t min_, max_;
  bool edges_only_, preserve_;
};

// keyword_marker: terms it names are left alone by the stemmers after it. Lucene sets a
// keyword flag on the token; Token has no such flag, so the analysis chain wraps each later
// stemmer in a KeywordGuard (ApplyKeywordMarkers) that checks the term when the stemmer runs.
class KeywordMarkerFilter final : public TokenFilter {
 public:
  KeywordMarkerFilter(std::vector<std::string> keywords, bool ignore_case)
      : ignore_case_(ignore_case) {
    if (ignore_case_) {
      for (std::string& k : keywords) Lowercase(&k);
    }
    keywords_ = TermSet(keywords);
  }
  void Filter(std::vector<Token>*, size_t) const override {}
  bool Marks(const std::string& term) const {
    if (!ignore_case_) return keywords_.contains(term);
    std::string lower = term;
    Lowercase(&lower);
    return keywords_.contains(lower);
  }

 private:
  bool ignore_case_;
  TermSet keywords_;
};

class KeywordGuard final : public TokenFilter {
 public:
  KeywordGuard(std::shared_ptr<const TokenFilter> stemmer,
               std::vector<std::shared_ptr<const KeywordMarkerFilter>> markers)
      : stemmer_(std::move(stemmer)), markers_(std::move(markers)) {}
  bool IsStemmer() const override { return true; }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    std::vector<std::pair<size_t, std::string>> kept;
    for (size_t i = begin; i < tokens->size(); ++i) {
      for (const auto& m : markers_) {
        if (m->Marks((*tokens)[i].term)) {
          kept.emplace_back(i, (*tokens)[i].term);
          break;
        }
      }
    }
    stemmer_->Filter(tokens, begin);  // stemmers neither add nor remove tokens
    for (auto& [i, term] : kept) (*tokens)[i].term = std::move(term);
  }

 private:
  std::shared_ptr<const TokenFilter> stemmer_;
  std::vector<std::shared_ptr<const KeywordMarkerFilter>> markers_;
};

// Lucene's TruncateTokenFilter: at most `length` UTF-16 units (not splitting a character).
class TruncateFilter final : public TokenFilter {
 public:
  explicit TruncateFilter(size_t length) : length_(length) {}
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      if (t.size() <= length_) continue;  // bytes >= UTF-16 units
      size_t units = 0;
      for (size_t k = 0; k < t.size();) {
        size_t before = k;
        units += Utf16Units(DecodeUtf8(t, &k));
        if (units > length_) {
          t.resize(before);
          break;
        }
      }
    }
  }

 private:
  size_t length_;
};

// Lucene's ReverseStringFilter: the code points in reverse order.
class ReverseFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      std::string out;
      out.reserve(t.size());
      size_t end = t.size();
      std::vector<std::pair<size_t, size_t>> chars;
      for (size_t k = 0; k < end;) {
        size_t start = k;
        DecodeUtf8(t, &k);
        chars.emplace_back(start, k - start);
      }
      for (size_t c = chars.size(); c-- > 0;) out.append(t, chars[c].first, chars[c].second);
      t = std::move(out);
    }
  }
};

// Lucene's LimitTokenCountFilter: the first `max` tokens.
class LimitFilter final : public TokenFilter {
 public:
  explicit LimitFilter(size_t max) : max_(max) {}
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    if (tokens->size() - begin > max_) tokens->resize(begin + max_);
  }

 private:
  size_t max_;
};

// Lucene's KeepWordFilter: only the listed words (gaps where others were).
class KeepWordsFilter final : public TokenFilter {
 public:
  KeepWordsFilter(std::vector<std::string> words, bool ignore_case) : ignore_case_(ignore_case) {
    if (ignore_case_) {
      for (std::string& w : words) Lowercase(&w);
    }
    words_ = TermSet(words);
  }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    RemoveTokens(tokens, begin, true, [this](const Token& t) {
      if (!ignore_case_) return !words_.contains(t.term);
      std::string lower = t.term;
      Lowercase(&lower);
      return !words_.contains(lower);
    });
  }

 private:
  bool ignore_case_;
  TermSet words_;
};

// Lucene's ApostropheFilter: drops an apostrophe (' or ’) and all after it.
class ApostropheFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      size_t a = t.find('\'');
      size_t b = t.find("\u2019");
      size_t cut = std::min(a, b);
      if (cut != std::string::npos) t.resize(cut);
    }
  }
};

// Lucene's DecimalDigitFilter: every decimal digit (Nd) to its ASCII digit.
class DecimalDigitFilter final : public TokenFilter {
 public:
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      if (IsAscii(t)) continue;
      MapCodePoints(&t, [](char32_t c) -> char32_t {
        if (c >= 0x80 && u_charType(c) == U_DECIMAL_DIGIT_NUMBER) {
          return U'0' + static_cast<char32_t>(u_charDigitValue(c));
        }
        return c;
      });
    }
  }
};

// Lucene's ElisionFilter: "l'avion" -> "avion" when the part before the first apostrophe
// (' or ’) is one of the articles.
class ElisionFilter final : public TokenFilter {
 public:
  ElisionFilter(std::vector<std::string> articles, bool ignore_case) : ignore_case_(ignore_case) {
    if (ignore_case_) {
      for (std::string& a : articles) Lowercase(&a);
    }
    articles_ = TermSet(articles);
  }
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    for (size_t i = begin; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i].term;
      size_t a = t.find('\'');
      size_t b = t.find("\u2019");
      size_t cut = std::min(a, b);
      if (cut == std::string::npos) continue;
      std::string prefix = t.substr(0, cut);
      if (ignore_case_) Lowercase(&prefix);
      if (articles_.contains(prefix)) t.erase(0, cut + (cut == a ? 1 : 3));
    }
  }

 private:
  bool ignore_case_;
  TermSet articles_;
};

// Lucene's FingerprintFilter: one token, the sorted distinct terms joined by `separator`,
// or nothing when longer than `max_output_size`.
class FingerprintFilter final : public TokenFilter {
 public:
  FingerprintFilter(std::string separator, size_t max_output_size)
      : separator_(std::move(separator)), max_(max_output_size) {}
  void Filter(std::vector<Token>* tokens, size_t begin) const override {
    if (tokens->size() == begin) return;
    std::vector<std::string> terms;
    uint32_t end = 0;
    for (size_t i = begin; i < tokens->size(); ++i) {
      terms.push_back(std::move((*tokens)[i].term));
      end = std::max(end, (*tokens)[i].end_offset);
    }
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
    std::string joined;
    for (const std::string& t : terms) {
      if (!joined.empty()) joined += separator_;
      joined += t;
    }
    tokens->resize(begin);
    if (Utf16Length(joined) > max_) return;
    Token& t = tokens->emplace_back();
    t.term = std::move(joined);
    t.position = 1;
    t.start_offset = 0;
    t.end_offset = end;
  }

 private:
  std::string separator_;
  size_t max_;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// OpenSearch's StemmerTokenFilterFactory languages that use a Snowball stemmer, mapped to
// the libstemmer algorithm.
const std::map<std::string, std::string>& SnowballLanguages() {
  static const auto* m = new std::map<std::string, std::string>{
      {"armenian", "armenian"},     {"basque", "basque"},         {"catalan", "catalan"},
      {"danish", "danish"},         {"dutch", "dutch"},           {"porter2", "english"},
      {"finnish", "finnish"},       {"french", "french"},         {"german", "german"},
      {"german2", "german"},        {"hungarian", "hungarian"},   {"irish", "irish"},
      {"italian", "italian"},       {"lithuanian", "lithuanian"}, {"norwegian", "norwegian"},
      {"portuguese", "portuguese"}, {"romanian", "romanian"},     {"russian", "russian"},
      {"spanish", "spanish"},       {"swedish", "swedish"},       {"turkish", "turkish"},
  };
  return *m;
}

Result<std::shared_ptr<const TokenFilter>> MakeStemmer(const nlohmann::json& params,
                                                       std::string_view name) {
  std::string language = "english";
  if (params.is_object() && params.contains("name")) {
    QD_ASSIGN_OR_RETURN(language, StringParam(params, "name", "english", name));
  }
  if (params.is_object() && params.contains("language")) {
    QD_ASSIGN_OR_RETURN(language, StringParam(params, "language", "english", name));
  }
  std::string lang = Lower(language);
  if (lang == "english" || lang == "porter") {
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<PorterStemFilter>(std::vector<std::string>{}));
  }
  if (lang == "possessive_english" || lang == "possessiveenglish") {
    return std::shared_ptr<const TokenFilter>(std::make_shared<EnglishPossessiveFilter>());
  }
  auto it = SnowballLanguages().find(lang);
  if (it != SnowballLanguages().end() && SnowballAlgorithmExists(it->second)) {
    return std::shared_ptr<const TokenFilter>(std::make_shared<SnowballFilter>(it->second));
  }
  return IllegalArgument("stemmer language [" + language + "] of filter [" + std::string(name) +
                         "] is not supported");
}

Result<std::shared_ptr<const TokenFilter>> MakeSnowball(const nlohmann::json& params,
                                                        std::string_view name) {
  QD_ASSIGN_OR_RETURN(std::string language, StringParam(params, "language", "English", name));
  std::string algorithm = Lower(language);
  if (algorithm == "german2") algorithm = "german";
  if (!SnowballAlgorithmExists(algorithm)) {
    return IllegalArgument("snowball language [" + language + "] of filter [" + std::string(name) +
                           "] is not supported");
  }
  return std::shared_ptr<const TokenFilter>(std::make_shared<SnowballFilter>(algorithm));
}

Result<std::shared_ptr<const TokenFilter>> MakeNGramFilter(const nlohmann::json& params,
                                                           std::string_view name, bool edges_only) {
  QD_ASSIGN_OR_RETURN(int64_t min_gram, IntParam(params, "min_gram", 1, name));
  QD_ASSIGN_OR_RETURN(int64_t max_gram, IntParam(params, "max_gram", 2, name));
  QD_ASSIGN_OR_RETURN(bool preserve, BoolParam(params, "preserve_original", false, name));
  if (min_gram < 1) return IllegalArgument("minGram must be greater than zero");
  if (min_gram > max_gram) return IllegalArgument("minGram must not be greater than maxGram");
  return std::shared_ptr<const TokenFilter>(std::make_shared<NGramFilter>(
      static_cast<uint32_t>(min_gram), static_cast<uint32_t>(max_gram), edges_only, preserve));
}

}  // namespace

Result<std::shared_ptr<const TokenFilter>> MakeTokenFilter(std::string_view type,
                                                           const nlohmann::json& params,
                                                           std::string_view name) {
  if (type == "lowercase") {
    QD_ASSIGN_OR_RETURN(std::string language, StringParam(params, "language", "", name));
    if (!language.empty()) {
      return IllegalArgument("lowercase language [" + language + "] of filter [" +
                             std::string(name) + "] is not supported");
    }
    return std::shared_ptr<const TokenFilter>(std::make_shared<LowercaseFilter>());
  }
  if (type == "uppercase") {
    return std::shared_ptr<const TokenFilter>(std::make_shared<UppercaseFilter>());
  }
  if (type == "stop") {
    QD_ASSIGN_OR_RETURN(std::vector<std::string> words,
                        StopWordsParam(params, EnglishStopWords(), name));
    QD_ASSIGN_OR_RETURN(bool ignore_case, BoolParam(params, "ignore_case", false, name));
    return std::shared_ptr<const TokenFilter>(std::make_shared<StopFilter>(words, ignore_case));
  }
  if (type == "asciifolding") {
    QD_ASSIGN_OR_RETURN(bool preserve, BoolParam(params, "preserve_original", false, name));
    if (!AsciiFoldingFilter::Available()) {
      return IllegalArgument("asciifolding is unavailable: ICU has no Latin-ASCII transform");
    }
    return std::shared_ptr<const TokenFilter>(std::make_shared<AsciiFoldingFilter>(preserve));
  }
  if (type == "stemmer") return MakeStemmer(params, name);
  if (type == "snowball") return MakeSnowball(params, name);
  if (type == "porter_stem") {
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<PorterStemFilter>(std::vector<std::string>{}));
  }
  if (type == "trim") return std::shared_ptr<const TokenFilter>(std::make_shared<TrimFilter>());
  if (type == "length") {
    QD_ASSIGN_OR_RETURN(int64_t min, IntParam(params, "min", 0, name));
    QD_ASSIGN_OR_RETURN(int64_t max, IntParam(params, "max", INT32_MAX, name));
    if (min < 0) return IllegalArgument("minimum length must be greater than or equal to zero");
    if (min > max) return IllegalArgument("maximum length must not be greater than minimum length");
    return std::shared_ptr<const TokenFilter>(std::make_shared<LengthFilter>(min, max));
  }
  if (type == "unique") {
    QD_ASSIGN_OR_RETURN(bool same, BoolParam(params, "only_on_same_position", false, name));
    return std::shared_ptr<const TokenFilter>(std::make_shared<UniqueFilter>(same));
  }
  if (type == "keyword_marker") {
    if (params.is_object() &&
        (params.contains("keywords_path") || params.contains("keywords_pattern"))) {
      return IllegalArgument("[keywords_path] and [keywords_pattern] of keyword_marker [" +
                             std::string(name) + "] are not supported: give [keywords]");
    }
    QD_ASSIGN_OR_RETURN(std::vector<std::string> keywords, ListParam(params, "keywords", name));
    QD_ASSIGN_OR_RETURN(bool ignore_case, BoolParam(params, "ignore_case", false, name));
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<KeywordMarkerFilter>(std::move(keywords), ignore_case));
  }
  if (type == "truncate") {
    QD_ASSIGN_OR_RETURN(int64_t length, IntParam(params, "length", 10, name));
    if (length < 1)
      return IllegalArgument("length parameter must be a positive number: " +
                             std::to_string(length));
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<TruncateFilter>(static_cast<size_t>(length)));
  }
  if (type == "reverse") {
    return std::shared_ptr<const TokenFilter>(std::make_shared<ReverseFilter>());
  }
  if (type == "limit") {
    QD_ASSIGN_OR_RETURN(int64_t max, IntParam(params, "max_token_count", 1, name));
    if (max < 1) return IllegalArgument("maxTokenCount must be greater than zero");
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<LimitFilter>(static_cast<size_t>(max)));
  }
  if (type == "keep") {
    if (params.is_object() && params.contains("keep_words_path")) {
      return IllegalArgument("[keep_words_path] of keep filter [" + std::string(name) +
                             "] is not supported: give [keep_words]");
    }
    bool present = false;
    QD_ASSIGN_OR_RETURN(std::vector<std::string> words,
                        ListParam(params, "keep_words", name, &present));
    if (!present) {
      return IllegalArgument(
          "keep requires either `keep_words` or `keep_words_path` to be "
          "configured");
    }
    QD_ASSIGN_OR_RETURN(bool ignore_case, BoolParam(params, "keep_words_case", false, name));
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<KeepWordsFilter>(std::move(words), ignore_case));
  }
  if (type == "elision") {
    bool present = false;
    QD_ASSIGN_OR_RETURN(std::vector<std::string> articles,
                        ListParam(params, "articles", name, &present));
    if (!present) {
      if (!params.is_null()) {
        return IllegalArgument("elision filter requires [articles] or [articles_path] setting");
      }
      // The built-in elision filter: Lucene's French articles.
      articles = {"l", "m", "t",     "qu",     "n",      "s",     "j",
                  "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"};
    }
    QD_ASSIGN_OR_RETURN(bool ignore_case, BoolParam(params, "articles_case", false, name));
    return std::shared_ptr<const TokenFilter>(
        std::make_shared<ElisionFilter>(std::move(articles), ignore_case));
  }
  if (type == "fingerprint") {
    QD_ASSIGN_OR_RETURN(std::string separator, StringParam(params, "separator", " ", name));
    QD_ASSIGN_OR_RETURN(int64_t max, IntParam(params, "max_output_size", 255, name));
    return std::shared_ptr<const TokenFilter>(std::make_shared<FingerprintFilter>(
        std::move(separator), static_cast<size_t>(std::max<int64_t>(max, 0))));
  }
  if (type == "pattern_replace") return MakePatternReplaceFilter(params, name);
  if (type == "apostrophe") {
    return std::shared_ptr<const TokenFilter>(std::make_shared<ApostropheFilter>());
  }
  if (type == "decimal_digit") {
    return std::shared_ptr<const TokenFilter>(std::make_shared<DecimalDigitFilter>());
  }
  if (type == "ngram" || type == "nGram") return MakeNGramFilter(params, name, false);
  if (type == "edge_ngram" || type == "edgeNGram") return MakeNGramFilter(params, name, true);
  return Status::NotFound(std::string(type));
}

void LowercaseTerm(std::string* s) { Lowercase(s); }

std::vector<std::shared_ptr<const TokenFilter>> ApplyKeywordMarkers(
    std::vector<std::shared_ptr<const TokenFilter>> filters) {
  std::vector<std::shared_ptr<const KeywordMarkerFilter>> markers;
  for (auto& f : filters) {
    if (auto marker = std::dynamic_pointer_cast<const KeywordMarkerFilter>(f)) {
      markers.push_back(std::move(marker));
    } else if (!markers.empty() && f->IsStemmer()) {
      f = std::make_shared<KeywordGuard>(f, markers);
    }
  }
  return filters;
}

std::shared_ptr<const TokenFilter> MakeEnglishPossessiveFilter() {
  return std::make_shared<EnglishPossessiveFilter>();
}

std::shared_ptr<const TokenFilter> MakePorterStemFilter(std::vector<std::string> exclusions) {
  return std::make_shared<PorterStemFilter>(std::move(exclusions));
}

}  // namespace quidditch::engine::analysis
