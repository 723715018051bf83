// Byte-level encodings of the segment files: little-endian fixed-width integers, LEB128
// varints, and the bit packing of 128-value postings blocks.
//
// Readers of these functions trust their input: segment files are checksummed at Open, so a
// decode never sees bytes other than what the writer produced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace quidditch::engine::index_internal {

inline void PutFixed32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // the format is little-endian; so are the targets we build for
  out->append(b, 4);
}
inline void PutFixed64(std::string* out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}
inline uint32_t GetFixed32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t GetFixed64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// Decodes a varint at *p and moves *p past it.
inline uint64_t GetVarint(const uint8_t** p) {
  const uint8_t* q = *p;
  uint64_t v = *q & 0x7f;
  int shift = 7;
  while (*q++ & 0x80) {
    v |= static_cast<uint64_t>(*q & 0x7f) << shift;
    shift += 7;
  }
  *p = q;
  return v;
}
inline uint32_t GetVarint32(const uint8_t** p) { return static_cast<uint32_t>(GetVarint(p)); }
// Moves *p past `n` varints without decoding them.
inline void SkipVarints(const uint8_t** p, uint64_t n) {
  const uint8_t* q = *p;
  while (n > 0) {
    if ((*q++ & 0x80) == 0) --n;
  }
  *p = q;
}

inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
inline std::string_view GetLengthPrefixed(const uint8_t** p) {
  uint64_t n = GetVarint(p);
  std::string_view s(reinterpret_cast<const char*>(*p), n);
  *p += n;
  return s;
}

// Bit packing of postings blocks (frame of reference: one bit width for the whole block).
// Hand-written: no Debian-packaged library offers block bit packing with the per-block layout
// and skip data our postings need (libFastPFor / simdcomp are not packaged).
inline constexpr int kBlockSize = 128;

// The number of bits needed for the largest of `n` values.
int BitsRequired(const uint32_t* values, int n);
// Appends kBlockSize values of `bits` bits each (16 * bits bytes), least significant first.
void PackBlock(const uint32_t* values, int bits, std::string* out);
// Decodes kBlockSize values of `bits` bits from `in` into `out`; returns the bytes consumed
// (16 * bits). May read up to 8 bytes past the packed data (every file ends with a footer).
size_t UnpackBlock(const uint8_t* in, int bits, uint32_t* out);

}  // namespace quidditch::engine::index_internal
