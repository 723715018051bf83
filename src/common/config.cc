// Configuration loading: YAML file + ${VAR} expansion + environment + flags, one strict
// decoder. See config.h for the contract and docs/configuration.md for the user-facing rules.
//
// How it works: the file is parsed by yaml-cpp and converted into a small tree of `Value`s that
// remembers where each value came from ("conf.yaml:7"). Environment and flag overrides are
// written into the same tree (their source is "environment variable X" / "flag --x"). Then one
// decoder walks the tree against the schema (`kFields`), so every value, wherever it came from,
// gets the same validation and the same error format: "<source>: <dotted.key>: <reason>".
// yaml-cpp exceptions never leave this file.
#include "common/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

extern char** environ;

namespace quidditch {
namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// String helpers

constexpr size_t kMaxQuotedValue = 200;

// `s` in double quotes, with control characters escaped so that messages stay on one line.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  bool truncated = s.size() > kMaxQuotedValue;
  if (truncated) s = s.substr(0, kMaxQuotedValue);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (truncated) out += "...";
  out += '"';
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Messages are one line whatever went into them.
Status OneLine(Status s) {
  if (s.ok()) return s;
  const std::string& m = s.message();
  if (m.find_first_of("\r\n") == std::string::npos) return s;
  std::string out;
  for (char c : m) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return Status::InvalidArgument(out);
}

// "<source>: <path>: <reason>", leaving out empty parts.
Status Invalid(std::string_view source, std::string_view path, std::string_view reason) {
  std::string msg;
  if (!source.empty()) {
    msg += source;
    msg += ": ";
  }
  if (!path.empty()) {
    msg += path;
    msg += ": ";
  }
  msg += reason;
  return Status::InvalidArgument(msg);
}

// ---------------------------------------------------------------------------------------------
// Numbers, durations, sizes

// Parses a decimal integer with an optional leading '-'. The reason on failure is the message
// tail, e.g. `expected an integer, got "abc"`.
Result<int64_t> ParseInteger(std::string_view text) {
  std::string_view s = Trim(text);
  int64_t v = 0;
  bool well_formed = !s.empty();
  size_t start = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (start == s.size()) well_formed = false;
  for (size_t i = start; well_formed && i < s.size(); ++i) {
    if (!IsDigit(s[i])) well_formed = false;
  }
  if (!well_formed) return Status::InvalidArgument("expected an integer, got " + Quote(text));
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument("integer out of range: " + Quote(text));
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Status::InvalidArgument("expected an integer, got " + Quote(text));
  }
  return v;
}

// A non-negative decimal number "123" or "1.25" followed by an optional unit (letters),
// with optional blanks before the unit.
struct NumberWithUnit {
  uint64_t integer = 0;
  uint64_t fraction = 0;    // digits after the point, trailing zeros removed
  int fraction_digits = 0;  // number of digits in `fraction`
  std::string unit;         // lower-cased; empty when absent
};

constexpr int kMaxFractionDigits = 18;

// Returns false when `text` is not of the form above. Sets *too_large when the integer part
// overflows.
bool ParseNumberWithUnit(std::string_view text, NumberWithUnit* out, bool* too_large) {
  *too_large = false;
  std::string_view s = Trim(text);
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, out->integer);
  if (ec == std::errc::result_out_of_range) {
    *too_large = true;
    return true;
  }
  if (ec != std::errc() || ptr != s.data() + i) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start) return false;
    std::string_view digits = s.substr(start, i - start);
    while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
    if (static_cast<int>(digits.size()) > kMaxFractionDigits) return false;
    out->fraction_digits = static_cast<int>(digits.size());
    out->fraction = 0;
    for (char c : digits) out->fraction = out->fraction * 10 + static_cast<uint64_t>(c - '0');
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  size_t unit_start = i;
  while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
  if (i != s.size()) return false;
  out->unit = Lower(s.substr(unit_start));
  return true;
}

// number * multiplier, exactly. Returns false when the product is not a whole number; sets
// *too_large when it does not fit in int64.
bool ScaleExactly(const NumberWithUnit& n, uint64_t multiplier, int64_t* out, bool* too_large) {
  using U128 = unsigned __int128;
  *too_large = false;
  U128 pow10 = 1;
  for (int i = 0; i < n.fraction_digits; ++i) pow10 *= 10;
  U128 frac_scaled = static_cast<U128>(n.fraction) * multiplier;
  if (frac_scaled % pow10 != 0) return false;
  U128 total = static_cast<U128>(n.integer) * multiplier + frac_scaled / pow10;
  if (total > static_cast<U128>(std::numeric_limits<int64_t>::max())) {
    *too_large = true;
    return true;
  }
  *out = static_cast<int64_t>(total);
  return true;
}

struct Unit {
  std::string_view name;
  int64_t multiplier;
};

constexpr Unit kDurationUnits[] = {
    {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
constexpr Unit kSizeUnits[] = {{"tb", int64_t{1} << 40},
                               {"gb", int64_t{1} << 30},
                               {"mb", int64_t{1} << 20},
                               {"kb", int64_t{1} << 10},
                               {"b", 1}};

// Formats `value` with the largest unit that divides it exactly.
template <size_t N>
std::string FormatWithUnit(int64_t value, const Unit (&units)[N], std::string_view zero) {
  if (value == 0) return std::string(zero);
  for (const Unit& u : units) {
    if (value % u.multiplier == 0)
      return std::to_string(value / u.multiplier) + std::string(u.name);
  }
  return std::to_string(value);  // not reached: the last unit is 1
}

// ---------------------------------------------------------------------------------------------
// ${VAR} expansion

bool IsVarStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsVarChar(char c) { return IsVarStart(c) || IsDigit(c); }

// Expands ${VAR} and ${VAR:-default} in `in`; "$${" stands for a literal "${". Returns the
// reason on error.
Result<std::string> Expand(std::string_view in, const std::map<std::string, std::string>& env) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    size_t close = in.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unterminated ${ in " + Quote(in) +
                                     " (write $${ for a literal ${)");
    }
    std::string_view body = in.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::optional<std::string_view> fallback;
    if (size_t sep = body.find(":-"); sep != std::string_view::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    bool valid =
        !name.empty() && IsVarStart(name[0]) && std::all_of(name.begin(), name.end(), IsVarChar);
    if (!valid) {
      return Status::InvalidArgument("invalid variable reference " +
                                     std::string(in.substr(i, close - i + 1)) +
                                     " (expected ${NAME} or ${NAME:-default})");
    }
    auto it = env.find(std::string(name));
    if (fallback.has_value()) {
      // Shell semantics of ":-": the default also replaces a set-but-empty variable.
      out += (it != env.end() && !it->second.empty()) ? std::string_view(it->second) : *fallback;
    } else if (it != env.end()) {
      out += it->second;
    } else {
      return Status::InvalidArgument("undefined environment variable ${" + std::string(name) + "}");
    }
    i = close + 1;
  }
  return out;
}

