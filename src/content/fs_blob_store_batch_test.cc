// PutBatch on FsBlobStore: visibility before and after commit, duplicates, pins, the quota,
// crashes at each stage of a commit (the directory as a crash would leave it, reopened), and the
// write-through default of BlobStore::beginBatch().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "content/fs_blob_store.h"
#include "content/verified_stream.h"
#include "crypto/blake3.h"
#include "crypto/blake3_tree.h"

namespace thunder::content {
namespace {

namespace fs = std::filesystem;
using crypto::kGroupSize;

std::vector<uint8_t> randomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

size_t countFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

uint64_t stored(uint64_t size) {
  return size + crypto::outboardSize(size);
}

class PutBatchTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(testing::TempDir()) / "put-batch-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  FsBlobStore& open(uint64_t quota = 0, const fs::path& root = {}) {
    store_.reset();
    StoreOptions options;
    options.root = root.empty() ? dir_ / "store" : root;
    options.quota_bytes = quota;
    options.inject_write_errno = fault_;
    options.on_batch_commit = on_commit_;
    auto store = FsBlobStore::open(options);
    EXPECT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    return *store_;
  }

  std::unique_ptr<PutBatch> batch() {
    auto b = store_->beginBatch();
    EXPECT_TRUE(b) << b.error().message;
    return std::move(*b);
  }

  BlobId putIn(PutBatch& b, std::span<const uint8_t> bytes, PinState pin = PinState::kUnpinned) {
    PutOptions options;
    options.pin = pin;
    auto r = b.putBytes(bytes, options);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->id : BlobId();
  }

  BlobId put(std::span<const uint8_t> bytes, PinState pin = PinState::kUnpinned) {
    PutOptions options;
    options.pin = pin;
    auto r = store_->putBytes(bytes, options);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->id : BlobId();
  }

  bool has(const BlobId& id) {
    auto r = store_->has(id);
    EXPECT_TRUE(r) << r.error().message;
    return r && *r;
  }

  PinState pinOf(const BlobId& id) {
    auto info = store_->stat(id);
    EXPECT_TRUE(info) << info.error().message;
    return info ? info->pin : PinState::kUnpinned;
  }

  void expectClean(FsBlobStore& store) {
    auto report = store.fsck();
    ASSERT_TRUE(report) << report.error().message;
    for (const auto& p : report->problems) ADD_FAILURE() << p.path << ": " << p.message;
  }

  fs::path dir_;
  std::unique_ptr<FsBlobStore> store_;
  std::function<int(uint64_t, uint64_t)> fault_;
  std::function<void(BatchCommitStage)> on_commit_;
};

