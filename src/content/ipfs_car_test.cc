#include "content/ipfs_car.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "content/ipfs_dag_pb.h"

namespace thunder::content::ipfs {
namespace {

namespace fs = std::filesystem;

const fs::path kConformance = fs::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance";

std::vector<uint8_t> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

struct ReadResult {
  std::vector<Cid> roots;
  std::vector<CarBlock> blocks;
  uint64_t bytes_read = 0;
};

Result<ReadResult> readAll(ByteReader reader, CarLimits limits = {}) {
  THUNDER_ASSIGN_OR_RETURN(auto car, CarReader::open(std::move(reader), limits));
  ReadResult out;
  out.roots = car.roots();
  while (true) {
    THUNDER_ASSIGN_OR_RETURN(auto block, car.next());
    if (!block) break;
    out.blocks.push_back(std::move(*block));
  }
  out.bytes_read = car.bytesRead();
  return out;
}

Result<ReadResult> readAll(std::span<const uint8_t> bytes, CarLimits limits = {}) {
  return readAll(spanByteReader(bytes), limits);
}

// A reader that hands out at most one byte per call: exercises every buffer boundary.
ByteReader trickleReader(std::span<const uint8_t> bytes) {
  return [bytes, pos = size_t{0}](std::span<uint8_t> out) mutable -> Result<size_t> {
    if (pos == bytes.size() || out.empty()) return size_t{0};
    out[0] = bytes[pos++];
    return size_t{1};
  };
}

std::vector<uint8_t> writeCar(std::span<const Cid> roots,
                              const std::vector<std::pair<Cid, std::vector<uint8_t>>>& blocks) {
  std::vector<uint8_t> out;
  CarWriter writer([&out](std::span<const uint8_t> bytes) -> Result<void> {
    out.insert(out.end(), bytes.begin(), bytes.end());
    return {};
  });
  EXPECT_TRUE(writer.writeHeader(roots));
  for (const auto& [cid, data] : blocks) EXPECT_TRUE(writer.writeBlock(cid, data));
  EXPECT_EQ(writer.bytesWritten(), out.size());
  return out;
}

std::vector<fs::path> fixtureCars() {
  std::vector<fs::path> cars;
  for (const auto* dir : {"trustless_gateway_car", "path_gateway_unixfs"}) {
    for (const auto& entry : fs::directory_iterator(kConformance / dir)) {
      if (entry.path().extension() == ".car") cars.push_back(entry.path());
    }
  }
  cars.push_back(kConformance / "dir_listing" / "fixtures.car");
  return cars;
}

TEST(IpfsCarTest, EveryFixtureParsesWithVerifiedBlocks) {
  const auto cars = fixtureCars();
  ASSERT_GE(cars.size(), 10u);
  for (const auto& path : cars) {
    SCOPED_TRACE(path.string());
    const auto bytes = readFile(path);
    auto car = readAll(bytes);
    ASSERT_TRUE(car) << car.error().message;
    EXPECT_FALSE(car->roots.empty());
    EXPECT_FALSE(car->blocks.empty());
    EXPECT_EQ(car->bytes_read, bytes.size());
    size_t dag_pb = 0;
    for (const auto& block : car->blocks) {
      EXPECT_TRUE(block.cid.hash().verify(block.data));
      if (block.cid.codec() == kDagPb) {
        auto node = decodeDagPb(block.data);
        ASSERT_TRUE(node) << block.cid.toString() << ": " << node.error().message;
        ++dag_pb;
      }
    }
    EXPECT_GT(dag_pb, 0u);
    // The same result when the input arrives one byte at a time.
    auto trickled = readAll(trickleReader(bytes));
    ASSERT_TRUE(trickled) << trickled.error().message;
    EXPECT_EQ(trickled->blocks.size(), car->blocks.size());
    // Our header encoder reproduces kubo's header byte for byte.
    const auto header = encodeCarHeader(car->roots);
    ASSERT_LE(header.size(), bytes.size());
    EXPECT_TRUE(std::equal(header.begin(), header.end(), bytes.begin()));
  }
}

TEST(IpfsCarTest, FixtureContainsKnownHelloWorldBlock) {
  const auto bytes = readFile(kConformance / "path_gateway_unixfs" / "dir-with-files.car");
  auto car = readAll(bytes);
  ASSERT_TRUE(car) << car.error().message;
  // `echo "hello world" | ipfs add --cid-version=1`
  const auto hello = Cid::parse("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  ASSERT_TRUE(hello);
  bool found = false;
  for (const auto& block : car->blocks) {
    if (block.cid == *hello) {
      EXPECT_EQ(block.data, bytesOf("hello world\n"));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(IpfsCarTest, WriterRoundTripIsByteIdentical) {
  const auto bytes = readFile(kConformance / "trustless_gateway_car" /
                              "single-layer-hamt-with-multi-block-files.car");
  auto car = readAll(bytes);
  ASSERT_TRUE(car) << car.error().message;
  std::vector<std::pair<Cid, std::vector<uint8_t>>> blocks;
  for (auto& block : car->blocks) blocks.emplace_back(block.cid, block.data);
  EXPECT_EQ(writeCar(car->roots, blocks), bytes);
}

TEST(IpfsCarTest, HeaderBytesAreCanonicalDagCbor) {
  const Cid root = Cid::sha256Of(kRaw, bytesOf("x"));
  const auto header = encodeCarHeader(std::span<const Cid>(&root, 1));
  const auto cid = root.bytes();  // 36 bytes
  std::vector<uint8_t> expected = {0x00, 0xa2, 0x65, 'r',  'o',  'o',  't',
                                   's',  0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00};
  expected.insert(expected.end(), cid.begin(), cid.end());
  for (char c : std::string_view("\x67version\x01")) expected.push_back(static_cast<uint8_t>(c));
  expected[0] = static_cast<uint8_t>(expected.size() - 1);
  EXPECT_EQ(header, expected);
  // No roots: {"roots": [], "version": 1}.
  EXPECT_EQ(encodeCarHeader({}),
            std::vector<uint8_t>({0x11, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80, 0x67, 'v', 'e',
                                  'r', 's', 'i', 'o', 'n', 0x01}));
}

TEST(IpfsCarTest, IdentityAndBlake3BlocksAreAccepted) {
  const auto data = bytesOf("tiny");
  const Cid identity(1, kRaw, *Multihash::compute(kIdentity, data));
  const Cid blake3(1, kRaw, *Multihash::compute(kBlake3, data));
  const Cid v0(0, kDagPb, *Multihash::compute(kSha2_256, std::vector<uint8_t>{}));
  const auto car = writeCar(std::vector<Cid>{identity},
                            {{identity, data}, {blake3, data}, {v0, std::vector<uint8_t>{}}});
  auto read = readAll(car);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->blocks.size(), 3u);
  EXPECT_EQ(read->roots[0], identity);
  EXPECT_EQ(read->blocks[1].cid, blake3);
  EXPECT_EQ(read->blocks[2].cid, v0);
  EXPECT_TRUE(read->blocks[2].data.empty());
}

TEST(IpfsCarTest, CorruptedBlockIsCorruptionNamingTheCid) {
  const auto data = bytesOf("block payload");
  const Cid cid = Cid::sha256Of(kRaw, data);
  auto car = writeCar(std::vector<Cid>{cid}, {{cid, data}});
  car[car.size() - 1] ^= 0x01;  // flip a bit in the data
  auto read = readAll(car);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kCorruption);
  EXPECT_NE(read.error().message.find(cid.toString()), std::string::npos) << read.error().message;
  // A corrupt block in a real fixture too.
  auto fixture = readFile(kConformance / "path_gateway_unixfs" / "symlink.car");
  fixture[fixture.size() - 3] ^= 0x40;
  auto bad = readAll(fixture);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
}

TEST(IpfsCarTest, EveryTruncationIsAnErrorOrACleanBlockBoundary) {
  const auto bytes =
      readFile(kConformance / "trustless_gateway_car" / "subdir-with-mixed-block-files.car");
  auto full = readAll(bytes);
  ASSERT_TRUE(full);
  // Offsets at which a section ends: a clean end of input there is a shorter, valid CAR.
  std::vector<size_t> boundaries;
  {
    auto car = CarReader::open(spanByteReader(bytes));
    ASSERT_TRUE(car);
    boundaries.push_back(car->bytesRead());
    while (auto block = car->next()) {
      if (!*block) break;
      boundaries.push_back(car->bytesRead());
    }
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto read = readAll(std::span<const uint8_t>(bytes.data(), cut));
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    if (boundary) {
      ASSERT_TRUE(read) << cut << ": " << read.error().message;
      EXPECT_LT(read->blocks.size(), full->blocks.size());
    } else {
      ASSERT_FALSE(read) << "cut at " << cut;
      EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument) << read.error().message;
      EXPECT_NE(read.error().message.find("truncated"), std::string::npos)
          << cut << ": " << read.error().message;
    }
  }
}

std::vector<uint8_t> withSection(std::vector<uint8_t> car, std::vector<uint8_t> section) {
  car.insert(car.end(), section.begin(), section.end());
  return car;
}

TEST(IpfsCarTest, HugeAndBadLengthsAreRefusedWithoutAllocating) {
  const auto header = encodeCarHeader({});
  // Section length 2^62: refused by the limit check, not by an allocation failure.
  auto read = readAll(withSection(header, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40}));
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(read.error().message.find("limit"), std::string::npos) << read.error().message;
  // A 10-byte varint.
  read = readAll(withSection(header, std::vector<uint8_t>(9, 0xff)));
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument);
  // Non-minimal varint.
  read = readAll(withSection(header, {0x85, 0x00}));
  ASSERT_FALSE(read);
  // Zero-length section.
  read = readAll(withSection(header, {0x00}));
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("zero-length"), std::string::npos);
  // Header length over the limit.
  read = readAll(std::vector<uint8_t>{0xff, 0xff, 0xff, 0x7f});
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("limit"), std::string::npos);
  // A block over a small limit.
  const auto data = std::vector<uint8_t>(1000, 7);
  const Cid cid = Cid::sha256Of(kRaw, data);
  read = readAll(writeCar(std::vector<Cid>{cid}, {{cid, data}}), CarLimits{1 << 20, 999});
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("limit"), std::string::npos) << read.error().message;
  EXPECT_TRUE(readAll(writeCar(std::vector<Cid>{cid}, {{cid, data}}), CarLimits{1 << 20, 1000}));
  // A section whose CID is garbage.
  read = readAll(withSection(header, {0x03, 0x01, 0x55, 0x99}));
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument);
  // Empty input.
  read = readAll(std::vector<uint8_t>{});
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("truncated"), std::string::npos);
}

