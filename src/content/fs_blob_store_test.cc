#include "content/fs_blob_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

#include "content/store_index.h"
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

fs::path makeTempDir() {
  std::string tmpl = (fs::path(testing::TempDir()) / "blob-store-test-XXXXXX").string();
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

void writeFile(const fs::path& path, std::span<const uint8_t> bytes) {
  auto fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_TRUE(pwriteAll(fd->get(), bytes, 0, path.string()));
}

std::vector<uint8_t> readWholeFile(const fs::path& path) {
  std::vector<uint8_t> out(fs::file_size(path));
  auto fd = openFile(path, O_RDONLY);
  EXPECT_TRUE(fd);
  EXPECT_TRUE(preadAll(fd->get(), out, 0, path.string()));
  return out;
}

size_t countFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

class FsBlobStoreTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir(); }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  FsBlobStore& open(uint64_t quota = 0) {
    store_.reset();
    StoreOptions options;
    options.root = dir_ / "store";
    options.quota_bytes = quota;
    options.inject_write_errno = fault_;
    auto store = FsBlobStore::open(options);
    EXPECT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    return *store_;
  }

  BlobId put(std::span<const uint8_t> bytes, PinState pin = PinState::kUnpinned) {
    PutOptions options;
    options.pin = pin;
    auto r = store_->putBytes(bytes, options);
    EXPECT_TRUE(r) << r.error().message;
    return r->id;
  }

  fs::path dir_;
  std::unique_ptr<FsBlobStore> store_;
  std::function<int(uint64_t, uint64_t)> fault_;
};

TEST_F(FsBlobStoreTest, RoundtripAroundGroupBoundaries) {
  auto& store = open();
  const std::vector<size_t> sizes = {0,
                                     1,
                                     1023,
                                     1024,
                                     1025,
                                     kGroupSize - 1,
                                     kGroupSize,
                                     kGroupSize + 1,
                                     2 * kGroupSize,
                                     2 * kGroupSize + 1,
                                     3 * kGroupSize + 5,
                                     8 * kGroupSize,
                                     (1 << 20) + 7};
  uint64_t seed = 1;
  for (const size_t size : sizes) {
    SCOPED_TRACE(size);
    // The same bytes through each of the three put paths, each into a fresh blob.
    for (int path = 0; path < 3; ++path) {
      const auto data = randomBytes(size, seed++);
      const BlobId expected = crypto::blake3(data);
      Result<PutResult> r;
      const fs::path file = dir_ / "input";
      writeFile(file, data);
      if (path == 0) {
        r = store.putBytes(data, {});
      } else if (path == 1) {
        r = store.putFile(file, {});
      } else {
        auto fd = openFile(file, O_RDONLY);
        ASSERT_TRUE(fd);
        r = store.putStream(fd->get(), {});
      }
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->id, expected);
      EXPECT_EQ(r->size, size);
      if (size > 0 || path == 0) {
        EXPECT_EQ(r->outcome, PutOutcome::kStored);
      }
      auto back = store.read(expected, 0, UINT64_MAX);
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_EQ(*back, data);
      // The outboard on disk is the tree's outboard.
      std::vector<uint8_t> outboard(crypto::outboardSize(size));
      ASSERT_TRUE(crypto::hashBlob(data, outboard));
      EXPECT_EQ(readWholeFile(store.outboardPath(expected)), outboard);
      // A range across a group boundary, and one clipped at the end.
      if (size > kGroupSize + 10) {
        auto mid = store.read(expected, kGroupSize - 5, 10);
        ASSERT_TRUE(mid);
        EXPECT_EQ(*mid, std::vector<uint8_t>(data.begin() + kGroupSize - 5,
                                             data.begin() + kGroupSize + 5));
      }
      auto tail = store.read(expected, size, 100);
      ASSERT_TRUE(tail);
      EXPECT_TRUE(tail->empty());
      auto past = store.read(expected, size + 1, 1);
      ASSERT_FALSE(past);
      EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(countFiles(dir_ / "store" / "tmp"), 0u);
}

TEST_F(FsBlobStoreTest, IdenticalContentIsStoredOnce) {
  auto& store = open();
  const auto data = randomBytes(3 * kGroupSize, 7);
  const BlobId id = put(data);
  const uint64_t used = store.usedBytes();
  EXPECT_EQ(used, data.size() + crypto::outboardSize(data.size()));
  auto again = store.putBytes(data, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, PutOutcome::kAlreadyPresent);
  writeFile(dir_ / "same", data);
  auto from_file = store.putFile(dir_ / "same", {});
  ASSERT_TRUE(from_file);
  EXPECT_EQ(from_file->id, id);
  EXPECT_EQ(from_file->outcome, PutOutcome::kAlreadyPresent);
  EXPECT_EQ(store.usedBytes(), used);
  auto all = store.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(countFiles(dir_ / "store" / "blobs"), 2u);  // .data and .obao
  EXPECT_EQ(countFiles(dir_ / "store" / "tmp"), 0u);
}

TEST_F(FsBlobStoreTest, ConcurrentPutsOfSameAndDifferentBlobs) {
  auto& store = open();
  const auto shared = randomBytes(5 * kGroupSize + 3, 99);
  writeFile(dir_ / "shared", shared);
  constexpr int kThreads = 6;
  std::vector<Result<PutResult>> shared_results(kThreads), own_results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      shared_results[t] =
          t % 2 == 0 ? store.putFile(dir_ / "shared", {}) : store.putBytes(shared, {});
      own_results[t] = store.putBytes(randomBytes(kGroupSize * (t + 1) + t, 1000 + t), {});
    });
  }
  for (auto& t : threads) t.join();
  int stored = 0;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(shared_results[t]) << shared_results[t].error().message;
    ASSERT_TRUE(own_results[t]) << own_results[t].error().message;
    EXPECT_EQ(shared_results[t]->id, crypto::blake3(shared));
    stored += shared_results[t]->outcome == PutOutcome::kStored ? 1 : 0;
  }
  EXPECT_EQ(stored, 1);
  auto all = store.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads + 1));
  EXPECT_EQ(countFiles(dir_ / "store" / "tmp"), 0u);
  auto report = store.fsck();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->blobs_checked, static_cast<uint64_t>(kThreads + 1));
}

