// function_score (queries.h): OpenSearch's FunctionScoreQuery over doc values.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/search/queries.h"
#include "engine/search/scorers.h"

namespace quidditch::engine {

namespace {

using Function = FunctionScoreQuery::Function;

struct BoundFunction {
  const Function* fn;
  std::unique_ptr<Weight> filter;  // null: every doc
};

// One function's state in one leaf.
struct LeafFunction {
  const Function* fn;
  std::unique_ptr<Scorer> filter;  // null with a filter weight: matches nothing in this leaf
  bool has_filter = false;
  bool filter_started = false;
  const NumericDocValues* values = nullptr;
};

double ApplyModifier(const std::string& m, double v) {
  if (m == "log") return std::log10(v);
  if (m == "log1p") return std::log10(v + 1);
  if (m == "log2p") return std::log10(v + 2);
  if (m == "ln") return std::log(v);
  if (m == "ln1p") return std::log1p(v);
  if (m == "ln2p") return std::log(v + 2);
  if (m == "square") return v * v;
  if (m == "sqrt") return std::sqrt(v);
  if (m == "reciprocal") return 1.0 / v;
  return v;
}

// The function's value for `doc`, or nullopt when it does not apply (filter).
std::optional<double> Evaluate(LeafFunction& lf, uint32_t doc) {
  const Function& fn = *lf.fn;
  if (lf.has_filter) {
    if (lf.filter == nullptr) return std::nullopt;
    uint32_t d = lf.filter->doc();
    if (!lf.filter_started || d < doc) {
      lf.filter_started = true;
      d = lf.filter->Advance(doc);
    }
    if (d != doc) return std::nullopt;
  }
  double w = fn.has_weight ? fn.weight : 1.0;
  if (fn.kind == Function::Kind::kWeight) return w;
  std::optional<double> value;
  if (lf.values != nullptr) {
    std::span<const int64_t> vs = lf.values->Values(doc);
    if (!vs.empty()) {
      value = fn.field_is_double ? SortableBitsToDouble(vs[0]) : static_cast<double>(vs[0]);
    }
  }
  if (fn.kind == Function::Kind::kFieldValueFactor) {
    // A doc without a value and no `missing` scores factor 1 here (OpenSearch fails the
    // request instead).
    if (!value) value = fn.missing;
    if (!value) return w;
    double r = ApplyModifier(fn.modifier, *value * fn.factor);
    return static_cast<double>(static_cast<float>(r)) * w;
  }
  if (!value) return w;  // decay on a doc without a value: 1
  double distance = std::max(0.0, std::abs(*value - fn.origin) - fn.offset);
  double r;
  switch (fn.kind) {
    case Function::Kind::kGauss: {
      double s = 0.5 * fn.scale * fn.scale / std::log(fn.decay);
      r = std::exp(0.5 * distance * distance / s);
      break;
    }
    case Function::Kind::kExp: {
      double s = std::log(fn.decay) / fn.scale;
      r = std::exp(s * distance);
      break;
    }
    default: {
      double s = fn.scale / (1.0 - fn.decay);
      r = std::max(0.0, (s - distance) / s);
      break;
    }
  }
  return r * w;
}

class FunctionScoreScorer final : public Scorer {
 public:
  FunctionScoreScorer(std::unique_ptr<Scorer> inner, std::vector<LeafFunction> fns,
                      const FunctionScoreQuery::ScoreMode score_mode,
                      const FunctionScoreQuery::BoostMode boost_mode, float max_boost,
                      std::optional<float> min_score, float boost, bool needs_scores)
      : inner_(std::move(inner)),
        fns_(std::move(fns)),
        score_mode_(score_mode),
        boost_mode_(boost_mode),
        max_boost_(max_boost),
        min_score_(min_score),
        boost_(boost),
        needs_scores_(needs_scores) {}
  uint32_t doc() const override { return inner_->doc(); }
  uint32_t NextDoc() override { return Filter(inner_->NextDoc()); }
  uint32_t Advance(uint32_t target) override { return Filter(inner_->Advance(target)); }
  float Score() override { return score_; }
  uint64_t cost() const override { return inner_->cost(); }
  float MaxScore() const override { return std::numeric_limits<float>::max(); }

 private:
  uint32_t Filter(uint32_t doc) {
    while (doc != kNoMoreDocs) {
      if (!needs_scores_ && !min_score_) return doc;
      score_ = Compute(doc);
      if (!min_score_ || score_ >= *min_score_) return doc;
      doc = inner_->NextDoc();
    }
    return doc;
  }

