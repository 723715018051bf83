// Value types of the cluster state (design: ControlPlane interface types).
//
// Everything here is a plain value: copyable, comparable, free of I/O and clocks. Times are
// milliseconds since the Unix epoch, supplied by whoever proposes a command, so that applying
// the same commands always produces the same state.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/roles.h"

namespace quidditch::cluster {

using Json = nlohmann::json;

enum class IndexState { kCreating, kActive, kDeleting };
enum class ShardState { kInitializing, kStarted, kRelocating, kUnassigned };
enum class NodeState { kJoining, kActive, kLeaving, kDown };

// Upper-case wire names ("CREATING", "STARTED", "DOWN", ...) and their inverses; the parse
// functions return nullopt for an unknown name.
std::string_view IndexStateName(IndexState s);
std::string_view ShardStateName(ShardState s);
std::string_view NodeStateName(NodeState s);
std::optional<IndexState> ParseIndexState(std::string_view name);
std::optional<ShardState> ParseShardState(std::string_view name);

// A copy that holds the shard's data and serves it: STARTED, or RELOCATING away.
inline bool IsActive(ShardState s) {
  return s == ShardState::kStarted || s == ShardState::kRelocating;
}
std::optional<NodeState> ParseNodeState(std::string_view name);

struct IndexSettings {
  int32_t shards = 1;                   // number_of_shards: 1..10000, fixed at creation
  int32_t replicas = 1;                 // number_of_replicas: 0..10, dynamic
  std::string refresh_interval = "1s";  // dynamic; "-1" disables periodic refresh
  std::string codec = "default";        // "default" or "best_compression"; fixed at creation
  // Every other index setting, as the data role and the REST layer read them: a JSON object in
  // nested form without the "index." prefix ({"analysis": {...}, "max_result_window": 10000,
  // "translog": {"durability": "async"}}). The cluster core only stores and merges it.
  Json other = Json::object();
  friend bool operator==(const IndexSettings&, const IndexSettings&) = default;
};

// A settings change: only the fields that are set change.
struct IndexSettingsUpdate {
  std::optional<int32_t> shards;  // always rejected: number_of_shards is final
  std::optional<int32_t> replicas;
  std::optional<std::string> refresh_interval;
  std::optional<std::string> codec;  // rejected on an open index, as in OpenSearch
  // Merged into IndexSettings::other key by key, recursively (RFC 7386 merge patch: a null
  // value removes the key).
  std::optional<Json> other;
  friend bool operator==(const IndexSettingsUpdate&, const IndexSettingsUpdate&) = default;
};

// The RFC 7386 merge patch that turns the object `from` into the object `to` (keys only in
// `from` become null; nested objects are diffed recursively).
Json MergePatchBetween(const Json& from, const Json& to);

struct NodeResources {
  int32_t cpu_cores = 0;
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;
  int64_t disk_available = 0;
  friend bool operator==(const NodeResources&, const NodeResources&) = default;
};

struct NodeInfo {
  std::string node_id;
  std::string address;
  int32_t grpc_port = 0;
  int32_t http_port = 0;
  Roles roles;
  NodeResources resources;
  NodeState state = NodeState::kJoining;
  int64_t last_seen_ms = 0;
  friend bool operator==(const NodeInfo&, const NodeInfo&) = default;
};

// A node's periodic report: its state, resources and the time of the report.
struct NodeStatus {
  NodeState state = NodeState::kActive;
  std::optional<NodeResources> resources;
  friend bool operator==(const NodeStatus&, const NodeStatus&) = default;
};

// One copy (primary or replica) of a shard. An UNASSIGNED copy has no node and no allocation
// id; every other copy has both. The number of copies of a shard is always 1 + replicas.
struct ShardCopy {
  bool primary = false;
  ShardState state = ShardState::kUnassigned;
  std::string node_id;
  std::string allocation_id;
  friend bool operator==(const ShardCopy&, const ShardCopy&) = default;
};

struct ShardRouting {
  int32_t shard_id = 0;
  // Exactly one copy has primary == true; it comes first.
  std::vector<ShardCopy> copies;
  // Allocation ids of the copies known to hold every acknowledged write, with the node that
  // holds each. Only these may become primary. When every copy is lost the set is kept, so
  // that a returning node with an in-sync copy can bring the shard back without data loss.
  std::map<std::string, std::string> in_sync;  // allocation id -> node id
  // Incremented whenever a new copy becomes primary.
  int64_t primary_term = 1;

  const ShardCopy& primary() const { return copies.front(); }
  // The copy on `node_id`, or nullptr.
  const ShardCopy* CopyOn(std::string_view node_id) const;
  friend bool operator==(const ShardRouting&, const ShardRouting&) = default;
};

struct ShardRoutingTable {
  std::string index_name;
  std::vector<ShardRouting> shards;  // shards[i].shard_id == i
  friend bool operator==(const ShardRoutingTable&, const ShardRoutingTable&) = default;
};

// An alias of an index (OpenSearch's AliasMetadata). Aliases live on the indices they name,
// as in OpenSearch's IndexMetadata: deleting an index removes its aliases.
struct AliasMetadata {
  Json filter;  // a Query DSL object that searches through the alias add; null for none
  std::string index_routing;   // "" for none
  std::string search_routing;  // "" for none
  // The index writes through the alias go to. Unset: the alias's only index takes writes;
  // several indices with no write index reject them. At most one index per alias has true.
  std::optional<bool> is_write_index;
  std::optional<bool> is_hidden;
  friend bool operator==(const AliasMetadata&, const AliasMetadata&) = default;
};

using Aliases = std::map<std::string, AliasMetadata>;  // alias name -> metadata

struct Index {
  std::string name;
  std::string uuid;
  IndexSettings settings;
  Json mappings = Json::object();  // the OpenSearch mapping document ({"properties": ...})
  ShardRoutingTable routing;
  Aliases aliases;
  // OpenSearch's open/close state (IndexState is the lifecycle). A closed index keeps its
  // shards allocated but serves no reads or writes; its data role closes the shards' engines.
  bool closed = false;
  IndexState state = IndexState::kCreating;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  friend bool operator==(const Index&, const Index&) = default;
};

}  // namespace quidditch::cluster
