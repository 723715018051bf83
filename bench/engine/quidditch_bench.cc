// Quidditch side of the engine benchmark: the same protocol as the peer harnesses
// (bench/engine/README.md), on the shard engine's own API.
//
//   index  CORPUS.jsonl INDEX_DIR THREADS
//   search INDEX_DIR QUERIES.jsonl RESULTS.jsonl WARMUP_PASSES PASSES QPS_SECONDS
//   probe  (indexes and searches three documents in a temporary directory; exit 0 when the
//          engine can run the benchmark)
//
// Index: ShardEngine with mapping text (standard analyzer: no stop words, as the peers), kw
// (keyword), num and id (long), _source disabled (no peer stores documents); translog
// durability async and no periodic refresh: the corpus is written with Bulk() in batches of
// 1000 documents by THREADS client threads (contiguous slices of the corpus), then one
// Refresh() (one segment: corpus order = doc order, so ties by doc id are ties by corpus id)
// and Flush(). Background merges are off.
//
// Search: queries are parsed once from Query DSL (ParseQuery) before timing; each execution
// runs Search() (TOP_10: size 10, track_total_hits 1000 as Lucene's IndexSearcher.search(q,
// 10); COUNT: size 0, exact total) or ForEachMatch() with the aggregations collector (COUNT
// with aggregation), plus ParseAggregations / Finish / ReduceAggregations for aggregations.
// The filter cache is cleared before each execution (the Lucene harness has no query cache),
// unless QUIDDITCH_BENCH_KEEP_FILTER_CACHE=1 (bench/http: compared with a node, which keeps it).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "engine/aggs/aggregations.h"
#include "engine/search/filter_cache.h"
#include "engine/search/searcher.h"
#include "engine/shard_engine.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

uint64_t DirBytes(const std::filesystem::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.settings = {{"index", {{"refresh_interval", "-1"}, {"translog.durability", "async"}}}};
  o.mappings = {{"dynamic", "strict"},
                {"_source", {{"enabled", false}}},
                {"properties",
                 {{"text", {{"type", "text"}, {"analyzer", "standard"}}},
                  {"kw", {{"type", "keyword"}}},
                  {"num", {{"type", "long"}}},
                  {"id", {{"type", "long"}}}}}};
  o.background_merges = false;
  return o;
}

struct Doc {
  std::string id;
  std::string source;  // {"id", "text", "kw", "num"}
};

Result<std::vector<Doc>> LoadCorpus(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read " + path);
  std::vector<Doc> docs;
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::InvalidArgument("bad JSON line in " + path);
    json src = {{"id", j["id"]}, {"text", j["text"]}, {"kw", j["kw"]}, {"num", j["num"]}};
    docs.push_back({std::to_string(j["id"].get<int64_t>()), src.dump()});
  }
  return docs;
}

Status IndexSlice(ShardEngine* engine, const std::vector<Doc>& docs, size_t lo, size_t hi) {
  constexpr size_t kBatch = 1000;
  std::vector<BulkItem> items;
  for (size_t i = lo; i < hi; i += kBatch) {
    items.clear();
    for (size_t k = i; k < std::min(hi, i + kBatch); ++k) {
      BulkItem item;
      item.kind = BulkItem::Kind::kIndex;
      item.id = docs[k].id;
      item.source = docs[k].source;
      items.push_back(std::move(item));
    }
    for (const BulkItemResult& r : engine->Bulk(items)) QD_RETURN_IF_ERROR(r.status);
  }
  return Status::OK();
}

