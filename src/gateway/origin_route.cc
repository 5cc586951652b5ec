// GET|HEAD /origin/<name>/<path>: a configured origin's content through the fetcher
// (serveOrigin() of gateway/service_route.h; docs/gateway.md "Origins").
//
// The route resolves <name>/<path> with Fetcher::resolveOrigin(), starts (or joins, or answers
// from the cache) the fetch, waits for the first kSniffBytes (or the verified end, or the
// failure), answers the head, and streams the rest as the fetch makes it readable. A reader
// coroutine copies the handle's readable bytes into a bounded buffer (OriginCall), so that
// neither the route nor the response body ever waits on the fetch in a way the server's stop
// cannot cut. Runs on the connection's loop.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "fetcher/fetcher.h"
#include "gateway/conditional.h"
#include "gateway/content_type.h"
#include "gateway/service_route.h"
#include "io/async_event.h"

namespace thunder::gateway {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Bytes of a fetch buffered ahead of the client.
constexpr size_t kOriginReadAhead = 256 * 1024;
// How often a waiting request checks whether the server is stopping.
constexpr std::chrono::milliseconds kStopPoll{200};
// The request field that asks for SRI verification of the origin's bytes (docs/gateway.md).
constexpr std::string_view kIntegrityField = "X-Thunder-Integrity";

// One /origin request in flight: the fetch handle, and a reader coroutine that copies its
// readable bytes into buf_ (at most kOriginReadAhead ahead of the client). A stop watchdog ends
// it after the server's stop grace. On the connection's loop; owned by shared_ptr (the route,
// the reader, the response body).
class OriginCall : public std::enable_shared_from_this<OriginCall> {
 public:
  OriginCall(const asio::any_io_executor& executor, ServerState& state,
             std::shared_ptr<fetcher::FetchHandle> handle)
      : executor_(executor),
        state_(state),
        stop_grace_(state.options.stop_grace),
        handle_(std::move(handle)),
        data_(executor),
        space_(executor),
        watchdog_(executor) {
    buf_.resize(kOriginReadAhead);
  }

  fetcher::FetchHandle& handle() { return *handle_; }

  void start() {
    armWatchdog();
    asio::co_spawn(executor_, readLoop(shared_from_this()), asio::detached);
  }

  // Later waits and reads see kCancelled (no-op once finished).
  void finish() {
    if (finished_) return;
    finished_ = true;
    if (!failure_ && !done_) failure_ = Error{ErrorCode::kCancelled, "the gateway is stopping"};
    data_.notify();
    space_.notify();
    watchdog_.cancel();
  }

  // Until more than `have` bytes are buffered, or the data ended (done()) or failed.
  asio::awaitable<void> waitMore(size_t have) {
    while (pending().size() <= have && !done_ && !failure_) co_await data_.wait();
  }
  std::span<const uint8_t> pending() const {
    return std::span<const uint8_t>(buf_).subspan(begin_, end_ - begin_);
  }
  void consume(size_t n) {
    begin_ += n;
    if (n > 0) space_.notify();
  }
  // The verified end of the data was reached (after pending()).
  bool done() const { return done_; }
  // The fetch failed (every byte of an unverified fetch is then void: cut the response).
  const std::optional<Error>& failure() const { return failure_; }

 private:
  static asio::awaitable<void> readLoop(std::shared_ptr<OriginCall> self) {
    OriginCall& call = *self;
    uint64_t offset = 0;
    for (;;) {
      if (call.begin_ == call.end_) call.begin_ = call.end_ = 0;
      if (call.end_ == call.buf_.size() && call.begin_ > 0) {
        std::memmove(call.buf_.data(), call.buf_.data() + call.begin_, call.end_ - call.begin_);
        call.end_ -= call.begin_;
        call.begin_ = 0;
      }
      if (call.finished_) break;
      if (call.end_ == call.buf_.size()) {
        co_await call.space_.wait();
        continue;
      }
      const std::span<uint8_t> out(call.buf_.data() + call.end_, call.buf_.size() - call.end_);
      auto n = co_await call.handle_->read(offset, out);
      if (call.finished_) break;  // stopped meanwhile: nothing more is delivered
      if (!n) {
        call.failure_ = n.error();
        break;
      }
      if (*n == 0) {
        call.done_ = true;
        break;
      }
      offset += *n;
      call.end_ += *n;
      call.data_.notify();
    }
    call.data_.notify();
  }

