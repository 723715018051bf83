// LocalShardService: the ShardService of the shards this process holds (IndicesService), in
// the same process as the coordinator that calls it.
//
// Searches run in two phases as OpenSearch's: ExecuteQuery searches a snapshot of the shard
// and keeps it as a "reader" (an id -> snapshot entry) for the fetch phase and for scroll and
// point-in-time pages; ExecuteFetch reads the hits' ids, sources, versions, highlights and doc
// values from that same snapshot. A reader lives until it is released (ExecuteFetch with
// release_reader, ReleaseReader) or has not been used for its keep_alive; a plain search's
// reader (keep_alive 0) is held at most kDefaultKeepAlive if no fetch releases it. Expired
// readers are dropped lazily, by the next call that touches the reader table.
//
// Writes that add fields to the mapping (dynamic mapping) publish the new mapping to the
// control plane before Bulk returns (IndicesService::PublishMapping).
//
// Thread safety: as ShardService.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "data/indices_service.h"
#include "data/shard_service.h"

namespace quidditch::data {

class LocalShardService : public ShardService {
 public:
  // OpenSearch's search.default_keep_alive: the life of a reader no fetch released.
  static constexpr std::chrono::milliseconds kDefaultKeepAlive{5 * 60 * 1000};

  // `indices` must outlive the service.
  explicit LocalShardService(IndicesService* indices);
  ~LocalShardService() override;

  Result<std::vector<engine::BulkItemResult>> Bulk(const ShardKey& shard,
                                                   const std::vector<engine::BulkItem>& items,
                                                   RefreshPolicy refresh) override;
  Result<engine::GetResult> Get(const ShardKey& shard, std::string_view id, bool realtime) override;
  Result<QueryPhaseResult> ExecuteQuery(const ShardKey& shard,
                                        const QueryPhaseRequest& request) override;
  Result<FetchPhaseResult> ExecuteFetch(const ShardKey& shard,
                                        const FetchPhaseRequest& request) override;
  Status ReleaseReader(const ShardKey& shard, const std::string& reader_id) override;
  Status Refresh(const ShardKey& shard) override;
  Status Flush(const ShardKey& shard) override;
  Result<engine::EngineStats> Stats(const ShardKey& shard) override;
  Result<nlohmann::json> Mapping(const ShardKey& shard) override;
  Status UpdateMapping(const ShardKey& shard, const nlohmann::json& update) override;
  Result<nlohmann::json> Analyze(const ShardKey& shard, const nlohmann::json& request) override;

  // Readers currently held (for tests and stats).
  size_t open_readers() const;

  Result<ShardSearchStats> SearchStats(const ShardKey& shard) override;

  // A snapshot kept for the fetch phase or a scroll / PIT. Internal; public for the .cc's
  // helpers.
  struct Reader {
    ShardKey shard;
    std::shared_ptr<IndexShard> index_shard;  // keeps the engine (and its analyzers) alive
    std::shared_ptr<const engine::EngineSnapshot> snapshot;
    std::chrono::milliseconds keep_alive{0};
    std::chrono::steady_clock::time_point expires;
  };

 private:
  // The reader `id` of `shard` (its expiry renewed by `keep_alive` when non-zero), or
  // search_context_missing_exception (NotFound).
  Result<std::shared_ptr<Reader>> FindReader(const ShardKey& shard, const std::string& id,
                                             std::chrono::milliseconds keep_alive);
  std::string AddReader(std::shared_ptr<Reader> reader);
  // Drops expired readers. REQUIRES: readers_mu_ held.
  void ReapLocked(std::chrono::steady_clock::time_point now);

  IndicesService* const indices_;
  const std::string reader_prefix_;  // unique per service instance
  mutable std::mutex readers_mu_;
  uint64_t next_reader_ = 1;                                // GUARDED_BY(readers_mu_)
  std::map<std::string, std::shared_ptr<Reader>> readers_;  // GUARDED_BY(readers_mu_)
  std::chrono::steady_clock::time_point next_reap_;         // GUARDED_BY(readers_mu_)
};

}  // namespace quidditch::data
