#include "engine/translog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "engine/file_util.h"

namespace quidditch::engine {
namespace {

namespace fs = std::filesystem;

class TranslogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qd_translog_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static TranslogOp MakeOp(int64_t seq_no) {
    TranslogOp op;
    op.type = seq_no % 3 == 2 ? TranslogOpType::kDelete : TranslogOpType::kIndex;
    op.seq_no = seq_no;
    op.primary_term = 1 + seq_no / 10;
    op.version = seq_no + 7;
    op.id = "doc-" + std::to_string(seq_no);
    if (op.type == TranslogOpType::kIndex) {
      op.source = R"({"n":)" + std::to_string(seq_no) + "}";
    }
    if (seq_no % 4 == 0) op.routing = "r" + std::to_string(seq_no);
    return op;
  }

  static std::vector<TranslogOp> ReadAll(const Translog& t) {
    std::vector<TranslogOp> ops;
    Status s = t.Read(0, [&](const TranslogOp& op) {
      ops.push_back(op);
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s;
    return ops;
  }

  std::string GenPath(int64_t gen) const {
    return (dir_ / ("translog-" + std::to_string(gen) + ".tlog")).string();
  }

  fs::path dir_;
};

TEST_F(TranslogTest, RoundTripAcrossReopenAndRolls) {
  std::vector<TranslogOp> expected;
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    for (int64_t i = 0; i < 10; ++i) {
      expected.push_back(MakeOp(i));
      auto loc = (*t)->Add(expected.back());
      ASSERT_TRUE(loc.ok()) << loc.status();
      ASSERT_TRUE((*t)->Sync(*loc).ok());
      if (i == 4) {
        ASSERT_TRUE((*t)->Roll().ok());
      }
    }
    EXPECT_EQ(ReadAll(**t), expected);
  }
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ReadAll(**t), expected);
  auto gens = (*t)->generations();
  ASSERT_EQ(gens.size(), 3u);  // 1, 2 and the new generation 3 started by Open
  EXPECT_EQ(gens[0].max_seq_no, 4);
  EXPECT_EQ(gens[1].min_seq_no, 5);
  EXPECT_EQ(gens[1].max_seq_no, 9);
  EXPECT_EQ(gens[2].num_ops, 0);
  EXPECT_EQ((*t)->current_generation(), 3);
}

TEST_F(TranslogTest, AddAllAppendsInOrderWithTheirAccounting) {
  std::vector<TranslogOp> ops = {MakeOp(0), MakeOp(1), MakeOp(2)};
  std::vector<TranslogOp> more = {MakeOp(3)};
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    auto first = (*t)->AddAll(ops);
    ASSERT_TRUE(first.ok()) << first.status();
    size_t bytes = 0;
    for (const TranslogOp& op : ops) bytes += EncodeTranslogRecord(op).size();
    EXPECT_EQ(first->end_offset, bytes);
    auto none = (*t)->AddAll({});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, *first);  // nothing written: where the log ends
    auto last = (*t)->AddAll(more);
    ASSERT_TRUE(last.ok());
    ASSERT_TRUE((*t)->Sync(*last).ok());
    ops.push_back(more[0]);
    EXPECT_EQ(ReadAll(**t), ops);
    TranslogGenerationInfo gen = (*t)->generations().back();
    EXPECT_EQ(gen.num_ops, 4);
    EXPECT_EQ(gen.min_seq_no, 0);
    EXPECT_EQ(gen.max_seq_no, 3);
  }
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ReadAll(**t), ops);
}

