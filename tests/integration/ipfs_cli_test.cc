// `thunder import` and `thunder export` as a user runs them, with and without a running node:
// fixture CARs from the IPFS gateway conformance suite go in, their files come out of
// `thunder get`, and exported CARs import into a fresh data dir with the same roots.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_unixfs.h"
#include "harness.h"

namespace thunder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kFixtures = fs::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance";
const fs::path kDirWithFiles = kFixtures / "path_gateway_unixfs" / "dir-with-files.car";
const fs::path kMissingBlock =
    kFixtures / "trustless_gateway_car" / "file-3k-and-3-blocks-missing-block.car";
constexpr const char* kDirCid = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
constexpr const char* kHelloCid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The CIDs of a CAR's header and blocks, as text.
struct CarShape {
  std::vector<std::string> roots;
  std::vector<std::string> blocks;
  bool valid = false;
};

CarShape shapeOf(const std::string& bytes) {
  CarShape shape;
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto reader = content::ipfs::CarReader::open(content::ipfs::spanByteReader(span));
  if (!reader) return shape;
  for (const auto& root : reader->roots()) shape.roots.push_back(root.toString());
  for (;;) {
    auto block = reader->next();
    if (!block) return shape;
    if (!*block) break;
    shape.blocks.push_back((*block)->cid.toString());
  }
  shape.valid = true;
  return shape;
}

// A CAR of one UnixFS file of `leaves` random 1 MiB raw leaves (root block first); `bytes`
// receives the file's bytes.
std::string bigFileCar(int leaves, std::string& bytes, std::string& root_cid) {
  using namespace content::ipfs;
  std::mt19937 rng(42);
  std::vector<std::pair<Cid, std::vector<uint8_t>>> blocks;
  UnixfsData file;
  file.type = UnixfsType::kFile;
  PbNode root;
  for (int i = 0; i < leaves; ++i) {
    std::vector<uint8_t> leaf(1 << 20);
    for (auto& b : leaf) b = static_cast<uint8_t>(rng());
    bytes.append(leaf.begin(), leaf.end());
    const Cid cid = Cid::sha256Of(kRaw, leaf);
    root.links.push_back(PbLink{cid, std::string(), leaf.size()});
    file.blocksizes.push_back(leaf.size());
    blocks.emplace_back(cid, std::move(leaf));
  }
  file.filesize = bytes.size();
  root.data = encodeUnixfs(file);
  const auto root_block = encodeDagPb(root);
  const Cid root_id = Cid::sha256Of(kDagPb, root_block);
  root_cid = root_id.toString();
  std::string car;
  CarWriter writer([&car](std::span<const uint8_t> b) {
    car.append(b.begin(), b.end());
    return Result<void>();
  });
  const Cid roots[] = {root_id};
  EXPECT_TRUE(writer.writeHeader(roots));
  EXPECT_TRUE(writer.writeBlock(root_id, root_block));
  for (const auto& [cid, data] : blocks) EXPECT_TRUE(writer.writeBlock(cid, data));
  return car;
}

class IpfsCli : public ::testing::Test {
 protected:
  RunResult thunderIn(const fs::path& data, std::vector<std::string> args,
                      std::optional<std::string> input = {}) {
    args.insert(args.begin(), {"--data-dir", data.string()});
    return runThunder(std::move(args), 120s, std::move(input));
  }
  RunResult thunder(std::vector<std::string> args, std::optional<std::string> input = {}) {
    return thunderIn(data(), std::move(args), std::move(input));
  }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path file(const std::string& name) const { return dir_.path() / name; }

  // Imports dir-with-files.car and checks every file against the fixture README.
  void importAndCheckDirWithFiles(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"import", kDirWithFiles.string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto imported = thunder(args);
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    const json report = json::parse(imported.out);
    EXPECT_EQ(report["blocks"], 9);
    EXPECT_EQ(report["bytes"], fs::file_size(kDirWithFiles));
    ASSERT_EQ(report["roots"].size(), 1u);
    const json& root = report["roots"][0];
    EXPECT_EQ(root["cid"], kDirCid);
    EXPECT_EQ(root["kind"], "directory");
    EXPECT_TRUE(root["complete"].get<bool>());
    dir_blob_ = root["blob"].get<std::string>();
    ASSERT_EQ(dir_blob_.size(), 64u);
    EXPECT_EQ(root["size"], 227);

    auto hello = thunder({"get", dir_blob_ + "/hello.txt"});
    ASSERT_EQ(hello.exit_code, 0) << hello.err;
    EXPECT_EQ(hello.out, "hello world\n");
    EXPECT_EQ(thunder({"cat", dir_blob_ + "/ascii.txt"}).out, "hello application/vnd.ipld.car\n");
    auto multiblock = thunder({"cat", dir_blob_ + "/multiblock.txt"});
    EXPECT_EQ(multiblock.out.size(), 1026u);
    EXPECT_EQ(multiblock.out.substr(0, 26), "Lorem ipsum dolor sit amet");
    // The folder comes out whole.
    auto tree =
        thunder({"get", dir_blob_, "-o", file("tree-" + std::to_string(++trees_)).string()});
    ASSERT_EQ(tree.exit_code, 0) << tree.err;
    EXPECT_EQ(readFile(file("tree-" + std::to_string(trees_)) / "hello.txt"), "hello world\n");
  }

