// The stable JSON encoding of cluster states, commands and events.
//
// This is the format of Raft snapshots and log entries, of the internal wire, and of
// `quidditch-admin export-state`. Keys are camelCase and emitted in sorted order, enums as
// their upper-case names, so equal values encode to identical bytes. Decoding is strict:
// a missing or mistyped field is Corruption naming the field, never a default; the one
// exception is a field added after states were first stored (an index's "aliases" and
// "closed", the state's templates), whose absence means its empty value so that older snapshots and
// logs still load. A command round-trips whatever it carries (its mappings may be any JSON):
// judging a command is Apply()'s job, so that a bad one fails with the same typed error wherever it
// is applied.
#pragma once

#include <string>
#include <string_view>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "common/status.h"

namespace quidditch::cluster {

Json EncodeState(const ClusterState& state);
Result<ClusterState> DecodeState(const Json& json);

Json EncodeCommand(const Command& command);
Result<Command> DecodeCommand(const Json& json);

// A batch of commands (one Raft log entry).
Json EncodeCommands(const std::vector<Command>& commands);
Result<std::vector<Command>> DecodeCommands(const Json& json);

Json EncodeEvent(const ClusterStateEvent& event);
Result<ClusterStateEvent> DecodeEvent(const Json& json);

Json EncodeIndex(const Index& index);
Result<Index> DecodeIndex(const Json& json);
// An index's aliases: {"name": {"filter", "indexRouting", "searchRouting", "isWriteIndex",
// "isHidden"}}, unset fields left out. Also the aliases of QuidditchIndex objects.
Json EncodeAliases(const Aliases& aliases);
Result<Aliases> DecodeAliases(const Json& json);
Json EncodeNode(const NodeInfo& node);
Result<NodeInfo> DecodeNode(const Json& json);

// Parses JSON text; Corruption with the parser's message on malformed input.
Result<Json> ParseJson(std::string_view text);

}  // namespace quidditch::cluster
