#include "engine/aggs/terms_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace quidditch::engine::aggs {
namespace {

std::vector<std::string> KeysOf(const std::vector<TermsOrder::Item>& items, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(items[i].key->get<std::string>());
  return out;
}

// Ordering only the first k items puts at the front exactly the k items a full sort does, in
// the same order, and keeps every item: with many count ties, the key decides.
TEST(TermsOrderTest, OrderingTheFirstKEqualsTheFullSortsFirstK) {
  std::mt19937 rng(7);
  std::vector<json> keys;
  for (int i = 0; i < 500; ++i) keys.push_back("k" + std::to_string(rng() % 100000));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::shuffle(keys.begin(), keys.end(), rng);
  std::vector<TermsOrder::Item> items;
  for (size_t i = 0; i < keys.size(); ++i) items.push_back({&keys[i], rng() % 5, nullptr, i});

  for (const char* order : {R"({"_count":"desc"})", R"({"_count":"asc"})", R"({"_key":"desc"})"}) {
    Result<TermsOrder> parsed =
        TermsOrder::Parse(json::parse(order), TermsOrder::Default::kCountDesc, {});
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    std::vector<TermsOrder::Item> full = items;
    ASSERT_TRUE(parsed->Sort(&full).ok());
    for (size_t k :
         {size_t{0}, size_t{1}, size_t{10}, items.size() - 1, items.size(), items.size() + 5}) {
      std::vector<TermsOrder::Item> first = items;
      ASSERT_TRUE(parsed->Sort(&first, k).ok());
      const size_t shown = std::min(k, items.size());
      EXPECT_EQ(KeysOf(first, shown), KeysOf(full, shown)) << order << " k=" << k;
      std::vector<std::string> all = KeysOf(first, first.size());
      std::vector<std::string> expected = KeysOf(full, full.size());
      std::sort(all.begin(), all.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(all, expected) << "every item is kept; " << order << " k=" << k;
    }
  }
}

}  // namespace
}  // namespace quidditch::engine::aggs