// "${" in a literal string, escaped so that Expand() gives the literal back.
std::string EscapeForExpansion(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "${") == 0) out += '$';
    out += s[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The value tree

struct Value {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;                                  // kScalar, after ${VAR} expansion
  std::vector<Value> items;                            // kSequence
  std::vector<std::pair<std::string, Value>> entries;  // kMap, in file order
  std::string source;      // where the value was written: "conf.yaml:7", "flag --http-port"
  std::string key_source;  // where its key was written (map entries)
  std::string error;       // deferred ${VAR} expansion error, reported only if the value is used
};

std::string_view KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "nothing (null)";
    case Value::Kind::kScalar:
      return "a scalar";
    case Value::Kind::kSequence:
      return "a list";
    case Value::Kind::kMap:
      return "a map";
  }
  return "?";
}

Value* FindEntry(Value& map, std::string_view key) {
  for (auto& [k, v] : map.entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// The schema

// What the decoder fills in, plus which derived-default keys were set explicitly.
struct Decoded {
  Config config;
  bool node_id_set = false;
  bool raft_node_id_set = false;
  bool raft_data_dir_set = false;
  bool bootstrap_set = false;
  bool masters_set = false;
};

enum class FieldType {
  kString,          // any string, may be empty
  kNonEmptyString,  // a string that must not be empty
  kPort,            // 1..65535
  kPositiveInt,     // int64 > 0
  kBool,            // true | false
  kDuration,        // > 0
  kSize,            // >= 0
  kMode,            // raft | k8s | auto
  kRoles,           // a role name or a non-empty list of distinct role names
  kAddressList,     // list of distinct host:port
};

bool IsListType(FieldType t) { return t == FieldType::kRoles || t == FieldType::kAddressList; }

template <typename T>
using Getter = T* (*)(Decoded&);

using Target = std::variant<Getter<std::string>, Getter<int>, Getter<int64_t>, Getter<bool>,
                            Getter<milliseconds>, Getter<ControlPlaneMode>, Getter<Roles>,
                            Getter<std::vector<std::string>>>;

struct Field {
  std::string_view key;
  FieldType type;
  Target target;
  bool Decoded::*set_flag;  // nullptr when nobody needs to know whether the key was set
};

#define QD_TARGET(type, member) \
  Target(static_cast<Getter<type>>([](Decoded& d) -> type* { return &d.config.member; }))

// In file-format order; ConfigToYaml() emits in this order.
const Field kFields[] = {
    {"cluster.name", FieldType::kNonEmptyString, QD_TARGET(std::string, cluster_name), nullptr},
    {"controlPlane.mode", FieldType::kMode, QD_TARGET(ControlPlaneMode, control_plane.mode),
     nullptr},
    {"controlPlane.raft.nodeId", FieldType::kNonEmptyString,
     QD_TARGET(std::string, control_plane.raft.node_id), &Decoded::raft_node_id_set},
    {"controlPlane.raft.bindAddr", FieldType::kNonEmptyString,
     QD_TARGET(std::string, control_plane.raft.bind_addr), nullptr},
    {"controlPlane.raft.raftPort", FieldType::kPort, QD_TARGET(int, control_plane.raft.raft_port),
     nullptr},
    {"controlPlane.raft.grpcPort", FieldType::kPort, QD_TARGET(int, control_plane.raft.grpc_port),
     nullptr},
    {"controlPlane.raft.dataDir", FieldType::kNonEmptyString,
     QD_TARGET(std::string, control_plane.raft.data_dir), &Decoded::raft_data_dir_set},
    {"controlPlane.raft.bootstrapCluster", FieldType::kBool,
     QD_TARGET(bool, control_plane.raft.bootstrap_cluster), &Decoded::bootstrap_set},
    {"controlPlane.raft.peers", FieldType::kAddressList,
     QD_TARGET(std::vector<std::string>, control_plane.raft.peers), nullptr},
    {"controlPlane.raft.masters", FieldType::kAddressList,
     QD_TARGET(std::vector<std::string>, control_plane.raft.masters), &Decoded::masters_set},
    {"controlPlane.raft.heartbeatTimeout", FieldType::kDuration,
     QD_TARGET(milliseconds, control_plane.raft.heartbeat_timeout), nullptr},
    {"controlPlane.raft.electionTimeout", FieldType::kDuration,
     QD_TARGET(milliseconds, control_plane.raft.election_timeout), nullptr},
    {"controlPlane.raft.commitTimeout", FieldType::kDuration,
     QD_TARGET(milliseconds, control_plane.raft.commit_timeout), nullptr},
    {"controlPlane.raft.snapshotInterval", FieldType::kDuration,
     QD_TARGET(milliseconds, control_plane.raft.snapshot_interval), nullptr},
    {"controlPlane.raft.snapshotThreshold", FieldType::kPositiveInt,
     QD_TARGET(int64_t, control_plane.raft.snapshot_threshold), nullptr},
    {"controlPlane.k8s.namespace", FieldType::kNonEmptyString,
     QD_TARGET(std::string, control_plane.k8s.namespace_), nullptr},
    {"controlPlane.k8s.leaderElect", FieldType::kBool,
     QD_TARGET(bool, control_plane.k8s.leader_elect), nullptr},
    {"controlPlane.k8s.leaseDuration", FieldType::kDuration,
     QD_TARGET(milliseconds, control_plane.k8s.lease_duration), nullptr},
    {"controlPlane.k8s.kubeconfig", FieldType::kString,
     QD_TARGET(std::string, control_plane.k8s.kubeconfig), nullptr},
    {"controlPlane.k8s.healthPort", FieldType::kPort, QD_TARGET(int, control_plane.k8s.health_port),
     nullptr},
    {"controlPlane.k8s.metricsPort", FieldType::kPort,
     QD_TARGET(int, control_plane.k8s.metrics_port), nullptr},
    {"node.nodeId", FieldType::kNonEmptyString, QD_TARGET(std::string, node.node_id),
     &Decoded::node_id_set},
    {"node.nodeType", FieldType::kRoles, QD_TARGET(Roles, node.roles), nullptr},
    {"node.bindAddr", FieldType::kNonEmptyString, QD_TARGET(std::string, node.bind_addr), nullptr},
    {"node.grpcPort", FieldType::kPort, QD_TARGET(int, node.grpc_port), nullptr},
    {"node.httpPort", FieldType::kPort, QD_TARGET(int, node.http_port), nullptr},
    {"node.heartbeatTimeout", FieldType::kDuration, QD_TARGET(milliseconds, node.heartbeat_timeout),
     nullptr},
    {"data.dataDir", FieldType::kNonEmptyString, QD_TARGET(std::string, data.data_dir), nullptr},
    {"data.diagonConfig.maxMemory", FieldType::kSize,
     QD_TARGET(int64_t, data.diagon.max_memory_bytes), nullptr},
    {"data.diagonConfig.cacheSize", FieldType::kSize,
     QD_TARGET(int64_t, data.diagon.cache_size_bytes), nullptr},
};

#undef QD_TARGET

const Field* FindField(std::string_view key) {
  for (const Field& f : kFields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// A section is any proper prefix of a field key ("controlPlane", "controlPlane.raft").
bool IsSection(std::string_view path) {
  for (const Field& f : kFields) {
    if (f.key.size() > path.size() && f.key.substr(0, path.size()) == path &&
        f.key[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

// Edit distance between `a` and `b` (insertions, deletions, substitutions).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The key of the same section that `path` most likely meant ("node.http_port" -> "httpPort",
// "nodes" -> "node"): equal ignoring case, '_' and '-', or at most two edits away. Empty when
// nothing is close.
std::string SuggestKey(std::string_view path) {
  auto normalize = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c != '_' && c != '-') out += c;
    }
    return Lower(out);
  };
  size_t dot = path.rfind('.');
  std::string_view prefix = dot == std::string_view::npos ? "" : path.substr(0, dot + 1);
  std::string wanted = normalize(path.substr(prefix.size()));
  std::vector<std::string> candidates;  // keys and sections
  for (const Field& f : kFields) {
    candidates.emplace_back(f.key);
    for (size_t p = f.key.find('.'); p != std::string_view::npos; p = f.key.find('.', p + 1)) {
      candidates.emplace_back(f.key.substr(0, p));
    }
  }
  std::string best;
  size_t best_distance = std::min<size_t>(2, wanted.size() / 3) + 1;
  for (const std::string& c : candidates) {
    if (c.size() <= prefix.size() || c.compare(0, prefix.size(), prefix) != 0) continue;
    std::string_view rest = std::string_view(c).substr(prefix.size());
    if (rest.find('.') != std::string_view::npos) continue;
    size_t distance = EditDistance(normalize(rest), wanted);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(rest);
    }
  }
  return best;
}

std::string UnknownKeyReason(std::string_view path) {
  std::string reason = "unknown key";
  std::string suggestion = SuggestKey(path);
  if (!suggestion.empty()) reason += " (did you mean " + suggestion + "?)";
  return reason;
}

std::string_view TypeName(FieldType t) {
  switch (t) {
    case FieldType::kString:
    case FieldType::kNonEmptyString:
      return "a string";
    case FieldType::kPort:
    case FieldType::kPositiveInt:
      return "an integer";
    case FieldType::kBool:
      return "true or false";
    case FieldType::kDuration:
      return "a duration";
    case FieldType::kSize:
      return "a byte size";
    case FieldType::kMode:
      return "a mode (raft, k8s or auto)";
    case FieldType::kRoles:
      return "a role or a list of roles";
    case FieldType::kAddressList:
      return "a list of host:port addresses";
  }
  return "a value";
}

// ---------------------------------------------------------------------------------------------
// YAML to Value

// Bounds the work done on hostile input (aliases can make a small file a huge tree).
constexpr int kMaxDepth = 32;
constexpr size_t kMaxNodes = 100'000;

class TreeBuilder {
 public:
  TreeBuilder(std::string source_name, const std::map<std::string, std::string>& env)
      : source_name_(std::move(source_name)), env_(env) {}

  std::string SourceAt(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) return source_name_;
    return source_name_ + ":" + std::to_string(mark.line + 1);
  }

  // Converts `node` (reached through `path`) into `out`. `fallback_source` is used when the
  // node has no position of its own (null values).
  Status Convert(const YAML::Node& node, const std::string& path,
                 const std::string& fallback_source, int depth, Value* out) {
    if (++nodes_ > kMaxNodes) {
      return Invalid(fallback_source, path, "too many values in the configuration");
    }
    if (depth > kMaxDepth) return Invalid(fallback_source, path, "nesting too deep");
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out->kind = Value::Kind::kNull;
        out->source = fallback_source;
        return Status::OK();
      case YAML::NodeType::Scalar: {
        out->kind = Value::Kind::kScalar;
        out->source = SourceAt(node.Mark());
        Result<std::string> expanded = Expand(node.Scalar(), env_);
        if (expanded.ok()) {
          out->scalar = std::move(expanded).value();
        } else {
          out->scalar = node.Scalar();
          out->error = expanded.status().message();
        }
        return Status::OK();
      }
      case YAML::NodeType::Sequence: {
        out->kind = Value::Kind::kSequence;
        out->source = SourceAt(node.Mark());
        size_t index = 0;
        for (const YAML::Node& item : node) {
          std::string item_path = path + "[" + std::to_string(index++) + "]";
          Value v;
          QD_RETURN_IF_ERROR(Convert(item, item_path, out->source, depth + 1, &v));
          out->items.push_back(std::move(v));
        }
        return Status::OK();
      }
      case YAML::NodeType::Map: {
        out->kind = Value::Kind::kMap;
        out->source = SourceAt(node.Mark());
        for (auto it = node.begin(); it != node.end(); ++it) {
          // Copies: it-> yields a temporary proxy.
          YAML::Node key = it->first;
          YAML::Node value = it->second;
          std::string key_source = SourceAt(key.Mark());
          if (!key.IsScalar()) {
            return Invalid(
                key_source, path,
                "keys must be plain names, got " + std::string(key.IsMap()        ? "a map"
                                                               : key.IsSequence() ? "a list"
                                                                                  : "null"));
          }
          std::string name = key.Scalar();
          std::string child_path = path.empty() ? name : path + "." + name;
          if (FindEntry(*out, name) != nullptr) {
            return Invalid(key_source, child_path, "duplicate key");
          }
          // Reported here, before converting a possibly huge value nobody wants.
          // (A map under a field is reported by the decoder as the wrong kind.)
          bool in_section = path.empty() || IsSection(path);
          if (in_section && FindField(child_path) == nullptr && !IsSection(child_path)) {
            return Invalid(key_source, child_path, UnknownKeyReason(child_path));
          }
          Value v;
          QD_RETURN_IF_ERROR(Convert(value, child_path, key_source, depth + 1, &v));
          v.key_source = key_source;
          out->entries.emplace_back(std::move(name), std::move(v));
        }
        return Status::OK();
      }
    }
    return Invalid(fallback_source, path, "unsupported YAML node");
  }

 private:
  std::string source_name_;
  const std::map<std::string, std::string>& env_;
  size_t nodes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Value decoding

// Prefixes a reason-only status with the value's source and key.
Status At(const Value& v, std::string_view path, const Status& reason) {
  if (reason.ok()) return reason;
  return Invalid(v.source, path, reason.message());
}

Result<std::string> ScalarText(const Value& v, std::string_view path, FieldType type) {
  if (v.kind != Value::Kind::kScalar) {
    return Invalid(
        v.source, path,
        "expected " + std::string(TypeName(type)) + ", got " + std::string(KindName(v.kind)));
  }
  if (!v.error.empty()) return Invalid(v.source, path, v.error);
  return v.scalar;
}

Result<int64_t> DecodeInteger(std::string_view text, FieldType type) {
  QD_ASSIGN_OR_RETURN(int64_t n, ParseInteger(text));
  if (type == FieldType::kPort && (n < 1 || n > 65535)) {
    return Status::InvalidArgument("port " + std::to_string(n) +
                                   " out of range (expected 1 to 65535)");
  }
  if (type == FieldType::kPositiveInt && n <= 0) {
    return Status::InvalidArgument("must be greater than 0, got " + std::to_string(n));
  }
  return n;
}

Result<bool> DecodeBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return Status::InvalidArgument("expected true or false, got " + Quote(text));
}

Result<ControlPlaneMode> DecodeMode(std::string_view text) {
  if (text == "raft") return ControlPlaneMode::kRaft;
  if (text == "k8s") return ControlPlaneMode::kK8s;
  if (text == "auto") return ControlPlaneMode::kAuto;
  return Status::InvalidArgument("unknown mode " + Quote(text) + " (expected raft, k8s or auto)");
}

// Checks "host:port" (IPv6 hosts in brackets) and returns the host part.
Result<std::string> SplitAddress(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid address " + Quote(text) +
                                   " (expected host:port, e.g. 10.0.0.1:9300)");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.find_first_of(" \t") != std::string_view::npos) return bad();
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // an IPv6 address must be written in brackets
  }
  if (port.empty() || !std::all_of(port.begin(), port.end(), IsDigit)) return bad();
  Result<int64_t> n = DecodeInteger(port, FieldType::kPort);
  if (!n.ok()) {
    return Status::InvalidArgument("invalid address " + Quote(text) + ": " + n.status().message());
  }
  return std::string(host);
}

