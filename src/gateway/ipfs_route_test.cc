// The /ipfs/ and /routing/v1/ routes over a temp FsBlobStore + IpfsStore holding the IPFS
// gateway-conformance fixtures, through a real gateway on 127.0.0.1:0. The expected blocks of
// each CAR are those the conformance suite (tests/trustless_gateway_car_test.go) expects.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_store.h"
#include "content/ipfs_unixfs.h"
#include "gateway/delegated_routing.h"
#include "gateway/gateway_test_support.h"

namespace thunder::gateway {
namespace {

namespace ipfs = content::ipfs;
using testing::GatewayFixture;
using testing::RawClient;
using testing::Reply;

std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance" / relative;
}

std::vector<uint8_t> readBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Car {
  std::vector<ipfs::Cid> roots;
  std::vector<ipfs::Cid> blocks;  // in order
  std::optional<Error> error;     // what ended the parse early
};

Car parseCar(std::string_view body) {
  Car out;
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  auto reader = ipfs::CarReader::open(ipfs::spanByteReader(bytes));
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

ipfs::Cid cidOf(std::string_view text) {
  auto cid = ipfs::Cid::parse(text);
  EXPECT_TRUE(cid) << text;
  return cid ? *cid : ipfs::Cid();
}

std::vector<std::string> names(const std::vector<ipfs::Cid>& cids) {
  std::vector<std::string> out;
  for (const auto& cid : cids) out.push_back(cid.toString());
  return out;
}

// The leaves of the fixtures' multiblock.txt (4 × 256 + 2 bytes), as the conformance suite
// names them.
const std::vector<std::string> kMultiblockLeaves = {
    "bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm",
    "bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq",
    "bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue",
    "bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe",
    "bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm",
};

class IpfsRouteTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    auto ipfs_store = ipfs::IpfsStore::open(root_ / "ipfs", *store_);
    ASSERT_TRUE(ipfs_store) << ipfs_store.error().message;
    ipfs_ = std::move(*ipfs_store);
    std::array<uint8_t, 32> key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(200 - i);
    node_key_ = PublicKey(std::span<const uint8_t, 32>(key));
    GatewayOptions options;
    options.listen = "127.0.0.1:0";
    options.spool_dir = root_ / "store" / "tmp";
    options.node_key = node_key_;
    auto server = GatewayServer::start(runtime_, *store_, std::move(options), nullptr,
                                       GatewayBackends{ipfs_.get(), nullptr, nullptr});
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    ipfs_.reset();
    GatewayFixture::TearDown();
  }

  // Imports a fixture CAR; returns its first root.
  ipfs::Cid import(const std::string& relative) {
    const auto bytes = readBytes(fixture(relative));
    ipfs::ImportOptions options;
    auto report = ipfs_->importCar(ipfs::spanByteReader(bytes), options);
    EXPECT_TRUE(report) << relative << ": " << report.error().message;
    if (!report || report->roots.empty()) return ipfs::Cid();
    return report->roots[0].cid;
  }

  ipfs::Cid resolve(const ipfs::Cid& root, std::vector<std::string> segments) {
    auto resolved = ipfs_->resolve(root, segments);
    EXPECT_TRUE(resolved) << resolved.error().message;
    return resolved ? resolved->cid : ipfs::Cid();
  }

  std::vector<ipfs::Cid> fileLeaves(const ipfs::Cid& file) {
    auto block = ipfs_->getBlock(file);
    EXPECT_TRUE(block && *block);
    std::vector<ipfs::Cid> out;
    if (!block || !*block) return out;
    auto node = ipfs::decodeDagPb(**block);
    EXPECT_TRUE(node);
    for (const auto& link : node->links) out.push_back(link.hash);
    return out;
  }

  Reply get(const std::string& target, const std::vector<std::string>& headers = {}) {
    RawClient client(port());
    return client.request("GET", target, headers);
  }

  std::unique_ptr<ipfs::IpfsStore> ipfs_;
  PublicKey node_key_;
};

