// StateBackedControlPlane under concurrent writers: results are read from a state the caller
// holds, never from one that another thread's change may free meanwhile.
#include "controlplane/state_backed_control_plane.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "controlplane/testing/direct_control_plane.h"

namespace quidditch::controlplane {
namespace {

using namespace std::chrono_literals;

CallContext Ctx() { return CallContext::WithTimeout(10s); }

// CreateIndex returns the index as its own change made it. Another writer keeps replacing that
// index (each settings update publishes a new Index object and frees the old state), which is
// what the Raft leader's allocator does right after an index is created on a node that follows
// it. CreateIndex used to look the index up in a state it did not hold, and copied it after the
// store had moved on: a use-after-free, seen as std::bad_alloc in the conformance suite against
// three master processes, and reported at once by AddressSanitizer here.
TEST(StateBackedControlPlaneTest, CreateIndexReturnsTheIndexWhileAnotherWriterReplacesIt) {
  testing::DirectControlPlane cp(testing::Allocation::kManual);
  ASSERT_TRUE(cp.Start().ok());
  std::atomic<bool> done{false};
  std::atomic<int> updates{0};
  std::thread writer([&] {
    for (int i = 0; !done.load(); ++i) {
      cluster::IndexSettingsUpdate update;
      update.refresh_interval = i % 2 == 0 ? "1s" : "2s";
      // NotFound while the index does not exist between a deletion and a creation.
      if (cp.UpdateIndexSettings(Ctx(), "logs", update).ok()) updates.fetch_add(1);
    }
  });
  // Joined however the loop below ends: on a failure, or an exception such as the std::bad_alloc
  // that copying a freed Index can throw (GoogleTest reports it, and needs no joinable thread).
  struct Joiner {
    std::atomic<bool>& done;
    std::thread& thread;
    ~Joiner() {
      done = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{done, writer};
  const auto until = std::chrono::steady_clock::now() + 2s;
  int created = 0;
  while (std::chrono::steady_clock::now() < until) {
    CreateIndexRequest request;
    request.name = "logs";
    request.settings.shards = 2;
    request.settings.replicas = 1;
    Result<cluster::Index> index = cp.CreateIndex(Ctx(), request);
    // Only this thread deletes the index, so it cannot be gone: it must come back whole.
    ASSERT_TRUE(index.ok()) << "CreateIndex after " << created << " indices: " << index.status();
    EXPECT_EQ(index->name, "logs");
    EXPECT_EQ(index->settings.shards, 2);
    EXPECT_EQ(index->routing.shards.size(), 2u);
    ++created;
    ASSERT_TRUE(cp.DeleteIndex(Ctx(), "logs").ok());
  }
  done = true;
  writer.join();  // before reading `updates`
  EXPECT_GT(created, 0);
  EXPECT_GT(updates.load(), 0) << "the writer never replaced the index: the test proves nothing";
  ASSERT_TRUE(cp.Stop().ok());
}

}  // namespace
}  // namespace quidditch::controlplane