Status DecodeRoles(const Value& v, std::string_view path, Roles* out) {
  std::vector<const Value*> items;
  std::vector<std::string> paths;
  if (v.kind == Value::Kind::kScalar) {
    items.push_back(&v);
    paths.emplace_back(path);
  } else if (v.kind == Value::Kind::kSequence) {
    for (size_t i = 0; i < v.items.size(); ++i) {
      items.push_back(&v.items[i]);
      paths.push_back(std::string(path) + "[" + std::to_string(i) + "]");
    }
  } else {
    return Invalid(v.source, path,
                   "expected " + std::string(TypeName(FieldType::kRoles)) + ", got " +
                       std::string(KindName(v.kind)));
  }
  if (items.empty()) {
    return Invalid(v.source, path, "must list at least one role (master, coordination or data)");
  }
  Roles roles;
  for (size_t i = 0; i < items.size(); ++i) {
    QD_ASSIGN_OR_RETURN(std::string name, ScalarText(*items[i], paths[i], FieldType::kString));
    bool* slot = roles.Slot(name);
    if (slot == nullptr) {
      return Invalid(items[i]->source, paths[i],
                     "unknown role " + Quote(name) + " (expected master, coordination or data)");
    }
    if (*slot) return Invalid(items[i]->source, paths[i], "duplicate role " + Quote(name));
    *slot = true;
  }
  *out = roles;
  return Status::OK();
}

