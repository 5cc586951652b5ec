// Test helpers for the IpfsStore tests (ipfs_store_test.cc, ipfs_store_export_test.cc): a temp
// FsBlobStore + IpfsStore, fixture CARs, and hand-built UnixFS DAGs and CARs. Header-only, for
// tests; single-threaded.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_store.h"
#include "content/ipfs_unixfs.h"

namespace thunder::content::ipfs::testing {

inline std::filesystem::path fixtures() {
  return std::filesystem::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance";
}

inline std::vector<uint8_t> readFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<uint8_t> bytesOf(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

inline std::string textOf(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// The multiblock.txt of the fixtures: the README's two paragraphs, no final newline.
inline std::string multiblockText() {
  return "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Nunc non imperdiet nunc. Proin "
         "ac quam ut nibh eleifend aliquet. Vestibulum ante ipsum primis in faucibus orci luctus "
         "et ultrices posuere cubilia curae; Sed ligula dolor, imperdiet sagittis arcu et, semper "
         "tincidunt urna. Donec et tempor augue, quis sollicitudin metus. Curabitur semper "
         "ullamcorper aliquet. Mauris hendrerit sodales lectus eget fermentum. Proin sollicitudin "
         "vestibulum commodo. Vivamus nec lectus eu augue aliquet dignissim nec condimentum "
         "justo. In hac habitasse platea dictumst. Mauris vel sem neque.\n\n"
         "Vivamus finibus, enim at lacinia semper, arcu erat gravida lacus, sit amet gravida "
         "magna orci sit amet est. Sed non leo lacus. Nullam viverra ipsum a tincidunt dapibus. "
         "Nulla pulvinar ligula sit amet ante ultrices tempus. Proin purus urna, semper sed "
         "lobortis quis, gravida vitae ipsum. Aliquam mi urna, pulvinar eu bibendum quis, "
         "convallis ac dolor. In gravida justo sed risus ullamcorper, vitae luctus massa "
         "hendrerit. Pellentesque habitant amet.";
}

struct Block {
  Cid cid;
  std::vector<uint8_t> data;
};

inline Block rawBlock(std::string_view bytes) {
  auto data = bytesOf(bytes);
  return Block{Cid::sha256Of(kRaw, data), data};
}

inline Block pbBlock(const PbNode& node) {
  auto data = encodeDagPb(node);
  return Block{Cid::sha256Of(kDagPb, data), data};
}

// A UnixFS file node over `children` with the given blocksizes (which may lie).
inline Block fileNode(const std::vector<Cid>& children, std::vector<uint64_t> blocksizes,
                      std::optional<uint64_t> filesize, std::string_view inline_data = {}) {
  UnixfsData u;
  u.type = UnixfsType::kFile;
  if (!inline_data.empty()) u.data = bytesOf(inline_data);
  u.filesize = filesize;
  u.blocksizes = std::move(blocksizes);
  PbNode node;
  for (const auto& cid : children) node.links.push_back(PbLink{cid, std::string(), std::nullopt});
  node.data = encodeUnixfs(u);
  return pbBlock(node);
}

inline Block dirNode(const std::vector<std::pair<std::string, Cid>>& entries) {
  UnixfsData u;
  u.type = UnixfsType::kDirectory;
  PbNode node;
  for (const auto& [name, cid] : entries) node.links.push_back(PbLink{cid, name, std::nullopt});
  node.data = encodeUnixfs(u);
  return pbBlock(node);
}

inline std::vector<uint8_t> makeCar(const std::vector<Cid>& roots,
                                    const std::vector<Block>& blocks) {
  std::vector<uint8_t> out;
  CarWriter writer([&out](std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
    return Result<void>();
  });
  EXPECT_TRUE(writer.writeHeader(roots));
  for (const auto& b : blocks) EXPECT_TRUE(writer.writeBlock(b.cid, b.data));
  return out;
}

// Everything a CarStream produces, and the error that ended it (if any).
struct Drained {
  std::vector<uint8_t> bytes;
  std::optional<Error> error;
};

inline Drained drain(CarStream& stream, size_t chunk = 1000) {
  Drained out;
  std::vector<uint8_t> buffer(chunk);
  for (;;) {
    auto n = stream.read(buffer);
    if (!n) {
      out.error = n.error();
      return out;
    }
    if (*n == 0) return out;
    out.bytes.insert(out.bytes.end(), buffer.begin(), buffer.begin() + *n);
  }
}

struct ParsedCar {
  std::vector<Cid> roots;
  std::vector<Cid> blocks;  // in order
  std::optional<Error> error;
};

inline ParsedCar parseCar(std::span<const uint8_t> bytes) {
  ParsedCar out;
  auto reader = CarReader::open(spanByteReader(bytes));
  if (!reader) {
    out.error = reader.error();
    return out;
  }
  out.roots = reader->roots();
  for (;;) {
    auto block = reader->next();
    if (!block) {
      out.error = block.error();
      return out;
    }
    if (!*block) return out;
    out.blocks.push_back((*block)->cid);
  }
}

class IpfsStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::path(::testing::TempDir()) / "ipfs-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    open();
  }
  void TearDown() override {
    ipfs_.reset();
    blobs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void open(const std::string& name = "a") {
    ipfs_.reset();
    blobs_.reset();
    StoreOptions options;
    options.root = dir_ / name / "store";
    options.quota_bytes = quota_;
    options.on_batch_commit = on_batch_commit_;
    auto blobs = FsBlobStore::open(options);
    ASSERT_TRUE(blobs) << blobs.error().message;
    blobs_ = std::move(*blobs);
    auto ipfs = IpfsStore::open(dir_ / name / "ipfs", *blobs_);
    ASSERT_TRUE(ipfs) << ipfs.error().message;
    ipfs_ = std::move(*ipfs);
  }
  Result<ImportReport> importBytes(std::span<const uint8_t> car, PinState pin = PinState::kPinned) {
    ImportOptions options;
    options.pin = pin;
    return ipfs_->importCar(spanByteReader(car), options);
  }
  Result<ImportReport> importFixture(const std::string& relative,
                                     PinState pin = PinState::kPinned) {
    const auto bytes = readFileBytes(fixtures() / relative);
    return importBytes(bytes, pin);
  }
  std::string blobText(const BlobId& id) {
    auto bytes = blobs_->read(id, 0, UINT64_MAX);
    EXPECT_TRUE(bytes) << bytes.error().message;
    return bytes ? textOf(*bytes) : std::string();
  }
  std::vector<BlobInfo> listBlobs() {
    auto all = blobs_->list();
    EXPECT_TRUE(all) << all.error().message;
    return all ? *all : std::vector<BlobInfo>();
  }
  static Cid cid(std::string_view text) {
    auto parsed = Cid::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Cid();
  }

  // Copies the data dir `from` to `to` as a crash would leave it (the stores of `from` may be
  // open: RocksDB's LOCK files, held by the live process only, are not copied).
  void snapshot(const std::string& from, const std::string& to) {
    std::filesystem::remove_all(dir_ / to);
    std::filesystem::copy(dir_ / from, dir_ / to, std::filesystem::copy_options::recursive);
    std::filesystem::remove(dir_ / to / "store" / "index" / "LOCK");
    std::filesystem::remove(dir_ / to / "ipfs" / "LOCK");
  }

  std::filesystem::path dir_;
  std::unique_ptr<FsBlobStore> blobs_;
  std::unique_ptr<IpfsStore> ipfs_;
  // Options of the next open().
  uint64_t quota_ = 0;
  std::function<void(BatchCommitStage)> on_batch_commit_;
};

}  // namespace thunder::content::ipfs::testing
