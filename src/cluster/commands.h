// Commands: every change to the cluster state is one of these values. They are what the Raft
// log carries and what the Kubernetes operator derives from custom resources; `Apply()`
// (cluster/apply.h) turns a state and a command into the next state.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cluster/types.h"

namespace quidditch::cluster {

// Creating an index that exists with the same uuid is a no-op that succeeds: a retried
// proposal. With another uuid it is AlreadyExists.
struct CreateIndexCmd {
  std::string name;
  std::string uuid;  // chosen by the proposer; must be non-empty
  IndexSettings settings;
  Json mappings = Json::object();
  Aliases aliases;  // checked as UpdateAliasesCmd checks its add actions
  friend bool operator==(const CreateIndexCmd&, const CreateIndexCmd&) = default;
};

struct DeleteIndexCmd {
  std::string name;
  friend bool operator==(const DeleteIndexCmd&, const DeleteIndexCmd&) = default;
};

struct UpdateIndexSettingsCmd {
  std::string name;
  IndexSettingsUpdate update;
  friend bool operator==(const UpdateIndexSettingsCmd&, const UpdateIndexSettingsCmd&) = default;
};

// Merges `mappings` into the index's mappings: new fields are added; a field whose type
// would change is a Conflict.
struct PutMappingCmd {
  std::string name;
  Json mappings = Json::object();
  friend bool operator==(const PutMappingCmd&, const PutMappingCmd&) = default;
};

// One action of an `_aliases` request.
struct AliasAction {
  // kRemoveIndex deletes `index` (OpenSearch's `remove_index`; `alias` is unused).
  enum class Type { kAdd, kRemove, kRemoveIndex };
  Type type = Type::kAdd;
  std::string index;
  std::string alias;
  AliasMetadata metadata;   // kAdd: replaces the alias's metadata on the index
  bool must_exist = false;  // kRemove: a missing alias is NotFound; otherwise a no-op
  friend bool operator==(const AliasAction&, const AliasAction&) = default;
};

// Applies the actions in order, all or nothing (OpenSearch's atomic alias swap). An alias may
// not have the name of an index, and at most one index per alias is its write index. As in
// OpenSearch, the indices of kRemoveIndex actions go first, wherever those actions stand: another
// action on one of them is NotFound, and an alias may take the name of a removed index.
struct UpdateAliasesCmd {
  std::vector<AliasAction> actions;
  friend bool operator==(const UpdateAliasesCmd&, const UpdateAliasesCmd&) = default;
};

// Closes or opens an index (`_close`, `_open`). Setting the state it already has succeeds.
struct SetIndexClosedCmd {
  std::string name;
  bool closed = true;
  friend bool operator==(const SetIndexClosedCmd&, const SetIndexClosedCmd&) = default;
};

enum class TemplateKind { kComposable, kLegacy };  // `_index_template`, `_template`

// Stores an index template, replacing one of the same name unless `create` (then an existing
// one is AlreadyExists). The body is kept as given: the REST layer validated it.
struct PutTemplateCmd {
  TemplateKind kind = TemplateKind::kComposable;
  std::string name;
  Json body = Json::object();
  bool create = false;
  friend bool operator==(const PutTemplateCmd&, const PutTemplateCmd&) = default;
};

// Removes an index template; an unknown name is NotFound.
struct DeleteTemplateCmd {
  TemplateKind kind = TemplateKind::kComposable;
  std::string name;
  friend bool operator==(const DeleteTemplateCmd&, const DeleteTemplateCmd&) = default;
};

// Adds a node, or refreshes a known one (a restarted node registers again). The node becomes
// ACTIVE.
struct RegisterNodeCmd {
  NodeInfo node;
  friend bool operator==(const RegisterNodeCmd&, const RegisterNodeCmd&) = default;
};

// Removes a node; its shard copies fail.
struct UnregisterNodeCmd {
  std::string node_id;
  friend bool operator==(const UnregisterNodeCmd&, const UnregisterNodeCmd&) = default;
};

// A heartbeat or a state change of a node. DOWN fails the node's shard copies.
struct UpdateNodeStatusCmd {
  std::string node_id;
  NodeStatus status;
  friend bool operator==(const UpdateNodeStatusCmd&, const UpdateNodeStatusCmd&) = default;
};

// Assigns an unassigned copy of a shard to a node: the primary if it is unassigned, else a
// replica. The copy starts INITIALIZING.
struct AllocateShardCmd {
  std::string index;
  int32_t shard_id = 0;
  std::string node_id;
  friend bool operator==(const AllocateShardCmd&, const AllocateShardCmd&) = default;
};

// Removes the copy of a shard on a node (it becomes UNASSIGNED). A removed primary is replaced
// by an in-sync started replica when there is one.
struct DeallocateShardCmd {
  std::string index;
  int32_t shard_id = 0;
  std::string node_id;
  friend bool operator==(const DeallocateShardCmd&, const DeallocateShardCmd&) = default;
};

// Moves the copy of a shard on a node to `state`: INITIALIZING -> STARTED (the copy joins the
// in-sync set), STARTED <-> RELOCATING, or any -> UNASSIGNED (the copy failed).
struct UpdateShardStateCmd {
  std::string index;
  int32_t shard_id = 0;
  std::string node_id;
  ShardState state = ShardState::kStarted;
  friend bool operator==(const UpdateShardStateCmd&, const UpdateShardStateCmd&) = default;
};

// Sets the cluster's uuid once (ClusterState::cluster_uuid): the Raft leader proposes one when it
// finds the state without. Setting the uuid the state already has succeeds and changes nothing;
// any other uuid is a Conflict (the first committed proposal wins).
struct SetClusterUuidCmd {
  std::string uuid;  // must be non-empty
  friend bool operator==(const SetClusterUuidCmd&, const SetClusterUuidCmd&) = default;
};

using CommandOp =
    std::variant<CreateIndexCmd, DeleteIndexCmd, UpdateIndexSettingsCmd, PutMappingCmd,
                 UpdateAliasesCmd, SetIndexClosedCmd, PutTemplateCmd, DeleteTemplateCmd,
                 RegisterNodeCmd, UnregisterNodeCmd, UpdateNodeStatusCmd, AllocateShardCmd,
                 DeallocateShardCmd, UpdateShardStateCmd, SetClusterUuidCmd>;

struct Command {
  // When the proposer made the command (ms since the epoch). Apply() stamps created/updated
  // and last-seen times with it; it never reads a clock.
  int64_t timestamp_ms = 0;
  CommandOp op;
  friend bool operator==(const Command&, const Command&) = default;
};

// The wire name of a command ("CreateIndex", "AllocateShard", ...).
std::string_view CommandName(const Command& command);

}  // namespace quidditch::cluster
