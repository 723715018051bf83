// ParseDocument: JSON (simdjson DOM) -> ParsedDocument, per the mapping.
//
// The document is parsed once; the DOM is walked along the mapping tree, so a field costs one
// lookup by name in its object's property map and per-field state is found through the field's
// dense slot, not by path. When the document holds fields the mapping lacks (dynamic: true),
// the first walk records them in a copy of the mapping and a second walk of the same DOM
// parses the document under the updated mapping (so a value is checked against the type its
// first occurrence gave the field, as OpenSearch does).
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/glob.h"
#include "engine/errors.h"
#include "engine/mapping/mapping.h"
#include "engine/mapping/mapping_internal.h"

namespace quidditch::engine {
namespace {

using mapping_internal::Dynamic;
using mapping_internal::Node;
namespace dom = simdjson::dom;

// One parser per thread: a dom::parser is not thread-safe and reuses its buffers.
thread_local dom::parser tl_parser;
// Padded copy of the source when the source is not stored verbatim (nothing to parse in place).
thread_local std::string tl_buffer;
// Per-leaf-slot index into DocParser::states_ (-1: not seen in this document).
thread_local std::vector<int32_t> tl_slots;

// The array or object `v` holds. REQUIRES: v.is_array() / v.is_object().
dom::array AsArray(dom::element v) {
  dom::array a;
  [[maybe_unused]] simdjson::error_code e = v.get(a);
  return a;
}
dom::object AsObject(dom::element v) {
  dom::object o;
  [[maybe_unused]] simdjson::error_code e = v.get(o);
  return o;
}

// UTF-16 code units of UTF-8 text (what OpenSearch's ignore_above counts).
size_t Utf16Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

// The text of a JSON number or boolean. With java_double (keyword/text fields), doubles are
// written shortest-round-trip with ".0" for integral values ("5.0"); OpenSearch keeps the
// source text, which differs for exponents ("1e+21" here, "1e21" in the source). Without
// (dates), doubles are written without exponent so that epoch formats can read them.
std::string ScalarText(dom::element v, bool java_double) {
  char buf[64];
  char* end = buf;
  switch (v.type()) {
    case dom::element_type::INT64:
      end = std::to_chars(buf, buf + sizeof(buf), v.get_int64().value_unsafe()).ptr;
      break;
    case dom::element_type::UINT64:
      end = std::to_chars(buf, buf + sizeof(buf), v.get_uint64().value_unsafe()).ptr;
      break;
    case dom::element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      if (!java_double) {
        char fixed[400];
        auto [ptr, ec] = std::to_chars(fixed, fixed + sizeof(fixed), d, std::chars_format::fixed);
        if (ec == std::errc()) return std::string(fixed, ptr);
      }
      end = std::to_chars(buf, buf + sizeof(buf), d).ptr;
      std::string s(buf, end);
      if (java_double && s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    case dom::element_type::BOOL:
      return v.get_bool().value_unsafe() ? "true" : "false";
    case dom::element_type::STRING:
      return std::string(v.get_string().value_unsafe());
    default:
      return simdjson::to_string(v);
  }
  return std::string(buf, end);
}

std::string Preview(dom::element v) {
  std::string s =
      v.type() == dom::element_type::STRING
          ? std::string(v.get_string().value_unsafe())
          : (v.is_object() || v.is_array() ? simdjson::to_string(v) : ScalarText(v, true));
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

std::string JoinPath(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out;
  out.reserve(parent.size() + 1 + name.size());
  out.append(parent).append(1, '.').append(name);
  return out;
}

template <typename Map>
const Node* FindChild(const Map& map, std::string_view name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : it->second.get();
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return MapperParsingError("field name cannot be an empty string");
  if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string_view::npos) {
    return MapperParsingError(
        "object field starting or ending with a [.] makes object resolution ambiguous: [" +
        std::string(key) + "]");
  }
  return Status::OK();
}

struct IntegerRange {
  int64_t min;
  int64_t max;
  std::string_view article_name;  // "a long", "an integer", ...
};

IntegerRange RangeOf(FieldType type) {
  switch (type) {
    case FieldType::kInteger:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
              "an integer"};
    case FieldType::kShort:
      return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max(), "a short"};
    case FieldType::kByte:
      return {std::numeric_limits<int8_t>::min(), std::numeric_limits<int8_t>::max(), "a byte"};
    default:
      return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), "a long"};
  }
}

