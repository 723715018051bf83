#include "engine/index/coding.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <numeric>
#include <utility>

namespace quidditch::engine::index_internal {

int BitsRequired(const uint32_t* values, int n) {
  uint32_t all = 0;
  for (int i = 0; i < n; ++i) all |= values[i];
  return 32 - std::countl_zero(all);
}

void PackBlock(const uint32_t* values, int bits, std::string* out) {
  if (bits == 0) return;
  size_t start = out->size();
  out->resize(start + 16 * static_cast<size_t>(bits), '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out->data() + start);
  uint64_t acc = 0;
  int filled = 0;
  for (int i = 0; i < kBlockSize; ++i) {
    acc |= static_cast<uint64_t>(values[i]) << filled;
    filled += bits;
    while (filled >= 8) {
      *p++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      filled -= 8;
    }
  }
  // 128 * bits is a multiple of 8: nothing is left over.
}

namespace {

// One instantiation per bit width so that shifts and masks are constants and the loop unrolls.
template <int kBits>
void Unpack(const uint8_t* in, uint32_t* out) {
  if constexpr (kBits == 0) {
    std::memset(out, 0, kBlockSize * sizeof(uint32_t));
  } else if constexpr (kBits == 32) {
    std::memcpy(out, in, kBlockSize * sizeof(uint32_t));
  } else {
    constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
    // 8 values of kBits bits always span exactly kBits bytes: unpack in groups of 8.
    for (int g = 0; g < kBlockSize / 8; ++g) {
      const uint8_t* base = in + g * kBits;
      for (int j = 0; j < 8; ++j) {
        const int bit = j * kBits;
        uint64_t word;
        std::memcpy(&word, base + (bit >> 3), 8);
        out[g * 8 + j] = static_cast<uint32_t>((word >> (bit & 7)) & kMask);
      }
    }
  }
}

using UnpackFn = void (*)(const uint8_t*, uint32_t*);

template <int... kBits>
constexpr auto MakeTable(std::integer_sequence<int, kBits...>) {
  return std::array<UnpackFn, sizeof...(kBits)>{&Unpack<kBits>...};
}

}  // namespace

size_t UnpackBlock(const uint8_t* in, int bits, uint32_t* out) {
  static constexpr auto kTable = MakeTable(std::make_integer_sequence<int, 33>{});
  kTable[bits](in, out);
  return 16 * static_cast<size_t>(bits);
}

void PackBlockPFor(const uint32_t* values, std::string* out) {
  constexpr int kMaxExceptions = 7;
  int max_bits = BitsRequired(values, kBlockSize);
  // The smallest width with at most 7 values above it, at most 8 bits below the largest.
  int bits = max_bits;
  while (bits > 0 && max_bits - (bits - 1) <= 8) {
    int above = 0;
    for (int i = 0; i < kBlockSize && above <= kMaxExceptions; ++i) {
      if ((values[i] >> (bits - 1)) != 0) ++above;
    }
    if (above > kMaxExceptions) break;
    --bits;
  }
  uint32_t low[kBlockSize];
  std::string exceptions;
  for (int i = 0; i < kBlockSize; ++i) {
    uint32_t high = bits >= 32 ? 0 : values[i] >> bits;
    if (high != 0) {
      exceptions.push_back(static_cast<char>(i));
      exceptions.push_back(static_cast<char>(high));
      low[i] = values[i] & ((uint32_t{1} << bits) - 1);
    } else {
      low[i] = values[i];
    }
  }
  out->push_back(static_cast<char>(bits));
  out->push_back(static_cast<char>(exceptions.size() / 2));
  PackBlock(low, bits, out);
  out->append(exceptions);
}

size_t UnpackBlockPFor(const uint8_t* in, uint32_t* out) {
  const int bits = in[0];
  const int num_exceptions = in[1];
  const uint8_t* p = in + 2;
  p += UnpackBlock(p, bits, out);
  for (int i = 0; i < num_exceptions; ++i, p += 2) out[p[0]] |= uint32_t{p[1]} << bits;
  return static_cast<size_t>(p - in);
}

void PutPackedInts(const int64_t* values, size_t n, std::string* out) {
  uint64_t min = 0;
  if (n > 0) min = static_cast<uint64_t>(*std::min_element(values, values + n));
  // Offsets from min as unsigned 64-bit differences: exact even for the full int64 range.
  uint64_t gcd = 0;
  uint64_t max_offset = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t offset = static_cast<uint64_t>(values[i]) - min;
    gcd = std::gcd(gcd, offset);
    max_offset = std::max(max_offset, offset);
  }
  if (gcd == 0) gcd = 1;
  max_offset /= gcd;
  int bits = 64 - std::countl_zero(max_offset);
  if (bits > 56) bits = 64;  // a 56-bit value at bit shift 7 still fits one 8-byte load
  PutFixed64(out, min);
  PutVarint(out, gcd);
  out->push_back(static_cast<char>(bits));
  if (bits == 0) return;
  if (bits == 64) {
    for (size_t i = 0; i < n; ++i) PutFixed64(out, (static_cast<uint64_t>(values[i]) - min) / gcd);
    return;
  }
  size_t start = out->size();
  size_t bytes = (n * static_cast<size_t>(bits) + 7) / 8;
  out->resize(start + bytes + 8, '\0');  // 8 bytes of slack for the word-wise writes below
  uint8_t* data = reinterpret_cast<uint8_t*>(out->data() + start);
  for (size_t i = 0; i < n; ++i) {
    uint64_t v = (static_cast<uint64_t>(values[i]) - min) / gcd;
    uint64_t bit = i * static_cast<uint64_t>(bits);
    uint64_t word;
    std::memcpy(&word, data + (bit >> 3), 8);
    word |= v << (bit & 7);
    std::memcpy(data + (bit >> 3), &word, 8);
  }
  out->resize(start + bytes);  // the slack holds only zero bits
}

PackedInts::PackedInts(const uint8_t* p, size_t n) {
  min_ = GetFixed64(p);
  p += 8;
  gcd_ = GetVarint(&p);
  bits_ = *p++;
  mask_ = bits_ >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits_) - 1;
  data_ = p;
  end_ = p + (bits_ == 64 ? 8 * n : (n * static_cast<size_t>(bits_) + 7) / 8);
}

}  // namespace quidditch::engine::index_internal
