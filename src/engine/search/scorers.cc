#include "engine/search/scorers.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace quidditch::engine {

namespace {

// Upper bounds are compared against floats that were summed in float arithmetic; a relative
// margin keeps a bound from falling below the rounded sum it stands for.
constexpr double kBoundSlack = 1e-5;

float RoundUp(double v) {
  float f = static_cast<float>(v * (1 + kBoundSlack));
  return std::nextafter(f, std::numeric_limits<float>::infinity());
}

}  // namespace

// ---- DocBitset ----

uint32_t DocBitset::NextSetBit(uint32_t from) const {
  if (from >= max_doc_) return kNoMoreDocs;
  size_t w = from >> 6;
  uint64_t word = words_[w] & (~uint64_t{0} << (from & 63));
  while (true) {
    if (word != 0) {
      uint32_t doc = static_cast<uint32_t>(w * 64 + std::countr_zero(word));
      return doc < max_doc_ ? doc : kNoMoreDocs;
    }
    if (++w >= words_.size()) return kNoMoreDocs;
    word = words_[w];
  }
}

namespace {

uint64_t PopcountPortable(const std::vector<uint64_t>& words) {
  uint64_t n = 0;
  for (uint64_t w : words) n += std::popcount(w);
  return n;
}

#if defined(__x86_64__)
// The build targets baseline x86-64, where std::popcount is a library call per word; this copy
// is compiled for the POPCNT instruction and taken when the CPU has it.
__attribute__((target("popcnt"))) uint64_t PopcountHardware(const std::vector<uint64_t>& words) {
  uint64_t n = 0;
  for (uint64_t w : words) n += std::popcount(w);
  return n;
}

bool HasPopcnt() {
  static const bool has = __builtin_cpu_supports("popcnt");
  return has;
}
#endif

}  // namespace

uint64_t DocBitset::Count() const {
#if defined(__x86_64__)
  if (HasPopcnt()) return PopcountHardware(words_);
#endif
  return PopcountPortable(words_);
}

void DocBitset::IntersectWith(const DocBitset& other) {
  for (size_t w = 0; w < words_.size(); ++w) words_[w] &= other.words_[w];
}

void Scorer::AddTo(DocBitset* bits) {
  for (uint32_t d = NextDoc(); d != kNoMoreDocs; d = NextDoc()) bits->Set(d);
}

void DocBitset::AddAll(PostingsIterator* postings) {
  for (auto docs = postings->NextDocs(); !docs.empty(); docs = postings->NextDocs()) {
    for (uint32_t d : docs) Set(d);
  }
}

// ---- TermScorer ----

TermScorer::TermScorer(std::unique_ptr<PostingsIterator> postings, const SegmentReader* reader,
                       std::string_view field, bool has_norms, const Bm25* sim,
                       const TermState& state)
    : postings_(std::move(postings)),
      norms_(reader->Norms(field)),
      has_norms_(has_norms),
      sim_(sim),
      cost_(state.doc_freq) {
  max_score_ = sim_ == nullptr ? 0.0f : Bound(postings_->TermImpacts());
}

float TermScorer::Bound(std::span<const Impact> impacts) const {
  // Every posting is dominated by one impact (freq <= its freq, norm byte >= its norm) and
  // BM25 is monotonic in both, so the max over the impacts bounds every posting's score.
  // Fields without norms score with byte 1. Empty (past the end): nothing to bound.
  float bound = 0;
  for (const Impact& i : impacts) {
    float f = i.freq == 0 ? 1.0f : static_cast<float>(i.freq);
    bound = std::max(bound, sim_->Score(f, has_norms_ ? i.norm : uint8_t{1}));
  }
  return bound;
}

uint32_t TermScorer::SkipBlocks(uint32_t target) {
  while (target != kNoMoreDocs) {
    uint32_t block_end = postings_->ShallowAdvance(target);
    if (block_end == kNoMoreDocs) return kNoMoreDocs;
    if (Bound(postings_->BlockImpacts()) >= min_competitive_) {
      block_end_ = block_end;
      have_block_ = true;
      return target;
    }
    if (block_end == kNoMoreDocs - 1) return kNoMoreDocs;
    target = block_end + 1;
  }
  return target;
}

void TermScorer::AddTo(DocBitset* bits) {
  if (started_ || (min_competitive_ > 0 && sim_ != nullptr)) return Scorer::AddTo(bits);
  bits->AddAll(postings_.get());  // a block at a time
  started_ = true;
  doc_ = kNoMoreDocs;
}

