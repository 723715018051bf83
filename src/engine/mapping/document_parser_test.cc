#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/errors.h"
#include "engine/mapping/mapping.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Terms(const DocumentField& f) {
  std::vector<std::string> out;
  for (const Token& t : f.tokens) out.push_back(t.term);
  return out;
}
std::vector<uint32_t> Positions(const DocumentField& f) {
  std::vector<uint32_t> out;
  for (const Token& t : f.tokens) out.push_back(t.position);
  return out;
}
std::vector<int64_t> DecodedTerms(const DocumentField& f) {
  std::vector<int64_t> out;
  for (const Token& t : f.tokens) out.push_back(DecodeSortableLong(t.term));
  return out;
}

class DocumentParserTest : public ::testing::Test {
 protected:
  void SetMapping(const json& j) {
    Result<Mapping> m = Mapping::FromJson(j, analysis_);
    ASSERT_TRUE(m.ok()) << m.status();
    mapping_ = *m;
  }
  ParseResult Parse(std::string_view source, std::string_view id = "1") {
    Result<ParseResult> r = ParseDocument(mapping_, analysis_, id, source);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : ParseResult{};
  }
  // The reason of a mapper_parsing_exception; also checks that the mapping did not change.
  std::string Error(std::string_view source) {
    json before = mapping_.ToJson();
    Result<ParseResult> r = ParseDocument(mapping_, analysis_, "1", source);
    EXPECT_EQ(mapping_.ToJson(), before);
    if (r.ok()) return "<ok>";
    Status status = r.status();
    auto [type, reason] = SplitEngineError(status);
    EXPECT_EQ(type, "mapper_parsing_exception") << r.status();
    return std::string(reason);
  }
  static const DocumentField* Field(const ParsedDocument& doc, std::string_view name) {
    for (const DocumentField& f : doc.fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  static std::vector<std::string> FieldNames(const ParsedDocument& doc) {
    const DocumentField* f = Field(doc, "_field_names");
    return f == nullptr ? std::vector<std::string>{} : Terms(*f);
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
  Mapping mapping_;
};

TEST_F(DocumentParserTest, IdSourceAndFieldNames) {
  SetMapping({{"properties", {{"k", {{"type", "keyword"}}}}}});
  std::string source = R"({"k": "v",  "u": {"n": null}})";
  ParseResult r = Parse(source, "doc-7");
  EXPECT_EQ(r.doc.id, "doc-7");
  EXPECT_EQ(r.doc.source, source);  // verbatim
  ASSERT_FALSE(r.doc.fields.empty());
  const DocumentField& id = r.doc.fields.front();
  EXPECT_EQ(id.name, "_id");
  EXPECT_EQ(id.index_options, IndexOptions::kDocs);
  EXPECT_EQ(id.doc_values, DocValuesType::kNone);
  EXPECT_THAT(Terms(id), ElementsAre("doc-7"));
  const DocumentField* names = Field(r.doc, "_field_names");
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(names->index_options, IndexOptions::kDocs);
  EXPECT_THAT(Terms(*names), ElementsAre("k"));  // u.n is null: no value
  // The object u is mapped (as OpenSearch does), its null field is not.
  ASSERT_TRUE(r.updated_mapping.has_value());
  EXPECT_EQ(r.updated_mapping->Find("u")->type, FieldType::kObject);
  EXPECT_EQ(r.updated_mapping->Find("u.n"), nullptr);
}

TEST_F(DocumentParserTest, TextTokensPositionsAndArrays) {
  SetMapping(
      {{"properties",
        {{"t", {{"type", "text"}}}, {"g", {{"type", "text"}, {"position_increment_gap", 0}}}}}});
  ParseResult r = Parse(R"({"t": ["Quick Fox", "", "Lazy  Dog"], "g": ["a b", "c"]})");
  const DocumentField* t = Field(r.doc, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->index_options, IndexOptions::kDocsFreqsPositions);
  EXPECT_TRUE(t->norms);
  EXPECT_EQ(t->doc_values, DocValuesType::kNone);
  EXPECT_THAT(Terms(*t), ElementsAre("quick", "fox", "lazy", "dog"));
  // Value 2 is empty: each later value still starts gap + 1 after the last position.
  EXPECT_THAT(Positions(*t), ElementsAre(0, 1, 202, 203));
  EXPECT_EQ(t->tokens[2].start_offset, 0u);
  EXPECT_THAT(Positions(*Field(r.doc, "g")), ElementsAre(0, 1, 2));
}

TEST_F(DocumentParserTest, TextPositionsFollowTheAnalyzersLastPosition) {
  // The stop analyzer leaves position gaps; the next value starts after the last position
  // the analyzer used.
  SetMapping({{"properties", {{"t", {{"type", "text"}, {"analyzer", "stop"}}}}}});
  ParseResult r = Parse(R"({"t": ["a quick", "the fox", "the"]})");
  const DocumentField* t = Field(r.doc, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Terms(*t), ElementsAre("quick", "fox"));
  EXPECT_THAT(Positions(*t), ElementsAre(1, 103));
  ASSERT_EQ(Field(r.doc, "t")->tokens.size(), 2u);
}

TEST_F(DocumentParserTest, UnknownAnalyzerAtParseTimeIsAnError) {
  auto custom = AnalysisRegistry::Create(
      json::parse(R"({"analyzer": {"mine": {"type": "custom", "tokenizer": "whitespace"}}})"));
  ASSERT_TRUE(custom.ok()) << custom.status();
  Result<Mapping> m = Mapping::FromJson(
      {{"properties", {{"t", {{"type", "text"}, {"analyzer", "mine"}}}}}}, **custom);
  ASSERT_TRUE(m.ok()) << m.status();
  Result<ParseResult> ok = ParseDocument(*m, **custom, "1", R"({"t": "A b"})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(Terms(*Field(ok->doc, "t")), ElementsAre("A", "b"));  // no lowercasing
  // The same mapping with a registry that lacks the analyzer.
  Result<ParseResult> bad = ParseDocument(*m, analysis_, "1", R"({"t": "A b"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("analyzer [mine] has not been configured"));
}

TEST_F(DocumentParserTest, TextGivenNumbersAndIndexFalse) {
  SetMapping(
      {{"properties", {{"t", {{"type", "text"}}}, {"n", {{"type", "text"}, {"index", false}}}}}});
  ParseResult r = Parse(R"({"t": [5, true, 1.5], "n": "not indexed"})");
  EXPECT_THAT(Terms(*Field(r.doc, "t")), ElementsAre("5", "true", "1.5"));
  EXPECT_EQ(Field(r.doc, "n"), nullptr);
  EXPECT_THAT(FieldNames(r.doc), ElementsAre("n", "t"));
}

TEST_F(DocumentParserTest, Keyword) {
  SetMapping({{"properties",
               {{"k", {{"type", "keyword"}}},
                {"short", {{"type", "keyword"}, {"ignore_above", 3}}},
                {"nodv", {{"type", "keyword"}, {"doc_values", false}}},
                {"noidx", {{"type", "keyword"}, {"index", false}}}}}});
  ParseResult r = Parse(
      R"({"k": ["b", "a", "b", 5, true, 2.0, -1.5], "short": ["abc", "abcd", "éé", "😀😀"],
          "nodv": "x", "noidx": "y"})");
  const DocumentField* k = Field(r.doc, "k");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->index_options, IndexOptions::kDocs);
  EXPECT_EQ(k->doc_values, DocValuesType::kSortedSet);
  EXPECT_FALSE(k->norms);
  EXPECT_THAT(Terms(*k), ElementsAre("b", "a", "b", "5", "true", "2.0", "-1.5"));
  EXPECT_THAT(Positions(*k), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  EXPECT_THAT(k->sorted_values, ElementsAre("-1.5", "2.0", "5", "a", "b", "true"));
  // ignore_above counts UTF-16 units: "éé" is 4 bytes but 2 units, "😀😀" is 4 units.
  const DocumentField* s = Field(r.doc, "short");
  EXPECT_THAT(Terms(*s), ElementsAre("abc", "éé"));
  EXPECT_THAT(s->sorted_values, ElementsAre("abc", "éé"));
  EXPECT_EQ(Field(r.doc, "nodv")->doc_values, DocValuesType::kNone);
  EXPECT_THAT(Terms(*Field(r.doc, "nodv")), ElementsAre("x"));
  EXPECT_EQ(Field(r.doc, "noidx")->index_options, IndexOptions::kNone);
  EXPECT_THAT(Field(r.doc, "noidx")->tokens, IsEmpty());
  EXPECT_THAT(Field(r.doc, "noidx")->sorted_values, ElementsAre("y"));
}

TEST_F(DocumentParserTest, KeywordAboveIgnoreAboveIsNotIndexedNorCounted) {
  SetMapping({{"properties", {{"k", {{"type", "keyword"}, {"ignore_above", 2}}}}}});
  ParseResult r = Parse(R"({"k": "abc"})");
  EXPECT_EQ(Field(r.doc, "k"), nullptr);
  EXPECT_THAT(FieldNames(r.doc), IsEmpty());
}

TEST_F(DocumentParserTest, IgnoreAboveMatchesUtf16Reference) {
  // Reference: decode code points, count those above the BMP twice.
  auto utf16_units = [](const std::string& s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size();) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      n += len == 4 ? 2 : 1;
      i += len;
    }
    return n;
  };
  const std::vector<std::string> pieces = {"a", "é", "€", "😀", "z"};
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  for (int round = 0; round < 200; ++round) {
    uint32_t limit = next() % 8;
    SetMapping({{"properties", {{"k", {{"type", "keyword"}, {"ignore_above", limit}}}}}});
    std::string value;
    for (uint32_t i = next() % 10; i > 0; --i) value += pieces[next() % pieces.size()];
    ParseResult r = Parse(json({{"k", value}}).dump());
    bool kept = Field(r.doc, "k") != nullptr;
    ASSERT_EQ(kept, utf16_units(value) <= limit) << value << " limit " << limit;
  }
}

TEST_F(DocumentParserTest, IntegerTypes) {
  SetMapping({{"properties",
               {{"l", {{"type", "long"}}},
                {"i", {{"type", "integer"}}},
                {"s", {{"type", "short"}}},
                {"b", {{"type", "byte"}}}}}});
  ParseResult r = Parse(
      R"({"l": [9223372036854775807, -9223372036854775808, "42", 3.9, -3.9, "7.5", "", null],
          "i": [2147483647, -2147483648], "s": 32767, "b": [-128, 127]})");
  const DocumentField* l = Field(r.doc, "l");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->index_options, IndexOptions::kDocs);
  EXPECT_EQ(l->doc_values, DocValuesType::kSortedNumeric);
  int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  // Terms in value order; doc values ascending. Decimals truncate toward zero.
  EXPECT_THAT(DecodedTerms(*l), ElementsAre(kMax, kMin, 42, 3, -3, 7));
  EXPECT_EQ(l->tokens[0].term, EncodeSortableLong(kMax));
  EXPECT_THAT(l->numeric_values, ElementsAre(kMin, -3, 3, 7, 42, kMax));
  EXPECT_THAT(Field(r.doc, "i")->numeric_values, ElementsAre(-2147483648LL, 2147483647));
  EXPECT_THAT(Field(r.doc, "s")->numeric_values, ElementsAre(32767));
  EXPECT_THAT(Field(r.doc, "b")->numeric_values, ElementsAre(-128, 127));
}

