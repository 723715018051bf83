// The html_strip char filter: a simplified Lucene HTMLStripCharFilter. Tags, comments,
// <!...> and <?...?> are removed; script and style elements are removed with their
// content; block-level tags and <br> become "\n"; character entities (named ones of
// HTML 4 that matter most, decimal and hexadecimal) are decoded; tags listed in
// `escaped_tags` are kept. Offsets of the output map back to the input like Lucene's: each
// removed or replaced stretch adds an offset correction at the end of its replacement.

#include <cstring>
#include <set>
#include <unordered_map>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"
#include "engine/errors.h"

namespace quidditch::engine::analysis {
namespace {

bool IsAlpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool IsBlockTag(const std::string& tag) {
  static const std::set<std::string>* blocks = new std::set<std::string>{
      "address", "article", "aside",  "blockquote", "br",     "dd",      "div",
      "dl",      "dt",      "fieldset", "figcaption", "figure", "footer", "form",
      "h1",      "h2",      "h3",     "h4",         "h5",     "h6",      "header",
      "hgroup",  "hr",      "li",     "main",       "nav",    "noscript", "ol",
      "output",  "p",       "pre",    "section",    "table",  "tbody",   "td",
      "tfoot",   "th",      "thead",  "tr",         "ul",     "video"};
  return blocks->contains(tag);
}

char32_t NamedEntity(const std::string& name) {
  static const auto* entities = new std::unordered_map<std::string, char32_t>{
      {"amp", '&'},     {"lt", '<'},      {"gt", '>'},      {"quot", '"'},
      {"apos", '\''},   {"nbsp", 0xA0},   {"copy", 0xA9},   {"reg", 0xAE},
      {"trade", 0x2122}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
      {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"laquo", 0xAB},  {"raquo", 0xBB},  {"euro", 0x20AC}, {"pound", 0xA3},
      {"yen", 0xA5},    {"cent", 0xA2},   {"sect", 0xA7},   {"deg", 0xB0},
      {"middot", 0xB7}, {"bull", 0x2022}, {"times", 0xD7},  {"divide", 0xF7},
      {"eacute", 0xE9}, {"Eacute", 0xC9}, {"egrave", 0xE8}, {"agrave", 0xE0},
      {"aacute", 0xE1}, {"iacute", 0xED}, {"oacute", 0xF3}, {"uacute", 0xFA},
      {"ntilde", 0xF1}, {"ccedil", 0xE7}, {"uuml", 0xFC},   {"ouml", 0xF6},
      {"auml", 0xE4},   {"Uuml", 0xDC},   {"Ouml", 0xD6},   {"Auml", 0xC4},
      {"szlig", 0xDF},  {"ecirc", 0xEA},  {"acirc", 0xE2},  {"ocirc", 0xF4}};
  auto it = entities->find(name);
  return it == entities->end() ? 0 : it->second;
}

class HtmlStripCharFilter final : public CharFilter {
 public:
  explicit HtmlStripCharFilter(std::set<std::string> escaped) : escaped_(std::move(escaped)) {}

  void Filter(std::string_view in, std::string* out, OffsetCorrection* map) const override {
    out->clear();
    out->reserve(in.size());
    int64_t diff = 0;
    // Replaces in[i, i+len) by `replacement`.
    auto replace = [&](size_t len, std::string_view replacement) {
      out->append(replacement);
      int64_t d = static_cast<int64_t>(len) - static_cast<int64_t>(replacement.size());
      if (d != 0) {
        diff += d;
        map->Add(static_cast<uint32_t>(out->size()), diff);
      }
    };
    size_t i = 0;
    while (i < in.size()) {
      char c = in[i];
      if (c == '<') {
        size_t len = 0;
        std::string replacement;
        if (MatchMarkup(in, i, &len, &replacement)) {
          replace(len, replacement);
          i += len;
          continue;
        }
      } else if (c == '&') {
        size_t len = 0;
        char32_t decoded = 0;
        if (MatchEntity(in, i, &len, &decoded)) {
          std::string rep;
          AppendUtf8(&rep, decoded);
          replace(len, rep);
          i += len;
          continue;
        }
      }
      out->push_back(c);
      ++i;
    }
  }

