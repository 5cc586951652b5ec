#include "cdn_handler.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "content_request.h"
#include "http_target.h"

namespace thunder::cdn {
namespace {

namespace asio = boost::asio;
using sdk::ErrorCode;

constexpr uint64_t kMiB = 1 << 20;
constexpr size_t kSniffBytes = 512;
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

// The node's message without the SDK's "node: " prefix.
std::string_view nodeMessage(const sdk::Error& error) {
  std::string_view text = error.message;
  if (text.starts_with("node: ")) text.remove_prefix(6);
  return text;
}

// The content protocol's error message for a failed resolve (builtin-services.md "Errors").
std::string resolveFailure(const sdk::Error& error, const ContentRequest& request) {
  const std::string_view text = nodeMessage(error);
  const std::string subject = request.cid.empty() ? std::string() : "cid " + request.cid + ": ";
  switch (error.code) {
    case ErrorCode::kNotFound:
      // The node names the blob: "blob <hex> is not stored on this node".
      return request.cid.empty() ? fmt::format("not_found: {}", text)
                                 : fmt::format("not_found: {}{}", subject, text);
    case ErrorCode::kInvalidArgument: return fmt::format("bad_request: {}{}", subject, text);
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled: return fmt::format("unavailable: {}{}", subject, text);
    default: return fmt::format("io_error: {}{}", subject, text);
  }
}

// What the watchdog of awaitClientEnd() and the handler share.
struct EndWatch {
  explicit EndWatch(const asio::any_io_executor& executor) : grace(executor), finished(executor) {
    finished.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer grace;     // expires: the client took too long, end the connection
  asio::steady_timer finished;  // cancelled when the watchdog is done
  bool done = false;
};

// Ends `connection` normally once `watch->grace` expires (unless cancelled first).
asio::awaitable<void> endAfterGrace(std::shared_ptr<EndWatch> watch, sdk::Connection* connection) {
  boost::system::error_code ec;
  co_await watch->grace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !connection->ended()) {
    const std::string_view message = "content: done";
    (void)co_await connection->end(sdk::EndReason::kNormal, message);
  }
  watch->done = true;
  watch->finished.cancel();
}

struct Reply {
  int status = 200;
  std::vector<sdk::HttpHeader> headers;
  std::string body;
};

// A short error answer: one text line naming the cause.
Reply errorReply(int status, std::string_view message) {
  Reply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}};
  reply.body = fmt::format("{} {}: {}\n", status, sdk::httpReasonPhrase(status), message);
  return reply;
}

int statusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled: return 503;
    default: return 500;
  }
}

// The first bytes of a blob, for sniffing its type (empty if they cannot be read).
asio::awaitable<std::vector<uint8_t>> firstBytes(sdk::Service& service, sdk::BlobId blob,
                                                 uint64_t size) {
  std::vector<uint8_t> head;
  if (size == 0) co_return head;
  auto opened = co_await service.openBlob(blob, 0, std::min<uint64_t>(size, kSniffBytes));
  if (!opened) co_return head;
  head.resize(static_cast<size_t>(opened->length));
  const ssize_t n =
      ::pread(opened->fd.get(), head.data(), head.size(), static_cast<off_t>(opened->offset));
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  co_return head;
}

}  // namespace

asio::awaitable<void> CdnHandler::serve(sdk::Connection& connection) {
  if (connection.isHttp()) {
    co_await serveHttp(connection);
  } else {
    co_await serveSession(connection);
  }
}

asio::awaitable<void> CdnHandler::serveSession(sdk::Connection& connection) {
  auto first = co_await connection.read();
  if (!first || !*first) co_return;  // the client went away before asking
  const sdk::Bytes bytes = std::move(**first);
  auto request = parseContentRequest(bytes);
  auto ranges = request ? streamRanges(*request) : tl::unexpected(request.error());
  if (!ranges) {
    ++stats_.bad_requests;
    const std::string message = ranges.error().message;
    (void)co_await connection.end(sdk::EndReason::kError, message);
    co_return;
  }
  sdk::Result<sdk::ResolvedContent> resolved =
      fail(ErrorCode::kInternal, "the content was not resolved");
  if (request->cid.empty()) {
    resolved = co_await service_.resolveBlob(request->id);
  } else {
    const std::string cid = request->cid;
    resolved = co_await service_.resolveCid(cid);
  }
  if (!resolved) {
    if (resolved.error().code == ErrorCode::kNotFound) ++stats_.not_found;
    const std::string message = resolveFailure(resolved.error(), *request);
    (void)co_await connection.end(sdk::EndReason::kError, message);
    co_return;
  }
  if (!request->cid.empty()) {
    // The CID form: the answer starts with the id of the blob the stream proves.
    const std::span<const uint8_t> id(resolved->blob.bytes());
    const auto written = co_await connection.write(id);
    if (!written) co_return;
  }
  const auto streamed = co_await connection.streamBlob(
      resolved->blob, std::span<const sdk::ByteRange>(*ranges), sdk::StreamMode::kVerified);
  if (!streamed) co_return;
  ++stats_.sessions;
  const uint64_t covered = coveredBytes(*ranges, resolved->size);
  stats_.bytes_by_reference += covered;
  const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(kClientEndGrace) +
                     std::chrono::seconds((covered + kMiB - 1) / kMiB);
  co_await awaitClientEnd(connection, grace);
}

