// The gateway over HTTPS in a real node: `thunder run` with gateway.tls_certificate and
// gateway.tls_key in its config (a private CA and a certificate made with the openssl tool), the
// ready line naming the https:// URL, and curl fetching a blob put with `thunder put`.
#include <gtest/gtest.h>
#include <signal.h>

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

class GatewayTlsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shell("command -v openssl && command -v curl")) GTEST_SKIP() << "needs openssl, curl";
    const std::string d = dir_.path().string();
    std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    ASSERT_TRUE(
        shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
              "/ca.key -out " + d + "/ca.pem -days 2 -subj '/CN=Test CA' 2>&1"));
    ASSERT_TRUE(shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                      d + "/node.key -out " + d + "/node.csr -subj /CN=localhost 2>&1"));
    ASSERT_TRUE(shell("openssl x509 -req -in " + d + "/node.csr -CA " + d + "/ca.pem -CAkey " + d +
                      "/ca.key -CAcreateserial -out " + d + "/node.pem -days 2 -extfile " + d +
                      "/ext.cnf 2>&1"));
  }
  void TearDown() override {
    if (!node_) return;
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(5s), 0);
  }

  std::vector<std::string> runArgs(const std::filesystem::path& config) const {
    return {"--config",    config.string(),    "--data-dir",  nodeDir().string(),
            "run",         "--admin-listen",   "127.0.0.1:0", "--sessions-listen",
            "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--json"};
  }
  std::filesystem::path nodeDir() const { return dir_.path() / "node"; }

  TempDir dir_;
  std::unique_ptr<Process> node_;
};

TEST_F(GatewayTlsCli, ServesHttpsWithTheConfiguredCertificate) {
  const std::string d = dir_.path().string();
  const auto config = dir_.path() / "node.toml";
  std::ofstream(config) << "[gateway]\ntls_certificate = \"" << d << "/node.pem\"\ntls_key = \""
                        << d << "/node.key\"\n";
  node_ = std::make_unique<Process>(runArgs(config));
  auto line = node_->readLine();
  ASSERT_TRUE(line.has_value()) << node_->stderrText();
  const json ready = json::parse(*line);
  const std::string gateway = ready["gateway"];
  ASSERT_TRUE(gateway.starts_with("https://127.0.0.1:")) << gateway;

  std::string bytes(500'000, '\0');
  std::mt19937 rng(7);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir_.path() / "photo.bin";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string url = gateway + "/b3/" + put.out.substr(0, 64);

  const std::string curl = "curl -sS --fail --max-time 30 --cacert " + d + "/ca.pem ";
  auto whole = shell(curl + url);
  ASSERT_TRUE(whole.has_value());
  EXPECT_TRUE(*whole == bytes);
  auto range = shell(curl + "-r 1000-1099 " + url);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, bytes.substr(1000, 100));
  // Without the private CA, curl refuses the certificate; plain HTTP gets a 400 naming https.
  EXPECT_FALSE(shell("curl -sS --fail --max-time 30 " + url + " 2>/dev/null"));
  auto plain = shell("curl -sS --max-time 30 http://" + gateway.substr(8) + "/health");
  ASSERT_TRUE(plain.has_value());
  EXPECT_NE(plain->find("https://"), std::string::npos) << *plain;
}

TEST_F(GatewayTlsCli, AMismatchedKeyStopsTheStartWithTheFileNamed) {
  const std::string d = dir_.path().string();
  const auto config = dir_.path() / "node.toml";
  std::ofstream(config) << "[gateway]\ntls_certificate = \"" << d << "/node.pem\"\ntls_key = \""
                        << d << "/ca.key\"\n";
  Process node(runArgs(config));
  EXPECT_FALSE(node.readLine().has_value());
  const auto code = node.wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  const std::string err = node.stderrText();
  EXPECT_NE(err.find("gateway.tls_key"), std::string::npos) << err;
  EXPECT_NE(err.find("ca.key"), std::string::npos) << err;

  std::ofstream(config) << "[gateway]\ntls_certificate = \"" << d << "/node.pem\"\n";
  auto half = runThunder(runArgs(config));
  EXPECT_NE(half.exit_code, 0);
  EXPECT_NE(half.err.find("set both"), std::string::npos) << half.err;
}

}  // namespace
}  // namespace thunder::testing
