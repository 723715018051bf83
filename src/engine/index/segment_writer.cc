#include "engine/index/segment_writer.h"

#include <lz4.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <numeric>

#include "engine/index/coding.h"
#include "engine/index/segment_file.h"
#include "engine/index/segment_format.h"

namespace quidditch::engine::index_internal {

namespace {

struct Files {
  std::unique_ptr<SegmentFileWriter> si, tim, doc, pos, nrm, dv, fdt;
};

Status OpenFiles(const std::string& dir, const std::string& name, Files* f) {
  auto open = [&](std::string_view ext, std::unique_ptr<SegmentFileWriter>* out) -> Status {
    QD_ASSIGN_OR_RETURN(*out, SegmentFileWriter::Create(SegmentFilePath(dir, name, ext)));
    return Status::OK();
  };
  QD_RETURN_IF_ERROR(open(kSegmentInfoExt, &f->si));
  QD_RETURN_IF_ERROR(open(kTermsExt, &f->tim));
  QD_RETURN_IF_ERROR(open(kDocsExt, &f->doc));
  QD_RETURN_IF_ERROR(open(kPositionsExt, &f->pos));
  QD_RETURN_IF_ERROR(open(kNormsExt, &f->nrm));
  QD_RETURN_IF_ERROR(open(kDocValuesExt, &f->dv));
  QD_RETURN_IF_ERROR(open(kStoredExt, &f->fdt));
  return Status::OK();
}

// Writes the postings of one term to .doc/.pos and fills the statistics of `state`.
class PostingsWriter {
 public:
  PostingsWriter(SegmentFileWriter* doc, SegmentFileWriter* pos) : doc_(doc), pos_(pos) {}

  Status Write(const FieldInfo& info, const std::vector<uint8_t>& norms, const PostingsData& p,
               TermState* state) {
    const bool freqs = HasFreqs(info.index_options);
    const bool positions = HasPositions(info.index_options);
    const bool has_norms = HasNorms(info);
    const size_t df = p.docs.size();
    state->doc_freq = static_cast<uint32_t>(df);
    state->total_term_freq = 0;
    for (size_t i = 0; i < df; ++i) state->total_term_freq += freqs ? p.freqs[i] : 1;
    state->max_freq = 0;
    state->min_norm = 0;
    state->doc_offset = doc_->offset();
    state->pos_offset = pos_->offset();
    if (positions) QD_RETURN_IF_ERROR(WritePositions(p));

    const size_t num_blocks = (df + kBlockSize - 1) / kBlockSize;
    skip_.clear();
    body_.clear();
    impacts_.clear();
    if (num_blocks > 1) {
      // The term's competitive impacts come first, then each block's.
      CollectImpacts(p, norms, freqs, has_norms, 0, df);
      PutImpacts(pairs_, &impacts_);
    }
    uint64_t pos_index = 0;  // index of the block's first position in the term's stream
    uint8_t term_min_norm = 255;
    for (size_t b = 0; b < num_blocks; ++b) {
      const size_t start = b * kBlockSize;
      const size_t n = std::min<size_t>(kBlockSize, df - start);
      uint32_t block_max_freq = 0;
      uint8_t block_min_norm = 255;
      for (size_t i = start; i < start + n; ++i) {
        if (freqs) block_max_freq = std::max(block_max_freq, p.freqs[i]);
        if (has_norms) block_min_norm = std::min(block_min_norm, norms[p.docs[i]]);
      }
      if (!has_norms) block_min_norm = 0;
      term_min_norm = std::min(term_min_norm, block_min_norm);
      state->max_freq = std::max(state->max_freq, block_max_freq);
      const uint64_t pos_chunk = positions ? chunk_offsets_[pos_index / kBlockSize] : 0;
      if (pos_chunk > UINT32_MAX || body_.size() > UINT32_MAX || pos_index > UINT32_MAX) {
        return Status::Internal("postings of one term exceed 4 GiB");
      }
      PutFixed32(&skip_, p.docs[start + n - 1]);
      PutFixed32(&skip_, static_cast<uint32_t>(body_.size()));
      PutFixed32(&skip_, static_cast<uint32_t>(pos_chunk));
      PutFixed32(&skip_, positions ? static_cast<uint32_t>(pos_index) : 0);
      if (num_blocks > 1) {
        if (impacts_.size() > UINT32_MAX) return Status::Internal("impacts exceed 4 GiB");
        PutFixed32(&skip_, static_cast<uint32_t>(impacts_.size()));
        CollectImpacts(p, norms, freqs, has_norms, start, start + n);
        PutImpacts(pairs_, &impacts_);
      }
      for (size_t i = start; i < start + n; ++i) pos_index += freqs ? p.freqs[i] : 1;

      uint32_t prev = start == 0 ? 0 : p.docs[start - 1] + 1;  // doc ids minus one, as deltas
      if (n == kBlockSize) {
        for (size_t i = 0; i < n; ++i) {
          deltas_[i] = p.docs[start + i] - prev;
          prev = p.docs[start + i] + 1;
        }
        PackBlockPFor(deltas_, &body_);
        if (freqs) {
          for (size_t i = 0; i < n; ++i) deltas_[i] = p.freqs[start + i] - 1;
          PackBlockPFor(deltas_, &body_);
        }
      } else {
        // The last partial block: varints; with freqs, the low bit of the delta says freq == 1.
        for (size_t i = 0; i < n; ++i) {
          uint32_t delta = p.docs[start + i] - prev;
          prev = p.docs[start + i] + 1;
          if (freqs) {
            uint32_t f = p.freqs[start + i];
            PutVarint(&body_, (uint64_t{delta} << 1) | (f == 1 ? 1 : 0));
            if (f != 1) PutVarint(&body_, f);
          } else {
            PutVarint(&body_, delta);
          }
        }
      }
    }
    if (!freqs) state->max_freq = 0;
    state->min_norm = has_norms ? term_min_norm : 0;
    if (df == 1) {
      // Singletons (most terms) keep their doc id in the term dictionary instead.
      state->doc_offset = p.docs[0];
      return Status::OK();
    }
    // A single block needs no skip data: its bounds are the term's.
    if (num_blocks > 1) {
      doc_->Append(skip_);
      std::string size;
      PutFixed32(&size, static_cast<uint32_t>(impacts_.size()));
      doc_->Append(size);
      doc_->Append(impacts_);
    }
    doc_->Append(body_);
    return doc_->MaybeFlush();
  }

