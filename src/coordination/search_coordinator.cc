#include "coordination/search_coordinator.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <utility>

#include "engine/aggs/aggregations.h"
#include "engine/errors.h"

namespace quidditch::rest {

using nlohmann::json;

namespace {

Result<SortKeyOrder> ParseSortKey(const std::string& field, const json& spec) {
  SortKeyOrder key;
  key.field = field;
  key.descending = field == "_score";
  const json* order = nullptr;
  if (spec.is_string()) {
    order = &spec;
  } else if (spec.is_object()) {
    if (auto it = spec.find("order"); it != spec.end()) order = &*it;
    if (auto it = spec.find("missing"); it != spec.end()) {
      // A custom missing value sorts where the engine puts missing docs (_last), see
      // engine/search/searcher.h.
      key.missing_first = it->is_string() && it->get<std::string>() == "_first";
    }
  } else if (!spec.is_null()) {
    return engine::QueryParsingError(
        fmt::format("[{}] sort must be a string or an object, found [{}]", field, spec.dump()));
  }
  if (order != nullptr) {
    if (!order->is_string()) {
      return engine::IllegalArgument(fmt::format("Unknown SortOrder [{}]", order->dump()));
    }
    std::string text = order->get<std::string>();
    if (text == "asc" || text == "ASC") {
      key.descending = false;
    } else if (text == "desc" || text == "DESC") {
      key.descending = true;
    } else {
      return engine::IllegalArgument(fmt::format("Unknown SortOrder [{}]", text));
    }
  }
  return key;
}

Status AppendSortEntry(const json& entry, std::vector<SortKeyOrder>* keys) {
  if (entry.is_string()) {
    QD_ASSIGN_OR_RETURN(SortKeyOrder key, ParseSortKey(entry.get<std::string>(), json()));
    keys->push_back(std::move(key));
    return Status::OK();
  }
  if (entry.is_object()) {
    for (const auto& [field, spec] : entry.items()) {
      QD_ASSIGN_OR_RETURN(SortKeyOrder key, ParseSortKey(field, spec));
      keys->push_back(std::move(key));
    }
    return Status::OK();
  }
  return engine::QueryParsingError(
      "malformed sort format, within the sort array, an object, or an actual string are "
      "allowed");
}

// Position of a value kind in the order used when two shards disagree on a field's type.
int KindRank(const engine::SortValue& v) {
  if (std::holds_alternative<std::string>(v)) return 1;
  return 0;  // numbers
}

double AsDouble(const engine::SortValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

// Negative when a hit `a` of shard `sa` comes before hit `b` of shard `sb`.
int CompareHits(const data::ShardHit& a, size_t sa, const data::ShardHit& b, size_t sb,
                const std::vector<SortKeyOrder>& sort) {
  if (sort.empty()) {
    bool a_nan = std::isnan(a.score);
    bool b_nan = std::isnan(b.score);
    if (a_nan != b_nan) return a_nan ? 1 : -1;
    if (!a_nan && a.score != b.score) return a.score > b.score ? -1 : 1;
  } else {
    for (size_t k = 0; k < sort.size(); ++k) {
      static const engine::SortValue kMissing;
      const engine::SortValue& va = k < a.sort_values.size() ? a.sort_values[k] : kMissing;
      const engine::SortValue& vb = k < b.sort_values.size() ? b.sort_values[k] : kMissing;
      if (int c = CompareSortValues(va, vb, sort[k]); c != 0) return c;
    }
  }
  if (sa != sb) return sa < sb ? -1 : 1;
  return 0;
}

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

json ReadersToJson(const std::vector<ReaderRef>& readers) {
  json out = json::array();
  for (const ReaderRef& r : readers) {
    json entry = json::array({r.node, r.index, r.shard, r.reader_id, r.position});
    // Only readers of filtered aliases carry a sixth element, so ids stay short otherwise.
    if (!r.alias_filters.empty()) entry.push_back(r.alias_filters);
    out.push_back(std::move(entry));
  }
  return out;
}

bool ReadersFromJson(const json& in, std::vector<ReaderRef>* readers) {
  if (!in.is_array()) return false;
  for (const json& r : in) {
    if (!r.is_array() || r.size() < 5 || r.size() > 6 || !r[0].is_string() || !r[1].is_string() ||
        !r[2].is_number_integer() || !r[3].is_string() || !r[4].is_number_unsigned() ||
        (r.size() == 6 && !r[5].is_array())) {
      return false;
    }
    ReaderRef ref{r[0].get<std::string>(), r[1].get<std::string>(), r[2].get<int32_t>(),
                  r[3].get<std::string>(), r[4].get<uint64_t>(),    {}};
    if (r.size() == 6) ref.alias_filters = r[5].get<std::vector<json>>();
    readers->push_back(std::move(ref));
  }
  return true;
}

// The JSON document inside a base64 id, or nullopt.
std::optional<json> DecodeIdJson(std::string_view text) {
  std::optional<std::string> bytes = Base64Decode(text);
  if (!bytes) return std::nullopt;
  json doc = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  return doc;
}

}  // namespace

Result<std::vector<SortKeyOrder>> ParseSortOrder(const json& sort) {
  std::vector<SortKeyOrder> keys;
  if (sort.is_null()) return keys;
  if (sort.is_array()) {
    for (const json& entry : sort) QD_RETURN_IF_ERROR(AppendSortEntry(entry, &keys));
  } else {
    QD_RETURN_IF_ERROR(AppendSortEntry(sort, &keys));
  }
  return keys;
}

int CompareSortValues(const engine::SortValue& a, const engine::SortValue& b,
                      const SortKeyOrder& key) {
  bool a_missing = std::holds_alternative<std::monostate>(a);
  bool b_missing = std::holds_alternative<std::monostate>(b);
  if (a_missing || b_missing) {
    if (a_missing == b_missing) return 0;
    // Missing values are placed regardless of the direction.
    return (a_missing == key.missing_first) ? -1 : 1;
  }
  int c = 0;
  if (KindRank(a) != KindRank(b)) {
    c = KindRank(a) < KindRank(b) ? -1 : 1;
  } else if (KindRank(a) == 1) {
    const std::string& sa = std::get<std::string>(a);
    const std::string& sb = std::get<std::string>(b);
    c = sa < sb ? -1 : (sb < sa ? 1 : 0);
  } else if (std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b)) {
    int64_t ia = std::get<int64_t>(a);
    int64_t ib = std::get<int64_t>(b);
    c = ia < ib ? -1 : (ib < ia ? 1 : 0);
  } else {
    double da = AsDouble(a);
    double db = AsDouble(b);
    c = da < db ? -1 : (db < da ? 1 : 0);
  }
  return key.descending ? -c : c;
}

std::vector<MergedHit> MergeTopHits(const std::vector<const std::vector<data::ShardHit>*>& shards,
                                    const std::vector<SortKeyOrder>& sort, size_t from,
                                    size_t size) {
  // A k-way merge that takes each shard's hits in the shard's own order: the shard already
  // broke its internal ties (by doc id), so only cross-shard order is decided here. The number
  // of shards is small, so picking the best head by a linear scan is cheapest.
  std::vector<size_t> next(shards.size(), 0);
  std::vector<MergedHit> out;
  const size_t end = size > std::numeric_limits<size_t>::max() - from
                         ? std::numeric_limits<size_t>::max()
                         : from + size;
  for (size_t rank = 0; rank < end; ++rank) {
    std::optional<size_t> best;
    for (size_t s = 0; s < shards.size(); ++s) {
      if (shards[s] == nullptr || next[s] >= shards[s]->size()) continue;
      if (!best ||
          CompareHits((*shards[s])[next[s]], s, (*shards[*best])[next[*best]], *best, sort) < 0) {
        best = s;
      }
    }
    if (!best) break;
    if (rank >= from) out.push_back(MergedHit{*best, next[*best]});
    ++next[*best];
  }
  return out;
}

Result<uint64_t> ParseTrackTotalHits(const json& value) {
  if (value.is_null()) return kDefaultTrackTotalHits;
  if (value.is_boolean()) return value.get<bool>() ? engine::kTrackTotalHitsExact : 0;
  int64_t n = 0;
  if (value.is_number_integer()) {
    n = value.get<int64_t>();
  } else if (value.is_string()) {
    // The URI parameter: "true", "false" or a number.
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "true") return engine::kTrackTotalHitsExact;
    if (text == "false") return 0;
    size_t used = 0;
    try {
      n = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) {
      return engine::IllegalArgument(
          fmt::format("Failed to parse value [{}] as only [true] or [false] are allowed.", text));
    }
  } else {
    return engine::IllegalArgument(fmt::format(
        "[track_total_hits] must be a boolean or an integer, found [{}]", value.dump()));
  }
  if (n == -1) return engine::kTrackTotalHitsExact;
  if (n < 0) {
    return engine::IllegalArgument(
        fmt::format("[track_total_hits] parameter must be positive or equals to -1, got {}", n));
  }
  return static_cast<uint64_t>(n);
}

