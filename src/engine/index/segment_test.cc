#include "engine/index/segment.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "engine/index/segment_file.h"
#include "engine/index/segment_format.h"
#include "engine/index/segment_test_util.h"
#include "engine/index/small_float.h"

namespace quidditch::engine {
namespace {

using testing_internal::CheckAgainstReference;
using testing_internal::DocGenerator;
using testing_internal::RefIndex;
using testing_internal::TempDir;

std::shared_ptr<const SegmentReader> BuildAndOpen(
    const RefIndex& ref, const std::string& dir, const std::string& name,
    StoredFieldsCodec codec = StoredFieldsCodec::kLz4) {
  SegmentBuilder builder;
  for (size_t i = 0; i < ref.docs.size(); ++i) {
    EXPECT_EQ(builder.AddDocument(ref.docs[i], ref.metas[i]), i);
  }
  EXPECT_EQ(builder.num_docs(), ref.docs.size());
  Status s = builder.Write(dir, name, codec);
  EXPECT_TRUE(s.ok()) << s;
  auto reader = SegmentReader::Open(dir, name);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? *reader : nullptr;
}

class RandomSegmentTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RandomSegmentTest, RoundTripMatchesReference) {
  const uint32_t num_docs = GetParam();
  DocGenerator gen(num_docs * 7919 + 1);
  RefIndex ref;
  for (uint32_t i = 0; i < num_docs; ++i) {
    ParsedDocument d = gen.Next();
    ref.Add(d, gen.Meta());
  }
  for (StoredFieldsCodec codec : {StoredFieldsCodec::kLz4, StoredFieldsCodec::kZstd}) {
    SCOPED_TRACE(codec == StoredFieldsCodec::kLz4 ? "lz4" : "zstd");
    TempDir dir;
    auto reader = BuildAndOpen(ref, dir.path(), "_0", codec);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->name(), "_0");
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) total += e.file_size();
    EXPECT_EQ(reader->size_in_bytes(), total);
    CheckAgainstReference(*reader, ref, num_docs);
  }
}

