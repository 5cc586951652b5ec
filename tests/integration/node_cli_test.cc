// The node and the CLI as a user meets them: real `thunder` processes in temp data dirs, on
// ephemeral loopback ports, talked to over HTTP and through their output and exit codes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "net/http_client.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A running node started with `thunder --data-dir DIR run --admin-listen 127.0.0.1:0 --json`.
class RunningNode {
 public:
  explicit RunningNode(const std::filesystem::path& data_dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data-dir",     data_dir.string(),   "run",
                                     "--admin-listen", "127.0.0.1:0",       "--gateway-listen",
                                     "127.0.0.1:0",    "--sessions-listen", "127.0.0.1:0",
                                     "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(args);
    auto line = process_->readLine();
    if (!line) {
      process_->wait(10s);
      ADD_FAILURE() << "node did not report ready; stderr: " << process_->stderrText();
      return;
    }
    ready_ = json::parse(*line);
  }

  Process& process() { return *process_; }
  const json& ready() const { return ready_; }
  std::string admin() const { return ready_.value("admin", ""); }

 private:
  std::unique_ptr<Process> process_;
  json ready_;
};

bool oneLine(const std::string& text) {
  return !text.empty() && text.find('\n') == text.size() - 1;
}

TEST(NodeCli, RunServesHealthMetricsStatusAndStopsOnSigterm) {
  TempDir dir;
  RunningNode node(dir.path() / "data");
  ASSERT_EQ(node.ready()["event"], "ready");
  const std::string admin = node.admin();

  auto health = net::httpGet(admin, "/health");
  ASSERT_TRUE(health) << health.error().message;
  EXPECT_EQ(health->status, 200u);

  auto metrics = net::httpGet(admin, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->content_type.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics->body.find("# TYPE thunder_uptime_seconds gauge"), std::string::npos);
  EXPECT_NE(metrics->body.find("thunder_component_up{component=\"admin\"} 1"), std::string::npos);

  auto status = net::httpGet(admin, "/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(json::parse(status->body)["node_key"], node.ready()["node_key"]);

  // `thunder status` finds the node through its data dir.
  auto cli = runThunder({"--data-dir", (dir.path() / "data").string(), "status", "--json"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out)["admin"], json());  // the /status document has no "admin" key
  EXPECT_EQ(json::parse(cli.out)["endpoints"]["admin"], admin);
  auto human = runThunder({"--data-dir", (dir.path() / "data").string(), "status"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("admin: running"), std::string::npos) << human.out;

  const auto start = std::chrono::steady_clock::now();
  node.process().signal(SIGTERM);
  auto code = node.process().wait(5s);
  ASSERT_TRUE(code.has_value()) << "node did not exit within 5 s of SIGTERM";
  EXPECT_EQ(*code, 0) << node.process().stderrText();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(::kill(node.process().pid(), 0), 0) << "process still exists";
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "node.json"));
  EXPECT_FALSE(net::httpGet(admin, "/health"));
}

TEST(NodeCli, SigintStopsCleanlyToo) {
  TempDir dir;
  RunningNode node(dir.path() / "data");
  node.process().signal(SIGINT);
  EXPECT_EQ(node.process().wait(5s), 0);
}