TEST_F(IpfsRouteTest, RawBlock) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const ipfs::Cid hello = resolve(root, {"hello.txt"});
  const std::string cid = hello.toString();

  auto reply = get("/ipfs/" + cid + "?format=raw");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.body, "hello world\n");
  EXPECT_EQ(reply.header("content-type"), "application/vnd.ipld.raw");
  EXPECT_EQ(reply.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(reply.header("etag"), "\"" + cid + ".raw\"");
  EXPECT_EQ(reply.header("cache-control"), "public, max-age=29030400, immutable");
  EXPECT_EQ(reply.header("content-disposition"), "attachment; filename=\"" + cid + ".bin\"");
  EXPECT_EQ(reply.header("content-length"), "12");
  EXPECT_FALSE(reply.has("content-location"));

  // By Accept alone: the same bytes, and where the format=raw URL is.
  auto accepted = get("/ipfs/" + cid, {"Accept: application/vnd.ipld.raw"});
  ASSERT_EQ(accepted.status, 200u);
  EXPECT_EQ(accepted.body, "hello world\n");
  EXPECT_EQ(accepted.header("content-location"), "/ipfs/" + cid + "?format=raw");

  // The directory's own dag-pb block verifies against its CID.
  auto dir = get("/ipfs/" + root.toString() + "?format=raw");
  ASSERT_EQ(dir.status, 200u);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(dir.body.data()),
                                       dir.body.size());
  EXPECT_TRUE(root.hash().verify(bytes));

  // With a path: the block at its end.
  auto pathed = get("/ipfs/" + root.toString() + "/hello.txt?format=raw");
  ASSERT_EQ(pathed.status, 200u);
  EXPECT_EQ(pathed.body, "hello world\n");
  EXPECT_EQ(pathed.header("etag"), "\"" + cid + ".raw\"");

  auto cached = get("/ipfs/" + cid + "?format=raw", {"If-None-Match: \"" + cid + ".raw\""});
  EXPECT_EQ(cached.status, 304u);
  EXPECT_EQ(cached.body, "");
}

TEST_F(IpfsRouteTest, MissingContentIs404) {
  import("path_gateway_unixfs/dir-with-files.car");
  // A well-formed CID of a block this node never had.
  const std::string absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
  for (const std::string query : {"?format=raw", "?format=car", ""}) {
    auto reply = get("/ipfs/" + absent + query);
    EXPECT_EQ(reply.status, 404u) << query << ": " << reply.body;
    EXPECT_NE(reply.body.find(absent), std::string::npos) << reply.body;
  }
  auto routing = get("/routing/v1/providers/" + absent);
  EXPECT_EQ(routing.status, 404u);
}