Status DecodeAddressList(const Value& v, std::string_view path, std::vector<std::string>* out) {
  if (v.kind != Value::Kind::kSequence) {
    return Invalid(v.source, path,
                   "expected " + std::string(TypeName(FieldType::kAddressList)) + ", got " +
                       std::string(KindName(v.kind)));
  }
  std::vector<std::string> list;
  for (size_t i = 0; i < v.items.size(); ++i) {
    std::string item_path = std::string(path) + "[" + std::to_string(i) + "]";
    const Value& item = v.items[i];
    QD_ASSIGN_OR_RETURN(std::string text, ScalarText(item, item_path, FieldType::kString));
    QD_RETURN_IF_ERROR(At(item, item_path, SplitAddress(text).status()));
    if (std::find(list.begin(), list.end(), text) != list.end()) {
      return Invalid(item.source, item_path, "duplicate address " + Quote(text));
    }
    list.push_back(std::move(text));
  }
  *out = std::move(list);
  return Status::OK();
}

Status DecodeField(const Field& field, const Value& v, const std::string& path, Decoded* d) {
  // A null list means "not set", as if the key were absent (e.g. every item commented out).
  if (field.type == FieldType::kAddressList && v.kind == Value::Kind::kNull) return Status::OK();
  switch (field.type) {
    case FieldType::kRoles:
      QD_RETURN_IF_ERROR(DecodeRoles(v, path, std::get<Getter<Roles>>(field.target)(*d)));
      break;
    case FieldType::kAddressList:
      QD_RETURN_IF_ERROR(
          DecodeAddressList(v, path, std::get<Getter<std::vector<std::string>>>(field.target)(*d)));
      break;
    default: {
      QD_ASSIGN_OR_RETURN(std::string text, ScalarText(v, path, field.type));
      switch (field.type) {
        case FieldType::kString:
          *std::get<Getter<std::string>>(field.target)(*d) = text;
          break;
        case FieldType::kNonEmptyString:
          if (text.empty()) return Invalid(v.source, path, "must not be empty");
          *std::get<Getter<std::string>>(field.target)(*d) = text;
          break;
        case FieldType::kPort: {
          Result<int64_t> n = DecodeInteger(text, field.type);
          QD_RETURN_IF_ERROR(At(v, path, n.status()));
          *std::get<Getter<int>>(field.target)(*d) = static_cast<int>(*n);
          break;
        }
        case FieldType::kPositiveInt: {
          Result<int64_t> n = DecodeInteger(text, field.type);
          QD_RETURN_IF_ERROR(At(v, path, n.status()));
          *std::get<Getter<int64_t>>(field.target)(*d) = *n;
          break;
        }
        case FieldType::kBool: {
          Result<bool> b = DecodeBool(text);
          QD_RETURN_IF_ERROR(At(v, path, b.status()));
          *std::get<Getter<bool>>(field.target)(*d) = *b;
          break;
        }
        case FieldType::kDuration: {
          Result<milliseconds> ms = ParseDuration(text);
          QD_RETURN_IF_ERROR(At(v, path, ms.status()));
          if (ms->count() <= 0) {
            return Invalid(v.source, path, "must be greater than 0, got " + Quote(text));
          }
          *std::get<Getter<milliseconds>>(field.target)(*d) = *ms;
          break;
        }
        case FieldType::kSize: {
          Result<int64_t> bytes = ParseByteSize(text);
          QD_RETURN_IF_ERROR(At(v, path, bytes.status()));
          *std::get<Getter<int64_t>>(field.target)(*d) = *bytes;
          break;
        }
        case FieldType::kMode: {
          Result<ControlPlaneMode> mode = DecodeMode(text);
          QD_RETURN_IF_ERROR(At(v, path, mode.status()));
          *std::get<Getter<ControlPlaneMode>>(field.target)(*d) = *mode;
          break;
        }
        case FieldType::kRoles:
        case FieldType::kAddressList:
          break;  // handled above
      }
    }
  }
  if (field.set_flag != nullptr) d->*field.set_flag = true;
  return Status::OK();
}