 private:
  // The term's position stream: per doc its first position, then deltas; cut into chunks of
  // 128 values, bit-packed, and the last partial chunk as varints. Records where each chunk
  // starts (relative to the term's position data) for the skip entries.
  Status WritePositions(const PostingsData& p) {
    chunk_offsets_.clear();
    std::string* out = pos_->buffer();
    const uint64_t base = pos_->offset();
    size_t k = 0;  // index into p.positions
    size_t filled = 0;
    for (size_t i = 0; i < p.docs.size(); ++i) {
      uint32_t last = 0;
      for (uint32_t j = 0; j < p.freqs[i]; ++j) {
        uint32_t position = p.positions[k++];
        deltas_[filled++] = position - last;
        last = position;
        if (filled == kBlockSize) {
          chunk_offsets_.push_back(pos_->offset() - base);
          PackBlockPFor(deltas_, out);
          filled = 0;
        }
      }
    }
    if (filled > 0) {
      chunk_offsets_.push_back(pos_->offset() - base);
      for (size_t i = 0; i < filled; ++i) PutVarint(out, deltas_[i]);
    }
    return pos_->MaybeFlush();
  }

  // Fills pairs_ with the competitive impacts of postings [begin, end).
  void CollectImpacts(const PostingsData& p, const std::vector<uint8_t>& norms, bool freqs,
                      bool has_norms, size_t begin, size_t end) {
    pairs_.clear();
    for (size_t i = begin; i < end; ++i) {
      pairs_.push_back(Impact{freqs ? p.freqs[i] : 1, has_norms ? norms[p.docs[i]] : uint8_t{0}});
    }
    CompetitiveImpacts(&pairs_, kMaxImpacts);
  }

  // count:u8 then per impact (freq ascending) varint(freq - previous freq) and the norm byte.
  static void PutImpacts(const std::vector<Impact>& impacts, std::string* out) {
    out->push_back(static_cast<char>(impacts.size()));
    uint32_t prev = 0;
    for (const Impact& i : impacts) {
      PutVarint(out, i.freq - prev);
      prev = i.freq;
      out->push_back(static_cast<char>(i.norm));
    }
  }

  SegmentFileWriter* doc_;
  SegmentFileWriter* pos_;
  std::vector<Impact> pairs_;
  std::string impacts_;
  std::string skip_;
  std::string body_;
  std::vector<uint64_t> chunk_offsets_;
  uint32_t deltas_[kBlockSize];
};

// Accumulates the prefix-compressed blocks of a field's term dictionary.
class TermDictWriter {
 public:
  TermDictWriter(SegmentFileWriter* tim, const FieldInfo& info) : tim_(tim), info_(info) {}

