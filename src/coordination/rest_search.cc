#include "coordination/rest_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/types.h"
#include "coordination/search_coordinator.h"
#include "data/fetch_phase.h"
#include "engine/errors.h"

namespace quidditch::rest {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ValidationError(std::string_view reason) {
  return Status::InvalidArgument(
      fmt::format("action_request_validation_exception: Validation Failed: 1: {};", reason));
}

// A float as OpenSearch prints it: the shortest decimal that reads back as the same float
// (Jackson writes floats, not doubles).
json FloatJson(float value) {
  if (std::isnan(value)) return json();
  return json(std::stod(fmt::format("{}", value)));
}

// nlohmann's two JSON types do not convert into each other; responses keep key order.
OrderedJson ToOrdered(const json& value) { return OrderedJson::parse(value.dump()); }

// The body keys of OpenSearch's SearchSourceBuilder that we run.
const std::set<std::string, std::less<>>& SupportedBodyKeys() {
  static const std::set<std::string, std::less<>> keys = {"query",
                                                          "from",
                                                          "size",
                                                          "sort",
                                                          "search_after",
                                                          "_source",
                                                          "docvalue_fields",
                                                          "stored_fields",
                                                          "track_total_hits",
                                                          "track_scores",
                                                          "highlight",
                                                          "aggs",
                                                          "aggregations",
                                                          "timeout",
                                                          "terminate_after",
                                                          "explain",
                                                          "version",
                                                          "seq_no_primary_term",
                                                          "min_score",
                                                          "post_filter",
                                                          "pit",
                                                          "stats",
                                                          "ext",
                                                          "profile",
                                                          "script_fields",
                                                          "fields",
                                                          "suggest",
                                                          "rescore",
                                                          "collapse",
                                                          "slice",
                                                          "indices_boost"};
  return keys;
}

bool IsEmptyContainer(const json& value) {
  return value.is_null() || ((value.is_object() || value.is_array()) && value.empty());
}

// Rejects keys OpenSearch would not parse, and options we do not run.
Status ValidateBodyKeys(const json& body) {
  for (const auto& [key, value] : body.items()) {
    if (!SupportedBodyKeys().contains(key)) {
      return engine::QueryParsingError(
          fmt::format("Unknown key for a {} in [{}].", engine::XContentTokenName(value), key));
    }
    if ((key == "script_fields" || key == "fields" || key == "suggest" || key == "rescore" ||
         key == "collapse" || key == "slice" || key == "indices_boost") &&
        !IsEmptyContainer(value)) {
      return engine::IllegalArgument(fmt::format("[{}] is not supported by Quidditch", key));
    }
    if (key == "profile" && value.is_boolean() && value.get<bool>()) {
      return engine::IllegalArgument("[profile] is not supported by Quidditch");
    }
    if (key == "highlight") QD_RETURN_IF_ERROR(data::HighlightPlan::Validate(value));
  }
  return Status::OK();
}

Result<int64_t> NonNegativeInt(const json& body, std::string_view key, int64_t fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  // OpenSearch reads these as Java ints; larger values would also overflow from + size.
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  auto out_of_range = [&](std::string_view value) {
    return engine::IllegalArgument(fmt::format(
        "Numeric value ({}) out of range of int (-2147483648 - 2147483647) for [{}]", value, key));
  };
  int64_t value = 0;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(kMax)) {
    return out_of_range(it->dump());
  } else if (it->is_number_integer()) {
    value = it->get<int64_t>();
  } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()) {
    if (std::abs(it->get<double>()) > static_cast<double>(kMax)) return out_of_range(it->dump());
    value = static_cast<int64_t>(it->get<double>());
  } else if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    size_t used = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) {
      return engine::IllegalArgument(fmt::format("For input string: \"{}\"", text));
    }
  } else {
    return engine::QueryParsingError(
        fmt::format("[{}] must be a number, found [{}]", key, it->dump()));
  }
  if (value > kMax) return out_of_range(std::to_string(value));
  if (value < 0) {
    return engine::IllegalArgument(
        fmt::format("[{}] parameter cannot be negative, found [{}]", key, value));
  }
  return value;
}

// "a:desc,b" (the `sort` URI parameter) as a body sort.
json SortFromParam(std::string_view param) {
  json sort = json::array();
  for (const std::string& part : SplitComma(param)) {
    size_t colon = part.rfind(':');
    if (colon == std::string::npos) {
      sort.push_back(part);
    } else {
      sort.push_back(json{{part.substr(0, colon), json{{"order", part.substr(colon + 1)}}}});
    }
  }
  return sort;
}

json JsonList(std::string_view param) {
  json out = json::array();
  for (const std::string& part : SplitComma(param)) out.push_back(part);
  return out;
}

// Folds the URI parameters of a search into its body: OpenSearch's RestSearchAction lets the
// parameters override the body.
Status ApplySearchParams(const HttpRequest& request, json* body) {
  if (request.HasParam("q")) {
    json qs = {{"query", std::string(request.Param("q"))}};
    if (request.HasParam("df")) qs["default_field"] = std::string(request.Param("df"));
    if (request.HasParam("analyzer")) qs["analyzer"] = std::string(request.Param("analyzer"));
    if (request.HasParam("default_operator")) {
      qs["default_operator"] = std::string(request.Param("default_operator"));
    }
    if (request.HasParam("lenient")) {
      QD_ASSIGN_OR_RETURN(bool lenient, BoolParam(request, "lenient", false));
      qs["lenient"] = lenient;
    }
    if (request.HasParam("analyze_wildcard")) {
      QD_ASSIGN_OR_RETURN(bool analyze, BoolParam(request, "analyze_wildcard", false));
      qs["analyze_wildcard"] = analyze;
    }
    (*body)["query"] = json{{"query_string", std::move(qs)}};
  }
  for (std::string_view key : {"from", "size", "terminate_after"}) {
    if (!request.HasParam(key)) continue;
    QD_ASSIGN_OR_RETURN(int64_t value, IntParam(request, key, 0));
    (*body)[std::string(key)] = value;
  }
  if (request.HasParam("sort")) (*body)["sort"] = SortFromParam(request.Param("sort"));
  for (std::string_view key : {"explain", "version", "seq_no_primary_term", "track_scores"}) {
    if (!request.HasParam(key)) continue;
    QD_ASSIGN_OR_RETURN(bool value, BoolParam(request, key, false));
    (*body)[std::string(key)] = value;
  }
  if (request.HasParam("track_total_hits")) {
    (*body)["track_total_hits"] = std::string(request.Param("track_total_hits"));
  }
  if (request.HasParam("timeout")) (*body)["timeout"] = std::string(request.Param("timeout"));
  if (request.HasParam("stored_fields")) {
    (*body)["stored_fields"] = JsonList(request.Param("stored_fields"));
  }
  if (request.HasParam("docvalue_fields")) {
    (*body)["docvalue_fields"] = JsonList(request.Param("docvalue_fields"));
  }
  // _source=false|true|a,b and _source_includes / _source_excludes.
  bool has_includes = request.HasParam("_source_includes");
  bool has_excludes = request.HasParam("_source_excludes");
  if (request.HasParam("_source") || has_includes || has_excludes) {
    json source = json::object();
    std::string_view value = request.Param("_source");
    if (request.HasParam("_source") && (value == "false" || value == "true" || value.empty())) {
      if (value == "false" && !has_includes && !has_excludes) {
        (*body)["_source"] = false;
        return Status::OK();
      }
    } else if (request.HasParam("_source")) {
      source["includes"] = JsonList(value);
    }
    if (has_includes) source["includes"] = JsonList(request.Param("_source_includes"));
    if (has_excludes) source["excludes"] = JsonList(request.Param("_source_excludes"));
    (*body)["_source"] = source.empty() ? json(true) : source;
  }
  return Status::OK();
}

