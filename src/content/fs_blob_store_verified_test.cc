// Partial blobs filled from verified range streams, and encoding from the store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "content/fs_blob_store.h"
#include "content/stored_blob_source.h"
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

ByteRanges rangesOf(std::initializer_list<std::pair<uint64_t, uint64_t>> list) {
  ByteRanges ranges;
  for (const auto& [start, end] : list) EXPECT_TRUE(ranges.add(start, end));
  return ranges;
}

// The verified stream of `data` for `ranges`.
std::vector<uint8_t> encode(std::span<const uint8_t> data, const ByteRanges& ranges) {
  std::vector<uint8_t> outboard(crypto::outboardSize(data.size()));
  EXPECT_TRUE(crypto::hashBlob(data, outboard));
  MemoryBlobSource source(data, outboard);
  std::vector<uint8_t> stream;
  auto ok = encodeRanges(source, ranges, [&](std::span<const uint8_t> bytes) -> Result<void> {
    stream.insert(stream.end(), bytes.begin(), bytes.end());
    return {};
  });
  EXPECT_TRUE(ok) << ok.error().message;
  return stream;
}

class VerifiedImportTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(testing::TempDir()) / "verified-import-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    StoreOptions options;
    options.root = dir_ / "store";
    auto store = FsBlobStore::open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  // Feeds `stream` in small slices; returns the first error or the result.
  Result<VerifiedPutResult> import(const BlobId& id, const ByteRanges& ranges,
                                   std::span<const uint8_t> stream) {
    THUNDER_ASSIGN_OR_RETURN(auto imp, store_->importVerified(id, ranges, {}));
    for (size_t pos = 0; pos < stream.size(); pos += 1000) {
      THUNDER_TRY(imp->feed(stream.subspan(pos, std::min<size_t>(1000, stream.size() - pos))));
    }
    return imp->finish();
  }

  fs::path dir_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(VerifiedImportTest, PartialRangesReadableThenComplete) {
  const auto data = randomBytes(10 * kGroupSize + 100, 1);  // 11 groups
  const BlobId id = crypto::blake3(data);
  const auto first = rangesOf({{2 * kGroupSize + 5, 4 * kGroupSize}});
  auto r = import(id, first, encode(data, first));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, BlobState::kPartial);
  EXPECT_EQ(r->size, data.size());
  EXPECT_EQ(r->verified_bytes, 2 * kGroupSize);
  EXPECT_EQ(r->bytes_received, 2 * kGroupSize);

  auto info = store_->stat(id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, BlobState::kPartial);
  EXPECT_FALSE(*store_->has(id));
  auto verified = store_->read(id, 2 * kGroupSize, kGroupSize + 7);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(*verified,
            std::vector<uint8_t>(data.begin() + 2 * kGroupSize, data.begin() + 3 * kGroupSize + 7));
  auto before = store_->read(id, 0, 10);
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code, ErrorCode::kNotFound);
  EXPECT_NE(before.error().message.find("group 0"), std::string::npos) << before.error().message;
  auto straddling = store_->read(id, 4 * kGroupSize - 1, 2);
  ASSERT_FALSE(straddling);
  EXPECT_NE(straddling.error().message.find("group 4"), std::string::npos)
      << straddling.error().message;
  EXPECT_EQ(store_->openComplete(id).error().code, ErrorCode::kNotFound);
  auto report = store_->fsck();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->partial_blobs, 1u);
  EXPECT_TRUE(report->problems.empty());

  // Survives a reopen.
  reopen();
  EXPECT_TRUE(store_->read(id, 3 * kGroupSize, kGroupSize));
  EXPECT_FALSE(store_->read(id, 5 * kGroupSize, 1));

  // The rest, in a second stream: the blob becomes complete.
  const auto rest = rangesOf({{0, 2 * kGroupSize}, {4 * kGroupSize, data.size()}});
  r = import(id, rest, encode(data, rest));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, BlobState::kComplete);
  EXPECT_EQ(r->verified_bytes, data.size());
  EXPECT_TRUE(*store_->has(id));
  EXPECT_EQ(*store_->read(id, 0, UINT64_MAX), data);
  EXPECT_TRUE(fs::exists(store_->outboardPath(id)));
  EXPECT_FALSE(fs::exists(store_->partialPath(id)));
  report = store_->fsck();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->partial_blobs, 0u);
  EXPECT_EQ(report->blobs_checked, 1u);
  EXPECT_TRUE(report->problems.empty());
}

TEST_F(VerifiedImportTest, WholeStreamThroughFdCompletesAtOnce) {
  const auto data = randomBytes(3 * kGroupSize + 1, 2);
  const BlobId id = crypto::blake3(data);
  const auto stream = encode(data, ByteRanges::all());
  const fs::path file = dir_ / "stream";
  {
    auto fd = openFile(file, O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(pwriteAll(fd->get(), stream, 0, "stream"));
  }
  auto fd = openFile(file, O_RDONLY);
  ASSERT_TRUE(fd);
  PutOptions pinned;
  pinned.pin = PinState::kPinned;
  auto r = store_->putVerifiedStream(id, ByteRanges::all(), fd->get(), pinned);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, BlobState::kComplete);
  EXPECT_EQ(store_->stat(id)->pin, PinState::kPinned);
  EXPECT_EQ(*store_->read(id, 0, UINT64_MAX), data);
  // Importing it again verifies and changes nothing.
  r = import(id, ByteRanges::all(), stream);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, BlobState::kComplete);
  EXPECT_EQ(store_->list()->size(), 1u);
}

