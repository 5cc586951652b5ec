#include "handshake/client_driver.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <vector>

#include "base/log.h"
#include "handshake/connection_binding.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "net/quic_transport.h"
#include "net/tls_transport.h"
#include "net/ws_transport.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// One running session: the state machine, the write queue and the three loops (read, write,
// timer) plus the handler's producer, all on the connection's loop.
class Driver final : public SessionControl {
 public:
  Driver(std::unique_ptr<net::StreamConnection> conn, const crypto::SigningKey& key,
         ClientTarget target, TransportBinding binding, const Clock& clock, SessionHandler& handler,
         ClientOptions options)
      : conn_(std::move(conn)),
        clock_(clock),
        handler_(handler),
        session_(key, std::move(target), std::move(binding), clock, options),
        wake_writer_(conn_->executor()),
        writable_(conn_->executor()),
        timer_(conn_->executor()),
        opened_(conn_->executor()) {
    for (auto* t : {&wake_writer_, &writable_, &timer_, &opened_}) {
      t->expires_at(asio::steady_timer::time_point::max());
    }
  }

  asio::awaitable<Result<SessionOutcome>> run() {
    perform(session_.start());
    co_await (readLoop() && writeLoop() && timerLoop() && produceLoop());
    if (!closing_reason_set_ && transport_error_) co_return tl::unexpected(*transport_error_);
    co_return std::move(outcome_);
  }

  // SessionControl.
  void send(std::span<const uint8_t> payload) override { perform(session_.sendPayload(payload)); }
  void end(TerminationReason reason, std::string_view message) override {
    perform(session_.terminate(reason, message));
  }
  void setCommitment(const Commitment& commitment) override { session_.setCommitment(commitment); }
  void acknowledgeBandwidth(uint64_t amount, const Commitment& commitment) override {
    if (session_.state() != SessionState::kOpen || amount <= outcome_.dacked_bytes) return;
    perform(session_.acknowledge(Commodity::kBandwidthBytes, amount, commitment));
  }
  asio::awaitable<void> waitWritable(size_t limit) override {
    while (queued_bytes_ > limit && !closing_) {
      writable_.expires_at(asio::steady_timer::time_point::max());
      co_await writable_.async_wait(kAwait);
    }
  }
  bool isOpen() const override { return session_.state() == SessionState::kOpen && !closing_; }
  uint64_t receivedBytes() const override { return session_.receivedBytes(); }
  asio::any_io_executor executor() const override { return conn_->executor(); }

 private:
  // Performs a batch of actions. The bytes of the batch (automatic DACKs included) are queued
  // before any handler callback runs, so a handler that ends the session from onPayload() never
  // puts frames of this batch after its Termination.
  void perform(Actions actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<SendBytes>(&action)) {
        noteDack(send->bytes);
        queued_bytes_ += send->bytes.size();
        queue_.push_back(std::move(send->bytes));
        wake_writer_.cancel();
      }
    }
    for (auto& action : actions) {
      if (std::holds_alternative<SendBytes>(action)) {
        continue;
      } else if (auto* deliver = std::get_if<DeliverPayload>(&action)) {
        if (closing_) continue;
        outcome_.received_bytes = session_.receivedBytes();
        if (auto ok = handler_.onPayload(*this, deliver->payload); !ok) {
          outcome_.local_error = ok.error();
          perform(session_.terminate(TerminationReason::kServiceError, ok.error().message));
        }
      } else if (auto* opened = std::get_if<SessionOpened>(&action)) {
        outcome_.welcome = session_.welcome();
        opened_.cancel();
        handler_.onOpen(*this, opened->resume_offset);
      } else if (auto* token = std::get_if<TokenUpdated>(&action)) {
        outcome_.token = *token;
        handler_.onToken(*token);
      } else if (auto* done = std::get_if<Terminated>(&action)) {
        if (closing_reason_set_) continue;
        outcome_.reason = done->reason;
        outcome_.origin = done->origin;
        outcome_.message = done->message;
        outcome_.received_bytes = session_.receivedBytes();
        closing_reason_set_ = true;
        if (done->origin == TerminationOrigin::kPeer &&
            done->reason == TerminationReason::kNormal && !outcome_.local_error) {
          if (auto ok = handler_.onNormalEnd(); !ok) outcome_.local_error = ok.error();
        }
        startClosing();
      }
    }
  }

  // Counts the DACK frames the session sends (automatic ones included).
  void noteDack(std::span<const uint8_t> bytes) {
    if (bytes.empty() || bytes[0] != static_cast<uint8_t>(FrameType::kDack)) return;
    auto frame = decodeFrame(bytes, FrameLimits{});
    if (!frame) return;
    auto dack = parseDack(frame->payload);
    if (!dack) return;
    ++outcome_.dacks_sent;
    if (dack->commodity == Commodity::kBandwidthBytes) outcome_.dacked_bytes = dack->amount;
    if (dack->commodity == Commodity::kComputeMs) outcome_.dacked_compute_ms = dack->amount;
  }

  void startClosing() {
    if (closing_) return;
    closing_ = true;
    handler_.stop();
    wake_writer_.cancel();
    writable_.cancel();
    timer_.cancel();
    opened_.cancel();
  }

  asio::awaitable<void> readLoop() {
    std::vector<uint8_t> buffer(256 * 1024);
    while (!closing_) {
      auto n = co_await conn_->readSome(buffer);
      if (closing_) break;
      if (!n || *n == 0) {
        session_.onTransportClosed();
        transport_error_ =
            n ? Error{ErrorCode::kUnavailable,
                      fmt::format("the node at {} closed the connection without ending the "
                                  "session ({} payload bytes received)",
                                  conn_->remoteAddress(), session_.receivedBytes())}
              : n.error();
        startClosing();
        break;
      }
      perform(session_.onBytes(std::span(buffer).first(*n)));
    }
  }

  asio::awaitable<void> writeLoop() {
    for (;;) {
      if (queue_.empty()) {
        if (closing_) break;
        wake_writer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_writer_.async_wait(kAwait);
        continue;
      }
      std::vector<uint8_t> bytes = std::move(queue_.front());
      queue_.pop_front();
      auto ok = co_await conn_->writeAll(bytes);
      queued_bytes_ -= bytes.size();
      writable_.cancel();
      if (!ok) {
        if (!transport_error_) transport_error_ = ok.error();
        session_.onTransportClosed();
        queue_.clear();
        startClosing();
        break;
      }
    }
    conn_->close();
  }

  asio::awaitable<void> timerLoop() {
    while (!closing_) {
      auto deadline = session_.nextDeadline();
      if (!deadline) {
        timer_.expires_at(asio::steady_timer::time_point::max());
      } else {
        timer_.expires_after(std::max(Duration(0), *deadline - clock_.now()));
      }
      co_await timer_.async_wait(kAwait);
      if (closing_) break;
      if (deadline && clock_.now() >= *deadline) perform(session_.onTimer(clock_.now()));
    }
  }

  asio::awaitable<void> produceLoop() {
    while (session_.state() == SessionState::kHandshaking && !closing_) {
      co_await opened_.async_wait(kAwait);
    }
    if (closing_) co_return;
    co_await handler_.produce(*this);
  }

  std::unique_ptr<net::StreamConnection> conn_;
  const Clock& clock_;
  SessionHandler& handler_;
  ClientSession session_;
  std::deque<std::vector<uint8_t>> queue_;
  size_t queued_bytes_ = 0;
  asio::steady_timer wake_writer_;  // cancelled to wake the writer
  asio::steady_timer writable_;     // cancelled when the queue shrinks
  asio::steady_timer timer_;        // the session's deadline
  asio::steady_timer opened_;       // cancelled once the session opens
  bool closing_ = false;
  bool closing_reason_set_ = false;
  std::optional<Error> transport_error_;
  SessionOutcome outcome_;
};

}  // namespace

