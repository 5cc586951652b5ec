// thunder-service-cdn under the real executor: the built binary runs sandboxed in a ServiceHost
// (as root, like the executor's own process tests) with a real blob store and a fake IPFS index
// (the node's CID hook); client sessions reach it over loopback TLS exactly as `thunder fetch`
// does (content request, verified stream, DACKs, the client ending the session), and HTTP
// requests reach it the way the gateway's /services/ route does (ExecutedService::
// openConnection with a request head). Also checks that the CDN's request parser and the node's
// (handshake/content_request.h) accept and refuse the same bytes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <map>

#include "cdn/content_request.h"
#include "content/fs_blob_store.h"
#include "content/range_walk.h"
#include "content/stored_blob_source.h"
#include "content/verified_stream.h"
#include "executor/executed_service.h"
#include "handshake/client_driver.h"
#include "handshake/content_request.h"
#include "handshake/session_driver.h"
#include "handshake/test_support.h"
#include "io/runtime.h"
#include "net/tls_transport.h"

namespace thunder {
namespace {

namespace asio = boost::asio;
namespace hs = thunder::handshake;
using namespace std::chrono_literals;
using executor::ServiceHost;
using executor::ServiceState;
using executor::ServiceStatus;
using hs::TerminationReason;

constexpr auto kDeadline = 60s;  // "must have happened by now", not a performance threshold

std::vector<uint8_t> pattern(size_t size, uint8_t seed = 0) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 31 + i / 8191 + seed);
  return out;
}

std::string textOf(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// `thunder fetch` in miniature: sends the request, verifies the stream (the CID form's answer
// starts with the blob id), keeps only the requested bytes, signs one DACK for every byte once
// the stream is complete and ends the session itself.
class FetchClient final : public hs::SessionHandler {
 public:
  FetchClient(hs::ContentRequest request, content::ByteRanges ranges)
      : request_(std::move(request)), ranges_(std::move(ranges)) {
    if (request_.cid.empty()) startDecoder(request_.id);
  }

  void onOpen(hs::SessionControl& control, uint64_t) override {
    control.send(hs::encodeContentRequest(request_));
  }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    received_ += payload.size();
    if (!decoder_) {
      const size_t take = std::min(payload.size(), 32 - id_bytes_.size());
      id_bytes_.insert(id_bytes_.end(), payload.begin(), payload.begin() + take);
      payload = payload.subspan(take);
      if (id_bytes_.size() < 32) return {};
      resolved = BlobId(std::span<const uint8_t, 32>(id_bytes_.data(), 32));
      startDecoder(*resolved);
    }
    THUNDER_TRY(decoder_->feed(payload));
    const auto claimed = decoder_->claimedSize();
    if (claimed && decoder_->consumed() == content::encodedSize(*claimed, ranges_)) {
      THUNDER_TRY(decoder_->finish());
      complete = true;
      hs::ContentRequest committed = request_;
      committed.id = decoder_id_;
      control.acknowledgeBandwidth(received_, hs::contentCommitment(committed, *claimed));
      control.end(TerminationReason::kNormal, "fetched");
    }
    return {};
  }

  std::vector<uint8_t> data;       // the verified bytes of the requested ranges
  std::optional<BlobId> resolved;  // the CID form: the blob id the answer named
  bool complete = false;

 private:
  void startDecoder(const BlobId& id) {
    decoder_id_ = id;
    decoder_.emplace(id, ranges_, [this](uint64_t offset, std::span<const uint8_t> group) {
      for (const auto& r : ranges_.ranges()) {
        const uint64_t from = std::max(r.start, offset);
        const uint64_t to = std::min(r.end, offset + group.size());
        if (from < to) {
          data.insert(data.end(), group.begin() + (from - offset), group.begin() + (to - offset));
        }
      }
      return Result<void>{};
    });
  }

  hs::ContentRequest request_;
  content::ByteRanges ranges_;
  BlobId decoder_id_;
  std::optional<content::RangeDecoder> decoder_;
  std::vector<uint8_t> id_bytes_;
  uint64_t received_ = 0;
};

