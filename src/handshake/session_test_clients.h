// Clients and services for the session transport suite (handshake/session_transport_suite.h):
// SessionTestClient steps a ClientSession over an established net::StreamConnection from the test
// thread; EchoClient is a SessionHandler for the real client driver; CountingService is an echo
// service that counts its connections and notes their transport.
// Test-only, header-only: include it from *_test.cc files (through the suite) only.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "handshake/builtin_services.h"
#include "handshake/client_driver.h"
#include "handshake/client_session.h"
#include "handshake/connection_binding.h"
#include "net/stream_transport.h"

namespace thunder::handshake {

namespace suite {

namespace asio = boost::asio;

template <typename T>
T runOn(asio::any_io_executor executor, asio::awaitable<T> task) {
  return asio::co_spawn(executor, std::move(task), asio::use_future).get();
}

inline std::vector<uint8_t> patternBytes(size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i % 251);
  return out;
}

// Echo, counting the connections it opens and noting the transport they came over (service 7).
class CountingService final : public SessionService {
 public:
  explicit CountingService(std::atomic<int>& opened) : opened_(opened) {}
  ServiceId id() const override { return ServiceId{7}; }
  std::string_view name() const override { return "counting"; }
  Result<std::unique_ptr<ServiceConnection>> open(const ConnectionInfo& info) override {
    {
      std::lock_guard lock(mutex_);
      last_transport_ = info.transport;
    }
    ++opened_;
    return echo_.open(info);
  }
  std::string lastTransport() const {
    std::lock_guard lock(mutex_);
    return last_transport_;
  }

 private:
  std::atomic<int>& opened_;
  EchoService echo_;
  mutable std::mutex mutex_;
  std::string last_transport_;  // GUARDED_BY(mutex_)
};

// For the real client driver: sends `count` payloads of `size` bytes on open and ends normally
// once all came back.
class EchoClient final : public SessionHandler {
 public:
  EchoClient(size_t count, size_t size) : count_(count), size_(size) {}
  void onOpen(SessionControl& control, uint64_t) override {
    opened_ = true;
    for (size_t i = 0; i < count_; ++i) {
      auto payload = patternBytes(size_);
      payload[0] = static_cast<uint8_t>(i);
      sent_.insert(sent_.end(), payload.begin(), payload.end());
      control.send(payload);
    }
  }
  Result<void> onPayload(SessionControl& control, std::span<const uint8_t> payload) override {
    received_.insert(received_.end(), payload.begin(), payload.end());
    if (received_.size() == sent_.size()) control.end(TerminationReason::kNormal, "done");
    return {};
  }
  bool opened_ = false;
  std::vector<uint8_t> sent_, received_;

 private:
  size_t count_, size_;
};

// The binding a TestClient's Hello carries: the connection's own, or a TLS exporter value of
// zeros (wrong on every transport: another value over TLS and QUIC, another kind over ws://).
enum class BindingChoice { kConnection, kWrong };

// One client connection: a ClientSession over an established StreamConnection, stepped from the
// test thread (each step runs on the connection's loop and waits).
class SessionTestClient {
 public:
  SessionTestClient(Result<std::unique_ptr<net::StreamConnection>> conn, const PublicKey& node_pk,
                    const crypto::SigningKey& key, ServiceId service, ClientOptions options,
                    BindingChoice binding)
      : key_(key) {
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return;
    conn_ = std::move(conn).value();
    TransportBinding chosen = TransportBinding::tlsExporter(std::array<uint8_t, 32>{});
    if (binding == BindingChoice::kConnection) {
      auto own = transportBindingOf(*conn_);
      EXPECT_TRUE(own) << own.error().message;
      if (own) chosen = std::move(own).value();
    }
    session_.emplace(key_, ClientTarget{node_pk, service}, std::move(chosen), clock_, options);
  }

  ~SessionTestClient() {
    if (conn_) runOn(conn_->executor(), drop());
  }

  // Sends the Hello and reads until the session is open or over.
  SessionState open() {
    return step([this]() -> asio::awaitable<void> {
      co_await perform(session_->start());
      co_await readUntil([this] { return session_->state() != SessionState::kHandshaking; });
    });
  }

  // Sends `payload` and reads until `expected` payload bytes arrived in total.
  SessionState sendAndRead(std::vector<uint8_t> payload, size_t expected) {
    return step([this, payload, expected]() -> asio::awaitable<void> {
      co_await perform(session_->sendPayload(payload));
      co_await readUntil([this, expected] { return received_.size() >= expected; });
    });
  }

  // Sends `payload` and reads until the session is over.
  SessionState sendAndReadToEnd(std::vector<uint8_t> payload) {
    return step([this, payload]() -> asio::awaitable<void> {
      co_await perform(session_->sendPayload(payload));
      co_await readUntil([] { return false; });
    });
  }

  SessionState readToEnd() {
    return step([this]() -> asio::awaitable<void> { co_await readUntil([] { return false; }); });
  }

  // Sends a normal Termination and reads until the node closes the connection.
  void finish() {
    step([this]() -> asio::awaitable<void> {
      co_await perform(session_->terminate(TerminationReason::kNormal, "bye"));
      co_await readUntil([] { return false; });
    });
  }

  bool connected() const { return conn_ != nullptr; }
  const std::vector<uint8_t>& received() const { return received_; }
  const std::optional<Terminated>& terminated() const { return terminated_; }

 private:
  template <typename F>
  SessionState step(F f) {
    if (!conn_) return SessionState::kClosed;
    runOn(conn_->executor(), f());
    return session_->state();
  }

  asio::awaitable<void> drop() {
    conn_.reset();
    co_return;
  }

  asio::awaitable<void> perform(Actions actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<SendBytes>(&action)) {
        if (!co_await conn_->writeAll(send->bytes)) eof_ = true;
      } else if (auto* payload = std::get_if<DeliverPayload>(&action)) {
        received_.insert(received_.end(), payload->payload.begin(), payload->payload.end());
      } else if (auto* terminated = std::get_if<Terminated>(&action)) {
        terminated_ = *terminated;
      }
    }
  }

  // Reads and handles bytes until done() or the connection ends.
  asio::awaitable<void> readUntil(std::function<bool()> done) {
    std::vector<uint8_t> buffer(64 * 1024);
    while (!eof_ && !done()) {
      auto n = co_await conn_->readSome(buffer);
      if (!n || *n == 0) {
        eof_ = true;
        session_->onTransportClosed();
        break;
      }
      co_await perform(session_->onBytes(std::span<const uint8_t>(buffer).first(*n)));
    }
  }

  const crypto::SigningKey& key_;
  SystemClock clock_;
  std::unique_ptr<net::StreamConnection> conn_;
  std::optional<ClientSession> session_;
  std::vector<uint8_t> received_;
  std::optional<Terminated> terminated_;
  bool eof_ = false;
};

}  // namespace suite

}  // namespace thunder::handshake
