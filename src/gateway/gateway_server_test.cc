#include "gateway/gateway_server.h"

#include <gtest/gtest.h>

#include <fstream>

#include "content/directory_tree.h"
#include "content/verified_stream.h"
#include "crypto/blake3.h"
#include "crypto/blake3_tree.h"
#include "gateway/gateway_test_support.h"
#include "gateway/range_header.h"

namespace thunder::gateway {
namespace {

using testing::asString;
using testing::GatewayFixture;
using testing::randomBytes;
using testing::RawClient;
using testing::ReplyTo;

struct Part {
  std::string content_range;
  std::string body;
};

// Splits a multipart/byteranges body.
std::vector<Part> parseMultipart(const std::string& content_type, const std::string& body) {
  const std::string key = "boundary=";
  const size_t at = content_type.find(key);
  EXPECT_NE(at, std::string::npos) << content_type;
  const std::string delimiter = "\r\n--" + content_type.substr(at + key.size());
  std::vector<Part> parts;
  size_t pos = body.find(delimiter);
  EXPECT_EQ(pos, 0u);
  while (pos != std::string::npos) {
    pos += delimiter.size();
    if (body.compare(pos, 4, "--\r\n") == 0) break;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    const std::string headers = body.substr(pos, headers_end - pos);
    Part part;
    const size_t cr = headers.find("Content-Range: ");
    part.content_range = headers.substr(cr + 15, headers.find("\r\n", cr) - cr - 15);
    const size_t next = body.find(delimiter, headers_end + 4);
    part.body = body.substr(headers_end + 4, next - headers_end - 4);
    parts.push_back(part);
    pos = next;
  }
  return parts;
}

class GatewayServerTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    data_ = randomBytes(100'000, 7);
    id_ = put(data_);
    target_ = "/b3/" + id_.hex();
  }

  std::string slice(uint64_t start, uint64_t end) const {
    return std::string(data_.begin() + start, data_.begin() + end);
  }

  std::vector<uint8_t> data_;
  BlobId id_;
  std::string target_;
};

TEST_F(GatewayServerTest, ServesAWholeBlobWithItsHeaders) {
  startServer();
  RawClient client(port());
  auto reply = client.request("GET", target_);
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, asString(data_));
  EXPECT_EQ(reply.header("content-length"), "100000");
  EXPECT_EQ(reply.header("etag"), "\"" + id_.hex() + "\"");
  EXPECT_EQ(reply.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(reply.header("accept-ranges"), "bytes");
  EXPECT_EQ(reply.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(reply.header("content-type"), "application/octet-stream");
  EXPECT_TRUE(reply.has("date"));
  EXPECT_TRUE(reply.keep_alive);
  // Served again, from the cache of open blobs.
  auto again = client.request("GET", target_);
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body, asString(data_));
}

TEST_F(GatewayServerTest, SingleRanges) {
  startServer();
  RawClient client(port());
  struct Case {
    std::string range;
    uint64_t start, end;
  };
  for (const Case& c :
       {Case{"bytes=0-99", 0, 100}, Case{"bytes=-500", 99'500, 100'000},
        Case{"bytes=100-", 100, 100'000}, Case{"bytes=99990-200000", 99'990, 100'000},
        Case{"bytes=-200000", 0, 100'000}, Case{"bytes=5-20,0-10", 0, 21},
        Case{"bytes=50000-50000", 50'000, 50'001}}) {
    auto reply = client.request("GET", target_, {"Range: " + c.range});
    EXPECT_EQ(reply.status, 206u) << c.range;
    EXPECT_EQ(reply.header("content-range"),
              "bytes " + std::to_string(c.start) + "-" + std::to_string(c.end - 1) + "/100000")
        << c.range;
    EXPECT_EQ(reply.header("content-length"), std::to_string(c.end - c.start)) << c.range;
    EXPECT_EQ(reply.body, slice(c.start, c.end)) << c.range;
  }
}

TEST_F(GatewayServerTest, MultipleRangesAreMultipart) {
  startServer();
  RawClient client(port());
  auto reply = client.request("GET", target_, {"Range: bytes=90000-90009, 0-4, -3"});
  ASSERT_EQ(reply.status, 206u);
  const std::string type = reply.header("content-type");
  EXPECT_EQ(type.rfind("multipart/byteranges; boundary=", 0), 0u) << type;
  EXPECT_EQ(reply.header("content-length"), std::to_string(reply.body.size()));
  auto parts = parseMultipart(type, reply.body);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].content_range, "bytes 90000-90009/100000");  // the request's order
  EXPECT_EQ(parts[0].body, slice(90'000, 90'010));
  EXPECT_EQ(parts[1].content_range, "bytes 0-4/100000");
  EXPECT_EQ(parts[1].body, slice(0, 5));
  EXPECT_EQ(parts[2].content_range, "bytes 99997-99999/100000");
  EXPECT_EQ(parts[2].body, slice(99'997, 100'000));

  // Many ranges over the sendfile path (the body is larger than one write).
  std::string many = "Range: bytes=";
  for (int i = 0; i < 40; ++i)
    many += std::to_string(i * 2000) + "-" + std::to_string(i * 2000 + 1999 - 100) + ",";
  auto big = client.request("GET", target_, {many});
  ASSERT_EQ(big.status, 206u);
  auto big_parts = parseMultipart(big.header("content-type"), big.body);
  ASSERT_EQ(big_parts.size(), 40u);
  EXPECT_EQ(big_parts[39].body, slice(78'000, 79'900));
  // HEAD of the same: no body, the same length.
  auto head = client.request("HEAD", target_, {"Range: bytes=90000-90009, 0-4, -3"});
  EXPECT_EQ(head.status, 206u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), reply.header("content-length"));
}

