// SegmentReader: a segment's files mapped read-only, with the term-dictionary block index and
// the per-field views built at Open. Everything else is decoded from the mappings on demand.
#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "engine/index/coding.h"
#include "engine/index/segment.h"
#include "engine/index/segment_file.h"
#include "engine/index/segment_format.h"

namespace quidditch::engine {

using namespace index_internal;  // NOLINT: the codec's own helpers

namespace {

// A field as the reader keeps it.
struct FieldData {
  const FieldMeta* meta = nullptr;
  std::vector<std::string> block_first_terms;
  // The first 8 bytes of each block's first term as a big-endian number (zero-padded): the
  // block search compares these contiguous keys and reads the terms only on equal keys.
  std::vector<uint64_t> block_keys;
  std::vector<uint64_t> block_offsets;
  const uint8_t* norms = nullptr;
  // Doc values are bit-packed on disk and decoded into memory at first use.
  std::once_flag dv_once;
  std::unique_ptr<NumericDocValues> numeric;
  std::unique_ptr<SortedSetDocValues> sorted_set;
};

// Per-doc value counts (a PackedInts of max_doc values) as offsets into the values. When every
// doc has exactly one value (the common single-valued field) no table is kept: doc d's value
// is at d.
class DocOffsets {
 public:
  DocOffsets(const uint8_t* p, uint32_t max_doc) {
    PackedInts counts(p, max_doc);
    bool all_one = true;
    for (uint32_t d = 0; d < max_doc && all_one; ++d) all_one = counts.Get(d) == 1;
    if (all_one) {
      total_ = max_doc;
      return;
    }
    offsets_.resize(size_t{max_doc} + 1);
    uint32_t total = 0;
    for (uint32_t d = 0; d < max_doc; ++d) {
      offsets_[d] = total;
      total += static_cast<uint32_t>(counts.Get(d));
    }
    offsets_[max_doc] = total;
    total_ = total;
  }
  uint32_t total() const { return total_; }
  uint32_t start(uint32_t doc) const { return offsets_.empty() ? doc : offsets_[doc]; }
  uint32_t count(uint32_t doc) const {
    return offsets_.empty() ? 1 : offsets_[doc + 1] - offsets_[doc];
  }

 private:
  std::vector<uint32_t> offsets_;  // empty: one value per doc
  uint32_t total_ = 0;
};

class NumericView final : public NumericDocValues {
 public:
  NumericView(const uint8_t* counts, const uint8_t* values, uint32_t max_doc)
      : offsets_(counts, max_doc) {
    PackedInts packed(values, offsets_.total());
    values_.resize(offsets_.total());
    for (size_t i = 0; i < values_.size(); ++i) values_[i] = packed.Get(i);
  }
  std::span<const int64_t> Values(uint32_t doc) const override {
    return {values_.data() + offsets_.start(doc), offsets_.count(doc)};
  }

 private:
  DocOffsets offsets_;
  std::vector<int64_t> values_;
};

class SortedSetView final : public SortedSetDocValues {
 public:
  SortedSetView(const uint32_t* dict_offsets, const char* dict_bytes, uint32_t value_count,
                const uint8_t* counts, const uint8_t* ords, uint32_t max_doc)
      : dict_offsets_(dict_offsets),
        dict_bytes_(dict_bytes),
        value_count_(value_count),
        offsets_(counts, max_doc) {
    PackedInts packed(ords, offsets_.total());
    ords_.resize(offsets_.total());
    for (size_t i = 0; i < ords_.size(); ++i) ords_[i] = static_cast<uint32_t>(packed.Get(i));
  }
  std::span<const uint32_t> Ords(uint32_t doc) const override {
    return {ords_.data() + offsets_.start(doc), offsets_.count(doc)};
  }
  uint32_t value_count() const override { return value_count_; }
  std::string_view LookupOrd(uint32_t ord) const override {
    return {dict_bytes_ + dict_offsets_[ord], dict_offsets_[ord + 1] - dict_offsets_[ord]};
  }
  std::optional<uint32_t> LookupTerm(std::string_view value) const override {
    uint32_t lo = 0, hi = value_count_;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      int c = LookupOrd(mid).compare(value);
      if (c == 0) return mid;
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return std::nullopt;
  }

