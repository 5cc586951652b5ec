#include "content/ipfs_dag_pb.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "content/ipfs_car.h"
#include "content/ipfs_unixfs.h"

namespace thunder::content::ipfs {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

Cid v0Of(std::span<const uint8_t> block) {
  return Cid(0, kDagPb, *Multihash::compute(kSha2_256, block));
}

// Hand-built protobuf pieces.
std::vector<uint8_t> field(uint8_t key, std::vector<uint8_t> body) {
  std::vector<uint8_t> out = {key};
  appendVarint(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Cid kTarget = Cid::sha256Of(kRaw, bytesOf("target"));
const std::vector<uint8_t> kHashField = field(0x0a, kTarget.bytes());   // PBLink.Hash
const std::vector<uint8_t> kNameField = field(0x12, bytesOf("a.txt"));  // PBLink.Name
const std::vector<uint8_t> kTsizeField = {0x18, 0x06};                  // PBLink.Tsize = 6

Error decodeError(const std::vector<uint8_t>& block) {
  auto node = decodeDagPb(block);
  EXPECT_FALSE(node);
  if (node) return Error{ErrorCode::kInternal, "decoded"};
  EXPECT_EQ(node.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(node.error().message.rfind("invalid dag-pb: ", 0), 0u) << node.error().message;
  return node.error();
}

TEST(IpfsDagPbTest, KnownEmptyBlocks) {
  auto empty = decodeDagPb({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->links.empty());
  EXPECT_FALSE(empty->data.has_value());
  EXPECT_TRUE(encodeDagPb(*empty).empty());
  EXPECT_EQ(v0Of({}).toString(), "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");

  // `ipfs add` of an empty file (CIDv0) and `ipfs object new unixfs-dir`.
  UnixfsData file;
  file.type = UnixfsType::kFile;
  file.filesize = 0;
  const auto file_block = encodeDagPb(PbNode{{}, encodeUnixfs(file)});
  EXPECT_EQ(file_block, std::vector<uint8_t>({0x0a, 0x04, 0x08, 0x02, 0x18, 0x00}));
  EXPECT_EQ(v0Of(file_block).toString(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  UnixfsData dir;
  dir.type = UnixfsType::kDirectory;
  const auto dir_block = encodeDagPb(PbNode{{}, encodeUnixfs(dir)});
  EXPECT_EQ(v0Of(dir_block).toString(), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
  EXPECT_EQ(v0Of(dir_block).toV1().toString(),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
}

TEST(IpfsDagPbTest, RoundTripWithAllFields) {
  PbNode node;
  node.links.push_back(PbLink{kTarget, "a.txt", 6});
  node.links.push_back(PbLink{Cid::sha256Of(kDagPb, bytesOf("x")), std::nullopt, std::nullopt});
  node.links.push_back(PbLink{kTarget, "", UINT64_MAX});
  node.data = bytesOf("payload");
  const auto bytes = encodeDagPb(node);
  auto back = decodeDagPb(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, node);
  EXPECT_EQ(encodeDagPb(*back), bytes);
  // Links first, then Data (the canonical order).
  EXPECT_EQ(bytes[0], 0x12);
  EXPECT_EQ(bytes[bytes.size() - 9], 0x0a);
}

TEST(IpfsDagPbTest, EveryFixtureBlockReencodesIdentically) {
  const fs::path root = fs::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance";
  size_t checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".car") continue;
    const auto bytes = readFile(entry.path());
    auto car = CarReader::open(spanByteReader(bytes));
    ASSERT_TRUE(car) << entry.path() << ": " << car.error().message;
    while (true) {
      auto block = car->next();
      ASSERT_TRUE(block) << entry.path() << ": " << block.error().message;
      if (!*block) break;
      if ((*block)->cid.codec() != kDagPb) continue;
      auto node = decodeDagPb((*block)->data);
      ASSERT_TRUE(node) << (*block)->cid.toString() << ": " << node.error().message;
      EXPECT_EQ(encodeDagPb(*node), (*block)->data) << (*block)->cid.toString();
      ++checked;
    }
  }
  EXPECT_GT(checked, 20u);
}

TEST(IpfsDagPbTest, DataBeforeLinksIsAccepted) {
  const auto link = field(0x12, cat({kHashField, kNameField, kTsizeField}));
  const auto data = field(0x0a, bytesOf("d"));
  auto node = decodeDagPb(cat({data, link, link}));
  ASSERT_TRUE(node) << node.error().message;
  EXPECT_EQ(node->links.size(), 2u);
  EXPECT_EQ(node->links[0].name, "a.txt");
  EXPECT_EQ(node->links[0].tsize, 6u);
  EXPECT_EQ(node->links[0].hash, kTarget);
  EXPECT_EQ(node->data, bytesOf("d"));
  EXPECT_EQ(encodeDagPb(*node), cat({link, link, data}));  // canonical order on encode
}

TEST(IpfsDagPbTest, StrictnessRules) {
  const auto link = field(0x12, cat({kHashField, kNameField, kTsizeField}));
  const auto data = field(0x0a, bytesOf("d"));
  EXPECT_NE(decodeError(cat({link, data, link})).message.find("contiguous"), std::string::npos);
  EXPECT_NE(decodeError(cat({data, data})).message.find("duplicate Data"), std::string::npos);
  EXPECT_NE(decodeError(cat({link, data, data})).message.find("duplicate Data"), std::string::npos);
  // PBLink: Hash required, fields in order, each at most once.
  EXPECT_NE(decodeError(field(0x12, cat({kNameField}))).message.find("no Hash"), std::string::npos);
  EXPECT_NE(decodeError(field(0x12, {})).message.find("no Hash"), std::string::npos);
  EXPECT_NE(decodeError(field(0x12, cat({kNameField, kHashField}))).message.find("in order"),
            std::string::npos);
  EXPECT_NE(
      decodeError(field(0x12, cat({kHashField, kTsizeField, kNameField}))).message.find("in order"),
      std::string::npos);
  EXPECT_NE(decodeError(field(0x12, cat({kHashField, kHashField}))).message.find("repeats"),
            std::string::npos);
  EXPECT_NE(
      decodeError(field(0x12, cat({kHashField, kNameField, kNameField}))).message.find("repeats"),
      std::string::npos);
  // Unknown fields and wrong wire types.
  EXPECT_NE(decodeError(field(0x1a, {})).message.find("unknown PBNode field 3"), std::string::npos);
  EXPECT_NE(
      decodeError(field(0x12, cat({kHashField, field(0x22, {})}))).message.find("unknown field 4"),
      std::string::npos);
  EXPECT_NE(decodeError({0x08, 0x01}).message.find("wire type 0"), std::string::npos);
  EXPECT_NE(decodeError(field(0x12, cat({kHashField, field(0x1a, {})}))).message.find("wire type"),
            std::string::npos);
  EXPECT_NE(decodeError(field(0x12, cat({{0x08, 0x01}}))).message.find("wire type"),
            std::string::npos);
  EXPECT_NE(decodeError({0x00}).message.find("unknown PBNode field 0"), std::string::npos);
  // Hash bytes that are not a CID.
  EXPECT_NE(decodeError(field(0x12, field(0x0a, {0x01, 0x55, 0x12, 0x20, 0x00})))
                .message.find("not a CID"),
            std::string::npos);
  EXPECT_NE(decodeError(field(0x12, field(0x0a, cat({kTarget.bytes(), {0x00}}))))
                .message.find("not a CID"),
            std::string::npos);
}

TEST(IpfsDagPbTest, TruncatedAndOverlongInputs) {
  const auto link = field(0x12, cat({kHashField, kNameField, kTsizeField}));
  const auto block = cat({link, field(0x0a, bytesOf("data"))});
  // Every strict prefix that does not end on a field boundary is refused; none may crash.
  for (size_t cut = 1; cut < block.size(); ++cut) {
    auto node = decodeDagPb(std::span<const uint8_t>(block.data(), cut));
    if (cut != link.size()) {
      EXPECT_FALSE(node) << "cut at " << cut;
    } else {
      EXPECT_TRUE(node);
    }
  }
  // A length far beyond the block.
  EXPECT_NE(decodeError({0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}).message.find("runs past the end"),
            std::string::npos);
  // A varint of more than 64 bits.
  EXPECT_NE(decodeError({0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
                .message.find("64 bits"),
            std::string::npos);
  EXPECT_FALSE(decodeDagPb(
      std::vector<uint8_t>{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}));
}

}  // namespace
}  // namespace thunder::content::ipfs