// --- shard targets and failures ----------------------------------------------------------------

struct ShardTarget {
  data::ShardKey key;
  std::string index_uuid;
  std::string node;                       // copy searched; "" when none is active
  data::ShardService* service = nullptr;  // null: `unavailable` says why
  Status unavailable;
  std::string reader_id;  // scroll / PIT reader
  // The filters of the aliases the index was searched through (ApplyAliasFilters).
  std::vector<json> alias_filters;
  uint64_t skip = 0;
  int64_t max_result_window = kDefaultMaxResultWindow;
};

struct ShardFailure {
  data::ShardKey key;
  std::string index_uuid;
  std::string node;
  Status status;
};

// The node id of the copy whose service ReadShardService chose (reported in hits' _node and
// shard failures, and named in scroll ids).
std::string NodeOfService(const RestContext& context, const cluster::Index& index, int32_t shard,
                          const data::ShardService* service) {
  if (shard < 0 || static_cast<size_t>(shard) >= index.routing.shards.size()) return {};
  for (const cluster::ShardCopy& copy : index.routing.shards[shard].copies) {
    if (!cluster::IsActive(copy.state)) continue;
    if (context.shard_service && context.shard_service(copy.node_id) == service) {
      return copy.node_id;
    }
  }
  return {};
}

ShardTarget MakeTarget(const RestContext& context, const cluster::Index& index, int32_t shard) {
  ShardTarget target;
  target.key = data::ShardKey{index.name, shard};
  target.index_uuid = index.uuid;
  target.max_result_window = MaxResultWindow(index.settings.other);
  Result<data::ShardService*> service = ReadShardService(context, index, shard);
  if (service.ok()) {
    target.service = *service;
    target.node = NodeOfService(context, index, shard, *service);
  } else {
    target.unavailable = service.status();
  }
  return target;
}

// The targets of a reader list (scroll or PIT): each shard on the node that holds its reader.
ShardTarget ReaderTarget(const RestContext& context, const ReaderRef& reader) {
  ShardTarget target;
  target.key = data::ShardKey{reader.index, reader.shard};
  target.node = reader.node;
  target.reader_id = reader.reader_id;
  target.skip = reader.position;
  target.alias_filters = reader.alias_filters;
  target.service = context.shard_service ? context.shard_service(reader.node) : nullptr;
  if (target.service == nullptr) {
    target.unavailable = Status::NotFound(fmt::format(
        "search_context_missing_exception: No search context found for id [{}]", reader.reader_id));
  }
  return target;
}

int FailureStatus(const Status& status) { return ErrorTypeOf(status).second; }

OrderedJson FailureReason(const ShardFailure& failure) {
  // OpenSearch names the index in the causes that are about it (query_shard_exception and
  // friends), not in generic ones like illegal_argument_exception.
  auto [type, code] = ErrorTypeOf(failure.status);
  (void)code;
  if (type == "query_shard_exception" || type == "index_not_found_exception") {
    return ErrorObject(failure.status, failure.key.index, failure.index_uuid);
  }
  return ErrorObject(failure.status);
}

OrderedJson FailureJson(const ShardFailure& failure) {
  OrderedJson out = {{"shard", failure.key.shard}, {"index", failure.key.index}};
  if (!failure.node.empty()) out["node"] = failure.node;
  out["reason"] = FailureReason(failure);
  return out;
}

bool IsParseFailure(const Status& status) {
  std::string type = ErrorTypeOf(status).first;
  return type == "parsing_exception" || type == "x_content_parse_exception";
}

struct Reply {
  int status = 200;
  OrderedJson body;
};

Reply ErrorReply(const Status& status) {
  HttpResponse response = ErrorResponse(status);
  return Reply{response.status, OrderedJson::parse(response.body)};
}

// search_phase_execution_exception over `failures` (at least one), as OpenSearch groups them:
// one failed_shards entry per (cause, index), root causes without duplicates.
Reply PhaseFailure(const std::vector<ShardFailure>& failures, std::string_view phase,
                   std::string_view reason) {
  OrderedJson root_causes = OrderedJson::array();
  OrderedJson failed_shards = OrderedJson::array();
  std::set<std::string> seen_causes;
  std::set<std::string> seen_groups;
  for (const ShardFailure& f : failures) {
    OrderedJson cause = FailureReason(f);
    std::string cause_key = Dump(cause);
    if (seen_causes.insert(cause_key).second) root_causes.push_back(cause);
    if (seen_groups.insert(cause_key + "\n" + f.key.index).second) {
      failed_shards.push_back(FailureJson(f));
    }
  }
  const int status = FailureStatus(failures.front().status);
  OrderedJson error = {{"root_cause", std::move(root_causes)},
                       {"type", "search_phase_execution_exception"},
                       {"reason", std::string(reason)},
                       {"phase", std::string(phase)},
                       {"grouped", true},
                       {"failed_shards", std::move(failed_shards)},
                       {"caused_by", ErrorObject(failures.front().status)}};
  return Reply{status, OrderedJson{{"error", std::move(error)}, {"status", status}}};
}

// --- the query-then-fetch driver ---------------------------------------------------------------

struct SearchPlan {
  json body;  // what the shards get
  int64_t from = 0;
  int64_t size = 10;
  std::vector<SortKeyOrder> sort;
  bool has_sort = false;
  uint64_t track_total_hits = kDefaultTrackTotalHits;
  bool total_as_int = false;
  engine::RenderOptions aggs_render;  // typed_keys
  bool allow_partial = true;
  int64_t now_millis = 0;
  std::optional<std::chrono::milliseconds> timeout;  // per shard query phase
  // Scroll / PIT: readers kept for this long after the phases (zero: a plain search).
  std::chrono::milliseconds keep_alive{0};
  bool scroll = false;                 // check the window as a scroll batch
  bool continuation = false;           // a scroll page after the first: no window check, no aggs
  int32_t total_shards_override = -1;  // scroll pages report the first page's shard count
};

struct SearchRun {
  Reply reply;
  // Per target: hits of the merged order taken from it (scroll positions), and its reader when
  // the query phase succeeded.
  std::vector<uint64_t> consumed;
  std::vector<std::string> readers;
};

