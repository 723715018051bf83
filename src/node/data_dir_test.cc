#include "node/data_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace quidditch::node {
namespace {

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "qd-datadir-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

TEST(DataDir, CreatesNestedDirectoryAndLocksIt) {
  std::string root = TempDir();
  std::string path = root + "/a/b";
  {
    Result<std::unique_ptr<DataDir>> dir = DataDir::Open(path);
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    Result<std::unique_ptr<DataDir>> second = DataDir::Open(path);
    EXPECT_TRUE(second.status().IsUnavailable()) << second.status();
    EXPECT_NE(second.status().message().find("in use by another quidditch process"),
              std::string::npos);
  }
  // Released with the first owner.
  EXPECT_TRUE(DataDir::Open(path).ok());
  std::filesystem::remove_all(root);
}

TEST(DataDir, UncreatableDirectoryIsAnIOError) {
  std::string root = TempDir();
  std::string file = root + "/file";
  {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
  }
  Result<std::unique_ptr<DataDir>> dir = DataDir::Open(file + "/sub");
  EXPECT_EQ(dir.status().code(), StatusCode::kIOError);
  EXPECT_NE(dir.status().message().find(file), std::string::npos);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace quidditch::node
