#include "data/fetch_phase.h"

#include <fmt/format.h>

#include <set>

#include "common/glob.h"
#include "engine/aggs/date_time.h"
#include "engine/document.h"
#include "engine/errors.h"

namespace quidditch::data {

using nlohmann::json;

// --- highlight ---------------------------------------------------------------------------------

namespace {

Status ReadTags(const json& spec, const char* key, std::string* tag) {
  auto it = spec.find(key);
  if (it == spec.end()) return Status::OK();
  if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
    *tag = (*it)[0].get<std::string>();  // one tag per fragment kind: the first one
    return Status::OK();
  }
  if (it->is_string()) {
    *tag = it->get<std::string>();
    return Status::OK();
  }
  return engine::QueryParsingError(fmt::format("[highlight] {} must be an array of strings", key));
}

Status ReadOptions(const json& spec, engine::HighlightOptions* options) {
  if (!spec.is_object()) return Status::OK();
  QD_RETURN_IF_ERROR(ReadTags(spec, "pre_tags", &options->pre_tag));
  QD_RETURN_IF_ERROR(ReadTags(spec, "post_tags", &options->post_tag));
  if (auto it = spec.find("fragment_size"); it != spec.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return engine::QueryParsingError("[highlight] fragment_size must be a non-negative integer");
    }
    options->fragment_size = it->get<size_t>();
  }
  if (auto it = spec.find("number_of_fragments"); it != spec.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return engine::QueryParsingError(
          "[highlight] number_of_fragments must be a non-negative integer");
    }
    options->number_of_fragments = it->get<size_t>();
  }
  return Status::OK();
}

// The keys of the object `parser` ("highlight", or "highlight_field" for one field's options):
// AbstractHighlighterBuilder's common options, and those only the top level or a field declares.
// Options Quidditch does not apply (type, order, boundary_*, ...) are accepted as OpenSearch
// parses them; docs/api.md lists them.
Status CheckHighlightKeys(const json& spec, std::string_view parser) {
  static const std::set<std::string, std::less<>> kCommon = {"boundary_chars",
                                                             "boundary_max_scan",
                                                             "boundary_scanner",
                                                             "boundary_scanner_locale",
                                                             "force_source",
                                                             "fragment_size",
                                                             "fragmenter",
                                                             "highlight_filter",
                                                             "highlight_query",
                                                             "max_analyzer_offset",
                                                             "no_match_size",
                                                             "number_of_fragments",
                                                             "options",
                                                             "order",
                                                             "phrase_limit",
                                                             "post_tags",
                                                             "pre_tags",
                                                             "require_field_match",
                                                             "type"};
  static const std::set<std::string, std::less<>> kTopLevel = {"encoder", "fields", "tags_schema"};
  static const std::set<std::string, std::less<>> kField = {"fragment_offset", "matched_fields"};
  const auto& own = parser == "highlight" ? kTopLevel : kField;
  for (const auto& [key, value] : spec.items()) {
    if (!kCommon.contains(key) && !own.contains(key)) {
      return engine::XContentParseError(fmt::format("[{}] unknown field [{}]", parser, key));
    }
  }
  if (spec.contains("pre_tags") && !spec.contains("post_tags")) {
    return engine::QueryParsingError("pre_tags are set but post_tags are not set");
  }
  engine::HighlightOptions unused;
  return ReadOptions(spec, &unused);
}

// The field patterns of "fields", {name: options} or [{name: options}, ...], in order.
Result<std::vector<std::pair<std::string, const json*>>> FieldSpecs(const json& highlight) {
  std::vector<std::pair<std::string, const json*>> specs;
  auto fields = highlight.find("fields");
  if (fields == highlight.end()) return specs;
  if (fields->is_object()) {
    for (const auto& [name, spec] : fields->items()) specs.emplace_back(name, &spec);
  } else if (fields->is_array()) {
    for (const json& entry : *fields) {
      if (!entry.is_object() || entry.size() != 1) {
        return engine::QueryParsingError(
            "[highlight] fields as an array must hold objects of one field each");
      }
      specs.emplace_back(entry.begin().key(), &entry.begin().value());
    }
  } else {
    return engine::QueryParsingError("[highlight] [fields] must be an object or an array");
  }
  return specs;
}

}  // namespace

