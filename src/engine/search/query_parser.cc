// The OpenSearch Query DSL parser: JSON -> Query objects (queries.h).
#include "engine/search/query_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "engine/errors.h"
#include "engine/search/date_math.h"
#include "engine/search/queries.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {

using json = nlohmann::json;

// ---- pure helpers ----

Result<int32_t> CalculateMinShouldMatch(int32_t optional_count, std::string_view spec_in) {
  std::string spec;
  for (char c : spec_in) spec += c;
  while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) spec.pop_back();
  size_t lead = 0;
  while (lead < spec.size() && std::isspace(static_cast<unsigned char>(spec[lead]))) ++lead;
  spec = spec.substr(lead);
  auto parse_int = [&](const std::string& s) -> Result<int32_t> {
    if (s.empty()) return QueryParsingError("invalid minimum_should_match [" + spec + "]");
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size()) return QueryParsingError("invalid minimum_should_match [" + spec + "]");
    for (size_t k = i; k < s.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(s[k]))) {
        return QueryParsingError("invalid minimum_should_match [" + spec + "]");
      }
    }
    return static_cast<int32_t>(std::stol(s));
  };
  int32_t result = optional_count;
  if (spec.find('<') != std::string::npos) {
    // Conditional specs "n<spec", separated by spaces.
    std::vector<std::string> parts;
    std::string cur;
    for (size_t i = 0; i < spec.size(); ++i) {
      char c = spec[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        // "3 < 90%" spaces around '<' are allowed.
        if (!cur.empty() && cur.back() != '<' && i + 1 < spec.size() && spec[i + 1] != '<' &&
            spec.find_first_not_of(' ', i) != std::string::npos &&
            spec[spec.find_first_not_of(' ', i)] != '<') {
          parts.push_back(cur);
          cur.clear();
        }
        continue;
      }
      cur += c;
    }
    if (!cur.empty()) parts.push_back(cur);
    for (const std::string& part : parts) {
      size_t lt = part.find('<');
      if (lt == std::string::npos) {
        return QueryParsingError("invalid minimum_should_match [" + spec + "]");
      }
      QD_ASSIGN_OR_RETURN(int32_t upper, parse_int(part.substr(0, lt)));
      if (optional_count <= upper) return result;
      QD_ASSIGN_OR_RETURN(result, CalculateMinShouldMatch(optional_count, part.substr(lt + 1)));
    }
    return result;
  }
  if (!spec.empty() && spec.back() == '%') {
    QD_ASSIGN_OR_RETURN(int32_t percent, parse_int(spec.substr(0, spec.size() - 1)));
    float calc = static_cast<float>(result * percent) * (1 / 100.0f);
    result = calc < 0 ? result + static_cast<int32_t>(calc) : static_cast<int32_t>(calc);
  } else {
    QD_ASSIGN_OR_RETURN(int32_t calc, parse_int(spec));
    result = calc < 0 ? result + calc : calc;
  }
  return result < 0 ? 0 : result;
}

namespace {

// Decodes UTF-8 into code points (bad bytes as themselves).
void DecodeUtf8(std::string_view s, std::vector<uint32_t>* out) {
  out->clear();
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c >> 5) == 6 && i + 1 < s.size()) {
      cp = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
      len = 2;
    } else if ((c >> 4) == 14 && i + 2 < s.size()) {
      cp = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
      len = 3;
    } else if ((c >> 3) == 30 && i + 3 < s.size()) {
      cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) |
           (s[i + 3] & 0x3f);
      len = 4;
    } else {
      cp = c;
      len = 1;
    }
    out->push_back(cp);
    i += len;
  }
}

size_t Utf8Len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 6) return 2;
  if ((c >> 4) == 14) return 3;
  if ((c >> 3) == 30) return 4;
  return 1;
}

}  // namespace

uint32_t EditDistance(std::string_view a_str, std::string_view b_str, bool transpositions,
                      uint32_t max_distance) {
  // Called once per enumerated term by fuzzy queries: buffers are reused per thread.
  thread_local std::vector<uint32_t> a, b, prev2, prev, cur;
  DecodeUtf8(a_str, &a);
  DecodeUtf8(b_str, &b);
  size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > max_distance) return max_distance + 1;
  prev2.assign(m + 1, 0);
  prev.assign(m + 1, 0);
  cur.assign(m + 1, 0);
  for (size_t j = 0; j <= m; ++j) prev[j] = static_cast<uint32_t>(j);
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<uint32_t>(i);
    uint32_t row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      uint32_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      uint32_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max_distance) return max_distance + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], max_distance + 1);
}

bool WildcardMatch(std::string_view p, std::string_view t) {
  // Iterative glob with backtracking to the last '*' (linear in practice).
  size_t pi = 0, ti = 0, star = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = ++pi;
      star_t = ti;
      continue;
    }
    if (pi < p.size() && p[pi] == '?') {
      ++pi;
      ti += Utf8Len(static_cast<unsigned char>(t[ti]));
      continue;
    }
    if (pi < p.size()) {
      size_t lit = pi;
      if (p[pi] == '\\' && pi + 1 < p.size()) lit = pi + 1;
      if (p[lit] == t[ti]) {
        pi = lit + 1;
        ++ti;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    pi = star;
    star_t += Utf8Len(static_cast<unsigned char>(t[star_t]));
    ti = star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<uint32_t> ResolveFuzziness(std::string_view fuzziness, std::string_view term) {
  std::vector<uint32_t> cps;
  DecodeUtf8(term, &cps);
  size_t len = cps.size();
  std::string f(fuzziness);
  std::string upper = f;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper.starts_with("AUTO")) {
    uint32_t low = 3, high = 6;
    if (upper.size() > 4) {
      if (upper[4] != ':') return QueryParsingError("failed to parse fuzziness [" + f + "]");
      size_t comma = upper.find(',', 5);
      if (comma == std::string::npos) {
        return QueryParsingError("failed to find low and high distance values");
      }
      try {
        low = static_cast<uint32_t>(std::stoul(upper.substr(5, comma - 5)));
        high = static_cast<uint32_t>(std::stoul(upper.substr(comma + 1)));
      } catch (const std::exception&) {
        return QueryParsingError("failed to parse fuzziness [" + f + "]");
      }
    }
    if (len < low) return 0u;
    if (len < high) return 1u;
    return 2u;
  }
  try {
    size_t pos = 0;
    double d = std::stod(f, &pos);
    if (pos != f.size() || d < 0) throw std::invalid_argument(f);
    return static_cast<uint32_t>(std::min(2.0, std::floor(d)));
  } catch (const std::exception&) {
    return QueryParsingError("failed to parse fuzziness [" + f + "]");
  }
}

namespace {

// ---- JSON access ----

Result<float> GetFloat(const json& v, std::string_view query, std::string_view key) {
  if (v.is_number()) return v.get<float>();
  if (v.is_string()) {
    try {
      size_t pos = 0;
      std::string s = v.get<std::string>();
      float f = std::stof(s, &pos);
      if (pos == s.size()) return f;
    } catch (const std::exception&) {
    }
  }
  return QueryParsingError("[" + std::string(query) + "] failed to parse field [" +
                           std::string(key) + "]");
}

Result<int64_t> GetInt(const json& v, std::string_view query, std::string_view key) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    try {
      size_t pos = 0;
      std::string s = v.get<std::string>();
      long long n = std::stoll(s, &pos);
      if (pos == s.size()) return static_cast<int64_t>(n);
    } catch (const std::exception&) {
    }
  }
  return QueryParsingError("[" + std::string(query) + "] failed to parse field [" +
                           std::string(key) + "]");
}

Result<bool> GetBool(const json& v, std::string_view query, std::string_view key) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    if (v == "true") return true;
    if (v == "false") return false;
  }
  return QueryParsingError("[" + std::string(query) + "] failed to parse field [" +
                           std::string(key) + "]");
}

Result<std::string> GetString(const json& v, std::string_view query, std::string_view key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return QueryParsingError("[" + std::string(query) + "] failed to parse field [" +
                           std::string(key) + "]");
}

// Text of a query value as OpenSearch turns scalars into query text.
std::string ValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

Status Unsupported(std::string_view query, std::string_view key) {
  return QueryParsingError("[" + std::string(query) + "] query does not support [" +
                           std::string(key) + "]");
}

// ---- the parser ----

class Parser {
 public:
  explicit Parser(const SearchContext& ctx) : ctx_(ctx) {}

  Result<QueryPtr> Parse(const json& dsl);

 private:
  // Field queries: the body {"<field>": value-or-object} with exactly one field.
  Result<std::pair<std::string, const json*>> SingleField(const json& body,
                                                          std::string_view name) const;

  Result<QueryPtr> ParseMatchAll(const json& body);
  Result<QueryPtr> ParseMatch(const json& body);
  Result<QueryPtr> ParseMatchPhrase(const json& body, bool prefix);
  Result<QueryPtr> ParseMultiMatch(const json& body);
  Result<QueryPtr> ParseTerm(const json& body);
  Result<QueryPtr> ParseTerms(const json& body);
  Result<QueryPtr> ParseRange(const json& body);
  Result<QueryPtr> ParseExists(const json& body);
  Result<QueryPtr> ParsePrefixLike(const json& body, std::string_view name);
  Result<QueryPtr> ParseFuzzy(const json& body);
  Result<QueryPtr> ParseIds(const json& body);
  Result<QueryPtr> ParseBool(const json& body);
  Result<QueryPtr> ParseConstantScore(const json& body);
  Result<QueryPtr> ParseBoosting(const json& body);
  Result<QueryPtr> ParseDisMax(const json& body);
  Result<QueryPtr> ParseFunctionScore(const json& body);
  Result<QueryPtr> ParseQueryString(const json& body, bool simple);

 public:
  // Shared by match, multi_match and query_string.
  struct MatchOptions {
    bool operator_and = false;
    std::optional<std::string> minimum_should_match;
    std::optional<std::string> analyzer;
    bool zero_terms_all = false;
    float boost = 1.0f;
    bool lenient = false;
    std::optional<std::string> fuzziness;
    uint32_t prefix_length = 0;
    uint32_t max_expansions = 50;
    bool fuzzy_transpositions = true;
    // fuzzy rewrite "constant_score*": all expansions at a constant score instead of
    // OpenSearch's default top_terms_blended_freqs scoring.
    bool fuzzy_constant_score = false;
  };
  Result<QueryPtr> MatchField(const std::string& field, const json& value,
                              const MatchOptions& opts);
  Result<QueryPtr> PhraseField(const std::string& field, const std::string& text, uint32_t slop,
                               bool prefix, uint32_t max_expansions,
                               const std::optional<std::string>& analyzer, float boost,
                               bool zero_terms_all);
  // A term-level query of one value on any field type.
  Result<QueryPtr> TermField(const std::string& field, const json& value, float boost);
  Result<QueryPtr> WildcardField(const std::string& field, const std::string& pattern, float boost,
                                 bool case_insensitive);
  Result<std::vector<std::string>> ExpandFields(const json& fields_json,
                                                std::vector<float>* boosts) const;
  Result<const Analyzer*> FieldAnalyzer(const FieldMapping& fm,
                                        const std::optional<std::string>& name) const;
  const SearchContext& ctx() const { return ctx_; }
  Result<QueryPtr> Range(const json& body) { return ParseRange(body); }

