// BM25 as Lucene 9's BM25Similarity computes it (k1 = 1.2, b = 0.75), float step for float step,
// so that scores equal Lucene's / OpenSearch's: the idf in double then rounded to float, the
// per-norm-byte cache 1 / (k1 * ((1 - b) + b * dl / avgdl)) in float, and the score as
// weight - weight / (1 + freq * normInverse) with weight = boost * idf.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace quidditch::engine {

// One explanation node in OpenSearch's "_explanation" shape.
struct Explanation {
  bool match = true;
  float value = 0;
  std::string description;
  std::vector<Explanation> details;

  nlohmann::json ToJson() const;
  static Explanation NoMatch(std::string description, std::vector<Explanation> details = {});
};

inline constexpr float kBm25K1 = 1.2f;
inline constexpr float kBm25B = 0.75f;

// Lucene's BM25Similarity.idf: (float) log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)).
float Bm25Idf(uint64_t doc_freq, uint64_t doc_count);

// The statistics-bound scorer of one term (or one phrase: idf is then the sum of the terms'
// idfs, summed in double and rounded to float as Lucene does). Immutable, thread-safe.
class Bm25 {
 public:
  struct TermStat {
    uint64_t doc_freq = 0;
  };
  // `doc_count` and `sum_total_term_freq` are the field's statistics summed over the leaves.
  Bm25(float boost, uint64_t doc_count, uint64_t sum_total_term_freq,
       const std::vector<uint64_t>& doc_freqs);

  // `norm` is the doc's norm byte; fields without norms pass 1 (Lucene's default).
  float Score(float freq, uint8_t norm) const {
    return weight_ - weight_ / (1.0f + freq * cache_[norm]);
  }
  float weight() const { return weight_; }
  float idf() const { return idf_; }
  float avgdl() const { return avgdl_; }

  // "score(freq=...), computed as boost * idf * tf from:" with Lucene's details.
  Explanation Explain(float freq, uint8_t norm, bool has_norms) const;

 private:
  float boost_;
  float idf_;
  float avgdl_;
  float weight_;
  uint64_t doc_count_;
  std::vector<uint64_t> doc_freqs_;
  std::array<float, 256> cache_;
};

}  // namespace quidditch::engine
