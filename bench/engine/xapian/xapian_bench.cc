// Xapian side of the engine benchmark (protocol: bench/engine/README.md).
//
//   index  CORPUS.jsonl INDEX_DIR THREADS
//   search INDEX_DIR QUERIES.jsonl RESULTS.jsonl WARMUP_PASSES PASSES QPS_SECONDS
//
// Xapian 1.4 (Debian libxapian-dev), glass backend. Field `text` goes through TermGenerator
// without stemmer (positions on); kw is a boolean term "K<kw>" and value slot 1; num is value
// slot 0 (sortable_serialise). Weighting: BM25Weight(1.2, 0, 1, 0.75, 0). Ties are broken by
// ascending docid (Xapian's default), and docid = corpus id + 1.
//
// Xapian has no multi-threaded writer: with 2 threads each thread indexes one contiguous half
// of the corpus into its own database (Xapian's way to index in parallel; xapian-compact can
// merge them). Xapian 1.4 has no fuzzy or infix-wildcard operator: Wildcard and Fuzzy queries
// expand the term list in this harness (inside the timed part) into a weightless OR.
#include <sys/stat.h>
#include <xapian.h>

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
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr Xapian::valueno kNumSlot = 0;
constexpr Xapian::valueno kKwSlot = 1;

struct Doc {
  std::string text, kw;
  int64_t num;
};

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
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

Xapian::Weight* Bm25() { return new Xapian::BM25Weight(1.2, 0, 1, 0.75, 0); }

void IndexRange(const std::string& dir, const std::vector<Doc>& docs, size_t lo, size_t hi) {
  Xapian::WritableDatabase db(dir, Xapian::DB_CREATE_OR_OVERWRITE | Xapian::DB_BACKEND_GLASS);
  Xapian::TermGenerator tg;
  for (size_t i = lo; i < hi; ++i) {
    Xapian::Document doc;
    tg.set_document(doc);
    tg.index_text(docs[i].text);
    doc.add_boolean_term("K" + docs[i].kw);
    doc.add_value(kNumSlot, Xapian::sortable_serialise(static_cast<double>(docs[i].num)));
    doc.add_value(kKwSlot, docs[i].kw);
    db.add_document(doc);
  }
  db.commit();
}

int Index(const std::string& corpus, const std::string& dir, int threads) {
  std::vector<Doc> docs;
  {
    std::ifstream in(corpus);
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line);
      if (j["id"].get<size_t>() != docs.size()) {
        std::cerr << "corpus ids must be 0, 1, 2, ...\n";
        return 1;
      }
      docs.push_back(
          {j["text"].get<std::string>(), j["kw"].get<std::string>(), j["num"].get<int64_t>()});
    }
  }
  // Batch 100k documents per flush instead of 10k: fewer, larger flushes.
  setenv("XAPIAN_FLUSH_THRESHOLD", "100000", 1);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  size_t n = docs.size();
  auto t0 = Clock::now();
  std::string build_dir = threads == 1 ? dir + "/build" : dir;
  if (threads == 1) {
    IndexRange(build_dir, docs, 0, n);
  } else {
    std::vector<std::thread> ts;
    std::vector<std::string> errors(threads);
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        try {
          IndexRange(dir + "/shard" + std::to_string(t), docs, n * t / threads,
                     n * (t + 1) / threads);
        } catch (const Xapian::Error& e) {
          errors[t] = e.get_description();
        }
      });
    }
    for (auto& t : ts) t.join();
    for (const auto& e : errors) {
      if (!e.empty()) throw Xapian::DatabaseError(e);
    }
  }
  double index_sec = std::chrono::duration<double>(Clock::now() - t0).count();
  auto t1 = Clock::now();
  std::string final_dir = dir;
  if (threads == 1) {
    // The searched index: compacted (Xapian's "optimize") into INDEX_DIR/db.
    final_dir = dir + "/db";
    Xapian::Database(build_dir).compact(final_dir);
    std::filesystem::remove_all(build_dir);
  }
  double merge_sec = std::chrono::duration<double>(Clock::now() - t1).count();
  uint64_t bytes = DirBytes(final_dir);
  json out = {{"engine", "xapian"},
              {"threads", threads},
              {"docs", n},
              {"index_seconds", index_sec},
              {"docs_per_s", n / index_sec},
              {"merge_seconds", merge_sec},
              {"segments", threads == 1 ? 1 : threads},
              {"index_bytes", bytes},
              {"bytes_per_doc", static_cast<double>(bytes) / n},
              {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << std::endl;
  return 0;
}

struct Q {
  int64_t qid;
  std::string category;
  json query;
  bool sort_num = false;
  int agg = 0;  // 0 none, 1 terms on kw, 2 histogram on num
  int64_t interval = 0;
};

// Restricted Damerau-Levenshtein (optimal string alignment) distance, or max_d + 1 when it
// exceeds max_d: Lucene's and Tantivy's fuzzy automata with transpositions use this metric.
int OsaDistance(const std::string& a, const std::string& b, int max_d) {
  int la = a.size(), lb = b.size();
  if (std::abs(la - lb) > max_d) return max_d + 1;
  std::vector<std::vector<int>> d(la + 1, std::vector<int>(lb + 1));
  for (int i = 0; i <= la; ++i) d[i][0] = i;
  for (int j = 0; j <= lb; ++j) d[0][j] = j;
  for (int i = 1; i <= la; ++i) {
    int row_min = max_d + 1;
    for (int j = 1; j <= lb; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
      row_min = std::min(row_min, d[i][j]);
    }
    if (row_min > max_d) return max_d + 1;
  }
  return d[la][lb];
}

Xapian::Query Weightless(const std::vector<std::string>& terms) {
  if (terms.empty()) return Xapian::Query::MatchNothing;
  return Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT,
                       Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end()), 0.0);
}