TEST_F(FsBlobStoreTest, ReopenAfterCrashCollectsLeftovers) {
  auto& store = open();
  const auto data = randomBytes(2 * kGroupSize, 3);
  const BlobId kept = put(data);
  const fs::path root = store.root();
  store_.reset();
  // What a crash can leave: temp files, and renamed blob files whose index write never happened.
  const auto orphan_data = randomBytes(100, 4);
  const BlobId orphan = crypto::blake3(orphan_data);
  fs::create_directories(root / "blobs" / orphan.hex().substr(0, 2));
  writeFile(root / "blobs" / orphan.hex().substr(0, 2) / (orphan.hex() + ".data"), orphan_data);
  writeFile(root / "blobs" / orphan.hex().substr(0, 2) / (orphan.hex() + ".obao"), {});
  fs::create_directories(root / "partial" / "ab");
  writeFile(root / "partial" / "ab" / (std::string(64, 'a').replace(0, 2, "ab") + ".data"),
            orphan_data);
  writeFile(root / "tmp" / "123-deadbeef-0.data", orphan_data);
  ASSERT_TRUE(fs::remove(root / "clean-shutdown"));  // the crashed process never wrote it

  auto& reopened = open();
  EXPECT_EQ(countFiles(root / "tmp"), 0u);
  EXPECT_EQ(countFiles(root / "partial"), 0u);
  EXPECT_EQ(countFiles(root / "blobs"), 2u);
  auto has_orphan = reopened.has(orphan);
  ASSERT_TRUE(has_orphan);
  EXPECT_FALSE(*has_orphan);
  auto back = reopened.read(kept, 0, UINT64_MAX);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, data);
  auto report = reopened.fsck();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
}

TEST_F(FsBlobStoreTest, TempFilesAreCollectedEvenAfterCleanShutdown) {
  auto& store = open();
  const fs::path root = store.root();
  store_.reset();
  ASSERT_TRUE(fs::exists(root / "clean-shutdown"));
  writeFile(root / "tmp" / "1-00000000-7.obao", randomBytes(64, 1));
  open();
  EXPECT_EQ(countFiles(root / "tmp"), 0u);
  EXPECT_FALSE(fs::exists(root / "clean-shutdown"));  // removed while the store is open
}

