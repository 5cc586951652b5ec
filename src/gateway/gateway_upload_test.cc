#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/blake3.h"
#include "gateway/gateway_server.h"
#include "gateway/gateway_test_support.h"

namespace thunder::gateway {
namespace {

using testing::asString;
using testing::GatewayFixture;
using testing::randomBytes;
using testing::RawClient;

class GatewayUploadTest : public GatewayFixture {
 protected:
  void startWithToken(uint64_t max_upload_mb = 1) {
    GatewayOptions options;
    options.upload_token = "s3cret-token";
    options.max_upload_mb = max_upload_mb;
    startServer(options);
  }
  size_t storedBlobs() {
    auto list = store_->list();
    EXPECT_TRUE(list);
    return list ? list->size() : 0;
  }
  size_t spoolFiles() {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(root_ / "store" / "tmp")) {
      (void)entry;
      ++n;
    }
    return n;
  }
};

TEST_F(GatewayUploadTest, DisabledWithoutAToken) {
  startServer();
  RawClient client(port());
  auto reply = client.request("POST", "/b3", {"Authorization: Bearer x"}, "hello");
  EXPECT_EQ(reply.status, 403u);
  EXPECT_NE(reply.body.find("set gateway.upload_token"), std::string::npos) << reply.body;
  EXPECT_EQ(storedBlobs(), 0u);
}

TEST_F(GatewayUploadTest, RefusesMissingOrWrongTokens) {
  startWithToken();
  for (const std::vector<std::string>& headers :
       {std::vector<std::string>{}, std::vector<std::string>{"Authorization: Bearer wrong"},
        std::vector<std::string>{"Authorization: Basic czNjcmV0LXRva2Vu"},
        std::vector<std::string>{"Authorization: Bearer s3cret-token-longer"}}) {
    RawClient client(port());
    auto reply = client.request("POST", "/b3", headers, "hello");
    EXPECT_EQ(reply.status, 401u);
    EXPECT_EQ(reply.header("www-authenticate"), "Bearer realm=\"thunder\"");
  }
  EXPECT_EQ(storedBlobs(), 0u);
}

TEST_F(GatewayUploadTest, StoresTheBodyAndAnswersItsId) {
  startWithToken();
  const auto data = randomBytes(300'000, 11);
  RawClient client(port());
  auto reply =
      client.request("POST", "/b3", {"Authorization: bearer  s3cret-token "}, asString(data));
  ASSERT_EQ(reply.status, 201u) << reply.body;
  const BlobId id = crypto::blake3(data);
  auto json = nlohmann::json::parse(reply.body);
  EXPECT_EQ(json["id"], id.hex());
  EXPECT_EQ(json["size"], data.size());
  EXPECT_EQ(json["already_present"], false);
  EXPECT_EQ(reply.header("location"), "/b3/" + id.hex());
  EXPECT_TRUE(*store_->has(id));
  EXPECT_EQ(store_->stat(id)->pin, content::PinState::kUnpinned);
  // Same connection: read it back; upload it again, pinned.
  auto back = client.request("GET", "/b3/" + id.hex());
  EXPECT_TRUE(back.body == asString(data));
  auto again =
      client.request("POST", "/b3?pin=1", {"Authorization: Bearer s3cret-token"}, asString(data));
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(nlohmann::json::parse(again.body)["already_present"], true);
  EXPECT_EQ(store_->stat(id)->pin, content::PinState::kPinned);
  EXPECT_EQ(spoolFiles(), 0u);
}

TEST_F(GatewayUploadTest, ChunkedBodyAndExpectContinue) {
  startWithToken();
  RawClient client(port());
  client.send(
      "POST /b3/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n"
      "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.read();
  EXPECT_EQ(interim.status, 100u);
  client.send("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto reply = client.read();
  ASSERT_EQ(reply.status, 201u) << reply.body;
  const std::string text = "hello world";
  const BlobId id =
      crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  EXPECT_EQ(nlohmann::json::parse(reply.body)["id"], id.hex());
  EXPECT_EQ(client.request("GET", "/b3/" + id.hex()).body, text);  // keep-alive after a body
}

TEST_F(GatewayUploadTest, EmptyBodyIsTheEmptyBlob) {
  startWithToken();
  RawClient client(port());
  auto reply =
      client.request("POST", "/b3", {"Authorization: Bearer s3cret-token", "Content-Length: 0"});
  ASSERT_EQ(reply.status, 201u) << reply.body;
  EXPECT_EQ(nlohmann::json::parse(reply.body)["id"],
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST_F(GatewayUploadTest, OverTheLimitStoresNothing) {
  startWithToken(/*max_upload_mb=*/1);
  const std::string big(1024 * 1024 + 1, 'x');
  {
    RawClient client(port());
    auto reply = client.request("POST", "/b3", {"Authorization: Bearer s3cret-token"}, big);
    EXPECT_EQ(reply.status, 413u);
    EXPECT_NE(reply.body.find("upload limit of 1 MiB"), std::string::npos) << reply.body;
    EXPECT_FALSE(reply.keep_alive);
  }
  {
    // Chunked: the limit is found while reading.
    RawClient client(port());
    std::string raw =
        "POST /b3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 17; ++i) raw += "10000\r\n" + std::string(0x10000, 'y') + "\r\n";
    raw += "0\r\n\r\n";
    client.send(raw);
    auto reply = client.read();
    EXPECT_EQ(reply.status, 413u) << reply.body;
  }
  EXPECT_EQ(storedBlobs(), 0u);
  EXPECT_EQ(spoolFiles(), 0u);
}

TEST_F(GatewayUploadTest, BadPinValue) {
  startWithToken();
  RawClient client(port());
  EXPECT_EQ(
      client.request("POST", "/b3?pin=yes", {"Authorization: Bearer s3cret-token"}, "x").status,
      400u);
  EXPECT_EQ(storedBlobs(), 0u);
}

}  // namespace
}  // namespace thunder::gateway
