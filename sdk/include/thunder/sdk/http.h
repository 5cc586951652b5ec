// HTTP helpers for services whose clients come over HTTP (ConnectionInfo::http is set).
//
// Per docs/protocol/ipc.md §4.2, an HTTP data channel carries one request: the head is in the
// connection header, the body arrives as Payloads ended by one empty Payload, and the service's
// bytes are the HTTP/1.1 response as on the wire, followed by End. These helpers format that
// response and read that body. Pure functions and coroutines on the Connection's loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "thunder/sdk/connection.h"
#include "thunder/sdk/types.h"

namespace thunder::sdk {

struct HttpResponse {
  int status = 200;                 // 200..599
  std::string reason;               // empty: the standard phrase for `status` ("OK", ...)
  std::vector<HttpHeader> headers;  // sent in order; Content-Length is added if missing
  std::string body;
};

// The standard reason phrase of `status` ("Not Found"), or "Unknown".
std::string_view httpReasonPhrase(int status);

// The response head: status line, headers, and the empty line. Adds `Content-Length:
// content_length` unless `headers` has a Content-Length or Transfer-Encoding. For a body sent
// separately, e.g. with Connection::streamBlob().
std::string formatHttpResponseHead(int status, std::string_view reason,
                                   const std::vector<HttpHeader>& headers, uint64_t content_length);

// Head and body as HTTP/1.1 bytes. With `omit_body` (the answer to a HEAD request) the head
// still announces the body's length but the body is left out.
enum class HttpBody { kInclude, kOmit };
std::string formatHttpResponse(const HttpResponse& response, HttpBody body = HttpBody::kInclude);

// Writes `response` (without its body if the request was HEAD) and ends the connection normally.
// kInvalidArgument if the connection is not HTTP or the status is outside 200..599; errors of
// Connection::write()/end().
boost::asio::awaitable<Result<void>> writeHttpResponse(Connection& connection,
                                                       HttpResponse response);

// Reads the request body up to its end marker (the empty Payload). kResourceExhausted if it is
// longer than `max_bytes`; kUnavailable if the channel ends first; kInvalidArgument if the
// connection is not HTTP; errors of Connection::read().
boost::asio::awaitable<Result<Bytes>> readHttpBody(Connection& connection, size_t max_bytes);

}  // namespace thunder::sdk