asio::awaitable<void> CdnHandler::awaitClientEnd(sdk::Connection& connection,
                                                 std::chrono::milliseconds grace) {
  auto watch = std::make_shared<EndWatch>(service_.context().get_executor());
  watch->grace.expires_after(grace);
  asio::co_spawn(service_.context(), endAfterGrace(watch, &connection), asio::detached);
  // The client's later payloads mean nothing; the read ends when the node ends the connection
  // (the client ended its session) or closes it (after the watchdog's End).
  for (;;) {
    auto next = co_await connection.read();
    if (!next || !*next) break;
  }
  watch->grace.cancel();
  while (!watch->done) {
    boost::system::error_code ignored;
    co_await watch->finished.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> CdnHandler::serveHttp(sdk::Connection& connection) {
  ++stats_.http_requests;
  const sdk::HttpRequestHead& http = *connection.info().http;
  const bool head_only = http.method == "HEAD";
  Reply reply;
  if (http.method != "GET" && !head_only) {
    reply = errorReply(405, fmt::format("{} is not served here; use GET or HEAD", http.method));
    reply.headers.push_back({"Allow", "GET, HEAD"});
  }
  std::optional<HttpTarget> target;
  if (reply.status == 200) {
    auto parsed = parseTarget(http.path);
    if (!parsed) {
      if (parsed.error().code == ErrorCode::kInvalidArgument) ++stats_.bad_requests;
      reply = errorReply(statusFor(parsed.error().code), parsed.error().message);
    } else {
      target = std::move(*parsed);
    }
  }
  sdk::Result<sdk::ResolvedContent> resolved =
      fail(ErrorCode::kInternal, "the content was not resolved");
  if (target) {
    if (target->kind == HttpTarget::Kind::kBlob) {
      resolved = co_await service_.resolveBlob(target->blob);
    } else {
      const std::string cid = target->cid;
      resolved = co_await service_.resolveCid(cid);
    }
    if (!resolved) {
      if (resolved.error().code == ErrorCode::kNotFound) ++stats_.not_found;
      const std::string subject =
          target->kind == HttpTarget::Kind::kCid ? "cid " + target->cid + ": " : std::string();
      reply = errorReply(statusFor(resolved.error().code),
                         subject + std::string(nodeMessage(resolved.error())));
    }
  }
  if (reply.status != 200) {
    sdk::HttpResponse response{reply.status, "", std::move(reply.headers), std::move(reply.body)};
    (void)co_await sdk::writeHttpResponse(connection, std::move(response));
    co_return;
  }

  const sdk::BlobId blob = resolved->blob;
  const uint64_t size = resolved->size;
  const std::string etag = "\"" + blob.hex() + "\"";
  std::vector<sdk::HttpHeader> headers = {{"ETag", etag},
                                          {"Cache-Control", std::string(kImmutable)},
                                          {"Accept-Ranges", "bytes"},
                                          {"X-Thunder-Blob", blob.hex()}};
  if (target->kind == HttpTarget::Kind::kCid) {
    headers.push_back({"X-Ipfs-Path", "/ipfs/" + target->cid});
  }
  if (auto none_match = http.header("if-none-match");
      none_match && noneMatchHits(*none_match, etag)) {
    // A 304 may carry only the Content-Length a 200 would have (RFC 9110 §8.6).
    headers.push_back({"Content-Length", std::to_string(size)});
    sdk::HttpResponse response{304, "", std::move(headers), ""};
    (void)co_await sdk::writeHttpResponse(connection, std::move(response));
    co_return;
  }
  const std::vector<uint8_t> head_bytes = co_await firstBytes(service_, blob, size);
  headers.insert(headers.begin(), {"Content-Type", std::string(sniffContentType(head_bytes))});

  // If-Range with another validator than ours: the whole body (RFC 9110 §13.1.5).
  std::optional<std::string_view> range_header = http.header("range");
  if (auto if_range = http.header("if-range"); if_range && *if_range != etag) {
    range_header.reset();
  }
  const RangeRequest range = parseRange(range_header, size);
  if (range.kind == RangeKind::kUnsatisfiable) {
    Reply refused = errorReply(416, fmt::format("the range '{}' is outside the {} bytes of blob {}",
                                                range_header.value_or(""), size, blob.hex()));
    refused.headers.push_back({"Content-Range", fmt::format("bytes */{}", size)});
    sdk::HttpResponse response{416, "", std::move(refused.headers), std::move(refused.body)};
    (void)co_await sdk::writeHttpResponse(connection, std::move(response));
    co_return;
  }
  int status = 200;
  ByteSpan body{0, size};
  if (range.kind == RangeKind::kPartial) {
    status = 206;
    body = range.span;
    headers.push_back({"Content-Range", fmt::format("bytes {}-{}/{}", body.offset,
                                                    body.offset + body.length - 1, size)});
  }
  const std::string response_head = sdk::formatHttpResponseHead(status, "", headers, body.length);
  const auto written = co_await connection.write(std::string_view(response_head));
  if (!written) co_return;
  if (!head_only && body.length > 0) {
    // Content by reference: the node sends the bytes from its store.
    const sdk::ByteRange bytes{body.offset, body.length};
    const auto streamed = co_await connection.streamBlob(blob, bytes, sdk::StreamMode::kRaw);
    if (!streamed) co_return;
    stats_.bytes_by_reference += body.length;
  }
  (void)co_await connection.end(sdk::EndReason::kNormal);
}

}  // namespace thunder::cdn
