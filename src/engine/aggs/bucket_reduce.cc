// The reduce of bucket aggregations: merge shard partials bucket by bucket (sub-aggregations
// recursively), then render OpenSearch's response shape. Follows OpenSearch's
// InternalTerms / InternalHistogram / InternalDateHistogram / InternalRange / InternalFilters
// reduce.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "engine/aggs/aggregator.h"
#include "engine/aggs/terms_order.h"
#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

constexpr size_t kMaxBuckets = 65535;  // OpenSearch's search.max_buckets default

Status TooManyBuckets(size_t n) {
  return Status::InvalidArgument(
      "too_many_buckets_exception: Trying to create too many buckets. Must be less than or "
      "equal to: [" +
      std::to_string(kMaxBuckets) + "] but was [" + std::to_string(n) +
      "]. This limit can be set by changing the [search.max_buckets] cluster level setting.");
}

struct KeyLess {
  bool operator()(const json& a, const json& b) const {
    if (a.is_number() && b.is_number() && !(a.is_number_integer() && b.is_number_integer())) {
      return a.get<double>() < b.get<double>();
    }
    return a < b;
  }
};

// Merges buckets of all parts by "key", in key order: counts add up, sub-aggregations merge.
// The buckets are sorted by reference (stable: the first part's key stands for its equals), so
// no key is copied until the output.
Result<json> MergeBucketsByKey(const std::vector<const json*>& parts) {
  struct Ref {
    const json* key;
    const json* bucket;
  };
  std::vector<Ref> all;
  for (const json* p : parts) {
    for (const json& b : p->at("buckets")) all.push_back({&BucketKey(b), &b});
  }
  KeyLess less;
  std::stable_sort(all.begin(), all.end(),
                   [&](const Ref& a, const Ref& b) { return less(*a.key, *b.key); });
  json out = json::array();
  out.get_ref<json::array_t&>().reserve(all.size());
  std::vector<const json*> aggs;
  for (size_t i = 0; i < all.size();) {
    const json& key = *all[i].key;
    uint64_t count = 0;
    aggs.clear();
    for (; i < all.size() && !less(key, *all[i].key); ++i) {
      count += BucketCount(*all[i].bucket);
      aggs.push_back(&BucketAggs(*all[i].bucket));
    }
    json merged_aggs;  // null: no sub-aggregations (the common case costs no allocation)
    if (std::any_of(aggs.begin(), aggs.end(), [](const json* a) { return !a->empty(); })) {
      QD_ASSIGN_OR_RETURN(merged_aggs, MergeAggsObjects(aggs));
    }
    out.push_back(KeyedBucket(key, count, std::move(merged_aggs)));
  }
  return out;
}

// Merges buckets of all parts by position (range, filters).
Result<json> MergeBucketsByPosition(const std::vector<const json*>& parts) {
  json out = (*parts[0]).at("buckets");
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t count = 0;
    std::vector<const json*> aggs;
    for (const json* p : parts) {
      const json& b = p->at("buckets").at(i);
      count += b.at("doc_count").get<uint64_t>();
      aggs.push_back(&b.at("aggs"));
    }
    out[i]["doc_count"] = count;
    QD_ASSIGN_OR_RETURN(out[i]["aggs"], MergeAggsObjects(aggs));
  }
  return out;
}

