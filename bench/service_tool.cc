// bench_service: service executor benchmarks against an in-process node (io::Runtime with 2
// loops and 2 blocking threads, a temporary FsBlobStore, sessions over loopback TLS) and the
// sandboxed raw-IPC echo service of tests/services/:
//
//   rtt N            N NodeInfo request/reply round trips on the control channel, timed inside
//                    the sandboxed service: p50 / p99 in µs
//   start N          N times: ServiceHost::start() → control Hello done → first request served
//                    (a data-channel echo): median / p90 in ms
//   stream MIB [R]   a MIB MiB blob fetched in one session (verified with RangeDecoder, a DACK
//                    per MiB) through the service by reference (StreamBlob) vs from the node's
//                    built-in content service (the node reading the same bytes itself); best of
//                    R runs (default 3); ratio = reference / direct throughput
//
// Prints `key: value` lines.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "content/range_walk.h"
#include "content/verified_stream.h"
#include "executor/executed_service.h"
#include "executor/service_host.h"
#include "handshake/builtin_services.h"
#include "handshake/client_driver.h"
#include "handshake/content_request.h"
#include "handshake/session_driver.h"
#include "net/tls_transport.h"

namespace thunder::bench {
namespace {

namespace asio = boost::asio;
namespace hs = thunder::handshake;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kEchoId = 5;

crypto::SigningKey keyNumber(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::SigningKey::fromSeed(seed);
}

double msSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

executor::ServiceSpec echoSpec() {
  executor::ServiceSpec spec;
  spec.id = ServiceId{kEchoId};
  spec.name = "echo";
  spec.executable = THUNDER_TEST_ECHO_SERVICE;
  return spec;
}

bool running(const executor::ServiceStatus& s) {
  return s.state == executor::ServiceState::kRunning;
}

class Node {
 public:
  static Result<std::unique_ptr<Node>> start() {
    auto node = std::unique_ptr<Node>(new Node());
    THUNDER_TRY(node->init());
    return node;
  }
  ~Node() {
    if (listener_) listener_->stop();
    if (echo_) echo_->stop();
    runtime_.stop();
    std::filesystem::remove_all(dir_);
  }

  Result<std::unique_ptr<executor::ServiceHost>> newHost() {
    executor::ServiceHostContext context;
    context.executor = runtime_.loop(hosts_++ % 2).get_executor();
    context.blocking_pool = &runtime_.blockingPool();
    context.store = store_.get();
    context.node_key = node_key_.publicKey();
    context.node_version = "bench";
    context.metrics = &metrics_;
    context.work_dir = dir_ / "services" / std::to_string(hosts_);
    return executor::ServiceHost::create(echoSpec(), std::move(context));
  }

