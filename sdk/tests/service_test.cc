// The C++ SDK against a fake node (tests/fake_node.h): Hellos, connections, node calls, ends,
// errors and shutdown. The service runs on its own thread; the test plays the node with blocking
// calls, so every step is synchronized by the messages themselves.
#include "thunder/sdk/service.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <stdexcept>

#include "impl/event.h"
#include "tests/fake_node.h"
#include "thunder/sdk/http.h"

namespace thunder::sdk {
namespace {

namespace asio = boost::asio;
using testing::bytesOf;
using testing::FakeNode;
using testing::plainHeader;
using testing::receiveData;
using testing::receiveUntilEnd;
using testing::ServiceThread;
using testing::text;

std::unique_ptr<Service> makeService(FakeNode& node, ServiceOptions options = {}) {
  auto service = Service::fromFd(node.takeServiceFd(), options);
  EXPECT_TRUE(service) << service.error().message;
  return std::move(*service);
}

// Echoes every payload until the client ends.
asio::awaitable<void> echo(Connection& connection) {
  for (;;) {
    auto bytes = co_await connection.read();
    if (!bytes || !*bytes) co_return;
    const Bytes chunk = std::move(**bytes);
    if (!co_await connection.write(std::span<const uint8_t>(chunk))) co_return;
  }
}

TEST(Service, HellosThenControlCloseEndsRun) {
  FakeNode node;
  auto service = makeService(node);
  service->onConnection(echo);
  ServiceThread thread(*service);
  node.hello();
  node.closeControl();
  auto result = thread.join();
  EXPECT_TRUE(result) << result.error().message;
}

TEST(Service, EchoesPayloadsAndSeesTheHeader) {
  FakeNode node;
  auto service = makeService(node);
  ConnectionInfo seen;
  std::optional<EndInfo> peer_end;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    seen = c.info();
    co_await echo(c);
    peer_end = c.peerEnd();
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(41, "quic"));
  for (const char* chunk : {"hello", "", "world"}) {
    ASSERT_TRUE(data.send(ipc::Payload{bytesOf(chunk)}));
    if (*chunk == '\0') continue;  // an empty payload is echoed as nothing
    ipc::Message echoed = receiveData(data);
    ASSERT_TRUE(std::holds_alternative<ipc::Payload>(echoed));
    EXPECT_EQ(text(std::get<ipc::Payload>(echoed).bytes), chunk);
  }
  ASSERT_TRUE(data.send(ipc::End{ipc::EndReason::kNormal, "client left"}));
  // After the node's End the service closes its end without sending End.
  auto after = data.receive();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  node.closeControl();
  ASSERT_TRUE(thread.join());
  EXPECT_EQ(seen.connection_id, 41u);
  std::string key_hex;
  for (int i = 0; i < 32; ++i) key_hex += "ab";
  EXPECT_EQ(seen.clientKeyHex(), key_hex);
  EXPECT_EQ(seen.service_id, 7u);
  EXPECT_EQ(seen.lane, 3u);
  EXPECT_EQ(seen.transport, "quic");
  EXPECT_FALSE(seen.http);
  ASSERT_TRUE(peer_end);
  EXPECT_EQ(peer_end->reason, EndReason::kNormal);
  EXPECT_EQ(peer_end->message, "client left");
}

TEST(Service, ServiceEndsAndHandlerReturnSendsEndNormal) {
  FakeNode node;
  auto service = makeService(node);
  service->onConnection([](Connection& c) -> asio::awaitable<void> {
    if (c.id() == 1) {
      (void)co_await c.write("bye");
      (void)co_await c.end(EndReason::kError, "no thanks");
      auto again = co_await c.write("more");  // after end(): refused, nothing sent
      if (again || again.error().code != ErrorCode::kInvalidArgument) {
        (void)co_await c.write("BUG");
      }
    }
    // connection 2: return at once -> End normal
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel one = node.connect(plainHeader(1));
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(one, &end), "bye");
  EXPECT_EQ(end.reason, ipc::EndReason::kError);
  EXPECT_EQ(end.message, "no thanks");
  ipc::UnixChannel two = node.connect(plainHeader(2));
  EXPECT_EQ(receiveUntilEnd(two, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);
  node.closeControl();
  EXPECT_TRUE(thread.join());
}

TEST(Service, HttpHeadPassesThroughAndResponseIsHttp11) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<HttpRequestHead> head;
  std::string body_seen;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    head = c.info().http;
    auto body = co_await readHttpBody(c, 1024);
    if (body) body_seen = std::string(body->begin(), body->end());
    HttpResponse response;
    response.headers.push_back({"Content-Type", "text/plain"});
    response.body = c.info().http->method + " " + c.info().http->path;
    (void)co_await writeHttpResponse(c, std::move(response));
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel get = node.connect(testing::httpHeader(5, "POST", "/hello", "a=1"));
  ASSERT_TRUE(get.send(ipc::Payload{bytesOf("abc")}));
  ASSERT_TRUE(get.send(ipc::Payload{bytesOf("def")}));
  ASSERT_TRUE(get.send(ipc::Payload{}));  // end of the request body
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(get, &end),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
            "POST /hello");
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);
  // HEAD: same head, no body.
  ipc::UnixChannel head_request = node.connect(testing::httpHeader(6, "HEAD", "/x"));
  ASSERT_TRUE(head_request.send(ipc::Payload{}));
  EXPECT_EQ(receiveUntilEnd(head_request),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_TRUE(head);
  EXPECT_EQ(head->method, "HEAD");
  EXPECT_EQ(head->path, "/x");
  EXPECT_EQ(head->headers.size(), 2u);
  EXPECT_EQ(head->header("host"), "example.test");
  EXPECT_EQ(head->header("ACCEPT"), "*/*");
  EXPECT_FALSE(head->header("cookie"));
  EXPECT_EQ(body_seen, "");  // the HEAD request's (empty) body, read last
}

TEST(Service, StreamBlobAndLargeWritesAreSplitIntoFrames) {
  FakeNode node;
  auto service = makeService(node);
  Result<void> bad_range;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    BlobId blob;
    blob.mutableBytes()[0] = 0x42;
    std::vector<ByteRange> ranges;
    for (uint64_t i = 0; i < 70; ++i) ranges.push_back({i * 100, 10 + i});
    (void)co_await c.streamBlob(blob, std::span<const ByteRange>(ranges));
    const Bytes big(kMaxPayloadBytes + 1000, 0x5a);
    (void)co_await c.write(std::span<const uint8_t>(big));
    const ByteRange empty{5, 0};
    bad_range = co_await c.streamBlob(blob, empty);
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(9));
  ipc::Message first = receiveData(data);
  ipc::Message second = receiveData(data);
  ASSERT_TRUE(std::holds_alternative<ipc::StreamBlob>(first));
  ASSERT_TRUE(std::holds_alternative<ipc::StreamBlob>(second));
  const auto& a = std::get<ipc::StreamBlob>(first);
  const auto& b = std::get<ipc::StreamBlob>(second);
  EXPECT_EQ(a.blob[0], 0x42);
  EXPECT_EQ(a.mode, ipc::StreamMode::kVerified);
  ASSERT_EQ(a.ranges.size(), 64u);
  ASSERT_EQ(b.ranges.size(), 6u);
  EXPECT_EQ(a.ranges[1], (ipc::ByteRange{100, 11}));
  EXPECT_EQ(b.ranges[5], (ipc::ByteRange{6900, 79}));
  ipc::Message p1 = receiveData(data);
  ipc::Message p2 = receiveData(data);
  EXPECT_EQ(std::get<ipc::Payload>(p1).bytes.size(), kMaxPayloadBytes);
  EXPECT_EQ(std::get<ipc::Payload>(p2).bytes.size(), 1000u);
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(data, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_FALSE(bad_range);
  EXPECT_EQ(bad_range.error().code, ErrorCode::kInvalidArgument);
}

// Three node calls in flight at once; the node answers them in reverse order.
TEST(Service, ConcurrentNodeCallsGetOutOfOrderReplies) {
  FakeNode node;
  auto service = makeService(node);
  struct Results {
    std::optional<Result<NodeInfo>> info;
    std::optional<Result<void>> log;
    std::optional<Result<void>> usage;
    int pending = 3;
  };
  Results results;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    Service& s = c.service();
    Event all_done(s.context().get_executor());
    auto finish = [&] {
      if (--results.pending == 0) all_done.set();
    };
    auto info = [&]() -> asio::awaitable<void> {
      results.info = co_await s.nodeInfo();
      finish();
    };
    auto log = [&]() -> asio::awaitable<void> {
      results.log = co_await s.log(LogLevel::kWarn, "careful");
      finish();
    };
    auto usage = [&]() -> asio::awaitable<void> {
      results.usage = co_await s.proposeUsage(c.id(), Commodity::kBandwidthBytes, 1234);
      finish();
    };
    asio::co_spawn(s.context(), info(), asio::detached);
    asio::co_spawn(s.context(), log(), asio::detached);
    asio::co_spawn(s.context(), usage(), asio::detached);
    co_await all_done.wait();
    (void)co_await c.write("done");
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(77));
  std::vector<ipc::Received> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(node.receive());
  std::set<uint32_t> ids;
  for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
    const uint32_t id = *ipc::correlationId(it->message);
    ids.insert(id);
    if (std::holds_alternative<ipc::NodeInfoRequest>(it->message)) {
      node.reply(ipc::NodeInfoReply{id, testing::keyOf(0x11), 7, "0.1.0-test"});
    } else if (const auto* log = std::get_if<ipc::LogRequest>(&it->message)) {
      EXPECT_EQ(log->level, ipc::LogLevel::kWarn);
      EXPECT_EQ(log->message, "careful");
      node.reply(ipc::AckReply{id});
    } else if (const auto* usage = std::get_if<ipc::ProposeUsageRequest>(&it->message)) {
      EXPECT_EQ(usage->connection_id, 77u);
      EXPECT_EQ(usage->amount, 1234u);
      node.reply(ipc::ErrorReply{id, ErrorCode::kNotFound, "no such connection"});
    } else {
      ADD_FAILURE() << "unexpected request";
    }
  }
  EXPECT_EQ(ids.size(), 3u);  // distinct correlation ids
  EXPECT_EQ(receiveUntilEnd(data), "done");
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_TRUE(results.info && *results.info);
  EXPECT_EQ((*results.info)->service_id, 7u);
  EXPECT_EQ((*results.info)->node_version, "0.1.0-test");
  EXPECT_EQ((*results.info)->node_key.hex().substr(0, 4), "1111");
  ASSERT_TRUE(results.log);
  EXPECT_TRUE(*results.log);
  ASSERT_TRUE(results.usage);
  ASSERT_FALSE(*results.usage);
  EXPECT_EQ(results.usage->error().code, ErrorCode::kNotFound);
  EXPECT_EQ(results.usage->error().message, "node: no such connection");
}

