// PISA-style checks: the dynamic-pruning paths (block-max skipping of single terms, MaxScore
// disjunctions) return exactly the top hits of exhaustive scoring, on random segments with
// many blocks, several leaves and deletes. The reference scores each doc from the generated
// token lists with the BM25 formula; it shares no code with the scorers but Bm25.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "engine/index/small_float.h"
#include "engine/search/bm25.h"
#include "engine/search/search_test_util.h"
#include "engine/search/searcher.h"

namespace quidditch::engine {
namespace {

using json = nlohmann::json;
using search_testing::TestIndex;

struct RefDoc {
  size_t leaf;
  uint32_t doc;
  bool live = true;
  std::map<std::string, uint32_t> freqs;
  uint32_t length = 0;
};

struct RefHit {
  size_t leaf;
  uint32_t doc;
  float score;
};

class PruningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(1234);
    // Zipf-like vocabulary: word i drawn with weight 1 / (i + 1).
    std::vector<double> weights;
    for (int i = 0; i < kVocab; ++i) weights.push_back(1.0 / (i + 1));
    std::discrete_distribution<int> word(weights.begin(), weights.end());
    std::uniform_int_distribution<int> len(1, 40);
    std::bernoulli_distribution deleted(0.1);
    index_ =
        std::make_unique<TestIndex>(json::parse(R"({"properties": {"body": {"type": "text"}}})"));
    for (size_t leaf = 0; leaf < 3; ++leaf) {
      std::vector<json> docs;
      uint32_t n = leaf == 1 ? 300 : 2500;  // a small leaf between two with many blocks
      for (uint32_t d = 0; d < n; ++d) {
        RefDoc ref{leaf, d};
        std::string text;
        int l = len(rng);
        // Some long docs repeat a word many times: high block-max freqs.
        int repeat = d % 97 == 0 ? word(rng) : -1;
        for (int k = 0; k < l; ++k) {
          int w = (repeat >= 0 && k % 2 == 0) ? repeat : word(rng);
          std::string term = "w" + std::to_string(w);
          text += term + " ";
          ++ref.freqs[term];
          ++ref.length;
        }
        docs.push_back(json{{"body", text}});
        refs_.push_back(ref);
      }
      index_->AddLeaf(docs);
    }
    for (RefDoc& r : refs_) {
      if (deleted(rng)) {
        r.live = false;
        index_->Delete(r.leaf, r.doc);
      }
    }
    for (const RefDoc& r : refs_) sum_ttf_ += r.length;
  }

  // Exhaustive top-k of a disjunction (or conjunction) of distinct terms.
  std::vector<RefHit> Reference(const std::vector<std::string>& terms, bool conjunction, size_t k,
                                uint64_t* total) const {
    std::vector<Bm25> sims;
    for (const std::string& t : terms) {
      uint64_t df = 0;
      for (const RefDoc& r : refs_) df += r.freqs.contains(t);  // deleted docs count
      sims.emplace_back(1.0f, refs_.size(), sum_ttf_, std::vector<uint64_t>{df});
    }
    std::vector<RefHit> hits;
    for (const RefDoc& r : refs_) {
      if (!r.live) continue;
      float score = 0;
      size_t matched = 0;
      for (size_t i = 0; i < terms.size(); ++i) {
        auto it = r.freqs.find(terms[i]);
        if (it == r.freqs.end()) continue;
        ++matched;
        score += sims[i].Score(static_cast<float>(it->second), LengthToNorm(r.length));
      }
      if (matched == 0 || (conjunction && matched < terms.size())) continue;
      hits.push_back(RefHit{r.leaf, r.doc, score});
    }
    *total = hits.size();
    std::sort(hits.begin(), hits.end(), [](const RefHit& a, const RefHit& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.leaf != b.leaf) return a.leaf < b.leaf;
      return a.doc < b.doc;
    });
    if (hits.size() > k) hits.resize(k);
    return hits;
  }

  void Check(const std::vector<std::string>& terms, bool conjunction, size_t k) {
    std::string text;
    for (const std::string& t : terms) text += t + " ";
    json dsl = {{"match", {{"body", {{"query", text}, {"operator", conjunction ? "and" : "or"}}}}}};
    auto q = index_->Parse(dsl);
    ASSERT_NE(q, nullptr);
    uint64_t ref_total = 0;
    std::vector<RefHit> want = Reference(terms, conjunction, k, &ref_total);
    for (uint64_t track : {uint64_t{0}, uint64_t{10}, kTrackTotalHitsExact}) {
      SearchRequest req;
      req.query = q.get();
      req.size = k;
      req.track_total_hits = track;
      auto top = Search(req, index_->ctx());
      ASSERT_TRUE(top.ok()) << top.status();
      ASSERT_EQ(top->hits.size(), want.size()) << dsl.dump() << " track " << track;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(top->hits[i].leaf, want[i].leaf) << dsl.dump() << " #" << i << " track " << track;
        EXPECT_EQ(top->hits[i].doc, want[i].doc) << dsl.dump() << " #" << i << " track " << track;
        EXPECT_EQ(top->hits[i].score, want[i].score) << dsl.dump() << " #" << i;
      }
      if (track == kTrackTotalHitsExact) {
        EXPECT_EQ(top->total_hits, ref_total);
        EXPECT_FALSE(top->total_is_lower_bound);
      } else if (ref_total > track) {
        EXPECT_EQ(top->total_hits, track);
        EXPECT_TRUE(top->total_is_lower_bound);
      } else {
        EXPECT_EQ(top->total_hits, ref_total);
      }
    }
  }

  static constexpr int kVocab = 80;
  std::unique_ptr<TestIndex> index_;
  std::vector<RefDoc> refs_;
  uint64_t sum_ttf_ = 0;
};

