// The approximate sketches of cardinality and percentiles, with their exact serialization so a
// coordinating node can merge shard results.
//
// Thread safety: a sketch is a plain value; one thread at a time may change it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace quidditch::engine::aggs {

// MurmurHash3 x64_128 (first 64 bits) of bytes, as OpenSearch hashes keyword values for
// cardinality; and the 64-bit finalizer (fmix64) it uses for numeric values. Hand-written: no
// installed library provides MurmurHash3.
uint64_t Murmur3Hash64(std::string_view bytes);
uint64_t Murmur3Mix64(uint64_t value);

// HyperLogLog++ as OpenSearch's cardinality aggregation uses it: exact counting of distinct
// hashes ("linear counting" mode) while there are at most 2^precision / 4 of them, then
// HyperLogLog registers of 2^precision 6-bit counters. Merging is exact: the union of two
// sketches does not depend on how the values were split (the registers are a max and the
// exact set a union; an exact set that grows too large turns into the same registers).
class CardinalitySketch {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 18;
  // OpenSearch's HyperLogLogPlusPlus.precisionFromThreshold.
  static int PrecisionFromThreshold(int64_t precision_threshold);

  explicit CardinalitySketch(int precision);

  void AddHash(uint64_t hash);
  void Merge(const CardinalitySketch& other);
  uint64_t Estimate() const;
  int precision() const { return precision_; }
  bool is_exact() const { return !hll_; }

  nlohmann::json ToJson() const;
  static Result<CardinalitySketch> FromJson(const nlohmann::json& j);

 private:
  void Upgrade();
  void AddToRegisters(uint64_t hash);

  int precision_;
  bool hll_ = false;
  std::unordered_set<uint64_t> exact_;
  std::vector<uint8_t> registers_;
};

// A merging t-digest (Dunning) with the k1 (arcsine) scale function, the sketch of OpenSearch's
// percentiles aggregation. Exact (every value its own centroid) while there are few values.
class TDigest {
 public:
  explicit TDigest(double compression = 100.0);

  void Add(double value, double weight = 1.0);
  void Merge(const TDigest& other);
  // The estimated value at quantile q in [0, 1]; NaN when empty.
  double Quantile(double q) const;
  double count() const { return total_weight_ + buffered_weight_; }
  double compression() const { return compression_; }

  nlohmann::json ToJson() const;
  static Result<TDigest> FromJson(const nlohmann::json& j);

 private:
  struct Centroid {
    double mean;
    double weight;
  };
  void Compress() const;

  double compression_;
  // Compressed centroids (sorted by mean) and the unmerged buffer; compressing is logically
  // const (it changes no answer).
  mutable std::vector<Centroid> centroids_;
  mutable std::vector<Centroid> buffer_;
  mutable double total_weight_ = 0;
  mutable double buffered_weight_ = 0;
  double min_ = 0, max_ = 0;
};

}  // namespace quidditch::engine::aggs