TEST_F(FsBlobStoreTest, GcReportsTempFilesButSparesActiveWrites) {
  auto& store = open();
  writeFile(store.root() / "tmp" / "1-00000000-7.data", randomBytes(1000, 1));
  auto report = store.gc();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->temp_files_removed, 1u);
  EXPECT_EQ(report->temp_bytes_removed, 1000u);
  EXPECT_EQ(report->evicted_blobs, 0u);
}

TEST_F(FsBlobStoreTest, LruEvictionSkipsPinnedBlobs) {
  const uint64_t blob_size = 2 * kGroupSize;
  const uint64_t stored = blob_size + crypto::outboardSize(blob_size);
  auto& store = open(3 * stored);  // room for exactly three blobs
  const BlobId a = put(randomBytes(blob_size, 1), PinState::kPinned);
  const BlobId b = put(randomBytes(blob_size, 2));
  const BlobId c = put(randomBytes(blob_size, 3));
  ASSERT_TRUE(store.read(a, 0, 1));  // accesses: a is oldest but pinned; then c, then b
  ASSERT_TRUE(store.read(c, 0, 1));
  ASSERT_TRUE(store.read(b, 0, 1));
  const BlobId d = put(randomBytes(blob_size, 4));  // evicts c (least recent unpinned)
  EXPECT_TRUE(*store.has(a));
  EXPECT_TRUE(*store.has(b));
  EXPECT_FALSE(*store.has(c));
  EXPECT_TRUE(*store.has(d));
  EXPECT_FALSE(fs::exists(store.dataPath(c)));
  const BlobId e = put(randomBytes(blob_size, 5));  // evicts b
  EXPECT_FALSE(*store.has(b));
  EXPECT_TRUE(*store.has(d));
  EXPECT_TRUE(*store.has(e));
  EXPECT_EQ(store.usedBytes(), 3 * stored);

  // With everything pinned nothing can be evicted: the put fails and leaves nothing behind.
  ASSERT_TRUE(store.pin(d));
  ASSERT_TRUE(store.pin(e));
  auto full = store.putBytes(randomBytes(blob_size, 6), {});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  EXPECT_EQ(store.list()->size(), 3u);

  // Unpinning makes room again; gc() within quota evicts nothing.
  ASSERT_TRUE(store.unpin(d));
  auto report = store.gc();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->evicted_blobs, 0u);
  const BlobId f = put(randomBytes(blob_size, 6));
  EXPECT_FALSE(*store.has(d));
  EXPECT_TRUE(*store.has(f));

  // A blob larger than the quota is refused before anything is written.
  auto huge = store.putBytes(randomBytes(4 * blob_size, 7), {});
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::kResourceExhausted);
}

TEST_F(FsBlobStoreTest, LruOrderSurvivesReopen) {
  const uint64_t blob_size = kGroupSize;
  const uint64_t stored = blob_size + crypto::outboardSize(blob_size);
  open(2 * stored);
  const BlobId a = put(randomBytes(blob_size, 1));
  const BlobId b = put(randomBytes(blob_size, 2));
  ASSERT_TRUE(store_->read(a, 0, 1));  // b is now least recent
  auto& store = open(2 * stored);
  put(randomBytes(blob_size, 3));
  EXPECT_TRUE(*store.has(a));
  EXPECT_FALSE(*store.has(b));
}

TEST_F(FsBlobStoreTest, DeleteRemovesFilesAndRecord) {
  auto& store = open();
  const auto data = randomBytes(3 * kGroupSize, 11);
  const BlobId id = put(data, PinState::kPinned);
  ASSERT_TRUE(store.remove(id));
  EXPECT_FALSE(*store.has(id));
  EXPECT_FALSE(fs::exists(store.dataPath(id)));
  EXPECT_FALSE(fs::exists(store.outboardPath(id)));
  EXPECT_EQ(store.usedBytes(), 0u);
  auto read = store.read(id, 0, 1);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  auto again = store.remove(id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store.pin(id).error().code, ErrorCode::kNotFound);
  // It can be stored again.
  EXPECT_EQ(put(data), id);
  EXPECT_EQ(store.stat(id)->pin, PinState::kUnpinned);
}