TEST_F(DocumentParserTest, IntegerErrors) {
  SetMapping({{"properties",
               {{"age", {{"type", "long"}}},
                {"i", {{"type", "integer"}}},
                {"s", {{"type", "short"}}},
                {"b", {{"type", "byte"}}},
                {"strict", {{"type", "integer"}, {"coerce", false}}}}}});
  EXPECT_EQ(Error(R"({"age": "abc"})"),
            "failed to parse field [age] of type [long] in document with id '1'. Preview of "
            "field's value: 'abc'. Caused by: number_format_exception: For input string: \"abc\"");
  EXPECT_THAT(Error(R"({"i": 3000000000})"),
              HasSubstr("Value [3000000000] is out of range for an integer"));
  EXPECT_THAT(Error(R"({"i": 3000000000})"),
              HasSubstr("failed to parse field [i] of type [integer] in document with id '1'"));
  EXPECT_THAT(Error(R"({"i": "3000000000"})"), HasSubstr("out of range for an integer"));
  EXPECT_THAT(Error(R"({"i": 2147483648.5})"), HasSubstr("out of range for an integer"));
  EXPECT_THAT(Error(R"({"s": 32768})"), HasSubstr("Value [32768] is out of range for a short"));
  EXPECT_THAT(Error(R"({"b": -129})"), HasSubstr("Value [-129] is out of range for a byte"));
  EXPECT_THAT(Error(R"({"age": 9223372036854775808})"),
              HasSubstr("Value [9223372036854775808] is out of range for a long"));
  EXPECT_THAT(Error(R"({"age": "9223372036854775808"})"), HasSubstr("out of range for a long"));
  EXPECT_THAT(Error(R"({"age": 1e19})"), HasSubstr("out of range for a long"));
  EXPECT_THAT(Error(R"({"age": true})"), HasSubstr("failed to parse field [age] of type [long]"));
  EXPECT_THAT(Error(R"({"age": {"x": 1}})"),
              HasSubstr("failed to parse field [age] of type [long]"));
  EXPECT_THAT(Error(R"({"strict": "5"})"), HasSubstr("failed to parse field [strict]"));
  EXPECT_THAT(Error(R"({"strict": 5.5})"), HasSubstr("has a decimal part"));
  EXPECT_EQ(Error(R"({"strict": 5.0})"), "<ok>");
}

