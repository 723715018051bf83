// The Scorers queries are made of (internal to the search module): terms with block-max
// skipping, conjunctions leapfrogging from the cheapest clause, disjunctions with MaxScore
// pruning, exclusions, optional clauses, bitsets, constants and phrases.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/index/segment.h"
#include "engine/search/bm25.h"
#include "engine/search/query.h"

namespace quidditch::engine {

// A dense bitset of one leaf's doc ids. Built by multi-term and filter queries.
class DocBitset {
 public:
  explicit DocBitset(uint32_t max_doc) : max_doc_(max_doc), words_((max_doc + 63) / 64, 0) {}
  void Set(uint32_t doc) { words_[doc >> 6] |= uint64_t{1} << (doc & 63); }
  bool Get(uint32_t doc) const { return (words_[doc >> 6] >> (doc & 63)) & 1; }
  // The first set doc >= from, or kNoMoreDocs.
  uint32_t NextSetBit(uint32_t from) const;
  uint32_t max_doc() const { return max_doc_; }
  uint64_t Count() const;
  // Sets every doc of `postings`.
  void AddAll(PostingsIterator* postings);
  // Keeps only the docs also in `other` (same max_doc).
  void IntersectWith(const DocBitset& other);

 private:
  uint32_t max_doc_;
  std::vector<uint64_t> words_;
};

// Postings of one term scored by BM25. With a min competitive score (top level only), skips
// the 128-doc blocks whose impacts' bound scores below it.
class TermScorer final : public Scorer {
 public:
  // `sim` null: no scores (Score() returns 0). `reader` must outlive the scorer.
  TermScorer(std::unique_ptr<PostingsIterator> postings, const SegmentReader* reader,
             std::string_view field, bool has_norms, const Bm25* sim, const TermState& state);
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override;
  uint32_t Advance(uint32_t target) override;
  float Score() override;
  uint64_t cost() const override { return cost_; }
  float MaxScore() const override { return max_score_; }
  void SetMinCompetitiveScore(float min_score) override {
    min_competitive_ = min_score;
    have_block_ = false;  // blocks already accepted are re-checked against the new minimum
  }
  void AddTo(DocBitset* bits) override;
  uint32_t freq() const { return postings_->freq(); }
  // An upper bound of Score() over the docs of the block holding the first doc >= target
  // (0 past the end), from its impacts; cached per block. Moves only the shallow cursor.
  // REQUIRES: no min competitive score set (the shallow cursor is then unused otherwise);
  // targets non-decreasing across calls. `block_end`, when given, receives the block's last
  // doc (kNoMoreDocs past the end).
  float BlockMaxScore(uint32_t target, uint32_t* block_end = nullptr);

 private:
  uint32_t SkipBlocks(uint32_t target);
  float Bound(std::span<const Impact> impacts) const;

  std::unique_ptr<PostingsIterator> postings_;
  std::span<const uint8_t> norms_;  // the field's norm column (empty: no norms)
  bool has_norms_;
  const Bm25* sim_;
  uint64_t cost_;
  float max_score_;
  float min_competitive_ = 0;
  uint32_t doc_ = kUnpositioned;
  bool started_ = false;
  // The last block found competitive (pruning only).
  uint32_t block_end_ = 0;
  bool have_block_ = false;
  // BlockMaxScore's block: its last doc and bound.
  uint32_t bound_end_ = 0;
  float bound_ = 0;
  bool have_bound_ = false;
};

// Docs matching every sub-scorer; score = sum of the subs' scores (in the given order).
class ConjunctionScorer final : public Scorer {
 public:
  // REQUIRES: !subs.empty(); subs unpositioned.
  explicit ConjunctionScorer(std::vector<std::unique_ptr<Scorer>> subs);
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override;
  uint32_t Advance(uint32_t target) override;
  float Score() override;
  uint64_t cost() const override { return lead_->cost(); }
  float MaxScore() const override { return max_score_; }
  // Block-max pruning (Lucene's BlockMaxConjunctionScorer) when every sub is a term: docs are
  // taken window by window, a window ending where the first of the subs' current blocks ends,
  // and a window whose sum of block maxima is below `min_score` is skipped whole.
  void SetMinCompetitiveScore(float min_score) override;