// Runs query-then-fetch over `targets` (in request order) and builds the response body.
SearchRun QueryThenFetch(const std::vector<ShardTarget>& targets, const SearchPlan& plan,
                         Clock::time_point started) {
  SearchRun run;
  run.consumed.assign(targets.size(), 0);
  run.readers.assign(targets.size(), {});
  const bool keep_readers = plan.keep_alive.count() > 0;
  const bool wants_aggs =
      !plan.continuation && (plan.body.contains("aggs") || plan.body.contains("aggregations"));

  std::vector<ShardFailure> failures;
  std::vector<std::optional<data::QueryPhaseResult>> results(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    const ShardTarget& t = targets[i];
    auto fail = [&](Status status) {
      failures.push_back(ShardFailure{t.key, t.index_uuid, t.node, std::move(status)});
    };
    if (t.service == nullptr) {
      fail(t.unavailable);
      continue;
    }
    if (!plan.continuation) {
      Status window = CheckResultWindow(plan.from, plan.size, t.max_result_window, plan.scroll);
      if (!window.ok()) {
        fail(window);
        continue;
      }
    }
    data::QueryPhaseRequest request;
    request.body = plan.body;
    if (!t.alias_filters.empty()) {
      auto query = request.body.find("query");
      request.body["query"] =
          ApplyAliasFilters(query == request.body.end() ? json() : *query, t.alias_filters);
    }
    if (plan.continuation) {
      request.body.erase("aggs");
      request.body.erase("aggregations");
    }
    request.size = static_cast<size_t>(plan.from + plan.size);
    request.now_millis = plan.now_millis;
    request.reader_id = t.reader_id;
    request.keep_alive = plan.keep_alive;
    request.skip = t.skip;
    request.timeout = plan.timeout;
    Result<data::QueryPhaseResult> result = t.service->ExecuteQuery(t.key, request);
    if (!result.ok()) {
      fail(result.status());
      continue;
    }
    run.readers[i] = result->reader_id;
    results[i] = std::move(result).value();
  }

  const size_t successful = targets.size() - failures.size();
  auto release_all = [&] {
    if (keep_readers) return;
    for (size_t i = 0; i < targets.size(); ++i) {
      // A reader left behind is dropped by the shard after its default keep-alive; nothing
      // the client could do about a failed release, so it does not fail the search.
      if (!run.readers[i].empty())
        (void)targets[i].service->ReleaseReader(targets[i].key, run.readers[i]);
    }
  };
  // Malformed DSL is the request's fault, not a shard's: OpenSearch rejects it before the
  // query phase, at the top level. Shards that did parse it hold readers to release.
  for (const ShardFailure& f : failures) {
    if (IsParseFailure(f.status)) {
      release_all();
      run.reply = ErrorReply(f.status);
      return run;
    }
  }
  if (!targets.empty() && successful == 0) {
    run.reply = PhaseFailure(failures, "query", "all shards failed");
    return run;
  }
  if (!failures.empty() && !plan.allow_partial) {
    release_all();
    run.reply = PhaseFailure(failures, "query", "Partial shards failure");
    return run;
  }

  // Merge.
  std::vector<const std::vector<data::ShardHit>*> shard_hits(targets.size(), nullptr);
  std::vector<TotalHits> totals;
  std::vector<float> max_scores;
  std::vector<std::string> partial_aggs;
  bool terminated_early = false;
  bool timed_out = false;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!results[i]) continue;
    timed_out = timed_out || results[i]->timed_out;
    shard_hits[i] = &results[i]->hits;
    totals.push_back(TotalHits{results[i]->total_hits, results[i]->total_is_lower_bound});
    max_scores.push_back(results[i]->max_score);
    if (results[i]->aggregations) partial_aggs.push_back(*results[i]->aggregations);
    terminated_early = terminated_early || results[i]->terminated_early;
  }
  std::vector<MergedHit> all =
      MergeTopHits(shard_hits, plan.sort, 0, static_cast<size_t>(plan.from + plan.size));
  for (const MergedHit& m : all) ++run.consumed[m.shard];
  const size_t first = std::min(all.size(), static_cast<size_t>(plan.from));
  std::vector<MergedHit> window(all.begin() + first, all.end());

  // Fetch: each shard's hits of the window, in merged order.
  std::vector<std::vector<uint32_t>> docs(targets.size());
  std::vector<std::vector<size_t>> slots(targets.size());  // window index of each doc
  for (size_t w = 0; w < window.size(); ++w) {
    const MergedHit& m = window[w];
    docs[m.shard].push_back((*shard_hits[m.shard])[m.position].doc);
    slots[m.shard].push_back(w);
  }
  std::vector<const data::FetchedHit*> fetched(window.size(), nullptr);
  std::vector<data::FetchPhaseResult> fetch_results(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!results[i]) continue;
    if (docs[i].empty()) {
      if (!keep_readers) {
        // See release_all: a failed release only means the reader lives until it expires.
        (void)targets[i].service->ReleaseReader(targets[i].key, run.readers[i]);
      }
      continue;
    }
    data::FetchPhaseRequest request;
    request.reader_id = run.readers[i];
    request.docs = docs[i];
    request.body = plan.body;
    request.now_millis = plan.now_millis;
    request.release_reader = !keep_readers;
    Result<data::FetchPhaseResult> result =
        targets[i].service->ExecuteFetch(targets[i].key, request);
    if (!result.ok() || result->hits.size() != docs[i].size()) {
      Status status =
          result.ok() ? Status::Internal(fmt::format(
                            "fetch phase of {} returned {} hits for {} docs",
                            data::ShardName(targets[i].key), result->hits.size(), docs[i].size()))
                      : result.status();
      failures.push_back(
          ShardFailure{targets[i].key, targets[i].index_uuid, targets[i].node, status});
      continue;
    }
    fetch_results[i] = std::move(result).value();
    for (size_t k = 0; k < slots[i].size(); ++k) fetched[slots[i][k]] = &fetch_results[i].hits[k];
  }

  // Response.
  const bool explain = plan.body.value("explain", false) == true;
  const bool version = plan.body.value("version", false) == true;
  const bool seq_no = plan.body.value("seq_no_primary_term", false) == true;
  OrderedJson hits = OrderedJson::array();
  for (size_t w = 0; w < window.size(); ++w) {
    if (fetched[w] == nullptr) continue;  // its shard failed in the fetch phase
    const MergedHit& m = window[w];
    const ShardTarget& t = targets[m.shard];
    const data::ShardHit& shard_hit = (*shard_hits[m.shard])[m.position];
    const data::FetchedHit& doc = *fetched[w];
    OrderedJson hit = OrderedJson::object();
    if (explain) {
      hit["_shard"] = data::ShardName(t.key);
      hit["_node"] = t.node;
    }
    hit["_index"] = t.key.index;
    hit["_id"] = doc.id;
    if (version) hit["_version"] = doc.version;
    if (seq_no) {
      hit["_seq_no"] = doc.seq_no;
      hit["_primary_term"] = doc.primary_term;
    }
    hit["_score"] = FloatJson(shard_hit.score);
    if (doc.source) hit["_source"] = RawJson(*doc.source);
    if (!doc.fields.is_null()) hit["fields"] = ToOrdered(doc.fields);
    if (!doc.highlight.is_null()) hit["highlight"] = ToOrdered(doc.highlight);
    if (plan.has_sort) {
      OrderedJson sort_values = OrderedJson::array();
      for (const engine::SortValue& v : shard_hit.sort_values) {
        sort_values.push_back(ToOrdered(engine::SortValueToJson(v)));
      }
      hit["sort"] = std::move(sort_values);
    }
    if (explain && shard_hit.explanation) hit["_explanation"] = ToOrdered(*shard_hit.explanation);
    hits.push_back(std::move(hit));
  }

  OrderedJson hits_object = OrderedJson::object();
  TotalHits total = MergeTotalHits(totals, plan.track_total_hits);
  if (plan.total_as_int) {
    hits_object["total"] = plan.track_total_hits == 0 ? -1 : static_cast<int64_t>(total.value);
  } else if (plan.track_total_hits != 0) {
    hits_object["total"] = {{"value", total.value}, {"relation", total.lower_bound ? "gte" : "eq"}};
  }
  std::optional<float> max_score = MergeMaxScore(max_scores);
  hits_object["max_score"] = max_score ? OrderedJson(FloatJson(*max_score)) : OrderedJson();
  hits_object["hits"] = std::move(hits);

  OrderedJson body = OrderedJson::object();
  body["took"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  body["timed_out"] = timed_out;
  if (plan.body.contains("terminate_after") && plan.body["terminate_after"] != 0) {
    body["terminated_early"] = terminated_early;
  }
  size_t failed = failures.size();
  int64_t total_shards =
      plan.total_shards_override >= 0 ? plan.total_shards_override : targets.size();
  OrderedJson shards = {{"total", total_shards},
                        {"successful", total_shards - static_cast<int64_t>(failed)},
                        {"skipped", 0},
                        {"failed", failed}};
  if (!failures.empty()) {
    OrderedJson list = OrderedJson::array();
    for (const ShardFailure& f : failures) list.push_back(FailureJson(f));
    shards["failures"] = std::move(list);
  }
  body["_shards"] = std::move(shards);
  body["hits"] = std::move(hits_object);
  if (wants_aggs) {
    if (partial_aggs.empty()) {
      body["aggregations"] = OrderedJson::object();
    } else {
      Result<json> reduced = ReduceShardAggregations(partial_aggs, plan.aggs_render);
      if (!reduced.ok()) {
        run.reply = ErrorReply(reduced.status());
        return run;
      }
      body["aggregations"] = ToOrdered(*reduced);
    }
  }
  run.reply = Reply{200, std::move(body)};
  return run;
}

