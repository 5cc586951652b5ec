// The in-process node and client helpers of bench_session_load (session_load_tool.cc): a
// Node (io::Runtime with 2 loops, a TlsListener serving sessions with the built-in services over
// a temporary FsBlobStore and DackQueue, and a bare-TLS reference listener on the same runtime)
// and Probe, one client session stepped by hand over connectTls(). Benchmark code, not a library:
// a Node is created and destroyed by the main thread; a Probe lives on the io_context that
// created it.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "handshake/builtin_services.h"
#include "handshake/client_session.h"
#include "handshake/hello.h"
#include "handshake/session_driver.h"
#include "handshake/termination.h"
#include "net/quic_transport.h"
#include "net/tls_transport.h"

namespace thunder::bench {

namespace asio = boost::asio;
namespace hs = thunder::handshake;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

inline constexpr auto kTimeout = 30s;

inline crypto::SigningKey keyNumber(uint32_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(0x77);
  std::memcpy(seed.data(), &n, sizeof n);
  return crypto::SigningKey::fromSeed(seed);
}

inline double msSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

// Resident set size of this process, from /proc/self/status (VmRSS), in bytes.
inline uint64_t rssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

// Raises the open-file soft limit to the hard limit; returns the new soft limit.
inline uint64_t raiseFdLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  ::getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

// Runs `task` on a private io_context of the calling thread and returns its result.
template <typename T>
T runHere(asio::awaitable<T> task) {
  asio::io_context ctx;
  auto future = asio::co_spawn(ctx, std::move(task), asio::use_future);
  ctx.run();
  return future.get();
}

// The bare-TLS reference server: the first byte chooses the mode. 'e': echo everything;
// 's' + u64 LE size: write `size` bytes in 64 KiB pieces, then wait for the client to close.
inline asio::awaitable<void> serveRaw(std::unique_ptr<net::StreamConnection> conn) {
  std::vector<uint8_t> buf(64 * 1024, 0x5C);
  size_t have = 0;
  while (have < 1 || (buf[0] == 's' && have < 9)) {
    auto n = co_await conn->readSome(std::span(buf).subspan(have));
    if (!n || *n == 0) co_return;
    have += *n;
  }
  if (buf[0] == 'e') {
    while (true) {
      if (!co_await conn->writeAll(std::span(buf).first(have))) co_return;
      auto n = co_await conn->readSome(buf);
      if (!n || *n == 0) co_return;
      have = *n;
    }
  }
  uint64_t left = 0;
  std::memcpy(&left, buf.data() + 1, 8);
  std::fill(buf.begin(), buf.end(), uint8_t{0x5C});
  while (left > 0) {
    const size_t n = std::min<uint64_t>(left, buf.size());
    if (!co_await conn->writeAll(std::span(buf).first(n))) co_return;
    left -= n;
  }
  (void)co_await conn->readSome(buf);
}

// The node: sessions listener with the built-in services, and the bare-TLS reference listener.
class Node {
 public:
  static Result<std::unique_ptr<Node>> start() {
    auto node = std::unique_ptr<Node>(new Node());
    THUNDER_TRY(node->init());
    return node;
  }
  ~Node() {
    if (sessions_) sessions_->stop();
    if (quic_) quic_->stop();
    if (raw_) raw_->stop();
    runtime_.stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string sessionAddress() const { return sessions_->localAddress(); }
  std::string rawAddress() const { return raw_->localAddress(); }
  std::string quicAddress() const { return quic_->localAddress(); }
  PublicKey nodeKey() const { return node_key_.publicKey(); }
  hs::SessionHub& hub() { return *hub_; }
  content::FsBlobStore& store() { return *store_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Node() = default;

  Result<void> init() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/var/tmp") + "/thunder-session-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return failErrno(errno, "mkdtemp " + pattern);
    dir_ = pattern;
    runtime_.start();
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    THUNDER_ASSIGN_OR_RETURN(store_, content::FsBlobStore::open(std::move(store_options)));
    hs::DackQueueOptions dack_options;
    dack_options.path = dir_ / "dacks";
    THUNDER_ASSIGN_OR_RETURN(dacks_, hs::DackQueue::open(dack_options));
    THUNDER_TRY(hs::addBuiltinServices(services_, *store_, runtime_.blockingPool()));
    hs::SessionHubOptions hub_options;
    // Idle sessions must outlive the time it takes to open 10,000 of them.
    hub_options.server.idle_timeout = std::chrono::minutes(30);
    hub_.emplace(node_key_, services_, clock_, hub_options);
    context_.emplace(
        hs::SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    THUNDER_ASSIGN_OR_RETURN(auto identity, net::TlsIdentity::fromSigningKey(node_key_));
    identity_.emplace(std::move(identity));
    net::TlsListenerOptions options;
    options.max_connections = 64 * 1024;
    THUNDER_ASSIGN_OR_RETURN(
        sessions_, net::TlsListener::start(runtime_, *identity_, options, [this](auto conn) {
          return hs::serveSession(std::move(conn), *context_);
        }));
    THUNDER_ASSIGN_OR_RETURN(
        raw_, net::TlsListener::start(runtime_, *identity_, options,
                                      [](auto conn) { return serveRaw(std::move(conn)); }));
    net::QuicListenerOptions quic_options;
    quic_options.listen = "127.0.0.1:0";
    THUNDER_ASSIGN_OR_RETURN(
        quic_, net::QuicListener::start(runtime_, node_key_, quic_options, [this](auto conn) {
          return hs::serveSession(std::move(conn), *context_);
        }));
    return {};
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  crypto::SigningKey node_key_ = keyNumber(0xA0A0);
  hs::SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<content::FsBlobStore> store_;
  std::unique_ptr<hs::DackQueue> dacks_;
  hs::SessionServices services_;
  std::optional<hs::SessionHub> hub_;
  std::optional<hs::SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> sessions_;
  std::unique_ptr<net::TlsListener> raw_;
  std::unique_ptr<net::QuicListener> quic_;
};

// One client session stepped by hand (ClientSession over a connection), for ttfb and idle.
class Probe {
 public:
  Probe(std::unique_ptr<net::StreamConnection> conn, const crypto::SigningKey& key,
        const PublicKey& node_pk, ServiceId service, const hs::Clock& clock,
        const net::ExportedKey& exported)
      : conn_(std::move(conn)) {
    session_.emplace(key, hs::ClientTarget{node_pk, service},
                     hs::TransportBinding::tlsExporter(exported), clock);
  }

  // Connects and sends the Hello and reads until the Welcome opened the session.
  static asio::awaitable<Result<std::unique_ptr<Probe>>> open(
      std::shared_ptr<const net::TlsConnector> connector, std::string address, PublicKey node_pk,
      const crypto::SigningKey& key, ServiceId service, const hs::Clock& clock) {
    auto conn = co_await net::connectTls(connector, address, node_pk, kTimeout);
    if (!conn) co_return tl::unexpected(conn.error());
    co_return co_await openOn(std::move(*conn), node_pk, key, service, clock);
  }

  // The same over a connection made elsewhere (QUIC): Hello, then read until the Welcome.
  static asio::awaitable<Result<std::unique_ptr<Probe>>> openOn(
      std::unique_ptr<net::StreamConnection> conn, PublicKey node_pk, const crypto::SigningKey& key,
      ServiceId service, const hs::Clock& clock) {
    auto exported = conn->exportKeyingMaterial(hs::kTlsExporterLabel);
    if (!exported) co_return tl::unexpected(exported.error());
    auto probe = std::make_unique<Probe>(std::move(conn), key, node_pk, service, clock, *exported);
    // No temporaries with destructors inside co_await expressions (GCC 12, io/offload.h).
    hs::Actions hello = probe->session_->start();
    THUNDER_CO_TRY(co_await probe->perform(std::move(hello)));
    Probe* p = probe.get();
    std::function<bool()> opened = [p] {
      return p->session_->state() != hs::SessionState::kHandshaking;
    };
    THUNDER_CO_TRY(co_await probe->readUntil(std::move(opened)));
    if (probe->session_->state() != hs::SessionState::kOpen) {
      co_return fail(ErrorCode::kUnavailable, "session not opened: {}", probe->ended_);
    }
    co_return probe;
  }

  // Sends `payload` and reads until `expected` payload bytes arrived in total.
  asio::awaitable<Result<void>> echo(std::vector<uint8_t> payload, uint64_t expected) {
    hs::Actions actions = session_->sendPayload(payload);
    THUNDER_CO_TRY(co_await perform(std::move(actions)));
    std::function<bool()> done = [this, expected] { return received_ >= expected; };
    co_return co_await readUntil(std::move(done));
  }

  // Ends the session normally and reads until the node closes (its lane is then free).
  asio::awaitable<void> finish() {
    hs::Actions actions = session_->terminate(hs::TerminationReason::kNormal, "done");
    (void)co_await perform(std::move(actions));
    std::function<bool()> never = [] { return false; };
    (void)co_await readUntil(std::move(never));
  }

 private:
  asio::awaitable<Result<void>> perform(hs::Actions actions) {
    std::vector<uint8_t> out;
    for (auto& action : actions) {
      if (auto* send = std::get_if<hs::SendBytes>(&action)) {
        out.insert(out.end(), send->bytes.begin(), send->bytes.end());
      } else if (auto* payload = std::get_if<hs::DeliverPayload>(&action)) {
        received_ += payload->payload.size();
      } else if (auto* t = std::get_if<hs::Terminated>(&action)) {
        ended_ = std::string(hs::terminationReasonName(t->reason)) + " (" + t->message + ")";
      }
    }
    if (!out.empty()) THUNDER_CO_TRY(co_await conn_->writeAll(out));
    co_return Result<void>{};
  }

  // Reads and handles bytes until done() or the connection ends (an error unless done()).
  asio::awaitable<Result<void>> readUntil(std::function<bool()> done) {
    std::vector<uint8_t> buffer(16 * 1024);
    while (!done()) {
      auto n = co_await conn_->readSome(buffer);
      if (!n || *n == 0) {
        session_->onTransportClosed();
        if (!n) co_return tl::unexpected(n.error());
        co_return fail(ErrorCode::kUnavailable, "node closed the connection: {}", ended_);
      }
      hs::Actions actions = session_->onBytes(std::span(buffer).first(*n));
      THUNDER_CO_TRY(co_await perform(std::move(actions)));
    }
    co_return Result<void>{};
  }

  std::unique_ptr<net::StreamConnection> conn_;
  std::optional<hs::ClientSession> session_;
  uint64_t received_ = 0;
  std::string ended_ = "no termination";
};

}  // namespace thunder::bench