  float Compute(uint32_t doc) {
    using S = FunctionScoreQuery::ScoreMode;
    using B = FunctionScoreQuery::BoostMode;
    float q = inner_->Score();
    double factor = 1.0;
    bool any = false;
    double weight_sum = 0;
    for (LeafFunction& lf : fns_) {
      std::optional<double> v = Evaluate(lf, doc);
      if (!v) continue;
      double w = lf.fn->has_weight ? lf.fn->weight : 1.0;
      if (!any) {
        factor = *v;
        weight_sum = w;
        any = true;
        if (score_mode_ == S::kFirst) break;
        continue;
      }
      switch (score_mode_) {
        case S::kMultiply:
          factor *= *v;
          break;
        case S::kSum:
        case S::kAvg:
          factor += *v;
          weight_sum += w;
          break;
        case S::kMax:
          factor = std::max(factor, *v);
          break;
        case S::kMin:
          factor = std::min(factor, *v);
          break;
        case S::kFirst:
          break;
      }
    }
    if (any && score_mode_ == S::kAvg && weight_sum > 0) factor /= weight_sum;
    float f = static_cast<float>(std::min<double>(factor, max_boost_));
    float out;
    switch (boost_mode_) {
      case B::kReplace:
        out = f;
        break;
      case B::kSum:
        out = q + f;
        break;
      case B::kAvg:
        out = (q + f) / 2.0f;
        break;
      case B::kMax:
        out = std::max(q, f);
        break;
      case B::kMin:
        out = std::min(q, f);
        break;
      default:
        out = q * f;
        break;
    }
    return out * boost_;
  }

  std::unique_ptr<Scorer> inner_;
  std::vector<LeafFunction> fns_;
  FunctionScoreQuery::ScoreMode score_mode_;
  FunctionScoreQuery::BoostMode boost_mode_;
  float max_boost_;
  std::optional<float> min_score_;
  float boost_;
  bool needs_scores_;
  float score_ = 0;
};

}  // namespace

class FunctionScoreWeight final : public Weight {
 public:
  FunctionScoreWeight(const FunctionScoreQuery* q, const std::vector<Leaf>* leaves,
                      std::unique_ptr<Weight> inner, std::vector<BoundFunction> fns, float boost,
                      bool needs_scores)
      : q_(q),
        leaves_(leaves),
        inner_(std::move(inner)),
        fns_(std::move(fns)),
        boost_(boost),
        needs_scores_(needs_scores) {}

  Result<std::unique_ptr<Scorer>> MakeScorer(size_t i) const override {
    QD_ASSIGN_OR_RETURN(auto inner, inner_->MakeScorer(i));
    if (inner == nullptr) return inner;
    std::vector<LeafFunction> lfs;
    for (const BoundFunction& bf : fns_) {
      LeafFunction lf;
      lf.fn = bf.fn;
      if (bf.filter != nullptr) {
        lf.has_filter = true;
        QD_ASSIGN_OR_RETURN(lf.filter, bf.filter->MakeScorer(i));
      }
      if (!bf.fn->field.empty()) lf.values = (*leaves_)[i].reader->Numeric(bf.fn->field);
      lfs.push_back(std::move(lf));
    }
    return std::unique_ptr<Scorer>(std::make_unique<FunctionScoreScorer>(
        std::move(inner), std::move(lfs), q_->score_mode_, q_->boost_mode_, q_->max_boost_,
        q_->min_score_, boost_, needs_scores_));
  }
  std::string Describe() const override { return "function score, " + q_->ToString(); }

 private:
  const FunctionScoreQuery* q_;
  const std::vector<Leaf>* leaves_;
  std::unique_ptr<Weight> inner_;
  std::vector<BoundFunction> fns_;
  float boost_;
  bool needs_scores_;
};

std::string FunctionScoreQuery::ToString() const {
  std::string s = "function_score(" + query_->ToString() + ", functions: [";
  for (const Function& f : functions_) {
    s += std::to_string(static_cast<int>(f.kind)) + ":" + f.field + ":" + std::to_string(f.weight) +
         ":" + f.modifier + ":" + std::to_string(f.factor) + ":" + std::to_string(f.origin) + ":" +
         std::to_string(f.scale) + ":" + std::to_string(f.offset) + ":" + std::to_string(f.decay) +
         (f.filter ? "|" + f.filter->ToString() : "") + ";";
  }
  s += "] mode " + std::to_string(static_cast<int>(score_mode_)) + "/" +
       std::to_string(static_cast<int>(boost_mode_)) + ")";
  if (boost_ != 1.0f) s += "^" + std::to_string(boost_);
  return s;
}

bool FunctionScoreQuery::MatchesTerm(std::string_view field, std::string_view term) const {
  return query_->MatchesTerm(field, term);
}

Result<std::unique_ptr<Weight>> FunctionScoreQuery::CreateWeight(const SearchContext& ctx,
                                                                 bool needs_scores,
                                                                 float boost) const {
  // min_score needs scores even when the caller does not.
  bool scores = needs_scores || min_score_.has_value();
  QD_ASSIGN_OR_RETURN(auto inner, query_->CreateWeight(ctx, scores, 1.0f));
  std::vector<BoundFunction> fns;
  for (const Function& f : functions_) {
    BoundFunction bf{&f, nullptr};
    if (f.filter) {
      QD_ASSIGN_OR_RETURN(bf.filter, f.filter->CreateWeight(ctx, false, 1.0f));
    }
    fns.push_back(std::move(bf));
  }
  return std::unique_ptr<Weight>(std::make_unique<FunctionScoreWeight>(
      this, ctx.leaves, std::move(inner), std::move(fns), boost * boost_, scores));
}

}  // namespace quidditch::engine
