// MatchCollector: what a search hands every matching document to, besides the top hits.
// Aggregations are MatchCollectors; so is a count. A search with a MatchCollector visits every
// match (no dynamic pruning of non-competitive documents for it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/index/segment.h"

namespace quidditch::engine {

class MatchCollector {
 public:
  virtual ~MatchCollector() = default;
  // Called before the matches of each leaf, in leaf order.
  virtual void SetLeaf(size_t leaf_index, const Leaf& leaf) = 0;
  // Called for every live matching doc of the current leaf, doc ids ascending. `score` is the
  // query score when needs_scores() is true, 0 otherwise.
  virtual void Collect(uint32_t doc, float score) = 0;
  virtual bool needs_scores() const { return false; }
};

}  // namespace quidditch::engine