uint32_t TermScorer::NextDoc() {
  if (min_competitive_ > 0 && sim_ != nullptr) return Advance(started_ ? doc_ + 1 : 0);
  started_ = true;
  return doc_ = postings_->NextDoc();
}

uint32_t TermScorer::Advance(uint32_t target) {
  const bool pruning = min_competitive_ > 0 && sim_ != nullptr;
  while (true) {
    // Block bounds are checked once per block, not per doc.
    if (pruning && (!have_block_ || target > block_end_)) {
      target = SkipBlocks(target);
      if (target == kNoMoreDocs) return doc_ = kNoMoreDocs;
    }
    if (!started_) {
      started_ = true;
      doc_ = postings_->NextDoc();
    } else if (target == doc_ + 1) {
      doc_ = postings_->NextDoc();
    }
    if (doc_ < target) doc_ = postings_->Advance(target);
    if (!pruning || doc_ == kNoMoreDocs || doc_ <= block_end_) return doc_;
    // Landed in a later block: it must be competitive too.
    uint32_t block_end = postings_->ShallowAdvance(doc_);
    if (Bound(postings_->BlockImpacts()) >= min_competitive_) {
      block_end_ = block_end;
      return doc_;
    }
    if (block_end == kNoMoreDocs || block_end == kNoMoreDocs - 1) return doc_ = kNoMoreDocs;
    target = block_end + 1;
  }
}

float TermScorer::BlockMaxScore(uint32_t target, uint32_t* block_end) {
  if (!have_bound_ || target > bound_end_) {
    bound_end_ = postings_->ShallowAdvance(target);
    bound_ = sim_ == nullptr ? 0.0f : Bound(postings_->BlockImpacts());
    have_bound_ = true;
  }
  if (block_end != nullptr) *block_end = bound_end_;
  return bound_;
}

float TermScorer::Score() {
  if (sim_ == nullptr) return 0.0f;
  uint8_t norm = has_norms_ ? SegmentReader::NormAt(norms_, doc_) : uint8_t{1};
  return sim_->Score(static_cast<float>(postings_->freq()), norm);
}

// ---- ConjunctionScorer ----

ConjunctionScorer::ConjunctionScorer(std::vector<std::unique_ptr<Scorer>> subs)
    : subs_(std::move(subs)) {
  std::vector<Scorer*> by_cost;
  double max_sum = 0;
  for (auto& s : subs_) {
    by_cost.push_back(s.get());
    max_sum += s->MaxScore();
  }
  std::stable_sort(by_cost.begin(), by_cost.end(),
                   [](Scorer* a, Scorer* b) { return a->cost() < b->cost(); });
  lead_ = by_cost[0];
  others_.assign(by_cost.begin() + 1, by_cost.end());
  for (Scorer* s : others_) s->NextDoc();  // positioned from here on; the lead leads
  max_score_ = RoundUp(max_sum);
  for (auto& s : subs_) {
    auto* term = dynamic_cast<TermScorer*>(s.get());
    if (term == nullptr) {
      terms_.clear();
      break;
    }
    terms_.push_back(term);
  }
}

void ConjunctionScorer::SetMinCompetitiveScore(float min_score) {
  if (terms_.empty()) return;
  min_competitive_ = min_score;
  have_window_ = false;  // re-checked against the new minimum
}

uint32_t ConjunctionScorer::SkipWindows(uint32_t candidate) {
  while (candidate != kNoMoreDocs && (!have_window_ || candidate > window_end_)) {
    // Summed in Score()'s order: float addition is monotonic, so this bounds every score.
    float bound = 0;
    window_end_ = kNoMoreDocs;
    for (TermScorer* t : terms_) {
      uint32_t block_end;
      bound += t->BlockMaxScore(candidate, &block_end);
      window_end_ = std::min(window_end_, block_end);
    }
    have_window_ = !(bound < min_competitive_);
    if (!have_window_) {
      candidate = window_end_ == kNoMoreDocs ? kNoMoreDocs : lead_->Advance(window_end_ + 1);
    }
  }
  return candidate;
}

