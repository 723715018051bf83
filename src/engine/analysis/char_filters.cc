// Char filters: mapping (and html_strip, see html_strip.cc).

#include <algorithm>
#include <map>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {

Result<std::shared_ptr<const CharFilter>> MakeHtmlStripCharFilter(const nlohmann::json& params,
                                                                  std::string_view name);

namespace {

// Lucene's MappingCharFilter: at each position the longest matching key is replaced by its
// value; offsets of the output map back as Lucene's offset corrections do (an output shorter
// than its match maps its end to the match's end; extra output characters map to the
// match's last character).
class MappingCharFilter final : public CharFilter {
 public:
  explicit MappingCharFilter(std::map<std::string, std::string> rules) : rules_(std::move(rules)) {
    for (const auto& [k, v] : rules_) {
      max_key_ = std::max(max_key_, k.size());
      first_bytes_[static_cast<unsigned char>(k[0])] = true;
    }
  }

  void Filter(std::string_view in, std::string* out, OffsetCorrection* map) const override {
    out->clear();
    out->reserve(in.size());
    int64_t diff = 0;  // input offset - output offset after what is written
    size_t i = 0;
    while (i < in.size()) {
      if (first_bytes_[static_cast<unsigned char>(in[i])]) {
        size_t longest = std::min(max_key_, in.size() - i);
        const std::string* value = nullptr;
        size_t match = 0;
        for (size_t len = longest; len > 0; --len) {
          auto it = rules_.find(std::string(in.substr(i, len)));
          if (it != rules_.end()) {
            value = &it->second;
            match = len;
            break;
          }
        }
        if (value != nullptr) {
          size_t out_start = out->size();
          out->append(*value);
          int64_t d = static_cast<int64_t>(match) - static_cast<int64_t>(value->size());
          if (d > 0) {
            map->Add(static_cast<uint32_t>(out_start + value->size()), diff + d);
          } else if (d < 0) {
            for (int64_t extra = 0; extra < -d; ++extra) {
              map->Add(static_cast<uint32_t>(out_start + match + extra), diff - extra - 1);
            }
          }
          diff += d;
          i += match;
          continue;
        }
      }
      out->push_back(in[i]);
      ++i;
    }
  }

 private:
  std::map<std::string, std::string> rules_;
  size_t max_key_ = 0;
  bool first_bytes_[256] = {};
};

// The escapes OpenSearch's mapping rules accept: \\ \" \' \n \t \r \b \f \uXXXX.
Result<std::string> Unescape(std::string_view s, const std::string& rule) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i >= s.size()) return IllegalArgument("Invalid escaped char in [" + rule + "]");
    switch (s[i]) {
      case '\\':
        out.push_back('\\');
        break;
      case '"':
        out.push_back('"');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        if (i + 4 >= s.size()) {
          return IllegalArgument("Invalid escaped char in [" + rule + "]");
        }
        std::string hex(s.substr(i + 1, 4));
        char* end = nullptr;
        unsigned long c = std::strtoul(hex.c_str(), &end, 16);
        if (hex.size() != 4 || end != hex.c_str() + 4) {
          return IllegalArgument("Invalid escaped char in [" + rule + "]");
        }
        AppendUtf8(&out, static_cast<char32_t>(c));
        i += 4;
        break;
      }
      default:
        return IllegalArgument("Invalid escaped char in [" + rule + "]");
    }
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

Result<std::shared_ptr<const CharFilter>> MakeMapping(const nlohmann::json& params,
                                                      std::string_view name) {
  if (params.is_object() && params.contains("mappings_path")) {
    return IllegalArgument("[mappings_path] of [" + std::string(name) +
                           "] is not supported: give the rules in [mappings]");
  }
  bool present = false;
  QD_ASSIGN_OR_RETURN(std::vector<std::string> rules,
                      ListParam(params, "mappings", name, &present));
  if (!present) {
    return IllegalArgument(
        "mapping requires either `mappings` or `mappings_path` to be configured");
  }
  std::map<std::string, std::string> map;
  for (const std::string& rule : rules) {
    size_t arrow = rule.rfind("=>");
    if (arrow == std::string::npos) {
      return IllegalArgument("Invalid Mapping Rule : [" + rule + "]");
    }
    QD_ASSIGN_OR_RETURN(std::string lhs,
                        Unescape(Trim(std::string_view(rule).substr(0, arrow)), rule));
    QD_ASSIGN_OR_RETURN(std::string rhs,
                        Unescape(Trim(std::string_view(rule).substr(arrow + 2)), rule));
    if (lhs.empty()) {
      return IllegalArgument("Invalid Mapping Rule : [" + rule + "]. Illegal mapping.");
    }
    map[lhs] = rhs;  // a later rule for the same key wins, as in Lucene's builder
  }
  return std::shared_ptr<const CharFilter>(std::make_shared<MappingCharFilter>(std::move(map)));
}

}  // namespace

Result<std::shared_ptr<const CharFilter>> MakeCharFilter(std::string_view type,
                                                         const nlohmann::json& params,
                                                         std::string_view name) {
  if (type == "mapping") return MakeMapping(params, name);
  if (type == "html_strip") return MakeHtmlStripCharFilter(params, name);
  if (type == "pattern_replace") return MakePatternReplaceCharFilter(params, name);
  return Status::NotFound(std::string(type));
}

}  // namespace quidditch::engine::analysis