TEST(Service, MetricsAndReservedCalls) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<Result<void>> good, bad;
  std::optional<Result<FetchedBlob>> fetched;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    const std::vector<MetricSample> samples = {{"requests_total", MetricKind::kCounter, 5},
                                               {"open_now", MetricKind::kGauge, 2}};
    good = co_await c.service().metrics(samples);
    const std::vector<MetricSample> invalid = {{"Bad Name", MetricKind::kGauge, 1}};
    bad = co_await c.service().metrics(invalid);  // refused before it is sent
    fetched = co_await c.service().fetchOrigin("https://example.test/x");
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(1));
  ipc::Received metrics = node.receive();
  const auto& request = std::get<ipc::MetricsRequest>(metrics.message);
  ASSERT_EQ(request.samples.size(), 2u);
  EXPECT_EQ(request.samples[0],
            (ipc::MetricSample{"requests_total", ipc::MetricKind::kCounter, 5}));
  EXPECT_EQ(request.samples[1], (ipc::MetricSample{"open_now", ipc::MetricKind::kGauge, 2}));
  node.reply(ipc::AckReply{request.id});
  ipc::Received fetch = node.receive();
  const auto& fetch_request = std::get<ipc::FetchOriginRequest>(fetch.message);
  EXPECT_EQ(fetch_request.url, "https://example.test/x");
  node.reply(ipc::ErrorReply{fetch_request.id, ErrorCode::kUnavailable, "not yet"});
  EXPECT_EQ(receiveUntilEnd(data), "");
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_TRUE(good && bad && fetched);
  EXPECT_TRUE(*good);
  ASSERT_FALSE(*bad);
  EXPECT_EQ(bad->error().code, ErrorCode::kInvalidArgument);
  ASSERT_FALSE(*fetched);
  EXPECT_EQ(fetched->error().code, ErrorCode::kUnavailable);
}

