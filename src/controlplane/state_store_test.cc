#include "controlplane/state_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cluster/apply.h"

namespace quidditch::controlplane {
namespace {

using cluster::ClusterState;
using cluster::ClusterStateEvent;
using cluster::Command;
using cluster::EventType;
using cluster::StatePtr;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Deadline for something that must happen: only reached when the code under test is wrong.
Clock::time_point Later() { return Clock::now() + 10s; }
// Deadline for a read that is expected to find nothing.
Clock::time_point Soon() { return Clock::now() + 20ms; }

// A state at `version` whose content differs from every other version's (and from a state
// of the same version built with another `tag`), so that tests can tell states apart.
StatePtr StateAt(int64_t version, int64_t tag = 0) {
  auto state = std::make_shared<ClusterState>();
  state->version = version;
  state->next_allocation_id = 1000 * tag + version + 1;
  return state;
}

// Event `i` of version `version`; its node id names both ("v3e1").
ClusterStateEvent EventOf(int64_t version, int i) {
  ClusterStateEvent e;
  e.type = EventType::kNodeModified;
  e.version = version;
  e.timestamp_ms = version;
  e.node_id = "v" + std::to_string(version) + "e" + std::to_string(i);
  return e;
}

// The command batch that produced `version`: a heartbeat of node "n<version>".
std::vector<Command> CommandsFor(int64_t version) {
  return {Command{version, cluster::UpdateNodeStatusCmd{"n" + std::to_string(version), {}}}};
}

// Publishes `version` with `events` events (0 for a heartbeat that changes nothing watched).
void PublishVersion(StateStore& store, int64_t version, int events, int64_t tag = 0) {
  std::vector<ClusterStateEvent> list;
  for (int i = 0; i < events; ++i) list.push_back(EventOf(version, i));
  store.Publish(StateAt(version, tag), CommandsFor(version), std::move(list));
}

// Reads one event and names it: "v3e1" for an event, "resync@7" for a resync, or the status
// ("TIMEOUT: ...") of a failed read. Checks that a resync carries a state of its version.
std::string NextTag(Watch& watch, Clock::time_point deadline) {
  Result<ClusterStateEvent> e = watch.Next(deadline);
  if (!e.ok()) return e.status().ToString();
  if (e->type == EventType::kResync) {
    EXPECT_NE(e->state, nullptr);
    if (e->state != nullptr) {
      EXPECT_EQ(e->state->version, e->version);
    }
    return "resync@" + std::to_string(e->version);
  }
  EXPECT_EQ(e->state, nullptr) << "only a resync carries a state";
  return e->node_id;
}

// Reads `count` events, each with a deadline that is only reached when one is missing.
std::vector<std::string> NextTags(Watch& watch, int count) {
  std::vector<std::string> tags;
  for (int i = 0; i < count; ++i) tags.push_back(NextTag(watch, Later()));
  return tags;
}

// Reads one change and names it: "c3" for the batch of version 3, "resync@7", or the status.
// Checks that a batch carries the commands published with it and a resync the whole state.
std::string NextTag(ChangeReader& reader, Clock::time_point deadline) {
  Result<Change> c = reader.Next(deadline);
  if (!c.ok()) return c.status().ToString();
  if (c->state != nullptr) {
    EXPECT_EQ(c->state->version, c->version);
    EXPECT_TRUE(c->commands.empty());
    return "resync@" + std::to_string(c->version);
  }
  EXPECT_EQ(c->commands, CommandsFor(c->version));
  return "c" + std::to_string(c->version);
}

std::vector<std::string> NextTags(ChangeReader& reader, int count) {
  std::vector<std::string> tags;
  for (int i = 0; i < count; ++i) tags.push_back(NextTag(reader, Later()));
  return tags;
}

bool IsTimeout(const std::string& tag) { return tag.rfind("TIMEOUT", 0) == 0; }
bool IsUnavailable(const std::string& tag) { return tag.rfind("UNAVAILABLE", 0) == 0; }

// --- current state and WaitForVersion ----------------------------------------------------

TEST(StateStoreTest, CurrentIsAnEmptyVersionZeroStateBeforeAnyPublish) {
  StateStore store;
  StatePtr state = store.Current();
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(*state, *cluster::EmptyState());
}

TEST(StateStoreTest, PublishMakesTheStateCurrent) {
  StateStore store;
  StatePtr next = StateAt(1);
  store.Publish(next, CommandsFor(1), {EventOf(1, 0)});
  EXPECT_EQ(store.Current(), next);
  PublishVersion(store, 2, 0);
  EXPECT_EQ(store.Current()->version, 2);
}

TEST(StateStoreTest, WaitForVersionReturnsAtOnceForAReachedVersion) {
  StateStore store;
  EXPECT_TRUE(store.WaitForVersion(0, Later()).ok());
  PublishVersion(store, 1, 1);
  PublishVersion(store, 2, 1);
  EXPECT_TRUE(store.WaitForVersion(1, Later()).ok());
  EXPECT_TRUE(store.WaitForVersion(2, Later()).ok());
}

TEST(StateStoreTest, WaitForVersionTimesOutAtTheDeadline) {
  StateStore store;
  PublishVersion(store, 1, 1);
  const Clock::time_point deadline = Soon();
  Status s = store.WaitForVersion(2, deadline);
  EXPECT_TRUE(s.IsTimeout()) << s;
  EXPECT_GE(Clock::now(), deadline);
}

TEST(StateStoreTest, WaitForVersionWakesWhenAnotherThreadPublishes) {
  StateStore store;
  Status waited = Status::Internal("not run");
  std::thread waiter([&] { waited = store.WaitForVersion(3, Later()); });
  for (int64_t v = 1; v <= 3; ++v) PublishVersion(store, v, 1);
  waiter.join();
  EXPECT_TRUE(waited.ok()) << waited;
}

TEST(StateStoreTest, CloseWakesWaitersWithUnavailable) {
  StateStore store;
  Status waited = Status::Internal("not run");
  std::thread waiter([&] { waited = store.WaitForVersion(5, Later()); });
  store.Close();
  waiter.join();
  EXPECT_TRUE(waited.IsUnavailable()) << waited;
  Status after = store.WaitForVersion(5, Later());
  EXPECT_TRUE(after.IsUnavailable()) << after;
}

// --- watches ---------------------------------------------------------------------------------

TEST(StateStoreTest, WatchFromZeroDeliversEveryEventInOrderAcrossPublishes) {
  StateStore store;
  PublishVersion(store, 1, 1);
  PublishVersion(store, 2, 3);
  PublishVersion(store, 3, 2);
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  EXPECT_EQ(NextTags(*watch, 6),
            (std::vector<std::string>{"v1e0", "v2e0", "v2e1", "v2e2", "v3e0", "v3e1"}));
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
}

TEST(StateStoreTest, WatchDeliversEventsPublishedAfterItWasCreated) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  PublishVersion(store, 1, 2);
  EXPECT_EQ(NextTags(*watch, 2), (std::vector<std::string>{"v1e0", "v1e1"}));
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
  PublishVersion(store, 2, 1);
  PublishVersion(store, 3, 1);
  EXPECT_EQ(NextTags(*watch, 2), (std::vector<std::string>{"v2e0", "v3e0"}));
}

TEST(StateStoreTest, WatchFromTheMiddleOfHistoryStartsRightAfterThatVersion) {
  StateStore store;
  for (int64_t v = 1; v <= 5; ++v) PublishVersion(store, v, 2);
  std::unique_ptr<Watch> watch = store.NewWatch(3);
  EXPECT_EQ(NextTags(*watch, 4), (std::vector<std::string>{"v4e0", "v4e1", "v5e0", "v5e1"}));
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
  std::unique_ptr<Watch> at_end = store.NewWatch(5);
  EXPECT_TRUE(IsTimeout(NextTag(*at_end, Soon())));
  PublishVersion(store, 6, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v6e0");
  EXPECT_EQ(NextTag(*at_end, Later()), "v6e0");
}

TEST(StateStoreTest, VersionsWithoutEventsAreSkippedWithoutAResync) {
  StateStore store(/*retained=*/2);
  PublishVersion(store, 1, 1);
  PublishVersion(store, 2, 0);  // a heartbeat: a version step with no events
  PublishVersion(store, 3, 1);
  std::unique_ptr<Watch> from_one = store.NewWatch(1);
  EXPECT_EQ(NextTag(*from_one, Later()), "v3e0");
  std::unique_ptr<Watch> from_two = store.NewWatch(2);
  EXPECT_EQ(NextTag(*from_two, Later()), "v3e0");
}

TEST(StateStoreTest, IdleWatchTimesOutAtTheDeadlineAndStaysUsable) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  const Clock::time_point deadline = Soon();
  Result<ClusterStateEvent> e = watch->Next(deadline);
  EXPECT_TRUE(e.status().IsTimeout()) << e.status();
  EXPECT_GE(Clock::now(), deadline);
  PublishVersion(store, 1, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v1e0");
}

TEST(StateStoreTest, CancelFromAnotherThreadWakesABlockedNext) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  std::string tag;
  std::thread reader([&] { tag = NextTag(*watch, Later()); });
  watch->Cancel();
  reader.join();
  EXPECT_TRUE(IsUnavailable(tag)) << tag;
  // The stream has ended: later events are not delivered.
  PublishVersion(store, 1, 1);
  EXPECT_TRUE(IsUnavailable(NextTag(*watch, Later())));
}

TEST(StateStoreTest, CloseEndsEveryWatchAndChangeReader) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  std::unique_ptr<ChangeReader> changes = store.NewChangeReader(0);
  std::string watch_tag, change_tag;
  std::thread watch_reader([&] { watch_tag = NextTag(*watch, Later()); });
  std::thread change_reader([&] { change_tag = NextTag(*changes, Later()); });
  store.Close();
  watch_reader.join();
  change_reader.join();
  EXPECT_TRUE(IsUnavailable(watch_tag)) << watch_tag;
  EXPECT_TRUE(IsUnavailable(change_tag)) << change_tag;
  EXPECT_TRUE(IsUnavailable(NextTag(*store.NewWatch(0), Later())));
}

