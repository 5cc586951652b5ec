// The /services/<id>/… route over a fake ServiceRouter whose services are coroutines on a
// ServicePipe (the same pipe the node's router uses): request heads and bodies in, responses
// (Content-Length, chunked, until the end) out, 64 MiB streamed both ways with bounded memory,
// services that die, stall or never answer, refusals, HEAD, and curl's view of a cut response.
#include "gateway/service_route.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "gateway/gateway_server.h"
#include "gateway/gateway_test_support.h"
#include "gateway/service_pipe.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
using testing::GatewayFixture;
using testing::RawClient;
using testing::ReplyTo;

constexpr uint64_t kLargeSize = 64ull << 20;
// How far a streaming gateway may let one side run ahead of the other (socket buffers and a
// few slices); a gateway that buffered whole bodies would exceed it.
constexpr uint64_t kMaxInFlight = 32ull << 20;

uint8_t patternByte(uint64_t offset) {
  return static_cast<uint8_t>((offset * 131) ^ (offset >> 13));
}

// (Coroutine arguments here are named objects or literals: GCC 12 mishandles temporaries with
// destructors inside co_await expressions.)
asio::awaitable<bool> sendText(ServicePipe& pipe, std::string_view text) {
  std::vector<uint8_t> bytes(text.begin(), text.end());
  auto task = pipe.send(std::move(bytes));
  auto sent = co_await std::move(task);
  co_return sent.has_value();
}

// The whole request body (until its end marker); nullopt if the exchange ended first.
asio::awaitable<std::optional<std::string>> readAll(ServicePipe& pipe) {
  std::string all;
  for (;;) {
    auto chunk = co_await pipe.receive();
    if (!chunk) co_return std::nullopt;
    if (chunk->empty()) co_return all;
    all.append(chunk->begin(), chunk->end());
  }
}

// Waits until the exchange is over (a service that never answers, or stalls).
asio::awaitable<void> waitUntilOver(ServicePipe& pipe) {
  for (;;) {
    auto chunk = co_await pipe.receive();
    if (!chunk) co_return;
  }
}

using Handler =
    std::function<asio::awaitable<void>(std::shared_ptr<ServicePipe>, ServiceRequestHead)>;

class FakeRouter final : public ServiceRouter {
 public:
  static constexpr uint32_t kRestarting = 99;

  // Before the server starts.
  void add(uint32_t id, Handler handler) { handlers_[id] = std::move(handler); }

  asio::awaitable<Result<std::unique_ptr<ServiceExchange>>> open(ServiceId id,
                                                                 ServiceRequestHead head) override {
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    if (id.value() == kRestarting) {
      co_return fail(ErrorCode::kUnavailable, "service {} (flaky) is not running (backoff)",
                     id.value());
    }
    auto it = handlers_.find(id.value());
    if (it == handlers_.end()) {
      co_return fail(ErrorCode::kNotFound, "no service {} is running on this node", id.value());
    }
    auto pipe = std::make_shared<ServicePipe>(executor, id);
    {
      std::lock_guard lock(mutex_);
      ++running_;
      ++opened_;
      live_.emplace_back(executor, pipe);
    }
    changed_.notify_all();
    asio::co_spawn(executor, run(this, it->second, pipe, std::move(head)), asio::detached);
    co_return std::unique_ptr<ServiceExchange>(std::make_unique<PipeExchange>(pipe));
  }

  // Ends every exchange still open and waits until every service coroutine has returned.
  void drain() {
    std::vector<std::pair<asio::any_io_executor, std::weak_ptr<ServicePipe>>> live;
    {
      std::lock_guard lock(mutex_);
      live = live_;
    }
    for (auto& [executor, weak] : live) {
      asio::post(executor, [weak] {
        if (auto pipe = weak.lock()) pipe->abort("test over");
      });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return running_ == 0; });
  }

  void waitOpened(size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return opened_ >= n; });
  }

  std::atomic<uint64_t> service_sent{0};      // response bytes the large service handed over
  std::atomic<uint64_t> service_received{0};  // request bytes the large service took
  std::atomic<size_t> max_chunk{0};           // largest request chunk a service received
  std::atomic<bool> aborted{false};           // an exchange was aborted by the gateway

 private:
  static asio::awaitable<void> run(FakeRouter* router, Handler handler,
                                   std::shared_ptr<ServicePipe> pipe, ServiceRequestHead head) {
    auto task = handler(pipe, std::move(head));
    co_await std::move(task);
    if (pipe->aborted()) router->aborted = true;
    pipe->end(std::nullopt);
    {
      std::lock_guard lock(router->mutex_);
      --router->running_;
    }
    router->changed_.notify_all();
  }

  std::map<uint32_t, Handler> handlers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t running_ = 0;  // GUARDED_BY(mutex_)
  size_t opened_ = 0;   // GUARDED_BY(mutex_)
  std::vector<std::pair<asio::any_io_executor, std::weak_ptr<ServicePipe>>> live_;
};

