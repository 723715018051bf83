#include "cluster/commands.h"

namespace quidditch::cluster {

std::string_view CommandName(const Command& command) {
  static constexpr std::string_view kNames[] = {
      "CreateIndex",     "DeleteIndex",      "UpdateIndexSettings", "PutMapping",
      "UpdateAliases",   "SetIndexClosed",   "PutTemplate",         "DeleteTemplate",
      "RegisterNode",    "UnregisterNode",   "UpdateNodeStatus",    "AllocateShard",
      "DeallocateShard", "UpdateShardState", "SetClusterUuid",
  };
  static_assert(std::size(kNames) == std::variant_size_v<CommandOp>);
  return kNames[command.op.index()];
}

}  // namespace quidditch::cluster