  Status Add(std::string_view term, const TermState& s) {
    if (in_block_ == kTermsPerBlock) QD_RETURN_IF_ERROR(FlushBlock());
    if (in_block_ == 0) {
      index_.emplace_back(0, std::string(term));
      prev_.clear();
      prev_doc_ = 0;
      prev_pos_ = 0;
    }
    size_t prefix = 0;
    size_t max_prefix = std::min(prev_.size(), term.size());
    while (prefix < max_prefix && prev_[prefix] == term[prefix]) ++prefix;
    PutVarint(&block_, prefix);
    PutLengthPrefixed(&block_, term.substr(prefix));
    PutVarint(&block_, s.doc_freq);
    if (HasFreqs(info_.index_options)) {
      PutVarint(&block_, s.total_term_freq - s.doc_freq);
      if (s.doc_freq > 1) PutVarint(&block_, s.max_freq);  // a singleton's is its ttf
    }
    if (HasNorms(info_)) block_.push_back(static_cast<char>(s.min_norm));
    if (s.doc_freq == 1) {
      PutVarint(&block_, s.doc_offset);  // a singleton's doc id, inlined (nothing in .doc)
    } else {
      PutVarint(&block_, s.doc_offset - prev_doc_);
      prev_doc_ = s.doc_offset;
    }
    if (HasPositions(info_.index_options)) PutVarint(&block_, s.pos_offset - prev_pos_);
    prev_.assign(term);
    prev_pos_ = s.pos_offset;
    ++in_block_;
    ++num_terms_;
    return Status::OK();
  }

  // Writes the last block and the block index; returns the index offset.
  Result<uint64_t> Finish() {
    if (in_block_ > 0) QD_RETURN_IF_ERROR(FlushBlock());
    uint64_t index_offset = tim_->offset();
    std::string* out = tim_->buffer();
    for (const auto& [offset, first] : index_) {
      PutVarint(out, offset);
      PutLengthPrefixed(out, first);
    }
    QD_RETURN_IF_ERROR(tim_->MaybeFlush());
    return index_offset;
  }

  uint64_t num_terms() const { return num_terms_; }
  uint64_t num_blocks() const { return index_.size(); }

 private:
  Status FlushBlock() {
    index_.back().first = tim_->offset();
    tim_->Append(block_);
    block_.clear();
    in_block_ = 0;
    return tim_->MaybeFlush();
  }

  SegmentFileWriter* tim_;
  const FieldInfo& info_;
  std::vector<std::pair<uint64_t, std::string>> index_;
  std::string block_;
  std::string prev_;
  uint64_t prev_doc_ = 0;
  uint64_t prev_pos_ = 0;
  int in_block_ = 0;
  uint64_t num_terms_ = 0;
};

void AppendU32Array(SegmentFileWriter* f, const std::vector<uint32_t>& v) {
  f->Append(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4));
}

// One stored-fields block: varint raw size, varint compressed size, [LZ4 only: varint end
// offset of each doc in the raw bytes, so that a reader decompresses only up to the doc it
// wants], then the compressed bytes of the docs' length-prefixed id and source.
Status WriteStoredFields(SegmentSource* source, SegmentFileWriter* fdt, StoredFieldsCodec codec,
                         SegmentMeta* meta) {
  std::vector<uint32_t> first_docs;
  std::vector<uint64_t> offsets;
  std::string raw;
  std::vector<uint32_t> doc_ends;  // in `raw`
  std::string compressed;
  uint32_t block_first = 0;
  std::string id, src;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(nullptr, ZSTD_freeCCtx);
  if (codec == StoredFieldsCodec::kZstd) {
    cctx.reset(ZSTD_createCCtx());
    if (cctx == nullptr) return Status::Internal("cannot create a zstd compression context");
  }
  auto compress = [&]() -> Result<size_t> {
    if (codec == StoredFieldsCodec::kLz4) {
      if (raw.size() > LZ4_MAX_INPUT_SIZE) {
        return Status::InvalidArgument("a stored-fields block of " + std::to_string(raw.size()) +
                                       " bytes is too large for LZ4");
      }
      compressed.resize(LZ4_compressBound(static_cast<int>(raw.size())));
      int n = LZ4_compress_default(raw.data(), compressed.data(), static_cast<int>(raw.size()),
                                   static_cast<int>(compressed.size()));
      if (n <= 0) return Status::Internal("LZ4 compression failed");
      return static_cast<size_t>(n);
    }
    compressed.resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compressCCtx(cctx.get(), compressed.data(), compressed.size(), raw.data(),
                                 raw.size(), 3);
    if (ZSTD_isError(n)) {
      return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    }
    return n;
  };
  auto flush = [&]() -> Status {
    QD_ASSIGN_OR_RETURN(size_t n, compress());
    first_docs.push_back(block_first);
    offsets.push_back(fdt->offset());
    PutVarint(fdt->buffer(), raw.size());
    PutVarint(fdt->buffer(), n);
    if (codec == StoredFieldsCodec::kLz4) {
      for (uint32_t e : doc_ends) PutVarint(fdt->buffer(), e);
    }
    fdt->Append(std::string_view(compressed.data(), n));
    raw.clear();
    doc_ends.clear();
    return fdt->MaybeFlush();
  };
  const uint32_t max_doc = source->max_doc();
  for (uint32_t doc = 0; doc < max_doc; ++doc) {
    if (raw.empty()) block_first = doc;
    QD_RETURN_IF_ERROR(source->Document(doc, &id, &src));
    PutLengthPrefixed(&raw, id);
    PutLengthPrefixed(&raw, src);
    doc_ends.push_back(static_cast<uint32_t>(raw.size()));
    if (raw.size() >= kStoredBlockSize || doc + 1 - block_first >= kStoredBlockDocs) {
      QD_RETURN_IF_ERROR(flush());
    }
  }
  if (!raw.empty()) QD_RETURN_IF_ERROR(flush());
  meta->stored_codec = codec;
  meta->stored_index_offset = fdt->offset();
  meta->stored_blocks = static_cast<uint32_t>(first_docs.size());
  AppendU32Array(fdt, first_docs);
  for (uint64_t o : offsets) PutFixed64(fdt->buffer(), o);
  return fdt->MaybeFlush();
}

}  // namespace

