// The crash test: SIGKILL a process that is indexing, updating, deleting, refreshing, flushing
// and merging at a random moment, reopen the shard and check that every acknowledged
// operation is there, that nothing half-written is visible and that the shard opens without
// repair; 50 rounds on the same directory.
//
// The child reports on a pipe, per writer thread and in order, an "intent" before each
// operation and an "ack" after the engine acknowledged it. Each writer thread owns its own
// document ids, and a bulk touches each of its documents once, so at most one operation per
// document is in flight at the kill: the parent knows exactly which states each may be in.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "engine/shard_engine.h"
#include "engine/testing/engine_test_util.h"

namespace quidditch::engine {
namespace {

using testing::AllLiveDocs;
using testing::TempDir;

constexpr int kWriterThreads = 3;
constexpr int kKeysPerThread = 25;
constexpr int kRounds = 50;

enum class Op : uint8_t { kIndex = 0, kUpdate = 1, kDelete = 2 };

// One report from the child. Fixed size and < PIPE_BUF, so each write() is atomic.
struct Message {
  uint8_t is_ack = 0;
  uint8_t thread = 0;
  Op op = Op::kIndex;
  uint8_t exists_after = 0;  // ack: whether the document exists after the operation
  int32_t key = 0;
  int64_t tag = 0;
  int64_t version = 0;
};
static_assert(sizeof(Message) < PIPE_BUF);

std::string DocId(int thread, int key) {
  return "t" + std::to_string(thread) + "-" + std::to_string(key);
}

EngineOptions CrashOptions(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.settings = {{"index", {{"refresh_interval", "100ms"}, {"translog.durability", "request"}}}};
  o.background_merges = true;
  o.merge_factor = 3;  // merges often enough for kills to land in them
  return o;
}

void WriteMessage(int fd, const Message& m) {
  const char* p = reinterpret_cast<const char*>(&m);
  if (::write(fd, p, sizeof(m)) != static_cast<ssize_t>(sizeof(m))) ::_exit(3);
}

// An index (60%), update (25%) or delete of one of thread `t`'s documents.
Message RandomOp(int t, std::mt19937_64& rng) {
  Message m;
  m.thread = static_cast<uint8_t>(t);
  m.key = static_cast<int32_t>(rng() % kKeysPerThread);
  m.tag = static_cast<int64_t>(rng() % 1000000);
  int dice = static_cast<int>(rng() % 100);
  m.op = dice < 60 ? Op::kIndex : dice < 85 ? Op::kUpdate : Op::kDelete;
  return m;
}

std::string SourceOf(const Message& m) {
  return R"({"key":)" + std::to_string(m.key) + R"(,"tag":)" + std::to_string(m.tag) +
         R"(,"body":"crash test words"})";
}

// One bulk of 2-6 operations on distinct documents of thread `t`: every intent, the bulk, then
// every ack. All of them are in flight until the bulk returns.
void RunBulk(ShardEngine& e, int fd, int t, std::mt19937_64& rng) {
  std::vector<Message> ms;
  std::vector<BulkItem> items;
  const size_t n = 2 + rng() % 5;
  while (ms.size() < n) {
    Message m = RandomOp(t, rng);
    if (std::any_of(ms.begin(), ms.end(), [&](const Message& o) { return o.key == m.key; })) {
      continue;
    }
    BulkItem& item = items.emplace_back();
    item.id = DocId(t, m.key);
    if (m.op == Op::kIndex) {
      item.source = SourceOf(m);
    } else if (m.op == Op::kUpdate) {
      item.kind = BulkItem::Kind::kUpdate;
      item.update.doc = R"({"tag":)" + std::to_string(m.tag) + "}";
    } else {
      item.kind = BulkItem::Kind::kDelete;
    }
    WriteMessage(fd, m);  // intent
    ms.push_back(m);
  }
  std::vector<BulkItemResult> out = e.Bulk(items);
  for (size_t i = 0; i < n; ++i) {
    Message& m = ms[i];
    if (m.op == Op::kUpdate && out[i].status.IsNotFound()) {
      m.exists_after = 0;
    } else if (!out[i].status.ok()) {
      ::_exit(8);
    } else {
      m.version = out[i].write.version;
      m.exists_after = m.op == Op::kDelete ? 0 : 1;
    }
    m.is_ack = 1;
    WriteMessage(fd, m);
  }
}

// Runs in the forked child: opens the engine and writes until killed. Never returns.
[[noreturn]] void RunIndexingChild(const std::string& dir, int fd, uint64_t seed) {
  auto engine = ShardEngine::Open(CrashOptions(dir));
  if (!engine.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n", engine.status().ToString().c_str());
    ::_exit(2);
  }
  ShardEngine& e = **engine;
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriterThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 31 + static_cast<uint64_t>(t));
      while (true) {
        int dice = static_cast<int>(rng() % 100);
        if (t == 0 && dice < 3) {
          Status s = e.Flush();
          if (!s.ok()) ::_exit(4);
          continue;
        }
        if (t == 0 && dice < 8) {
          Status s = e.Refresh();
          if (!s.ok()) ::_exit(4);
          continue;
        }
        if (dice >= 90) {
          RunBulk(e, fd, t, rng);
          continue;
        }
        Message m = RandomOp(t, rng);
        WriteMessage(fd, m);  // intent
        std::string id = DocId(t, m.key);
        if (m.op == Op::kIndex) {
          auto r = e.Index(id, SourceOf(m));
          if (!r.ok()) ::_exit(5);
          m.version = r->version;
          m.exists_after = 1;
        } else if (m.op == Op::kUpdate) {
          UpdateRequest u;
          u.doc = R"({"tag":)" + std::to_string(m.tag) + "}";
          auto r = e.Update(id, u);
          if (r.ok()) {
            m.version = r->write.version;
            m.exists_after = 1;
          } else if (r.status().IsNotFound()) {
            m.exists_after = 0;  // document missing: nothing changed
          } else {
            ::_exit(6);
          }
        } else {
          auto r = e.Delete(id);
          if (!r.ok()) ::_exit(7);
          m.version = r->version;
          m.exists_after = 0;
        }
        m.is_ack = 1;
        WriteMessage(fd, m);  // written only after the engine acknowledged
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

struct ChildProcess {
  pid_t pid = -1;
  int read_fd = -1;
};

// Forks a child that runs RunIndexingChild; the parent keeps the pipe's read end.
ChildProcess ForkIndexingChild(const std::string& dir, uint64_t seed) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    RunIndexingChild(dir, fds[1], seed);
  }
  ::close(fds[1]);
  return ChildProcess{pid, fds[0]};
}

// Reads whole messages from `fd` into `*out` until `deadline` (or EOF when deadline is null).
void ReadMessages(int fd, std::string* buf, std::chrono::steady_clock::time_point* deadline) {
  char chunk[4096];
  while (true) {
    int timeout_ms = -1;
    if (deadline != nullptr) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc == 0) return;
    if (rc < 0) {
      if (errno == EINTR) continue;
      return;
    }
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) return;  // EOF: the child is gone
    buf->append(chunk, static_cast<size_t>(n));
  }
}

