#include "node/config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace thunder::node {
namespace {

TEST(Config, EmptyFileGivesDefaults) {
  auto options = parseConfig("", "test.toml");
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->admin.listen, NodeOptions{}.admin.listen);
  EXPECT_EQ(options->data_dir, NodeOptions{}.data_dir);
}

TEST(Config, RenderedDefaultsParseBackToTheSameOptions) {
  NodeOptions custom;
  custom.data_dir = "/srv/thunder \"x\"";
  custom.admin.listen = "[::1]:9000";
  custom.runtime.loop_threads = 3;
  custom.log_level = "warn,net=debug";
  custom.shutdown_grace = std::chrono::milliseconds(1234);
  custom.sessions.ws_listen = "127.0.0.1:4201";
  custom.sessions.quic_listen = "[::1]:4202";
  const std::string text = renderConfig(custom);
  auto parsed = parseConfig(text, "rendered.toml");
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << text;
  EXPECT_EQ(parsed->data_dir, custom.data_dir);
  EXPECT_EQ(parsed->admin.listen, custom.admin.listen);
  EXPECT_EQ(parsed->runtime.loop_threads, 3u);
  EXPECT_EQ(parsed->log_level, custom.log_level);
  EXPECT_EQ(parsed->shutdown_grace.count(), 1234);
  EXPECT_EQ(parsed->sessions.ws_listen, "127.0.0.1:4201");
  EXPECT_EQ(parsed->sessions.quic_listen, "[::1]:4202");
  EXPECT_EQ(NodeOptions{}.sessions.quic_listen, "");  // off by default
  EXPECT_EQ(renderConfig(*parsed), text);
}

struct BadConfig {
  const char* text;
  const char* expected;  // substring of the error message
};

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, NameTheKeyAndTheReason) {
  auto options = parseConfig(GetParam().text, "node.toml");
  ASSERT_FALSE(options) << GetParam().text;
  EXPECT_EQ(options.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(options.error().message.find(GetParam().expected), std::string::npos)
      << options.error().message;
  EXPECT_NE(options.error().message.find("node.toml"), std::string::npos)
      << options.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigErrors,
    ::testing::Values(
        BadConfig{"[admin]\nlisen = \"127.0.0.1:1\"\n", "unknown key 'admin.lisen'"},
        BadConfig{"[admn]\n", "unknown section 'admn'"},
        BadConfig{"admin = 3\n", "must be a table"},
        BadConfig{"[admin]\nlisten = 80\n", "'admin.listen' must be a string"},
        BadConfig{"[admin]\nlisten = \"nowhere\"\n", "admin.listen"},
        BadConfig{"[admin]\nlisten = \"127.0.0.1:99999\"\n", "invalid port"},
        BadConfig{"[runtime]\nloop_threads = -1\n", "must not be negative"},
        BadConfig{"[runtime]\nblocking_threads = 0\n", "runtime.blocking_threads"},
        BadConfig{"[runtime]\nloop_threads = \"two\"\n", "must be an integer"},
        BadConfig{"[sessions]\nws_listen = \"ws://x\"\n", "sessions.ws_listen"},
        BadConfig{"[sessions]\nquic_listen = \"quic://127.0.0.1:1\"\n", "sessions.quic_listen"},
        BadConfig{"[sessions]\nquic_listen = 4202\n", "'sessions.quic_listen' must be a string"},
        BadConfig{"[log]\nlevel = \"loud\"\n", "log.level"},
        BadConfig{"[node]\nshutdown_grace_ms = 1\n", "node.shutdown_grace_ms"},
        BadConfig{"[node]\ndata_dir = \"\"\n", "node.data_dir"},
        BadConfig{"[admin\nlisten = 1", "node.toml:1"},
        BadConfig{"[admin]\nlisten = \"a\"\nlisten = \"b\"\n", "node.toml:3"},
        BadConfig{"[fetcher]\nmax_body_mb = 17592186044417\n", "fetcher.max_body_mb"},
        BadConfig{"[fetcher]\nmax_concurrent = 0\n", "fetcher.max_concurrent"},
        BadConfig{"[gateway]\nservice_timeout_ms = 0\n", "gateway.service_timeout_ms"},
        BadConfig{"[ipfs]\ngateways = [\"ftp://x\"]\n", "ipfs.gateways"},
        BadConfig{"[ipfs]\ngateways = \"http://x\"\n", "must be an array of strings"},
        BadConfig{"[[origins]]\nname = \"a/b\"\nurl = \"http://x/\"\n", "origins: name"},
        BadConfig{"[[origins]]\nname = \"site\"\nurl = \"x\"\n", "must be an http://"},
        BadConfig{"[[origins]]\nname = \"site\"\n", "needs a name and a url"},
        BadConfig{"[[origins]]\nname = \"s\"\nurl = \"http://x/\"\n[[origins]]\nname = "
                  "\"s\"\nurl = \"http://y/\"\n",
                  "defined twice"}));

TEST(Config, MissingFileIsNotFoundWithAHint) {
  auto options = loadConfigFile("/nonexistent/thunder.toml");
  ASSERT_FALSE(options);
  EXPECT_EQ(options.error().code, ErrorCode::kNotFound);
  EXPECT_NE(options.error().message.find("thunder init"), std::string::npos);
}

TEST(Config, ReadsAFile) {
  const auto file = std::filesystem::path(::testing::TempDir()) / "thunder_config_test.toml";
  std::ofstream(file) << "[admin]\nlisten = \"127.0.0.1:0\"\n";
  auto options = loadConfigFile(file);
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->admin.listen, "127.0.0.1:0");
}

TEST(Options, ResolveDataDirExpandsHome) {
  ::setenv("HOME", "/home/op", 1);
  EXPECT_EQ(resolveDataDir("~/.thunder"), "/home/op/.thunder");
  EXPECT_EQ(resolveDataDir("/abs/dir/"), "/abs/dir/");
  EXPECT_TRUE(resolveDataDir("rel").is_absolute());
}

}  // namespace
}  // namespace thunder::node