uint32_t ConjunctionScorer::DoNext(uint32_t candidate) {
  while (candidate != kNoMoreDocs) {
    if (min_competitive_ > 0) {
      candidate = SkipWindows(candidate);
      if (candidate == kNoMoreDocs) break;
    }
    bool aligned = true;
    for (Scorer* s : others_) {
      uint32_t d = s->doc();
      if (d < candidate) d = s->Advance(candidate);
      if (d > candidate) {
        candidate = d == kNoMoreDocs ? kNoMoreDocs : lead_->Advance(d);
        aligned = false;
        break;
      }
    }
    if (aligned) return doc_ = candidate;
  }
  return doc_ = kNoMoreDocs;
}

uint32_t ConjunctionScorer::NextDoc() { return DoNext(lead_->NextDoc()); }
uint32_t ConjunctionScorer::Advance(uint32_t target) { return DoNext(lead_->Advance(target)); }

float ConjunctionScorer::Score() {
  float sum = 0;
  for (auto& s : subs_) sum += s->Score();
  return sum;
}

// ---- DisjunctionScorer ----

DisjunctionScorer::DisjunctionScorer(std::vector<std::unique_ptr<Scorer>> subs,
                                     uint32_t min_should_match, Mode mode, float tie_breaker,
                                     bool needs_scores)
    : subs_(std::move(subs)),
      min_should_match_(std::max<uint32_t>(1, min_should_match)),
      mode_(mode),
      tie_breaker_(tie_breaker),
      needs_scores_(needs_scores) {
  double max_sum = 0;
  for (auto& s : subs_) {
    max_scores_.push_back(s->MaxScore());
    terms_.push_back(dynamic_cast<TermScorer*>(s.get()));
    max_sum += s->MaxScore();
    cost_ += s->cost();
    s->NextDoc();  // every sub is positioned from here on
  }
  order_.resize(subs_.size());
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](uint32_t a, uint32_t b) { return max_scores_[a] < max_scores_[b]; });
  scores_.assign(subs_.size(), 0.0f);
  bounds_.assign(subs_.size(), 0.0f);
  window_bounds_.assign(subs_.size(), 0.0f);
  matched_.assign(subs_.size(), 0);
  max_score_ = RoundUp(max_sum);
}

void DisjunctionScorer::SetMinCompetitiveScore(float min_score) {
  // MaxScore pruning needs scores that add up and clauses that each suffice to match.
  if (mode_ != Mode::kSum || min_should_match_ > 1 || !needs_scores_) return;
  min_competitive_ = min_score;
  windows_ = true;
  window_valid_ = false;  // the next Advance partitions again against the new minimum
}

bool DisjunctionScorer::StartWindow(uint32_t target) {
  const size_t n = subs_.size();
  window_end_ = kNoMoreDocs;
  for (size_t i = 0; i < n; ++i) {
    if (terms_[i] == nullptr) {
      window_bounds_[i] = max_scores_[i];
      continue;
    }
    uint32_t end;
    window_bounds_[i] = terms_[i]->BlockMaxScore(target, &end);
    window_end_ = std::min(window_end_, end);
  }
  std::sort(order_.begin(), order_.end(),
            [&](uint32_t a, uint32_t b) { return window_bounds_[a] < window_bounds_[b]; });
  double prefix = 0;
  size_t k = 0;
  while (k < n && (prefix + window_bounds_[order_[k]]) * (1 + kBoundSlack) < min_competitive_) {
    prefix += window_bounds_[order_[k]];
    ++k;
  }
  num_non_essential_ = k;
  window_valid_ = true;
  return k < n;
}

