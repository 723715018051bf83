// Test helpers for segments: random documents, a simple in-memory reference index built from
// them, and checks of a SegmentReader against the reference or against another reader.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/index/segment.h"
#include "engine/index/small_float.h"

namespace quidditch::engine::testing_internal {

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/qd_segment_XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct RefPosting {
  uint32_t doc;
  std::vector<uint32_t> positions;  // sorted
  uint32_t freq;
};

// The reference: what a segment of `docs` must contain.
struct RefIndex {
  std::vector<ParsedDocument> docs;
  std::vector<DocMeta> metas;
  std::map<std::string, FieldInfo> fields;  // first options seen
  std::map<std::string, std::map<std::string, std::vector<RefPosting>>> postings;
  std::map<std::string, std::vector<uint8_t>> norms;
  std::map<std::string, std::vector<std::vector<int64_t>>> numeric;
  std::map<std::string, std::vector<std::vector<std::string>>> sorted;

  void Add(const ParsedDocument& d, const DocMeta& m) {
    uint32_t doc = static_cast<uint32_t>(docs.size());
    docs.push_back(d);
    metas.push_back(m);
    for (auto& [name, n] : norms) n.push_back(0);
    for (auto& [name, v] : numeric) v.emplace_back();
    for (auto& [name, v] : sorted) v.emplace_back();
    for (const DocumentField& f : d.fields) {
      if (!fields.count(f.name)) {
        FieldInfo info;
        info.name = f.name;
        info.index_options = f.index_options;
        info.norms = f.norms && f.index_options != IndexOptions::kNone;
        info.doc_values = f.doc_values;
        fields[f.name] = info;
        norms[f.name].assign(doc + 1, 0);
        numeric[f.name].resize(doc + 1);
        sorted[f.name].resize(doc + 1);
      }
      const FieldInfo& info = fields[f.name];
      if (info.index_options != IndexOptions::kNone && !f.tokens.empty()) {
        auto& terms = postings[f.name];
        for (const Token& t : f.tokens) {
          auto& list = terms[t.term];
          if (list.empty() || list.back().doc != doc) list.push_back({doc, {}, 0});
          list.back().positions.push_back(t.position);
          list.back().freq++;
        }
        if (info.norms) norms[f.name][doc] = LengthToNorm(static_cast<uint32_t>(f.tokens.size()));
      }
      if (info.doc_values == DocValuesType::kSortedNumeric) {
        auto v = f.numeric_values;
        std::sort(v.begin(), v.end());
        numeric[f.name][doc] = v;
      }
      if (info.doc_values == DocValuesType::kSortedSet) {
        std::set<std::string> s(f.sorted_values.begin(), f.sorted_values.end());
        sorted[f.name][doc] = std::vector<std::string>(s.begin(), s.end());
      }
    }
    for (auto& [field, terms] : postings) {
      for (auto& [term, list] : terms) {
        if (!list.empty() && list.back().doc == doc) {
          std::sort(list.back().positions.begin(), list.back().positions.end());
        }
      }
    }
  }

  // Whether the field ends up in the segment: it has terms or doc values.
  bool FieldPresent(const std::string& name) const {
    auto it = postings.find(name);
    if (it != postings.end() && !it->second.empty()) return true;
    for (const auto& v : numeric.at(name)) {
      if (!v.empty()) return true;
    }
    for (const auto& v : sorted.at(name)) {
      if (!v.empty()) return true;
    }
    return false;
  }
};

// Random documents over a small vocabulary (so that many terms span several blocks).
class DocGenerator {
 public:
  explicit DocGenerator(uint32_t seed, int vocabulary = 60) : rng_(seed), vocab_(vocabulary) {}

  std::string Term() {
    // Skewed: low ranks are frequent.
    std::uniform_real_distribution<double> u(0, 1);
    int rank = static_cast<int>(std::pow(u(rng_), 3) * vocab_);
    return "t" + std::to_string(rank);
  }

