#include "cluster/validation.h"

#include <fmt/format.h>

#include <cctype>

namespace quidditch::cluster {
namespace {

constexpr int32_t kMaxShards = 10000;
constexpr int32_t kMaxReplicas = 10;
constexpr size_t kMaxNameBytes = 255;

// OpenSearch's MetadataCreateIndexService.validateIndexOrAliasName, in its order; `kind` is
// "index" or "alias".
Status ValidateIndexOrAliasName(std::string_view name, std::string_view kind) {
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("Invalid {} name [{}], {}", kind, name, why));
  };
  if (name.empty()) return invalid("must not be empty");
  constexpr std::string_view kForbidden = "\\/*?\"<>| ,";
  if (name.find_first_of(kForbidden) != std::string_view::npos) {
    return invalid(R"(must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?])");
  }
  if (name.find('#') != std::string_view::npos) return invalid("must not contain '#'");
  if (name.find(':') != std::string_view::npos) return invalid("must not contain ':'");
  if (name.front() == '_' || name.front() == '-' || name.front() == '+') {
    return invalid("must not start with '_', '-', or '+'");
  }
  if (name.size() > kMaxNameBytes) {
    return invalid(fmt::format("index name is too long, ({} > {})", name.size(), kMaxNameBytes));
  }
  if (name == "." || name == "..") return invalid("must not be '.' or '..'");
  return Status::OK();
}

}  // namespace

Status ValidateIndexName(std::string_view name) {
  QD_RETURN_IF_ERROR(ValidateIndexOrAliasName(name, "index"));
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument(
          fmt::format("Invalid index name [{}], must be lowercase", name));
    }
  }
  return Status::OK();
}

Status ValidateAliasName(std::string_view name) { return ValidateIndexOrAliasName(name, "alias"); }

bool IsValidTimeValue(std::string_view text) {
  if (text == "-1") return true;
  size_t i = 0;
  bool digits = false, dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot && digits) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return false;
  std::string_view unit = text.substr(i);
  for (std::string_view u : {"nanos", "micros", "ms", "s", "m", "h", "d"}) {
    if (unit == u) return true;
  }
  return false;
}

Status ValidateIndexSettings(const IndexSettings& s) {
  if (s.shards < 1 || s.shards > kMaxShards) {
    return Status::InvalidArgument(fmt::format(
        "Failed to parse value [{}] for setting [index.number_of_shards] must be >= 1 and <= {}",
        s.shards, kMaxShards));
  }
  if (s.replicas < 0 || s.replicas > kMaxReplicas) {
    return Status::InvalidArgument(fmt::format(
        "Failed to parse value [{}] for setting [index.number_of_replicas] must be >= 0 and <= {}",
        s.replicas, kMaxReplicas));
  }
  if (!IsValidTimeValue(s.refresh_interval)) {
    return Status::InvalidArgument(fmt::format(
        "failed to parse setting [index.refresh_interval] with value [{}] as a time value: "
        "unit is missing or unrecognized",
        s.refresh_interval));
  }
  if (s.codec != "default" && s.codec != "best_compression") {
    return Status::InvalidArgument(fmt::format(
        "unknown value for [index.codec] must be one of [default, best_compression] but was: {}",
        s.codec));
  }
  if (!s.other.is_object()) {
    return Status::InvalidArgument("the other index settings must be a JSON object");
  }
  return Status::OK();
}

Status ValidateNodeInfo(const NodeInfo& node) {
  if (node.node_id.empty()) return Status::InvalidArgument("node id must not be empty");
  if (node.node_id.size() > kMaxNameBytes) {
    return Status::InvalidArgument(
        fmt::format("node id [{}] is longer than {} bytes", node.node_id, kMaxNameBytes));
  }
  for (char c : node.node_id) {
    if (c <= ' ' || c >= 0x7f || c == '/') {
      return Status::InvalidArgument(
          fmt::format("node id [{}] must be printable ASCII without spaces or '/'", node.node_id));
    }
  }
  if (!node.roles.master && !node.roles.coordination && !node.roles.data) {
    return Status::InvalidArgument(fmt::format("node [{}] has no role", node.node_id));
  }
  for (int32_t port : {node.grpc_port, node.http_port}) {
    if (port < 0 || port > 65535) {
      return Status::InvalidArgument(
          fmt::format("node [{}] port {} is out of range 0..65535", node.node_id, port));
    }
  }
  return Status::OK();
}

}  // namespace quidditch::cluster
