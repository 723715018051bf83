// Search, ForEachMatch, sorting: the top-level collection loop over the leaves.
#include "engine/search/searcher.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/errors.h"
#include "engine/search/query.h"

namespace quidditch::engine {

nlohmann::json SortValueToJson(const SortValue& v) {
  switch (v.index()) {
    case 1:
      return std::get<int64_t>(v);
    case 2:
      return std::get<double>(v);
    case 3:
      return std::get<std::string>(v);
    default:
      return nullptr;
  }
}

namespace {

enum class KeyKind : uint8_t { kScore, kDoc, kLong, kDouble, kString };

// How one sort key is read in one leaf.
struct LeafKey {
  KeyKind kind;
  const NumericDocValues* numeric = nullptr;
  const SortedSetDocValues* sorted = nullptr;
};

// A sort key's value for one doc. Strings point into the segment's dictionary (valid as long
// as the reader), so computing keys allocates nothing.
struct KeyValue {
  bool missing = false;
  int64_t l = 0;
  double d = 0;
  std::string_view s;
};

struct SortSpec {
  SortField field;
  KeyKind kind;
};

Result<KeyKind> KindOf(const SortField& f, const SearchContext& ctx) {
  if (f.field == "_score") return KeyKind::kScore;
  if (f.field == "_doc") return KeyKind::kDoc;
  const FieldMapping* fm = ctx.mapping == nullptr ? nullptr : ctx.mapping->Find(f.field);
  if (fm == nullptr) {
    return QueryShardError("No mapping found for [" + f.field + "] in order to sort on");
  }
  switch (fm->type) {
    case FieldType::kKeyword:
      return KeyKind::kString;
    case FieldType::kDouble:
    case FieldType::kFloat:
      return KeyKind::kDouble;
    case FieldType::kText:
    case FieldType::kObject:
      return IllegalArgument(
          "Text fields are not optimised for operations that require per-document field data "
          "like aggregations and sorting, so these operations are disabled by default. Please "
          "use a keyword field instead. Alternatively, set fielddata=true on [" +
          f.field + "] in order to load field data by uninverting the inverted index.");
    default:
      return KeyKind::kLong;
  }
}

// Compares a and b under one key: <0 when a sorts first.
int CompareKey(const KeyValue& a, const KeyValue& b, const SortSpec& spec) {
  if (a.missing || b.missing) {
    if (a.missing && b.missing) return 0;
    // Missing values go last (or first) whatever the order.
    bool a_first = a.missing == spec.field.missing_first;
    return a_first ? -1 : 1;
  }
  int c = 0;
  switch (spec.kind) {
    case KeyKind::kScore:
    case KeyKind::kDouble:
      c = a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
      break;
    case KeyKind::kDoc:
    case KeyKind::kLong:
      c = a.l < b.l ? -1 : (a.l > b.l ? 1 : 0);
      break;
    case KeyKind::kString:
      c = a.s.compare(b.s);
      c = c < 0 ? -1 : (c > 0 ? 1 : 0);
      break;
  }
  return spec.field.descending ? -c : c;
}

struct Entry {
  uint32_t leaf;
  uint32_t doc;
  float score;
  std::vector<KeyValue> keys;
};

class FieldComparator {
 public:
  explicit FieldComparator(const std::vector<SortSpec>* specs) : specs_(specs) {}
  // True when a sorts before b (a is better).
  bool Before(const Entry& a, const Entry& b) const {
    for (size_t i = 0; i < specs_->size(); ++i) {
      int c = CompareKey(a.keys[i], b.keys[i], (*specs_)[i]);
      if (c != 0) return c < 0;
    }
    if (a.leaf != b.leaf) return a.leaf < b.leaf;
    return a.doc < b.doc;
  }
  bool Before(const std::vector<KeyValue>& a, uint32_t a_leaf, uint32_t a_doc,
              const Entry& b) const {
    for (size_t i = 0; i < specs_->size(); ++i) {
      int c = CompareKey(a[i], b.keys[i], (*specs_)[i]);
      if (c != 0) return c < 0;
    }
    if (a_leaf != b.leaf) return a_leaf < b.leaf;
    return a_doc < b.doc;
  }

