#include "engine/search/highlighter.h"

#include <algorithm>
#include <set>

namespace quidditch::engine {

namespace {

using json = nlohmann::json;

// Collects the string values at `path` (dotted, objects and arrays walked through).
void CollectValues(const json& node, std::string_view path, std::vector<std::string>* out) {
  if (node.is_array()) {
    for (const json& v : node) CollectValues(v, path, out);
    return;
  }
  if (path.empty()) {
    if (node.is_string()) {
      out->push_back(node.get<std::string>());
    } else if (node.is_number() || node.is_boolean()) {
      out->push_back(node.dump());
    }
    return;
  }
  if (!node.is_object()) return;
  // A key may itself contain dots ("a.b": 1); try the longest key first.
  for (size_t end = path.size();; end = path.rfind('.', end - 1)) {
    std::string key(path.substr(0, end));
    auto it = node.find(key);
    if (it != node.end()) {
      CollectValues(*it, end == path.size() ? std::string_view() : path.substr(end + 1), out);
    }
    if (end == 0 || path.rfind('.', end - 1) == std::string_view::npos) break;
  }
}

struct Fragment {
  size_t start, end;  // byte range in the value
  std::vector<const Token*> hits;
  size_t distinct = 0;
  size_t order = 0;
};

std::string Render(std::string_view text, const Fragment& f, const HighlightOptions& o) {
  std::string out;
  size_t pos = f.start;
  for (const Token* t : f.hits) {
    out.append(text.substr(pos, t->start_offset - pos));
    out += o.pre_tag;
    out.append(text.substr(t->start_offset, t->end_offset - t->start_offset));
    out += o.post_tag;
    pos = t->end_offset;
  }
  out.append(text.substr(pos, f.end - pos));
  return out;
}

}  // namespace

Result<std::vector<std::string>> Highlight(const Query& query, std::string_view source_json,
                                           const std::string& field, const SearchContext& ctx,
                                           const HighlightOptions& options) {
  std::vector<std::string> out;
  const FieldMapping* fm = ctx.mapping == nullptr ? nullptr : ctx.mapping->Find(field);
  if (fm == nullptr || (fm->type != FieldType::kText && fm->type != FieldType::kKeyword)) {
    return out;
  }
  json source;
  try {
    source = json::parse(source_json);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("malformed _source: ") + e.what());
  }
  std::vector<std::string> values;
  CollectValues(source, field, &values);
  const Analyzer* analyzer = nullptr;
  if (fm->type == FieldType::kText) {
    analyzer = ctx.analysis == nullptr ? nullptr : ctx.analysis->Find(fm->analyzer);
    if (analyzer == nullptr) {
      return Status::InvalidArgument("analyzer [" + fm->analyzer + "] not found for field [" +
                                     field + "]");
    }
  }
  std::vector<Fragment> fragments;
  std::vector<std::vector<Token>> value_tokens(values.size());
  std::vector<size_t> fragment_value;
  for (size_t v = 0; v < values.size(); ++v) {
    const std::string& text = values[v];
    std::vector<Token>& tokens = value_tokens[v];
    if (analyzer != nullptr) {
      analyzer->Analyze(text, 0, &tokens);
    } else {
      tokens.push_back(Token{text, 0, 0, static_cast<uint32_t>(text.size())});
    }
    // Fragments: consecutive tokens while the fragment stays within fragment_size (or the
    // whole value when number_of_fragments is 0).
    size_t first_fragment = fragments.size();
    Fragment cur{0, text.size(), {}, 0, 0};
    for (const Token& t : tokens) {
      if (options.number_of_fragments != 0 && t.start_offset > cur.start &&
          t.end_offset - cur.start > options.fragment_size) {
        cur.end = t.start_offset;
        fragments.push_back(cur);
        fragment_value.push_back(v);
        cur = Fragment{t.start_offset, text.size(), {}, 0, 0};
      }
      if (query.MatchesTerm(field, t.term)) cur.hits.push_back(&t);
    }
    fragments.push_back(cur);
    fragment_value.push_back(v);
    for (size_t i = first_fragment; i < fragments.size(); ++i) {
      std::set<std::string_view> distinct;
      for (const Token* t : fragments[i].hits) distinct.insert(t->term);
      fragments[i].distinct = distinct.size();
      fragments[i].order = i;
      // Trailing whitespace stays out of a fragment.
      while (fragments[i].end > fragments[i].start &&
             std::isspace(static_cast<unsigned char>(text[fragments[i].end - 1]))) {
        --fragments[i].end;
      }
    }
  }
  std::vector<size_t> chosen;
  for (size_t i = 0; i < fragments.size(); ++i) {
    if (!fragments[i].hits.empty()) chosen.push_back(i);
  }
  size_t limit = options.number_of_fragments == 0 ? chosen.size() : options.number_of_fragments;
  if (chosen.size() > limit) {
    std::stable_sort(chosen.begin(), chosen.end(), [&](size_t a, size_t b) {
      if (fragments[a].distinct != fragments[b].distinct) {
        return fragments[a].distinct > fragments[b].distinct;
      }
      return fragments[a].hits.size() > fragments[b].hits.size();
    });
    chosen.resize(limit);
    std::sort(chosen.begin(), chosen.end());
  }
  for (size_t i : chosen) {
    out.push_back(Render(values[fragment_value[i]], fragments[i], options));
  }
  return out;
}

}  // namespace quidditch::engine
