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
      "address", "article", "aside",    "blockquote", "br",     "dd",       "div",
      "dl",      "dt",      "fieldset", "figcaption", "figure", "footer",   "form",
      "h1",      "h2",      "h3",       "h4",         "h5",     "h6",       "header",
      "hgroup",  "hr",      "li",       "main",       "nav",    "noscript", "ol",
      "output",  "p",       "pre",      "section",    "table",  "tbody",    "td",
      "tfoot",   "th",      "thead",    "tr",         "ul",     "video"};
  return blocks->contains(tag);
}

char32_t NamedEntity(const std::string& name) {
  // The 253 character entities of HTML 4 (and &apos;).
  static const auto* entities = new std::unordered_map<std::string, char32_t>{
      {"AElig", 0xC6},     {"Aacute", 0xC1},    {"Acirc", 0xC2},    {"Agrave", 0xC0},
      {"Alpha", 0x391},    {"Aring", 0xC5},     {"Atilde", 0xC3},   {"Auml", 0xC4},
      {"Beta", 0x392},     {"Ccedil", 0xC7},    {"Chi", 0x3A7},     {"Dagger", 0x2021},
      {"Delta", 0x394},    {"ETH", 0xD0},       {"Eacute", 0xC9},   {"Ecirc", 0xCA},
      {"Egrave", 0xC8},    {"Epsilon", 0x395},  {"Eta", 0x397},     {"Euml", 0xCB},
      {"Gamma", 0x393},    {"Iacute", 0xCD},    {"Icirc", 0xCE},    {"Igrave", 0xCC},
      {"Iota", 0x399},     {"Iuml", 0xCF},      {"Kappa", 0x39A},   {"Lambda", 0x39B},
      {"Mu", 0x39C},       {"Ntilde", 0xD1},    {"Nu", 0x39D},      {"OElig", 0x152},
      {"Oacute", 0xD3},    {"Ocirc", 0xD4},     {"Ograve", 0xD2},   {"Omega", 0x3A9},
      {"Omicron", 0x39F},  {"Oslash", 0xD8},    {"Otilde", 0xD5},   {"Ouml", 0xD6},
      {"Phi", 0x3A6},      {"Pi", 0x3A0},       {"Prime", 0x2033},  {"Psi", 0x3A8},
      {"Rho", 0x3A1},      {"Scaron", 0x160},   {"Sigma", 0x3A3},   {"THORN", 0xDE},
      {"Tau", 0x3A4},      {"Theta", 0x398},    {"Uacute", 0xDA},   {"Ucirc", 0xDB},
      {"Ugrave", 0xD9},    {"Upsilon", 0x3A5},  {"Uuml", 0xDC},     {"Xi", 0x39E},
      {"Yacute", 0xDD},    {"Yuml", 0x178},     {"Zeta", 0x396},    {"aacute", 0xE1},
      {"acirc", 0xE2},     {"acute", 0xB4},     {"aelig", 0xE6},    {"agrave", 0xE0},
      {"alefsym", 0x2135}, {"alpha", 0x3B1},    {"amp", 0x26},      {"and", 0x2227},
      {"ang", 0x2220},     {"aring", 0xE5},     {"asymp", 0x2248},  {"atilde", 0xE3},
      {"auml", 0xE4},      {"bdquo", 0x201E},   {"beta", 0x3B2},    {"brvbar", 0xA6},
      {"bull", 0x2022},    {"cap", 0x2229},     {"ccedil", 0xE7},   {"cedil", 0xB8},
      {"cent", 0xA2},      {"chi", 0x3C7},      {"circ", 0x2C6},    {"clubs", 0x2663},
      {"cong", 0x2245},    {"copy", 0xA9},      {"crarr", 0x21B5},  {"cup", 0x222A},
      {"curren", 0xA4},    {"dArr", 0x21D3},    {"dagger", 0x2020}, {"darr", 0x2193},
      {"deg", 0xB0},       {"delta", 0x3B4},    {"diams", 0x2666},  {"divide", 0xF7},
      {"eacute", 0xE9},    {"ecirc", 0xEA},     {"egrave", 0xE8},   {"empty", 0x2205},
      {"emsp", 0x2003},    {"ensp", 0x2002},    {"epsilon", 0x3B5}, {"equiv", 0x2261},
      {"eta", 0x3B7},      {"eth", 0xF0},       {"euml", 0xEB},     {"euro", 0x20AC},
      {"exist", 0x2203},   {"fnof", 0x192},     {"forall", 0x2200}, {"frac12", 0xBD},
      {"frac14", 0xBC},    {"frac34", 0xBE},    {"frasl", 0x2044},  {"gamma", 0x3B3},
      {"ge", 0x2265},      {"gt", 0x3E},        {"hArr", 0x21D4},   {"harr", 0x2194},
      {"hearts", 0x2665},  {"hellip", 0x2026},  {"iacute", 0xED},   {"icirc", 0xEE},
      {"iexcl", 0xA1},     {"igrave", 0xEC},    {"image", 0x2111},  {"infin", 0x221E},
      {"int", 0x222B},     {"iota", 0x3B9},     {"iquest", 0xBF},   {"isin", 0x2208},
      {"iuml", 0xEF},      {"kappa", 0x3BA},    {"lArr", 0x21D0},   {"lambda", 0x3BB},
      {"lang", 0x2329},    {"laquo", 0xAB},     {"larr", 0x2190},   {"lceil", 0x2308},
      {"ldquo", 0x201C},   {"le", 0x2264},      {"lfloor", 0x230A}, {"lowast", 0x2217},
      {"loz", 0x25CA},     {"lrm", 0x200E},     {"lsaquo", 0x2039}, {"lsquo", 0x2018},
      {"lt", 0x3C},        {"macr", 0xAF},      {"mdash", 0x2014},  {"micro", 0xB5},
      {"middot", 0xB7},    {"minus", 0x2212},   {"mu", 0x3BC},      {"nabla", 0x2207},
      {"nbsp", 0xA0},      {"ndash", 0x2013},   {"ne", 0x2260},     {"ni", 0x220B},
      {"not", 0xAC},       {"notin", 0x2209},   {"nsub", 0x2284},   {"ntilde", 0xF1},
      {"nu", 0x3BD},       {"oacute", 0xF3},    {"ocirc", 0xF4},    {"oelig", 0x153},
      {"ograve", 0xF2},    {"oline", 0x203E},   {"omega", 0x3C9},   {"omicron", 0x3BF},
      {"oplus", 0x2295},   {"or", 0x2228},      {"ordf", 0xAA},     {"ordm", 0xBA},
      {"oslash", 0xF8},    {"otilde", 0xF5},    {"otimes", 0x2297}, {"ouml", 0xF6},
      {"para", 0xB6},      {"part", 0x2202},    {"permil", 0x2030}, {"perp", 0x22A5},
      {"phi", 0x3C6},      {"pi", 0x3C0},       {"piv", 0x3D6},     {"plusmn", 0xB1},
      {"pound", 0xA3},     {"prime", 0x2032},   {"prod", 0x220F},   {"prop", 0x221D},
      {"psi", 0x3C8},      {"quot", 0x22},      {"rArr", 0x21D2},   {"radic", 0x221A},
      {"rang", 0x232A},    {"raquo", 0xBB},     {"rarr", 0x2192},   {"rceil", 0x2309},
      {"rdquo", 0x201D},   {"real", 0x211C},    {"reg", 0xAE},      {"rfloor", 0x230B},
      {"rho", 0x3C1},      {"rlm", 0x200F},     {"rsaquo", 0x203A}, {"rsquo", 0x2019},
      {"sbquo", 0x201A},   {"scaron", 0x161},   {"sdot", 0x22C5},   {"sect", 0xA7},
      {"shy", 0xAD},       {"sigma", 0x3C3},    {"sigmaf", 0x3C2},  {"sim", 0x223C},
      {"spades", 0x2660},  {"sub", 0x2282},     {"sube", 0x2286},   {"sum", 0x2211},
      {"sup", 0x2283},     {"sup1", 0xB9},      {"sup2", 0xB2},     {"sup3", 0xB3},
      {"supe", 0x2287},    {"szlig", 0xDF},     {"tau", 0x3C4},     {"there4", 0x2234},
      {"theta", 0x3B8},    {"thetasym", 0x3D1}, {"thinsp", 0x2009}, {"thorn", 0xFE},
      {"tilde", 0x2DC},    {"times", 0xD7},     {"trade", 0x2122},  {"uArr", 0x21D1},
      {"uacute", 0xFA},    {"uarr", 0x2191},    {"ucirc", 0xFB},    {"ugrave", 0xF9},
      {"uml", 0xA8},       {"upsih", 0x3D2},    {"upsilon", 0x3C5}, {"uuml", 0xFC},
      {"weierp", 0x2118},  {"xi", 0x3BE},       {"yacute", 0xFD},   {"yen", 0xA5},
      {"yuml", 0xFF},      {"zeta", 0x3B6},     {"zwj", 0x200D},    {"zwnj", 0x200C},
      {"apos", 0x27}};
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
    if (semi == std::string_view::npos || semi - i > 10 || semi == i + 1) return false;
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
