#include "engine/search/bm25.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/index/small_float.h"

namespace quidditch::engine {

namespace {

// Java's Float.toString-like rendering is not needed: JSON numbers carry the float value.
nlohmann::json FloatJson(float v) { return static_cast<double>(v); }

Explanation Leaf(float value, std::string description) {
  return Explanation{true, value, std::move(description), {}};
}

std::string FloatString(float v) {
  // Java prints floats with the shortest repr that round-trips; "1.0" for integral values.
  char buf[32];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

nlohmann::json Explanation::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  out["value"] = FloatJson(value);
  out["description"] = description;
  nlohmann::json d = nlohmann::json::array();
  for (const Explanation& e : details) d.push_back(e.ToJson());
  out["details"] = std::move(d);
  return out;
}

Explanation Explanation::NoMatch(std::string description, std::vector<Explanation> details) {
  return Explanation{false, 0.0f, std::move(description), std::move(details)};
}

float Bm25Idf(uint64_t doc_freq, uint64_t doc_count) {
  double df = static_cast<double>(doc_freq);
  double n = static_cast<double>(doc_count);
  return static_cast<float>(std::log(1 + (n - df + 0.5) / (df + 0.5)));
}

Bm25::Bm25(float boost, uint64_t doc_count, uint64_t sum_total_term_freq,
           const std::vector<uint64_t>& doc_freqs)
    : boost_(boost), doc_count_(doc_count), doc_freqs_(doc_freqs) {
  if (doc_freqs.size() == 1) {
    idf_ = Bm25Idf(doc_freqs[0], doc_count);
  } else {
    double sum = 0;  // Lucene sums the float idfs into a double, then rounds once
    for (uint64_t df : doc_freqs) sum += Bm25Idf(df, doc_count);
    idf_ = static_cast<float>(sum);
  }
  avgdl_ = doc_count == 0 ? 0.0f
                          : static_cast<float>(static_cast<double>(sum_total_term_freq) /
                                               static_cast<double>(doc_count));
  for (int i = 0; i < 256; ++i) {
    float length = static_cast<float>(NormToLength(static_cast<uint8_t>(i)));
    cache_[i] = 1.0f / (kBm25K1 * ((1 - kBm25B) + kBm25B * length / avgdl_));
  }
  weight_ = boost_ * idf_;
}

Explanation Bm25::Explain(float freq, uint8_t norm, bool has_norms) const {
  std::vector<Explanation> subs;
  if (boost_ != 1.0f) subs.push_back(Leaf(boost_, "boost"));
  auto idf_one = [&](uint64_t df) {
    return Explanation{
        true,
        Bm25Idf(df, doc_count_),
        "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:",
        {Leaf(static_cast<float>(df), "n, number of documents containing term"),
         Leaf(static_cast<float>(doc_count_), "N, total number of documents with field")}};
  };
  if (doc_freqs_.size() == 1) {
    subs.push_back(idf_one(doc_freqs_[0]));
  } else {
    Explanation sum{true, idf_, "idf, sum of:", {}};
    for (uint64_t df : doc_freqs_) sum.details.push_back(idf_one(df));
    subs.push_back(std::move(sum));
  }
  std::vector<Explanation> tf;
  tf.push_back(Leaf(freq, "freq, occurrences of term within document"));
  tf.push_back(Leaf(kBm25K1, "k1, term saturation parameter"));
  tf.push_back(Leaf(kBm25B, "b, length normalization parameter"));
  float dl = static_cast<float>(NormToLength(norm));
  if (!has_norms) {
    tf.push_back(Leaf(1.0f, "dl, length of field"));
  } else if (norm > 39) {
    tf.push_back(Leaf(dl, "dl, length of field (approximate)"));
  } else {
    tf.push_back(Leaf(dl, "dl, length of field"));
  }
  tf.push_back(Leaf(avgdl_, "avgdl, average length of field"));
  float norm_inverse = 1.0f / (kBm25K1 * ((1 - kBm25B) + kBm25B * dl / avgdl_));
  subs.push_back(Explanation{
      true, 1.0f - 1.0f / (1 + freq * norm_inverse),
      "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:", std::move(tf)});
  return Explanation{
      true, Score(freq, norm),
      "score(freq=" + FloatString(freq) + "), computed as boost * idf * tf from:", std::move(subs)};
}

}  // namespace quidditch::engine