TEST_F(TranslogTest, TrimBelowDeletesOldGenerationsAndRemembersTheirSeqNos) {
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok());
    for (int64_t i = 0; i < 6; ++i) {
      ASSERT_TRUE((*t)->Add(MakeOp(i)).ok());
      if (i % 2 == 1) {
        ASSERT_TRUE((*t)->Roll().ok());
      }
    }
    // Generations 1 {0,1}, 2 {2,3}, 3 {4,5}, 4 {}.
    ASSERT_TRUE((*t)->TrimBelow(3).ok());
    EXPECT_EQ((*t)->trimmed_max_seq_no(), 3);
    EXPECT_FALSE(fs::exists(GenPath(1)));
    EXPECT_FALSE(fs::exists(GenPath(2)));
    auto ops = ReadAll(**t);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0].seq_no, 4);
    // Never the current generation.
    ASSERT_TRUE((*t)->TrimBelow(100).ok());
    EXPECT_EQ((*t)->generations().size(), 1u);
    EXPECT_EQ((*t)->trimmed_max_seq_no(), 5);
  }
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->trimmed_max_seq_no(), 5);
  EXPECT_TRUE(ReadAll(**t).empty());
}

TEST_F(TranslogTest, LeftoverGenerationBelowCheckpointIsRemovedOnOpen) {
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->Add(MakeOp(0)).ok());
    ASSERT_TRUE((*t)->Roll().ok());
    ASSERT_TRUE((*t)->Add(MakeOp(1)).ok());
    ASSERT_TRUE((*t)->TrimBelow(2).ok());
  }
  // As if the crash came after the checkpoint was written but before the unlink.
  ASSERT_TRUE(WriteFileAtomic(GenPath(1), EncodeTranslogRecord(MakeOp(0))).ok());
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(fs::exists(GenPath(1)));
  auto ops = ReadAll(**t);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].seq_no, 1);
}

TEST_F(TranslogTest, TornTailAtEveryOffsetOfTheLastRecordReplaysThePreviousOnes) {
  std::vector<TranslogOp> ops;
  for (int64_t i = 0; i < 4; ++i) ops.push_back(MakeOp(i));
  std::string head;
  for (size_t i = 0; i + 1 < ops.size(); ++i) head += EncodeTranslogRecord(ops[i]);
  std::string last = EncodeTranslogRecord(ops.back());
  std::vector<TranslogOp> want(ops.begin(), ops.end() - 1);
  for (size_t cut = 0; cut < last.size(); ++cut) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Generation 1 is complete, generation 2 ends in the torn record.
    ASSERT_TRUE(WriteFileAtomic(GenPath(1), EncodeTranslogRecord(ops[0])).ok());
    std::string gen2 = head.substr(EncodeTranslogRecord(ops[0]).size()) + last.substr(0, cut);
    ASSERT_TRUE(WriteFileAtomic(GenPath(2), gen2).ok());
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << "cut " << cut << ": " << t.status();
    EXPECT_EQ(ReadAll(**t), want) << "cut " << cut;
    EXPECT_EQ(fs::file_size(GenPath(2)), gen2.size() - cut) << "torn tail not truncated";
    // And appending after recovery works and survives another reopen.
    ASSERT_TRUE((*t)->Add(ops.back()).ok());
    t->reset();
    auto again = Translog::Open(dir_.string());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(ReadAll(**again), ops) << "cut " << cut;
  }
}

TEST_F(TranslogTest, TornTailWithGarbageOrZerosInTheLastRecordIsCutOff) {
  std::string data = EncodeTranslogRecord(MakeOp(0)) + EncodeTranslogRecord(MakeOp(1));
  std::string last = EncodeTranslogRecord(MakeOp(2));
  std::string flipped = last;
  flipped[last.size() - 2] ^= 0x40;  // full length, bad checksum: a record half on disk
  for (const std::string& tail : {flipped, std::string(37, '\0')}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(WriteFileAtomic(GenPath(1), data + tail).ok());
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(ReadAll(**t).size(), 2u);
  }
}

TEST_F(TranslogTest, DamageInTheMiddleIsCorruption) {
  std::vector<std::string> records;
  for (int64_t i = 0; i < 5; ++i) records.push_back(EncodeTranslogRecord(MakeOp(i)));
  size_t start_of_second = records[0].size();
  std::string all;
  for (const auto& r : records) all += r;
  // Every byte of the second record flipped in turn: header or payload, always Corruption.
  for (size_t off = 0; off < records[1].size(); ++off) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string bad = all;
    bad[start_of_second + off] ^= 0x01;
    ASSERT_TRUE(WriteFileAtomic(GenPath(1), bad).ok());
    auto t = Translog::Open(dir_.string());
    ASSERT_FALSE(t.ok()) << "offset " << off;
    EXPECT_TRUE(t.status().IsCorruption()) << t.status();
  }
}

