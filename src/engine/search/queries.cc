#include "engine/search/queries.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>

#include "engine/errors.h"
#include "engine/search/filter_cache.h"
#include "engine/search/fuzzy_terms.h"
#include "engine/search/query_parser.h"
#include "engine/search/scorers.h"

namespace quidditch::engine {

namespace {

std::string BoostSuffix(float boost) {
  if (boost == 1.0f) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "^%g", static_cast<double>(boost));
  return buf;
}

// Printable form of a term: UTF-8 text as is, binary (numeric encodings) as hex.
std::string PrintableTerm(std::string_view term) {
  bool printable = true;
  for (unsigned char c : term) {
    if (c < 0x20) printable = false;
  }
  if (printable) return std::string(term);
  std::string out = "0x";
  static const char* kHex = "0123456789abcdef";
  for (unsigned char c : term) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

class NoMatchWeight final : public Weight {
 public:
  explicit NoMatchWeight(std::string description) : description_(std::move(description)) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t) const override {
    return std::unique_ptr<Scorer>();
  }
  std::string Describe() const override { return description_; }

 private:
  std::string description_;
};

// Weights whose scorers do not depend on anything but the leaf.
class LeafWeight : public Weight {
 public:
  explicit LeafWeight(const std::vector<Leaf>* leaves) : leaves_(leaves) {}

 protected:
  const Leaf& leaf(size_t i) const { return (*leaves_)[i]; }
  const std::vector<Leaf>* leaves_;
};

}  // namespace

Query::~Query() = default;

Result<Explanation> Weight::Explain(size_t leaf_index, uint32_t doc) const {
  QD_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, MakeScorer(leaf_index));
  if (scorer == nullptr || scorer->Advance(doc) != doc) {
    return Explanation::NoMatch("no matching term");
  }
  return Explanation{true, scorer->Score(), Describe(), {}};
}

CollectionStats FieldCollectionStats(const std::vector<Leaf>& leaves, std::string_view field) {
  CollectionStats stats;
  for (const Leaf& leaf : leaves) {
    const FieldStats* fs = leaf.reader->field_stats(field);
    if (fs == nullptr) continue;
    stats.doc_count += fs->doc_count;
    stats.sum_total_term_freq += fs->sum_total_term_freq;
  }
  return stats;
}

// ---- match_all / match_none ----

namespace {
class AllWeight final : public LeafWeight {
 public:
  AllWeight(const std::vector<Leaf>* leaves, float score) : LeafWeight(leaves), score_(score) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    uint32_t max_doc = leaf(i).reader->max_doc();
    if (max_doc == 0) return std::unique_ptr<Scorer>();
    return std::unique_ptr<Scorer>(std::make_unique<AllScorer>(max_doc, score_));
  }
  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    if (doc >= leaf(i).reader->max_doc()) return Explanation::NoMatch("*:*");
    if (score_ == 1.0f) return Explanation{true, score_, "*:*", {}};
    return Explanation{true, score_, "*:*^" + std::to_string(score_), {}};
  }
  std::string Describe() const override { return "*:*"; }
  std::optional<uint64_t> Count(size_t i) const override {
    const Leaf& l = leaf(i);
    return l.reader->max_doc() - (l.live ? l.live->num_deleted() : 0);
  }

 private:
  float score_;
};
}  // namespace

std::string MatchAllQuery::ToString() const { return "*:*" + BoostSuffix(boost_); }

Result<std::unique_ptr<Weight>> MatchAllQuery::CreateWeight(const SearchContext& ctx, bool,
                                                            float boost) const {
  return std::unique_ptr<Weight>(std::make_unique<AllWeight>(ctx.leaves, boost * boost_));
}

Result<std::unique_ptr<Weight>> MatchNoneQuery::CreateWeight(const SearchContext&, bool,
                                                             float) const {
  return std::unique_ptr<Weight>(std::make_unique<NoMatchWeight>(ToString()));
}

// ---- term ----

namespace {
class TermWeight final : public LeafWeight {
 public:
  TermWeight(const std::vector<Leaf>* leaves, std::string field, std::string term,
             std::vector<std::optional<TermState>> states, std::optional<Bm25> sim,
             float constant_score)
      : LeafWeight(leaves),
        field_(std::move(field)),
        term_(std::move(term)),
        states_(std::move(states)),
        sim_(std::move(sim)),
        constant_score_(constant_score) {}

  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    if (!states_[i]) return std::unique_ptr<Scorer>();
    const SegmentReader* reader = leaf(i).reader.get();
    auto postings = reader->Postings(*states_[i], false);
    if (postings == nullptr) return Status::Internal("no postings for term of " + field_);
    const FieldInfo* info = reader->field_info(field_);
    bool norms = info != nullptr && info->norms;
    auto scorer = std::make_unique<TermScorer>(std::move(postings), reader, field_, norms,
                                               sim_ ? &*sim_ : nullptr, *states_[i]);
    if (sim_) return std::unique_ptr<Scorer>(std::move(scorer));
    return std::unique_ptr<Scorer>(
        std::make_unique<ConstantScorer>(std::move(scorer), constant_score_));
  }

  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    QD_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, MakeScorer(i));
    if (scorer == nullptr || scorer->Advance(doc) != doc) {
      return Explanation::NoMatch("no matching term");
    }
    if (!sim_) return Explanation{true, constant_score_, Describe(), {}};
    auto* ts = static_cast<TermScorer*>(scorer.get());
    const SegmentReader* reader = leaf(i).reader.get();
    const FieldInfo* info = reader->field_info(field_);
    bool norms = info != nullptr && info->norms;
    uint8_t norm = norms ? reader->Norm(field_, doc) : uint8_t{1};
    Explanation inner = sim_->Explain(static_cast<float>(ts->freq()), norm, norms);
    return Explanation{true,
                       inner.value,
                       "weight(" + Describe() + " in " + std::to_string(doc) +
                           ") [PerFieldSimilarity], result of:",
                       {std::move(inner)}};
  }
  std::string Describe() const override { return field_ + ":" + PrintableTerm(term_); }
  std::optional<uint64_t> Count(size_t i) const override {
    if (leaf(i).live != nullptr && leaf(i).live->num_deleted() > 0) return std::nullopt;
    return states_[i] ? states_[i]->doc_freq : 0;
  }

 private:
  std::string field_;
  std::string term_;
  std::vector<std::optional<TermState>> states_;
  std::optional<Bm25> sim_;
  float constant_score_;
};
}  // namespace