 private:
  const uint32_t* dict_offsets_;
  const char* dict_bytes_;
  uint32_t value_count_;
  DocOffsets offsets_;
  std::vector<uint32_t> ords_;
};

// Decodes the entries of one term-dictionary block (see TermDictWriter).
class TermBlockCursor {
 public:
  void Reset(const FieldData* field, const uint8_t* tim, size_t block) {
    const FieldMeta& m = *field->meta;
    p_ = tim + field->block_offsets[block];
    remaining_ = static_cast<uint32_t>(
        std::min<uint64_t>(kTermsPerBlock, m.num_terms - block * kTermsPerBlock));
    read_ = 0;
    prev_doc_ = 0;
    prev_pos_ = 0;
    freqs_ = HasFreqs(m.info.index_options);
    positions_ = HasPositions(m.info.index_options);
    norms_ = m.info.norms;
    field_number_ = m.info.number;
  }
  bool has_next() const { return remaining_ > 0; }
  uint32_t read() const { return read_; }  // terms of the block read so far
  // REQUIRES: has_next(). `term` holds the previous term of the block (prefix compression).
  void Next(std::string* term, TermState* s) {
    uint64_t prefix = GetVarint(&p_);
    std::string_view suffix = GetLengthPrefixed(&p_);
    term->resize(prefix);
    term->append(suffix);
    s->doc_freq = GetVarint32(&p_);
    if (freqs_) {
      s->total_term_freq = s->doc_freq + GetVarint(&p_);
      s->max_freq = s->doc_freq > 1 ? GetVarint32(&p_) : static_cast<uint32_t>(s->total_term_freq);
    } else {
      s->total_term_freq = s->doc_freq;
      s->max_freq = 0;
    }
    s->min_norm = norms_ ? *p_++ : 0;
    if (s->doc_freq == 1) {
      s->doc_offset = GetVarint(&p_);  // a singleton: its doc id
    } else {
      prev_doc_ += GetVarint(&p_);
      s->doc_offset = prev_doc_;
    }
    if (positions_) prev_pos_ += GetVarint(&p_);
    s->pos_offset = prev_pos_;
    s->field_number = field_number_;
    --remaining_;
    ++read_;
  }

 private:
  const uint8_t* p_ = nullptr;
  uint32_t remaining_ = 0;
  uint32_t read_ = 0;
  uint64_t prev_doc_ = 0;
  uint64_t prev_pos_ = 0;
  bool freqs_ = false;
  bool positions_ = false;
  bool norms_ = false;
  uint32_t field_number_ = 0;
};

// Byte order of terms is the numeric order of these keys, ties aside.
uint64_t BlockKey(std::string_view term) {
  uint64_t key = 0;
  for (size_t i = 0; i < 8; ++i) {
    key = (key << 8) | (i < term.size() ? static_cast<uint8_t>(term[i]) : 0);
  }
  return key;
}

// The block whose first term is the last one <= `target` among blocks `from`.. (`from` when
// `target` precedes them all). Keys below the target's belong to smaller terms and keys above
// to greater ones; only blocks with the target's key compare whole terms.
size_t FindBlock(const FieldData& f, std::string_view target, size_t from = 0) {
  const uint64_t key = BlockKey(target);
  auto keys_lo = std::lower_bound(f.block_keys.begin() + from, f.block_keys.end(), key);
  auto keys_hi = std::upper_bound(keys_lo, f.block_keys.end(), key);
  auto terms = f.block_first_terms.begin();
  auto it = std::upper_bound(terms + (keys_lo - f.block_keys.begin()),
                             terms + (keys_hi - f.block_keys.begin()), target,
                             [](std::string_view t, const std::string& s) { return t < s; });
  const size_t after = it - terms;  // blocks from..after-1 start at or below the target
  return after > from ? after - 1 : from;
}

class TermsIteratorImpl final : public TermsIterator {
 public:
  TermsIteratorImpl(const FieldData* field, const uint8_t* tim) : field_(field), tim_(tim) {
    term_.reserve(256);  // enumeration then allocates only for longer terms
  }

  bool SeekCeil(std::string_view target) override {
    const std::vector<std::string>& firsts = field_->block_first_terms;
    if (block_ < firsts.size() && target > std::string_view(term_)) {
      // Forward from the current term (fuzzy and automaton enumerations seek forward in small
      // steps): stay in this block when the target is in it, else search the blocks after it.
      if (block_ + 1 == firsts.size() || target < std::string_view(firsts[block_ + 1])) {
        return ScanBlock(target);
      }
      block_ = FindBlock(*field_, target, block_ + 1);
    } else {
      block_ = FindBlock(*field_, target);
    }
    cursor_.Reset(field_, tim_, block_);
    term_.clear();
    return ScanBlock(target);
  }

