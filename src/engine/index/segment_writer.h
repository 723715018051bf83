// Writes a segment from a SegmentSource: the indexing buffer (SegmentBuilder::Write) or the
// merge of existing segments (MergeSegments). Both go through this one writer, so a merged
// segment has exactly the bytes a segment built from the same live documents would have.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/index/segment.h"

namespace quidditch::engine::index_internal {

// The postings of one term, doc ids ascending.
struct PostingsData {
  std::vector<uint32_t> docs;
  std::vector<uint32_t> freqs;      // one per doc (1s when the field keeps no freqs)
  std::vector<uint32_t> positions;  // freqs[i] ascending positions per doc (when kept)
  void Clear() {
    docs.clear();
    freqs.clear();
    positions.clear();
  }
};

// Doc values of one field for docs 0..max_doc-1: values of doc d are
// values[offsets[d] .. offsets[d+1]), ascending.
struct NumericColumn {
  std::vector<uint32_t> offsets;
  std::vector<int64_t> values;
};
struct SortedSetColumn {
  std::vector<std::string> dict;  // distinct values in byte order
  std::vector<uint32_t> offsets;
  std::vector<uint32_t> ords;
};

// The content of a segment to write. Used by one thread.
class SegmentSource {
 public:
  virtual ~SegmentSource() = default;
  virtual uint32_t max_doc() const = 0;
  // The candidate fields in any order (numbers ignored). A field that ends up with neither
  // terms nor doc values is not written.
  virtual const std::vector<FieldInfo>& fields() const = 0;
  // Starts the term enumeration of fields()[field].
  virtual Status StartTerms(size_t field) = 0;
  // The next term of the field in byte order and its postings; false at the end.
  virtual Result<bool> NextTerm(std::string* term, PostingsData* postings) = 0;
  // Norm bytes of fields()[field] for every doc (0 without a value). Called when it has norms.
  virtual Status Norms(size_t field, std::vector<uint8_t>* norms) = 0;
  virtual Status Numeric(size_t field, NumericColumn* column) = 0;
  virtual Status SortedSet(size_t field, SortedSetColumn* column) = 0;
  virtual Status Document(uint32_t doc, std::string* id, std::string* source) = 0;
  virtual DocMeta Meta(uint32_t doc) = 0;
};

// Writes `source` as segment `name` in `dir` and fsyncs its files. REQUIRES: max_doc() > 0.
// On failure the files written so far are removed (best effort).
Status WriteSegment(SegmentSource* source, const std::string& dir, const std::string& name,
                    StoredFieldsCodec codec);

}  // namespace quidditch::engine::index_internal
