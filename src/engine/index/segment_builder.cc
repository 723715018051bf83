// SegmentBuilder: the indexing buffer. Per field, a hash map from term to a growing byte
// buffer of its postings (varint doc deltas and freqs; absolute positions), plus norms,
// doc values and the stored documents; Write() sorts the terms and hands everything to the
// segment writer.
#include <algorithm>
#include <unordered_map>

#include "engine/index/coding.h"
#include "engine/index/segment.h"
#include "engine/index/segment_format.h"
#include "engine/index/segment_writer.h"
#include "engine/index/small_float.h"

namespace quidditch::engine {

using index_internal::GetVarint32;
using index_internal::PutVarint;

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Heap bytes of a string beyond the object itself (libstdc++ keeps up to 15 chars inline).
size_t HeapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

struct TermBuf {
  std::string docs;       // (doc delta, freq) of every doc but the last
  std::string positions;  // absolute positions, freq of them per doc
  uint32_t last_doc = kNone;
  uint32_t last_freq = 0;
  uint32_t last_position = 0;
  bool positions_sorted = true;
};

// The terms of one field: an open-addressing hash table of indexes into a vector of entries.
// Hand-written instead of std::unordered_map, whose bucket -> node -> key chain costs about
// three cache misses per token and a ~150-byte node per term (no flat map is installed).
class TermTable {
 public:
  using Entry = std::pair<std::string, TermBuf>;

  // The entry of `term`, created if needed (*created then true). Valid until the next insert.
  Entry& FindOrInsert(const std::string& term, bool* created) {
    if (slots_.empty()) Rehash(1024);
    const uint64_t h = std::hash<std::string>{}(term);
    const uint64_t tag = h >> 32;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t slot = slots_[i];
      if (slot == 0) {
        entries_.emplace_back(term, TermBuf());
        hashes_.push_back(h);
        slots_[i] = (tag << 32) | entries_.size();
        *created = true;
        if (entries_.size() * 2 > slots_.size()) Rehash(slots_.size() * 2);
        return entries_.back();
      }
      if ((slot >> 32) == tag) {
        Entry& e = entries_[(slot & 0xffffffff) - 1];
        if (e.first == term) {
          *created = false;
          return e;
        }
      }
    }
  }

  size_t size() const { return entries_.size(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  // Bytes of the table and the entry objects (not the strings' heap buffers).
  size_t ram() const {
    return 8 * (slots_.capacity() + hashes_.capacity()) + sizeof(Entry) * entries_.capacity();
  }

 private:
  void Rehash(size_t size) {  // size: a power of two
    slots_.assign(size, 0);
    mask_ = size - 1;
    for (size_t k = 0; k < entries_.size(); ++k) {
      size_t i = hashes_[k] & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = ((hashes_[k] >> 32) << 32) | (k + 1);
    }
  }

  std::vector<uint64_t> slots_;  // 0: empty; else hash >> 32 in the high half, index + 1 low
  std::vector<Entry> entries_;
  std::vector<uint64_t> hashes_;  // per entry, for rehashing
  size_t mask_ = 0;
};

struct FieldBuf {
  FieldInfo info;
  TermTable terms;
  std::vector<uint8_t> norms;  // by doc; shorter than num_docs when the last docs lack it
  uint32_t length_doc = kNone;
  uint32_t length = 0;
  // Doc values: docs with values, the end of each doc's values, the values.
  std::vector<uint32_t> dv_docs;
  std::vector<uint32_t> dv_ends;
  std::vector<int64_t> numeric;
  std::vector<std::string> sorted;
};

}  // namespace

struct SegmentBuilder::Impl {
  std::vector<FieldBuf> fields;
  std::unordered_map<std::string, size_t> by_name;
  std::string stored;               // length-prefixed id and source of every doc
  std::vector<uint64_t> stored_at;  // where each doc starts in `stored`
  std::vector<DocMeta> metas;
  size_t ram = 0;

  FieldBuf& Field(const DocumentField& f) {
    auto it = by_name.find(f.name);
    if (it != by_name.end()) return fields[it->second];
    by_name.emplace(f.name, fields.size());
    FieldBuf& fb = fields.emplace_back();
    fb.info.name = f.name;
    fb.info.index_options = f.index_options;
    fb.info.norms = f.norms;
    fb.info.doc_values = f.doc_values;
    ram += 2 * (f.name.size() + 48);
    return fb;
  }

