#include "content/ipfs_unixfs.h"

#include <gtest/gtest.h>

#include <bit>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>

#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"

namespace thunder::content::ipfs {
namespace {

namespace fs = std::filesystem;

const fs::path kConformance = fs::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance";

std::vector<uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

std::map<Cid, std::vector<uint8_t>> loadCar(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>()};
  std::map<Cid, std::vector<uint8_t>> blocks;
  auto car = CarReader::open(spanByteReader(bytes));
  EXPECT_TRUE(car);
  if (!car) return blocks;
  while (true) {
    auto block = car->next();
    EXPECT_TRUE(block);
    if (!block || !*block) break;
    blocks.emplace((*block)->cid, std::move((*block)->data));
  }
  return blocks;
}

Error decodeError(const std::vector<uint8_t>& bytes) {
  auto d = decodeUnixfs(bytes);
  EXPECT_FALSE(d);
  if (d) return Error{ErrorCode::kInternal, "decoded"};
  EXPECT_EQ(d.error().code, ErrorCode::kCorruption);
  return d.error();
}

TEST(IpfsUnixfsTest, RoundTripAllFields) {
  UnixfsData d;
  d.type = UnixfsType::kHamtShard;
  d.data = std::vector<uint8_t>{0x01, 0x80};
  d.filesize = 1234567;
  d.blocksizes = {262144, 1, 0};
  d.hash_type = 0x22;
  d.fanout = 256;
  d.mode = 0755;
  const auto bytes = encodeUnixfs(d);
  auto back = decodeUnixfs(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, d);
  EXPECT_EQ(encodeUnixfs(*back), bytes);
  // Field order and unpacked blocksizes, as go-unixfs writes them.
  EXPECT_EQ(encodeUnixfs(UnixfsData{UnixfsType::kFile, bytesOf("hi"), 2, {2}, {}, {}, {}}),
            std::vector<uint8_t>({0x08, 0x02, 0x12, 0x02, 'h', 'i', 0x18, 0x02, 0x20, 0x02}));
}

TEST(IpfsUnixfsTest, ToleratesWhatProtobufAllows) {
  // Packed blocksizes; mtime (field 8) and unknown fields of every wire type are skipped;
  // fields out of order; a repeated scalar: the last value wins.
  const std::vector<uint8_t> bytes = {
      0x18, 0x05,                                   // filesize 5
      0x22, 0x03, 0x02, 0x80, 0x01,                 // blocksizes packed [2, 128]
      0x42, 0x04, 0x08, 0x01, 0x15, 0x00,           // mtime {seconds 1, ...}: skipped
      0x48, 0x07,                                   // field 9 varint
      0x51, 1,    2,    3,    4,    5,    6, 7, 8,  // field 10 fixed64
      0x5d, 1,    2,    3,    4,                    // field 11 fixed32
      0x62, 0x01, 0x00,                             // field 12 bytes
      0x08, 0x01, 0x08, 0x02,                       // Type: Directory, then File
      0x20, 0x07,                                   // one more unpacked blocksize
  };
  auto d = decodeUnixfs(bytes);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->type, UnixfsType::kFile);
  EXPECT_EQ(d->filesize, 5u);
  EXPECT_EQ(d->blocksizes, std::vector<uint64_t>({2, 128, 7}));
  EXPECT_FALSE(d->data);
  EXPECT_FALSE(d->mode);
}

TEST(IpfsUnixfsTest, RefusesMalformedData) {
  EXPECT_NE(decodeError({}).message.find("no Type"), std::string::npos);
  EXPECT_NE(decodeError({0x18, 0x01}).message.find("no Type"), std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x06}).message.find("unknown Type 6"), std::string::npos);
  EXPECT_NE(decodeError({0x0a, 0x00}).message.find("wire type"), std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x02, 0x38, 0x80, 0x80, 0x80, 0x80, 0x10}).message.find("mode"),
            std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x02, 0x12, 0x05, 'a'}).message.find("runs past"),
            std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x02, 0x4b}).message.find("wire type 3"), std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x02, 0x51, 1, 2}).message.find("runs past"), std::string::npos);
  EXPECT_NE(decodeError({0x08}).message.find("truncated"), std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x02, 0x22, 0x01, 0x80}).message.find("truncated"),
            std::string::npos);
  EXPECT_NE(decodeError({0x02, 0x00}).message.find("field number 0"), std::string::npos);
}