TEST_F(DocumentParserTest, FloatingPoint) {
  SetMapping({{"properties", {{"d", {{"type", "double"}}}, {"f", {{"type", "float"}}}}}});
  ParseResult r = Parse(R"({"d": [0.1, -2, "1.5", 1e300], "f": [0.1, 3]})");
  const DocumentField* d = Field(r.doc, "d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->doc_values, DocValuesType::kSortedNumeric);
  std::vector<double> values;
  for (const Token& t : d->tokens)
    values.push_back(SortableBitsToDouble(DecodeSortableLong(t.term)));
  EXPECT_THAT(values, ElementsAre(0.1, -2.0, 1.5, 1e300));
  EXPECT_THAT(d->numeric_values, ElementsAre(SortableDoubleBits(-2.0), SortableDoubleBits(0.1),
                                             SortableDoubleBits(1.5), SortableDoubleBits(1e300)));
  // Floats are rounded to float precision first.
  const DocumentField* f = Field(r.doc, "f");
  EXPECT_THAT(f->numeric_values,
              ElementsAre(SortableDoubleBits(static_cast<double>(0.1f)), SortableDoubleBits(3.0)));
  EXPECT_NE(static_cast<double>(0.1f), 0.1);
  EXPECT_THAT(Error(R"({"f": 1e300})"), HasSubstr("[float] supports only finite values"));
  EXPECT_THAT(Error(R"({"d": "NaN"})"), HasSubstr("supports only finite values"));
  EXPECT_THAT(Error(R"({"d": "x1"})"), HasSubstr("failed to parse field [d] of type [double]"));
  EXPECT_THAT(Error(R"({"d": false})"), HasSubstr("failed to parse field [d] of type [double]"));
}

TEST_F(DocumentParserTest, Boolean) {
  SetMapping({{"properties", {{"b", {{"type", "boolean"}}}}}});
  ParseResult r = Parse(R"({"b": [true, false, "true", "false", ""]})");
  const DocumentField* b = Field(r.doc, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_THAT(DecodedTerms(*b), ElementsAre(1, 0, 1, 0, 0));
  EXPECT_THAT(b->numeric_values, ElementsAre(0, 0, 0, 1, 1));
  EXPECT_THAT(Error(R"({"b": "yes"})"),
              HasSubstr("failed to parse field [b] of type [boolean] in document with id '1'. "
                        "Preview of field's value: 'yes'"));
  EXPECT_THAT(Error(R"({"b": 1})"), HasSubstr("of type [boolean]"));
}

TEST_F(DocumentParserTest, Date) {
  SetMapping({{"properties",
               {{"d", {{"type", "date"}}},
                {"s", {{"type", "date"}, {"format", "epoch_second"}}},
                {"p", {{"type", "date"}, {"format", "yyyy/MM/dd HH:mm:ss"}}}}}});
  ParseResult r = Parse(
      R"({"d": ["2015-01-01T12:10:30Z", 1420070400001, "1420070400002", 2015, 1.5e12],
          "s": 1420070400, "p": "2015/01/01 12:10:30"})");
  const DocumentField* d = Field(r.doc, "d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->doc_values, DocValuesType::kSortedNumeric);
  // A bare number is tried as strict_date_optional_time first, as OpenSearch does: 2015 is
  // the year 2015.
  EXPECT_THAT(DecodedTerms(*d), ElementsAre(1420114230000, 1420070400001, 1420070400002,
                                            1420070400000, 1500000000000));
  EXPECT_THAT(Field(r.doc, "s")->numeric_values, ElementsAre(1420070400000));
  EXPECT_THAT(Field(r.doc, "p")->numeric_values, ElementsAre(1420114230000));
  EXPECT_EQ(Error(R"({"d": "abc"})"),
            "failed to parse field [d] of type [date] in document with id '1'. Preview of "
            "field's value: 'abc'. Caused by: illegal_argument_exception: failed to parse date "
            "field [abc] with format "
            "[strict_date_optional_time||epoch_millis]");
  EXPECT_THAT(Error(R"({"d": true})"), HasSubstr("of type [date]"));
}

TEST_F(DocumentParserTest, ObjectsDottedKeysAndArraysOfObjects) {
  SetMapping(json::parse(R"({"properties": {
      "user": {"properties": {"name": {"type": "keyword"}, "age": {"type": "long"},
                              "addr": {"properties": {"city": {"type": "keyword"}}}}}}})"));
  ParseResult r = Parse(
      R"({"user": [{"name": "a", "age": 1}, {"name": "b", "addr": {"city": "x"}}],
          "user.name": "c", "user.addr.city": "y"})");
  EXPECT_THAT(Terms(*Field(r.doc, "user.name")), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Field(r.doc, "user.age")->numeric_values, ElementsAre(1));
  EXPECT_THAT(Terms(*Field(r.doc, "user.addr.city")), ElementsAre("x", "y"));
  EXPECT_THAT(FieldNames(r.doc),
              ElementsAre("user", "user.addr", "user.addr.city", "user.age", "user.name"));
  EXPECT_FALSE(r.updated_mapping.has_value());
  // The same document with nested objects only gives the same fields.
  ParseResult nested = Parse(R"({"user": {"name": "c", "addr": {"city": "y"}}})");
  EXPECT_THAT(Terms(*Field(nested.doc, "user.name")), ElementsAre("c"));
  EXPECT_THAT(Terms(*Field(nested.doc, "user.addr.city")), ElementsAre("y"));
  // Nested arrays flatten.
  ParseResult arrays = Parse(R"({"user": {"age": [[1, 2], [3, [4]], []]}})");
  EXPECT_THAT(Field(arrays.doc, "user.age")->numeric_values, ElementsAre(1, 2, 3, 4));
}