  bool Next() override {
    if (block_ == kUnstarted) {
      block_ = 0;
      cursor_.Reset(field_, tim_, 0);
      term_.clear();
    }
    if (cursor_.has_next()) {
      cursor_.Next(&term_, &state_);
      return true;
    }
    return NextBlock();
  }

  std::string_view term() const override { return term_; }
  const TermState& state() const override { return state_; }
  uint64_t ord() const override { return block_ * kTermsPerBlock + cursor_.read() - 1; }

 private:
  static constexpr size_t kUnstarted = static_cast<size_t>(-1);

  // Moves to the first term >= `target`, which is in this block or is the next block's first.
  bool ScanBlock(std::string_view target) {
    while (cursor_.has_next()) {
      cursor_.Next(&term_, &state_);
      if (std::string_view(term_) >= target) return true;
    }
    return NextBlock();
  }

  bool NextBlock() {
    if (block_ + 1 >= field_->block_offsets.size()) {
      block_ = field_->block_offsets.size();  // exhausted; Next() keeps returning false
      cursor_ = TermBlockCursor();
      return false;
    }
    ++block_;
    cursor_.Reset(field_, tim_, block_);
    term_.clear();
    cursor_.Next(&term_, &state_);
    return true;
  }

  const FieldData* field_;
  const uint8_t* tim_;
  size_t block_ = kUnstarted;
  TermBlockCursor cursor_;
  std::string term_;
  TermState state_;
};

class PostingsIteratorImpl final : public PostingsIterator {
 public:
  PostingsIteratorImpl(const FieldMeta& field, const TermState& state, const uint8_t* doc_file,
                       const uint8_t* pos_file, bool positions)
      : df_(state.doc_freq),
        num_blocks_((state.doc_freq + kBlockSize - 1) / kBlockSize),
        freqs_(HasFreqs(field.info.index_options)),
        total_positions_(state.total_term_freq) {
    const uint8_t* p = doc_file + (df_ == 1 ? 0 : state.doc_offset);
    singleton_doc_ = static_cast<uint32_t>(state.doc_offset);
    if (num_blocks_ > 1) {
      skip_ = p;
      p += num_blocks_ * kSkipEntrySize;
      const uint32_t impacts_size = GetFixed32(p);
      p += 4;
      impacts_ = p;
      p += impacts_size;
      num_term_impacts_ = DecodeImpacts(impacts_, term_impacts_);
    } else {
      // One block: the term's (max freq, min norm) is its only impact.
      term_impacts_[0] = Impact{freqs_ ? state.max_freq : 1, state.min_norm};
      num_term_impacts_ = 1;
    }
    body_ = p;
    pos_base_ = positions ? pos_file + state.pos_offset : nullptr;
    pos_next_ = pos_base_;
  }

  uint32_t doc() const override { return doc_; }

  uint32_t NextDoc() override {
    if (idx_ + 1 < count_) {
      doc_ = docs_[++idx_];
    } else if (static_cast<uint32_t>(block_ + 1) < num_blocks_) {
      LoadBlock(block_ + 1);
      idx_ = 0;
      doc_ = docs_[0];
    } else {
      Exhaust();
    }
    return doc_;
  }

  std::span<const uint32_t> NextDocs() override {
    if (idx_ + 1 >= count_) {
      if (static_cast<uint32_t>(block_ + 1) >= num_blocks_) {
        Exhaust();
        return {};
      }
      LoadBlock(block_ + 1);
      idx_ = -1;
    }
    const int32_t first = idx_ + 1;  // not docs_ + idx_ + 1: docs_ - 1 is out of bounds
    std::span<const uint32_t> docs(docs_ + first, static_cast<size_t>(count_ - first));
    idx_ = count_ - 1;
    doc_ = docs_[idx_];
    return docs;
  }

  uint32_t Advance(uint32_t target) override {
    if (doc_ != kUnpositioned && doc_ >= target) return doc_;
    if (count_ == 0 || target > docs_[count_ - 1]) {
      // Skip whole blocks using the skip entries' last doc ids.
      uint32_t b = static_cast<uint32_t>(block_ + 1);
      if (skip_ != nullptr && b < num_blocks_ && LastDoc(b) < target) {
        // Leapfrogging mostly lands in the next block; search the rest only when it does not.
        ++b;
        uint32_t hi = num_blocks_;
        while (b < hi) {
          uint32_t mid = b + (hi - b) / 2;
          if (LastDoc(mid) < target) {
            b = mid + 1;
          } else {
            hi = mid;
          }
        }
      }
      if (b >= num_blocks_) return Exhaust();
      LoadBlock(b);
      idx_ = -1;
      if (target > docs_[count_ - 1]) return Exhaust();  // single block, past its end
    }
    int i = idx_ + 1;
    while (docs_[i] < target) ++i;
    idx_ = i;
    doc_ = docs_[i];
    return doc_;
  }