TEST(NodeCli, SecondRunOnTheSameDataDirIsRefused) {
  TempDir dir;
  RunningNode first(dir.path() / "data");
  auto second = runThunder({"--data-dir", (dir.path() / "data").string(), "run", "--gateway-listen",
                            "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sessions-listen",
                            "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_TRUE(oneLine(second.err)) << second.err;
  EXPECT_NE(second.err.find("in use by another thunder process (pid " +
                            std::to_string(first.process().pid()) + ")"),
            std::string::npos)
      << second.err;
  // The first node is unaffected.
  EXPECT_EQ(net::httpGet(first.admin(), "/health")->status, 200u);
}

TEST(NodeCli, PortInUseIsOneLineAndExit3) {
  TempDir dir;
  RunningNode first(dir.path() / "a");
  auto second = runThunder({"--data-dir", (dir.path() / "b").string(), "run", "--gateway-listen",
                            "127.0.0.1:0", "--admin-listen", first.admin(), "--sessions-listen",
                            "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
  EXPECT_EQ(second.err.find("terminate"), std::string::npos);
}

TEST(NodeCli, MalformedConfigNamesTheKey) {
  TempDir dir;
  const auto config = dir.path() / "node.toml";
  std::ofstream(config) << "[admin]\nlisten = \"127.0.0.1:0\"\nmax_conections = 5\n";
  auto result = runThunder(
      {"--config", config.string(), "--data-dir", (dir.path() / "data").string(), "run"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(oneLine(result.err)) << result.err;
  EXPECT_NE(result.err.find("node.toml:3: unknown key 'admin.max_conections'"), std::string::npos)
      << result.err;

  std::ofstream(config) << "[admin\n";
  result = runThunder({"--config", config.string(), "config", "print"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(oneLine(result.err)) << result.err;
}

TEST(NodeCli, CorruptKeyFileIsOneLineAndExit4) {
  TempDir dir;
  const auto data = dir.path() / "data";
  ASSERT_EQ(runThunder({"--data-dir", data.string(), "init"}).exit_code, 0);
  const auto key = data / "keys" / "node.key";
  {
    std::fstream f(key, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('Z');
  }
  auto result = runThunder({"--data-dir", data.string(), "run", "--gateway-listen", "127.0.0.1:0",
                            "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_TRUE(oneLine(result.err)) << result.err;
  EXPECT_NE(result.err.find(key.string()), std::string::npos) << result.err;
}

TEST(NodeCli, UnusableDataDirIsOneLine) {
  TempDir dir;
  std::ofstream(dir.path() / "plain-file") << "x";
  auto result = runThunder({"--data-dir", (dir.path() / "plain-file" / "data").string(), "run"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(oneLine(result.err)) << result.err;
  EXPECT_NE(result.err.find("cannot create data dir"), std::string::npos) << result.err;
}

TEST(NodeCli, InitWritesConfigAndKeyAndNeverOverwrites) {
  TempDir dir;
  const auto data = dir.path() / "data";
  auto first = runThunder({"--data-dir", data.string(), "init", "--dev", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto created = json::parse(first.out);
  EXPECT_TRUE(created["config_written"].get<bool>());
  EXPECT_TRUE(created["key_created"].get<bool>());
  struct stat st {};
  ASSERT_EQ(::stat((data / "keys" / "node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto again = runThunder({"--data-dir", data.string(), "init", "--json"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_FALSE(json::parse(again.out)["config_written"].get<bool>());
  EXPECT_EQ(json::parse(again.out)["node_key"], created["node_key"]);

  auto show = runThunder({"--data-dir", data.string(), "keys", "show"});
  EXPECT_EQ(show.out, created["node_key"].get<std::string>() + "\n");
  auto generate = runThunder({"--data-dir", data.string(), "keys", "generate"});
  EXPECT_NE(generate.exit_code, 0);
  EXPECT_NE(generate.err.find("already exists"), std::string::npos) << generate.err;

  // The --dev config is used by `run` and by `config print`.
  auto printed = runThunder({"--data-dir", data.string(), "config", "print"});
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("listen = '127.0.0.1:0'"), std::string::npos) << printed.out;
  RunningNode node(data);
  EXPECT_EQ(node.ready()["node_key"], created["node_key"]);
}

TEST(NodeCli, StatusWithoutANodeExits3) {
  TempDir dir;
  auto result = runThunder({"--data-dir", dir.path().string(), "status"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("thunder run"), std::string::npos) << result.err;
}

TEST(NodeCli, EveryCommandHasHelpWithExamples) {
  for (std::vector<std::string> cmd :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"init", "--help"},
                                             {"run", "--help"},
                                             {"keys", "--help"},
                                             {"status", "--help"},
                                             {"config", "print", "--help"}}) {
    auto result = runThunder(cmd);
    EXPECT_EQ(result.exit_code, 0) << cmd[0];
    EXPECT_NE(result.out.find("Example"), std::string::npos) << cmd[0] << ": " << result.out;
  }
  auto version = runThunder({"version", "--json"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(json::parse(version.out).contains("version"));
  auto bad = runThunder({"frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace thunder::testing
