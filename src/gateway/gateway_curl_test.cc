// The gateway against real HTTP clients: curl (and wget when installed), run as processes.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "content/directory_tree.h"
#include "crypto/blake3.h"
#include "gateway/gateway_server.h"
#include "gateway/gateway_test_support.h"

namespace thunder::gateway {
namespace {

using testing::asString;
using testing::GatewayFixture;
using testing::haveTool;
using testing::randomBytes;
using testing::readFile;
using testing::run;

class GatewayCurlTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    if (!haveTool("curl")) GTEST_SKIP() << "curl is not installed";
    data_ = randomBytes(200'000, 5);
    id_ = put(data_);
    GatewayOptions options;
    options.upload_token = "curl-token";
    startServer(options);
    url_ = server_->url() + "/b3/" + id_.hex();
  }

  std::string curl(const std::string& args, int* status = nullptr) {
    return run("curl -sS --max-time 30 " + args, status);
  }

  std::vector<uint8_t> data_;
  BlobId id_;
  std::string url_;
};

TEST_F(GatewayCurlTest, HeadRangeAndConditional) {
  const std::string head = curl("-I '" + url_ + "'");
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 200000"), std::string::npos) << head;
  EXPECT_NE(head.find("ETag: \"" + id_.hex() + "\""), std::string::npos) << head;

  const auto part = root_ / "part";
  const std::string code =
      curl("-r 1000-1999 -o '" + part.string() + "' -w '%{http_code}' '" + url_ + "'");
  EXPECT_EQ(code, "206");
  EXPECT_EQ(readFile(part), std::string(data_.begin() + 1000, data_.begin() + 2000));

  const std::string not_modified = curl("-o /dev/null -w '%{http_code}' -H 'If-None-Match: \"" +
                                        id_.hex() + "\"' '" + url_ + "'");
  EXPECT_EQ(not_modified, "304");

  const auto whole = root_ / "whole";
  EXPECT_EQ(curl("-o '" + whole.string() + "' -w '%{http_code}' '" + url_ + "'"), "200");
  EXPECT_TRUE(readFile(whole) == asString(data_));
}

TEST_F(GatewayCurlTest, UploadWithCurl) {
  const auto file = root_ / "upload.bin";
  const auto bytes = randomBytes(2 * 1024 * 1024 + 5, 8);  // large enough for Expect: 100-continue
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  int status = 0;
  const std::string answer =
      curl("--fail-with-body -X POST --data-binary '@" + file.string() +
               "' -H 'Authorization: Bearer curl-token' '" + server_->url() + "/b3?pin=1'",
           &status);
  ASSERT_EQ(status, 0) << answer;
  auto json = nlohmann::json::parse(answer, nullptr, false);
  ASSERT_TRUE(json.is_object()) << answer;
  EXPECT_EQ(json["id"], crypto::blake3(bytes).hex());
  EXPECT_EQ(store_->stat(crypto::blake3(bytes))->pin, content::PinState::kPinned);
  const std::string refused =
      curl("-o /dev/null -w '%{http_code}' -X POST --data-binary 'x' '" + server_->url() + "/b3'");
  EXPECT_EQ(refused, "401");
}

TEST_F(GatewayCurlTest, DirectoriesAndTraversal) {
  const auto src = root_ / "site";
  std::filesystem::create_directories(src);
  std::ofstream(src / "hello.txt") << "hi there\n";
  auto tree = content::putTree(*store_, src, {});
  ASSERT_TRUE(tree);
  const std::string dir = server_->url() + "/b3/" + tree->id.hex();
  EXPECT_EQ(curl("'" + dir + "/hello.txt'"), "hi there\n");
  EXPECT_NE(curl("-L '" + dir + "'").find("hello.txt"), std::string::npos);  // follows the 301
  EXPECT_EQ(curl("--path-as-is -o /dev/null -w '%{http_code}' '" + dir + "/../hello.txt'"), "400");
}

TEST_F(GatewayCurlTest, WgetDownloadsAndResumes) {
  if (!haveTool("wget")) GTEST_SKIP() << "wget is not installed";
  const auto out = root_ / "wget.bin";
  int status = 0;
  run("wget -q -T 30 -O '" + out.string() + "' '" + url_ + "'", &status);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(readFile(out) == asString(data_));
  // Resume a partial download: wget -c asks for the rest with a Range header.
  const auto partial = root_ / "resume.bin";
  std::ofstream(partial, std::ios::binary)
      .write(reinterpret_cast<const char*>(data_.data()), 12345);
  run("wget -q -T 30 -c -O '" + partial.string() + "' '" + url_ + "'", &status);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(readFile(partial) == asString(data_));
}

}  // namespace
}  // namespace thunder::gateway