TEST(Service, ResolveCallsAndRawStreamBlob) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<Result<ResolvedContent>> by_blob, by_cid, missing, too_long;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    BlobId blob;
    blob.mutableBytes()[0] = 0x11;
    by_blob = co_await c.service().resolveBlob(blob);
    by_cid = co_await c.service().resolveCid("bafkreigh2akiscaild");
    missing = co_await c.service().resolveCid("QmMissing");
    const std::string long_cid(kMaxCidText + 1, 'b');
    too_long = co_await c.service().resolveCid(long_cid);  // refused before it is sent
    if (*by_cid) (void)co_await c.streamBlob((*by_cid)->blob, ByteRange{3, 4}, StreamMode::kRaw);
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(4));
  ipc::Received first = node.receive();
  const auto& blob_request = std::get<ipc::ResolveContentRequest>(first.message);
  EXPECT_EQ(blob_request.kind, ipc::ContentRefKind::kBlob);
  EXPECT_EQ(blob_request.blob[0], 0x11);
  node.reply(ipc::ResolveContentReply{blob_request.id, blob_request.blob, 77});
  ipc::Received second = node.receive();
  const auto& cid_request = std::get<ipc::ResolveContentRequest>(second.message);
  EXPECT_EQ(cid_request.kind, ipc::ContentRefKind::kCid);
  EXPECT_EQ(cid_request.cid, "bafkreigh2akiscaild");
  node.reply(ipc::ResolveContentReply{cid_request.id, testing::keyOf(0x22), 9});
  ipc::Received third = node.receive();
  const auto& missing_request = std::get<ipc::ResolveContentRequest>(third.message);
  node.reply(ipc::ErrorReply{missing_request.id, ErrorCode::kNotFound, "no such cid"});
  ipc::Message stream = receiveData(data);
  ASSERT_TRUE(std::holds_alternative<ipc::StreamBlob>(stream));
  const auto& raw = std::get<ipc::StreamBlob>(stream);
  EXPECT_EQ(raw.mode, ipc::StreamMode::kRaw);
  EXPECT_EQ(raw.blob, testing::keyOf(0x22));
  EXPECT_EQ(raw.ranges, (std::vector<ipc::ByteRange>{{3, 4}}));
  EXPECT_EQ(receiveUntilEnd(data), "");
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_TRUE(by_blob && by_cid && missing && too_long);
  ASSERT_TRUE(*by_blob) << by_blob->error().message;
  EXPECT_EQ((*by_blob)->size, 77u);
  EXPECT_EQ((*by_blob)->blob.bytes()[0], 0x11);
  ASSERT_TRUE(*by_cid) << by_cid->error().message;
  EXPECT_EQ((*by_cid)->size, 9u);
  ASSERT_FALSE(*missing);
  EXPECT_EQ(missing->error().code, ErrorCode::kNotFound);
  ASSERT_FALSE(*too_long);
  EXPECT_EQ(too_long->error().code, ErrorCode::kInvalidArgument);
}