  uint32_t freq() const override {
    if (freqs_packed_ != nullptr) DecodeFreqs();
    return freqs_arr_[idx_];
  }

  uint32_t NextPosition() override {
    // Positions of docs passed over without reading them are skipped only now, lazily.
    if (freqs_packed_ != nullptr) DecodeFreqs();
    while (pos_doc_ < idx_) {
      pos_index_ += freqs_arr_[pos_doc_] - pos_consumed_;
      ++pos_doc_;
      pos_consumed_ = 0;
      pos_last_ = 0;
    }
    const int64_t chunk = static_cast<int64_t>(pos_index_ / kBlockSize);
    if (chunk != pos_chunk_) DecodePositionChunk(chunk);
    pos_last_ += pos_buf_[pos_index_ % kBlockSize];
    ++pos_index_;
    ++pos_consumed_;
    return pos_last_;
  }

  uint64_t cost() const override { return df_; }

  uint32_t ShallowAdvance(uint32_t target) override {
    if (skip_ == nullptr) {
      // One block: its bounds are the term's. Its last doc needs the block itself, which is
      // small (< 128 docs) and decoded by the next NextDoc/Advance anyway.
      if (block_ < 0) {
        LoadBlock(0);
        idx_ = -1;
      }
      shallow_ = target > docs_[count_ - 1] ? 1 : 0;
      return shallow_ == 0 ? docs_[count_ - 1] : kNoMoreDocs;
    }
    // Targets mostly move forward a little: start at the current block when it does not lie
    // past the target, and try it and the next before binary-searching the rest.
    uint32_t lo = 0;
    if (shallow_ < num_blocks_ && (shallow_ == 0 || LastDoc(shallow_ - 1) < target)) {
      // The block sought is shallow_ or a later one.
      if (LastDoc(shallow_) >= target) return ShallowAt(shallow_);
      lo = shallow_ + 1;
      if (lo < num_blocks_ && LastDoc(lo) >= target) return ShallowAt(lo);
    }
    uint32_t hi = num_blocks_;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (LastDoc(mid) < target) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return ShallowAt(lo);
  }

  // Impacts are freq and norm ascending: the last has the max freq, the first the min norm.
  // Without freqs the max freq is 0, as in TermState.
  uint32_t BlockMaxFreq() const override {
    std::span<const Impact> impacts = BlockImpacts();
    return impacts.empty() || !freqs_ ? 0 : impacts.back().freq;
  }
  uint8_t BlockMinNorm() const override {
    std::span<const Impact> impacts = BlockImpacts();
    return impacts.empty() ? 0 : impacts.front().norm;
  }
  std::span<const Impact> BlockImpacts() const override {
    if (shallow_ >= num_blocks_) return {};
    if (skip_ == nullptr) return TermImpacts();
    if (impacts_block_ != shallow_) {
      num_block_impacts_ = DecodeImpacts(
          impacts_ + GetFixed32(skip_ + shallow_ * kSkipEntrySize + kSkipImpacts), block_impacts_);
      impacts_block_ = shallow_;
    }
    return {block_impacts_, num_block_impacts_};
  }
  std::span<const Impact> TermImpacts() const override {
    return {term_impacts_, num_term_impacts_};
  }

 private:
  static constexpr uint32_t kUnpositioned = static_cast<uint32_t>(-1);

  // count:u8 (freq delta:varint norm:u8){count}; see PostingsWriter.
  static size_t DecodeImpacts(const uint8_t* p, Impact* out) {
    const size_t n = std::min<size_t>(*p++, kMaxImpacts);
    uint32_t freq = 0;
    for (size_t i = 0; i < n; ++i) {
      freq += GetVarint32(&p);
      out[i] = Impact{freq, *p++};
    }
    return n;
  }

  uint32_t LastDoc(uint32_t block) const { return GetFixed32(skip_ + block * kSkipEntrySize); }

  // Moves the shallow cursor to `block` (num_blocks_: past the end); its last doc.
  uint32_t ShallowAt(uint32_t block) {
    shallow_ = block;
    return block < num_blocks_ ? LastDoc(block) : kNoMoreDocs;
  }