TEST_F(IpfsRouteTest, BadRequestsAre400And501) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const std::string dir = "/ipfs/" + root.toString();
  auto bad_cid = get("/ipfs/bafyNOTACID");
  EXPECT_EQ(bad_cid.status, 400u);
  EXPECT_NE(bad_cid.body.find("malformed CID \"bafyNOTACID\""), std::string::npos) << bad_cid.body;
  EXPECT_EQ(get("/ipfs/").status, 400u);
  EXPECT_EQ(get(dir + "/%2e%2e/x").status, 400u);
  for (const std::string query :
       {"?format=zip", "?format=car&dag-scope=everything", "?format=car&entity-bytes=x:y",
        "?format=car&car-version=2", "?format=car&car-dups=maybe", "?format=car&car-order=bfs"}) {
    auto reply = get(dir + query);
    EXPECT_EQ(reply.status, 400u) << query;
    EXPECT_EQ(reply.header("content-type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(get(dir, {"Accept: application/vnd.ipld.car; version=2"}).status, 400u);
  auto tar = get(dir + "?format=tar");
  EXPECT_EQ(tar.status, 501u);
  EXPECT_NE(tar.body.find("format=tar"), std::string::npos);
  // Methods other than GET and HEAD.
  RawClient client(port());
  EXPECT_EQ(client.request("POST", dir, {}, "x").status, 405u);
}

TEST_F(IpfsRouteTest, ProbeBafkqaaa) {
  auto raw = get("/ipfs/bafkqaaa?format=raw");
  EXPECT_EQ(raw.status, 200u);
  EXPECT_EQ(raw.body, "");
  EXPECT_EQ(raw.header("content-type"), "application/vnd.ipld.raw");
  auto raw_accept = get("/ipfs/bafkqaaa", {"Accept: application/vnd.ipld.raw"});
  EXPECT_EQ(raw_accept.status, 200u);
  EXPECT_EQ(raw_accept.body, "");

  // A CAR whose header names bafkqaaa and that has no block (identity blocks are never sent).
  auto car = get("/ipfs/bafkqaaa?format=car");
  EXPECT_EQ(car.status, 200u);
  const Car parsed = parseCar(car.body);
  EXPECT_FALSE(parsed.error);
  EXPECT_EQ(names(parsed.roots), std::vector<std::string>{"bafkqaaa"});
  EXPECT_TRUE(parsed.blocks.empty());

  auto plain = get("/ipfs/bafkqaaa");
  EXPECT_EQ(plain.status, 200u);
  EXPECT_EQ(plain.body, "");
  RawClient client(port());
  auto head = client.request("HEAD", "/ipfs/bafkqaaa?format=raw");
  EXPECT_EQ(head.status, 200u);

  // Another identity CID: its data; in a CAR with dups=y, still no block.
  const std::string hello = "bafkqaf3imvwgy3zaneqgc3janfxgy2lomvscay3jmqfa";
  auto identity = get("/ipfs/" + hello, {"Accept: application/vnd.ipld.car; dups=y"});
  EXPECT_EQ(identity.status, 200u);
  EXPECT_NE(identity.header("content-type").find("dups=y"), std::string::npos);
  EXPECT_TRUE(parseCar(identity.body).blocks.empty());
}

TEST_F(IpfsRouteTest, CarDagScopes) {
  const ipfs::Cid root = import("trustless_gateway_car/subdir-with-mixed-block-files.car");
  const ipfs::Cid subdir = resolve(root, {"subdir"});
  const ipfs::Cid ascii = resolve(root, {"subdir", "ascii.txt"});
  const ipfs::Cid multiblock = resolve(root, {"subdir", "multiblock.txt"});
  const std::string base = "/ipfs/" + root.toString();

  auto all = get(base + "/subdir/multiblock.txt?format=car&dag-scope=all");
  ASSERT_EQ(all.status, 200u) << all.body;
  EXPECT_EQ(all.header("content-type"), "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  EXPECT_EQ(all.header("transfer-encoding"), "chunked");  // streamed: no length known upfront
  EXPECT_FALSE(all.has("content-length"));
  EXPECT_EQ(all.header("content-disposition"),
            "attachment; filename=\"" + root.toString() + ".car\"");
  EXPECT_EQ(all.header("x-content-type-options"), "nosniff");
  EXPECT_TRUE(all.header("etag").starts_with("W/\"" + root.toString() + ".car."))
      << all.header("etag");
  Car car = parseCar(all.body);
  EXPECT_FALSE(car.error);
  EXPECT_EQ(names(car.roots), std::vector<std::string>{root.toString()});
  std::vector<std::string> want = {root.toString(), subdir.toString(), multiblock.toString()};
  want.insert(want.end(), kMultiblockLeaves.begin(), kMultiblockLeaves.end());
  EXPECT_EQ(names(car.blocks), want);

  // The default scope is all; the whole directory below the path.
  auto dir_all = get(base + "/subdir?format=car");
  ASSERT_EQ(dir_all.status, 200u);
  const auto dir_blocks = names(parseCar(dir_all.body).blocks);
  ASSERT_GE(dir_blocks.size(), 3u);
  EXPECT_EQ(dir_blocks[0], root.toString());
  EXPECT_EQ(dir_blocks[1], subdir.toString());
  EXPECT_NE(std::find(dir_blocks.begin(), dir_blocks.end(), kMultiblockLeaves[4]),
            dir_blocks.end());

  auto entity_dir = get(base + "?format=car&dag-scope=entity");
  ASSERT_EQ(entity_dir.status, 200u);
  EXPECT_EQ(names(parseCar(entity_dir.body).blocks), std::vector<std::string>{root.toString()});

  auto entity_file = get(base + "/subdir/multiblock.txt?format=car&dag-scope=entity");
  ASSERT_EQ(entity_file.status, 200u);
  EXPECT_EQ(names(parseCar(entity_file.body).blocks), want);

  auto block = get(base + "/subdir/ascii.txt?format=car&dag-scope=block");
  ASSERT_EQ(block.status, 200u);
  EXPECT_EQ(names(parseCar(block.body).blocks),
            (std::vector<std::string>{root.toString(), subdir.toString(), ascii.toString()}));
  EXPECT_NE(block.header("etag"), all.header("etag"));  // the scope is part of the ETag

  // By Accept, with Content-Location; HEAD answers the headers only.
  auto accepted =
      get(base + "/subdir/ascii.txt?dag-scope=block", {"Accept: application/vnd.ipld.car"});
  ASSERT_EQ(accepted.status, 200u);
  EXPECT_EQ(accepted.header("content-location"),
            base + "/subdir/ascii.txt?format=car&dag-scope=block");
  RawClient client(port());
  auto head = client.request("HEAD", base + "?format=car");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("content-type"), all.header("content-type"));

  // A path that does not exist: 404 before any byte.
  EXPECT_EQ(get(base + "/subdir/i-do-not-exist?format=car").status, 404u);

  // Conditional: the weak ETag matches.
  auto cached = get(base + "/subdir/multiblock.txt?format=car&dag-scope=all",
                    {"If-None-Match: " + all.header("etag")});
  EXPECT_EQ(cached.status, 304u);
}

TEST_F(IpfsRouteTest, CarEntityBytes) {
  const ipfs::Cid root = import("trustless_gateway_car/subdir-with-mixed-block-files.car");
  const ipfs::Cid file = resolve(root, {"subdir", "multiblock.txt"});
  ASSERT_EQ(names(fileLeaves(file)), kMultiblockLeaves);
  const std::string target = "/ipfs/" + file.toString() + "?format=car&dag-scope=entity";
  auto blocksFor = [&](const std::string& range) {
    auto reply = get(target + "&entity-bytes=" + range);
    EXPECT_EQ(reply.status, 200u) << range << ": " << reply.body;
    const Car car = parseCar(reply.body);
    EXPECT_FALSE(car.error) << range;
    return names(car.blocks);
  };
  auto leaves = [&](size_t from, size_t to) {
    std::vector<std::string> out = {file.toString()};
    out.insert(out.end(), kMultiblockLeaves.begin() + from, kMultiblockLeaves.begin() + to);
    return out;
  };
  EXPECT_EQ(blocksFor("0:*"), leaves(0, 5));
  EXPECT_EQ(blocksFor("512:*"), leaves(2, 5));
  EXPECT_EQ(blocksFor("512:1023"), leaves(2, 4));
  EXPECT_EQ(blocksFor("512:-256"), leaves(2, 4));
  EXPECT_EQ(blocksFor("-5:*"), leaves(3, 5));
  EXPECT_EQ(blocksFor("-9999:*"), leaves(0, 5));
  EXPECT_EQ(blocksFor("-9999:-3"), leaves(0, 4));
  EXPECT_EQ(blocksFor("0:0"), leaves(0, 1));
  // Wholly outside the file: the file's root block only.
  EXPECT_EQ(blocksFor("5000:*"), leaves(0, 0));
  // Each range has its own ETag.
  EXPECT_NE(get(target + "&entity-bytes=0:0").header("etag"),
            get(target + "&entity-bytes=0:1").header("etag"));
  // On a directory entity-bytes is ignored: the directory's block.
  auto dir = get("/ipfs/" + root.toString() + "?format=car&entity-bytes=0:*");
  EXPECT_EQ(names(parseCar(dir.body).blocks), std::vector<std::string>{root.toString()});
}

TEST_F(IpfsRouteTest, CarDuplicates) {
  const ipfs::Cid root = import("trustless_gateway_car/dir-with-duplicate-files.car");
  const std::string ascii = resolve(root, {"ascii.txt"}).toString();
  ASSERT_EQ(ascii, resolve(root, {"ascii-copy.txt"}).toString());
  const std::string hello = resolve(root, {"hello.txt"}).toString();
  const std::string multiblock = resolve(root, {"multiblock.txt"}).toString();
  std::vector<std::string> with_dups = {root.toString(), ascii, ascii, hello, multiblock};
  with_dups.insert(with_dups.end(), kMultiblockLeaves.begin(), kMultiblockLeaves.end());
  std::vector<std::string> without = {root.toString(), ascii, hello, multiblock};
  without.insert(without.end(), kMultiblockLeaves.begin(), kMultiblockLeaves.end());
  const std::string target = "/ipfs/" + root.toString();

  auto dups = get(target, {"Accept: application/vnd.ipld.car; version=1; order=dfs; dups=y"});
  ASSERT_EQ(dups.status, 200u);
  EXPECT_EQ(dups.header("content-type"), "application/vnd.ipld.car; version=1; order=dfs; dups=y");
  EXPECT_EQ(names(parseCar(dups.body).blocks), with_dups);

  auto no_dups = get(target, {"Accept: application/vnd.ipld.car; version=1; order=dfs; dups=n"});
  EXPECT_EQ(no_dups.header("content-type"),
            "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  EXPECT_EQ(names(parseCar(no_dups.body).blocks), without);
  EXPECT_NE(dups.header("etag"), no_dups.header("etag"));

  // ?format=car with a more specific Accept: its parameters apply.
  auto both = get(target + "?format=car", {"Accept: application/vnd.ipld.car; dups=y"});
  EXPECT_EQ(names(parseCar(both.body).blocks), with_dups);
  // The query parameter wins over Accept; order=unk is answered with the order used.
  auto query = get(target + "?format=car&car-dups=n&car-order=unk",
                   {"Accept: application/vnd.ipld.car; dups=y"});
  EXPECT_EQ(query.header("content-type"), "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  EXPECT_EQ(names(parseCar(query.body).blocks), without);
}

// Splits a raw HTTP/1.1 response with a chunked body: the decoded payload, and whether the
// last chunk ("0\r\n\r\n") arrived.
struct Chunked {
  std::string head;
  std::string payload;
  bool complete = false;
};

Chunked decodeChunked(const std::string& raw) {
  Chunked out;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.head = raw.substr(0, end + 2);
  size_t pos = end + 4;
  for (;;) {
    const size_t line = raw.find("\r\n", pos);
    if (line == std::string::npos) return out;
    const size_t size = std::stoul(raw.substr(pos, line - pos), nullptr, 16);
    if (size == 0) {
      out.complete = raw.compare(line, 4, "\r\n\r\n") == 0;
      return out;
    }
    if (line + 2 + size + 2 > raw.size()) {
      out.payload += raw.substr(line + 2, size);  // a chunk cut short
      return out;
    }
    out.payload += raw.substr(line + 2, size);
    pos = line + 2 + size + 2;
  }
}

TEST_F(IpfsRouteTest, MissingBlockCutsTheCarStream) {
  const ipfs::Cid root = import("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
  const std::string target = "/ipfs/" + root.toString();

  // The whole file: 200 and the blocks up to the missing one, then the connection is cut
  // without the last chunk, so the client knows the CAR is incomplete.
  RawClient client(port());
  client.send("GET " + target + "?format=car HTTP/1.1\r\nHost: test\r\n\r\n");
  const Chunked reply = decodeChunked(client.readToEnd());
  EXPECT_TRUE(reply.head.starts_with("HTTP/1.1 200 OK\r\n")) << reply.head;
  EXPECT_NE(reply.head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_FALSE(reply.complete);
  const Car car = parseCar(reply.payload);
  ASSERT_GE(car.blocks.size(), 1u);
  EXPECT_EQ(car.blocks[0], root);
  EXPECT_EQ(names(car.blocks),
            (std::vector<std::string>{root.toString(),
                                      "QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF"}));

  // Ranges that avoid the missing block are complete CARs (conformance: "succeeds even if the
  // gateway is missing a block after/before the requested range").
  auto first = get(target + "?format=car&dag-scope=entity&entity-bytes=0:1000");
  ASSERT_EQ(first.status, 200u);
  Car head_car = parseCar(first.body);
  EXPECT_FALSE(head_car.error);
  EXPECT_EQ(names(head_car.blocks),
            (std::vector<std::string>{root.toString(),
                                      "QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF"}));
  auto last = get(target + "?format=car&dag-scope=entity&entity-bytes=2200:*");
  ASSERT_EQ(last.status, 200u);
  EXPECT_EQ(names(parseCar(last.body).blocks),
            (std::vector<std::string>{root.toString(),
                                      "QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV"}));

  // The root block alone is there.
  EXPECT_EQ(get(target + "?format=raw").status, 200u);

  // Deserialized: the whole file cannot be served, but ranges that avoid the missing block can
  // (read from the blocks they cover).
  auto whole = get(target);
  EXPECT_EQ(whole.status, 404u);
  EXPECT_NE(whole.body.find("QmSNLTo6Wv9dfroVaw7MFYjLqf9ho7PKrgsjdzYDtv8h1W"), std::string::npos)
      << whole.body;
  auto before = get(target, {"Range: bytes=997-1000"});
  EXPECT_EQ(before.status, 206u);
  EXPECT_EQ(before.header("content-range"), "bytes 997-1000/3072");
  EXPECT_EQ(before.body.size(), 4u);
  auto after = get(target, {"Range: bytes=2200-2201"});
  EXPECT_EQ(after.status, 206u);
  EXPECT_EQ(after.header("content-range"), "bytes 2200-2201/3072");
  // The bytes are the file's: those of its third leaf (a dag-pb UnixFS node of 1024 bytes).
  auto leaf = ipfs_->getBlock(cidOf("QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV"));
  ASSERT_TRUE(leaf && *leaf);
  auto node = ipfs::decodeDagPb(**leaf);
  ASSERT_TRUE(node && node->data);
  auto unixfs = ipfs::decodeUnixfs(*node->data);
  ASSERT_TRUE(unixfs && unixfs->data);
  ASSERT_EQ(unixfs->data->size(), 1024u);
  EXPECT_EQ(after.body, std::string(unixfs->data->begin() + (2200 - 2048),
                                    unixfs->data->begin() + (2202 - 2048)));
  EXPECT_EQ(get(target, {"Range: bytes=1500-1600"}).status, 404u);
  EXPECT_EQ(get(target, {"Range: bytes=5000-"}).status, 416u);
}

TEST_F(IpfsRouteTest, DeserializedFileWithRanges) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const ipfs::Cid file = resolve(root, {"multiblock.txt"});
  std::string expected;
  for (const auto& leaf : fileLeaves(file)) {
    auto block = ipfs_->getBlock(leaf);
    ASSERT_TRUE(block && *block);
    expected.append((*block)->begin(), (*block)->end());
  }
  ASSERT_EQ(expected.size(), 1026u);
  const std::string target = "/ipfs/" + root.toString() + "/multiblock.txt";

  auto whole = get(target);
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.body, expected);
  EXPECT_EQ(whole.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(whole.header("etag"), "\"" + file.toString() + "\"");
  EXPECT_EQ(whole.header("cache-control"), "public, max-age=29030400, immutable");
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.header("x-ipfs-path"), target);
  EXPECT_EQ(whole.header("x-ipfs-roots"), root.toString() + "," + file.toString());

  auto part = get(target, {"Range: bytes=250-265"});
  EXPECT_EQ(part.status, 206u);
  EXPECT_EQ(part.body, expected.substr(250, 16));
  EXPECT_EQ(part.header("content-range"), "bytes 250-265/1026");
  auto suffix = get(target, {"Range: bytes=-2"});
  EXPECT_EQ(suffix.status, 206u);
  EXPECT_EQ(suffix.body, expected.substr(1024));
  auto outside = get(target, {"Range: bytes=5000-"});
  EXPECT_EQ(outside.status, 416u);
  EXPECT_EQ(outside.header("content-range"), "bytes */1026");
  auto other_tag = get(target, {"Range: bytes=0-9", "If-Range: \"other\""});
  EXPECT_EQ(other_tag.status, 200u);

  RawClient client(port());
  auto head = client.request("HEAD", target);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), "1026");
  EXPECT_EQ(head.body, "");

  auto cached = get(target, {"If-None-Match: \"" + file.toString() + "\""});
  EXPECT_EQ(cached.status, 304u);
  EXPECT_EQ(cached.header("etag"), "\"" + file.toString() + "\"");

  // The file by its own CID: sniffed (no name), and again from the loop's open blob cache.
  for (int i = 0; i < 2; ++i) {
    auto by_cid = get("/ipfs/" + file.toString());
    EXPECT_EQ(by_cid.status, 200u);
    EXPECT_EQ(by_cid.body, expected);
    EXPECT_EQ(by_cid.header("content-type"), "text/plain; charset=utf-8");
  }
  // ?filename= names it (and its type); download=true makes it an attachment.
  auto named = get("/ipfs/" + file.toString() + "?filename=lorem.json&download=true");
  EXPECT_EQ(named.header("content-type"), "application/json");
  EXPECT_EQ(named.header("content-disposition"), "attachment; filename=\"lorem.json\"");

  // A path through a file, and a missing entry.
  EXPECT_EQ(get(target + "/deeper").status, 400u);
  auto missing = get("/ipfs/" + root.toString() + "/nope.txt");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("nope.txt"), std::string::npos) << missing.body;
}

TEST_F(IpfsRouteTest, DirectoriesRedirectListAndServeIndexHtml) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const std::string dir = "/ipfs/" + root.toString();
  auto redirect = get(dir + "?a=b");
  EXPECT_EQ(redirect.status, 301u);
  EXPECT_EQ(redirect.header("location"), dir + "/?a=b");

  auto listing = get(dir + "/");
  ASSERT_EQ(listing.status, 200u) << listing.body;
  EXPECT_EQ(listing.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(listing.header("etag"), "\"DirIndex-thunder-1_CID-" + root.toString() + "\"");
  for (const std::string name : {"ascii-copy.txt", "ascii.txt", "hello.txt", "multiblock.txt"}) {
    EXPECT_NE(listing.body.find("href=\"./" + name + "\">" + name + "<"), std::string::npos)
        << name;
  }
  EXPECT_NE(listing.body.find(resolve(root, {"hello.txt"}).toString()), std::string::npos);
  EXPECT_EQ(listing.body.find("../"), std::string::npos);  // the root: no parent link
  EXPECT_EQ(get(dir + "/", {"If-None-Match: " + listing.header("etag")}).status, 304u);

  // index.html wins over the listing.
  const ipfs::Cid site = import("gateway-cache/fixtures.car");
  const std::string deep = "/ipfs/" + site.toString() + "/root2/root3/root4";
  EXPECT_EQ(get(deep).status, 301u);
  auto index = get(deep + "/");
  ASSERT_EQ(index.status, 200u) << index.body;
  EXPECT_EQ(index.body, "hello\n");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("etag"),
            "\"" + resolve(site, {"root2", "root3", "root4", "index.html"}).toString() + "\"");
  auto sub = get("/ipfs/" + site.toString() + "/root2/");
  EXPECT_NE(sub.body.find("href=\"../\""), std::string::npos);
  EXPECT_NE(sub.body.find(">root3<"), std::string::npos);
  EXPECT_EQ(sub.header("x-ipfs-roots"),
            site.toString() + "," + resolve(site, {"root2"}).toString());
}

