// AnalysisRegistry::Create: the built-in analyzers and the custom ones of an index's
// `analysis` settings, and the analysis chain that runs them.

#include <map>

#include "engine/analysis/analyzer.h"
#include "engine/analysis/components.h"
#include "engine/errors.h"

namespace quidditch::engine {
namespace analysis {

void OffsetCorrection::Add(uint32_t out_offset, int64_t cumulative_diff) {
  if (!points_.empty() && points_.back().first == out_offset) {
    points_.back().second = cumulative_diff;
  } else {
    points_.emplace_back(out_offset, cumulative_diff);
  }
}

uint32_t OffsetCorrection::Correct(uint32_t out_offset) const {
  // The last point at or before out_offset.
  auto it = std::upper_bound(points_.begin(), points_.end(), out_offset,
                             [](uint32_t off, const auto& p) { return off < p.first; });
  if (it == points_.begin()) return out_offset;
  int64_t corrected = static_cast<int64_t>(out_offset) + std::prev(it)->second;
  return corrected < 0 ? 0 : static_cast<uint32_t>(corrected);
}

const std::vector<std::string>& EnglishStopWords() {
  static const auto* words = new std::vector<std::string>{
      "a",   "an",    "and",  "are",   "as",    "at",   "be",   "but", "by",  "for",  "if",
      "in",  "into",  "is",   "it",    "no",    "not",  "of",   "on",  "or",  "such", "that",
      "the", "their", "then", "there", "these", "they", "this", "to",  "was", "will", "with"};
  return *words;
}

namespace {

std::string Where(std::string_view what, const char* key) {
  return "[" + std::string(key) + "] of [" + std::string(what) + "]";
}

}  // namespace

Result<int64_t> IntParam(const nlohmann::json& params, const char* key, int64_t dflt,
                         std::string_view what) {
  if (!params.is_object()) return dflt;
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return dflt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return static_cast<int64_t>(v);
  }
  return IllegalArgument("Failed to parse value " + Where(what, key) +
                         " as an integer: " + it->dump());
}

Result<bool> BoolParam(const nlohmann::json& params, const char* key, bool dflt,
                       std::string_view what) {
  if (!params.is_object()) return dflt;
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return dflt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return IllegalArgument("Failed to parse value " + Where(what, key) +
                         " as only [true] or [false] are allowed: " + it->dump());
}

Result<std::string> StringParam(const nlohmann::json& params, const char* key,
                                std::string_view dflt, std::string_view what) {
  if (!params.is_object()) return std::string(dflt);
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return std::string(dflt);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return IllegalArgument("Failed to parse value " + Where(what, key) +
                         " as a string: " + it->dump());
}

Result<std::vector<std::string>> ListParam(const nlohmann::json& params, const char* key,
                                           std::string_view what, bool* present) {
  if (present != nullptr) *present = false;
  std::vector<std::string> out;
  if (!params.is_object()) return out;
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return out;
  if (present != nullptr) *present = true;
  if (it->is_string()) {
    // As OpenSearch's Settings.getAsList: a string is a comma-separated list, trimmed,
    // without empty items.
    std::string_view rest = it->get_ref<const std::string&>();
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && static_cast<unsigned char>(item.front()) <= ' ')
        item.remove_prefix(1);
      while (!item.empty() && static_cast<unsigned char>(item.back()) <= ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return out;
  }
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_string()) {
        return IllegalArgument("Failed to parse value " + Where(what, key) +
                               ": expected a list of strings but got " + it->dump());
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  return IllegalArgument("Failed to parse value " + Where(what, key) +
                         ": expected a list of strings but got " + it->dump());
}

Result<std::vector<std::string>> StopWordsParam(const nlohmann::json& params,
                                                const std::vector<std::string>& dflt,
                                                std::string_view what) {
  if (params.is_object() && params.contains("stopwords_path")) {
    return IllegalArgument("[stopwords_path] of [" + std::string(what) +
                           "] is not supported: give the words in [stopwords]");
  }
  bool present = false;
  QD_ASSIGN_OR_RETURN(std::vector<std::string> words,
                      ListParam(params, "stopwords", what, &present));
  if (!present) return dflt;
  if (words.size() == 1 && words[0].size() > 2 && words[0].front() == '_' &&
      words[0].back() == '_') {
    if (words[0] == "_english_") return EnglishStopWords();
    if (words[0] == "_none_") return std::vector<std::string>{};
    return IllegalArgument("stop words list [" + words[0] + "] of [" + std::string(what) +
                           "] is not supported; supported: [_english_, _none_] or a list");
  }
  return words;
}

namespace {

// Char filters, then a tokenizer, then token filters, as Lucene's CustomAnalyzer.
class ChainAnalyzer final : public Analyzer {
 public:
  ChainAnalyzer(std::vector<std::shared_ptr<const CharFilter>> char_filters,
                std::shared_ptr<const Tokenizer> tokenizer,
                std::vector<std::shared_ptr<const TokenFilter>> filters)
      : char_filters_(std::move(char_filters)),
        tokenizer_(std::move(tokenizer)),
        filters_(ApplyKeywordMarkers(std::move(filters))) {
    // standard + lowercase: lowercase while tokenizing (one pass less over the terms).
    if (!filters_.empty() && filters_[0]->IsLowercase()) {
      if (auto fused = tokenizer_->FusedWithLowercase()) {
        tokenizer_ = std::move(fused);
        filters_.erase(filters_.begin());
      }
    }
  }