  ParsedDocument Next() {
    ParsedDocument d;
    d.id = "id" + std::to_string(counter_++);
    d.source = R"({"n":)" + std::to_string(rng_() % 100000) + "}" + std::string(rng_() % 200, 'x');
    std::uniform_int_distribution<int> len(0, 40);
    {
      DocumentField body;
      body.name = "body";
      body.index_options = IndexOptions::kDocsFreqsPositions;
      body.norms = true;
      int n = len(rng_);
      uint32_t pos = 0;
      for (int i = 0; i < n; ++i) {
        pos += (rng_() % 4 == 0) ? 2 : 1;  // gaps as a stop filter leaves
        body.tokens.push_back({Term(), pos, 0, 0});
      }
      d.fields.push_back(body);
    }
    if (rng_() % 3 != 0) {
      DocumentField tag;
      tag.name = "tag";
      tag.index_options = IndexOptions::kDocs;
      tag.doc_values = DocValuesType::kSortedSet;
      int n = static_cast<int>(rng_() % 4);
      for (int i = 0; i < n; ++i) {
        std::string v = "tag" + std::to_string(rng_() % 20);
        tag.tokens.push_back({v, static_cast<uint32_t>(i), 0, 0});
        tag.sorted_values.push_back(v);
      }
      d.fields.push_back(tag);
    }
    if (rng_() % 4 != 0) {
      DocumentField num;
      num.name = "num";
      num.index_options = IndexOptions::kDocs;
      num.doc_values = DocValuesType::kSortedNumeric;
      int n = 1 + static_cast<int>(rng_() % 3);
      for (int i = 0; i < n; ++i) {
        int64_t v = static_cast<int64_t>(rng_() % 1000) - 500;
        num.tokens.push_back({EncodeSortableLong(v), 0, 0, 0});
        num.numeric_values.push_back(v);
      }
      d.fields.push_back(num);
    }
    if (rng_() % 10 == 0) {  // a sparse field with freqs and norms but no positions
      DocumentField f;
      f.name = "sparse";
      f.index_options = IndexOptions::kDocsFreqs;
      f.norms = true;
      int n = 1 + static_cast<int>(rng_() % 5);
      for (int i = 0; i < n; ++i) f.tokens.push_back({Term(), static_cast<uint32_t>(i), 0, 0});
      d.fields.push_back(f);
    }
    {
      DocumentField empty;  // present in every doc, never with a value: not written
      empty.name = "empty";
      empty.index_options = IndexOptions::kDocsFreqsPositions;
      empty.norms = true;
      d.fields.push_back(empty);
    }
    return d;
  }