TEST_F(IpfsRouteTest, PercentEncodedNamesAndUtf8Paths) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-percent-encoded-filename.car");
  const std::string dir = "/ipfs/" + root.toString();
  for (const std::string name : {"Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt",
                                 "Portugal%252C%2BEspa%C3%B1a%3DPeninsula%20Ib%C3%A9rica.txt"}) {
    auto reply = get(dir + "/" + name);
    EXPECT_EQ(reply.status, 200u) << name << ": " << reply.body;
    EXPECT_EQ(reply.body, "hello from a percent encoded filename\n");
  }
  // The listing links to the name percent-encoded once.
  auto listing = get(dir + "/");
  EXPECT_NE(
      listing.body.find("href=\"./Portugal%252C%2BEspa%C3%B1a%3DPeninsula%20Ib%C3%A9rica.txt\""),
      std::string::npos)
      << listing.body;

  const ipfs::Cid utf8 = import("dir_listing/fixtures.car");
  auto file = get("/ipfs/" + utf8.toString() + "/%C4%85/%C4%99/file-%C5%BA%C5%82.txt");
  EXPECT_EQ(file.status, 200u);
  EXPECT_EQ(file.body, "I am a txt file on path with utf8\n");
}

TEST_F(IpfsRouteTest, SymlinksAndOtherCodecs) {
  const ipfs::Cid root = import("path_gateway_unixfs/symlink.car");
  auto listing = get("/ipfs/" + root.toString() + "/");
  EXPECT_NE(listing.body.find(">foo<"), std::string::npos) << listing.body;
  EXPECT_NE(listing.body.find(">bar<"), std::string::npos);
  auto link = get("/ipfs/" + root.toString() + "/bar");
  EXPECT_EQ(link.status, 200u);
  EXPECT_EQ(link.body, "foo");
  EXPECT_EQ(link.header("content-type"), "text/plain; charset=utf-8");

  // dag-cbor: not deserialized (501), but its block and CAR are served.
  const ipfs::Cid cbor = import("path_gateway_dag/dag-cbor-traversal.car");
  ASSERT_EQ(cbor.codec(), ipfs::kDagCbor);
  auto plain = get("/ipfs/" + cbor.toString());
  EXPECT_EQ(plain.status, 501u);
  EXPECT_NE(plain.body.find("dag-cbor"), std::string::npos) << plain.body;
  EXPECT_EQ(get("/ipfs/" + cbor.toString() + "?format=raw").status, 200u);
  auto car = get("/ipfs/" + cbor.toString() + "?format=car&dag-scope=block");
  EXPECT_EQ(car.status, 200u);
  EXPECT_EQ(names(parseCar(car.body).blocks), std::vector<std::string>{cbor.toString()});
}