TEST_F(FsBlobStoreTest, StatAndPins) {
  auto& store = open();
  const BlobId id = put(randomBytes(5, 1));
  auto info = store.stat(id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->state, BlobState::kComplete);
  EXPECT_EQ(info->pin, PinState::kUnpinned);
  EXPECT_EQ(info->verified_bytes, 5u);
  EXPECT_GT(info->created_us, 0u);
  ASSERT_TRUE(store.pin(id));
  ASSERT_TRUE(store.pin(id));  // idempotent
  EXPECT_EQ(store.stat(id)->pin, PinState::kPinned);
  // Putting again with --pin semantics keeps it pinned; without does not unpin.
  ASSERT_TRUE(store.putBytes(randomBytes(5, 1), {}));
  EXPECT_EQ(store.stat(id)->pin, PinState::kPinned);
  ASSERT_TRUE(store.unpin(id));
  EXPECT_EQ(store.stat(id)->pin, PinState::kUnpinned);
  PutOptions pinned;
  pinned.pin = PinState::kPinned;
  auto r = store.putBytes(randomBytes(5, 1), pinned);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, PutOutcome::kAlreadyPresent);
  EXPECT_EQ(store.stat(id)->pin, PinState::kPinned);
  auto missing = store.stat(crypto::blake3(randomBytes(6, 1)));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

void flipByte(const fs::path& path, uint64_t offset) {
  auto fd = openFile(path, O_RDWR);
  ASSERT_TRUE(fd);
  uint8_t b = 0;
  ASSERT_TRUE(preadAll(fd->get(), std::span(&b, 1), offset, path.string()));
  b ^= 0x01;
  ASSERT_TRUE(pwriteAll(fd->get(), std::span(&b, 1), offset, path.string()));
}

TEST_F(FsBlobStoreTest, FsckDetectsFlippedDataByte) {
  auto& store = open();
  const BlobId good = put(randomBytes(4 * kGroupSize, 1));
  const BlobId bad = put(randomBytes(4 * kGroupSize + 100, 2));
  flipByte(store.dataPath(bad), 3 * kGroupSize + 7);
  auto report = store.fsck();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->blobs_checked, 2u);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].kind, FsckProblemKind::kDataCorrupt);
  EXPECT_EQ(report->problems[0].blob, bad.hex());
  (void)good;
}

TEST_F(FsBlobStoreTest, FsckDetectsFlippedOutboardByte) {
  auto& store = open();
  const BlobId id = put(randomBytes(5 * kGroupSize, 1));
  flipByte(store.outboardPath(id), 64 + 40);  // second parent node
  auto report = store.fsck();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].kind, FsckProblemKind::kOutboardCorrupt);
  EXPECT_NE(report->problems[0].message.find("parent node 1"), std::string::npos)
      << report->problems[0].message;
}

TEST_F(FsBlobStoreTest, FsckReportsMissingTruncatedAndOrphanFiles) {
  auto& store = open();
  const BlobId missing = put(randomBytes(kGroupSize, 1));
  const BlobId truncated = put(randomBytes(3 * kGroupSize, 2));
  fs::remove(store.dataPath(missing));
  fs::resize_file(store.dataPath(truncated), kGroupSize);
  writeFile(store.root() / "blobs" / "zz-foreign-file", randomBytes(3, 3));
  fs::create_directories(store.root() / "blobs" / "zz");
  writeFile(store.root() / "blobs" / "zz" / "stray.data", randomBytes(3, 3));
  auto report = store.fsck();
  ASSERT_TRUE(report);
  std::multiset<FsckProblemKind> kinds;
  for (const auto& p : report->problems) kinds.insert(p.kind);
  EXPECT_EQ(kinds.count(FsckProblemKind::kMissingFile), 1u);
  EXPECT_EQ(kinds.count(FsckProblemKind::kWrongSize), 1u);
  EXPECT_EQ(kinds.count(FsckProblemKind::kOrphanFile), 1u);
}