 private:
  uint32_t DoNext(uint32_t candidate);
  // The first doc >= candidate in a window that can compete (kNoMoreDocs: none).
  uint32_t SkipWindows(uint32_t candidate);
  std::vector<std::unique_ptr<Scorer>> subs_;
  Scorer* lead_;
  std::vector<Scorer*> others_;     // by cost ascending
  std::vector<TermScorer*> terms_;  // subs_ in order when all are terms (else empty)
  float max_score_;
  float min_competitive_ = 0;
  uint32_t window_end_ = 0;
  bool have_window_ = false;  // [.., window_end_] was found competitive
  uint32_t doc_ = kUnpositioned;
};

// Docs matching at least `min_should_match` (>= 1) sub-scorers. kSum: the sum of the matching
// subs' scores, with block-max MaxScore pruning once a min competitive score is set: the subs
// are split into essential and non-essential ones per window of docs, by their bounds over
// the window (a term's block max, as Lucene's MaxScoreBulkScorer does); kMax: Lucene's
// dis_max, max + tie_breaker * sum of the others.
class DisjunctionScorer final : public Scorer {
 public:
  enum class Mode { kSum, kMax };
  // REQUIRES: !subs.empty(); subs unpositioned.
  DisjunctionScorer(std::vector<std::unique_ptr<Scorer>> subs, uint32_t min_should_match, Mode mode,
                    float tie_breaker, bool needs_scores);
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override { return Advance(doc_ == kUnpositioned ? 0 : doc_ + 1); }
  uint32_t Advance(uint32_t target) override;
  float Score() override { return score_; }
  uint64_t cost() const override { return cost_; }
  float MaxScore() const override { return max_score_; }
  void SetMinCompetitiveScore(float min_score) override;

 private:
  std::vector<std::unique_ptr<Scorer>> subs_;
  std::vector<float> max_scores_;
  std::vector<TermScorer*> terms_;  // per sub: the sub when a TermScorer (block bounds), or null
  std::vector<float> bounds_;       // per sub: its bound at the candidate (non-essential subs)
  // Returns whether some doc of the window starting at `target` may be competitive; sets
  // window_end_, and order_ / num_non_essential_ by the subs' bounds over the window.
  bool StartWindow(uint32_t target);

  std::vector<uint32_t> order_;       // sub indices by bound ascending (leaf max, or window's)
  size_t num_non_essential_ = 0;      // order_[0, num_non_essential_) are non-essential
  std::vector<float> window_bounds_;  // per sub: its bound over the window
  // Block-max MaxScore: the partition into essential and non-essential subs holds for docs up
  // to window_end_ (the nearest end of a term's block); past it, a new window is started.
  bool windows_ = false;
  uint32_t window_end_ = 0;
  bool window_valid_ = false;
  std::vector<float> scores_;     // per sub, at doc_
  std::vector<uint8_t> matched_;  // per sub, at doc_
  uint32_t min_should_match_;
  Mode mode_;
  float tie_breaker_;
  bool needs_scores_;
  uint64_t cost_ = 0;
  float max_score_ = 0;
  float min_competitive_ = 0;
  float score_ = 0;
  uint32_t doc_ = kUnpositioned;
};

// Docs of `req` not in `excl`.
class ReqExclScorer final : public Scorer {
 public:
  ReqExclScorer(std::unique_ptr<Scorer> req, std::unique_ptr<Scorer> excl);
  uint32_t doc() const override { return req_->doc(); }
  uint32_t NextDoc() override { return Skip(req_->NextDoc()); }
  uint32_t Advance(uint32_t target) override { return Skip(req_->Advance(target)); }
  float Score() override { return req_->Score(); }
  uint64_t cost() const override { return req_->cost(); }
  float MaxScore() const override { return req_->MaxScore(); }

 private:
  uint32_t Skip(uint32_t doc);
  std::unique_ptr<Scorer> req_;
  std::unique_ptr<Scorer> excl_;
  bool excl_started_ = false;
};

// Docs of `req`; score = req + opt when opt also matches.
class ReqOptScorer final : public Scorer {
 public:
  ReqOptScorer(std::unique_ptr<Scorer> req, std::unique_ptr<Scorer> opt);
  uint32_t doc() const override { return req_->doc(); }
  uint32_t NextDoc() override { return req_->NextDoc(); }
  uint32_t Advance(uint32_t target) override { return req_->Advance(target); }
  float Score() override;
  uint64_t cost() const override { return req_->cost(); }
  float MaxScore() const override;

 private:
  std::unique_ptr<Scorer> req_;
  std::unique_ptr<Scorer> opt_;
  bool opt_started_ = false;
};

// The docs of a bitset (shared, e.g. from the filter cache), all scoring `score`.
class BitsetScorer final : public Scorer {
 public:
  BitsetScorer(std::shared_ptr<const DocBitset> bits, float score);
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override { return Advance(doc_ == kUnpositioned ? 0 : doc_ + 1); }
  uint32_t Advance(uint32_t target) override;
  float Score() override { return score_; }
  uint64_t cost() const override { return cost_; }
  float MaxScore() const override { return score_; }
  // Every doc scores score_: none is competitive past a higher minimum.
  void SetMinCompetitiveScore(float min_score) override { exhausted_ |= min_score > score_; }