  void AddTerms(FieldBuf& fb, const DocumentField& f, uint32_t doc) {
    const bool freqs = index_internal::HasFreqs(fb.info.index_options);
    const bool positions = index_internal::HasPositions(fb.info.index_options);
    for (const Token& token : f.tokens) {
      bool created;
      TermTable::Entry& entry = fb.terms.FindOrInsert(token.term, &created);
      if (created) ram += HeapBytes(entry.first);
      TermBuf& t = entry.second;
      size_t before = HeapBytes(t.docs) + HeapBytes(t.positions);
      if (t.last_doc != doc) {
        if (t.last_doc != kNone) {
          PutVarint(&t.docs, t.last_doc);  // absolute doc ids; the writer re-encodes anyway
          if (freqs) PutVarint(&t.docs, t.last_freq);
        }
        t.last_doc = doc;
        t.last_freq = 0;
        t.last_position = 0;
      }
      ++t.last_freq;
      if (positions) {
        if (token.position < t.last_position) t.positions_sorted = false;
        t.last_position = token.position;
        PutVarint(&t.positions, token.position);
      }
      ram += HeapBytes(t.docs) + HeapBytes(t.positions) - before;
    }
  }
};

SegmentBuilder::SegmentBuilder() : impl_(std::make_unique<Impl>()) {}
SegmentBuilder::~SegmentBuilder() = default;

uint32_t SegmentBuilder::AddDocument(const ParsedDocument& doc, const DocMeta& meta) {
  Impl& im = *impl_;
  const uint32_t doc_id = static_cast<uint32_t>(im.metas.size());
  for (const DocumentField& f : doc.fields) {
    FieldBuf& fb = im.Field(f);
    if (fb.info.index_options != IndexOptions::kNone && !f.tokens.empty()) {
      im.AddTerms(fb, f, doc_id);
      if (index_internal::HasNorms(fb.info)) {
        if (fb.length_doc != doc_id) {
          fb.length_doc = doc_id;
          fb.length = 0;
        }
        fb.length += static_cast<uint32_t>(f.tokens.size());
        if (fb.norms.size() <= doc_id) fb.norms.resize(doc_id + 1, 0);
        fb.norms[doc_id] = LengthToNorm(fb.length);
      }
    }
    if (fb.info.doc_values == DocValuesType::kSortedNumeric && !f.numeric_values.empty()) {
      bool same_doc = !fb.dv_docs.empty() && fb.dv_docs.back() == doc_id;
      size_t start = same_doc ? (fb.dv_ends.size() > 1 ? fb.dv_ends[fb.dv_ends.size() - 2] : 0)
                              : fb.numeric.size();
      fb.numeric.insert(fb.numeric.end(), f.numeric_values.begin(), f.numeric_values.end());
      std::sort(fb.numeric.begin() + static_cast<ptrdiff_t>(start), fb.numeric.end());
      if (same_doc) {
        fb.dv_ends.back() = static_cast<uint32_t>(fb.numeric.size());
      } else {
        fb.dv_docs.push_back(doc_id);
        fb.dv_ends.push_back(static_cast<uint32_t>(fb.numeric.size()));
      }
    } else if (fb.info.doc_values == DocValuesType::kSortedSet && !f.sorted_values.empty()) {
      bool same_doc = !fb.dv_docs.empty() && fb.dv_docs.back() == doc_id;
      size_t start = same_doc ? (fb.dv_ends.size() > 1 ? fb.dv_ends[fb.dv_ends.size() - 2] : 0)
                              : fb.sorted.size();
      fb.sorted.insert(fb.sorted.end(), f.sorted_values.begin(), f.sorted_values.end());
      auto first = fb.sorted.begin() + static_cast<ptrdiff_t>(start);
      std::sort(first, fb.sorted.end());
      fb.sorted.erase(std::unique(first, fb.sorted.end()), fb.sorted.end());
      if (same_doc) {
        fb.dv_ends.back() = static_cast<uint32_t>(fb.sorted.size());
      } else {
        fb.dv_docs.push_back(doc_id);
        fb.dv_ends.push_back(static_cast<uint32_t>(fb.sorted.size()));
      }
      for (const std::string& v : f.sorted_values) im.ram += HeapBytes(v);
    }
  }
  size_t before = im.stored.size();
  im.stored_at.push_back(before);
  index_internal::PutLengthPrefixed(&im.stored, doc.id);
  index_internal::PutLengthPrefixed(&im.stored, doc.source);
  im.metas.push_back(meta);
  return doc_id;
}

uint32_t SegmentBuilder::num_docs() const { return static_cast<uint32_t>(impl_->metas.size()); }

size_t SegmentBuilder::ram_bytes_used() const {
  const Impl& im = *impl_;
  size_t total = sizeof(Impl) + im.ram + im.stored.capacity() + 8 * im.stored_at.capacity() +
                 sizeof(DocMeta) * im.metas.capacity() + im.fields.capacity() * sizeof(FieldBuf) +
                 im.by_name.bucket_count() * sizeof(void*);
  for (const FieldBuf& f : im.fields) {
    total += f.terms.ram() + f.norms.capacity() +
             4 * (f.dv_docs.capacity() + f.dv_ends.capacity()) + 8 * f.numeric.capacity() +
             sizeof(std::string) * f.sorted.capacity();
  }
  return total;
}

namespace {

// The indexing buffer as the writer's source.
class BuilderSource : public index_internal::SegmentSource {
 public:
  BuilderSource(const std::vector<FieldBuf>& fields, const std::string& stored,
                const std::vector<uint64_t>& stored_at, const std::vector<DocMeta>& metas)
      : fields_(fields), stored_(stored), stored_at_(stored_at), metas_(metas) {
    for (const FieldBuf& f : fields) infos_.push_back(f.info);
  }

