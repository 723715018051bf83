// The Query classes the DSL parser builds (internal to the search module). Each binds to a
// snapshot of leaves as a Weight (engine/search/query.h) that makes per-leaf Scorers.
//
// Scoring follows Lucene 9 as OpenSearch uses it: term and phrase queries score by BM25 over
// statistics summed across leaves; multi-term queries (prefix, wildcard, regexp, fuzzy, term
// ranges, terms, ids, exists) are constant-score (score = boost) bitsets; bool sums its
// scoring clauses; dis_max takes max + tie_breaker * others.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/mapping/mapping.h"
#include "engine/search/query.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {

using QueryPtr = std::unique_ptr<Query>;

class MatchAllQuery final : public Query {
 public:
  explicit MatchAllQuery(float boost = 1.0f) : boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;

 private:
  float boost_;
};

class MatchNoneQuery final : public Query {
 public:
  explicit MatchNoneQuery(std::string reason = "") : reason_(std::move(reason)) {}
  std::string ToString() const override { return "MatchNoDocsQuery(\"" + reason_ + "\")"; }
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;

 private:
  std::string reason_;
};

// One term of one field. BM25-scored unless `constant` (numeric/date/boolean term queries are
// constant-score in OpenSearch: they run as point queries there).
class TermQuery final : public Query {
 public:
  TermQuery(std::string field, std::string term, float boost = 1.0f, bool constant = false)
      : field_(std::move(field)), term_(std::move(term)), boost_(boost), constant_(constant) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;
  const std::string& field() const { return field_; }
  const std::string& term() const { return term_; }

 private:
  std::string field_;
  std::string term_;
  float boost_;
  bool constant_;
};

// Which terms of a field a multi-term query selects. Enumerates the field's terms from
// `seek` up to `end`, keeping those `accept` accepts.
struct TermSelector {
  std::string description;  // canonical, for ToString / cache keys
  // Exact terms (terms / ids): looked up one by one instead of enumerating.
  std::optional<std::vector<std::string>> exact;
  std::string seek;
  // The enumeration stops before the first term >= `end` (none: at the last term). A bound
  // rather than a predicate: the terms in between are counted by ordinal, not compared.
  std::optional<std::string> end;
  std::function<bool(std::string_view)> accept;
  size_t max_expansions = 0;  // 0: unlimited
  // Fuzzy selection (constant-score fuzzy): the terms EnumerateFuzzyTerms selects, in term
  // order, instead of testing `accept` on every term from `seek` on. `accept` still answers
  // MatchesTerm.
  struct Fuzzy {
    std::string term;
    std::string prefix;
    uint32_t max_edits = 0;
    bool transpositions = true;
  };
  std::optional<Fuzzy> fuzzy;

  // Selects the terms starting with `prefix` (sets `seek` and `end`).
  void StartingWith(std::string_view prefix);
};

// Constant-score docs having any selected term of `field` (score = boost).
class MultiTermQuery final : public Query {
 public:
  MultiTermQuery(std::string field, TermSelector selector, float boost = 1.0f)
      : field_(std::move(field)), selector_(std::move(selector)), boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  std::string field_;
  TermSelector selector_;
  float boost_;
};

// fuzzy (and match's fuzziness): the terms within `max_edits` edits of `term` (sharing its
// first prefix_length code points), at most max_expansions of them, best (fewest edits)
// first, scored as Lucene's TopTermsBlendedFreqScoringRewrite: a sum of BM25 term scores,
// each boosted by 1 - edits / min(len(term), len(expansion)), every expansion given the
// highest document frequency among them (blended idf).
class FuzzyQuery final : public Query {
 public:
  FuzzyQuery(std::string field, std::string term, uint32_t max_edits, uint32_t prefix_length,
             uint32_t max_expansions, bool transpositions, float boost)
      : field_(std::move(field)),
        term_(std::move(term)),
        max_edits_(max_edits),
        prefix_length_(prefix_length),
        max_expansions_(max_expansions),
        transpositions_(transpositions),
        boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  std::string Prefix() const;
  std::string field_;
  std::string term_;
  uint32_t max_edits_;
  uint32_t prefix_length_;
  uint32_t max_expansions_;
  bool transpositions_;
  float boost_;
};