TEST_F(IpfsRouteTest, HamtShardedDirectory) {
  const ipfs::Cid root =
      import("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
  const std::string dir = "/ipfs/" + root.toString();
  auto listing = get(dir + "/");
  ASSERT_EQ(listing.status, 200u) << listing.body;
  EXPECT_NE(listing.body.find(">1.txt<"), std::string::npos);
  EXPECT_NE(listing.body.find(">685.txt<"), std::string::npos);
  EXPECT_EQ(listing.body.find(">00"), std::string::npos);  // no bucket labels in names

  auto file = get(dir + "/685.txt");
  EXPECT_EQ(file.status, 200u);
  EXPECT_FALSE(file.body.empty());
  auto car = get(dir + "/685.txt?format=car&dag-scope=block");
  ASSERT_EQ(car.status, 200u);
  const auto blocks = names(parseCar(car.body).blocks);
  ASSERT_GE(blocks.size(), 2u);
  EXPECT_EQ(blocks.front(), root.toString());
  EXPECT_EQ(blocks.back(), resolve(root, {"685.txt"}).toString());
}

TEST_F(IpfsRouteTest, DelegatedRoutingNamesThisGateway) {
  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const std::string target = "/routing/v1/providers/" + root.toString();
  auto reply = get(target);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/json");
  EXPECT_EQ(reply.header("access-control-allow-origin"), "*");
  auto json = nlohmann::json::parse(reply.body, nullptr, false);
  ASSERT_TRUE(json.is_object()) << reply.body;
  ASSERT_EQ(json["Providers"].size(), 1u);
  const auto& provider = json["Providers"][0];
  EXPECT_EQ(provider["Schema"], "peer");
  EXPECT_EQ(provider["ID"], libp2pPeerId(node_key_));
  EXPECT_TRUE(provider["ID"].get<std::string>().starts_with("12D3KooW"));
  EXPECT_EQ(provider["Addrs"],
            nlohmann::json::array({"/ip4/127.0.0.1/tcp/" + std::to_string(port()) + "/http"}));
  EXPECT_EQ(provider["Protocols"], nlohmann::json::array({"transport-ipfs-gateway-http"}));

  auto ndjson = get(target, {"Accept: application/x-ndjson, application/json;q=0.8"});
  ASSERT_EQ(ndjson.status, 200u);
  EXPECT_EQ(ndjson.header("content-type"), "application/x-ndjson");
  ASSERT_TRUE(ndjson.body.ends_with("}\n")) << ndjson.body;
  EXPECT_EQ(nlohmann::json::parse(ndjson.body), provider);

  // A block inside the DAG (not only roots) is provided too; a CIDv0 is accepted.
  EXPECT_EQ(get("/routing/v1/providers/" + resolve(root, {"hello.txt"}).toString()).status, 200u);
  EXPECT_EQ(get("/routing/v1/providers/" + root.toString() + "?filter-protocols=transport-bitswap")
                .status,
            404u);
  EXPECT_EQ(get(target + "?filter-protocols=unknown,transport-ipfs-gateway-http&filter-addrs=http")
                .status,
            200u);
  EXPECT_EQ(get(target + "?filter-addrs=!http").status, 404u);
  EXPECT_EQ(get(target + "?filter-addrs=webtransport").status, 404u);

  EXPECT_EQ(get("/routing/v1/providers/notacid").status, 400u);
  EXPECT_EQ(get("/routing/v1/providers/").status, 400u);
  EXPECT_EQ(get("/routing/v1/peers/" + libp2pPeerId(node_key_)).status, 501u);
  EXPECT_EQ(
      get("/routing/v1/ipns/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe").status,
      501u);
  EXPECT_EQ(get("/routing/v1/elsewhere").status, 400u);
}

// ---- with curl, a real HTTP client ----

TEST_F(IpfsRouteTest, CurlSeesTruncatedCarAndWholeFiles) {
  if (!testing::haveTool("curl")) GTEST_SKIP() << "curl is not installed";
  const ipfs::Cid broken = import("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
  const std::string url = server_->url() + "/ipfs/" + broken.toString();
  int status = 0;
  testing::run("curl -sS --max-time 30 -o /dev/null '" + url + "?format=car' 2>/dev/null", &status);
  EXPECT_EQ(status, 18) << "curl should report a partial transfer (18)";

  const ipfs::Cid root = import("path_gateway_unixfs/dir-with-files.car");
  const std::string dir = server_->url() + "/ipfs/" + root.toString();
  EXPECT_EQ(testing::run("curl -sS --max-time 30 '" + dir + "/hello.txt'", &status),
            "hello world\n");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(testing::run("curl -sS --max-time 30 -r 0-4 '" + dir + "/hello.txt'", &status),
            "hello");
  // Follows the directory redirect to the listing.
  EXPECT_NE(testing::run("curl -sSL --max-time 30 '" + dir + "'", &status).find("multiblock.txt"),
            std::string::npos);
  EXPECT_EQ(testing::run("curl -sS --max-time 30 -o /dev/null -w '%{http_code}' '" +
                             server_->url() + "/ipfs/bafkqaaa?format=car'",
                         &status),
            "200");
}

}  // namespace
}  // namespace thunder::gateway