std::string TermQuery::ToString() const {
  return field_ + ":" + PrintableTerm(term_) + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> TermQuery::CreateWeight(const SearchContext& ctx, bool needs_scores,
                                                        float boost) const {
  const std::vector<Leaf>& leaves = *ctx.leaves;
  std::vector<std::optional<TermState>> states(leaves.size());
  uint64_t doc_freq = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    states[i] = leaves[i].reader->SeekExact(field_, term_);
    if (states[i]) doc_freq += states[i]->doc_freq;
  }
  std::optional<Bm25> sim;
  if (needs_scores && !constant_) {
    CollectionStats cs = FieldCollectionStats(leaves, field_);
    sim.emplace(boost * boost_, cs.doc_count, cs.sum_total_term_freq,
                std::vector<uint64_t>{doc_freq});
  }
  return std::unique_ptr<Weight>(std::make_unique<TermWeight>(
      ctx.leaves, field_, term_, std::move(states), std::move(sim), boost * boost_));
}

// ---- multi-term (constant score bitsets) ----

namespace {
class BitsetWeight final : public LeafWeight {
 public:
  using Builder = std::function<Result<std::shared_ptr<const DocBitset>>(const Leaf&)>;
  // A count without the bitset when one is known cheaply (nullopt: not known).
  using Counter = std::function<std::optional<uint64_t>(const Leaf&)>;
  BitsetWeight(const std::vector<Leaf>* leaves, Builder builder, Counter counter, float score,
               std::string description)
      : LeafWeight(leaves),
        builder_(std::move(builder)),
        counter_(std::move(counter)),
        score_(score),
        description_(std::move(description)) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    QD_ASSIGN_OR_RETURN(std::shared_ptr<const DocBitset> bits, builder_(leaf(i)));
    if (bits == nullptr) return std::unique_ptr<Scorer>();
    return std::unique_ptr<Scorer>(std::make_unique<BitsetScorer>(std::move(bits), score_));
  }
  std::string Describe() const override { return description_; }
  // The counter's answer, else the bitset's population when the leaf has no deletes. A
  // failing build gives nullopt: the iterating path builds again and reports it.
  std::optional<uint64_t> Count(size_t i) const override {
    if (counter_) {
      std::optional<uint64_t> n = counter_(leaf(i));
      if (n) return n;
    }
    if (leaf(i).live != nullptr && leaf(i).live->num_deleted() > 0) return std::nullopt;
    Result<std::shared_ptr<const DocBitset>> bits = builder_(leaf(i));
    if (!bits.ok()) return std::nullopt;
    return *bits == nullptr ? 0 : (*bits)->Count();
  }

 private:
  Builder builder_;
  Counter counter_;
  float score_;
  std::string description_;
};

// Calls `fn` with the state of every term of `field` in one leaf that `selector` selects.
Status ForEachSelectedTerm(const Leaf& leaf, const std::string& field, const TermSelector& selector,
                           const std::function<Status(const TermState&)>& fn) {
  const SegmentReader& reader = *leaf.reader;
  if (selector.exact) {
    for (const std::string& term : *selector.exact) {
      std::optional<TermState> state = reader.SeekExact(field, term);
      if (state) QD_RETURN_IF_ERROR(fn(*state));
    }
    return Status::OK();
  }
  std::unique_ptr<TermsIterator> terms = reader.Terms(field);
  if (terms == nullptr) return Status::OK();
  size_t expansions = 0;
  if (selector.fuzzy) {
    const TermSelector::Fuzzy& f = *selector.fuzzy;
    Status status;
    TermsIterator* it = terms.get();
    EnumerateFuzzyTerms(
        it, f.term, f.prefix, f.max_edits, f.transpositions, [&](std::string_view, uint32_t) {
          if (status.ok() &&
              (selector.max_expansions == 0 || expansions < selector.max_expansions)) {
            ++expansions;
            status = fn(it->state());
          }
          return f.max_edits;
        });
    return status;
  }
  uint64_t end_ord = std::numeric_limits<uint64_t>::max();
  if (selector.end && terms->SeekCeil(*selector.end)) end_ord = terms->ord();
  if (!terms->SeekCeil(selector.seek)) return Status::OK();
  for (uint64_t n = end_ord > terms->ord() ? end_ord - terms->ord() : 0; n > 0; --n) {
    if (!selector.accept || selector.accept(terms->term())) {
      QD_RETURN_IF_ERROR(fn(terms->state()));
      if (selector.max_expansions != 0 && ++expansions >= selector.max_expansions) break;
    }
    if (n > 1 && !terms->Next()) break;
  }
  return Status::OK();
}

}  // namespace

void TermSelector::StartingWith(std::string_view prefix) {
  seek = prefix;
  std::string successor;
  if (PrefixSuccessor(prefix, &successor)) {
    end = std::move(successor);
  } else {
    end.reset();
  }
}