int memfdWith(std::string_view content) {
  const int fd = ::memfd_create("sdk-test", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  return fd;
}

TEST(Service, OpenBlobReceivesADescriptorAndPutBlobSendsOne) {
  FakeNode node;
  auto service = makeService(node);
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    BlobId blob;
    blob.mutableBytes()[31] = 9;
    auto opened = co_await c.service().openBlob(blob, 2, 5);
    if (!opened) {
      (void)co_await c.end(EndReason::kError, opened.error().message);
      co_return;
    }
    std::string range(opened->length, '\0');
    (void)::pread(opened->fd.get(), range.data(), range.size(), opened->offset);
    (void)co_await c.write(range);
    const int fd = memfdWith("stored bytes");
    ::lseek(fd, 0, SEEK_SET);
    auto put = co_await c.service().putBlob(fd, 12);
    ::close(fd);
    const std::string answer = put ? put->hex().substr(0, 6) : put.error().message;
    (void)co_await c.write(answer);
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(3));
  ipc::Received open = node.receive();
  const auto& request = std::get<ipc::OpenBlobRequest>(open.message);
  EXPECT_EQ(request.blob[31], 9);
  EXPECT_EQ(request.offset, 2u);
  EXPECT_EQ(request.length, 5u);
  const int content = memfdWith("0123456789");
  const int fds[] = {content};
  node.reply(ipc::OpenBlobReply{request.id, 10, 2, 5}, fds);
  ::close(content);
  ipc::Received put = node.receive();
  const auto& put_request = std::get<ipc::PutBlobRequest>(put.message);
  EXPECT_EQ(put_request.size, 12u);
  ASSERT_EQ(put.fds.size(), 1u);
  char stored[12];
  EXPECT_EQ(::read(put.fds[0].get(), stored, sizeof stored), 12);
  EXPECT_EQ(std::string(stored, 12), "stored bytes");
  node.reply(ipc::PutBlobReply{put_request.id, testing::keyOf(0xcd)});
  EXPECT_EQ(receiveUntilEnd(data), "23456cdcdcd");
  node.closeControl();
  ASSERT_TRUE(thread.join());
}

