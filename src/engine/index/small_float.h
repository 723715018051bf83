// Lucene's SmallFloat field-length encoding (org.apache.lucene.util.SmallFloat intToByte4 /
// byte4ToInt), reproduced bit for bit because BM25 scores equal Lucene's only if the lengths
// are rounded the same way: the norm byte keeps lengths below 24 exactly and larger ones with
// a 4-bit mantissa.
#pragma once

#include <bit>
#include <cstdint>

namespace quidditch::engine {

namespace small_float_internal {
inline uint32_t LongToInt4(uint64_t i) {
  int num_bits = 64 - std::countl_zero(i);
  if (num_bits < 4) return static_cast<uint32_t>(i);  // subnormal
  int shift = num_bits - 4;
  uint32_t encoded = static_cast<uint32_t>(i >> shift) & 0x07;  // implicit top bit dropped
  return encoded | static_cast<uint32_t>(shift + 1) << 3;
}
inline uint64_t Int4ToLong(uint32_t i) {
  uint64_t bits = i & 0x07;
  int shift = static_cast<int>(i >> 3) - 1;
  return shift == -1 ? bits : (bits | 0x08) << shift;
}
inline constexpr uint32_t kNumFreeValues = 24;  // 255 - LongToInt4(INT32_MAX)
}  // namespace small_float_internal

// The norm byte of a field `length` tokens long.
inline uint8_t LengthToNorm(uint32_t length) {
  using namespace small_float_internal;
  if (length < kNumFreeValues) return static_cast<uint8_t>(length);
  return static_cast<uint8_t>(kNumFreeValues + LongToInt4(length - kNumFreeValues));
}

// The (rounded) field length a norm byte stands for.
inline uint32_t NormToLength(uint8_t norm) {
  using namespace small_float_internal;
  if (norm < kNumFreeValues) return norm;
  return static_cast<uint32_t>(kNumFreeValues + Int4ToLong(norm - kNumFreeValues));
}

}  // namespace quidditch::engine