TEST_F(GatewayServerTest, UnsatisfiableAndIgnoredRanges) {
  startServer();
  RawClient client(port());
  auto unsat = client.request("GET", target_, {"Range: bytes=100000-"});
  EXPECT_EQ(unsat.status, 416u);
  EXPECT_EQ(unsat.header("content-range"), "bytes */100000");
  EXPECT_NE(unsat.body.find("none of the requested ranges"), std::string::npos);
  auto zero_suffix = client.request("GET", target_, {"Range: bytes=-0"});
  EXPECT_EQ(zero_suffix.status, 416u);
  // Malformed or foreign-unit Range headers are ignored (RFC 9110): the whole blob.
  for (std::string range : {"bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "0-10"}) {
    auto reply = client.request("GET", target_, {"Range: " + range});
    EXPECT_EQ(reply.status, 200u) << range;
    EXPECT_EQ(reply.body.size(), data_.size()) << range;
  }
  // If-Range: the Range applies only with the blob's strong ETag.
  const std::string etag = "\"" + id_.hex() + "\"";
  EXPECT_EQ(client.request("GET", target_, {"Range: bytes=0-9", "If-Range: " + etag}).status, 206u);
  EXPECT_EQ(client.request("GET", target_, {"Range: bytes=0-9", "If-Range: \"other\""}).status,
            200u);
}

TEST_F(GatewayServerTest, HeadHasNoBodyButTheLength) {
  startServer();
  RawClient client(port());
  auto head = client.request("HEAD", target_);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), "100000");
  EXPECT_TRUE(head.body.empty());
  auto range = client.request("HEAD", target_, {"Range: bytes=10-19"});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.header("content-length"), "10");
  // The connection is still in sync: a GET after the HEADs gets its own answer.
  auto get = client.request("GET", target_, {"Range: bytes=0-1"});
  EXPECT_EQ(get.status, 206u);
  EXPECT_EQ(get.body, slice(0, 2));
  auto health = client.request("HEAD", "/health");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.header("content-length"), "3");
}

TEST_F(GatewayServerTest, IfNoneMatchGives304) {
  startServer();
  RawClient client(port());
  const std::string etag = "\"" + id_.hex() + "\"";
  for (const std::string& value : {etag, "W/" + etag, "\"x\", " + etag, std::string("*")}) {
    auto reply = client.request("GET", target_, {"If-None-Match: " + value});
    EXPECT_EQ(reply.status, 304u) << value;
    EXPECT_TRUE(reply.body.empty());
    EXPECT_EQ(reply.header("etag"), etag);
    EXPECT_FALSE(reply.has("content-length"));
  }
  EXPECT_EQ(client.request("GET", target_, {"If-None-Match: \"other\""}).status, 200u);
  EXPECT_EQ(client.request("HEAD", target_, {"If-None-Match: " + etag}).status, 304u);
}