asio::awaitable<void> SessionHandler::produce(SessionControl&) {
  co_return;
}

std::string SessionOutcome::describe() const {
  if (local_error) return local_error->message;
  const std::string_view name = terminationReasonName(reason);
  const char* who = origin == TerminationOrigin::kPeer ? "the node ended the session"
                                                       : "the client ended the session";
  if (message.empty()) return fmt::format("{}: {}", who, name);
  return fmt::format("{}: {} ({})", who, name, message);
}

asio::awaitable<Result<SessionOutcome>> runClientSession(
    std::unique_ptr<net::StreamConnection> conn, const crypto::SigningKey& client_key,
    ClientTarget target, const Clock& clock, SessionHandler& handler, ClientOptions options) {
  THUNDER_CO_ASSIGN_OR_RETURN(auto binding, transportBindingOf(*conn));
  Driver driver(std::move(conn), client_key, std::move(target), std::move(binding), clock, handler,
                options);
  co_return co_await driver.run();
}

asio::awaitable<Result<SessionOutcome>> connectAndRun(ConnectOptions options,
                                                      const crypto::SigningKey& client_key,
                                                      const Clock& clock, SessionHandler& handler) {
  // ws:// has no TLS to authenticate the node: ClientSession refuses a Welcome that is not
  // signed by the pinned key (options.target.node_pk) over this session's Hello.
  Result<std::unique_ptr<net::StreamConnection>> conn = nullptr;
  if (net::isWsUrl(options.address)) {  // (no co_await inside ?: with GCC 12)
    conn = co_await net::connectWsUrl(options.address, options.connect_timeout);
  } else if (net::isQuicUrl(options.address)) {
    conn =
        co_await net::connectQuic(options.address, options.target.node_pk, options.connect_timeout);
  } else {
    conn =
        co_await net::connectTls(options.address, options.target.node_pk, options.connect_timeout);
  }
  if (!conn) co_return tl::unexpected(conn.error());
  co_return co_await runClientSession(std::move(*conn), client_key, std::move(options.target),
                                      clock, handler, options.session);
}

Result<SessionOutcome> connectAndRunBlocking(ConnectOptions options,
                                             const crypto::SigningKey& client_key,
                                             const Clock& clock, SessionHandler& handler) {
  asio::io_context io;
  std::optional<Result<SessionOutcome>> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await connectAndRun(std::move(options), client_key, clock, handler);
      },
      asio::detached);
  io.run();
  if (!result) return fail(ErrorCode::kInternal, "the client session did not complete");
  return std::move(*result);
}

}  // namespace thunder::handshake
