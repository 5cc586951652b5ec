// IpfsStore::importCar's batched durability: blocks are committed in blob batches before the
// records naming them, content blobs and every pin in one last batch. Crashes are simulated by
// copying the data dir at a commit stage (what a kill -9 there leaves) and opening the copy.
#include <random>

#include "content/ipfs_store.h"
#include "content/ipfs_store_testing.h"

namespace thunder::content::ipfs {
namespace {

using namespace testing;

constexpr std::string_view kDirWithFiles =
    "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";

class IpfsImportTest : public IpfsStoreFixture {
 protected:
  // A CAR of one UnixFS file of `leaves` random raw leaves of `leaf_size` bytes (root first).
  std::vector<uint8_t> fileCar(int leaves, size_t leaf_size, std::vector<Block>* blocks) {
    std::mt19937_64 rng(42);
    std::vector<Cid> children;
    std::vector<uint64_t> sizes;
    std::vector<Block> all;
    uint64_t total = 0;
    for (int i = 0; i < leaves; ++i) {
      std::vector<uint8_t> data(leaf_size);
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      Block leaf{Cid::sha256Of(kRaw, data), std::move(data)};
      children.push_back(leaf.cid);
      sizes.push_back(leaf_size);
      total += leaf_size;
      all.push_back(std::move(leaf));
    }
    all.insert(all.begin(), fileNode(children, sizes, total));
    auto car = makeCar({all.front().cid}, all);
    *blocks = std::move(all);
    return car;
  }

  void expectFsckClean() {
    auto report = blobs_->fsck();
    ASSERT_TRUE(report) << report.error().message;
    for (const auto& p : report->problems) ADD_FAILURE() << p.path << ": " << p.message;
  }
};

TEST_F(IpfsImportTest, ACrashWhileCommittingBlocksLeavesNothingVisible) {
  int commits = 0;
  on_batch_commit_ = [&](BatchCommitStage stage) {
    if (stage == BatchCommitStage::kRenamed && ++commits == 1) snapshot("a", "crashed");
  };
  open();
  ASSERT_TRUE(importFixture("path_gateway_unixfs/dir-with-files.car"));
  EXPECT_EQ(commits, 2);  // the blocks, then the content blobs with the pins

  on_batch_commit_ = nullptr;
  open("crashed");
  EXPECT_FALSE(*ipfs_->hasBlock(cid(kDirWithFiles)));
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
  EXPECT_TRUE(listBlobs().empty());
  EXPECT_EQ(blobs_->usedBytes(), 0u);
  expectFsckClean();
  auto again = importFixture("path_gateway_unixfs/dir-with-files.car");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->roots[0].complete);
}

TEST_F(IpfsImportTest, ACrashWhileCommittingContentKeepsTheBlocksUnpinned) {
  int commits = 0;
  on_batch_commit_ = [&](BatchCommitStage stage) {
    if (stage == BatchCommitStage::kRenamed && ++commits == 2) snapshot("a", "crashed");
  };
  open();
  auto report = importFixture("path_gateway_unixfs/dir-with-files.car");
  ASSERT_TRUE(report) << report.error().message;
  const size_t blocks = report->blocks;

  on_batch_commit_ = nullptr;
  open("crashed");
  // The blocks and their records were committed; no content record, no content blob, no pin.
  auto block = ipfs_->getBlock(cid(kDirWithFiles));
  ASSERT_TRUE(block && *block);
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
  const auto all = listBlobs();
  EXPECT_EQ(all.size(), blocks);
  for (const auto& info : all) EXPECT_EQ(info.pin, PinState::kUnpinned);
  expectFsckClean();
  // Importing again completes and pins everything; the blocks are not written again.
  auto again = importFixture("path_gateway_unixfs/dir-with-files.car");
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE(again->roots[0].blob);
  EXPECT_EQ(again->roots[0].blob, report->roots[0].blob);
  for (const auto& info : listBlobs()) EXPECT_EQ(info.pin, PinState::kPinned);
}

TEST_F(IpfsImportTest, ACrashMidImportKeepsTheCommittedBatches) {
  // 20 MiB of 1 MiB leaves: the blocks go in two batches (until 16 MiB, then the rest); the
  // crash comes while the second one is committed.
  std::vector<Block> blocks;
  const auto car = fileCar(20, 1 << 20, &blocks);
  int commits = 0;
  on_batch_commit_ = [&](BatchCommitStage stage) {
    if (stage == BatchCommitStage::kRenamed && ++commits == 2) snapshot("a", "crashed");
  };
  open();
  auto report = importBytes(car);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->roots[0].complete);
  EXPECT_EQ(commits, 2);  // the file (over 4 MiB) is streamed as a single put, not batched

  on_batch_commit_ = nullptr;
  open("crashed");
  size_t here = 0;
  for (const auto& b : blocks) here += *ipfs_->hasBlock(b.cid) ? 1 : 0;
  EXPECT_EQ(here, 17u);  // the first batch: the root and 16 leaves (16 MiB)
  EXPECT_TRUE(*ipfs_->hasBlock(blocks.front().cid));
  EXPECT_FALSE(*ipfs_->hasBlock(blocks.back().cid));
  for (const auto& info : listBlobs()) EXPECT_EQ(info.pin, PinState::kUnpinned);
  expectFsckClean();
}

TEST_F(IpfsImportTest, AnImportThatOutgrowsTheQuotaPinsNothing) {
  // 5 MiB of blocks, then the assembled 5 MiB file: over an 8 MiB quota, the assembly evicts
  // blocks of the import before they could be pinned.
  quota_ = 8 << 20;
  open();
  std::vector<Block> blocks;
  const auto car = fileCar(5, 1 << 20, &blocks);
  auto report = importBytes(car);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(report.error().message.find("before it could be pinned"), std::string::npos)
      << report.error().message;
  for (const auto& info : listBlobs()) EXPECT_EQ(info.pin, PinState::kUnpinned);
  EXPECT_EQ(*ipfs_->lookupContentBlob(blocks.front().cid), std::nullopt);
  EXPECT_LE(blobs_->usedBytes(), quota_);
  expectFsckClean();
}

TEST_F(IpfsImportTest, ContentBlobOnDemandIsCommittedBeforeItIsRecorded) {
  auto report = importFixture("path_gateway_unixfs/dir-with-files.car", PinState::kUnpinned);
  ASSERT_TRUE(report) << report.error().message;
  const BlobId dir_blob = *report->roots[0].blob;
  ASSERT_TRUE(blobs_->remove(dir_blob));
  // contentBlob() rebuilds the manifest through a batch; a crash before its records are written
  // leaves the manifest unrecorded (the crashed copy has no content record for it).
  on_batch_commit_ = [&](BatchCommitStage stage) {
    if (stage == BatchCommitStage::kRenamed) snapshot("a", "crashed");
  };
  open();
  auto rebuilt = ipfs_->contentBlob(cid(kDirWithFiles));
  ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  EXPECT_EQ(*rebuilt, dir_blob);
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), dir_blob);

  on_batch_commit_ = nullptr;
  open("crashed");
  EXPECT_FALSE(*blobs_->has(dir_blob));
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
  expectFsckClean();
  auto again = ipfs_->contentBlob(cid(kDirWithFiles));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, dir_blob);
}

}  // namespace
}  // namespace thunder::content::ipfs