Xapian::Query Build(const Xapian::Database& db, const json& q) {
  const std::string type = q["type"];
  if (type == "term") return Xapian::Query(q["term"].get<std::string>());
  if (type == "and" || type == "or" || type == "phrase") {
    std::vector<std::string> terms = q["terms"].get<std::vector<std::string>>();
    if (type == "phrase") {
      return Xapian::Query(Xapian::Query::OP_PHRASE, terms.begin(), terms.end(), terms.size());
    }
    return Xapian::Query(type == "and" ? Xapian::Query::OP_AND : Xapian::Query::OP_OR,
                         terms.begin(), terms.end());
  }
  if (type == "prefix") {
    return Xapian::Query(
        Xapian::Query::OP_SCALE_WEIGHT,
        Xapian::Query(Xapian::Query::OP_WILDCARD, q["prefix"].get<std::string>(), 0,
                      Xapian::Query::WILDCARD_LIMIT_ERROR, Xapian::Query::OP_OR),
        0.0);
  }
  if (type == "wildcard") {
    // Only patterns "<prefix>*<suffix>" are generated (see make_queries.py).
    std::string pat = q["pattern"];
    size_t star = pat.find('*');
    std::string prefix = pat.substr(0, star), suffix = pat.substr(star + 1);
    std::vector<std::string> terms;
    for (auto it = db.allterms_begin(prefix); it != db.allterms_end(prefix); ++it) {
      const std::string& t = *it;
      if (t.size() >= prefix.size() + suffix.size() &&
          t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
        terms.push_back(t);
      }
    }
    return Weightless(terms);
  }
  if (type == "fuzzy") {
    std::string term = q["term"];
    int edits = q["edits"];
    std::vector<std::string> terms;
    for (auto it = db.allterms_begin(); it != db.allterms_end(); ++it) {
      const std::string& t = *it;
      if (!t.empty() && t[0] >= 'A' && t[0] <= 'Z') continue;  // prefixed (boolean) terms
      if (OsaDistance(term, t, edits) <= edits) terms.push_back(t);
    }
    return Weightless(terms);
  }
  if (type == "range") {
    return Xapian::Query(Xapian::Query::OP_VALUE_RANGE, kNumSlot,
                         Xapian::sortable_serialise(q["gte"].get<double>()),
                         Xapian::sortable_serialise(q["lte"].get<double>()));
  }
  throw Xapian::InvalidArgumentError("unknown query type " + type);
}

class HistogramSpy : public Xapian::MatchSpy {
 public:
  explicit HistogramSpy(int64_t interval) : interval_(interval) {}
  void operator()(const Xapian::Document& doc, double) override {
    std::string v = doc.get_value(kNumSlot);
    if (v.empty()) return;
    auto x = static_cast<int64_t>(Xapian::sortable_unserialise(v));
    int64_t k = x >= 0 ? x / interval_ : -((-x + interval_ - 1) / interval_);
    ++counts_[k * interval_];
  }
  const std::map<int64_t, uint64_t>& counts() const { return counts_; }

 private:
  int64_t interval_;
  std::map<int64_t, uint64_t> counts_;
};

struct Outcome {
  bool top10 = false;
  Xapian::MSet mset;
  int64_t count = -1;
  json agg;
};

// One execution; everything that needs the documents (ids, sort values) happens after.
Outcome Run(const Xapian::Database& db, Xapian::Enquire& enq, const Q& q, bool top10) {
  Outcome o;
  o.top10 = top10;
  enq.set_query(Build(db, q.query));
  enq.clear_matchspies();
  if (q.sort_num) {
    enq.set_sort_by_value(kNumSlot, true);
  } else {
    enq.set_sort_by_relevance();
  }
  Xapian::ValueCountMatchSpy terms_spy(kKwSlot);
  HistogramSpy histo_spy(q.interval > 0 ? q.interval : 1);
  if (q.agg == 1) enq.add_matchspy(&terms_spy);
  if (q.agg == 2) enq.add_matchspy(&histo_spy);
  Xapian::doccount all = db.get_doccount();
  bool exhaustive = !top10 || q.agg != 0;
  o.mset = enq.get_mset(0, top10 ? 10 : 0, exhaustive ? all : 0);
  if (!top10) o.count = o.mset.get_matches_estimated();
  if (q.agg == 1) {
    o.agg = json::object();
    for (auto it = terms_spy.values_begin(); it != terms_spy.values_end(); ++it) {
      o.agg[*it] = it.get_termfreq();
    }
  } else if (q.agg == 2) {
    o.agg = json::object();
    for (const auto& [k, c] : histo_spy.counts()) o.agg[std::to_string(k)] = c;
  }
  enq.clear_matchspies();
  return o;
}

