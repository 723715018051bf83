#include "cluster/apply.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "cluster/validation.h"

namespace quidditch::cluster {
namespace {

std::string ShardName(std::string_view index, int32_t shard_id) {
  return fmt::format("[{}][{}]", index, shard_id);
}

// Deep-merges mapping `update` into `target`. Objects merge key by key; a field whose "type"
// differs is a Conflict, as OpenSearch's "mapper [f] cannot be changed from type [a] to [b]".
Status MergeMappings(Json& target, const Json& update, const std::string& path) {
  for (auto it = update.begin(); it != update.end(); ++it) {
    const std::string& key = it.key();
    std::string field_path = path;
    if (key != "properties" && key != "fields") {
      field_path = path.empty() ? key : path + "." + key;
    }
    auto existing = target.find(key);
    if (existing == target.end()) {
      target[key] = *it;
      continue;
    }
    if (existing->is_object() && it->is_object()) {
      QD_RETURN_IF_ERROR(MergeMappings(*existing, *it, field_path));
      continue;
    }
    if (key == "type" && *existing != *it) {
      return Status::Conflict(fmt::format("mapper [{}] cannot be changed from type [{}] to [{}]",
                                          path, existing->get<std::string>(),
                                          it->is_string() ? it->get<std::string>() : it->dump()));
    }
    *existing = *it;
  }
  return Status::OK();
}

// A working copy of a state that one transition mutates. Indices are copied on first write;
// untouched indices stay shared with the previous state.
class Transition {
 public:
  Transition(const ClusterState& base, int64_t timestamp_ms)
      : state_(base), timestamp_ms_(timestamp_ms) {
    state_.version = base.version + 1;
  }

  Status Run(const Command& command) {
    timestamp_ms_ = command.timestamp_ms;
    return std::visit([this](const auto& op) { return Do(op); }, command.op);
  }

  ApplyResult Finish() && {
    return ApplyResult{std::make_shared<const ClusterState>(std::move(state_)), std::move(events_)};
  }

 private:
  // --- helpers ------------------------------------------------------------------------------

  void Emit(EventType type, std::string index, std::string node_id, int32_t shard_id = -1,
            bool primary = false) {
    events_.push_back(ClusterStateEvent{type, state_.version, timestamp_ms_, std::move(index),
                                        std::move(node_id), shard_id, primary, nullptr});
  }

  Result<Index*> MutableIndex(std::string_view name) {
    auto it = state_.indices.find(std::string(name));
    if (it == state_.indices.end()) {
      return Status::NotFound(fmt::format("no such index [{}]", name));
    }
    auto owned = owned_.find(it->first);
    if (owned != owned_.end()) return owned->second.get();
    auto copy = std::make_shared<Index>(*it->second);
    owned_[it->first] = copy;
    it->second = copy;
    return copy.get();
  }

  Result<ShardRouting*> MutableShard(std::string_view index, int32_t shard_id) {
    QD_ASSIGN_OR_RETURN(Index * idx, MutableIndex(index));
    if (shard_id < 0 || shard_id >= static_cast<int32_t>(idx->routing.shards.size())) {
      return Status::InvalidArgument(
          fmt::format("shard id [{}] out of range [0, {}) for index [{}]", shard_id,
                      idx->routing.shards.size(), index));
    }
    return &idx->routing.shards[shard_id];
  }

  Result<size_t> CopyIndexOn(const ShardRouting& shard, std::string_view index,
                             std::string_view node_id) {
    for (size_t i = 0; i < shard.copies.size(); ++i) {
      const ShardCopy& c = shard.copies[i];
      if (c.state != ShardState::kUnassigned && c.node_id == node_id) return i;
    }
    return Status::NotFound(fmt::format("shard {} has no copy on node [{}]",
                                        ShardName(index, shard.shard_id), node_id));
  }

  bool IsAlias(std::string_view name) const {
    for (const auto& [_, index] : state_.indices) {
      if (index->aliases.count(std::string(name)) > 0) return true;
    }
    return false;
  }

