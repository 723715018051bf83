#include <gtest/gtest.h>

#include "engine/index/segment.h"

namespace quidditch::engine {
namespace {

TEST(LiveDocsTest, DeleteCopyEncodeDecode) {
  LiveDocs live(1000);
  EXPECT_EQ(live.max_doc(), 1000u);
  EXPECT_EQ(live.num_deleted(), 0u);
  EXPECT_TRUE(live.IsLive(0));
  EXPECT_FALSE(live.IsLive(1000));
  for (uint32_t d = 0; d < 1000; d += 7) live.Delete(d);
  live.Delete(7);  // twice
  for (uint32_t d = 500; d < 600; ++d) live.Delete(d);
  LiveDocs copy = live;
  copy.Delete(1);
  EXPECT_TRUE(live.IsLive(1));
  EXPECT_FALSE(copy.IsLive(1));
  uint32_t deleted = 0;
  for (uint32_t d = 0; d < 1000; ++d) deleted += live.IsLive(d) ? 0 : 1;
  EXPECT_EQ(live.num_deleted(), deleted);

  std::string bytes = live.Encode();
  auto decoded = LiveDocs::Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->max_doc(), 1000u);
  EXPECT_EQ(decoded->num_deleted(), deleted);
  for (uint32_t d = 0; d < 1000; ++d) ASSERT_EQ(decoded->IsLive(d), live.IsLive(d)) << d;

  copy = *decoded;
  EXPECT_EQ(copy.num_deleted(), deleted);

  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = LiveDocs::Decode(bad);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_TRUE(r.status().IsCorruption());
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = LiveDocs::Decode(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_TRUE(r.status().IsCorruption());
  }
}

TEST(LiveDocsTest, EmptyAndAllDeleted) {
  LiveDocs none(0);
  auto r = LiveDocs::Decode(none.Encode());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_doc(), 0u);
  LiveDocs all(70000);
  for (uint32_t d = 0; d < 70000; ++d) all.Delete(d);
  auto r2 = LiveDocs::Decode(all.Encode());
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->num_deleted(), 70000u);
  EXPECT_FALSE(r2->IsLive(69999));
}

}  // namespace
}  // namespace quidditch::engine
