// The CDN service end to end: a real node runs thunder-service-cdn as its content service
// ([[services]] id 0, sandboxed); `thunder fetch` reaches it exactly as it reaches the built-in
// service — by blob id after `thunder put`, and by CID after `thunder import FILE.car` — gets the
// exact bytes, verified, and the node stores the client's DACKs for service 0. The node's
// /status shows that the CDN process served them.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_unixfs.h"
#include "harness.h"
#include "net/http_client.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace ipfs = content::ipfs;

std::string randomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string readFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A CARv1 holding `content` as a UnixFS file of two raw leaves under a dag-pb root (the shape
// `ipfs add --raw-leaves` makes); returns the root CID.
ipfs::Cid writeUnixfsCar(const std::filesystem::path& car, const std::string& content) {
  const size_t half = content.size() / 2;
  const std::string first = content.substr(0, half);
  const std::string second = content.substr(half);
  const ipfs::Cid leaf1 = ipfs::Cid::sha256Of(ipfs::kRaw, bytesOf(first));
  const ipfs::Cid leaf2 = ipfs::Cid::sha256Of(ipfs::kRaw, bytesOf(second));
  ipfs::UnixfsData file;
  file.type = ipfs::UnixfsType::kFile;
  file.filesize = content.size();
  file.blocksizes = {first.size(), second.size()};
  ipfs::PbNode root;
  root.links = {{leaf1, std::string(), first.size()}, {leaf2, std::string(), second.size()}};
  root.data = ipfs::encodeUnixfs(file);
  const std::vector<uint8_t> root_block = ipfs::encodeDagPb(root);
  const ipfs::Cid root_cid = ipfs::Cid::sha256Of(ipfs::kDagPb, root_block);

  std::ofstream out(car, std::ios::binary);
  ipfs::CarWriter writer([&out](std::span<const uint8_t> bytes) -> Result<void> {
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return {};
  });
  const std::vector<ipfs::Cid> roots = {root_cid};
  EXPECT_TRUE(writer.writeHeader(roots));
  EXPECT_TRUE(writer.writeBlock(root_cid, root_block));
  EXPECT_TRUE(writer.writeBlock(leaf1, bytesOf(first)));
  EXPECT_TRUE(writer.writeBlock(leaf2, bytesOf(second)));
  return root_cid;
}

class CdnCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto config = dir_.path() / "node.toml";
    std::ofstream(config) << "[[services]]\nid = 0\nname = \"cdn\"\nexecutable = \""
                          << THUNDER_SERVICE_CDN << "\"\n";
    node_ = std::make_unique<Process>(
        std::vector<std::string>{"--config", config.string(), "--data-dir", nodeDir().string(),
                                 "run", "--admin-listen", "127.0.0.1:0", "--sessions-listen",
                                 "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
    const json cdn = waitForCdn([](const json& s) { return s.value("state", "") == "running"; });
    ASSERT_EQ(cdn.value("state", ""), "running") << cdn.dump(2);
    ASSERT_EQ(cdn.value("name", ""), "cdn");
  }
  void TearDown() override {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(10s), 0);
  }

  std::filesystem::path nodeDir() const { return dir_.path() / "node"; }

  // Service 0 in the node's /status (an empty object if it is not listed).
  json cdn() {
    auto response = net::httpGet(ready_["admin"].get<std::string>(), "/status");
    EXPECT_TRUE(response.has_value());
    if (!response) return json::object();
    const json status = json::parse(response->body, nullptr, false);
    if (status.is_object() && status.contains("services") && status["services"].is_array()) {
      for (const auto& s : status["services"]) {
        if (s.value("id", -1) == 0) return s;
      }
    }
    return json::object();
  }
  json waitForCdn(const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    json s = cdn();
    while (!done(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);  // polling a condition, not timing
      s = cdn();
    }
    return s;
  }

  RunResult fetch(const std::string& id_or_cid, const std::filesystem::path& out) {
    return runThunder(
        {"--data-dir", (dir_.path() / "client").string(), "fetch", id_or_cid, "--from",
         ready_["sessions"], "--node-key", ready_["node_key"], "-o", out.string()},
        60s);
  }

  // The DACKs the node stores (not yet settled: the ledger settles them later, so this reads
  // them right after the fetch).
  json dacks() {
    auto listed = runThunder({"--data-dir", nodeDir().string(), "dacks", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    return json::parse(listed.out, nullptr, false);
  }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

TEST_F(CdnCli, FetchByBlobIdThroughTheCdnServiceGivesTheExactBytesAndStoresDacks) {
  const std::string bytes = randomBytes(3'000'000, 11);
  const auto file = dir_.path() / "blob";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = put.out.substr(0, 64);

  auto fetched = fetch(id, dir_.path() / "copy");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(readFile(dir_.path() / "copy"), bytes);

  // The CDN process served it (the built-in service does not show up in /status) ...
  const json served = waitForCdn([](const json& s) {
    return s.contains("connections") && s["connections"].value("total", 0) >= 1 &&
           s["connections"].value("active", 1) == 0;
  });
  EXPECT_GE(served["connections"].value("total", 0), 1) << served.dump(2);
  EXPECT_GE(served.value("bytes_out", uint64_t{0}), bytes.size()) << served.dump(2);
  // ... and the client's DACKs for it are stored: the final one covers the whole stream.
  const json listed = dacks();
  ASSERT_TRUE(listed.contains("dacks")) << listed.dump(2);
  bool found = false;
  for (const auto& d : listed["dacks"]) {
    if (d.value("service", -1) != 0 || d["commitment"].value("hash", "") != id) continue;
    found = true;
    EXPECT_EQ(d.value("commodity", ""), "bandwidth_bytes");
    EXPECT_GT(d.value("amount", uint64_t{0}), bytes.size());  // data + size prefix + parents
  }
  EXPECT_TRUE(found) << listed.dump(2);
}

TEST_F(CdnCli, FetchByCidAfterImportingACar) {
  auto help = runThunder({"import", "--help"});
  if (help.exit_code != 0) {
    GTEST_SKIP() << "`thunder import` is not available in this build: " << help.err;
  }
  const std::string bytes = randomBytes(1'500'000, 12);
  const auto car = dir_.path() / "file.car";
  const ipfs::Cid cid = writeUnixfsCar(car, bytes);
  auto imported = runThunder({"--data-dir", nodeDir().string(), "import", car.string(), "--json"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  const std::string text = cid.toString();
  ASSERT_TRUE(text.starts_with("bafybei")) << text;
  auto fetched = fetch(text, dir_.path() / "copy");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(readFile(dir_.path() / "copy"), bytes);
  // CIDv0 text of the same root names the same content.
  auto v0 = fetch(ipfs::Cid(0, ipfs::kDagPb, cid.hash()).toString(), dir_.path() / "copy0");
  ASSERT_EQ(v0.exit_code, 0) << v0.err;
  EXPECT_EQ(readFile(dir_.path() / "copy0"), bytes);

  const json listed = dacks();
  bool found = false;
  for (const auto& d : listed["dacks"]) {
    if (d.value("service", -1) == 0 && d.value("amount", uint64_t{0}) > bytes.size()) found = true;
  }
  EXPECT_TRUE(found) << listed.dump(2);

  // A CID this node does not have: exit 5, naming it.
  const ipfs::Cid unknown = ipfs::Cid::sha256Of(ipfs::kRaw, bytesOf(std::string("absent")));
  auto missing = fetch(unknown.toString(), dir_.path() / "none");
  EXPECT_EQ(missing.exit_code, 5) << missing.err;
  EXPECT_NE(missing.err.find("not_found: cid " + unknown.toString()), std::string::npos)
      << missing.err;
}

TEST_F(CdnCli, AnUnknownBlobIsNotFound) {
  const std::string unknown(64, 'e');
  auto fetched = fetch(unknown, dir_.path() / "none");
  EXPECT_EQ(fetched.exit_code, 5) << fetched.err;
  EXPECT_NE(fetched.err.find("not_found: blob " + unknown + " is not stored on this node"),
            std::string::npos)
      << fetched.err;
  auto bad = fetch("not-a-cid", dir_.path() / "none");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("neither a blob id"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace thunder::testing