Status Index(const std::string& corpus, const std::string& dir, int threads) {
  QD_ASSIGN_OR_RETURN(std::vector<Doc> docs, LoadCorpus(corpus));
  std::filesystem::remove_all(dir);
  QD_ASSIGN_OR_RETURN(std::unique_ptr<ShardEngine> engine, ShardEngine::Open(Options(dir)));
  const size_t n = docs.size();
  auto t0 = Clock::now();
  std::vector<Status> errors(threads, Status::OK());
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      errors[t] = IndexSlice(engine.get(), docs, n * t / threads, n * (t + 1) / threads);
    });
  }
  for (auto& t : ts) t.join();
  for (const Status& s : errors) QD_RETURN_IF_ERROR(s);
  QD_RETURN_IF_ERROR(engine->Flush());  // Refresh (one segment) + commit point
  double index_sec = std::chrono::duration<double>(Clock::now() - t0).count();
  auto t1 = Clock::now();
  bool merged = true;
  while (merged) {
    QD_ASSIGN_OR_RETURN(merged, engine->MaybeMerge());
  }
  QD_RETURN_IF_ERROR(engine->Flush());
  double merge_sec = std::chrono::duration<double>(Clock::now() - t1).count();
  EngineStats st = engine->Stats();
  if (st.docs_count != static_cast<int64_t>(n)) {
    return Status::Internal("indexed " + std::to_string(n) + " docs, engine has " +
                            std::to_string(st.docs_count));
  }
  engine.reset();
  uint64_t bytes = DirBytes(std::filesystem::path(dir) / "segments");
  json out = {{"engine", "quidditch"},
              {"threads", threads},
              {"docs", n},
              {"index_seconds", index_sec},
              {"docs_per_s", n / index_sec},
              {"merge_seconds", merge_sec},
              {"segments", st.segment_count},
              {"index_bytes", bytes},
              {"store_size_bytes", st.store_size_bytes},
              {"bytes_per_doc", static_cast<double>(bytes) / n},
              {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << std::endl;
  return Status::OK();
}

// The Query DSL of one benchmark query (see make_queries.py for the structured form).
Result<json> ToDsl(const json& q) {
  const std::string type = q.value("type", "");
  auto term = [](const json& t) { return json{{"term", {{"text", t}}}}; };
  if (type == "term") return term(q["term"]);
  if (type == "and" || type == "or") {
    json clauses = json::array();
    for (const json& t : q["terms"]) clauses.push_back(term(t));
    return json{{"bool", {{type == "and" ? "must" : "should", clauses}}}};
  }
  if (type == "phrase") {
    std::string text;
    for (const json& t : q["terms"]) text += (text.empty() ? "" : " ") + t.get<std::string>();
    return json{{"match_phrase", {{"text", text}}}};
  }
  if (type == "prefix") return json{{"prefix", {{"text", {{"value", q["prefix"]}}}}}};
  if (type == "wildcard") return json{{"wildcard", {{"text", {{"value", q["pattern"]}}}}}};
  if (type == "fuzzy") {
    // All expansions (the peers expand without limit); constant score as the peers.
    return json{{"fuzzy",
                 {{"text",
                   {{"value", q["term"]},
                    {"fuzziness", std::to_string(q["edits"].get<int>())},
                    {"prefix_length", 0},
                    {"max_expansions", 1 << 30},
                    {"transpositions", true},
                    {"rewrite", "constant_score"}}}}}};
  }
  if (type == "range") {
    return json{
        {"range", {{q["field"].get<std::string>(), {{"gte", q["gte"]}, {"lte", q["lte"]}}}}}};
  }
  return Status::InvalidArgument("unknown query type " + type);
}

struct Q {
  int64_t qid = 0;
  std::string category;
  std::unique_ptr<Query> query;
  bool sort_num = false;
  json aggs;  // null: none
  bool terms_agg = false;
};

// Counts matches for the aggregations collector it forwards to.
class CountingCollector : public MatchCollector {
 public:
  explicit CountingCollector(MatchCollector* inner) : inner_(inner) {}
  void SetLeaf(size_t leaf_index, const Leaf& leaf) override {
    if (inner_) inner_->SetLeaf(leaf_index, leaf);
  }
  void Collect(uint32_t doc, float score) override {
    ++count_;
    if (inner_) inner_->Collect(doc, score);
  }
  bool needs_scores() const override { return inner_ && inner_->needs_scores(); }
  uint64_t count() const { return count_; }

 private:
  MatchCollector* inner_;
  uint64_t count_ = 0;
};

struct Outcome {
  bool top10 = false;
  int64_t count = -1;
  std::vector<Hit> hits;
  json agg;  // the reduced aggregation "a", null when none
};

// QUIDDITCH_BENCH_KEEP_FILTER_CACHE=1 (bench/http sets it): keep the cache, as a node does.
const bool kKeepFilterCache = [] {
  const char* v = std::getenv("QUIDDITCH_BENCH_KEEP_FILTER_CACHE");
  return v != nullptr && std::string_view(v) == "1";
}();

Result<Outcome> Run(const SearchContext& ctx, const Mapping& mapping, const Q& q, bool top10) {
  // Every execution enumerates its multi-term doc sets again: the Lucene harness runs without a
  // query cache, and a cache hit would measure a lookup instead of the query.
  if (!kKeepFilterCache) FilterCache::Default().Clear();
  Outcome o;
  o.top10 = top10;
  std::unique_ptr<AggregationsCollector> agg;
  if (!q.aggs.is_null()) {
    QD_ASSIGN_OR_RETURN(agg, ParseAggregations(q.aggs, ContextForMapping(mapping, 0)));
  }
  if (top10) {
    SearchRequest req;
    req.query = q.query.get();
    req.size = 10;
    req.track_total_hits = 1000;
    if (q.sort_num) req.sort = {SortField{"num", /*descending=*/true, false}};
    req.collector = agg.get();
    QD_ASSIGN_OR_RETURN(TopDocs td, Search(req, ctx));
    o.hits = std::move(td.hits);
  } else if (agg) {
    CountingCollector counter(agg.get());
    QD_RETURN_IF_ERROR(ForEachMatch(*q.query, ctx, &counter));
    o.count = static_cast<int64_t>(counter.count());
  } else {
    SearchRequest req;
    req.query = q.query.get();
    req.size = 0;
    req.track_total_hits = kTrackTotalHitsExact;
    QD_ASSIGN_OR_RETURN(TopDocs td, Search(req, ctx));
    o.count = static_cast<int64_t>(td.total_hits);
  }
  if (agg) {
    std::vector<ShardAggregations> partials(1);
    QD_ASSIGN_OR_RETURN(partials[0], agg->Finish());
    QD_ASSIGN_OR_RETURN(json reduced, ReduceAggregations(partials));
    o.agg = std::move(reduced["a"]);
  }
  return o;
}

double Sig6(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return std::atof(buf);
}

Result<json> ResultJson(const std::vector<Leaf>& leaves, const Q& q, const Outcome& o,
                        const std::vector<int64_t>& lat) {
  json r = {{"qid", q.qid}, {"mode", o.top10 ? "TOP_10" : "COUNT"}, {"lat_us", lat}};
  if (o.count >= 0) r["count"] = o.count;
  if (o.top10) {
    json top = json::array();
    for (const Hit& h : o.hits) {
      const NumericDocValues* ids = leaves[h.leaf].reader->Numeric("id");
      if (ids == nullptr || ids->Values(h.doc).empty()) return Status::Internal("hit without id");
      double score = h.score;
      if (q.sort_num) {
        if (h.sort_values.empty() || !std::holds_alternative<int64_t>(h.sort_values[0])) {
          return Status::Internal("hit without sort value");
        }
        score = static_cast<double>(std::get<int64_t>(h.sort_values[0]));
      }
      top.push_back({ids->Values(h.doc)[0], Sig6(score)});
    }
    r["top"] = top;
  }
  if (!o.agg.is_null()) {
    json m = json::object();
    for (const json& b : o.agg["buckets"]) {
      uint64_t n = b["doc_count"].get<uint64_t>();
      m[b["key"].is_string() ? b["key"].get<std::string>()
                             : std::to_string(static_cast<int64_t>(b["key"].get<double>()))] = n;
    }
    r["agg"] = m;
  }
  return r;
}

Status SearchAll(const std::string& dir, const std::string& queries, const std::string& results,
                 int warmup, int passes, double qps_seconds) {
  QD_ASSIGN_OR_RETURN(std::unique_ptr<ShardEngine> engine, ShardEngine::Open(Options(dir)));
  std::shared_ptr<const EngineSnapshot> snap = engine->AcquireSnapshot();
  SearchContext ctx;
  ctx.leaves = &snap->leaves;
  ctx.mapping = &snap->mapping;
  ctx.analysis = &engine->analysis();
  std::vector<Q> qs;
  {
    std::ifstream in(queries);
    if (!in) return Status::InvalidArgument("cannot read " + queries);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) return Status::InvalidArgument("bad query line: " + line);
      Q q;
      q.qid = j["qid"];
      q.category = j["category"];
      QD_ASSIGN_OR_RETURN(json dsl, ToDsl(j["query"]));
      QD_ASSIGN_OR_RETURN(q.query, ParseQuery(dsl, ctx));
      q.sort_num = j.value("sort", "") == "num_desc";
      if (j.contains("agg")) {
        if (j["agg"].contains("terms")) {
          q.aggs = {{"a", {{"terms", {{"field", "kw"}, {"size", 60000}}}}}};
        } else {
          // min_doc_count 1: the peers' histograms hold the non-empty buckets only, so this
          // one skips OpenSearch's default gap filling (min_doc_count 0) to do the same work.
          q.aggs = {
              {"a",
               {{"histogram",
                 {{"field", "num"}, {"interval", j["agg"]["interval"]}, {"min_doc_count", 1}}}}}};
        }
      }
      qs.push_back(std::move(q));
    }
  }
  const bool modes[2] = {true, false};
  std::vector<std::vector<std::vector<int64_t>>> lat(
      qs.size(), std::vector<std::vector<int64_t>>(2, std::vector<int64_t>(passes)));
  std::vector<std::vector<Outcome>> outcomes(qs.size(), std::vector<Outcome>(2));
  for (int pass = 0; pass < warmup + passes; ++pass) {
    for (size_t i = 0; i < qs.size(); ++i) {
      for (int m = 0; m < 2; ++m) {
        auto t0 = Clock::now();
        QD_ASSIGN_OR_RETURN(Outcome o, Run(ctx, snap->mapping, qs[i], modes[m]));
        int64_t us =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
        if (pass >= warmup) {
          lat[i][m][pass - warmup] = us;
          outcomes[i][m] = std::move(o);
        }
      }
    }
  }
  {
    std::ofstream out(results);
    for (size_t i = 0; i < qs.size(); ++i) {
      for (int m = 0; m < 2; ++m) {
        QD_ASSIGN_OR_RETURN(json r, ResultJson(snap->leaves, qs[i], outcomes[i][m], lat[i][m]));
        out << r.dump() << "\n";
      }
    }
    if (!out) return Status::Internal("cannot write " + results);
  }
  std::vector<std::string> cats;
  for (const Q& q : qs) {
    if (std::find(cats.begin(), cats.end(), q.category) == cats.end()) cats.push_back(q.category);
  }
  json qps = json::object();
  for (const std::string& c : cats) {
    std::vector<const Q*> cq;
    for (const Q& q : qs) {
      if (q.category == c) cq.push_back(&q);
    }
    for (int m = 0; m < 2; ++m) {
      for (int threads = 1; threads <= 2; ++threads) {
        std::atomic<uint64_t> done{0};
        std::vector<Status> errors(threads, Status::OK());
        auto t0 = Clock::now();
        auto deadline = t0 + std::chrono::duration<double>(qps_seconds);
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
          ts.emplace_back([&, t] {
            uint64_t n = 0;
            for (size_t i = t; Clock::now() < deadline; ++i, ++n) {
              Result<Outcome> o = Run(ctx, snap->mapping, *cq[i % cq.size()], modes[m]);
              if (!o.ok()) {
                errors[t] = o.status();
                break;
              }
            }
            done += n;
          });
        }
        for (auto& t : ts) t.join();
        for (const Status& s : errors) QD_RETURN_IF_ERROR(s);
        double sec = std::chrono::duration<double>(Clock::now() - t0).count();
        qps[c + "|" + (modes[m] ? "TOP_10" : "COUNT") + "|" + std::to_string(threads)] =
            std::round(done.load() / sec * 10) / 10;
      }
    }
  }
  json out = {{"engine", "quidditch"}, {"qps", qps}, {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << std::endl;
  return Status::OK();
}

// A three-document smoke test of everything the benchmark uses, checked against hand-derived
// answers: the driver runs it before trusting the harness.
Status Probe() {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("quidditch_bench_probe_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string corpus = (dir.string() + ".jsonl");
  {
    std::ofstream f(corpus);
    f << R"({"id": 0, "text": "alpha beta gamma", "kw": "x", "num": 5})"
      << "\n"
      << R"({"id": 1, "text": "beta gamma delta beta", "kw": "y", "num": 12})"
      << "\n"
      << R"({"id": 2, "text": "alphabet soup", "kw": "x", "num": 7})"
      << "\n";
  }
  std::string queries = dir.string() + ".queries.jsonl", results = dir.string() + ".out.jsonl";
  {
    std::ofstream f(queries);
    f << R"({"qid": 0, "category": "T", "query": {"type": "phrase", "terms": ["beta", "gamma"]}})"
      << "\n"
      << R"({"qid": 1, "category": "P", "query": {"type": "prefix", "prefix": "alp"}, "agg": {"terms": "kw"}})"
      << "\n";
  }
  std::streambuf* saved = std::cout.rdbuf();
  std::ostringstream sink;
  std::cout.rdbuf(sink.rdbuf());
  Status s = Index(corpus, dir.string(), 1);
  if (s.ok()) s = SearchAll(dir.string(), queries, results, 0, 1, 0.01);
  std::cout.rdbuf(saved);
  QD_RETURN_IF_ERROR(s);
  std::ifstream in(results);
  std::string l0, l1, l2, l3;
  std::getline(in, l0);
  std::getline(in, l1);
  std::getline(in, l2);
  std::getline(in, l3);
  json top0 = json::parse(l0)["top"], count0 = json::parse(l1)["count"];
  json top1 = json::parse(l2)["top"], agg1 = json::parse(l3)["agg"];
  std::filesystem::remove_all(dir);
  std::filesystem::remove(corpus);
  std::filesystem::remove(queries);
  std::filesystem::remove(results);
  if (count0 != 2 || top0.size() != 2 || top1.size() != 2 || top1[0][0] != 0 || top1[1][0] != 2 ||
      agg1 != json{{"x", 2}}) {
    return Status::Internal("probe answers are wrong: " + top0.dump() + " " + count0.dump() + " " +
                            top1.dump() + " " + agg1.dump());
  }
  return Status::OK();
}

}  // namespace
}  // namespace quidditch::engine

int main(int argc, char** argv) {
  using quidditch::Status;
  namespace e = quidditch::engine;
  std::vector<std::string> a(argv, argv + argc);
  Status s = Status::InvalidArgument(
      "usage: index CORPUS INDEX_DIR THREADS | search INDEX_DIR QUERIES RESULTS WARMUP PASSES "
      "QPS_SECONDS | probe");
  try {
    if (argc == 5 && a[1] == "index") {
      s = e::Index(a[2], a[3], std::stoi(a[4]));
    } else if (argc == 8 && a[1] == "search") {
      s = e::SearchAll(a[2], a[3], a[4], std::stoi(a[5]), std::stoi(a[6]), std::stod(a[7]));
    } else if (argc == 2 && a[1] == "probe") {
      s = e::Probe();
    }
  } catch (const std::exception& ex) {  // std::stoi / nlohmann::json on malformed input
    s = Status::InvalidArgument(ex.what());
  }
  if (!s.ok()) {
    std::cerr << "quidditch_bench: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
