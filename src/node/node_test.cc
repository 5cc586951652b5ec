#include "node/node.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/keystore.h"
#include "handshake/builtin_services.h"
#include "handshake/client_driver.h"
#include "net/http_client.h"

namespace thunder::node {
namespace {

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/thunder_node_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  NodeOptions options() const {
    NodeOptions o;
    o.data_dir = dir_ / "data";
    o.admin.listen = "127.0.0.1:0";
    o.sessions.listen = "127.0.0.1:0";
    o.gateway.listen = "127.0.0.1:0";
    o.runtime.loop_threads = 1;
    return o;
  }

  std::filesystem::path dir_;
};

TEST_F(NodeTest, StartsServesAndStops) {
  auto node = Node::create(options());
  ASSERT_TRUE(node) << node.error().message;
  auto ready = (*node)->start();
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_TRUE(ready->key_created);
  EXPECT_EQ(ready->node_key.size(), 64u);

  auto health = net::httpGet(ready->admin_address, "/health");
  ASSERT_TRUE(health) << health.error().message;
  EXPECT_EQ(health->status, 200u);
  EXPECT_EQ(health->body, "ok\n");

  auto metrics = net::httpGet(ready->admin_address, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("thunder_uptime_seconds "), std::string::npos);
  EXPECT_NE(metrics->body.find("thunder_component_up{component=\"admin\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("thunder_build_info{version=\""), std::string::npos);

  auto status = net::httpGet(ready->admin_address, "/status");
  ASSERT_TRUE(status);
  auto json = nlohmann::json::parse(status->body);
  EXPECT_EQ(json["node_key"], ready->node_key);
  EXPECT_EQ(json["components"][0]["state"], "running");

  auto head = net::httpRequest(ready->admin_address, {.method = "HEAD", .target = "/health"});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200u);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(net::httpGet(ready->admin_address, "/nope")->status, 404u);
  EXPECT_EQ(net::httpRequest(ready->admin_address, {.method = "POST", .target = "/health"})->status,
            405u);

  EXPECT_TRUE(std::filesystem::exists(dir_ / "data" / "node.json"));
  (*node)->stop();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "node.json"));
  EXPECT_FALSE(net::httpGet(ready->admin_address, "/health"));
}

TEST_F(NodeTest, KeepsItsKeyAcrossRestarts) {
  std::string first_key;
  {
    auto node = Node::create(options());
    ASSERT_TRUE(node);
    first_key = (*node)->start()->node_key;
  }
  auto node = Node::create(options());
  ASSERT_TRUE(node);
  auto ready = (*node)->start();
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->node_key, first_key);
  EXPECT_FALSE(ready->key_created);
}

TEST_F(NodeTest, SecondNodeOnTheSameDataDirIsRefused) {
  auto first = Node::create(options());
  ASSERT_TRUE(first);
  auto second = Node::create(options());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find("in use by another thunder process"), std::string::npos);
}

TEST_F(NodeTest, CorruptKeyFileIsAClearError) {
  std::filesystem::create_directories(dir_ / "data" / "keys");
  const auto key_file = dir_ / "data" / "keys" / "node.key";
  std::ofstream(key_file) << "thunder-key v1 ed25519\nseed zz\n";
  ::chmod(key_file.c_str(), 0600);
  auto node = Node::create(options());
  ASSERT_FALSE(node);
  EXPECT_EQ(node.error().code, ErrorCode::kCorruption);
  EXPECT_NE(node.error().message.find(key_file.string()), std::string::npos);
}

TEST_F(NodeTest, PortInUseFailsStartAndLeavesNothingRunning) {
  auto first = Node::create(options());
  ASSERT_TRUE(first);
  auto ready = (*first)->start();
  ASSERT_TRUE(ready);

  NodeOptions clash = options();
  clash.data_dir = dir_ / "other";
  clash.admin.listen = ready->admin_address;
  auto second = Node::create(clash);
  ASSERT_TRUE(second);
  auto started = (*second)->start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(started.error().message.find("cannot start admin"), std::string::npos);
  EXPECT_NE(started.error().message.find("already in use"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other" / "node.json"));
}

TEST_F(NodeTest, UnusableDataDirIsAClearError) {
  std::ofstream(dir_ / "file") << "x";
  NodeOptions o = options();
  o.data_dir = dir_ / "file" / "data";
  auto node = Node::create(o);
  ASSERT_FALSE(node);
  EXPECT_NE(node.error().message.find("cannot create data dir"), std::string::npos);
}

// Echoes one payload over the node's echo service and ends normally.
class OneEcho final : public handshake::SessionHandler {
 public:
  void onOpen(handshake::SessionControl& control, uint64_t) override {
    control.send(std::vector<uint8_t>{'h', 'i'});
  }
  Result<void> onPayload(handshake::SessionControl& control,
                         std::span<const uint8_t> payload) override {
    echoed_.append(payload.begin(), payload.end());
    if (echoed_.size() == 2) control.end(handshake::TerminationReason::kNormal, "done");
    return {};
  }
  std::string echoed_;
};

TEST_F(NodeTest, ServesSessionsOverWebSocketWhenConfigured) {
  NodeOptions o = options();
  o.sessions.ws_listen = "127.0.0.1:0";
  auto node = Node::create(o);
  ASSERT_TRUE(node) << node.error().message;
  auto ready = (*node)->start();
  ASSERT_TRUE(ready) << ready.error().message;
  auto status = net::httpGet(ready->admin_address, "/status");
  ASSERT_TRUE(status);
  const std::string ws = nlohmann::json::parse(status->body)["endpoints"]["ws"];
  ASSERT_TRUE(ws.starts_with("ws://127.0.0.1:")) << ws;
  EXPECT_TRUE(ws.ends_with("/thunder/v1")) << ws;

  handshake::ConnectOptions connect;
  connect.address = ws;
  connect.target.node_pk = *PublicKey::fromHex(ready->node_key);
  connect.target.service = handshake::kEchoServiceId;
  const auto client_key = crypto::SigningKey::generate();
  handshake::SystemClock clock;
  OneEcho handler;
  auto outcome = handshake::connectAndRunBlocking(connect, client_key, clock, handler);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_EQ(handler.echoed_, "hi");
  (*node)->stop();
}

TEST_F(NodeTest, WebSocketSessionsAreOffByDefault) {
  auto node = Node::create(options());
  ASSERT_TRUE(node);
  auto ready = (*node)->start();
  ASSERT_TRUE(ready) << ready.error().message;
  auto status = net::httpGet(ready->admin_address, "/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(nlohmann::json::parse(status->body)["endpoints"]["ws"], "");
  (*node)->stop();
}

TEST_F(NodeTest, RunReturnsAfterRequestStop) {
  auto node = Node::create(options());
  ASSERT_TRUE(node);
  std::thread stopper;
  auto ok = (*node)->run(
      [&](const ReadyInfo&) { stopper = std::thread([&] { (*node)->requestStop(); }); });
  stopper.join();
  EXPECT_TRUE(ok) << ok.error().message;
}

}  // namespace
}  // namespace thunder::node
