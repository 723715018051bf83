#include "engine/search/source_filter.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/glob.h"
#include "engine/errors.h"

namespace quidditch::engine {
namespace {

using nlohmann::json;

using OrderedJson = nlohmann::ordered_json;

Status AppendPatterns(const json& value, std::string_view what, std::vector<std::string>* out) {
  if (value.is_string()) {
    out->push_back(value.get<std::string>());
    return Status::OK();
  }
  if (value.is_array()) {
    for (const json& v : value) {
      if (!v.is_string()) {
        return QueryParsingError(
            fmt::format("Unknown key for a {} in [{}].", XContentTokenName(v), what));
      }
      out->push_back(v.get<std::string>());
    }
    return Status::OK();
  }
  if (value.is_null()) return Status::OK();
  return QueryParsingError(
      fmt::format("Unknown key for a {} in [{}].", XContentTokenName(value), what));
}

}  // namespace

Result<SourceFilter> SourceFilter::Parse(const json* spec) {
  SourceFilter f;
  if (spec == nullptr || spec->is_null()) return f;
  if (spec->is_boolean()) {
    f.fetch_ = spec->get<bool>();
    return f;
  }
  if (spec->is_string() || spec->is_array()) {
    QD_RETURN_IF_ERROR(AppendPatterns(*spec, "_source", &f.includes_));
    return f;
  }
  if (spec->is_object()) {
    for (const auto& [key, value] : spec->items()) {
      if (key == "includes" || key == "include") {
        QD_RETURN_IF_ERROR(AppendPatterns(value, key, &f.includes_));
      } else if (key == "excludes" || key == "exclude") {
        QD_RETURN_IF_ERROR(AppendPatterns(value, key, &f.excludes_));
      } else {
        return QueryParsingError(
            fmt::format("Unknown key for a {} in [{}].", XContentTokenName(value), key));
      }
    }
    return f;
  }
  return QueryParsingError(fmt::format(
      "Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found [{}]",
      XContentTokenName(*spec)));
}

SourceFilter SourceFilter::Of(bool fetch, std::vector<std::string> includes,
                              std::vector<std::string> excludes) {
  SourceFilter f;
  f.fetch_ = fetch;
  f.includes_ = std::move(includes);
  f.excludes_ = std::move(excludes);
  return f;
}

bool SourceFilter::Excluded(const std::string& path) const {
  for (const std::string& p : excludes_) {
    if (GlobMatch(p, path)) return true;
  }
  return false;
}

bool SourceFilter::Included(const std::string& path) const {
  if (includes_.empty()) return true;
  for (const std::string& p : includes_) {
    if (GlobMatch(p, path)) return true;
  }
  return false;
}

bool SourceFilter::MayIncludeBelow(const std::string& path) const {
  if (includes_.empty()) return true;
  const std::string below = path + ".";
  for (const std::string& p : includes_) {
    if (!HasWildcard(p)) {
      if (p.compare(0, below.size(), below) == 0) return true;
      continue;
    }
    // The literal part before the first '*' must agree with "path." as far as both go.
    std::string_view literal = std::string_view(p).substr(0, p.find('*'));
    const size_t n = std::min(literal.size(), below.size());
    if (literal.substr(0, n) == std::string_view(below).substr(0, n)) return true;
  }
  return false;
}

OrderedJson SourceFilter::FilterValue(const OrderedJson& value, const std::string& path,
                                      bool included) const {
  if (value.is_object()) return FilterObject(value, path, included);
  if (value.is_array()) {
    OrderedJson out = OrderedJson::array();
    for (const OrderedJson& v : value) {
      if (v.is_object() || v.is_array()) {
        OrderedJson filtered = FilterValue(v, path, included);
        if (v.is_object() && filtered.empty() && !included) continue;
        out.push_back(std::move(filtered));
      } else if (included) {
        out.push_back(v);
      }
    }
    return out;
  }
  return value;
}

OrderedJson SourceFilter::FilterObject(const OrderedJson& object, const std::string& prefix,
                                       bool included) const {
  OrderedJson out = OrderedJson::object();
  for (const auto& [key, value] : object.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (Excluded(path)) continue;
    const bool here = included || Included(path);
    if (value.is_object() || (value.is_array() && !here)) {
      if (!here && !MayIncludeBelow(path)) continue;
      OrderedJson filtered = FilterValue(value, path, here);
      // An object kept only for what is below it disappears when nothing below matched.
      if (!here && filtered.empty()) continue;
      out[key] = std::move(filtered);
    } else if (here) {
      out[key] = value.is_array() ? FilterValue(value, path, true) : value;
    }
  }
  return out;
}

Result<std::string> SourceFilter::Apply(std::string_view source) const {
  if (!filters()) return std::string(source);
  OrderedJson parsed = OrderedJson::parse(source, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::Corruption("stored _source is not valid JSON");
  if (!parsed.is_object()) return std::string(source);
  return FilterObject(parsed, "", includes_.empty())
      .dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace quidditch::engine