  DocMeta Meta() {
    DocMeta m;
    m.seq_no = static_cast<int64_t>(counter_) * 3;
    m.primary_term = 1 + static_cast<int64_t>(rng_() % 3);
    m.version = static_cast<int64_t>(rng_() % 10) + 1;
    return m;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  int vocab_;
  uint64_t counter_ = 0;
};

// Checks one postings list end to end against the reference, with NextDoc, Advance and
// ShallowAdvance.
inline void CheckPostings(const SegmentReader& r, const FieldInfo& info, const TermState& state,
                          const std::vector<RefPosting>& ref, const std::vector<uint8_t>& norms,
                          std::mt19937& rng) {
  const bool freqs = info.index_options >= IndexOptions::kDocsFreqs;
  const bool positions = info.index_options == IndexOptions::kDocsFreqsPositions;
  ASSERT_EQ(state.doc_freq, ref.size());
  uint64_t ttf = 0;
  uint32_t max_freq = 0;
  uint8_t min_norm = 255;
  for (const RefPosting& p : ref) {
    ttf += freqs ? p.freq : 1;
    max_freq = std::max(max_freq, p.freq);
    min_norm = std::min(min_norm, norms.empty() ? uint8_t{0} : norms[p.doc]);
  }
  EXPECT_EQ(state.total_term_freq, ttf);
  EXPECT_EQ(state.max_freq, freqs ? max_freq : 0u);
  EXPECT_EQ(state.min_norm, info.norms ? min_norm : 0);

  // Full walk with NextDoc, reading a random number of positions of each doc.
  {
    auto it = r.Postings(state, positions);
    EXPECT_EQ(it->doc(), static_cast<uint32_t>(-1));
    EXPECT_EQ(it->cost(), ref.size());
    for (const RefPosting& p : ref) {
      ASSERT_EQ(it->NextDoc(), p.doc);
      ASSERT_EQ(it->doc(), p.doc);
      ASSERT_EQ(it->freq(), freqs ? p.freq : 1u);
      if (positions) {
        uint32_t k = static_cast<uint32_t>(rng() % (p.freq + 1));
        for (uint32_t i = 0; i < k; ++i) ASSERT_EQ(it->NextPosition(), p.positions[i]);
      }
    }
    EXPECT_EQ(it->NextDoc(), kNoMoreDocs);
    EXPECT_EQ(it->NextDoc(), kNoMoreDocs);
  }
  // Docs a block at a time (NextDocs), mixed with single steps and advances.
  {
    auto it = r.Postings(state, false);
    std::vector<uint32_t> got;
    while (true) {
      int step = static_cast<int>(rng() % 4);
      if (step == 0 && it->NextDoc() != kNoMoreDocs) {
        got.push_back(it->doc());
      } else if (step == 1 && !got.empty() && it->doc() != kNoMoreDocs &&
                 it->Advance(it->doc() + 1) != kNoMoreDocs) {
        got.push_back(it->doc());
      } else if (step >= 2) {
        std::span<const uint32_t> docs = it->NextDocs();
        if (docs.empty()) break;
        got.insert(got.end(), docs.begin(), docs.end());
        ASSERT_EQ(it->doc(), docs.back());
      }
    }
    std::vector<uint32_t> want;
    for (const RefPosting& p : ref) want.push_back(p.doc);
    ASSERT_EQ(got, want);
    EXPECT_EQ(it->doc(), kNoMoreDocs);
    EXPECT_TRUE(it->NextDocs().empty());
  }
  // Advance to random targets (including exact docs and block boundaries).
  {
    auto it = r.Postings(state, positions);
    uint32_t target = 0;
    while (true) {
      auto lb = std::lower_bound(ref.begin(), ref.end(), target,
                                 [](const RefPosting& p, uint32_t t) { return p.doc < t; });
      uint32_t got = it->Advance(target);
      if (lb == ref.end()) {
        ASSERT_EQ(got, kNoMoreDocs);
        break;
      }
      ASSERT_EQ(got, lb->doc) << "target " << target;
      ASSERT_EQ(it->freq(), freqs ? lb->freq : 1u);
      if (positions) {
        for (uint32_t pos : lb->positions) ASSERT_EQ(it->NextPosition(), pos);
      }
      if (rng() % 3 == 0) {  // mix in NextDoc
        ++lb;
        uint32_t next = it->NextDoc();
        if (lb == ref.end()) {
          ASSERT_EQ(next, kNoMoreDocs);
          break;
        }
        ASSERT_EQ(next, lb->doc);
      }
      uint32_t step = 1 + static_cast<uint32_t>(rng() % (rng() % 2 ? 3 : 400));
      target = it->doc() + step;
    }
  }
  // ShallowAdvance: block bounds of 128-doc blocks.
  {
    auto it = r.Postings(state, false);
    const size_t num_blocks = (ref.size() + 127) / 128;
    for (uint32_t target = 0;; target += 1 + static_cast<uint32_t>(rng() % 150)) {
      auto lb = std::lower_bound(ref.begin(), ref.end(), target,
                                 [](const RefPosting& p, uint32_t t) { return p.doc < t; });
      uint32_t got = it->ShallowAdvance(target);
      if (lb == ref.end()) {
        ASSERT_EQ(got, kNoMoreDocs);
        break;
      }
      size_t b = static_cast<size_t>(lb - ref.begin()) / 128;
      size_t end = std::min(ref.size(), (b + 1) * 128);
      ASSERT_LT(b, num_blocks);
      ASSERT_EQ(got, ref[end - 1].doc);
      uint32_t bmax = 0;
      uint8_t bmin = 255;
      for (size_t i = b * 128; i < end; ++i) {
        bmax = std::max(bmax, ref[i].freq);
        bmin = std::min(bmin, norms.empty() ? uint8_t{0} : norms[ref[i].doc]);
      }
      ASSERT_EQ(it->BlockMaxFreq(), freqs ? bmax : 0u);
      ASSERT_EQ(it->BlockMinNorm(), info.norms ? bmin : 0);
      // The impacts: at most kMaxImpacts, freq and norm strictly ascending, and every
      // posting of the block dominated by one of them (the bound is an upper bound).
      std::span<const Impact> impacts = it->BlockImpacts();
      ASSERT_FALSE(impacts.empty());
      ASSERT_LE(impacts.size(), 8u);
      for (size_t k = 1; k < impacts.size(); ++k) {
        ASSERT_LT(impacts[k - 1].freq, impacts[k].freq);
        ASSERT_LT(impacts[k - 1].norm, impacts[k].norm);
      }
      ASSERT_EQ(impacts.back().freq, freqs ? bmax : 1u);
      ASSERT_EQ(impacts.front().norm, info.norms ? bmin : 0);
      for (size_t i = b * 128; i < end; ++i) {
        const uint32_t f = freqs ? ref[i].freq : 1;
        const uint8_t n = norms.empty() ? uint8_t{0} : norms[ref[i].doc];
        bool dominated = false;
        for (const Impact& imp : impacts) dominated |= f <= imp.freq && n >= imp.norm;
        ASSERT_TRUE(dominated) << "block " << b << " posting " << i;
        dominated = false;
        for (const Impact& imp : it->TermImpacts()) dominated |= f <= imp.freq && n >= imp.norm;
        ASSERT_TRUE(dominated) << "term impacts, posting " << i;
      }
      // The shallow cursor does not move the doc cursor.
      ASSERT_EQ(it->doc(), static_cast<uint32_t>(-1));
      // A target behind the shallow cursor finds its block too (the cursor then moves back).
      if (rng() % 5 == 0) {
        const uint32_t back = static_cast<uint32_t>(rng() % (target + 1));
        auto blb = std::lower_bound(ref.begin(), ref.end(), back,
                                    [](const RefPosting& p, uint32_t t) { return p.doc < t; });
        const size_t bb = static_cast<size_t>(blb - ref.begin()) / 128;
        ASSERT_EQ(it->ShallowAdvance(back), ref[std::min(ref.size(), (bb + 1) * 128) - 1].doc)
            << "back to " << back << " from " << target;
      }
    }
  }
}

// Checks everything `r` holds against the reference.
inline void CheckAgainstReference(const SegmentReader& r, const RefIndex& ref, uint32_t seed) {
  std::mt19937 rng(seed);
  ASSERT_EQ(r.max_doc(), ref.docs.size());
  std::vector<std::string> present;
  for (const auto& [name, info] : ref.fields) {
    if (ref.FieldPresent(name)) present.push_back(name);
  }
  ASSERT_EQ(r.field_infos().size(), present.size());
  for (size_t i = 0; i < present.size(); ++i) {
    const FieldInfo& got = r.field_infos()[i];
    const FieldInfo& want = ref.fields.at(present[i]);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.number, i);
    EXPECT_EQ(got.index_options, want.index_options);
    EXPECT_EQ(got.norms, want.norms);
    EXPECT_EQ(got.doc_values, want.doc_values);
    EXPECT_EQ(r.field_info(want.name), &got);
  }
  for (const auto& [name, info] : ref.fields) {
    if (!ref.FieldPresent(name)) {
      EXPECT_EQ(r.field_info(name), nullptr) << name;
      EXPECT_EQ(r.Terms(name), nullptr) << name;
      EXPECT_EQ(r.field_stats(name), nullptr) << name;
    }
  }
  EXPECT_EQ(r.field_info("no such field"), nullptr);
  EXPECT_FALSE(r.SeekExact("no such field", "t1").has_value());