  // An alias `alias` may be added to index `index`: a valid name that no index has, and a
  // filter that is an object when there is one.
  Status CheckAlias(const std::string& alias, const std::string& index,
                    const AliasMetadata& metadata) const {
    QD_RETURN_IF_ERROR(ValidateAliasName(alias));
    if (alias == index || state_.FindIndex(alias) != nullptr) {
      return Status::InvalidArgument(fmt::format(
          "Invalid alias name [{}]: an index or data stream exists with the same name as the "
          "alias",
          alias));
    }
    if (!metadata.filter.is_null() && !metadata.filter.is_object()) {
      return Status::InvalidArgument(
          fmt::format("failed to parse filter for alias [{}]: expected an object", alias));
    }
    return Status::OK();
  }

  // At most one write index per alias (OpenSearch: "alias [a] has more than one write index
  // [x,y]").
  Status CheckWriteIndices() const {
    std::map<std::string, std::vector<std::string>> writers;
    for (const auto& [name, index] : state_.indices) {
      for (const auto& [alias, metadata] : index->aliases) {
        if (metadata.is_write_index.value_or(false)) writers[alias].push_back(name);
      }
    }
    for (const auto& [alias, indices] : writers) {
      if (indices.size() > 1) {
        return Status::InvalidArgument(fmt::format("alias [{}] has more than one write index [{}]",
                                                   alias, fmt::join(indices, ",")));
      }
    }
    return Status::OK();
  }

  std::string NewAllocationId() { return fmt::format("a{}", state_.next_allocation_id++); }

  void Touch(Index& index) { index.updated_at_ms = timestamp_ms_; }

  // The copy at `pos` leaves its node: it becomes UNASSIGNED. A failed primary is replaced by
  // an in-sync active replica when there is one; replicas still recovering from the old
  // primary fail with it.
  void FailCopy(Index& index, ShardRouting& shard, size_t pos) {
    ShardCopy& failed = shard.copies[pos];
    const bool was_primary = failed.primary;
    const std::string allocation_id = failed.allocation_id;
    Emit(EventType::kShardFailed, index.name, failed.node_id, shard.shard_id, was_primary);
    failed.state = ShardState::kUnassigned;
    failed.node_id.clear();
    failed.allocation_id.clear();

    // Keep the copy's in-sync entry only when no active in-sync copy remains: then it may be
    // the one copy that holds every acknowledged write, and its node may come back.
    bool other_in_sync_active =
        std::any_of(shard.copies.begin(), shard.copies.end(), [&](const ShardCopy& c) {
          return IsActive(c.state) && shard.in_sync.count(c.allocation_id) > 0;
        });
    if (other_in_sync_active) shard.in_sync.erase(allocation_id);

    if (!was_primary) return;
    auto promoted =
        std::find_if(shard.copies.begin() + 1, shard.copies.end(), [&](const ShardCopy& c) {
          return IsActive(c.state) && shard.in_sync.count(c.allocation_id) > 0;
        });
    if (promoted != shard.copies.end()) {
      std::swap(shard.copies.front(), *promoted);
      shard.copies.front().primary = true;
      promoted->primary = false;
      ++shard.primary_term;
      Emit(EventType::kShardStarted, index.name, shard.copies.front().node_id, shard.shard_id,
           /*primary=*/true);
    }
    // Replicas recovering from the lost primary cannot finish: they fail too.
    for (size_t i = 1; i < shard.copies.size(); ++i) {
      if (shard.copies[i].state == ShardState::kInitializing) FailCopy(index, shard, i);
    }
  }

  // Fails every copy on `node_id` in every index.
  void FailCopiesOnNode(const std::string& node_id) {
    std::vector<std::string> names;
    for (const auto& [name, index] : state_.indices) {
      for (const ShardRouting& shard : index->routing.shards) {
        if (shard.CopyOn(node_id) != nullptr) {
          names.push_back(name);
          break;
        }
      }
    }
    for (const std::string& name : names) {
      Index* index = MutableIndex(name).value();  // found above
      for (ShardRouting& shard : index->routing.shards) {
        for (size_t i = 0; i < shard.copies.size(); ++i) {
          const ShardCopy& c = shard.copies[i];
          if (c.state != ShardState::kUnassigned && c.node_id == node_id) {
            FailCopy(*index, shard, i);
            break;
          }
        }
      }
      Touch(*index);
    }
  }