uint32_t DisjunctionScorer::Advance(uint32_t target) {
  const size_t n = subs_.size();
  while (true) {
    if (windows_ && (!window_valid_ || target > window_end_)) {
      if (!StartWindow(target)) {
        // Not even every sub together reaches the minimum anywhere in the window.
        if (window_end_ == kNoMoreDocs) return doc_ = kNoMoreDocs;
        target = window_end_ + 1;
        window_valid_ = false;
        continue;
      }
    }
    uint32_t candidate = kNoMoreDocs;
    for (size_t k = num_non_essential_; k < n; ++k) {
      Scorer* s = subs_[order_[k]].get();
      uint32_t d = s->doc();
      if (d < target) d = s->Advance(target);
      candidate = std::min(candidate, d);
    }
    if (windows_ && candidate > window_end_) {
      // No essential sub matches in the window. The next one may make other subs essential,
      // so it starts right after this one, not at the candidate.
      target = window_end_ + 1;
      window_valid_ = false;
      continue;
    }
    if (candidate == kNoMoreDocs) return doc_ = kNoMoreDocs;
    uint32_t count = 0;
    // The non-essential subs are bounded by their block at the candidate when they are terms
    // (tighter than their max over the leaf), so that fewer candidates need them advanced.
    double upper = 0;
    for (size_t k = 0; k < num_non_essential_; ++k) {
      uint32_t i = order_[k];
      bounds_[i] = terms_[i] != nullptr ? terms_[i]->BlockMaxScore(candidate) : max_scores_[i];
      upper += bounds_[i];
    }
    for (size_t k = num_non_essential_; k < n; ++k) {
      uint32_t i = order_[k];
      bool m = subs_[i]->doc() == candidate;
      matched_[i] = m;
      if (m) {
        ++count;
        if (needs_scores_) {
          scores_[i] = subs_[i]->Score();
          upper += scores_[i];
        }
      }
    }
    bool pruned = false;
    for (size_t k = num_non_essential_; k-- > 0;) {
      uint32_t i = order_[k];
      if (upper * (1 + kBoundSlack) < min_competitive_) {
        pruned = true;
        break;
      }
      Scorer* s = subs_[i].get();
      uint32_t d = s->doc();
      if (d < candidate) d = s->Advance(candidate);
      upper -= bounds_[i];
      matched_[i] = d == candidate;
      if (matched_[i]) {
        ++count;
        scores_[i] = s->Score();
        upper += scores_[i];
      }
    }
    if (pruned || count < min_should_match_) {
      target = candidate + 1;
      continue;
    }
    if (needs_scores_) {
      if (mode_ == Mode::kSum) {
        float sum = 0;
        for (size_t i = 0; i < n; ++i) {
          if (matched_[i]) sum += scores_[i];
        }
        score_ = sum;
      } else {
        float max = 0;
        double others = 0;
        for (size_t i = 0; i < n; ++i) {
          if (!matched_[i]) continue;
          if (scores_[i] >= max) {
            others += max;
            max = scores_[i];
          } else {
            others += scores_[i];
          }
        }
        score_ = static_cast<float>(max + others * tie_breaker_);
      }
      if (min_competitive_ > 0 && score_ < min_competitive_) {
        target = candidate + 1;
        continue;
      }
    }
    return doc_ = candidate;
  }
}

// ---- ReqExclScorer / ReqOptScorer ----

ReqExclScorer::ReqExclScorer(std::unique_ptr<Scorer> req, std::unique_ptr<Scorer> excl)
    : req_(std::move(req)), excl_(std::move(excl)) {}

uint32_t ReqExclScorer::Skip(uint32_t doc) {
  while (doc != kNoMoreDocs) {
    uint32_t e = excl_->doc();
    if (!excl_started_ || (e < doc)) {
      excl_started_ = true;
      e = excl_->Advance(doc);
    }
    if (e != doc) return doc;
    doc = req_->NextDoc();
  }
  return doc;
}

ReqOptScorer::ReqOptScorer(std::unique_ptr<Scorer> req, std::unique_ptr<Scorer> opt)
    : req_(std::move(req)), opt_(std::move(opt)) {}

float ReqOptScorer::Score() {
  uint32_t doc = req_->doc();
  float score = req_->Score();
  uint32_t o = opt_->doc();
  if (!opt_started_ || o < doc) {
    opt_started_ = true;
    o = opt_->Advance(doc);
  }
  if (o == doc) score += opt_->Score();
  return score;
}

float ReqOptScorer::MaxScore() const {
  return RoundUp(static_cast<double>(req_->MaxScore()) + opt_->MaxScore());
}

// ---- BitsetScorer ----

BitsetScorer::BitsetScorer(std::shared_ptr<const DocBitset> bits, float score)
    : bits_(std::move(bits)), score_(score), cost_(bits_->Count()) {}

uint32_t BitsetScorer::Advance(uint32_t target) {
  return doc_ = exhausted_ ? kNoMoreDocs : bits_->NextSetBit(target);
}

// ---- PhraseScorer ----

PhraseScorer::PhraseScorer(std::vector<Slot> slots, uint32_t slop, const SegmentReader* reader,
                           std::string_view field, bool has_norms, const Bm25* sim)
    : slots_(std::move(slots)),
      positions_(slots_.size()),
      slop_(slop),
      norms_(reader->Norms(field)),
      has_norms_(has_norms),
      sim_(sim) {
  cost_ = std::numeric_limits<uint64_t>::max();
  for (Slot& slot : slots_) {
    uint64_t c = 0;
    for (auto& p : slot.postings) {
      c += p->cost();
      p->NextDoc();
    }
    cost_ = std::min(cost_, c);
  }
}

