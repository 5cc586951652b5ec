#include "net/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/endpoint.h"

namespace thunder::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

Error exchangeError(const boost::system::error_code& ec, std::string_view address) {
  if (ec == asio::error::connection_refused) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("nothing is listening on {} (is the node running?)", address)};
  }
  if (ec == beast::error::timeout) {
    return Error{ErrorCode::kTimeout, fmt::format("{} did not answer in time", address)};
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return Error{ErrorCode::kCorruption,
                 fmt::format("malformed HTTP response from {}: {}", address, ec.message())};
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("request to {} failed: {}", address, ec.message())};
}

asio::awaitable<Result<HttpResponse>> exchange(asio::ip::tcp::endpoint endpoint,
                                               std::string address, HttpRequest request,
                                               HttpClientOptions options) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(options.timeout);
  auto [connect_ec] = co_await stream.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
  if (connect_ec) co_return tl::unexpected(exchangeError(connect_ec, address));

  http::request<http::string_body> out{http::string_to_verb(request.method), request.target, 11};
  out.set(http::field::host, address);
  for (const auto& [name, value] : request.headers) out.insert(name, value);
  out.body() = request.body;
  out.prepare_payload();
  auto [write_ec, written] =
      co_await http::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
  if (write_ec) co_return tl::unexpected(exchangeError(write_ec, address));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  if (out.method() == http::verb::head) parser.skip(true);  // a HEAD response has no body
  auto [read_ec, read] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (read_ec) co_return tl::unexpected(exchangeError(read_ec, address));

  auto in = parser.release();
  HttpResponse response;
  response.status = in.result_int();
  response.content_type = std::string(in[http::field::content_type]);
  for (const auto& field : in) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(in.body());
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  co_return response;
}

}  // namespace

Result<HttpResponse> httpRequest(std::string_view address, const HttpRequest& request,
                                 HttpClientOptions options) {
  THUNDER_ASSIGN_OR_RETURN(const auto endpoint, parseEndpoint(address));
  if (http::string_to_verb(request.method) == http::verb::unknown) {
    return fail(ErrorCode::kInvalidArgument, "unknown HTTP method '{}'", request.method);
  }
  asio::io_context loop(1);
  Result<HttpResponse> result = fail(ErrorCode::kInternal, "request did not complete");
  asio::co_spawn(loop, exchange(endpoint, std::string(address), request, options),
                 [&](std::exception_ptr error, Result<HttpResponse> r) {
                   if (error) {
                     result = fail(ErrorCode::kInternal, "HTTP client failed unexpectedly");
                   } else {
                     result = std::move(r);
                   }
                 });
  loop.run();
  return result;
}

Result<HttpResponse> httpGet(std::string_view address, std::string_view target,
                             HttpClientOptions options) {
  HttpRequest request;
  request.method = "GET";
  request.target = std::string(target);
  return httpRequest(address, request, options);
}

}  // namespace thunder::net
