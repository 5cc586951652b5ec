// IpfsStore::exportCar: the Trustless Gateway CAR shapes (dag-scope, entity-bytes, car-dups),
// paths through directories and HAMT shards, missing blocks, and export → import round trips.
#include <set>

#include "content/directory_tree.h"
#include "content/ipfs_store.h"
#include "content/ipfs_store_testing.h"

namespace thunder::content::ipfs {
namespace {

using namespace testing;

constexpr std::string_view kDirWithFiles =
    "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
constexpr std::string_view kAscii = "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm";
constexpr std::string_view kHello = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr std::string_view kMultiblock =
    "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";

class IpfsExportTest : public IpfsStoreFixture {
 protected:
  // The blocks of an export, in order; fails the test on an error.
  ParsedCar exported(const Cid& root, std::vector<std::string> path, CarExportOptions options) {
    auto stream = ipfs_->exportCar(root, path, options);
    EXPECT_TRUE(stream) << stream.error().message;
    if (!stream) return {};
    auto out = drain(**stream, 777);
    EXPECT_FALSE(out.error) << out.error->message;
    auto car = parseCar(out.bytes);
    EXPECT_FALSE(car.error) << car.error->message;
    EXPECT_EQ(car.roots, std::vector<Cid>{root});
    return car;
  }
  // The multiblock.txt file's five leaves (256, 256, 256, 256, 2 bytes).
  std::vector<Cid> multiblockLeaves() {
    auto block = ipfs_->getBlock(cid(kMultiblock));
    EXPECT_TRUE(block && *block);
    auto node = decodeDagPb(**block);
    EXPECT_TRUE(node);
    std::vector<Cid> out;
    for (const auto& link : node->links) out.push_back(link.hash);
    return out;
  }
  static CarExportOptions scope(DagScope s, bool dups = false) {
    CarExportOptions o;
    o.scope = s;
    o.dups = dups;
    return o;
  }
  static CarExportOptions range(std::string_view text) {
    CarExportOptions o;
    o.bytes = *parseEntityBytes(text);
    return o;
  }
};

TEST_F(IpfsExportTest, DagScopeAllIsTheWholeDagInLinkOrder) {
  ASSERT_TRUE(importFixture("trustless_gateway_car/dir-with-duplicate-files.car"));
  const auto leaves = multiblockLeaves();
  std::vector<Cid> expected = {cid(kDirWithFiles), cid(kAscii), cid(kHello), cid(kMultiblock)};
  expected.insert(expected.end(), leaves.begin(), leaves.end());
  EXPECT_EQ(exported(cid(kDirWithFiles), {}, scope(DagScope::kAll)).blocks, expected);
  // car-dups=y: ascii-copy.txt and ascii.txt are the same block, sent for each.
  expected.insert(expected.begin() + 1, cid(kAscii));
  EXPECT_EQ(exported(cid(kDirWithFiles), {}, scope(DagScope::kAll, true)).blocks, expected);
}

TEST_F(IpfsExportTest, PathBlocksComeFirstThenTheTerminalPerScope) {
  ASSERT_TRUE(importFixture("trustless_gateway_car/subdir-with-mixed-block-files.car"));
  const Cid root = cid("bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu");
  const Cid subdir = cid("bafybeicnmple4ehlz3ostv2sbojz3zhh5q7tz5r2qkfdpqfilgggeen7xm");
  const auto leaves = multiblockLeaves();
  // block: the path and the file's root block.
  EXPECT_EQ(exported(root, {"subdir", "multiblock.txt"}, scope(DagScope::kBlock)).blocks,
            (std::vector<Cid>{root, subdir, cid(kMultiblock)}));
  // entity on a file: all of it.
  std::vector<Cid> file = {root, subdir, cid(kMultiblock)};
  file.insert(file.end(), leaves.begin(), leaves.end());
  EXPECT_EQ(exported(root, {"subdir", "multiblock.txt"}, scope(DagScope::kEntity)).blocks, file);
  // entity on a directory: its block, not the children.
  EXPECT_EQ(exported(root, {"subdir"}, scope(DagScope::kEntity)).blocks,
            (std::vector<Cid>{root, subdir}));
  // all on a directory: everything below it.
  EXPECT_EQ(exported(root, {"subdir"}, scope(DagScope::kAll)).blocks.size(), 2u + 3u + 5u);
  // entity-bytes on a directory is ignored (= entity).
  EXPECT_EQ(exported(root, {"subdir"}, range("0:10")).blocks, (std::vector<Cid>{root, subdir}));
}

TEST_F(IpfsExportTest, EntityBytesSendsOnlyTheLeavesCoveringTheRange) {
  ASSERT_TRUE(importFixture("path_gateway_unixfs/dir-with-files.car"));
  const Cid root = cid(kDirWithFiles);
  const auto l = multiblockLeaves();  // 256, 256, 256, 256, 2 bytes
  ASSERT_EQ(l.size(), 5u);
  const Cid file = cid(kMultiblock);
  struct Case {
    const char* bytes;
    std::vector<Cid> leaves;
  };
  const Case cases[] = {
      {"0:0", {l[0]}},
      {"0:255", {l[0]}},
      {"256:511", {l[1]}},
      {"300:600", {l[1], l[2]}},
      {"0:*", {l[0], l[1], l[2], l[3], l[4]}},
      {"-2:*", {l[4]}},
      {"-3:*", {l[3], l[4]}},
      {"1000:5000", {l[3], l[4]}},  // partly outside: what is inside
      {"10:-1000", {l[0]}},         // 10..26
      {"499:-1000", {}},            // 499..26: empty
      {"2000:*", {}},               // wholly outside: the file's root block only
      {"10:-2000", {}},             // empty range
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bytes);
    std::vector<Cid> expected = {root, file};
    expected.insert(expected.end(), c.leaves.begin(), c.leaves.end());
    EXPECT_EQ(exported(root, {"multiblock.txt"}, range(c.bytes)).blocks, expected);
  }
  // On a single-block (raw) file the range is that block.
  EXPECT_EQ(exported(root, {"hello.txt"}, range("3:4")).blocks,
            (std::vector<Cid>{root, cid(kHello)}));
}

TEST_F(IpfsExportTest, HamtPathsAndEntityScope) {
  auto report = importFixture("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
  ASSERT_TRUE(report) << report.error().message;
  const Cid root = report->roots[0].cid;
  // entity on the HAMT: its shards only, each a HAMT shard block.
  const auto shards = exported(root, {}, scope(DagScope::kEntity)).blocks;
  ASSERT_GT(shards.size(), 1u);
  EXPECT_EQ(shards[0], root);
  for (const auto& shard : shards) {
    auto block = ipfs_->getBlock(shard);
    ASSERT_TRUE(block && *block);
    auto node = decodeDagPb(**block);
    ASSERT_TRUE(node && node->data);
    EXPECT_EQ(decodeUnixfs(*node->data)->type, UnixfsType::kHamtShard);
  }
  // A path through the HAMT: the shards on the way, then the file.
  auto manifest = readManifest(*blobs_, *report->roots[0].blob);
  ASSERT_TRUE(manifest);
  const std::vector<std::string> path = {manifest->entries.back().name};
  auto resolved = ipfs_->resolve(root, path);
  ASSERT_TRUE(resolved) << resolved.error().message;
  auto blocks = exported(root, path, scope(DagScope::kBlock)).blocks;
  std::vector<Cid> expected = resolved->path_blocks;
  expected.push_back(resolved->cid);
  EXPECT_EQ(blocks, expected);
  // all: every block of the CAR it came from.
  EXPECT_EQ(exported(root, {}, scope(DagScope::kAll)).blocks.size(), report->blocks);
}

TEST_F(IpfsExportTest, MissingRootFailsUpFrontMissingChildEndsTheStream) {
  EXPECT_EQ(ipfs_->exportCar(cid(kDirWithFiles), {}, {}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(importFixture("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car"));
  const Cid root = cid("QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk");
  auto stream = ipfs_->exportCar(root, {}, {});
  ASSERT_TRUE(stream) << stream.error().message;
  auto out = drain(**stream);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, ErrorCode::kNotFound);
  EXPECT_NE(out.error->message.find("QmSNLTo6Wv9dfroVaw7MFYjLqf9ho7PKrgsjdzYDtv8h1W"),
            std::string::npos);
  std::vector<uint8_t> again(10);
  EXPECT_FALSE((*stream)->read(again));  // the error sticks
  // What came before is a valid CAR prefix: the root and the first leaf.
  auto car = parseCar(out.bytes);
  EXPECT_FALSE(car.error);
  EXPECT_EQ(car.blocks,
            (std::vector<Cid>{root, cid("QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF")}));
  // block scope needs only the root: complete.
  EXPECT_EQ(exported(root, {}, scope(DagScope::kBlock)).blocks, std::vector<Cid>{root});
  // A byte range that avoids the missing leaf streams to the end.
  CarExportOptions last = range("2048:*");
  EXPECT_EQ(exported(root, {}, last).blocks,
            (std::vector<Cid>{root, cid("QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV")}));
}

TEST_F(IpfsExportTest, ExportThenImportIntoAFreshStoreGivesTheSameContent) {
  for (const char* fixture :
       {"path_gateway_unixfs/dir-with-files.car", "path_gateway_unixfs/symlink.car",
        "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
        "trustless_gateway_car/subdir-with-mixed-block-files.car",
        "trustless_gateway_car/dir-with-dag-cbor-with-links.car"}) {
    SCOPED_TRACE(fixture);
    open("a");
    auto original = importFixture(fixture);
    ASSERT_TRUE(original) << original.error().message;
    const Cid root = original->roots[0].cid;
    auto stream = ipfs_->exportCar(root, {}, {});
    ASSERT_TRUE(stream);
    auto out = drain(**stream, 4096);
    ASSERT_FALSE(out.error) << out.error->message;

    open(std::string("b-") + std::to_string(std::hash<std::string>()(fixture)));
    auto copy = importBytes(out.bytes);
    ASSERT_TRUE(copy) << copy.error().message;
    ASSERT_EQ(copy->roots.size(), 1u);
    EXPECT_EQ(copy->roots[0].cid, root);
    EXPECT_TRUE(copy->roots[0].complete);
    EXPECT_EQ(copy->roots[0].kind, original->roots[0].kind);
    EXPECT_EQ(copy->roots[0].blob, original->roots[0].blob);
    EXPECT_EQ(copy->roots[0].size, original->roots[0].size);
    // The same blocks, each once.
    EXPECT_EQ(copy->blocks, parseCar(out.bytes).blocks.size());
    std::set<std::string> distinct;
    for (const auto& c : parseCar(out.bytes).blocks) distinct.insert(c.toString());
    EXPECT_EQ(distinct.size(), copy->blocks);
  }
}

TEST_F(IpfsExportTest, TheHeaderNamesTheRequestedRootEvenForAPath) {
  ASSERT_TRUE(importFixture("path_gateway_unixfs/dir-with-files.car"));
  auto car = exported(cid(kDirWithFiles), {"hello.txt"}, scope(DagScope::kAll));
  EXPECT_EQ(car.roots, std::vector<Cid>{cid(kDirWithFiles)});
  EXPECT_EQ(car.blocks, (std::vector<Cid>{cid(kDirWithFiles), cid(kHello)}));
  // A CIDv0 root stays v0 in the header.
  ASSERT_TRUE(importFixture("path_gateway_unixfs/symlink.car"));
  const Cid v0 = cid("QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt");
  EXPECT_EQ(exported(v0, {}, scope(DagScope::kBlock)).roots, std::vector<Cid>{v0});
}

}  // namespace
}  // namespace thunder::content::ipfs