TEST_F(DocumentParserTest, ObjectAndLeafMismatches) {
  SetMapping(json::parse(R"({"properties": {
      "user": {"properties": {"name": {"type": "keyword"}}}, "k": {"type": "keyword"}}})"));
  EXPECT_EQ(Error(R"({"user": "x"})"),
            "object mapping for [user] tried to parse field [user] as object, but found a "
            "concrete value");
  EXPECT_THAT(Error(R"({"k": {"a": 1}})"),
              HasSubstr("failed to parse field [k] of type [keyword]"));
  EXPECT_EQ(Error(R"({"k.sub": "x"})"),
            "Could not dynamically add mapping for field [k.sub]. Existing mapping for [k] must "
            "be of type object but found [keyword].");
  EXPECT_THAT(Error(R"({"": 1})"), HasSubstr("field name cannot be an empty string"));
  EXPECT_THAT(Error(R"({"a..b": 1})"), HasSubstr("makes object resolution ambiguous"));
  EXPECT_THAT(Error(R"({"user.": 1})"), HasSubstr("makes object resolution ambiguous"));
}

TEST_F(DocumentParserTest, MultiFields) {
  SetMapping(json::parse(R"({"properties": {"title": {"type": "text",
      "fields": {"raw": {"type": "keyword", "ignore_above": 5}}}}})"));
  ParseResult r = Parse(R"({"title": ["Hello World", "12"]})");
  EXPECT_THAT(Terms(*Field(r.doc, "title")), ElementsAre("hello", "world", "12"));
  EXPECT_THAT(Field(r.doc, "title.raw")->sorted_values, ElementsAre("12"));
  EXPECT_THAT(FieldNames(r.doc), ElementsAre("title", "title.raw"));
  // A multi-field that cannot take the value fails the document, naming the multi-field.
  SetMapping(json::parse(R"({"properties": {"code": {"type": "keyword",
      "fields": {"num": {"type": "long"}}}}})"));
  r = Parse(R"({"code": "12"})");
  EXPECT_THAT(Field(r.doc, "code.num")->numeric_values, ElementsAre(12));
  EXPECT_THAT(FieldNames(r.doc), ElementsAre("code", "code.num"));
  EXPECT_THAT(Error(R"({"code": "Hello World"})"),
              HasSubstr("failed to parse field [code.num] of type [long]"));
}