bool IsMetadataField(std::string_view key) {
  if (key.empty() || key.front() != '_') return false;
  static constexpr std::string_view kMetadata[] = {
      "_id",      "_source",  "_field_names", "_routing",
      "_index",   "_version", "_seq_no",      "_primary_term",
      "_ignored", "_type",    "_doc_count",   "_data_stream_timestamp"};
  return std::find(std::begin(kMetadata), std::end(kMetadata), key) != std::end(kMetadata);
}

// Whether `v` holds anything but nulls and (nested) empty arrays.
bool HasValue(dom::element v) {
  if (v.is_null()) return false;
  if (!v.is_array()) return true;
  for (dom::element e : AsArray(v)) {
    if (HasValue(e)) return true;
  }
  return false;
}

// Parses all of `s` as a double; false when it is not one number.
bool ParseDoubleText(std::string_view s, double* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseLongText(std::string_view s, int64_t* out, bool* overflow) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  *overflow = ec == std::errc::result_out_of_range;
  return ec == std::errc() && ptr == s.data() + s.size();
}

// _source includes/excludes (OpenSearch's source filtering): a path is kept when an include
// pattern matches it or one of its parents, and dropped when an exclude pattern matches it.
class MappingSourceFilter {
 public:
  MappingSourceFilter(const std::vector<std::string>& includes,
                      const std::vector<std::string>& excludes)
      : includes_(includes), excludes_(excludes) {}

  void Filter(dom::object root, std::string* out) { WriteObject(root, "", includes_.empty(), out); }

 private:
  static bool AnyMatch(const std::vector<std::string>& patterns, std::string_view path) {
    for (const std::string& p : patterns) {
      if (GlobMatch(p, path)) return true;
    }
    return false;
  }
  // Whether an include pattern could match a path below `path`.
  bool MayIncludeBelow(std::string_view path) const {
    for (const std::string& p : includes_) {
      if (p.find('*') != std::string::npos) return true;
      if (p.size() > path.size() && p.compare(0, path.size(), path) == 0 && p[path.size()] == '.') {
        return true;
      }
    }
    return false;
  }

  static void WriteString(std::string_view s, std::string* out) {
    out->push_back('"');
    for (char c : s) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
            out->append(buf);
          } else {
            out->push_back(c);
          }
      }
    }
    out->push_back('"');
  }

  // Writes the filtered value of `path`; false (and nothing written) when nothing is kept.
  bool WriteValue(dom::element v, const std::string& path, bool included, std::string* out) {
    if (v.is_object()) {
      if (!included && !MayIncludeBelow(path)) return false;
      size_t mark = out->size();
      if (!WriteObject(AsObject(v), path, included, out) && !included) {
        out->resize(mark);
        return false;
      }
      return true;
    }
    if (v.is_array()) {
      bool below = !included && MayIncludeBelow(path);
      if (!included && !below) return false;
      size_t mark = out->size();
      out->push_back('[');
      bool any = false;
      for (dom::element e : AsArray(v)) {
        size_t before = out->size();
        if (any) out->push_back(',');
        if (WriteValue(e, path, included, out)) {
          any = true;
        } else {
          out->resize(before);
        }
      }
      out->push_back(']');
      if (!any && !included) {
        out->resize(mark);
        return false;
      }
      return true;
    }
    if (!included) return false;
    out->append(simdjson::to_string(v));
    return true;
  }

  // Writes `{...}`; returns whether any field was written.
  bool WriteObject(dom::object o, std::string_view path, bool included, std::string* out) {
    out->push_back('{');
    bool any = false;
    for (dom::key_value_pair kv : o) {
      std::string full = JoinPath(path, kv.key);
      if (AnyMatch(excludes_, full)) continue;
      bool in = included || AnyMatch(includes_, full);
      size_t before = out->size();
      if (any) out->push_back(',');
      WriteString(kv.key, out);
      out->push_back(':');
      if (WriteValue(kv.value, full, in, out)) {
        any = true;
      } else {
        out->resize(before);
      }
    }
    out->push_back('}');
    return any;
  }

  const std::vector<std::string>& includes_;
  const std::vector<std::string>& excludes_;
};