TEST(StateStoreTest, WatchWhoseHistoryWasEvictedGetsOneResyncThenEveryLaterEvent) {
  StateStore store(/*retained=*/3);
  for (int64_t v = 1; v <= 5; ++v) PublishVersion(store, v, 1);  // keeps v3..v5
  for (int64_t from : {0, 1}) {
    SCOPED_TRACE("from version " + std::to_string(from));
    const StatePtr current = store.Current();
    std::unique_ptr<Watch> watch = store.NewWatch(from);
    Result<ClusterStateEvent> resync = watch->Next(Later());
    ASSERT_TRUE(resync.ok()) << resync.status();
    EXPECT_EQ(resync->type, EventType::kResync);
    EXPECT_EQ(resync->version, current->version);
    EXPECT_EQ(resync->state, current);
    EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon()))) << "exactly one resync";
    const int64_t next = current->version + 1;
    PublishVersion(store, next, 1);
    EXPECT_EQ(NextTag(*watch, Later()), "v" + std::to_string(next) + "e0");
  }
}

TEST(StateStoreTest, WatchFromTheOldestCompleteVersionNeedsNoResync) {
  StateStore store(/*retained=*/3);
  for (int64_t v = 1; v <= 5; ++v) PublishVersion(store, v, 1);  // keeps v3..v5
  std::unique_ptr<Watch> watch = store.NewWatch(2);
  EXPECT_EQ(NextTags(*watch, 3), (std::vector<std::string>{"v3e0", "v4e0", "v5e0"}));
}