TEST_F(PutBatchTest, PutsBecomeVisibleAtCommitAndDuplicatesAreStoredOnce) {
  auto& store = open();
  const auto before = randomBytes(300, 1);
  const BlobId old = put(before);
  const uint64_t used = store.usedBytes();

  auto b = batch();
  const auto small = randomBytes(1000, 2);
  const auto large = randomBytes(3 * kGroupSize + 5, 3);  // with a non-empty outboard
  const auto empty = std::vector<uint8_t>();
  auto first = b->putBytes(small, {});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome, PutOutcome::kStored);
  EXPECT_EQ(first->id, crypto::blake3(small));
  auto again = b->putBytes(small, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, PutOutcome::kAlreadyPresent);
  auto there = b->putBytes(before, {});
  ASSERT_TRUE(there);
  EXPECT_EQ(there->outcome, PutOutcome::kAlreadyPresent);
  EXPECT_EQ(there->id, old);
  const BlobId l = putIn(*b, large);
  const BlobId e = putIn(*b, empty);
  EXPECT_EQ(b->pendingBlobs(), 3u);
  EXPECT_EQ(b->pendingBytes(), small.size() + large.size());

  // Written to tmp/, but invisible: not indexed, not counted.
  EXPECT_FALSE(has(first->id));
  EXPECT_FALSE(has(l));
  EXPECT_FALSE(has(e));
  EXPECT_EQ(store.read(l, 0, 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store.list()->size(), 1u);
  EXPECT_EQ(store.usedBytes(), used);
  EXPECT_EQ(countFiles(store.root() / "tmp"), 6u);

  ASSERT_TRUE(b->commit());
  EXPECT_EQ(b->pendingBlobs(), 0u);
  EXPECT_EQ(b->pendingBytes(), 0u);
  EXPECT_EQ(*store.read(first->id, 0, UINT64_MAX), small);
  EXPECT_EQ(*store.read(l, 0, UINT64_MAX), large);
  EXPECT_TRUE(has(e));
  EXPECT_EQ(store.list()->size(), 4u);
  EXPECT_EQ(store.usedBytes(), used + stored(small.size()) + stored(large.size()));
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  EXPECT_TRUE(fs::exists(store.outboardPath(l)));
  expectClean(store);

  // The batch is reusable; an empty commit is a no-op.
  const BlobId next = putIn(*b, randomBytes(10, 4));
  ASSERT_TRUE(b->commit());
  EXPECT_TRUE(has(next));
  EXPECT_TRUE(b->commit());

  // Everything survives a reopen.
  auto& reopened = open();
  EXPECT_EQ(*reopened.read(l, 0, UINT64_MAX), large);
  EXPECT_EQ(reopened.list()->size(), 5u);
}

TEST_F(PutBatchTest, ADroppedBatchLeavesNothing) {
  auto& store = open();
  {
    auto b = batch();
    putIn(*b, randomBytes(5000, 1));
    putIn(*b, randomBytes(3 * kGroupSize, 2));
    EXPECT_EQ(countFiles(store.root() / "tmp"), 4u);
  }
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  EXPECT_EQ(countFiles(store.root() / "blobs"), 0u);
  EXPECT_TRUE(store.list()->empty());
  EXPECT_EQ(store.usedBytes(), 0u);
}

TEST_F(PutBatchTest, PinsApplyAtCommitAllOrNothing) {
  auto& store = open();
  const BlobId existing = put(randomBytes(100, 1));
  auto b = batch();
  const BlobId pinned_put = putIn(*b, randomBytes(200, 2), PinState::kPinned);
  const auto later = randomBytes(300, 3);
  b->pin(crypto::blake3(later));  // pinned before it is put
  putIn(*b, later);
  const BlobId unpinned = putIn(*b, randomBytes(400, 4));
  b->pin(existing);
  EXPECT_EQ(pinOf(existing), PinState::kUnpinned);  // not before the commit
  ASSERT_TRUE(b->commit());
  EXPECT_EQ(pinOf(existing), PinState::kPinned);
  EXPECT_EQ(pinOf(pinned_put), PinState::kPinned);
  EXPECT_EQ(pinOf(crypto::blake3(later)), PinState::kPinned);
  EXPECT_EQ(pinOf(unpinned), PinState::kUnpinned);

  // A pin of a blob that is not stored fails the whole commit: nothing is stored or pinned.
  const BlobId other = put(randomBytes(500, 5));
  const auto fresh = randomBytes(600, 6);
  putIn(*b, fresh);
  b->pin(other);
  b->pin(crypto::blake3(randomBytes(700, 7)));
  auto failed = b->commit();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kNotFound);
  EXPECT_NE(failed.error().message.find("cannot pin blob"), std::string::npos);
  EXPECT_FALSE(has(crypto::blake3(fresh)));
  EXPECT_EQ(pinOf(other), PinState::kUnpinned);
  EXPECT_EQ(b->pendingBlobs(), 0u);
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  expectClean(store);
}