 private:
  const SearchContext& ctx_;
};

// `_id` is indexed (its terms; no norms, no doc values) but not part of the mapping. Queries
// see it as a keyword field, and term and match queries on it score a constant, as
// OpenSearch's IdFieldType answers them with a TermInSetQuery.
const FieldMapping* IdField() {
  static const FieldMapping id = [] {
    FieldMapping f;
    f.path = "_id";
    f.type = FieldType::kKeyword;
    f.doc_values = false;
    return f;
  }();
  return &id;
}

const FieldMapping* FindField(const SearchContext& ctx, std::string_view field) {
  if (field == "_id") return IdField();
  if (ctx.mapping == nullptr) return nullptr;
  const FieldMapping* fm = ctx.mapping->Find(field);
  return fm;
}

bool IsTermLike(FieldType t) { return t == FieldType::kText || t == FieldType::kKeyword; }

Result<std::pair<std::string, const json*>> Parser::SingleField(const json& body,
                                                                std::string_view name) const {
  if (!body.is_object()) {
    return QueryParsingError("[" + std::string(name) +
                             "] query malformed, no start_object after query name");
  }
  std::string field;
  const json* value = nullptr;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "_name") continue;
    if (value != nullptr) {
      return QueryParsingError("[" + std::string(name) +
                               "] query doesn't support multiple fields, found [" + field +
                               "] and [" + it.key() + "]");
    }
    field = it.key();
    value = &it.value();
  }
  if (value == nullptr) {
    return QueryParsingError("[" + std::string(name) + "] query malformed, no field");
  }
  return std::make_pair(field, value);
}

Result<const Analyzer*> Parser::FieldAnalyzer(const FieldMapping& fm,
                                              const std::optional<std::string>& name) const {
  std::string analyzer_name;
  if (name) {
    analyzer_name = *name;
  } else if (fm.type == FieldType::kText) {
    analyzer_name = fm.query_analyzer();
  } else {
    analyzer_name = "keyword";
  }
  const Analyzer* a = ctx_.analysis == nullptr ? nullptr : ctx_.analysis->Find(analyzer_name);
  if (a == nullptr) {
    return QueryShardError("[match] analyzer [" + analyzer_name + "] not found");
  }
  return a;
}

// The encoded term of a numeric/date/boolean value; nullopt when the value cannot equal any
// indexed value (a decimal on an integer field).
Result<std::optional<std::string>> NumericTerm(const SearchContext& ctx, const FieldMapping& fm,
                                               const json& value) {
  auto shard_err = [&](const std::string& why) {
    return QueryShardError("failed to create query: " + why);
  };
  switch (fm.type) {
    case FieldType::kBoolean: {
      if (value.is_boolean())
        return std::optional<std::string>(EncodeSortableLong(value.get<bool>()));
      std::string s = ValueText(value);
      if (s == "true") return std::optional<std::string>(EncodeSortableLong(1));
      if (s == "false" || s.empty()) return std::optional<std::string>(EncodeSortableLong(0));
      return shard_err("Can't parse boolean value [" + s + "], expected [true] or [false]");
    }
    case FieldType::kDate: {
      int64_t millis;
      if (value.is_number_integer()) {
        millis = value.get<int64_t>();
      } else {
        std::string s = ValueText(value);
        QD_ASSIGN_OR_RETURN(millis, ParseDateMath(s, false, fm.formats, ctx.now_millis, 0));
      }
      return std::optional<std::string>(EncodeSortableLong(millis));
    }
    case FieldType::kDouble:
    case FieldType::kFloat: {
      double d;
      if (value.is_number()) {
        d = value.get<double>();
      } else {
        std::string s = ValueText(value);
        try {
          size_t pos = 0;
          d = std::stod(s, &pos);
          if (pos != s.size()) throw std::invalid_argument(s);
        } catch (const std::exception&) {
          return shard_err("For input string: \"" + s + "\"");
        }
      }
      if (fm.type == FieldType::kFloat) d = static_cast<float>(d);
      return std::optional<std::string>(EncodeSortableLong(SortableDoubleBits(d)));
    }
    default: {  // integer types
      double d;
      int64_t n;
      if (value.is_number_integer()) {
        n = value.get<int64_t>();
        return std::optional<std::string>(EncodeSortableLong(n));
      }
      if (value.is_number()) {
        d = value.get<double>();
      } else {
        std::string s = ValueText(value);
        try {
          size_t pos = 0;
          d = std::stod(s, &pos);
          if (pos != s.size()) throw std::invalid_argument(s);
        } catch (const std::exception&) {
          return shard_err("For input string: \"" + s + "\"");
        }
      }
      if (d != std::floor(d)) return std::optional<std::string>();
      return std::optional<std::string>(EncodeSortableLong(static_cast<int64_t>(d)));
    }
  }
}

Result<QueryPtr> Parser::TermField(const std::string& field, const json& value, float boost) {
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field [" + field + "]"));
  }
  if (!fm->index) {
    return QueryShardError("Cannot search on field [" + field + "] since it is not indexed.");
  }
  if (IsTermLike(fm->type)) {
    return QueryPtr(
        std::make_unique<TermQuery>(field, ValueText(value), boost, /*constant=*/fm == IdField()));
  }
  QD_ASSIGN_OR_RETURN(std::optional<std::string> term, NumericTerm(ctx_, *fm, value));
  if (!term) return QueryPtr(std::make_unique<MatchNoneQuery>("decimal value on integer field"));
  return QueryPtr(std::make_unique<TermQuery>(field, *term, boost, /*constant=*/true));
}

Result<QueryPtr> Parser::MatchField(const std::string& field, const json& value,
                                    const MatchOptions& opts) {
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field [" + field + "]"));
  }
  if (!IsTermLike(fm->type) || fm == IdField()) {
    Result<QueryPtr> q = TermField(field, value, opts.boost);
    if (!q.ok() && opts.lenient) {
      return QueryPtr(std::make_unique<MatchNoneQuery>("lenient"));
    }
    return q;
  }
  QD_ASSIGN_OR_RETURN(const Analyzer* analyzer, FieldAnalyzer(*fm, opts.analyzer));
  std::vector<Token> tokens;
  analyzer->Analyze(ValueText(value), 0, &tokens);
  if (tokens.empty()) {
    if (opts.zero_terms_all) return QueryPtr(std::make_unique<MatchAllQuery>(opts.boost));
    return QueryPtr(std::make_unique<MatchNoneQuery>("no terms"));
  }
  // One clause per position; tokens at the same position (synonyms) are alternatives.
  std::vector<std::vector<std::string>> groups;
  uint32_t last_pos = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i == 0 || tokens[i].position != last_pos) groups.emplace_back();
    groups.back().push_back(tokens[i].term);
    last_pos = tokens[i].position;
  }
  auto term_query = [&](const std::string& term) -> Result<QueryPtr> {
    if (opts.fuzziness) {
      QD_ASSIGN_OR_RETURN(uint32_t edits, ResolveFuzziness(*opts.fuzziness, term));
      if (edits > 0) {
        TermSelector sel;
        std::string prefix;
        size_t bytes = 0;
        for (uint32_t k = 0; k < opts.prefix_length && bytes < term.size(); ++k) {
          bytes += Utf8Len(static_cast<unsigned char>(term[bytes]));
        }
        prefix = term.substr(0, std::min(bytes, term.size()));
        sel.description = "fuzzy:" + term + "~" + std::to_string(edits) + ":p" + prefix + ":x" +
                          std::to_string(opts.max_expansions) +
                          (opts.fuzzy_transpositions ? ":t" : ":n");
        sel.StartingWith(prefix);
        bool transpositions = opts.fuzzy_transpositions;
        sel.accept = [term, edits, transpositions](std::string_view t) {
          return EditDistance(term, t, transpositions, edits) <= edits;
        };
        sel.max_expansions = opts.max_expansions;
        sel.fuzzy = TermSelector::Fuzzy{term, prefix, edits, transpositions};
        if (!opts.fuzzy_constant_score) {
          return QueryPtr(std::make_unique<FuzzyQuery>(field, term, edits, opts.prefix_length,
                                                       opts.max_expansions, transpositions, 1.0f));
        }
        return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), 1.0f));
      }
    }
    return QueryPtr(std::make_unique<TermQuery>(field, term, 1.0f));
  };
  auto group_query = [&](const std::vector<std::string>& g) -> Result<QueryPtr> {
    if (g.size() == 1) return term_query(g[0]);
    BooleanQuery::Clauses c;
    for (const std::string& t : g) {
      QD_ASSIGN_OR_RETURN(QueryPtr q, term_query(t));
      c.should.push_back(std::move(q));
    }
    return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), std::nullopt, 1.0f));
  };
  if (groups.size() == 1) {
    if (groups[0].size() == 1 && !opts.fuzziness) {
      // One term: a term query carrying the boost (explains as OpenSearch's does).
      return QueryPtr(std::make_unique<TermQuery>(field, groups[0][0], opts.boost));
    }
    QD_ASSIGN_OR_RETURN(QueryPtr q, group_query(groups[0]));
    if (opts.boost == 1.0f) return q;
    BooleanQuery::Clauses c;
    c.must.push_back(std::move(q));
    return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), std::nullopt, opts.boost));
  }
  BooleanQuery::Clauses c;
  for (const auto& g : groups) {
    QD_ASSIGN_OR_RETURN(QueryPtr q, group_query(g));
    (opts.operator_and ? c.must : c.should).push_back(std::move(q));
  }
  std::optional<uint32_t> msm;
  if (!opts.operator_and && opts.minimum_should_match) {
    QD_ASSIGN_OR_RETURN(int32_t n, CalculateMinShouldMatch(static_cast<int32_t>(c.should.size()),
                                                           *opts.minimum_should_match));
    msm = static_cast<uint32_t>(std::max(n, 1));
  }
  return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), msm, opts.boost));
}

