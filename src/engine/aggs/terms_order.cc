#include "engine/aggs/terms_order.h"

#include <algorithm>
#include <cmath>

#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

// Java's Double.compare: NaN above everything.
int CompareDoubles(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  const bool an = std::isnan(a), bn = std::isnan(b);
  return an == bn ? 0 : (an ? 1 : -1);
}

int CompareKeys(const json& a, const json& b) {
  if (a.is_number() && b.is_number() && !(a.is_number_integer() && b.is_number_integer())) {
    return CompareDoubles(a.get<double>(), b.get<double>());
  }
  if (a < b) return -1;
  if (b < a) return 1;
  return 0;
}

}  // namespace

Result<TermsOrder> TermsOrder::Parse(const json& order, Default def, const AggregatorList& subs) {
  TermsOrder o;
  std::vector<const json*> objs;
  if (order.is_object()) {
    objs.push_back(&order);
  } else if (order.is_array()) {
    for (const json& e : order) objs.push_back(&e);
  } else if (!order.is_null()) {
    return QueryParsingError("[order] must be an object or an array of objects");
  }
  for (const json* obj : objs) {
    if (!obj->is_object()) return QueryParsingError("[order] must be an object");
    for (const auto& [key, dir] : obj->items()) {
      Criterion c;
      if (!dir.is_string() || (dir != "asc" && dir != "desc")) {
        return QueryParsingError("Unknown order direction [" +
                                 (dir.is_string() ? dir.get<std::string>() : dir.dump()) + "]");
      }
      c.asc = dir == "asc";
      if (key == "_count") {
        c.kind = Criterion::Kind::kCount;
      } else if (key == "_key" || key == "_term" || key == "_time") {
        c.kind = Criterion::Kind::kKey;
      } else {
        c.kind = Criterion::Kind::kSub;
        size_t dot = key.find_first_of(".[");
        c.agg = key.substr(0, dot);
        if (dot != std::string::npos) {
          c.path = key.substr(dot + 1);
          if (!c.path.empty() && c.path.back() == ']') c.path.pop_back();
        }
        bool found = false;
        for (const auto& s : subs) found |= s->name() == c.agg;
        if (!found) {
          return Status::InvalidArgument(
              "aggregation_execution_exception: Invalid aggregator order path [" + key +
              "]. The provided aggregation [" + c.agg + "] does not exist");
        }
      }
      o.criteria_.push_back(c);
    }
  }
  if (o.criteria_.empty()) {
    Criterion c;
    c.kind = def == Default::kCountDesc ? Criterion::Kind::kCount : Criterion::Kind::kKey;
    c.asc = def == Default::kKeyAsc;
    o.criteria_.push_back(c);
  }
  bool has_key = false;
  for (const Criterion& c : o.criteria_) has_key |= c.kind == Criterion::Kind::kKey;
  if (!has_key) {
    Criterion c;
    c.kind = Criterion::Kind::kKey;
    c.asc = true;
    o.criteria_.push_back(c);
  }
  return o;
}

json TermsOrder::ToJson() const {
  json a = json::array();
  for (const Criterion& c : criteria_) {
    std::string k = c.kind == Criterion::Kind::kCount ? "_count"
                    : c.kind == Criterion::Kind::kKey ? "_key"
                                                      : c.agg;
    a.push_back({{"k", k}, {"p", c.path}, {"asc", c.asc}});
  }
  return a;
}

Result<TermsOrder> TermsOrder::FromJson(const json& j) {
  TermsOrder o;
  if (!j.is_array() || j.empty()) return Status::Corruption("bad order in aggregation partial");
  for (const json& e : j) {
    Criterion c;
    const std::string k = e.at("k").get<std::string>();
    c.kind = k == "_count" ? Criterion::Kind::kCount
             : k == "_key" ? Criterion::Kind::kKey
                           : Criterion::Kind::kSub;
    if (c.kind == Criterion::Kind::kSub) c.agg = k;
    c.path = e.at("p").get<std::string>();
    c.asc = e.at("asc").get<bool>();
    o.criteria_.push_back(c);
  }
  return o;
}

bool TermsOrder::NeedsSubAggs() const {
  for (const Criterion& c : criteria_) {
    if (c.kind == Criterion::Kind::kSub) return true;
  }
  return false;
}

Status TermsOrder::Sort(std::vector<Item>* items, size_t first) const {
  // Sub-aggregation values are computed once per item.
  std::vector<std::vector<double>> values(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    for (const Criterion& c : criteria_) {
      if (c.kind != Criterion::Kind::kSub) continue;
      const Item& it = (*items)[i];
      if (it.aggs == nullptr || !it.aggs->contains(c.agg)) {
        return Status::Internal("ordering sub-aggregation [" + c.agg + "] missing");
      }
      QD_ASSIGN_OR_RETURN(double v, SortValueOf((*it.aggs)[c.agg], c.path));
      values[i].push_back(v);
    }
  }
  std::vector<size_t> perm(items->size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  auto before = [&](size_t x, size_t y) {
    const Item& a = (*items)[x];
    const Item& b = (*items)[y];
    size_t sub = 0;
    for (const Criterion& c : criteria_) {
      int cmp = 0;
      switch (c.kind) {
        case Criterion::Kind::kCount:
          cmp = a.count < b.count ? -1 : (a.count > b.count ? 1 : 0);
          break;
        case Criterion::Kind::kKey:
          cmp = CompareKeys(*a.key, *b.key);
          break;
        case Criterion::Kind::kSub:
          cmp = CompareDoubles(values[x][sub], values[y][sub]);
          ++sub;
          break;
      }
      if (cmp != 0) return c.asc ? cmp < 0 : cmp > 0;
    }
    return false;
  };
  // A terms aggregation keeps shard_size (on a shard) or size (in the response) of often many
  // thousands of buckets: ordering only those costs n log k rather than n log n.
  if (first < perm.size()) {
    std::partial_sort(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(first), perm.end(),
                      before);
  } else {
    std::stable_sort(perm.begin(), perm.end(), before);
  }
  std::vector<Item> sorted;
  sorted.reserve(items->size());
  for (size_t i : perm) sorted.push_back((*items)[i]);
  *items = std::move(sorted);
  return Status::OK();
}

}  // namespace quidditch::engine::aggs
