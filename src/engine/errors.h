// OpenSearch error types of engine failures.
//
// The engine speaks Status like the rest of Quidditch; where OpenSearch distinguishes several
// exception types under one of our codes, the engine puts the type first in the message,
// "<type>: <reason>", and the REST edge splits it again with SplitEngineError. Types used:
//   mapper_parsing_exception            InvalidArgument  a document does not fit its mapping
//   illegal_argument_exception          InvalidArgument  bad settings, mappings, analyzers
//   parsing_exception                   InvalidArgument  malformed Query DSL
//   x_content_parse_exception           InvalidArgument  an unknown key of an object parser
//   query_shard_exception               InvalidArgument  a query that cannot run on a field
//   version_conflict_engine_exception   Conflict         optimistic concurrency failures
//   document_missing_exception          NotFound         update of a missing document
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace quidditch::engine {

// Separates a reason from its cause, "<reason>. Caused by: <type>: <cause reason>", which the
// REST edge answers as OpenSearch's nested "caused_by" object.
inline constexpr std::string_view kCausedBy = ". Caused by: ";

inline Status MapperParsingError(std::string_view reason) {
  return Status::InvalidArgument(std::string("mapper_parsing_exception: ").append(reason));
}
inline Status IllegalArgument(std::string_view reason) {
  return Status::InvalidArgument(std::string("illegal_argument_exception: ").append(reason));
}
inline Status QueryParsingError(std::string_view reason) {
  return Status::InvalidArgument(std::string("parsing_exception: ").append(reason));
}
inline Status XContentParseError(std::string_view reason) {
  return Status::InvalidArgument(std::string("x_content_parse_exception: ").append(reason));
}
inline Status QueryShardError(std::string_view reason) {
  return Status::InvalidArgument(std::string("query_shard_exception: ").append(reason));
}
inline Status VersionConflict(std::string_view reason) {
  return Status::Conflict(std::string("version_conflict_engine_exception: ").append(reason));
}
inline Status DocumentMissing(std::string_view reason) {
  return Status::NotFound(std::string("document_missing_exception: ").append(reason));
}

// The XContent token OpenSearch names when a JSON value has the wrong type ("START_OBJECT",
// "START_ARRAY", "VALUE_STRING", "VALUE_NUMBER", "VALUE_BOOLEAN", "VALUE_NULL").
inline std::string_view XContentTokenName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      return "START_OBJECT";
    case nlohmann::json::value_t::array:
      return "START_ARRAY";
    case nlohmann::json::value_t::string:
      return "VALUE_STRING";
    case nlohmann::json::value_t::boolean:
      return "VALUE_BOOLEAN";
    case nlohmann::json::value_t::null:
      return "VALUE_NULL";
    default:
      return "VALUE_NUMBER";
  }
}

// Splits "<type>: <reason>" when the message starts with an OpenSearch exception type
// (a lowercase word ending in "_exception"); otherwise returns {"", message}.
inline std::pair<std::string_view, std::string_view> SplitEngineError(const Status& status) {
  std::string_view m = status.message();
  size_t colon = m.find(": ");
  if (colon == std::string_view::npos) return {{}, m};
  std::string_view type = m.substr(0, colon);
  if (!type.ends_with("_exception")) return {{}, m};
  for (char c : type) {
    if (!(c == '_' || (c >= 'a' && c <= 'z'))) return {{}, m};
  }
  return {type, m.substr(colon + 2)};
}

}  // namespace quidditch::engine