Status HighlightPlan::Validate(const json& highlight) {
  if (!highlight.is_object()) {
    return engine::QueryParsingError(
        fmt::format("Unknown key for a {} in [highlight].", engine::XContentTokenName(highlight)));
  }
  QD_RETURN_IF_ERROR(CheckHighlightKeys(highlight, "highlight"));
  QD_ASSIGN_OR_RETURN(auto specs, FieldSpecs(highlight));
  for (const auto& [name, spec] : specs) {
    if (!spec->is_object()) {
      return engine::QueryParsingError("[highlight] the options of field [" + name +
                                       "] must be an object");
    }
    QD_RETURN_IF_ERROR(CheckHighlightKeys(*spec, "highlight_field"));
  }
  return Status::OK();
}

Result<std::unique_ptr<HighlightPlan>> HighlightPlan::Parse(const json& highlight,
                                                            const json* body_query,
                                                            const engine::SearchContext& ctx) {
  QD_RETURN_IF_ERROR(Validate(highlight));
  auto plan = std::make_unique<HighlightPlan>();
  plan->ctx_ = ctx;
  engine::HighlightOptions defaults;
  QD_RETURN_IF_ERROR(ReadOptions(highlight, &defaults));

  auto parse_query = [&](const json& dsl) -> Result<const engine::Query*> {
    QD_ASSIGN_OR_RETURN(std::unique_ptr<engine::Query> q, engine::ParseQuery(dsl, ctx));
    plan->queries_.push_back(std::move(q));
    return plan->queries_.back().get();
  };
  const json match_all = {{"match_all", json::object()}};
  const json* main_dsl = &match_all;
  if (auto it = highlight.find("highlight_query"); it != highlight.end()) {
    main_dsl = &*it;
  } else if (body_query != nullptr && !body_query->is_null()) {
    main_dsl = body_query;
  }
  QD_ASSIGN_OR_RETURN(const engine::Query* main_query, parse_query(*main_dsl));

  QD_ASSIGN_OR_RETURN(auto specs, FieldSpecs(highlight));
  for (const auto& [pattern, spec] : specs) {
    engine::HighlightOptions options = defaults;
    QD_RETURN_IF_ERROR(ReadOptions(*spec, &options));
    const engine::Query* query = main_query;
    if (auto it = spec->find("highlight_query"); it != spec->end()) {
      QD_ASSIGN_OR_RETURN(query, parse_query(*it));
    }
    std::vector<std::string> names;
    if (HasWildcard(pattern)) {
      for (const engine::FieldMapping* f : ctx.mapping->Fields()) {
        if ((f->type == engine::FieldType::kText || f->type == engine::FieldType::kKeyword) &&
            GlobMatch(pattern, f->path)) {
          names.push_back(f->path);
        }
      }
    } else {
      names.push_back(pattern);
    }
    for (std::string& name : names) {
      plan->fields_.push_back(Field{std::move(name), options, query});
    }
  }
  return plan;
}

Result<json> HighlightPlan::Highlight(std::string_view source) const {
  json out = json::object();
  for (const Field& f : fields_) {
    QD_ASSIGN_OR_RETURN(std::vector<std::string> fragments,
                        engine::Highlight(*f.query, source, f.name, ctx_, f.options));
    if (!fragments.empty()) out[f.name] = std::move(fragments);
  }
  if (out.empty()) return json(nullptr);
  return out;
}

// --- docvalue_fields ---------------------------------------------------------------------------

