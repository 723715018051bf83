// Segments: the immutable unit of the inverted index.
//
// A SegmentBuilder collects documents in memory (the indexing buffer); Write() turns it into an
// immutable segment on disk; SegmentReader opens one through mmap. Merging reads segments and
// writes a new one without their deleted documents. Deletes are not part of a segment: a
// LiveDocs bitmap beside it says which of its documents are still live.
//
// Documents of a segment are numbered 0..max_doc()-1 in the order they were added.
// On-disk format: docs/engine-format.md.
//
// Thread safety: a SegmentBuilder is used by one thread at a time. A SegmentReader and the
// views it returns are immutable and may be shared by threads; each iterator is used by one
// thread.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/document.h"

namespace quidditch::engine {

inline constexpr uint32_t kNoMoreDocs = std::numeric_limits<uint32_t>::max();

struct FieldInfo {
  std::string name;
  uint32_t number = 0;
  IndexOptions index_options = IndexOptions::kNone;
  bool norms = false;
  DocValuesType doc_values = DocValuesType::kNone;
};

// Index-wide statistics of one field in one segment (what BM25 needs; summed over segments).
struct FieldStats {
  uint32_t doc_count = 0;  // documents with at least one term in the field
  uint64_t sum_total_term_freq = 0;
  uint64_t sum_doc_freq = 0;
};

// Where a term's postings are and what is known about them without reading them.
struct TermState {
  uint32_t doc_freq = 0;
  uint64_t total_term_freq = 0;  // == doc_freq for kDocs fields
  // The best (freq, norm) pair over all postings for a score upper bound: the highest
  // frequency and the smallest norm byte (shortest field) seen. 0/0 without freqs/norms.
  uint32_t max_freq = 0;
  uint8_t min_norm = 0;
  // Codec-private location of the postings.
  uint64_t doc_offset = 0;
  uint64_t pos_offset = 0;
  uint32_t field_number = 0;
};

// One competitive (freq, norm byte) pair of a score upper bound. BM25 grows with freq and
// falls with the norm byte (field length), so a set of impacts bounds every posting whose
// (freq, norm) is dominated by one of them: freq <= impact.freq and norm >= impact.norm.
// Fields without freqs use freq 1; fields without norms norm 0.
struct Impact {
  uint32_t freq = 0;
  uint8_t norm = 0;
  bool operator==(const Impact&) const = default;
};

// Streams the postings of one term: doc ids ascending, with frequencies and positions when
// the field keeps them. Postings are stored in blocks of 128 documents; each block carries
// its last doc id and its competitive impacts for block-max WAND / MaxScore.
class PostingsIterator {
 public:
  virtual ~PostingsIterator() = default;
  // Current doc, -1 cast to uint32 before the first NextDoc/Advance, kNoMoreDocs at the end.
  virtual uint32_t doc() const = 0;
  virtual uint32_t NextDoc() = 0;
  // The docs after doc() up to the end of their block, then positioned on the last of them:
  // every doc without a call per doc, for consumers that want them all (filters). Empty at
  // the end. Valid until the next call that moves the iterator. REQUIRES: opened without
  // positions.
  virtual std::span<const uint32_t> NextDocs() = 0;
  // Moves to the first doc >= target (target > doc()) and returns it.
  virtual uint32_t Advance(uint32_t target) = 0;
  // REQUIRES: positioned on a doc. 1 for kDocs fields.
  virtual uint32_t freq() const = 0;
  // REQUIRES: opened with positions; called at most freq() times per doc.
  virtual uint32_t NextPosition() = 0;
  virtual uint64_t cost() const = 0;  // doc_freq