TEST_F(DocumentParserTest, DisabledObjectIsSkipped) {
  SetMapping(json::parse(R"({"properties": {"blob": {"type": "object", "enabled": false}}})"));
  ParseResult r = Parse(R"({"blob": {"anything": [1, "x", {"deep": true}]}, "blob2": 1})");
  EXPECT_EQ(Field(r.doc, "blob.anything"), nullptr);
  ASSERT_TRUE(r.updated_mapping.has_value());  // blob2 is new; blob adds nothing
  EXPECT_EQ(r.updated_mapping->Find("blob.anything"), nullptr);
  EXPECT_NE(r.updated_mapping->Find("blob2"), nullptr);
}

TEST_F(DocumentParserTest, SourceDisabledAndFiltered) {
  SetMapping({{"_source", {{"enabled", false}}}, {"properties", {{"k", {{"type", "keyword"}}}}}});
  ParseResult r = Parse(R"({"k": "v"})");
  EXPECT_EQ(r.doc.source, "");
  EXPECT_THAT(Terms(*Field(r.doc, "k")), ElementsAre("v"));

  SetMapping(json::parse(R"({"_source": {"includes": ["a", "obj.*", "arr"],
                                         "excludes": ["*.secret", "obj.x"]}})"));
  r = Parse(
      R"({"a": 1, "b": "drop", "obj": {"x": 1, "y": "k\"q", "secret": 2, "in": {"z": 3}},
          "arr": [{"p": 1, "secret": 0}, {"q": 2}], "other": {"q": 1}})");
  EXPECT_EQ(json::parse(r.doc.source), json::parse(R"({"a": 1, "obj": {"y": "k\"q", "in": {"z": 3}},
                            "arr": [{"p": 1}, {"q": 2}]})"))
      << r.doc.source;
  // Every field is still indexed (dynamically here).
  EXPECT_NE(Field(r.doc, "b"), nullptr);

  SetMapping(json::parse(R"({"_source": {"includes": ["tags", "o.k*"]}})"));
  r = Parse(R"({"tags": ["x", "y"], "o": {"keep": 1, "drop": 2}, "p": [1]})");
  EXPECT_EQ(json::parse(r.doc.source), json::parse(R"({"tags": ["x", "y"], "o": {"keep": 1}})"));

  SetMapping(json::parse(R"({"_source": {"excludes": ["meta"]}})"));
  r = Parse(R"({"a": {"b": [1, 2]}, "meta": {"x": 1}})");
  EXPECT_EQ(json::parse(r.doc.source), json::parse(R"({"a": {"b": [1, 2]}})"));
}

