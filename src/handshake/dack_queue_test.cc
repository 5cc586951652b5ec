#include "handshake/dack_queue.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "base/hex.h"
#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using testing::keyFromByte;

class DackQueueTest : public ::testing::Test {
 protected:
  DackQueueTest() {
    std::string tmpl = ::testing::TempDir() + "dack_queue_test.XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = std::filesystem::path(tmpl) / "dacks";
    scope_.node_pk = keyFromByte(0xA0).publicKey();
    scope_.client_pk = client_.publicKey();
    scope_.service = ServiceId(7);
    scope_.lane = 2;
    scope_.session_nonce.mutableBytes()[0] = 0x55;
  }
  ~DackQueueTest() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_.parent_path(), ec);
  }

  std::unique_ptr<DackQueue> openQueue(DackQueueMode mode = DackQueueMode::kReadWrite) {
    auto queue = DackQueue::open({dir_, mode});
    EXPECT_TRUE(queue) << queue.error().message;
    return queue ? std::move(*queue) : nullptr;
  }

  Dack dack(uint64_t counter, uint64_t amount, DackScope scope,
            Commodity commodity = Commodity::kBandwidthBytes) const {
    Hash32 root;
    root.mutableBytes()[0] = static_cast<uint8_t>(counter);
    return makeDack(client_, scope, commodity, amount, Commitment::contentRange(root, 0, amount),
                    counter);
  }
  Dack dack(uint64_t counter, uint64_t amount) const { return dack(counter, amount, scope_); }

  DackScope laneScope(LaneId lane) const {
    DackScope s = scope_;
    s.lane = lane;
    return s;
  }

  // Rewrites the raw value stored under the only entry's key (the queue must be closed).
  std::string corruptOnlyEntry(const std::string& new_value) {
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->Seek("d");
    EXPECT_TRUE(it->Valid());
    const std::string key = it->key().ToString();
    it.reset();
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), key, new_value).ok());
    return toHex(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  }

  std::filesystem::path dir_;
  crypto::SigningKey client_ = keyFromByte(1);
  DackScope scope_;
};

TEST_F(DackQueueTest, KeepsOnlyTheLatestDackOfALane) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  EXPECT_EQ(queue->put(dack(1, 100)), StoreOutcome::kStored);
  EXPECT_EQ(queue->put(dack(2, 250)), StoreOutcome::kReplaced);
  EXPECT_EQ(queue->put(dack(7, 900)), StoreOutcome::kReplaced);
  auto all = queue->list();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), dack(7, 900));
  EXPECT_EQ(queue->count(), 1u);
}

TEST_F(DackQueueTest, IgnoresALowerOrEqualCounter) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->put(dack(5, 500)), StoreOutcome::kStored);
  EXPECT_EQ(queue->put(dack(3, 300)), StoreOutcome::kStale);
  EXPECT_EQ(queue->put(dack(5, 999)), StoreOutcome::kStale);  // same counter, other amount
  EXPECT_EQ(queue->put(dack(1, 100)), StoreOutcome::kStale);
  auto all = queue->list();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), dack(5, 500));
}

TEST_F(DackQueueTest, KeepsLanesSessionsClientsServicesAndCommoditiesApart) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  DackScope other_session = scope_;
  other_session.session_nonce.mutableBytes()[0] = 0x56;
  DackScope other_service = scope_;
  other_service.service = ServiceId(8);
  const Dack from_other_client = makeDack(keyFromByte(2), scope_, Commodity::kBandwidthBytes, 10,
                                          Commitment::requestHash(Hash32()), 1);
  const std::vector<Dack> dacks = {
      dack(4, 40),
      dack(1, 10, laneScope(3)),
      dack(2, 20, other_session),
      dack(3, 30, other_service),
      dack(5, 7, scope_, Commodity::kComputeMs),  // same lane, other commodity
      from_other_client,
  };
  for (const Dack& d : dacks) EXPECT_EQ(queue->put(d), StoreOutcome::kStored);
  auto all = queue->list();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), dacks.size());
  for (const Dack& d : dacks) EXPECT_NE(std::find(all->begin(), all->end(), d), all->end());
  // Stable order: lanes of one client and service come in numeric lane order.
  auto again = queue->list();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *all);
  const auto lane2 = std::find(all->begin(), all->end(), dacks[0]);
  const auto lane3 = std::find(all->begin(), all->end(), dacks[1]);
  EXPECT_LT(lane2, lane3);
}

TEST_F(DackQueueTest, SurvivesCloseAndReopen) {
  {
    auto queue = openQueue();
    ASSERT_TRUE(queue);
    ASSERT_TRUE(queue->put(dack(1, 10)));
    ASSERT_TRUE(queue->put(dack(2, 20)));
    ASSERT_TRUE(queue->put(dack(1, 5, laneScope(9))));
  }
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  auto all = queue->list();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, (std::vector<Dack>{dack(2, 20), dack(1, 5, laneScope(9))}));
  EXPECT_EQ(queue->put(dack(2, 20)), StoreOutcome::kStale);  // monotonic across restarts
}