// --- the search service ------------------------------------------------------------------------

class SearchService {
 public:
  explicit SearchService(RestContext context) : context_(std::move(context)) {}

  HttpResponse Search(const HttpRequest& request, const PathParams& path) {
    Result<std::optional<json>> body = ParseJsonBody(request);
    if (!body.ok()) return ErrorResponse(body.status());
    json search = body->value_or(json::object());
    std::optional<std::string> index;
    if (auto it = path.find("index"); it != path.end()) index = it->second;
    Reply reply = RunSearch(request, std::move(search), index);
    return Respond(reply);
  }

  HttpResponse Count(const HttpRequest& request, const PathParams& path) {
    const Clock::time_point started = Clock::now();
    Result<std::optional<json>> parsed = ParseJsonBody(request);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    json body = parsed->value_or(json::object());
    for (const auto& [key, value] : body.items()) {
      if (key != "query") {
        return ErrorResponse(
            engine::QueryParsingError(fmt::format("request does not support [{}]", key)));
      }
    }
    json params_body = json::object();
    if (Status s = ApplySearchParams(request, &params_body); !s.ok()) return ErrorResponse(s);
    if (params_body.contains("query")) body["query"] = params_body["query"];
    if (params_body.contains("terminate_after")) {
      body["terminate_after"] = params_body["terminate_after"];
    }
    if (request.HasParam("min_score")) {
      try {
        body["min_score"] = std::stod(std::string(request.Param("min_score")));
      } catch (const std::exception&) {
        return ErrorResponse(engine::IllegalArgument(
            fmt::format("For input string: \"{}\"", request.Param("min_score"))));
      }
    }
    body["track_total_hits"] = true;
    std::optional<std::string> index;
    if (auto it = path.find("index"); it != path.end()) index = it->second;
    std::optional<std::string> routing;
    if (request.HasParam("routing")) routing = std::string(request.Param("routing"));
    Result<std::vector<ShardTarget>> targets = ResolveTargets(request, index, routing);
    if (!targets.ok()) return ErrorResponse(targets.status());

    SearchPlan plan;
    plan.body = std::move(body);
    plan.from = 0;
    plan.size = 0;
    plan.track_total_hits = engine::kTrackTotalHitsExact;
    plan.now_millis = NowMillis();
    SearchRun run = QueryThenFetch(*targets, plan, started);
    if (run.reply.status != 200) return Respond(run.reply);
    OrderedJson out = OrderedJson::object();
    out["count"] = run.reply.body["hits"]["total"]["value"];
    if (run.reply.body.contains("terminated_early")) {
      out["terminated_early"] = run.reply.body["terminated_early"];
    }
    out["_shards"] = run.reply.body["_shards"];
    return JsonResponse(200, out);
  }

  HttpResponse MultiSearch(const HttpRequest& request, const PathParams& path) {
    const Clock::time_point started = Clock::now();
    std::string_view text = request.body;
    if (!text.empty() && text.back() != '\n') {
      return ErrorResponse(
          engine::IllegalArgument("The msearch request must be terminated by a newline [\n]"));
    }
    std::vector<std::string_view> lines;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      lines.push_back(line);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    // Trailing empty lines are not pairs.
    while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string_view::npos) {
      lines.pop_back();
    }
    if (lines.empty()) {
      return ErrorResponse(ValidationError("no requests added"));
    }
    std::optional<std::string> default_index;
    if (auto it = path.find("index"); it != path.end()) default_index = it->second;