TEST_F(PutBatchTest, QuotaMakesRoomForTheWholeBatchButNeverEvictsItsOwnBlobs) {
  const uint64_t size = 2 * kGroupSize;
  auto& store = open(4 * stored(size));  // room for four blobs
  const BlobId a = put(randomBytes(size, 1));
  const BlobId b = put(randomBytes(size, 2));
  const BlobId c = put(randomBytes(size, 3));
  ASSERT_TRUE(store.read(b, 0, 1));  // LRU: a, c, b

  // Two new blobs need one slot more than is free: one old blob goes. `a` is the least recent
  // but the batch pins it, so `c` is evicted.
  auto batch1 = batch();
  const BlobId d = putIn(*batch1, randomBytes(size, 4));
  const BlobId e = putIn(*batch1, randomBytes(size, 5));
  batch1->pin(a);
  ASSERT_TRUE(batch1->commit());
  EXPECT_TRUE(has(a));
  EXPECT_TRUE(has(b));
  EXPECT_FALSE(has(c));
  EXPECT_TRUE(has(d));
  EXPECT_TRUE(has(e));
  EXPECT_EQ(store.usedBytes(), 4 * stored(size));

  // Everything pinned: a batch that does not fit fails, evicting and storing nothing.
  for (const BlobId& id : {b, d, e}) ASSERT_TRUE(store.pin(id));
  auto batch2 = batch();
  const BlobId f = putIn(*batch2, randomBytes(size, 6));
  auto full = batch2->commit();
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);
  EXPECT_FALSE(has(f));
  EXPECT_EQ(store.list()->size(), 4u);
  EXPECT_EQ(store.usedBytes(), 4 * stored(size));
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);

  // A blob larger than the whole quota is refused by the put itself.
  auto huge = batch2->putBytes(randomBytes(5 * size, 7), {});
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::kResourceExhausted);
  expectClean(store);
}

TEST_F(PutBatchTest, ConcurrentPutOfTheSameBlobAndGcDuringABatch) {
  auto& store = open();
  const auto bytes = randomBytes(2 * kGroupSize, 1);
  auto b = batch();
  const BlobId id = putIn(*b, bytes, PinState::kPinned);
  const BlobId other = putIn(*b, randomBytes(100, 2));
  // The batch's files are active temps: gc() leaves them alone.
  auto report = store.gc();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->temp_files_removed, 0u);
  // Another writer stores the same blob first: the commit keeps that one (and pins it).
  put(bytes);
  ASSERT_TRUE(b->commit());
  EXPECT_EQ(*store.read(id, 0, UINT64_MAX), bytes);
  EXPECT_EQ(pinOf(id), PinState::kPinned);
  EXPECT_TRUE(has(other));
  EXPECT_EQ(store.usedBytes(), stored(bytes.size()) + stored(100));
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  expectClean(store);
}

TEST_F(PutBatchTest, ABatchSupersedesAPartialBlob) {
  auto& store = open();
  const auto data = randomBytes(3 * kGroupSize, 1);
  const BlobId id = crypto::blake3(data);
  // The first group arrives as a verified stream: a partial blob.
  std::vector<uint8_t> outboard(crypto::outboardSize(data.size()));
  ASSERT_TRUE(crypto::hashBlob(data, outboard));
  MemoryBlobSource source(data, outboard);
  ByteRanges first;
  ASSERT_TRUE(first.add(0, kGroupSize));
  std::vector<uint8_t> stream;
  ASSERT_TRUE(encodeRanges(source, first, [&](std::span<const uint8_t> bytes) -> Result<void> {
    stream.insert(stream.end(), bytes.begin(), bytes.end());
    return {};
  }));
  auto imp = store.importVerified(id, first, {});
  ASSERT_TRUE(imp);
  ASSERT_TRUE((*imp)->feed(stream));
  ASSERT_TRUE((*imp)->finish());
  ASSERT_EQ(store.stat(id)->state, BlobState::kPartial);
  ASSERT_TRUE(fs::exists(store.partialPath(id)));

  auto b = batch();
  auto put = b->putBytes(data, {});
  ASSERT_TRUE(put);
  EXPECT_EQ(put->outcome, PutOutcome::kStored);  // a partial blob is not stored yet
  ASSERT_TRUE(b->commit());
  EXPECT_EQ(store.stat(id)->state, BlobState::kComplete);
  EXPECT_EQ(*store.read(id, 0, UINT64_MAX), data);
  EXPECT_FALSE(fs::exists(store.partialPath(id)));
  EXPECT_EQ(store.usedBytes(), stored(data.size()));
  expectClean(store);
}

