#include "controlplane/raft/cluster_fsm.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "cluster/apply.h"
#include "cluster/codec.h"

namespace quidditch::controlplane::raft {

std::string EntryPayload(const std::vector<cluster::Command>& commands) {
  // Padded with spaces to a multiple of 8 bytes: libraft 0.15 pads entry data to 8 bytes when
  // it writes a segment but does not skip the padding when it loads a closed segment, so an
  // unpadded entry makes the log unreadable after a restart. JSON ignores the spaces.
  std::string payload = cluster::EncodeCommands(commands).dump();
  payload.append((8 - payload.size() % 8) % 8, ' ');
  return payload;
}

ClusterFsm::ClusterFsm(StateStore* store, AppliedHook on_applied)
    : store_(store), on_applied_(std::move(on_applied)) {
  std::memset(&fsm_, 0, sizeof(fsm_));
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = [](struct raft_fsm* f, const struct raft_buffer* buf, void** result) {
    return static_cast<ClusterFsm*>(f->data)->Apply(buf, result);
  };
  fsm_.snapshot = [](struct raft_fsm* f, struct raft_buffer* bufs[], unsigned* n) {
    return static_cast<ClusterFsm*>(f->data)->Snapshot(bufs, n);
  };
  fsm_.restore = [](struct raft_fsm* f, struct raft_buffer* buf) {
    return static_cast<ClusterFsm*>(f->data)->Restore(buf);
  };
}

int ClusterFsm::Apply(const struct raft_buffer* buf, void** result) {
  // Every member applies the same bytes, so every outcome below is the same everywhere.
  last_outcome_ = ApplyOutcome{};
  *result = &last_outcome_;
  Result<cluster::Json> json =
      cluster::ParseJson(std::string_view(static_cast<const char*>(buf->base), buf->len));
  Result<std::vector<cluster::Command>> commands =
      json.ok() ? cluster::DecodeCommands(*json)
                : Result<std::vector<cluster::Command>>(json.status());
  if (!commands.ok()) {
    spdlog::error("raft: skipping an undecodable log entry: {}", commands.status().ToString());
    last_outcome_.status = commands.status();
    return 0;
  }
  Result<cluster::ApplyResult> applied = cluster::ApplyBatch(store_->Current(), *commands);
  if (!applied.ok()) {
    last_outcome_.status = applied.status();
    return 0;
  }
  last_outcome_.version = applied->state->version;
  const bool had_events = !applied->events.empty();
  store_->Publish(applied->state, *commands, std::move(applied->events));
  if (on_applied_) on_applied_(*commands, had_events);
  return 0;
}

int ClusterFsm::Snapshot(struct raft_buffer* bufs[], unsigned* n_bufs) {
  // libraft frees both the array and the data with raft_free once the snapshot is stored.
  std::string data = cluster::EncodeState(*store_->Current()).dump();
  *bufs = static_cast<struct raft_buffer*>(raft_malloc(sizeof(struct raft_buffer)));
  if (*bufs == nullptr) return RAFT_NOMEM;
  (*bufs)[0].len = data.size();
  (*bufs)[0].base = raft_malloc(data.size());
  if ((*bufs)[0].base == nullptr) {
    raft_free(*bufs);
    return RAFT_NOMEM;
  }
  std::memcpy((*bufs)[0].base, data.data(), data.size());
  *n_bufs = 1;
  return 0;
}

int ClusterFsm::Restore(struct raft_buffer* buf) {
  Result<cluster::Json> json =
      cluster::ParseJson(std::string_view(static_cast<const char*>(buf->base), buf->len));
  Result<cluster::ClusterState> state =
      json.ok() ? cluster::DecodeState(*json) : Result<cluster::ClusterState>(json.status());
  if (!state.ok()) {
    spdlog::error("raft: cannot restore snapshot: {}", state.status().ToString());
    return RAFT_MALFORMED;
  }
  raft_free(buf->base);  // the FSM owns the buffer once restore succeeds
  // During start-up this is the member's own last snapshot; later, one the leader sent
  // because this member had fallen behind the leader's compacted log.
  spdlog::info("raft: {} cluster state version {}",
               running_ ? "installed a snapshot from the leader:" : "restored from its snapshot:",
               state->version);
  store_->Reset(std::make_shared<const cluster::ClusterState>(std::move(state).value()));
  if (on_applied_) on_applied_({}, /*had_events=*/true);
  return 0;
}

}  // namespace quidditch::controlplane::raft
