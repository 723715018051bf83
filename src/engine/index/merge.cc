// MergeSegments: the live documents of several segments as a SegmentSource for the segment
// writer. Terms are merged k-way per field from the sources' term dictionaries; each term's
// postings are read, renumbered (deleted docs dropped) and handed to the writer, which
// recomputes the statistics, skip and block-max data. Norms, doc values, stored fields and
// metadata are copied per live doc. Because a built segment goes through the same writer, a
// merged segment is byte-for-byte the segment built directly from the live documents.
#include <algorithm>
#include <map>

#include "engine/index/segment.h"
#include "engine/index/segment_format.h"
#include "engine/index/segment_writer.h"

namespace quidditch::engine {

namespace {

using index_internal::NumericColumn;
using index_internal::PostingsData;
using index_internal::SortedSetColumn;

constexpr uint32_t kDeleted = std::numeric_limits<uint32_t>::max();

class MergingSource final : public index_internal::SegmentSource {
 public:
  explicit MergingSource(const std::vector<engine::MergeSource>& sources) : sources_(sources) {
    std::map<std::string, FieldInfo> seen;
    doc_maps_.resize(sources.size());
    for (size_t s = 0; s < sources.size(); ++s) {
      const SegmentReader& r = *sources[s].reader;
      for (const FieldInfo& f : r.field_infos()) {
        if (seen.emplace(f.name, f).second) fields_.push_back(f);
      }
      std::vector<uint32_t>& map = doc_maps_[s];
      map.resize(r.max_doc());
      for (uint32_t d = 0; d < r.max_doc(); ++d) {
        if (sources[s].live != nullptr && !sources[s].live->IsLive(d)) {
          map[d] = kDeleted;
        } else {
          map[d] = static_cast<uint32_t>(origin_source_.size());
          origin_source_.push_back(static_cast<uint32_t>(s));
          origin_doc_.push_back(d);
        }
      }
    }
  }

  uint32_t max_doc() const override { return static_cast<uint32_t>(origin_doc_.size()); }
  const std::vector<FieldInfo>& fields() const override { return fields_; }

  Status StartTerms(size_t field) override {
    field_ = &fields_[field];
    positions_ = index_internal::HasPositions(field_->index_options);
    terms_.clear();
    for (size_t s = 0; s < sources_.size(); ++s) {
      const SegmentReader& r = *sources_[s].reader;
      const FieldInfo* f = r.field_info(field_->name);
      if (f == nullptr || f->index_options == IndexOptions::kNone) continue;
      std::unique_ptr<TermsIterator> it = r.Terms(field_->name);
      if (it != nullptr && it->Next()) terms_.push_back({s, std::move(it)});
    }
    return Status::OK();
  }

  Result<bool> NextTerm(std::string* term, PostingsData* out) override {
    // k-way merge: k (the number of segments merged) is small, a linear scan finds the least.
    if (terms_.empty()) return false;
    std::string_view least = terms_[0].it->term();
    for (const TermCursor& c : terms_) least = std::min(least, c.it->term());
    term->assign(least);
    for (size_t i = 0; i < terms_.size();) {
      TermCursor& c = terms_[i];
      if (c.it->term() != *term) {
        ++i;
        continue;
      }
      const SegmentReader& r = *sources_[c.source].reader;
      const std::vector<uint32_t>& map = doc_maps_[c.source];
      // Positions only where the source field keeps them.
      bool positions =
          positions_ && index_internal::HasPositions(r.field_info(field_->name)->index_options);
      std::unique_ptr<PostingsIterator> p = r.Postings(c.it->state(), positions);
      for (uint32_t d = p->NextDoc(); d != kNoMoreDocs; d = p->NextDoc()) {
        uint32_t doc = map[d];
        if (doc == kDeleted) continue;
        uint32_t freq = p->freq();
        out->docs.push_back(doc);
        out->freqs.push_back(freq);
        if (positions_) {
          for (uint32_t k = 0; k < freq; ++k) {
            out->positions.push_back(positions ? p->NextPosition() : 0);
          }
        }
      }
      if (c.it->Next()) {
        ++i;
      } else {
        terms_.erase(terms_.begin() + static_cast<ptrdiff_t>(i));
      }
    }
    return true;
  }

  Status Norms(size_t field, std::vector<uint8_t>* norms) override {
    const std::string& name = fields_[field].name;
    for (uint32_t doc = 0; doc < max_doc(); ++doc) {
      (*norms)[doc] = sources_[origin_source_[doc]].reader->Norm(name, origin_doc_[doc]);
    }
    return Status::OK();
  }