TEST_F(GatewayServerTest, KeepAliveAndPipelining) {
  startServer();
  RawClient client(port());
  for (int i = 0; i < 5; ++i) {
    auto reply = client.request("GET", target_,
                                {"Range: bytes=" + std::to_string(i) + "-" + std::to_string(i)});
    EXPECT_EQ(reply.status, 206u);
    EXPECT_EQ(reply.body, slice(i, i + 1));
  }
  // Three requests in one write; answers come back in order.
  client.send(
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET " +
      target_ +
      " HTTP/1.1\r\nHost: x\r\nRange: bytes=7-9\r\n\r\n"
      "HEAD " +
      target_ + " HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = client.read();
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.body, "ok\n");
  auto second = client.read();
  EXPECT_EQ(second.status, 206u);
  EXPECT_EQ(second.body, slice(7, 10));
  auto third = client.read(ReplyTo::kHead);
  EXPECT_EQ(third.status, 200u);
  EXPECT_EQ(third.header("content-length"), "100000");
  // Connection: close is honoured.
  auto last = client.request("GET", "/health", {"Connection: close"});
  EXPECT_EQ(last.status, 200u);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(GatewayServerTest, Http10ClosesUnlessKeepAlive) {
  startServer();
  RawClient client(port());
  client.send("GET /health HTTP/1.0\r\n\r\n");
  auto reply = client.read();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(GatewayServerTest, ErrorsAreSpecific) {
  startServer();
  RawClient client(port());
  auto unknown = client.request("GET", "/b3/" + std::string(64, 'a'));
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body, "blob " + std::string(64, 'a') + " is not stored on this node\n");
  EXPECT_EQ(unknown.header("cache-control"), "no-store");
  auto malformed = client.request("GET", "/b3/xyz");
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_NE(malformed.body.find("malformed blob id \"xyz\""), std::string::npos);
  EXPECT_EQ(client.request("GET", "/b3/").status, 400u);
  EXPECT_EQ(client.request("GET", "/nope").status, 404u);
  auto method = client.request("DELETE", target_);
  EXPECT_EQ(method.status, 405u);
  EXPECT_EQ(method.header("allow"), "GET, HEAD");
  EXPECT_EQ(client.request("GET", target_ + "?format=bogus").status, 400u);
  EXPECT_EQ(client.request("PUT", "/b3").header("allow"), "GET, HEAD, POST");
  auto body_on_get = client.request("GET", target_, {}, "unexpected");
  EXPECT_EQ(body_on_get.status, 400u);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(GatewayServerTest, EmptyBlob) {
  const BlobId empty = put({});
  startServer();
  RawClient client(port());
  auto reply = client.request("GET", "/b3/" + empty.hex());
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.header("content-length"), "0");
  EXPECT_TRUE(reply.body.empty());
  auto range = client.request("GET", "/b3/" + empty.hex(), {"Range: bytes=0-"});
  EXPECT_EQ(range.status, 416u);
  EXPECT_EQ(range.header("content-range"), "bytes */0");
  auto verified = client.request("GET", "/b3/" + empty.hex() + "?format=verified");
  EXPECT_EQ(verified.status, 200u);
  EXPECT_EQ(verified.body, std::string(8, '\0'));  // just the size: the empty group has no bytes
}

TEST_F(GatewayServerTest, SniffsContentTypes) {
  const auto png = put({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13});
  const std::string html_text = "<!doctype html><title>t</title>";
  const auto html = put(std::vector<uint8_t>(html_text.begin(), html_text.end()));
  startServer();
  RawClient client(port());
  EXPECT_EQ(client.request("GET", "/b3/" + png.hex()).header("content-type"), "image/png");
  EXPECT_EQ(client.request("HEAD", "/b3/" + html.hex()).header("content-type"),
            "text/html; charset=utf-8");
}

TEST_F(GatewayServerTest, LargeBlobThroughSendfile) {
  const auto big = randomBytes(3 * 1024 * 1024 + 123, 9);
  const BlobId id = put(big);
  startServer();
  RawClient client(port());
  auto reply = client.request("GET", "/b3/" + id.hex());
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body.size(), big.size());
  EXPECT_TRUE(reply.body == asString(big));
  auto mid = client.request("GET", "/b3/" + id.hex(), {"Range: bytes=1000000-2500000"});
  ASSERT_EQ(mid.status, 206u);
  EXPECT_TRUE(mid.body == std::string(big.begin() + 1'000'000, big.begin() + 2'500'001));
}

