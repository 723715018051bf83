#include "engine/aggs/sketches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace quidditch::engine::aggs {
namespace {

TEST(MurmurTest, KnownVectors) {
  // MurmurHash3_x64_128 with seed 0, first 64 bits (reference implementation values).
  EXPECT_EQ(Murmur3Hash64(""), 0ULL);
  EXPECT_EQ(Murmur3Hash64("hello"), 0xcbd8a7b341bd9b02ULL);
  EXPECT_EQ(Murmur3Hash64("The quick brown fox jumps over the lazy dog"), 0xe34bbc7bbc071b6cULL);
}

TEST(CardinalityTest, PrecisionFromThresholdAsOpenSearch) {
  EXPECT_EQ(CardinalitySketch::PrecisionFromThreshold(3000), 14);
  EXPECT_EQ(CardinalitySketch::PrecisionFromThreshold(0), 4);
  EXPECT_EQ(CardinalitySketch::PrecisionFromThreshold(100), 10);
  EXPECT_EQ(CardinalitySketch::PrecisionFromThreshold(40000), 18);
}

TEST(CardinalityTest, ExactBelowThresholdAndBoundedAbove) {
  const int p = CardinalitySketch::PrecisionFromThreshold(100);
  CardinalitySketch s(p);
  for (uint64_t v = 0; v < 200; ++v) {
    s.AddHash(Murmur3Mix64(v));
    s.AddHash(Murmur3Mix64(v));  // duplicates do not count
    ASSERT_EQ(s.Estimate(), v + 1);
  }
  for (uint64_t v = 200; v < 20000; ++v) s.AddHash(Murmur3Mix64(v));
  EXPECT_FALSE(s.is_exact());
  const double err = std::fabs(static_cast<double>(s.Estimate()) - 20000) / 20000;
  // Standard error 1.04 / sqrt(2^10) = 3.3%; allow three of them.
  EXPECT_LT(err, 0.1) << s.Estimate();
}

TEST(CardinalityTest, MergeEqualsSketchOfUnion) {
  const int p = CardinalitySketch::PrecisionFromThreshold(50);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    CardinalitySketch all(p), a(p), b(p);
    const int n = static_cast<int>(rng() % 3000);
    for (int i = 0; i < n; ++i) {
      uint64_t h = Murmur3Mix64(rng() % 2000);
      all.AddHash(h);
      (rng() % 2 ? a : b).AddHash(h);
    }
    auto rt = CardinalitySketch::FromJson(b.ToJson());
    ASSERT_TRUE(rt.ok());
    a.Merge(*rt);
    EXPECT_EQ(a.ToJson(), all.ToJson());
    EXPECT_EQ(a.Estimate(), all.Estimate());
  }
}

TEST(TDigestTest, SmallSetsInterpolateExactly) {
  TDigest d;
  for (double v : {1.0, 2.0, 3.0, 4.0}) d.Add(v);
  EXPECT_EQ(d.Quantile(0), 1);
  EXPECT_EQ(d.Quantile(1), 4);
  EXPECT_EQ(TDigest().count(), 0);
  EXPECT_TRUE(std::isnan(TDigest().Quantile(0.5)));
  TDigest one;
  one.Add(42);
  EXPECT_EQ(one.Quantile(0.99), 42);
}

TEST(TDigestTest, QuantilesWithinErrorBoundsAndMerge) {
  std::mt19937_64 rng(11);
  std::vector<double> values;
  TDigest whole;
  std::vector<TDigest> parts(4);
  for (int i = 0; i < 50000; ++i) {
    double v = std::exp(static_cast<double>(rng() % 100000) / 10000.0);  // skewed
    values.push_back(v);
    whole.Add(v);
    parts[rng() % 4].Add(v);
  }
  TDigest merged;
  for (const auto& p : parts) {
    auto rt = TDigest::FromJson(p.ToJson());
    ASSERT_TRUE(rt.ok());
    merged.Merge(*rt);
  }
  std::sort(values.begin(), values.end());
  auto rank_of = [&](double v) {
    return static_cast<double>(std::lower_bound(values.begin(), values.end(), v) - values.begin()) /
           static_cast<double>(values.size());
  };
  for (double q : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) {
    // t-digest error is in rank space, tighter at the tails: 1% of rank is generous here.
    EXPECT_NEAR(rank_of(whole.Quantile(q)), q, 0.01) << q;
    EXPECT_NEAR(rank_of(merged.Quantile(q)), q, 0.01) << q;
  }
  EXPECT_EQ(merged.count(), 50000);
}

}  // namespace
}  // namespace quidditch::engine::aggs
