// One request/response exchange of a gateway connection (internal to the gateway module):
// `Request`, a view of the parsed request header, and `Response`, what a route answers — status,
// header fields and a body described as pieces (text, file ranges, a generated stream) that the
// connection writes without buffering whole blobs. HEAD answers are the same Response with the
// body left unsent. Both live in their connection and are reused from request to request (their
// buffers keep their capacity); used on the connection's loop only.
#pragma once

#include <fmt/format.h>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "gateway/open_blob_cache.h"

namespace thunder::gateway {

enum class Method { kGet, kHead, kPost, kOther };
enum class BodyFraming { kNone, kLength, kChunked };
enum class AfterResponse { kKeepAlive, kClose };

struct Request {
  Method method = Method::kOther;
  std::string_view method_text;
  std::string_view target;  // as received
  std::string_view path;    // target without the query
  std::string_view query;   // after '?', or ""
  std::string_view range;
  std::string_view if_none_match;
  std::string_view if_range;
  std::string_view accept;
  std::string_view authorization;
  std::string_view expect;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // with kLength
  unsigned version = 11;        // 10 = HTTP/1.0, 11 = HTTP/1.1
  // Every header field as received (for routes that forward them, e.g. /services/). Valid for
  // the exchange only.
  const boost::beast::http::fields* fields = nullptr;
  bool head() const { return method == Method::kHead; }
};

// A body produced on the fly (the verified range stream): read() fills `out` with the next bytes
// and returns how many; 0 at the end.
class StreamBody {
 public:
  virtual ~StreamBody() = default;
  virtual Result<size_t> read(std::span<uint8_t> out) = 0;
};

// A body produced asynchronously (a service's answer, a CAR walk, an origin fetch in progress):
// read() fills `out` with the next bytes and returns how many, 0 at the end. An error (or fewer
// bytes than an announced length) cuts the response: the connection is closed without completing
// the body, so the client sees a truncated transfer, never a hang. Runs on the connection's loop.
class AsyncBody {
 public:
  virtual ~AsyncBody() = default;
  virtual boost::asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) = 0;
};

class Response {
 public:
  struct Piece {
    enum class Kind : uint8_t { kText, kFile, kStream };
    Kind kind = Kind::kText;
    int fd = -1;          // kFile
    uint64_t offset = 0;  // kText: offset in text_; kFile: file offset
    uint64_t length = 0;
  };

  // Back to an empty 200 response, keeping buffer capacity.
  void reset();

  unsigned status() const { return status_; }
  void setStatus(unsigned status) { status_ = status; }

  // Appends a header field. The connection adds Server, Date, Content-Length and Connection.
  void header(std::string_view name, std::string_view value);
  template <typename... Args>
  void headerf(std::string_view name, fmt::format_string<Args...> format, Args&&... args) {
    fields_.append(name);
    fields_.append(": ");
    fmt::format_to(std::back_inserter(fields_), format, std::forward<Args>(args)...);
    fields_.append("\r\n");
  }
  const std::string& fields() const { return fields_; }

  // Body pieces, in order.
  void addText(std::string_view text);
  void addFile(int fd, uint64_t offset, uint64_t length);
  void setStream(std::unique_ptr<StreamBody> stream, uint64_t length);
  // The whole body from `body` (replaces any other piece). With a length, it is announced as
  // Content-Length; without, the body is sent with chunked transfer coding (HTTP/1.1) or
  // delimited by closing the connection (HTTP/1.0).
  void setAsyncBody(std::unique_ptr<AsyncBody> body, std::optional<uint64_t> length);
  AsyncBody* asyncBody() { return async_body_.get(); }
  // Whether the body length is unknown in advance (an async body without a length).
  bool lengthUnknown() const { return async_body_ != nullptr && !async_length_known_; }
  std::span<const Piece> pieces() const { return pieces_; }
  std::string_view text(const Piece& piece) const {
    return std::string_view(text_).substr(piece.offset, piece.length);
  }
  StreamBody* stream() { return stream_.get(); }
  uint64_t contentLength() const { return content_length_; }
  // Whether the status carries no body and no Content-Length (1xx, 204, 304).
  bool bodyless() const { return status_ == 304 || status_ == 204 || status_ < 200; }

  // A complete error answer: status, "text/plain" body `message` + "\n", Cache-Control: no-store.
  // Replaces everything set before (but closeAfter()); add further fields after it.
  void error(unsigned status, std::string_view message);
  template <typename... Args>
  void errorf(unsigned status, fmt::format_string<Args...> format, Args&&... args) {
    error(status, fmt::format(format, std::forward<Args>(args)...));
  }

  // Keeps what file pieces read from alive until the response is written.
  void hold(std::shared_ptr<const OpenBlob> blob) { held_.push_back(std::move(blob)); }
  void own(UniqueFd fd) { owned_.push_back(std::move(fd)); }

  AfterResponse after() const { return after_; }
  void closeAfter() { after_ = AfterResponse::kClose; }

 private:
  unsigned status_ = 200;
  std::string fields_;
  std::string text_;
  std::vector<Piece> pieces_;
  uint64_t content_length_ = 0;
  std::unique_ptr<StreamBody> stream_;
  std::unique_ptr<AsyncBody> async_body_;
  bool async_length_known_ = false;
  std::vector<std::shared_ptr<const OpenBlob>> held_;
  std::vector<UniqueFd> owned_;
  AfterResponse after_ = AfterResponse::kKeepAlive;
};

// "Not Found" for 404, ... ("" for an unknown code).
std::string_view reasonPhrase(unsigned status);

}  // namespace thunder::gateway
