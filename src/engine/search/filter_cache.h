// A small process-wide LRU of per-leaf doc bitsets keyed by a query's canonical form
// (Query::ToString) and the segment, so that repeated filters (terms, ranges, prefixes...)
// are not re-enumerated. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/index/segment.h"
#include "engine/search/scorers.h"

namespace quidditch::engine {

class FilterCache {
 public:
  explicit FilterCache(size_t capacity) : capacity_(capacity) {}

  // The process-wide cache the multi-term queries use.
  static FilterCache& Default();

  // The cached bitset of (`key`, leaf.reader), or the result of `build` (cached when OK).
  // A null bitset (nothing matches) is cached too.
  Result<std::shared_ptr<const DocBitset>> GetOrBuild(
      const std::string& key, const Leaf& leaf,
      const std::function<Result<std::shared_ptr<const DocBitset>>()>& build);

  // Drops every entry (the engine benchmark clears it before each query, as its Lucene peer
  // runs without a query cache).
  void Clear();

  size_t size() const;
  uint64_t hits() const;

 private:
  struct Impl;
  Impl& impl() const;
  size_t capacity_;
  mutable std::shared_ptr<Impl> impl_;
};

}  // namespace quidditch::engine
