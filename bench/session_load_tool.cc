// bench_session_load: end-to-end session benchmarks against an in-process node on loopback
// (a TlsListener serving sessions with the built-in echo and content services, a temporary
// FsBlobStore and DackQueue), each beside a bare-TLS reference served by the same runtime:
//
//   ttfb N           time to the first service byte: bare TLS echo vs session echo (service 1)
//   idle N           N concurrent idle sessions opened by a child process; the node's RSS growth
//   rtt MS N         time to the first service byte through a relay adding MS ms each way
//                    (delay_relay.h): bare TLS echo and a session over TLS (TCP relay), a
//                    session over QUIC (UDP relay) when the node has QUIC
//   stream MIB [R [K]]  one session fetching a MIB MiB blob (verified with RangeDecoder, a DACK
//                    every K KiB, default 1024 as `thunder fetch`; 0: none) vs the same bytes
//                    over bare TLS (64 KiB writes); best of R runs each (default 3)
//
// The node runs on an io::Runtime (2 loops, 2 blocking threads); clients run on an io_context
// of the main thread (idle: of the child process). Prints `key: value` lines. The node and the
// hand-stepped client are in session_load_node.h.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "content/range_walk.h"
#include "content/verified_stream.h"
#include "delay_relay.h"
#include "handshake/client_driver.h"
#include "handshake/content_request.h"
#include "session_load_node.h"

extern char** environ;

namespace thunder::bench {
namespace {

struct Percentiles {
  double median = 0;
  double p90 = 0;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 9 / 10)]};
}

// ---- ttfb ----

asio::awaitable<Result<double>> bareTtfb(std::shared_ptr<const net::TlsConnector> connector,
                                         std::string address, PublicKey node_pk) {
  const auto t0 = SteadyClock::now();
  auto conn = co_await net::connectTls(connector, address, node_pk, kTimeout);
  if (!conn) co_return tl::unexpected(conn.error());
  const std::array<uint8_t, 1> byte{'e'};
  THUNDER_CO_TRY(co_await (*conn)->writeAll(byte));
  std::array<uint8_t, 1> back{};
  auto n = co_await (*conn)->readSome(back);
  if (!n) co_return tl::unexpected(n.error());
  if (*n != 1) co_return fail(ErrorCode::kUnavailable, "echo listener closed early");
  co_return msSince(t0);
}

asio::awaitable<Result<double>> sessionTtfb(std::shared_ptr<const net::TlsConnector> connector,
                                            std::string address, PublicKey node_pk,
                                            const crypto::SigningKey& key, const hs::Clock& clock) {
  const auto t0 = SteadyClock::now();
  auto probe = co_await Probe::open(connector, address, node_pk, key, hs::kEchoServiceId, clock);
  if (!probe) co_return tl::unexpected(probe.error());
  std::vector<uint8_t> payload{'e'};
  THUNDER_CO_TRY(co_await (*probe)->echo(std::move(payload), 1));
  const double ms = msSince(t0);
  co_await (*probe)->finish();  // frees the lane (not timed)
  co_return ms;
}

Result<void> runTtfb(int n) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  THUNDER_ASSIGN_OR_RETURN(auto connector, net::TlsConnector::create());
  const auto key = keyNumber(1);
  hs::SystemClock clock;
  std::vector<double> bare, session;
  for (int i = -5; i < n; ++i) {  // 5 warm-up rounds
    THUNDER_ASSIGN_OR_RETURN(double b,
                             runHere(bareTtfb(connector, node->rawAddress(), node->nodeKey())));
    THUNDER_ASSIGN_OR_RETURN(double s, runHere(sessionTtfb(connector, node->sessionAddress(),
                                                           node->nodeKey(), key, clock)));
    if (i < 0) continue;
    bare.push_back(b);
    session.push_back(s);
  }
  const auto pb = percentiles(bare);
  const auto ps = percentiles(session);
  std::printf("ttfb_runs: %d\n", n);
  std::printf("bare_tls_ms_median: %.3f\nbare_tls_ms_p90: %.3f\n", pb.median, pb.p90);
  std::printf("session_ms_median: %.3f\nsession_ms_p90: %.3f\n", ps.median, ps.p90);
  std::printf("diff_ms_median: %.3f\ndiff_ms_p90: %.3f\n", ps.median - pb.median, ps.p90 - pb.p90);
  std::printf("ratio_median: %.2f\n", ps.median / pb.median);
  return {};
}

// ---- rtt ----

