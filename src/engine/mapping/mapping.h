// Mappings: how the fields of an index's documents are typed and indexed, and the parser that
// turns a JSON document into a ParsedDocument according to them (OpenSearch 2.x semantics).
//
// A Mapping is an immutable value; changes (PUT _mapping, dynamic fields) produce a new one.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/analysis/analyzer.h"
#include "engine/document.h"

namespace quidditch::engine {

enum class FieldType {
  kText,
  kKeyword,
  kLong,
  kInteger,
  kShort,
  kByte,
  kDouble,
  kFloat,
  kBoolean,
  kDate,
  kObject,
};

// "text", "keyword", "long", ...; and back (nullopt for an unknown name).
std::string_view FieldTypeName(FieldType type);
std::optional<FieldType> ParseFieldType(std::string_view name);

// One leaf field (or object) of a mapping, by its full dotted path. Multi-fields
// ("fields": {"keyword": {...}}) are leaves of their own at "<path>.<name>".
struct FieldMapping {
  std::string path;
  FieldType type = FieldType::kObject;
  std::string analyzer = "standard";                             // text
  std::string search_analyzer;                                   // text; empty: same as analyzer
  uint32_t ignore_above = std::numeric_limits<uint32_t>::max();  // keyword
  bool index = true;
  bool doc_values = true;  // keyword, numeric, date, boolean
  // date: the `format` split on "||"; default {"strict_date_optional_time", "epoch_millis"}.
  std::vector<std::string> formats;
  uint32_t position_increment_gap = 100;  // text: between the values of an array

  // The analyzer queries on this field use (search_analyzer, else analyzer).
  const std::string& query_analyzer() const {
    return search_analyzer.empty() ? analyzer : search_analyzer;
  }
  bool is_numeric() const;  // long/integer/short/byte/double/float
};

class Mapping {
 public:
  // An empty mapping with dynamic: true and _source enabled.
  Mapping();

  // Builds from the `mappings` object of index creation: {"dynamic": true|false|"strict",
  // "date_detection": bool, "_source": {"enabled", "includes", "excludes"}, "properties":
  // {...}}. Unknown types, bad parameters and unknown analyzers (checked against `analysis`)
  // are `mapper_parsing_exception` errors (see engine/errors.h).
  static Result<Mapping> FromJson(const nlohmann::json& mappings, const AnalysisRegistry& analysis);

  // The mapping in OpenSearch's GET _mapping shape (defaults left out as OpenSearch does).
  nlohmann::json ToJson() const;

  // The leaf field or object at `path` ("user.name", "title.keyword"), or nullptr.
  const FieldMapping* Find(std::string_view path) const;
  // All leaf fields (not objects), ordered by path.
  std::vector<const FieldMapping*> Fields() const;

  // PUT _mapping: adds the fields of `update` (same shape as FromJson). Changing the type or
  // an unchangeable parameter of an existing field is `illegal_argument_exception`
  // ("mapper [x] cannot be changed from type [long] to [text]"); nothing changes then.
  Result<Mapping> Merge(const nlohmann::json& update, const AnalysisRegistry& analysis) const;

  bool source_enabled() const;

 private:
  friend struct MappingAccess;  // engine/mapping internals: the document parser reads rep_
  struct Rep;
  std::shared_ptr<const Rep> rep_;
};

struct ParseResult {
  ParsedDocument doc;
  // Set when the document introduced fields (dynamic mapping): the mapping to use from now
  // on, which already contains them.
  std::optional<Mapping> updated_mapping;
};

// Parses one JSON document. A value that does not fit its field (or any malformed JSON, or a
// new field under dynamic: strict) is a `mapper_parsing_exception` error for this document
// only; `mapping` is never changed. Dynamic mapping as OpenSearch: strings -> text with a
// `keyword` multi-field (ignore_above 256), or date when they parse as one (date_detection);
// integers -> long; decimals -> float; booleans -> boolean; objects -> object.
// Thread-safe (the parser holds no state).
Result<ParseResult> ParseDocument(const Mapping& mapping, const AnalysisRegistry& analysis,
                                  std::string_view id, std::string_view source);

// Date parsing shared with range queries: `value` per `formats` (strict_date_optional_time,
// epoch_millis, epoch_second, date_optional_time, strict_date, basic_date, yyyy-MM-dd-style
// patterns) to epoch milliseconds UTC.
Result<int64_t> ParseDate(std::string_view value, const std::vector<std::string>& formats);

}  // namespace quidditch::engine
