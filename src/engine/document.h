// What the mapping layer hands to the index: a document already parsed and analyzed into
// fields, each saying how it is to be indexed. The index layer (engine/index) knows nothing of
// JSON or mappings; the mapping layer (engine/mapping) knows nothing of files.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/analysis/analyzer.h"

namespace quidditch::engine {

// What the inverted index keeps for a field's terms (as Lucene's IndexOptions).
enum class IndexOptions : uint8_t {
  kNone = 0,                // not searchable by term
  kDocs = 1,                // keyword-like and numeric terms: which documents hold the term
  kDocsFreqs = 2,           // + term frequency
  kDocsFreqsPositions = 3,  // + positions (text: phrases)
};

// Column-stride values kept per document for sorting and aggregations.
enum class DocValuesType : uint8_t {
  kNone = 0,
  kSortedNumeric = 1,  // int64 values per doc, ascending; doubles as SortableDoubleBits
  kSortedSet = 2,      // distinct byte strings per doc, as ordinals into a sorted dictionary
};

// One field of one document. A multi-valued field is one DocumentField holding all values.
struct DocumentField {
  std::string name;  // full dotted path: "title", "title.keyword", "user.age"
  IndexOptions index_options = IndexOptions::kNone;
  bool norms = false;  // text fields: keep the field length for BM25
  DocValuesType doc_values = DocValuesType::kNone;

  // Terms to index (ignored when index_options is kNone). Text: the analyzer's tokens.
  // Keyword: one token per value. Numeric/date/boolean: one token per value whose term is
  // EncodeSortableLong() of the value (doubles: of SortableDoubleBits()), so byte order is
  // numeric order. The field length for norms is tokens.size().
  std::vector<Token> tokens;
  std::vector<int64_t> numeric_values;     // for kSortedNumeric
  std::vector<std::string> sorted_values;  // for kSortedSet
};

struct ParsedDocument {
  std::string id;
  std::string source;  // the _source to store (JSON); empty when _source is disabled
  std::vector<DocumentField> fields;
};

// Bookkeeping stored with every document of a segment.
struct DocMeta {
  int64_t seq_no = 0;
  int64_t primary_term = 0;
  int64_t version = 0;
};

// A double as an int64 that orders like the double (Lucene's NumericUtils.doubleToSortableLong).
inline int64_t SortableDoubleBits(double d) {
  int64_t bits = std::bit_cast<int64_t>(d);
  return bits ^ ((bits >> 63) & 0x7fffffffffffffffLL);
}
inline double SortableBitsToDouble(int64_t bits) {
  bits ^= (bits >> 63) & 0x7fffffffffffffffLL;
  return std::bit_cast<double>(bits);
}

// An int64 as 8 big-endian bytes with the sign bit flipped: byte order equals numeric order.
inline std::string EncodeSortableLong(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  return out;
}
// REQUIRES: bytes.size() == 8
inline int64_t DecodeSortableLong(std::string_view bytes) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

}  // namespace quidditch::engine