TEST(IpfsCarTest, MalformedHeadersAreRefused) {
  const auto refuse = [](std::vector<uint8_t> cbor, std::string_view needle) {
    std::vector<uint8_t> car;
    appendVarint(car, cbor.size());
    car.insert(car.end(), cbor.begin(), cbor.end());
    auto read = readAll(car);
    ASSERT_FALSE(read) << needle;
    EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(read.error().message.find(needle), std::string::npos) << read.error().message;
  };
  // {"version": 3, "roots": []}
  refuse({0xa2, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x03, 0x65, 'r', 'o', 'o', 't', 's', 0x80},
         "version 3");
  // {"version": 1} without roots.
  refuse({0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01}, "roots");
  // {"roots": []} without version.
  refuse({0xa1, 0x65, 'r', 'o', 'o', 't', 's', 0x80}, "version");
  // An unknown key.
  refuse({0xa1, 0x63, 'f', 'o', 'o', 0x01}, "unsupported key \"foo\"");
  // Not a map.
  refuse({0x80}, "major type");
  // Indefinite-length map.
  refuse({0xbf, 0xff}, "indefinite");
  // Roots entry without tag 42.
  refuse({0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0x41, 0x00, 0x67, 'v', 'e', 'r', 's', 'i', 'o',
          'n', 0x01},
         "major type");
  // Roots link without the 0x00 prefix.
  refuse({0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x41,
          0x12, 0x67, 'v', 'e', 'r', 's', 'i', 'o',  'n',  0x01},
         "0x00");
  // A roots array claiming 2^32 entries.
  refuse({0xa1, 0x65, 'r', 'o', 'o', 't', 's', 0x9a, 0xff, 0xff, 0xff, 0xff}, "roots array");
  // Duplicate key.
  refuse({0xa2, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01, 0x67, 'v', 'e', 'r', 's', 'i', 'o',
          'n', 0x01},
         "duplicate");
  // Trailing bytes inside the header.
  refuse({0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01,
          0x00},
         "after the header map");
}