uint32_t PhraseScorer::SlotAdvance(size_t slot, uint32_t target) {
  uint32_t best = kNoMoreDocs;
  for (auto& p : slots_[slot].postings) {
    uint32_t d = p->doc();
    if (d < target) d = p->Advance(target);
    best = std::min(best, d);
  }
  return best;
}

uint32_t PhraseScorer::AlignSlots(uint32_t target) {
  while (target != kNoMoreDocs) {
    uint32_t max_doc_seen = target;
    bool aligned = true;
    for (size_t s = 0; s < slots_.size(); ++s) {
      uint32_t d = SlotAdvance(s, target);
      if (d != target) {
        aligned = false;
        max_doc_seen = std::max(max_doc_seen, d);
      }
    }
    if (aligned) return target;
    target = max_doc_seen;
  }
  return kNoMoreDocs;
}

uint32_t PhraseScorer::Advance(uint32_t target) {
  while (true) {
    uint32_t d = AlignSlots(target);
    if (d == kNoMoreDocs) return doc_ = kNoMoreDocs;
    freq_ = PhraseFreq(d);
    if (freq_ > 0) return doc_ = d;
    target = d + 1;
  }
}

float PhraseScorer::PhraseFreq(uint32_t doc) {
  // Positions of each slot, shifted by the slot's offset, sorted.
  for (size_t s = 0; s < slots_.size(); ++s) {
    std::vector<uint32_t>& pos = positions_[s];
    pos.clear();
    for (auto& p : slots_[s].postings) {
      if (p->doc() != doc) continue;
      uint32_t f = p->freq();
      for (uint32_t k = 0; k < f; ++k) {
        uint32_t position = p->NextPosition();
        pos.push_back(position);
      }
    }
    std::sort(pos.begin(), pos.end());
  }
  float freq = 0;
  const std::vector<uint32_t>& lead = positions_[0];
  const int64_t lead_offset = slots_[0].offset;
  for (uint32_t p0 : lead) {
    int64_t start = static_cast<int64_t>(p0) - lead_offset;  // phrase start implied by lead
    if (slop_ == 0) {
      bool ok = true;
      for (size_t s = 1; s < slots_.size() && ok; ++s) {
        int64_t want = start + slots_[s].offset;
        ok = want >= 0 && std::binary_search(positions_[s].begin(), positions_[s].end(),
                                             static_cast<uint32_t>(want));
      }
      if (ok) freq += 1.0f;
      continue;
    }
    // Sloppy: each other slot takes its position closest to where the phrase wants it; the
    // match length is the spread of the implied starts (an approximation of Lucene's
    // SloppyPhraseMatcher, which picks non-overlapping minimal windows).
    int64_t lo = start, hi = start;
    bool ok = true;
    for (size_t s = 1; s < slots_.size() && ok; ++s) {
      const std::vector<uint32_t>& pos = positions_[s];
      if (pos.empty()) {
        ok = false;
        break;
      }
      int64_t want = start + slots_[s].offset;
      auto it = std::lower_bound(pos.begin(), pos.end(),
                                 static_cast<uint32_t>(std::max<int64_t>(0, want)));
      int64_t best = -1;
      int64_t best_dist = std::numeric_limits<int64_t>::max();
      if (it != pos.end()) {
        best = *it;
        best_dist = std::abs(best - want);
      }
      if (it != pos.begin()) {
        int64_t prev = *(it - 1);
        if (std::abs(prev - want) < best_dist) {
          best = prev;
          best_dist = std::abs(prev - want);
        }
      }
      int64_t implied = best - slots_[s].offset;
      lo = std::min(lo, implied);
      hi = std::max(hi, implied);
    }
    if (!ok) continue;
    int64_t distance = hi - lo;
    if (distance <= static_cast<int64_t>(slop_)) {
      freq += 1.0f / (1.0f + static_cast<float>(distance));
    }
  }
  return freq;
}

float PhraseScorer::Score() {
  if (sim_ == nullptr) return 0.0f;
  uint8_t norm = has_norms_ ? SegmentReader::NormAt(norms_, doc_) : uint8_t{1};
  return sim_->Score(freq_, norm);
}

float PhraseScorer::MaxScore() const {
  // The phrase frequency is bounded by nothing cheap; BM25 saturates at weight.
  return sim_ == nullptr ? 0.0f : sim_->weight();
}

}  // namespace quidditch::engine