  uint32_t Exhaust() {
    doc_ = kNoMoreDocs;
    idx_ = count_;  // NextDoc stays at the end
    block_ = static_cast<int32_t>(num_blocks_);
    return doc_;
  }

  void LoadBlock(uint32_t b) {
    if (df_ == 1) {  // a singleton: doc id and freq come from the term dictionary
      freqs_packed_ = nullptr;
      docs_[0] = singleton_doc_;
      freqs_arr_[0] = static_cast<uint32_t>(total_positions_);
      block_ = 0;
      count_ = 1;
      pos_doc_ = 0;
      pos_consumed_ = 0;
      pos_last_ = 0;
      return;
    }
    const uint8_t* p = body_;
    uint32_t base = 0;
    if (skip_ != nullptr) {
      p += GetFixed32(skip_ + b * kSkipEntrySize + 4);
      if (b > 0) base = LastDoc(b - 1) + 1;
    }
    const uint32_t n = b + 1 < num_blocks_ ? kBlockSize : df_ - b * kBlockSize;
    if (n == kBlockSize) {
      p += UnpackBlockPFor(p, docs_);
      for (int i = 0; i < kBlockSize; ++i) {
        base += docs_[i];
        docs_[i] = base;
        ++base;
      }
      if (freqs_) {
        freqs_packed_ = p;  // decoded on the first freq() of the block: counting needs none
      } else {
        freqs_packed_ = nullptr;
        std::fill_n(freqs_arr_, kBlockSize, 1);
      }
    } else {
      freqs_packed_ = nullptr;
      for (uint32_t i = 0; i < n; ++i) {
        uint64_t v = GetVarint(&p);
        if (freqs_) {
          base += static_cast<uint32_t>(v >> 1);
          freqs_arr_[i] = (v & 1) ? 1 : GetVarint32(&p);
        } else {
          base += static_cast<uint32_t>(v);
          freqs_arr_[i] = 1;
        }
        docs_[i] = base;
        ++base;
      }
    }
    block_ = static_cast<int32_t>(b);
    count_ = static_cast<int32_t>(n);
    if (pos_base_ != nullptr) {
      pos_doc_ = 0;
      pos_consumed_ = 0;
      pos_last_ = 0;
      if (skip_ != nullptr) {
        const uint8_t* entry = skip_ + b * kSkipEntrySize;
        pos_index_ = GetFixed32(entry + 12);
        const int64_t chunk = static_cast<int64_t>(pos_index_ / kBlockSize);
        if (chunk > pos_chunk_) {
          // Jump straight to the chunk holding the block's first position.
          pos_chunk_ = chunk - 1;
          pos_next_ = pos_base_ + GetFixed32(entry + 8);
        }
      }
    }
  }

  // The freqs of the current full block, stored as freq - 1.
  void DecodeFreqs() const {
    UnpackBlockPFor(freqs_packed_, freqs_arr_);
    for (int i = 0; i < kBlockSize; ++i) ++freqs_arr_[i];
    freqs_packed_ = nullptr;
  }

  // Decodes chunk `chunk` (> pos_chunk_) of the term's position stream into pos_buf_.
  void DecodePositionChunk(int64_t chunk) {
    while (pos_chunk_ + 1 < chunk) {  // skip whole packed chunks by their headers
      pos_next_ += PForBlockSize(pos_next_);
      ++pos_chunk_;
    }
    const uint64_t first = static_cast<uint64_t>(chunk) * kBlockSize;
    if (first + kBlockSize <= total_positions_) {
      pos_next_ += UnpackBlockPFor(pos_next_, pos_buf_);
    } else {
      for (uint64_t i = 0; i < total_positions_ - first; ++i) pos_buf_[i] = GetVarint32(&pos_next_);
    }
    pos_chunk_ = chunk;
  }

  const uint32_t df_;
  const uint32_t num_blocks_;
  const bool freqs_;
  uint32_t singleton_doc_ = 0;        // when df_ == 1: the doc (doc_offset holds it)
  const uint8_t* skip_ = nullptr;     // null for a single block
  const uint8_t* impacts_ = nullptr;  // the term's impacts, then the blocks' (multi-block)
  Impact term_impacts_[kMaxImpacts];
  size_t num_term_impacts_ = 0;
  mutable Impact block_impacts_[kMaxImpacts];  // of block impacts_block_
  mutable size_t num_block_impacts_ = 0;
  mutable uint32_t impacts_block_ = kUnpositioned;
  const uint8_t* body_ = nullptr;
  const uint8_t* pos_base_ = nullptr;

