// IpfsStore: CAR import (fixtures, missing blocks, corruption, truncation, lying sizes, bad
// names), content blobs, resolve (including HAMT shards), durability and garbage collection.
#include "content/ipfs_store.h"

#include <set>

#include "content/directory_tree.h"
#include "content/ipfs_store_internal.h"
#include "content/ipfs_store_testing.h"

namespace thunder::content::ipfs {
namespace {

using namespace testing;

constexpr std::string_view kDirWithFiles =
    "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
constexpr std::string_view kMultiblock =
    "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
constexpr std::string_view kMissingRoot = "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk";
constexpr std::string_view kHamtRoot =
    "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";

class IpfsStoreTest : public IpfsStoreFixture {};

TEST_F(IpfsStoreTest, EveryFixtureCarImports) {
  for (const char* folder : {"trustless_gateway_car", "path_gateway_unixfs"}) {
    for (const auto& entry : std::filesystem::directory_iterator(fixtures() / folder)) {
      if (entry.path().extension() != ".car") continue;
      SCOPED_TRACE(entry.path().filename().string());
      auto report = importFixture(std::string(folder) + "/" + entry.path().filename().string());
      ASSERT_TRUE(report) << report.error().message;
      EXPECT_GT(report->blocks, 0u);
      EXPECT_EQ(report->bytes, std::filesystem::file_size(entry.path()));
      ASSERT_EQ(report->roots.size(), 1u);
      const auto& root = report->roots[0];
      const bool missing_block =
          entry.path().filename() == "file-3k-and-3-blocks-missing-block.car";
      EXPECT_EQ(root.complete, !missing_block);
      EXPECT_EQ(root.blob.has_value(), !missing_block);
      if (root.blob) {
        auto looked_up = ipfs_->lookupContentBlob(root.cid);
        ASSERT_TRUE(looked_up);
        EXPECT_EQ(*looked_up, root.blob);
        auto info = blobs_->stat(*root.blob);
        ASSERT_TRUE(info);
        EXPECT_EQ(info->size, root.size);
        EXPECT_EQ(info->pin, PinState::kPinned);
      }
    }
  }
}

TEST_F(IpfsStoreTest, DirectoryBecomesAManifestWithTheFixtureBytes) {
  auto report = importFixture("path_gateway_unixfs/dir-with-files.car");
  ASSERT_TRUE(report) << report.error().message;
  const auto& root = report->roots[0];
  EXPECT_EQ(root.cid, cid(kDirWithFiles));
  EXPECT_EQ(root.kind, NodeKind::kDirectory);
  auto manifest = readManifest(*blobs_, *root.blob);
  ASSERT_TRUE(manifest) << manifest.error().message;
  std::vector<std::string> names;
  for (const auto& e : manifest->entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ascii-copy.txt", "ascii.txt", "hello.txt",
                                             "multiblock.txt"}));
  // /b3/<dir-id>/path resolves through the manifest to the same bytes.
  auto hello = resolvePath(*blobs_, *root.blob, "hello.txt");
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(blobText(hello->id), "hello world\n");
  EXPECT_EQ(hello->size, 12u);
  auto ascii = resolvePath(*blobs_, *root.blob, "ascii.txt");
  ASSERT_TRUE(ascii);
  EXPECT_EQ(blobText(ascii->id), "hello application/vnd.ipld.car\n");
  auto multi = resolvePath(*blobs_, *root.blob, "multiblock.txt");
  ASSERT_TRUE(multi);
  EXPECT_EQ(blobText(multi->id), multiblockText());
  EXPECT_EQ(multi->size, 1026u);
  // The multi-block file's own CID maps to the same content blob.
  auto by_cid = ipfs_->lookupContentBlob(cid(kMultiblock));
  ASSERT_TRUE(by_cid);
  EXPECT_EQ(*by_cid, multi->id);
}

