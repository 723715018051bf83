// Per-doc collection allocates nothing once buckets exist: a global operator new counter
// around a second pass over a leaf whose terms, keys and buckets were all seen before.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <new>

#include "engine/aggs/aggregations.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};
}  // namespace

// Under AddressSanitizer the counter stays out: ASan provides every operator new/delete
// variant itself, and replacing only some of them pairs its nothrow new with our delete.
#if !defined(__SANITIZE_ADDRESS__)
// GCC 12 flags free() of memory from a replaced operator new when it inlines both; the pair is
// consistent here (malloc/free).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#endif

namespace quidditch::engine {
namespace {

using nlohmann::json;

TEST(AllocationTest, CollectAllocatesNothingForKnownBuckets) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the allocation counter is not built under AddressSanitizer";
#endif
  std::string dir = ::testing::TempDir() + "/qd_aggs_alloc_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  SegmentBuilder b;
  for (int i = 0; i < 2000; ++i) {
    ParsedDocument d;
    d.id = std::to_string(i);
    DocumentField tag;
    tag.name = "tag";
    tag.doc_values = DocValuesType::kSortedSet;
    tag.sorted_values = {"t" + std::to_string(i % 37)};
    DocumentField n;
    n.name = "n";
    n.doc_values = DocValuesType::kSortedNumeric;
    n.numeric_values = {i % 101, 1000 + i % 7};
    d.fields = {tag, n};
    b.AddDocument(d, DocMeta{});
  }
  ASSERT_TRUE(b.Write(dir, "seg").ok());
  auto reader = SegmentReader::Open(dir, "seg");
  ASSERT_TRUE(reader.ok()) << reader.status();
  Leaf leaf{*reader, nullptr, 0};

  FieldMapping tag_field{.path = "tag", .type = FieldType::kKeyword};
  FieldMapping n_field{.path = "n", .type = FieldType::kLong};
  AggregationContext ctx;
  ctx.find_field = [&](std::string_view p) -> const FieldMapping* {
    return p == "tag" ? &tag_field : p == "n" ? &n_field : nullptr;
  };
  auto collector = ParseAggregations(json::parse(R"({
    "t": {"terms": {"field": "tag"},
          "aggs": {"avg": {"avg": {"field": "n"}}, "ns": {"terms": {"field": "n"}},
                   "h": {"histogram": {"field": "n", "interval": 10}},
                   "r": {"range": {"field": "n", "ranges": [{"to": 50}, {"from": 50}]}},
                   "m": {"missing": {"field": "n"}}}},
    "s": {"extended_stats": {"field": "n"}}
  })"),
                                     ctx);
  ASSERT_TRUE(collector.ok()) << collector.status();
  auto& c = **collector;
  c.SetLeaf(0, leaf);
  g_allocations = 0;
  g_counting = true;
  for (uint32_t d = 0; d < 2000; ++d) c.Collect(d, 0);
  g_counting = false;
  EXPECT_GT(g_allocations.load(), 0u);  // new buckets do allocate: the counter works
  c.SetLeaf(1, leaf);  // the same segment again: every term, key and bucket is known
  g_allocations = 0;
  g_counting = true;
  for (uint32_t d = 0; d < 2000; ++d) c.Collect(d, 0);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
  auto partial = c.Finish();
  ASSERT_TRUE(partial.ok());
  auto r = ReduceAggregations({*partial});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["s"]["count"], 8000);  // both passes counted: the counter did not skip work
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace quidditch::engine
