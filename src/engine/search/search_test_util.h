// Test helpers of the search module: real segments built from JSON documents through the
// mapping's ParseDocument, SegmentBuilder::Write and SegmentReader::Open in a temp dir.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/analysis/analyzer.h"
#include "engine/index/segment.h"
#include "engine/mapping/mapping.h"
#include "engine/search/searcher.h"

namespace quidditch::engine::search_testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("qd_search_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An index of several leaves built from JSON documents.
class TestIndex {
 public:
  explicit TestIndex(const nlohmann::json& mappings) {
    auto reg = AnalysisRegistry::Create(nlohmann::json::object());
    EXPECT_TRUE(reg.ok()) << reg.status();
    analysis_ = *reg;
    auto m = Mapping::FromJson(mappings, *analysis_);
    EXPECT_TRUE(m.ok()) << m.status();
    mapping_ = std::make_unique<Mapping>(*m);
  }

  // Adds one leaf made of `docs` (ids "<leaf>-<i>" unless the doc has "_id_" set).
  void AddLeaf(const std::vector<nlohmann::json>& docs) {
    SegmentBuilder builder;
    for (size_t i = 0; i < docs.size(); ++i) {
      nlohmann::json d = docs[i];
      std::string id = std::to_string(leaves_.size()) + "-" + std::to_string(i);
      if (d.contains("_id_")) {
        id = d["_id_"].get<std::string>();
        d.erase("_id_");
      }
      auto parsed = ParseDocument(*mapping_, *analysis_, id, d.dump());
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      if (!parsed.ok()) return;
      if (parsed->updated_mapping) *mapping_ = *parsed->updated_mapping;
      builder.AddDocument(parsed->doc, DocMeta{});
    }
    std::string name = "_" + std::to_string(leaves_.size());
    Status s = builder.Write(dir_.path(), name);
    EXPECT_TRUE(s.ok()) << s;
    auto reader = SegmentReader::Open(dir_.path(), name);
    EXPECT_TRUE(reader.ok()) << reader.status();
    Leaf leaf;
    leaf.reader = *reader;
    leaf.doc_base = next_base_;
    next_base_ += (*reader)->max_doc();
    leaves_.push_back(leaf);
  }

  void Delete(size_t leaf, uint32_t doc) {
    Leaf& l = leaves_[leaf];
    LiveDocs live = l.live ? *l.live : LiveDocs(l.reader->max_doc());
    live.Delete(doc);
    l.live = std::make_shared<const LiveDocs>(live);
  }

  SearchContext ctx() const {
    SearchContext c;
    c.leaves = &leaves_;
    c.mapping = mapping_.get();
    c.analysis = analysis_.get();
    c.now_millis = 1710498030000;  // 2024-03-15T10:20:30Z
    return c;
  }

  std::unique_ptr<Query> Parse(const nlohmann::json& dsl) const {
    auto q = ParseQuery(dsl, ctx());
    EXPECT_TRUE(q.ok()) << q.status() << " for " << dsl.dump();
    return q.ok() ? std::move(q).value() : nullptr;
  }

  // The ids of the hits of `dsl`, in order.
  std::vector<std::string> Ids(const nlohmann::json& dsl, size_t size = 100) const {
    auto q = Parse(dsl);
    if (q == nullptr) return {};
    SearchRequest req;
    req.query = q.get();
    req.size = size;
    auto top = Search(req, ctx());
    EXPECT_TRUE(top.ok()) << top.status();
    if (!top.ok()) return {};
    return IdsOf(*top);
  }

  std::vector<std::string> IdsOf(const TopDocs& top) const {
    std::vector<std::string> out;
    for (const Hit& h : top.hits) out.push_back(IdOf(h.leaf, h.doc));
    return out;
  }

  std::string IdOf(size_t leaf, uint32_t doc) const {
    std::string id, source;
    Status s = leaves_[leaf].reader->Document(doc, &id, &source);
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }

  const std::vector<Leaf>& leaves() const { return leaves_; }

 private:
  TempDir dir_;
  std::shared_ptr<const AnalysisRegistry> analysis_;
  std::unique_ptr<Mapping> mapping_;
  std::vector<Leaf> leaves_;
  uint32_t next_base_ = 0;
};

}  // namespace quidditch::engine::search_testing