  void MaybeActivate(Index& index) {
    if (index.state != IndexState::kCreating) return;
    for (const ShardRouting& shard : index.routing.shards) {
      if (!IsActive(shard.primary().state)) return;
    }
    index.state = IndexState::kActive;
    Emit(EventType::kIndexModified, index.name, "");
  }

  // --- commands -----------------------------------------------------------------------------

  Status Do(const CreateIndexCmd& cmd) {
    QD_RETURN_IF_ERROR(ValidateIndexName(cmd.name));
    QD_RETURN_IF_ERROR(ValidateIndexSettings(cmd.settings));
    if (cmd.uuid.empty()) return Status::InvalidArgument("index uuid must not be empty");
    if (!cmd.mappings.is_object()) {
      return Status::InvalidArgument("mappings must be a JSON object");
    }
    if (const Index* existing = state_.FindIndex(cmd.name)) {
      // The same proposal applied twice (a client retried after losing the answer to a
      // leader change) changes nothing and succeeds.
      if (existing->uuid == cmd.uuid) return Status::OK();
      return Status::AlreadyExists(
          fmt::format("index [{}/{}] already exists", existing->name, existing->uuid));
    }
    if (IsAlias(cmd.name)) {
      return Status::InvalidArgument(
          fmt::format("Invalid index name [{}], already exists as alias", cmd.name));
    }
    for (const auto& [alias, metadata] : cmd.aliases) {
      QD_RETURN_IF_ERROR(CheckAlias(alias, cmd.name, metadata));
    }
    auto index = std::make_shared<Index>();
    index->name = cmd.name;
    index->uuid = cmd.uuid;
    index->settings = cmd.settings;
    index->mappings = cmd.mappings;
    index->aliases = cmd.aliases;
    index->state = IndexState::kCreating;
    index->created_at_ms = index->updated_at_ms = timestamp_ms_;
    index->routing.index_name = cmd.name;
    for (int32_t s = 0; s < cmd.settings.shards; ++s) {
      ShardRouting shard;
      shard.shard_id = s;
      shard.copies.resize(1 + cmd.settings.replicas);
      shard.copies.front().primary = true;
      index->routing.shards.push_back(std::move(shard));
    }
    owned_[cmd.name] = index;
    state_.indices[cmd.name] = index;
    QD_RETURN_IF_ERROR(CheckWriteIndices());
    Emit(EventType::kIndexCreated, cmd.name, "");
    return Status::OK();
  }

  Status Do(const UpdateAliasesCmd& cmd) {
    if (cmd.actions.empty()) {
      return Status::InvalidArgument("Validation Failed: 1: no aliases actions specified;");
    }
    for (const AliasAction& action : cmd.actions) {
      if (action.type == AliasAction::Type::kRemoveIndex) {
        QD_RETURN_IF_ERROR(RemoveIndex(action.index));
      }
    }
    std::set<std::string> touched;
    for (const AliasAction& action : cmd.actions) {
      if (action.type == AliasAction::Type::kRemoveIndex) continue;
      QD_ASSIGN_OR_RETURN(Index * index, MutableIndex(action.index));
      if (action.type == AliasAction::Type::kAdd) {
        QD_RETURN_IF_ERROR(CheckAlias(action.alias, action.index, action.metadata));
        index->aliases[action.alias] = action.metadata;
      } else if (index->aliases.erase(action.alias) == 0 && action.must_exist) {
        return Status::NotFound(fmt::format("aliases [{}] missing", action.alias));
      }
      touched.insert(action.index);
    }
    QD_RETURN_IF_ERROR(CheckWriteIndices());
    for (const std::string& name : touched) {
      Touch(*MutableIndex(name).value());  // found above
      Emit(EventType::kIndexModified, name, "");
    }
    return Status::OK();
  }

  std::map<std::string, Json>& Templates(TemplateKind kind) {
    return kind == TemplateKind::kComposable ? state_.index_templates : state_.legacy_templates;
  }

  Status Do(const PutTemplateCmd& cmd) {
    if (cmd.name.empty()) return Status::InvalidArgument("index template name must not be empty");
    if (!cmd.body.is_object()) return Status::InvalidArgument("index template must be an object");
    auto [it, inserted] = Templates(cmd.kind).try_emplace(cmd.name, cmd.body);
    if (!inserted) {
      if (cmd.create) {
        return Status::AlreadyExists(fmt::format("index template [{}] already exists", cmd.name));
      }
      it->second = cmd.body;
    }
    return Status::OK();
  }

