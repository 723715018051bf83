// top_hits: the best documents of each bucket, by score or by field values, with their
// _source (filtered as a search's). Limited to score and doc-value field sorts.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/aggs/aggregator.h"
#include "engine/errors.h"
#include "engine/search/source_filter.h"

namespace quidditch::engine::aggs {
namespace {

struct SortSpec {
  std::string field;  // "_score", "_doc" or a field
  bool desc = false;
  FieldSource src;
};

// One sort value: a number or a string; missing sorts last.
struct SortKey {
  bool missing = true;
  double num = 0;
  std::string str;
};

int CompareKey(const SortKey& a, const SortKey& b, bool desc) {
  if (a.missing || b.missing) return a.missing == b.missing ? 0 : (a.missing ? 1 : -1);
  int c = a.str.empty() && b.str.empty() ? (a.num < b.num   ? -1
                                            : a.num > b.num ? 1
                                                            : 0)
                                         : a.str.compare(b.str);
  if (c == 0 && !a.str.empty() != !b.str.empty()) c = a.str.empty() ? -1 : 1;
  return desc ? -c : c;
}

struct Candidate {
  std::vector<SortKey> keys;
  float score;
  uint32_t leaf;
  uint32_t doc;
};

class TopHitsAggregator : public Aggregator {
 public:
  TopHitsAggregator(std::string name, std::vector<SortSpec> sort, size_t from, size_t size,
                    SourceFilter source, std::string index)
      : Aggregator(std::move(name)),
        sort_(std::move(sort)),
        from_(from),
        size_(size),
        source_(std::move(source)),
        index_(std::move(index)) {}

  bool needs_scores() const override {
    for (const SortSpec& s : sort_) {
      if (s.field == "_score") return true;
    }
    return false;
  }

  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    leaf_ = static_cast<uint32_t>(leaf_index);
    if (readers_.size() <= leaf_index) readers_.resize(leaf_index + 1);
    readers_[leaf_index] = leaf.reader;
    numeric_.assign(sort_.size(), nullptr);
    ords_.assign(sort_.size(), nullptr);
    for (size_t i = 0; i < sort_.size(); ++i) {
      const FieldSource& s = sort_[i].src;
      if (s.kind == ValueKind::kKeyword)
        ords_[i] = leaf.reader->SortedSet(s.field);
      else if (s.numeric())
        numeric_[i] = leaf.reader->Numeric(s.field);
    }
  }

  void Collect(uint32_t doc, float score, uint32_t owning) override {
    if (owning >= per_bucket_.size()) {
      per_bucket_.resize(std::max<size_t>(owning + 1, per_bucket_.size() * 2));
      totals_.resize(per_bucket_.size(), 0);
      max_scores_.resize(per_bucket_.size(), -std::numeric_limits<float>::infinity());
    }
    ++totals_[owning];
    max_scores_[owning] = std::max(max_scores_[owning], score);
    Candidate c{{}, score, leaf_, doc};
    for (size_t i = 0; i < sort_.size(); ++i) {
      SortKey k;
      const SortSpec& s = sort_[i];
      if (s.field == "_score") {
        k.missing = false;
        k.num = score;
      } else if (s.field == "_doc") {
        k.missing = false;
        k.num = static_cast<double>(doc);
      } else if (numeric_[i] != nullptr) {
        auto values = numeric_[i]->Values(doc);
        if (!values.empty()) {
          k.missing = false;
          k.num = s.src.ToDouble(s.desc ? values.back() : values.front());
        }
      } else if (ords_[i] != nullptr) {
        auto ords = ords_[i]->Ords(doc);
        if (!ords.empty()) {
          k.missing = false;
          k.str = std::string(ords_[i]->LookupOrd(s.desc ? ords.back() : ords.front()));
          if (k.str.empty()) k.str = std::string(1, '\0');  // keep "empty" distinct from numbers
        }
      }
      c.keys.push_back(std::move(k));
    }
    auto& v = per_bucket_[owning];
    v.push_back(std::move(c));
    const size_t keep = from_ + size_;
    if (v.size() >= 2 * keep + 16) {
      std::nth_element(v.begin(), v.begin() + keep, v.end(),
                       [&](const Candidate& a, const Candidate& b) { return Less(a, b); });
      v.resize(keep);
    }
  }

