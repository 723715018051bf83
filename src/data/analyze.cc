#include "data/analyze.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/errors.h"

namespace quidditch::data {
namespace {

using nlohmann::json;

const json* Find(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

// UTF-16 code units before each byte offset of `text` (OpenSearch reports offsets in Java
// chars).
std::vector<uint32_t> Utf16Offsets(std::string_view text) {
  std::vector<uint32_t> out(text.size() + 1, 0);
  uint32_t units = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    out[i] = units;
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) units += (c >= 0xF0) ? 2 : 1;  // a lead byte starts a code point
  }
  out[text.size()] = units;
  return out;
}

// The token type OpenSearch's standard tokenizer reports; "word" for the others.
std::string TokenType(bool standard_tokenizer, std::string_view term) {
  if (!standard_tokenizer) return "word";
  bool digit = false;
  for (char c : term) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '.' && c != ',') {
      return "<ALPHANUM>";
    }
  }
  return digit ? "<NUM>" : "<ALPHANUM>";
}

}  // namespace

Result<json> AnalyzeText(const json& request, const json& analysis,
                         const engine::AnalysisRegistry& index_registry,
                         const engine::Mapping* mapping) {
  if (!request.is_object()) return engine::QueryParsingError("request body must be an object");
  std::vector<std::string> texts;
  if (const json* text = Find(request, "text")) {
    if (text->is_string()) {
      texts.push_back(text->get<std::string>());
    } else if (text->is_array()) {
      for (const json& t : *text) {
        if (!t.is_string()) return engine::IllegalArgument("[text] must be strings");
        texts.push_back(t.get<std::string>());
      }
    }
  }
  if (texts.empty()) {
    return Status::InvalidArgument(
        "action_request_validation_exception: Validation Failed: 1: text is missing;");
  }
  if (Find(request, "normalizer") != nullptr) {
    return engine::IllegalArgument("[normalizer] of _analyze is not supported");
  }
  if (const json* explain = Find(request, "explain");
      explain != nullptr && explain->is_boolean() && explain->get<bool>()) {
    return engine::IllegalArgument("[explain] of _analyze is not supported");
  }

  const engine::AnalysisRegistry* registry = &index_registry;
  std::shared_ptr<const engine::AnalysisRegistry> custom;  // for tokenizer + filters
  std::string analyzer_name = "standard";
  uint32_t position_gap = 0;

  const json* tokenizer = Find(request, "tokenizer");
  const json* filters = Find(request, "filter");
  const json* char_filters = Find(request, "char_filter");
  if (tokenizer || filters || char_filters) {
    // An analyzer made of the request's parts, next to the index's own definitions (which the
    // parts may name); parts given inline as objects are defined under generated names.
    json defs = analysis;
    json chain = {{"type", "custom"}};
    int inline_count = 0;
    auto part = [&](const json& p, const char* kind) -> Result<json> {
      if (p.is_string()) return p;
      if (!p.is_object()) {
        return engine::IllegalArgument(fmt::format("[{}] must be a name or a definition", kind));
      }
      std::string name = fmt::format("_analyze_{}_{}", kind, inline_count++);
      defs[kind][name] = p;
      return json(name);
    };
    QD_ASSIGN_OR_RETURN(chain["tokenizer"],
                        tokenizer ? part(*tokenizer, "tokenizer") : Result<json>(json("keyword")));
    for (auto [spec, kind, key] : {std::tuple{filters, "filter", "filter"},
                                   std::tuple{char_filters, "char_filter", "char_filter"}}) {
      if (spec == nullptr) continue;
      json list = json::array();
      if (spec->is_array()) {
        for (const json& p : *spec) {
          QD_ASSIGN_OR_RETURN(json name, part(p, kind));
          list.push_back(std::move(name));
        }
      } else {
        QD_ASSIGN_OR_RETURN(json name, part(*spec, kind));
        list.push_back(std::move(name));
      }
      chain[key] = std::move(list);
    }
    analyzer_name = "_analyze";
    defs["analyzer"][analyzer_name] = chain;
    QD_ASSIGN_OR_RETURN(custom, engine::AnalysisRegistry::Create(defs));
    registry = custom.get();
  } else if (const json* analyzer = Find(request, "analyzer")) {
    if (!analyzer->is_string()) return engine::IllegalArgument("[analyzer] must be a name");
    analyzer_name = analyzer->get<std::string>();
  } else if (const json* field = Find(request, "field")) {
    if (!field->is_string()) return engine::IllegalArgument("[field] must be a field name");
    if (mapping == nullptr) {
      return engine::IllegalArgument(
          "[field] of _analyze needs an index: there is no mapping without one");
    }
    if (const engine::FieldMapping* f = mapping->Find(field->get<std::string>())) {
      if (f->type == engine::FieldType::kText) {
        analyzer_name = f->analyzer;
        position_gap = f->position_increment_gap;
      } else if (f->type == engine::FieldType::kKeyword) {
        analyzer_name = "keyword";
      }
    }
  }
  const engine::Analyzer* analyzer = registry->Find(analyzer_name);
  if (analyzer == nullptr) {
    return engine::IllegalArgument(fmt::format("failed to find {}analyzer [{}]",
                                               mapping == nullptr ? "global " : "", analyzer_name));
  }

  // Which tokenizer produced the tokens decides their type, as Lucene's tokenizers label them.
  bool standard = false;
  if (analyzer_name == "standard" || analyzer_name == "english") {
    standard = true;
  } else if (analyzer_name == "_analyze") {
    standard = tokenizer != nullptr && tokenizer->is_string() && *tokenizer == "standard";
  } else if (analysis.contains("analyzer") && analysis["analyzer"].contains(analyzer_name)) {
    const json& def = analysis["analyzer"][analyzer_name];
    const std::string type = def.value("type", "custom");
    standard = type == "standard" || (type == "custom" && def.value("tokenizer", "") == "standard");
  }

  json tokens = json::array();
  uint32_t position_base = 0;
  uint32_t offset_base = 0;
  std::vector<engine::Token> out;
  for (const std::string& text : texts) {
    out.clear();
    analyzer->Analyze(text, position_base, &out);
    const std::vector<uint32_t> utf16 = Utf16Offsets(text);
    for (const engine::Token& t : out) {
      tokens.push_back(
          json{{"token", t.term},
               {"start_offset", offset_base + utf16[std::min<size_t>(t.start_offset, text.size())]},
               {"end_offset", offset_base + utf16[std::min<size_t>(t.end_offset, text.size())]},
               {"type", TokenType(standard, t.term)},
               {"position", t.position}});
    }
    if (!out.empty())
      position_base = out.back().position + 1 + position_gap;
    else
      position_base += position_gap;
    offset_base += utf16.back() + 1;  // Lucene's offset gap between values
  }
  return json{{"tokens", std::move(tokens)}};
}

}  // namespace quidditch::data