 private:
  std::shared_ptr<const DocBitset> bits_;
  float score_;
  uint64_t cost_;
  uint32_t doc_ = kUnpositioned;
  bool exhausted_ = false;
};

// Every doc 0..max_doc-1, scoring `score`.
class AllScorer final : public Scorer {
 public:
  AllScorer(uint32_t max_doc, float score) : max_doc_(max_doc), score_(score) {}
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override { return Advance(doc_ == kUnpositioned ? 0 : doc_ + 1); }
  uint32_t Advance(uint32_t target) override {
    return doc_ = target < max_doc_ && !exhausted_ ? target : kNoMoreDocs;
  }
  float Score() override { return score_; }
  uint64_t cost() const override { return max_doc_; }
  float MaxScore() const override { return score_; }
  // Every doc scores score_: none is competitive past a higher minimum.
  void SetMinCompetitiveScore(float min_score) override { exhausted_ |= min_score > score_; }

 private:
  uint32_t max_doc_;
  float score_;
  uint32_t doc_ = kUnpositioned;
  bool exhausted_ = false;
};

// The docs of `sub`, scoring `score` (constant_score, filters: score 0).
class ConstantScorer final : public Scorer {
 public:
  ConstantScorer(std::unique_ptr<Scorer> sub, float score) : sub_(std::move(sub)), score_(score) {}
  uint32_t doc() const override { return done_ ? kNoMoreDocs : sub_->doc(); }
  uint32_t NextDoc() override { return Stop() ? kNoMoreDocs : sub_->NextDoc(); }
  uint32_t Advance(uint32_t target) override {
    return Stop() ? kNoMoreDocs : sub_->Advance(target);
  }
  float Score() override { return score_; }
  uint64_t cost() const override { return sub_->cost(); }
  float MaxScore() const override { return score_; }
  // Every doc scores score_: none is competitive past a higher minimum (Lucene's
  // ConstantScoreScorer empties its iterator the same way).
  void SetMinCompetitiveScore(float min_score) override { exhausted_ |= min_score > score_; }
  void AddTo(DocBitset* bits) override {
    if (!Stop()) sub_->AddTo(bits);
    done_ = true;
  }

 private:
  // The next move ends the iteration once exhausted.
  bool Stop() { return done_ = exhausted_; }

  std::unique_ptr<Scorer> sub_;
  float score_;
  bool exhausted_ = false;  // no doc is competitive any more
  bool done_ = false;       // moved past the last doc
};

// Docs whose positions hold the terms at the given relative offsets, within `slop` moves;
// scored by BM25 with the phrase frequency (exact: number of occurrences; sloppy: the sum of
// 1 / (1 + distance) as Lucene's sloppy phrase frequency, computed per start position).
// Multiple terms at one offset (match_phrase_prefix's expansions) are alternatives.
class PhraseScorer final : public Scorer {
 public:
  struct Slot {
    // Alternative postings at this offset (with positions), each unpositioned.
    std::vector<std::unique_ptr<PostingsIterator>> postings;
    uint32_t offset = 0;
  };
  PhraseScorer(std::vector<Slot> slots, uint32_t slop, const SegmentReader* reader,
               std::string_view field, bool has_norms, const Bm25* sim);
  uint32_t doc() const override { return doc_; }
  uint32_t NextDoc() override { return Advance(doc_ == kUnpositioned ? 0 : doc_ + 1); }
  uint32_t Advance(uint32_t target) override;
  float Score() override;
  uint64_t cost() const override { return cost_; }
  float MaxScore() const override;
  float freq() const { return freq_; }

 private:
  // The first doc >= target where every slot has a posting, or kNoMoreDocs.
  uint32_t AlignSlots(uint32_t target);
  uint32_t SlotAdvance(size_t slot, uint32_t target);
  float PhraseFreq(uint32_t doc);

  std::vector<Slot> slots_;
  std::vector<std::vector<uint32_t>> positions_;  // per slot, reused (no per-doc allocation)
  uint32_t slop_;
  std::span<const uint8_t> norms_;  // the field's norm column (empty: no norms)
  bool has_norms_;
  const Bm25* sim_;
  uint64_t cost_ = 0;
  float freq_ = 0;
  uint32_t doc_ = kUnpositioned;
};

}  // namespace quidditch::engine
