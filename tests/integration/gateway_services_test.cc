// Services over plain HTTP, end to end: a real node runs the SDK-built hello-http and echo
// services from its [[services]] config, and `curl` reaches them through the gateway at
// /services/<id>/… — GET and POST answered by hello-http, a request body that the echo service
// sends back as its whole HTTP answer, an unknown id, and a service killed in the middle of its
// answer, which curl must report as a cut transfer instead of hanging.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.h"
#include "net/http_client.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kEcho = 10;
constexpr int kHello = 11;

struct Shell {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command to completion.
Shell shell(const std::string& command) {
  Shell result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class GatewayServices : public ::testing::Test {
 protected:
  void SetUp() override {
    if (shell("command -v curl >/dev/null 2>&1").exit_code != 0) GTEST_SKIP() << "no curl";
    const auto config = dir_.path() / "node.toml";
    std::ofstream(config) << "[[services]]\nid = " << kEcho << "\nname = \"echo\"\nexecutable = \""
                          << THUNDER_SERVICE_ECHO << "\"\n\n[[services]]\nid = " << kHello
                          << "\nname = \"hello-http\"\nexecutable = \""
                          << THUNDER_SERVICE_HELLO_HTTP << "\"\n";
    node_ = std::make_unique<Process>(std::vector<std::string>{
        "--config", config.string(), "--data-dir", (dir_.path() / "node").string(), "run",
        "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--gateway-listen",
        "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
    gateway_ = ready_["gateway"].get<std::string>();
    for (const int id : {kEcho, kHello}) {
      const json s =
          waitForService(id, [](const json& s) { return s.value("state", "") == "running"; });
      ASSERT_EQ(s.value("state", ""), "running") << s.dump(2);
    }
  }
  void TearDown() override {
    if (!node_) return;
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(20s), 0) << node_->stderrText();
  }

  json service(int id) {
    auto response = net::httpGet(ready_["admin"].get<std::string>(), "/status");
    if (!response) return json::object();
    const json status = json::parse(response->body, nullptr, false);
    if (status.is_object() && status.contains("services") && status["services"].is_array()) {
      for (const auto& s : status["services"]) {
        if (s.value("id", 0) == id) return s;
      }
    }
    return json::object();
  }

  // Polls /status until service `id` satisfies `done` (30 s at most).
  json waitForService(int id, const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    json s = service(id);
    while (!done(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);  // polling a condition, not timing
      s = service(id);
    }
    return s;
  }

  Shell curl(const std::string& args) { return shell("curl -sS --max-time 60 " + args + " 2>&1"); }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
  std::string gateway_;
};

TEST_F(GatewayServices, HelloHttpAnswersGetHeadAndPost) {
  const std::string base = gateway_ + "/services/" + std::to_string(kHello);
  const Shell get = curl("--fail '" + base + "/greet/me?lang=en'");
  ASSERT_EQ(get.exit_code, 0) << get.out;
  EXPECT_NE(get.out.find("<h1>Hello from Thunder</h1>"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("GET /greet/me?lang=en"), std::string::npos) << get.out;

  const Shell head = curl("--fail -I '" + base + "/greet/me'");
  ASSERT_EQ(head.exit_code, 0) << head.out;
  EXPECT_NE(head.out.find("HTTP/1.1 200"), std::string::npos) << head.out;
  EXPECT_NE(head.out.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << head.out;
  EXPECT_NE(head.out.find("Content-Length: "), std::string::npos) << head.out;

  const Shell post = curl("--fail -X POST --data-binary 'some form data' '" + base + "/submit'");
  ASSERT_EQ(post.exit_code, 0) << post.out;
  EXPECT_NE(post.out.find("POST /submit"), std::string::npos) << post.out;
}

TEST_F(GatewayServices, ARequestBodyReachesTheServiceAndItsAnswerComesBack) {
  // The echo service sends back the bytes it receives: a body that is an HTTP response is its
  // answer (ipc.md §4.2), so the body crossed the node both ways.
  const auto body = dir_.path() / "answer.http";
  std::ofstream(body, std::ios::binary)
      << "HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\nX-Echoed: yes\r\n"
         "Content-Length: 12\r\n\r\nhello, node\n";
  const Shell post = curl("-i --data-binary '@" + body.string() + "' '" + gateway_ + "/services/" +
                          std::to_string(kEcho) + "/'");
  ASSERT_EQ(post.exit_code, 0) << post.out;
  EXPECT_TRUE(post.out.starts_with("HTTP/1.1 202")) << post.out;
  EXPECT_NE(post.out.find("X-Echoed: yes"), std::string::npos) << post.out;
  EXPECT_TRUE(post.out.ends_with("\r\n\r\nhello, node\n")) << post.out;
}

TEST_F(GatewayServices, AnUnknownServiceIs404) {
  const Shell reply = curl("-w '%{http_code}' '" + gateway_ + "/services/7/x'");
  EXPECT_EQ(reply.out, "no service 7 is running on this node\n404");
}

TEST_F(GatewayServices, AServiceKilledMidAnswerCutsTheTransfer) {
  // The echo service answers with a head that announces 1 MB and only 7 bytes of it, then waits
  // for more input that never comes; killing it must end curl with an error, not a hang.
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npartial";
  const auto body = dir_.path() / "partial.http";
  std::ofstream(body, std::ios::binary) << answer;
  const uint64_t out_before = service(kEcho).value("bytes_out", uint64_t{0});
  Shell cut;
  std::thread client([&] {
    cut = curl("-o /dev/null --data-binary '@" + body.string() + "' '" + gateway_ + "/services/" +
               std::to_string(kEcho) + "/'");
  });
  const json s = waitForService(kEcho, [&](const json& s) {
    return s.value("bytes_out", uint64_t{0}) >= out_before + answer.size();
  });
  ASSERT_TRUE(s.contains("pid")) << s.dump(2);
  ASSERT_EQ(::kill(s["pid"].get<int>(), SIGKILL), 0);
  client.join();
  EXPECT_EQ(cut.exit_code, 18) << cut.out;  // CURLE_PARTIAL_FILE: transfer closed early
  EXPECT_NE(cut.out.find("transfer closed"), std::string::npos) << cut.out;
}

}  // namespace
}  // namespace thunder::testing