Result<QueryPtr> Parser::PhraseField(const std::string& field, const std::string& text,
                                     uint32_t slop, bool prefix, uint32_t max_expansions,
                                     const std::optional<std::string>& analyzer_name, float boost,
                                     bool zero_terms_all) {
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field [" + field + "]"));
  }
  if (!IsTermLike(fm->type)) return TermField(field, json(text), boost);
  QD_ASSIGN_OR_RETURN(const Analyzer* analyzer, FieldAnalyzer(*fm, analyzer_name));
  std::vector<Token> tokens;
  analyzer->Analyze(text, 0, &tokens);
  if (tokens.empty()) {
    if (zero_terms_all) return QueryPtr(std::make_unique<MatchAllQuery>(boost));
    return QueryPtr(std::make_unique<MatchNoneQuery>("no terms"));
  }
  if (fm->type == FieldType::kKeyword && !prefix) {
    return QueryPtr(std::make_unique<TermQuery>(field, tokens[0].term, boost));
  }
  if (tokens.size() == 1 && !prefix) {
    return QueryPtr(std::make_unique<TermQuery>(field, tokens[0].term, boost));
  }
  if (tokens.size() == 1 && prefix) {
    std::string p = tokens[0].term;
    TermSelector sel;
    sel.description = "prefix:" + p + ":x" + std::to_string(max_expansions);
    sel.StartingWith(p);
    sel.max_expansions = max_expansions;
    return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
  }
  std::vector<PhraseQuery::Slot> slots;
  uint32_t first = tokens[0].position;
  for (const Token& t : tokens) {
    uint32_t off = t.position - first;
    if (!slots.empty() && slots.back().offset == off) {
      slots.back().terms.push_back(t.term);
    } else {
      slots.push_back(PhraseQuery::Slot{{t.term}, off, false, 0});
    }
  }
  if (prefix) {
    slots.back().prefix = true;
    slots.back().max_expansions = max_expansions;
  }
  return QueryPtr(std::make_unique<PhraseQuery>(field, std::move(slots), slop, boost));
}

Result<QueryPtr> Parser::WildcardField(const std::string& field, const std::string& pattern,
                                       float boost, bool case_insensitive) {
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field [" + field + "]"));
  }
  if (!IsTermLike(fm->type)) {
    return QueryShardError("Can only use wildcard queries on keyword and text fields - not on [" +
                           field + "] which is of type [" + std::string(FieldTypeName(fm->type)) +
                           "]");
  }
  std::string literal;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?') break;
    if (c == '\\' && i + 1 < pattern.size()) c = pattern[++i];
    literal += c;
  }
  TermSelector sel;
  sel.description = (case_insensitive ? "wildcard-ci:" : "wildcard:") + pattern;
  if (case_insensitive) {
    std::string lower = pattern;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    sel.accept = [lower](std::string_view t) {
      std::string lt(t);
      std::transform(lt.begin(), lt.end(), lt.begin(), ::tolower);
      return WildcardMatch(lower, lt);
    };
  } else {
    sel.StartingWith(literal);
    sel.accept = [pattern](std::string_view t) { return WildcardMatch(pattern, t); };
  }
  return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
}

Result<std::vector<std::string>> Parser::ExpandFields(const json& fields_json,
                                                      std::vector<float>* boosts) const {
  std::vector<std::string> out;
  std::vector<std::string> specs;
  if (fields_json.is_string()) {
    specs.push_back(fields_json.get<std::string>());
  } else if (fields_json.is_array()) {
    for (const json& f : fields_json) {
      if (!f.is_string()) return QueryParsingError("[fields] must be strings");
      specs.push_back(f.get<std::string>());
    }
  } else {
    return QueryParsingError("[fields] must be an array of strings");
  }
  for (const std::string& spec : specs) {
    std::string name = spec;
    float boost = 1.0f;
    size_t caret = spec.find('^');
    if (caret != std::string::npos) {
      name = spec.substr(0, caret);
      try {
        boost = std::stof(spec.substr(caret + 1));
      } catch (const std::exception&) {
        return QueryParsingError("invalid boost in field [" + spec + "]");
      }
    }
    if (name.find('*') != std::string::npos) {
      if (ctx_.mapping == nullptr) continue;
      for (const FieldMapping* fm : ctx_.mapping->Fields()) {
        if (!IsTermLike(fm->type) && name == "*") continue;
        if (WildcardMatch(name, fm->path)) {
          out.push_back(fm->path);
          boosts->push_back(boost);
        }
      }
    } else {
      out.push_back(name);
      boosts->push_back(boost);
    }
  }
  return out;
}

// ---- the query types ----

Result<QueryPtr> Parser::ParseMatchAll(const json& body) {
  float boost = 1.0f;
  if (!body.is_object()) return QueryParsingError("[match_all] query malformed");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "match_all", "boost"));
    } else if (it.key() != "_name") {
      return QueryParsingError("[match_all] query does not support [" + it.key() + "]");
    }
  }
  return QueryPtr(std::make_unique<MatchAllQuery>(boost));
}

Result<QueryPtr> Parser::ParseMatch(const json& body) {
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, "match"));
  const auto& [field, v] = fv;
  MatchOptions opts;
  json text;
  if (v->is_object()) {
    bool has_query = false;
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& k = it.key();
      const json& x = it.value();
      if (k == "query") {
        text = x;
        has_query = true;
      } else if (k == "operator") {
        QD_ASSIGN_OR_RETURN(std::string op, GetString(x, "match", k));
        std::transform(op.begin(), op.end(), op.begin(), ::tolower);
        if (op != "and" && op != "or") {
          return QueryParsingError("operator [" + op + "] is not allowed");
        }
        opts.operator_and = op == "and";
      } else if (k == "minimum_should_match") {
        QD_ASSIGN_OR_RETURN(std::string m, GetString(x, "match", k));
        opts.minimum_should_match = m;
      } else if (k == "analyzer") {
        QD_ASSIGN_OR_RETURN(std::string a, GetString(x, "match", k));
        opts.analyzer = a;
      } else if (k == "zero_terms_query") {
        QD_ASSIGN_OR_RETURN(std::string z, GetString(x, "match", k));
        std::transform(z.begin(), z.end(), z.begin(), ::tolower);
        if (z != "none" && z != "all") {
          return QueryParsingError("Unsupported zero_terms_query value [" + z + "]");
        }
        opts.zero_terms_all = z == "all";
      } else if (k == "boost") {
        QD_ASSIGN_OR_RETURN(opts.boost, GetFloat(x, "match", k));
      } else if (k == "lenient") {
        QD_ASSIGN_OR_RETURN(opts.lenient, GetBool(x, "match", k));
      } else if (k == "fuzziness") {
        QD_ASSIGN_OR_RETURN(std::string f, GetString(x, "match", k));
        opts.fuzziness = f;
      } else if (k == "prefix_length") {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "match", k));
        opts.prefix_length = static_cast<uint32_t>(std::max<int64_t>(0, n));
      } else if (k == "max_expansions") {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "match", k));
        opts.max_expansions = static_cast<uint32_t>(std::max<int64_t>(1, n));
      } else if (k == "fuzzy_transpositions") {
        QD_ASSIGN_OR_RETURN(opts.fuzzy_transpositions, GetBool(x, "match", k));
      } else if (k == "fuzzy_rewrite") {
        QD_ASSIGN_OR_RETURN(std::string r, GetString(x, "match", k));
        opts.fuzzy_constant_score = r.starts_with("constant_score");
      } else if (k == "_name" || k == "auto_generate_synonyms_phrase_query") {
        // accepted, no effect here
      } else {
        return QueryParsingError("[match] query does not support [" + k + "]");
      }
    }
    if (!has_query) return QueryParsingError("No text specified for text query");
  } else {
    text = *v;
  }
  if (text.is_null() || text.is_object() || text.is_array()) {
    return QueryParsingError("[match] unknown token [" + std::string(XContentTokenName(text)) +
                             "] after [query]");
  }
  return MatchField(field, text, opts);
}

Result<QueryPtr> Parser::ParseMatchPhrase(const json& body, bool prefix) {
  const char* name = prefix ? "match_phrase_prefix" : "match_phrase";
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, name));
  const auto& [field, v] = fv;
  std::string text;
  uint32_t slop = 0, max_expansions = 50;
  float boost = 1.0f;
  bool zero_all = false;
  std::optional<std::string> analyzer;
  if (v->is_object()) {
    bool has_query = false;
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& k = it.key();
      if (k == "query") {
        QD_ASSIGN_OR_RETURN(text, GetString(it.value(), name, k));
        has_query = true;
      } else if (k == "slop") {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(it.value(), name, k));
        if (n < 0) return QueryParsingError("No negative slop allowed.");
        slop = static_cast<uint32_t>(n);
      } else if (k == "max_expansions" && prefix) {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(it.value(), name, k));
        max_expansions = static_cast<uint32_t>(std::max<int64_t>(1, n));
      } else if (k == "boost") {
        QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), name, k));
      } else if (k == "analyzer") {
        QD_ASSIGN_OR_RETURN(std::string a, GetString(it.value(), name, k));
        analyzer = a;
      } else if (k == "zero_terms_query") {
        QD_ASSIGN_OR_RETURN(std::string z, GetString(it.value(), name, k));
        zero_all = z == "all";
      } else if (k != "_name") {
        return Unsupported(name, k);
      }
    }
    if (!has_query) return QueryParsingError("No text specified for text query");
  } else {
    QD_ASSIGN_OR_RETURN(text, GetString(*v, name, "query"));
  }
  return PhraseField(field, text, slop, prefix, max_expansions, analyzer, boost, zero_all);
}

