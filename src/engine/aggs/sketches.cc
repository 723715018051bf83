#include "engine/aggs/sketches.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

inline uint64_t Rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t GetBlock64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];  // little-endian, as Java's murmur3
  return v;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

uint64_t Murmur3Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t Murmur3Hash64(std::string_view bytes) {
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t len = bytes.size();
  const size_t nblocks = len / 16;
  uint64_t h1 = 0, h2 = 0;  // seed 0
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1 = GetBlock64(data + i * 16), k2 = GetBlock64(data + i * 16 + 8);
    k1 *= c1;
    k1 = Rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl64(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = Rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = Rotl64(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + nblocks * 16;
  uint64_t k1 = 0, k2 = 0;
  switch (len & 15) {
    case 15:
      k2 ^= uint64_t{tail[14]} << 48;
      [[fallthrough]];
    case 14:
      k2 ^= uint64_t{tail[13]} << 40;
      [[fallthrough]];
    case 13:
      k2 ^= uint64_t{tail[12]} << 32;
      [[fallthrough]];
    case 12:
      k2 ^= uint64_t{tail[11]} << 24;
      [[fallthrough]];
    case 11:
      k2 ^= uint64_t{tail[10]} << 16;
      [[fallthrough]];
    case 10:
      k2 ^= uint64_t{tail[9]} << 8;
      [[fallthrough]];
    case 9:
      k2 ^= uint64_t{tail[8]};
      k2 *= c2;
      k2 = Rotl64(k2, 33);
      k2 *= c1;
      h2 ^= k2;
      [[fallthrough]];
    case 8:
      k1 ^= uint64_t{tail[7]} << 56;
      [[fallthrough]];
    case 7:
      k1 ^= uint64_t{tail[6]} << 48;
      [[fallthrough]];
    case 6:
      k1 ^= uint64_t{tail[5]} << 40;
      [[fallthrough]];
    case 5:
      k1 ^= uint64_t{tail[4]} << 32;
      [[fallthrough]];
    case 4:
      k1 ^= uint64_t{tail[3]} << 24;
      [[fallthrough]];
    case 3:
      k1 ^= uint64_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      k1 ^= uint64_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      k1 ^= uint64_t{tail[0]};
      k1 *= c1;
      k1 = Rotl64(k1, 31);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = Murmur3Mix64(h1);
  h2 = Murmur3Mix64(h2);
  h1 += h2;
  return h1;
}

// ---------------------------------------------------------------------------------------------
// CardinalitySketch

int CardinalitySketch::PrecisionFromThreshold(int64_t count) {
  if (count < 0) count = 0;
  const int64_t entries = static_cast<int64_t>(std::ceil(static_cast<double>(count) / 0.75));
  const int64_t bytes = std::max<int64_t>(entries * 4, 1);
  int precision = bytes <= 1 ? 0 : 64 - std::countl_zero(static_cast<uint64_t>(bytes - 1));
  return std::clamp(precision, kMinPrecision, kMaxPrecision);
}

CardinalitySketch::CardinalitySketch(int precision)
    : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)) {}

void CardinalitySketch::AddToRegisters(uint64_t hash) {
  const uint64_t index = hash >> (64 - precision_);
  const uint64_t w = (hash << precision_) | (uint64_t{1} << (precision_ - 1));
  const uint8_t rho = static_cast<uint8_t>(std::countl_zero(w) + 1);
  if (registers_[index] < rho) registers_[index] = rho;
}

void CardinalitySketch::Upgrade() {
  hll_ = true;
  registers_.assign(size_t{1} << precision_, 0);
  for (uint64_t h : exact_) AddToRegisters(h);
  exact_.clear();
}

void CardinalitySketch::AddHash(uint64_t hash) {
  if (hll_) {
    AddToRegisters(hash);
    return;
  }
  exact_.insert(hash);
  if (exact_.size() > (size_t{1} << precision_) / 4) Upgrade();
}

void CardinalitySketch::Merge(const CardinalitySketch& other) {
  // REQUIRES equal precisions: both come from the same request.
  if (other.hll_) {
    if (!hll_) Upgrade();
    for (size_t i = 0; i < registers_.size(); ++i) {
      registers_[i] = std::max(registers_[i], other.registers_[i]);
    }
    return;
  }
  for (uint64_t h : other.exact_) AddHash(h);
}

uint64_t CardinalitySketch::Estimate() const {
  if (!hll_) return exact_.size();
  const double m = static_cast<double>(registers_.size());
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  const double e = alpha * m * m / sum;
  // Small range: linear counting on the registers (Flajolet et al.); no HLL++ bias tables.
  if (e <= 2.5 * m && zeros > 0) {
    return static_cast<uint64_t>(std::llround(m * std::log(m / static_cast<double>(zeros))));
  }
  return static_cast<uint64_t>(std::llround(e));
}

nlohmann::json CardinalitySketch::ToJson() const {
  nlohmann::json j = {{"p", precision_}};
  if (!hll_) {
    std::vector<uint64_t> hashes(exact_.begin(), exact_.end());
    std::sort(hashes.begin(), hashes.end());
    j["set"] = hashes;
  } else {
    std::string hex;
    hex.reserve(registers_.size() * 2);
    for (uint8_t r : registers_) {
      hex.push_back(kHex[r >> 4]);
      hex.push_back(kHex[r & 15]);
    }
    j["registers"] = hex;
  }
  return j;
}

Result<CardinalitySketch> CardinalitySketch::FromJson(const nlohmann::json& j) {
  try {
    CardinalitySketch s(j.at("p").get<int>());
    if (j.contains("set")) {
      for (const auto& h : j.at("set")) s.exact_.insert(h.get<uint64_t>());
      if (s.exact_.size() > (size_t{1} << s.precision_) / 4) s.Upgrade();
      return s;
    }
    const std::string hex = j.at("registers").get<std::string>();
    if (hex.size() != (size_t{2} << s.precision_)) {
      return Status::Corruption("cardinality sketch: wrong register count");
    }
    s.hll_ = true;
    s.registers_.resize(size_t{1} << s.precision_);
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    for (size_t i = 0; i < s.registers_.size(); ++i) {
      int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return Status::Corruption("cardinality sketch: bad register");
      s.registers_[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("cardinality sketch: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// TDigest

TDigest::TDigest(double compression) : compression_(compression) {}

void TDigest::Add(double value, double weight) {
  if (std::isnan(value)) return;
  if (count() == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  buffer_.push_back({value, weight});
  buffered_weight_ += weight;
  if (buffer_.size() >= static_cast<size_t>(compression_ * 5)) Compress();
}

void TDigest::Merge(const TDigest& other) {
  if (other.count() == 0) return;
  if (count() == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  other.Compress();
  for (const Centroid& c : other.centroids_) {
    buffer_.push_back(c);
    buffered_weight_ += c.weight;
  }
  Compress();
}

void TDigest::Compress() const {
  if (buffer_.empty()) return;
  std::vector<Centroid> all;
  all.reserve(centroids_.size() + buffer_.size());
  all.insert(all.end(), centroids_.begin(), centroids_.end());
  all.insert(all.end(), buffer_.begin(), buffer_.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const Centroid& a, const Centroid& b) { return a.mean < b.mean; });
  const double total = total_weight_ + buffered_weight_;
  buffer_.clear();
  buffered_weight_ = 0;
  centroids_.clear();
  // k1 scale: k(q) = delta / (2 pi) * asin(2q - 1); a centroid may span one unit of k.
  auto k = [this](double q) { return compression_ / (2 * M_PI) * std::asin(2 * q - 1); };
  double so_far = 0;  // weight before the current centroid
  Centroid cur = all[0];
  double k_lo = k(0);
  for (size_t i = 1; i < all.size(); ++i) {
    const double proposed = cur.weight + all[i].weight;
    const double q_hi = std::min(1.0, (so_far + proposed) / total);
    if (k(q_hi) - k_lo <= 1.0) {
      cur.mean += (all[i].mean - cur.mean) * all[i].weight / proposed;
      cur.weight = proposed;
    } else {
      so_far += cur.weight;
      k_lo = k(std::min(1.0, so_far / total));
      centroids_.push_back(cur);
      cur = all[i];
    }
  }
  centroids_.push_back(cur);
  total_weight_ = total;
}

double TDigest::Quantile(double q) const {
  Compress();
  const size_t n = centroids_.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  if (n == 1) return centroids_[0].mean;
  const auto& c = centroids_;
  const double total = total_weight_;
  const double index = q * total;
  auto weighted = [](double x1, double w1, double x2, double w2) {
    double v = (x1 * w1 + x2 * w2) / (w1 + w2);
    return std::clamp(v, std::min(x1, x2), std::max(x1, x2));
  };
  if (index < 1) return min_;
  if (c[0].weight > 1 && index < c[0].weight / 2) {
    return min_ + (index - 1) / (c[0].weight / 2 - 1) * (c[0].mean - min_);
  }
  if (index > total - 1) return max_;
  if (c[n - 1].weight > 1 && total - index <= c[n - 1].weight / 2) {
    return max_ - (total - index - 1) / (c[n - 1].weight / 2 - 1) * (max_ - c[n - 1].mean);
  }
  double so_far = c[0].weight / 2;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double dw = (c[i].weight + c[i + 1].weight) / 2;
    if (so_far + dw > index) {
      double left_unit = 0;
      if (c[i].weight == 1) {
        if (index - so_far < 0.5) return c[i].mean;
        left_unit = 0.5;
      }
      double right_unit = 0;
      if (c[i + 1].weight == 1) {
        if (so_far + dw - index <= 0.5) return c[i + 1].mean;
        right_unit = 0.5;
      }
      const double z1 = index - so_far - left_unit;
      const double z2 = so_far + dw - index - right_unit;
      return weighted(c[i].mean, z2, c[i + 1].mean, z1);
    }
    so_far += dw;
  }
  const double z1 = index - total - c[n - 1].weight / 2;
  const double z2 = c[n - 1].weight / 2 - z1;
  return weighted(c[n - 1].mean, z1, max_, z2);
}

nlohmann::json TDigest::ToJson() const {
  Compress();
  nlohmann::json cs = nlohmann::json::array();
  for (const Centroid& c : centroids_) cs.push_back({c.mean, c.weight});
  nlohmann::json j = {{"compression", compression_}, {"centroids", cs}};
  if (count() > 0) {
    j["min"] = min_;
    j["max"] = max_;
  }
  return j;
}

Result<TDigest> TDigest::FromJson(const nlohmann::json& j) {
  try {
    TDigest d(j.at("compression").get<double>());
    for (const auto& c : j.at("centroids")) {
      d.centroids_.push_back({c.at(0).get<double>(), c.at(1).get<double>()});
      d.total_weight_ += d.centroids_.back().weight;
    }
    if (!d.centroids_.empty()) {
      d.min_ = j.at("min").get<double>();
      d.max_ = j.at("max").get<double>();
    }
    return d;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("t-digest: ") + e.what());
  }
}

}  // namespace quidditch::engine::aggs
