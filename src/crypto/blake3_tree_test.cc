#include "crypto/blake3_tree.h"

#include <blake3.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"

namespace thunder::crypto {
namespace {

std::vector<uint8_t> patternBytes(size_t size, uint32_t seed) {
  std::vector<uint8_t> out(size);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

BlobId referenceHash(std::span<const uint8_t> data) {
  blake3_hasher h;
  blake3_hasher_init(&h);
  blake3_hasher_update(&h, data.data(), data.size());
  std::array<uint8_t, 32> out;
  blake3_hasher_finalize(&h, out.data(), out.size());
  return BlobId(std::span<const uint8_t, 32>(out));
}

// Walks the outboard in pre-order from the root, checking every parent against the CV its
// parent promised and every group against its leaf CV. Returns the number of parents read.
uint64_t checkOutboard(std::span<const uint8_t> data, std::span<const uint8_t> outboard,
                       const ChainingValue& expected, uint64_t first, uint64_t count,
                       uint64_t pre_index, NodeRole role) {
  if (count == 1) {
    const uint64_t len = groupLength(data.size(), first);
    EXPECT_EQ(hashGroup(data.subspan(first * kGroupSize, len), first, role), expected)
        << "group " << first;
    return 0;
  }
  const auto node = outboard.subspan(pre_index * kParentSize).first<kParentSize>();
  EXPECT_EQ(hashParent(node, role), expected) << "parent at pre-order index " << pre_index;
  ChainingValue l, r;
  std::copy(node.begin(), node.begin() + 32, l.begin());
  std::copy(node.begin() + 32, node.end(), r.begin());
  const uint64_t left = leftSubtreeGroups(count);
  uint64_t seen = 1;
  seen += checkOutboard(data, outboard, l, first, left, pre_index + 1, NodeRole::kInner);
  seen += checkOutboard(data, outboard, r, first + left, count - left, pre_index + left,
                        NodeRole::kInner);
  return seen;
}

void checkOutboardFromRoot(std::span<const uint8_t> data, std::span<const uint8_t> outboard,
                           const BlobId& root) {
  ChainingValue expected;
  std::copy(root.bytes().begin(), root.bytes().end(), expected.begin());
  const uint64_t parents =
      checkOutboard(data, outboard, expected, 0, groupCount(data.size()), 0, NodeRole::kRoot);
  EXPECT_EQ(parents * kParentSize, outboard.size());
}

void checkSize(size_t size, uint32_t seed) {
  SCOPED_TRACE("size " + std::to_string(size));
  const auto data = patternBytes(size, seed);
  const BlobId expected = referenceHash(data);

  std::vector<uint8_t> outboard(outboardSize(size));
  EXPECT_EQ(outboard.size(), kParentSize * (groupCount(size) - 1));
  auto root = hashBlob(data, outboard);
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(*root, expected);
  checkOutboardFromRoot(data, outboard, *root);

  std::vector<uint8_t> outboard2(outboardSize(size));
  auto root2 = hashBlob(data, outboard2, HashParallelism::kTwoThreads);
  ASSERT_TRUE(root2);
  EXPECT_EQ(*root2, expected);
  EXPECT_EQ(outboard2, outboard);

  TreeHasher one_shot;
  one_shot.update(data);
  TreeHash streamed = one_shot.finalize();
  EXPECT_EQ(streamed.root, expected);
  EXPECT_EQ(streamed.size, size);
  EXPECT_EQ(streamed.outboard, outboard);

  // Odd piece sizes, including empty pieces and pieces larger than a batch of groups.
  std::mt19937 rng(seed + 1);
  const size_t kPieces[] = {0, 1, 7, 1023, 1024, 16383, 16384, 16385, 65537, 200000};
  TreeHasher pieces;
  for (size_t done = 0; done < size;) {
    const size_t n = std::min(size - done, kPieces[rng() % std::size(kPieces)]);
    pieces.update(std::span(data).subspan(done, n));
    done += n;
  }
  TreeHash piecewise = pieces.finalize();
  EXPECT_EQ(piecewise.root, expected);
  EXPECT_EQ(piecewise.outboard, outboard);

  // The hasher is reusable after finalize().
  pieces.update(data);
  EXPECT_EQ(pieces.finalize().root, expected);
}

TEST(Blake3TreeTest, RootMatchesOfficialImplementationAtBoundaries) {
  const size_t kSizes[] = {0,     1,     63,    64,     65,     1023,   1024,         1025,
                           2048,  4097,  16383, 16384,  16385,  32768,  32769,        3 * 16384,
                           65535, 65536, 65537, 131072, 131073, 147456, (1 << 20) + 7};
  uint32_t seed = 1;
  for (size_t size : kSizes) checkSize(size, seed++);
}

TEST(Blake3TreeTest, RootMatchesOfficialImplementationForRandomSizes) {
  std::mt19937 rng(42);
  for (int i = 0; i < 8; ++i) checkSize(rng() % (4 << 20), 100 + i);
}

TEST(Blake3TreeTest, ManyGroupsUseBothThreadsAndAgree) {
  // 300 groups + a partial one: unequal subtrees, blocks claimed by both threads.
  checkSize(300 * kGroupSize + 5, 7);
}

TEST(Blake3TreeTest, OfficialTestVectors) {
  // Every case of the official BLAKE3 test vectors (input = i % 251), plain hash mode.
  std::ifstream file(std::string(THUNDER_FIXTURES_DIR) + "/blake3/test_vectors.json");
  ASSERT_TRUE(file) << "missing fixture blake3/test_vectors.json";
  const std::string json((std::istreambuf_iterator<char>(file)), {});
  const std::regex case_re(R"re("input_len":\s*(\d+),\s*"hash":\s*"([0-9a-f]{64}))re");
  int cases = 0;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), case_re);
       it != std::sregex_iterator(); ++it) {
    const size_t len = std::stoul((*it)[1]);
    std::vector<uint8_t> input(len);
    for (size_t i = 0; i < len; ++i) input[i] = static_cast<uint8_t>(i % 251);
    std::vector<uint8_t> outboard(outboardSize(len));
    auto root = hashBlob(input, outboard);
    ASSERT_TRUE(root);
    EXPECT_EQ(root->hex(), (*it)[2].str()) << "input_len " << len;
    ++cases;
  }
  EXPECT_GT(cases, 30);
}

