// Internal execution interfaces of the search module (not for other modules): a Weight is a
// Query bound to the statistics of one snapshot of leaves; it makes one Scorer per leaf.
// Scorers iterate matching doc ids ascending (Lucene's DocIdSetIterator + Scorer).
//
// Thread safety: a Weight is immutable and may be shared; a Scorer is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/index/segment.h"
#include "engine/search/bm25.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {

class DocBitset;

class Scorer {
 public:
  virtual ~Scorer() = default;
  // -1 cast to uint32 before the first NextDoc/Advance; kNoMoreDocs at the end.
  virtual uint32_t doc() const = 0;
  virtual uint32_t NextDoc() = 0;
  // REQUIRES: target > doc(). Moves to the first match >= target.
  virtual uint32_t Advance(uint32_t target) = 0;
  // REQUIRES: positioned on a match.
  virtual float Score() = 0;
  virtual uint64_t cost() const = 0;
  // An upper bound of Score() over every doc of the leaf.
  virtual float MaxScore() const = 0;
  // Called only on the top-level scorer by a top-k collector that no longer needs docs
  // scoring below `min_score`: the scorer may skip them (block-max / MaxScore pruning).
  virtual void SetMinCompetitiveScore(float min_score) { (void)min_score; }
  // Sets every match after doc() in `bits` (sized for the leaf) and leaves the scorer at the
  // end: for counts, which want every match and no scores. The default steps with NextDoc;
  // a scorer that can hand out whole blocks overrides it.
  virtual void AddTo(DocBitset* bits);
};

inline constexpr uint32_t kUnpositioned = static_cast<uint32_t>(-1);

class Weight {
 public:
  virtual ~Weight() = default;
  // The scorer of leaf `leaf_index` of the snapshot; null when nothing there can match.
  virtual Result<std::unique_ptr<Scorer>> MakeScorer(size_t leaf_index) const = 0;
  // Why `doc` of leaf `leaf_index` matches (and its score), or a non-match.
  virtual Result<Explanation> Explain(size_t leaf_index, uint32_t doc) const;
  // Text for the generic explanation.
  virtual std::string Describe() const = 0;
  // The number of live matches in the leaf when known without iterating (Lucene's
  // Weight.count), e.g. a term's doc_freq in a leaf without deletes; nullopt otherwise.
  virtual std::optional<uint64_t> Count(size_t leaf_index) const {
    (void)leaf_index;
    return std::nullopt;
  }
};

}  // namespace quidditch::engine
