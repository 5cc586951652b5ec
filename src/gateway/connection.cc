#include "gateway/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "content/file_util.h"
#include "gateway/blob_route.h"
#include "gateway/ipfs_route.h"
#include "gateway/log_limit.h"
#include "gateway/request_target.h"
#include "gateway/service_route.h"

namespace thunder::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Bodies up to this size go out with the header in one send (pread into one buffer).
constexpr uint64_t kInlineBodyLimit = 64 * 1024;
// sendfile(2) slice, and how many bytes a connection sends before it lets the loop's other
// connections run.
constexpr uint64_t kSendfileSlice = 1 << 20;
constexpr uint64_t kYieldEvery = 4 << 20;
constexpr size_t kStreamSlice = 256 * 1024;
// How long a connection closed in the middle of a request body keeps draining it.
constexpr std::chrono::milliseconds kLingerTime{2000};

// "Sun, 06 Nov 1994 08:49:37 GMT", formatted once per second per thread.
std::string_view httpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[64] = {};
  thread_local size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {text, length};
}

Method methodOf(http::verb verb) {
  switch (verb) {
    case http::verb::get: return Method::kGet;
    case http::verb::head: return Method::kHead;
    case http::verb::post: return Method::kPost;
    default: return Method::kOther;
  }
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerState> state, LoopState& loop,
                       asio::ip::tcp::socket socket)
    : state_(std::move(state)),
      loop_(loop),
      socket_(std::move(socket)),
      fd_(socket_.native_handle()),
      timer_(loop.context) {
  boost::system::error_code ignored;
  socket_.native_non_blocking(true, ignored);
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  in_.resize(std::max<size_t>(state_->options.max_header_bytes + 4096, 8192));
}

Connection::~Connection() = default;

void Connection::setRegistryEntry(std::list<std::weak_ptr<Connection>>::iterator entry) {
  registry_entry_ = entry;
}

asio::awaitable<void> Connection::run(std::shared_ptr<Connection> self) {
  co_await self->serve();
  if (self->linger_) {
    co_await self->lingeringClose();
  }
  self->finished_ = true;
  self->timer_.cancel();
  boost::system::error_code ignored;
  self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  self->socket_.close(ignored);
  self->response_.reset();
  ServerState& state = *self->state_;
  {
    std::lock_guard lock(state.mutex);
    state.connections.erase(self->registry_entry_);
    --state.open_connections;
  }
  state.coroutineDone();
}

void Connection::requestStop(StopMode mode) {
  if (finished_) return;
  boost::system::error_code ignored;
  if (mode == StopMode::kNow || phase_ == Phase::kIdle) {
    cancelled_ = true;
    socket_.cancel(ignored);
    return;
  }
  stop_after_response_ = true;
}

// ---- deadlines ----

void Connection::setDeadline(std::chrono::milliseconds timeout) {
  deadline_ = Clock::now() + timeout;
  if (deadline_ < armed_for_) {
    armed_for_ = deadline_;
    timer_.expires_at(deadline_);  // cancels the pending wait; onTimer() re-arms
  }
}

void Connection::armTimer() {
  armed_for_ = deadline_;
  timer_.expires_at(deadline_);
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->onTimer(ec); });
}

void Connection::onTimer(const boost::system::error_code&) {
  if (finished_ || timed_out_) return;
  if (Clock::now() >= deadline_) {
    timed_out_ = true;
    if (!linger_) state_->counters.timeouts->add();
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    return;
  }
  armTimer();
}

// ---- socket I/O ----

asio::awaitable<bool> Connection::waitReady(asio::ip::tcp::socket::wait_type type) {
  if (timed_out_ || cancelled_) co_return false;
  auto [ec] = co_await socket_.async_wait(type, asio::as_tuple(asio::use_awaitable));
  co_return !ec && !timed_out_ && !cancelled_;
}