Result<json> MergeTerms(const std::vector<const json*>& parts) {
  json out = CopyWithout(*parts[0], "buckets");
  QD_ASSIGN_OR_RETURN(TermsOrder order, TermsOrder::FromJson(out.at("order")));
  int64_t sum_error = 0;
  uint64_t other = 0;
  for (const json* p : parts) {
    const json& buckets = p->at("buckets");
    const size_t n = buckets.size();
    int64_t err;
    // AbstractInternalTerms.getDocCountError.
    if (n == 0 || static_cast<int64_t>(n) < p->at("shard_size").get<int64_t>() ||
        order.IsKeyOrder()) {
      err = 0;
    } else if (order.IsCountDesc()) {
      err = p->at("error").get<int64_t>();
      if (err <= 0) {
        uint64_t mn = std::numeric_limits<uint64_t>::max();
        for (const json& b : buckets) mn = std::min(mn, BucketCount(b));
        err = static_cast<int64_t>(mn);
      }
    } else {
      err = -1;
    }
    if (sum_error != -1) sum_error = err == -1 ? -1 : sum_error + err;
    other += p->at("other").get<uint64_t>();
  }
  // One part (a search of one shard) has unique keys already: its buckets are the merge, unless
  // some have sub-aggregation partials (which go through their own merge). Render orders them.
  const json& first_buckets = parts[0]->at("buckets");
  if (parts.size() == 1 &&
      std::all_of(first_buckets.begin(), first_buckets.end(),
                  [](const json& b) { return b.is_array() && b.size() == 2; })) {
    out["buckets"] = first_buckets;
  } else {
    QD_ASSIGN_OR_RETURN(out["buckets"], MergeBucketsByKey(parts));
  }
  // The kind of the merged keys, as InternalTerms.reduce picks its result class: unmapped
  // partials give way to mapped ones, and long terms merged with double terms are double terms.
  std::string kind = "unmapped";
  for (const json* p : parts) {
    std::string k = p->value("kind", "unmapped");
    if (k != "unmapped" && (kind == "unmapped" || k == "double")) kind = std::move(k);
  }
  out["kind"] = kind;
  out["error"] = sum_error;
  out["other"] = other;
  return out;
}

Result<json> RenderSubAggs(const json& bucket, const RenderOptions& options, json out) {
  QD_RETURN_IF_ERROR(RenderAggsInto(bucket.at("aggs"), options, &out));
  return out;
}

// A rendered bucket {"key", "doc_count"}, built member by member (an initializer list of
// pairs costs a temporary per element, and this runs once per bucket of the response).
json RenderedBucket(const json& key, uint64_t doc_count) {
  json out = json::object();
  auto& members = out.get_ref<json::object_t&>();
  members.emplace("key", key);
  members.emplace("doc_count", doc_count);
  return out;
}

void AddKeyAsString(const json& fmt, const json& key, json* out) {
  if (fmt.is_null() || !key.is_number()) return;
  std::string s = FormatValue(fmt, key.get<double>());
  if (!s.empty()) (*out)["key_as_string"] = s;
}

Result<json> RenderTerms(const json& p, const RenderOptions& options) {
  QD_ASSIGN_OR_RETURN(TermsOrder order, TermsOrder::FromJson(p.at("order")));
  const json& buckets = p.at("buckets");
  const uint64_t min_doc_count = p.at("min_doc_count").get<uint64_t>();
  // Buckets under min_doc_count are neither shown nor counted in sum_other_doc_count.
  std::vector<TermsOrder::Item> items;
  items.reserve(buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    const uint64_t count = BucketCount(buckets[i]);
    if (count < min_doc_count) continue;
    items.push_back({&BucketKey(buckets[i]), count, &BucketAggs(buckets[i]), i});
  }
  const size_t size = std::min(
      items.size(), static_cast<size_t>(std::max<int64_t>(p.at("size").get<int64_t>(), 0)));
  QD_RETURN_IF_ERROR(order.Sort(&items, size));
  const json fmt = p.value("fmt", json());
  uint64_t other = p.at("other").get<uint64_t>();
  for (size_t i = size; i < items.size(); ++i) other += items[i].count;
  json out_buckets = json::array();
  out_buckets.get_ref<json::array_t&>().reserve(size);
  for (size_t i = 0; i < size; ++i) {
    const TermsOrder::Item& it = items[i];
    const json& b = buckets[it.index];
    json rb = RenderedBucket(BucketKey(b), it.count);
    AddKeyAsString(fmt, BucketKey(b), &rb);
    QD_RETURN_IF_ERROR(RenderAggsInto(BucketAggs(b), options, &rb));
    out_buckets.push_back(std::move(rb));
  }
  return json{{"doc_count_error_upper_bound", p.at("error")},
              {"sum_other_doc_count", other},
              {"buckets", std::move(out_buckets)}};
}

Result<json> MergeHistogram(const std::vector<const json*>& parts) {
  json out = CopyWithout(*parts[0], "buckets");
  QD_ASSIGN_OR_RETURN(out["buckets"], MergeBucketsByKey(parts));
  return out;
}

