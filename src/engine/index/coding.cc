#include "engine/index/coding.h"

#include <array>
#include <bit>
#include <cstring>
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

}  // namespace quidditch::engine::index_internal
