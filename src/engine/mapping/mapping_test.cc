#include "engine/mapping/mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/errors.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MappingTest : public ::testing::Test {
 protected:
  Mapping Build(const json& j) {
    Result<Mapping> m = Mapping::FromJson(j, analysis_);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : Mapping();
  }
  // The error reason of FromJson, with its type checked.
  std::string BuildError(const json& j, std::string_view type = "mapper_parsing_exception") {
    Result<Mapping> m = Mapping::FromJson(j, analysis_);
    if (m.ok()) return "<ok>";
    Status status = m.status();
    auto [t, reason] = SplitEngineError(status);
    EXPECT_EQ(t, type) << m.status();
    return std::string(reason);
  }

  // The real built-in analyzers (standard, simple, whitespace, stop, english, ...).
  static const AnalysisRegistry& Builtin() {
    static const std::shared_ptr<const AnalysisRegistry> kRegistry = [] {
      auto r = AnalysisRegistry::Create(nlohmann::json());
      EXPECT_TRUE(r.ok()) << r.status();
      return r.ok() ? *r : nullptr;
    }();
    return *kRegistry;
  }
  const AnalysisRegistry& analysis_ = Builtin();
};

TEST_F(MappingTest, FieldTypeNamesRoundTrip) {
  for (FieldType t : {FieldType::kText, FieldType::kKeyword, FieldType::kLong, FieldType::kInteger,
                      FieldType::kShort, FieldType::kByte, FieldType::kDouble, FieldType::kFloat,
                      FieldType::kBoolean, FieldType::kDate, FieldType::kObject}) {
    EXPECT_EQ(ParseFieldType(FieldTypeName(t)), t);
  }
  EXPECT_EQ(FieldTypeName(FieldType::kKeyword), "keyword");
  EXPECT_EQ(ParseFieldType("geo_point"), std::nullopt);
}

TEST_F(MappingTest, EmptyMapping) {
  Mapping m;
  EXPECT_TRUE(m.source_enabled());
  EXPECT_TRUE(m.Fields().empty());
  EXPECT_EQ(m.ToJson(), json::object());
}

