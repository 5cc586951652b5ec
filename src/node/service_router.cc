#include "node/service_router.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <vector>

#include "executor/executed_service.h"
#include "gateway/service_pipe.h"
#include "handshake/session_service.h"
#include "node/service_component.h"

namespace thunder::node {

namespace asio = boost::asio;
using handshake::TerminationReason;

namespace {

// The session an ExecutedConnection sees (handshake::SessionIo) over the gateway's ServicePipe:
// the client's payloads are the request body, the service's payloads the raw response.
//
// How it ends: a normal end (the service's End) ends the exchange at once. Any other end only
// closes the request direction; the exchange ends with that error when the connection's run()
// returns (finish()), and response bytes the connection still relays until then reach the
// gateway. So a service that answered early and closed its channel while the node was still
// writing the request to it (ipc.md §4.2 allows that) still has its answer relayed: the failed
// write does not race the answer away. Used on the pipe's loop only.
class HttpSession final : public handshake::SessionIo {
 public:
  explicit HttpSession(std::shared_ptr<gateway::ServicePipe> pipe) : pipe_(std::move(pipe)) {}

  asio::awaitable<std::optional<std::vector<uint8_t>>> receive() override {
    auto bytes = co_await pipe_->receive();
    co_return bytes;
  }
  void stopReceiving() override { pipe_->stopReceiving(); }
  asio::awaitable<Result<void>> send(std::vector<uint8_t> payload) override {
    auto task = pipe_->send(std::move(payload));
    auto sent = co_await std::move(task);
    co_return sent;
  }
  void end(TerminationReason reason, std::string_view message) override {
    if (reason == TerminationReason::kNormal) {
      pipe_->end(std::nullopt);
      return;
    }
    if (!failure_) {
      failure_ = reason == TerminationReason::kShutdown
                     ? Error{ErrorCode::kCancelled,
                             fmt::format("service {} is stopping", pipe_->id().value())}
                     : Error{ErrorCode::kUnavailable, std::string(message)};
    }
    pipe_->endRequest();
  }

  // The connection's run() returned: the exchange ends (with the first failure, unless the
  // service ended normally before).
  void finish() { pipe_->end(failure_); }

 private:
  std::shared_ptr<gateway::ServicePipe> pipe_;
  std::optional<Error> failure_;
};

}  // namespace

struct ExecutedServiceRouter::Tracked {
  asio::any_io_executor executor;
  std::shared_ptr<gateway::ServicePipe> pipe;
  std::unique_ptr<HttpSession> session;
  std::unique_ptr<executor::ExecutedConnection> connection;
};

ExecutedServiceRouter::ExecutedServiceRouter(ServiceComponent& services) : services_(services) {}

ExecutedServiceRouter::~ExecutedServiceRouter() {
  stop();
}

asio::awaitable<Result<std::unique_ptr<gateway::ServiceExchange>>> ExecutedServiceRouter::open(
    ServiceId id, gateway::ServiceRequestHead head) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) co_return fail(ErrorCode::kUnavailable, "the node is stopping");
  }
  executor::ServiceHost* host = services_.host(id);
  if (host == nullptr) {
    co_return fail(ErrorCode::kNotFound, "no service {} is running on this node", id.value());
  }
  ipc::HttpRequestHead http;
  http.method = std::move(head.method);
  http.path = std::move(head.path);
  http.query = std::move(head.query);
  http.headers.reserve(head.headers.size());
  for (auto& [name, value] : head.headers) {
    http.headers.push_back(ipc::HttpHeader{std::move(name), std::move(value)});
  }
  handshake::ConnectionInfo info;
  info.service = id;
  info.transport = "http";
  executor::ExecutedService service(*host);
  auto connection = service.openConnection(info, std::move(http));
  if (!connection) {
    if (connection.error().code == ErrorCode::kUnavailable) {
      const executor::ServiceState state = host->status().state;
      if (state == executor::ServiceState::kStopped || state == executor::ServiceState::kStopping) {
        co_return fail(ErrorCode::kNotFound, "no service {} is running on this node ({} is {})",
                       id.value(), host->name(), executor::serviceStateName(state));
      }
    }
    co_return fail(connection.error());
  }
  auto tracked = std::make_shared<Tracked>();
  tracked->executor = executor;
  tracked->pipe = std::make_shared<gateway::ServicePipe>(executor, id);
  tracked->session = std::make_unique<HttpSession>(tracked->pipe);
  tracked->connection = std::move(connection).value();
  {
    std::lock_guard lock(mutex_);
    if (stopped_) co_return fail(ErrorCode::kUnavailable, "the node is stopping");
    running_.push_back(tracked);
  }
  std::unique_ptr<gateway::ServiceExchange> exchange =
      std::make_unique<gateway::PipeExchange>(tracked->pipe);
  asio::co_spawn(executor, runConnection(this, std::move(tracked)), asio::detached);
  co_return exchange;
}

asio::awaitable<void> ExecutedServiceRouter::runConnection(ExecutedServiceRouter* router,
                                                           std::shared_ptr<Tracked> tracked) {
  co_await tracked->connection->run(*tracked->session);
  tracked->session->finish();
  tracked->connection.reset();  // detaches from the host before stop() may return
  router->finished(tracked);
}

void ExecutedServiceRouter::finished(const std::shared_ptr<Tracked>& tracked) {
  std::lock_guard lock(mutex_);
  running_.remove(tracked);
  if (running_.empty()) idle_.notify_all();
}

void ExecutedServiceRouter::stop() {
  std::vector<std::shared_ptr<Tracked>> live;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    live.assign(running_.begin(), running_.end());
  }
  for (const auto& tracked : live) {
    asio::post(tracked->executor, [pipe = tracked->pipe] { pipe->abort("the node is stopping"); });
  }
  live.clear();
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return running_.empty(); });
}

size_t ExecutedServiceRouter::activeExchanges() const {
  std::lock_guard lock(mutex_);
  return running_.size();
}

}  // namespace thunder::node