  uint32_t doc_ = kUnpositioned;
  int32_t block_ = -1;  // the decoded block
  int32_t count_ = 0;   // docs in it
  int32_t idx_ = -1;    // the current doc in it
  uint32_t shallow_ = 0;

  // Positions: the stream of the term is cut in chunks of 128 (see PostingsWriter).
  const uint64_t total_positions_;
  uint64_t pos_index_ = 0;   // the next position to read, as an index into the stream
  int64_t pos_chunk_ = -1;   // the chunk in pos_buf_
  const uint8_t* pos_next_;  // the start of chunk pos_chunk_ + 1
  int32_t pos_doc_ = 0;      // the doc of the block that pos_index_ is in
  uint32_t pos_consumed_ = 0;
  uint32_t pos_last_ = 0;

  uint32_t docs_[kBlockSize];
  mutable uint32_t freqs_arr_[kBlockSize];
  mutable const uint8_t* freqs_packed_ = nullptr;  // the block's freqs, not decoded yet
  uint32_t pos_buf_[kBlockSize];
};

std::atomic<uint64_t> next_reader_id{1};

// The last decompressed stored-fields block of this thread. An LZ4 block may be decompressed
// only up to the last doc asked for (`data` is the block's first `decoded` bytes).
struct StoredBlockCache {
  uint64_t reader_id = 0;
  uint32_t block = 0;
  std::string data;
  size_t decoded = 0;
  // Reused: ZSTD_decompress would allocate and initialize a context per call.
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{nullptr, ZSTD_freeDCtx};
};
thread_local StoredBlockCache stored_cache;

class SegmentReaderImpl final : public SegmentReader {
 public:
  SegmentReaderImpl(std::string name) : name_(std::move(name)) {}

  Status Init(const std::string& dir) {
    auto open = [&](std::string_view ext, std::unique_ptr<MappedFile>* out) -> Status {
      QD_ASSIGN_OR_RETURN(*out, MappedFile::Open(SegmentFilePath(dir, name_, ext)));
      size_ += (*out)->file_size();
      return Status::OK();
    };
    QD_RETURN_IF_ERROR(open(kSegmentInfoExt, &si_));
    QD_RETURN_IF_ERROR(open(kTermsExt, &tim_));
    QD_RETURN_IF_ERROR(open(kDocsExt, &doc_));
    QD_RETURN_IF_ERROR(open(kPositionsExt, &pos_));
    QD_RETURN_IF_ERROR(open(kNormsExt, &nrm_));
    QD_RETURN_IF_ERROR(open(kDocValuesExt, &dv_));
    QD_RETURN_IF_ERROR(open(kStoredExt, &fdt_));
    meta_ = DecodeSegmentMeta(si_->data(), si_->size());
    if (meta_.stored_codec != StoredFieldsCodec::kZstd &&
        meta_.stored_codec != StoredFieldsCodec::kLz4) {
      return Status::Corruption("unknown stored-fields codec in " + si_->path());
    }
    const uint32_t max_doc = meta_.max_doc;
    infos_.reserve(meta_.fields.size());
    for (size_t i = 0; i < meta_.fields.size(); ++i) {
      const FieldMeta& m = meta_.fields[i];
      FieldData& f = *fields_.emplace_back(std::make_unique<FieldData>());
      f.meta = &m;
      infos_.push_back(m.info);
      by_name_.emplace(m.info.name, i);
      if (m.num_terms > 0) {
        const uint8_t* p = tim_->data() + m.term_index_offset;
        f.block_offsets.reserve(m.num_term_blocks);
        f.block_first_terms.reserve(m.num_term_blocks);
        f.block_keys.reserve(m.num_term_blocks);
        for (uint64_t b = 0; b < m.num_term_blocks; ++b) {
          f.block_offsets.push_back(GetVarint(&p));
          f.block_first_terms.emplace_back(GetLengthPrefixed(&p));
          f.block_keys.push_back(BlockKey(f.block_first_terms.back()));
        }
      }
      if (m.info.norms) f.norms = nrm_->data() + m.norms_offset;
    }
    const uint8_t* p = dv_->data() + meta_.meta_offset;
    seq_no_ = PackedInts(p, max_doc);
    primary_term_ = PackedInts(seq_no_.end(), max_doc);
    version_ = PackedInts(primary_term_.end(), max_doc);
    return Status::OK();
  }