TEST_F(IpfsStoreTest, PercentEncodedNameAndSymlink) {
  auto report = importFixture("path_gateway_unixfs/dir-with-percent-encoded-filename.car");
  ASSERT_TRUE(report) << report.error().message;
  auto entry =
      resolvePath(*blobs_, *report->roots[0].blob, "Portugal%2C+España=Peninsula Ibérica.txt");
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(blobText(entry->id), "hello from a percent encoded filename\n");

  // testfiles/{foo: "content\n", bar -> foo}: the manifest holds the file; the symlink stays
  // reachable by CID only.
  report = importFixture("path_gateway_unixfs/symlink.car");
  ASSERT_TRUE(report) << report.error().message;
  auto manifest = readManifest(*blobs_, *report->roots[0].blob);
  ASSERT_TRUE(manifest);
  ASSERT_EQ(manifest->entries.size(), 1u);
  EXPECT_EQ(manifest->entries[0].name, "foo");
  EXPECT_EQ(blobText(manifest->entries[0].id), "content\n");
  const std::vector<std::string> bar = {"bar"};
  auto link = ipfs_->resolve(report->roots[0].cid, bar);
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_EQ(link->kind, NodeKind::kSymlink);
  EXPECT_EQ(link->size, 3u);  // "foo"
  EXPECT_EQ(ipfs_->contentBlob(link->cid).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(IpfsStoreTest, HamtDirectoryResolvesEveryEntryByItsBucket) {
  auto report = importFixture("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
  ASSERT_TRUE(report) << report.error().message;
  const auto& root = report->roots[0];
  EXPECT_EQ(root.cid, cid(kHamtRoot));
  EXPECT_EQ(root.kind, NodeKind::kHamtDirectory);
  auto manifest = readManifest(*blobs_, *root.blob);
  ASSERT_TRUE(manifest);
  EXPECT_GT(manifest->entries.size(), 256u);  // more entries than one shard's buckets
  size_t through_sub_shard = 0;
  for (const auto& e : manifest->entries) {
    const std::vector<std::string> path = {e.name};
    auto resolved = ipfs_->resolve(root.cid, path);
    ASSERT_TRUE(resolved) << e.name << ": " << resolved.error().message;
    EXPECT_EQ(resolved->kind, NodeKind::kFile);
    ASSERT_FALSE(resolved->path_blocks.empty());
    EXPECT_EQ(resolved->path_blocks[0], root.cid);
    through_sub_shard += resolved->path_blocks.size() > 1 ? 1 : 0;
    auto content = ipfs_->contentBlob(resolved->cid);
    ASSERT_TRUE(content);
    EXPECT_EQ(*content, e.id) << e.name;
  }
  EXPECT_GT(through_sub_shard, 0u);
  EXPECT_EQ(blobText(manifest->entries[0].id), multiblockText());
  const std::vector<std::string> absent = {"no-such-file.txt"};
  EXPECT_EQ(ipfs_->resolve(root.cid, absent).error().code, ErrorCode::kNotFound);
}

TEST_F(IpfsStoreTest, MissingBlockLeavesTheRootIncompleteButStoresTheRest) {
  auto report = importFixture("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
  ASSERT_TRUE(report) << report.error().message;
  const auto& root = report->roots[0];
  EXPECT_EQ(root.cid, cid(kMissingRoot));
  EXPECT_EQ(root.kind, NodeKind::kFile);
  EXPECT_FALSE(root.complete);
  EXPECT_FALSE(root.blob);
  EXPECT_EQ(root.size, 3072u);  // as the root claims
  EXPECT_EQ(report->blocks, 3u);
  EXPECT_TRUE(*ipfs_->hasBlock(root.cid));
  EXPECT_TRUE(*ipfs_->hasBlock(cid("QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF")));
  EXPECT_TRUE(*ipfs_->hasBlock(cid("QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV")));
  EXPECT_FALSE(*ipfs_->hasBlock(cid("QmSNLTo6Wv9dfroVaw7MFYjLqf9ho7PKrgsjdzYDtv8h1W")));
  EXPECT_FALSE(*ipfs_->lookupContentBlob(root.cid));
  auto content = ipfs_->contentBlob(root.cid);
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code, ErrorCode::kNotFound);
  EXPECT_NE(content.error().message.find("QmSNLTo6Wv9dfroVaw7MFYjLqf9ho7PKrgsjdzYDtv8h1W"),
            std::string::npos)
      << content.error().message;
  // Blocks and nothing else are stored (no truncated file blob is left behind).
  EXPECT_EQ(listBlobs().size(), 3u);
}

TEST_F(IpfsStoreTest, CorruptedBlockFailsAndRecordsNoContent) {
  auto car = readFileBytes(fixtures() / "path_gateway_unixfs/dir-with-files.car");
  car[car.size() - 3] ^= 0x01;  // inside the last block's data
  auto report = importBytes(car);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
  // The blocks stored before the bad one stay, unpinned, for garbage collection.
  auto all = blobs_->list();
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->empty());
  for (const auto& info : *all) EXPECT_EQ(info.pin, PinState::kUnpinned);
}

TEST_F(IpfsStoreTest, TruncatedCarFailsAndRecordsNoContent) {
  auto car = readFileBytes(fixtures() / "path_gateway_unixfs/dir-with-files.car");
  car.resize(car.size() - 10);
  auto report = importBytes(car);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(report.error().message.find("truncated"), std::string::npos) << report.error().message;
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
}

TEST_F(IpfsStoreTest, LyingSizesAreCorruptionNamingTheNode) {
  const Block leaf = rawBlock("abc");
  struct Case {
    const char* what;
    Block file;
  };
  const Case cases[] = {
      {"blocksizes larger than the child", fileNode({leaf.cid}, {4}, 4)},
      {"blocksizes smaller than the child", fileNode({leaf.cid}, {2}, 2)},
      {"filesize disagrees with blocksizes", fileNode({leaf.cid}, {3}, 5)},
      {"more links than blocksizes", fileNode({leaf.cid, leaf.cid}, {3}, 3)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    // Directly, and under a directory: in both cases the root gets no content blob.
    const Block dir = dirNode({{"f", c.file.cid}});
    for (const Block& root : {c.file, dir}) {
      auto report = importBytes(makeCar({root.cid}, {root, c.file, leaf}));
      ASSERT_FALSE(report);
      EXPECT_EQ(report.error().code, ErrorCode::kCorruption);
      EXPECT_NE(report.error().message.find(c.file.cid.toString()), std::string::npos)
          << report.error().message;
      EXPECT_EQ(*ipfs_->lookupContentBlob(root.cid), std::nullopt);
      EXPECT_EQ(ipfs_->contentBlob(root.cid).error().code, ErrorCode::kCorruption);
    }
  }
  // A lie one level up: an honest child node under a parent that claims another size.
  const Block inner = fileNode({leaf.cid}, {3}, 3);
  const Block outer = fileNode({inner.cid}, {7}, 7);
  auto report = importBytes(makeCar({outer.cid}, {outer, inner, leaf}));
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kCorruption);
  EXPECT_NE(report.error().message.find(outer.cid.toString()), std::string::npos);
  // The honest version imports.
  const Block honest = fileNode({leaf.cid, leaf.cid}, {3, 3}, 8, "xy");
  report = importBytes(makeCar({honest.cid}, {honest, leaf}));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(blobText(*report->roots[0].blob), "xyabcabc");
}

TEST_F(IpfsStoreTest, BadEntryNamesAreRefused) {
  const Block leaf = rawBlock("x");
  for (const std::string name : {"..", ".", "a/b", "/", ""}) {
    SCOPED_TRACE(name);
    const Block dir = dirNode({{"ok", leaf.cid}, {name, leaf.cid}});
    auto report = importBytes(makeCar({dir.cid}, {dir, leaf}));
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(report.error().message.find(dir.cid.toString()), std::string::npos);
    EXPECT_EQ(*ipfs_->lookupContentBlob(dir.cid), std::nullopt);
  }
  // The conformance suite's tar-escape fixtures carry "../" names.
  for (const char* car :
       {"path_gateway_tar/inside-root.car", "path_gateway_tar/outside-root.car"}) {
    auto report = importFixture(car);
    ASSERT_FALSE(report) << car;
    EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  }
  // Duplicate names cannot become a manifest.
  const Block dup = dirNode({{"a", leaf.cid}, {"a", leaf.cid}});
  EXPECT_EQ(importBytes(makeCar({dup.cid}, {dup, leaf})).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(IpfsStoreTest, DirectoriesNoManifestCanHoldStayReachableByCid) {
  const Block leaf = rawBlock("x");
  const std::string long_name(256, 'n');
  const Block inner = dirNode({{long_name, leaf.cid}, {"short", leaf.cid}});
  const Block outer = dirNode({{"inner", inner.cid}, {"file", leaf.cid}});
  auto report = importBytes(makeCar({outer.cid}, {outer, inner, leaf}));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->roots[0].complete);
  EXPECT_FALSE(report->roots[0].blob);  // a sub-directory cannot be a manifest: nor can it
  auto content = ipfs_->contentBlob(inner.cid);
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(content.error().message.find("256 bytes"), std::string::npos);
  const std::vector<std::string> path = {"inner", long_name};
  auto resolved = ipfs_->resolve(outer.cid, path);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->cid, leaf.cid);
  EXPECT_EQ(blobText(*ipfs_->contentBlob(leaf.cid)), "x");
}

TEST_F(IpfsStoreTest, PinsFollowTheImportOptions) {
  auto report = importFixture("path_gateway_unixfs/dir-with-files.car", PinState::kUnpinned);
  ASSERT_TRUE(report);
  for (const auto& info : listBlobs()) EXPECT_EQ(info.pin, PinState::kUnpinned);
  report = importFixture("path_gateway_unixfs/dir-with-files.car", PinState::kPinned);
  ASSERT_TRUE(report);
  for (const auto& info : listBlobs()) EXPECT_EQ(info.pin, PinState::kPinned);
}

TEST_F(IpfsStoreTest, MappingsSurviveReopenAndCollectedBlobsReadAsNotHere) {
  auto report = importFixture("path_gateway_unixfs/dir-with-files.car", PinState::kUnpinned);
  ASSERT_TRUE(report);
  const BlobId dir_blob = *report->roots[0].blob;
  open();  // reopen both stores
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), dir_blob);
  auto block = ipfs_->getBlock(cid(kDirWithFiles));
  ASSERT_TRUE(block && *block);
  EXPECT_EQ(Cid::sha256Of(kDagPb, **block), cid(kDirWithFiles));

  // The content blob is collected: the mapping reads as not here; contentBlob() rebuilds it.
  ASSERT_TRUE(blobs_->remove(dir_blob));
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), std::nullopt);
  auto rebuilt = ipfs_->contentBlob(cid(kDirWithFiles));
  ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  EXPECT_EQ(*rebuilt, dir_blob);
  EXPECT_EQ(*ipfs_->lookupContentBlob(cid(kDirWithFiles)), dir_blob);

  // A collected block reads as not here, and content that needs it is incomplete.
  const Cid hello = cid("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  auto hello_blob = ipfs_->lookupContentBlob(hello);
  ASSERT_TRUE(hello_blob && *hello_blob);
  ASSERT_TRUE(blobs_->remove(**hello_blob));
  EXPECT_EQ(*ipfs_->getBlock(hello), std::nullopt);
  EXPECT_FALSE(*ipfs_->hasBlock(hello));
  ASSERT_TRUE(blobs_->remove(dir_blob));
  EXPECT_EQ(ipfs_->contentBlob(cid(kDirWithFiles)).error().code, ErrorCode::kNotFound);
}

