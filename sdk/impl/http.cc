#include "thunder/sdk/http.h"

#include <fmt/format.h>

#include <algorithm>

namespace thunder::sdk {

namespace asio = boost::asio;

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool hasHeader(const std::vector<HttpHeader>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const HttpHeader& h) { return equalsIgnoreCase(h.name, name); });
}

}  // namespace

std::optional<std::string_view> HttpRequestHead::header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (equalsIgnoreCase(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string_view httpReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

std::string formatHttpResponseHead(int status, std::string_view reason,
                                   const std::vector<HttpHeader>& headers,
                                   uint64_t content_length) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\n", status, reason.empty() ? httpReasonPhrase(status) : reason);
  for (const HttpHeader& h : headers)
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", h.name, h.value);
  if (!hasHeader(headers, "Content-Length") && !hasHeader(headers, "Transfer-Encoding")) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", content_length);
  }
  out += "\r\n";
  return out;
}

std::string formatHttpResponse(const HttpResponse& response, HttpBody body) {
  std::string out = formatHttpResponseHead(response.status, response.reason, response.headers,
                                           response.body.size());
  if (body == HttpBody::kInclude) out += response.body;
  return out;
}

asio::awaitable<Result<void>> writeHttpResponse(Connection& connection, HttpResponse response) {
  if (!connection.isHttp()) {
    co_return fail(ErrorCode::kInvalidArgument,
                   "sdk: connection {} did not come over HTTP (transport {})", connection.id(),
                   connection.info().transport);
  }
  if (response.status < 200 || response.status > 599) {
    co_return fail(ErrorCode::kInvalidArgument,
                   "sdk: HTTP status {} is outside 200..599 (ipc.md §4.2)", response.status);
  }
  const bool no_body =
      connection.info().http->method == "HEAD" || response.status == 204 || response.status == 304;
  const std::string bytes =
      formatHttpResponse(response, no_body ? HttpBody::kOmit : HttpBody::kInclude);
  THUNDER_CO_TRY(co_await connection.write(std::string_view(bytes)));
  co_return co_await connection.end(EndReason::kNormal);
}

asio::awaitable<Result<Bytes>> readHttpBody(Connection& connection, size_t max_bytes) {
  if (!connection.isHttp()) {
    co_return fail(ErrorCode::kInvalidArgument,
                   "sdk: connection {} did not come over HTTP (transport {})", connection.id(),
                   connection.info().transport);
  }
  Bytes body;
  for (;;) {
    THUNDER_CO_ASSIGN_OR_RETURN(std::optional<Bytes> chunk, co_await connection.read());
    if (!chunk) {
      co_return fail(ErrorCode::kUnavailable,
                     "sdk: connection {} ended before the end of the request body",
                     connection.id());
    }
    if (chunk->empty()) co_return body;
    if (chunk->size() > max_bytes - body.size()) {
      co_return fail(ErrorCode::kResourceExhausted,
                     "sdk: the request body of connection {} is longer than {} bytes",
                     connection.id(), max_bytes);
    }
    body.insert(body.end(), chunk->begin(), chunk->end());
  }
}

}  // namespace thunder::sdk