TEST_F(TranslogTest, TornRecordInAnOlderGenerationIsCorruption) {
  fs::create_directories(dir_);
  std::string rec = EncodeTranslogRecord(MakeOp(0));
  ASSERT_TRUE(WriteFileAtomic(GenPath(1), rec.substr(0, rec.size() - 3)).ok());
  ASSERT_TRUE(WriteFileAtomic(GenPath(2), EncodeTranslogRecord(MakeOp(1))).ok());
  auto t = Translog::Open(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsCorruption()) << t.status();
}

TEST_F(TranslogTest, MissingGenerationIsCorruption) {
  fs::create_directories(dir_);
  ASSERT_TRUE(WriteFileAtomic(GenPath(1), EncodeTranslogRecord(MakeOp(0))).ok());
  ASSERT_TRUE(WriteFileAtomic(GenPath(3), EncodeTranslogRecord(MakeOp(1))).ok());
  auto t = Translog::Open(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsCorruption()) << t.status();
}

// A machine crash with group commit: the kernel wrote a later page of unsynced records but
// not an earlier one, leaving a zero hole followed by intact records. None of them was
// acknowledged, so recovery keeps the synced records and drops the rest without complaint.
TEST_F(TranslogTest, LostPageAfterTheSyncedOffsetIsCutOff) {
  uint64_t synced_end = 0;
  uint64_t first_unsynced_size = 0;
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE((*t)->Add(MakeOp(i)).ok());
    ASSERT_TRUE((*t)->SyncAll().ok());
    synced_end = (*t)->last_location().end_offset;
    for (int64_t i = 3; i < 6; ++i) ASSERT_TRUE((*t)->Add(MakeOp(i)).ok());
    first_unsynced_size = EncodeTranslogRecord(MakeOp(3)).size();
  }
  std::string gen1 = *ReadFile(GenPath(1));
  std::string with_hole = gen1;
  std::fill_n(with_hole.begin() + static_cast<ptrdiff_t>(synced_end), first_unsynced_size, '\0');
  ASSERT_TRUE(WriteFileAtomic(GenPath(1), with_hole).ok());
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    std::vector<TranslogOp> want = {MakeOp(0), MakeOp(1), MakeOp(2)};
    EXPECT_EQ(ReadAll(**t), want);
    EXPECT_EQ(fs::file_size(GenPath(1)), synced_end);
  }
  // Damage inside the synced part is still Corruption, even as a "torn tail".
  for (size_t cut : {size_t{0}, static_cast<size_t>(synced_end) - 3}) {
    fs::remove_all(dir_);
    {
      auto t = Translog::Open(dir_.string());
      ASSERT_TRUE(t.ok());
      for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE((*t)->Add(MakeOp(i)).ok());
      ASSERT_TRUE((*t)->SyncAll().ok());
    }
    std::string bad = gen1.substr(0, synced_end);
    if (cut == 0) {
      bad[synced_end - 5] ^= 0x01;  // a flipped bit in the last synced record
    } else {
      bad.resize(cut);  // synced bytes lost
    }
    ASSERT_TRUE(WriteFileAtomic(GenPath(1), bad).ok());
    auto t = Translog::Open(dir_.string());
    ASSERT_FALSE(t.ok()) << "cut " << cut;
    EXPECT_TRUE(t.status().IsCorruption()) << t.status();
  }
}