    OrderedJson responses = OrderedJson::array();
    for (size_t i = 0; i < lines.size(); i += 2) {
      json header = json::object();
      if (lines[i].find_first_not_of(" \t") != std::string_view::npos) {
        header = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
        if (header.is_discarded() || !header.is_object()) {
          return ErrorResponse(Status::InvalidArgument(fmt::format(
              "x_content_parse_exception: [1:1] msearch header line {} is not a JSON object",
              i + 1)));
        }
      }
      if (i + 1 >= lines.size()) {
        return ErrorResponse(ValidationError("no requests added"));
      }
      json body = json::object();
      if (lines[i + 1].find_first_not_of(" \t") != std::string_view::npos) {
        body = json::parse(lines[i + 1], nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded() || !body.is_object()) {
          return ErrorResponse(Status::InvalidArgument(fmt::format(
              "x_content_parse_exception: [1:1] msearch body line {} is not a JSON object",
              i + 2)));
        }
      }
      // The header's index and request options act like the URI of a single search.
      // Method, parameters and headers of the request, without its (whole NDJSON) body.
      HttpRequest item;
      item.method = request.method;
      item.method_name = request.method_name;
      item.uri = request.uri;
      item.path = request.path;
      item.path_segments = request.path_segments;
      item.params = request.params;
      item.headers = request.headers;
      std::optional<std::string> index = default_index;
      for (const auto& [key, value] : header.items()) {
        // The keys OpenSearch's MultiSearchRequest reads (its camelCase spellings are not
        // taken); each other than the index acts as that search's URI parameter.
        static const std::set<std::string, std::less<>> kHeaderKeys = {
            "allow_no_indices",
            "allow_partial_search_results",
            "expand_wildcards",
            "ignore_unavailable",
            "index",
            "indices",
            "preference",
            "request_cache",
            "routing",
            "search_type"};
        if (!kHeaderKeys.contains(key)) {
          return ErrorResponse(engine::IllegalArgument("key [" + key +
                                                       "] is not supported in the metadata "
                                                       "section"));
        }
        if (key == "index" || key == "indices") {
          if (value.is_string()) {
            index = value.get<std::string>();
          } else if (value.is_array()) {
            std::string joined;
            for (const json& v : value) {
              if (!v.is_string()) continue;
              if (!joined.empty()) joined += ',';
              joined += v.get<std::string>();
            }
            index = joined;
          }
        } else if (value.is_string()) {
          item.params[key] = value.get<std::string>();
        } else if (value.is_boolean() || value.is_number()) {
          item.params[key] = value.dump();
        }
      }
      Reply reply = RunSearch(item, std::move(body), index);
      OrderedJson entry = std::move(reply.body);
      entry["status"] = reply.status;
      responses.push_back(std::move(entry));
    }
    OrderedJson out = OrderedJson::object();
    out["took"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    out["responses"] = std::move(responses);
    return JsonResponse(200, out);
  }

  HttpResponse Scroll(const HttpRequest& request, const PathParams& path) {
    const Clock::time_point started = Clock::now();
    Result<std::optional<json>> parsed = ParseJsonBody(request);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    json body = parsed->value_or(json::object());
    std::string scroll_id;
    std::optional<std::string> keep_alive_text;
    if (auto it = body.find("scroll_id"); it != body.end() && it->is_string()) {
      scroll_id = it->get<std::string>();
    }
    if (auto it = body.find("scroll"); it != body.end() && it->is_string()) {
      keep_alive_text = it->get<std::string>();
    }
    if (auto it = path.find("scroll_id"); it != path.end()) scroll_id = it->second;
    if (request.HasParam("scroll_id")) scroll_id = std::string(request.Param("scroll_id"));
    if (request.HasParam("scroll")) keep_alive_text = std::string(request.Param("scroll"));
    if (scroll_id.empty()) return ErrorResponse(ValidationError("scrollId is missing"));
    Result<ScrollId> id = DecodeScrollId(scroll_id);
    if (!id.ok()) return ErrorResponse(id.status());
    if (keep_alive_text) {
      Result<std::optional<std::chrono::milliseconds>> keep_alive =
          ParseTimeValue(*keep_alive_text, "scroll");
      if (!keep_alive.ok()) return ErrorResponse(keep_alive.status());
      if (*keep_alive) id->keep_alive_ms = (*keep_alive)->count();
    }
    Result<bool> as_int = BoolParam(request, "rest_total_hits_as_int", false);
    if (!as_int.ok()) return ErrorResponse(as_int.status());

    std::vector<ShardTarget> targets;
    for (const ReaderRef& reader : id->readers) targets.push_back(ReaderTarget(context_, reader));
    Result<SearchPlan> base = PlanFromBody(request, id->body, /*continuation=*/true);
    if (!base.ok()) return ErrorResponse(base.status());
    SearchPlan plan = std::move(base).value();
    plan.from = 0;
    plan.total_as_int = *as_int;
    plan.now_millis = id->now_millis;
    plan.keep_alive = std::chrono::milliseconds(std::max<int64_t>(id->keep_alive_ms, 1));
    plan.scroll = true;
    plan.continuation = true;
    plan.total_shards_override = id->total_shards;
    SearchRun run = QueryThenFetch(targets, plan, started);
    if (run.reply.status != 200) return Respond(run.reply);
    for (size_t i = 0; i < targets.size(); ++i) id->readers[i].position += run.consumed[i];
    TouchScroll(*id);
    OrderedJson out = OrderedJson::object();
    out["_scroll_id"] = EncodeScrollId(*id);
    for (auto& [key, value] : run.reply.body.items()) out[key] = value;
    return Respond(Reply{200, std::move(out)});
  }

  HttpResponse ClearScroll(const HttpRequest& request, const PathParams& path) {
    Result<std::optional<json>> parsed = ParseJsonBody(request);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    std::vector<std::string> ids;
    if (*parsed) {
      auto it = (*parsed)->find("scroll_id");
      if (it != (*parsed)->end()) {
        if (it->is_string()) {
          ids.push_back(it->get<std::string>());
        } else if (it->is_array()) {
          for (const json& v : *it) {
            if (v.is_string()) ids.push_back(v.get<std::string>());
          }
        }
      }
    }
    if (auto it = path.find("scroll_id"); it != path.end()) {
      for (std::string& id : SplitComma(it->second)) ids.push_back(std::move(id));
    }
    if (request.HasParam("scroll_id")) {
      for (std::string& id : SplitComma(request.Param("scroll_id"))) ids.push_back(std::move(id));
    }
    if (ids.empty()) return ErrorResponse(ValidationError("no scroll ids specified"));
    std::vector<ReaderRef> readers;
    bool all = false;
    for (const std::string& text : ids) {
      if (text == "_all") {
        all = true;
        continue;
      }
      Result<ScrollId> id = DecodeScrollId(text);
      if (!id.ok()) return ErrorResponse(id.status());
      ForgetScroll(id->context);
      readers.insert(readers.end(), id->readers.begin(), id->readers.end());
    }
    if (all) {
      std::lock_guard lock(mu_);
      for (auto& [context, entry] : scrolls_) {
        readers.insert(readers.end(), entry.readers.begin(), entry.readers.end());
      }
      scrolls_.clear();
    }
    int64_t freed = ReleaseReaders(readers);
    return JsonResponse(freed == 0 ? 404 : 200,
                        OrderedJson{{"succeeded", true}, {"num_freed", freed}});
  }

