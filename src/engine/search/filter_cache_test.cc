#include "engine/search/filter_cache.h"

#include <gtest/gtest.h>

#include "engine/search/search_test_util.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using search_testing::TestIndex;

TEST(FilterCacheTest, CachesPerSegmentAndEvicts) {
  TestIndex a(json::parse(R"({"properties": {"t": {"type": "keyword"}}})"));
  a.AddLeaf({json{{"t", "x"}}, json{{"t", "y"}}});
  TestIndex b(json::parse(R"({"properties": {"t": {"type": "keyword"}}})"));
  b.AddLeaf({json{{"t", "y"}}});  // same segment name "_0", another reader
  FilterCache cache(2);
  int builds = 0;
  auto build = [&](uint32_t max_doc) {
    return [&builds, max_doc]() -> Result<std::shared_ptr<const DocBitset>> {
      ++builds;
      auto bits = std::make_shared<DocBitset>(max_doc);
      bits->Set(0);
      return std::shared_ptr<const DocBitset>(bits);
    };
  };
  auto r1 = cache.GetOrBuild("q1", a.leaves()[0], build(2));
  auto r2 = cache.GetOrBuild("q1", a.leaves()[0], build(2));
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->get(), r2->get());
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(cache.hits(), 1u);
  // Same key and segment name, other reader: not a hit.
  auto r3 = cache.GetOrBuild("q1", b.leaves()[0], build(1));
  ASSERT_TRUE(r3.ok());
  EXPECT_NE(r3->get(), r1->get());
  EXPECT_EQ(builds, 2);
  // Capacity 2: the least recently used entry goes.
  ASSERT_TRUE(cache.GetOrBuild("q2", a.leaves()[0], build(2)).ok());
  ASSERT_TRUE(cache.GetOrBuild("q3", a.leaves()[0], build(2)).ok());
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_TRUE(cache.GetOrBuild("q1", b.leaves()[0], build(1)).ok());
  EXPECT_EQ(builds, 5);
  // Clear drops everything: the next lookup builds again.
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  ASSERT_TRUE(cache.GetOrBuild("q1", b.leaves()[0], build(1)).ok());
  EXPECT_EQ(builds, 6);
  // Errors are returned, not cached.
  auto err = cache.GetOrBuild(
      "q4", a.leaves()[0],
      []() -> Result<std::shared_ptr<const DocBitset>> { return Status::Internal("boom"); });
  EXPECT_FALSE(err.ok());
}

TEST(FilterCacheTest, RepeatedFiltersHitTheDefaultCache) {
  TestIndex index(json::parse(R"({"properties": {"t": {"type": "keyword"}}})"));
  index.AddLeaf({json{{"t", "x"}}, json{{"t", "y"}}, json{{"t", "x"}}});
  uint64_t before = FilterCache::Default().hits();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(index.Ids(json::parse(R"({"bool": {"filter": {"terms": {"t": ["x"]}}}})")).size(),
              2u);
  }
  EXPECT_GE(FilterCache::Default().hits(), before + 2);
}

}  // namespace
}  // namespace quidditch::engine