// The state of one leaf field within one document.
struct FieldState {
  const Node* node;
  DocumentField field;
  const Analyzer* analyzer = nullptr;  // text
  int64_t position = -1;               // text: last position used (Lucene's invert state)
  uint32_t values = 0;                 // values seen (text: for the position gap)
  bool exists = false;                 // has a value that counts for _field_names
};

// One walk of a parsed document along one mapping.
class DocParser {
 public:
  DocParser(const MappingAccess::Rep& rep, const AnalysisRegistry& analysis, std::string_view id)
      : rep_(rep), analysis_(analysis), id_(id) {
    // Every entry is -1 between documents (the destructor resets what a walk set).
    if (tl_slots.size() < rep.leaves.size()) tl_slots.resize(rep.leaves.size(), -1);
    states_.reserve(std::min<size_t>(rep.leaves.size(), 64));
  }
  ~DocParser() {
    for (const FieldState& s : states_) tl_slots[s.node->slot] = -1;
  }
  DocParser(const DocParser&) = delete;
  DocParser& operator=(const DocParser&) = delete;

  Status Walk(dom::object root) {
    for (dom::key_value_pair kv : root) {
      if (IsMetadataField(kv.key)) {
        return MapperParsingError("Field [" + std::string(kv.key) +
                                  "] is a metadata field and cannot be added inside a document. "
                                  "Use the index API request parameters.");
      }
      QD_RETURN_IF_ERROR(ParseField(rep_.root, *rep_.root.dynamic, kv.key, kv.value));
    }
    return Status::OK();
  }

  // The mapping with the fields this document introduced, or null when it introduced none.
  std::unique_ptr<MappingAccess::Rep> TakeDynamic() { return std::move(dynamic_); }