// Every block's impact bound (and the term's) is at least the best true BM25 score of its
// docs, whatever the field statistics (random avgdl): the bound the scorers prune with.
TEST_F(PruningTest, ImpactBoundsAreUpperBoundsForAnyAvgdl) {
  std::mt19937 rng(99);
  for (size_t leaf = 0; leaf < index_->leaves().size(); ++leaf) {
    const SegmentReader& reader = *index_->leaves()[leaf].reader;
    auto terms = reader.Terms("body");
    ASSERT_NE(terms, nullptr);
    while (terms->Next()) {
      const TermState state = terms->state();
      // Random statistics: avgdl from 0.5 to 64 tokens.
      const uint64_t doc_count = 1 + rng() % 100000;
      const uint64_t sum_ttf = doc_count / 2 + rng() % (doc_count * 64);
      Bm25 sim(1.0f, doc_count, sum_ttf, {state.doc_freq});
      auto bound = [&](std::span<const Impact> impacts) {
        float b = 0;
        for (const Impact& i : impacts) b = std::max(b, sim.Score(i.freq, i.norm));
        return b;
      };
      auto it = reader.Postings(state, false);
      auto shallow = reader.Postings(state, false);
      const float term_bound = bound(it->TermImpacts());
      uint32_t block_end = 0;
      float block_bound = 0;
      for (uint32_t d = it->NextDoc(); d != kNoMoreDocs; d = it->NextDoc()) {
        if (d > block_end || block_end == 0) {
          block_end = shallow->ShallowAdvance(d);
          block_bound = bound(shallow->BlockImpacts());
        }
        const float score = sim.Score(it->freq(), reader.Norm("body", d));
        ASSERT_GE(block_bound, score) << terms->term() << " doc " << d;
        ASSERT_GE(term_bound, score) << terms->term() << " doc " << d;
      }
    }
  }
}

TEST_F(PruningTest, SingleTermsMatchExhaustiveTopK) {
  for (int w : {0, 1, 5, 20, 79}) {
    for (size_t k : {1u, 10u, 100u}) Check({"w" + std::to_string(w)}, false, k);
  }
}

TEST_F(PruningTest, DisjunctionsMatchExhaustiveTopK) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> w(0, kVocab - 1);
  std::uniform_int_distribution<int> n(2, 5);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string> terms;
    int count = n(rng);
    while (static_cast<int>(terms.size()) < count) {
      std::string t = "w" + std::to_string(w(rng) % (round % 2 == 0 ? 8 : kVocab));
      if (std::find(terms.begin(), terms.end(), t) == terms.end()) terms.push_back(t);
    }
    Check(terms, false, round % 3 == 0 ? 1 : 10);
  }
}

TEST_F(PruningTest, ConjunctionsMatchExhaustiveTopK) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> w(0, 15);
  for (int round = 0; round < 15; ++round) {
    std::vector<std::string> terms;
    while (terms.size() < 2 + static_cast<size_t>(round % 2)) {
      std::string t = "w" + std::to_string(w(rng));
      if (std::find(terms.begin(), terms.end(), t) == terms.end()) terms.push_back(t);
    }
    Check(terms, true, 10);
  }
}