  bool serverStopping() const {
    std::lock_guard lock(state_.mutex);
    return state_.stopping;
  }

  void armWatchdog() {
    if (finished_) return;
    Clock::time_point next = Clock::now() + kStopPoll;
    if (stop_cut_at_ && *stop_cut_at_ < next) next = *stop_cut_at_;
    watchdog_.expires_at(next);
    watchdog_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->finished_) return;
      const Clock::time_point now = Clock::now();
      if (!self->stop_cut_at_ && self->serverStopping()) {
        self->stop_cut_at_ = now + self->stop_grace_;
      }
      if (self->stop_cut_at_ && now >= *self->stop_cut_at_) {
        self->finish();
        return;
      }
      self->armWatchdog();
    });
  }

  asio::any_io_executor executor_;
  ServerState& state_;  // only for `stopping`, and only until finish()
  const std::chrono::milliseconds stop_grace_;
  std::shared_ptr<fetcher::FetchHandle> handle_;
  io::AsyncEvent data_;   // the route or the body waits for bytes
  io::AsyncEvent space_;  // the reader waits for room
  asio::steady_timer watchdog_;
  std::optional<Clock::time_point> stop_cut_at_;
  bool finished_ = false;

  std::vector<uint8_t> buf_;  // bytes read from the fetch, not yet sent: [begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
  bool done_ = false;
  std::optional<Error> failure_;
};

// The response body: the buffered bytes, as the fetch makes them readable. Finishes the call
// when destroyed.
class OriginBody final : public AsyncBody {
 public:
  explicit OriginBody(std::shared_ptr<OriginCall> call) : call_(std::move(call)) {}
  ~OriginBody() override { call_->finish(); }

  asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) override {
    OriginCall& call = *call_;
    for (;;) {
      const std::span<const uint8_t> pending = call.pending();
      if (!pending.empty()) {
        const size_t n = std::min(out.size(), pending.size());
        std::memcpy(out.data(), pending.data(), n);
        call.consume(n);
        co_return n;
      }
      if (call.failure()) co_return fail(*call.failure());
      if (call.done()) co_return size_t{0};
      co_await call.waitMore(0);
    }
  }

 private:
  std::shared_ptr<OriginCall> call_;
};

// The body of a HEAD answer: never read (the connection sends no body for HEAD).
class NoBody final : public AsyncBody {
 public:
  asio::awaitable<Result<size_t>> read(std::span<uint8_t>) override { co_return size_t{0}; }
};

// The answer for a fetch that failed before anything was sent.
void answerFetchError(std::string_view name, const Error& error, Response& response) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      response.errorf(404, "origin \"{}\" has no such content: {}", name, error.message);
      break;
    case ErrorCode::kTimeout:
      response.errorf(504, "origin \"{}\" did not answer in time: {}", name, error.message);
      break;
    case ErrorCode::kCancelled:
      response.errorf(503, "the fetch from origin \"{}\" was cancelled: {}", name, error.message);
      response.header("Retry-After", "1");
      break;
    case ErrorCode::kCorruption:
      response.errorf(502,
                      "origin \"{}\" sent bytes that failed verification (nothing was "
                      "stored): {}",
                      name, error.message);
      break;
    default: response.errorf(502, "origin \"{}\" failed: {}", name, error.message); break;
  }
}

}  // namespace

bool isOriginRoute(std::string_view path) {
  return path.starts_with("/origin/");
}