  // Block-max data. Moves only the block cursor (decodes nothing) to the block holding the
  // first doc >= target and returns that block's last doc id (kNoMoreDocs past the end).
  virtual uint32_t ShallowAdvance(uint32_t target) = 0;
  // The (max freq, min norm) bound of the block ShallowAdvance last chose.
  virtual uint32_t BlockMaxFreq() const = 0;
  virtual uint8_t BlockMinNorm() const = 0;
  // The impacts of the block ShallowAdvance last chose: every posting of it is dominated by
  // one of them (at most 8, freq and norm ascending; empty past the end). Valid until the
  // next call on the iterator.
  virtual std::span<const Impact> BlockImpacts() const = 0;
  // The same for all postings of the term (valid as long as the iterator).
  virtual std::span<const Impact> TermImpacts() const = 0;
};

// Iterates the terms of one field in byte order.
class TermsIterator {
 public:
  virtual ~TermsIterator() = default;
  // Positions on the first term >= `target`; false when there is none.
  virtual bool SeekCeil(std::string_view target) = 0;
  // Positions on the next term (the first one after construction); false at the end.
  virtual bool Next() = 0;
  // REQUIRES: positioned. Valid until the next call that moves the iterator.
  virtual std::string_view term() const = 0;
  virtual const TermState& state() const = 0;
  // REQUIRES: positioned. The term's rank among the field's terms (0 for the first), so that
  // the number of terms between two positions is known without visiting them.
  virtual uint64_t ord() const = 0;
};

// The smallest byte string above every string starting with `prefix`, into `out`; false when
// there is none (`prefix` is empty or all 0xff bytes).
bool PrefixSuccessor(std::string_view prefix, std::string* out);

// Per-document int64 values (kSortedNumeric). Random access.
class NumericDocValues {
 public:
  virtual ~NumericDocValues() = default;
  // The values of `doc` in ascending order; empty when the doc has none.
  virtual std::span<const int64_t> Values(uint32_t doc) const = 0;
};

// Per-document sets of byte strings (kSortedSet) as ordinals into a sorted dictionary.
class SortedSetDocValues {
 public:
  virtual ~SortedSetDocValues() = default;
  // The ordinals of `doc`, ascending; empty when the doc has none.
  virtual std::span<const uint32_t> Ords(uint32_t doc) const = 0;
  virtual uint32_t value_count() const = 0;
  // REQUIRES: ord < value_count(). Valid as long as the reader.
  virtual std::string_view LookupOrd(uint32_t ord) const = 0;
  // The ordinal of `value`, or nullopt.
  virtual std::optional<uint32_t> LookupTerm(std::string_view value) const = 0;
};

class SegmentReader {
 public:
  virtual ~SegmentReader() = default;

  // Opens segment `name` in `dir` (mmap). Verifies the files' checksums: a torn or flipped
  // file is Corruption naming the file.
  static Result<std::shared_ptr<const SegmentReader>> Open(const std::string& dir,
                                                           const std::string& name);

  virtual const std::string& name() const = 0;
  virtual uint32_t max_doc() const = 0;
  virtual const std::vector<FieldInfo>& field_infos() const = 0;
  virtual const FieldInfo* field_info(std::string_view field) const = 0;
  virtual const FieldStats* field_stats(std::string_view field) const = 0;  // null: no terms
  virtual uint64_t size_in_bytes() const = 0;  // all files of the segment

  // The term's state, or nullopt when the field or term does not exist.
  virtual std::optional<TermState> SeekExact(std::string_view field,
                                             std::string_view term) const = 0;
  // Null when the field has no terms.
  virtual std::unique_ptr<TermsIterator> Terms(std::string_view field) const = 0;
  // `positions` requires a kDocsFreqsPositions field.
  virtual std::unique_ptr<PostingsIterator> Postings(const TermState& state,
                                                     bool positions) const = 0;
  // The doc of a term with a single posting when the term dictionary holds it (no postings
  // to read); nullopt otherwise.
  virtual std::optional<uint32_t> SingletonDoc(const TermState& state) const = 0;

