// Client sessions end to end: a real node, `thunder connect` to the built-in echo service and
// `thunder fetch` from the built-in content service over TLS and QUIC with a pinned node key,
// then the signed DACKs the node stored, as `thunder dacks` shows them.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "harness.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SessionsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // QUIC sessions on a free UDP port too (sessions.quic_listen; reported as "quic" when ready).
    std::filesystem::create_directories(nodeDir());
    std::ofstream(nodeDir() / "config.toml") << "[sessions]\nquic_listen = \"127.0.0.1:0\"\n";
    node_ = std::make_unique<Process>(std::vector<std::string>{
        "--data-dir", nodeDir().string(), "run", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
  }
  void TearDown() override {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(5s), 0);
  }

  std::filesystem::path nodeDir() const { return dir_.path() / "node"; }
  std::filesystem::path clientDir() const { return dir_.path() / "client"; }
  std::string sessions() const { return ready_["sessions"]; }
  std::string quic() const { return ready_["quic"]; }
  std::string nodeKey() const { return ready_["node_key"]; }

  RunResult client(std::vector<std::string> args, std::optional<std::string> input = {}) {
    args.insert(args.begin(), {"--data-dir", clientDir().string()});
    return runThunder(std::move(args), 60s, std::move(input));
  }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

TEST_F(SessionsCli, ConnectToEchoAndFetchVerifiedContentWithDacks) {
  auto echo = client({"connect", sessions(), "--node-key", nodeKey(), "--service", "1"},
                     std::string("hello over tls\n"));
  ASSERT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello over tls\n");

  // Store 3 MB on the node, then fetch all of it and a range through a session.
  std::string bytes(3'000'000, '\0');
  std::mt19937 rng(1);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir_.path() / "blob";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = put.out.substr(0, 64);

  auto whole = client({"fetch", id, "--from", sessions(), "--node-key", nodeKey()});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(whole.out == bytes);
  auto range = client(
      {"fetch", id, "--from", sessions(), "--node-key", nodeKey(), "--range", "1000000-1000099"});
  ASSERT_EQ(range.exit_code, 0) << range.err;
  EXPECT_EQ(range.out, bytes.substr(1000000, 100));

  // The node stored the client's signed DACKs; they verify.
  auto dacks = runThunder({"--data-dir", nodeDir().string(), "dacks", "--verify", "--json"});
  ASSERT_EQ(dacks.exit_code, 0) << dacks.err;
  const auto doc = json::parse(dacks.out);
  EXPECT_TRUE(doc["ok"].get<bool>());
  // The whole fetch was acknowledged to the last byte of its stream: the 8-byte size, 3,000,000
  // data bytes and 183 parent nodes of 64 bytes (184 groups of 16 KiB).
  bool content_dack = false;
  for (const auto& d : doc["dacks"]) {
    if (d["service"] == 0 && d["amount"].get<uint64_t>() == 8 + 3'000'000 + 64 * 183) {
      content_dack = true;
    }
  }
  EXPECT_TRUE(content_dack) << dacks.out;
}

TEST_F(SessionsCli, RefusalsHaveTheirExitCodes) {
  auto missing =
      client({"fetch", std::string(64, 'a'), "--from", sessions(), "--node-key", nodeKey()});
  EXPECT_EQ(missing.exit_code, 5) << missing.err;
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << missing.err;

  auto impostor =
      client({"connect", sessions(), "--node-key", std::string(64, 'b'), "--service", "1"}, "");
  EXPECT_EQ(impostor.exit_code, 4);
  EXPECT_NE(impostor.err.find("node key mismatch"), std::string::npos) << impostor.err;

  auto unknown = client({"connect", sessions(), "--node-key", nodeKey(), "--service", "77"}, "x");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown_service"), std::string::npos) << unknown.err;
}

TEST_F(SessionsCli, ConnectAndFetchOverQuic) {
  ASSERT_TRUE(quic().starts_with("quic://127.0.0.1:")) << ready_.dump();
  auto echo = client({"connect", quic(), "--node-key", nodeKey(), "--service", "1"},
                     std::string("hello over quic\n"));
  ASSERT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello over quic\n");

  // 2 MB through the content service: many flow-control windows, every byte verified.
  std::string bytes(2'000'000, '\0');
  std::mt19937 rng(2);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir_.path() / "blob";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = put.out.substr(0, 64);
  auto whole = client({"fetch", id, "--from", quic(), "--node-key", nodeKey()});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(whole.out == bytes) << whole.out.size() << " bytes";

  // The node key is pinned in the QUIC handshake, as over TLS.
  auto impostor =
      client({"connect", quic(), "--node-key", std::string(64, 'b'), "--service", "1"}, "");
  EXPECT_EQ(impostor.exit_code, 4);
  EXPECT_NE(impostor.err.find("node key mismatch"), std::string::npos) << impostor.err;

  // The node reports the QUIC endpoint like the others.
  auto status = runThunder({"--data-dir", nodeDir().string(), "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find(quic()), std::string::npos) << status.out;
}

}  // namespace
}  // namespace thunder::testing