  void Analyze(std::string_view text, uint32_t first_position,
               std::vector<Token>* out) const override {
    size_t begin = out->size();
    if (char_filters_.empty()) {
      tokenizer_->Tokenize(text, out);
    } else {
      std::vector<std::string> buffers(char_filters_.size());
      std::vector<OffsetCorrection> maps(char_filters_.size());
      std::string_view current = text;
      for (size_t i = 0; i < char_filters_.size(); ++i) {
        char_filters_[i]->Filter(current, &buffers[i], &maps[i]);
        current = buffers[i];
      }
      tokenizer_->Tokenize(current, out);
      uint32_t limit = static_cast<uint32_t>(text.size());
      for (size_t t = begin; t < out->size(); ++t) {
        Token& token = (*out)[t];
        for (size_t i = maps.size(); i-- > 0;) {
          token.start_offset = maps[i].Correct(token.start_offset);
          token.end_offset = maps[i].Correct(token.end_offset);
        }
        token.start_offset = std::min(token.start_offset, limit);
        token.end_offset = std::min(std::max(token.end_offset, token.start_offset), limit);
      }
    }
    for (const auto& filter : filters_) filter->Filter(out, begin);
    // Increments to absolute positions (Lucene starts at -1 and adds each increment).
    int64_t position = static_cast<int64_t>(first_position) - 1;
    for (size_t t = begin; t < out->size(); ++t) {
      position += (*out)[t].position;
      if (position < static_cast<int64_t>(first_position)) position = first_position;
      (*out)[t].position = static_cast<uint32_t>(position);
    }
  }