Result<QueryPtr> Parser::ParseMultiMatch(const json& body) {
  if (!body.is_object()) return QueryParsingError("[multi_match] query malformed");
  json text;
  bool has_query = false;
  std::string type = "best_fields";
  float tie = 0.0f;
  bool tie_set = false;
  uint32_t slop = 0;
  MatchOptions opts;
  std::vector<std::string> fields;
  std::vector<float> field_boosts;
  bool fields_given = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& x = it.value();
    if (k == "query") {
      text = x;
      has_query = true;
    } else if (k == "fields") {
      QD_ASSIGN_OR_RETURN(fields, ExpandFields(x, &field_boosts));
      fields_given = true;
    } else if (k == "type") {
      QD_ASSIGN_OR_RETURN(type, GetString(x, "multi_match", k));
    } else if (k == "tie_breaker") {
      QD_ASSIGN_OR_RETURN(tie, GetFloat(x, "multi_match", k));
      tie_set = true;
    } else if (k == "operator") {
      QD_ASSIGN_OR_RETURN(std::string op, GetString(x, "multi_match", k));
      std::transform(op.begin(), op.end(), op.begin(), ::tolower);
      opts.operator_and = op == "and";
    } else if (k == "minimum_should_match") {
      QD_ASSIGN_OR_RETURN(std::string m, GetString(x, "multi_match", k));
      opts.minimum_should_match = m;
    } else if (k == "analyzer") {
      QD_ASSIGN_OR_RETURN(std::string a, GetString(x, "multi_match", k));
      opts.analyzer = a;
    } else if (k == "boost") {
      QD_ASSIGN_OR_RETURN(opts.boost, GetFloat(x, "multi_match", k));
    } else if (k == "slop") {
      QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "multi_match", k));
      slop = static_cast<uint32_t>(std::max<int64_t>(0, n));
    } else if (k == "lenient") {
      QD_ASSIGN_OR_RETURN(opts.lenient, GetBool(x, "multi_match", k));
    } else if (k == "zero_terms_query") {
      QD_ASSIGN_OR_RETURN(std::string z, GetString(x, "multi_match", k));
      opts.zero_terms_all = z == "all";
    } else if (k == "fuzziness") {
      QD_ASSIGN_OR_RETURN(std::string f, GetString(x, "multi_match", k));
      opts.fuzziness = f;
    } else if (k == "prefix_length") {
      QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "multi_match", k));
      opts.prefix_length = static_cast<uint32_t>(std::max<int64_t>(0, n));
    } else if (k == "max_expansions") {
      QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "multi_match", k));
      opts.max_expansions = static_cast<uint32_t>(std::max<int64_t>(1, n));
    } else if (k != "_name") {
      return Unsupported("multi_match", k);
    }
  }
  if (!has_query) return QueryParsingError("[multi_match] requires query value");
  if (!fields_given) {
    QD_ASSIGN_OR_RETURN(fields, ExpandFields(json("*"), &field_boosts));
    opts.lenient = true;
  }
  float outer_boost = opts.boost;
  std::vector<QueryPtr> per_field;
  if (type == "cross_fields") {
    // Basic cross_fields: each term must be found in any of the fields (a dis_max over the
    // fields per term), the terms combined by the operator. Term statistics are not blended.
    const Analyzer* analyzer = nullptr;
    for (const std::string& f : fields) {
      const FieldMapping* fm = FindField(ctx_, f);
      if (fm != nullptr && IsTermLike(fm->type)) {
        QD_ASSIGN_OR_RETURN(analyzer, FieldAnalyzer(*fm, opts.analyzer));
        break;
      }
    }
    if (analyzer == nullptr) return QueryPtr(std::make_unique<MatchNoneQuery>("no fields"));
    std::vector<Token> tokens;
    analyzer->Analyze(ValueText(text), 0, &tokens);
    BooleanQuery::Clauses c;
    for (const Token& t : tokens) {
      std::vector<QueryPtr> alts;
      for (size_t i = 0; i < fields.size(); ++i) {
        MatchOptions o;
        o.boost = field_boosts[i];
        o.lenient = true;
        o.analyzer = "keyword";
        QD_ASSIGN_OR_RETURN(QueryPtr q, MatchField(fields[i], json(t.term), o));
        alts.push_back(std::move(q));
      }
      QueryPtr dm = std::make_unique<DisMaxQuery>(std::move(alts), tie, 1.0f);
      (opts.operator_and ? c.must : c.should).push_back(std::move(dm));
    }
    if (c.must.empty() && c.should.empty()) {
      return QueryPtr(std::make_unique<MatchNoneQuery>("no terms"));
    }
    std::optional<uint32_t> msm;
    if (!opts.operator_and && opts.minimum_should_match) {
      QD_ASSIGN_OR_RETURN(int32_t n, CalculateMinShouldMatch(static_cast<int32_t>(c.should.size()),
                                                             *opts.minimum_should_match));
      msm = static_cast<uint32_t>(std::max(n, 1));
    }
    return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), msm, outer_boost));
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    MatchOptions o = opts;
    o.boost = field_boosts[i];
    QueryPtr q;
    if (type == "phrase" || type == "phrase_prefix") {
      QD_ASSIGN_OR_RETURN(
          q, PhraseField(fields[i], ValueText(text), slop, type == "phrase_prefix",
                         opts.max_expansions, opts.analyzer, o.boost, opts.zero_terms_all));
    } else if (type == "best_fields" || type == "most_fields") {
      Result<QueryPtr> r = MatchField(fields[i], text, o);
      if (!r.ok() && opts.lenient) continue;
      QD_ASSIGN_OR_RETURN(q, std::move(r));
    } else {
      return QueryParsingError("failed to parse [multi_match] query type [" + type +
                               "]. unknown type.");
    }
    per_field.push_back(std::move(q));
  }
  if (per_field.empty()) return QueryPtr(std::make_unique<MatchNoneQuery>("no fields"));
  if (type == "most_fields") {
    BooleanQuery::Clauses c;
    c.should = std::move(per_field);
    return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), std::nullopt, outer_boost));
  }
  (void)tie_set;
  return QueryPtr(std::make_unique<DisMaxQuery>(std::move(per_field), tie, outer_boost));
}

Result<QueryPtr> Parser::ParseTerm(const json& body) {
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, "term"));
  const auto& [field, v] = fv;
  float boost = 1.0f;
  json value;
  bool case_insensitive = false;
  if (v->is_object()) {
    bool has_value = false;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it.key() == "value") {
        value = it.value();
        has_value = true;
      } else if (it.key() == "boost") {
        QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "term", "boost"));
      } else if (it.key() == "case_insensitive") {
        QD_ASSIGN_OR_RETURN(case_insensitive, GetBool(it.value(), "term", "case_insensitive"));
      } else if (it.key() != "_name") {
        return QueryParsingError("[term] query does not support [" + it.key() + "]");
      }
    }
    if (!has_value) return QueryParsingError("[term] query requires a [value]");
  } else {
    value = *v;
  }
  if (value.is_null()) return QueryParsingError("value cannot be null");
  if (value.is_object() || value.is_array()) {
    return QueryParsingError("[term] query does not support array of values");
  }
  if (case_insensitive) {
    std::string pattern;
    for (char c : ValueText(value)) {
      if (c == '*' || c == '?' || c == '\\') pattern += '\\';
      pattern += c;
    }
    return WildcardField(field, pattern, boost, true);
  }
  return TermField(field, value, boost);
}

Result<QueryPtr> Parser::ParseTerms(const json& body) {
  if (!body.is_object()) return QueryParsingError("[terms] query malformed");
  float boost = 1.0f;
  std::string field;
  const json* values = nullptr;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "terms", "boost"));
    } else if (it.key() == "_name") {
      continue;
    } else {
      if (values != nullptr) {
        return QueryParsingError("[terms] query does not support multiple fields");
      }
      field = it.key();
      values = &it.value();
    }
  }
  if (values == nullptr) return QueryParsingError("[terms] query requires a field");
  if (!values->is_array()) {
    return QueryParsingError("[terms] query does not support [" + field + "]");
  }
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field"));
  }
  std::set<std::string> terms;
  for (const json& v : *values) {
    if (v.is_null() || v.is_object() || v.is_array()) {
      return QueryParsingError("No value specified for terms query");
    }
    if (IsTermLike(fm->type)) {
      terms.insert(ValueText(v));
    } else {
      QD_ASSIGN_OR_RETURN(std::optional<std::string> t, NumericTerm(ctx_, *fm, v));
      if (t) terms.insert(*t);
    }
  }
  TermSelector sel;
  sel.exact = std::vector<std::string>(terms.begin(), terms.end());
  sel.description = "terms(";
  for (const std::string& t : *sel.exact) sel.description += std::to_string(t.size()) + ":" + t;
  sel.description += ")";
  return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
}

// One bound of a range in a field's term encoding.
struct EncodedBound {
  std::string term;
  bool inclusive = true;
};