  Result<json> BuildPartial(uint32_t owning) override {
    json p = {{"type", "top_hits"}, {"from", from_}, {"size", size_}, {"index", index_}};
    json sort = json::array();
    for (const SortSpec& s : sort_) sort.push_back({{"field", s.field}, {"desc", s.desc}});
    p["sort"] = sort;
    const bool has = owning < per_bucket_.size();
    p["total"] = has ? totals_[owning] : 0;
    const bool by_score = !sort_.empty() && sort_[0].field == "_score";
    if (has && totals_[owning] > 0 && by_score) p["max_score"] = max_scores_[owning];
    json hits = json::array();
    if (has) {
      auto& v = per_bucket_[owning];
      std::sort(v.begin(), v.end(),
                [&](const Candidate& a, const Candidate& b) { return Less(a, b); });
      for (size_t i = 0; i < v.size() && i < from_ + size_; ++i) {
        const Candidate& c = v[i];
        std::string id, source;
        QD_RETURN_IF_ERROR(readers_[c.leaf]->Document(c.doc, &id, &source));
        json h = {{"_id", id}, {"_score", by_score ? json(c.score) : json(nullptr)}};
        if (source_.fetch() && !source.empty()) {
          QD_ASSIGN_OR_RETURN(std::string kept, source_.Apply(source));
          json s = json::parse(kept, nullptr, false);
          if (s.is_discarded()) return Status::Corruption("stored _source is not JSON: " + id);
          h["_source"] = std::move(s);
        }
        json keys = json::array();
        for (size_t k = 0; k < sort_.size(); ++k) {
          const SortKey& key = c.keys[k];
          if (key.missing)
            keys.push_back(nullptr);
          else if (!key.str.empty())
            keys.push_back(key.str == std::string(1, '\0') ? "" : key.str);
          else
            keys.push_back(key.num);
        }
        h["sort_keys"] = keys;
        h["order"] = {c.leaf, c.doc};
        hits.push_back(std::move(h));
      }
    }
    p["hits"] = std::move(hits);
    return p;
  }

 private:
  bool Less(const Candidate& a, const Candidate& b) const {
    for (size_t i = 0; i < sort_.size(); ++i) {
      int c = CompareKey(a.keys[i], b.keys[i], sort_[i].desc);
      if (c != 0) return c < 0;
    }
    if (a.leaf != b.leaf) return a.leaf < b.leaf;
    return a.doc < b.doc;
  }

  const std::vector<SortSpec> sort_;
  const size_t from_, size_;
  const SourceFilter source_;
  const std::string index_;
  uint32_t leaf_ = 0;
  std::vector<std::shared_ptr<const SegmentReader>> readers_;
  std::vector<const NumericDocValues*> numeric_;
  std::vector<const SortedSetDocValues*> ords_;
  std::vector<std::vector<Candidate>> per_bucket_;
  std::vector<uint64_t> totals_;
  std::vector<float> max_scores_;
};

int CompareJsonKey(const json& a, const json& b, bool desc) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? 1 : -1);
  int c = 0;
  if (a.is_number() && b.is_number()) {
    c = a.get<double>() < b.get<double>() ? -1 : a.get<double>() > b.get<double>() ? 1 : 0;
  } else {
    c = a < b ? -1 : (b < a ? 1 : 0);
  }
  return desc ? -c : c;
}

}  // namespace