TEST_F(FsBlobStoreTest, DiskFullByInjectedErrorLeavesStoreConsistent) {
  int calls = 0;
  fault_ = [&calls](uint64_t offset, uint64_t) { return ++calls > 0 && offset > 0 ? ENOSPC : 0; };
  auto& store = open();
  const BlobId before = put(randomBytes(100, 1));  // a single write at offset 0 succeeds
  const auto big = randomBytes(20 << 20, 2);       // copied in several chunks: fails mid-way
  writeFile(dir_ / "big", big);
  auto r = store.putFile(dir_ / "big", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message.find("No space left"), std::string::npos) << r.error().message;
  auto fd = openFile(dir_ / "big", O_RDONLY);
  ASSERT_TRUE(fd);
  auto s = store.putStream(fd->get(), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(countFiles(store.root() / "tmp"), 0u);
  EXPECT_EQ(store.list()->size(), 1u);
  EXPECT_EQ(*store.read(before, 0, UINT64_MAX), randomBytes(100, 1));
  auto report = store.fsck();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
}

TEST_F(FsBlobStoreTest, DiskFullOnSmallTmpfs) {
  const fs::path mnt = dir_ / "tmpfs";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=12m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  {
    StoreOptions options;
    options.root = mnt / "store";
    auto store = FsBlobStore::open(options);
    ASSERT_TRUE(store) << store.error().message;
    const auto small = randomBytes(64 << 10, 1);
    auto ok = (*store)->putBytes(small, {});
    ASSERT_TRUE(ok) << ok.error().message;
    writeFile(dir_ / "big", randomBytes(16 << 20, 2));
    auto r = (*store)->putFile(dir_ / "big", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted) << r.error().message;
    EXPECT_EQ(countFiles(options.root / "tmp"), 0u);
    EXPECT_EQ((*store)->list()->size(), 1u);
    EXPECT_EQ(*(*store)->read(ok->id, 0, UINT64_MAX), small);
    auto report = (*store)->fsck();
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->problems.empty());
    // Space is back: a put that fits succeeds.
    EXPECT_TRUE((*store)->putBytes(randomBytes(1 << 20, 3), {}));
  }
}

TEST_F(FsBlobStoreTest, ReadOnlyOpenWhileWriterHoldsTheStore) {
  auto& writer = open();
  const auto data = randomBytes(3 * kGroupSize, 5);
  const BlobId id = put(data);

  StoreOptions second;
  second.root = writer.root();
  auto other_writer = FsBlobStore::open(second);
  ASSERT_FALSE(other_writer);
  EXPECT_EQ(other_writer.error().code, ErrorCode::kUnavailable) << other_writer.error().message;

  StoreOptions ro = second;
  ro.mode = OpenMode::kReadOnly;
  auto reader = FsBlobStore::open(ro);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(*(*reader)->read(id, 0, UINT64_MAX), data);
  EXPECT_EQ((*reader)->list()->size(), 1u);
  auto write = (*reader)->putBytes(randomBytes(10, 1), {});
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*reader)->pin(id).error().code, ErrorCode::kUnavailable);
  auto report = (*reader)->fsck();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
  // The writer keeps working while the reader is open.
  put(randomBytes(10, 2));
  EXPECT_EQ(writer.list()->size(), 2u);
}

TEST_F(FsBlobStoreTest, ReadOnlyOpenOfMissingStoreIsNotFound) {
  StoreOptions ro;
  ro.root = dir_ / "nothing";
  ro.mode = OpenMode::kReadOnly;
  auto reader = FsBlobStore::open(ro);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code, ErrorCode::kNotFound);
}

TEST_F(FsBlobStoreTest, OpenRangeGivesReadOnlyFd) {
  auto& store = open();
  const auto data = randomBytes(2 * kGroupSize, 9);
  const BlobId id = put(data);
  auto slice = store.openRange(id, 100, 50);
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->offset, 100u);
  EXPECT_EQ(slice->length, 50u);
  std::vector<uint8_t> got(50);
  ASSERT_TRUE(preadAll(slice->fd.get(), got, slice->offset, "slice"));
  EXPECT_EQ(got, std::vector<uint8_t>(data.begin() + 100, data.begin() + 150));
  EXPECT_EQ((::fcntl(slice->fd.get(), F_GETFL) & O_ACCMODE), O_RDONLY);
}

TEST(GroupBitfieldTest, EncodeDecodeAndCanonicalForm) {
  GroupBitfield bits(11);
  bits.set(0);
  bits.set(10);
  EXPECT_EQ(bits.countSet(), 2u);
  EXPECT_EQ(bits.firstMissing(0, 11), 1u);
  EXPECT_EQ(bits.firstMissing(10, 11), std::nullopt);
  auto back = GroupBitfield::decode(bits.encode(), 11);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->test(10));
  EXPECT_FALSE(GroupBitfield::decode(bits.encode(), 12));
  auto bytes = bits.encode();
  bytes.back() |= 0x80;  // bit past group 10
  EXPECT_FALSE(GroupBitfield::decode(bytes, 11));
}

}  // namespace
}  // namespace thunder::content