class BooleanQuery final : public Query {
 public:
  struct Clauses {
    std::vector<QueryPtr> must, should, must_not, filter;
  };
  // `min_should_match` already resolved against the number of should clauses; nullopt:
  // OpenSearch's default (1 when there is no must/filter, else 0).
  BooleanQuery(Clauses clauses, std::optional<uint32_t> min_should_match, float boost = 1.0f)
      : c_(std::move(clauses)), msm_(min_should_match), boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  Clauses c_;
  std::optional<uint32_t> msm_;
  float boost_;
};

class ConstantScoreQuery final : public Query {
 public:
  ConstantScoreQuery(QueryPtr filter, float boost) : filter_(std::move(filter)), boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  QueryPtr filter_;
  float boost_;
};

class DisMaxQuery final : public Query {
 public:
  DisMaxQuery(std::vector<QueryPtr> queries, float tie_breaker, float boost = 1.0f)
      : queries_(std::move(queries)), tie_breaker_(tie_breaker), boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  std::vector<QueryPtr> queries_;
  float tie_breaker_;
  float boost_;
};

class BoostingQuery final : public Query {
 public:
  BoostingQuery(QueryPtr positive, QueryPtr negative, float negative_boost, float boost)
      : positive_(std::move(positive)),
        negative_(std::move(negative)),
        negative_boost_(negative_boost),
        boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  QueryPtr positive_, negative_;
  float negative_boost_;
  float boost_;
};

// A phrase: terms at relative positions; several terms at one position are alternatives
// (the expansions of match_phrase_prefix's last term). BM25 with the sum of the idfs.
class PhraseQuery final : public Query {
 public:
  struct Slot {
    std::vector<std::string> terms;
    uint32_t offset = 0;
    // match_phrase_prefix's last slot: terms[0] is a prefix, expanded when the weight is
    // created to at most max_expansions terms of the snapshot.
    bool prefix = false;
    uint32_t max_expansions = 50;
  };
  PhraseQuery(std::string field, std::vector<Slot> slots, uint32_t slop, float boost = 1.0f)
      : field_(std::move(field)), slots_(std::move(slots)), slop_(slop), boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  std::string field_;
  std::vector<Slot> slots_;
  uint32_t slop_;
  float boost_;
};

// function_score: a query's scores combined with functions of doc values.
class FunctionScoreQuery final : public Query {
 public:
  struct Function {
    enum class Kind { kWeight, kFieldValueFactor, kGauss, kLinear, kExp };
    Kind kind = Kind::kWeight;
    QueryPtr filter;  // null: every doc
    float weight = 1.0f;
    bool has_weight = false;
    // field_value_factor / decay
    std::string field;
    bool field_is_double = false;
    double factor = 1.0;
    std::string modifier = "none";
    std::optional<double> missing;
    // decay (numbers; dates in millis)
    double origin = 0, scale = 1, offset = 0, decay = 0.5;
  };
  enum class ScoreMode { kMultiply, kSum, kAvg, kFirst, kMax, kMin };
  enum class BoostMode { kMultiply, kReplace, kSum, kAvg, kMax, kMin };
  FunctionScoreQuery(QueryPtr query, std::vector<Function> functions, ScoreMode score_mode,
                     BoostMode boost_mode, float max_boost, std::optional<float> min_score,
                     float boost)
      : query_(std::move(query)),
        functions_(std::move(functions)),
        score_mode_(score_mode),
        boost_mode_(boost_mode),
        max_boost_(max_boost),
        min_score_(min_score),
        boost_(boost) {}
  std::string ToString() const override;
  Result<std::unique_ptr<Weight>> CreateWeight(const SearchContext& ctx, bool needs_scores,
                                               float boost) const override;
  bool MatchesTerm(std::string_view field, std::string_view term) const override;

 private:
  friend class FunctionScoreWeight;
  QueryPtr query_;
  std::vector<Function> functions_;
  ScoreMode score_mode_;
  BoostMode boost_mode_;
  float max_boost_;
  std::optional<float> min_score_;
  float boost_;
};

// Field statistics summed over the leaves of a snapshot (Lucene's CollectionStatistics).
struct CollectionStats {
  uint64_t doc_count = 0;
  uint64_t sum_total_term_freq = 0;
};
CollectionStats FieldCollectionStats(const std::vector<Leaf>& leaves, std::string_view field);

}  // namespace quidditch::engine