TEST_F(DackQueueTest, ADackSurvivesKill9RightAfterPutReturns) {
  const Dack first = dack(3, 300);
  const Dack second = dack(1, 10, laneScope(5));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child never returns into GoogleTest: it stores, then dies without any cleanup.
    auto queue = DackQueue::open({dir_, DackQueueMode::kReadWrite});
    if (!queue || !(*queue)->put(first) || !(*queue)->put(second)) ::_exit(2);
    ::raise(SIGKILL);
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  // A reader (`thunder dacks` after the crash) and the restarted node both find them.
  for (const auto mode : {DackQueueMode::kReadOnly, DackQueueMode::kReadWrite}) {
    auto queue = openQueue(mode);
    ASSERT_TRUE(queue);
    auto all = queue->list();
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, (std::vector<Dack>{first, second}));
  }
}

TEST_F(DackQueueTest, SettlingLeavesADackThatArrivedAfterTheBatchPending) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  ASSERT_TRUE(queue->put(dack(1, 10)));
  ASSERT_TRUE(queue->put(dack(1, 11, laneScope(3))));
  ASSERT_TRUE(queue->put(dack(1, 12, laneScope(4))));

  auto one = queue->takeBatch(1);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->size(), 1u);
  EXPECT_EQ(queue->takeBatch(0)->size(), 0u);

  auto batch = queue->takeBatch(10);
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ(batch->front().dack, dack(1, 10));
  EXPECT_EQ(batch->front().handle.counter(), 1u);
  EXPECT_EQ(queue->count(), 3u);  // taking does not remove

  // Lane 2 moves on while the ledger applies the batch.
  ASSERT_EQ(queue->put(dack(2, 50)), StoreOutcome::kReplaced);

  std::vector<DackHandle> handles;
  for (const auto& p : *batch) handles.push_back(p.handle);
  auto settled = queue->markSettled(handles);
  ASSERT_TRUE(settled) << settled.error().message;
  auto left = queue->list();
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, std::vector<Dack>{dack(2, 50)});
  EXPECT_TRUE(queue->markSettled(handles));  // settling twice changes nothing
  EXPECT_EQ(queue->count(), 1u);

  auto next = queue->takeBatch(10);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  ASSERT_TRUE(queue->markSettled(std::vector<DackHandle>{next->front().handle}));
  EXPECT_EQ(queue->count(), 0u);
}

TEST_F(DackQueueTest, ConcurrentPutsEndWithTheHighestCounterPerLane) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  constexpr int kThreads = 4;
  constexpr uint64_t kCounters = 12;
  constexpr LaneId kSharedLanes = 3;
  // Every thread writes every shared lane (thread t: counters t+1, t+1+kThreads, ...,
  // descending on odd threads) and its own lane (100 + t).
  std::vector<std::vector<Dack>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (LaneId lane = 0; lane < kSharedLanes; ++lane) {
      for (uint64_t c = static_cast<uint64_t>(t) + 1; c <= kCounters; c += kThreads) {
        work[t].push_back(dack(c, c * 10, laneScope(lane)));
      }
    }
    for (uint64_t c = 1; c <= 4; ++c) work[t].push_back(dack(c, c, laneScope(100 + t)));
    if (t % 2 == 1) std::reverse(work[t].begin(), work[t].end());
  }
  std::atomic<int> failures{0};
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const Dack& d : work[t]) {
        auto r = queue->put(d);
        if (!r) ++failures;
        if (r && *r == StoreOutcome::kStored) ++stored;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stored.load(), static_cast<int>(kSharedLanes) + kThreads);  // one per lane key

  auto all = queue->list();
  ASSERT_TRUE(all) << all.error().message;
  std::map<LaneId, Dack> by_lane;
  for (const Dack& d : *all) by_lane.emplace(d.scope.lane, d);
  ASSERT_EQ(by_lane.size(), kSharedLanes + kThreads);
  for (LaneId lane = 0; lane < kSharedLanes; ++lane) {
    EXPECT_EQ(by_lane.at(lane), dack(kCounters, kCounters * 10, laneScope(lane)));
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(by_lane.at(100 + t).counter, 4u);
}

TEST_F(DackQueueTest, ACorruptValueIsReportedWithItsKey) {
  {
    auto queue = openQueue();
    ASSERT_TRUE(queue);
    ASSERT_TRUE(queue->put(dack(1, 10)));
  }
  const std::string key_hex = corruptOnlyEntry("not a dack");
  auto queue = openQueue();  // opening logs the problem, does not fail
  ASSERT_TRUE(queue);
  auto all = queue->list();
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code, ErrorCode::kCorruption);
  EXPECT_NE(all.error().message.find(key_hex), std::string::npos) << all.error().message;
  auto batch = queue->takeBatch(10);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code, ErrorCode::kCorruption);
  auto put = queue->put(dack(2, 20));  // never replace what cannot be compared
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(queue->count(), 1u);
  auto report = queue->verifyAll();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->checked, 1u);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].key_hex, key_hex);
  EXPECT_EQ(report->problems[0].error.code, ErrorCode::kCorruption);
}