  Status Do(const DeleteTemplateCmd& cmd) {
    if (Templates(cmd.kind).erase(cmd.name) == 0) {
      return Status::NotFound(fmt::format("index_template [{}] missing", cmd.name));
    }
    return Status::OK();
  }

  Status Do(const SetClusterUuidCmd& cmd) {
    if (cmd.uuid.empty()) return Status::InvalidArgument("cluster uuid must not be empty");
    if (state_.cluster_uuid.empty()) state_.cluster_uuid = cmd.uuid;
    if (state_.cluster_uuid != cmd.uuid) {
      return Status::Conflict(
          fmt::format("the cluster uuid is already [{}], not [{}]", state_.cluster_uuid, cmd.uuid));
    }
    return Status::OK();
  }

  Status Do(const SetIndexClosedCmd& cmd) {
    QD_ASSIGN_OR_RETURN(Index * index, MutableIndex(cmd.name));
    if (index->closed == cmd.closed) return Status::OK();
    index->closed = cmd.closed;
    Touch(*index);
    Emit(EventType::kIndexModified, cmd.name, "");
    return Status::OK();
  }

  Status Do(const DeleteIndexCmd& cmd) { return RemoveIndex(cmd.name); }

  Status RemoveIndex(const std::string& name) {
    if (state_.indices.erase(name) == 0) {
      return Status::NotFound(fmt::format("no such index [{}]", name));
    }
    owned_.erase(name);
    Emit(EventType::kIndexDeleted, name, "");
    return Status::OK();
  }

  Status Do(const UpdateIndexSettingsCmd& cmd) {
    QD_ASSIGN_OR_RETURN(Index * index, MutableIndex(cmd.name));
    const IndexSettingsUpdate& u = cmd.update;
    if (u.shards && *u.shards != index->settings.shards) {
      return Status::InvalidArgument(
          "final index setting [index.number_of_shards], not updateable");
    }
    if (u.codec && *u.codec != index->settings.codec) {
      return Status::InvalidArgument(fmt::format(
          "Can't update non dynamic settings [[index.codec]] for open indices [[{}]]", cmd.name));
    }
    IndexSettings next = index->settings;
    if (u.replicas) next.replicas = *u.replicas;
    if (u.refresh_interval) next.refresh_interval = *u.refresh_interval;
    if (u.other) next.other.merge_patch(*u.other);
    QD_RETURN_IF_ERROR(ValidateIndexSettings(next));
    for (ShardRouting& shard : index->routing.shards) {
      ResizeReplicas(*index, shard, next.replicas);
    }
    index->settings = next;
    Touch(*index);
    Emit(EventType::kIndexModified, cmd.name, "");
    return Status::OK();
  }