asio::awaitable<Result<double>> quicSessionTtfb(std::string address, PublicKey node_pk,
                                                const crypto::SigningKey& key,
                                                const hs::Clock& clock) {
  const auto t0 = SteadyClock::now();
  auto conn = co_await net::connectQuic(address, node_pk, kTimeout);
  if (!conn) co_return tl::unexpected(conn.error());
  auto probe = co_await Probe::openOn(std::move(*conn), node_pk, key, hs::kEchoServiceId, clock);
  if (!probe) co_return tl::unexpected(probe.error());
  std::vector<uint8_t> payload{'e'};
  THUNDER_CO_TRY(co_await (*probe)->echo(std::move(payload), 1));
  const double ms = msSince(t0);
  co_await (*probe)->finish();  // frees the lane (not timed)
  co_return ms;
}

Result<void> runRtt(double delay_ms, int n) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  THUNDER_ASSIGN_OR_RETURN(auto connector, net::TlsConnector::create());
  const auto delay = std::chrono::microseconds(static_cast<int64_t>(delay_ms * 1000));
  THUNDER_ASSIGN_OR_RETURN(auto raw_relay,
                           DelayRelay::start(RelayProtocol::kTcp, node->rawAddress(), delay));
  THUNDER_ASSIGN_OR_RETURN(auto session_relay,
                           DelayRelay::start(RelayProtocol::kTcp, node->sessionAddress(), delay));
  THUNDER_ASSIGN_OR_RETURN(auto quic_relay,
                           DelayRelay::start(RelayProtocol::kUdp, node->quicAddress(), delay));
  const auto key = keyNumber(1);
  hs::SystemClock clock;
  std::vector<double> bare, session, quic;
  for (int i = -2; i < n; ++i) {  // 2 warm-up rounds
    THUNDER_ASSIGN_OR_RETURN(double b,
                             runHere(bareTtfb(connector, raw_relay->address(), node->nodeKey())));
    THUNDER_ASSIGN_OR_RETURN(double s, runHere(sessionTtfb(connector, session_relay->address(),
                                                           node->nodeKey(), key, clock)));
    THUNDER_ASSIGN_OR_RETURN(
        double q, runHere(quicSessionTtfb(quic_relay->address(), node->nodeKey(), key, clock)));
    if (i < 0) continue;
    bare.push_back(b);
    session.push_back(s);
    quic.push_back(q);
  }
  const auto pb = percentiles(bare);
  const auto ps = percentiles(session);
  const auto pq = percentiles(quic);
  std::printf("rtt_ms: %.1f\nrtt_runs: %d\n", 2 * delay_ms, n);
  std::printf("bare_tls_ms_median: %.3f\n", pb.median);
  std::printf("session_tls_ms_median: %.3f\n", ps.median);
  std::printf("session_tls_rtts: %.2f\n", ps.median / (2 * delay_ms));
  std::printf("session_quic_ms_median: %.3f\n", pq.median);
  std::printf("session_quic_rtts: %.2f\n", pq.median / (2 * delay_ms));
  std::printf("quic_saved_ms: %.3f\n", ps.median - pq.median);
  return {};
}

// ---- idle ----

// The child: opens `n` sessions (24 per client key, 16 handshakes in flight), prints
// "opened K failed F rss_growth B first_error E", then holds them until stdin closes.
Result<void> runIdleClient(const std::string& address, const std::string& node_hex, int n) {
  raiseFdLimit();
  THUNDER_ASSIGN_OR_RETURN(const auto node_pk, PublicKey::fromHex(node_hex));
  THUNDER_ASSIGN_OR_RETURN(auto connector, net::TlsConnector::create());
  hs::SystemClock clock;
  std::vector<crypto::SigningKey> keys;
  for (int i = 0; i < (n + 23) / 24; ++i) keys.push_back(keyNumber(1000 + i));
  const uint64_t rss0 = rssBytes();
  std::vector<std::unique_ptr<Probe>> open;
  int next = 0, failed = 0;
  std::string first_error = "none";
  asio::io_context ctx;
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < n) {
      const int i = next++;
      auto probe = co_await Probe::open(connector, address, node_pk, keys[i / 24],
                                        hs::kEchoServiceId, clock);
      if (probe) {
        open.push_back(std::move(*probe));
      } else {
        if (failed++ == 0) first_error = probe.error().message;
      }
    }
  };
  for (int w = 0; w < 16; ++w) asio::co_spawn(ctx, worker(), asio::detached);
  ctx.run();
  std::printf("opened %zu failed %d rss_growth %llu first_error %s\n", open.size(), failed,
              static_cast<unsigned long long>(rssBytes() - rss0), first_error.c_str());
  std::fflush(stdout);
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  return {};
}