enum : uint32_t {
  kEcho = 1,
  kChunked = 2,
  kUntilEnd = 3,
  kLarge = 4,
  kDies = 5,
  kDiesChunked = 6,
  kSilent = 7,
  kStalls = 8,
  kEarly = 9,
  kGarbage = 10,
  kInterim = 11,
  kHugeHead = 12,
  kFailsFirst = 13,
};

// Answers with what it received: "METHOD path query", the header fields, the body.
asio::awaitable<void> echoService(std::shared_ptr<ServicePipe> pipe, ServiceRequestHead head) {
  auto body = co_await readAll(*pipe);
  if (!body) co_return;
  std::string text = head.method + " " + head.path + " " + head.query + "\n";
  for (const auto& [name, value] : head.headers) text += name + ": " + value + "\n";
  text += "body:" + *body;
  std::string answer = fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Service: yes\r\nConnection: close\r\n"
      "Keep-Alive: timeout=5\r\nServer: fake\r\nDate: yesterday\r\nContent-Length: {}\r\n\r\n",
      text.size());
  if (head.method != "HEAD") answer += text;
  co_await sendText(*pipe, answer);
}

// Sends `pieces` one by one (each a separate hand-over).
asio::awaitable<bool> sendPieces(ServicePipe& pipe, std::vector<std::string> pieces) {
  for (const std::string& piece : pieces) {
    const bool sent = co_await sendText(pipe, piece);
    if (!sent) co_return false;
  }
  co_return true;
}

// 64 MiB of pattern bytes out (GET), or pattern bytes in, checked and counted (POST).
asio::awaitable<void> largeService(FakeRouter* router, std::shared_ptr<ServicePipe> pipe,
                                   ServiceRequestHead head) {
  if (head.method == "POST") {
    uint64_t offset = 0;
    bool pattern_ok = true;
    for (;;) {
      auto chunk = co_await pipe->receive();
      if (!chunk) co_return;
      if (chunk->empty()) break;
      router->max_chunk = std::max(router->max_chunk.load(), chunk->size());
      for (const uint8_t byte : *chunk) pattern_ok = pattern_ok && byte == patternByte(offset++);
      router->service_received += chunk->size();
    }
    const std::string text = fmt::format("received {} pattern {}", offset, pattern_ok);
    const std::string answer =
        fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", text.size(), text);
    co_await sendText(*pipe, answer);
    co_return;
  }
  auto body = co_await readAll(*pipe);
  if (!body) co_return;
  const std::string head_text = fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
      kLargeSize);
  const bool head_sent = co_await sendText(*pipe, head_text);
  if (!head_sent) co_return;
  constexpr size_t kSlice = 256 * 1024;
  for (uint64_t offset = 0; offset < kLargeSize; offset += kSlice) {
    std::vector<uint8_t> slice(kSlice);
    for (size_t i = 0; i < kSlice; ++i) slice[i] = patternByte(offset + i);
    auto task = pipe->send(std::move(slice));
    auto sent = co_await std::move(task);
    if (!sent) co_return;
    router->service_sent += kSlice;
  }
}

// Reads the request body, then sends `pieces`, then ends the exchange with `then` if given.
asio::awaitable<void> answerWith(std::shared_ptr<ServicePipe> pipe, std::vector<std::string> pieces,
                                 std::optional<Error> then) {
  auto body = co_await readAll(*pipe);
  if (!body) co_return;
  auto task = sendPieces(*pipe, std::move(pieces));
  const bool sent = co_await std::move(task);
  if (sent && then) pipe->end(*then);
}

Handler answering(std::vector<std::string> pieces, std::optional<Error> then = std::nullopt) {
  return [pieces, then](std::shared_ptr<ServicePipe> pipe,
                        ServiceRequestHead) -> asio::awaitable<void> {
    auto task = answerWith(std::move(pipe), pieces, then);
    co_await std::move(task);
  };
}