// Stored documents from empty to several blocks long, read in an order that jumps back and
// forth inside blocks (an LZ4 block is decompressed only up to the doc asked for) and across
// them, in both codecs.
TEST(SegmentTest, StoredFieldsOfAnySizeInAnyOrder) {
  std::mt19937 rng(17);
  RefIndex ref;
  for (uint32_t i = 0; i < 600; ++i) {
    ParsedDocument d;
    d.id = "id" + std::to_string(i);
    const size_t size = i % 97 == 5 ? 40000 + rng() % 20000 : rng() % (i % 3 ? 300 : 3000);
    for (size_t k = 0; k < size; ++k) d.source.push_back(static_cast<char>('a' + rng() % 4));
    ref.Add(d, DocMeta{});
  }
  std::vector<uint32_t> order(ref.docs.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (StoredFieldsCodec codec : {StoredFieldsCodec::kLz4, StoredFieldsCodec::kZstd}) {
    TempDir dir;
    auto reader = BuildAndOpen(ref, dir.path(), "seg", codec);
    ASSERT_NE(reader, nullptr);
    std::string id, source;
    for (uint32_t d : order) {
      ASSERT_TRUE(reader->Document(d, &id, &source).ok()) << d;
      ASSERT_EQ(id, ref.docs[d].id);
      ASSERT_EQ(source, ref.docs[d].source) << d;
    }
  }
}

// A segment info naming a stored-fields codec this build does not know (a newer format) is
// Corruption at open, not a misread of its documents.
TEST(SegmentTest, UnknownStoredFieldsCodecIsCorruption) {
  DocGenerator gen(13);
  RefIndex ref;
  for (int i = 0; i < 10; ++i) ref.Add(gen.Next(), gen.Meta());
  TempDir dir;
  ASSERT_NE(BuildAndOpen(ref, dir.path(), "seg"), nullptr);
  const std::string si = index_internal::SegmentFilePath(dir.path(), "seg", "si");
  std::string bytes;
  {
    std::ifstream in(si, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes.resize(bytes.size() - index_internal::kFooterSize);
  index_internal::SegmentMeta meta = index_internal::DecodeSegmentMeta(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  meta.stored_codec = static_cast<StoredFieldsCodec>(7);
  auto writer = index_internal::SegmentFileWriter::Create(si);  // with a valid checksum
  ASSERT_TRUE(writer.ok());
  index_internal::EncodeSegmentMeta(meta, (*writer)->buffer());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto reader = SegmentReader::Open(dir.path(), "seg");
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsCorruption()) << reader.status();
  EXPECT_NE(reader.status().message().find("unknown stored-fields codec"), std::string::npos);
}

// A segment-info record written before the stored-fields codec was recorded ends at
// stored_blocks; it decodes as zstd, the only codec of that time.
TEST(SegmentTest, SegmentInfoWithoutCodecIsZstd) {
  index_internal::SegmentMeta meta;
  meta.max_doc = 3;
  meta.stored_blocks = 1;
  meta.stored_codec = StoredFieldsCodec::kLz4;
  std::string bytes;
  index_internal::EncodeSegmentMeta(meta, &bytes);
  auto decode = [](const std::string& b) {
    return index_internal::DecodeSegmentMeta(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  };
  EXPECT_EQ(decode(bytes).stored_codec, StoredFieldsCodec::kLz4);
  bytes.pop_back();
  index_internal::SegmentMeta old = decode(bytes);
  EXPECT_EQ(old.stored_codec, StoredFieldsCodec::kZstd);
  EXPECT_EQ(old.max_doc, 3u);
  EXPECT_EQ(old.stored_blocks, 1u);
}

// Block boundaries (127/128/129 docs and multiples) and larger segments.
INSTANTIATE_TEST_SUITE_P(Sizes, RandomSegmentTest,
                         ::testing::Values(1, 2, 127, 128, 129, 255, 256, 257, 1000, 3000));

// Terms in every doc, every other doc and every 128th doc: dense blocks (bit width 0 deltas),
// exact block multiples, long skip lists.
// CompetitiveImpacts against brute force: uncapped it is exactly the set of undominated
// pairs; capped, every input pair stays dominated and the extremes are kept.
TEST(SegmentTest, CompetitiveImpactsMatchBruteForce) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<Impact> in(1 + rng() % 128);
    const uint32_t max_freq = 1 + rng() % (round % 2 ? 5 : 300);
    for (Impact& i : in) {
      i.freq = 1 + static_cast<uint32_t>(rng() % max_freq);
      i.norm = static_cast<uint8_t>(rng() % (round % 3 ? 256 : 8));
    }
    std::vector<Impact> want;
    for (const Impact& a : in) {
      bool dominated = false;
      for (const Impact& b : in) {
        dominated |= b.freq >= a.freq && b.norm <= a.norm && (b.freq > a.freq || b.norm < a.norm);
      }
      if (!dominated && std::find(want.begin(), want.end(), a) == want.end()) want.push_back(a);
    }
    std::sort(want.begin(), want.end(),
              [](const Impact& a, const Impact& b) { return a.freq < b.freq; });
    std::vector<Impact> got = in;
    index_internal::CompetitiveImpacts(&got, 1000);
    ASSERT_EQ(got, want) << round;

    const size_t cap = 1 + rng() % 8;
    got = in;
    index_internal::CompetitiveImpacts(&got, cap);
    ASSERT_LE(got.size(), cap);
    ASSERT_EQ(got.back().freq, want.back().freq);
    ASSERT_EQ(got.front().norm, want.front().norm);
    for (size_t k = 1; k < got.size(); ++k) {
      ASSERT_LT(got[k - 1].freq, got[k].freq);
      ASSERT_LT(got[k - 1].norm, got[k].norm);
    }
    for (const Impact& a : in) {
      bool dominated = false;
      for (const Impact& b : got) dominated |= a.freq <= b.freq && a.norm >= b.norm;
      ASSERT_TRUE(dominated) << round;
    }
  }
}

TEST(SegmentTest, DenseAndRegularPostings) {
  for (uint32_t num_docs : {127u, 128u, 129u, 256u, 384u, 385u, 5000u}) {
    RefIndex ref;
    for (uint32_t d = 0; d < num_docs; ++d) {
      ParsedDocument doc;
      doc.id = std::to_string(d);
      DocumentField f;
      f.name = "f";
      f.index_options = IndexOptions::kDocsFreqsPositions;
      f.norms = true;
      uint32_t pos = 0;
      f.tokens.push_back({"all", pos++, 0, 0});
      if (d % 2 == 0) f.tokens.push_back({"even", pos++, 0, 0});
      if (d % 128 == 5) f.tokens.push_back({"rare", pos++, 0, 0});
      for (uint32_t k = 0; k < d % 7; ++k) f.tokens.push_back({"all", pos++, 0, 0});
      if (d == num_docs - 1) f.tokens.push_back({"last", 1000000, 0, 0});
      doc.fields.push_back(f);
      ref.Add(doc, DocMeta{d, 1, 1});
    }
    TempDir dir;
    auto reader = BuildAndOpen(ref, dir.path(), "seg");
    ASSERT_NE(reader, nullptr);
    CheckAgainstReference(*reader, ref, num_docs);
  }
}

// Many blocks whose first terms share their first 8 bytes (the reader's block search key),
// shorter terms that pad with zero bytes to the same key, and terms with NUL bytes.
TEST(SegmentTest, TermsSharingLongPrefixes) {
  RefIndex ref;
  std::vector<std::string> terms = {
      "abcdefg", std::string("abcdefg\0", 8), std::string("abcdefg\0\0", 9), "abcdefgh", "abcdefgi",
      "b"};
  for (int i = 0; i < 400; ++i) terms.push_back("abcdefgh" + std::to_string(i * 7919 % 1000));
  for (int i = 0; i < 100; ++i) terms.push_back(std::string("abcdefg\0", 8) + std::to_string(i));
  for (uint32_t d = 0; d < terms.size(); ++d) {
    ParsedDocument doc;
    doc.id = std::to_string(d);
    DocumentField f;
    f.name = "f";
    f.index_options = IndexOptions::kDocs;
    f.tokens.push_back({terms[d], 0, 0, 0});
    f.tokens.push_back({terms[(d * 31) % terms.size()], 1, 0, 0});
    doc.fields.push_back(f);
    ref.Add(doc, DocMeta{d, 1, 1});
  }
  TempDir dir;
  auto reader = BuildAndOpen(ref, dir.path(), "seg");
  ASSERT_NE(reader, nullptr);
  CheckAgainstReference(*reader, ref, 11);
}

TEST(SegmentTest, FieldInSomeDocsAndUnsortedPositions) {
  RefIndex ref;
  for (uint32_t d = 0; d < 300; ++d) {
    ParsedDocument doc;
    doc.id = "d" + std::to_string(d);
    doc.source = "";
    if (d % 50 == 3) {
      DocumentField f;
      f.name = "rare_field";
      f.index_options = IndexOptions::kDocsFreqsPositions;
      f.norms = true;
      // Positions out of order: the segment keeps them sorted per doc.
      f.tokens.push_back({"b", 7, 0, 0});
      f.tokens.push_back({"a", 3, 0, 0});
      f.tokens.push_back({"b", 2, 0, 0});
      doc.fields.push_back(f);
    }
    if (d % 3 == 0) {
      DocumentField n;
      n.name = "only_dv";
      n.doc_values = DocValuesType::kSortedNumeric;
      n.numeric_values = {int64_t{d} * -1000, std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()};
      doc.fields.push_back(n);
    }
    // Metadata at the edges of the int64 range.
    DocMeta meta{d % 2 ? std::numeric_limits<int64_t>::max() - d : -1, 2,
                 d % 5 ? std::numeric_limits<int64_t>::min() : int64_t{d}};
    ref.Add(doc, meta);
  }
  TempDir dir;
  auto reader = BuildAndOpen(ref, dir.path(), "seg");
  ASSERT_NE(reader, nullptr);
  CheckAgainstReference(*reader, ref, 1);
  EXPECT_EQ(reader->Terms("only_dv"), nullptr);
  EXPECT_EQ(reader->Norm("rare_field", 4), 0);
  EXPECT_EQ(reader->Norm("rare_field", 3), 3);
}

// Every doc with exactly one value: the reader keeps no per-doc offsets for such columns.
TEST(SegmentTest, SingleValuedDocValues) {
  for (uint32_t num_docs : {1u, 300u}) {
    RefIndex ref;
    for (uint32_t d = 0; d < num_docs; ++d) {
      ParsedDocument doc;
      doc.id = std::to_string(d);
      DocumentField n;
      n.name = "n";
      n.index_options = IndexOptions::kDocs;
      n.doc_values = DocValuesType::kSortedNumeric;
      n.numeric_values = {static_cast<int64_t>(d * d) - 1000};
      n.tokens.push_back({EncodeSortableLong(n.numeric_values[0]), 0, 0, 0});
      doc.fields.push_back(n);
      DocumentField k;
      k.name = "k";
      k.index_options = IndexOptions::kDocs;
      k.doc_values = DocValuesType::kSortedSet;
      k.sorted_values = {"v" + std::to_string(d % 17)};
      k.tokens.push_back({k.sorted_values[0], 0, 0, 0});
      doc.fields.push_back(k);
      if (d % 2 == 0) {  // a column where only half the docs have one value
        DocumentField h;
        h.name = "half";
        h.doc_values = DocValuesType::kSortedNumeric;
        h.numeric_values = {7};
        doc.fields.push_back(h);
      }
      ref.Add(doc, DocMeta{d, 1, 1});
    }
    TempDir dir;
    auto reader = BuildAndOpen(ref, dir.path(), "seg");
    ASSERT_NE(reader, nullptr);
    CheckAgainstReference(*reader, ref, num_docs);
  }
}

// Norm() keeps a per-thread cache of the last field: interleaved readers and fields must not
// see each other's norms.
TEST(SegmentTest, NormsOfInterleavedReadersAndFields) {
  TempDir dir;
  std::vector<std::shared_ptr<const SegmentReader>> readers;
  for (uint32_t s = 0; s < 2; ++s) {
    SegmentBuilder builder;
    for (uint32_t d = 0; d < 10; ++d) {
      ParsedDocument doc;
      for (std::string name : {"a", "b"}) {
        DocumentField f;
        f.name = name;
        f.index_options = IndexOptions::kDocsFreqs;
        f.norms = true;
        uint32_t len = 1 + d + (name == "b" ? 5 : 0) + 3 * s;
        for (uint32_t i = 0; i < len; ++i) f.tokens.push_back({"x", i, 0, 0});
        doc.fields.push_back(f);
      }
      builder.AddDocument(doc, DocMeta{});
    }
    ASSERT_TRUE(builder.Write(dir.path(), "s" + std::to_string(s)).ok());
    readers.push_back(*SegmentReader::Open(dir.path(), "s" + std::to_string(s)));
  }
  for (uint32_t d = 0; d < 10; ++d) {
    for (uint32_t s = 0; s < 2; ++s) {
      EXPECT_EQ(readers[s]->Norm("a", d), LengthToNorm(1 + d + 3 * s));
      EXPECT_EQ(readers[s]->Norm("b", d), LengthToNorm(6 + d + 3 * s));
      EXPECT_EQ(readers[s]->Norm("c", d), 0);
    }
  }
  EXPECT_EQ(readers[0]->Norm("a", 10), 0);  // out of range
}

// One reader shared by threads: lazily decoded doc values, the per-thread stored-fields and
// norms caches and independent iterators give every thread the same answers.
TEST(SegmentTest, ConcurrentReaders) {
  DocGenerator gen(21);
  RefIndex ref;
  for (int i = 0; i < 1000; ++i) ref.Add(gen.Next(), gen.Meta());
  TempDir dir;
  auto reader = BuildAndOpen(ref, dir.path(), "seg");
  ASSERT_NE(reader, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string id, source;
      const NumericDocValues* num = reader->Numeric("num");
      const SortedSetDocValues* tags = reader->SortedSet("tag");
      if (num == nullptr || tags == nullptr) ++failures;
      for (int round = 0; round < 2; ++round) {
        for (uint32_t k = 0; k < ref.docs.size(); ++k) {
          uint32_t d = (k * 7919 + static_cast<uint32_t>(t) * 13) % ref.docs.size();
          if (!reader->Document(d, &id, &source).ok() || id != ref.docs[d].id ||
              source != ref.docs[d].source) {
            ++failures;
          }
          if (reader->Norm("body", d) != ref.norms.at("body")[d]) ++failures;
          auto v = num->Values(d);
          if (std::vector<int64_t>(v.begin(), v.end()) != ref.numeric.at("num")[d]) ++failures;
          if (tags->Ords(d).size() != ref.sorted.at("tag")[d].size()) ++failures;
        }
        for (const auto& [term, list] : ref.postings.at("body")) {
          auto state = reader->SeekExact("body", term);
          if (!state) {
            ++failures;
            continue;
          }
          auto it = reader->Postings(*state, true);
          for (const auto& p : list) {
            if (it->NextDoc() != p.doc || it->freq() != p.freq) ++failures;
            for (uint32_t pos : p.positions) {
              if (it->NextPosition() != pos) ++failures;
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ram_bytes_used() follows the heap the builder really holds (measured with mallinfo2).
TEST(SegmentTest, BuilderRamMatchesHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator does not report to mallinfo2()";
#endif
  DocGenerator gen(5);
  std::vector<ParsedDocument> docs;
  std::vector<DocMeta> metas;
  for (int i = 0; i < 3000; ++i) {
    docs.push_back(gen.Next());
    metas.push_back(gen.Meta());
  }
  // Allocated bytes: in the arena plus large blocks malloc maps separately.
  auto heap_now = [] {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  size_t heap_before = heap_now();
  auto builder = std::make_unique<SegmentBuilder>();
  EXPECT_EQ(builder->num_docs(), 0u);
  for (size_t i = 0; i < docs.size(); ++i) builder->AddDocument(docs[i], metas[i]);
  size_t heap = heap_now() - heap_before;
  size_t used = builder->ram_bytes_used();
  EXPECT_GT(used, heap * 8 / 10) << "heap " << heap;
  EXPECT_LT(used, heap * 12 / 10) << "heap " << heap;
  TempDir dir;
  SegmentBuilder none;
  EXPECT_FALSE(none.Write(dir.path(), "x").ok());
}

TEST(SegmentTest, WriteToMissingDirectoryFails) {
  SegmentBuilder builder;
  DocGenerator gen(6);
  builder.AddDocument(gen.Next(), gen.Meta());
  Status s = builder.Write("/nonexistent/dir/for/qd", "seg");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(SegmentReader::Open("/nonexistent/dir/for/qd", "seg").ok());
}

// A write that fails leaves no partial segment files.
TEST(SegmentTest, FailedWriteRemovesItsFiles) {
  SegmentBuilder builder;
  DocGenerator gen(7);
  builder.AddDocument(gen.Next(), gen.Meta());
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/seg.fdt");  // the last file cannot be created
  EXPECT_FALSE(builder.Write(dir.path(), "seg").ok());
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"seg.fdt"});
}

// Flipping any byte of any file, or cutting a file short, is Corruption naming the file.
TEST(SegmentTest, CorruptionIsDetectedInEveryFile) {
  DocGenerator gen(11);
  SegmentBuilder builder;
  for (int i = 0; i < 400; ++i) builder.AddDocument(gen.Next(), gen.Meta());
  TempDir dir;
  ASSERT_TRUE(builder.Write(dir.path(), "seg").ok());
  ASSERT_TRUE(SegmentReader::Open(dir.path(), "seg").ok());
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    files.push_back(e.path().string());
  }
  ASSERT_EQ(files.size(), 7u);
  for (const std::string& path : files) {
    std::string original;
    {
      std::ifstream in(path, std::ios::binary);
      original.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::vector<size_t> where = {0, original.size() / 2, original.size() - 1, original.size() - 10};
    for (size_t at : where) {
      std::string bad = original;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bad;
      }
      auto r = SegmentReader::Open(dir.path(), "seg");
      ASSERT_FALSE(r.ok()) << path << " @" << at;
      EXPECT_TRUE(r.status().IsCorruption()) << r.status();
      EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status();
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << original.substr(0, original.size() - 5);
    }
    auto r = SegmentReader::Open(dir.path(), "seg");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsCorruption()) << r.status();
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << original;
    }
    ASSERT_TRUE(SegmentReader::Open(dir.path(), "seg").ok());
  }
  std::filesystem::remove(files[0]);
  auto r = SegmentReader::Open(dir.path(), "seg");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
}

// The reader keeps working from its mappings after its files are deleted.
TEST(SegmentTest, ReaderOutlivesFiles) {
  DocGenerator gen(12);
  RefIndex ref;
  for (int i = 0; i < 300; ++i) ref.Add(gen.Next(), gen.Meta());
  std::shared_ptr<const SegmentReader> reader;
  {
    TempDir dir;
    reader = BuildAndOpen(ref, dir.path(), "seg");
  }
  ASSERT_NE(reader, nullptr);
  CheckAgainstReference(*reader, ref, 3);
}

}  // namespace
}  // namespace quidditch::engine
