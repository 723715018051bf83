#include "engine/source_merge.h"

#include <gtest/gtest.h>

namespace quidditch::engine {
namespace {

using Json = nlohmann::ordered_json;

TEST(MergeSourceTest, NestedObjectsMergeArraysReplaceNullsSet) {
  Json source = Json::parse(R"({"a":1,"user":{"name":"x","tags":["p","q"],"deep":{"k":1}},"z":2})");
  Json changes =
      Json::parse(R"({"user":{"tags":["r"],"deep":{"m":2},"age":3},"z":null,"n":"new"})");
  EXPECT_TRUE(MergeSource(&source, changes));
  EXPECT_EQ(
      source.dump(),
      R"({"a":1,"user":{"name":"x","tags":["r"],"deep":{"k":1,"m":2},"age":3},"z":null,"n":"new"})");
}

TEST(MergeSourceTest, ObjectReplacesScalarAndScalarReplacesObject) {
  Json source = Json::parse(R"({"a":{"b":1},"c":5})");
  EXPECT_TRUE(MergeSource(&source, Json::parse(R"({"a":7,"c":{"d":1}})")));
  EXPECT_EQ(source.dump(), R"({"a":7,"c":{"d":1}})");
}

TEST(MergeSourceTest, NoChangeIsDetected) {
  Json source = Json::parse(R"({"a":1,"o":{"b":[1,2],"c":null}})");
  Json before = source;
  EXPECT_FALSE(MergeSource(&source, Json::parse(R"({"a":1,"o":{"b":[1,2],"c":null}})")));
  EXPECT_FALSE(MergeSource(&source, Json::parse(R"({})")));
  EXPECT_FALSE(MergeSource(&source, Json::parse(R"({"o":{}})")));
  EXPECT_EQ(source, before);
  EXPECT_TRUE(MergeSource(&source, Json::parse(R"({"o":{"b":[2,1]}})")));
}

}  // namespace
}  // namespace quidditch::engine
