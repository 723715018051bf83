#include "data/shard_service.h"

#include <fmt/format.h>

namespace quidditch::data {

std::string ShardName(const ShardKey& shard) {
  return fmt::format("[{}][{}]", shard.index, shard.shard);
}

}  // namespace quidditch::data