Status DecodeMap(const Value& map, const std::string& prefix, Decoded* d) {
  for (const auto& [key, v] : map.entries) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (const Field* field = FindField(path)) {
      QD_RETURN_IF_ERROR(DecodeField(*field, v, path, d));
    } else if (IsSection(path)) {
      if (v.kind == Value::Kind::kNull) continue;  // "node:" with every key commented out
      if (v.kind != Value::Kind::kMap) {
        return Invalid(v.source, path, "expected a map, got " + std::string(KindName(v.kind)));
      }
      QD_RETURN_IF_ERROR(DecodeMap(v, path, d));
    } else {
      return Invalid(v.key_source.empty() ? v.source : v.key_source, path, UnknownKeyReason(path));
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Overrides

// Splits a comma-separated list: items trimmed, an empty item is an error, "" is no items.
Result<std::vector<std::string>> SplitList(std::string_view text) {
  std::vector<std::string> items;
  if (Trim(text).empty()) return items;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item = Trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) {
      return Status::InvalidArgument("empty item in the comma-separated list " + Quote(text));
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

Status CheckSettableKey(std::string_view source, std::string_view key) {
  if (FindField(key) != nullptr) return Status::OK();
  if (IsSection(key)) {
    return Invalid(source, key, "is a section, not a key; set one of its keys (see --help)");
  }
  return Invalid(source, key, UnknownKeyReason(key));
}

// Writes `text` for `key` into the tree, replacing what the file said.
Status ApplyOverride(Value* root, std::string_view key, std::string_view text,
                     const std::string& source) {
  QD_RETURN_IF_ERROR(CheckSettableKey(source, key));
  const Field& field = *FindField(key);
  Value v;
  v.source = source;
  v.key_source = source;
  if (IsListType(field.type)) {
    Result<std::vector<std::string>> items = SplitList(text);
    if (!items.ok()) return Invalid(source, key, items.status().message());
    v.kind = Value::Kind::kSequence;
    for (std::string& item : *items) {
      Value iv;
      iv.kind = Value::Kind::kScalar;
      iv.scalar = std::move(item);
      iv.source = source;
      v.items.push_back(std::move(iv));
    }
  } else {
    v.kind = Value::Kind::kScalar;
    v.scalar = std::string(text);
  }
  Value* node = root;
  size_t start = 0;
  while (true) {
    if (node->kind == Value::Kind::kNull) {
      node->kind = Value::Kind::kMap;
    } else if (node->kind != Value::Kind::kMap) {
      // The file has a scalar or list where a section belongs; the decoder reports that.
      return Status::OK();
    }
    size_t dot = key.find('.', start);
    std::string part(
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    Value* child = FindEntry(*node, part);
    if (dot == std::string_view::npos) {
      if (child != nullptr) {
        *child = std::move(v);
      } else {
        node->entries.emplace_back(std::move(part), std::move(v));
      }
      return Status::OK();
    }
    if (child == nullptr) {
      Value section;
      section.kind = Value::Kind::kMap;
      section.source = source;
      section.key_source = source;
      node->entries.emplace_back(part, std::move(section));
      child = &node->entries.back().second;
    }
    node = child;
    start = dot + 1;
  }
}

struct EnvOverride {
  std::string_view var;
  std::string_view key;
};

// In the order they are applied; NODE_ID sets both node ids.
constexpr EnvOverride kEnvOverrides[] = {
    {"CONTROL_PLANE_MODE", "controlPlane.mode"},
    {"NODE_ID", "node.nodeId"},
    {"NODE_ID", "controlPlane.raft.nodeId"},
    {"RAFT_PORT", "controlPlane.raft.raftPort"},
    {"RAFT_PEERS", "controlPlane.raft.peers"},
    {"BOOTSTRAP_CLUSTER", "controlPlane.raft.bootstrapCluster"},
    {"NAMESPACE", "controlPlane.k8s.namespace"},
    {"LEADER_ELECT", "controlPlane.k8s.leaderElect"},
};

// Command-line flags that set configuration keys.
struct FlagSpec {
  std::string_view name;
  std::string_view keys[2];      // second may be empty
  std::string_view fixed_value;  // non-empty: the flag takes no value and sets this one
};

constexpr FlagSpec kConfigFlags[] = {
    {"--mode", {"controlPlane.mode", ""}, ""},
    {"--node-id", {"node.nodeId", "controlPlane.raft.nodeId"}, ""},
    {"--node-type", {"node.nodeType", ""}, ""},
    {"--bind-addr", {"node.bindAddr", ""}, ""},
    {"--http-port", {"node.httpPort", ""}, ""},
    {"--grpc-port", {"node.grpcPort", ""}, ""},
    {"--raft-port", {"controlPlane.raft.raftPort", ""}, ""},
    {"--data-dir", {"data.dataDir", ""}, ""},
    {"--peers", {"controlPlane.raft.peers", ""}, ""},
    {"--bootstrap", {"controlPlane.raft.bootstrapCluster", ""}, "true"},
    {"--cluster-name", {"cluster.name", ""}, ""},
};

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  buf[sizeof(buf) - 1] = '\0';
  return buf;
}

Result<Config> LoadImpl(std::string_view yaml_text, std::string_view source_name,
                        const CommandLine& cmdline, const std::map<std::string, std::string>& env) {
  std::string name = source_name.empty() ? "<config>" : std::string(source_name);
  Value root;
  root.kind = Value::Kind::kMap;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml_text));
    if (docs.size() > 1) {
      TreeBuilder b(name, env);
      return Invalid(b.SourceAt(docs[1].Mark()), "",
                     "the file holds more than one YAML document; use one");
    }
    if (!docs.empty()) {
      const YAML::Node& doc = docs[0];
      TreeBuilder builder(name, env);
      if (!doc.IsNull() && !doc.IsMap()) {
        return Invalid(builder.SourceAt(doc.Mark()), "",
                       "the top level must be a map of sections (cluster, controlPlane, node, "
                       "data), got " +
                           std::string(doc.IsSequence() ? "a list" : "a scalar"));
      }
      if (doc.IsMap()) QD_RETURN_IF_ERROR(builder.Convert(doc, "", name, 0, &root));
    }
  } catch (const YAML::ParserException& e) {
    std::string src = name;
    if (!e.mark.is_null() && e.mark.line >= 0) src += ":" + std::to_string(e.mark.line + 1);
    return Invalid(src, "", "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return Invalid(name, "", std::string("invalid YAML: ") + e.what());
  }

  for (const EnvOverride& o : kEnvOverrides) {
    auto it = env.find(std::string(o.var));
    if (it == env.end()) continue;
    QD_RETURN_IF_ERROR(
        ApplyOverride(&root, o.key, it->second, "environment variable " + std::string(o.var)));
  }
  for (const CommandLine::Override& o : cmdline.overrides) {
    QD_RETURN_IF_ERROR(ApplyOverride(&root, o.key, o.value, "flag " + o.flag));
  }

  Decoded d;
  QD_RETURN_IF_ERROR(DecodeMap(root, "", &d));

  Config& c = d.config;
  RaftConfig& raft = c.control_plane.raft;
  if (!d.node_id_set) c.node.node_id = HostName();
  if (c.node.node_id.empty()) {
    return Invalid("", "node.nodeId",
                   "must not be empty (the host name is unavailable; set node.nodeId, NODE_ID "
                   "or --node-id)");
  }
  if (!d.raft_node_id_set) raft.node_id = c.node.node_id;
  if (!d.raft_data_dir_set) {
    raft.data_dir = c.data.data_dir;
    if (raft.data_dir.back() != '/') raft.data_dir += '/';
    raft.data_dir += "raft";
  }
  if (!d.bootstrap_set) raft.bootstrap_cluster = raft.peers.empty();
  if (!d.masters_set) {
    raft.masters.clear();
    for (const std::string& peer : raft.peers) {
      Result<std::string> host = SplitAddress(peer);  // validated by the decoder
      if (host.ok()) raft.masters.push_back(*host + ":" + std::to_string(raft.grpc_port));
    }
  }
  return c;
}

Result<std::string> ReadFile(const std::string& path) {
  auto os_error = [&](int err) {
    return Invalid(path, "", "cannot read file: " + std::generic_category().message(err));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error(errno);
  constexpr size_t kMaxFileSize = 16 << 20;
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return os_error(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      ::close(fd);
      return Invalid(path, "", "cannot read file: larger than 16 MiB");
    }
  }
  ::close(fd);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Emitting YAML

// A YAML double-quoted scalar that reads back (after ${VAR} expansion) as `s`.
std::string YamlString(std::string_view s) {
  std::string escaped = EscapeForExpansion(s);
  std::string out = "\"";
  for (unsigned char c : escaped) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string FormatField(const Field& field, Decoded& d) {
  switch (field.type) {
    case FieldType::kString:
    case FieldType::kNonEmptyString:
      return YamlString(*std::get<Getter<std::string>>(field.target)(d));
    case FieldType::kPort:
      return std::to_string(*std::get<Getter<int>>(field.target)(d));
    case FieldType::kPositiveInt:
      return std::to_string(*std::get<Getter<int64_t>>(field.target)(d));
    case FieldType::kBool:
      return *std::get<Getter<bool>>(field.target)(d) ? "true" : "false";
    case FieldType::kDuration:
      return FormatWithUnit(std::get<Getter<milliseconds>>(field.target)(d)->count(),
                            kDurationUnits, "0ms");
    case FieldType::kSize:
      return FormatWithUnit(*std::get<Getter<int64_t>>(field.target)(d), kSizeUnits, "0");
    case FieldType::kMode:
      return std::string(
          ControlPlaneModeName(*std::get<Getter<ControlPlaneMode>>(field.target)(d)));
    case FieldType::kRoles: {
      std::vector<std::string> names = std::get<Getter<Roles>>(field.target)(d)->Names();
      std::string out = "[";
      for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += ", ";
        out += names[i];
      }
      return out + "]";
    }
    case FieldType::kAddressList: {
      const auto& list = *std::get<Getter<std::vector<std::string>>>(field.target)(d);
      std::string out = "[";
      for (size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ", ";
        out += YamlString(list[i]);
      }
      return out + "]";
    }
  }
  return "";
}

}  // namespace

std::string_view ControlPlaneModeName(ControlPlaneMode mode) {
  switch (mode) {
    case ControlPlaneMode::kRaft:
      return "raft";
    case ControlPlaneMode::kK8s:
      return "k8s";
    case ControlPlaneMode::kAuto:
      return "auto";
  }
  return "auto";
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid duration " + Quote(text) + " (" + std::string(why) +
                                   ")");
  };
  constexpr std::string_view kExpected =
      "expected a number followed by ms, s, m, h or d, e.g. 500ms";
  NumberWithUnit n;
  bool too_large = false;
  if (!ParseNumberWithUnit(text, &n, &too_large)) return bad(kExpected);
  if (too_large) return bad("too large");
  int64_t multiplier = 0;
  if (n.unit.empty()) {
    multiplier = 1;  // a bare number is milliseconds
  } else {
    for (const Unit& u : kDurationUnits) {
      if (u.name == n.unit) multiplier = u.multiplier;
    }
  }
  if (multiplier == 0) return bad(kExpected);
  int64_t ms = 0;
  if (!ScaleExactly(n, static_cast<uint64_t>(multiplier), &ms, &too_large)) {
    return bad("not a whole number of milliseconds");
  }
  if (too_large) return bad("too large");
  return milliseconds(ms);
}