namespace {

// The docs of one leaf having a term `selector` selects; null when no term is selected.
Result<std::shared_ptr<const DocBitset>> SelectDocs(const Leaf& leaf, const std::string& field,
                                                    const TermSelector& selector) {
  const SegmentReader& reader = *leaf.reader;
  std::shared_ptr<DocBitset> bits;
  QD_RETURN_IF_ERROR(ForEachSelectedTerm(leaf, field, selector, [&](const TermState& state) {
    if (bits == nullptr) bits = std::make_shared<DocBitset>(reader.max_doc());
    if (std::optional<uint32_t> doc = reader.SingletonDoc(state)) {
      bits->Set(*doc);  // no postings to open (numbers and dates are mostly these)
      return Status::OK();
    }
    auto postings = reader.Postings(state, false);
    if (postings == nullptr) return Status::Internal("no postings for a term of " + field);
    bits->AddAll(postings.get());
    return Status::OK();
  }));
  return std::shared_ptr<const DocBitset>(std::move(bits));
}

// The number of those docs from the selected terms' doc freqs, without reading postings.
// Exact when no doc of the leaf has two terms in the field (its terms' doc freqs add up to
// the docs having the field: single-valued numbers, dates, keywords), so that the selected
// terms' docs are disjoint, and nothing is deleted; nullopt otherwise. Exact lists (which
// may name a term twice) are left to the bitset.
std::optional<uint64_t> CountSelectedDocs(const Leaf& leaf, const std::string& field,
                                          const TermSelector& selector) {
  if (selector.exact || (leaf.live != nullptr && leaf.live->num_deleted() > 0)) {
    return std::nullopt;
  }
  const FieldStats* stats = leaf.reader->field_stats(field);
  if (stats == nullptr) return 0;
  if (stats->sum_doc_freq != stats->doc_count) return std::nullopt;
  uint64_t count = 0;
  Status s = ForEachSelectedTerm(leaf, field, selector, [&](const TermState& state) {
    count += state.doc_freq;
    return Status::OK();
  });
  // An error here is the bitset path's to report.
  if (!s.ok()) return std::nullopt;
  return count;
}
}  // namespace