 private:
  // Markup at in[i] ('<'): its length and what replaces it.
  bool MatchMarkup(std::string_view in, size_t i, size_t* len, std::string* replacement) const {
    std::string_view rest = in.substr(i);
    if (rest.starts_with("<!--")) {
      size_t end = rest.find("-->", 4);
      *len = end == std::string_view::npos ? rest.size() : end + 3;
      return true;
    }
    if (rest.starts_with("<!") || rest.starts_with("<?")) {
      size_t end = rest.find('>', 2);
      if (end == std::string_view::npos) return false;
      *len = end + 1;
      return true;
    }
    size_t p = 1;
    bool closing = false;
    if (p < rest.size() && rest[p] == '/') {
      closing = true;
      ++p;
    }
    if (p >= rest.size() || !IsAlpha(rest[p])) return false;
    size_t name_start = p;
    while (p < rest.size() && (IsAlpha(rest[p]) || (rest[p] >= '0' && rest[p] <= '9') ||
                               rest[p] == '-' || rest[p] == ':')) {
      ++p;
    }
    std::string tag = LowerAscii(rest.substr(name_start, p - name_start));
    // The end of the tag, skipping quoted attribute values.
    char quote = 0;
    for (; p < rest.size(); ++p) {
      if (quote != 0) {
        if (rest[p] == quote) quote = 0;
      } else if (rest[p] == '"' || rest[p] == '\'') {
        quote = rest[p];
      } else if (rest[p] == '>') {
        break;
      } else if (rest[p] == '<') {
        return false;
      }
    }
    if (p >= rest.size()) return false;
    if (escaped_.contains(tag)) return false;
    *len = p + 1;
    if (!closing && (tag == "script" || tag == "style")) {
      std::string lower = LowerAscii(rest);
      size_t end = lower.find("</" + tag, *len);
      if (end == std::string::npos) {
        *len = rest.size();
      } else {
        size_t close = lower.find('>', end);
        *len = close == std::string::npos ? rest.size() : close + 1;
      }
      return true;
    }
    if (IsBlockTag(tag)) *replacement = "\n";
    return true;
  }

  static bool MatchEntity(std::string_view in, size_t i, size_t* len, char32_t* decoded) {
    size_t semi = in.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12 || semi == i + 1) return false;
    std::string body(in.substr(i + 1, semi - i - 1));
    char32_t c = 0;
    if (body[0] == '#') {
      char* end = nullptr;
      unsigned long v = 0;
      if (body.size() > 1 && (body[1] == 'x' || body[1] == 'X')) {
        if (body.size() == 2) return false;
        v = std::strtoul(body.c_str() + 2, &end, 16);
      } else {
        if (body.size() == 1) return false;
        v = std::strtoul(body.c_str() + 1, &end, 10);
      }
      if (*end != '\0' || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
      c = static_cast<char32_t>(v);
    } else {
      c = NamedEntity(body);
      if (c == 0) return false;
    }
    *len = semi - i + 1;
    *decoded = c;
    return true;
  }

  std::set<std::string> escaped_;
};

}  // namespace

Result<std::shared_ptr<const CharFilter>> MakeHtmlStripCharFilter(const nlohmann::json& params,
                                                                  std::string_view name) {
  QD_ASSIGN_OR_RETURN(std::vector<std::string> escaped, ListParam(params, "escaped_tags", name));
  std::set<std::string> tags;
  for (const std::string& t : escaped) tags.insert(LowerAscii(t));
  return std::shared_ptr<const CharFilter>(std::make_shared<HtmlStripCharFilter>(std::move(tags)));
}

}  // namespace quidditch::engine::analysis
