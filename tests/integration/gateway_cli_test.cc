// The README tour as a test: `thunder put` a file into a running node, then `curl` it from the
// node's HTTP gateway — whole, by range, and revalidated with its ETag. Also a client session
// over wss:// (WebSocket over TLS with an operator certificate from a private CA).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "harness.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Runs a shell command; its stdout, or nullopt when it failed.
std::optional<std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

class GatewayCli : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--data-dir",     nodeDir().string(), "run",
                                  "--admin-listen", "127.0.0.1:0",      "--sessions-listen",
                                  "127.0.0.1:0",    "--gateway-listen", "127.0.0.1:0",
                                  "--json"};
    args.insert(args.begin(), extra.begin(), extra.end());
    node_ = std::make_unique<Process>(args);
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
  }
  void TearDown() override {
    if (!node_) return;
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(5s), 0);
  }
  std::filesystem::path nodeDir() const { return dir_.path() / "node"; }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

TEST_F(GatewayCli, PutThenCurl) {
  start();
  const std::string gateway = ready_["gateway"];
  ASSERT_TRUE(gateway.starts_with("http://127.0.0.1:")) << gateway;
  std::string bytes(300'000, '\0');
  std::mt19937 rng(3);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir_.path() / "photo.bin";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = put.out.substr(0, 64);
  const std::string url = gateway + "/b3/" + id;

  auto whole = shell("curl -sS --fail " + url);
  ASSERT_TRUE(whole.has_value());
  EXPECT_TRUE(*whole == bytes);
  auto range = shell("curl -sS --fail -r 1000-1099 " + url);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, bytes.substr(1000, 100));
  auto head = shell("curl -sS --fail -I " + url);
  ASSERT_TRUE(head.has_value());
  EXPECT_NE(head->find("ETag: \"" + id + "\""), std::string::npos) << *head;
  EXPECT_NE(head->find("Content-Length: 300000"), std::string::npos) << *head;
  EXPECT_NE(head->find("immutable"), std::string::npos) << *head;
  auto revalidated =
      shell("curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: \"" + id + "\"' " + url);
  ASSERT_TRUE(revalidated.has_value());
  EXPECT_EQ(*revalidated, "304");
  auto missing =
      shell("curl -sS -o /dev/null -w '%{http_code}' " + gateway + "/b3/" + std::string(64, 'a'));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(*missing, "404");
}

TEST_F(GatewayCli, EchoOverWssWithAPrivateCa) {
  const std::string d = dir_.path().string();
  std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:localhost\n";
  ASSERT_TRUE(
      shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
            "/ca.key -out " + d + "/ca.pem -days 2 -subj '/CN=Test CA' 2>&1"));
  ASSERT_TRUE(shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
                    "/node.key -out " + d + "/node.csr -subj /CN=localhost 2>&1"));
  ASSERT_TRUE(shell("openssl x509 -req -in " + d + "/node.csr -CA " + d + "/ca.pem -CAkey " + d +
                    "/ca.key -CAcreateserial -out " + d + "/node.pem -days 2 -extfile " + d +
                    "/ext.cnf 2>&1"));
  const auto config = dir_.path() / "node.toml";
  std::ofstream(config) << "[sessions]\nws_listen = \"127.0.0.1:0\"\nws_certificate = \"" << d
                        << "/node.pem\"\nws_key = \"" << d << "/node.key\"\n";
  start({"--config", config.string()});
  const std::string ws = ready_["ws"];
  ASSERT_TRUE(ws.starts_with("wss://127.0.0.1:")) << ws;
  const std::string port = ws.substr(16, ws.find('/', 16) - 16);
  const std::string url = "wss://localhost:" + port + "/thunder/v1";
  std::vector<std::string> connect{"--data-dir", (dir_.path() / "client").string(),
                                   "connect",    url,
                                   "--node-key", ready_["node_key"],
                                   "--service",  "1"};
  // Without the private CA the client refuses the certificate (exit 4, named).
  auto untrusted = runThunder(connect, 30s, std::string("hi\n"));
  EXPECT_EQ(untrusted.exit_code, 4) << untrusted.err;
  EXPECT_NE(untrusted.err.find("does not verify"), std::string::npos) << untrusted.err;
  ::setenv("SSL_CERT_FILE", (d + "/ca.pem").c_str(), 1);
  auto echo = runThunder(connect, 30s, std::string("hello over wss\n"));
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello over wss\n");
}

}  // namespace
}  // namespace thunder::testing