TEST_F(DocumentParserTest, DynamicMapping) {
  ParseResult r = Parse(
      R"({"title": "Hello World", "count": 5, "ratio": 1.5, "ok": true,
          "when": "2015-01-01T00:00:00Z", "slash": "2015/09/02", "year": "2015",
          "user": {"name": "x", "tags": ["a", "b"]}, "dotted.key": 1,
          "empty": [], "nothing": null, "nulls": [null]})");
  ASSERT_TRUE(r.updated_mapping.has_value());
  const Mapping& m = *r.updated_mapping;
  EXPECT_EQ(m.ToJson(), json::parse(R"({"properties": {
      "count": {"type": "long"},
      "dotted": {"properties": {"key": {"type": "long"}}},
      "ok": {"type": "boolean"},
      "ratio": {"type": "float"},
      "slash": {"type": "date", "format": "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"},
      "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
      "user": {"properties": {
          "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
          "tags": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}},
      "when": {"type": "date"},
      "year": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    }})"))
      << m.ToJson().dump(2);
  // The document is indexed under the new mapping.
  EXPECT_THAT(Terms(*Field(r.doc, "title")), ElementsAre("hello", "world"));
  EXPECT_THAT(Field(r.doc, "title.keyword")->sorted_values, ElementsAre("Hello World"));
  EXPECT_THAT(Field(r.doc, "count")->numeric_values, ElementsAre(5));
  EXPECT_THAT(Field(r.doc, "ratio")->numeric_values, ElementsAre(SortableDoubleBits(1.5)));
  EXPECT_THAT(Field(r.doc, "when")->numeric_values, ElementsAre(1420070400000));
  EXPECT_THAT(Field(r.doc, "slash")->numeric_values, ElementsAre(1441152000000));
  EXPECT_THAT(Field(r.doc, "dotted.key")->numeric_values, ElementsAre(1));
  EXPECT_THAT(Terms(*Field(r.doc, "user.tags.keyword")), ElementsAre("a", "b"));
  EXPECT_THAT(FieldNames(r.doc),
              ElementsAre("count", "dotted", "dotted.key", "ok", "ratio", "slash", "title",
                          "title.keyword", "user", "user.name", "user.name.keyword", "user.tags",
                          "user.tags.keyword", "when", "year", "year.keyword"));
  // The mapping passed in is unchanged; parsing again under the new one adds nothing.
  EXPECT_EQ(mapping_.ToJson(), json::object());
  mapping_ = m;
  ParseResult again = Parse(R"({"title": "x", "count": 7})");
  EXPECT_FALSE(again.updated_mapping.has_value());
}

