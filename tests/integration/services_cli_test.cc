// Sandboxed services end to end: a real node runs the SDK-built echo service from its
// [[services]] config; `thunder connect` reaches it by its service id through the handshake, the
// node reports it in /status, and a service killed from outside is restarted while the node
// keeps serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.h"
#include "net/http_client.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ServicesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto config = dir_.path() / "node.toml";
    std::ofstream(config) << "[[services]]\nid = 10\nname = \"echo\"\nexecutable = \""
                          << THUNDER_SERVICE_ECHO << "\"\n";
    node_ = std::make_unique<Process>(std::vector<std::string>{
        "--config", config.string(), "--data-dir", (dir_.path() / "node").string(), "run",
        "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--gateway-listen",
        "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
  }
  void TearDown() override {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(10s), 0);
  }

  json service() {
    auto response = net::httpGet(ready_["admin"].get<std::string>(), "/status");
    EXPECT_TRUE(response.has_value());
    if (!response) return json::object();
    const json status = json::parse(response->body, nullptr, false);
    if (status.is_object() && status.contains("services") && status["services"].is_array()) {
      for (const auto& s : status["services"]) {
        if (s.value("id", 0) == 10) return s;
      }
    }
    return json::object();
  }

  // Polls /status until the echo service satisfies `done` (30 s at most).
  json waitForService(const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    json s = service();
    while (!done(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);  // polling a condition, not timing
      s = service();
    }
    return s;
  }

  RunResult echo(const std::string& text) {
    return runThunder({"--data-dir", (dir_.path() / "client").string(), "connect",
                       ready_["sessions"], "--node-key", ready_["node_key"], "--service", "10"},
                      60s, text);
  }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

TEST_F(ServicesCli, AClientSessionReachesTheSandboxedService) {
  const json running =
      waitForService([](const json& s) { return s.value("state", "") == "running"; });
  ASSERT_EQ(running.value("state", ""), "running") << running.dump(2);
  auto result = echo("hello, sandboxed service\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "hello, sandboxed service\n");
}

TEST_F(ServicesCli, AKilledServiceIsRestartedAndServesAgain) {
  json s = waitForService([](const json& s) { return s.value("state", "") == "running"; });
  ASSERT_TRUE(s.contains("pid")) << s.dump(2);
  const int pid = s["pid"].get<int>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  s = waitForService([](const json& s) {
    return s.value("state", "") == "running" && s.value("restarts", 0) >= 1;
  });
  ASSERT_GE(s.value("restarts", 0), 1) << s.dump(2);
  auto result = echo("again\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "again\n");
}

}  // namespace
}  // namespace thunder::testing