// A SessionIo for one connection run without a network: sends `input` as the client's payloads
// (then, for HTTP, the empty end-of-body payload), collects what the service answers until the
// connection ends.
class CollectingIo final : public hs::SessionIo {
 public:
  // `end_after`: the client ends the session once that many bytes arrived (0: never).
  CollectingIo(asio::any_io_executor executor, std::vector<std::vector<uint8_t>> input,
               size_t end_after)
      : input_(std::move(input)), end_after_(end_after), timer_(executor) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  asio::awaitable<std::optional<std::vector<uint8_t>>> receive() override {
    if (next_ < input_.size()) co_return input_[next_++];
    boost::system::error_code ignored;
    while (!ended_) co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_return std::nullopt;
  }
  void stopReceiving() override {}
  asio::awaitable<Result<void>> send(std::vector<uint8_t> payload) override {
    if (ended_) co_return fail(ErrorCode::kCancelled, "ended");
    output.insert(output.end(), payload.begin(), payload.end());
    if (end_after_ > 0 && output.size() >= end_after_)
      end(TerminationReason::kNormal, "client done");
    co_return Result<void>{};
  }
  void end(TerminationReason reason, std::string_view message) override {
    if (ended_) return;
    ended_ = true;
    end_reason = reason;
    end_message = std::string(message);
    timer_.cancel();
  }

  std::vector<uint8_t> output;
  TerminationReason end_reason = TerminationReason::kNormal;
  std::string end_message;

 private:
  std::vector<std::vector<uint8_t>> input_;
  size_t end_after_;
  size_t next_ = 0;
  asio::steady_timer timer_;
  bool ended_ = false;
};

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};

HttpAnswer parseHttp(const std::string& raw) {
  HttpAnswer answer;
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return answer;
  answer.status = std::stoi(raw.substr(9, 3));
  size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const size_t next = raw.find("\r\n", line);
    const std::string field = raw.substr(line, next - line);
    const size_t colon = field.find(':');
    std::string name = field.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    answer.headers[name] = field.substr(colon + 2);
    line = next + 2;
  }
  answer.body = raw.substr(head_end + 4);
  return answer;
}

class CdnServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "services run in the sandbox, which these tests run as root";
    runtime_.start();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("cdn_service_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0700);
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    auto store = content::FsBlobStore::open(std::move(store_options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
  }

  void TearDown() override {
    if (listener_) listener_->stop();
    if (host_) host_->stop();
    runtime_.stop();
    std::filesystem::remove_all(dir_);
  }

  // Starts the CDN as service 0 (the content service's id) with the fake IPFS index `cids`.
  void startCdn(std::map<std::string, Result<BlobId>> cids) {
    cids_ = std::move(cids);
    executor::ServiceSpec spec;
    spec.id = ServiceId{0};
    spec.name = "cdn";
    spec.executable = THUNDER_SERVICE_CDN;
    executor::ServiceHostContext context;
    context.executor = runtime_.loop(0).get_executor();
    context.blocking_pool = &runtime_.blockingPool();
    context.store = store_.get();
    context.node_key = node_key_.publicKey();
    context.node_version = "0.1.0-test";
    context.metrics = &metrics_;
    context.work_dir = dir_ / "services" / "0-cdn";
    context.resolve_cid = [this](std::string_view cid) -> Result<BlobId> {
      auto it = cids_.find(std::string(cid));
      if (it == cids_.end()) return fail(ErrorCode::kNotFound, "cid {} is not in the index", cid);
      return it->second;
    };
    executor::SupervisorOptions options;
    options.stop_grace = 500ms;
    auto host = ServiceHost::create(std::move(spec), std::move(context), options);
    ASSERT_TRUE(host) << host.error().message;
    host_ = std::move(host).value();
    host_->start();
    ASSERT_TRUE(host_->waitFor(
        [](const ServiceStatus& s) { return s.state == ServiceState::kRunning; }, kDeadline))
        << (host_->status().last_exit ? host_->status().last_exit->describe() : "not running");
    service_.emplace(*host_);
    ASSERT_TRUE(services_.add(std::make_unique<executor::ExecutedService>(*host_)));

    hs::DackQueueOptions dack_options;
    dack_options.path = dir_ / "dacks";
    auto dacks = hs::DackQueue::open(dack_options);
    ASSERT_TRUE(dacks) << dacks.error().message;
    dacks_ = std::move(dacks).value();
    hub_.emplace(node_key_, services_, clock_, hs::SessionHubOptions{});
    context_.emplace(
        hs::SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    auto identity = net::TlsIdentity::fromSigningKey(node_key_);
    ASSERT_TRUE(identity);
    identity_.emplace(std::move(identity).value());
    auto listener = net::TlsListener::start(runtime_, *identity_, {}, [this](auto conn) {
      return hs::serveSession(std::move(conn), *context_);
    });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = std::move(listener).value();
  }

  Result<hs::SessionOutcome> fetch(hs::SessionHandler& handler) {
    hs::ConnectOptions options;
    options.address = listener_->localAddress();
    options.target.node_pk = node_key_.publicKey();
    options.target.service = ServiceId{0};
    options.session.dack_every_bytes = 0;  // the handler acknowledges verified bytes
    return hs::connectAndRunBlocking(options, client_key_, clock_, handler);
  }

  // One connection run in-process (no network) with `info`, optionally an HTTP head.
  std::unique_ptr<CollectingIo> runDirect(hs::ConnectionInfo info,
                                          std::optional<ipc::HttpRequestHead> http,
                                          std::vector<std::vector<uint8_t>> input,
                                          size_t end_after = 0) {
    auto connection = service_->openConnection(info, std::move(http));
    EXPECT_TRUE(connection) << connection.error().message;
    auto executor = runtime_.loop(1).get_executor();
    auto io = std::make_unique<CollectingIo>(executor, std::move(input), end_after);
    if (!connection) return io;
    auto done = asio::co_spawn(executor, (*connection)->run(*io), asio::use_future);
    EXPECT_EQ(done.wait_for(kDeadline), std::future_status::ready);
    done.get();
    return io;
  }

  HttpAnswer http(std::string method, std::string path, std::vector<ipc::HttpHeader> headers = {}) {
    ipc::HttpRequestHead head{std::move(method), std::move(path), "", std::move(headers)};
    hs::ConnectionInfo info{client_key_.publicKey(), ServiceId{0}, 0, 0, "http", "127.0.0.1:9"};
    auto io = runDirect(info, std::move(head), {std::vector<uint8_t>{}});
    EXPECT_EQ(io->end_reason, TerminationReason::kNormal) << io->end_message;
    return parseHttp(textOf(io->output));
  }

  BlobId put(const std::vector<uint8_t>& bytes) {
    auto stored = store_->putBytes(bytes, {});
    EXPECT_TRUE(stored) << stored.error().message;
    return stored->id;
  }

  // Waits until the host has no connection left (the session and its DACK stores are over).
  void waitIdle() {
    ASSERT_TRUE(host_->waitFor([](const ServiceStatus& s) { return s.connections_active == 0; },
                               kDeadline));
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  std::unique_ptr<content::FsBlobStore> store_;
  MetricsRegistry metrics_;
  std::map<std::string, Result<BlobId>> cids_;
  std::unique_ptr<ServiceHost> host_;
  std::optional<executor::ExecutedService> service_;
  crypto::SigningKey node_key_ = hs::testing::keyFromByte(0xB0);
  crypto::SigningKey client_key_ = hs::testing::keyFromByte(0x02);
  hs::SystemClock clock_;
  hs::SessionServices services_;
  std::unique_ptr<hs::DackQueue> dacks_;
  std::optional<hs::SessionHub> hub_;
  std::optional<hs::SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
};

TEST_F(CdnServiceTest, FetchesABlobByIdVerifiedWithItsDackStored) {
  const auto bytes = pattern(3'000'000);
  const BlobId id = put(bytes);
  startCdn({});
  FetchClient client({id, {}}, content::ByteRanges::all());
  auto outcome = fetch(client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_EQ(outcome->origin, hs::TerminationOrigin::kLocal);  // the client ended it, after its DACK
  ASSERT_TRUE(client.complete);
  EXPECT_EQ(client.data, bytes);
  const uint64_t stream_bytes = content::encodedSize(bytes.size(), content::ByteRanges::all());
  EXPECT_EQ(outcome->received_bytes, stream_bytes);
  waitIdle();
  auto stored = dacks_->list();
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().commodity, hs::Commodity::kBandwidthBytes);
  EXPECT_EQ(stored->front().amount, stream_bytes);
  EXPECT_EQ(stored->front().scope.service, ServiceId{0});
  EXPECT_EQ(stored->front().commitment.hash, hs::Hash32(id.bytes()));
  EXPECT_GE(host_->status().bytes_out, stream_bytes);
}

TEST_F(CdnServiceTest, FetchesTheUnionOfRanges) {
  const auto bytes = pattern(2'000'000, 7);
  const BlobId id = put(bytes);
  startCdn({});
  // Overlapping and touching ranges, out of order: the service streams their union.
  hs::ContentRequest request{id, {{1'500'000, 1'600'000}, {10, 20}, {1'550'000, 1'700'000}}};
  content::ByteRanges ranges;
  ASSERT_TRUE(ranges.add(10, 20));
  ASSERT_TRUE(ranges.add(1'500'000, 1'700'000));
  FetchClient client(request, ranges);
  auto outcome = fetch(client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  std::vector<uint8_t> expected(bytes.begin() + 10, bytes.begin() + 20);
  expected.insert(expected.end(), bytes.begin() + 1'500'000, bytes.begin() + 1'700'000);
  EXPECT_EQ(client.data, expected);
}

TEST_F(CdnServiceTest, FetchesByCidThroughTheNodesResolveCall) {
  const auto bytes = pattern(100'000, 3);
  const BlobId id = put(bytes);
  const std::string cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
  startCdn({{cid, id}});
  FetchClient client({BlobId{}, {}, cid}, content::ByteRanges::all());
  auto outcome = fetch(client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  ASSERT_TRUE(client.resolved);
  EXPECT_EQ(*client.resolved, id);
  EXPECT_EQ(client.data, bytes);
  waitIdle();
  auto stored = dacks_->list();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().amount,
            32 + content::encodedSize(bytes.size(), content::ByteRanges::all()));
  EXPECT_EQ(stored->front().commitment.hash, hs::Hash32(id.bytes()));
}

TEST_F(CdnServiceTest, ErrorsAreTheContentProtocolsMessages) {
  const BlobId stored = put(pattern(10));
  const BlobId unknown = *BlobId::fromHex(std::string(64, 'a'));
  startCdn({{"bafkbroken", fail(ErrorCode::kNotFound, "block bafkx of it is not here")},
            {"bafkgone", unknown},
            {"bafknoipfs", fail(ErrorCode::kUnavailable, "this node has no IPFS store")}});
  auto ask = [&](const hs::ContentRequest& request) {
    FetchClient client(request, content::ByteRanges::all());
    auto outcome = fetch(client);
    EXPECT_TRUE(outcome) << outcome.error().message;
    if (!outcome) return std::string();
    EXPECT_EQ(outcome->reason, TerminationReason::kServiceError) << outcome->describe();
    EXPECT_TRUE(client.data.empty());
    return outcome->message;
  };
  EXPECT_EQ(ask({unknown, {}}), "not_found: blob " + unknown.hex() + " is not stored on this node");
  EXPECT_EQ(ask({BlobId{}, {}, "bafkbroken"}),
            "not_found: cid bafkbroken: block bafkx of it is not here");
  EXPECT_EQ(ask({BlobId{}, {}, "bafkgone"}),
            "not_found: cid bafkgone: blob " + unknown.hex() +
                " (the content of cid bafkgone) is not stored on this node");
  EXPECT_EQ(ask({BlobId{}, {}, "bafknoipfs"}),
            "unavailable: cid bafknoipfs: this node has no IPFS store");
  EXPECT_EQ(ask({BlobId{}, {}, "bafkunknown"}),
            "not_found: cid bafkunknown: cid bafkunknown is not in the index");
  // A request whose length does not match its range count.
  hs::ConnectionInfo info{client_key_.publicKey(), ServiceId{0}, 0, 0, "tls", "127.0.0.1:9"};
  auto malformed = hs::encodeContentRequest({stored, {}});
  malformed.push_back(0);
  auto io = runDirect(info, std::nullopt, {malformed});
  EXPECT_EQ(io->end_reason, TerminationReason::kServiceError);
  EXPECT_EQ(io->end_message, "bad_request: 37 bytes, a request with 0 ranges has 36");
  EXPECT_TRUE(io->output.empty());
  // The service answered every one of them and is still the same process.
  EXPECT_EQ(host_->status().restarts, 0u);
  FetchClient good({stored, {}}, content::ByteRanges::all());
  auto outcome = fetch(good);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
}

TEST_F(CdnServiceTest, AResumedLaneContinuesAtTheAcknowledgedByte) {
  const auto bytes = pattern(500'000, 9);
  const BlobId id = put(bytes);
  startCdn({});
  auto source = content::StoredBlobSource::open(*store_, id);
  ASSERT_TRUE(source);
  std::vector<uint8_t> stream;
  ASSERT_TRUE(content::encodeRanges(**source, content::ByteRanges::all(),
                                    [&](std::span<const uint8_t> piece) -> Result<void> {
                                      stream.insert(stream.end(), piece.begin(), piece.end());
                                      return {};
                                    }));
  // The client acknowledged 123,457 stream bytes before its connection dropped; on the resumed
  // lane it repeats its request, and the node sends the rest of the same stream.
  constexpr uint64_t kAcked = 123'457;
  hs::ConnectionInfo info{client_key_.publicKey(), ServiceId{0}, 4, kAcked, "tls", "127.0.0.1:9"};
  auto io =
      runDirect(info, std::nullopt, {hs::encodeContentRequest({id, {}})}, stream.size() - kAcked);
  ASSERT_EQ(io->output.size(), stream.size() - kAcked);
  EXPECT_TRUE(std::equal(io->output.begin(), io->output.end(), stream.begin() + kAcked));
}

TEST_F(CdnServiceTest, HttpGetHeadRangesAndConditionals) {
  const std::string html = "<!doctype html><title>t</title><p>hello from the cdn</p>\n";
  const BlobId page = put(std::vector<uint8_t>(html.begin(), html.end()));
  const auto bytes = pattern(1'234'567, 5);
  const BlobId big = put(bytes);
  const std::string cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  startCdn({{cid, big}});

  HttpAnswer get = http("GET", "/b3/" + page.hex());
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, html);
  EXPECT_EQ(get.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(get.headers["content-length"], std::to_string(html.size()));
  EXPECT_EQ(get.headers["etag"], "\"" + page.hex() + "\"");
  EXPECT_EQ(get.headers["cache-control"], "public, max-age=31536000, immutable");

  HttpAnswer head = http("HEAD", "/b3/" + big.hex());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-length"], std::to_string(bytes.size()));
  EXPECT_EQ(head.headers["content-type"], "application/octet-stream");

  HttpAnswer by_cid = http("GET", "/ipfs/" + cid);
  EXPECT_EQ(by_cid.status, 200);
  EXPECT_EQ(by_cid.body, textOf(bytes));  // larger than one read batch: several pieces
  EXPECT_EQ(by_cid.headers["x-ipfs-path"], "/ipfs/" + cid);
  EXPECT_EQ(by_cid.headers["etag"], "\"" + big.hex() + "\"");

  HttpAnswer part = http("GET", "/b3/" + big.hex(), {{"Range", "bytes=1000000-1000099"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, textOf(std::span(bytes).subspan(1'000'000, 100)));
  EXPECT_EQ(part.headers["content-range"], "bytes 1000000-1000099/1234567");
  HttpAnswer tail = http("GET", "/b3/" + big.hex(), {{"Range", "bytes=-7"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, textOf(std::span(bytes).last(7)));
  HttpAnswer outside = http("GET", "/b3/" + big.hex(), {{"Range", "bytes=2000000-"}});
  EXPECT_EQ(outside.status, 416);
  EXPECT_EQ(outside.headers["content-range"], "bytes */1234567");

  HttpAnswer cached =
      http("GET", "/b3/" + page.hex(), {{"If-None-Match", "\"" + page.hex() + "\""}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_EQ(cached.body, "");
  EXPECT_EQ(cached.headers["content-length"], std::to_string(html.size()));
}

TEST_F(CdnServiceTest, HttpErrorsNameTheCause) {
  const BlobId unknown = *BlobId::fromHex(std::string(64, 'b'));
  startCdn({});
  HttpAnswer missing = http("GET", "/b3/" + unknown.hex());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "404 Not Found: blob " + unknown.hex() + " is not stored on this node\n");
  HttpAnswer no_cid = http("GET", "/ipfs/bafkreimissing");
  EXPECT_EQ(no_cid.status, 404);
  EXPECT_EQ(no_cid.body,
            "404 Not Found: cid bafkreimissing: cid bafkreimissing is not in the index\n");
  HttpAnswer bad_id = http("GET", "/b3/xyz");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(bad_id.body.find("'xyz' is not a blob id"), std::string::npos) << bad_id.body;
  HttpAnswer route = http("GET", "/elsewhere");
  EXPECT_EQ(route.status, 404);
  EXPECT_NE(route.body.find("no such route: /elsewhere"), std::string::npos) << route.body;
  HttpAnswer post = http("POST", "/b3/" + unknown.hex());
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  HttpAnswer head_missing = http("HEAD", "/b3/" + unknown.hex());
  EXPECT_EQ(head_missing.status, 404);
  EXPECT_EQ(head_missing.body, "");
}

// The CDN's parser (SDK-only, services/cdn/content_request.h) and the node's
// (handshake/content_request.h) accept the same requests and refuse the same bytes.
TEST(CdnContentRequest, AgreesWithTheNodesParser) {
  BlobId id;
  id.mutableBytes()[3] = 9;
  std::vector<std::vector<uint8_t>> inputs = {
      hs::encodeContentRequest({id, {}}),
      hs::encodeContentRequest({id, {{0, 10}, {5, 5}, {100, 200}}}),
      hs::encodeContentRequest({BlobId{}, {}, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}),
      hs::encodeContentRequest({BlobId{}, {{7, 9}}, "bafkreigh2akiscaildc"}),
      std::vector<uint8_t>(36, 0),
      std::vector<uint8_t>(38, 0),
      std::vector<uint8_t>(35, 1),
  };
  const auto good = hs::encodeContentRequest({id, {{0, 10}}});
  for (size_t n = 0; n <= good.size() + 1; ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + std::min(n, good.size()));
    if (n > good.size()) cut.push_back(0);
    inputs.push_back(cut);
  }
  auto inverted = good;
  inverted[36] = 11;
  inputs.push_back(inverted);
  auto binary_cid = hs::encodeContentRequest({BlobId{}, {}, "bafy"});
  binary_cid.back() = 0x07;
  inputs.push_back(binary_cid);
  for (const auto& input : inputs) {
    auto node = hs::parseContentRequest(input);
    auto cdn = cdn::parseContentRequest(input);
    ASSERT_EQ(node.has_value(), cdn.has_value())
        << input.size() << " bytes: " << (node ? cdn.error().message : node.error().message);
    if (!node) {
      EXPECT_TRUE(cdn.error().message.starts_with("bad_request: ")) << cdn.error().message;
      continue;
    }
    EXPECT_EQ(node->id, cdn->id);
    EXPECT_EQ(node->cid, cdn->cid);
    ASSERT_EQ(node->ranges.size(), cdn->ranges.size());
    for (size_t i = 0; i < node->ranges.size(); ++i) {
      EXPECT_EQ(node->ranges[i].start, cdn->ranges[i].start);
      EXPECT_EQ(node->ranges[i].end, cdn->ranges[i].end);
    }
  }
}

}  // namespace
}  // namespace thunder