Result<std::unique_ptr<Aggregator>> MakeTopHitsAggregator(const std::string& name, const json& body,
                                                          const AggregationContext& ctx) {
  static const std::set<std::string> kKnown = {"size", "from", "sort", "_source"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.count(key)) {
      return QueryParsingError("[top_hits] unknown or unsupported field [" + key + "]");
    }
  }
  const int64_t size = body.value("size", int64_t{3});
  const int64_t from = body.value("from", int64_t{0});
  if (size < 0 || from < 0 || from + size > 100) {
    return IllegalArgument("Top hits result window is too large, the top hits aggregator [" + name +
                           "]'s from + size must be less than or equal to: [100] but was [" +
                           std::to_string(from + size) +
                           "]. This limit can be set by changing "
                           "the [index.max_inner_result_window] index level setting.");
  }
  auto source_spec = body.find("_source");
  QD_ASSIGN_OR_RETURN(SourceFilter source,
                      SourceFilter::Parse(source_spec == body.end() ? nullptr : &*source_spec));
  std::vector<SortSpec> sort;
  if (body.contains("sort")) {
    json list = body["sort"].is_array() ? body["sort"] : json::array({body["sort"]});
    for (const json& e : list) {
      SortSpec s;
      if (e.is_string()) {
        s.field = e.get<std::string>();
        s.desc = s.field == "_score";
      } else if (e.is_object() && e.size() == 1) {
        s.field = e.begin().key();
        const json& v = e.begin().value();
        std::string dir = v.is_string()   ? v.get<std::string>()
                          : v.is_object() ? v.value("order", s.field == "_score" ? "desc" : "asc")
                                          : "";
        if (dir != "asc" && dir != "desc") return QueryParsingError("[top_hits] bad sort order");
        s.desc = dir == "desc";
      } else {
        return QueryParsingError("[top_hits] malformed sort");
      }
      if (s.field != "_score" && s.field != "_doc") {
        QD_ASSIGN_OR_RETURN(s.src, ResolveField(json{{"field", s.field}}, name, ctx));
      }
      sort.push_back(std::move(s));
    }
  }
  if (sort.empty()) sort.push_back({"_score", true, {}});
  return std::unique_ptr<Aggregator>(
      new TopHitsAggregator(name, std::move(sort), static_cast<size_t>(from),
                            static_cast<size_t>(size), std::move(source), ctx.index_name));
}

Result<json> MergeTopHits(const std::vector<const json*>& parts) {
  json out = *parts[0];
  const json& sort = out.at("sort");
  struct Ref {
    const json* hit;
    size_t shard;
  };
  std::vector<Ref> all;
  uint64_t total = 0;
  std::optional<double> max_score;
  for (size_t s = 0; s < parts.size(); ++s) {
    const json& p = *parts[s];
    total += p.at("total").get<uint64_t>();
    if (p.contains("max_score")) {
      double m = p["max_score"].get<double>();
      max_score = max_score ? std::max(*max_score, m) : m;
    }
    for (const json& h : p.at("hits")) all.push_back({&h, s});
  }
  std::stable_sort(all.begin(), all.end(), [&](const Ref& a, const Ref& b) {
    for (size_t i = 0; i < sort.size(); ++i) {
      int c = CompareJsonKey(a.hit->at("sort_keys")[i], b.hit->at("sort_keys")[i],
                             sort[i].at("desc").get<bool>());
      if (c != 0) return c < 0;
    }
    if (a.shard != b.shard) return a.shard < b.shard;  // as OpenSearch: shard index, then doc
    return a.hit->at("order") < b.hit->at("order");
  });
  const size_t keep = out.at("from").get<size_t>() + out.at("size").get<size_t>();
  json hits = json::array();
  for (size_t i = 0; i < all.size() && i < keep; ++i) {
    json h = *all[i].hit;
    h["order"] = {0, i};  // merged order: position
    hits.push_back(std::move(h));
  }
  out["hits"] = std::move(hits);
  out["total"] = total;
  out.erase("max_score");
  if (max_score) out["max_score"] = *max_score;
  return out;
}

Result<json> RenderTopHits(const json& p) {
  const size_t from = p.at("from").get<size_t>();
  const bool by_field = p.at("sort")[0].at("field") != "_score";
  json hits = json::array();
  const json& all = p.at("hits");
  for (size_t i = from; i < all.size(); ++i) {
    const json& h = all[i];
    json out = {{"_index", p.value("index", "")}, {"_id", h.at("_id")}, {"_score", h.at("_score")}};
    if (h.contains("_source")) out["_source"] = h["_source"];
    if (by_field) out["sort"] = h.at("sort_keys");
    hits.push_back(std::move(out));
  }
  return json{{"hits",
               {{"total", {{"value", p.at("total")}, {"relation", "eq"}}},
                {"max_score", p.contains("max_score") ? p["max_score"] : json(nullptr)},
                {"hits", std::move(hits)}}}};
}

}  // namespace quidditch::engine::aggs