TEST(StateStoreTest, WatchResyncsWhenOnlyPartOfAVersionsEventsRemain) {
  StateStore store(/*retained=*/3);
  PublishVersion(store, 1, 2);
  PublishVersion(store, 2, 2);  // evicts v1e0 but keeps v1e1
  EXPECT_EQ(NextTag(*store.NewWatch(0), Later()), "resync@2");
  std::unique_ptr<Watch> from_one = store.NewWatch(1);
  EXPECT_EQ(NextTags(*from_one, 2), (std::vector<std::string>{"v2e0", "v2e1"}));
}

TEST(StateStoreTest, WatcherThatFallsBehindWhileReadingGetsAResyncNeverAGap) {
  StateStore store(/*retained=*/3);
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  PublishVersion(store, 1, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v1e0");
  for (int64_t v = 2; v <= 6; ++v) PublishVersion(store, v, 1);  // v2 and v3 are evicted
  EXPECT_EQ(NextTag(*watch, Later()), "resync@6");
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
  PublishVersion(store, 7, 2);
  EXPECT_EQ(NextTags(*watch, 2), (std::vector<std::string>{"v7e0", "v7e1"}));
}

TEST(StateStoreTest, WatcherBehindByExactlyTheRetainedEventsLosesNothing) {
  StateStore store(/*retained=*/3);
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  PublishVersion(store, 1, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v1e0");
  for (int64_t v = 2; v <= 4; ++v) PublishVersion(store, v, 1);
  EXPECT_EQ(NextTags(*watch, 3), (std::vector<std::string>{"v2e0", "v3e0", "v4e0"}));
}

TEST(StateStoreTest, WatcherThatLostPartOfAVersionMidReadGetsAResync) {
  StateStore store(/*retained=*/3);
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  PublishVersion(store, 1, 3);
  EXPECT_EQ(NextTag(*watch, Later()), "v1e0");
  PublishVersion(store, 2, 2);  // evicts v1e0 and v1e1, which the watcher has not read
  EXPECT_EQ(NextTag(*watch, Later()), "resync@2");
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
}

TEST(StateStoreTest, ResetResyncsACaughtUpWatcher) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  PublishVersion(store, 1, 1);
  PublishVersion(store, 2, 1);
  EXPECT_EQ(NextTags(*watch, 2), (std::vector<std::string>{"v1e0", "v2e0"}));
  StatePtr restored = StateAt(10, /*tag=*/1);
  store.Reset(restored);
  EXPECT_EQ(store.Current(), restored);
  Result<ClusterStateEvent> resync = watch->Next(Later());
  ASSERT_TRUE(resync.ok()) << resync.status();
  EXPECT_EQ(resync->type, EventType::kResync);
  EXPECT_EQ(resync->state, restored);
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
  PublishVersion(store, 11, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v11e0");
}

TEST(StateStoreTest, ResetResyncsAWatcherWithUnreadEventsInsteadOfDeliveringThem) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  for (int64_t v = 1; v <= 3; ++v) PublishVersion(store, v, 1);
  StatePtr restored = StateAt(3, /*tag=*/1);  // same version, other content
  store.Reset(restored);
  Result<ClusterStateEvent> resync = watch->Next(Later());
  ASSERT_TRUE(resync.ok()) << resync.status();
  EXPECT_EQ(resync->type, EventType::kResync);
  EXPECT_EQ(resync->state, restored);
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon()))) << "the events before the reset are gone";
  PublishVersion(store, 4, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v4e0");
}