Result<json> RenderHistogram(const std::string& type, const json& p, const RenderOptions& options) {
  const bool date = type == "date_histogram";
  const uint64_t min_doc_count = p.at("min_doc_count").get<uint64_t>();
  const json& buckets = p.at("buckets");
  // The buckets in key order, read in place: pointers into the merged `buckets`, or to the keys
  // of the empty buckets that fill the gaps (`gap_keys`, a deque so the pointers stay valid) and
  // to `empty_aggs`. Copying every bucket's JSON here cost more than the whole collection.
  struct Slot {
    const json* key;
    uint64_t count;
    const json* aggs;
  };
  std::vector<Slot> slots;
  std::deque<json> gap_keys;
  auto merged_slot = [](const json& b) {
    return Slot{&BucketKey(b), BucketCount(b), &BucketAggs(b)};
  };
  bool filled_gaps = false;
  if (min_doc_count == 0) {
    // Fill the gaps (and the extended bounds) with empty buckets, in key order.
    std::optional<DateRounding> rounding;
    double interval = 0, offset = 0;
    if (date) {
      const json& r = p.at("rounding");
      QD_ASSIGN_OR_RETURN(auto zone, DateZone::Create(r.at("tz").get<std::string>()));
      const int64_t off = r.at("offset").get<int64_t>();
      if (r.contains("calendar")) {
        QD_ASSIGN_OR_RETURN(rounding,
                            DateRounding::Calendar(r["calendar"].get<std::string>(), zone, off));
      } else {
        QD_ASSIGN_OR_RETURN(rounding,
                            DateRounding::Fixed(r["fixed"].get<std::string>(), zone, off));
      }
    } else {
      interval = p.at("interval").get<double>();
      offset = p.at("offset").get<double>();
    }
    auto round = [&](double v) -> json {
      if (date) return json(rounding->Round(static_cast<int64_t>(v)));
      return json(std::floor((v - offset) / interval) * interval + offset + 0.0);
    };
    auto next = [&](const json& key) -> json {
      if (date) return json(rounding->Next(key.get<int64_t>()));
      // InternalHistogram.nextKey: half an interval more, so rounding error cannot stall.
      return round(key.get<double>() + interval + interval / 2);
    };
    std::optional<json> lo, hi;
    if (!buckets.empty()) {
      lo = BucketKey(buckets.front());
      hi = BucketKey(buckets.back());
    }
    if (p.contains("extended_bounds")) {
      const json& eb = p["extended_bounds"];
      KeyLess less;
      if (eb.contains("min")) {
        json k = round(eb["min"].get<double>());
        if (!lo || less(k, *lo)) lo = k;
      }
      if (eb.contains("max")) {
        json k = round(eb["max"].get<double>());
        if (!hi || less(*hi, k)) hi = k;
      }
    }
    if (lo && hi) {
      filled_gaps = true;
      size_t i = 0;
      KeyLess less;
      const json& empty_aggs = p.at("empty_aggs");
      json key = *lo;
      while (!less(*hi, key)) {
        while (i < buckets.size() && less(BucketKey(buckets[i]), key)) {
          slots.push_back(merged_slot(buckets[i++]));  // keys off the rounding grid (not expected)
        }
        if (i < buckets.size() && !less(key, BucketKey(buckets[i]))) {
          slots.push_back(merged_slot(buckets[i++]));
        } else {
          gap_keys.push_back(key);
          slots.push_back(Slot{&gap_keys.back(), 0, &empty_aggs});
        }
        if (slots.size() > kMaxBuckets) return TooManyBuckets(slots.size());
        json n = next(key);
        if (!less(key, n)) break;  // no progress: a broken rounding must not loop forever
        key = n;
      }
      while (i < buckets.size()) slots.push_back(merged_slot(buckets[i++]));
    }
  }
  if (!filled_gaps) {
    for (const json& b : buckets) slots.push_back(merged_slot(b));
  }
  QD_ASSIGN_OR_RETURN(TermsOrder order, TermsOrder::FromJson(p.at("order")));
  std::vector<TermsOrder::Item> items;
  items.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    items.push_back({slots[i].key, slots[i].count, slots[i].aggs, i});
  }
  QD_RETURN_IF_ERROR(order.Sort(&items));
  const bool keyed = p.value("keyed", false);
  const json fmt = p.value("fmt", json());
  json out = keyed ? json::object() : json::array();
  for (const TermsOrder::Item& it : items) {
    if (it.count < min_doc_count) continue;
    const Slot& b = slots[it.index];
    json rb = RenderedBucket(*b.key, it.count);
    AddKeyAsString(fmt, *b.key, &rb);
    QD_RETURN_IF_ERROR(RenderAggsInto(*b.aggs, options, &rb));
    if (keyed) {
      std::string k = rb.contains("key_as_string") ? rb["key_as_string"].get<std::string>()
                      : b.key->is_number_integer() ? std::to_string(b.key->get<int64_t>())
                                                   : JavaDouble(b.key->get<double>());
      out[k] = std::move(rb);
    } else {
      out.push_back(std::move(rb));
    }
  }
  if (out.size() > kMaxBuckets) return TooManyBuckets(out.size());
  return json{{"buckets", std::move(out)}};
}

