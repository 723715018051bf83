#include "controlplane/state_store.h"

#include <algorithm>

#include "cluster/apply.h"

namespace quidditch::controlplane {

using cluster::ClusterStateEvent;
using cluster::EventType;
using cluster::StatePtr;

namespace {

int64_t VersionOf(const ClusterStateEvent& e) { return e.version; }
int64_t VersionOf(const Change& c) { return c.version; }

// The item a reader gets in place of history that is gone.
ClusterStateEvent ResyncItem(const StatePtr& state, const ClusterStateEvent*) {
  ClusterStateEvent resync;
  resync.type = EventType::kResync;
  resync.version = state->version;
  resync.state = state;
  return resync;
}
Change ResyncItem(const StatePtr& state, const Change*) {
  return Change{state->version, {}, state};
}

}  // namespace

// A bounded, sequence-numbered history of items ordered by version.
template <typename T>
struct StateStore::History {
  struct Entry {
    uint64_t seq;
    T item;
  };
  std::deque<Entry> entries;
  uint64_t end_seq = 0;  // seq of the next item appended
  // Every item of every version after this one is still in `entries`.
  int64_t complete_after_version = 0;

  void Append(T item, size_t retained) {
    entries.push_back(Entry{end_seq++, std::move(item)});
    while (entries.size() > retained) {
      // Other items of this version may remain, but not all: complete only for later ones.
      complete_after_version = std::max(complete_after_version, VersionOf(entries.front().item));
      entries.pop_front();
    }
  }

  void Clear(int64_t version) {
    entries.clear();
    complete_after_version = version;
  }
};

// A reader's place in one History: the seq of the next item it needs, and the reset
// generation it was placed in.
template <typename T>
class StateStore::Reader {
 public:
  // `seen_version`: the reader already has every item up to this version (it may be ahead of
  // the store, e.g. a node that followed another master further); those are skipped.
  Reader(StateStore* store, History<T>* history, uint64_t next_seq, uint64_t generation,
         int64_t seen_version)
      : store_(store),
        history_(history),
        next_seq_(next_seq),
        generation_(generation),
        seen_version_(seen_version) {}

  Result<T> Next(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(store_->mu_);
    auto ready = [&] {
      return cancelled_ || store_->closed_ || generation_ != store_->reset_generation_ ||
             next_seq_ < history_->end_seq;
    };
    while (true) {
      if (!store_->changed_.wait_until(lock, deadline, ready)) {
        return Status::Timeout("nothing new before the deadline");
      }
      if (cancelled_) return Status::Unavailable("watch cancelled");
      if (store_->closed_) return Status::Unavailable("control plane stopped");
      const auto& entries = history_->entries;
      if (generation_ != store_->reset_generation_ || entries.empty() ||
          next_seq_ < entries.front().seq) {
        // What this reader needs is gone: the whole state instead.
        next_seq_ = history_->end_seq;
        generation_ = store_->reset_generation_;
        seen_version_ = store_->state_->version;
        return ResyncItem(store_->state_, static_cast<const T*>(nullptr));
      }
      const T& item = entries[next_seq_++ - entries.front().seq].item;
      if (VersionOf(item) <= seen_version_) continue;  // the reader has it already
      return item;
    }
  }

  void Cancel() {
    std::lock_guard<std::mutex> lock(store_->mu_);
    cancelled_ = true;
    store_->changed_.notify_all();
  }

 private:
  StateStore* store_;
  History<T>* history_;
  uint64_t next_seq_;       // GUARDED_BY(store_->mu_)
  uint64_t generation_;     // GUARDED_BY(store_->mu_)
  int64_t seen_version_;    // GUARDED_BY(store_->mu_)
  bool cancelled_ = false;  // GUARDED_BY(store_->mu_)
};

StateStore::StateStore(size_t retained)
    : retained_(std::max<size_t>(1, retained)),
      state_(cluster::EmptyState()),
      events_(std::make_unique<History<ClusterStateEvent>>()),
      changes_(std::make_unique<History<Change>>()) {}

StateStore::~StateStore() { Close(); }

StatePtr StateStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void StateStore::Publish(StatePtr next, std::vector<cluster::Command> commands,
                         std::vector<ClusterStateEvent> events) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t version = next->version;
  state_ = std::move(next);
  for (ClusterStateEvent& e : events) events_->Append(std::move(e), retained_);
  changes_->Append(Change{version, std::move(commands), nullptr}, retained_);
  changed_.notify_all();
}

void StateStore::Reset(StatePtr state) {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(state);
  events_->Clear(state_->version);
  changes_->Clear(state_->version);
  ++reset_generation_;
  changed_.notify_all();
}

Status StateStore::WaitForVersion(int64_t version,
                                  std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  bool done =
      changed_.wait_until(lock, deadline, [&] { return closed_ || state_->version >= version; });
  if (state_->version >= version) return Status::OK();  // even when closing meanwhile
  if (closed_) return Status::Unavailable("control plane stopped");
  if (!done) return Status::Timeout("the change is not yet visible on this node");
  return Status::OK();
}

namespace {

// Where a reader starting after `from_version` begins in `history`; `resync` when the history
// no longer holds everything it needs.
template <typename H>
uint64_t StartSeq(const H& history, int64_t from_version, int64_t current_version, bool* resync) {
  *resync = from_version < history.complete_after_version && from_version < current_version;
  if (*resync) return history.end_seq;
  for (const auto& entry : history.entries) {
    if (VersionOf(entry.item) > from_version) return entry.seq;
  }
  return history.end_seq;
}

}  // namespace

namespace {

// Exposes a Reader<T> as the public interface I (Watch or ChangeReader).
template <typename I, typename R>
class ReaderAdapter : public I {
 public:
  explicit ReaderAdapter(std::unique_ptr<R> reader) : reader_(std::move(reader)) {}
  auto Next(std::chrono::steady_clock::time_point deadline)
      -> decltype(std::declval<I>().Next(deadline)) override {
    return reader_->Next(deadline);
  }
  void Cancel() override { reader_->Cancel(); }

 private:
  std::unique_ptr<R> reader_;
};

}  // namespace

std::unique_ptr<Watch> StateStore::NewWatch(int64_t from_version) {
  std::lock_guard<std::mutex> lock(mu_);
  bool resync = false;
  uint64_t seq = StartSeq(*events_, from_version, state_->version, &resync);
  // A reader placed in another generation resyncs on its first read.
  using R = Reader<ClusterStateEvent>;
  return std::make_unique<ReaderAdapter<Watch, R>>(std::make_unique<R>(
      this, events_.get(), seq, resync ? reset_generation_ - 1 : reset_generation_, from_version));
}

std::unique_ptr<ChangeReader> StateStore::NewChangeReader(int64_t from_version) {
  std::lock_guard<std::mutex> lock(mu_);
  bool resync = false;
  uint64_t seq = StartSeq(*changes_, from_version, state_->version, &resync);
  using R = Reader<Change>;
  return std::make_unique<ReaderAdapter<ChangeReader, R>>(std::make_unique<R>(
      this, changes_.get(), seq, resync ? reset_generation_ - 1 : reset_generation_, from_version));
}

void StateStore::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  changed_.notify_all();
}

}  // namespace quidditch::controlplane
