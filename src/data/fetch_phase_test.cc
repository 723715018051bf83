// _source filtering as OpenSearch's XContentMapValues.filter answers it.
#include "data/fetch_phase.h"

#include <gtest/gtest.h>

namespace quidditch::data {
namespace {

using nlohmann::json;

const json kDoc = {{"title", "t"},
                   {"user", {{"name", "ann"}, {"age", 30}, {"address", {{"city", "Oslo"}}}}},
                   {"tags", {"a", "b"}},
                   {"items", {{{"id", 1}, {"price", 2}}, {{"id", 3}}}}};

json FilterWith(const json& spec) {
  Result<SourceFilter> f = SourceFilter::Parse(&spec);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? f->Filter(kDoc) : json();
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

TEST(SourceFilter, Malformed) {
  json bad = 3;
  EXPECT_FALSE(SourceFilter::Parse(&bad).ok());
  json bad_key = {{"inclusions", "x"}};
  Result<SourceFilter> f = SourceFilter::Parse(&bad_key);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message().rfind("parsing_exception", 0), 0u);
}

}  // namespace
}  // namespace quidditch::data