double Sig6(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return std::atof(buf);
}

json ResultJson(const Q& q, const Outcome& o, const std::vector<int64_t>& lat) {
  json r = {{"qid", q.qid}, {"mode", o.top10 ? "TOP_10" : "COUNT"}, {"lat_us", lat}};
  if (o.count >= 0) r["count"] = o.count;
  if (o.top10) {
    json top = json::array();
    for (auto it = o.mset.begin(); it != o.mset.end(); ++it) {
      double score = it.get_weight();
      if (q.sort_num) {
        score = Xapian::sortable_unserialise(it.get_document().get_value(kNumSlot));
      }
      top.push_back({static_cast<int64_t>(*it) - 1, Sig6(score)});
    }
    r["top"] = top;
  }
  if (!o.agg.is_null()) r["agg"] = o.agg;
  return r;
}

Xapian::Enquire MakeEnquire(const Xapian::Database& db) {
  Xapian::Enquire enq(db);
  std::unique_ptr<Xapian::Weight> w(Bm25());
  enq.set_weighting_scheme(*w);
  enq.set_docid_order(Xapian::Enquire::ASCENDING);
  return enq;
}

int Search(const std::string& dir, const std::string& queries, const std::string& results,
           int warmup, int passes, double qps_seconds) {
  std::vector<Q> qs;
  {
    std::ifstream in(queries);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j = json::parse(line);
      Q q;
      q.qid = j["qid"];
      q.category = j["category"];
      q.query = j["query"];
      q.sort_num = j.value("sort", "") == "num_desc";
      if (j.contains("agg")) {
        q.agg = j["agg"].contains("terms") ? 1 : 2;
        q.interval = j["agg"].value("interval", 0);
      }
      qs.push_back(std::move(q));
    }
  }
  std::string db_path = dir + "/db";
  Xapian::Database db(db_path);
  Xapian::Enquire enq = MakeEnquire(db);
  const bool modes[2] = {true, false};
  std::vector<std::vector<std::vector<int64_t>>> lat(
      qs.size(), std::vector<std::vector<int64_t>>(2, std::vector<int64_t>(passes)));
  std::vector<std::vector<Outcome>> outcomes(qs.size(), std::vector<Outcome>(2));
  for (int pass = 0; pass < warmup + passes; ++pass) {
    for (size_t i = 0; i < qs.size(); ++i) {
      for (int m = 0; m < 2; ++m) {
        auto t0 = Clock::now();
        Outcome o = Run(db, enq, qs[i], modes[m]);
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
      for (int m = 0; m < 2; ++m)
        out << ResultJson(qs[i], outcomes[i][m], lat[i][m]).dump() << "\n";
    }
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
        auto t0 = Clock::now();
        auto deadline = t0 + std::chrono::duration<double>(qps_seconds);
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
          ts.emplace_back([&, t] {
            // Xapian objects are not thread-safe: one Database and Enquire per thread.
            Xapian::Database tdb(db_path);
            Xapian::Enquire tenq = MakeEnquire(tdb);
            uint64_t n = 0;
            for (size_t i = t; Clock::now() < deadline; ++i, ++n) {
              Run(tdb, tenq, *cq[i % cq.size()], modes[m]);
            }
            done += n;
          });
        }
        for (auto& t : ts) t.join();
        double sec = std::chrono::duration<double>(Clock::now() - t0).count();
        qps[c + "|" + (modes[m] ? "TOP_10" : "COUNT") + "|" + std::to_string(threads)] =
            std::round(done.load() / sec * 10) / 10;
      }
    }
  }
  json out = {{"engine", "xapian"}, {"qps", qps}, {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> a(argv, argv + argc);
    if (argc == 5 && a[1] == "index") return Index(a[2], a[3], std::stoi(a[4]));
    if (argc == 8 && a[1] == "search") {
      return Search(a[2], a[3], a[4], std::stoi(a[5]), std::stoi(a[6]), std::stod(a[7]));
    }
    std::cerr << "usage: index CORPUS INDEX_DIR THREADS | search INDEX_DIR QUERIES RESULTS "
                 "WARMUP PASSES QPS_SECONDS\n";
    return 2;
  } catch (const Xapian::Error& e) {
    std::cerr << "xapian_bench: " << e.get_description() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "xapian_bench: " << e.what() << "\n";
  }
  return 1;
}
