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

// Patched frame of reference (PFOR, as Lucene's PForUtil): the bit width is chosen so that at
// most 7 values exceed it by at most 8 bits; those keep their high bits as exceptions.
//   block := bits:u8 num_exceptions:u8 packed(low bits, bits) (index:u8 high_bits:u8){n}
// Appends kBlockSize values.
void PackBlockPFor(const uint32_t* values, std::string* out);
// Decodes a block written by PackBlockPFor; returns the bytes consumed. May read up to 8 bytes
// past the block.
size_t UnpackBlockPFor(const uint8_t* in, uint32_t* out);
// The size of the PFOR block at `in` without decoding it.
inline size_t PForBlockSize(const uint8_t* in) {
  return 2 + 16 * size_t{in[0]} + 2 * size_t{in[1]};
}

// A random-access array of int64 stored as min + gcd * (packed unsigned offset), with one bit
// width for all values (Lucene's numeric doc-values trick): constant or evenly spaced values
// take 0 bits per value, small ranges a few.
//   packed := min:fixed64 gcd:varint bits:u8 data:((n * bits + 7) / 8 bytes)
// bits == 64 stores raw fixed64 offsets (ranges wider than 56 bits).
void PutPackedInts(const int64_t* values, size_t n, std::string* out);

class PackedInts {
 public:
  PackedInts() = default;
  // Parses the header at `p`; `n` is the number of values. REQUIRES: written by PutPackedInts.
  PackedInts(const uint8_t* p, size_t n);
  // One past the last byte of the array.
  const uint8_t* end() const { return end_; }
  // Value `i`; may read up to 7 bytes past end() (every file ends with a footer).
  int64_t Get(size_t i) const {
    uint64_t offset;
    if (bits_ == 0) {
      offset = 0;
    } else if (bits_ == 64) {
      offset = GetFixed64(data_ + 8 * i);
    } else {
      uint64_t bit = i * static_cast<uint64_t>(bits_);
      offset = (GetFixed64(data_ + (bit >> 3)) >> (bit & 7)) & mask_;
    }
    return static_cast<int64_t>(min_ + offset * gcd_);
  }

 private:
  const uint8_t* data_ = nullptr;
  const uint8_t* end_ = nullptr;
  uint64_t min_ = 0;
  uint64_t gcd_ = 1;
  int bits_ = 0;
  uint64_t mask_ = 0;
};

}  // namespace quidditch::engine::index_internal