TEST(Blake3TreeTest, MatchesB3sumBinaryForFiles) {
  if (std::system("b3sum --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "b3sum not on PATH";
  std::string dir = testing::TempDir() + "/blake3_tree_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::mt19937 rng(9);
  for (int i = 0; i < 4; ++i) {
    const size_t size = i == 0 ? 0 : rng() % (3 << 20);
    const auto data = patternBytes(size, 500 + i);
    const std::string path = dir + "/f" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!data.empty()) {
      ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
    }
    std::fclose(f);

    FILE* p = ::popen(("b3sum --no-names " + path).c_str(), "r");
    ASSERT_NE(p, nullptr);
    char line[80] = {};
    ASSERT_NE(std::fgets(line, sizeof(line), p), nullptr);
    ::pclose(p);
    const std::string b3sum_hex(line, 64);

    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> outboard(outboardSize(size));
    auto root = hashFile(fd, size, outboard);
    ASSERT_TRUE(root) << root.error().message;
    EXPECT_EQ(root->hex(), b3sum_hex) << "size " << size;
    checkOutboardFromRoot(data, outboard, *root);

    // Outboard written to a file equals the in-memory one.
    const std::string ob_path = path + ".obao";
    const int ob_fd = ::open(ob_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(ob_fd, 0);
    auto root_f = hashFile(fd, size, ob_fd, HashParallelism::kTwoThreads);
    ASSERT_TRUE(root_f) << root_f.error().message;
    EXPECT_EQ(*root_f, *root);
    std::vector<uint8_t> on_disk(outboard.size() + 1);
    EXPECT_EQ(::pread(ob_fd, on_disk.data(), on_disk.size(), 0),
              static_cast<ssize_t>(outboard.size()));
    on_disk.resize(outboard.size());
    EXPECT_EQ(on_disk, outboard);
    ::close(ob_fd);

    // A size larger than the file is corruption, not a crash.
    std::vector<uint8_t> too_big(outboardSize(size + kGroupSize));
    auto short_file = hashFile(fd, size + kGroupSize, too_big);
    ASSERT_FALSE(short_file);
    EXPECT_EQ(short_file.error().code, ErrorCode::kCorruption);
    ::close(fd);
  }
}

TEST(Blake3TreeTest, PipeIsHashedByReading) {
  const auto data = patternBytes(100000, 3);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fds[1], data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fds[1]);
  });
  std::vector<uint8_t> outboard(outboardSize(data.size()));
  auto root = hashFile(fds[0], data.size(), outboard);
  ::close(fds[0]);  // unblocks the writer if hashing stopped early
  writer.join();
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(*root, referenceHash(data));
  checkOutboardFromRoot(data, outboard, *root);
}

TEST(Blake3TreeTest, WrongOutboardBufferSizeIsRefused) {
  const auto data = patternBytes(40000, 1);
  std::vector<uint8_t> outboard(outboardSize(data.size()) + 1);
  auto root = hashBlob(data, outboard);
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, ErrorCode::kInvalidArgument);
}

TEST(Blake3TreeTest, TreeShape) {
  EXPECT_EQ(groupCount(0), 1u);
  EXPECT_EQ(groupCount(16384), 1u);
  EXPECT_EQ(groupCount(16385), 2u);
  EXPECT_EQ(groupCount(UINT64_MAX), UINT64_MAX / kGroupSize + 1);
  EXPECT_EQ(outboardSize(16384), 0u);
  EXPECT_EQ(outboardSize(40000), 128u);
  EXPECT_EQ(leftSubtreeGroups(2), 1u);
  EXPECT_EQ(leftSubtreeGroups(3), 2u);
  EXPECT_EQ(leftSubtreeGroups(4), 2u);
  EXPECT_EQ(leftSubtreeGroups(5), 4u);
  EXPECT_EQ(groupLength(40000, 2), 40000u - 32768u);
}

TEST(Blake3TreeTest, PostOrderToPreOrderPermutes) {
  // 5 groups: post-order P01, P23, P0123, ROOT; pre-order ROOT, P0123, P01, P23.
  const uint64_t size = 4 * kGroupSize + 1;
  std::vector<uint8_t> post(4 * kParentSize), pre(4 * kParentSize);
  for (size_t i = 0; i < 4; ++i) std::fill_n(post.begin() + i * kParentSize, kParentSize, i);
  postOrderToPreOrder(size, post, pre);
  EXPECT_EQ(pre[0 * kParentSize], 3);
  EXPECT_EQ(pre[1 * kParentSize], 2);
  EXPECT_EQ(pre[2 * kParentSize], 0);
  EXPECT_EQ(pre[3 * kParentSize], 1);
}

}  // namespace
}  // namespace thunder::crypto