  HttpResponse CreatePit(const HttpRequest& request, const PathParams& path) {
    if (!request.HasParam("keep_alive")) {
      return ErrorResponse(ValidationError("keep alive not specified"));
    }
    Result<std::optional<std::chrono::milliseconds>> keep_alive =
        ParseTimeValue(request.Param("keep_alive"), "keep_alive");
    if (!keep_alive.ok()) return ErrorResponse(keep_alive.status());
    if (!*keep_alive || (*keep_alive)->count() <= 0) {
      return ErrorResponse(ValidationError("keep alive not specified"));
    }
    Result<std::vector<ShardTarget>> targets = ResolveTargets(request, path.at("index"), {});
    if (!targets.ok()) return ErrorResponse(targets.status());
    PitId pit;
    pit.creation_time = NowMillis();
    pit.keep_alive_ms = (*keep_alive)->count();
    pit.total_shards = static_cast<int32_t>(targets->size());
    std::vector<ShardFailure> failures;
    for (const ShardTarget& t : *targets) {
      Status status = t.unavailable;
      if (t.service != nullptr) {
        data::QueryPhaseRequest open;
        open.body =
            json{{"query", json{{"match_all", json::object()}}}, {"track_total_hits", false}};
        open.size = 0;
        open.now_millis = pit.creation_time;
        open.keep_alive = **keep_alive;
        Result<data::QueryPhaseResult> result = t.service->ExecuteQuery(t.key, open);
        if (result.ok()) {
          pit.readers.push_back(
              ReaderRef{t.node, t.key.index, t.key.shard, result->reader_id, 0, t.alias_filters});
          continue;
        }
        status = result.status();
      }
      failures.push_back(ShardFailure{t.key, t.index_uuid, t.node, status});
    }
    // A PIT must see every shard: OpenSearch fails its creation on any shard failure (unless
    // allow_partial_pit_creation, which we do not offer).
    if (!failures.empty()) {
      (void)ReleaseReaders(pit.readers);
      return Respond(PhaseFailure(failures, "create_pit", "all shards failed"));
    }
    std::string encoded = EncodePitId(pit);
    {
      std::lock_guard lock(mu_);
      PrunePitsLocked();  // PITs left to expire would otherwise stay listed forever
      pits_[encoded] = PitEntry{pit, Clock::now() + **keep_alive};
    }
    OrderedJson out = {{"pit_id", encoded},
                       {"_shards",
                        {{"total", pit.total_shards},
                         {"successful", pit.total_shards},
                         {"skipped", 0},
                         {"failed", 0}}},
                       {"creation_time", pit.creation_time}};
    return JsonResponse(200, out);
  }

  HttpResponse DeletePits(const HttpRequest& request, bool all) {
    std::vector<std::string> ids;
    if (all) {
      std::lock_guard lock(mu_);
      for (const auto& [id, entry] : pits_) ids.push_back(id);
    } else {
      Result<std::optional<json>> parsed = ParseJsonBody(request);
      if (!parsed.ok()) return ErrorResponse(parsed.status());
      if (*parsed) {
        auto it = (*parsed)->find("pit_id");
        if (it != (*parsed)->end() && it->is_string()) ids.push_back(it->get<std::string>());
        if (it != (*parsed)->end() && it->is_array()) {
          for (const json& v : *it) {
            if (v.is_string()) ids.push_back(v.get<std::string>());
          }
        }
      }
      if (ids.empty()) return ErrorResponse(ValidationError("no pit ids specified"));
    }
    OrderedJson pits = OrderedJson::array();
    for (const std::string& text : ids) {
      Result<PitId> pit = DecodePitId(text);
      if (!pit.ok()) return ErrorResponse(pit.status());
      {
        std::lock_guard lock(mu_);
        pits_.erase(text);
      }
      int64_t freed = ReleaseReaders(pit->readers);
      pits.push_back(OrderedJson{
          {"successful", freed == static_cast<int64_t>(pit->readers.size()) && freed > 0},
          {"pit_id", text}});
    }
    return JsonResponse(200, OrderedJson{{"pits", std::move(pits)}});
  }

  HttpResponse ListPits() {
    OrderedJson pits = OrderedJson::array();
    std::lock_guard lock(mu_);
    PrunePitsLocked();
    for (const auto& [id, entry] : pits_) {
      pits.push_back(OrderedJson{{"pit_id", id},
                                 {"creation_time", entry.pit.creation_time},
                                 {"keep_alive", entry.pit.keep_alive_ms}});
    }
    return JsonResponse(200, OrderedJson{{"pits", std::move(pits)}});
  }

 private:
  struct ScrollEntry {
    std::vector<ReaderRef> readers;
    Clock::time_point expires;
  };
  struct PitEntry {
    PitId pit;
    Clock::time_point expires;
  };

  static HttpResponse Respond(const Reply& reply) { return JsonResponse(reply.status, reply.body); }

  // The shards of the indices `expression` names (every index when nullopt), in the order
  // OpenSearch numbers them for merging: by index name, then shard.
  Result<std::vector<ShardTarget>> ResolveTargets(const HttpRequest& request,
                                                  const std::optional<std::string>& expression,
                                                  const std::optional<std::string>& routing) {
    QD_ASSIGN_OR_RETURN(IndicesOptions options, IndicesOptionsOf(request, IndicesOptions{}));
    QD_ASSIGN_OR_RETURN(cluster::StatePtr state,
                        ReadClusterState(context_, SplitComma(expression.value_or(""))));
    QD_ASSIGN_OR_RETURN(std::vector<ResolvedIndex> resolved,
                        ResolveIndicesWithFilters(*state, expression.value_or(""), options));
    std::vector<ShardTarget> targets;
    for (const ResolvedIndex& one : resolved) {
      const cluster::Index* index = state->FindIndex(one.name);
      if (index == nullptr) return IndexNotFoundError(one.name);
      const int32_t shards = static_cast<int32_t>(index->routing.shards.size());
      // The routing values: the request's, those of the aliases the index was reached through
      // (search_routing), or, with both, the ones in both (OpenSearch's resolveSearchRouting).
      std::optional<std::set<std::string>> values;
      if (routing) {
        std::vector<std::string> given = SplitComma(*routing);
        values.emplace(given.begin(), given.end());
      }
      if (!one.search_routing.empty()) {
        std::set<std::string> alias(one.search_routing.begin(), one.search_routing.end());
        if (values) {
          std::set<std::string> both;
          std::set_intersection(values->begin(), values->end(), alias.begin(), alias.end(),
                                std::inserter(both, both.begin()));
          values = std::move(both);
        } else {
          values = std::move(alias);
        }
      }
      std::vector<int32_t> chosen;
      if (values) {
        std::set<int32_t> unique;
        for (const std::string& value : *values) unique.insert(ShardForRouting(value, shards));
        chosen.assign(unique.begin(), unique.end());
      } else {
        for (int32_t s = 0; s < shards; ++s) chosen.push_back(s);
      }
      for (int32_t s : chosen) {
        targets.push_back(MakeTarget(context_, *index, s));
        targets.back().alias_filters = one.filters;
      }
    }
    return targets;
  }

