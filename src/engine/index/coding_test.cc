#include "engine/index/coding.h"

#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/index/crc32c.h"

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

TEST(CodingTest, PForRoundTripsWithAndWithoutExceptions) {
  std::mt19937 rng(4);
  for (int round = 0; round < 400; ++round) {
    uint32_t values[kBlockSize];
    int base_bits = round % 33;
    uint32_t mask = base_bits == 32 ? ~0u : (1u << base_bits) - 1;
    for (uint32_t& v : values) v = static_cast<uint32_t>(rng()) & mask;
    int outliers = static_cast<int>(rng() % 12);  // sometimes more than 7
    for (int i = 0; i < outliers; ++i) {
      values[rng() % kBlockSize] = static_cast<uint32_t>(rng()) >> (rng() % 32);
    }
    std::string packed = "z";
    PackBlockPFor(values, &packed);
    ASSERT_EQ(packed.size() - 1,
              PForBlockSize(reinterpret_cast<const uint8_t*>(packed.data()) + 1));
    ASSERT_LE(static_cast<uint8_t>(packed[2]), 7);  // exceptions
    packed.append(8, '\0');
    uint32_t out[kBlockSize];
    size_t used = UnpackBlockPFor(reinterpret_cast<const uint8_t*>(packed.data()) + 1, out);
    ASSERT_EQ(used, packed.size() - 9);
    for (int i = 0; i < kBlockSize; ++i) ASSERT_EQ(out[i], values[i]) << round << " " << i;
  }
  // A few large values among small ones are exceptions, not the block's width.
  uint32_t values[kBlockSize] = {};
  for (int i = 0; i < kBlockSize; ++i) values[i] = i % 3;
  values[5] = 1000;
  values[77] = 500;
  std::string packed;
  PackBlockPFor(values, &packed);
  EXPECT_EQ(packed[0], 2);
  EXPECT_EQ(packed[1], 2);
  EXPECT_EQ(packed.size(), 2u + 32 + 4);
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

TEST(Crc32cTest, KnownValuesAndHardwareMatchesTable) {
  EXPECT_EQ(Crc32cExtend(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32cExtend(0, "", 0), 0u);
  std::mt19937 rng(3);
  std::string data(10000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n : {1u, 7u, 8u, 9u, 63u, 1000u, 10000u}) {
    uint32_t whole = Crc32cExtend(0, data.data(), n);
    EXPECT_EQ(whole, Crc32cExtendPortable(0, data.data(), n)) << n;
    uint32_t split =
        Crc32cExtend(Crc32cExtend(0, data.data(), n / 3), data.data() + n / 3, n - n / 3);
    EXPECT_EQ(whole, split) << n;
  }
}

// The translog and live docs files written before zlib computed it used boost::crc_32_type:
// the same CRC, so they still verify.
TEST(Crc32Test, KnownValuesAndBoostAgree) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  std::mt19937 rng(4);
  std::string data(10000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n : {1u, 7u, 8u, 63u, 1000u, 10000u}) {
    boost::crc_32_type boost_crc;
    boost_crc.process_bytes(data.data(), n);
    EXPECT_EQ(Crc32(std::string_view(data).substr(0, n)), boost_crc.checksum()) << n;
  }
}

TEST(CodingTest, PackedIntsRoundTrip) {
  std::mt19937_64 rng(2);
  std::vector<std::vector<int64_t>> cases = {
      {},
      {5},
      {7, 7, 7, 7},
      {-3, 1000, 4000, 1000000},                    // gcd 1
      {1000, 3000, 9000, -5000},                    // gcd 2000
      {INT64_MIN, INT64_MAX, 0},                    // the full range: raw 64-bit
      {INT64_MIN, INT64_MIN + (int64_t{1} << 56)},  // 57 bits: raw
      {0, (int64_t{1} << 56) - 1},                  // 56 bits: packed
  };
  for (int bits = 1; bits <= 63; bits += 3) {
    std::vector<int64_t> v(1 + rng() % 300);
    for (int64_t& x : v) x = static_cast<int64_t>(rng() >> (64 - bits)) - 12345;
    cases.push_back(v);
  }
  for (const auto& values : cases) {
    std::string out = "xy";
    PutPackedInts(values.data(), values.size(), &out);
    size_t size = out.size();
    out.append(8, '\0');  // slack Get may read
    PackedInts packed(reinterpret_cast<const uint8_t*>(out.data()) + 2, values.size());
    EXPECT_EQ(packed.end(), reinterpret_cast<const uint8_t*>(out.data()) + size);
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(packed.Get(i), values[i]) << i;
  }
  std::vector<int64_t> constant(1000, 42);
  std::string out;
  PutPackedInts(constant.data(), constant.size(), &out);
  EXPECT_LE(out.size(), 10u);  // 0 bits per value
}

}  // namespace
}  // namespace quidditch::engine::index_internal