 private:
  std::vector<std::shared_ptr<const CharFilter>> char_filters_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::vector<std::shared_ptr<const TokenFilter>> filters_;
};

std::shared_ptr<const Tokenizer> BuiltinTokenizer(std::string_view type) {
  auto r = MakeTokenizer(type, nlohmann::json(), type);
  return r.ok() ? *r : nullptr;
}

std::shared_ptr<const TokenFilter> BuiltinFilter(std::string_view type) {
  auto r = MakeTokenFilter(type, nlohmann::json(), type);
  return r.ok() ? *r : nullptr;
}

std::shared_ptr<const Analyzer> Chain(std::shared_ptr<const Tokenizer> tokenizer,
                                      std::vector<std::shared_ptr<const TokenFilter>> filters) {
  return std::make_shared<ChainAnalyzer>(std::vector<std::shared_ptr<const CharFilter>>{},
                                         std::move(tokenizer), std::move(filters));
}

std::shared_ptr<const TokenFilter> Stop(const std::vector<std::string>& words) {
  nlohmann::json params = {{"stopwords", words}};
  return *MakeTokenFilter("stop", params, "stop");
}

// A built-in analyzer type with its parameters (null for the defaults), or NotFound.
Result<std::shared_ptr<const Analyzer>> MakeAnalyzer(std::string_view type,
                                                     const nlohmann::json& params,
                                                     std::string_view name) {
  if (type == "standard") {
    QD_ASSIGN_OR_RETURN(auto tokenizer, MakeTokenizer("standard", params, name));
    QD_ASSIGN_OR_RETURN(std::vector<std::string> stop, StopWordsParam(params, {}, name));
    std::vector<std::shared_ptr<const TokenFilter>> filters{BuiltinFilter("lowercase")};
    if (!stop.empty()) filters.push_back(Stop(stop));
    return Chain(std::move(tokenizer), std::move(filters));
  }
  if (type == "pattern") {
    // OpenSearch's pattern analyzer: pattern tokenizer, lowercase (unless "lowercase":
    // false), stop words (none by default).
    QD_ASSIGN_OR_RETURN(auto tokenizer, MakePatternTokenizer(params, name));
    QD_ASSIGN_OR_RETURN(bool lowercase, BoolParam(params, "lowercase", true, name));
    QD_ASSIGN_OR_RETURN(std::vector<std::string> stop, StopWordsParam(params, {}, name));
    std::vector<std::shared_ptr<const TokenFilter>> filters;
    if (lowercase) filters.push_back(BuiltinFilter("lowercase"));
    if (!stop.empty()) filters.push_back(Stop(stop));
    return Chain(std::move(tokenizer), std::move(filters));
  }
  if (type == "fingerprint") {
    // OpenSearch's fingerprint analyzer: standard, lowercase, asciifolding, stop (none by
    // default), fingerprint.
    QD_ASSIGN_OR_RETURN(std::vector<std::string> stop, StopWordsParam(params, {}, name));
    QD_ASSIGN_OR_RETURN(auto fingerprint, MakeTokenFilter("fingerprint", params, name));
    std::vector<std::shared_ptr<const TokenFilter>> filters{BuiltinFilter("lowercase"),
                                                            BuiltinFilter("asciifolding")};
    if (!stop.empty()) filters.push_back(Stop(stop));
    filters.push_back(std::move(fingerprint));
    return Chain(BuiltinTokenizer("standard"), std::move(filters));
  }
  if (type == "simple") return Chain(BuiltinTokenizer("lowercase"), {});
  if (type == "whitespace") return Chain(BuiltinTokenizer("whitespace"), {});
  if (type == "keyword") return Chain(BuiltinTokenizer("keyword"), {});
  if (type == "stop") {
    QD_ASSIGN_OR_RETURN(std::vector<std::string> stop,
                        StopWordsParam(params, EnglishStopWords(), name));
    std::vector<std::shared_ptr<const TokenFilter>> filters;
    if (!stop.empty()) filters.push_back(Stop(stop));
    return Chain(BuiltinTokenizer("lowercase"), std::move(filters));
  }
  if (type == "english") {
    // Lucene's EnglishAnalyzer: standard tokenizer, possessive, lowercase, stop, porter.
    QD_ASSIGN_OR_RETURN(std::vector<std::string> stop,
                        StopWordsParam(params, EnglishStopWords(), name));
    QD_ASSIGN_OR_RETURN(std::vector<std::string> exclusions,
                        ListParam(params, "stem_exclusion", name));
    // Lucene runs the possessive filter before lowercase; it strips 's and 'S alike and
    // lowercasing leaves apostrophes alone, so lowercase first (fused into the tokenizer)
    // gives the same terms.
    std::vector<std::shared_ptr<const TokenFilter>> filters{BuiltinFilter("lowercase"),
                                                            MakeEnglishPossessiveFilter()};
    if (!stop.empty()) filters.push_back(Stop(stop));
    filters.push_back(MakePorterStemFilter(std::move(exclusions)));
    return Chain(BuiltinTokenizer("standard"), std::move(filters));
  }
  return Status::NotFound(std::string(type));
}

using AnalyzerMap = std::map<std::string, std::shared_ptr<const Analyzer>, std::less<>>;

const AnalyzerMap& BuiltinAnalyzers() {
  static const AnalyzerMap* builtins = [] {
    auto* m = new AnalyzerMap;
    for (const char* name : {"standard", "simple", "whitespace", "keyword", "stop", "english",
                             "pattern", "fingerprint"}) {
      (*m)[name] = *MakeAnalyzer(name, nlohmann::json(), name);
    }
    (*m)["default"] = (*m)["standard"];
    return m;
  }();
  return *builtins;
}

class Registry final : public AnalysisRegistry {
 public:
  explicit Registry(AnalyzerMap analyzers) : analyzers_(std::move(analyzers)) {}
  const Analyzer* Find(std::string_view name) const override {
    auto it = analyzers_.find(name);
    return it == analyzers_.end() ? nullptr : it->second.get();
  }