std::string MultiTermQuery::ToString() const {
  return field_ + ":" + selector_.description + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> MultiTermQuery::CreateWeight(const SearchContext& ctx, bool,
                                                             float boost) const {
  const std::string* field = &field_;
  const TermSelector* selector = &selector_;
  // The query outlives its weights (Search / ForEachMatch hold both).
  std::string key = field_ + ":" + selector_.description;
  auto builder = [field, selector, key](const Leaf& leaf) {
    return FilterCache::Default().GetOrBuild(key, leaf,
                                             [&] { return SelectDocs(leaf, *field, *selector); });
  };
  auto counter = [field, selector](const Leaf& leaf) {
    return CountSelectedDocs(leaf, *field, *selector);
  };
  return std::unique_ptr<Weight>(
      std::make_unique<BitsetWeight>(ctx.leaves, builder, counter, boost * boost_, ToString()));
}

// ---- bool ----

namespace {
class BooleanWeight final : public Weight {
 public:
  struct Parts {
    std::vector<std::unique_ptr<Weight>> must, should, must_not, filter;
  };
  BooleanWeight(const std::vector<Leaf>* leaves, Parts parts, uint32_t msm, bool needs_scores)
      : leaves_(leaves), p_(std::move(parts)), msm_(msm), needs_scores_(needs_scores) {}

  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    std::vector<std::unique_ptr<Scorer>> required;
    for (const auto& w : p_.must) {
      QD_ASSIGN_OR_RETURN(auto s, w->MakeScorer(i));
      if (s == nullptr) return std::unique_ptr<Scorer>();
      required.push_back(std::move(s));
    }
    for (const auto& w : p_.filter) {
      QD_ASSIGN_OR_RETURN(auto s, w->MakeScorer(i));
      if (s == nullptr) return std::unique_ptr<Scorer>();
      required.push_back(std::make_unique<ConstantScorer>(std::move(s), 0.0f));
    }
    std::vector<std::unique_ptr<Scorer>> optional;
    for (const auto& w : p_.should) {
      QD_ASSIGN_OR_RETURN(auto s, w->MakeScorer(i));
      if (s != nullptr) optional.push_back(std::move(s));
    }
    std::vector<std::unique_ptr<Scorer>> prohibited;
    for (const auto& w : p_.must_not) {
      QD_ASSIGN_OR_RETURN(auto s, w->MakeScorer(i));
      if (s != nullptr) prohibited.push_back(std::move(s));
    }
    if (optional.size() < msm_) return std::unique_ptr<Scorer>();

    std::unique_ptr<Scorer> main;
    if (required.empty()) {
      if (optional.empty()) return std::unique_ptr<Scorer>();
      if (optional.size() == 1) {
        main = std::move(optional[0]);
      } else {
        main =
            std::make_unique<DisjunctionScorer>(std::move(optional), std::max(msm_, 1u),
                                                DisjunctionScorer::Mode::kSum, 0.0f, needs_scores_);
      }
    } else {
      main = required.size() == 1 ? std::move(required[0])
                                  : std::make_unique<ConjunctionScorer>(std::move(required));
      if (msm_ > 0) {
        // Required should clauses join the conjunction.
        std::unique_ptr<Scorer> opt = optional.size() == 1
                                          ? std::move(optional[0])
                                          : std::make_unique<DisjunctionScorer>(
                                                std::move(optional), msm_,
                                                DisjunctionScorer::Mode::kSum, 0.0f, needs_scores_);
        std::vector<std::unique_ptr<Scorer>> both;
        both.push_back(std::move(main));
        both.push_back(std::move(opt));
        main = std::make_unique<ConjunctionScorer>(std::move(both));
      } else if (!optional.empty() && needs_scores_) {
        std::unique_ptr<Scorer> opt =
            optional.size() == 1
                ? std::move(optional[0])
                : std::make_unique<DisjunctionScorer>(
                      std::move(optional), 1, DisjunctionScorer::Mode::kSum, 0.0f, needs_scores_);
        main = std::make_unique<ReqOptScorer>(std::move(main), std::move(opt));
      }
    }
    if (!prohibited.empty()) {
      std::unique_ptr<Scorer> excl =
          prohibited.size() == 1
              ? std::move(prohibited[0])
              : std::make_unique<DisjunctionScorer>(std::move(prohibited), 1,
                                                    DisjunctionScorer::Mode::kSum, 0.0f, false);
      main = std::make_unique<ReqExclScorer>(std::move(main), std::move(excl));
    }
    return main;
  }

  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    Explanation out{true, 0.0f, "sum of:", {}};
    for (const auto& w : p_.must) {
      QD_ASSIGN_OR_RETURN(Explanation e, w->Explain(i, doc));
      if (!e.match) {
        return Explanation::NoMatch("no match on required clause (" + w->Describe() + ")",
                                    {std::move(e)});
      }
      out.details.push_back(std::move(e));
    }
    for (const auto& w : p_.filter) {
      QD_ASSIGN_OR_RETURN(Explanation e, w->Explain(i, doc));
      if (!e.match) {
        return Explanation::NoMatch("no match on required clause (" + w->Describe() + ")",
                                    {std::move(e)});
      }
      out.details.push_back(Explanation{
          true,
          0.0f,
          "match on required clause, product of:",
          {Explanation{true, 0.0f, "# clause", {}}, Explanation{true, 1.0f, w->Describe(), {}}}});
    }
    for (const auto& w : p_.must_not) {
      QD_ASSIGN_OR_RETURN(Explanation e, w->Explain(i, doc));
      if (e.match) {
        return Explanation::NoMatch("match on prohibited clause (" + w->Describe() + ")",
                                    {std::move(e)});
      }
    }
    uint32_t should_matches = 0;
    for (const auto& w : p_.should) {
      QD_ASSIGN_OR_RETURN(Explanation e, w->Explain(i, doc));
      if (e.match) {
        ++should_matches;
        out.details.push_back(std::move(e));
      }
    }
    if (should_matches < std::max<uint32_t>(msm_, 0)) {
      return Explanation::NoMatch(
          "Failure to meet condition(s) of required/prohibited clause(s)",
          {Explanation::NoMatch("no match on required clause (minimum_should_match " +
                                std::to_string(msm_) + ")")});
    }
    // The score is the scorer's (same float summation order as the search).
    QD_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, MakeScorer(i));
    if (scorer == nullptr || scorer->Advance(doc) != doc) {
      return Explanation::NoMatch("no match", std::move(out.details));
    }
    out.value = scorer->Score();
    return out;
  }

  std::string Describe() const override { return "bool"; }

  // Counts without scoring. A pure conjunction: see CountAll. A pure disjunction (as Lucene's
  // BooleanWeight.count does for two clauses): with both clause counts known,
  // |A| + |B| - |A and B|; otherwise the union is gathered in a bitset when it is dense enough
  // to beat merging the clauses doc by doc. An error making a scorer gives nullopt: the
  // iterating path makes the same scorer and reports it.
  std::optional<uint64_t> Count(size_t i) const override {
    if (p_.should.empty() && p_.must_not.empty() && msm_ == 0 &&
        p_.must.size() + p_.filter.size() >= 2) {
      std::vector<const Weight*> required;
      for (const auto* list : {&p_.must, &p_.filter}) {
        for (const auto& w : *list) required.push_back(w.get());
      }
      return CountAll(i, required);
    }
    if (!p_.must.empty() || !p_.filter.empty() || !p_.must_not.empty() || msm_ > 1 ||
        p_.should.size() < 2) {
      return std::nullopt;
    }
    if (p_.should.size() == 2) {
      std::optional<uint64_t> a = p_.should[0]->Count(i);
      std::optional<uint64_t> b = a ? p_.should[1]->Count(i) : std::nullopt;
      if (b) {
        std::optional<uint64_t> both = CountAll(i, {p_.should[0].get(), p_.should[1].get()});
        if (both) return *a + *b - *both;
      }
    }
    return CountUnion(i);
  }

 private:
  // Live docs matching any should clause, through a bitset of the leaf.
  std::optional<uint64_t> CountUnion(size_t i) const {
    const Leaf& leaf = (*leaves_)[i];
    std::vector<std::unique_ptr<Scorer>> subs;
    uint64_t cost = 0;
    for (const auto& w : p_.should) {
      Result<std::unique_ptr<Scorer>> s = w->MakeScorer(i);
      if (!s.ok()) return std::nullopt;
      if (*s == nullptr) continue;
      cost += (*s)->cost();
      subs.push_back(std::move(*s));
    }
    // Zeroing and scanning the bitset costs a few operations per 64 docs; a union with fewer
    // postings than that merges cheaper.
    const uint32_t max_doc = leaf.reader->max_doc();
    if (cost * 64 < max_doc) return std::nullopt;
    DocBitset bits(max_doc);
    for (auto& s : subs) s->AddTo(&bits);
    return CountLive(leaf, bits);
  }

  // Live docs matching every one of `weights` (at least two). Through bitsets of the leaf when
  // every clause is dense: they cost a few operations per 64 docs and per posting, while
  // leapfrogging clauses of a similar, high doc count visits most of their postings anyway.
  // Otherwise the conjunction leapfrogs on the rarest clause.
  // A clause is dense when it matches at least one doc in kDenseClause: of 8, 64, 256 and
  // 1024, 256 counted the engine benchmark's AND queries fastest (AndHighLow loses from 1024).
  static constexpr uint64_t kDenseClause = 256;
  std::optional<uint64_t> CountAll(size_t i, const std::vector<const Weight*>& weights) const {
    const Leaf& leaf = (*leaves_)[i];
    const uint32_t max_doc = leaf.reader->max_doc();
    std::vector<std::unique_ptr<Scorer>> subs;
    bool dense = true;
    for (const Weight* w : weights) {
      Result<std::unique_ptr<Scorer>> s = w->MakeScorer(i);
      if (!s.ok()) return std::nullopt;
      if (*s == nullptr) return 0;
      dense &= (*s)->cost() * kDenseClause >= max_doc;
      subs.push_back(std::move(*s));
    }
    if (!dense) {
      ConjunctionScorer all(std::move(subs));
      uint64_t n = 0;
      for (uint32_t d = all.NextDoc(); d != kNoMoreDocs; d = all.NextDoc()) {
        n += leaf.live == nullptr || leaf.live->IsLive(d);
      }
      return n;
    }
    DocBitset all(max_doc), clause(max_doc);
    subs[0]->AddTo(&all);
    for (size_t k = 1; k < subs.size(); ++k) {
      if (k > 1) clause = DocBitset(max_doc);
      subs[k]->AddTo(&clause);
      all.IntersectWith(clause);
    }
    return CountLive(leaf, all);
  }

  static uint64_t CountLive(const Leaf& leaf, const DocBitset& bits) {
    if (leaf.live == nullptr || leaf.live->num_deleted() == 0) return bits.Count();
    uint64_t n = 0;
    for (uint32_t d = bits.NextSetBit(0); d != kNoMoreDocs; d = bits.NextSetBit(d + 1)) {
      n += leaf.live->IsLive(d);
    }
    return n;
  }

  const std::vector<Leaf>* leaves_;
  Parts p_;
  uint32_t msm_;
  bool needs_scores_;
};