// Block-max MaxScore partitions the clauses per window of blocks. A clause too weak to matter
// in one window ("a" in long docs) can be the strongest in a later one (short docs repeating
// "a"), after the other clause's next doc: the search must look at every window in between.
TEST(PruningWindowsTest, AClauseWeakEarlyAndStrongLaterIsNotSkipped) {
  TestIndex index(json::parse(R"({"properties": {"body": {"type": "text"}}})"));
  auto repeat = [](const std::string& word, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += word + " ";
    return out;
  };
  std::vector<json> docs;
  for (int d = 0; d < 3000; ++d) {
    std::string body;
    if (d < 10 || d == 2900) {
      body = "b " + repeat("filler", 3000);  // the rare clause, in very long docs
    } else if (d < 2000) {
      body = "a " + repeat("filler", 150);
    } else if (d >= 2500 && d <= 2600) {
      body = repeat("a", 8);  // the frequent clause, strongest here
    } else {
      body = "other";
    }
    docs.push_back(json{{"body", body}});
  }
  index.AddLeaf(docs);
  auto q = index.Parse(json::parse(R"({"match": {"body": "a b"}})"));
  ASSERT_NE(q, nullptr);
  auto search = [&](uint64_t track) {
    SearchRequest req;
    req.query = q.get();
    req.size = 10;
    req.track_total_hits = track;
    auto top = Search(req, index.ctx());
    EXPECT_TRUE(top.ok()) << top.status();
    std::vector<uint32_t> docs;
    if (top.ok()) {
      for (const Hit& h : top->hits) docs.push_back(h.doc);
    }
    return docs;
  };
  const std::vector<uint32_t> exhaustive = search(kTrackTotalHitsExact);
  ASSERT_EQ(exhaustive.size(), 10u);
  EXPECT_EQ(exhaustive.front(), 2500u);  // the short docs win
  EXPECT_EQ(search(0), exhaustive);
}

}  // namespace
}  // namespace quidditch::engine

namespace quidditch::engine {
namespace {

// A rough speed probe, not a benchmark (bench/engine is): run by hand with
// --gtest_also_run_disabled_tests --gtest_filter='*SpeedProbe*'.
TEST(SearchSpeedProbe, DISABLED_TermAndOrQueries) {
  std::mt19937 rng(5);
  std::vector<double> weights;
  for (int i = 0; i < 5000; ++i) weights.push_back(1.0 / (i + 1));
  std::discrete_distribution<int> word(weights.begin(), weights.end());
  std::uniform_int_distribution<int> len(5, 40);
  TestIndex index(json::parse(R"({"properties": {"body": {"type": "text"}}})"));
  std::vector<json> docs;
  for (int d = 0; d < 200000; ++d) {
    std::string text;
    for (int k = len(rng); k > 0; --k) text += "w" + std::to_string(word(rng)) + " ";
    docs.push_back(json{{"body", text}});
  }
  index.AddLeaf(docs);
  auto time = [&](const char* name, const json& dsl, uint64_t track) {
    auto q = index.Parse(dsl);
    SearchRequest req;
    req.query = q.get();
    req.track_total_hits = track;
    auto start = std::chrono::steady_clock::now();
    int runs = 50;
    for (int i = 0; i < runs; ++i) ASSERT_TRUE(Search(req, index.ctx()).ok());
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count() /
                runs;
    std::printf("%-40s track=%-20llu %10.1f us/query\n", name, (unsigned long long)track, us);
  };
  // Warm-up: page in the postings before timing.
  time("warm-up", json::parse(R"({"match_all": {}})"), kTrackTotalHitsExact);
  time("warm-up", json::parse(R"({"match": {"body": "w1 w2 w3 w40 w300 w700 w1500"}})"),
       kTrackTotalHitsExact);
  for (uint64_t track : {kTrackTotalHitsExact, uint64_t{1000}}) {
    time("term w3", json::parse(R"({"match": {"body": "w3"}})"), track);
    time("term w300", json::parse(R"({"match": {"body": "w300"}})"), track);
    time("or w3 w40", json::parse(R"({"match": {"body": "w3 w40"}})"), track);
    time("or w3 w40 w700 w1500", json::parse(R"({"match": {"body": "w3 w40 w700 w1500"}})"), track);
    time("and w3 w40",
         json::parse(R"({"match": {"body": {"query": "w3 w40", "operator": "and"}}})"), track);
    time("phrase w1 w2", json::parse(R"({"match_phrase": {"body": "w1 w2"}})"), track);
  }
}

}  // namespace
}  // namespace quidditch::engine