TEST_F(PutBatchTest, InjectedWriteErrorFailsThePutAndLeavesNoFile) {
  fault_ = [](uint64_t, uint64_t length) { return length == 777 ? ENOSPC : 0; };
  auto& store = open();
  auto b = batch();
  const BlobId ok = putIn(*b, randomBytes(100, 1));
  auto failed = b->putBytes(randomBytes(777, 2), {});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(b->pendingBlobs(), 1u);  // the other puts stay in the batch
  ASSERT_TRUE(b->commit());
  EXPECT_TRUE(has(ok));
  EXPECT_EQ(store.list()->size(), 1u);
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
}

// A crash at each point of a commit, simulated by copying the store directory as it is at that
// point (what a kill -9 leaves on disk) and opening the copy.
TEST_F(PutBatchTest, ACrashAtAnyPointOfACommitLeavesOnlyCollectableFiles) {
  struct Case {
    const char* name;
    std::optional<BatchCommitStage> stage;  // nullopt: before commit() is called
  };
  const Case cases[] = {
      {"puts written, no commit", std::nullopt},
      {"data synced, files in tmp/", BatchCommitStage::kDataDurable},
      {"files renamed into blobs/, no index record", BatchCommitStage::kRenamed},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path root = dir_ / "store";
    const fs::path crashed = dir_ / "crashed";
    fs::remove_all(root);
    fs::remove_all(crashed);
    const auto snapshot = [&] {
      fs::copy(root, crashed, fs::copy_options::recursive);
      fs::remove(crashed / "index" / "LOCK");  // held by the live process only
    };
    on_commit_ = [&](BatchCommitStage stage) {
      if (c.stage == stage) snapshot();
    };
    open();
    const auto kept_bytes = randomBytes(2 * kGroupSize, 1);
    const BlobId kept = put(kept_bytes, PinState::kPinned);
    auto b = batch();
    std::vector<BlobId> ids;
    for (uint64_t i = 0; i < 20; ++i) ids.push_back(putIn(*b, randomBytes(100 + 1000 * i, i + 2)));
    ids.push_back(putIn(*b, randomBytes(5 * kGroupSize, 99)));
    if (!c.stage) snapshot();
    ASSERT_TRUE(b->commit());
    for (const BlobId& id : ids) EXPECT_TRUE(has(id));  // the live store committed
    ASSERT_TRUE(fs::exists(crashed));
    if (c.stage == BatchCommitStage::kRenamed) {
      EXPECT_TRUE(
          fs::exists(crashed / "blobs" / ids[0].hex().substr(0, 2) / (ids[0].hex() + ".data")));
    } else {
      EXPECT_EQ(countFiles(crashed / "tmp"), 2 * ids.size());
    }
    EXPECT_FALSE(fs::exists(crashed / "clean-shutdown"));  // the crashed process was running

    on_commit_ = nullptr;
    auto& recovered = open(0, crashed);
    for (const BlobId& id : ids) EXPECT_FALSE(has(id));
    EXPECT_EQ(*recovered.read(kept, 0, UINT64_MAX), kept_bytes);
    EXPECT_EQ(pinOf(kept), PinState::kPinned);
    EXPECT_EQ(recovered.list()->size(), 1u);
    EXPECT_EQ(countFiles(crashed / "tmp"), 0u);
    EXPECT_EQ(countFiles(crashed / "blobs"), 2u);  // the kept blob's data and outboard
    EXPECT_EQ(recovered.usedBytes(), stored(kept_bytes.size()));
    expectClean(recovered);
    // The recovered store takes the same batch again.
    auto again = batch();
    for (uint64_t i = 0; i < 20; ++i) putIn(*again, randomBytes(100 + 1000 * i, i + 2));
    ASSERT_TRUE(again->commit());
    EXPECT_TRUE(has(ids[19]));
    store_.reset();
  }
}