std::string JoinClauses(const char* prefix, const std::vector<QueryPtr>& qs) {
  std::string out;
  for (const auto& q : qs) {
    out += ' ';
    out += prefix;
    out += '(' + q->ToString() + ')';
  }
  return out;
}
}  // namespace

std::string BooleanQuery::ToString() const {
  std::string s = "bool(" + JoinClauses("+", c_.must) + JoinClauses("", c_.should) +
                  JoinClauses("-", c_.must_not) + JoinClauses("#", c_.filter);
  if (msm_) s += " ~" + std::to_string(*msm_);
  return s + " )" + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> BooleanQuery::CreateWeight(const SearchContext& ctx,
                                                           bool needs_scores, float boost) const {
  float b = boost * boost_;
  BooleanWeight::Parts parts;
  for (const auto& q : c_.must) {
    QD_ASSIGN_OR_RETURN(auto w, q->CreateWeight(ctx, needs_scores, b));
    parts.must.push_back(std::move(w));
  }
  for (const auto& q : c_.should) {
    QD_ASSIGN_OR_RETURN(auto w, q->CreateWeight(ctx, needs_scores, b));
    parts.should.push_back(std::move(w));
  }
  for (const auto& q : c_.must_not) {
    QD_ASSIGN_OR_RETURN(auto w, q->CreateWeight(ctx, false, 1.0f));
    parts.must_not.push_back(std::move(w));
  }
  for (const auto& q : c_.filter) {
    QD_ASSIGN_OR_RETURN(auto w, q->CreateWeight(ctx, false, 1.0f));
    parts.filter.push_back(std::move(w));
  }
  uint32_t msm = msm_ ? *msm_ : ((c_.must.empty() && c_.filter.empty()) ? 1 : 0);
  if (c_.must.empty() && c_.filter.empty() && c_.should.empty()) {
    // OpenSearch: an empty bool is match_all; a bool of only must_not clauses matches every
    // other doc with score 0 (a match_all filter is added).
    QD_ASSIGN_OR_RETURN(auto all, MatchAllQuery().CreateWeight(ctx, needs_scores, b));
    if (c_.must_not.empty()) return all;
    parts.filter.push_back(std::move(all));
    msm = 0;
  }
  return std::unique_ptr<Weight>(
      std::make_unique<BooleanWeight>(ctx.leaves, std::move(parts), msm, needs_scores));
}

// ---- constant_score ----

namespace {
class ConstantWeight final : public Weight {
 public:
  ConstantWeight(std::unique_ptr<Weight> inner, float score)
      : inner_(std::move(inner)), score_(score) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    QD_ASSIGN_OR_RETURN(auto s, inner_->MakeScorer(i));
    if (s == nullptr) return s;
    return std::unique_ptr<Scorer>(std::make_unique<ConstantScorer>(std::move(s), score_));
  }
  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    QD_ASSIGN_OR_RETURN(Explanation e, inner_->Explain(i, doc));
    if (!e.match) return e;
    return Explanation{true, score_, "ConstantScore(" + inner_->Describe() + ")", {}};
  }
  std::string Describe() const override { return "ConstantScore(" + inner_->Describe() + ")"; }
  std::optional<uint64_t> Count(size_t i) const override { return inner_->Count(i); }

 private:
  std::unique_ptr<Weight> inner_;
  float score_;
};
}  // namespace