  for (const auto& [name, terms] : ref.postings) {
    const FieldInfo& info = ref.fields.at(name);
    const std::vector<uint8_t> norms = info.norms ? ref.norms.at(name) : std::vector<uint8_t>();
    // Stats.
    const FieldStats* stats = r.field_stats(name);
    ASSERT_NE(stats, nullptr) << name;
    std::set<uint32_t> docs;
    uint64_t sum_df = 0, sum_ttf = 0;
    for (const auto& [term, list] : terms) {
      sum_df += list.size();
      for (const RefPosting& p : list) {
        docs.insert(p.doc);
        sum_ttf += info.index_options >= IndexOptions::kDocsFreqs ? p.freq : 1;
      }
    }
    EXPECT_EQ(stats->doc_count, docs.size());
    EXPECT_EQ(stats->sum_doc_freq, sum_df);
    EXPECT_EQ(stats->sum_total_term_freq, sum_ttf);

    // Terms in order, with SeekExact agreeing.
    auto it = r.Terms(name);
    ASSERT_NE(it, nullptr);
    uint64_t ord = 0;
    for (const auto& [term, list] : terms) {
      ASSERT_TRUE(it->Next());
      ASSERT_EQ(it->term(), term);
      EXPECT_EQ(it->ord(), ord++);
      // This codec inlines every single-doc term in the dictionary.
      std::optional<uint32_t> singleton = r.SingletonDoc(it->state());
      ASSERT_EQ(singleton.has_value(), list.size() == 1) << term;
      if (singleton) {
        EXPECT_EQ(*singleton, list[0].doc) << term;
      }
      auto exact = r.SeekExact(name, term);
      ASSERT_TRUE(exact.has_value()) << term;
      EXPECT_EQ(exact->doc_offset, it->state().doc_offset);
      EXPECT_EQ(exact->doc_freq, it->state().doc_freq);
      EXPECT_EQ(exact->field_number, r.field_info(name)->number);
      CheckPostings(r, info, it->state(), list, norms, rng);
    }
    EXPECT_FALSE(it->Next());
    EXPECT_FALSE(it->Next());
    // Missing terms and SeekCeil.
    EXPECT_FALSE(r.SeekExact(name, "").has_value());
    EXPECT_FALSE(r.SeekExact(name, "t1x").has_value());
    EXPECT_FALSE(r.SeekExact(name, "\xff\xff").has_value());
    std::vector<std::string> targets = {"", "t", "t1", "t1x", "t5", "tag", "tag1", "\xff"};
    for (const auto& [term, list] : terms) {
      targets.push_back(term);
      targets.push_back(term + "a");
      if (!term.empty()) targets.push_back(term.substr(0, term.size() - 1));
    }
    for (const std::string& target : targets) {
      auto ceil = r.Terms(name);
      auto want = terms.lower_bound(target);
      bool found = ceil->SeekCeil(target);
      ASSERT_EQ(found, want != terms.end()) << target;
      if (!found) {
        EXPECT_FALSE(ceil->Next());
        continue;
      }
      ASSERT_EQ(ceil->term(), want->first);
      EXPECT_EQ(ceil->ord(), std::distance(terms.begin(), want));
      EXPECT_EQ(ceil->state().doc_freq, want->second.size());
      // Next continues from there.
      for (int k = 0; k < 3; ++k) {
        ++want;
        bool more = ceil->Next();
        ASSERT_EQ(more, want != terms.end());
        if (!more) break;
        ASSERT_EQ(ceil->term(), want->first);
      }
    }
    // One iterator seeking forward in steps (within a block and across blocks), then back.
    std::sort(targets.begin(), targets.end());
    auto moving = r.Terms(name);
    for (size_t k = 0; k < targets.size(); k += 1 + rng() % 3) {
      auto want = terms.lower_bound(targets[k]);
      ASSERT_EQ(moving->SeekCeil(targets[k]), want != terms.end()) << targets[k];
      if (want != terms.end()) {
        ASSERT_EQ(moving->term(), want->first);
        EXPECT_EQ(moving->ord(), std::distance(terms.begin(), want));
      }
    }
    if (!terms.empty()) {
      ASSERT_TRUE(moving->SeekCeil(""));
      ASSERT_EQ(moving->term(), terms.begin()->first);
    }
  }
  // Norms.
  for (const auto& [name, info] : ref.fields) {
    if (!ref.FieldPresent(name)) continue;
    for (uint32_t d = 0; d < ref.docs.size(); ++d) {
      ASSERT_EQ(r.Norm(name, d), info.norms ? ref.norms.at(name)[d] : 0) << name << " " << d;
    }
  }
  // Doc values.
  for (const auto& [name, info] : ref.fields) {
    if (!ref.FieldPresent(name)) continue;
    if (info.doc_values == DocValuesType::kSortedNumeric) {
      const NumericDocValues* dv = r.Numeric(name);
      ASSERT_NE(dv, nullptr);
      EXPECT_EQ(r.SortedSet(name), nullptr);
      for (uint32_t d = 0; d < ref.docs.size(); ++d) {
        auto v = dv->Values(d);
        ASSERT_EQ(std::vector<int64_t>(v.begin(), v.end()), ref.numeric.at(name)[d]);
      }
    } else if (info.doc_values == DocValuesType::kSortedSet) {
      const SortedSetDocValues* dv = r.SortedSet(name);
      ASSERT_NE(dv, nullptr);
      EXPECT_EQ(r.Numeric(name), nullptr);
      std::set<std::string> all;
      for (const auto& v : ref.sorted.at(name)) all.insert(v.begin(), v.end());
      ASSERT_EQ(dv->value_count(), all.size());
      uint32_t ord = 0;
      for (const std::string& v : all) {
        ASSERT_EQ(dv->LookupOrd(ord), v);
        ASSERT_EQ(dv->LookupTerm(v), ord);
        ++ord;
      }
      EXPECT_FALSE(dv->LookupTerm("zzz-missing").has_value());
      EXPECT_FALSE(dv->LookupTerm("").has_value());
      for (uint32_t d = 0; d < ref.docs.size(); ++d) {
        std::vector<std::string> got;
        uint32_t prev = 0;
        bool first = true;
        for (uint32_t o : dv->Ords(d)) {
          if (!first) {
            ASSERT_GT(o, prev);
          }
          first = false;
          prev = o;
          got.emplace_back(dv->LookupOrd(o));
        }
        ASSERT_EQ(got, ref.sorted.at(name)[d]);
      }
    } else {
      EXPECT_EQ(r.Numeric(name), nullptr);
      EXPECT_EQ(r.SortedSet(name), nullptr);
    }
  }
  // Stored fields and meta, in order and at random.
  std::string id, source;
  for (uint32_t d = 0; d < ref.docs.size(); ++d) {
    ASSERT_TRUE(r.Document(d, &id, &source).ok());
    ASSERT_EQ(id, ref.docs[d].id);
    ASSERT_EQ(source, ref.docs[d].source);
    DocMeta m = r.Meta(d);
    ASSERT_EQ(m.seq_no, ref.metas[d].seq_no);
    ASSERT_EQ(m.primary_term, ref.metas[d].primary_term);
    ASSERT_EQ(m.version, ref.metas[d].version);
  }
  for (int i = 0; i < 50; ++i) {
    uint32_t d = static_cast<uint32_t>(rng() % ref.docs.size());
    ASSERT_TRUE(r.Document(d, &id, &source).ok());
    ASSERT_EQ(id, ref.docs[d].id);
    ASSERT_EQ(source, ref.docs[d].source);
  }
  EXPECT_FALSE(r.Document(static_cast<uint32_t>(ref.docs.size()), &id, &source).ok());
}

}  // namespace quidditch::engine::testing_internal