TEST_F(VerifiedImportTest, CorruptStreamKeepsOnlyGroupsVerifiedBeforeTheBadByte) {
  const auto data = randomBytes(200 * kGroupSize, 3);  // > one checkpoint of 64 groups
  const BlobId id = crypto::blake3(data);
  auto stream = encode(data, ByteRanges::all());
  // Flip a byte in the data of group 150: its offset in the stream is after the header, the
  // parents walked before it and 150 groups.
  const size_t bad_data_offset = 150 * kGroupSize + 100;
  size_t stream_offset = 0;
  {
    // Find the group's bytes in the stream by content.
    auto it = std::search(stream.begin(), stream.end(), data.begin() + 150 * kGroupSize,
                          data.begin() + 150 * kGroupSize + 64);
    ASSERT_NE(it, stream.end());
    stream_offset = static_cast<size_t>(it - stream.begin()) + (bad_data_offset - 150 * kGroupSize);
  }
  stream[stream_offset] ^= 0x40;
  auto r = import(id, ByteRanges::all(), stream);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  auto info = store_->stat(id);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, BlobState::kPartial);
  EXPECT_EQ(info->verified_bytes, 150 * kGroupSize);
  EXPECT_EQ(*store_->read(id, 149 * kGroupSize, kGroupSize),
            std::vector<uint8_t>(data.begin() + 149 * kGroupSize, data.begin() + 150 * kGroupSize));
  auto bad = store_->read(id, bad_data_offset, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  auto report = store_->fsck();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
  // A good stream of the missing ranges completes it.
  const auto rest = rangesOf({{150 * kGroupSize, data.size()}});
  ASSERT_TRUE(import(id, rest, encode(data, rest)));
  EXPECT_TRUE(*store_->has(id));
  EXPECT_EQ(*store_->read(id, 0, UINT64_MAX), data);
}

TEST_F(VerifiedImportTest, EmptyBlobStreamStoresTheEmptyBlob) {
  const std::vector<uint8_t> empty;
  const BlobId id = crypto::blake3(empty);
  auto r = import(id, ByteRanges::all(), encode(empty, ByteRanges::all()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, BlobState::kComplete);
  EXPECT_EQ(r->size, 0u);
  EXPECT_TRUE(*store_->has(id));
}

TEST_F(VerifiedImportTest, StreamOfAnotherBlobStoresNothing) {
  const auto data = randomBytes(5 * kGroupSize, 4);
  const BlobId other = crypto::blake3(randomBytes(5 * kGroupSize, 5));
  auto r = import(other, ByteRanges::all(), encode(data, ByteRanges::all()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(store_->list()->empty());
  EXPECT_EQ(store_->usedBytes(), 0u);
}

TEST_F(VerifiedImportTest, TruncatedStreamKeepsVerifiedPrefix) {
  const auto data = randomBytes(4 * kGroupSize, 6);
  const BlobId id = crypto::blake3(data);
  auto stream = encode(data, ByteRanges::all());
  stream.resize(stream.size() - 10);
  auto r = import(id, ByteRanges::all(), stream);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  auto info = store_->stat(id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->verified_bytes, 3 * kGroupSize);
}

TEST_F(VerifiedImportTest, StoredBlobSourceEncodesForAnotherStore) {
  const auto data = randomBytes(7 * kGroupSize + 333, 7);
  auto put = store_->putBytes(data, {});
  ASSERT_TRUE(put);
  auto source = StoredBlobSource::open(*store_, put->id);
  ASSERT_TRUE(source) << source.error().message;
  EXPECT_EQ((*source)->size(), data.size());
  const auto ranges = rangesOf({{kGroupSize, 3 * kGroupSize}});
  std::vector<uint8_t> stream;
  ASSERT_TRUE(encodeRanges(**source, ranges, [&](std::span<const uint8_t> bytes) -> Result<void> {
    stream.insert(stream.end(), bytes.begin(), bytes.end());
    return {};
  }));
  EXPECT_EQ(stream, encode(data, ranges));

  // Into a second store: a partial blob with exactly those groups.
  StoreOptions options;
  options.root = dir_ / "second";
  auto second = FsBlobStore::open(options);
  ASSERT_TRUE(second);
  auto imp = (*second)->importVerified(put->id, ranges, {});
  ASSERT_TRUE(imp);
  ASSERT_TRUE((*imp)->feed(stream));
  auto r = (*imp)->finish();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verified_bytes, 2 * kGroupSize);
  EXPECT_EQ(*(*second)->read(put->id, kGroupSize, 2 * kGroupSize),
            std::vector<uint8_t>(data.begin() + kGroupSize, data.begin() + 3 * kGroupSize));

  auto missing = StoredBlobSource::open(*store_, crypto::blake3(randomBytes(1, 1)));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace thunder::content