Result<json> RenderRange(const json& p, const RenderOptions& options) {
  const json& ranges = p.at("ranges");
  const json& buckets = p.at("buckets");
  const json fmt = p.value("fmt", json());
  const bool keyed = p.value("keyed", false);
  json out = keyed ? json::object() : json::array();
  for (size_t i = 0; i < buckets.size(); ++i) {
    const json& r = ranges.at(i);
    json rb = json::object();
    auto str = [&](double v) {
      std::string s = FormatValue(fmt, v);
      return s.empty() ? JavaDouble(v) : s;
    };
    std::string key;
    if (r.contains("key")) {
      key = r["key"].get<std::string>();
    } else {
      key = (r.contains("from") ? str(r["from"].get<double>()) : "*") + "-" +
            (r.contains("to") ? str(r["to"].get<double>()) : "*");
    }
    if (!keyed) rb["key"] = key;
    for (const char* k : {"from", "to"}) {
      if (!r.contains(k)) continue;
      const double v = r[k].get<double>();
      rb[k] = v;
      std::string s = FormatValue(fmt, v);
      if (!s.empty()) rb[std::string(k) + "_as_string"] = s;
    }
    rb["doc_count"] = buckets[i].at("doc_count");
    QD_ASSIGN_OR_RETURN(rb, RenderSubAggs(buckets[i], options, std::move(rb)));
    if (keyed) {
      out[key] = std::move(rb);
    } else {
      out.push_back(std::move(rb));
    }
  }
  return json{{"buckets", std::move(out)}};
}

Result<json> RenderFilters(const json& p, const RenderOptions& options) {
  const bool keyed = p.value("keyed", false);
  json out = keyed ? json::object() : json::array();
  for (const json& b : p.at("buckets")) {
    json rb = {{"doc_count", b.at("doc_count")}};
    QD_ASSIGN_OR_RETURN(rb, RenderSubAggs(b, options, std::move(rb)));
    if (keyed) {
      out[b.at("key").get<std::string>()] = std::move(rb);
    } else {
      out.push_back(std::move(rb));
    }
  }
  return json{{"buckets", std::move(out)}};
}

}  // namespace

Result<json> MergeBuckets(const std::string& type, const std::vector<const json*>& parts) {
  if (type == "terms") return MergeTerms(parts);
  if (type == "histogram" || type == "date_histogram") return MergeHistogram(parts);
  if (type == "range" || type == "date_range" || type == "filters") {
    json out = CopyWithout(*parts[0], "buckets");
    QD_ASSIGN_OR_RETURN(out["buckets"], MergeBucketsByPosition(parts));
    return out;
  }
  if (type == "missing" || type == "filter") {
    json out = CopyWithout(*parts[0], "aggs");
    uint64_t count = 0;
    std::vector<const json*> aggs;
    for (const json* p : parts) {
      count += p->at("doc_count").get<uint64_t>();
      aggs.push_back(&p->at("aggs"));
    }
    out["doc_count"] = count;
    QD_ASSIGN_OR_RETURN(out["aggs"], MergeAggsObjects(aggs));
    return out;
  }
  return Status::Corruption("unknown aggregation type in partial: " + type);
}

Result<json> RenderBuckets(const std::string& type, const json& p, const RenderOptions& options) {
  if (type == "terms") return RenderTerms(p, options);
  if (type == "histogram" || type == "date_histogram") return RenderHistogram(type, p, options);
  if (type == "range" || type == "date_range") return RenderRange(p, options);
  if (type == "filters") return RenderFilters(p, options);
  if (type == "missing" || type == "filter") {
    return RenderSubAggs(p, options, json{{"doc_count", p.at("doc_count")}});
  }
  return Status::Corruption("unknown aggregation type in partial: " + type);
}

}  // namespace quidditch::engine::aggs