TEST(Service, GarbageOnTheControlChannelEndsRunWithAnError) {
  FakeNode node;
  auto service = makeService(node);
  service->onConnection(echo);
  ServiceThread thread(*service);
  node.hello();
  const uint8_t garbage[] = {0xff, 0, 4, 0, 0, 0, 1, 2, 3, 4};
  ASSERT_EQ(::write(node.control().nativeHandle(), garbage, sizeof garbage),
            static_cast<ssize_t>(sizeof garbage));
  auto result = thread.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCorruption);
  EXPECT_NE(result.error().message.find("control channel"), std::string::npos);
}

TEST(Service, AReplyToNothingIsAProtocolError) {
  FakeNode node;
  auto service = makeService(node);
  ServiceThread thread(*service);
  node.hello();
  node.reply(ipc::AckReply{99});
  auto result = thread.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCorruption);
}

TEST(Service, HelloWithoutACommonVersionEndsRun) {
  FakeNode node;
  auto service = makeService(node);
  ServiceThread thread(*service);
  node.hello(ipc::Hello{ipc::Channel::kControl, 2, 3});
  auto result = thread.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
}

TEST(Service, GarbageOnADataChannelEndsOnlyThatConnection) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<Error> read_error;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    for (;;) {
      auto bytes = co_await c.read();
      if (!bytes) {
        read_error = bytes.error();
        co_return;
      }
      if (!*bytes) co_return;
      const Bytes chunk = std::move(**bytes);
      (void)co_await c.write(std::span<const uint8_t>(chunk));
    }
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel bad = node.connect(plainHeader(1));
  ipc::UnixChannel good = node.connect(plainHeader(2));
  const uint8_t garbage[] = {0x31, 0, 0xff, 0xff, 0xff, 0x7f};  // a Payload over the limit
  ASSERT_EQ(::write(bad.nativeHandle(), garbage, sizeof garbage),
            static_cast<ssize_t>(sizeof garbage));
  auto closed = bad.receive();  // the service dropped the channel without End
  ASSERT_FALSE(closed);
  ASSERT_TRUE(good.send(ipc::Payload{bytesOf("still here")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(good)).bytes), "still here");
  ASSERT_TRUE(good.send(ipc::End{}));
  node.closeControl();
  ASSERT_TRUE(thread.join());
  ASSERT_TRUE(read_error);
  EXPECT_EQ(read_error->code, ErrorCode::kInvalidArgument);
}

TEST(Service, AHandlerExceptionEndsOnlyItsConnection) {
  FakeNode node;
  auto service = makeService(node);
  service->onConnection([](Connection& c) -> asio::awaitable<void> {
    for (;;) {
      auto bytes = co_await c.read();
      if (!bytes || !*bytes) co_return;
      if (text(**bytes) == "boom") throw std::runtime_error("boom requested");
      const Bytes chunk = std::move(**bytes);
      (void)co_await c.write(std::span<const uint8_t>(chunk));
    }
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel a = node.connect(plainHeader(1));
  ipc::UnixChannel b = node.connect(plainHeader(2));
  ASSERT_TRUE(a.send(ipc::Payload{bytesOf("boom")}));
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(a, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kError);
  EXPECT_EQ(end.message, "service handler failed: boom requested");
  ASSERT_TRUE(b.send(ipc::Payload{bytesOf("ping")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(b)).bytes), "ping");
  ASSERT_TRUE(b.send(ipc::End{}));
  node.closeControl();
  EXPECT_TRUE(thread.join());
}

TEST(Service, ConnectionsOverTheLimitAreRefusedAsOverloaded) {
  FakeNode node;
  ServiceOptions options;
  options.max_connections = 1;
  auto service = makeService(node, options);
  service->onConnection(echo);
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel first = node.connect(plainHeader(1));
  // Make sure the first is set up (it echoes) before the second arrives.
  ASSERT_TRUE(first.send(ipc::Payload{bytesOf("x")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(first)).bytes), "x");
  // The refused channel gets the service's Hello and End overloaded, whatever the node sends
  // (its own Hello may find the channel already closed).
  ipc::UnixChannel second = node.notify(2);
  (void)second.send(ipc::Hello{ipc::Channel::kData, 1, 1});
  EXPECT_TRUE(std::holds_alternative<ipc::Hello>(receiveData(second)));
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(second, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kOverloaded);
  ASSERT_TRUE(first.send(ipc::End{}));
  node.closeControl();
  EXPECT_TRUE(thread.join());
}

TEST(Service, RunningConnectionsFinishAfterTheControlChannelCloses) {
  FakeNode node;
  ServiceOptions options;
  options.drain_timeout = std::chrono::hours(1);  // never the reason this test ends
  auto service = makeService(node, options);
  service->onConnection(echo);
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(1));
  ASSERT_TRUE(data.send(ipc::Payload{bytesOf("before")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(data)).bytes), "before");
  node.closeControl();
  ASSERT_TRUE(data.send(ipc::Payload{bytesOf("after")}));  // still served while draining
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(data)).bytes), "after");
  ASSERT_TRUE(data.send(ipc::End{}));
  EXPECT_TRUE(thread.join());
}