std::string ConstantScoreQuery::ToString() const {
  return "ConstantScore(" + filter_->ToString() + ")" + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> ConstantScoreQuery::CreateWeight(const SearchContext& ctx, bool,
                                                                 float boost) const {
  QD_ASSIGN_OR_RETURN(auto inner, filter_->CreateWeight(ctx, false, 1.0f));
  return std::unique_ptr<Weight>(
      std::make_unique<ConstantWeight>(std::move(inner), boost * boost_));
}

// ---- dis_max ----

namespace {
class DisMaxWeight final : public Weight {
 public:
  DisMaxWeight(std::vector<std::unique_ptr<Weight>> subs, float tie, bool needs_scores)
      : subs_(std::move(subs)), tie_(tie), needs_scores_(needs_scores) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    std::vector<std::unique_ptr<Scorer>> scorers;
    for (const auto& w : subs_) {
      QD_ASSIGN_OR_RETURN(auto s, w->MakeScorer(i));
      if (s != nullptr) scorers.push_back(std::move(s));
    }
    if (scorers.empty()) return std::unique_ptr<Scorer>();
    if (scorers.size() == 1 && tie_ == 0.0f) return std::move(scorers[0]);
    return std::unique_ptr<Scorer>(std::make_unique<DisjunctionScorer>(
        std::move(scorers), 1, DisjunctionScorer::Mode::kMax, tie_, needs_scores_));
  }
  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    std::vector<Explanation> details;
    for (const auto& w : subs_) {
      QD_ASSIGN_OR_RETURN(Explanation e, w->Explain(i, doc));
      if (e.match) details.push_back(std::move(e));
    }
    if (details.empty()) return Explanation::NoMatch("No matching clause");
    QD_ASSIGN_OR_RETURN(auto scorer, MakeScorer(i));
    float value = scorer != nullptr && scorer->Advance(doc) == doc ? scorer->Score() : 0.0f;
    std::string desc =
        tie_ == 0.0f ? "max of:" : "max plus " + std::to_string(tie_) + " times others of:";
    return Explanation{true, value, desc, std::move(details)};
  }
  std::string Describe() const override { return "dis_max"; }

 private:
  std::vector<std::unique_ptr<Weight>> subs_;
  float tie_;
  bool needs_scores_;
};
}  // namespace

std::string DisMaxQuery::ToString() const {
  std::string s = "(";
  for (size_t i = 0; i < queries_.size(); ++i) {
    if (i > 0) s += " | ";
    s += queries_[i]->ToString();
  }
  s += ")";
  if (tie_breaker_ != 0.0f) s += "~" + std::to_string(tie_breaker_);
  return s + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> DisMaxQuery::CreateWeight(const SearchContext& ctx,
                                                          bool needs_scores, float boost) const {
  std::vector<std::unique_ptr<Weight>> subs;
  for (const auto& q : queries_) {
    QD_ASSIGN_OR_RETURN(auto w, q->CreateWeight(ctx, needs_scores, boost * boost_));
    subs.push_back(std::move(w));
  }
  return std::unique_ptr<Weight>(
      std::make_unique<DisMaxWeight>(std::move(subs), tie_breaker_, needs_scores));
}

// ---- boosting ----

namespace {
class BoostingScorer final : public Scorer {
 public:
  BoostingScorer(std::unique_ptr<Scorer> pos, std::unique_ptr<Scorer> neg, float negative_boost)
      : pos_(std::move(pos)), neg_(std::move(neg)), negative_boost_(negative_boost) {}
  uint32_t doc() const override { return pos_->doc(); }
  uint32_t NextDoc() override { return pos_->NextDoc(); }
  uint32_t Advance(uint32_t t) override { return pos_->Advance(t); }
  float Score() override {
    float s = pos_->Score();
    if (neg_ == nullptr) return s;
    uint32_t d = pos_->doc();
    uint32_t n = neg_->doc();
    if (!neg_started_ || n < d) {
      neg_started_ = true;
      n = neg_->Advance(d);
    }
    return n == d ? s * negative_boost_ : s;
  }
  uint64_t cost() const override { return pos_->cost(); }
  float MaxScore() const override {
    return std::max(pos_->MaxScore(), pos_->MaxScore() * negative_boost_);
  }

 private:
  std::unique_ptr<Scorer> pos_, neg_;
  float negative_boost_;
  bool neg_started_ = false;
};

class BoostingWeight final : public Weight {
 public:
  BoostingWeight(std::unique_ptr<Weight> pos, std::unique_ptr<Weight> neg, float nb)
      : pos_(std::move(pos)), neg_(std::move(neg)), negative_boost_(nb) {}
  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    QD_ASSIGN_OR_RETURN(auto p, pos_->MakeScorer(i));
    if (p == nullptr) return p;
    QD_ASSIGN_OR_RETURN(auto n, neg_->MakeScorer(i));
    return std::unique_ptr<Scorer>(
        std::make_unique<BoostingScorer>(std::move(p), std::move(n), negative_boost_));
  }
  std::string Describe() const override { return "boosting"; }

 private:
  std::unique_ptr<Weight> pos_, neg_;
  float negative_boost_;
};
}  // namespace

