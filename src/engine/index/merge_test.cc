#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/index/segment.h"
#include "engine/index/segment_test_util.h"

namespace quidditch::engine {
namespace {

using testing_internal::CheckAgainstReference;
using testing_internal::DocGenerator;
using testing_internal::RefIndex;
using testing_internal::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::shared_ptr<const SegmentReader> Build(const std::vector<ParsedDocument>& docs,
                                           const std::vector<DocMeta>& metas,
                                           const std::string& dir, const std::string& name,
                                           StoredFieldsCodec codec = StoredFieldsCodec::kLz4) {
  SegmentBuilder builder;
  for (size_t i = 0; i < docs.size(); ++i) builder.AddDocument(docs[i], metas[i]);
  Status s = builder.Write(dir, name, codec);
  EXPECT_TRUE(s.ok()) << s;
  auto r = SegmentReader::Open(dir, name);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

struct MergeCase {
  std::vector<uint32_t> sizes;
  int delete_one_in;  // 0: no LiveDocs; 1: everything of the first source deleted
};

class MergeTest : public ::testing::TestWithParam<MergeCase> {};

// Builds segments, deletes docs, merges, and checks the result against (a) the reference of
// the surviving docs and (b) a segment built directly from them: every file byte-identical.
TEST_P(MergeTest, MergedEqualsBuiltFromLiveDocs) {
  const MergeCase& c = GetParam();
  DocGenerator gen(static_cast<uint32_t>(c.sizes.size() * 131 + c.delete_one_in));
  TempDir dir;
  std::vector<std::shared_ptr<const SegmentReader>> readers;
  std::vector<std::unique_ptr<LiveDocs>> lives;
  std::vector<MergeSource> sources;
  RefIndex survivors;
  std::vector<ParsedDocument> live_docs;
  std::vector<DocMeta> live_metas;
  for (size_t s = 0; s < c.sizes.size(); ++s) {
    std::vector<ParsedDocument> docs;
    std::vector<DocMeta> metas;
    for (uint32_t i = 0; i < c.sizes[s]; ++i) {
      docs.push_back(gen.Next());
      metas.push_back(gen.Meta());
    }
    readers.push_back(Build(docs, metas, dir.path(), "src" + std::to_string(s)));
    ASSERT_NE(readers.back(), nullptr);
    std::unique_ptr<LiveDocs> live;
    if (c.delete_one_in > 0) {
      live = std::make_unique<LiveDocs>(c.sizes[s]);
      for (uint32_t d = 0; d < c.sizes[s]; ++d) {
        bool del = (c.delete_one_in == 1 && s == 0) ||
                   (c.delete_one_in > 1 && gen.rng()() % c.delete_one_in == 0);
        if (del) live->Delete(d);
      }
    }
    for (uint32_t d = 0; d < c.sizes[s]; ++d) {
      if (live == nullptr || live->IsLive(d)) {
        survivors.Add(docs[d], metas[d]);
        live_docs.push_back(docs[d]);
        live_metas.push_back(metas[d]);
      }
    }
    sources.push_back({readers.back(), live.get()});
    lives.push_back(std::move(live));
  }
  ASSERT_FALSE(live_docs.empty());
  Status s = MergeSegments(sources, dir.path(), "merged");
  ASSERT_TRUE(s.ok()) << s;
  auto merged = SegmentReader::Open(dir.path(), "merged");
  ASSERT_TRUE(merged.ok()) << merged.status();
  CheckAgainstReference(**merged, survivors, 77);

  auto direct = Build(live_docs, live_metas, dir.path(), "direct");
  ASSERT_NE(direct, nullptr);
  for (std::string ext : {"si", "tim", "doc", "pos", "nrm", "dv", "fdt"}) {
    EXPECT_EQ(ReadFile(dir.path() + "/merged." + ext), ReadFile(dir.path() + "/direct." + ext))
        << ext;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MergeTest,
                         ::testing::Values(MergeCase{{100, 50}, 0}, MergeCase{{300, 200}, 3},
                                           MergeCase{{129, 127, 128}, 5},
                                           MergeCase{{1000, 700}, 10}, MergeCase{{200, 300}, 1},
                                           MergeCase{{1, 1, 1, 1}, 0},
                                           MergeCase{{50, 60, 70, 80, 90}, 2}));

// Segments of either stored-fields codec merge into the codec asked for (an index's segments
// written before LZ4 was the default are zstd): the result is the segment built directly.
TEST(MergeSegmentsTest, RecompressesStoredFieldsInTheTargetCodec) {
  DocGenerator gen(9);
  std::vector<ParsedDocument> docs;
  std::vector<DocMeta> metas;
  for (int i = 0; i < 700; ++i) {
    docs.push_back(gen.Next());
    metas.push_back(gen.Meta());
  }
  const std::vector<ParsedDocument> first(docs.begin(), docs.begin() + 300);
  const std::vector<ParsedDocument> second(docs.begin() + 300, docs.end());
  const std::vector<DocMeta> first_metas(metas.begin(), metas.begin() + 300);
  const std::vector<DocMeta> second_metas(metas.begin() + 300, metas.end());
  for (StoredFieldsCodec target : {StoredFieldsCodec::kLz4, StoredFieldsCodec::kZstd}) {
    TempDir dir;
    auto a = Build(first, first_metas, dir.path(), "a", StoredFieldsCodec::kZstd);
    auto b = Build(second, second_metas, dir.path(), "b", StoredFieldsCodec::kLz4);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(MergeSegments({{a, nullptr}, {b, nullptr}}, dir.path(), "m", target).ok());
    auto direct = Build(docs, metas, dir.path(), "direct", target);
    ASSERT_NE(direct, nullptr);
    for (std::string ext : {"si", "fdt"}) {
      EXPECT_EQ(ReadFile(dir.path() + "/m." + ext), ReadFile(dir.path() + "/direct." + ext)) << ext;
    }
    auto merged = SegmentReader::Open(dir.path(), "m");
    ASSERT_TRUE(merged.ok()) << merged.status();
    std::string id, source;
    ASSERT_TRUE((*merged)->Document(650, &id, &source).ok());
    EXPECT_EQ(source, docs[650].source);
  }
}

TEST(MergeSegmentsTest, RejectsNoLiveDocsAndMismatchedLiveDocs) {
  DocGenerator gen(3);
  TempDir dir;
  auto r = Build({gen.Next(), gen.Next()}, {gen.Meta(), gen.Meta()}, dir.path(), "a");
  ASSERT_NE(r, nullptr);
  LiveDocs none(2);
  none.Delete(0);
  none.Delete(1);
  EXPECT_FALSE(MergeSegments({{r, &none}}, dir.path(), "m").ok());
  LiveDocs wrong(5);
  EXPECT_FALSE(MergeSegments({{r, &wrong}}, dir.path(), "m").ok());
  EXPECT_FALSE(MergeSegments({}, dir.path(), "m").ok());
}

}  // namespace
}  // namespace quidditch::engine