// ---- directories ----

class GatewayDirectoryTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    const auto src = root_ / "site";
    std::filesystem::create_directories(src / "sub");
    std::filesystem::create_directories(src / "docs");
    write(src / "a.txt", "alpha\n");
    write(src / "with space.txt", "spaced\n");
    write(src / "data.json", "{\"k\": 1}");
    write(src / "sub" / "index.html", "<html>sub index</html>");
    write(src / "sub" / "b.css", "body{}");
    write(src / "docs" / "readme", "plain words\n");
    auto tree = content::putTree(*store_, src, {});
    ASSERT_TRUE(tree) << tree.error().message;
    dir_ = "/b3/" + tree->id.hex();
  }
  static void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  std::string dir_;
};

TEST_F(GatewayDirectoryTest, ResolvesPathsWithTypesByExtension) {
  startServer();
  RawClient client(port());
  auto a = client.request("GET", dir_ + "/a.txt");
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, "alpha\n");
  EXPECT_EQ(a.header("content-type"), "text/plain; charset=utf-8");
  auto id = crypto::blake3(std::span(reinterpret_cast<const uint8_t*>("alpha\n"), 6));
  EXPECT_EQ(a.header("etag"), "\"" + id.hex() + "\"");
  EXPECT_EQ(client.request("GET", dir_ + "/with%20space.txt").body, "spaced\n");
  EXPECT_EQ(client.request("GET", dir_ + "/data.json").header("content-type"), "application/json");
  EXPECT_EQ(client.request("GET", dir_ + "/sub/b.css").header("content-type"),
            "text/css; charset=utf-8");
  auto readme = client.request("GET", dir_ + "/docs/readme");  // no extension: sniffed
  EXPECT_EQ(readme.header("content-type"), "text/plain; charset=utf-8");
  auto range = client.request("GET", dir_ + "/a.txt", {"Range: bytes=1-2"});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.body, "lp");
}