TEST(IpfsUnixfsTest, EntryNames) {
  EXPECT_TRUE(checkEntryName("a"));
  EXPECT_TRUE(checkEntryName("Portugal%2C+España=Peninsula Ibérica.txt"));
  EXPECT_TRUE(checkEntryName("..."));
  EXPECT_TRUE(checkEntryName(".hidden"));
  for (std::string_view bad :
       {std::string_view(""), std::string_view("."), std::string_view(".."),
        std::string_view("a/b"), std::string_view("/"), std::string_view("a\0b", 3)}) {
    auto r = checkEntryName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(IpfsUnixfsTest, FixtureNodesDecodeAndReencode) {
  size_t files = 0;
  size_t symlinks = 0;
  for (const auto* name :
       {"path_gateway_unixfs/symlink.car", "path_gateway_unixfs/dir-with-files.car",
        "trustless_gateway_car/subdir-with-mixed-block-files.car", "dir_listing/fixtures.car"}) {
    for (const auto& [cid, block] : loadCar(kConformance / name)) {
      if (cid.codec() != kDagPb) continue;
      auto node = decodeDagPb(block);
      ASSERT_TRUE(node);
      ASSERT_TRUE(node->data) << cid.toString();
      auto d = decodeUnixfs(*node->data);
      ASSERT_TRUE(d) << cid.toString() << ": " << d.error().message;
      EXPECT_EQ(encodeUnixfs(*d), *node->data) << cid.toString();
      if (d->type == UnixfsType::kFile && !node->links.empty()) {
        // A multi-block file: one blocksize per link, summing to the file size.
        ASSERT_EQ(d->blocksizes.size(), node->links.size());
        EXPECT_EQ(std::accumulate(d->blocksizes.begin(), d->blocksizes.end(), uint64_t{0}),
                  d->filesize.value_or(0));
        ++files;
      }
      if (d->type == UnixfsType::kSymlink) {
        EXPECT_EQ(d->data, bytesOf("foo"));  // testfiles/bar -> foo
        ++symlinks;
      }
      if (d->type == UnixfsType::kDirectory) {
        for (const auto& link : node->links) {
          ASSERT_TRUE(link.name);
          EXPECT_TRUE(checkEntryName(*link.name)) << *link.name;
        }
      }
    }
  }
  EXPECT_GT(files, 0u);
  EXPECT_EQ(symlinks, 1u);
}

TEST(IpfsUnixfsTest, Murmur3Vectors) {
  EXPECT_EQ(murmur3X64_64({}), 0u);  // seed 0, empty input: all-zero state
  // MurmurHash3_x64_128("The quick brown fox jumps over the lazy dog", seed 0): first half.
  EXPECT_EQ(murmur3X64_64(bytesOf("The quick brown fox jumps over the lazy dog")),
            0xe34bbc7bbc071b6cull);
  // Every tail length gives a distinct value (exercises each tail branch).
  std::vector<uint64_t> seen;
  std::string s;
  for (int i = 0; i < 40; ++i) {
    seen.push_back(murmur3X64_64(bytesOf(s)));
    s.push_back(static_cast<char>('a' + i % 26));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST(IpfsUnixfsTest, HamtParameters) {
  EXPECT_EQ(*hamtBitWidth(256), 8u);
  EXPECT_EQ(*hamtLabelWidth(256), 2u);
  EXPECT_EQ(*hamtLabelWidth(1024), 3u);
  EXPECT_EQ(*hamtLabelWidth(16), 1u);
  EXPECT_EQ(*hamtLabelWidth(2), 1u);
  EXPECT_EQ(*hamtLabelWidth(512), 3u);
  for (uint64_t bad : {uint64_t{0}, uint64_t{1}, uint64_t{3}, uint64_t{100}, uint64_t{2048},
                       uint64_t{1} << 40, UINT64_MAX}) {
    auto r = hamtLabelWidth(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(hamtBucket("x", bad, 0));
  }
  EXPECT_EQ(hamtLabel(10, 2), "0A");
  EXPECT_EQ(hamtLabel(255, 2), "FF");
  EXPECT_EQ(hamtLabel(5, 3), "005");
  // The bucket at each depth is the next w bits of the hash, most significant first.
  const uint64_t h = murmur3X64_64(bytesOf("name"));
  for (size_t depth = 0; depth < 8; ++depth) {
    EXPECT_EQ(*hamtBucket("name", 256, depth), (h >> (56 - 8 * depth)) & 0xff);
  }
  EXPECT_FALSE(hamtBucket("name", 256, 8));  // 64 bits used up
  EXPECT_EQ(*hamtBucket("name", 1024, 5), (h >> 4) & 0x3ff);
  EXPECT_FALSE(hamtBucket("name", 1024, 6));
  EXPECT_FALSE(hamtBucket("name", 2, SIZE_MAX));
}

// The bitfield in a shard's Data: a big-endian integer with bit i set for each occupied bucket i
// (bucket 0 is the lowest bit of the last byte), leading zero bytes dropped, as go-unixfs writes.
bool bucketBitSet(const std::vector<uint8_t>& bitfield, uint64_t bucket) {
  if (bucket / 8 >= bitfield.size()) return false;
  const size_t byte = bitfield.size() - 1 - bucket / 8;
  return (bitfield[byte] >> (bucket % 8)) & 1;
}

TEST(IpfsUnixfsTest, HamtFixtureEntriesSitInTheirBuckets) {
  const auto blocks = loadCar(kConformance / "trustless_gateway_car" /
                              "single-layer-hamt-with-multi-block-files.car");
  ASSERT_FALSE(blocks.empty());
  const auto root = Cid::parse("bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i");
  ASSERT_TRUE(root);
  std::deque<std::pair<Cid, size_t>> queue = {{*root, 0}};  // shard CID, depth
  size_t shards = 0;
  size_t entries = 0;
  while (!queue.empty()) {
    const auto [cid, depth] = queue.front();
    queue.pop_front();
    const auto it = blocks.find(cid);
    if (it == blocks.end()) continue;  // sub-shards not in the CAR are not checked
    auto node = decodeDagPb(it->second);
    ASSERT_TRUE(node);
    ASSERT_TRUE(node->data);
    auto d = decodeUnixfs(*node->data);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->type, UnixfsType::kHamtShard);
    EXPECT_EQ(d->hash_type, 0x22u);  // murmur3-x64-64
    ASSERT_TRUE(d->fanout);
    auto width = hamtLabelWidth(*d->fanout);
    ASSERT_TRUE(width);
    ASSERT_TRUE(d->data);
    EXPECT_LE(d->data->size(), *d->fanout / 8);
    size_t bits = 0;
    for (uint8_t b : *d->data) bits += static_cast<size_t>(std::popcount(b));
    EXPECT_EQ(bits, node->links.size());
    ++shards;
    std::string previous_label;
    for (const auto& link : node->links) {
      ASSERT_TRUE(link.name);
      ASSERT_GE(link.name->size(), *width);
      const std::string label = link.name->substr(0, *width);
      EXPECT_GT(label, previous_label);  // one link per bucket, in bucket order
      previous_label = label;
      const uint64_t bucket = std::stoull(label, nullptr, 16);
      EXPECT_EQ(hamtLabel(bucket, *width), label);
      EXPECT_TRUE(bucketBitSet(*d->data, bucket)) << label;
      if (link.name->size() == *width) {
        queue.emplace_back(link.hash, depth + 1);  // a sub-shard
        continue;
      }
      const std::string entry = link.name->substr(*width);
      auto expected = hamtBucket(entry, *d->fanout, depth);
      ASSERT_TRUE(expected);
      EXPECT_EQ(*expected, bucket) << entry << " at depth " << depth;
      EXPECT_TRUE(checkEntryName(entry));
      ++entries;
    }
  }
  EXPECT_GT(shards, 100u);
  EXPECT_GT(entries, 500u);
}

}  // namespace
}  // namespace thunder::content::ipfs