Result<QueryPtr> Parser::ParseRange(const json& body) {
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, "range"));
  const auto& [field, v] = fv;
  if (!v->is_object()) return QueryParsingError("[range] query malformed, no start_object");
  const json* lower = nullptr;
  const json* upper = nullptr;
  bool include_lower = true, include_upper = true;
  float boost = 1.0f;
  std::optional<std::string> format, time_zone;
  for (auto it = v->begin(); it != v->end(); ++it) {
    const std::string& k = it.key();
    const json& x = it.value();
    if (k == "gt") {
      lower = &x;
      include_lower = false;
    } else if (k == "gte") {
      lower = &x;
      include_lower = true;
    } else if (k == "lt") {
      upper = &x;
      include_upper = false;
    } else if (k == "lte") {
      upper = &x;
      include_upper = true;
    } else if (k == "from") {
      lower = &x;
    } else if (k == "to") {
      upper = &x;
    } else if (k == "include_lower") {
      QD_ASSIGN_OR_RETURN(include_lower, GetBool(x, "range", k));
    } else if (k == "include_upper") {
      QD_ASSIGN_OR_RETURN(include_upper, GetBool(x, "range", k));
    } else if (k == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(x, "range", k));
    } else if (k == "format") {
      QD_ASSIGN_OR_RETURN(std::string f, GetString(x, "range", k));
      format = f;
    } else if (k == "time_zone") {
      QD_ASSIGN_OR_RETURN(std::string z, GetString(x, "range", k));
      time_zone = z;
    } else if (k == "relation" || k == "_name") {
      // INTERSECTS (default) is the only meaning for single values
    } else {
      return QueryParsingError("[range] query does not support [" + k + "]");
    }
  }
  if (lower != nullptr && lower->is_null()) lower = nullptr;
  if (upper != nullptr && upper->is_null()) upper = nullptr;
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field"));
  }
  TermSelector sel;
  if (IsTermLike(fm->type)) {
    std::string lo = lower ? ValueText(*lower) : "";
    std::optional<std::string> hi;
    if (upper) hi = ValueText(*upper);
    sel.description = std::string("range:") + (include_lower ? "[" : "{") +
                      (lower ? std::to_string(lo.size()) + ":" + lo : "*") + " TO " +
                      (hi ? std::to_string(hi->size()) + ":" + *hi : "*") +
                      (include_upper ? "]" : "}");
    sel.seek = lo;
    bool il = include_lower;
    if (hi) sel.end = include_upper ? *hi + '\0' : *hi;  // "x\0" is the first string past "x"
    bool has_lower = lower != nullptr;
    sel.accept = [lo, il, has_lower](std::string_view t) { return !has_lower || il || t != lo; };
    return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
  }
  // Numeric, date, boolean: inclusive int64 bounds in the sortable encoding.
  int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  bool is_double = fm->type == FieldType::kDouble || fm->type == FieldType::kFloat;
  int64_t tz = 0;
  if (time_zone) {
    Result<int64_t> off = ParseTimeZoneOffsetMillis(*time_zone);
    if (!off.ok()) return QueryParsingError(off.status().message());
    tz = *off;
  }
  auto bound = [&](const json& b, bool is_upper, bool inclusive) -> Result<std::optional<int64_t>> {
    if (fm->type == FieldType::kDate) {
      std::vector<std::string> formats = fm->formats;
      if (format) {
        formats.clear();
        std::string f = *format;
        size_t start = 0;
        while (true) {
          size_t bar = f.find("||", start);
          formats.push_back(
              f.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
          if (bar == std::string::npos) break;
          start = bar + 2;
        }
      }
      int64_t millis;
      if (b.is_number_integer()) {
        millis = b.get<int64_t>();
      } else {
        // gt and lte round up; gte and lt round down (OpenSearch).
        bool round_up = is_upper ? inclusive : !inclusive;
        Result<int64_t> r = ParseDateMath(ValueText(b), round_up, formats, ctx_.now_millis, tz);
        if (!r.ok()) {
          return QueryParsingError("failed to parse date field [" + ValueText(b) +
                                   "]: " + r.status().message());
        }
        millis = *r;
      }
      if (!inclusive) {
        if (is_upper) {
          if (millis == std::numeric_limits<int64_t>::min()) return std::optional<int64_t>();
          --millis;
        } else {
          if (millis == std::numeric_limits<int64_t>::max()) return std::optional<int64_t>();
          ++millis;
        }
      }
      return std::optional<int64_t>(millis);
    }
    if (fm->type == FieldType::kBoolean) {
      QD_ASSIGN_OR_RETURN(std::optional<std::string> t, NumericTerm(ctx_, *fm, b));
      int64_t x = DecodeSortableLong(*t);
      if (!inclusive) x += is_upper ? -1 : 1;
      return std::optional<int64_t>(x);
    }
    double d;
    if (b.is_number()) {
      d = b.get<double>();
    } else {
      std::string s = ValueText(b);
      try {
        size_t pos = 0;
        d = std::stod(s, &pos);
        if (pos != s.size()) throw std::invalid_argument(s);
      } catch (const std::exception&) {
        return QueryShardError("failed to create query: For input string: \"" + s + "\"");
      }
    }
    if (is_double) {
      if (fm->type == FieldType::kFloat) d = static_cast<float>(d);
      int64_t bits = SortableDoubleBits(d);
      if (!inclusive) {
        if (is_upper) {
          if (bits == std::numeric_limits<int64_t>::min()) return std::optional<int64_t>();
          --bits;
        } else {
          if (bits == std::numeric_limits<int64_t>::max()) return std::optional<int64_t>();
          ++bits;
        }
      }
      return std::optional<int64_t>(bits);
    }
    // Integer fields: decimals round inward.
    double r = is_upper ? std::floor(d) : std::ceil(d);
    if (r >= 9.2233720368547758e18) r = 9.2233720368547748e18;
    if (r <= -9.2233720368547758e18) r = -9.2233720368547748e18;
    int64_t x = static_cast<int64_t>(r);
    if (!inclusive && r == d) {
      if (is_upper) {
        if (x == std::numeric_limits<int64_t>::min()) return std::optional<int64_t>();
        --x;
      } else {
        if (x == std::numeric_limits<int64_t>::max()) return std::optional<int64_t>();
        ++x;
      }
    }
    return std::optional<int64_t>(x);
  };
  if (lower) {
    QD_ASSIGN_OR_RETURN(std::optional<int64_t> b, bound(*lower, false, include_lower));
    if (!b) return QueryPtr(std::make_unique<MatchNoneQuery>("empty range"));
    lo = *b;
  }
  if (upper) {
    QD_ASSIGN_OR_RETURN(std::optional<int64_t> b, bound(*upper, true, include_upper));
    if (!b) return QueryPtr(std::make_unique<MatchNoneQuery>("empty range"));
    hi = *b;
  }
  if (is_double && lower == nullptr) lo = SortableDoubleBits(-INFINITY);
  if (is_double && upper == nullptr) hi = SortableDoubleBits(INFINITY);
  if (lo > hi) return QueryPtr(std::make_unique<MatchNoneQuery>("empty range"));
  sel.description = "range:[" + std::to_string(lo) + " TO " + std::to_string(hi) + "]";
  sel.seek = EncodeSortableLong(lo);
  sel.end = EncodeSortableLong(hi) + '\0';  // the first string past hi's term
  return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
}

Result<QueryPtr> Parser::ParseExists(const json& body) {
  if (!body.is_object() || !body.contains("field")) {
    return QueryParsingError("[exists] must be provided with a [field]");
  }
  float boost = 1.0f;
  std::string field;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "field") {
      QD_ASSIGN_OR_RETURN(field, GetString(it.value(), "exists", "field"));
    } else if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "exists", "boost"));
    } else if (it.key() != "_name") {
      return Unsupported("exists", it.key());
    }
  }
  TermSelector sel;
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm != nullptr && fm->type == FieldType::kObject) {
    std::string prefix = field + ".";
    sel.description = "exists(" + field + ".*)";
    sel.StartingWith(prefix);
  } else if (field.find('*') != std::string::npos) {
    sel.description = "exists-wildcard(" + field + ")";
    sel.accept = [field](std::string_view t) { return WildcardMatch(field, t); };
  } else {
    sel.description = "exists(" + field + ")";
    sel.exact = std::vector<std::string>{field};
  }
  return QueryPtr(std::make_unique<MultiTermQuery>("_field_names", std::move(sel), boost));
}

Result<QueryPtr> Parser::ParsePrefixLike(const json& body, std::string_view name) {
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, name));
  const auto& [field, v] = fv;
  std::string value;
  float boost = 1.0f;
  bool case_insensitive = false;
  int64_t max_determinized = 10000;
  (void)max_determinized;
  if (v->is_object()) {
    bool has_value = false;
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& k = it.key();
      if (k == "value" || (name == "wildcard" && k == "wildcard")) {
        QD_ASSIGN_OR_RETURN(value, GetString(it.value(), name, k));
        has_value = true;
      } else if (k == "boost") {
        QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), name, k));
      } else if (k == "case_insensitive") {
        QD_ASSIGN_OR_RETURN(case_insensitive, GetBool(it.value(), name, k));
      } else if (k == "rewrite" || k == "_name" || k == "flags" || k == "max_determinized_states") {
        // accepted; constant-score rewrite is used
      } else {
        return QueryParsingError("[" + std::string(name) + "] query does not support [" + k + "]");
      }
    }
    if (!has_value) {
      return QueryParsingError("No value specified for " + std::string(name) + " query");
    }
  } else {
    QD_ASSIGN_OR_RETURN(value, GetString(*v, name, "value"));
  }
  if (name == "wildcard") return WildcardField(field, value, boost, case_insensitive);
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field"));
  }
  if (!IsTermLike(fm->type)) {
    return QueryShardError("Can only use " + std::string(name) +
                           " queries on keyword and text fields - not on [" + field +
                           "] which is of type [" + std::string(FieldTypeName(fm->type)) + "]");
  }
  TermSelector sel;
  if (name == "prefix") {
    std::string p = value;
    sel.description = (case_insensitive ? "prefix-ci:" : "prefix:") + p;
    if (case_insensitive) {
      std::transform(p.begin(), p.end(), p.begin(), ::tolower);
      sel.accept = [p](std::string_view t) {
        std::string lt(t.substr(0, std::min(t.size(), p.size())));
        std::transform(lt.begin(), lt.end(), lt.begin(), ::tolower);
        return lt == p;
      };
    } else {
      sel.StartingWith(p);
    }
    return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
  }
  // regexp: Lucene's basic syntax (. * + ? | [] () {}) is a subset of ECMAScript's; the whole
  // term must match. std::regex is used because no installed library parses Lucene regexps.
  std::shared_ptr<const std::regex> re;
  try {
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    if (case_insensitive) flags |= std::regex::icase;
    re = std::make_shared<const std::regex>(value, flags);
  } catch (const std::regex_error& e) {
    return QueryShardError("failed to create query: invalid regexp [" + value + "]: " + e.what());
  }
  sel.description = (case_insensitive ? "regexp-ci:/" : "regexp:/") + value + "/";
  sel.accept = [re](std::string_view t) { return std::regex_match(t.begin(), t.end(), *re); };
  return QueryPtr(std::make_unique<MultiTermQuery>(field, std::move(sel), boost));
}

Result<QueryPtr> Parser::ParseFuzzy(const json& body) {
  QD_ASSIGN_OR_RETURN(auto fv, SingleField(body, "fuzzy"));
  const auto& [field, v] = fv;
  std::string value, fuzziness = "AUTO";
  float boost = 1.0f;
  uint32_t prefix_length = 0, max_expansions = 50;
  bool transpositions = true;
  bool constant_score = false;
  if (v->is_object()) {
    bool has_value = false;
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& k = it.key();
      const json& x = it.value();
      if (k == "value") {
        QD_ASSIGN_OR_RETURN(value, GetString(x, "fuzzy", k));
        has_value = true;
      } else if (k == "fuzziness") {
        QD_ASSIGN_OR_RETURN(fuzziness, GetString(x, "fuzzy", k));
      } else if (k == "prefix_length") {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "fuzzy", k));
        prefix_length = static_cast<uint32_t>(std::max<int64_t>(0, n));
      } else if (k == "max_expansions") {
        QD_ASSIGN_OR_RETURN(int64_t n, GetInt(x, "fuzzy", k));
        max_expansions = static_cast<uint32_t>(std::max<int64_t>(1, n));
      } else if (k == "transpositions") {
        QD_ASSIGN_OR_RETURN(transpositions, GetBool(x, "fuzzy", k));
      } else if (k == "boost") {
        QD_ASSIGN_OR_RETURN(boost, GetFloat(x, "fuzzy", k));
      } else if (k == "rewrite") {
        QD_ASSIGN_OR_RETURN(std::string r, GetString(x, "fuzzy", k));
        constant_score = r.starts_with("constant_score");
      } else if (k != "_name") {
        return Unsupported("fuzzy", k);
      }
    }
    if (!has_value) return QueryParsingError("no value specified for fuzzy query");
  } else {
    QD_ASSIGN_OR_RETURN(value, GetString(*v, "fuzzy", "value"));
  }
  const FieldMapping* fm = FindField(ctx_, field);
  if (fm == nullptr || fm->type == FieldType::kObject) {
    return QueryPtr(std::make_unique<MatchNoneQuery>("unmapped field"));
  }
  if (!IsTermLike(fm->type)) {
    return QueryShardError("Can only use fuzzy queries on keyword and text fields - not on [" +
                           field + "] which is of type [" + std::string(FieldTypeName(fm->type)) +
                           "]");
  }
  MatchOptions o;
  o.fuzziness = fuzziness;
  o.prefix_length = prefix_length;
  o.max_expansions = max_expansions;
  o.fuzzy_transpositions = transpositions;
  o.fuzzy_constant_score = constant_score;
  o.boost = boost;
  o.analyzer = "keyword";  // fuzzy is a term-level query: the value is not analyzed
  return MatchField(field, json(value), o);
}

