#include "engine/index/segment_format.h"

#include <algorithm>
#include <array>
#include <limits>

#include "engine/index/coding.h"

namespace quidditch::engine::index_internal {

void EncodeSegmentMeta(const SegmentMeta& meta, std::string* out) {
  PutVarint(out, meta.max_doc);
  PutVarint(out, meta.fields.size());
  for (const FieldMeta& f : meta.fields) {
    PutLengthPrefixed(out, f.info.name);
    out->push_back(static_cast<char>(f.info.index_options));
    out->push_back(static_cast<char>(f.info.norms ? 1 : 0));
    out->push_back(static_cast<char>(f.info.doc_values));
    PutVarint(out, f.stats.doc_count);
    PutVarint(out, f.stats.sum_total_term_freq);
    PutVarint(out, f.stats.sum_doc_freq);
    PutVarint(out, f.num_terms);
    PutVarint(out, f.num_term_blocks);
    PutVarint(out, f.term_index_offset);
    PutVarint(out, f.norms_offset);
    PutVarint(out, f.dv_a);
    PutVarint(out, f.dv_b);
    PutVarint(out, f.dv_c);
    PutVarint(out, f.dv_d);
    PutVarint(out, f.value_count);
  }
  PutVarint(out, meta.meta_offset);
  PutVarint(out, meta.stored_index_offset);
  PutVarint(out, meta.stored_blocks);
  out->push_back(static_cast<char>(meta.stored_codec));
}

SegmentMeta DecodeSegmentMeta(const uint8_t* p, size_t size) {
  const uint8_t* const end = p + size;
  SegmentMeta meta;
  meta.max_doc = GetVarint32(&p);
  uint64_t n = GetVarint(&p);
  meta.fields.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    FieldMeta& f = meta.fields[i];
    f.info.name = std::string(GetLengthPrefixed(&p));
    f.info.number = static_cast<uint32_t>(i);
    f.info.index_options = static_cast<IndexOptions>(*p++);
    f.info.norms = *p++ != 0;
    f.info.doc_values = static_cast<DocValuesType>(*p++);
    f.stats.doc_count = GetVarint32(&p);
    f.stats.sum_total_term_freq = GetVarint(&p);
    f.stats.sum_doc_freq = GetVarint(&p);
    f.num_terms = GetVarint(&p);
    f.num_term_blocks = GetVarint(&p);
    f.term_index_offset = GetVarint(&p);
    f.norms_offset = GetVarint(&p);
    f.dv_a = GetVarint(&p);
    f.dv_b = GetVarint(&p);
    f.dv_c = GetVarint(&p);
    f.dv_d = GetVarint(&p);
    f.value_count = GetVarint32(&p);
  }
  meta.meta_offset = GetVarint(&p);
  meta.stored_index_offset = GetVarint(&p);
  meta.stored_blocks = GetVarint32(&p);
  if (p < end) meta.stored_codec = static_cast<StoredFieldsCodec>(*p++);
  return meta;
}

void CompetitiveImpacts(std::vector<Impact>* impacts, size_t max_size) {
  std::vector<Impact>& v = *impacts;
  // A pair is competitive when its freq beats that of every pair of lower or equal norm. The
  // highest freq per norm byte, then the norms in ascending order, find them in one pass:
  // no sort of the term's postings (a term-wide list has one pair per doc).
  std::array<uint32_t, 256> best{};  // 0: no pair with that norm (freqs are >= 1)
  for (const Impact& i : v) best[i.norm] = std::max(best[i.norm], i.freq);
  v.clear();
  for (int norm = 0; norm < 256; ++norm) {
    if (best[norm] > (v.empty() ? 0 : v.back().freq)) {
      v.push_back(Impact{best[norm], static_cast<uint8_t>(norm)});
    }
  }
  // Too many: merge the neighbours whose merge loosens the bound least. The loss is not
  // known without avgdl, so it is estimated by how far apart the pairs are (relative freq
  // step plus norm step); any choice stays an upper bound. Lists are short (a block has at
  // most 128 distinct pairs), so the quadratic scan is cheap.
  max_size = std::max<size_t>(max_size, 1);
  while (v.size() > max_size) {
    size_t best = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      double cost = static_cast<double>(v[i + 1].freq - v[i].freq) / v[i + 1].freq +
                    (v[i + 1].norm - v[i].norm) / 16.0;
      if (cost < best_cost) {
        best_cost = cost;
        best = i;
      }
    }
    v[best].freq = v[best + 1].freq;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

}  // namespace quidditch::engine::index_internal