Result<int64_t> ParseByteSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid size " + Quote(text) + " (" + std::string(why) + ")");
  };
  constexpr std::string_view kExpected =
      "expected a number of bytes, optionally followed by b, kb, mb, gb or tb, e.g. 512mb";
  if (!Trim(text).empty() && Trim(text)[0] == '-') return bad("must not be negative");
  NumberWithUnit n;
  bool too_large = false;
  if (!ParseNumberWithUnit(text, &n, &too_large)) return bad(kExpected);
  if (too_large) return bad("too large");
  int64_t multiplier = 0;
  if (n.unit.empty()) {
    multiplier = 1;
  } else {
    for (const Unit& u : kSizeUnits) {
      if (u.name == n.unit) multiplier = u.multiplier;
    }
  }
  if (multiplier == 0) return bad(kExpected);
  int64_t bytes = 0;
  if (!ScaleExactly(n, static_cast<uint64_t>(multiplier), &bytes, &too_large)) {
    return bad("not a whole number of bytes");
  }
  if (too_large) return bad("too large");
  return bytes;
}

Result<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine cl;
  auto result = [&]() -> Result<CommandLine> {
    for (int i = 1; i < argc && argv[i] != nullptr; ++i) {
      std::string_view arg = argv[i];
      std::string name;
      std::optional<std::string> inline_value;
      if (arg.size() > 2 && arg.substr(0, 2) == "--") {
        size_t eq = arg.find('=');
        name = std::string(arg.substr(0, eq));
        if (eq != std::string_view::npos) inline_value = std::string(arg.substr(eq + 1));
      } else if (arg.size() > 2 && arg.substr(0, 2) == "-E") {
        name = "-E";
        inline_value = std::string(arg.substr(2));
      } else if (arg == "-E" || arg == "-h") {
        name = std::string(arg);
      } else if (arg.size() > 1 && arg[0] == '-') {
        return Status::InvalidArgument("unknown flag " + std::string(arg) + "; see --help");
      } else {
        return Status::InvalidArgument("unexpected argument " + Quote(arg) +
                                       " (quidditch takes no positional arguments); see --help");
      }

      // Flags without a value.
      auto no_value = [&]() -> Status {
        if (inline_value.has_value()) {
          return Status::InvalidArgument("flag " + name + " does not take a value; see --help");
        }
        return Status::OK();
      };
      // The value of a flag that needs one: "--flag=value" or "--flag value".
      auto take_value = [&]() -> Result<std::string> {
        if (inline_value.has_value()) return *inline_value;
        if (i + 1 >= argc || argv[i + 1] == nullptr ||
            std::string_view(argv[i + 1]).substr(0, 2) == "--") {
          return Status::InvalidArgument("flag " + name + " requires a value; see --help");
        }
        return std::string(argv[++i]);
      };

      if (name == "--help" || name == "-h") {
        QD_RETURN_IF_ERROR(no_value());
        cl.help = true;
      } else if (name == "--version") {
        QD_RETURN_IF_ERROR(no_value());
        cl.version = true;
      } else if (name == "--print-config") {
        QD_RETURN_IF_ERROR(no_value());
        cl.print_config = true;
      } else if (name == "--config") {
        QD_ASSIGN_OR_RETURN(std::string file, take_value());
        if (file.empty()) {
          return Status::InvalidArgument("flag --config requires a file name; see --help");
        }
        cl.config_file = std::move(file);
      } else if (name == "-E" || name == "--set") {
        QD_ASSIGN_OR_RETURN(std::string kv, take_value());
        size_t eq = kv.find('=');
        std::string key(Trim(std::string_view(kv).substr(0, eq)));
        if (eq == std::string::npos || key.empty()) {
          return Status::InvalidArgument("flag " + name + ": expected key=value, got " + Quote(kv));
        }
        QD_RETURN_IF_ERROR(CheckSettableKey("flag " + name, key));
        cl.overrides.push_back({key, kv.substr(eq + 1), name});
      } else {
        const FlagSpec* spec = nullptr;
        for (const FlagSpec& f : kConfigFlags) {
          if (f.name == name) spec = &f;
        }
        if (spec == nullptr) {
          return Status::InvalidArgument("unknown flag " + name + "; see --help");
        }
        std::string value;
        if (!spec->fixed_value.empty()) {
          // "--bootstrap" alone, or "--bootstrap=false" to say it explicitly.
          value = inline_value.value_or(std::string(spec->fixed_value));
        } else {
          QD_ASSIGN_OR_RETURN(value, take_value());
        }
        for (std::string_view key : spec->keys) {
          if (!key.empty()) cl.overrides.push_back({std::string(key), value, name});
        }
      }
    }
    return cl;
  }();
  if (!result.ok()) return OneLine(result.status());
  return result;
}