  TempDir dir_;
  std::string dir_blob_;
  int trees_ = 0;
};

TEST_F(IpfsCli, ImportExportWithoutANode) {
  importAndCheckDirWithFiles();
  // Pinned by default.
  auto ls = thunder({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0);
  for (const auto& blob : json::parse(ls.out)) EXPECT_TRUE(blob["pinned"].get<bool>());

  // The whole DAG, then only the path and the file's block.
  auto whole = thunder({"export", kDirCid});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const CarShape shape = shapeOf(whole.out);
  ASSERT_TRUE(shape.valid);
  EXPECT_EQ(shape.roots, std::vector<std::string>{kDirCid});
  EXPECT_EQ(shape.blocks.size(), 9u);
  auto block = thunder({"export", std::string("/ipfs/") + kDirCid + "/hello.txt", "--dag-scope",
                        "block", "-o", file("hello.car").string()});
  ASSERT_EQ(block.exit_code, 0) << block.err;
  EXPECT_EQ(shapeOf(readFile(file("hello.car"))).blocks,
            (std::vector<std::string>{kDirCid, kHelloCid}));
  // -o never overwrites.
  auto again = thunder({"export", kDirCid, "-o", file("hello.car").string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(shapeOf(readFile(file("hello.car"))).blocks.size(), 2u);

  // Round trip: the exported CAR imports into a fresh data dir, from stdin, with the same root.
  auto copy = thunderIn(dir_.path() / "copy", {"import", "-", "--json"}, whole.out);
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  EXPECT_EQ(json::parse(copy.out)["roots"][0]["blob"], dir_blob_);
  EXPECT_EQ(thunderIn(dir_.path() / "copy", {"cat", dir_blob_ + "/hello.txt"}).out,
            "hello world\n");
  EXPECT_EQ(thunderIn(dir_.path() / "copy", {"export", kDirCid}).out, whole.out);
}

TEST_F(IpfsCli, MissingBlocksCorruptionAndBadInput) {
  // A CAR without one of its blocks imports; the root is incomplete, said on stderr.
  auto partial = thunder({"import", kMissingBlock.string(), "--json", "--no-pin"});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  const json root = json::parse(partial.out)["roots"][0];
  EXPECT_FALSE(root["complete"].get<bool>());
  EXPECT_TRUE(root["blob"].is_null());
  EXPECT_NE(partial.err.find("incomplete"), std::string::npos);
  auto ls = thunder({"ls", "--json"});
  for (const auto& blob : json::parse(ls.out)) EXPECT_FALSE(blob["pinned"].get<bool>());
  // Its export stops at the missing block: exit 5, the blocks before it on stdout.
  auto exported = thunder({"export", root["cid"].get<std::string>()});
  EXPECT_EQ(exported.exit_code, 5);
  EXPECT_NE(exported.err.find("QmSNLTo6Wv9dfroVaw7MFYjLqf9ho7PKrgsjdzYDtv8h1W"), std::string::npos)
      << exported.err;
  // With -o the truncated CAR is not left behind.
  auto to_file = thunder({"export", root["cid"].get<std::string>(), "-o", file("m.car").string()});
  EXPECT_EQ(to_file.exit_code, 5);
  EXPECT_FALSE(fs::exists(file("m.car")));

  // A flipped bit: exit 4, naming the block.
  std::string bad = readFile(kDirWithFiles);
  bad[bad.size() - 3] ^= 0x01;
  auto corrupt = thunder({"import", "-"}, bad);
  EXPECT_EQ(corrupt.exit_code, 4) << corrupt.err;
  EXPECT_NE(corrupt.err.find("bafk"), std::string::npos) << corrupt.err;
  // Truncated: exit 2.
  auto truncated = thunder({"import", "-"}, readFile(kDirWithFiles).substr(0, 500));
  EXPECT_EQ(truncated.exit_code, 2) << truncated.err;
  EXPECT_NE(truncated.err.find("truncated"), std::string::npos) << truncated.err;
  // "../" names (the tar fixtures): refused, exit 2.
  auto escape = thunder({"import", (kFixtures / "path_gateway_tar" / "outside-root.car").string()});
  EXPECT_EQ(escape.exit_code, 2) << escape.err;
  EXPECT_NE(escape.err.find("../"), std::string::npos) << escape.err;
  // Unknown CID, no such file, bad flags.
  EXPECT_EQ(thunder({"export", kDirCid}).exit_code, 5);
  EXPECT_EQ(thunder({"import", file("nope.car").string()}).exit_code, 5);
  EXPECT_EQ(thunder({"export", "not-a-cid"}).exit_code, 2);
  EXPECT_EQ(thunder({"export", kDirCid, "--dag-scope", "files"}).exit_code, 2);
  EXPECT_EQ(thunder({"export", kDirCid, "--entity-bytes", "9:3"}).exit_code, 2);
}

TEST_F(IpfsCli, ImportExportThroughARunningNode) {
  // The same CAR exported without a node, for comparison.
  const fs::path reference = dir_.path() / "reference";
  ASSERT_EQ(thunderIn(reference, {"import", kDirWithFiles.string()}).exit_code, 0);
  const std::string expected = thunderIn(reference, {"export", kDirCid}).out;
  const std::string expected_entity =
      thunderIn(reference,
                {"export", std::string(kDirCid) + "/multiblock.txt", "--entity-bytes", "300:600"})
          .out;

  Process node({"--data-dir", data().string(), "run", "--gateway-listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--json"});
  ASSERT_TRUE(node.readLine().has_value()) << node.stderrText();

  importAndCheckDirWithFiles();  // through the node; reads beside it
  auto exported = thunder({"export", kDirCid});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.out, expected);
  auto entity =
      thunder({"export", std::string(kDirCid) + "/multiblock.txt", "--entity-bytes", "300:600"});
  ASSERT_EQ(entity.exit_code, 0) << entity.err;
  EXPECT_EQ(entity.out, expected_entity);
  EXPECT_EQ(shapeOf(entity.out).blocks.size(), 4u);  // dir, file root, two leaves
  ASSERT_EQ(thunder({"export", kDirCid, "-o", file("node.car").string()}).exit_code, 0);
  EXPECT_EQ(readFile(file("node.car")), expected);

  // stdin goes through the node too; errors keep their codes.
  auto piped = thunder({"import", "-", "--json"}, readFile(kMissingBlock));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_FALSE(json::parse(piped.out)["roots"][0]["complete"].get<bool>());
  auto missing = thunder({"export", json::parse(piped.out)["roots"][0]["cid"].get<std::string>()});
  EXPECT_EQ(missing.exit_code, 5);
  EXPECT_TRUE(shapeOf(missing.out).roots.size() == 1u);  // the header and blocks before the gap
  std::string bad = readFile(kDirWithFiles);
  bad[bad.size() - 3] ^= 0x01;
  EXPECT_EQ(thunder({"import", "-"}, bad).exit_code, 4);
  EXPECT_EQ(thunder({"export", kHelloCid + std::string("/x")}).exit_code, 2);

  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(10s), 0);
  // After the node stopped, the CLI opens the stores itself and sees what the node imported.
  EXPECT_EQ(thunder({"export", kDirCid}).out, expected);
}

TEST_F(IpfsCli, KillDuringAnImportLeavesConsistentStores) {
  std::string bytes, root_cid;
  const std::string car = bigFileCar(40, bytes, root_cid);
  {
    Process import({"--data-dir", data().string(), "import", "-"}, StdinMode::kPipe);
    // When writeStdin returns, all but one pipe buffer of the first 24 MiB were consumed: the
    // import is certainly in the middle of the blocks.
    for (size_t at = 0; at < (24u << 20); at += 1 << 20) {
      ASSERT_TRUE(import.writeStdin(std::string_view(car).substr(at, 1 << 20)));
    }
    import.signal(SIGKILL);
    EXPECT_EQ(import.wait(), 128 + SIGKILL);
  }
  // The stores open and check clean; what the killed import stored is unpinned.
  auto fsck = thunder({"fsck", "--json"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  auto ls = thunder({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_FALSE(json::parse(ls.out).empty());
  for (const auto& blob : json::parse(ls.out)) EXPECT_FALSE(blob["pinned"].get<bool>());
  // Importing again completes the file.
  fs::create_directories(dir_.path());
  std::ofstream(file("big.car"), std::ios::binary) << car;
  auto again = thunder({"import", file("big.car").string(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const json root = json::parse(again.out)["roots"][0];
  EXPECT_EQ(root["cid"], root_cid);
  ASSERT_TRUE(root["complete"].get<bool>());
  auto got = thunder({"cat", root["blob"].get<std::string>()});
  EXPECT_TRUE(got.out == bytes) << got.out.size() << " bytes";
}

}  // namespace
}  // namespace thunder::testing