TEST_F(IpfsStoreTest, PutBlockVerifies) {
  const Block block = rawBlock("some bytes");
  EXPECT_EQ(ipfs_->putBlock(block.cid, bytesOf("other bytes"), PinState::kUnpinned).error().code,
            ErrorCode::kCorruption);
  EXPECT_FALSE(*ipfs_->hasBlock(block.cid));
  ASSERT_TRUE(ipfs_->putBlock(block.cid, block.data, PinState::kUnpinned));
  EXPECT_TRUE(*ipfs_->hasBlock(block.cid));
  EXPECT_EQ(**ipfs_->getBlock(block.cid), block.data);
  // A raw block's content blob is the block itself, assembled lazily.
  auto content = ipfs_->contentBlob(block.cid);
  ASSERT_TRUE(content);
  EXPECT_EQ(blobText(*content), "some bytes");
  // A raw blake3 CID names its blob directly.
  EXPECT_EQ(*ipfs_->lookupContentBlob(Cid::forBlob(*content)), *content);
}

TEST_F(IpfsStoreTest, LargeFilesStreamIntoTheBlobStore) {
  // 5 MiB + 17 bytes: above the in-memory limit, so assembled through a socket pair.
  std::vector<Block> leaves;
  std::string whole;
  for (int i = 0; i < 21; ++i) {
    std::string bytes(i == 20 ? 17 : 256 * 1024, static_cast<char>('a' + i));
    bytes[0] = static_cast<char>(i);
    whole += bytes;
    leaves.push_back(rawBlock(bytes));
  }
  std::vector<Cid> children;
  std::vector<uint64_t> sizes;
  for (const auto& leaf : leaves) {
    children.push_back(leaf.cid);
    sizes.push_back(leaf.data.size());
  }
  const Block root = fileNode(children, sizes, whole.size());
  std::vector<Block> all = {root};
  all.insert(all.end(), leaves.begin(), leaves.end());

  // A missing leaf: incomplete, and the truncated assembly is not kept.
  std::vector<Block> gap = all;
  gap.erase(gap.begin() + 15);
  auto report = importBytes(makeCar({root.cid}, gap));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->roots[0].complete);
  EXPECT_EQ(listBlobs().size(), gap.size());

  report = importBytes(makeCar({root.cid}, all));
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->roots[0].complete);
  EXPECT_EQ(report->roots[0].size, whole.size());
  EXPECT_EQ(blobText(*report->roots[0].blob), whole);
}