  const std::string& name() const override { return name_; }
  uint32_t max_doc() const override { return meta_.max_doc; }
  const std::vector<FieldInfo>& field_infos() const override { return infos_; }
  const FieldInfo* field_info(std::string_view field) const override {
    const FieldData* f = Find(field);
    return f ? &infos_[f->meta->info.number] : nullptr;
  }
  const FieldStats* field_stats(std::string_view field) const override {
    const FieldData* f = Find(field);
    return f && f->meta->num_terms > 0 ? &f->meta->stats : nullptr;
  }
  uint64_t size_in_bytes() const override { return size_; }

  std::optional<TermState> SeekExact(std::string_view field, std::string_view term) const override {
    const FieldData* f = Find(field);
    if (f == nullptr || f->meta->num_terms == 0) return std::nullopt;
    if (term < std::string_view(f->block_first_terms[0])) return std::nullopt;
    TermBlockCursor cursor;
    cursor.Reset(f, tim_->data(), FindBlock(*f, term));
    std::string current;
    TermState state;
    while (cursor.has_next()) {
      cursor.Next(&current, &state);
      int c = std::string_view(current).compare(term);
      if (c == 0) return state;
      if (c > 0) break;
    }
    return std::nullopt;
  }

  std::unique_ptr<TermsIterator> Terms(std::string_view field) const override {
    const FieldData* f = Find(field);
    if (f == nullptr || f->meta->num_terms == 0) return nullptr;
    return std::make_unique<TermsIteratorImpl>(f, tim_->data());
  }

  std::unique_ptr<PostingsIterator> Postings(const TermState& state,
                                             bool positions) const override {
    const FieldMeta& m = meta_.fields[state.field_number];
    return std::make_unique<PostingsIteratorImpl>(m, state, doc_->data(), pos_->data(),
                                                  positions && HasPositions(m.info.index_options));
  }
  std::optional<uint32_t> SingletonDoc(const TermState& state) const override {
    if (state.doc_freq != 1) return std::nullopt;
    return static_cast<uint32_t>(state.doc_offset);  // inlined by the term dictionary
  }

  std::span<const uint8_t> Norms(std::string_view field) const override {
    const FieldData* f = Find(field);
    if (f == nullptr || f->norms == nullptr) return {};
    return {f->norms, meta_.max_doc};
  }
  const NumericDocValues* Numeric(std::string_view field) const override {
    FieldData* f = Find(field);
    if (f == nullptr) return nullptr;
    std::call_once(f->dv_once, [&] { LoadDocValues(f); });
    return f->numeric.get();
  }
  const SortedSetDocValues* SortedSet(std::string_view field) const override {
    FieldData* f = Find(field);
    if (f == nullptr) return nullptr;
    std::call_once(f->dv_once, [&] { LoadDocValues(f); });
    return f->sorted_set.get();
  }

  Status Document(uint32_t doc, std::string* id, std::string* source) const override {
    if (doc >= meta_.max_doc) {
      return Status::InvalidArgument("doc " + std::to_string(doc) + " out of range in segment " +
                                     name_);
    }
    const uint8_t* index = fdt_->data() + meta_.stored_index_offset;
    uint32_t lo = 0, hi = meta_.stored_blocks;  // the last block whose first doc <= doc
    while (hi - lo > 1) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (GetFixed32(index + 4 * mid) <= doc) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    const uint32_t block_first = GetFixed32(index + 4 * lo);
    const uint8_t* p =
        fdt_->data() + GetFixed64(index + 4 * uint64_t{meta_.stored_blocks} + 8 * uint64_t{lo});
    const uint64_t raw = GetVarint(&p);
    const uint64_t compressed = GetVarint(&p);
    // Where `doc` starts and ends in the raw bytes, when the block records it (LZ4).
    uint64_t start = 0, needed = raw;
    if (meta_.stored_codec == StoredFieldsCodec::kLz4) {
      for (uint32_t d = block_first; d <= doc; ++d) {
        start = d == block_first ? 0 : needed;
        needed = GetVarint(&p);
      }
      for (uint32_t d = doc + 1, end = BlockEnd(lo); d < end; ++d) GetVarint(&p);
    }
    StoredBlockCache& cache = stored_cache;
    if (cache.reader_id != id_ || cache.block != lo || cache.decoded < needed) {
      cache.reader_id = 0;
      QD_RETURN_IF_ERROR(Decompress(p, compressed, raw, needed, &cache));
      cache.reader_id = id_;
      cache.block = lo;
    }
    p = reinterpret_cast<const uint8_t*>(cache.data.data());
    if (meta_.stored_codec == StoredFieldsCodec::kLz4) {
      p += start;
    } else {
      for (uint32_t d = block_first; d < doc; ++d) {
        GetLengthPrefixed(&p);
        GetLengthPrefixed(&p);
      }
    }
    id->assign(GetLengthPrefixed(&p));
    source->assign(GetLengthPrefixed(&p));
    return Status::OK();
  }

