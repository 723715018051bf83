#include "engine/search/highlighter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/search/search_test_util.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using search_testing::TestIndex;
using ::testing::ElementsAre;

class HighlighterTest : public ::testing::Test {
 protected:
  HighlighterTest()
      : index_(json::parse(R"({"properties": {"title": {"type": "text"},
          "tag": {"type": "keyword"}, "n": {"type": "long"},
          "obj": {"properties": {"body": {"type": "text"}}}}})")) {}

  std::vector<std::string> Run(const json& dsl, const std::string& source, const std::string& field,
                               HighlightOptions opts = {}) {
    auto q = index_.Parse(dsl);
    if (q == nullptr) return {};
    auto r = Highlight(*q, source, field, index_.ctx(), opts);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<std::string>{};
  }

  TestIndex index_;
};

TEST_F(HighlighterTest, WrapsQueryTermsInTags) {
  EXPECT_THAT(Run(json::parse(R"({"match": {"title": "quick fox"}})"),
                  R"({"title": "The Quick brown fox"})", "title"),
              ElementsAre("The <em>Quick</em> brown <em>fox</em>"));
  HighlightOptions o;
  o.pre_tag = "[";
  o.post_tag = "]";
  EXPECT_THAT(Run(json::parse(R"({"bool": {"must": {"prefix": {"title": "bro"}},
      "must_not": {"match": {"title": "fox"}}}})"),
                  R"({"title": "The Quick brown fox"})", "title", o),
              ElementsAre("The Quick [brown] fox"));
  EXPECT_THAT(Run(json::parse(R"({"term": {"tag": "a b"}})"), R"({"tag": ["a b", "c"]})", "tag"),
              ElementsAre("<em>a b</em>"));
  EXPECT_THAT(Run(json::parse(R"({"match": {"obj.body": "deep"}})"),
                  R"({"obj": {"body": "deep down"}})", "obj.body"),
              ElementsAre("<em>deep</em> down"));
  EXPECT_TRUE(
      Run(json::parse(R"({"match": {"title": "zebra"}})"), R"({"title": "no match"})", "title")
          .empty());
  EXPECT_TRUE(Run(json::parse(R"({"term": {"n": 5}})"), R"({"n": 5})", "n").empty());
}

TEST_F(HighlighterTest, FragmentsAndLimits) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += (i == 3 || i == 25 ? "target " : "filler ");
  json source = {{"title", text}};
  HighlightOptions o;
  o.fragment_size = 30;
  auto frags = Run(json::parse(R"({"match": {"title": "target"}})"), source.dump(), "title", o);
  ASSERT_EQ(frags.size(), 2u);
  EXPECT_THAT(frags[0], ::testing::HasSubstr("<em>target</em>"));
  EXPECT_LE(frags[0].size(), 30u + 9u);
  o.number_of_fragments = 1;
  EXPECT_EQ(Run(json::parse(R"({"match": {"title": "target"}})"), source.dump(), "title", o).size(),
            1u);
  o.number_of_fragments = 0;
  frags = Run(json::parse(R"({"match": {"title": "target"}})"), source.dump(), "title", o);
  ASSERT_EQ(frags.size(), 1u);
  EXPECT_EQ(frags[0].size(), text.size() - 1 + 2 * 9);  // whole value, trailing space trimmed
  auto bad = index_.Parse(json::parse(R"({"match_all": {}})"));
  EXPECT_FALSE(Highlight(*bad, "{not json", "title", index_.ctx(), {}).ok());
}

}  // namespace
}  // namespace quidditch::engine