TEST_F(DocumentParserTest, DynamicFirstValueDecidesType) {
  EXPECT_THAT(Error(R"({"a": [1, "x"]})"), HasSubstr("failed to parse field [a] of type [long]"));
  EXPECT_THAT(Error(R"({"a": 1, "a.b": 2})"),
              HasSubstr("Existing mapping for [a] must be of type object but found [long]"));
  ParseResult r = Parse(R"({"a": [{"x": 1}, {"y": "s"}], "n": [null, 2]})");
  ASSERT_TRUE(r.updated_mapping.has_value());
  EXPECT_NE(r.updated_mapping->Find("a.x"), nullptr);
  EXPECT_NE(r.updated_mapping->Find("a.y"), nullptr);
  EXPECT_EQ(r.updated_mapping->Find("n")->type, FieldType::kLong);
}

TEST_F(DocumentParserTest, DynamicNumbersBeyondLongAndNestedArrays) {
  ParseResult r = Parse(R"({"big": 18446744073709551615, "nested": [[], [null, [7]]]})");
  ASSERT_TRUE(r.updated_mapping.has_value());
  EXPECT_EQ(r.updated_mapping->Find("big")->type, FieldType::kFloat);
  EXPECT_EQ(r.updated_mapping->Find("nested")->type, FieldType::kLong);
  EXPECT_THAT(Field(r.doc, "big")->numeric_values,
              ElementsAre(SortableDoubleBits(static_cast<float>(18446744073709551615.0))));
  EXPECT_THAT(Field(r.doc, "nested")->numeric_values, ElementsAre(7));
  // An unmapped field with only nulls and empty arrays adds nothing.
  ParseResult none = Parse(R"({"a": [[], [null]], "b": null})");
  EXPECT_FALSE(none.updated_mapping.has_value());
}

TEST_F(DocumentParserTest, DynamicFalseAndStrict) {
  SetMapping(json::parse(R"({"dynamic": false, "properties": {"k": {"type": "keyword"},
      "open": {"dynamic": true, "properties": {}},
      "closed": {"dynamic": "strict", "properties": {"a": {"type": "long"}}}}})"));
  std::string source = R"({"k": "v", "extra": {"x": 1}, "open": {"new": 2}})";
  ParseResult r = Parse(source);
  EXPECT_EQ(r.doc.source, source);  // kept in _source
  EXPECT_EQ(Field(r.doc, "extra.x"), nullptr);
  ASSERT_TRUE(r.updated_mapping.has_value());  // "open" allows new fields
  EXPECT_EQ(r.updated_mapping->Find("extra"), nullptr);
  EXPECT_NE(r.updated_mapping->Find("open.new"), nullptr);
  EXPECT_EQ(Error(R"({"closed": {"b": 1}})"),
            "mapping set to strict, dynamic introduction of [b] within [closed] is not allowed");
  EXPECT_EQ(Error(R"({"closed.b.c": 1})"),
            "mapping set to strict, dynamic introduction of [b] within [closed] is not allowed");

  SetMapping({{"dynamic", "strict"}, {"properties", {{"k", {{"type", "keyword"}}}}}});
  EXPECT_EQ(Error(R"({"k": "v", "x": 1})"),
            "mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed");
  EXPECT_EQ(Error(R"({"k": "v", "x": null, "y": []})"), "<ok>");  // nothing to introduce
}