std::string BoostingQuery::ToString() const {
  return "boosting(+" + positive_->ToString() + " -" + negative_->ToString() + "^" +
         std::to_string(negative_boost_) + ")" + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> BoostingQuery::CreateWeight(const SearchContext& ctx,
                                                            bool needs_scores, float boost) const {
  QD_ASSIGN_OR_RETURN(auto p, positive_->CreateWeight(ctx, needs_scores, boost * boost_));
  QD_ASSIGN_OR_RETURN(auto n, negative_->CreateWeight(ctx, false, 1.0f));
  return std::unique_ptr<Weight>(
      std::make_unique<BoostingWeight>(std::move(p), std::move(n), negative_boost_));
}

// ---- phrase ----

namespace {
class PhraseWeight final : public LeafWeight {
 public:
  PhraseWeight(const std::vector<Leaf>* leaves, const PhraseQuery* query, std::string field,
               std::vector<PhraseQuery::Slot> slots, uint32_t slop, std::optional<Bm25> sim)
      : LeafWeight(leaves),
        query_(query),
        field_(std::move(field)),
        slots_(std::move(slots)),
        slop_(slop),
        sim_(std::move(sim)) {}

  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    const SegmentReader* reader = leaf(i).reader.get();
    const FieldInfo* info = reader->field_info(field_);
    if (info == nullptr) return std::unique_ptr<Scorer>();
    if (info->index_options != IndexOptions::kDocsFreqsPositions) {
      return QueryShardError("field:[" + field_ +
                             "] was indexed without position data; cannot run PhraseQuery");
    }
    std::vector<PhraseScorer::Slot> slots;
    for (const PhraseQuery::Slot& s : slots_) {
      PhraseScorer::Slot slot;
      slot.offset = s.offset;
      for (const std::string& term : s.terms) {
        std::optional<TermState> state = reader->SeekExact(field_, term);
        if (!state) continue;
        auto postings = reader->Postings(*state, true);
        if (postings == nullptr) return Status::Internal("no postings for a phrase term");
        slot.postings.push_back(std::move(postings));
      }
      if (slot.postings.empty()) return std::unique_ptr<Scorer>();
      slots.push_back(std::move(slot));
    }
    return std::unique_ptr<Scorer>(std::make_unique<PhraseScorer>(
        std::move(slots), slop_, reader, field_, info->norms, sim_ ? &*sim_ : nullptr));
  }

  Result<Explanation> Explain(size_t i, uint32_t doc) const override {
    QD_ASSIGN_OR_RETURN(auto scorer, MakeScorer(i));
    if (scorer == nullptr || scorer->Advance(doc) != doc) {
      return Explanation::NoMatch("no matching term");
    }
    auto* ps = static_cast<PhraseScorer*>(scorer.get());
    if (!sim_) return Explanation{true, 0.0f, Describe(), {}};
    const SegmentReader* reader = leaf(i).reader.get();
    const FieldInfo* info = reader->field_info(field_);
    bool norms = info != nullptr && info->norms;
    uint8_t norm = norms ? reader->Norm(field_, doc) : uint8_t{1};
    Explanation inner = sim_->Explain(ps->freq(), norm, norms);
    if (!inner.details.empty()) {
      // Lucene names the phrase frequency "phraseFreq".
      for (Explanation& d : inner.details) {
        if (!d.details.empty() && d.details[0].description.starts_with("freq,")) {
          d.details[0].description = "phraseFreq=" + std::to_string(ps->freq());
        }
      }
    }
    return Explanation{true,
                       inner.value,
                       "weight(" + Describe() + " in " + std::to_string(doc) +
                           ") [PerFieldSimilarity], result of:",
                       {std::move(inner)}};
  }
  std::string Describe() const override { return query_->ToString(); }

 private:
  const PhraseQuery* query_;
  std::string field_;
  std::vector<PhraseQuery::Slot> slots_;
  uint32_t slop_;
  std::optional<Bm25> sim_;
};
}  // namespace

std::string PhraseQuery::ToString() const {
  std::string s = field_ + ":\"";
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (i > 0) s += ' ';
    if (slots_[i].terms.size() == 1) {
      s += slots_[i].terms[0];
      if (slots_[i].prefix) s += '*';
    } else {
      s += '(';
      for (size_t k = 0; k < slots_[i].terms.size(); ++k) {
        if (k > 0) s += ' ';
        s += slots_[i].terms[k];
      }
      s += ')';
    }
  }
  s += '"';
  if (slop_ > 0) s += "~" + std::to_string(slop_);
  return s + BoostSuffix(boost_);
}

Result<std::unique_ptr<Weight>> PhraseQuery::CreateWeight(const SearchContext& ctx,
                                                          bool needs_scores, float boost) const {
  std::vector<Slot> slots = slots_;
  for (Slot& slot : slots) {
    if (!slot.prefix) continue;
    std::set<std::string> expansions;
    const std::string prefix = slot.terms[0];
    for (const Leaf& leaf : *ctx.leaves) {
      auto terms = leaf.reader->Terms(field_);
      if (terms == nullptr) continue;
      for (bool ok = terms->SeekCeil(prefix); ok; ok = terms->Next()) {
        if (!terms->term().starts_with(prefix)) break;
        expansions.insert(std::string(terms->term()));
        if (expansions.size() >= slot.max_expansions) break;
      }
    }
    if (expansions.empty()) {
      return std::unique_ptr<Weight>(std::make_unique<NoMatchWeight>(ToString()));
    }
    slot.terms.assign(expansions.begin(), expansions.end());
    while (slot.terms.size() > slot.max_expansions) slot.terms.pop_back();
    slot.prefix = false;
  }
  std::optional<Bm25> sim;
  if (needs_scores) {
    std::vector<uint64_t> dfs;
    for (const Slot& slot : slots) {
      for (const std::string& term : slot.terms) {
        uint64_t df = 0;
        for (const Leaf& leaf : *ctx.leaves) {
          auto st = leaf.reader->SeekExact(field_, term);
          if (st) df += st->doc_freq;
        }
        dfs.push_back(df);
      }
    }
    CollectionStats cs = FieldCollectionStats(*ctx.leaves, field_);
    sim.emplace(boost * boost_, cs.doc_count, cs.sum_total_term_freq, dfs);
  }
  return std::unique_ptr<Weight>(std::make_unique<PhraseWeight>(
      ctx.leaves, this, field_, std::move(slots), slop_, std::move(sim)));
}

// ---- highlighting: which terms a query looks for ----

bool TermQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  return field == field_ && term == term_;
}