TEST_F(IpfsStoreTest, ResolveErrors) {
  ASSERT_TRUE(importFixture("trustless_gateway_car/subdir-with-mixed-block-files.car"));
  const Cid root = cid("bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu");
  const std::vector<std::string> ok = {"subdir", "", "hello.txt"};
  auto hello = ipfs_->resolve(root, ok);
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->kind, NodeKind::kRaw);
  EXPECT_EQ(hello->size, 12u);
  EXPECT_EQ(hello->path_blocks.size(), 2u);
  const std::vector<std::string> through_file = {"subdir", "hello.txt", "x"};
  EXPECT_EQ(ipfs_->resolve(root, through_file).error().code, ErrorCode::kInvalidArgument);
  const std::vector<std::string> missing = {"subdir", "nope"};
  EXPECT_EQ(ipfs_->resolve(root, missing).error().code, ErrorCode::kNotFound);
  const std::vector<std::string> dotdot = {"subdir", ".."};
  EXPECT_EQ(ipfs_->resolve(root, dotdot).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ipfs_->resolve(cid(kMissingRoot), {}).error().code, ErrorCode::kNotFound);
}

TEST_F(IpfsStoreTest, NonUnixfsDataIsKeptButHasNoContentBlob) {
  auto report = importFixture("trustless_gateway_car/dir-with-dag-cbor-with-links.car");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->roots[0].complete);
  auto manifest = readManifest(*blobs_, *report->roots[0].blob);
  ASSERT_TRUE(manifest);
  EXPECT_TRUE(manifest->entries.empty());  // "document" is dag-cbor: not in a manifest
  const std::vector<std::string> document = {"document"};
  auto resolved = ipfs_->resolve(report->roots[0].cid, document);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->kind, NodeKind::kOther);
  EXPECT_EQ(ipfs_->contentBlob(resolved->cid).error().code, ErrorCode::kInvalidArgument);
}