TEST_F(DackQueueTest, ADackStoredUnderAnotherLanesKeyIsCorrupt) {
  {
    auto queue = openQueue();
    ASSERT_TRUE(queue);
    ASSERT_TRUE(queue->put(dack(1, 10)));
  }
  const auto other = encodeDack(dack(1, 10, laneScope(3)));
  const std::string key_hex = corruptOnlyEntry(std::string(other.begin(), other.end()));
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  auto all = queue->list();
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code, ErrorCode::kCorruption);
  EXPECT_NE(all.error().message.find(key_hex), std::string::npos) << all.error().message;
}

TEST_F(DackQueueTest, VerifyAllFindsABadSignature) {
  auto queue = openQueue();
  ASSERT_TRUE(queue);
  ASSERT_TRUE(queue->put(dack(1, 10)));
  Dack forged = dack(1, 10, laneScope(3));
  forged.amount = 1'000'000;  // put() trusts the session's verification
  ASSERT_TRUE(queue->put(forged));
  auto report = queue->verifyAll();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->checked, 2u);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].error.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(report->problems[0].error.message.find("signature"), std::string::npos);
  EXPECT_FALSE(report->ok());
}

TEST_F(DackQueueTest, OpensReadOnlyBesideTheWriter) {
  auto missing = DackQueue::open({dir_, DackQueueMode::kReadOnly});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto writer = openQueue();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->put(dack(1, 10)));
  ASSERT_TRUE(writer->put(dack(2, 20, laneScope(4))));

  auto second_writer = DackQueue::open({dir_, DackQueueMode::kReadWrite});
  ASSERT_FALSE(second_writer);
  EXPECT_EQ(second_writer.error().code, ErrorCode::kUnavailable) << second_writer.error().message;

  auto reader = openQueue(DackQueueMode::kReadOnly);
  ASSERT_TRUE(reader);
  auto all = reader->list();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, (std::vector<Dack>{dack(1, 10), dack(2, 20, laneScope(4))}));
  auto report = reader->verifyAll();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  auto put = reader->put(dack(3, 30));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kPermissionDenied);
  auto batch = reader->takeBatch(10);
  ASSERT_TRUE(batch);
  EXPECT_EQ(reader->markSettled(std::vector<DackHandle>{batch->front().handle}).error().code,
            ErrorCode::kPermissionDenied);
  // The writer is unaffected.
  EXPECT_EQ(writer->put(dack(3, 30)), StoreOutcome::kReplaced);
}

TEST_F(DackQueueTest, RefusesADirectoryOfAnotherFormat) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "!format", "thunder-blob-store 1").ok());
  }
  auto queue = DackQueue::open({dir_, DackQueueMode::kReadWrite});
  ASSERT_FALSE(queue);
  EXPECT_EQ(queue.error().code, ErrorCode::kCorruption);
}

// Counts syncs of RocksDB's write-ahead log files (*.log).
class WalSyncCountingFs : public rocksdb::FileSystemWrapper {
 public:
  explicit WalSyncCountingFs(std::atomic<int>* syncs)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), syncs_(syncs) {}
  static const char* kClassName() { return "WalSyncCountingFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && name.ends_with(".log")) {
      *result = std::make_unique<CountingFile>(std::move(*result), syncs_);
    }
    return s;
  }

 private:
  class CountingFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    CountingFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<int>* syncs)
        : FSWritableFileOwnerWrapper(std::move(file)), syncs_(syncs) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      ++*syncs_;
      return FSWritableFileOwnerWrapper::Sync(o, d);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      ++*syncs_;
      return FSWritableFileOwnerWrapper::Fsync(o, d);
    }

   private:
    std::atomic<int>* syncs_;
  };

  std::atomic<int>* syncs_;
};

TEST_F(DackQueueTest, EveryChangeIsSyncedBeforeItReturns) {
  std::atomic<int> syncs{0};
  auto env = rocksdb::NewCompositeEnv(std::make_shared<WalSyncCountingFs>(&syncs));
  auto opened = DackQueue::open({dir_, DackQueueMode::kReadWrite, env.get()});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& queue = **opened;

  int before = syncs.load();
  ASSERT_EQ(queue.put(dack(1, 10)), StoreOutcome::kStored);
  EXPECT_GT(syncs.load(), before) << "put() returned before the log was synced";
  before = syncs.load();
  ASSERT_EQ(queue.put(dack(2, 20)), StoreOutcome::kReplaced);
  EXPECT_GT(syncs.load(), before);
  before = syncs.load();
  ASSERT_EQ(queue.put(dack(2, 20)), StoreOutcome::kStale);
  EXPECT_EQ(syncs.load(), before);  // nothing written
  auto batch = queue.takeBatch(1);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(queue.markSettled(std::vector<DackHandle>{batch->front().handle}));
  EXPECT_GT(syncs.load(), before) << "markSettled() returned before the log was synced";
}

}  // namespace
}  // namespace thunder::handshake