TEST(Service, DrainTimeoutAbortsConnectionsWithEndShutdown) {
  FakeNode node;
  ServiceOptions options;
  options.drain_timeout = std::chrono::milliseconds(0);
  auto service = makeService(node, options);
  std::optional<Error> read_error;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    (void)co_await c.write("ready");
    auto bytes = co_await c.read();  // never answered: aborted at shutdown
    if (!bytes) read_error = bytes.error();
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(1));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(data)).bytes), "ready");
  node.closeControl();
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(data, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kShutdown);
  EXPECT_TRUE(thread.join());
  service.reset();  // destroys whatever the handler still holds
}

TEST(Service, StopEndsRunLikeAControlClose) {
  FakeNode node;
  auto service = makeService(node);
  ServiceThread thread(*service);
  node.hello();
  service->stop();
  auto closed = node.control().receive();  // the service shut its end
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(thread.join());
}

TEST(Service, AcceptHandsOutConnectionsWithoutAHandler) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<Error> last;
  auto server = [&]() -> asio::awaitable<void> {
    for (;;) {
      auto connection = co_await service->accept();
      if (!connection) {
        last = connection.error();
        co_return;
      }
      (void)co_await (*connection)->write("accepted");
      // Dropping the connection ends it normally.
    }
  };
  asio::co_spawn(service->context(), server(), asio::detached);
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(1));
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(data, &end), "accepted");
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);
  node.closeControl();
  EXPECT_TRUE(thread.join());
  ASSERT_TRUE(last);
  EXPECT_EQ(last->code, ErrorCode::kUnavailable);
}

TEST(Service, NodeCallsFailOnceTheControlChannelIsClosed) {
  FakeNode node;
  auto service = makeService(node);
  std::optional<Result<NodeInfo>> info;
  service->onConnection([&](Connection& c) -> asio::awaitable<void> {
    (void)co_await c.write("go");
    info = co_await c.service().nodeInfo();  // the node closes instead of answering
  });
  ServiceThread thread(*service);
  node.hello();
  ipc::UnixChannel data = node.connect(plainHeader(1));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(data)).bytes), "go");
  (void)node.receive();  // the node_info request
  node.closeControl();
  EXPECT_EQ(receiveUntilEnd(data), "");
  EXPECT_TRUE(thread.join());
  ASSERT_TRUE(info);
  ASSERT_FALSE(*info);
  EXPECT_EQ(info->error().code, ErrorCode::kUnavailable);
}

TEST(Service, FromEnvironmentExplainsAMissingVariable) {
  ::unsetenv("THUNDER_CONTROL_FD");
  auto service = Service::fromEnvironment();
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(service.error().message.find("THUNDER_CONTROL_FD"), std::string::npos);
  ::setenv("THUNDER_CONTROL_FD", "3x", 1);
  EXPECT_FALSE(Service::fromEnvironment());
  ::unsetenv("THUNDER_CONTROL_FD");
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[1]);
  auto not_socket = Service::fromFd(pipe_fds[0]);
  ASSERT_FALSE(not_socket);
}

}  // namespace
}  // namespace thunder::sdk
