// Test helpers for the shard engine tests: a temporary data directory, opening an engine with
// test-friendly defaults, and collecting a snapshot's live documents.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/shard_engine.h"

namespace quidditch::engine::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ =
        std::filesystem::temp_directory_path() /
        ("qd_engine_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// Options with the background refresher and merger off, so that tests decide when.
inline EngineOptions TestOptions(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.settings = {{"index", {{"refresh_interval", "-1"}}}};
  o.background_merges = false;
  return o;
}

// id -> (source, meta) of every live document of `snap`, read from the leaves directly (what
// a match_all search returns). Fails the test on a duplicate id.
struct LiveDoc {
  std::string source;
  DocMeta meta;
};
inline std::map<std::string, LiveDoc> AllLiveDocs(const EngineSnapshot& snap) {
  std::map<std::string, LiveDoc> out;
  for (const Leaf& leaf : snap.leaves) {
    for (uint32_t d = 0; d < leaf.reader->max_doc(); ++d) {
      if (leaf.live && !leaf.live->IsLive(d)) continue;
      std::string id, source;
      Status s = leaf.reader->Document(d, &id, &source);
      EXPECT_TRUE(s.ok()) << s;
      bool inserted = out.emplace(id, LiveDoc{source, leaf.reader->Meta(d)}).second;
      EXPECT_TRUE(inserted) << "two live copies of " << id;
    }
  }
  return out;
}

}  // namespace quidditch::engine::testing