TEST_F(TranslogTest, ReadHandsOutOnlySyncedOperations) {
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE((*t)->Add(MakeOp(0)).ok());
  ASSERT_TRUE((*t)->Add(MakeOp(1)).ok());
  EXPECT_TRUE(ReadAll(**t).empty());
  ASSERT_TRUE((*t)->SyncAll().ok());
  ASSERT_TRUE((*t)->Add(MakeOp(2)).ok());
  std::vector<TranslogOp> want = {MakeOp(0), MakeOp(1)};
  EXPECT_EQ(ReadAll(**t), want);
  // Roll syncs the generation it closes.
  ASSERT_TRUE((*t)->Roll().ok());
  ASSERT_TRUE((*t)->Add(MakeOp(3)).ok());
  want.push_back(MakeOp(2));
  EXPECT_EQ(ReadAll(**t), want);
  ASSERT_TRUE((*t)->SyncAll().ok());
  want.push_back(MakeOp(3));
  EXPECT_EQ(ReadAll(**t), want);
}

TEST_F(TranslogTest, MissingNewestGenerationsAreCorruption) {
  auto setup = [&] {
    fs::remove_all(dir_);
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE((*t)->Add(MakeOp(0)).ok());
    ASSERT_TRUE((*t)->Roll().ok());
    ASSERT_TRUE((*t)->Add(MakeOp(1)).ok());
    ASSERT_TRUE((*t)->Roll().ok());  // generations 1, 2, 3; the checkpoint names 3
  };
  // The newest generation lost: 1 and 2 alone would look like a complete translog.
  setup();
  fs::remove(GenPath(3));
  auto t = Translog::Open(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsCorruption()) << t.status();
  EXPECT_NE(t.status().ToString().find(GenPath(3)), std::string::npos) << t.status();
  // The two newest lost.
  setup();
  fs::remove(GenPath(2));
  fs::remove(GenPath(3));
  t = Translog::Open(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().ToString().find(GenPath(2)), std::string::npos) << t.status();
  // Every generation lost while the checkpoint remains.
  setup();
  for (int64_t gen = 1; gen <= 3; ++gen) fs::remove(GenPath(gen));
  fs::remove(dir_ / "translog.synced");
  t = Translog::Open(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsCorruption()) << t.status();
  EXPECT_NE(t.status().ToString().find(GenPath(1)), std::string::npos) << t.status();
}

TEST_F(TranslogTest, SyncOfAnAlreadySyncedLocationIssuesNoFsync) {
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok());
  auto a = (*t)->Add(MakeOp(0));
  auto b = (*t)->Add(MakeOp(1));
  auto c = (*t)->Add(MakeOp(2));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_LT(*a, *b);
  ASSERT_TRUE((*t)->Sync(*a).ok());  // one fsync covers everything appended so far
  EXPECT_EQ((*t)->sync_count(), 1);
  ASSERT_TRUE((*t)->Sync(*c).ok());
  ASSERT_TRUE((*t)->Sync(*b).ok());
  EXPECT_EQ((*t)->sync_count(), 1);
  auto d = (*t)->Add(MakeOp(3));
  ASSERT_TRUE((*t)->Sync(*d).ok());
  EXPECT_EQ((*t)->sync_count(), 2);
  // After a roll the old generation is synced; locations in it need nothing.
  ASSERT_TRUE((*t)->Roll().ok());
  ASSERT_TRUE((*t)->Sync(*d).ok());
  EXPECT_EQ((*t)->sync_count(), 2);
}

TEST_F(TranslogTest, ConcurrentWritersAllSurvive) {
  constexpr int kThreads = 4, kPerThread = 200;
  {
    auto t = Translog::Open(dir_.string());
    ASSERT_TRUE(t.ok());
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th) {
      threads.emplace_back([&, th] {
        for (int i = 0; i < kPerThread; ++i) {
          auto loc = (*t)->Add(MakeOp(th * kPerThread + i));
          ASSERT_TRUE(loc.ok());
          ASSERT_TRUE((*t)->Sync(*loc).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  auto t = Translog::Open(dir_.string());
  ASSERT_TRUE(t.ok());
  auto ops = ReadAll(**t);
  ASSERT_EQ(ops.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<bool> seen(kThreads * kPerThread);
  for (const auto& op : ops) {
    EXPECT_EQ(op, MakeOp(op.seq_no));
    seen[op.seq_no] = true;
  }
  for (bool b : seen) EXPECT_TRUE(b);
}

}  // namespace
}  // namespace quidditch::engine