// Kills the child with SIGKILL and reaps it; returns false if it had exited on its own.
bool KillChild(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

struct DocState {
  bool exists = false;
  int64_t version = 0;
  int64_t tag = 0;
};

TEST(ShardEngineCrashTest, AcknowledgedOperationsSurviveSigkillAtAnyMoment) {
  TempDir dir("crash");
  std::map<std::string, DocState> model;
  std::mt19937_64 rng(20261126);
  auto start = std::chrono::steady_clock::now();
  int64_t total_acks = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ChildProcess child = ForkIndexingChild(dir.path(), rng());
    ASSERT_GT(child.pid, 0);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(20 + static_cast<int>(rng() % 381));
    std::string buf;
    ReadMessages(child.read_fd, &buf, &deadline);
    ASSERT_TRUE(KillChild(child.pid)) << "the child exited before it was killed";
    ReadMessages(child.read_fd, &buf, nullptr);
    ::close(child.read_fd);
    ASSERT_EQ(buf.size() % sizeof(Message), 0u);

    // Apply the acknowledged operations; remember those in flight, by (thread, key).
    std::map<std::pair<int, int>, Message> in_flight;
    for (size_t off = 0; off < buf.size(); off += sizeof(Message)) {
      Message m;
      std::memcpy(&m, buf.data() + off, sizeof(m));
      if (!m.is_ack) {
        in_flight[{m.thread, m.key}] = m;
        continue;
      }
      ++total_acks;
      in_flight.erase({m.thread, m.key});
      DocState& d = model[DocId(m.thread, m.key)];
      if (m.op == Op::kUpdate && !m.exists_after) continue;
      d.exists = m.exists_after != 0;
      d.version = m.version;
      if (d.exists) d.tag = m.tag;
    }

    auto engine = ShardEngine::Open(CrashOptions(dir.path()));
    ASSERT_TRUE(engine.ok()) << engine.status();
    ShardEngine& e = **engine;
    for (int t = 0; t < kWriterThreads; ++t) {
      for (int k = 0; k < kKeysPerThread; ++k) {
        std::string id = DocId(t, k);
        DocState& want = model[id];
        auto got = e.Get(id);
        ASSERT_TRUE(got.ok()) << got.status();
        DocState actual;
        actual.exists = got->found;
        if (got->found) {
          actual.version = got->version;
          auto source = nlohmann::json::parse(got->source, nullptr, false);
          ASSERT_FALSE(source.is_discarded()) << id << " has a broken source: " << got->source;
          actual.tag = source.at("tag").get<int64_t>();
        }
        bool matches_acked =
            actual.exists == want.exists &&
            (!actual.exists || (actual.version == want.version && actual.tag == want.tag));
        auto it = in_flight.find({t, k});
        bool was_in_flight = it != in_flight.end();
        if (!was_in_flight) {
          EXPECT_TRUE(matches_acked)
              << id << ": acked exists=" << want.exists << " v" << want.version << " tag "
              << want.tag << ", found exists=" << actual.exists << " v" << actual.version << " tag "
              << actual.tag;
        } else {
          // The in-flight operation may or may not have happened, but nothing else.
          const Message& m = it->second;
          bool applied = false;
          if (m.op == Op::kDelete) applied = !actual.exists;
          if (m.op == Op::kIndex) applied = actual.exists && actual.tag == m.tag;
          if (m.op == Op::kUpdate) applied = want.exists && actual.exists && actual.tag == m.tag;
          EXPECT_TRUE(matches_acked || applied)
              << id << " after in-flight op " << static_cast<int>(m.op)
              << ": exists=" << actual.exists << " tag " << actual.tag;
        }
        want = actual;  // the next round starts from what is there
      }
    }
    // A match_all over the snapshot agrees with the realtime gets and with the stats.
    auto docs = AllLiveDocs(*e.AcquireSnapshot());
    int64_t expected_count = 0;
    for (const auto& [id, state] : model) {
      if (!state.exists) {
        EXPECT_EQ(docs.count(id), 0u) << id << " deleted but searchable";
        continue;
      }
      ++expected_count;
      auto d = docs.find(id);
      ASSERT_NE(d, docs.end()) << id << " exists but is not searchable";
      EXPECT_EQ(d->second.meta.version, state.version) << id;
    }
    EXPECT_EQ(static_cast<int64_t>(docs.size()), expected_count);
    EXPECT_EQ(e.Stats().docs_count, expected_count);
    if (::testing::Test::HasFailure()) break;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("crash test: %d rounds, %lld acknowledged operations, %.1f s\n", kRounds,
              static_cast<long long>(total_acks), seconds);
  EXPECT_GT(total_acks, kRounds);  // the children did get work done
}

}  // namespace
}  // namespace quidditch::engine
