// Analysis: text in, tokens out.
//
// An Analyzer turns one field value into Tokens (term, position, offsets) the way OpenSearch's
// analyzer of the same name does, so that a document indexed here and in OpenSearch yields the
// same terms. Analyzers are immutable after construction and safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quidditch::engine {

struct Token {
  std::string term;           // UTF-8
  uint32_t position = 0;      // absolute position; filters that drop tokens (stop) leave gaps
  uint32_t start_offset = 0;  // byte offsets of the token in the analyzed UTF-8 text
  uint32_t end_offset = 0;
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;

  // Appends the tokens of `text` to `*out`. Positions start at `first_position` (the caller
  // uses it to place the values of a multi-valued field apart); offsets are relative to
  // `text`. Invalid UTF-8 is analyzed as if each bad byte were U+FFFD; never fails.
  virtual void Analyze(std::string_view text, uint32_t first_position,
                       std::vector<Token>* out) const = 0;
};

// The analyzers one index can name: the built-in ones (standard, simple, whitespace, keyword,
// stop, english) and the custom ones of its settings.
class AnalysisRegistry {
 public:
  virtual ~AnalysisRegistry() = default;

  // Builds the registry of an index from the `analysis` object of its settings, in
  // OpenSearch's shape: {"analyzer": {name: {"type": "custom", "tokenizer": ..., "filter":
  // [...], "char_filter": [...]}}, "filter": {name: {"type": "stop", ...}}, "tokenizer":
  // {...}}. `analysis` may be null or empty. Unknown types, tokenizers or filters and
  // malformed definitions are InvalidArgument with a message naming the analyzer and the
  // offending part, as OpenSearch's illegal_argument_exception reason would.
  static Result<std::shared_ptr<const AnalysisRegistry>> Create(const nlohmann::json& analysis);

  // The analyzer called `name`, or nullptr when there is none. The pointer lives as long as
  // the registry.
  virtual const Analyzer* Find(std::string_view name) const = 0;
};

}  // namespace quidditch::engine