asio::awaitable<Connection::Io> Connection::readMore() {
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (in_end_ == in_.size()) {
    if (in_begin_ == 0) co_return Io::kFull;
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (timed_out_ || cancelled_) co_return timed_out_ ? Io::kTimeout : Io::kCancelled;
  // Asio tries the read at once and waits for readiness only if it would block (with no
  // epoll_ctl, unlike an explicit wait for readability).
  auto [ec, n] =
      co_await socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                                       asio::as_tuple(asio::use_awaitable));
  if (timed_out_ || cancelled_) co_return timed_out_ ? Io::kTimeout : Io::kCancelled;
  if (!ec) {
    in_end_ += n;
    co_return Io::kOk;
  }
  if (ec == asio::error::eof) co_return Io::kEof;
  co_return Io::kError;
}

asio::awaitable<bool> Connection::sendAll(std::string_view bytes, More more) {
  const int flags = MSG_NOSIGNAL | (more == More::kYes ? MSG_MORE : 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, flags);
    if (n > 0) {
      done += static_cast<size_t>(n);
      if (done < bytes.size()) setDeadline(state_->options.send_timeout);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const bool ready = co_await waitReady(asio::ip::tcp::socket::wait_write);
      if (!ready) co_return false;
      continue;
    }
    co_return false;
  }
  state_->counters.bytes_sent->add(bytes.size());
  co_return true;
}