TEST_F(DocumentParserTest, DateDetection) {
  SetMapping({{"date_detection", false}});
  ParseResult r = Parse(R"({"when": "2015-01-01T00:00:00Z"})");
  ASSERT_TRUE(r.updated_mapping.has_value());
  EXPECT_EQ(r.updated_mapping->Find("when")->type, FieldType::kText);
  SetMapping({{"dynamic_date_formats", {"dd/MM/yyyy"}}});
  r = Parse(R"({"a": "01/02/2015", "b": "2015-01-01", "c": "01.02.2015"})");
  EXPECT_EQ(r.updated_mapping->Find("a")->type, FieldType::kDate);
  EXPECT_EQ(r.updated_mapping->Find("b")->type, FieldType::kText);
  // Only strings with two of ':', '-' or '/' are tried as dates, as OpenSearch does.
  EXPECT_EQ(r.updated_mapping->Find("c")->type, FieldType::kText);
}

TEST_F(DocumentParserTest, MetadataFieldsInTheBodyAreRejected) {
  EXPECT_EQ(Error(R"({"_id": "x"})"),
            "Field [_id] is a metadata field and cannot be added inside a document. Use the "
            "index API request parameters.");
  EXPECT_THAT(Error(R"({"_source": {}})"), HasSubstr("metadata field"));
  // Other names starting with '_' are ordinary fields, and metadata names below the root too.
  ParseResult r = Parse(R"({"_custom": 1, "o": {"_id": "x"}})");
  ASSERT_TRUE(r.updated_mapping.has_value());
  EXPECT_NE(r.updated_mapping->Find("_custom"), nullptr);
  EXPECT_NE(r.updated_mapping->Find("o._id"), nullptr);
}

TEST_F(DocumentParserTest, MalformedJson) {
  EXPECT_THAT(Error(R"({"a": )"), HasSubstr("failed to parse"));
  EXPECT_THAT(Error(R"({"a": 1} x)"), HasSubstr("failed to parse"));
  EXPECT_THAT(Error(""), HasSubstr("failed to parse"));
  EXPECT_THAT(Error("[1, 2]"), HasSubstr("failed to parse"));
}

TEST_F(DocumentParserTest, ErrorLeavesMappingUnchangedAfterDynamicFields) {
  SetMapping({{"properties", {{"n", {{"type", "long"}}}}}});
  // The new field comes before the bad value; nothing of it survives.
  EXPECT_THAT(Error(R"({"newfield": "x", "n": "abc"})"), HasSubstr("field [n]"));
  EXPECT_EQ(mapping_.Find("newfield"), nullptr);
}

TEST_F(DocumentParserTest, MappingsOfDifferentSizesAndThreads) {
  // Per-thread scratch sized for one mapping must not leak into the next document.
  json big = {{"properties", json::object()}};
  for (int i = 0; i < 50; ++i) big["properties"]["f" + std::to_string(i)] = {{"type", "long"}};
  SetMapping(big);
  ParseResult r = Parse(R"({"f49": 1, "f0": 2})");
  EXPECT_THAT(Field(r.doc, "f49")->numeric_values, ElementsAre(1));
  SetMapping({{"properties", {{"a", {{"type", "long"}}}}}});
  r = Parse(R"({"a": [3, 4]})");
  EXPECT_THAT(Field(r.doc, "a")->numeric_values, ElementsAre(3, 4));

  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string src =
            "{\"a\": " + std::to_string(t * 1000 + i) + ", \"s\": \"w" + std::to_string(i) + "\"}";
        Result<ParseResult> p = ParseDocument(mapping_, analysis_, std::to_string(i), src);
        if (!p.ok() || p->doc.source != src) {
          ++failures[t];
          continue;
        }
        const DocumentField* a = nullptr;
        for (const DocumentField& f : p->doc.fields) {
          if (f.name == "a") a = &f;
        }
        if (a == nullptr || a->numeric_values != std::vector<int64_t>{t * 1000 + i}) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace quidditch::engine