 private:
  AnalyzerMap analyzers_;
};

template <typename T>
using ComponentMap = std::map<std::string, std::shared_ptr<const T>, std::less<>>;

// Builds the named components of one section ("tokenizer", "filter", "char_filter").
template <typename T, typename Factory>
Status BuildSection(const nlohmann::json& analysis, const char* section, Factory make,
                    ComponentMap<T>* out) {
  auto it = analysis.find(section);
  if (it == analysis.end() || it->is_null()) return Status::OK();
  if (!it->is_object()) {
    return IllegalArgument(std::string("[analysis.") + section + "] must be an object");
  }
  for (const auto& [name, def] : it->items()) {
    if (!def.is_object()) {
      return IllegalArgument(std::string(section) + " [" + name + "] must be an object");
    }
    auto type = def.find("type");
    if (type == def.end() || !type->is_string()) {
      return IllegalArgument(std::string(section) + " [" + name +
                             "] must have a type associated with it");
    }
    std::string type_name = type->template get<std::string>();
    auto made = make(type_name, def, name);
    if (!made.ok()) {
      if (made.status().IsNotFound()) {
        return IllegalArgument("Unknown " + std::string(section) + " type [" + type_name +
                               "] for [" + name + "]");
      }
      return made.status();
    }
    (*out)[name] = *made;
  }
  return Status::OK();
}

Result<std::shared_ptr<const Analyzer>> MakeCustomAnalyzer(
    const std::string& name, const nlohmann::json& def,
    const ComponentMap<CharFilter>& char_filters, const ComponentMap<Tokenizer>& tokenizers,
    const ComponentMap<TokenFilter>& filters) {
  auto tok = def.find("tokenizer");
  if (tok == def.end() || !tok->is_string()) {
    return IllegalArgument("Custom Analyzer [" + name + "] must be configured with a tokenizer");
  }
  const std::string& tokenizer_name = tok->get_ref<const std::string&>();
  std::shared_ptr<const Tokenizer> tokenizer;
  if (auto it = tokenizers.find(tokenizer_name); it != tokenizers.end()) {
    tokenizer = it->second;
  } else {
    tokenizer = BuiltinTokenizer(tokenizer_name);
  }
  if (!tokenizer) {
    return IllegalArgument("Custom Analyzer [" + name + "] failed to find tokenizer under name [" +
                           tokenizer_name + "]");
  }

  std::vector<std::shared_ptr<const CharFilter>> chars;
  QD_ASSIGN_OR_RETURN(std::vector<std::string> char_filter_names,
                      ListParam(def, "char_filter", name));
  for (const std::string& n : char_filter_names) {
    std::shared_ptr<const CharFilter> cf;
    if (auto it = char_filters.find(n); it != char_filters.end()) {
      cf = it->second;
    } else if (auto made = MakeCharFilter(n, nlohmann::json(), n); made.ok()) {
      cf = *made;
    }
    if (!cf) {
      return IllegalArgument("Custom Analyzer [" + name +
                             "] failed to find char_filter under name [" + n + "]");
    }
    chars.push_back(std::move(cf));
  }

  std::vector<std::shared_ptr<const TokenFilter>> token_filters;
  QD_ASSIGN_OR_RETURN(std::vector<std::string> filter_names, ListParam(def, "filter", name));
  for (const std::string& n : filter_names) {
    std::shared_ptr<const TokenFilter> f;
    if (auto it = filters.find(n); it != filters.end()) {
      f = it->second;
    } else {
      f = BuiltinFilter(n);
    }
    if (!f) {
      return IllegalArgument("Custom Analyzer [" + name + "] failed to find filter under name [" +
                             n + "]");
    }
    token_filters.push_back(std::move(f));
  }
  return std::shared_ptr<const Analyzer>(std::make_shared<ChainAnalyzer>(
      std::move(chars), std::move(tokenizer), std::move(token_filters)));
}

}  // namespace
}  // namespace analysis