  // The norm bytes of `field`, one per doc (Lucene's SmallFloat.intToByte4 of the field
  // length, 0 when the doc has no value); empty when the field keeps no norms. Valid as long
  // as the reader: scorers look the column up once and index it per doc.
  virtual std::span<const uint8_t> Norms(std::string_view field) const = 0;
  uint8_t Norm(std::string_view field, uint32_t doc) const { return NormAt(Norms(field), doc); }
  // The norm byte of `doc` in a column from Norms() (0 past its end or without one).
  static uint8_t NormAt(std::span<const uint8_t> norms, uint32_t doc) {
    return doc < norms.size() ? norms[doc] : 0;
  }
  // Null when the field has no doc values of that type.
  virtual const NumericDocValues* Numeric(std::string_view field) const = 0;
  virtual const SortedSetDocValues* SortedSet(std::string_view field) const = 0;

  // Stored fields.
  virtual Status Document(uint32_t doc, std::string* id, std::string* source) const = 0;
  // DocMeta of every doc, from the _seq_no / _primary_term / _version doc values.
  virtual DocMeta Meta(uint32_t doc) const = 0;
};

// How a segment compresses its stored fields, chosen by `index.codec` as in Lucene: LZ4 for
// `default` (Lucene's BEST_SPEED), so that fetching a hit's _source costs microseconds, and
// zstd for `best_compression`. The values are the on-disk tags; segments written before the
// tag existed are zstd.
enum class StoredFieldsCodec : uint8_t { kZstd = 0, kLz4 = 1 };

// The indexing buffer: an in-memory inverted index of documents not yet written.
class SegmentBuilder {
 public:
  SegmentBuilder();
  ~SegmentBuilder();
  SegmentBuilder(const SegmentBuilder&) = delete;
  SegmentBuilder& operator=(const SegmentBuilder&) = delete;

  // Adds a document; returns its doc id in the future segment. A field whose name was seen
  // with other options keeps the first options (the mapping layer prevents that).
  uint32_t AddDocument(const ParsedDocument& doc, const DocMeta& meta);
  uint32_t num_docs() const;
  size_t ram_bytes_used() const;

  // Writes the buffered documents as segment `name` in `dir` and fsyncs its files (not the
  // directory: the commit does that). REQUIRES: num_docs() > 0.
  Status Write(const std::string& dir, const std::string& name,
               StoredFieldsCodec codec = StoredFieldsCodec::kLz4) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Which documents of a segment are live. Immutable once shared; copy to change.
class LiveDocs {
 public:
  // All of `max_doc` documents live.
  explicit LiveDocs(uint32_t max_doc);
  LiveDocs(const LiveDocs&);
  LiveDocs& operator=(const LiveDocs&);
  ~LiveDocs();

  bool IsLive(uint32_t doc) const;
  void Delete(uint32_t doc);
  uint32_t num_deleted() const;
  uint32_t max_doc() const;

  // Serialized with a checksum; Decode rejects a torn or flipped file as Corruption.
  std::string Encode() const;
  static Result<LiveDocs> Decode(std::string_view bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One segment as a searcher sees it: the reader, its deletes at the time of the snapshot, and
// the number of documents of the segments before it (global doc id = doc_base + doc).
struct Leaf {
  std::shared_ptr<const SegmentReader> reader;
  std::shared_ptr<const LiveDocs> live;  // null: all live
  uint32_t doc_base = 0;
};

struct MergeSource {
  std::shared_ptr<const SegmentReader> reader;
  const LiveDocs* live = nullptr;  // null: all live
};

// Writes the live documents of `sources`, in order, as segment `name` in `dir` (fsynced).
// Doc ids are renumbered densely; every field, term, posting, norm, doc value and stored field
// of a live doc is carried over unchanged. REQUIRES: at least one live doc.
// Stored fields are recompressed with `codec`.
Status MergeSegments(const std::vector<MergeSource>& sources, const std::string& dir,
                     const std::string& name, StoredFieldsCodec codec = StoredFieldsCodec::kLz4);

}  // namespace quidditch::engine