Result<QueryPtr> Parser::ParseIds(const json& body) {
  if (!body.is_object()) return QueryParsingError("[ids] query malformed");
  float boost = 1.0f;
  std::set<std::string> ids;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "values") {
      if (!it.value().is_array()) return QueryParsingError("[ids] failed to parse field [values]");
      for (const json& id : it.value()) {
        QD_ASSIGN_OR_RETURN(std::string s, GetString(id, "ids", "values"));
        ids.insert(s);
      }
    } else if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "ids", "boost"));
    } else if (it.key() != "_name" && it.key() != "type") {
      return QueryParsingError("[ids] query does not support [" + it.key() + "]");
    }
  }
  TermSelector sel;
  sel.exact = std::vector<std::string>(ids.begin(), ids.end());
  sel.description = "ids(";
  for (const std::string& id : ids) sel.description += std::to_string(id.size()) + ":" + id;
  sel.description += ")";
  return QueryPtr(std::make_unique<MultiTermQuery>("_id", std::move(sel), boost));
}

Result<QueryPtr> Parser::ParseBool(const json& body) {
  if (!body.is_object()) return QueryParsingError("[bool] query malformed");
  BooleanQuery::Clauses c;
  float boost = 1.0f;
  std::optional<std::string> msm_spec;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    std::vector<QueryPtr>* target = nullptr;
    if (k == "must") {
      target = &c.must;
    } else if (k == "should") {
      target = &c.should;
    } else if (k == "must_not" || k == "mustNot") {
      target = &c.must_not;
    } else if (k == "filter") {
      target = &c.filter;
    } else if (k == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "bool", k));
      continue;
    } else if (k == "minimum_should_match") {
      QD_ASSIGN_OR_RETURN(std::string m, GetString(it.value(), "bool", k));
      msm_spec = m;
      continue;
    } else if (k == "adjust_pure_negative" || k == "_name") {
      continue;
    } else {
      return QueryParsingError("[bool] query does not support [" + k + "]");
    }
    auto add = [&](const json& q) -> Status {
      if (q.is_object() && q.empty()) return Status::OK();  // empty clauses are skipped
      QD_ASSIGN_OR_RETURN(QueryPtr parsed, Parse(q));
      target->push_back(std::move(parsed));
      return Status::OK();
    };
    if (it.value().is_array()) {
      for (const json& q : it.value()) QD_RETURN_IF_ERROR(add(q));
    } else if (it.value().is_object()) {
      QD_RETURN_IF_ERROR(add(it.value()));
    } else {
      return QueryParsingError("[bool] query does not support [" + k + "]");
    }
  }
  std::optional<uint32_t> msm;
  if (msm_spec) {
    QD_ASSIGN_OR_RETURN(int32_t n,
                        CalculateMinShouldMatch(static_cast<int32_t>(c.should.size()), *msm_spec));
    if (!c.should.empty() || n > 0) msm = static_cast<uint32_t>(n);
    if (c.should.empty())
      msm.reset();
    else if (n == 0 && c.must.empty() && c.filter.empty())
      msm = 0;
  }
  return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), msm, boost));
}

Result<QueryPtr> Parser::ParseConstantScore(const json& body) {
  if (!body.is_object()) return QueryParsingError("[constant_score] query malformed");
  float boost = 1.0f;
  QueryPtr filter;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "filter") {
      QD_ASSIGN_OR_RETURN(filter, Parse(it.value()));
    } else if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "constant_score", "boost"));
    } else if (it.key() != "_name") {
      return QueryParsingError("[constant_score] query does not support [" + it.key() + "]");
    }
  }
  if (filter == nullptr) {
    return QueryParsingError("[constant_score] requires a 'filter' element");
  }
  return QueryPtr(std::make_unique<ConstantScoreQuery>(std::move(filter), boost));
}

Result<QueryPtr> Parser::ParseBoosting(const json& body) {
  if (!body.is_object()) return QueryParsingError("[boosting] query malformed");
  QueryPtr pos, neg;
  float negative_boost = -1.0f, boost = 1.0f;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "positive") {
      QD_ASSIGN_OR_RETURN(pos, Parse(it.value()));
    } else if (it.key() == "negative") {
      QD_ASSIGN_OR_RETURN(neg, Parse(it.value()));
    } else if (it.key() == "negative_boost") {
      QD_ASSIGN_OR_RETURN(negative_boost, GetFloat(it.value(), "boosting", it.key()));
    } else if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "boosting", it.key()));
    } else if (it.key() != "_name") {
      return QueryParsingError("[boosting] query does not support [" + it.key() + "]");
    }
  }
  if (pos == nullptr) return QueryParsingError("[boosting] query requires 'positive' query");
  if (neg == nullptr) return QueryParsingError("[boosting] query requires 'negative' query");
  if (negative_boost < 0) {
    return QueryParsingError(
        "[boosting] query requires 'negative_boost' to be set to be a positive value'");
  }
  return QueryPtr(
      std::make_unique<BoostingQuery>(std::move(pos), std::move(neg), negative_boost, boost));
}

Result<QueryPtr> Parser::ParseDisMax(const json& body) {
  if (!body.is_object()) return QueryParsingError("[dis_max] query malformed");
  std::vector<QueryPtr> queries;
  float tie = 0.0f, boost = 1.0f;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "queries") {
      const json& qs = it.value();
      if (qs.is_array()) {
        for (const json& q : qs) {
          QD_ASSIGN_OR_RETURN(QueryPtr p, Parse(q));
          queries.push_back(std::move(p));
        }
      } else {
        QD_ASSIGN_OR_RETURN(QueryPtr p, Parse(qs));
        queries.push_back(std::move(p));
      }
    } else if (it.key() == "tie_breaker") {
      QD_ASSIGN_OR_RETURN(tie, GetFloat(it.value(), "dis_max", it.key()));
    } else if (it.key() == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(it.value(), "dis_max", it.key()));
    } else if (it.key() != "_name") {
      return QueryParsingError("[dis_max] query does not support [" + it.key() + "]");
    }
  }
  if (queries.empty())
    return QueryParsingError("[dis_max] requires 'queries' field with at least one clause");
  return QueryPtr(std::make_unique<DisMaxQuery>(std::move(queries), tie, boost));
}

Result<QueryPtr> Parser::ParseFunctionScore(const json& body) {
  if (!body.is_object()) return QueryParsingError("[function_score] query malformed");
  QueryPtr query;
  std::vector<FunctionScoreQuery::Function> functions;
  auto score_mode = FunctionScoreQuery::ScoreMode::kMultiply;
  auto boost_mode = FunctionScoreQuery::BoostMode::kMultiply;
  float max_boost = std::numeric_limits<float>::max(), boost = 1.0f;
  std::optional<float> min_score;
  auto parse_function = [&](const json& f, bool top_level) -> Status {
    FunctionScoreQuery::Function fn;
    bool has_kind = false;
    for (auto it = f.begin(); it != f.end(); ++it) {
      const std::string& k = it.key();
      const json& x = it.value();
      if (k == "filter" && !top_level) {
        QD_ASSIGN_OR_RETURN(fn.filter, Parse(x));
      } else if (k == "weight") {
        QD_ASSIGN_OR_RETURN(fn.weight, GetFloat(x, "function_score", k));
        fn.has_weight = true;
      } else if (k == "field_value_factor") {
        fn.kind = FunctionScoreQuery::Function::Kind::kFieldValueFactor;
        has_kind = true;
        if (!x.is_object() || !x.contains("field")) {
          return QueryParsingError("[field_value_factor] requires a [field]");
        }
        for (auto p = x.begin(); p != x.end(); ++p) {
          if (p.key() == "field") {
            QD_ASSIGN_OR_RETURN(fn.field, GetString(p.value(), "field_value_factor", "field"));
          } else if (p.key() == "factor") {
            QD_ASSIGN_OR_RETURN(float fa, GetFloat(p.value(), "field_value_factor", "factor"));
            fn.factor = fa;
          } else if (p.key() == "modifier") {
            QD_ASSIGN_OR_RETURN(fn.modifier,
                                GetString(p.value(), "field_value_factor", "modifier"));
            static const std::set<std::string> kMods = {"none", "log",       "log1p", "log2p",
                                                        "ln",   "ln1p",      "ln2p",  "square",
                                                        "sqrt", "reciprocal"};
            if (!kMods.contains(fn.modifier)) {
              return QueryParsingError("Illegal modifier: " + fn.modifier);
            }
          } else if (p.key() == "missing") {
            QD_ASSIGN_OR_RETURN(float m, GetFloat(p.value(), "field_value_factor", "missing"));
            fn.missing = m;
          } else {
            return Unsupported("field_value_factor", p.key());
          }
        }
      } else if (k == "gauss" || k == "linear" || k == "exp") {
        using K = FunctionScoreQuery::Function::Kind;
        fn.kind = k == "gauss" ? K::kGauss : (k == "linear" ? K::kLinear : K::kExp);
        has_kind = true;
        if (!x.is_object()) return QueryParsingError("[" + k + "] malformed");
        for (auto p = x.begin(); p != x.end(); ++p) {
          if (p.key() == "multi_value_mode") continue;
          fn.field = p.key();
          const json& spec = p.value();
          const FieldMapping* fm = FindField(ctx_, fn.field);
          bool is_date = fm != nullptr && fm->type == FieldType::kDate;
          auto number = [&](const char* key, double* out, bool duration) -> Status {
            if (!spec.contains(key)) return Status::OK();
            const json& val = spec[key];
            if (val.is_number()) {
              *out = val.get<double>();
              return Status::OK();
            }
            std::string s = ValueText(val);
            if (is_date && duration) {
              // "1d", "12h", "10m", "30s", "2w", "100ms"
              size_t i = 0;
              while (i < s.size() &&
                     (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
                ++i;
              double n = std::atof(s.substr(0, i).c_str());
              std::string unit = s.substr(i);
              static const std::map<std::string, double> kUnits = {
                  {"ms", 1},      {"s", 1000},     {"m", 60000},
                  {"h", 3600000}, {"d", 86400000}, {"w", 7 * 86400000.0}};
              auto u = kUnits.find(unit);
              if (u == kUnits.end()) {
                return QueryParsingError("failed to parse [" + s + "] as a time value");
              }
              *out = n * u->second;
              return Status::OK();
            }
            if (is_date) {
              QD_ASSIGN_OR_RETURN(int64_t ms,
                                  ParseDateMath(s, false, fm->formats, ctx_.now_millis, 0));
              *out = static_cast<double>(ms);
              return Status::OK();
            }
            try {
              *out = std::stod(s);
            } catch (const std::exception&) {
              return QueryParsingError("[" + k + "] failed to parse [" + key + "]");
            }
            return Status::OK();
          };
          if (is_date && !spec.contains("origin")) fn.origin = static_cast<double>(ctx_.now_millis);
          QD_RETURN_IF_ERROR(number("origin", &fn.origin, false));
          if (!spec.contains("scale")) return QueryParsingError("[" + k + "] requires [scale]");
          QD_RETURN_IF_ERROR(number("scale", &fn.scale, true));
          QD_RETURN_IF_ERROR(number("offset", &fn.offset, true));
          if (spec.contains("decay")) {
            QD_ASSIGN_OR_RETURN(float d, GetFloat(spec["decay"], k, "decay"));
            fn.decay = d;
          }
        }
      } else if (top_level) {
        continue;  // the other top-level keys are handled by the caller
      } else {
        return Unsupported("function_score", k);
      }
    }
    if (!has_kind && !fn.has_weight) return Status::OK();
    if (!has_kind) fn.kind = FunctionScoreQuery::Function::Kind::kWeight;
    if (!fn.field.empty()) {
      const FieldMapping* fm = FindField(ctx_, fn.field);
      fn.field_is_double =
          fm != nullptr && (fm->type == FieldType::kDouble || fm->type == FieldType::kFloat);
    }
    functions.push_back(std::move(fn));
    return Status::OK();
  };
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& x = it.value();
    if (k == "query") {
      QD_ASSIGN_OR_RETURN(query, Parse(x));
    } else if (k == "functions") {
      if (!x.is_array()) return QueryParsingError("[functions] must be an array");
      for (const json& f : x) {
        if (!f.is_object()) return QueryParsingError("[functions] entries must be objects");
        QD_RETURN_IF_ERROR(parse_function(f, false));
      }
    } else if (k == "score_mode") {
      QD_ASSIGN_OR_RETURN(std::string m, GetString(x, "function_score", k));
      using S = FunctionScoreQuery::ScoreMode;
      static const std::map<std::string, S> kModes = {
          {"multiply", S::kMultiply}, {"sum", S::kSum}, {"avg", S::kAvg},
          {"first", S::kFirst},       {"max", S::kMax}, {"min", S::kMin}};
      auto m2 = kModes.find(m);
      if (m2 == kModes.end()) return QueryParsingError("illegal score_mode [" + m + "]");
      score_mode = m2->second;
    } else if (k == "boost_mode") {
      QD_ASSIGN_OR_RETURN(std::string m, GetString(x, "function_score", k));
      using B = FunctionScoreQuery::BoostMode;
      static const std::map<std::string, B> kModes = {
          {"multiply", B::kMultiply}, {"replace", B::kReplace}, {"sum", B::kSum},
          {"avg", B::kAvg},           {"max", B::kMax},         {"min", B::kMin}};
      auto m2 = kModes.find(m);
      if (m2 == kModes.end()) return QueryParsingError("illegal boost_mode [" + m + "]");
      boost_mode = m2->second;
    } else if (k == "max_boost") {
      QD_ASSIGN_OR_RETURN(max_boost, GetFloat(x, "function_score", k));
    } else if (k == "min_score") {
      QD_ASSIGN_OR_RETURN(float m, GetFloat(x, "function_score", k));
      min_score = m;
    } else if (k == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(x, "function_score", k));
    } else if (k == "weight" || k == "field_value_factor" || k == "gauss" || k == "linear" ||
               k == "exp") {
      // a single function given at the top level
    } else if (k != "_name") {
      return QueryParsingError("function_score query does not support [" + k + "]");
    }
  }
  QD_RETURN_IF_ERROR(parse_function(body, true));
  if (query == nullptr) query = std::make_unique<MatchAllQuery>();
  return QueryPtr(std::make_unique<FunctionScoreQuery>(
      std::move(query), std::move(functions), score_mode, boost_mode, max_boost, min_score, boost));
}