  // Adds unassigned replica copies, or removes replicas: unassigned ones first, then
  // initializing, then started, always from the back.
  void ResizeReplicas(Index& index, ShardRouting& shard, int32_t replicas) {
    const size_t want = 1 + static_cast<size_t>(replicas);
    while (shard.copies.size() < want) shard.copies.emplace_back();
    for (ShardState victim : {ShardState::kUnassigned, ShardState::kInitializing,
                              ShardState::kRelocating, ShardState::kStarted}) {
      for (size_t i = shard.copies.size(); i-- > 1 && shard.copies.size() > want;) {
        ShardCopy& c = shard.copies[i];
        if (c.state != victim) continue;
        if (victim != ShardState::kUnassigned) {
          Emit(EventType::kShardFailed, index.name, c.node_id, shard.shard_id, false);
          shard.in_sync.erase(c.allocation_id);
        }
        shard.copies.erase(shard.copies.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }

  Status Do(const PutMappingCmd& cmd) {
    if (!cmd.mappings.is_object()) {
      return Status::InvalidArgument("mappings must be a JSON object");
    }
    QD_ASSIGN_OR_RETURN(Index * index, MutableIndex(cmd.name));
    Json merged = index->mappings;
    QD_RETURN_IF_ERROR(MergeMappings(merged, cmd.mappings, ""));
    index->mappings = std::move(merged);
    Touch(*index);
    Emit(EventType::kIndexModified, cmd.name, "");
    return Status::OK();
  }

  Status Do(const RegisterNodeCmd& cmd) {
    QD_RETURN_IF_ERROR(ValidateNodeInfo(cmd.node));
    NodeInfo node = cmd.node;
    node.state = NodeState::kActive;
    node.last_seen_ms = timestamp_ms_;
    auto it = state_.nodes.find(node.node_id);
    const bool joined = it == state_.nodes.end() || it->second.state == NodeState::kDown ||
                        it->second.state == NodeState::kLeaving;
    if (it != state_.nodes.end() && !node.roles.data) {
      // A node that drops the data role keeps no shard copies.
      FailCopiesOnNode(node.node_id);
    }
    state_.nodes[node.node_id] = node;
    Emit(joined ? EventType::kNodeJoined : EventType::kNodeModified, "", node.node_id);
    return Status::OK();
  }

  Status Do(const UnregisterNodeCmd& cmd) {
    if (state_.nodes.count(cmd.node_id) == 0) {
      return Status::NotFound(fmt::format("no such node [{}]", cmd.node_id));
    }
    FailCopiesOnNode(cmd.node_id);
    state_.nodes.erase(cmd.node_id);
    Emit(EventType::kNodeLeft, "", cmd.node_id);
    return Status::OK();
  }

  Status Do(const UpdateNodeStatusCmd& cmd) {
    auto it = state_.nodes.find(cmd.node_id);
    if (it == state_.nodes.end()) {
      return Status::NotFound(fmt::format("no such node [{}]", cmd.node_id));
    }
    NodeInfo& node = it->second;
    const NodeState before = node.state;
    const bool resources_changed = cmd.status.resources && *cmd.status.resources != node.resources;
    node.state = cmd.status.state;
    node.last_seen_ms = timestamp_ms_;
    if (cmd.status.resources) node.resources = *cmd.status.resources;
    if (node.state == NodeState::kDown && before != NodeState::kDown) {
      FailCopiesOnNode(cmd.node_id);
      Emit(EventType::kNodeLeft, "", cmd.node_id);
    } else if (before == NodeState::kDown && node.state != NodeState::kDown) {
      Emit(EventType::kNodeJoined, "", cmd.node_id);
    } else if (before != node.state || resources_changed) {
      Emit(EventType::kNodeModified, "", cmd.node_id);
    }
    return Status::OK();
  }

  Status Do(const AllocateShardCmd& cmd) {
    const NodeInfo* node = state_.FindNode(cmd.node_id);
    if (node == nullptr) return Status::NotFound(fmt::format("no such node [{}]", cmd.node_id));
    QD_ASSIGN_OR_RETURN(ShardRouting * shard, MutableShard(cmd.index, cmd.shard_id));
    Index* index = MutableIndex(cmd.index).value();  // MutableShard found it
    const std::string name = ShardName(cmd.index, cmd.shard_id);
    if (!node->roles.data) {
      return Status::InvalidArgument(
          fmt::format("cannot allocate {} to node [{}]: it has no data role", name, node->node_id));
    }
    if (node->state != NodeState::kActive) {
      return Status::Conflict(fmt::format("cannot allocate {} to node [{}]: the node is {}", name,
                                          node->node_id, NodeStateName(node->state)));
    }
    if (shard->CopyOn(cmd.node_id) != nullptr) {
      return Status::Conflict(
          fmt::format("node [{}] already holds a copy of shard {}", cmd.node_id, name));
    }
    ShardCopy* target = nullptr;
    std::string allocation_id;
    if (shard->primary().state == ShardState::kUnassigned) {
      target = &shard->copies.front();
      if (!shard->in_sync.empty()) {
        // The primary may only come back from a copy known to hold every acknowledged write.
        auto it = std::find_if(shard->in_sync.begin(), shard->in_sync.end(),
                               [&](const auto& entry) { return entry.second == cmd.node_id; });
        if (it == shard->in_sync.end()) {
          return Status::Conflict(fmt::format(
              "cannot allocate primary {} to node [{}]: the node holds no in-sync copy, and an "
              "empty primary would lose acknowledged writes",
              name, cmd.node_id));
        }
        allocation_id = it->first;
      }
    } else {
      for (size_t i = 1; i < shard->copies.size(); ++i) {
        if (shard->copies[i].state == ShardState::kUnassigned) {
          target = &shard->copies[i];
          break;
        }
      }
      if (target == nullptr) {
        return Status::Conflict(fmt::format("every copy of shard {} is already assigned", name));
      }
    }
    if (allocation_id.empty()) allocation_id = NewAllocationId();
    target->state = ShardState::kInitializing;
    target->node_id = cmd.node_id;
    target->allocation_id = allocation_id;
    Touch(*index);
    Emit(EventType::kShardAllocated, cmd.index, cmd.node_id, cmd.shard_id, target->primary);
    return Status::OK();
  }

  Status Do(const DeallocateShardCmd& cmd) {
    QD_ASSIGN_OR_RETURN(ShardRouting * shard, MutableShard(cmd.index, cmd.shard_id));
    QD_ASSIGN_OR_RETURN(size_t pos, CopyIndexOn(*shard, cmd.index, cmd.node_id));
    Index* index = MutableIndex(cmd.index).value();
    FailCopy(*index, *shard, pos);
    Touch(*index);
    return Status::OK();
  }

  Status Do(const UpdateShardStateCmd& cmd) {
    QD_ASSIGN_OR_RETURN(ShardRouting * shard, MutableShard(cmd.index, cmd.shard_id));
    QD_ASSIGN_OR_RETURN(size_t pos, CopyIndexOn(*shard, cmd.index, cmd.node_id));
    Index* index = MutableIndex(cmd.index).value();
    ShardCopy& copy = shard->copies[pos];
    const std::string name = ShardName(cmd.index, cmd.shard_id);
    auto bad_transition = [&] {
      return Status::Conflict(fmt::format("shard {} on node [{}] cannot go from {} to {}", name,
                                          cmd.node_id, ShardStateName(copy.state),
                                          ShardStateName(cmd.state)));
    };
    switch (cmd.state) {
      case ShardState::kUnassigned:
        FailCopy(*index, *shard, pos);
        break;
      case ShardState::kInitializing:
        if (copy.state != ShardState::kInitializing) return bad_transition();
        break;
      case ShardState::kRelocating:
        if (copy.state == ShardState::kRelocating) break;
        if (copy.state != ShardState::kStarted) return bad_transition();
        copy.state = ShardState::kRelocating;
        Emit(EventType::kShardRelocated, cmd.index, cmd.node_id, cmd.shard_id, copy.primary);
        break;
      case ShardState::kStarted:
        if (copy.state == ShardState::kStarted) break;
        if (!copy.primary && !IsActive(shard->primary().state)) {
          return Status::Conflict(
              fmt::format("replica of shard {} on node [{}] cannot start before its primary", name,
                          cmd.node_id));
        }
        copy.state = ShardState::kStarted;
        if (copy.primary) {
          // A (re)started primary defines the in-sync set: itself and the active replicas.
          std::map<std::string, std::string> in_sync;
          for (const ShardCopy& c : shard->copies) {
            if (&c == &copy || IsActive(c.state)) in_sync[c.allocation_id] = c.node_id;
          }
          shard->in_sync = std::move(in_sync);
        } else {
          shard->in_sync[copy.allocation_id] = copy.node_id;
        }
        Emit(EventType::kShardStarted, cmd.index, cmd.node_id, cmd.shard_id, copy.primary);
        MaybeActivate(*index);
        break;
    }
    Touch(*index);
    return Status::OK();
  }

  ClusterState state_;
  int64_t timestamp_ms_;
  std::map<std::string, std::shared_ptr<Index>> owned_;  // indices this transition copied
  std::vector<ClusterStateEvent> events_;
};

}  // namespace

Result<ApplyResult> Apply(const StatePtr& state, const Command& command) {
  Transition t(*state, command.timestamp_ms);
  QD_RETURN_IF_ERROR(t.Run(command));
  return std::move(t).Finish();
}

Result<ApplyResult> ApplyBatch(const StatePtr& state, const std::vector<Command>& commands) {
  if (commands.empty()) return Status::InvalidArgument("empty command batch");
  Transition t(*state, commands.front().timestamp_ms);
  for (const Command& command : commands) QD_RETURN_IF_ERROR(t.Run(command));
  return std::move(t).Finish();
}

StatePtr EmptyState() { return std::make_shared<const ClusterState>(); }

}  // namespace quidditch::cluster