std::string UsageText() {
  return R"(Usage: quidditch [FLAGS]
       quidditch operator [FLAGS]

Starts a Quidditch node, or (operator) the Kubernetes operator of Kubernetes-native mode.
Configuration comes from built-in defaults, the YAML file given with --config, environment
variables, then flags (later sources win). See docs/configuration.md and docs/kubernetes.md.

Flags:
  --config FILE          Load the YAML configuration file FILE (${VAR} is expanded in values).
  --print-config         Print the effective configuration as YAML and exit.
  -E, --set KEY=VALUE    Set any configuration key, e.g. -E node.httpPort=9201
                         (lists as comma-separated values: -E node.nodeType=master,data).
  --mode MODE            controlPlane.mode: raft, k8s or auto.
  --node-id ID           node.nodeId and controlPlane.raft.nodeId.
  --node-type ROLES      node.nodeType: comma list of master, coordination, data.
  --bind-addr ADDR       node.bindAddr.
  --http-port PORT       node.httpPort.
  --grpc-port PORT       node.grpcPort.
  --raft-port PORT       controlPlane.raft.raftPort.
  --data-dir DIR         data.dataDir.
  --peers HOST:PORT,...  controlPlane.raft.peers.
  --bootstrap            controlPlane.raft.bootstrapCluster=true.
  --cluster-name NAME    cluster.name.
  -h, --help             Print this help and exit.
  --version              Print the version and exit.
Every flag that takes a value accepts "--flag value" and "--flag=value".

Environment variables (override the file, overridden by flags):
  CONTROL_PLANE_MODE     controlPlane.mode
  NODE_ID                node.nodeId and controlPlane.raft.nodeId
  RAFT_PORT              controlPlane.raft.raftPort
  RAFT_PEERS             controlPlane.raft.peers (comma-separated host:port)
  BOOTSTRAP_CLUSTER      controlPlane.raft.bootstrapCluster (true or false)
  NAMESPACE              controlPlane.k8s.namespace
  LEADER_ELECT           controlPlane.k8s.leaderElect (true or false)

Exit status: 0 on success, 2 on a command-line or configuration error.
)";
}