TotalHits MergeTotalHits(const std::vector<TotalHits>& shards, uint64_t track_up_to) {
  TotalHits total;
  for (const TotalHits& s : shards) {
    total.value += s.value;
    total.lower_bound = total.lower_bound || s.lower_bound;
  }
  if (total.value > track_up_to) return TotalHits{track_up_to, true};
  return total;
}

std::optional<float> MergeMaxScore(const std::vector<float>& shard_max_scores) {
  std::optional<float> best;
  for (float s : shard_max_scores) {
    if (std::isnan(s)) continue;
    if (!best || s > *best) best = s;
  }
  return best;
}

Result<json> ReduceShardAggregations(const std::vector<std::string>& encoded,
                                     const engine::RenderOptions& options) {
  std::vector<engine::ShardAggregations> partials;
  partials.reserve(encoded.size());
  for (const std::string& bytes : encoded) {
    QD_ASSIGN_OR_RETURN(engine::ShardAggregations partial, engine::DecodePartial(bytes));
    partials.push_back(std::move(partial));
  }
  return engine::ReduceAggregations(partials, options);
}

int64_t MaxResultWindow(const json& other_settings) {
  if (!other_settings.is_object()) return kDefaultMaxResultWindow;
  auto it = other_settings.find("max_result_window");
  if (it == other_settings.end()) return kDefaultMaxResultWindow;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    try {
      size_t used = 0;
      int64_t n = std::stoll(text, &used);
      if (used == text.size()) return n;
    } catch (const std::exception&) {
      // Falls through to the default: settings validation is the index API's job.
    }
  }
  return kDefaultMaxResultWindow;
}