TEST(IpfsStoreLinks, DagCborAndDagJsonLinksAreFound) {
  const Cid link = rawBlock("linked").cid;
  const auto cid_bytes = link.bytes();
  // {"l": [link, 1, "x"]}
  std::vector<uint8_t> cbor = {
      0xa1, 0x61, 'l', 0x83, 0xd8, 0x2a, 0x58, static_cast<uint8_t>(cid_bytes.size() + 1), 0x00};
  cbor.insert(cbor.end(), cid_bytes.begin(), cid_bytes.end());
  cbor.insert(cbor.end(), {0x01, 0x61, 'x'});
  auto links = detail::dagCborLinks(cbor);
  ASSERT_TRUE(links) << links.error().message;
  EXPECT_EQ(*links, std::vector<Cid>{link});
  // Refused: trailing bytes, an indefinite length, a count beyond the input, a non-CID tag 42.
  auto trailing = cbor;
  trailing.push_back(0x00);
  for (const auto& bad :
       std::vector<std::vector<uint8_t>>{trailing,
                                         {0x9f, 0x01, 0xff},
                                         {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                         {0xd8, 0x2a, 0x01},
                                         {0x83, 0x01}}) {
    auto r = detail::dagCborLinks(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  }
  const std::string json =
      R"({"a":{"/":")" + link.toString() + R"("},"b":{"/":{"bytes":"AA"}},"c":"{"/":"x"}"})";
  EXPECT_EQ(detail::dagJsonLinks(bytesOf(json)), std::vector<Cid>{link});
}

TEST(IpfsStoreParse, EntityBytesAndScope) {
  auto whole = parseEntityBytes("0:*");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->from, 0);
  EXPECT_FALSE(whole->to);
  auto tail = parseEntityBytes("-1024:*");
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->from, -1024);
  auto mixed = parseEntityBytes("499:-1000");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(*mixed->to, -1000);
  for (const char* bad : {"", "5", "a:b", "5:4", "1:", ":3", "+1:2", "1:2:3"}) {
    EXPECT_FALSE(parseEntityBytes(bad)) << bad;
  }
  EXPECT_EQ(*parseDagScope("entity"), DagScope::kEntity);
  EXPECT_FALSE(parseDagScope("files"));
}

}  // namespace
}  // namespace thunder::content::ipfs
