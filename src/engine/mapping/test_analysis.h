// Test double for engine/mapping tests: an analysis registry whose analyzers split on spaces
// and lowercase ASCII. Not OpenSearch's analyzers; tests that depend on real analysis use
// AnalysisRegistry::Create.
#pragma once

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/analysis/analyzer.h"

namespace quidditch::engine::testing {

class SpaceLowercaseAnalyzer : public Analyzer {
 public:
  void Analyze(std::string_view text, uint32_t first_position,
               std::vector<Token>* out) const override {
    uint32_t pos = first_position;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && text[i] == ' ') ++i;
      size_t start = i;
      while (i < text.size() && text[i] != ' ') ++i;
      if (i > start) {
        std::string term(text.substr(start, i - start));
        for (char& c : term) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out->push_back(
            Token{std::move(term), pos++, static_cast<uint32_t>(start), static_cast<uint32_t>(i)});
      }
    }
  }
};

// Knows "standard", "simple", "whitespace" and "english", all SpaceLowercaseAnalyzer.
class FakeAnalysisRegistry : public AnalysisRegistry {
 public:
  const Analyzer* Find(std::string_view name) const override {
    if (name == "standard" || name == "simple" || name == "whitespace" || name == "english") {
      return &analyzer_;
    }
    return nullptr;
  }

 private:
  SpaceLowercaseAnalyzer analyzer_;
};

}  // namespace quidditch::engine::testing
