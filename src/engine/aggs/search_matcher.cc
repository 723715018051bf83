#include "engine/aggs/search_matcher.h"

#include <vector>

namespace quidditch::engine {
namespace {

// Records the matches of one query over a snapshot, a bitset per leaf.
class BitsetCollector : public MatchCollector {
 public:
  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    if (bits_.size() <= leaf_index) bits_.resize(leaf_index + 1);
    bits_[leaf_index].assign((leaf.reader->max_doc() + 63) / 64, 0);
    current_ = &bits_[leaf_index];
  }
  void Collect(uint32_t doc, float) override { (*current_)[doc >> 6] |= uint64_t{1} << (doc & 63); }

  std::vector<std::vector<uint64_t>> Take() { return std::move(bits_); }

 private:
  std::vector<std::vector<uint64_t>> bits_;
  std::vector<uint64_t>* current_ = nullptr;
};

class BitsetMatcher : public LeafMatcher {
 public:
  explicit BitsetMatcher(std::vector<std::vector<uint64_t>> bits) : bits_(std::move(bits)) {}
  void SetLeaf(size_t leaf_index, const Leaf&) override {
    current_ = leaf_index < bits_.size() ? &bits_[leaf_index] : nullptr;
  }
  bool Matches(uint32_t doc) override {
    if (current_ == nullptr || (doc >> 6) >= current_->size()) return false;
    return ((*current_)[doc >> 6] >> (doc & 63)) & 1;
  }

 private:
  std::vector<std::vector<uint64_t>> bits_;
  const std::vector<uint64_t>* current_ = nullptr;
};

}  // namespace

AggregationContext ContextForSearch(const SearchContext& search, std::string index_name) {
  AggregationContext c;
  const Mapping* mapping = search.mapping;
  c.find_field = [mapping](std::string_view path) -> const FieldMapping* {
    return mapping ? mapping->Find(path) : nullptr;
  };
  c.now_millis = search.now_millis;
  c.index_name = std::move(index_name);
  c.make_matcher = [search](const nlohmann::json& dsl) -> Result<std::unique_ptr<LeafMatcher>> {
    QD_ASSIGN_OR_RETURN(std::unique_ptr<Query> query, ParseQuery(dsl, search));
    BitsetCollector collector;
    if (search.leaves != nullptr) QD_RETURN_IF_ERROR(ForEachMatch(*query, search, &collector));
    return std::unique_ptr<LeafMatcher>(new BitsetMatcher(collector.Take()));
  };
  return c;
}

}  // namespace quidditch::engine