TEST_F(PutBatchTest, ReadOnlyStoreRefusesBatches) {
  open();
  store_.reset();
  StoreOptions options;
  options.root = dir_ / "store";
  options.mode = OpenMode::kReadOnly;
  auto reader = FsBlobStore::open(options);
  ASSERT_TRUE(reader) << reader.error().message;
  auto b = (*reader)->beginBatch();
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kUnavailable);
}

// A BlobStore that keeps the base class's beginBatch(): every call forwards to an FsBlobStore.
class ForwardingStore final : public BlobStore {
 public:
  explicit ForwardingStore(FsBlobStore& s) : s_(s) {}
  Result<PutResult> putFile(const fs::path& f, const PutOptions& o) override {
    return s_.putFile(f, o);
  }
  Result<PutResult> putStream(int fd, const PutOptions& o) override { return s_.putStream(fd, o); }
  Result<PutResult> putBytes(std::span<const uint8_t> b, const PutOptions& o) override {
    ++puts;
    return s_.putBytes(b, o);
  }
  Result<std::unique_ptr<VerifiedImport>> importVerified(const BlobId& id, const ByteRanges& r,
                                                         const PutOptions& o) override {
    return s_.importVerified(id, r, o);
  }
  Result<VerifiedPutResult> putVerifiedStream(const BlobId& id, const ByteRanges& r, int fd,
                                              const PutOptions& o) override {
    return s_.putVerifiedStream(id, r, fd, o);
  }
  Result<std::vector<uint8_t>> read(const BlobId& id, uint64_t off, uint64_t len) override {
    return s_.read(id, off, len);
  }
  Result<BlobSlice> openRange(const BlobId& id, uint64_t off, uint64_t len) override {
    return s_.openRange(id, off, len);
  }
  Result<BlobFiles> openComplete(const BlobId& id) override { return s_.openComplete(id); }
  Result<BlobInfo> stat(const BlobId& id) override { return s_.stat(id); }
  Result<bool> has(const BlobId& id) override { return s_.has(id); }
  Result<std::vector<BlobInfo>> list() override { return s_.list(); }
  Result<void> remove(const BlobId& id) override { return s_.remove(id); }
  Result<void> pin(const BlobId& id) override { return s_.pin(id); }
  Result<void> unpin(const BlobId& id) override { return s_.unpin(id); }
  Result<GcReport> gc() override { return s_.gc(); }
  Result<FsckReport> fsck() override { return s_.fsck(); }

  int puts = 0;

 private:
  FsBlobStore& s_;
};

TEST_F(PutBatchTest, DefaultBatchWritesThroughAndPinsAtCommit) {
  auto& store = open();
  ForwardingStore forwarding(store);
  auto b = forwarding.beginBatch();
  ASSERT_TRUE(b);
  const auto bytes = randomBytes(1000, 1);
  auto put = (*b)->putBytes(bytes, PutOptions{PinState::kPinned, {}});
  ASSERT_TRUE(put);
  EXPECT_EQ(forwarding.puts, 1);
  EXPECT_TRUE(has(put->id));  // stored at once
  EXPECT_EQ(pinOf(put->id), PinState::kUnpinned);
  EXPECT_EQ((*b)->pendingBlobs(), 1u);
  ASSERT_TRUE((*b)->commit());
  EXPECT_EQ(pinOf(put->id), PinState::kPinned);
  EXPECT_EQ((*b)->pendingBlobs(), 0u);
  (*b)->pin(crypto::blake3(randomBytes(10, 2)));
  auto missing = (*b)->commit();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace thunder::content