Result<void> runIdle(int n) {
  const uint64_t fd_limit = raiseFdLimit();
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
  {  // warm up the node (TLS, allocator arenas, every loop) before the baseline
    THUNDER_ASSIGN_OR_RETURN(auto connector, net::TlsConnector::create());
    const auto key = keyNumber(1);
    hs::SystemClock clock;
    for (int i = 0; i < 20; ++i) {
      THUNDER_TRY(
          runHere(sessionTtfb(connector, node->sessionAddress(), node->nodeKey(), key, clock)));
    }
  }
  const uint64_t rss0 = rssBytes();
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
    return failErrno(errno, "pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  const std::string address = node->sessionAddress(), key_hex = node->nodeKey().hex(),
                    count = std::to_string(n);
  std::vector<char*> argv{
      const_cast<char*>("bench_session_load"), const_cast<char*>("idle-client"),
      const_cast<char*>(address.c_str()),      const_cast<char*>(key_hex.c_str()),
      const_cast<char*>(count.c_str()),        nullptr};
  pid_t pid = 0;
  const auto t0 = SteadyClock::now();
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (rc != 0) return failErrno(rc, "posix_spawn idle-client");
  std::string line;
  char c;
  while (::read(from_child[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  const double open_s = msSince(t0) / 1000;
  // The node counts a session once its driver runs; wait until it saw them all.
  int opened = 0;
  std::sscanf(line.c_str(), "opened %d", &opened);
  for (int i = 0; i < 200 && node->hub().activeSessionCount() < static_cast<size_t>(opened); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  const size_t active = node->hub().activeSessionCount();
  const uint64_t rss1 = rssBytes();
  std::printf("idle_requested: %d\n", n);
  std::printf("fd_limit: %llu\n", static_cast<unsigned long long>(fd_limit));
  std::printf("client_report: %s\n", line.c_str());
  std::printf("node_active_sessions: %zu\nnode_lanes: %zu\n", active, node->hub().laneCount());
  std::printf("open_seconds: %.1f\n", open_s);
  std::printf("node_rss_before_mib: %.1f\nnode_rss_after_mib: %.1f\n", rss0 / 1048576.0,
              rss1 / 1048576.0);
  if (active > 0) {
    std::printf("node_bytes_per_session: %.0f\n", static_cast<double>(rss1 - rss0) / active);
  }
  ::close(to_child[1]);
  ::close(from_child[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {};
}

// ---- stream ----

class Fetch final : public hs::SessionHandler {
 public:
  // DACKs every `dack_every` verified stream bytes (0: none).
  Fetch(const BlobId& id, uint64_t dack_every)
      : dack_every_(dack_every),
        request_{id, {}},
        ranges_(content::ByteRanges::all()),
        decoder_(id, ranges_, [this](uint64_t, std::span<const uint8_t> b) {
          verified_ += b.size();
          return Result<void>{};
        }) {}
  void onOpen(hs::SessionControl& control, uint64_t) override {
    control.send(hs::encodeContentRequest(request_));
  }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    THUNDER_TRY(decoder_.feed(payload));
    const auto claimed = decoder_.claimedSize();
    // encodedSize() walks the tree: once per stream, not per payload.
    if (claimed && !stream_size_) stream_size_ = content::encodedSize(*claimed, ranges_);
    // The whole stream arrived and verified: final DACK, then the client ends the session
    // (docs/protocol/builtin-services.md "End of the stream"), as `thunder fetch` does.
    if (claimed && decoder_.consumed() == *stream_size_) {
      THUNDER_TRY(decoder_.finish());
      finished_ = true;
      if (dack_every_ > 0) {
        control.acknowledgeBandwidth(decoder_.consumed(),
                                     hs::contentCommitment(request_, *claimed));
      }
      control.end(hs::TerminationReason::kNormal, "fetched");
      return {};
    }
    if (dack_every_ > 0 && decoder_.consumed() - acked_ >= dack_every_) {
      acked_ = decoder_.consumed();
      control.acknowledgeBandwidth(acked_, hs::contentCommitment(request_, claimed.value_or(0)));
    }
    return {};
  }
  Result<void> onNormalEnd() override { return finished_ ? Result<void>{} : decoder_.finish(); }
  uint64_t verified() const { return verified_; }

 private:
  uint64_t dack_every_;
  hs::ContentRequest request_;
  content::ByteRanges ranges_;
  content::RangeDecoder decoder_;
  std::optional<uint64_t> stream_size_;
  bool finished_ = false;
  uint64_t verified_ = 0;
  uint64_t acked_ = 0;
};

asio::awaitable<Result<double>> bareStream(std::shared_ptr<const net::TlsConnector> connector,
                                           std::string address, PublicKey node_pk, uint64_t size) {
  const auto t0 = SteadyClock::now();
  auto conn = co_await net::connectTls(connector, address, node_pk, kTimeout);
  if (!conn) co_return tl::unexpected(conn.error());
  std::array<uint8_t, 9> request{'s'};
  std::memcpy(request.data() + 1, &size, 8);
  THUNDER_CO_TRY(co_await (*conn)->writeAll(request));
  std::vector<uint8_t> buffer(256 * 1024);
  for (uint64_t got = 0; got < size;) {
    auto n = co_await (*conn)->readSome(buffer);
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0) co_return fail(ErrorCode::kUnavailable, "stream ended at {} of {}", got, size);
    got += *n;
  }
  co_return msSince(t0) / 1000;
}

Result<double> sessionStream(Node& node, const BlobId& id, uint64_t size, uint64_t dack_every) {
  hs::ClientOptions options;
  options.dack_every_bytes = 0;  // Fetch acknowledges verified bytes itself
  const auto key = keyNumber(2);
  hs::SystemClock clock;
  Fetch fetch(id, dack_every);
  // connectTls() + runClientSession(): what connectAndRun() does for a TLS address.
  auto task = [&]() -> asio::awaitable<Result<hs::SessionOutcome>> {
    auto conn = co_await net::connectTls(node.sessionAddress(), node.nodeKey(), kTimeout);
    if (!conn) co_return tl::unexpected(conn.error());
    co_return co_await hs::runClientSession(std::move(*conn), key,
                                            hs::ClientTarget{node.nodeKey(), hs::kContentServiceId},
                                            clock, fetch, options);
  };
  const auto t0 = SteadyClock::now();
  THUNDER_ASSIGN_OR_RETURN(auto outcome, runHere(task()));
  const double s = msSince(t0) / 1000;
  if (!outcome.normal()) return fail(ErrorCode::kInternal, "fetch: {}", outcome.describe());
  if (fetch.verified() != size) {
    return fail(ErrorCode::kCorruption, "verified {} of {} bytes", fetch.verified(), size);
  }
  return s;
}

Result<void> runStream(uint64_t mib, int repeat, uint64_t dack_every) {
  THUNDER_ASSIGN_OR_RETURN(auto node, Node::start());
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
  THUNDER_ASSIGN_OR_RETURN(auto connector, net::TlsConnector::create());
  double best_session = 1e30, best_bare = 1e30;
  for (int i = 0; i < repeat; ++i) {
    THUNDER_ASSIGN_OR_RETURN(double s, sessionStream(*node, put.id, size, dack_every));
    THUNDER_ASSIGN_OR_RETURN(
        double b, runHere(bareStream(connector, node->rawAddress(), node->nodeKey(), size)));
    best_session = std::min(best_session, s);
    best_bare = std::min(best_bare, b);
  }
  std::printf("stream_mib: %llu\nrepeat: %d\ndack_every_kib: %llu\n",
              static_cast<unsigned long long>(mib), repeat,
              static_cast<unsigned long long>(dack_every / 1024));
  std::printf("session_seconds: %.3f\nsession_gbps: %.2f\n", best_session,
              size / best_session / 1e9);
  std::printf("bare_tls_seconds: %.3f\nbare_tls_gbps: %.2f\n", best_bare, size / best_bare / 1e9);
  std::printf("ratio: %.2f\n", best_bare / best_session);
  return {};
}

int usage() {
  std::fprintf(
      stderr,
      "usage: bench_session_load ttfb N | rtt MS N | idle N | stream MIB [REPEAT [DACK_KIB]]\n"
      "  ttfb N       time to first echo byte: session vs bare TLS, N rounds\n"
      "  rtt MS N     the same through relays adding MS ms each way (TLS/TCP, QUIC/UDP)\n"
      "  idle N       N concurrent idle sessions from a child process: node RSS growth\n"
      "  stream MIB   one session fetching a MIB MiB blob vs bare TLS (best of REPEAT=3),\n"
      "               the client DACKing every DACK_KIB=1024 verified KiB (0: never)\n");
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  const long n = std::strtol(argv[2], nullptr, 10);
  Result<void> result;
  if (cmd == "ttfb" && argc == 3 && n > 0) {
    result = runTtfb(static_cast<int>(n));
  } else if (cmd == "rtt" && argc == 4 && std::atof(argv[2]) > 0 && std::atoi(argv[3]) > 0) {
    result = runRtt(std::atof(argv[2]), std::atoi(argv[3]));
  } else if (cmd == "idle" && argc == 3 && n > 0) {
    result = runIdle(static_cast<int>(n));
  } else if (cmd == "stream" && argc >= 3 && argc <= 5 && n > 0) {
    const int repeat = argc >= 4 ? std::atoi(argv[3]) : 3;
    const uint64_t dack_kib = argc == 5 ? std::strtoull(argv[4], nullptr, 10) : 1024;
    result = runStream(static_cast<uint64_t>(n), std::max(repeat, 1), dack_kib * 1024);
  } else if (cmd == "idle-client" && argc == 5) {
    result = runIdleClient(argv[2], argv[3], std::atoi(argv[4]));
  } else {
    return usage();
  }
  if (!result) {
    std::fprintf(stderr, "bench_session_load %s: %s\n", cmd.c_str(),
                 result.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace thunder::bench

int main(int argc, char** argv) {
  return thunder::bench::run(argc, argv);
}