TEST_F(MappingTest, FromJsonFieldsAndFind) {
  Mapping m = Build(json::parse(R"({
    "properties": {
      "title": {"type": "text", "analyzer": "english", "search_analyzer": "simple",
                "fields": {"raw": {"type": "keyword", "ignore_above": 10}}},
      "age": {"type": "integer", "index": false},
      "price": {"type": "double", "doc_values": false, "coerce": false},
      "created": {"type": "date", "format": "yyyy-MM-dd||epoch_millis"},
      "user": {"properties": {"name": {"type": "keyword"}, "active": {"type": "boolean"}}},
      "a.b": {"type": "long"}
    }})"));
  std::vector<std::string> paths;
  for (const FieldMapping* f : m.Fields()) paths.push_back(f->path);
  EXPECT_THAT(paths, ElementsAre("a.b", "age", "created", "price", "title", "title.raw",
                                 "user.active", "user.name"));
  const FieldMapping* title = m.Find("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->type, FieldType::kText);
  EXPECT_EQ(title->analyzer, "english");
  EXPECT_EQ(title->query_analyzer(), "simple");
  ASSERT_NE(m.Find("title.raw"), nullptr);
  EXPECT_EQ(m.Find("title.raw")->ignore_above, 10u);
  EXPECT_FALSE(m.Find("age")->index);
  EXPECT_TRUE(m.Find("age")->is_numeric());
  EXPECT_FALSE(m.Find("price")->doc_values);
  EXPECT_EQ(m.Find("created")->formats, (std::vector<std::string>{"yyyy-MM-dd", "epoch_millis"}));
  ASSERT_NE(m.Find("user"), nullptr);
  EXPECT_EQ(m.Find("user")->type, FieldType::kObject);
  EXPECT_EQ(m.Find("a")->type, FieldType::kObject);  // "a.b" in properties is object a
  EXPECT_EQ(m.Find("a.b")->type, FieldType::kLong);
  EXPECT_EQ(m.Find("nope"), nullptr);
  EXPECT_EQ(m.Find("title.keyword"), nullptr);
}

TEST_F(MappingTest, Defaults) {
  Mapping m = Build(
      {{"properties",
        {{"t", {{"type", "text"}}}, {"k", {{"type", "keyword"}}}, {"d", {{"type", "date"}}}}}});
  EXPECT_EQ(m.Find("t")->analyzer, "standard");
  EXPECT_EQ(m.Find("t")->query_analyzer(), "standard");
  EXPECT_EQ(m.Find("t")->position_increment_gap, 100u);
  EXPECT_EQ(m.Find("k")->ignore_above, std::numeric_limits<uint32_t>::max());
  EXPECT_TRUE(m.Find("k")->index);
  EXPECT_TRUE(m.Find("k")->doc_values);
  EXPECT_EQ(m.Find("d")->formats,
            (std::vector<std::string>{"strict_date_optional_time", "epoch_millis"}));
}

TEST_F(MappingTest, ToJsonShapeAndRoundTrip) {
  json in = json::parse(R"({
    "dynamic": "strict",
    "date_detection": false,
    "_source": {"excludes": ["secret*"]},
    "properties": {
      "title": {"type": "text", "analyzer": "english", "position_increment_gap": 5,
                "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
      "n": {"type": "short", "coerce": false, "index": false},
      "when": {"type": "date", "format": "epoch_second"},
      "user": {"dynamic": false, "properties": {"name": {"type": "keyword", "doc_values": false}}},
      "blob": {"type": "object", "enabled": false}
    }})");
  Mapping m = Build(in);
  json expected = json::parse(R"({
    "dynamic": "strict",
    "date_detection": false,
    "_source": {"excludes": ["secret*"]},
    "properties": {
      "blob": {"type": "object", "enabled": false},
      "n": {"type": "short", "coerce": false, "index": false},
      "title": {"type": "text", "analyzer": "english", "position_increment_gap": 5,
                "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
      "user": {"dynamic": "false", "properties": {"name": {"type": "keyword", "doc_values": false}}},
      "when": {"type": "date", "format": "epoch_second"}
    }})");
  EXPECT_EQ(m.ToJson(), expected) << m.ToJson().dump(2);
  Mapping again = Build(m.ToJson());
  EXPECT_EQ(again.ToJson(), expected);
  // Defaults are left out.
  EXPECT_EQ(Build({{"properties", {{"d", {{"type", "date"}}}}}}).ToJson(),
            json::parse(R"({"properties": {"d": {"type": "date"}}})"));
  EXPECT_EQ(Build({{"_source", {{"enabled", false}}}}).ToJson(),
            json::parse(R"({"_source": {"enabled": false}})"));
  EXPECT_FALSE(Build({{"_source", {{"enabled", false}}}}).source_enabled());
}

TEST_F(MappingTest, AcceptsDocTypeWrapper) {
  Mapping m = Build(json::parse(R"({"_doc": {"properties": {"x": {"type": "long"}}}})"));
  ASSERT_NE(m.Find("x"), nullptr);
}

TEST_F(MappingTest, RejectsUnsupportedTypesAndParameters) {
  EXPECT_EQ(BuildError({{"properties", {{"loc", {{"type", "geo_point"}}}}}}),
            "No handler for type [geo_point] declared on field [loc]");
  EXPECT_EQ(BuildError({{"properties", {{"n", {{"type", "nested"}}}}}}),
            "No handler for type [nested] declared on field [n]");
  EXPECT_EQ(BuildError({{"properties", {{"u", {{"properties", {{"x", {{"type", "foo"}}}}}}}}}}),
            "No handler for type [foo] declared on field [u.x]");
  EXPECT_EQ(BuildError({{"properties", {{"t", {{"type", "text"}, {"copy_to", "all"}}}}}}),
            "parameter [copy_to] on mapper [t] of type [text] is not supported");
  EXPECT_EQ(BuildError({{"properties", {{"k", {{"type", "keyword"}, {"null_value", "x"}}}}}}),
            "parameter [null_value] on mapper [k] of type [keyword] is not supported");
  EXPECT_EQ(BuildError({{"properties", {{"k", {{"type", "keyword"}, {"bogus", 1}}}}}}),
            "unknown parameter [bogus] on mapper [k] of type [keyword]");
  // A parameter of another type is unknown here.
  EXPECT_EQ(BuildError({{"properties", {{"k", {{"type", "keyword"}, {"analyzer", "simple"}}}}}}),
            "unknown parameter [analyzer] on mapper [k] of type [keyword]");
  EXPECT_EQ(BuildError({{"properties", {{"t", {{"type", "text"}, {"analyzer", "nope"}}}}}}),
            "analyzer [nope] has not been configured in mappings");
  EXPECT_THAT(BuildError({{"properties", {{"d", {{"type", "date"}, {"format", "yyyy-MM a"}}}}}}),
              HasSubstr("Invalid format: [yyyy-MM a]"));
  EXPECT_THAT(BuildError({{"foo", 1}}),
              HasSubstr("Root mapping definition has unsupported parameters"));
  EXPECT_THAT(BuildError({{"dynamic", "sometimes"}}), HasSubstr("dynamic"));
  EXPECT_THAT(BuildError({{"properties", {{"k", {{"type", "keyword"}, {"ignore_above", -1}}}}}}),
              HasSubstr("ignore_above"));
  EXPECT_THAT(BuildError({{"properties", {{"k", "keyword"}}}}), HasSubstr("Expected map"));
  EXPECT_THAT(
      BuildError(
          {{"properties", {{"t", {{"type", "text"}, {"fields", {{"o", {{"type", "object"}}}}}}}}}}),
      HasSubstr("multi field"));
  EXPECT_THAT(BuildError({{"properties", {{"", {{"type", "text"}}}}}}), HasSubstr("empty"));
  EXPECT_THAT(BuildError({{"numeric_detection", true}}), HasSubstr("numeric_detection"));
}

TEST_F(MappingTest, MergeAddsFieldsAndKeepsOriginal) {
  Mapping m = Build({{"properties", {{"a", {{"type", "long"}}}}}});
  Result<Mapping> merged =
      m.Merge(json::parse(R"({"properties": {"b": {"type": "keyword"}, "a": {"type": "long"},
                                     "u": {"properties": {"x": {"type": "text"}}}}})"),
              analysis_);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_NE(merged->Find("b"), nullptr);
  EXPECT_NE(merged->Find("u.x"), nullptr);
  EXPECT_EQ(m.Find("b"), nullptr);  // the original is a value
  // Updatable parameters; new multi-fields and properties of existing objects.
  Result<Mapping> again = merged->Merge(json::parse(R"({"dynamic": "strict", "properties": {
          "b": {"type": "keyword", "ignore_above": 20},
          "u": {"properties": {"x": {"type": "text", "fields": {"k": {"type": "keyword"}}},
                               "y": {"type": "boolean"}}}}})"),
                                        analysis_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Find("b")->ignore_above, 20u);
  EXPECT_NE(again->Find("u.x.k"), nullptr);
  EXPECT_NE(again->Find("u.y"), nullptr);
  EXPECT_EQ(again->ToJson()["dynamic"], "strict");
}

