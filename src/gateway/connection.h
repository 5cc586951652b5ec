// Connection: one accepted HTTP/1.1 connection of the gateway (internal to the gateway module).
//
// Reads requests one at a time with Beast's parser from its own buffer (so pipelined requests
// wait their turn), hands each to a route, and writes the Response itself: the header and small
// bodies with one send, large file pieces with sendfile(2), streams in 256 KiB slices. The socket
// is non-blocking; the connection waits for readiness only when a read or write would block.
// Deadlines (idle, header, send) are enforced by one lazily re-armed timer.
// Lives on the loop it was accepted on; every member is touched only there. Owned by shared_ptr
// (its coroutine and its timer handler hold it); the server's registry holds weak references.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/exchange.h"
#include "gateway/server_state.h"
#include "gateway/upload_route.h"

namespace thunder::gateway {

enum class StopMode { kGraceful, kNow };

class Connection final : public std::enable_shared_from_this<Connection>, private BodyReader {
 public:
  Connection(std::shared_ptr<ServerState> state, LoopState& loop,
             boost::asio::ip::tcp::socket socket);
  ~Connection() override;

  // Serves the connection until it closes. Call once, on the connection's loop.
  static boost::asio::awaitable<void> run(std::shared_ptr<Connection> self);

  // On the connection's loop: kGraceful closes it now if it is between requests, else after the
  // response in progress; kNow cuts it.
  void requestStop(StopMode mode);

  // The connection's entry in ServerState::connections (set by the acceptor under its mutex;
  // erased when the connection ends).
  boost::asio::io_context& loopContext() { return loop_.context; }
  void setRegistryEntry(std::list<std::weak_ptr<Connection>>::iterator entry);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kIdle, kHeader, kBusy };
  enum class Io { kOk, kEof, kTimeout, kCancelled, kError, kFull };
  enum class More { kNo, kYes };

  // Input buffer: bytes received and not yet parsed are [begin_, end_) of in_.
  std::string_view pending() const { return {in_.data() + in_begin_, in_end_ - in_begin_}; }
  void consume(size_t n) { in_begin_ += n; }

  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<void> lingeringClose();
  boost::asio::awaitable<Io> readMore();
  boost::asio::awaitable<bool> waitReady(boost::asio::ip::tcp::socket::wait_type type);
  boost::asio::awaitable<bool> sendAll(std::string_view bytes, More more);
  boost::asio::awaitable<bool> sendFile(int fd, uint64_t offset, uint64_t length);
  // Best effort, never waits: for a last answer after a timeout.
  void sendNow(std::string_view bytes);

  // Reads one request header into parser_. Returns kOk, or why the connection should end; for a
  // malformed or oversized header sets `refusal` to the answer.
  boost::asio::awaitable<Io> readHeader(unsigned* refusal, std::string* reason);
  void describeRequest();
  boost::asio::awaitable<void> dispatch();
  void formatHead(bool keep_alive);
  boost::asio::awaitable<bool> writeResponse(bool keep_alive);
  boost::asio::awaitable<bool> writeAsyncBody();

  // BodyReader (the upload route reads the request body through these).
  boost::asio::awaitable<Result<size_t>> readBody(std::span<uint8_t> out) override;
  boost::asio::awaitable<Result<void>> sendContinue() override;

  void setDeadline(std::chrono::milliseconds timeout);
  void armTimer();
  void onTimer(const boost::system::error_code& ec);

  std::shared_ptr<ServerState> state_;
  LoopState& loop_;
  boost::asio::ip::tcp::socket socket_;
  int fd_;
  boost::asio::steady_timer timer_;
  Clock::time_point deadline_;
  Clock::time_point armed_for_;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool stop_after_response_ = false;
  bool finished_ = false;
  Phase phase_ = Phase::kIdle;
  std::list<std::weak_ptr<Connection>>::iterator registry_entry_;

  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> body_parser_;

  Request request_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool body_complete_ = true;  // the request has no body, or readBody() reached its end
  bool continue_sent_ = false;
  bool linger_ = false;  // the connection closes with an unread request body
  Response response_;
  std::string head_;
  std::vector<char> out_;
};

}  // namespace thunder::gateway