// A CARv2: pragma, 40-byte header, padding, the inner CARv1, then an index we ignore.
std::vector<uint8_t> wrapV2(const std::vector<uint8_t>& v1, size_t padding) {
  std::vector<uint8_t> out = {0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02};
  const uint64_t data_offset = 11 + 40 + padding;
  const uint64_t data_size = v1.size();
  std::vector<uint8_t> header(40, 0);
  for (int i = 0; i < 8; ++i) {
    header[16 + i] = static_cast<uint8_t>(data_offset >> (8 * i));
    header[24 + i] = static_cast<uint8_t>(data_size >> (8 * i));
    header[32 + i] = static_cast<uint8_t>((data_offset + data_size) >> (8 * i));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + padding, 0);
  out.insert(out.end(), v1.begin(), v1.end());
  const std::vector<uint8_t> index = {0x80, 0x80, 0x01, 0xde, 0xad};  // junk: must not be read
  out.insert(out.end(), index.begin(), index.end());
  return out;
}

TEST(IpfsCarTest, CarV2IsUnwrapped) {
  const auto v1 = readFile(kConformance / "path_gateway_unixfs" / "dir-with-files.car");
  auto plain = readAll(v1);
  ASSERT_TRUE(plain);
  for (size_t padding : {size_t{0}, size_t{7}, size_t{100000}}) {
    const auto v2 = wrapV2(v1, padding);
    auto car = CarReader::open(spanByteReader(v2));
    ASSERT_TRUE(car) << car.error().message;
    EXPECT_EQ(car->carVersion(), 2u);
    EXPECT_EQ(car->roots(), plain->roots);
    size_t n = 0;
    while (true) {
      auto block = car->next();
      ASSERT_TRUE(block) << block.error().message;
      if (!*block) break;
      EXPECT_EQ((*block)->cid, plain->blocks[n].cid);
      ++n;
    }
    EXPECT_EQ(n, plain->blocks.size());
    EXPECT_EQ(car->bytesRead(), 11 + 40 + padding + v1.size());
  }
  // A data size that cuts the inner CARv1 short is a truncation.
  auto cut = wrapV2(v1, 0);
  cut[11 + 24] = static_cast<uint8_t>(cut[11 + 24] - 1);
  auto read = readAll(cut);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("truncated"), std::string::npos) << read.error().message;
  // A data offset inside the header.
  auto inside = wrapV2(v1, 0);
  inside[11 + 16] = 10;
  read = readAll(inside);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("data offset"), std::string::npos);
  // A v2 whose inner CAR claims version 2 again.
  auto nested = wrapV2(wrapV2(v1, 0), 0);
  read = readAll(nested);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("version 2"), std::string::npos) << read.error().message;
}

TEST(IpfsCarTest, ReaderAndWriterErrorsPropagate) {
  auto read = readAll([](std::span<uint8_t>) -> Result<size_t> {
    return fail(ErrorCode::kIoError, "disk on fire");
  });
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kIoError);
  EXPECT_EQ(read.error().message, "disk on fire");
  CarWriter writer(
      [](std::span<const uint8_t>) -> Result<void> { return fail(ErrorCode::kIoError, "full"); });
  auto wrote = writer.writeHeader({});
  ASSERT_FALSE(wrote);
  EXPECT_EQ(wrote.error().message, "full");
}

}  // namespace
}  // namespace thunder::content::ipfs