 private:
  const std::vector<SortSpec>* specs_;
};

SortValue ToSortValue(const KeyValue& k, KeyKind kind) {
  if (k.missing) return std::monostate{};
  switch (kind) {
    case KeyKind::kScore:
    case KeyKind::kDouble:
      return k.d;
    case KeyKind::kDoc:
    case KeyKind::kLong:
      return k.l;
    case KeyKind::kString:
      return std::string(k.s);
  }
  return std::monostate{};
}

Result<KeyValue> AfterKey(const SortValue& v, const SortSpec& spec) {
  KeyValue k;
  switch (v.index()) {
    case 0:
      k.missing = true;
      return k;
    case 1:
      k.l = std::get<int64_t>(v);
      k.d = static_cast<double>(k.l);
      break;
    case 2:
      k.d = std::get<double>(v);
      k.l = static_cast<int64_t>(k.d);
      break;
    default:
      if (spec.kind != KeyKind::kString) {
        return IllegalArgument("search_after value of [" + spec.field.field + "] must be a number");
      }
      k.s = std::get<std::string>(v);
      return k;
  }
  if (spec.kind == KeyKind::kString) {
    return IllegalArgument("search_after value of [" + spec.field.field + "] must be a string");
  }
  return k;
}

}  // namespace

Result<std::vector<SortField>> ParseSort(const nlohmann::json& sort, const SearchContext& ctx) {
  std::vector<SortField> out;
  auto one = [&](const nlohmann::json& s) -> Status {
    SortField f;
    if (s.is_string()) {
      f.field = s.get<std::string>();
      f.descending = f.field == "_score";
    } else if (s.is_object() && s.size() == 1) {
      f.field = s.begin().key();
      f.descending = f.field == "_score";
      const nlohmann::json& spec = s.begin().value();
      auto order = [&](const nlohmann::json& o) -> Status {
        if (o == "asc") {
          f.descending = false;
        } else if (o == "desc") {
          f.descending = true;
        } else {
          return QueryParsingError("[sort] unknown order [" + o.dump() + "]");
        }
        return Status::OK();
      };
      if (spec.is_string()) {
        QD_RETURN_IF_ERROR(order(spec));
      } else if (spec.is_object()) {
        for (auto it = spec.begin(); it != spec.end(); ++it) {
          if (it.key() == "order") {
            QD_RETURN_IF_ERROR(order(it.value()));
          } else if (it.key() == "missing") {
            if (it.value() == "_first") {
              f.missing_first = true;
            } else if (it.value() == "_last") {
              f.missing_first = false;
            } else {
              return QueryParsingError("[sort] only _first and _last are supported for missing");
            }
          } else if (it.key() == "unmapped_type" || it.key() == "mode" ||
                     it.key() == "numeric_type" || it.key() == "format") {
            // accepted; defaults apply
          } else {
            return QueryParsingError("[field_sort] unknown field [" + it.key() + "]");
          }
        }
      } else {
        return QueryParsingError("[sort] malformed sort for [" + f.field + "]");
      }
    } else {
      return QueryParsingError("[sort] malformed sort");
    }
    QD_ASSIGN_OR_RETURN(KeyKind kind, KindOf(f, ctx));
    (void)kind;
    out.push_back(std::move(f));
    return Status::OK();
  };
  if (sort.is_array()) {
    for (const auto& s : sort) QD_RETURN_IF_ERROR(one(s));
  } else {
    QD_RETURN_IF_ERROR(one(sort));
  }
  return out;
}

Result<std::vector<SortValue>> ParseSearchAfter(const nlohmann::json& search_after,
                                                const std::vector<SortField>& sort,
                                                const SearchContext& ctx) {
  if (!search_after.is_array()) return QueryParsingError("[search_after] must be an array");
  size_t keys = sort.empty() ? 1 : sort.size();
  if (search_after.size() != keys) {
    return IllegalArgument("search_after has " + std::to_string(search_after.size()) +
                           " value(s) but sort has " + std::to_string(keys) + ".");
  }
  std::vector<SortValue> out;
  for (size_t i = 0; i < search_after.size(); ++i) {
    const nlohmann::json& v = search_after[i];
    KeyKind kind = KeyKind::kScore;
    if (!sort.empty()) {
      QD_ASSIGN_OR_RETURN(kind, KindOf(sort[i], ctx));
    }
    if (v.is_null()) {
      out.push_back(std::monostate{});
    } else if (kind == KeyKind::kString) {
      if (!v.is_string()) return IllegalArgument("search_after value must be a string");
      out.push_back(v.get<std::string>());
    } else if (kind == KeyKind::kLong || kind == KeyKind::kDoc) {
      if (v.is_number_integer()) {
        out.push_back(v.get<int64_t>());
      } else if (v.is_number()) {
        out.push_back(static_cast<int64_t>(v.get<double>()));
      } else if (v.is_string()) {
        try {
          out.push_back(static_cast<int64_t>(std::stoll(v.get<std::string>())));
        } catch (const std::exception&) {
          return IllegalArgument("Failed to parse search_after value [" + v.dump() + "]");
        }
      } else {
        return IllegalArgument("Failed to parse search_after value [" + v.dump() + "]");
      }
    } else {
      if (!v.is_number()) {
        return IllegalArgument("Failed to parse search_after value [" + v.dump() + "]");
      }
      out.push_back(v.get<double>());
    }
  }
  return out;
}

Status ForEachMatch(const Query& query, const SearchContext& ctx, MatchCollector* collector) {
  if (ctx.leaves == nullptr) return IllegalArgument("search context without leaves");
  bool scores = collector->needs_scores();
  QD_ASSIGN_OR_RETURN(std::unique_ptr<Weight> weight, query.CreateWeight(ctx, scores, 1.0f));
  uint64_t collected = 0;  // counted only with a deadline
  for (size_t i = 0; i < ctx.leaves->size(); ++i) {
    const Leaf& leaf = (*ctx.leaves)[i];
    collector->SetLeaf(i, leaf);
    QD_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, weight->MakeScorer(i));
    if (scorer == nullptr) continue;
    const LiveDocs* live = leaf.live.get();
    for (uint32_t doc = scorer->NextDoc(); doc != kNoMoreDocs; doc = scorer->NextDoc()) {
      if (live != nullptr && !live->IsLive(doc)) continue;
      collector->Collect(doc, scores ? scorer->Score() : 0.0f);
      if (ctx.deadline && ++collected % kDeadlineCheckInterval == 0 && ctx.deadline->Check()) {
        return Status::OK();
      }
    }
  }
  return Status::OK();
}