// ---- query_string / simple_query_string ----

// A small recursive-descent parser of the common query_string syntax: terms, "phrases",
// field:value, AND/OR/NOT (&& || !), +/-, parentheses, term*, ^boost; and, in simple mode,
// simple_query_string's + | - operators.
class QueryStringParser {
 public:
  QueryStringParser(Parser* p, std::string_view text, bool simple, bool default_and,
                    std::vector<std::string> fields, std::vector<float> boosts,
                    std::optional<std::string> analyzer, bool lenient)
      : p_(p),
        s_(text),
        simple_(simple),
        default_and_(default_and),
        fields_(std::move(fields)),
        boosts_(std::move(boosts)),
        analyzer_(std::move(analyzer)),
        lenient_(lenient) {}

  Result<QueryPtr> ParseAll() {
    QD_ASSIGN_OR_RETURN(QueryPtr q, ParseClauses(false));
    SkipWs();
    if (pos_ < s_.size()) return Error("unexpected [" + std::string(1, s_[pos_]) + "]");
    return q;
  }

 private:
  enum class Occur { kMust, kShould, kMustNot };
  struct Clause {
    QueryPtr q;
    Occur occur;
  };

  Status Error(const std::string& why) const {
    return QueryShardError("Failed to parse query [" + std::string(s_) + "]: " + why);
  }
  void SkipWs() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Keyword(std::string_view kw) {
    if (simple_) return false;
    if (s_.substr(pos_).starts_with(kw)) {
      size_t end = pos_ + kw.size();
      if (kw == "&&" || kw == "||" || kw == "!" || end == s_.size() ||
          std::isspace(static_cast<unsigned char>(s_[end])) || s_[end] == '(') {
        pos_ = end;
        return true;
      }
    }
    return false;
  }