  // The plan of a search body (after URI parameters were folded in).
  // `continuation`: the stored body of a scroll, whose track_total_hits is always explicit.
  Result<SearchPlan> PlanFromBody(const HttpRequest& request, json body, bool continuation) {
    QD_RETURN_IF_ERROR(ValidateBodyKeys(body));
    SearchPlan plan;
    QD_ASSIGN_OR_RETURN(plan.from, NonNegativeInt(body, "from", 0));
    QD_ASSIGN_OR_RETURN(plan.size, NonNegativeInt(body, "size", 10));
    QD_RETURN_IF_ERROR(NonNegativeInt(body, "terminate_after", 0).status());
    if (auto it = body.find("timeout"); it != body.end() && !it->is_null()) {
      if (!it->is_string()) {
        return engine::QueryParsingError("[timeout] must be a time value string");
      }
      QD_ASSIGN_OR_RETURN(plan.timeout, ParseTimeValue(it->get<std::string>(), "timeout"));
    }
    QD_ASSIGN_OR_RETURN(bool as_int, BoolParam(request, "rest_total_hits_as_int", false));
    plan.total_as_int = as_int;
    QD_ASSIGN_OR_RETURN(plan.aggs_render.typed_keys, BoolParam(request, "typed_keys", false));
    json track = body.contains("track_total_hits") ? body["track_total_hits"] : json();
    QD_ASSIGN_OR_RETURN(plan.track_total_hits, ParseTrackTotalHits(track));
    if (as_int && track.is_null()) plan.track_total_hits = engine::kTrackTotalHitsExact;
    if (as_int && !continuation && plan.track_total_hits != 0 &&
        plan.track_total_hits != engine::kTrackTotalHitsExact) {
      return ValidationError(
          "[rest_total_hits_as_int] cannot be used if the tracking of total hits is not "
          "accurate, got " +
          std::to_string(plan.track_total_hits));
    }
    // The shards read track_total_hits as the engine takes it: true, false or a number.
    if (plan.track_total_hits == engine::kTrackTotalHitsExact) {
      body["track_total_hits"] = true;
    } else {
      body["track_total_hits"] = plan.track_total_hits;
    }
    if (auto it = body.find("sort"); it != body.end() && !it->is_null()) {
      QD_ASSIGN_OR_RETURN(plan.sort, ParseSortOrder(*it));
      plan.has_sort = !plan.sort.empty();
    }
    if (body.contains("search_after") && plan.from > 0) {
      return ValidationError("[from] parameter must be set to 0 when [search_after] is used");
    }
    QD_ASSIGN_OR_RETURN(plan.allow_partial,
                        BoolParam(request, "allow_partial_search_results", true));
    // What the shards need: the coordinator owns from/size and the PIT.
    body.erase("from");
    body.erase("size");
    body.erase("pit");
    plan.body = std::move(body);
    return plan;
  }

  Reply RunSearch(const HttpRequest& request, json body, std::optional<std::string> index) {
    const Clock::time_point started = Clock::now();
    if (Status s = ApplySearchParams(request, &body); !s.ok()) return ErrorReply(s);
    std::optional<std::chrono::milliseconds> scroll;
    if (request.HasParam("scroll")) {
      Result<std::optional<std::chrono::milliseconds>> parsed =
          ParseTimeValue(request.Param("scroll"), "scroll");
      if (!parsed.ok()) return ErrorReply(parsed.status());
      scroll = parsed->value_or(std::chrono::milliseconds(0));
    }
    std::optional<json> pit;
    if (auto it = body.find("pit"); it != body.end() && !it->is_null()) pit = *it;
    Result<SearchPlan> planned = PlanFromBody(request, body, /*continuation=*/false);
    if (!planned.ok()) return ErrorReply(planned.status());
    SearchPlan plan = std::move(planned).value();
    plan.now_millis = NowMillis();

    std::vector<ShardTarget> targets;
    std::optional<std::string> pit_text;
    if (pit) {
      if (index && !index->empty()) {
        return ErrorReply(ValidationError(
            "[indices] cannot be used with point in time. Do not specify any index with point "
            "in time."));
      }
      if (scroll) {
        return ErrorReply(
            ValidationError("using [point in time] is not allowed in a scroll "
                            "context"));
      }
      if (!pit->is_object() || !pit->contains("id") || !(*pit)["id"].is_string()) {
        return ErrorReply(engine::QueryParsingError("[pit] requires an [id]"));
      }
      pit_text = (*pit)["id"].get<std::string>();
      Result<PitId> id = DecodePitId(*pit_text);
      if (!id.ok()) return ErrorReply(id.status());
      int64_t keep_alive_ms = id->keep_alive_ms;
      if (auto it = pit->find("keep_alive"); it != pit->end() && it->is_string()) {
        Result<std::optional<std::chrono::milliseconds>> parsed =
            ParseTimeValue(it->get<std::string>(), "keep_alive");
        if (!parsed.ok()) return ErrorReply(parsed.status());
        if (*parsed) keep_alive_ms = (*parsed)->count();
      }
      plan.keep_alive = std::chrono::milliseconds(std::max<int64_t>(keep_alive_ms, 1));
      for (const ReaderRef& reader : id->readers) {
        ShardTarget target = ReaderTarget(context_, reader);
        target.skip = 0;
        targets.push_back(std::move(target));
      }
      plan.total_shards_override = id->total_shards;
      TouchPit(*pit_text, plan.keep_alive);
    } else {
      std::optional<std::string> routing;
      if (request.HasParam("routing")) routing = std::string(request.Param("routing"));
      Result<std::vector<ShardTarget>> resolved = ResolveTargets(request, index, routing);
      if (!resolved.ok()) return ErrorReply(resolved.status());
      targets = std::move(resolved).value();
    }
    if (scroll) {
      if (plan.from > 0) {
        return ErrorReply(ValidationError("using [from] is not allowed in a scroll context"));
      }
      if (plan.size == 0) {
        return ErrorReply(ValidationError("[size] cannot be [0] in a scroll context"));
      }
      plan.keep_alive = std::max(*scroll, std::chrono::milliseconds(1));
      plan.scroll = true;
    }

    SearchRun run = QueryThenFetch(targets, plan, started);
    if (run.reply.status != 200) return run.reply;
    if (!scroll && !pit_text) return run.reply;

    OrderedJson out = OrderedJson::object();
    if (scroll) {
      ScrollId id;
      id.now_millis = plan.now_millis;
      id.total_shards = static_cast<int32_t>(targets.size());
      id.keep_alive_ms = plan.keep_alive.count();
      id.body = plan.body;
      id.body.erase("aggs");
      id.body.erase("aggregations");
      id.body["size"] = plan.size;
      for (size_t i = 0; i < targets.size(); ++i) {
        if (run.readers[i].empty()) continue;
        id.readers.push_back(ReaderRef{targets[i].node, targets[i].key.index, targets[i].key.shard,
                                       run.readers[i], run.consumed[i], targets[i].alias_filters});
      }
      id.context = RememberScroll(id);
      out["_scroll_id"] = EncodeScrollId(id);
    } else {
      out["pit_id"] = *pit_text;
    }
    for (auto& [key, value] : run.reply.body.items()) out[key] = value;
    return Reply{200, std::move(out)};
  }