struct DocValueFields::Field {
  std::string name;
  engine::FieldType type;
  std::shared_ptr<const engine::aggs::DateFormatter> date_format;  // dates only
};

Result<DocValueFields> DocValueFields::Parse(const json& spec, const engine::Mapping& mapping) {
  DocValueFields out;
  if (spec.is_null()) return out;
  if (!spec.is_array()) {
    return engine::QueryParsingError("[docvalue_fields] must be an array");
  }
  for (const json& entry : spec) {
    std::string pattern;
    std::string format;
    if (entry.is_string()) {
      pattern = entry.get<std::string>();
    } else if (entry.is_object() && entry.contains("field") && entry["field"].is_string()) {
      pattern = entry["field"].get<std::string>();
      if (entry.contains("format") && entry["format"].is_string()) {
        format = entry["format"].get<std::string>();
      }
    } else {
      return engine::QueryParsingError(
          "[docvalue_fields] entries must be field names or {\"field\": ..., \"format\": ...}");
    }
    std::vector<const engine::FieldMapping*> matched;
    if (HasWildcard(pattern)) {
      for (const engine::FieldMapping* f : mapping.Fields()) {
        if (f->doc_values && f->type != engine::FieldType::kText && GlobMatch(pattern, f->path)) {
          matched.push_back(f);
        }
      }
    } else if (const engine::FieldMapping* f = mapping.Find(pattern)) {
      if (f->type == engine::FieldType::kText || f->type == engine::FieldType::kObject) {
        return engine::IllegalArgument(
            "Text fields are not optimised for operations that require per-document field data "
            "like aggregations and sorting, so these operations are disabled by default. Please "
            "use a keyword field instead. Alternatively, set fielddata=true on [" +
            pattern + "] in order to load field data by uninverting the inverted index.");
      }
      if (!f->doc_values) {
        return engine::IllegalArgument(
            fmt::format("Can't load fielddata on [{}] because fielddata is unsupported on "
                        "fields of type [{}]. Use doc values instead.",
                        pattern, engine::FieldTypeName(f->type)));
      }
      matched.push_back(f);
    }  // unmapped: no values, as OpenSearch
    for (const engine::FieldMapping* f : matched) {
      auto field = std::make_shared<Field>();
      field->name = f->path;
      field->type = f->type;
      if (f->type == engine::FieldType::kDate) {
        std::string fmt_spec = format;
        if (fmt_spec.empty() && !f->formats.empty()) fmt_spec = f->formats.front();
        QD_ASSIGN_OR_RETURN(field->date_format, engine::aggs::DateFormatter::Create(
                                                    fmt_spec, engine::aggs::DateZone::Utc()));
      }
      out.fields_.push_back(std::move(field));
    }
  }
  return out;
}

json DocValueFields::Values(const engine::Leaf& leaf, uint32_t doc) const {
  json out = json::object();
  for (const auto& f : fields_) {
    json values = json::array();
    if (f->type == engine::FieldType::kKeyword) {
      if (const engine::SortedSetDocValues* dv = leaf.reader->SortedSet(f->name)) {
        for (uint32_t ord : dv->Ords(doc)) values.push_back(std::string(dv->LookupOrd(ord)));
      }
    } else if (const engine::NumericDocValues* dv = leaf.reader->Numeric(f->name)) {
      for (int64_t v : dv->Values(doc)) {
        switch (f->type) {
          case engine::FieldType::kDouble:
          case engine::FieldType::kFloat:
            values.push_back(engine::SortableBitsToDouble(v));
            break;
          case engine::FieldType::kBoolean:
            values.push_back(v != 0);
            break;
          case engine::FieldType::kDate:
            values.push_back(f->date_format->Format(v));
            break;
          default:
            values.push_back(v);
        }
      }
    }
    if (!values.empty()) out[f->name] = std::move(values);
  }
  if (out.empty()) return json(nullptr);
  return out;
}

}  // namespace quidditch::data