asio::awaitable<void> serveOrigin(ServerState& state, const Request& request, Response& response) {
  fetcher::Fetcher* fetcher = state.backends.fetcher;
  if (fetcher == nullptr) {
    response.error(404, "this node serves no origins (it runs no fetcher)");
    co_return;
  }
  constexpr std::string_view kPrefix = "/origin/";
  const std::string_view after = request.path.substr(kPrefix.size());
  const size_t slash = after.find('/');
  const std::string name(after.substr(0, slash));
  const std::string_view rest =
      slash == std::string_view::npos ? std::string_view() : after.substr(slash + 1);
  if (name.empty()) {
    response.error(400, "missing origin name: use /origin/<name>/<path>");
    co_return;
  }
  std::string target(rest);
  if (!request.query.empty()) target += "?" + std::string(request.query);
  auto url = fetcher->resolveOrigin(name, target);
  if (!url) {
    response.error(url.error().code == ErrorCode::kNotFound ? 404 : 400, url.error().message);
    co_return;
  }
  // What the answer needs from the request, copied before the first suspension.
  const bool head_request = request.head();
  const std::string if_none_match(request.if_none_match);
  const std::string_view last_segment = rest.substr(rest.rfind('/') + 1);
  const std::string_view type_by_name = contentTypeForName(last_segment);
  fetcher::FetchRequest fetch_request;
  fetch_request.url = std::move(*url);
  if (request.fields != nullptr) {
    fetch_request.integrity = std::string((*request.fields)[kIntegrityField]);
  }

  auto fetching = fetcher->fetch(std::move(fetch_request));
  auto handle = co_await std::move(fetching);
  if (!handle) {
    const ErrorCode code = handle.error().code;
    if (code == ErrorCode::kInvalidArgument) {
      response.error(400, handle.error().message);
    } else if (code == ErrorCode::kResourceExhausted || code == ErrorCode::kCancelled) {
      response.error(503, handle.error().message);
      response.header("Retry-After", "1");
    } else {
      answerFetchError(name, handle.error(), response);
    }
    co_return;
  }
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto call = std::make_shared<OriginCall>(executor, state, std::move(*handle));
  struct Finish {
    std::shared_ptr<OriginCall> call;
    ~Finish() {
      if (call) call->finish();
    }
  } finish_unless_handed_over{call};
  call->start();
  // The head waits for enough bytes to sniff the type (or the end, or the failure).
  while (call->pending().size() < kSniffBytes && !call->done() && !call->failure()) {
    co_await call->waitMore(call->pending().size());
  }
  if (call->failure()) {
    THUNDER_LOG(debug, "gateway", "origin {}: {}", name, call->failure()->message);
    answerFetchError(name, *call->failure(), response);
    co_return;
  }
  const fetcher::FetchProgress progress = call->handle().progress();
  std::optional<uint64_t> length = progress.content_length;
  if (progress.verified) length = progress.readable;  // the end is known: the exact size
  std::string etag;
  if (progress.verified && progress.id) etag = "\"" + progress.id->hex() + "\"";
  if (!etag.empty() && !if_none_match.empty() && ifNoneMatchMatches(if_none_match, etag)) {
    response.setStatus(304);
    response.header("ETag", etag);
    response.header("Cache-Control", "no-cache");
    co_return;
  }
  std::string_view type = type_by_name;
  if (type.empty()) {
    const std::span<const uint8_t> head =
        call->pending().first(std::min(call->pending().size(), kSniffBytes));
    const bool whole = call->done() && head.size() == call->pending().size();
    type = sniffContentType(head, whole ? SampleKind::kWholeBlob : SampleKind::kPrefix);
  }
  response.header("Content-Type", type);
  response.header("X-Content-Type-Options", "nosniff");
  // The URL → content mapping may change when the fetcher fetches it again: caches revalidate.
  response.header("Cache-Control", "no-cache");
  if (!etag.empty()) response.header("ETag", etag);
  if (head_request) {
    response.setAsyncBody(std::make_unique<NoBody>(), length);
  } else if (length && *length == 0) {
    // An empty body: nothing to stream.
  } else {
    response.setAsyncBody(std::make_unique<OriginBody>(std::move(finish_unless_handed_over.call)),
                          length);
  }
}

}  // namespace thunder::gateway