TEST_F(GatewayDirectoryTest, ListingsIndexesAndRedirects) {
  startServer();
  RawClient client(port());
  auto listing = client.request("GET", dir_ + "/");
  EXPECT_EQ(listing.status, 200u);
  EXPECT_EQ(listing.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(listing.body.find("href=\"./a.txt\""), std::string::npos);
  EXPECT_NE(listing.body.find("href=\"./with%20space.txt\""), std::string::npos);
  EXPECT_NE(listing.body.find("href=\"./sub/\""), std::string::npos);
  EXPECT_EQ(listing.body.find("href=\"../\""), std::string::npos);
  auto docs = client.request("GET", dir_ + "/docs/");
  EXPECT_NE(docs.body.find("href=\"../\""), std::string::npos);
  auto redirect = client.request("GET", dir_ + "/sub?x=1");
  EXPECT_EQ(redirect.status, 301u);
  EXPECT_EQ(redirect.header("location"), dir_ + "/sub/?x=1");
  auto index = client.request("GET", dir_ + "/sub/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, "<html>sub index</html>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  auto head = client.request("HEAD", dir_ + "/");
  EXPECT_EQ(head.header("content-length"), std::to_string(listing.body.size()));
}

TEST_F(GatewayDirectoryTest, RefusesTraversalAndMissingEntries) {
  startServer();
  RawClient client(port());
  for (std::string bad : {"/../a.txt", "/sub/../a.txt", "/%2e%2e/a.txt", "/.%2E/x", "/./a.txt",
                          "//a.txt", "/sub//b.css", "/a%2fb", "/a%2Fb.txt", "/a%00", "/%zz"}) {
    auto reply = client.request("GET", dir_ + bad);
    EXPECT_EQ(reply.status, 400u) << bad << ": " << reply.body;
  }
  auto missing = client.request("GET", dir_ + "/nope.txt");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("no entry \"nope.txt\""), std::string::npos);
  EXPECT_EQ(client.request("GET", dir_ + "/a.txt/").status, 404u);
  EXPECT_EQ(client.request("GET", dir_ + "/a.txt/more").status, 400u);
  // A blob that is not a directory.
  auto file = client.request(
      "GET", "/b3/" +
                 crypto::blake3(std::span(reinterpret_cast<const uint8_t*>("alpha\n"), 6)).hex() +
                 "/");
  EXPECT_EQ(file.status, 404u);
  EXPECT_NE(file.body.find("is not a directory"), std::string::npos);
}

// ---- verified streams and partial blobs ----

content::ByteRanges rangesFrom(const testing::Reply& reply) {
  auto ranges = parseEncodedRanges(reply.header("x-thunder-ranges"));
  EXPECT_TRUE(ranges) << reply.header("x-thunder-ranges");
  return ranges ? *ranges : content::ByteRanges();
}

// Decodes a verified stream body; returns the emitted bytes by offset.
std::map<uint64_t, std::string> decode(const BlobId& id, const content::ByteRanges& ranges,
                                       const std::string& body, std::optional<uint64_t>* size) {
  std::map<uint64_t, std::string> out;
  content::RangeDecoder decoder(id, ranges, [&](uint64_t offset, std::span<const uint8_t> bytes) {
    out[offset] = std::string(bytes.begin(), bytes.end());
    return Result<void>{};
  });
  auto fed = decoder.feed(std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  EXPECT_TRUE(fed) << fed.error().message;
  auto finished = decoder.finish();
  EXPECT_TRUE(finished) << finished.error().message;
  *size = decoder.verifiedSize();
  return out;
}

TEST_F(GatewayServerTest, VerifiedStreamDecodes) {
  startServer();
  RawClient client(port());
  auto ranged = client.request("GET", target_ + "?format=verified", {"Range: bytes=20000-20009"});
  ASSERT_EQ(ranged.status, 200u) << ranged.body;
  EXPECT_EQ(ranged.header("content-type"), "application/vnd.thunder.verified-stream");
  EXPECT_EQ(ranged.header("x-thunder-ranges"), "bytes=20000-20009");
  std::optional<uint64_t> size;
  auto groups = decode(id_, rangesFrom(ranged), ranged.body, &size);
  ASSERT_EQ(groups.size(), 1u);
  const auto& [offset, bytes] = *groups.begin();
  EXPECT_EQ(offset, 16384u);
  EXPECT_EQ(bytes.substr(20000 - 16384, 10), slice(20000, 20010));

  // The whole blob, asked for with the Accept header.
  auto whole = client.request("GET", target_, {"Accept: application/vnd.thunder.verified-stream"});
  ASSERT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.header("x-thunder-ranges"), "bytes=0-");
  auto all = decode(id_, rangesFrom(whole), whole.body, &size);
  std::string joined;
  for (const auto& [o, b] : all) joined += b;
  EXPECT_EQ(joined, asString(data_));
  EXPECT_EQ(size, 100'000u);
  auto head = client.request("HEAD", target_ + "?format=verified");
  EXPECT_EQ(head.header("content-length"), std::to_string(whole.body.size()));

  // A suffix range, resolved by the server and announced in X-Thunder-Ranges.
  auto suffix = client.request("GET", target_ + "?format=verified", {"Range: bytes=-10"});
  EXPECT_EQ(suffix.header("x-thunder-ranges"), "bytes=99990-99999");
  auto tail = decode(id_, rangesFrom(suffix), suffix.body, &size);
  EXPECT_EQ(size, 100'000u);  // the last group proves the size
  EXPECT_EQ(client.request("GET", target_ + "?format=verified", {"Range: bytes=100000-"}).status,
            416u);
}

TEST_F(GatewayServerTest, PartialBlobsServeOnlyVerifiedRanges) {
  const auto data = randomBytes(5 * crypto::kGroupSize + 10, 3);
  std::vector<uint8_t> outboard(crypto::outboardSize(data.size()));
  auto id = crypto::hashBlob(data, outboard);
  ASSERT_TRUE(id);
  content::MemoryBlobSource source(data, outboard);
  auto ranges = content::ByteRanges::fromStartEnd(crypto::kGroupSize, 3 * crypto::kGroupSize);
  std::vector<uint8_t> stream;
  ASSERT_TRUE(content::encodeRanges(source, *ranges, [&](std::span<const uint8_t> bytes) {
    stream.insert(stream.end(), bytes.begin(), bytes.end());
    return Result<void>{};
  }));
  auto import = store_->importVerified(*id, *ranges, {});
  ASSERT_TRUE(import);
  ASSERT_TRUE((*import)->feed(stream));
  ASSERT_TRUE((*import)->finish());
  startServer();
  RawClient client(port());
  const std::string target = "/b3/" + id->hex();
  auto whole = client.request("GET", target);
  EXPECT_EQ(whole.status, 404u);
  EXPECT_NE(whole.body.find("only partially stored"), std::string::npos) << whole.body;
  auto inside = client.request("GET", target, {"Range: bytes=20000-40000"});
  EXPECT_EQ(inside.status, 206u);
  EXPECT_EQ(inside.body, std::string(data.begin() + 20000, data.begin() + 40001));
  auto outside = client.request("GET", target, {"Range: bytes=0-10"});
  EXPECT_EQ(outside.status, 404u);
  EXPECT_NE(outside.body.find("not verified"), std::string::npos) << outside.body;
  EXPECT_EQ(client.request("GET", target + "?format=verified").status, 404u);
}

// ---- limits and lifecycle ----

TEST_F(GatewayServerTest, SlowHeaderTimesOutWith408) {
  GatewayOptions options;
  options.header_timeout = std::chrono::milliseconds(200);
  startServer(options);
  RawClient client(port());
  client.send("GET /b3/");  // and nothing more
  const std::string answer = client.readToEnd();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 408") << answer;
}

TEST_F(GatewayServerTest, IdleConnectionIsClosed) {
  GatewayOptions options;
  options.idle_timeout = std::chrono::milliseconds(100);
  startServer(options);
  RawClient client(port());
  EXPECT_EQ(client.request("GET", "/health").status, 200u);
  EXPECT_EQ(client.readToEnd(), "");  // returns when the server closes the idle connection
}

TEST_F(GatewayServerTest, OversizedHeaderGets431) {
  GatewayOptions options;
  options.max_header_bytes = 1024;
  startServer(options);
  RawClient client(port());
  client.send("GET /health HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(client.readToEnd().substr(0, 12), "HTTP/1.1 431");
}

TEST_F(GatewayServerTest, GarbageGets400) {
  startServer();
  RawClient client(port());
  client.send("\x01\x02 NOT HTTP\r\n\r\n");
  EXPECT_EQ(client.readToEnd().substr(0, 12), "HTTP/1.1 400");
}

TEST_F(GatewayServerTest, ConnectionLimit) {
  GatewayOptions options;
  options.max_connections = 1;
  startServer(options);
  RawClient first(port());
  EXPECT_EQ(first.request("GET", "/health").status, 200u);
  RawClient second(port());
  EXPECT_TRUE(second.closedByServer());
  EXPECT_EQ(first.request("GET", "/health").status, 200u);
}

TEST_F(GatewayServerTest, StopClosesIdleConnections) {
  startServer();
  RawClient client(port());
  EXPECT_EQ(client.request("GET", target_, {"Range: bytes=0-0"}).status, 206u);
  EXPECT_EQ(server_->activeConnections(), 1u);
  server_->stop();  // must not wait for the idle timeout
  EXPECT_EQ(server_->activeConnections(), 0u);
  EXPECT_TRUE(client.closedByServer());
  server_->stop();  // idempotent
}

TEST_F(GatewayServerTest, RemovedBlobIsGoneAfterTheCacheTtl) {
  GatewayOptions options;
  options.open_blob_ttl = std::chrono::milliseconds(0);  // always ask the store
  startServer(options);
  RawClient client(port());
  EXPECT_EQ(client.request("HEAD", target_).status, 200u);
  ASSERT_TRUE(store_->remove(id_));
  EXPECT_EQ(client.request("HEAD", target_).status, 404u);
}

}  // namespace
}  // namespace thunder::gateway