namespace {

Status WriteFiles(SegmentSource* source, const std::string& dir, const std::string& name,
                  StoredFieldsCodec codec) {
  Files files;
  QD_RETURN_IF_ERROR(OpenFiles(dir, name, &files));
  const uint32_t max_doc = source->max_doc();
  SegmentMeta meta;
  meta.max_doc = max_doc;

  const std::vector<FieldInfo>& fields = source->fields();
  std::vector<size_t> order(fields.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return fields[a].name < fields[b].name; });

  PostingsWriter postings(files.doc.get(), files.pos.get());
  std::vector<uint8_t> norms;
  std::vector<uint64_t> has_term;  // bitset of docs with a term in the field
  std::string term;
  PostingsData data;
  NumericColumn numeric;
  SortedSetColumn sorted_set;
  for (size_t i : order) {
    FieldMeta fm;
    fm.info = fields[i];
    fm.info.number = static_cast<uint32_t>(meta.fields.size());
    if (!HasNorms(fm.info)) fm.info.norms = false;
    norms.assign(max_doc, 0);
    if (fm.info.norms) QD_RETURN_IF_ERROR(source->Norms(i, &norms));
    if (fm.info.index_options != IndexOptions::kNone) {
      has_term.assign((max_doc + 63) / 64, 0);
      TermDictWriter dict(files.tim.get(), fm.info);
      QD_RETURN_IF_ERROR(source->StartTerms(i));
      while (true) {
        data.Clear();
        QD_ASSIGN_OR_RETURN(bool more, source->NextTerm(&term, &data));
        if (!more) break;
        if (data.docs.empty()) continue;
        if (!HasFreqs(fm.info.index_options)) data.freqs.assign(data.docs.size(), 1);
        TermState state;
        QD_RETURN_IF_ERROR(postings.Write(fm.info, norms, data, &state));
        QD_RETURN_IF_ERROR(dict.Add(term, state));
        for (uint32_t d : data.docs) has_term[d >> 6] |= uint64_t{1} << (d & 63);
        fm.stats.sum_doc_freq += state.doc_freq;
        fm.stats.sum_total_term_freq += state.total_term_freq;
      }
      if (dict.num_terms() > 0) {
        QD_ASSIGN_OR_RETURN(fm.term_index_offset, dict.Finish());
        fm.num_terms = dict.num_terms();
        fm.num_term_blocks = dict.num_blocks();
        for (uint64_t w : has_term) fm.stats.doc_count += static_cast<uint32_t>(std::popcount(w));
      }
    }
    bool has_dv = false;
    SegmentFileWriter* dv = files.dv.get();
    if (fm.info.doc_values == DocValuesType::kSortedNumeric) {
      numeric.offsets.clear();
      numeric.values.clear();
      QD_RETURN_IF_ERROR(source->Numeric(i, &numeric));
      has_dv = !numeric.values.empty();
      if (has_dv || fm.num_terms > 0) {
        std::vector<int64_t> counts(max_doc);
        for (uint32_t d = 0; d < max_doc; ++d)
          counts[d] = numeric.offsets[d + 1] - numeric.offsets[d];
        fm.dv_a = dv->offset();
        PutPackedInts(counts.data(), counts.size(), dv->buffer());
        fm.dv_b = dv->offset();
        PutPackedInts(numeric.values.data(), numeric.values.size(), dv->buffer());
        QD_RETURN_IF_ERROR(dv->MaybeFlush());
      }
    } else if (fm.info.doc_values == DocValuesType::kSortedSet) {
      sorted_set.dict.clear();
      sorted_set.offsets.clear();
      sorted_set.ords.clear();
      QD_RETURN_IF_ERROR(source->SortedSet(i, &sorted_set));
      has_dv = !sorted_set.ords.empty();
      if (has_dv || fm.num_terms > 0) {
        dv->Align(4);
        fm.value_count = static_cast<uint32_t>(sorted_set.dict.size());
        std::vector<uint32_t> dict_offsets;
        dict_offsets.reserve(sorted_set.dict.size() + 1);
        uint32_t total = 0;
        dict_offsets.push_back(0);
        for (const std::string& v : sorted_set.dict) {
          total += static_cast<uint32_t>(v.size());
          dict_offsets.push_back(total);
        }
        fm.dv_a = dv->offset();
        AppendU32Array(dv, dict_offsets);
        fm.dv_b = dv->offset();
        for (const std::string& v : sorted_set.dict) dv->Append(v);
        std::vector<int64_t> counts(max_doc);
        for (uint32_t d = 0; d < max_doc; ++d) {
          counts[d] = sorted_set.offsets[d + 1] - sorted_set.offsets[d];
        }
        fm.dv_c = dv->offset();
        PutPackedInts(counts.data(), counts.size(), dv->buffer());
        std::vector<int64_t> ords(sorted_set.ords.begin(), sorted_set.ords.end());
        fm.dv_d = dv->offset();
        PutPackedInts(ords.data(), ords.size(), dv->buffer());
        QD_RETURN_IF_ERROR(dv->MaybeFlush());
      }
    }
    if (fm.num_terms == 0 && !has_dv) continue;  // nothing of the field in this segment
    if (fm.info.norms) {
      fm.norms_offset = files.nrm->offset();
      files.nrm->Append(std::string_view(reinterpret_cast<const char*>(norms.data()), max_doc));
      QD_RETURN_IF_ERROR(files.nrm->MaybeFlush());
    }
    meta.fields.push_back(std::move(fm));
  }

