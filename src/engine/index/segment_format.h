// Layout constants and the segment-info record shared by the segment writer and reader.
// The format is described in docs/engine-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/index/segment.h"

namespace quidditch::engine::index_internal {

// File extensions of a segment's files, in the order Open maps them.
inline constexpr std::string_view kSegmentInfoExt = "si";
inline constexpr std::string_view kTermsExt = "tim";
inline constexpr std::string_view kDocsExt = "doc";
inline constexpr std::string_view kPositionsExt = "pos";
inline constexpr std::string_view kNormsExt = "nrm";
inline constexpr std::string_view kDocValuesExt = "dv";
inline constexpr std::string_view kStoredExt = "fdt";

inline constexpr int kTermsPerBlock = 32;
// Bytes of one skip entry of a multi-block postings list: last doc (4), doc-data start (4),
// start of the position chunk holding the block's first position (4), index of that position
// in the term's position stream (4), start of the block's impacts (4).
inline constexpr size_t kSkipEntrySize = 20;
inline constexpr size_t kSkipImpacts = 16;  // offset within a skip entry
// Impacts kept per block (and per term) of a multi-block postings list.
inline constexpr size_t kMaxImpacts = 8;
// A stored-fields block is compressed once it holds this many raw bytes or documents (the
// document cap keeps blocks of tiny documents, e.g. ids only, quick to decompress).
inline constexpr size_t kStoredBlockSize = 8 * 1024;
inline constexpr uint32_t kStoredBlockDocs = 256;

// Replaces `impacts` (any order, may repeat) by its competitive subset: the pairs no other
// pair dominates (higher or equal freq and lower or equal norm), freq and norm ascending.
// Past `max_size`, neighbours (f1, n1) < (f2, n2) are merged into (f2, n1), which dominates
// both, so the result still bounds every input pair; the extremes (max freq, min norm) stay.
void CompetitiveImpacts(std::vector<Impact>* impacts, size_t max_size);

inline bool HasFreqs(IndexOptions o) { return o >= IndexOptions::kDocsFreqs; }
inline bool HasPositions(IndexOptions o) { return o == IndexOptions::kDocsFreqsPositions; }
inline bool HasNorms(const FieldInfo& f) {
  return f.norms && f.index_options != IndexOptions::kNone;
}

// What the segment-info file says about one field.
struct FieldMeta {
  FieldInfo info;
  FieldStats stats;
  uint64_t num_terms = 0;
  uint64_t num_term_blocks = 0;
  uint64_t term_index_offset = 0;  // in .tim: the block index of this field
  uint64_t norms_offset = 0;       // in .nrm: max_doc bytes (when HasNorms)
  // In .dv. kSortedNumeric: a = per-doc offsets (u32[max_doc+1]), b = values (i64[]).
  // kSortedSet: a = dictionary offsets (u32[value_count+1]), b = dictionary bytes,
  // c = per-doc offsets (u32[max_doc+1]), d = ords (u32[]); value_count.
  uint64_t dv_a = 0, dv_b = 0, dv_c = 0, dv_d = 0;
  uint32_t value_count = 0;
};

struct SegmentMeta {
  uint32_t max_doc = 0;
  std::vector<FieldMeta> fields;     // sorted by name; fields[i].info.number == i
  uint64_t meta_offset = 0;          // in .dv: i64 seq_no[max_doc], primary_term[], version[]
  uint64_t stored_index_offset = 0;  // in .fdt: u32 first_doc[n], u64 block_offset[n]
  uint32_t stored_blocks = 0;
  // Absent (zstd) in segments written before LZ4 became the default; see StoredFieldsCodec.
  StoredFieldsCodec stored_codec = StoredFieldsCodec::kZstd;
};

void EncodeSegmentMeta(const SegmentMeta& meta, std::string* out);
// REQUIRES: `data` passed its checksum (it is trusted); `size` excludes the footer.
SegmentMeta DecodeSegmentMeta(const uint8_t* data, size_t size);

inline std::string SegmentFilePath(const std::string& dir, const std::string& name,
                                   std::string_view ext) {
  return dir + "/" + name + "." + std::string(ext);
}

}  // namespace quidditch::engine::index_internal