TEST_F(MappingTest, MergeDottedNamesAndStringBooleans) {
  Mapping m = Build({{"properties", {{"u", {{"properties", {{"a", {{"type", "long"}}}}}}}}}});
  Result<Mapping> r = m.Merge(
      json::parse(R"({"properties": {"u.b": {"type": "keyword", "index": "false"}}})"), analysis_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_NE(r->Find("u.b"), nullptr);
  EXPECT_FALSE(r->Find("u.b")->index);
  EXPECT_NE(r->Find("u.a"), nullptr);
  Result<Mapping> conflict =
      m.Merge(json::parse(R"({"properties": {"u.a": {"type": "keyword"}}})"), analysis_);
  ASSERT_FALSE(conflict.ok());
  EXPECT_THAT(conflict.status().message(),
              HasSubstr("mapper [u.a] cannot be changed from type [long] to [keyword]"));
}

TEST_F(MappingTest, MergeConflicts) {
  Mapping m = Build(json::parse(R"({"properties": {
      "a": {"type": "long"},
      "t": {"type": "text", "analyzer": "simple"},
      "k": {"type": "keyword", "index": false},
      "d": {"type": "date"},
      "u": {"properties": {"x": {"type": "keyword"}}}}})"));
  json before = m.ToJson();
  auto error = [&](const json& update) {
    Result<Mapping> r = m.Merge(update, analysis_);
    if (r.ok()) return std::string("<ok>");
    Status status = r.status();
    auto [type, reason] = SplitEngineError(status);
    EXPECT_EQ(type, "illegal_argument_exception");
    return std::string(reason);
  };
  EXPECT_EQ(error({{"properties", {{"a", {{"type", "text"}}}}}}),
            "mapper [a] cannot be changed from type [long] to [text]");
  EXPECT_EQ(error({{"properties", {{"t", {{"type", "text"}, {"analyzer", "english"}}}}}}),
            "Mapper for [t] conflicts with existing mapper:\n\tCannot update parameter "
            "[analyzer] from [simple] to [english]");
  EXPECT_THAT(error({{"properties", {{"k", {{"type", "keyword"}}}}}}),
              HasSubstr("Cannot update parameter [index] from [false] to [true]"));
  EXPECT_THAT(error({{"properties", {{"d", {{"type", "date"}, {"format", "epoch_second"}}}}}}),
              HasSubstr("Cannot update parameter [format]"));
  EXPECT_EQ(error({{"properties", {{"u", {{"type", "keyword"}}}}}}),
            "can't merge a non object mapping [u] with an object mapping");
  EXPECT_EQ(error({{"properties", {{"a", {{"properties", {{"x", {{"type", "long"}}}}}}}}}}),
            "mapper [a] cannot be changed from type [long] to [object]");
  EXPECT_EQ(error({{"properties", {{"u", {{"properties", {{"x", {{"type", "long"}}}}}}}}}}),
            "mapper [u.x] cannot be changed from type [keyword] to [long]");
  EXPECT_THAT(error({{"_source", {{"enabled", false}}}}),
              HasSubstr("Cannot update parameter [enabled]"));
  // A conflict after a valid addition adds nothing.
  Result<Mapping> r = m.Merge(json::parse(R"({"properties": {"new": {"type": "long"},
                                                             "a": {"type": "keyword"}}})"),
                              analysis_);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(m.ToJson(), before);
  EXPECT_EQ(m.Find("new"), nullptr);
  // A bad definition in an update is a mapper_parsing_exception, as in FromJson.
  Result<Mapping> bad = m.Merge({{"properties", {{"z", {{"type", "geo_point"}}}}}}, analysis_);
  ASSERT_FALSE(bad.ok());
  Status bad_status = bad.status();
  EXPECT_EQ(SplitEngineError(bad_status).first, "mapper_parsing_exception");
}

}  // namespace
}  // namespace quidditch::engine
