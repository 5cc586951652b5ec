#include "handshake/session_driver.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

#include "base/log.h"
#include "handshake/connection_binding.h"
#include "handshake/hello.h"
#include "io/offload.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;

// Payload bytes waiting for the service before the driver stops reading from the client.
constexpr size_t kInboxLimit = 1024 * 1024;
// The read buffer starts small, so that an idle session holds little memory, and doubles up to
// the maximum whenever a read fills it (a client that is sending a lot).
constexpr size_t kMinReadBufferSize = 2 * 1024;
constexpr size_t kMaxReadBufferSize = 64 * 1024;

// A one-waiter wake-up: wait() suspends until notify() (or returns at once if notified since
// the last wait()).
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor) : timer_(executor) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  asio::awaitable<void> wait() {
    if (pending_) {
      pending_ = false;
      co_return;
    }
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    pending_ = false;
  }
  void notify() {
    pending_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

class SessionDriver final : public SessionIo, public std::enable_shared_from_this<SessionDriver> {
 public:
  SessionDriver(std::unique_ptr<net::StreamConnection> conn, const SessionDriverContext& context,
                TransportBinding binding)
      : conn_(std::move(conn)),
        context_(context),
        executor_(conn_->executor()),
        session_(std::make_unique<ServerSession>(context.hub.context(), std::move(binding))),
        deadline_timer_(executor_),
        outbox_signal_(executor_),
        flushed_signal_(executor_),
        inbox_signal_(executor_),
        inbox_space_(executor_),
        done_signal_(executor_) {}

  ~SessionDriver() override {
    service_.reset();
    // The session detaches or frees its lane in the shared table.
    context_.hub.locked([this] { session_.reset(); });
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    ++context_.hub.activeSessions();
    spawn(writer());
    spawn(timerLoop());
    co_await readLoop();
    // After a Termination the writer closes once it is written (or the timer, after the grace).
    if (!close_requested_) closeTransport();
    while (children_ > 0) co_await done_signal_.wait();
    --context_.hub.activeSessions();
  }

  // SessionIo.
  asio::awaitable<std::optional<std::vector<uint8_t>>> receive() override {
    while (inbox_.empty() && !over()) co_await inbox_signal_.wait();
    if (over()) co_return std::nullopt;
    std::vector<uint8_t> payload = std::move(inbox_.front());
    inbox_.pop_front();
    inbox_bytes_ -= payload.size();
    inbox_space_.notify();
    co_return payload;
  }

  void stopReceiving() override {
    discard_payloads_ = true;
    inbox_.clear();
    inbox_bytes_ = 0;
    inbox_space_.notify();
  }

  asio::awaitable<Result<void>> send(std::vector<uint8_t> payload) override {
    if (over()) co_return fail(ErrorCode::kCancelled, "the session is over");
    Actions actions = context_.hub.locked([&] { return session_->sendPayload(payload); });
    for (auto& action : actions) applyNow(action);
    const uint64_t target = enqueued_;
    while (flushed_ < target && !closed_) co_await flushed_signal_.wait();
    if (flushed_ < target) co_return fail(ErrorCode::kCancelled, "the connection closed");
    co_return Result<void>{};
  }

  void end(TerminationReason reason, std::string_view message) override {
    if (over()) return;
    Actions actions = context_.hub.locked([&] { return session_->terminate(reason, message); });
    for (auto& action : actions) applyNow(action);
  }

  void proposeUsage(Commodity commodity, uint64_t cumulative,
                    const Commitment& commitment) override {
    if (over()) return;
    Actions actions = context_.hub.locked(
        [&] { return session_->proposeUsage(commodity, cumulative, commitment); });
    for (auto& action : actions) applyNow(action);
  }

 private:
  // The session is over for the service: terminated, or the transport is gone.
  bool over() const { return close_requested_ || closed_; }

  static asio::awaitable<void> child(std::shared_ptr<SessionDriver> self,
                                     asio::awaitable<void> task) {
    co_await std::move(task);
    if (--self->children_ == 0) self->done_signal_.notify();
  }

  void spawn(asio::awaitable<void> task) {
    ++children_;
    asio::co_spawn(executor_, child(shared_from_this(), std::move(task)), asio::detached);
  }

  asio::awaitable<void> readLoop() {
    std::vector<uint8_t> buffer(kMinReadBufferSize);
    while (!over()) {
      auto n = co_await conn_->readSome(buffer);
      if (!n || *n == 0) {
        if (!over()) transportClosed(n ? "end of stream" : n.error().message);
        break;
      }
      const bool filled = *n == buffer.size();
      Actions actions = context_.hub.locked(
          [&] { return session_->onBytes(std::span<const uint8_t>(buffer).first(*n)); });
      co_await perform(std::move(actions));
      // Received frames move the idle deadline; a Hello starts new ones.
      rearmTimer();
      while (inbox_bytes_ > kInboxLimit && !over()) co_await inbox_space_.wait();
      if (filled && buffer.size() < kMaxReadBufferSize) buffer.resize(buffer.size() * 2);
    }
  }

  asio::awaitable<void> writer() {
    for (;;) {
      while (outbox_.empty() && !close_requested_ && !closed_) co_await outbox_signal_.wait();
      if (closed_) break;
      if (outbox_.empty()) {  // a Termination was queued and everything before it is written
        closeTransport();
        break;
      }
      std::vector<uint8_t> bytes = std::move(outbox_.front());
      outbox_.pop_front();
      auto written = co_await conn_->writeAll(bytes);
      if (!written) {
        if (!closed_) transportClosed(written.error().message);
        break;
      }
      ++flushed_;
      flushed_signal_.notify();
    }
  }

  asio::awaitable<void> timerLoop() {
    const Clock& clock = context_.hub.context().clock;
    while (!closed_) {
      std::optional<TimePoint> deadline;
      if (close_requested_) {
        deadline = close_deadline_;
      } else {
        deadline = context_.hub.locked([this] { return session_->nextDeadline(); });
      }
      armed_ = deadline.value_or(TimePoint::max());
      if (deadline) {
        deadline_timer_.expires_after(std::max(Duration(0), *deadline - clock.now()));
      } else {
        deadline_timer_.expires_at(asio::steady_timer::time_point::max());
      }
      boost::system::error_code ignored;
      co_await deadline_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (closed_) break;
      const TimePoint now = clock.now();
      if (close_requested_) {
        if (now >= close_deadline_) {
          THUNDER_LOG(debug, "handshake", "{}: the client did not read its Termination in time",
                      conn_->remoteAddress());
          closeTransport();
        }
        continue;
      }
      Actions actions = context_.hub.locked([&] { return session_->onTimer(now); });
      co_await perform(std::move(actions));
    }
  }

  // Wakes the timer loop if the session's next deadline moved before the armed one.
  void rearmTimer() {
    if (closed_) return;
    std::optional<TimePoint> deadline =
        context_.hub.locked([this] { return session_->nextDeadline(); });
    if (close_requested_ || (deadline && *deadline < armed_)) deadline_timer_.cancel();
  }

  asio::awaitable<void> perform(Actions actions) {
    for (auto& action : actions) {
      if (auto* store = std::get_if<StoreDack>(&action)) {
        co_await storeDack(std::move(store->dack));
      } else if (auto* payload = std::get_if<DeliverPayload>(&action)) {
        deliver(std::move(payload->payload));
      } else if (auto* opened = std::get_if<SessionOpened>(&action)) {
        openService(*opened);
      } else {
        applyNow(action);
      }
    }
  }

  // The actions that complete without waiting: SendBytes, Terminated (TokenUpdated is for
  // clients). Enqueuing here, synchronously, keeps frames in the order the session made them.
  void applyNow(Action& action) {
    if (auto* send = std::get_if<SendBytes>(&action)) {
      if (close_requested_ || closed_) return;
      outbox_.push_back(std::move(send->bytes));
      ++enqueued_;
      outbox_signal_.notify();
    } else if (auto* terminated = std::get_if<Terminated>(&action)) {
      onTerminated(*terminated);
    }
  }

  void deliver(std::vector<uint8_t> payload) {
    if (discard_payloads_ || !service_) return;
    inbox_bytes_ += payload.size();
    inbox_.push_back(std::move(payload));
    inbox_signal_.notify();
  }

  void openService(const SessionOpened& opened) {
    SessionService* service = context_.services.find(opened.service);
    Result<std::unique_ptr<ServiceConnection>> connection =
        service ? service->open(ConnectionInfo{
                      opened.client_pk, opened.service, opened.lane, opened.resume_offset,
                      std::string(conn_->transportName()), conn_->remoteAddress()})
                : fail(ErrorCode::kNotFound, "service {} is not running", opened.service.value());
    if (!connection) {
      end(TerminationReason::kServiceError, connection.error().message);
      return;
    }
    service_ = std::move(connection).value();
    spawn(runService());
  }

  asio::awaitable<void> runService() {
    co_await service_->run(*this);
    if (!over()) end(TerminationReason::kNormal, "service finished");
  }

  asio::awaitable<void> storeDack(Dack dack) {
    DackQueue& queue = context_.dacks;
    const Dack* verified = &dack;  // only pointers in the capture (see builtin_services.cc)
    auto stored = co_await io::offload(context_.blocking_pool,
                                       [&queue, verified] { return queue.put(*verified); });
    if (!stored) {
      THUNDER_LOG(error, "handshake", "cannot store a verified DACK: {}", stored.error().message);
      co_return;
    }
    if (*stored != StoreOutcome::kStale) {
      context_.metrics
          .counter("thunder_dacks_stored_total", "Verified DACKs written to the DACK queue.")
          .add();
    }
  }

  void onTerminated(const Terminated& terminated) {
    if (close_requested_ || closed_) return;
    close_requested_ = true;
    close_deadline_ = context_.hub.context().clock.now() +
                      std::chrono::duration_cast<Duration>(context_.close_grace);
    THUNDER_LOG(debug, "handshake", "{}: session terminated ({}, by {}): {}",
                conn_->remoteAddress(), terminationReasonName(terminated.reason),
                terminated.origin == TerminationOrigin::kLocal ? "node" : "client",
                terminated.message);
    context_.metrics
        .counter("thunder_session_terminations_total", "Sessions ended with a Termination.",
                 {{"reason", std::string(terminationReasonName(terminated.reason))}})
        .add();
    outbox_signal_.notify();
    inbox_signal_.notify();
    deadline_timer_.cancel();
  }

  // The connection ended without a Termination: the lane stays resumable.
  void transportClosed(const std::string& why) {
    THUNDER_LOG(debug, "handshake", "{}: connection closed: {}", conn_->remoteAddress(), why);
    context_.hub.locked([this] { session_->onTransportClosed(); });
    closeTransport();
  }

  void closeTransport() {
    if (closed_) return;
    closed_ = true;
    conn_->close();
    deadline_timer_.cancel();
    outbox_signal_.notify();
    flushed_signal_.notify();
    inbox_signal_.notify();
    inbox_space_.notify();
  }

  std::unique_ptr<net::StreamConnection> conn_;
  const SessionDriverContext& context_;
  asio::any_io_executor executor_;
  std::unique_ptr<ServerSession> session_;  // calls only inside context_.hub.locked()
  std::unique_ptr<ServiceConnection> service_;

  asio::steady_timer deadline_timer_;
  TimePoint armed_ = TimePoint::max();
  Signal outbox_signal_;   // writer: bytes queued or closing
  Signal flushed_signal_;  // send(): a queued write completed
  Signal inbox_signal_;    // receive(): a payload arrived or the session is over
  Signal inbox_space_;     // readLoop(): the service consumed payloads
  Signal done_signal_;     // run(): a child coroutine finished

  std::deque<std::vector<uint8_t>> outbox_;
  uint64_t enqueued_ = 0;
  uint64_t flushed_ = 0;
  std::deque<std::vector<uint8_t>> inbox_;
  size_t inbox_bytes_ = 0;
  bool discard_payloads_ = false;
  bool close_requested_ = false;  // a Termination is queued
  TimePoint close_deadline_;
  bool closed_ = false;  // the transport is closed
  size_t children_ = 0;
};

}  // namespace

asio::awaitable<void> serveSession(std::unique_ptr<net::StreamConnection> conn,
                                   const SessionDriverContext& context) {
  auto binding = transportBindingOf(*conn);
  if (!binding) {
    THUNDER_LOG(debug, "handshake", "{}: no transport binding: {}", conn->remoteAddress(),
                binding.error().message);
    conn->close();
    co_return;
  }
  auto driver = std::make_shared<SessionDriver>(std::move(conn), context, std::move(*binding));
  co_await driver->run();
}

}  // namespace thunder::handshake