  uint64_t RememberScroll(const ScrollId& id) {
    std::lock_guard lock(mu_);
    PruneScrollsLocked();
    uint64_t context = next_scroll_++;
    scrolls_[context] =
        ScrollEntry{id.readers, Clock::now() + std::chrono::milliseconds(id.keep_alive_ms)};
    return context;
  }

  void TouchScroll(const ScrollId& id) {
    std::lock_guard lock(mu_);
    auto it = scrolls_.find(id.context);
    if (it != scrolls_.end()) {
      it->second.expires = Clock::now() + std::chrono::milliseconds(id.keep_alive_ms);
    }
  }

  void ForgetScroll(uint64_t context) {
    std::lock_guard lock(mu_);
    scrolls_.erase(context);
  }

  void TouchPit(const std::string& id, std::chrono::milliseconds keep_alive) {
    std::lock_guard lock(mu_);
    auto it = pits_.find(id);
    if (it != pits_.end()) it->second.expires = Clock::now() + keep_alive;
  }

  // Drops scrolls whose readers the shards have released by now. REQUIRES: mu_ held.
  void PrunePitsLocked() {
    const Clock::time_point now = Clock::now();
    std::erase_if(pits_, [&](const auto& entry) { return entry.second.expires <= now; });
  }

  void PruneScrollsLocked() {
    const Clock::time_point now = Clock::now();
    for (auto it = scrolls_.begin(); it != scrolls_.end();) {
      it = it->second.expires <= now ? scrolls_.erase(it) : std::next(it);
    }
  }

  // Releases `readers`; returns how many were still open.
  int64_t ReleaseReaders(const std::vector<ReaderRef>& readers) {
    int64_t freed = 0;
    for (const ReaderRef& reader : readers) {
      data::ShardService* service =
          context_.shard_service ? context_.shard_service(reader.node) : nullptr;
      if (service == nullptr) continue;
      if (service->ReleaseReader(data::ShardKey{reader.index, reader.shard}, reader.reader_id)
              .ok()) {
        ++freed;
      }
    }
    return freed;
  }

  const RestContext context_;
  std::mutex mu_;
  uint64_t next_scroll_ = 1;                 // GUARDED_BY(mu_)
  std::map<uint64_t, ScrollEntry> scrolls_;  // GUARDED_BY(mu_)
  std::map<std::string, PitEntry> pits_;     // GUARDED_BY(mu_)
};

}  // namespace

Status RegisterSearchHandlers(const RestContext& context, Router* router) {
  auto service = std::make_shared<SearchService>(context);
  const auto get_post = {HttpMethod::kGet, HttpMethod::kPost};
  auto search = [service](const HttpRequest& r, const PathParams& p) {
    return service->Search(r, p);
  };
  auto count = [service](const HttpRequest& r, const PathParams& p) {
    return service->Count(r, p);
  };
  auto msearch = [service](const HttpRequest& r, const PathParams& p) {
    return service->MultiSearch(r, p);
  };
  auto scroll = [service](const HttpRequest& r, const PathParams& p) {
    return service->Scroll(r, p);
  };
  auto clear_scroll = [service](const HttpRequest& r, const PathParams& p) {
    return service->ClearScroll(r, p);
  };
  // The `q` companions, and what _count and _search both take.
  const RouteParams query_string = {"analyze_wildcard", "analyzer", "default_operator", "df",
                                    "lenient",          "q"};
  // Accepted without effect (docs/api.md): preference, request_cache, search_type and the
  // concurrency knobs.
  const RouteParams search_params = Params({query_string,
                                            kIndexOptionParams,
                                            {"_source",
                                             "_source_excludes",
                                             "_source_includes",
                                             "allow_partial_search_results",
                                             "batched_reduce_size",
                                             "ccs_minimize_roundtrips",
                                             "docvalue_fields",
                                             "explain",
                                             "from",
                                             "max_concurrent_shard_requests",
                                             "pre_filter_shard_size",
                                             "preference",
                                             "request_cache",
                                             "rest_total_hits_as_int",
                                             "routing",
                                             "scroll",
                                             "search_type",
                                             "seq_no_primary_term",
                                             "size",
                                             "sort",
                                             "stored_fields",
                                             "terminate_after",
                                             "timeout",
                                             "track_scores",
                                             "track_total_hits",
                                             "typed_keys",
                                             "version"}});
  const RouteParams count_params =
      Params({query_string,
              kIndexOptionParams,
              {"min_score", "preference", "routing", "terminate_after"}});
  const RouteParams msearch_params = Params({search_params, {"max_concurrent_searches"}});
  QD_RETURN_IF_ERROR(router->Register(get_post, "/_search", search, search_params));
  QD_RETURN_IF_ERROR(router->Register(get_post, "/{index}/_search", search, search_params));
  QD_RETURN_IF_ERROR(router->Register(get_post, "/_count", count, count_params));
  QD_RETURN_IF_ERROR(router->Register(get_post, "/{index}/_count", count, count_params));
  QD_RETURN_IF_ERROR(router->Register(get_post, "/_msearch", msearch, msearch_params));
  QD_RETURN_IF_ERROR(router->Register(get_post, "/{index}/_msearch", msearch, msearch_params));
  // typed_keys: as OpenSearch's scroll action (a page after the first has no aggregations).
  const RouteParams scroll_params = {"rest_total_hits_as_int", "scroll", "scroll_id", "typed_keys"};
  QD_RETURN_IF_ERROR(router->Register(get_post, "/_search/scroll", scroll, scroll_params));
  QD_RETURN_IF_ERROR(
      router->Register(get_post, "/_search/scroll/{scroll_id}", scroll, scroll_params));
  QD_RETURN_IF_ERROR(
      router->Register(HttpMethod::kDelete, "/_search/scroll", clear_scroll, {"scroll_id"}));
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kDelete, "/_search/scroll/{scroll_id}",
                                      clear_scroll, {"scroll_id"}));
  QD_RETURN_IF_ERROR(router->Register(
      HttpMethod::kPost, "/{index}/_search/point_in_time",
      [service](const HttpRequest& r, const PathParams& p) { return service->CreatePit(r, p); },
      Params({kIndexOptionParams, {"keep_alive", "preference"}})));
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kDelete, "/_search/point_in_time",
                                      [service](const HttpRequest& r, const PathParams&) {
                                        return service->DeletePits(r, false);
                                      }));
  QD_RETURN_IF_ERROR(router->Register(
      HttpMethod::kDelete, "/_search/point_in_time/_all",
      [service](const HttpRequest& r, const PathParams&) { return service->DeletePits(r, true); }));
  QD_RETURN_IF_ERROR(router->Register(
      HttpMethod::kGet, "/_search/point_in_time/_all",
      [service](const HttpRequest&, const PathParams&) { return service->ListPits(); }));
  return Status::OK();
}

}  // namespace quidditch::rest
