// CRC-32C (Castagnoli), the checksum of segment files, and CRC-32, the translog's and live
// docs' checksum.
//
// CRC-32C is hand-written because Open verifies every byte of every file: boost::crc (the one
// installed CRC library) runs a byte-at-a-time table at well under 1 GB/s, while the SSE4.2 crc32
// instruction used here checksums several GB/s. Falls back to a table on CPUs without it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace quidditch::engine::index_internal {

// Extends `crc` (0 to start) with `n` bytes at `data`.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
// The table-driven version (the fallback), exposed for tests.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);

// CRC-32 (IEEE 802.3, as zlib and boost::crc_32_type compute it) of `bytes`, by zlib, whose
// sliced tables run several times faster than boost::crc's byte-at-a-time one.
uint32_t Crc32(std::string_view bytes);

}  // namespace quidditch::engine::index_internal