TEST(StateStoreTest, ResetToAnOlderVersionResyncsWatchersAndHistoryRestartsThere) {
  StateStore store;
  std::unique_ptr<Watch> watch = store.NewWatch(0);
  for (int64_t v = 1; v <= 5; ++v) PublishVersion(store, v, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v1e0");
  StatePtr restored = StateAt(2, /*tag=*/1);
  store.Reset(restored);
  EXPECT_EQ(store.Current()->version, 2);
  EXPECT_TRUE(store.WaitForVersion(2, Later()).ok());
  EXPECT_EQ(NextTag(*watch, Later()), "resync@2");
  PublishVersion(store, 3, 1, /*tag=*/1);
  EXPECT_EQ(NextTag(*watch, Later()), "v3e0");
  // A new watcher from before the reset point cannot be given the history: a resync.
  std::unique_ptr<Watch> from_zero = store.NewWatch(0);
  EXPECT_EQ(NextTag(*from_zero, Later()), "resync@3");
  // One from the reset point on needs only what came after it.
  std::unique_ptr<Watch> from_two = store.NewWatch(2);
  EXPECT_EQ(NextTag(*from_two, Later()), "v3e0");
}

TEST(StateStoreTest, WatchCreatedAfterAResetFromTheResetVersionNeedsNoResync) {
  StateStore store;
  for (int64_t v = 1; v <= 3; ++v) PublishVersion(store, v, 1);
  store.Reset(StateAt(10));
  std::unique_ptr<Watch> watch = store.NewWatch(10);
  EXPECT_TRUE(IsTimeout(NextTag(*watch, Soon())));
  PublishVersion(store, 11, 1);
  EXPECT_EQ(NextTag(*watch, Later()), "v11e0");
  // Version 2's history was dropped by the reset.
  EXPECT_EQ(NextTag(*store.NewWatch(2), Later()), "resync@11");
}

// A watcher resuming from a version this store has not reached yet (it saw that version on
// another master that is further ahead) must not be given events it has already seen.
TEST(StateStoreTest, WatchFromAVersionAheadOfTheStoreRepeatsNothing) {
  StateStore store;
  PublishVersion(store, 1, 1);
  std::unique_ptr<Watch> watch = store.NewWatch(3);
  for (int64_t v = 2; v <= 4; ++v) PublishVersion(store, v, 1);
  Result<ClusterStateEvent> e = watch->Next(Later());
  ASSERT_TRUE(e.ok()) << e.status();
  if (e->type != EventType::kResync) {
    EXPECT_GT(e->version, 3) << "repeats " << e->node_id;
  }
}

// --- change readers ----------------------------------------------------------------------

TEST(StateStoreTest, ChangeReaderDeliversEveryBatchInOrderIncludingHeartbeats) {
  StateStore store;
  PublishVersion(store, 1, 2);
  PublishVersion(store, 2, 0);  // no events, but still a change
  std::unique_ptr<ChangeReader> reader = store.NewChangeReader(0);
  EXPECT_EQ(NextTags(*reader, 2), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_TRUE(IsTimeout(NextTag(*reader, Soon())));
  PublishVersion(store, 3, 0);
  PublishVersion(store, 4, 1);
  EXPECT_EQ(NextTags(*reader, 2), (std::vector<std::string>{"c3", "c4"}));
}

TEST(StateStoreTest, ChangeReaderFromTheMiddleOfHistoryStartsRightAfterThatVersion) {
  StateStore store;
  for (int64_t v = 1; v <= 5; ++v) PublishVersion(store, v, v % 2);
  std::unique_ptr<ChangeReader> reader = store.NewChangeReader(3);
  EXPECT_EQ(NextTags(*reader, 2), (std::vector<std::string>{"c4", "c5"}));
  EXPECT_TRUE(IsTimeout(NextTag(*reader, Soon())));
}

TEST(StateStoreTest, ChangeReaderWhoseHistoryWasEvictedGetsOneResyncThenEveryLaterChange) {
  StateStore store(/*retained=*/2);
  for (int64_t v = 1; v <= 4; ++v) PublishVersion(store, v, 0);  // keeps c3, c4
  std::unique_ptr<ChangeReader> reader = store.NewChangeReader(1);
  Result<Change> resync = reader->Next(Later());
  ASSERT_TRUE(resync.ok()) << resync.status();
  EXPECT_EQ(resync->version, 4);
  EXPECT_EQ(resync->state, store.Current());
  EXPECT_TRUE(resync->commands.empty());
  EXPECT_TRUE(IsTimeout(NextTag(*reader, Soon()))) << "exactly one resync";
  PublishVersion(store, 5, 0);
  EXPECT_EQ(NextTag(*reader, Later()), "c5");
  EXPECT_EQ(NextTags(*store.NewChangeReader(3), 2), (std::vector<std::string>{"c4", "c5"}));
  EXPECT_EQ(NextTag(*store.NewChangeReader(2), Later()), "resync@5");
}

TEST(StateStoreTest, ChangeReaderThatFallsBehindWhileReadingGetsAResyncNeverAGap) {
  StateStore store(/*retained=*/2);
  std::unique_ptr<ChangeReader> reader = store.NewChangeReader(0);
  PublishVersion(store, 1, 1);
  EXPECT_EQ(NextTag(*reader, Later()), "c1");
  for (int64_t v = 2; v <= 4; ++v) PublishVersion(store, v, 0);  // c2 is evicted
  EXPECT_EQ(NextTag(*reader, Later()), "resync@4");
  PublishVersion(store, 5, 0);
  EXPECT_EQ(NextTag(*reader, Later()), "c5");
}

TEST(StateStoreTest, ResetResyncsCaughtUpChangeReadersAndOnesWithUnreadChanges) {
  StateStore store;
  std::unique_ptr<ChangeReader> caught_up = store.NewChangeReader(0);
  std::unique_ptr<ChangeReader> unread = store.NewChangeReader(0);
  PublishVersion(store, 1, 1);
  PublishVersion(store, 2, 0);
  EXPECT_EQ(NextTags(*caught_up, 2), (std::vector<std::string>{"c1", "c2"}));
  StatePtr restored = StateAt(7, /*tag=*/1);
  store.Reset(restored);
  for (ChangeReader* reader : {caught_up.get(), unread.get()}) {
    Result<Change> resync = reader->Next(Later());
    ASSERT_TRUE(resync.ok()) << resync.status();
    EXPECT_EQ(resync->state, restored);
    EXPECT_EQ(resync->version, 7);
    EXPECT_TRUE(IsTimeout(NextTag(*reader, Soon())));
  }
  PublishVersion(store, 8, 0);
  EXPECT_EQ(NextTag(*caught_up, Later()), "c8");
  EXPECT_EQ(NextTag(*unread, Later()), "c8");
}

TEST(StateStoreTest, ChangeReaderTimesOutWhenIdleAndCancelWakesIt) {
  StateStore store;
  std::unique_ptr<ChangeReader> reader = store.NewChangeReader(0);
  const Clock::time_point deadline = Soon();
  EXPECT_TRUE(IsTimeout(NextTag(*reader, deadline)));
  EXPECT_GE(Clock::now(), deadline);
  std::string tag;
  std::thread blocked([&] { tag = NextTag(*reader, Later()); });
  reader->Cancel();
  blocked.join();
  EXPECT_TRUE(IsUnavailable(tag)) << tag;
}

TEST(StateStoreTest, EventAndChangeHistoriesAreBoundedSeparately) {
  StateStore store(/*retained=*/2);
  PublishVersion(store, 1, 3);  // three events exceed the event history; one change does not
  EXPECT_EQ(NextTag(*store.NewChangeReader(0), Later()), "c1");
  EXPECT_EQ(NextTag(*store.NewWatch(0), Later()), "resync@1");
}

// --- concurrency -----------------------------------------------------------------------------

// Events of version v in the concurrency test: 0, 1 or 2, so that heartbeats (no events) and
// versions with several events interleave.
int EventsIn(int64_t version) { return static_cast<int>(version % 3); }

// Checks that a watcher's events are exactly the published ones after its start, in order,
// except that a resync may replace any run of them. Returns "" or what went wrong.
std::string ReadAllEvents(Watch& watch, int64_t from, int64_t last_version, int* resyncs) {
  int64_t version = from;  // the cursor: every event up to (version, index) has been seen
  int index = EventsIn(from) - 1;
  while (!(version == last_version && index == EventsIn(last_version) - 1)) {
    Result<ClusterStateEvent> e = watch.Next(Later());
    if (!e.ok()) return "at v" + std::to_string(version) + ": " + e.status().ToString();
    if (e->type == EventType::kResync) {
      if (e->version < version || e->state == nullptr || e->state->version != e->version) {
        return "bad resync at " + std::to_string(e->version) + " after v" + std::to_string(version);
      }
      ++*resyncs;
      version = e->version;
      index = EventsIn(version) - 1;
      continue;
    }
    // The event that must come next.
    int64_t want_version = version;
    int want_index = index + 1;
    if (want_index >= EventsIn(want_version)) {
      do ++want_version;
      while (EventsIn(want_version) == 0);
      want_index = 0;
    }
    std::string want = EventOf(want_version, want_index).node_id;
    if (e->node_id != want || e->version != want_version) {
      return "got " + e->node_id + " where " + want + " was due";
    }
    version = want_version;
    index = want_index;
  }
  return "";
}

// Checks that a change reader sees every version after its start exactly once, in order, or
// a resync in place of a run of them.
std::string ReadAllChanges(ChangeReader& reader, int64_t from, int64_t last_version, int* resyncs) {
  int64_t version = from;
  while (version < last_version) {
    Result<Change> c = reader.Next(Later());
    if (!c.ok()) return "at c" + std::to_string(version) + ": " + c.status().ToString();
    if (c->state != nullptr) {
      if (c->version < version || c->state->version != c->version) {
        return "bad resync at " + std::to_string(c->version) + " after c" + std::to_string(version);
      }
      ++*resyncs;
      version = c->version;
      continue;
    }
    if (c->version != version + 1) {
      return "got c" + std::to_string(c->version) + " after c" + std::to_string(version);
    }
    if (c->commands != CommandsFor(c->version))
      return "wrong commands in c" + std::to_string(version);
    version = c->version;
  }
  return "";
}

TEST(StateStoreTest, ConcurrentPublisherAndReadersSeeGapFreeSequences) {
  constexpr int64_t kLastVersion = 2000;  // EventsIn(kLastVersion) > 0: readers can see the end
  static_assert(kLastVersion % 3 != 0);
  constexpr int kReaders = 3;
  StateStore store(/*retained=*/16);
  std::vector<std::string> failures(2 * kReaders + 1);
  std::vector<int> resyncs(2 * kReaders + 1, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i, watch = store.NewWatch(0)] {
      failures[i] = ReadAllEvents(*watch, 0, kLastVersion, &resyncs[i]);
    });
    threads.emplace_back([&, i, reader = store.NewChangeReader(0)] {
      failures[kReaders + i] = ReadAllChanges(*reader, 0, kLastVersion, &resyncs[kReaders + i]);
    });
  }
  std::atomic<bool> halfway{false};
  // One more watcher that joins while the publisher runs, from whatever version is current.
  threads.emplace_back([&] {
    while (!halfway.load()) std::this_thread::yield();
    int64_t from = store.Current()->version;
    std::unique_ptr<Watch> watch = store.NewWatch(from);
    failures[2 * kReaders] = ReadAllEvents(*watch, from, kLastVersion, &resyncs[2 * kReaders]);
  });
  for (int64_t v = 1; v <= kLastVersion; ++v) {
    PublishVersion(store, v, EventsIn(v));
    if (v == kLastVersion / 2) halfway.store(true);
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < failures.size(); ++i) {
    EXPECT_EQ(failures[i], "") << "reader " << i << " (" << resyncs[i] << " resyncs)";
  }
}

}  // namespace
}  // namespace quidditch::controlplane