  uint32_t max_doc() const override { return static_cast<uint32_t>(metas_.size()); }
  const std::vector<FieldInfo>& fields() const override { return infos_; }

  Status StartTerms(size_t field) override {
    field_ = &fields_[field];
    sorted_.clear();
    sorted_.reserve(field_->terms.size());
    for (const auto& entry : field_->terms) sorted_.push_back(&entry);
    std::sort(sorted_.begin(), sorted_.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    next_ = 0;
    return Status::OK();
  }

  Result<bool> NextTerm(std::string* term, index_internal::PostingsData* out) override {
    if (next_ == sorted_.size()) return false;
    const auto& [key, t] = *sorted_[next_++];
    term->assign(key);
    const bool freqs = index_internal::HasFreqs(field_->info.index_options);
    const bool positions = index_internal::HasPositions(field_->info.index_options);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(t.docs.data());
    const uint8_t* end = p + t.docs.size();
    while (p < end) {
      out->docs.push_back(GetVarint32(&p));
      out->freqs.push_back(freqs ? GetVarint32(&p) : 1);
    }
    out->docs.push_back(t.last_doc);
    out->freqs.push_back(freqs ? t.last_freq : 1);
    if (positions) {
      p = reinterpret_cast<const uint8_t*>(t.positions.data());
      for (uint32_t f : out->freqs) {
        size_t start = out->positions.size();
        for (uint32_t i = 0; i < f; ++i) out->positions.push_back(GetVarint32(&p));
        if (!t.positions_sorted) {
          std::sort(out->positions.begin() + static_cast<ptrdiff_t>(start), out->positions.end());
        }
      }
    }
    return true;
  }

  Status Norms(size_t field, std::vector<uint8_t>* norms) override {
    const std::vector<uint8_t>& n = fields_[field].norms;
    std::copy(n.begin(), n.end(), norms->begin());
    return Status::OK();
  }

  Status Numeric(size_t field, index_internal::NumericColumn* column) override {
    const FieldBuf& f = fields_[field];
    Offsets(f, &column->offsets);
    column->values = f.numeric;
    return Status::OK();
  }

  Status SortedSet(size_t field, index_internal::SortedSetColumn* column) override {
    const FieldBuf& f = fields_[field];
    Offsets(f, &column->offsets);
    column->dict = f.sorted;
    std::sort(column->dict.begin(), column->dict.end());
    column->dict.erase(std::unique(column->dict.begin(), column->dict.end()), column->dict.end());
    column->ords.reserve(f.sorted.size());
    for (const std::string& v : f.sorted) {
      auto it = std::lower_bound(column->dict.begin(), column->dict.end(), v);
      column->ords.push_back(static_cast<uint32_t>(it - column->dict.begin()));
    }
    return Status::OK();
  }

  Status Document(uint32_t doc, std::string* id, std::string* source) override {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(stored_.data()) + stored_at_[doc];
    id->assign(index_internal::GetLengthPrefixed(&p));
    source->assign(index_internal::GetLengthPrefixed(&p));
    return Status::OK();
  }

  DocMeta Meta(uint32_t doc) override { return metas_[doc]; }

 private:
  void Offsets(const FieldBuf& f, std::vector<uint32_t>* offsets) const {
    const uint32_t n = max_doc();
    offsets->assign(n + 1, 0);
    size_t k = 0;
    uint32_t end = 0;
    for (uint32_t d = 0; d < n; ++d) {
      (*offsets)[d] = end;
      if (k < f.dv_docs.size() && f.dv_docs[k] == d) end = f.dv_ends[k++];
    }
    (*offsets)[n] = end;
  }

  const std::vector<FieldBuf>& fields_;
  const std::string& stored_;
  const std::vector<uint64_t>& stored_at_;
  const std::vector<DocMeta>& metas_;
  std::vector<FieldInfo> infos_;
  const FieldBuf* field_ = nullptr;
  std::vector<const TermTable::Entry*> sorted_;
  size_t next_ = 0;
};

}  // namespace

Status SegmentBuilder::Write(const std::string& dir, const std::string& name,
                             StoredFieldsCodec codec) const {
  if (num_docs() == 0) return Status::InvalidArgument("cannot write an empty segment");
  BuilderSource source(impl_->fields, impl_->stored, impl_->stored_at, impl_->metas);
  return index_internal::WriteSegment(&source, dir, name, codec);
}

}  // namespace quidditch::engine