  Status Numeric(size_t field, NumericColumn* column) override {
    const std::string& name = fields_[field].name;
    std::vector<const NumericDocValues*> dv(sources_.size());
    for (size_t s = 0; s < sources_.size(); ++s) dv[s] = sources_[s].reader->Numeric(name);
    column->offsets.reserve(max_doc() + 1);
    for (uint32_t doc = 0; doc < max_doc(); ++doc) {
      column->offsets.push_back(static_cast<uint32_t>(column->values.size()));
      const NumericDocValues* v = dv[origin_source_[doc]];
      if (v == nullptr) continue;
      auto values = v->Values(origin_doc_[doc]);
      column->values.insert(column->values.end(), values.begin(), values.end());
    }
    column->offsets.push_back(static_cast<uint32_t>(column->values.size()));
    return Status::OK();
  }

  Status SortedSet(size_t field, SortedSetColumn* column) override {
    const std::string& name = fields_[field].name;
    const size_t n = sources_.size();
    std::vector<const SortedSetDocValues*> dv(n);
    // The dictionary holds only the values of live docs, as a direct build would.
    std::vector<std::vector<bool>> used(n);
    for (size_t s = 0; s < n; ++s) {
      dv[s] = sources_[s].reader->SortedSet(name);
      if (dv[s] != nullptr) used[s].assign(dv[s]->value_count(), false);
    }
    for (uint32_t doc = 0; doc < max_doc(); ++doc) {
      uint32_t s = origin_source_[doc];
      if (dv[s] == nullptr) continue;
      for (uint32_t ord : dv[s]->Ords(origin_doc_[doc])) used[s][ord] = true;
    }
    for (size_t s = 0; s < n; ++s) {
      for (uint32_t ord = 0; ord < used[s].size(); ++ord) {
        if (used[s][ord]) column->dict.emplace_back(dv[s]->LookupOrd(ord));
      }
    }
    std::sort(column->dict.begin(), column->dict.end());
    column->dict.erase(std::unique(column->dict.begin(), column->dict.end()), column->dict.end());
    std::vector<std::vector<uint32_t>> ord_map(n);
    for (size_t s = 0; s < n; ++s) {
      ord_map[s].assign(used[s].size(), 0);
      for (uint32_t ord = 0; ord < used[s].size(); ++ord) {
        if (!used[s][ord]) continue;
        auto it = std::lower_bound(column->dict.begin(), column->dict.end(), dv[s]->LookupOrd(ord));
        ord_map[s][ord] = static_cast<uint32_t>(it - column->dict.begin());
      }
    }
    column->offsets.reserve(max_doc() + 1);
    for (uint32_t doc = 0; doc < max_doc(); ++doc) {
      column->offsets.push_back(static_cast<uint32_t>(column->ords.size()));
      uint32_t s = origin_source_[doc];
      if (dv[s] == nullptr) continue;
      // Ascending source ords map to ascending merged ords (both dictionaries are sorted).
      for (uint32_t ord : dv[s]->Ords(origin_doc_[doc])) column->ords.push_back(ord_map[s][ord]);
    }
    column->offsets.push_back(static_cast<uint32_t>(column->ords.size()));
    return Status::OK();
  }

  Status Document(uint32_t doc, std::string* id, std::string* source) override {
    return sources_[origin_source_[doc]].reader->Document(origin_doc_[doc], id, source);
  }

  DocMeta Meta(uint32_t doc) override {
    return sources_[origin_source_[doc]].reader->Meta(origin_doc_[doc]);
  }

 private:
  struct TermCursor {
    size_t source;
    std::unique_ptr<TermsIterator> it;
  };

  const std::vector<engine::MergeSource>& sources_;
  std::vector<FieldInfo> fields_;
  std::vector<std::vector<uint32_t>> doc_maps_;  // per source: old doc -> new doc or kDeleted
  std::vector<uint32_t> origin_source_;          // per new doc
  std::vector<uint32_t> origin_doc_;
  const FieldInfo* field_ = nullptr;
  bool positions_ = false;
  std::vector<TermCursor> terms_;
};

}  // namespace

Status MergeSegments(const std::vector<engine::MergeSource>& sources, const std::string& dir,
                     const std::string& name, StoredFieldsCodec codec) {
  for (const engine::MergeSource& s : sources) {
    if (s.reader == nullptr) return Status::InvalidArgument("merge source without a reader");
    if (s.live != nullptr && s.live->max_doc() != s.reader->max_doc()) {
      return Status::InvalidArgument("live docs of " + s.reader->name() +
                                     " do not match its max_doc");
    }
  }
  MergingSource source(sources);
  if (source.max_doc() == 0) return Status::InvalidArgument("merge without live documents");
  return index_internal::WriteSegment(&source, dir, name, codec);
}

}  // namespace quidditch::engine