  Result<QueryPtr> ParseClauses(bool nested) {
    std::vector<Clause> clauses;
    while (true) {
      SkipWs();
      if (pos_ >= s_.size()) break;
      if (s_[pos_] == ')') {
        if (!nested) return Error("unbalanced ')'");
        break;
      }
      // Conjunction before this clause.
      enum { kNone, kAnd, kOr } conj = kNone;
      if (Keyword("AND") || Keyword("&&")) {
        conj = kAnd;
      } else if (Keyword("OR") || Keyword("||")) {
        conj = kOr;
      } else if (simple_ && s_[pos_] == '|') {
        ++pos_;
        conj = kOr;
      } else if (simple_ && s_[pos_] == '+' && !clauses.empty()) {
        ++pos_;
        conj = kAnd;
      }
      SkipWs();
      enum { kNoMod, kReq, kNot } mod = kNoMod;
      if (Keyword("NOT") || Keyword("!")) {
        mod = kNot;
      } else if (pos_ < s_.size() && s_[pos_] == '-') {
        ++pos_;
        mod = kNot;
      } else if (pos_ < s_.size() && s_[pos_] == '+') {
        ++pos_;
        mod = kReq;
      }
      SkipWs();
      if (pos_ >= s_.size()) break;
      QD_ASSIGN_OR_RETURN(QueryPtr q, ParseClause());
      if (q == nullptr) continue;
      // Lucene's QueryParserBase.addClause.
      if (!clauses.empty() && conj == kAnd && clauses.back().occur != Occur::kMustNot) {
        clauses.back().occur = Occur::kMust;
      }
      if (!clauses.empty() && default_and_ && conj == kOr &&
          clauses.back().occur != Occur::kMustNot) {
        clauses.back().occur = Occur::kShould;
      }
      Occur occur;
      if (!default_and_) {
        occur = mod == kNot ? Occur::kMustNot
                            : ((mod == kReq || conj == kAnd) ? Occur::kMust : Occur::kShould);
      } else {
        occur = mod == kNot ? Occur::kMustNot : (conj != kOr ? Occur::kMust : Occur::kShould);
      }
      if (simple_ && mod == kNot) {
        // simple_query_string negates the branch: everything but it, as an optional clause
        // under the default operator.
        BooleanQuery::Clauses nc;
        nc.must_not.push_back(std::move(q));
        nc.should.push_back(std::make_unique<MatchAllQuery>());
        q = std::make_unique<BooleanQuery>(std::move(nc), std::nullopt, 1.0f);
        occur = default_and_ || conj == kAnd ? Occur::kMust : Occur::kShould;
      }
      clauses.push_back(Clause{std::move(q), occur});
    }
    if (clauses.empty()) return QueryPtr(std::make_unique<MatchNoneQuery>("empty query"));
    if (clauses.size() == 1 && clauses[0].occur != Occur::kMustNot) {
      return std::move(clauses[0].q);
    }
    BooleanQuery::Clauses c;
    for (Clause& cl : clauses) {
      (cl.occur == Occur::kMust     ? c.must
       : cl.occur == Occur::kShould ? c.should
                                    : c.must_not)
          .push_back(std::move(cl.q));
    }
    return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), std::nullopt, 1.0f));
  }

  // [field:] (term | "phrase" | '(' clauses ')') [^boost] [~n]
  Result<QueryPtr> ParseClause() {
    std::optional<std::string> field;
    if (!simple_) {
      size_t save = pos_;
      std::string name;
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
             s_[pos_] != ':' && s_[pos_] != '(' && s_[pos_] != ')' && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        name += s_[pos_++];
      }
      if (pos_ < s_.size() && s_[pos_] == ':' && !name.empty()) {
        ++pos_;
        field = name;
      } else {
        pos_ = save;
      }
    }
    QueryPtr q;
    if (!simple_ && pos_ < s_.size() &&
        (s_[pos_] == '[' || s_[pos_] == '{' || s_[pos_] == '>' || s_[pos_] == '<')) {
      QD_ASSIGN_OR_RETURN(json bounds, ParseRangeBounds());
      QD_ASSIGN_OR_RETURN(q, PerField(field, [&](const std::string& f, float b) {
                            json body = bounds;
                            if (b != 1.0f) body["boost"] = b;
                            return p_->Range(json{{f, body}});
                          }));
    } else if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      std::vector<std::string> saved_fields = fields_;
      std::vector<float> saved_boosts = boosts_;
      if (field) {
        fields_ = {*field};
        boosts_ = {1.0f};
      }
      QD_ASSIGN_OR_RETURN(q, ParseClauses(true));
      fields_ = saved_fields;
      boosts_ = saved_boosts;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        if (!simple_) return Error("missing ')'");
      } else {
        ++pos_;
      }
    } else if (pos_ < s_.size() && s_[pos_] == '"') {
      ++pos_;
      std::string phrase;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        phrase += s_[pos_++];
      }
      if (pos_ >= s_.size()) {
        if (!simple_) return Error("unterminated phrase");
      } else {
        ++pos_;
      }
      uint32_t slop = 0;
      if (pos_ < s_.size() && s_[pos_] == '~') {
        ++pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
          slop = slop * 10 + (s_[pos_++] - '0');
        }
      }
      QD_ASSIGN_OR_RETURN(q, PerField(field, [&](const std::string& f, float b) {
                            return p_->PhraseField(f, phrase, slop, false, 50, analyzer_, b, false);
                          }));
    } else {
      std::string term;
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
             s_[pos_] != '(' && s_[pos_] != ')' && s_[pos_] != '^' &&
             !(simple_ && (s_[pos_] == '|' || s_[pos_] == '+')) && !(s_[pos_] == '~')) {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
          term += s_[pos_++];
        }
        term += s_[pos_++];
      }
      std::optional<std::string> fuzz;
      if (pos_ < s_.size() && s_[pos_] == '~') {
        ++pos_;
        std::string n;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
          n += s_[pos_++];
        }
        fuzz = n.empty() ? "AUTO" : n;
      }
      if (term.empty()) {
        // Nothing a term can start with here ('^', a stray ')', or '|' / '+' in
        // simple_query_string). query_string rejects it as Lucene's parser does;
        // simple_query_string skips the character. Either way the parser moves on: returning
        // without consuming anything made ParseClauses loop forever (found by fuzz_rest).
        if (pos_ >= s_.size()) return QueryPtr();
        if (!simple_)
          return Error("unexpected '" + std::string(1, s_[pos_]) + "' at position " +
                       std::to_string(pos_));
        ++pos_;
        return QueryPtr();
      }
      bool wildcard = term.find_first_of("*?") != std::string::npos;
      QD_ASSIGN_OR_RETURN(
          q, PerField(field, [&](const std::string& f, float b) -> Result<QueryPtr> {
            if (term == "*" && !simple_) {
              TermSelector sel;
              sel.description = "exists(" + f + ")";
              sel.exact = std::vector<std::string>{f};
              return QueryPtr(std::make_unique<MultiTermQuery>("_field_names", std::move(sel), b));
            }
            if (wildcard) {
              const FieldMapping* fm = FindField(p_->ctx(), f);
              if (fm == nullptr || !IsTermLike(fm->type)) {
                return QueryPtr(std::make_unique<MatchNoneQuery>("not a text field"));
              }
              std::string pattern = term;
              if (fm->type == FieldType::kText) {
                std::transform(pattern.begin(), pattern.end(), pattern.begin(), ::tolower);
              }
              return p_->WildcardField(f, pattern, b, false);
            }
            Parser::MatchOptions o;
            o.boost = b;
            o.analyzer = analyzer_;
            o.lenient = lenient_;
            o.fuzziness = fuzz;
            o.operator_and = default_and_;
            return p_->MatchField(f, json(UnescapeTerm(term)), o);
          }));
    }
    if (pos_ < s_.size() && s_[pos_] == '^') {
      ++pos_;
      std::string num;
      while (pos_ < s_.size() &&
             (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) {
        num += s_[pos_++];
      }
      float b = 1.0f;
      if (!num.empty()) {
        auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), b);
        if (ec != std::errc() || end != num.data() + num.size()) {
          if (!simple_) return Error("invalid boost [" + num + "]");
          b = 1.0f;
        }
      }
      BooleanQuery::Clauses c;
      c.must.push_back(std::move(q));
      q = std::make_unique<BooleanQuery>(std::move(c), std::nullopt, b);
    }
    return q;
  }

  // "[lo TO hi]", "{lo TO hi}" (mixed brackets allowed, * unbounded), ">x", ">=x", "<x",
  // "<=x" as the body of a range query.
  Result<json> ParseRangeBounds() {
    json body = json::object();
    char open = s_[pos_];
    if (open == '>' || open == '<') {
      ++pos_;
      bool inclusive = pos_ < s_.size() && s_[pos_] == '=';
      if (inclusive) ++pos_;
      std::string value;
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
             s_[pos_] != ')') {
        value += s_[pos_++];
      }
      if (value.empty()) return Error("missing range bound");
      body[open == '>' ? (inclusive ? "gte" : "gt") : (inclusive ? "lte" : "lt")] = value;
      return body;
    }
    ++pos_;
    auto word = [&]() {
      SkipWs();
      std::string w;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        ++pos_;
        while (pos_ < s_.size() && s_[pos_] != '"') w += s_[pos_++];
        if (pos_ < s_.size()) ++pos_;
        return w;
      }
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
             s_[pos_] != ']' && s_[pos_] != '}') {
        w += s_[pos_++];
      }
      return w;
    };
    std::string lo = word();
    if (word() != "TO") return Error("expected TO in range");
    std::string hi = word();
    SkipWs();
    if (pos_ >= s_.size() || (s_[pos_] != ']' && s_[pos_] != '}')) {
      return Error("unterminated range");
    }
    char close = s_[pos_++];
    if (lo != "*") body[open == '[' ? "gte" : "gt"] = lo;
    if (hi != "*") body[close == ']' ? "lte" : "lt"] = hi;
    return body;
  }

  static std::string UnescapeTerm(const std::string& t) {
    std::string out;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '\\' && i + 1 < t.size()) ++i;
      out += t[i];
    }
    return out;
  }

  template <typename Fn>
  Result<QueryPtr> PerField(const std::optional<std::string>& field, Fn make) {
    if (field) {
      std::vector<float> boosts;
      std::vector<std::string> fields;
      if (field->find('*') != std::string::npos) {
        QD_ASSIGN_OR_RETURN(fields, p_->ExpandFields(json(*field), &boosts));
      } else {
        fields = {*field};
        boosts = {1.0f};
      }
      return Combine(fields, boosts, make);
    }
    return Combine(fields_, boosts_, make);
  }

  template <typename Fn>
  Result<QueryPtr> Combine(const std::vector<std::string>& fields, const std::vector<float>& boosts,
                           Fn make) {
    std::vector<QueryPtr> qs;
    for (size_t i = 0; i < fields.size(); ++i) {
      Result<QueryPtr> q = make(fields[i], boosts[i]);
      if (!q.ok()) {
        if (lenient_ || fields.size() > 1) continue;
        return q.status();
      }
      qs.push_back(std::move(q).value());
    }
    if (qs.empty()) return QueryPtr(std::make_unique<MatchNoneQuery>("no fields"));
    if (qs.size() == 1) return std::move(qs[0]);
    return QueryPtr(std::make_unique<DisMaxQuery>(std::move(qs), 0.0f, 1.0f));
  }

  Parser* p_;
  std::string_view s_;
  size_t pos_ = 0;
  bool simple_;
  bool default_and_;
  std::vector<std::string> fields_;
  std::vector<float> boosts_;
  std::optional<std::string> analyzer_;
  bool lenient_;
};

Result<QueryPtr> Parser::ParseQueryString(const json& body, bool simple) {
  const char* name = simple ? "simple_query_string" : "query_string";
  if (!body.is_object()) return QueryParsingError(std::string("[") + name + "] query malformed");
  std::string text;
  bool has_query = false, default_and = false, lenient = false;
  float boost = 1.0f;
  std::vector<std::string> fields;
  std::vector<float> boosts;
  std::optional<std::string> analyzer;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& x = it.value();
    if (k == "query") {
      QD_ASSIGN_OR_RETURN(text, GetString(x, name, k));
      has_query = true;
    } else if (k == "default_field") {
      QD_ASSIGN_OR_RETURN(fields, ExpandFields(x, &boosts));
    } else if (k == "fields") {
      QD_ASSIGN_OR_RETURN(fields, ExpandFields(x, &boosts));
    } else if (k == "default_operator") {
      QD_ASSIGN_OR_RETURN(std::string op, GetString(x, name, k));
      std::transform(op.begin(), op.end(), op.begin(), ::tolower);
      if (op != "and" && op != "or") {
        return QueryParsingError("operator [" + op + "] is not allowed");
      }
      default_and = op == "and";
    } else if (k == "analyzer") {
      QD_ASSIGN_OR_RETURN(std::string a, GetString(x, name, k));
      analyzer = a;
    } else if (k == "boost") {
      QD_ASSIGN_OR_RETURN(boost, GetFloat(x, name, k));
    } else if (k == "lenient") {
      QD_ASSIGN_OR_RETURN(lenient, GetBool(x, name, k));
    } else if (k == "analyze_wildcard" || k == "allow_leading_wildcard" || k == "flags" ||
               k == "_name" || k == "auto_generate_synonyms_phrase_query" ||
               k == "minimum_should_match" || k == "type" || k == "tie_breaker" ||
               k == "fuzziness" || k == "phrase_slop" || k == "quote_field_suffix") {
      // accepted; defaults apply
    } else {
      return QueryParsingError(std::string("[") + name + "] query does not support [" + k + "]");
    }
  }
  if (!has_query)
    return QueryParsingError(std::string("[") + name + "] must be provided with a [query]");
  if (fields.empty()) {
    QD_ASSIGN_OR_RETURN(fields, ExpandFields(json("*"), &boosts));
    lenient = true;
  }
  QueryStringParser qp(this, text, simple, default_and, fields, boosts, analyzer, lenient);
  QD_ASSIGN_OR_RETURN(QueryPtr q, qp.ParseAll());
  if (boost == 1.0f) return q;
  BooleanQuery::Clauses c;
  c.must.push_back(std::move(q));
  return QueryPtr(std::make_unique<BooleanQuery>(std::move(c), std::nullopt, boost));
}

Result<QueryPtr> Parser::Parse(const json& dsl) {
  if (!dsl.is_object()) {
    return QueryParsingError("query malformed, must start with start_object");
  }
  if (dsl.empty()) return QueryPtr(std::make_unique<MatchAllQuery>());
  if (dsl.size() > 1) {
    // OpenSearch names the first key of the body; the parsed object has its keys sorted, so
    // this is the first in sorted order (docs/api.md).
    return QueryParsingError("[" + dsl.begin().key() +
                             "] malformed query, expected [END_OBJECT] but found [FIELD_NAME]");
  }
  const std::string& name = dsl.begin().key();
  const json& body = dsl.begin().value();
  if (name == "match_all") return ParseMatchAll(body);
  if (name == "match_none") return QueryPtr(std::make_unique<MatchNoneQuery>("match_none"));
  if (name == "match") return ParseMatch(body);
  if (name == "match_phrase") return ParseMatchPhrase(body, false);
  if (name == "match_phrase_prefix") return ParseMatchPhrase(body, true);
  if (name == "multi_match") return ParseMultiMatch(body);
  if (name == "term") return ParseTerm(body);
  if (name == "terms") return ParseTerms(body);
  if (name == "range") return ParseRange(body);
  if (name == "exists") return ParseExists(body);
  if (name == "prefix" || name == "wildcard" || name == "regexp") {
    return ParsePrefixLike(body, name);
  }
  if (name == "fuzzy") return ParseFuzzy(body);
  if (name == "ids") return ParseIds(body);
  if (name == "bool") return ParseBool(body);
  if (name == "constant_score") return ParseConstantScore(body);
  if (name == "boosting") return ParseBoosting(body);
  if (name == "dis_max") return ParseDisMax(body);
  if (name == "function_score") return ParseFunctionScore(body);
  if (name == "query_string") return ParseQueryString(body, false);
  if (name == "simple_query_string") return ParseQueryString(body, true);
  return QueryParsingError("unknown query [" + name + "]");
}

}  // namespace

Result<std::unique_ptr<Query>> ParseQuery(const nlohmann::json& dsl, const SearchContext& ctx) {
  Parser parser(ctx);
  return parser.Parse(dsl);
}

}  // namespace quidditch::engine
