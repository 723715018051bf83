// _source filtering as OpenSearch's XContentMapValues.filter answers it.
#include "engine/search/source_filter.h"

#include <gtest/gtest.h>

namespace quidditch::engine {
namespace {

using nlohmann::json;

const json kDoc = {{"title", "t"},
                   {"user", {{"name", "ann"}, {"age", 30}, {"address", {{"city", "Oslo"}}}}},
                   {"tags", {"a", "b"}},
                   {"items", {{{"id", 1}, {"price", 2}}, {{"id", 3}}}}};

json FilterWith(const json& spec) {
  Result<SourceFilter> f = SourceFilter::Parse(&spec);
  EXPECT_TRUE(f.ok()) << f.status();
  if (!f.ok()) return json();
  Result<std::string> filtered = f->Apply(kDoc.dump());
  EXPECT_TRUE(filtered.ok()) << filtered.status();
  return filtered.ok() ? json::parse(*filtered) : json();
}

TEST(SourceFilter, WholeOrNothing) {
  EXPECT_TRUE(SourceFilter::Parse(nullptr)->fetch());
  EXPECT_FALSE(SourceFilter::Parse(nullptr)->filters());
  json off = false;
  EXPECT_FALSE(SourceFilter::Parse(&off)->fetch());
  EXPECT_EQ(*SourceFilter::Parse(nullptr)->Apply(R"({"a":1})"), R"({"a":1})");
}

TEST(SourceFilter, Includes) {
  EXPECT_EQ(FilterWith("title"), (json{{"title", "t"}}));
  EXPECT_EQ(FilterWith("user"), (json{{"user", kDoc["user"]}}));
  EXPECT_EQ(FilterWith("user.name"), (json{{"user", {{"name", "ann"}}}}));
  EXPECT_EQ(FilterWith(json::array({"user.a*", "tags"})),
            (json{{"user", {{"age", 30}, {"address", {{"city", "Oslo"}}}}}, {"tags", {"a", "b"}}}));
  EXPECT_EQ(FilterWith("*.city"), (json{{"user", {{"address", {{"city", "Oslo"}}}}}}));
  EXPECT_EQ(FilterWith("items.price"), (json{{"items", {{{"price", 2}}}}}));
  EXPECT_EQ(FilterWith("nothing"), json::object());
}

TEST(SourceFilter, Excludes) {
  EXPECT_EQ(FilterWith({{"excludes", {"user", "items"}}}),
            (json{{"title", "t"}, {"tags", {"a", "b"}}}));
  EXPECT_EQ(FilterWith({{"includes", "user"}, {"excludes", "user.address*"}}),
            (json{{"user", {{"name", "ann"}, {"age", 30}}}}));
  EXPECT_EQ(FilterWith({{"include", "items.*"}, {"exclude", "*.price"}}),
            (json{{"items", {{{"id", 1}}, {{"id", 3}}}}}));
}

TEST(SourceFilter, KeepsTheStoredKeyOrder) {
  const std::string source = R"({"z":1,"b":{"y":2,"a":3,"x":4},"a":[{"q":1,"p":2}],"m":"x"})";
  auto apply = [&](std::vector<std::string> includes, std::vector<std::string> excludes) {
    Result<std::string> out =
        SourceFilter::Of(true, std::move(includes), std::move(excludes)).Apply(source);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  };
  EXPECT_EQ(apply({}, {}), source);
  EXPECT_EQ(apply({"z", "m"}, {}), R"({"z":1,"m":"x"})");
  EXPECT_EQ(apply({"b"}, {"b.a"}), R"({"b":{"y":2,"x":4}})");
  EXPECT_EQ(apply({"*.p", "*.q"}, {}), R"({"a":[{"q":1,"p":2}]})");
  EXPECT_EQ(apply({}, {"b.*", "a"}), R"({"z":1,"b":{},"m":"x"})");
  EXPECT_EQ(apply({"nope"}, {}), "{}");
}

TEST(SourceFilter, Malformed) {
  json bad = 3;
  EXPECT_FALSE(SourceFilter::Parse(&bad).ok());
  json bad_key = {{"inclusions", "x"}};
  Result<SourceFilter> f = SourceFilter::Parse(&bad_key);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "parsing_exception: Unknown key for a VALUE_STRING in [inclusions].");
}

}  // namespace
}  // namespace quidditch::engine
