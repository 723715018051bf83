#include "data/local_shard_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "data/analyze.h"
#include "data/fetch_phase.h"
#include "engine/aggs/aggregations.h"
#include "engine/aggs/search_matcher.h"
#include "engine/errors.h"
#include "engine/search/searcher.h"

namespace quidditch::data {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string RandomPrefix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

Status SearchContextMissing(const std::string& id) {
  return Status::NotFound(
      fmt::format("search_context_missing_exception: No search context found for id [{}]", id));
}

const json* Find(const json& body, const char* key) {
  if (!body.is_object()) return nullptr;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

// track_total_hits: true, false, or a count (default 10000).
Result<uint64_t> TrackTotalHits(const json& body) {
  const json* v = Find(body, "track_total_hits");
  if (v == nullptr) return uint64_t{10000};
  if (v->is_boolean()) return v->get<bool>() ? engine::kTrackTotalHitsExact : uint64_t{0};
  if (v->is_number_integer()) {
    int64_t n = v->get<int64_t>();
    if (n < 0) {
      return engine::IllegalArgument(
          fmt::format("[track_total_hits] parameter must be positive or equals to -1, got {}", n));
    }
    return static_cast<uint64_t>(n);
  }
  return engine::QueryParsingError("[track_total_hits] must be a boolean or an integer");
}

// Passes the first `limit` matches (in doc order) to `inner`: the aggregations' side of
// terminate_after when a post_filter makes them run apart from the hits.
class LimitCollector : public engine::MatchCollector {
 public:
  LimitCollector(uint64_t limit, engine::MatchCollector* inner) : limit_(limit), inner_(inner) {}
  void SetLeaf(size_t leaf_index, const engine::Leaf& leaf) override {
    if (count_ < limit_) inner_->SetLeaf(leaf_index, leaf);
  }
  void Collect(uint32_t doc, float score) override {
    if (count_ >= limit_) return;
    ++count_;
    inner_->Collect(doc, score);
  }
  bool needs_scores() const override { return inner_->needs_scores(); }

 private:
  const uint64_t limit_;
  engine::MatchCollector* const inner_;
  uint64_t count_ = 0;
};

// The leaf holding snapshot-wide doc `doc`, or nullptr.
const engine::Leaf* LeafOf(const std::vector<engine::Leaf>& leaves, uint32_t doc) {
  auto it = std::upper_bound(leaves.begin(), leaves.end(), doc,
                             [](uint32_t d, const engine::Leaf& l) { return d < l.doc_base; });
  if (it == leaves.begin()) return nullptr;
  --it;
  if (doc - it->doc_base >= it->reader->max_doc()) return nullptr;
  return &*it;
}

// Counts one phase in `total`, `time_ms` and (while it runs) `current`.
class PhaseTimer {
 public:
  PhaseTimer(std::atomic<int64_t>* total, std::atomic<int64_t>* time_ms,
             std::atomic<int64_t>* current)
      : total_(total), time_ms_(time_ms), current_(current), start_(Clock::now()) {
    current_->fetch_add(1, std::memory_order_relaxed);
  }
  ~PhaseTimer() {
    current_->fetch_sub(1, std::memory_order_relaxed);
    total_->fetch_add(1, std::memory_order_relaxed);
    time_ms_->fetch_add(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count(),
        std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t>* total_;
  std::atomic<int64_t>* time_ms_;
  std::atomic<int64_t>* current_;
  Clock::time_point start_;
};

}  // namespace

LocalShardService::LocalShardService(IndicesService* indices)
    : indices_(indices), reader_prefix_(RandomPrefix()) {}

LocalShardService::~LocalShardService() = default;

// --- readers -----------------------------------------------------------------------------------

size_t LocalShardService::open_readers() const {
  std::lock_guard<std::mutex> lock(readers_mu_);
  const_cast<LocalShardService*>(this)->ReapLocked(Clock::now());
  return readers_.size();
}

void LocalShardService::ReapLocked(Clock::time_point now) {
  if (now < next_reap_) return;
  next_reap_ = now + std::chrono::milliseconds(200);
  for (auto it = readers_.begin(); it != readers_.end();) {
    if (it->second->expires <= now) {
      it = readers_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string LocalShardService::AddReader(std::shared_ptr<Reader> reader) {
  std::lock_guard<std::mutex> lock(readers_mu_);
  const Clock::time_point now = Clock::now();
  ReapLocked(now);
  std::string id = fmt::format("{}-{}", reader_prefix_, next_reader_++);
  reader->expires = now + (reader->keep_alive.count() > 0 ? reader->keep_alive : kDefaultKeepAlive);
  readers_.emplace(id, std::move(reader));
  return id;
}

Result<std::shared_ptr<LocalShardService::Reader>> LocalShardService::FindReader(
    const ShardKey& shard, const std::string& id, std::chrono::milliseconds keep_alive) {
  std::lock_guard<std::mutex> lock(readers_mu_);
  const Clock::time_point now = Clock::now();
  next_reap_ = Clock::time_point{};  // an expired reader must not be found
  ReapLocked(now);
  auto it = readers_.find(id);
  if (it == readers_.end() || it->second->shard != shard) return SearchContextMissing(id);
  if (keep_alive.count() > 0) {
    it->second->keep_alive = keep_alive;
    it->second->expires = now + keep_alive;
  }
  return it->second;
}

Status LocalShardService::ReleaseReader(const ShardKey& shard, const std::string& reader_id) {
  std::lock_guard<std::mutex> lock(readers_mu_);
  ReapLocked(Clock::now());
  auto it = readers_.find(reader_id);
  if (it == readers_.end() || it->second->shard != shard) return SearchContextMissing(reader_id);
  readers_.erase(it);
  return Status::OK();
}

// --- query phase -------------------------------------------------------------------------------

Result<QueryPhaseResult> LocalShardService::ExecuteQuery(const ShardKey& key,
                                                         const QueryPhaseRequest& request) {
  std::shared_ptr<Reader> reader;
  if (request.reader_id.empty()) {
    QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
    reader = std::make_shared<Reader>();
    reader->shard = key;
    reader->snapshot = shard->engine().AcquireSnapshot();
    reader->index_shard = std::move(shard);
    reader->keep_alive = request.keep_alive;
  } else {
    QD_ASSIGN_OR_RETURN(reader, FindReader(key, request.reader_id, request.keep_alive));
  }
  IndexShard::SearchCounters& counters = reader->index_shard->search_counters();
  PhaseTimer timer(&counters.query_total, &counters.query_time_ms, &counters.query_current);
  if (!request.reader_id.empty()) counters.scroll_total.fetch_add(1, std::memory_order_relaxed);
  const engine::EngineSnapshot& snap = *reader->snapshot;
  engine::SearchContext ctx{&snap.leaves, &snap.mapping, &reader->index_shard->engine().analysis(),
                            request.now_millis};
  engine::SearchDeadline deadline;
  if (request.timeout) {
    deadline.at = std::chrono::steady_clock::now() + *request.timeout;
    ctx.deadline = &deadline;
  }
  const json& body = request.body;

  const json match_all = {{"match_all", json::object()}};
  const json* query_dsl = Find(body, "query");
  if (query_dsl == nullptr) query_dsl = &match_all;
  QD_ASSIGN_OR_RETURN(std::unique_ptr<engine::Query> query, engine::ParseQuery(*query_dsl, ctx));
  // post_filter narrows the hits but not the aggregations: the hits run the conjunction.
  std::unique_ptr<engine::Query> hits_query;
  if (const json* post_filter = Find(body, "post_filter")) {
    json combined = {{"bool", {{"must", *query_dsl}, {"filter", *post_filter}}}};
    QD_ASSIGN_OR_RETURN(hits_query, engine::ParseQuery(combined, ctx));
  }
  const engine::Query& hits_q = hits_query ? *hits_query : *query;

  engine::SearchRequest search;
  search.query = &hits_q;
  search.from = request.skip;
  search.size = request.size;
  if (const json* sort = Find(body, "sort")) {
    QD_ASSIGN_OR_RETURN(search.sort, engine::ParseSort(*sort, ctx));
  }
  if (const json* after = Find(body, "search_after")) {
    if (search.sort.empty()) search.sort.push_back(engine::SortField{"_score", true, false});
    QD_ASSIGN_OR_RETURN(search.search_after, engine::ParseSearchAfter(*after, search.sort, ctx));
  }
  QD_ASSIGN_OR_RETURN(search.track_total_hits, TrackTotalHits(body));
  if (const json* min_score = Find(body, "min_score")) {
    if (!min_score->is_number()) return engine::QueryParsingError("[min_score] must be a number");
    search.min_score = min_score->get<float>();
  }
  if (const json* explain = Find(body, "explain"))
    search.explain = explain->is_boolean() && explain->get<bool>();

  std::unique_ptr<engine::AggregationsCollector> aggs;
  const json* aggs_spec = Find(body, "aggs");
  if (aggs_spec == nullptr) aggs_spec = Find(body, "aggregations");
  if (aggs_spec != nullptr) {
    QD_ASSIGN_OR_RETURN(
        aggs, engine::ParseAggregations(*aggs_spec, engine::ContextForSearch(ctx, key.index)));
  }

  uint64_t terminate_after = 0;
  if (const json* t = Find(body, "terminate_after")) {
    if (!t->is_number_integer() || t->get<int64_t>() < 0) {
      return engine::IllegalArgument("terminateAfter must be > 0");
    }
    terminate_after = t->get<uint64_t>();
  }

  // terminate_after: the hits are the best of the first matches in doc order, counted exactly,
  // and the aggregations see only those matches, as in OpenSearch.
  search.terminate_after = terminate_after;
  if (terminate_after > 0) search.track_total_hits = engine::kTrackTotalHitsExact;
  QueryPhaseResult result;
  engine::TopDocs top;
  if (aggs && hits_query) {
    // The aggregations see the query's matches, the hits those of the post_filter too.
    LimitCollector limited(terminate_after, aggs.get());
    engine::MatchCollector* collector = aggs.get();
    if (terminate_after > 0) collector = &limited;
    QD_RETURN_IF_ERROR(engine::ForEachMatch(*query, ctx, collector));
    QD_ASSIGN_OR_RETURN(top, engine::Search(search, ctx));
  } else {
    search.collector = aggs.get();
    QD_ASSIGN_OR_RETURN(top, engine::Search(search, ctx));
  }

  result.terminated_early = top.terminated_early;
  result.timed_out = deadline.expired;
  result.total_hits = top.total_hits;
  result.total_is_lower_bound = top.total_is_lower_bound;
  result.max_score = top.max_score;
  result.hits.reserve(top.hits.size());
  for (engine::Hit& hit : top.hits) {
    ShardHit h;
    h.doc = snap.leaves[hit.leaf].doc_base + hit.doc;
    h.score = hit.score;
    h.sort_values = std::move(hit.sort_values);
    h.explanation = std::move(hit.explanation);
    result.hits.push_back(std::move(h));
  }
  if (aggs) {
    QD_ASSIGN_OR_RETURN(engine::ShardAggregations partial, aggs->Finish());
    result.aggregations = engine::EncodePartial(partial);
  }

  if (!request.reader_id.empty()) {
    result.reader_id = request.reader_id;
  } else if (request.keep_alive.count() > 0 || !result.hits.empty()) {
    // A plain search without hits has nothing to fetch: its snapshot is not kept.
    result.reader_id = AddReader(std::move(reader));
  }
  return result;
}

// --- fetch phase -------------------------------------------------------------------------------

Result<FetchPhaseResult> LocalShardService::ExecuteFetch(const ShardKey& key,
                                                         const FetchPhaseRequest& request) {
  FetchPhaseResult result;
  if (request.reader_id.empty() && request.docs.empty()) return result;
  QD_ASSIGN_OR_RETURN(std::shared_ptr<Reader> reader,
                      FindReader(key, request.reader_id, std::chrono::milliseconds(0)));
  if (request.release_reader) {
    std::lock_guard<std::mutex> lock(readers_mu_);
    readers_.erase(request.reader_id);
  }
  IndexShard::SearchCounters& counters = reader->index_shard->search_counters();
  PhaseTimer timer(&counters.fetch_total, &counters.fetch_time_ms, &counters.fetch_current);
  const engine::EngineSnapshot& snap = *reader->snapshot;
  engine::SearchContext ctx{&snap.leaves, &snap.mapping, &reader->index_shard->engine().analysis(),
                            request.now_millis};
  const json& body = request.body;

  QD_ASSIGN_OR_RETURN(engine::SourceFilter source_filter,
                      engine::SourceFilter::Parse(Find(body, "_source")));
  // Asking for stored fields turns _source off unless the body asks for it too, as OpenSearch
  // does ("_none_" also drops the metadata, which the coordinator leaves out). Every field
  // but _source lives in the source here, so no other stored field is ever returned.
  if (Find(body, "stored_fields") != nullptr && Find(body, "_source") == nullptr) {
    const json off = false;
    QD_ASSIGN_OR_RETURN(source_filter, engine::SourceFilter::Parse(&off));
  }
  std::unique_ptr<HighlightPlan> highlight;
  if (const json* h = Find(body, "highlight")) {
    QD_ASSIGN_OR_RETURN(highlight, HighlightPlan::Parse(*h, Find(body, "query"), ctx));
  }
  DocValueFields docvalues;
  if (const json* d = Find(body, "docvalue_fields")) {
    QD_ASSIGN_OR_RETURN(docvalues, DocValueFields::Parse(*d, snap.mapping));
  }

  result.hits.reserve(request.docs.size());
  std::string source;
  for (uint32_t doc : request.docs) {
    const engine::Leaf* leaf = LeafOf(snap.leaves, doc);
    if (leaf == nullptr) {
      return Status::InvalidArgument(
          fmt::format("illegal_argument_exception: doc [{}] is not in reader [{}] of shard {}", doc,
                      request.reader_id, ShardName(key)));
    }
    const uint32_t local = doc - leaf->doc_base;
    FetchedHit hit;
    source.clear();
    QD_RETURN_IF_ERROR(leaf->reader->Document(local, &hit.id, &source));
    const engine::DocMeta meta = leaf->reader->Meta(local);
    hit.version = meta.version;
    hit.seq_no = meta.seq_no;
    hit.primary_term = meta.primary_term;
    if (source_filter.fetch() && snap.mapping.source_enabled()) {
      QD_ASSIGN_OR_RETURN(hit.source, source_filter.Apply(source));
    }
    if (highlight && !source.empty()) {
      QD_ASSIGN_OR_RETURN(hit.highlight, highlight->Highlight(source));
    }
    if (!docvalues.empty()) hit.fields = docvalues.Values(*leaf, local);
    result.hits.push_back(std::move(hit));
  }
  return result;
}

// --- writes and the rest -----------------------------------------------------------------------

Result<std::vector<engine::BulkItemResult>> LocalShardService::Bulk(
    const ShardKey& key, const std::vector<engine::BulkItem>& items, RefreshPolicy refresh) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  std::vector<engine::BulkItemResult> results = shard->engine().Bulk(items);
  int64_t max_seq_no = -1;
  bool wrote = false;
  for (const engine::BulkItemResult& r : results) {
    if (!r.status.ok() || r.write.result == engine::WriteResultKind::kNoop) continue;
    wrote = true;
    max_seq_no = std::max(max_seq_no, r.write.seq_no);
  }
  // New fields reach the cluster's mapping before the writes are acknowledged.
  if (wrote) QD_RETURN_IF_ERROR(indices_->PublishMapping(*shard));

  switch (refresh) {
    case RefreshPolicy::kNone:
      break;
    case RefreshPolicy::kRefresh:
      QD_RETURN_IF_ERROR(shard->engine().Refresh());
      break;
    case RefreshPolicy::kWaitFor: {
      if (!wrote) break;
      // Wait for the background refresh to publish the writes; refresh ourselves when periodic
      // refresh is off or late.
      std::optional<std::chrono::milliseconds> interval = shard->engine().refresh_interval();
      if (interval) {
        const Clock::time_point deadline = Clock::now() + *interval * 2 + std::chrono::seconds(1);
        while (shard->engine().AcquireSnapshot()->max_seq_no < max_seq_no &&
               Clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
      if (shard->engine().AcquireSnapshot()->max_seq_no < max_seq_no) {
        QD_RETURN_IF_ERROR(shard->engine().Refresh());
      }
      break;
    }
  }
  return results;
}

Result<engine::GetResult> LocalShardService::Get(const ShardKey& key, std::string_view id,
                                                 bool realtime) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().Get(id, realtime);
}

Result<ShardSearchStats> LocalShardService::SearchStats(const ShardKey& key) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  ShardSearchStats stats;
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    ReapLocked(Clock::now());
    for (const auto& [id, reader] : readers_) {
      if (reader->shard == key) ++stats.open_contexts;
    }
  }
  const IndexShard::SearchCounters& c = shard->search_counters();
  stats.query_total = c.query_total.load(std::memory_order_relaxed);
  stats.query_time_in_millis = c.query_time_ms.load(std::memory_order_relaxed);
  stats.query_current = c.query_current.load(std::memory_order_relaxed);
  stats.fetch_total = c.fetch_total.load(std::memory_order_relaxed);
  stats.fetch_time_in_millis = c.fetch_time_ms.load(std::memory_order_relaxed);
  stats.fetch_current = c.fetch_current.load(std::memory_order_relaxed);
  stats.scroll_total = c.scroll_total.load(std::memory_order_relaxed);
  return stats;
}

Status LocalShardService::Refresh(const ShardKey& key) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().Refresh();
}

Status LocalShardService::Flush(const ShardKey& key) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().Flush();
}

Result<engine::EngineStats> LocalShardService::Stats(const ShardKey& key) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().Stats();
}

Result<json> LocalShardService::Mapping(const ShardKey& key) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().mapping().ToJson();
}

Status LocalShardService::UpdateMapping(const ShardKey& key, const json& update) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  return shard->engine().UpdateMapping(update);
}

Result<json> LocalShardService::Analyze(const ShardKey& key, const json& request) {
  QD_ASSIGN_OR_RETURN(std::shared_ptr<IndexShard> shard, indices_->Shard(key));
  const json settings = shard->settings();
  const json analysis = settings.contains("analysis") && settings["analysis"].is_object()
                            ? settings["analysis"]
                            : json::object();
  const engine::Mapping mapping = shard->engine().mapping();
  return AnalyzeText(request, analysis, shard->engine().analysis(), &mapping);
}

}  // namespace quidditch::data