// Never reads the body: answers at once, or sends `pieces` and then waits for the end.
Handler answeringAtOnce(std::vector<std::string> pieces, bool then_wait) {
  return [pieces, then_wait](std::shared_ptr<ServicePipe> pipe,
                             ServiceRequestHead) -> asio::awaitable<void> {
    auto task = sendPieces(*pipe, pieces);
    const bool sent = co_await std::move(task);
    if (sent && then_wait) co_await waitUntilOver(*pipe);
  };
}

class ServiceRouteTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    const Error died{ErrorCode::kUnavailable, "the service closed the connection without End"};
    router_.add(kEcho, echoService);
    // Chunk boundaries fall inside the service's writes on purpose.
    router_.add(kChunked, answering({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                     "Content-Type: text/plain\r\n\r\n5\r\nhel",
                                     "lo\r\n6\r", "\n world\r\n0\r\n\r\n"}));
    router_.add(kUntilEnd, answering({"HTTP/1.1 201 Created\r\nX-Kind: until-end\r\n\r\n", "part1 ",
                                      "part2"}));
    router_.add(kLarge,
                [router = &router_](std::shared_ptr<ServicePipe> pipe,
                                    ServiceRequestHead head) -> asio::awaitable<void> {
                  auto task = largeService(router, std::move(pipe), std::move(head));
                  co_await std::move(task);
                });
    router_.add(kDies, answering({"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" +
                                  std::string(1000, 'x')},
                                 died));
    router_.add(
        kDiesChunked,
        answering({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"}, died));
    router_.add(kSilent, answeringAtOnce({}, true));
    router_.add(kStalls,
                answeringAtOnce({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, true));
    router_.add(
        kEarly,
        answeringAtOnce({"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo big\n"},
                        false));
    router_.add(kGarbage, answeringAtOnce({"this is not http\r\n\r\n"}, false));
    router_.add(kInterim, answeringAtOnce({"HTTP/1.1 100 Continue\r\n\r\n"}, false));
    router_.add(kHugeHead,
                answeringAtOnce(
                    {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(70'000, 'b') + "\r\n\r\n"}, false));
    router_.add(kFailsFirst,
                [](std::shared_ptr<ServicePipe> pipe, ServiceRequestHead) -> asio::awaitable<void> {
                  pipe->end(Error{ErrorCode::kUnavailable, "the service crashed"});
                  co_return;
                });
  }

  void TearDown() override {
    if (server_) server_->stop();
    router_.drain();
    GatewayFixture::TearDown();
  }

  enum class Backend { kFake, kNone };
  void start(GatewayOptions options = {}, Backend backend = Backend::kFake) {
    options.listen = "127.0.0.1:0";
    GatewayBackends backends;
    if (backend == Backend::kFake) backends.services = &router_;
    auto server = GatewayServer::start(runtime_, *store_, std::move(options), nullptr, backends);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  FakeRouter router_;
};

// A client that reads whatever has arrived (for bodies too large to hold twice).
class StreamClient {
 public:
  explicit StreamClient(uint16_t port) : socket_(context_) {
    boost::system::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  void send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  // The next bytes; "" once the server closed.
  std::string readSome() {
    std::string out(1 << 20, '\0');
    boost::system::error_code ec;
    const size_t n = socket_.read_some(asio::buffer(out), ec);
    out.resize(ec ? 0 : n);
    return out;
  }

 private:
  asio::io_context context_;
  asio::ip::tcp::socket socket_;
};

// The raw bytes of one exchange up to the server's close: head and body split.
struct RawAnswer {
  std::string head;
  std::string body;
};
RawAnswer splitAnswer(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {raw, ""};
  return {raw.substr(0, end + 4), raw.substr(end + 4)};
}

TEST_F(ServiceRouteTest, GetAndPostReachTheServiceAndItsAnswerComesBack) {
  start();
  RawClient client(port());
  auto get = client.request("GET", "/services/1/some/path?x=1&y=%20");
  EXPECT_EQ(get.status, 200u);
  EXPECT_EQ(get.body.rfind("GET /some/path x=1&y=%20\n", 0), 0u) << get.body;
  EXPECT_NE(get.body.find("Host: test\n"), std::string::npos) << get.body;
  EXPECT_NE(get.body.find("body:"), std::string::npos);
  EXPECT_EQ(get.header("x-service"), "yes");
  EXPECT_EQ(get.header("content-type"), "text/plain");
  EXPECT_EQ(get.header("server"), "thunder");  // the gateway's, not the service's
  EXPECT_FALSE(get.has("keep-alive"));
  EXPECT_TRUE(get.keep_alive);  // the service's "Connection: close" is hop-by-hop

  auto post = client.request("POST", "/services/1/submit", {"Content-Type: text/plain"},
                             "ping from the client");
  EXPECT_EQ(post.status, 200u);
  EXPECT_EQ(post.body.rfind("POST /submit \n", 0), 0u) << post.body;
  EXPECT_NE(post.body.find("Content-Length: 20\n"), std::string::npos) << post.body;
  EXPECT_NE(post.body.find("\nbody:ping from the client"), std::string::npos) << post.body;

  auto root = client.request("PUT", "/services/1", {}, "x");
  EXPECT_EQ(root.status, 200u);
  EXPECT_EQ(root.body.rfind("PUT / \n", 0), 0u) << root.body;
}

TEST_F(ServiceRouteTest, HopByHopRequestFieldsAreNotForwarded) {
  start();
  RawClient client(port());
  auto reply = client.request(
      "GET", "/services/1/",
      {"Connection: keep-alive, X-Private", "X-Private: secret", "Keep-Alive: timeout=5",
       "TE: trailers", "Proxy-Authorization: Basic eDp5", "X-Public: 1"});
  ASSERT_EQ(reply.status, 200u);
  EXPECT_NE(reply.body.find("X-Public: 1\n"), std::string::npos) << reply.body;
  for (const char* dropped :
       {"X-Private", "Keep-Alive", "TE:", "Proxy-Authorization", "Connection"}) {
    EXPECT_EQ(reply.body.find(dropped), std::string::npos) << dropped << "\n" << reply.body;
  }
}

TEST_F(ServiceRouteTest, ChunkedRequestBodiesArriveDechunked) {
  start();
  RawClient client(port());
  client.send(
      "POST /services/1/up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
  auto reply = client.read();
  ASSERT_EQ(reply.status, 200u);
  EXPECT_NE(reply.body.find("\nbody:abcdefg"), std::string::npos) << reply.body;
  EXPECT_EQ(reply.body.find("Transfer-Encoding"), std::string::npos) << reply.body;
  EXPECT_EQ(reply.body.find("Content-Length"), std::string::npos) << reply.body;
}

TEST_F(ServiceRouteTest, ExpectContinueIsAnsweredBeforeTheBody) {
  start();
  RawClient client(port());
  client.send(
      "POST /services/1/ HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  auto interim = client.read();  // Beast reads the 100 as a message of its own
  EXPECT_EQ(interim.status, 100u);
  client.send("hello");
  auto reply = client.read();
  ASSERT_EQ(reply.status, 200u);
  EXPECT_NE(reply.body.find("\nbody:hello"), std::string::npos) << reply.body;
  EXPECT_EQ(reply.body.find("Expect"), std::string::npos) << reply.body;
}

TEST_F(ServiceRouteTest, ChunkedAndUntilEndAnswersAreRelayedChunked) {
  start();
  RawClient client(port());
  auto chunked = client.request("GET", "/services/2/");
  EXPECT_EQ(chunked.status, 200u);
  EXPECT_EQ(chunked.body, "hello world");
  EXPECT_EQ(chunked.header("transfer-encoding"), "chunked");
  EXPECT_FALSE(chunked.has("content-length"));
  auto until_end = client.request("GET", "/services/3/");
  EXPECT_EQ(until_end.status, 201u);
  EXPECT_EQ(until_end.body, "part1 part2");
  EXPECT_EQ(until_end.header("transfer-encoding"), "chunked");
  EXPECT_EQ(until_end.header("x-kind"), "until-end");
  EXPECT_TRUE(until_end.keep_alive);

  // HTTP/1.0 has no chunks: the body ends when the gateway closes the connection.
  RawClient old(port());
  old.send("GET /services/3/ HTTP/1.0\r\n\r\n");
  const RawAnswer answer = splitAnswer(old.readToEnd());
  EXPECT_NE(answer.head.find("201"), std::string::npos) << answer.head;
  EXPECT_EQ(answer.head.find("Transfer-Encoding"), std::string::npos) << answer.head;
  EXPECT_EQ(answer.body, "part1 part2");
}

TEST_F(ServiceRouteTest, HeadGetsTheHeadOfTheServicesAnswer) {
  start();
  RawClient client(port());
  auto get = client.request("GET", "/services/1/page");
  auto head = client.request("HEAD", "/services/1/page");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  // The service's HEAD answer announces the length its GET would have ("HEAD" is 1 byte longer
  // than "GET" in the echoed first line).
  EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size() + 1));
  auto again = client.request("GET", "/services/1/page");  // the connection is still in sync
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body, get.body);
}

TEST_F(ServiceRouteTest, A64MiBAnswerIsStreamedNotBuffered) {
  start();
  StreamClient client(port());
  client.send("GET /services/4/large HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string head;
  uint64_t received = 0;
  uint64_t max_ahead = 0;
  bool pattern_ok = true;
  std::string raw = client.readSome();
  for (;;) {
    if (head.empty()) {
      const size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) {
        const std::string more = client.readSome();
        ASSERT_FALSE(more.empty());
        raw += more;
        continue;
      }
      head = raw.substr(0, end + 4);
      raw.erase(0, end + 4);
      ASSERT_NE(head.find("Content-Length: 67108864"), std::string::npos) << head;
    }
    for (const char c : raw) {
      pattern_ok = pattern_ok && static_cast<uint8_t>(c) == patternByte(received);
      ++received;
    }
    const uint64_t sent = router_.service_sent.load();
    if (sent > received) max_ahead = std::max(max_ahead, sent - received);
    if (received >= kLargeSize) break;
    raw = client.readSome();
    ASSERT_FALSE(raw.empty()) << "the connection ended after " << received << " bytes";
  }
  EXPECT_EQ(received, kLargeSize);
  EXPECT_TRUE(pattern_ok);
  EXPECT_LT(max_ahead, kMaxInFlight);
  RecordProperty("max_ahead_bytes", std::to_string(max_ahead));
}

TEST_F(ServiceRouteTest, A64MiBRequestBodyIsStreamedInPayloadSizedPieces) {
  start();
  RawClient client(port());
  client.send(fmt::format(
      "POST /services/4/upload HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", kLargeSize));
  constexpr size_t kSlice = 1 << 20;
  uint64_t max_ahead = 0;
  std::string slice(kSlice, '\0');
  for (uint64_t offset = 0; offset < kLargeSize; offset += kSlice) {
    for (size_t i = 0; i < kSlice; ++i) slice[i] = static_cast<char>(patternByte(offset + i));
    client.send(slice);
    const uint64_t sent = offset + kSlice;
    max_ahead = std::max(max_ahead, sent - router_.service_received.load());
  }
  auto reply = client.read();
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, fmt::format("received {} pattern true", kLargeSize));
  EXPECT_LE(router_.max_chunk.load(), 256u * 1024);
  EXPECT_LT(max_ahead, kMaxInFlight);
  RecordProperty("max_ahead_bytes", std::to_string(max_ahead));
}

TEST_F(ServiceRouteTest, AServiceThatDiesMidAnswerCutsTheConnection) {
  start();
  {
    RawClient client(port());
    client.send("GET /services/5/ HTTP/1.1\r\nHost: t\r\n\r\n");
    const RawAnswer answer = splitAnswer(client.readToEnd());  // returns: the server closed
    EXPECT_NE(answer.head.find("Content-Length: 100000"), std::string::npos) << answer.head;
    EXPECT_EQ(answer.body, std::string(1000, 'x'));
  }
  {
    RawClient client(port());
    client.send("GET /services/6/ HTTP/1.1\r\nHost: t\r\n\r\n");
    const RawAnswer answer = splitAnswer(client.readToEnd());
    EXPECT_NE(answer.head.find("Transfer-Encoding: chunked"), std::string::npos) << answer.head;
    EXPECT_EQ(answer.body, "4\r\nabcd\r\n");  // no last chunk: the client knows it is cut
  }
}

TEST_F(ServiceRouteTest, AServiceThatFailsBeforeAnsweringIs502) {
  start();
  RawClient client(port());
  auto failed = client.request("GET", "/services/13/");
  EXPECT_EQ(failed.status, 502u);
  EXPECT_EQ(failed.body, "service 13 failed before it answered: the service crashed\n");
  auto garbage = client.request("GET", "/services/10/");
  EXPECT_EQ(garbage.status, 502u);
  EXPECT_NE(garbage.body.find("malformed response head"), std::string::npos) << garbage.body;
  auto interim = client.request("GET", "/services/11/");
  EXPECT_EQ(interim.status, 502u);
  EXPECT_NE(interim.body.find("status 100"), std::string::npos) << interim.body;
  auto huge = client.request("GET", "/services/12/");
  EXPECT_EQ(huge.status, 502u);
  EXPECT_NE(huge.body.find("larger than 65536 bytes"), std::string::npos) << huge.body;
}

TEST_F(ServiceRouteTest, AServiceThatNeverAnswersIs504AndAStalledBodyIsCut) {
  GatewayOptions options;
  options.service_timeout = std::chrono::milliseconds(100);
  start(options);
  RawClient client(port());
  auto silent = client.request("GET", "/services/7/");
  EXPECT_EQ(silent.status, 504u);
  EXPECT_EQ(silent.body, "service 7 did not answer in time: service 7 sent nothing for 100 ms\n");
  auto with_body = client.request("POST", "/services/7/", {}, "a body the service never reads");
  EXPECT_EQ(with_body.status, 504u);

  RawClient stalled(port());
  stalled.send("GET /services/8/ HTTP/1.1\r\nHost: t\r\n\r\n");
  const RawAnswer answer = splitAnswer(stalled.readToEnd());
  EXPECT_NE(answer.head.find("Content-Length: 10"), std::string::npos) << answer.head;
  EXPECT_EQ(answer.body, "abc");
}

TEST_F(ServiceRouteTest, RefusalsNameTheCause) {
  start();
  RawClient client(port());
  auto unknown = client.request("GET", "/services/77/x");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body, "no service 77 is running on this node\n");
  auto restarting = client.request("GET", "/services/99/");
  EXPECT_EQ(restarting.status, 503u);
  EXPECT_EQ(restarting.header("retry-after"), "1");
  EXPECT_NE(restarting.body.find("backoff"), std::string::npos);
  auto malformed = client.request("GET", "/services/abc/");
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_NE(malformed.body.find("malformed service id \"abc\""), std::string::npos);
  auto missing = client.request("GET", "/services/");
  EXPECT_EQ(missing.status, 400u);
  auto expect = client.request("POST", "/services/1/", {"Expect: something-else"}, "x");
  EXPECT_EQ(expect.status, 417u);
}

TEST_F(ServiceRouteTest, OriginsAreNotServedWithoutAFetcher) {
  start();
  RawClient client(port());
  auto get = client.request("GET", "/origin/cdn/app.js");
  EXPECT_EQ(get.status, 404u);
  EXPECT_EQ(get.body, "this node serves no origins (it runs no fetcher)\n");
  auto post = client.request("POST", "/origin/cdn/app.js", {}, "x");
  EXPECT_EQ(post.status, 405u);
}

TEST_F(ServiceRouteTest, WithoutServicesEveryIdIs404) {
  start({}, Backend::kNone);
  RawClient client(port());
  auto reply = client.request("GET", "/services/1/");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_EQ(reply.body, "no service 1 is running on this node (it runs no services)\n");
}

TEST_F(ServiceRouteTest, AnEarlyAnswerNeedsNoBodyAndClosesTheConnection) {
  start();
  RawClient client(port());
  auto reply = client.request("POST", "/services/9/", {}, std::string(1 << 20, 'b'));
  EXPECT_EQ(reply.status, 413u);
  EXPECT_EQ(reply.body, "too big\n");
  EXPECT_FALSE(reply.keep_alive);  // the rest of the body was never read
}

TEST_F(ServiceRouteTest, StopEndsRequestsWaitingForAService) {
  GatewayOptions options;
  options.service_timeout = std::chrono::hours(1);
  options.stop_grace = std::chrono::milliseconds(50);
  start(options);
  std::string raw;
  std::thread client_thread([&] {
    RawClient client(port());
    client.send("GET /services/7/ HTTP/1.1\r\nHost: t\r\n\r\n");
    raw = client.readToEnd();
  });
  router_.waitOpened(1);
  server_->stop();  // returns although the service never answers
  client_thread.join();
  EXPECT_TRUE(raw.empty() || raw.find(" 503 ") != std::string::npos) << raw;
}

// curl's view: a cut response is an error (exit 18, "transfer closed with … remaining"), not a
// hang and not a success.
TEST_F(ServiceRouteTest, CurlReportsACutAnswer) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  start();
  for (const uint32_t id : {kDies, kDiesChunked}) {
    const std::string command = fmt::format(
        "curl -sS --max-time 60 -o /dev/null '{}/services/{}/' 2>&1", server_->url(), id);
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buffer[512];
    std::string out;
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    const int raw = ::pclose(pipe);
    ASSERT_TRUE(WIFEXITED(raw));
    EXPECT_EQ(WEXITSTATUS(raw), 18) << out;  // CURLE_PARTIAL_FILE
  }
  int status = std::system(
      fmt::format("curl -sS --max-time 60 -o /dev/null '{}/services/2/'", server_->url()).c_str());
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace thunder::gateway