  // Starts the echo service and the session listener (built-in services + echo as id 5).
  Result<void> serveSessions() {
    THUNDER_ASSIGN_OR_RETURN(echo_, newHost());
    echo_->start();
    if (!echo_->waitFor(running, 60s)) return fail(ErrorCode::kTimeout, "echo did not start");
    THUNDER_TRY(hs::addBuiltinServices(services_, *store_, runtime_.blockingPool()));
    THUNDER_TRY(services_.add(std::make_unique<executor::ExecutedService>(*echo_)));
    hs::DackQueueOptions dack_options;
    dack_options.path = dir_ / "dacks";
    THUNDER_ASSIGN_OR_RETURN(dacks_, hs::DackQueue::open(dack_options));
    hub_.emplace(node_key_, services_, clock_, hs::SessionHubOptions{});
    context_.emplace(
        hs::SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    THUNDER_ASSIGN_OR_RETURN(auto identity, net::TlsIdentity::fromSigningKey(node_key_));
    identity_.emplace(std::move(identity));
    THUNDER_ASSIGN_OR_RETURN(listener_,
                             net::TlsListener::start(runtime_, *identity_, {}, [this](auto conn) {
                               return hs::serveSession(std::move(conn), *context_);
                             }));
    return {};
  }

  hs::ConnectOptions connect(uint32_t service) const {
    hs::ConnectOptions options;
    options.address = listener_->localAddress();
    options.target.node_pk = node_key_.publicKey();
    options.target.service = ServiceId{service};
    options.session.dack_every_bytes = 0;
    return options;
  }

  content::FsBlobStore& store() { return *store_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Node() = default;

  Result<void> init() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/var/tmp") + "/thunder-service-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return failErrno(errno, "mkdtemp " + pattern);
    dir_ = pattern;
    runtime_.start();
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    THUNDER_ASSIGN_OR_RETURN(store_, content::FsBlobStore::open(std::move(store_options)));
    return {};
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  crypto::SigningKey node_key_ = keyNumber(0xA0);
  hs::SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<content::FsBlobStore> store_;
  size_t hosts_ = 0;
  std::unique_ptr<executor::ServiceHost> echo_;
  hs::SessionServices services_;
  std::unique_ptr<hs::DackQueue> dacks_;
  std::optional<hs::SessionHub> hub_;
  std::optional<hs::SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
};

// Sends one payload, ends after the first reply.
class Ask final : public hs::SessionHandler {
 public:
  explicit Ask(std::string command) : command_(std::move(command)) {}
  void onOpen(hs::SessionControl& control, uint64_t) override {
    control.send(std::vector<uint8_t>(command_.begin(), command_.end()));
  }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    reply.assign(payload.begin(), payload.end());
    control.end(hs::TerminationReason::kNormal, "done");
    return {};
  }
  std::string reply;

 private:
  std::string command_;
};

// ---- rtt ----

Result<void> runRtt(size_t n) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  THUNDER_TRY(node->serveSessions());
  const auto key = keyNumber(2);
  hs::SystemClock clock;
  Ask warmup("bench-nodeinfo 1000");
  THUNDER_TRY(hs::connectAndRunBlocking(node->connect(kEchoId), key, clock, warmup));
  Ask ask("bench-nodeinfo " + std::to_string(n));
  THUNDER_TRY(hs::connectAndRunBlocking(node->connect(kEchoId), key, clock, ask));
  double p50 = 0, p99 = 0;
  if (std::sscanf(ask.reply.c_str(), "p50_us=%lf p99_us=%lf", &p50, &p99) != 2) {
    return fail(ErrorCode::kInternal, "unexpected reply '{}'", ask.reply);
  }
  std::printf("nodeinfo_round_trips: %zu\nrtt_p50_us: %.1f\nrtt_p99_us: %.1f\n", n, p50, p99);
  return {};
}

// ---- start ----

// A data-channel round trip on `host`, as a session would make it: Hello, header, "ping" echoed.
Result<void> firstRequest(executor::ServiceHost& host) {
  THUNDER_ASSIGN_OR_RETURN(auto attached, host.attach(PublicKey{}, 0));
  ipc::UnixChannel& channel = attached.channel;
  THUNDER_TRY(channel.send(ipc::Hello{ipc::Channel::kData, 1, 1}));
  THUNDER_TRY(channel.receive());
  ipc::ConnectionHeader header;
  header.connection_id = attached.connection_id;
  header.transport = "bench";
  THUNDER_TRY(channel.send(header));
  THUNDER_TRY(channel.send(ipc::Payload{{'p', 'i', 'n', 'g'}}));
  THUNDER_ASSIGN_OR_RETURN(auto echoed, channel.receive());
  if (!std::holds_alternative<ipc::Payload>(echoed.message)) {
    return fail(ErrorCode::kInternal, "no echo");
  }
  host.detach(attached.connection_id);
  return {};
}

Result<void> runStart(size_t n) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  std::vector<double> hello_ms, served_ms;
  for (size_t i = 0; i < n + 1; ++i) {  // the first run warms the page cache: not counted
    THUNDER_ASSIGN_OR_RETURN(auto host, node->newHost());
    const auto t0 = SteadyClock::now();
    host->start();
    if (!host->waitFor(running, 60s)) return fail(ErrorCode::kTimeout, "service did not start");
    const double hello = msSince(t0);
    THUNDER_TRY(firstRequest(*host));
    const double served = msSince(t0);
    host->stop();
    if (i == 0) continue;
    hello_ms.push_back(hello);
    served_ms.push_back(served);
  }
  std::printf("starts: %zu\nstart_to_hello_ms_median: %.2f\nstart_to_hello_ms_p90: %.2f\n", n,
              percentile(hello_ms, 0.5), percentile(hello_ms, 0.9));
  std::printf("start_to_first_request_ms_median: %.2f\nstart_to_first_request_ms_p90: %.2f\n",
              percentile(served_ms, 0.5), percentile(served_ms, 0.9));
  return {};
}

// ---- stream ----

// Verifies the whole-blob stream and acknowledges it every MiB; ends when it is complete.
class Fetch final : public hs::SessionHandler {
 public:
  Fetch(const BlobId& id, std::vector<uint8_t> request)
      : request_{id, {}},
        payload_(std::move(request)),
        ranges_(content::ByteRanges::all()),
        decoder_(id, ranges_, [this](uint64_t, std::span<const uint8_t> b) {
          verified_ += b.size();
          return Result<void>{};
        }) {}
  void onOpen(hs::SessionControl& control, uint64_t) override { control.send(payload_); }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    THUNDER_TRY(decoder_.feed(payload));
    const auto claimed = decoder_.claimedSize();
    if (claimed && !stream_size_) stream_size_ = content::encodedSize(*claimed, ranges_);
    if (claimed && decoder_.consumed() == *stream_size_) {
      THUNDER_TRY(decoder_.finish());
      finished_ = true;
      control.acknowledgeBandwidth(decoder_.consumed(), hs::contentCommitment(request_, *claimed));
      control.end(hs::TerminationReason::kNormal, "fetched");
      return {};
    }
    if (decoder_.consumed() - acked_ >= (1u << 20)) {
      acked_ = decoder_.consumed();
      control.acknowledgeBandwidth(acked_, hs::contentCommitment(request_, claimed.value_or(0)));
    }
    return {};
  }
  Result<void> onNormalEnd() override { return finished_ ? Result<void>{} : decoder_.finish(); }
  uint64_t verified() const { return verified_; }