Result<TopDocs> Search(const SearchRequest& req, const SearchContext& ctx) {
  if (req.query == nullptr) return IllegalArgument("search request without a query");
  if (ctx.leaves == nullptr) return IllegalArgument("search context without leaves");
  const std::vector<Leaf>& leaves = *ctx.leaves;
  // Sort specs; by score when none.
  std::vector<SortSpec> specs;
  bool by_score_only = req.sort.empty();
  for (const SortField& f : req.sort) {
    QD_ASSIGN_OR_RETURN(KeyKind kind, KindOf(f, ctx));
    specs.push_back(SortSpec{f, kind});
  }
  if (specs.size() == 1 && specs[0].kind == KeyKind::kScore && specs[0].field.descending) {
    by_score_only = true;
  }
  bool sort_needs_scores = by_score_only;
  for (const SortSpec& s : specs) sort_needs_scores |= s.kind == KeyKind::kScore;
  const size_t k = req.from + req.size;
  // A count (no hits) needs no scores.
  bool needs_scores = (sort_needs_scores && k > 0) || req.explain || req.min_score.has_value() ||
                      (req.collector != nullptr && req.collector->needs_scores());
  if (by_score_only) {
    specs.clear();
    SortField f;
    f.field = "_score";
    f.descending = true;
    specs.push_back(SortSpec{f, KeyKind::kScore});
  }
  std::vector<KeyValue> after;
  if (!req.search_after.empty()) {
    if (req.search_after.size() != specs.size()) {
      return IllegalArgument("search_after has " + std::to_string(req.search_after.size()) +
                             " value(s) but sort has " + std::to_string(specs.size()) + ".");
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      QD_ASSIGN_OR_RETURN(KeyValue k, AfterKey(req.search_after[i], specs[i]));
      after.push_back(k);
    }
  }

  QD_ASSIGN_OR_RETURN(std::unique_ptr<Weight> weight,
                      req.query->CreateWeight(ctx, needs_scores, 1.0f));
  const uint64_t threshold = req.track_total_hits;
  // Dynamic pruning (block-max / MaxScore) is allowed when only the top hits by score are
  // needed and the total no longer has to be exact.
  const bool can_prune = by_score_only && req.collector == nullptr && !req.min_score &&
                         after.empty() && threshold != kTrackTotalHitsExact &&
                         req.terminate_after == 0;

  FieldComparator cmp(&specs);
  // Max-heap by "worse": the top is the worst entry kept.
  auto worse_first = [&](const Entry& a, const Entry& b) { return cmp.Before(a, b); };
  std::vector<Entry> heap;
  heap.reserve(std::min<size_t>(k, 4096));
  std::vector<KeyValue> keys(specs.size());
  uint64_t counted = 0;
  uint64_t visited = 0;  // docs visited, counted only with a deadline
  bool terminated_early = false;
  bool pruned = false;
  float min_competitive = 0;
  float max_score = -std::numeric_limits<float>::infinity();
  // Later docs need a strictly higher score than the worst kept one to enter.
  auto raise_min_competitive = [&](Scorer* scorer) {
    float m = std::nextafter(heap.front().score, std::numeric_limits<float>::infinity());
    if (m > min_competitive) {
      min_competitive = m;
      pruned = true;
      scorer->SetMinCompetitiveScore(m);
    }
  };

  for (size_t li = 0; li < leaves.size(); ++li) {
    const Leaf& leaf = leaves[li];
    if (req.collector != nullptr) req.collector->SetLeaf(li, leaf);
    if (k == 0 && req.collector == nullptr && !req.min_score && req.terminate_after == 0) {
      // Counting only: leaves whose count is known need no iteration.
      std::optional<uint64_t> count = weight->Count(li);
      if (count) {
        counted += *count;
        continue;
      }
    }
    QD_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, weight->MakeScorer(li));
    if (scorer == nullptr) continue;
    std::vector<LeafKey> leaf_keys;
    for (const SortSpec& s : specs) {
      LeafKey lk{s.kind};
      if (s.kind == KeyKind::kLong || s.kind == KeyKind::kDouble) {
        lk.numeric = leaf.reader->Numeric(s.field.field);
      } else if (s.kind == KeyKind::kString) {
        lk.sorted = leaf.reader->SortedSet(s.field.field);
      }
      leaf_keys.push_back(lk);
    }
    if (pruned && min_competitive > 0) scorer->SetMinCompetitiveScore(min_competitive);
    const LiveDocs* live = leaf.live.get();
    for (uint32_t doc = scorer->NextDoc(); doc != kNoMoreDocs; doc = scorer->NextDoc()) {
      if (ctx.deadline && ++visited % kDeadlineCheckInterval == 0 && ctx.deadline->Check()) break;
      if (live != nullptr && !live->IsLive(doc)) continue;
      float score = needs_scores ? scorer->Score() : 0.0f;
      if (req.min_score && score < *req.min_score) continue;
      if (req.terminate_after > 0 && counted == req.terminate_after) {
        terminated_early = true;
        break;
      }
      ++counted;
      if (req.collector != nullptr) {
        req.collector->Collect(doc, req.collector->needs_scores() ? score : 0.0f);
      }
      if (sort_needs_scores && score > max_score) max_score = score;
      if (k == 0) {
        if (req.collector == nullptr && counted > threshold) break;
        continue;
      }
      // Once the total no longer has to count on, docs below the worst kept one may be
      // skipped; raised here when the count crosses the threshold (a full heap of equal
      // scores would otherwise never get there) and after every heap change below.
      if (can_prune && heap.size() == k && counted == threshold + 1) {
        raise_min_competitive(scorer.get());
      }
      // By score alone, docs come in index order: a later doc needs a strictly higher score
      // than the worst one kept (ties keep the earlier doc).
      if (by_score_only && after.empty() && heap.size() == k && !(score > heap.front().score)) {
        continue;
      }
      for (size_t i = 0; i < specs.size(); ++i) {
        KeyValue& kv = keys[i];
        kv.missing = false;
        switch (leaf_keys[i].kind) {
          case KeyKind::kScore:
            kv.d = score;
            break;
          case KeyKind::kDoc:
            kv.l = static_cast<int64_t>(leaf.doc_base) + doc;
            break;
          case KeyKind::kLong:
          case KeyKind::kDouble: {
            std::span<const int64_t> vs;
            if (leaf_keys[i].numeric != nullptr) vs = leaf_keys[i].numeric->Values(doc);
            if (vs.empty()) {
              kv.missing = true;
              break;
            }
            // asc sorts by the smallest value of a multi-valued doc, desc by the largest.
            int64_t raw = specs[i].field.descending ? vs.back() : vs.front();
            if (leaf_keys[i].kind == KeyKind::kDouble) {
              kv.d = SortableBitsToDouble(raw);
            } else {
              kv.l = raw;
              kv.d = static_cast<double>(raw);
            }
            break;
          }
          case KeyKind::kString: {
            std::span<const uint32_t> ords;
            if (leaf_keys[i].sorted != nullptr) ords = leaf_keys[i].sorted->Ords(doc);
            if (ords.empty()) {
              kv.missing = true;
              break;
            }
            uint32_t ord = specs[i].field.descending ? ords.back() : ords.front();
            kv.s = leaf_keys[i].sorted->LookupOrd(ord);
            break;
          }
        }
      }
      if (!after.empty()) {
        // Only docs sorting strictly after the search_after values.
        int c = 0;
        for (size_t i = 0; i < specs.size() && c == 0; ++i)
          c = CompareKey(keys[i], after[i], specs[i]);
        if (c <= 0) continue;
      }
      if (heap.size() < k) {
        heap.push_back(Entry{static_cast<uint32_t>(li), doc, score, keys});
        std::push_heap(heap.begin(), heap.end(), worse_first);
      } else if (cmp.Before(keys, static_cast<uint32_t>(li), doc, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), worse_first);
        Entry& e = heap.back();
        e.leaf = static_cast<uint32_t>(li);
        e.doc = doc;
        e.score = score;
        e.keys = keys;
        std::push_heap(heap.begin(), heap.end(), worse_first);
      } else {
        continue;
      }
      if (can_prune && heap.size() == k && counted > threshold) {
        raise_min_competitive(scorer.get());
      }
    }
    if (k == 0 && req.collector == nullptr && counted > threshold) break;
    if (terminated_early || (ctx.deadline && ctx.deadline->expired)) break;
  }

  TopDocs out;
  out.terminated_early = terminated_early;
  if (counted > threshold) {
    out.total_hits = threshold;
    out.total_is_lower_bound = true;
  } else {
    out.total_hits = counted;
  }
  std::sort_heap(heap.begin(), heap.end(), worse_first);
  out.max_score = sort_needs_scores && counted > 0 ? max_score : std::nanf("");
  if (pruned && !heap.empty()) out.max_score = heap.front().score;
  for (size_t i = req.from; i < heap.size(); ++i) {
    const Entry& e = heap[i];
    Hit hit;
    hit.leaf = e.leaf;
    hit.doc = e.doc;
    hit.score = needs_scores ? e.score : std::nanf("");
    if (!by_score_only) {
      for (size_t s = 0; s < specs.size(); ++s) {
        hit.sort_values.push_back(ToSortValue(e.keys[s], specs[s].kind));
      }
      if (!sort_needs_scores && !req.explain) hit.score = std::nanf("");
    }
    if (req.explain) {
      QD_ASSIGN_OR_RETURN(Explanation ex, weight->Explain(e.leaf, e.doc));
      hit.explanation = ex.ToJson();
    }
    out.hits.push_back(std::move(hit));
  }
  return out;
}

}  // namespace quidditch::engine