bool MultiTermQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  if (field != field_) return false;
  const TermSelector& s = selector_;
  if (s.exact) return std::find(s.exact->begin(), s.exact->end(), term) != s.exact->end();
  if (term < s.seek) return false;
  if (s.end && term >= *s.end) return false;
  return !s.accept || s.accept(term);
}

bool BooleanQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  for (const auto* list : {&c_.must, &c_.should, &c_.filter}) {
    for (const auto& q : *list) {
      if (q->MatchesTerm(field, term)) return true;
    }
  }
  return false;
}

bool ConstantScoreQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  return filter_->MatchesTerm(field, term);
}

bool DisMaxQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  for (const auto& q : queries_) {
    if (q->MatchesTerm(field, term)) return true;
  }
  return false;
}

bool BoostingQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  return positive_->MatchesTerm(field, term);
}

bool PhraseQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  if (field != field_) return false;
  for (const Slot& slot : slots_) {
    for (const std::string& t : slot.terms) {
      if (slot.prefix ? term.starts_with(t) : term == t) return true;
    }
  }
  return false;
}

// ---- fuzzy ----

namespace {
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

std::string FuzzyQuery::Prefix() const {
  size_t bytes = 0;
  for (uint32_t k = 0; k < prefix_length_ && bytes < term_.size(); ++k) {
    ++bytes;
    while (bytes < term_.size() && (static_cast<unsigned char>(term_[bytes]) & 0xC0) == 0x80) {
      ++bytes;
    }
  }
  return term_.substr(0, bytes);
}

std::string FuzzyQuery::ToString() const {
  return field_ + ":" + term_ + "~" + std::to_string(max_edits_) + "(p" +
         std::to_string(prefix_length_) + ",x" + std::to_string(max_expansions_) +
         (transpositions_ ? ",t)" : ",n)") + BoostSuffix(boost_);
}

bool FuzzyQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  return field == field_ && term.starts_with(Prefix()) &&
         EditDistance(term_, term, transpositions_, max_edits_) <= max_edits_;
}

Result<std::unique_ptr<Weight>> FuzzyQuery::CreateWeight(const SearchContext& ctx,
                                                         bool needs_scores, float boost) const {
  const std::vector<Leaf>& leaves = *ctx.leaves;
  const std::string prefix = Prefix();
  const size_t query_len = CodePoints(term_);
  // The best max_expansions terms over all leaves: highest fuzzy boost, then the smaller term
  // (Lucene's top-terms rewrite).
  auto fuzzy_boost = [](size_t edits, size_t min_len) {
    return min_len == 0 ? 1.0f : 1.0f - static_cast<float>(edits) / static_cast<float>(min_len);
  };
  auto better = [](const std::pair<float, std::string>& a, const std::pair<float, std::string>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::set<std::pair<float, std::string>, decltype(better)> ranking(better);
  std::unordered_set<std::string> ranked;
  uint32_t max_edits = max_edits_;
  for (const Leaf& leaf : leaves) {
    auto terms = leaf.reader->Terms(field_);
    if (terms == nullptr || max_expansions_ == 0) continue;
    EnumerateFuzzyTerms(
        terms.get(), term_, prefix, max_edits, transpositions_,
        [&](std::string_view t, uint32_t ed) {
          if (ranked.contains(std::string(t))) return max_edits;  // also in an earlier leaf
          std::pair<float, std::string> entry(fuzzy_boost(ed, std::min(query_len, CodePoints(t))),
                                              std::string(t));
          if (ranking.size() == max_expansions_) {
            if (!better(entry, *ranking.rbegin())) return max_edits;
            ranked.erase(ranking.rbegin()->second);
            ranking.erase(std::prev(ranking.end()));
          }
          ranked.insert(entry.second);
          ranking.insert(std::move(entry));
          // A term `e` edits away scores at most fuzzy_boost(e, query_len); once the worst kept
          // term beats that, terms that far are no longer wanted (Lucene's FuzzyTermsEnum
          // lowers its automaton's distance the same way).
          if (ranking.size() == max_expansions_ && query_len > 0) {
            while (max_edits > 0 && ranking.rbegin()->first > fuzzy_boost(max_edits, query_len)) {
              --max_edits;
            }
          }
          return max_edits;
        });
  }
  std::vector<std::pair<std::string, float>> best;
  for (auto& [b, t] : ranking) best.emplace_back(t, b);
  std::sort(best.begin(), best.end());
  if (best.empty()) return std::unique_ptr<Weight>(std::make_unique<NoMatchWeight>(ToString()));

  std::vector<std::vector<std::optional<TermState>>> states(best.size());
  uint64_t max_df = 0;
  for (size_t k = 0; k < best.size(); ++k) {
    uint64_t df = 0;
    states[k].resize(leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) {
      states[k][i] = leaves[i].reader->SeekExact(field_, best[k].first);
      if (states[k][i]) df += states[k][i]->doc_freq;
    }
    max_df = std::max(max_df, df);
  }
  CollectionStats cs = FieldCollectionStats(leaves, field_);
  BooleanWeight::Parts parts;
  for (size_t k = 0; k < best.size(); ++k) {
    std::optional<Bm25> sim;
    float b = boost * boost_ * best[k].second;
    if (needs_scores) {
      sim.emplace(b, cs.doc_count, cs.sum_total_term_freq, std::vector<uint64_t>{max_df});
    }
    parts.should.push_back(std::make_unique<TermWeight>(ctx.leaves, field_, best[k].first,
                                                        std::move(states[k]), std::move(sim), b));
  }
  return std::unique_ptr<Weight>(
      std::make_unique<BooleanWeight>(ctx.leaves, std::move(parts), 1, needs_scores));
}

}  // namespace quidditch::engine