Result<Config> LoadConfigFromString(std::string_view yaml_text, std::string_view source_name,
                                    const CommandLine& cmdline,
                                    const std::map<std::string, std::string>& env) {
  Result<Config> result = [&]() -> Result<Config> {
    try {
      return LoadImpl(yaml_text, source_name, cmdline, env);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("loading the configuration failed: ") + e.what());
    }
  }();
  if (!result.ok()) return OneLine(result.status());
  return result;
}

Result<Config> LoadConfig(const CommandLine& cmdline,
                          const std::map<std::string, std::string>& env) {
  std::string text;
  std::string name;
  if (cmdline.config_file.has_value()) {
    name = *cmdline.config_file;
    Result<std::string> read = ReadFile(name);
    if (!read.ok()) return OneLine(read.status());
    text = std::move(read).value();
  }
  return LoadConfigFromString(text, name, cmdline, env);
}

std::string ConfigToYaml(const Config& config) {
  Decoded d;
  d.config = config;
  std::string out = "# Effective Quidditch configuration (quidditch --print-config).\n";
  std::vector<std::string_view> open;  // the sections of the previous key
  for (const Field& field : kFields) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
      size_t dot = field.key.find('.', start);
      parts.push_back(field.key.substr(
          start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    for (size_t level = common; level + 1 < parts.size(); ++level) {
      out += std::string(2 * level, ' ') + std::string(parts[level]) + ":\n";
    }
    out += std::string(2 * (parts.size() - 1), ' ') + std::string(parts.back()) + ": " +
           FormatField(field, d) + "\n";
    open.assign(parts.begin(), parts.end() - 1);
  }
  return out;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace quidditch