  // _seq_no, _primary_term, _version: packed arrays, random access for O(1) Meta(doc).
  SegmentFileWriter* dv = files.dv.get();
  meta.meta_offset = dv->offset();
  {
    std::vector<int64_t> seq_no(max_doc), primary_term(max_doc), version(max_doc);
    for (uint32_t d = 0; d < max_doc; ++d) {
      DocMeta m = source->Meta(d);
      seq_no[d] = m.seq_no;
      primary_term[d] = m.primary_term;
      version[d] = m.version;
    }
    PutPackedInts(seq_no.data(), max_doc, dv->buffer());
    PutPackedInts(primary_term.data(), max_doc, dv->buffer());
    PutPackedInts(version.data(), max_doc, dv->buffer());
  }

  QD_RETURN_IF_ERROR(WriteStoredFields(source, files.fdt.get(), codec, &meta));

  EncodeSegmentMeta(meta, files.si->buffer());
  // The segment-info file last: a segment whose .si is complete has all its other files.
  QD_RETURN_IF_ERROR(files.tim->Finish());
  QD_RETURN_IF_ERROR(files.doc->Finish());
  QD_RETURN_IF_ERROR(files.pos->Finish());
  QD_RETURN_IF_ERROR(files.nrm->Finish());
  QD_RETURN_IF_ERROR(files.dv->Finish());
  QD_RETURN_IF_ERROR(files.fdt->Finish());
  return files.si->Finish();
}

}  // namespace

Status WriteSegment(SegmentSource* source, const std::string& dir, const std::string& name,
                    StoredFieldsCodec codec) {
  Status s = WriteFiles(source, dir, name, codec);
  if (!s.ok()) {
    // Leave no partial segment behind. Best effort: the write already failed, and a file that
    // cannot be removed is not referenced by any commit (the engine cleans such files at open).
    for (std::string_view ext : {kSegmentInfoExt, kTermsExt, kDocsExt, kPositionsExt, kNormsExt,
                                 kDocValuesExt, kStoredExt}) {
      ::unlink(SegmentFilePath(dir, name, ext).c_str());
    }
  }
  return s;
}

}  // namespace quidditch::engine::index_internal