Status CheckResultWindow(int64_t from, int64_t size, int64_t max_result_window, bool scroll) {
  if (scroll) {
    if (size <= max_result_window) return Status::OK();
    return engine::IllegalArgument(fmt::format(
        "Batch size is too large, size must be less than or equal to: [{}] but was [{}]. Scroll "
        "batch sizes cost as much memory as result windows so they are controlled by the "
        "[index.max_result_window] index level setting.",
        max_result_window, size));
  }
  if (from + size <= max_result_window) return Status::OK();
  return engine::IllegalArgument(fmt::format(
      "Result window is too large, from + size must be less than or equal to: [{}] but was "
      "[{}]. See the scroll api for a more efficient way to request large data sets. This limit "
      "can be set by changing the [index.max_result_window] index level setting.",
      max_result_window, from + size));
}

std::string EncodeScrollId(const ScrollId& id) {
  json doc = {{"c", id.context},
              {"t", id.now_millis},
              {"n", id.total_shards},
              {"k", id.keep_alive_ms},
              {"r", ReadersToJson(id.readers)},
              {"b", id.body}};
  return Base64UrlEncode(doc.dump());
}

Result<ScrollId> DecodeScrollId(std::string_view text) {
  const Status bad = engine::IllegalArgument("Cannot parse scroll id");
  std::optional<json> doc = DecodeIdJson(text);
  if (!doc) return bad;
  ScrollId id;
  auto c = doc->find("c");
  auto t = doc->find("t");
  auto n = doc->find("n");
  auto r = doc->find("r");
  auto b = doc->find("b");
  if (c == doc->end() || !c->is_number_unsigned() || t == doc->end() || !t->is_number_integer() ||
      n == doc->end() || !n->is_number_integer() || r == doc->end() || b == doc->end() ||
      !b->is_object()) {
    return bad;
  }
  id.context = c->get<uint64_t>();
  id.now_millis = t->get<int64_t>();
  id.total_shards = n->get<int32_t>();
  auto k = doc->find("k");
  if (k == doc->end() || !k->is_number_integer()) return bad;
  id.keep_alive_ms = k->get<int64_t>();
  id.body = *b;
  if (!ReadersFromJson(*r, &id.readers)) return bad;
  return id;
}

std::string EncodePitId(const PitId& id) {
  json doc = {{"p", ReadersToJson(id.readers)},
              {"n", id.total_shards},
              {"k", id.keep_alive_ms},
              {"ct", id.creation_time}};
  return Base64UrlEncode(doc.dump());
}

Result<PitId> DecodePitId(std::string_view text) {
  const Status bad = engine::IllegalArgument("Cannot parse pit id");
  std::optional<json> doc = DecodeIdJson(text);
  if (!doc) return bad;
  auto p = doc->find("p");
  auto n = doc->find("n");
  auto ct = doc->find("ct");
  if (p == doc->end() || n == doc->end() || !n->is_number_integer() || ct == doc->end() ||
      !ct->is_number_integer()) {
    return bad;
  }
  PitId id;
  id.total_shards = n->get<int32_t>();
  id.creation_time = ct->get<int64_t>();
  auto k = doc->find("k");
  if (k == doc->end() || !k->is_number_integer()) return bad;
  id.keep_alive_ms = k->get<int64_t>();
  if (!ReadersFromJson(*p, &id.readers)) return bad;
  return id;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kUrlAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kUrlAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-' || c == '+') {
      v = 62;
    } else if (c == '_' || c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // A single leftover character (6 bits) cannot end a valid encoding.
  if (bits >= 6) return std::nullopt;
  return out;
}

}  // namespace quidditch::rest