  // One past the last doc of stored-fields block `block`.
  uint32_t BlockEnd(uint32_t block) const {
    if (block + 1 == meta_.stored_blocks) return meta_.max_doc;
    return GetFixed32(fdt_->data() + meta_.stored_index_offset + 4 * (block + 1));
  }

  // Decompresses at least the first `needed` of the block's `raw` bytes (all of them for zstd)
  // from the `compressed` bytes at `p` into `cache`.
  Status Decompress(const uint8_t* p, uint64_t compressed, uint64_t raw, uint64_t needed,
                    StoredBlockCache* cache) const {
    cache->data.resize(raw);
    if (meta_.stored_codec == StoredFieldsCodec::kLz4) {
      int n = LZ4_decompress_safe_partial(reinterpret_cast<const char*>(p), cache->data.data(),
                                          static_cast<int>(compressed), static_cast<int>(needed),
                                          static_cast<int>(raw));
      if (n < 0 || static_cast<uint64_t>(n) < needed) {
        return Status::Corruption("cannot decompress stored fields block in " + fdt_->path());
      }
      cache->decoded = static_cast<size_t>(n);
      return Status::OK();
    }
    if (cache->dctx == nullptr) {
      cache->dctx.reset(ZSTD_createDCtx());
      if (cache->dctx == nullptr) return Status::Internal("cannot create a zstd context");
    }
    size_t n = ZSTD_decompressDCtx(cache->dctx.get(), cache->data.data(), raw, p, compressed);
    if (ZSTD_isError(n) || n != raw) {
      return Status::Corruption("cannot decompress stored fields block in " + fdt_->path());
    }
    cache->decoded = raw;
    return Status::OK();
  }

  DocMeta Meta(uint32_t doc) const override {
    DocMeta m;
    m.seq_no = seq_no_.Get(doc);
    m.primary_term = primary_term_.Get(doc);
    m.version = version_.Get(doc);
    return m;
  }

 private:
  FieldData* Find(std::string_view field) const {
    auto it = by_name_.find(field);
    return it == by_name_.end() ? nullptr : fields_[it->second].get();
  }

  // Runs once per field (under its once_flag).
  void LoadDocValues(FieldData* f) const {
    const FieldMeta& m = *f->meta;
    const uint8_t* dv = dv_->data();
    if (m.info.doc_values == DocValuesType::kSortedNumeric) {
      f->numeric = std::make_unique<NumericView>(dv + m.dv_a, dv + m.dv_b, meta_.max_doc);
    } else if (m.info.doc_values == DocValuesType::kSortedSet) {
      f->sorted_set =
          std::make_unique<SortedSetView>(reinterpret_cast<const uint32_t*>(dv + m.dv_a),
                                          reinterpret_cast<const char*>(dv + m.dv_b), m.value_count,
                                          dv + m.dv_c, dv + m.dv_d, meta_.max_doc);
    }
  }

  const std::string name_;
  const uint64_t id_ = next_reader_id.fetch_add(1);
  std::unique_ptr<MappedFile> si_, tim_, doc_, pos_, nrm_, dv_, fdt_;
  uint64_t size_ = 0;
  SegmentMeta meta_;
  std::vector<std::unique_ptr<FieldData>> fields_;  // FieldData holds a once_flag: not movable
  PackedInts seq_no_, primary_term_, version_;
  std::vector<FieldInfo> infos_;
  std::unordered_map<std::string_view, size_t> by_name_;  // views of meta_'s names
};

}  // namespace

bool PrefixSuccessor(std::string_view prefix, std::string* out) {
  out->assign(prefix);
  while (!out->empty() && static_cast<unsigned char>(out->back()) == 0xff) out->pop_back();
  if (out->empty()) return false;
  out->back() = static_cast<char>(static_cast<unsigned char>(out->back()) + 1);
  return true;
}

Result<std::shared_ptr<const SegmentReader>> SegmentReader::Open(const std::string& dir,
                                                                 const std::string& name) {
  auto reader = std::make_shared<SegmentReaderImpl>(name);
  QD_RETURN_IF_ERROR(reader->Init(dir));
  return std::shared_ptr<const SegmentReader>(std::move(reader));
}

}  // namespace quidditch::engine