  // Moves the parsed fields into `doc` (after _id), with _field_names last.
  void Finish(ParsedDocument* doc) {
    doc->fields.reserve(doc->fields.size() + states_.size() + 1);
    std::vector<const std::string*> names;
    names.reserve(states_.size() * 2);
    for (FieldState& s : states_) {
      if (s.exists)
        names.insert(names.end(), s.node->exists_names.begin(), s.node->exists_names.end());
      DocumentField& f = s.field;
      if (f.tokens.empty() && f.numeric_values.empty() && f.sorted_values.empty()) continue;
      std::sort(f.numeric_values.begin(), f.numeric_values.end());
      if (f.sorted_values.size() > 1) {
        std::sort(f.sorted_values.begin(), f.sorted_values.end());
        f.sorted_values.erase(std::unique(f.sorted_values.begin(), f.sorted_values.end()),
                              f.sorted_values.end());
      }
      doc->fields.push_back(std::move(f));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::sort(names.begin(), names.end(),
              [](const std::string* a, const std::string* b) { return *a < *b; });
    DocumentField field_names;
    field_names.name = "_field_names";
    field_names.index_options = IndexOptions::kDocs;
    field_names.tokens.reserve(names.size());
    for (const std::string* n : names) {
      uint32_t pos = static_cast<uint32_t>(field_names.tokens.size());
      field_names.tokens.push_back(Token{*n, pos, 0, static_cast<uint32_t>(n->size())});
    }
    doc->fields.push_back(std::move(field_names));
  }

 private:
  Status ParseObject(const Node& obj, Dynamic dynamic, dom::object o) {
    for (dom::key_value_pair kv : o) {
      QD_RETURN_IF_ERROR(ParseField(obj, dynamic, kv.key, kv.value));
    }
    return Status::OK();
  }

  // `key` of object `parent`; a dotted key ("user.name") walks down as nested objects would.
  Status ParseField(const Node& parent, Dynamic dynamic, std::string_view key, dom::element value) {
    const Node* obj = &parent;
    std::string_view rest = key;
    size_t dot = rest.find('.');
    if (dot != std::string_view::npos || key.empty()) QD_RETURN_IF_ERROR(CheckKey(key));
    while (dot != std::string_view::npos) {
      std::string_view segment = rest.substr(0, dot);
      const Node* child = FindChild(obj->properties, segment);
      if (child == nullptr) return Unmapped(*obj, dynamic, rest, value);
      if (!child->is_object()) {
        return MapperParsingError("Could not dynamically add mapping for field [" +
                                  JoinPath(parent.field.path, key) + "]. Existing mapping for [" +
                                  child->field.path + "] must be of type object but found [" +
                                  std::string(FieldTypeName(child->field.type)) + "].");
      }
      if (!child->enabled) return Status::OK();
      if (child->dynamic) dynamic = *child->dynamic;
      obj = child;
      rest.remove_prefix(dot + 1);
      dot = rest.find('.');
    }
    const Node* child = FindChild(obj->properties, rest);
    if (child == nullptr) return Unmapped(*obj, dynamic, rest, value);
    return ParseValue(*child, dynamic, value);
  }

  Status ParseValue(const Node& node, Dynamic dynamic, dom::element value) {
    switch (value.type()) {
      case dom::element_type::NULL_VALUE:
        return Status::OK();
      case dom::element_type::ARRAY:
        for (dom::element e : AsArray(value)) {
          QD_RETURN_IF_ERROR(ParseValue(node, dynamic, e));
        }
        return Status::OK();
      case dom::element_type::OBJECT:
        if (!node.is_object()) return FailedToParse(node, value, {});
        if (!node.enabled) return Status::OK();
        return ParseObject(node, node.dynamic ? *node.dynamic : dynamic, AsObject(value));
      default:
        if (node.is_object()) {
          if (!node.enabled) return Status::OK();
          return MapperParsingError("object mapping for [" + node.field.path +
                                    "] tried to parse field [" + node.field.path +
                                    "] as object, but found a concrete value");
        }
        QD_RETURN_IF_ERROR(ParseLeaf(node, value));
        for (const auto& [name, sub] : node.fields) QD_RETURN_IF_ERROR(ParseLeaf(*sub, value));
        return Status::OK();
    }
  }

  // A field the mapping does not have: `rest` (maybe dotted) below object `parent`.
  Status Unmapped(const Node& parent, Dynamic dynamic, std::string_view rest, dom::element value) {
    if (!HasValue(value)) return Status::OK();  // nulls and empty arrays add no mapping
    switch (dynamic) {
      case Dynamic::kFalse:
        return Status::OK();
      case Dynamic::kStrict:
        return MapperParsingError(
            "mapping set to strict, dynamic introduction of [" +
            std::string(rest.substr(0, rest.find('.'))) + "] within [" +
            (parent.field.path.empty() ? std::string("_doc") : parent.field.path) +
            "] is not allowed");
      case Dynamic::kTrue:
        break;
    }
    if (dynamic_ == nullptr) dynamic_ = rep_.Clone();
    // The counterpart of `parent` in the copy; property names hold no dots.
    Node* target = &dynamic_->root;
    std::string_view path = parent.field.path;
    while (!path.empty()) {
      size_t dot = path.find('.');
      target = target->properties.find(path.substr(0, dot))->second.get();
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
    return AddDynamicKey(target, rest, value);
  }

  // Adds to the copy the mapping of `key` (maybe dotted) with `value` below object `parent`.
  Status AddDynamicKey(Node* parent, std::string_view key, dom::element value) {
    QD_RETURN_IF_ERROR(CheckKey(key));
    size_t dot;
    while ((dot = key.find('.')) != std::string_view::npos) {
      std::string_view segment = key.substr(0, dot);
      auto it = parent->properties.find(segment);
      Node* child;
      if (it == parent->properties.end()) {
        child = mapping_internal::AddDynamicField(parent, segment, FieldType::kObject, {});
      } else {
        child = it->second.get();
        if (!child->is_object()) {
          return MapperParsingError("Could not dynamically add mapping for field [" +
                                    JoinPath(parent->field.path, key) +
                                    "]. Existing mapping for [" + child->field.path +
                                    "] must be of type object but found [" +
                                    std::string(FieldTypeName(child->field.type)) + "].");
        }
      }
      parent = child;
      key.remove_prefix(dot + 1);
    }
    return AddDynamicValue(parent, key, value);
  }

  Status AddDynamicValue(Node* parent, std::string_view name, dom::element value) {
    if (value.is_null()) return Status::OK();
    if (value.is_array()) {
      for (dom::element e : AsArray(value)) {
        QD_RETURN_IF_ERROR(AddDynamicValue(parent, name, e));
      }
      return Status::OK();
    }
    Node* node;
    auto it = parent->properties.find(name);
    if (it != parent->properties.end()) {
      node = it->second.get();
      // A field this document already introduced: only new keys of objects add more; a
      // value of another type is checked against the field in the second walk.
      if (!node->is_object() || !value.is_object()) return Status::OK();
    } else {
      FieldType type;
      std::vector<std::string> formats;
      switch (value.type()) {
        case dom::element_type::OBJECT:
          type = FieldType::kObject;
          break;
        case dom::element_type::BOOL:
          type = FieldType::kBoolean;
          break;
        case dom::element_type::INT64:
          type = FieldType::kLong;
          break;
        case dom::element_type::UINT64:  // beyond long: OpenSearch maps it as a float
        case dom::element_type::DOUBLE:
          type = FieldType::kFloat;
          break;
        default:
          type = DynamicStringType(value.get_string().value_unsafe(), &formats);
          break;
      }
      node = mapping_internal::AddDynamicField(parent, name, type, std::move(formats));
    }
    if (value.is_object()) {
      for (dom::key_value_pair kv : AsObject(value)) {
        QD_RETURN_IF_ERROR(AddDynamicKey(node, kv.key, kv.value));
      }
    }
    return Status::OK();
  }

  FieldType DynamicStringType(std::string_view s, std::vector<std::string>* formats) {
    if (!rep_.date_detection) return FieldType::kText;
    // OpenSearch tries the date formats only on strings that look like dates (so that "1"
    // or "2015" stays text).
    if (std::count(s.begin(), s.end(), ':') <= 1 && std::count(s.begin(), s.end(), '-') <= 1 &&
        std::count(s.begin(), s.end(), '/') <= 1) {
      return FieldType::kText;
    }
    for (const std::string& f : rep_.dynamic_date_formats) {
      if (ParseDate(s, {f}).ok()) {
        if (f != "strict_date_optional_time") {
          std::string_view rest = f;
          while (true) {
            size_t bar = rest.find("||");
            formats->emplace_back(rest.substr(0, bar));
            if (bar == std::string_view::npos) break;
            rest.remove_prefix(bar + 2);
          }
        }
        return FieldType::kDate;
      }
    }
    return FieldType::kText;
  }

  Status FailedToParse(const Node& node, dom::element value, std::string_view cause) {
    std::string msg = "failed to parse field [" + node.field.path + "] of type [" +
                      std::string(FieldTypeName(node.field.type)) + "] in document with id '" +
                      std::string(id_) + "'. Preview of field's value: '" + Preview(value) + "'";
    // The cause's type comes first, so that the REST edge can answer OpenSearch's caused_by
    // object (see kCausedBy in engine/errors.h).
    if (!cause.empty()) {
      msg.append(kCausedBy)
          .append(cause.starts_with("For input string") ? "number_format_exception: "
                                                        : "illegal_argument_exception: ")
          .append(cause);
    }
    return MapperParsingError(msg);
  }

  Result<FieldState*> State(const Node& node) {
    int32_t& index = tl_slots[node.slot];
    if (index >= 0) return &states_[index];
    FieldState s;
    s.node = &node;
    const FieldMapping& m = node.field;
    s.field.name = m.path;
    switch (m.type) {
      case FieldType::kText:
        s.field.index_options = m.index ? IndexOptions::kDocsFreqsPositions : IndexOptions::kNone;
        s.field.norms = m.index;
        s.analyzer = analysis_.Find(m.analyzer);
        if (s.analyzer == nullptr) {
          return MapperParsingError("analyzer [" + m.analyzer +
                                    "] has not been configured in mappings");
        }
        break;
      case FieldType::kKeyword:
        s.field.index_options = m.index ? IndexOptions::kDocs : IndexOptions::kNone;
        s.field.doc_values = m.doc_values ? DocValuesType::kSortedSet : DocValuesType::kNone;
        break;
      default:
        s.field.index_options = m.index ? IndexOptions::kDocs : IndexOptions::kNone;
        s.field.doc_values = m.doc_values ? DocValuesType::kSortedNumeric : DocValuesType::kNone;
        break;
    }
    index = static_cast<int32_t>(states_.size());
    states_.push_back(std::move(s));
    return &states_.back();
  }

  void AddNumber(FieldState* s, int64_t v) {
    s->exists = true;
    if (s->field.index_options != IndexOptions::kNone) {
      uint32_t pos = static_cast<uint32_t>(s->field.tokens.size());
      s->field.tokens.push_back(Token{EncodeSortableLong(v), pos, 0, 0});
    }
    if (s->field.doc_values != DocValuesType::kNone) s->field.numeric_values.push_back(v);
  }

  Status ParseLeaf(const Node& node, dom::element value) {
    QD_ASSIGN_OR_RETURN(FieldState * s, State(node));
    const FieldMapping& m = node.field;
    switch (m.type) {
      case FieldType::kText:
        return ParseText(s, value);
      case FieldType::kKeyword: {
        std::string owned;
        std::string_view text;
        if (value.is_string()) {
          text = value.get_string().value_unsafe();
        } else {
          owned = ScalarText(value, true);
          text = owned;
        }
        if (text.size() > m.ignore_above && Utf16Length(text) > m.ignore_above) {
          return Status::OK();
        }
        s->exists = true;
        if (s->field.index_options != IndexOptions::kNone) {
          uint32_t pos = static_cast<uint32_t>(s->field.tokens.size());
          s->field.tokens.push_back(
              Token{std::string(text), pos, 0, static_cast<uint32_t>(text.size())});
        }
        if (s->field.doc_values != DocValuesType::kNone) {
          s->field.sorted_values.emplace_back(text);
        }
        return Status::OK();
      }
      case FieldType::kLong:
      case FieldType::kInteger:
      case FieldType::kShort:
      case FieldType::kByte: {
        std::optional<int64_t> v;
        QD_ASSIGN_OR_RETURN(v, ToInteger(node, value));
        if (v) AddNumber(s, *v);
        return Status::OK();
      }
      case FieldType::kDouble:
      case FieldType::kFloat: {
        std::optional<double> v;
        QD_ASSIGN_OR_RETURN(v, ToDouble(node, value));
        if (v) AddNumber(s, SortableDoubleBits(*v));
        return Status::OK();
      }
      case FieldType::kBoolean: {
        bool b;
        if (value.is_bool()) {
          b = value.get_bool().value_unsafe();
        } else if (value.is_string() && (value.get_string().value_unsafe() == "true")) {
          b = true;
        } else if (value.is_string() && (value.get_string().value_unsafe() == "false" ||
                                         value.get_string().value_unsafe().empty())) {
          b = false;
        } else {
          return FailedToParse(node, value,
                               "Failed to parse value [" + Preview(value) +
                                   "] as only [true] or [false] are allowed.");
        }
        AddNumber(s, b ? 1 : 0);
        return Status::OK();
      }
      case FieldType::kDate: {
        std::string owned;
        std::string_view text;
        if (value.is_string()) {
          text = value.get_string().value_unsafe();
        } else if (value.is_number()) {
          owned = ScalarText(value, false);
          text = owned;
        } else {
          return FailedToParse(node, value, {});
        }
        Result<int64_t> ms = ParseDate(text, m.formats);
        if (!ms.ok()) return FailedToParse(node, value, ms.status().message());
        AddNumber(s, *ms);
        return Status::OK();
      }
      case FieldType::kObject:
        break;
    }
    return Status::Internal("object mapping parsed as a leaf: " + m.path);
  }

  Status ParseText(FieldState* s, dom::element value) {
    std::string owned;
    std::string_view text;
    if (value.is_string()) {
      text = value.get_string().value_unsafe();
    } else {
      owned = ScalarText(value, true);
      text = owned;
    }
    s->exists = true;
    if (s->field.index_options == IndexOptions::kNone) return Status::OK();
    // Lucene's rule for the values of a multi-valued field: the next value starts
    // position_increment_gap + 1 after the last position of the previous one.
    if (s->values++ > 0) s->position += s->node->field.position_increment_gap;
    std::vector<Token>& tokens = s->field.tokens;
    size_t before = tokens.size();
    s->analyzer->Analyze(text, static_cast<uint32_t>(s->position + 1), &tokens);
    if (tokens.size() > before) s->position = tokens.back().position;
    return Status::OK();
  }

  Result<std::optional<int64_t>> ToInteger(const Node& node, dom::element value) {
    IntegerRange range = RangeOf(node.field.type);
    auto out_of_range = [&](std::string_view text) {
      return FailedToParse(node, value,
                           "Value [" + std::string(text) + "] is out of range for " +
                               std::string(range.article_name));
    };
    auto from_double = [&](double d, std::string_view text) -> Result<std::optional<int64_t>> {
      if (!std::isfinite(d)) return FailedToParse(node, value, {});
      if (!node.coerce && d != std::trunc(d)) {
        return FailedToParse(node, value, "Value [" + std::string(text) + "] has a decimal part");
      }
      double t = std::trunc(d);
      // 2^63 is exactly representable; int64 max is not.
      if (t < static_cast<double>(range.min) || t >= static_cast<double>(range.max) + 1.0) {
        return out_of_range(text);
      }
      return std::optional<int64_t>(static_cast<int64_t>(t));
    };
    switch (value.type()) {
      case dom::element_type::INT64: {
        int64_t v = value.get_int64().value_unsafe();
        if (v < range.min || v > range.max) return out_of_range(std::to_string(v));
        return std::optional<int64_t>(v);
      }
      case dom::element_type::UINT64:
        return out_of_range(std::to_string(value.get_uint64().value_unsafe()));
      case dom::element_type::DOUBLE: {
        double d = value.get_double().value_unsafe();
        return from_double(d, ScalarText(value, true));
      }
      case dom::element_type::STRING: {
        std::string_view s = value.get_string().value_unsafe();
        if (s.empty()) return std::optional<int64_t>();  // OpenSearch treats "" as null
        if (!node.coerce) return FailedToParse(node, value, "Integer value passed as String");
        int64_t v;
        bool overflow = false;
        if (ParseLongText(s, &v, &overflow)) {
          if (v < range.min || v > range.max) return out_of_range(s);
          return std::optional<int64_t>(v);
        }
        if (overflow) return out_of_range(s);
        double d;
        if (ParseDoubleText(s, &d)) return from_double(d, s);
        return FailedToParse(node, value, "For input string: \"" + std::string(s) + "\"");
      }
      default:
        return FailedToParse(node, value, {});
    }
  }

  Result<std::optional<double>> ToDouble(const Node& node, dom::element value) {
    double d;
    switch (value.type()) {
      case dom::element_type::INT64:
        d = static_cast<double>(value.get_int64().value_unsafe());
        break;
      case dom::element_type::UINT64:
        d = static_cast<double>(value.get_uint64().value_unsafe());
        break;
      case dom::element_type::DOUBLE:
        d = value.get_double().value_unsafe();
        break;
      case dom::element_type::STRING: {
        std::string_view s = value.get_string().value_unsafe();
        if (s.empty()) return std::optional<double>();  // OpenSearch treats "" as null
        if (!node.coerce) return FailedToParse(node, value, "Number value passed as String");
        if (!ParseDoubleText(s, &d)) {
          return FailedToParse(node, value, "For input string: \"" + std::string(s) + "\"");
        }
        break;
      }
      default:
        return FailedToParse(node, value, {});
    }
    if (node.field.type == FieldType::kFloat) d = static_cast<float>(d);
    if (!std::isfinite(d)) {
      return FailedToParse(node, value,
                           "[" + std::string(FieldTypeName(node.field.type)) +
                               "] supports only finite values, but got [" + Preview(value) + "]");
    }
    return std::optional<double>(d);
  }

  const MappingAccess::Rep& rep_;
  const AnalysisRegistry& analysis_;
  std::string_view id_;
  std::vector<FieldState> states_;
  std::unique_ptr<MappingAccess::Rep> dynamic_;
};

}  // namespace

Result<ParseResult> ParseDocument(const Mapping& mapping, const AnalysisRegistry& analysis,
                                  std::string_view id, std::string_view source) {
  const MappingAccess::Rep& rep = MappingAccess::rep(mapping);
  ParseResult result;
  ParsedDocument& doc = result.doc;
  doc.id = std::string(id);
  bool verbatim = rep.source_enabled && rep.source_includes.empty() && rep.source_excludes.empty();
  // The stored source doubles as simdjson's padded input, so the source is copied once.
  std::string* input = verbatim ? &doc.source : &tl_buffer;
  input->reserve(source.size() + simdjson::SIMDJSON_PADDING);
  input->assign(source);
  dom::element root;
  simdjson::error_code err =
      tl_parser.parse(input->data(), input->size(), /*realloc_if_needed=*/false).get(root);
  if (err) {
    return MapperParsingError(std::string("failed to parse") + std::string(kCausedBy) +
                              "json_parse_exception: " + simdjson::error_message(err));
  }
  if (!root.is_object()) {
    return MapperParsingError(std::string("failed to parse") + std::string(kCausedBy) +
                              "not_x_content_exception: the document is not a JSON object");
  }
  dom::object object = AsObject(root);
  if (rep.source_enabled && !verbatim) {
    MappingSourceFilter(rep.source_includes, rep.source_excludes).Filter(object, &doc.source);
  }

  DocumentField id_field;
  id_field.name = "_id";
  id_field.index_options = IndexOptions::kDocs;
  id_field.tokens.push_back(Token{std::string(id), 0, 0, static_cast<uint32_t>(id.size())});
  doc.fields.push_back(std::move(id_field));

  std::unique_ptr<MappingAccess::Rep> dynamic;
  {
    DocParser parser(rep, analysis, id);
    QD_RETURN_IF_ERROR(parser.Walk(object));
    dynamic = parser.TakeDynamic();
    if (dynamic == nullptr) {
      parser.Finish(&doc);
      return result;
    }
  }
  // The document introduced fields: walk it again under the mapping that has them.
  Mapping updated = MappingAccess::Make(std::move(dynamic));
  DocParser parser(MappingAccess::rep(updated), analysis, id);
  QD_RETURN_IF_ERROR(parser.Walk(object));
  if (parser.TakeDynamic() != nullptr) {
    return Status::Internal("dynamic mapping of document '" + std::string(id) +
                            "' did not converge");
  }
  parser.Finish(&doc);
  result.updated_mapping = std::move(updated);
  return result;
}

}  // namespace quidditch::engine