 private:
  hs::ContentRequest request_;
  std::vector<uint8_t> payload_;
  content::ByteRanges ranges_;
  content::RangeDecoder decoder_;
  std::optional<uint64_t> stream_size_;
  bool finished_ = false;
  uint64_t verified_ = 0;
  uint64_t acked_ = 0;
};

Result<double> fetchSeconds(Node& node, uint32_t service, const BlobId& id, uint64_t size) {
  std::vector<uint8_t> request;
  if (service == kEchoId) {
    const std::string command = "serve " + id.hex();  // the client ends, as with content
    request.assign(command.begin(), command.end());
  } else {
    request = hs::encodeContentRequest(hs::ContentRequest{id, {}});
  }
  Fetch fetch(id, std::move(request));
  const auto key = keyNumber(3);
  hs::SystemClock clock;
  const auto t0 = SteadyClock::now();
  THUNDER_ASSIGN_OR_RETURN(auto outcome,
                           hs::connectAndRunBlocking(node.connect(service), key, clock, fetch));
  const double seconds = msSince(t0) / 1000;
  if (fetch.verified() != size) {
    return fail(ErrorCode::kCorruption, "service {}: verified {} of {} bytes ({})", service,
                fetch.verified(), size, outcome.describe());
  }
  return seconds;
}

Result<void> runStream(uint64_t mib, int repeat) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  THUNDER_TRY(node->serveSessions());
  const uint64_t size = mib << 20;
  const auto file = node->dir() / "blob";
  {  // pseudo-random bytes (xorshift64), written in 1 MiB pieces
    std::ofstream out(file, std::ios::binary);
    std::vector<uint64_t> chunk(1 << 17);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < mib; ++i) {
      for (auto& w : chunk) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        w = x;
      }
      out.write(reinterpret_cast<const char*>(chunk.data()), 1 << 20);
    }
    if (!out.flush()) return fail(ErrorCode::kIoError, "cannot write {}", file.string());
  }
  THUNDER_ASSIGN_OR_RETURN(const auto put, node->store().putFile(file, {}));
  std::filesystem::remove(file);
  double best_direct = 1e30, best_reference = 1e30;
  for (int i = 0; i < repeat; ++i) {
    THUNDER_ASSIGN_OR_RETURN(double direct,
                             fetchSeconds(*node, hs::kContentServiceId.value(), put.id, size));
    THUNDER_ASSIGN_OR_RETURN(double reference, fetchSeconds(*node, kEchoId, put.id, size));
    best_direct = std::min(best_direct, direct);
    best_reference = std::min(best_reference, reference);
  }
  std::printf("stream_mib: %llu\nrepeat: %d\n", static_cast<unsigned long long>(mib), repeat);
  std::printf("direct_seconds: %.3f\ndirect_gbps: %.2f\n", best_direct,
              size * 8 / best_direct / 1e9);
  std::printf("by_reference_seconds: %.3f\nby_reference_gbps: %.2f\n", best_reference,
              size * 8 / best_reference / 1e9);
  std::printf("ratio: %.2f\n", best_direct / best_reference);
  return {};
}

}  // namespace
}  // namespace thunder::bench

int main(int argc, char** argv) {
  using namespace thunder::bench;
  const std::string cmd = argc >= 2 ? argv[1] : "";
  const long n = argc >= 3 ? std::atol(argv[2]) : 0;
  thunder::Result<void> result;
  if (cmd == "rtt" && n > 0) {
    result = runRtt(static_cast<size_t>(n));
  } else if (cmd == "start" && n > 0) {
    result = runStart(static_cast<size_t>(n));
  } else if (cmd == "stream" && n > 0) {
    result = runStream(static_cast<uint64_t>(n), argc >= 4 ? std::atoi(argv[3]) : 3);
  } else {
    std::fprintf(stderr, "usage: bench_service rtt N | start N | stream MIB [REPEAT]\n");
    return 2;
  }
  if (!result) {
    std::fprintf(stderr, "bench_service: %s\n", result.error().message.c_str());
    return 1;
  }
  return 0;
}