Result<std::shared_ptr<const AnalysisRegistry>> AnalysisRegistry::Create(
    const nlohmann::json& analysis) {
  using namespace analysis;  // NOLINT: the module's own internals
  AnalyzerMap analyzers = BuiltinAnalyzers();
  if (analysis.is_null() || (analysis.is_object() && analysis.empty())) {
    return std::shared_ptr<const AnalysisRegistry>(std::make_shared<Registry>(analyzers));
  }
  if (!analysis.is_object()) return IllegalArgument("[analysis] settings must be an object");

  ComponentMap<CharFilter> char_filters;
  ComponentMap<Tokenizer> tokenizers;
  ComponentMap<TokenFilter> filters;
  QD_RETURN_IF_ERROR(
      BuildSection<CharFilter>(analysis, "char_filter", MakeCharFilter, &char_filters));
  QD_RETURN_IF_ERROR(BuildSection<Tokenizer>(analysis, "tokenizer", MakeTokenizer, &tokenizers));
  QD_RETURN_IF_ERROR(BuildSection<TokenFilter>(analysis, "filter", MakeTokenFilter, &filters));

  auto section = analysis.find("analyzer");
  if (section != analysis.end() && !section->is_null()) {
    if (!section->is_object()) return IllegalArgument("[analysis.analyzer] must be an object");
    for (const auto& [name, def] : section->items()) {
      if (!def.is_object()) return IllegalArgument("analyzer [" + name + "] must be an object");
      std::string type;
      if (auto t = def.find("type"); t != def.end() && t->is_string()) {
        type = t->get<std::string>();
      } else if (def.contains("tokenizer")) {
        type = "custom";
      } else {
        return IllegalArgument("analyzer [" + name +
                               "] must specify either an analyzer type, or a tokenizer");
      }
      std::shared_ptr<const Analyzer> made;
      if (type == "custom") {
        QD_ASSIGN_OR_RETURN(made, MakeCustomAnalyzer(name, def, char_filters, tokenizers, filters));
      } else {
        auto r = MakeAnalyzer(type, def, name);
        if (!r.ok()) {
          if (r.status().IsNotFound()) {
            return IllegalArgument("Unknown analyzer type [" + type + "] for [" + name + "]");
          }
          return r.status();
        }
        made = *r;
      }
      analyzers[name] = std::move(made);
    }
  }
  return std::shared_ptr<const AnalysisRegistry>(std::make_shared<Registry>(std::move(analyzers)));
}

}  // namespace quidditch::engine
