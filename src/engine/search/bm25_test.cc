#include "engine/search/bm25.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/index/small_float.h"

namespace quidditch::engine {
namespace {

// BM25 from its textbook definition in double: idf * freq * (k1 + 1) / (freq + k1 * (1 - b +
// b * dl / avgdl)), without Lucene's (k1 + 1) factor since Lucene 8.
double ReferenceScore(double boost, double df, double n, double sum_ttf, double freq, double dl) {
  double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
  double avgdl = sum_ttf / n;
  return boost * idf * freq / (freq + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl));
}

TEST(Bm25Test, IdfMatchesFormula) {
  EXPECT_FLOAT_EQ(Bm25Idf(1, 1), static_cast<float>(std::log(1 + 0.5 / 1.5)));
  EXPECT_FLOAT_EQ(Bm25Idf(2, 3), static_cast<float>(std::log(1.6)));
  EXPECT_FLOAT_EQ(Bm25Idf(10, 1000), static_cast<float>(std::log(1 + 990.5 / 10.5)));
}

TEST(Bm25Test, ScoresMatchHandComputedValues) {
  // Three docs of lengths 4, 3, 2; "quick" in doc0 once and doc1 twice.
  Bm25 sim(1.0f, 3, 9, {2});
  EXPECT_FLOAT_EQ(sim.idf(), 0.47000363f);  // ln(1.6)
  EXPECT_FLOAT_EQ(sim.avgdl(), 3.0f);
  // doc0: tf = 1 / (1 + 1.2 * (0.25 + 0.75 * 4 / 3)) = 0.4
  EXPECT_NEAR(sim.Score(1, LengthToNorm(4)), 0.47000363 * 0.4, 1e-6);
  // doc1: tf = 2 / (2 + 1.2) = 0.625
  EXPECT_NEAR(sim.Score(2, LengthToNorm(3)), 0.47000363 * 0.625, 1e-6);
}

TEST(Bm25Test, ScoresWithinLuceneToleranceOfTextbookFormula) {
  for (double boost : {1.0, 2.5}) {
    for (uint32_t dl : {1u, 3u, 7u, 23u, 24u, 100u, 1000u}) {
      for (float freq : {1.0f, 2.0f, 5.0f, 40.0f}) {
        Bm25 sim(static_cast<float>(boost), 1000, 12345, {37});
        // Long fields are rounded by the norm encoding, as in Lucene.
        double rounded_dl = NormToLength(LengthToNorm(dl));
        double want = ReferenceScore(boost, 37, 1000, 12345, freq, rounded_dl);
        EXPECT_NEAR(sim.Score(freq, LengthToNorm(dl)), want, want * 1e-5)
            << "dl=" << dl << " freq=" << freq;
      }
    }
  }
}

TEST(Bm25Test, PhraseIdfIsSumOfTermIdfs) {
  Bm25 sim(1.0f, 100, 1000, {3, 50});
  EXPECT_FLOAT_EQ(sim.idf(), static_cast<float>(static_cast<double>(Bm25Idf(3, 100)) +
                                                static_cast<double>(Bm25Idf(50, 100))));
}

// The explanation OpenSearch returns for a one-doc index {"f": "foo"} queried with
// {"match": {"f": "foo"}}: 0.2876821 = 0.2876821 (idf) * 1.0 (tf).
TEST(Bm25Test, ExplanationHasOpenSearchShape) {
  Bm25 sim(1.0f, 1, 1, {1});
  Explanation e = sim.Explain(1.0f, LengthToNorm(1), true);
  nlohmann::json j = e.ToJson();
  EXPECT_EQ(j["description"], "score(freq=1.0), computed as boost * idf * tf from:");
  EXPECT_NEAR(j["value"].get<double>(), 0.13076457, 1e-7);
  ASSERT_EQ(j["details"].size(), 2u);  // no boost detail when boost is 1
  EXPECT_EQ(j["details"][0]["description"],
            "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:");
  EXPECT_NEAR(j["details"][0]["value"].get<double>(), 0.2876821, 1e-7);
  EXPECT_EQ(j["details"][0]["details"][0]["description"], "n, number of documents containing term");
  EXPECT_EQ(j["details"][0]["details"][1]["description"],
            "N, total number of documents with field");
  EXPECT_EQ(j["details"][1]["description"],
            "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:");
  EXPECT_NEAR(j["details"][1]["value"].get<double>(), 0.45454544, 1e-7);
  const auto& tf = j["details"][1]["details"];
  ASSERT_EQ(tf.size(), 5u);
  EXPECT_EQ(tf[0]["description"], "freq, occurrences of term within document");
  EXPECT_EQ(tf[1]["description"], "k1, term saturation parameter");
  EXPECT_NEAR(tf[1]["value"].get<double>(), 1.2, 1e-6);
  EXPECT_EQ(tf[2]["description"], "b, length normalization parameter");
  EXPECT_EQ(tf[3]["description"], "dl, length of field");
  EXPECT_EQ(tf[4]["description"], "avgdl, average length of field");

  Bm25 boosted(2.0f, 1, 1, {1});
  nlohmann::json jb = boosted.Explain(1.0f, LengthToNorm(1), true).ToJson();
  ASSERT_EQ(jb["details"].size(), 3u);
  EXPECT_EQ(jb["details"][0]["description"], "boost");
  EXPECT_NEAR(jb["value"].get<double>(), 2 * 0.13076457, 1e-6);
}

}  // namespace
}  // namespace quidditch::engine