void Connection::sendNow(std::string_view bytes) {
  (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

asio::awaitable<bool> Connection::sendFile(int fd, uint64_t offset, uint64_t length) {
  uint64_t since_yield = 0;
  while (length > 0) {
    off_t off = static_cast<off_t>(offset);
    const ssize_t n = ::sendfile(fd_, fd, &off, std::min(length, kSendfileSlice));
    if (n > 0) {
      offset += static_cast<uint64_t>(n);
      length -= static_cast<uint64_t>(n);
      since_yield += static_cast<uint64_t>(n);
      state_->counters.bytes_sent->add(static_cast<uint64_t>(n));
      setDeadline(state_->options.send_timeout);
      if (since_yield >= kYieldEvery && length > 0) {
        since_yield = 0;
        co_await asio::post(loop_.context, asio::use_awaitable);  // let other connections run
        if (cancelled_ || timed_out_) co_return false;
      }
      continue;
    }
    if (n == 0) {
      THUNDER_GATEWAY_WARN("a blob file ended {} bytes early while being sent", length);
      co_return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const bool ready = co_await waitReady(asio::ip::tcp::socket::wait_write);
      if (!ready) co_return false;
      continue;
    }
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Connection::lingeringClose() {
  // The client may still be sending a body we did not read; closing now would make the kernel
  // answer with a reset that can destroy our response before the client reads it. Stop
  // sending, then discard what arrives for a short while (what nginx calls lingering close).
  ::shutdown(fd_, SHUT_WR);
  phase_ = Phase::kIdle;  // a graceful stop may cut it at once
  setDeadline(kLingerTime);
  Io io = Io::kOk;
  while (io == Io::kOk) {
    in_begin_ = in_end_ = 0;
    io = co_await readMore();
  }
}

// ---- requests ----

asio::awaitable<Connection::Io> Connection::readHeader(unsigned* refusal, std::string* reason) {
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(state_->options.max_header_bytes));
  parser_->body_limit(boost::none);
  parser_->eager(false);
  bool header_deadline = false;
  for (;;) {
    if (in_begin_ != in_end_) {
      phase_ = Phase::kHeader;
      beast::error_code ec;
      const std::string_view bytes = pending();
      const size_t n = parser_->put(asio::const_buffer(bytes.data(), bytes.size()), ec);
      consume(n);
      if (!ec && parser_->is_header_done()) co_return Io::kOk;
      if (ec == http::error::need_more && !header_deadline) {
        // Part of a header: the rest must come within header_timeout (a header that arrives
        // whole, the usual case, costs no timer update).
        header_deadline = true;
        setDeadline(state_->options.header_timeout);
      }
      if (ec && ec != http::error::need_more) {
        if (ec == http::error::header_limit) {
          *refusal = 431;
          *reason = fmt::format("the request header is larger than {} bytes",
                                state_->options.max_header_bytes);
        } else {
          *refusal = 400;
          *reason = fmt::format("malformed request: {}", ec.message());
        }
        co_return Io::kError;
      }
    }
    const Io io = co_await readMore();
    if (io == Io::kOk) continue;
    if (io == Io::kFull) {
      *refusal = 431;
      *reason = fmt::format("the request header is larger than {} bytes",
                            state_->options.max_header_bytes);
    } else if (io == Io::kTimeout && phase_ == Phase::kHeader) {
      *refusal = 408;
      *reason = fmt::format("the request header did not arrive within {} ms",
                            state_->options.header_timeout.count());
    }
    co_return io;
  }
}

void Connection::describeRequest() {
  const auto& message = parser_->get();
  Request& r = request_;
  r = Request{};
  r.method = methodOf(message.method());
  r.method_text = message.method_string();
  r.target = message.target();
  const SplitTarget split = splitTarget(r.target);
  r.path = split.path;
  r.query = split.query;
  r.range = message[http::field::range];
  r.if_none_match = message[http::field::if_none_match];
  r.if_range = message[http::field::if_range];
  r.accept = message[http::field::accept];
  r.authorization = message[http::field::authorization];
  r.expect = message[http::field::expect];
  if (parser_->chunked()) {
    r.framing = BodyFraming::kChunked;
  } else if (const auto length = parser_->content_length(); length && *length > 0) {
    r.framing = BodyFraming::kLength;
    r.content_length = *length;
  }
  body_complete_ = r.framing == BodyFraming::kNone;
  continue_sent_ = false;
  version_ = message.version();
  keep_alive_ = message.keep_alive();
  r.version = version_;
  r.fields = &message.base();
}

asio::awaitable<void> Connection::dispatch() {
  const Request& r = request_;
  if (r.path == "/health") {
    if (r.method != Method::kGet && r.method != Method::kHead) {
      response_.errorf(405, "{} is not allowed on /health (use GET or HEAD)", r.method_text);
      response_.header("Allow", "GET, HEAD");
      co_return;
    }
    response_.header("Content-Type", "text/plain; charset=utf-8");
    response_.header("Cache-Control", "no-store");
    response_.addText("ok\n");
    co_return;
  }
  if (isServiceRoute(r.path)) {
    co_await serveService(*state_, request_, *this, response_);
    co_return;
  }
  if (isIpfsRoute(r.path) || isRoutingRoute(r.path) || isOriginRoute(r.path)) {
    if (r.method != Method::kGet && r.method != Method::kHead) {
      response_.errorf(405, "{} is not allowed on {} (use GET or HEAD)", r.method_text,
                       r.path.substr(0, 200));
      response_.header("Allow", "GET, HEAD");
      co_return;
    }
    if (r.framing != BodyFraming::kNone) {
      response_.error(400, "GET and HEAD requests must not have a body");
      response_.closeAfter();
      co_return;
    }
    if (isIpfsRoute(r.path)) {
      co_await serveIpfs(*state_, loop_, request_, response_);
    } else if (isRoutingRoute(r.path)) {
      co_await serveRouting(*state_, request_, response_);
    } else {
      co_await serveOrigin(*state_, request_, response_);
    }
    co_return;
  }
  if (!isBlobRoute(r.path)) {
    response_.errorf(404,
                     "no route for {}: the gateway serves /b3/<id>[/<path>], /ipfs/<cid>[/<path>], "
                     "/services/<id>/<path>, /origin/<name>/<path>, /routing/v1/providers/<cid> "
                     "and /health",
                     r.path.substr(0, 200));
    co_return;
  }
  const bool upload_path = r.path == "/b3" || r.path == "/b3/";
  if (r.method == Method::kPost && upload_path) {
    co_await serveUpload(*state_, request_, *this, response_);
    co_return;
  }
  if (r.method != Method::kGet && r.method != Method::kHead) {
    const std::string_view allow = upload_path ? "GET, HEAD, POST" : "GET, HEAD";
    response_.errorf(405, "{} is not allowed on {} (allowed: {})", r.method_text,
                     r.path.substr(0, 200), allow);
    response_.header("Allow", allow);
    co_return;
  }
  if (r.framing != BodyFraming::kNone) {
    response_.error(400, "GET and HEAD requests must not have a body");
    response_.closeAfter();
    co_return;
  }
  co_await serveBlob(*state_, loop_, request_, response_);
}

void Connection::formatHead(bool keep_alive) {
  head_.clear();
  fmt::format_to(std::back_inserter(head_), "HTTP/1.1 {} {}\r\nServer: {}\r\nDate: {}\r\n",
                 response_.status(), reasonPhrase(response_.status()), state_->options.server_name,
                 httpDate());
  head_.append(response_.fields());
  if (response_.bodyless()) {
    // No length for 1xx and 304.
  } else if (response_.lengthUnknown()) {
    if (version_ >= 11) head_.append("Transfer-Encoding: chunked\r\n");
  } else {
    fmt::format_to(std::back_inserter(head_), "Content-Length: {}\r\n", response_.contentLength());
  }
  if (!keep_alive) {
    head_.append("Connection: close\r\n");
  } else if (version_ < 11) {
    head_.append("Connection: keep-alive\r\n");
  }
  head_.append("\r\n");
}

asio::awaitable<bool> Connection::writeResponse(bool keep_alive) {
  state_->counters.response(response_.status());
  formatHead(keep_alive);
  if (response_.asyncBody() != nullptr && request_.method != Method::kHead &&
      !response_.bodyless()) {
    const bool sent = co_await writeAsyncBody();
    co_return sent;
  }
  const bool send_body =
      request_.method != Method::kHead && !response_.bodyless() && response_.contentLength() > 0;
  if (!send_body) {
    const bool sent = co_await sendAll(head_, More::kNo);
    co_return sent;
  }

  if (response_.stream() == nullptr && response_.contentLength() <= kInlineBodyLimit) {
    // Header and body in one buffer, one send.
    out_.resize(head_.size() + response_.contentLength());
    std::memcpy(out_.data(), head_.data(), head_.size());
    size_t pos = head_.size();
    for (const auto& piece : response_.pieces()) {
      if (piece.kind == Response::Piece::Kind::kText) {
        const std::string_view text = response_.text(piece);
        std::memcpy(out_.data() + pos, text.data(), text.size());
      } else {
        auto read = content::preadAll(
            piece.fd, std::span(reinterpret_cast<uint8_t*>(out_.data() + pos), piece.length),
            piece.offset, "a blob file");
        if (!read) {
          THUNDER_GATEWAY_WARN("cannot read a blob for {}: {}", request_.path,
                               read.error().message);
          response_.error(500, "cannot read the blob from the store: " + read.error().message);
          response_.closeAfter();
          formatHead(false);
          out_.assign(head_.begin(), head_.end());
          for (const auto& p : response_.pieces()) {
            const std::string_view text = response_.text(p);
            out_.insert(out_.end(), text.begin(), text.end());
          }
          const std::string_view all(out_.data(), out_.size());
          co_await sendAll(all, More::kNo);
          co_return false;
        }
      }
      pos += piece.length;
    }
    const std::string_view all(out_.data(), out_.size());
    const bool sent = co_await sendAll(all, More::kNo);
    co_return sent;
  }

  const bool head_sent = co_await sendAll(head_, More::kYes);
  if (!head_sent) co_return false;
  const auto pieces = response_.pieces();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto& piece = pieces[i];
    const More more = i + 1 < pieces.size() ? More::kYes : More::kNo;
    switch (piece.kind) {
      case Response::Piece::Kind::kText: {
        const std::string_view text = response_.text(piece);
        const bool sent = co_await sendAll(text, more);
        if (!sent) co_return false;
        break;
      }
      case Response::Piece::Kind::kFile: {
        const bool sent = co_await sendFile(piece.fd, piece.offset, piece.length);
        if (!sent) co_return false;
        break;
      }
      case Response::Piece::Kind::kStream: {
        out_.resize(kStreamSlice);
        uint64_t sent = 0;
        for (;;) {
          auto n = response_.stream()->read(
              std::span(reinterpret_cast<uint8_t*>(out_.data()), out_.size()));
          if (!n) {
            THUNDER_GATEWAY_WARN("stream for {} failed after {} bytes: {}", request_.path, sent,
                                 n.error().message);
            co_return false;
          }
          if (*n == 0) break;
          sent += *n;
          const std::string_view slice(out_.data(), *n);
          const bool ok = co_await sendAll(slice, sent < piece.length ? More::kYes : more);
          if (!ok) co_return false;
        }
        if (sent != piece.length) {
          THUNDER_GATEWAY_WARN("stream for {} had {} bytes, {} announced", request_.path, sent,
                               piece.length);
          co_return false;
        }
        break;
      }
    }
  }
  co_return true;
}

// An async body: with a known length, its bytes as they come; without, as HTTP/1.1 chunks
// (each read() one chunk, then the last chunk) or until close for HTTP/1.0. Returns false when
// the body failed or fell short: the caller then closes the connection, which is how the client
// learns that the transfer is incomplete.
asio::awaitable<bool> Connection::writeAsyncBody() {
  const bool chunked = response_.lengthUnknown() && version_ >= 11;
  // The head goes out together with the first piece of the body (one send, one packet for a
  // small answer); every piece is sent uncorked as soon as it is read, since the next one may
  // take a while (an origin, a service) and what is ready should reach the client now.
  constexpr size_t kFrame = 32;  // room for "<hex>\r\n" before and "\r\n" after a chunk
  const size_t head_size = head_.size();
  out_.resize(head_size + kStreamSlice + 2 * kFrame);
  bool head_pending = true;
  uint64_t sent = 0;
  for (;;) {
    // The payload starts after room for the head (first piece only) and a chunk prefix.
    const size_t at = (head_pending ? head_size : 0) + kFrame;
    auto* payload = reinterpret_cast<uint8_t*>(out_.data() + at);
    auto n = co_await response_.asyncBody()->read(std::span(payload, kStreamSlice));
    if (!n) {
      THUNDER_GATEWAY_WARN("response body for {} failed after {} bytes: {}", request_.path, sent,
                           n.error().message);
      if (head_pending) {
        // Nothing was sent yet: the client gets a proper answer instead of a cut.
        response_.errorf(502, "the response could not be produced: {}", n.error().message);
        response_.closeAfter();
        formatHead(false);
        for (const auto& piece : response_.pieces()) head_.append(response_.text(piece));
        co_await sendAll(head_, More::kNo);
      }
      co_return false;
    }
    if (*n == 0) break;
    sent += *n;
    if (!response_.lengthUnknown() && sent > response_.contentLength()) {
      THUNDER_GATEWAY_WARN("response body for {} is longer than the {} bytes announced",
                           request_.path, response_.contentLength());
      co_return false;
    }
    size_t begin = at;
    size_t length = *n;
    if (chunked) {
      char prefix[kFrame];
      const auto end = fmt::format_to_n(prefix, kFrame, "{:x}\r\n", *n).out;
      const size_t prefix_len = static_cast<size_t>(end - prefix);
      begin -= prefix_len;
      std::memcpy(out_.data() + begin, prefix, prefix_len);
      std::memcpy(out_.data() + at + *n, "\r\n", 2);
      length += prefix_len + 2;
    }
    if (head_pending) {
      begin -= head_size;
      std::memcpy(out_.data() + begin, head_.data(), head_size);
      length += head_size;
      head_pending = false;
    }
    const bool ok = co_await sendAll(std::string_view(out_.data() + begin, length), More::kNo);
    if (!ok) co_return false;
    setDeadline(state_->options.send_timeout);
  }
  if (head_pending) {
    const bool ok = co_await sendAll(head_, More::kNo);
    if (!ok) co_return false;
  }
  if (chunked) {
    const bool ok = co_await sendAll("0\r\n\r\n", More::kNo);
    co_return ok;
  }
  if (!response_.lengthUnknown() && sent != response_.contentLength()) {
    THUNDER_GATEWAY_WARN("response body for {} had {} bytes, {} announced", request_.path, sent,
                         response_.contentLength());
    co_return false;
  }
  co_return !response_.lengthUnknown();  // HTTP/1.0 without a length: end by closing
}

// ---- the request loop ----

asio::awaitable<void> Connection::serve() {
  deadline_ = Clock::now() + state_->options.idle_timeout;
  armTimer();
  for (;;) {
    phase_ = Phase::kIdle;
    setDeadline(state_->options.idle_timeout);
    unsigned refusal = 0;
    std::string reason;
    const Io io = co_await readHeader(&refusal, &reason);
    if (io != Io::kOk) {
      if (refusal != 0) {
        THUNDER_LOG(debug, "gateway", "refusing a request: {}", reason);
        request_ = Request{};
        response_.reset();
        response_.error(refusal, reason);
        state_->counters.response(refusal);
        formatHead(false);
        for (const auto& piece : response_.pieces()) head_.append(response_.text(piece));
        if (timed_out_) {
          sendNow(head_);
        } else {
          setDeadline(std::chrono::milliseconds(1000));
          co_await sendAll(head_, More::kNo);
        }
      }
      co_return;
    }
    phase_ = Phase::kBusy;
    describeRequest();
    response_.reset();
    // Routes that wait for a backend (a service, an origin) get its own timeout and a margin,
    // so that they can still answer 504 themselves before the connection's deadline cuts them.
    const bool waits_for_backend =
        isServiceRoute(request_.path) || isOriginRoute(request_.path) || isIpfsRoute(request_.path);
    setDeadline(waits_for_backend
                    ? std::max(state_->options.send_timeout,
                               state_->options.service_timeout + std::chrono::seconds(5))
                    : state_->options.send_timeout);
    co_await dispatch();
    if (timed_out_ || cancelled_) co_return;
    const bool keep_alive = keep_alive_ && body_complete_ &&
                            response_.after() == AfterResponse::kKeepAlive && !stop_after_response_;
    const bool written = co_await writeResponse(keep_alive);
    linger_ = written && !body_complete_;
    response_.reset();
    body_parser_.reset();
    parser_.reset();
    if (out_.capacity() > 2 * kInlineBodyLimit) std::vector<char>().swap(out_);  // after a stream
    if (!written || !keep_alive) co_return;
  }
}

// ---- request bodies ----

asio::awaitable<Result<size_t>> Connection::readBody(std::span<uint8_t> out) {
  if (!body_parser_) {
    body_parser_.emplace(std::move(*parser_));
    body_parser_->body_limit(state_->max_upload_bytes);
    body_parser_->eager(true);
  }
  for (;;) {
    if (body_parser_->is_done()) {
      body_complete_ = true;
      co_return size_t{0};
    }
    if (in_begin_ != in_end_) {
      auto& body = body_parser_->get().body();
      body.data = out.data();
      body.size = out.size();
      body.more = true;
      beast::error_code ec;
      const std::string_view bytes = pending();
      const size_t n = body_parser_->put(asio::const_buffer(bytes.data(), bytes.size()), ec);
      consume(n);
      const size_t produced = out.size() - body.size;
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        co_return fail(ErrorCode::kResourceExhausted, "the body is larger than {} bytes",
                       state_->max_upload_bytes);
      }
      if (ec && ec != http::error::need_more) {
        co_return fail(ErrorCode::kInvalidArgument, "malformed request body: {}", ec.message());
      }
      if (body_parser_->is_done()) body_complete_ = true;
      if (produced > 0) co_return produced;
      if (body_complete_) co_return size_t{0};
      if (n > 0 && !ec) continue;  // framing bytes (a chunk header) without payload
    }
    setDeadline(state_->options.header_timeout);
    const Io io = co_await readMore();
    if (io == Io::kOk) continue;
    if (io == Io::kTimeout) {
      co_return fail(ErrorCode::kTimeout, "the client sent no body bytes for {} ms",
                     state_->options.header_timeout.count());
    }
    if (io == Io::kEof) {
      co_return fail(ErrorCode::kCancelled,
                     "the client closed the connection before the end of the body");
    }
    co_return fail(ErrorCode::kCancelled,
                   "the upload was interrupted (connection error or the gateway is stopping)");
  }
}

asio::awaitable<Result<void>> Connection::sendContinue() {
  if (continue_sent_) co_return Result<void>{};
  continue_sent_ = true;
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  const bool sent = co_await sendAll(kContinue, More::kNo);
  if (!sent) co_return fail(ErrorCode::kCancelled, "the client went away");
  co_return Result<void>{};
}

}  // namespace thunder::gateway
