#include "engine/index/coding.h"

#include <gtest/gtest.h>

#include <random>

namespace quidditch::engine::index_internal {
namespace {

TEST(CodingTest, BitPackingRoundTripsEveryWidth) {
  std::mt19937 rng(1);
  for (int bits = 0; bits <= 32; ++bits) {
    uint32_t values[kBlockSize];
    uint32_t mask = bits == 32 ? ~0u : (1u << bits) - 1;
    for (int i = 0; i < kBlockSize; ++i) values[i] = static_cast<uint32_t>(rng()) & mask;
    if (bits > 0) values[7] = mask;  // the width is reached
    EXPECT_EQ(BitsRequired(values, kBlockSize), bits);
    std::string packed = "x";
    PackBlock(values, bits, &packed);
    ASSERT_EQ(packed.size(), 1 + 16 * static_cast<size_t>(bits));
    packed.append(8, '\0');  // the slack UnpackBlock may read
    uint32_t out[kBlockSize];
    EXPECT_EQ(UnpackBlock(reinterpret_cast<const uint8_t*>(packed.data()) + 1, bits, out),
              16 * static_cast<size_t>(bits));
    for (int i = 0; i < kBlockSize; ++i) ASSERT_EQ(out[i], values[i]) << bits << " " << i;
  }
}

TEST(CodingTest, Varints) {
  std::string s;
  std::vector<uint64_t> values = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
  for (uint64_t v : values) {
    size_t before = s.size();
    PutVarint(&s, v);
    EXPECT_EQ(s.size() - before, VarintLength(v));
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(s.data());
  for (uint64_t v : values) EXPECT_EQ(GetVarint(&p), v);
  EXPECT_EQ(p, reinterpret_cast<const uint8_t*>(s.data() + s.size()));
  p = reinterpret_cast<const uint8_t*>(s.data());
  SkipVarints(&p, 5);
  EXPECT_EQ(GetVarint(&p), 16383u);
}

}  // namespace
}  // namespace quidditch::engine::index_internal
