#include "fetcher/http_origin.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <limits>
#include <type_traits>
#include <vector>

#include "base/log.h"
#include "fetcher/url.h"

namespace thunder::fetcher {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// ---- OriginCancel ----

void OriginCancel::cancel() {
  std::lock_guard lock(mutex_);
  if (cancelled_) return;
  cancelled_ = true;
  if (!executor_ || !close_) return;
  asio::post(*executor_, [self = shared_from_this(), generation = generation_] {
    std::function<void()> close;
    {
      std::lock_guard inner(self->mutex_);
      if (self->generation_ == generation) close = self->close_;
    }
    // On the get()'s loop, where detach() also runs: the stream is still alive if attached.
    if (close) close();
  });
}

bool OriginCancel::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void OriginCancel::attach(asio::any_io_executor executor, std::function<void()> close) {
  std::lock_guard lock(mutex_);
  executor_ = std::move(executor);
  close_ = std::move(close);
  ++generation_;
}

void OriginCancel::detach() {
  std::lock_guard lock(mutex_);
  close_ = nullptr;
  ++generation_;
}

// ---- HttpOrigin ----

struct HttpOrigin::Tls {
  ssl::context context{ssl::context::tls_client};
};

namespace {

// What one request of a redirect chain gave: the final response or where to go next.
struct Hop {
  std::optional<Url> redirect;
  OriginResponse response;
};

// Detaches an OriginCancel when a hop's stream is about to be destroyed.
struct Attachment {
  OriginCancel* cancel;
  ~Attachment() {
    if (cancel != nullptr) cancel->detach();
  }
};

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string shortUrl(const std::string& url) {
  constexpr size_t kMax = 200;
  return url.size() <= kMax ? url : url.substr(0, kMax) + "…";
}

std::string_view reasonFor(unsigned status) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  const std::string_view text(reason.data(), reason.size());
  return text == "<unknown-status>" ? std::string_view() : text;
}

Error cancelledError(const Url& url) {
  return Error{ErrorCode::kCancelled, fmt::format("GET {} was cancelled", shortUrl(url.str()))};
}

// The Error for a failed read/write/connect during `phase` ("connecting to", "reading the
// response header of", ...). `limit` is the timeout that applied.
Error ioError(const boost::system::error_code& ec, std::string_view phase, const Url& url,
              const OriginCancel* cancel, std::chrono::milliseconds limit) {
  if (cancel != nullptr && cancel->cancelled()) return cancelledError(url);
  const std::string where = shortUrl(url.str());
  if (ec == beast::error::timeout) {
    return Error{ErrorCode::kTimeout,
                 fmt::format("{} {} took longer than {} ms", phase, where, limit.count())};
  }
  if (ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated ||
      ec == http::error::end_of_stream) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("{} {}: the origin closed the connection early", phase, where)};
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return Error{ErrorCode::kCorruption,
                 fmt::format("{} {}: malformed HTTP response ({})", phase, where, ec.message())};
  }
  return Error{ErrorCode::kUnavailable, fmt::format("{} {}: {}", phase, where, ec.message())};
}

// The error for a final status that is neither success nor redirect.
Error statusError(unsigned status, const Url& url) {
  ErrorCode code = ErrorCode::kUnavailable;
  if (status == 404 || status == 410) code = ErrorCode::kNotFound;
  if (status == 401 || status == 403) code = ErrorCode::kPermissionDenied;
  return Error{code, fmt::format("GET {}: the origin answered {} {}", shortUrl(url.str()), status,
                                 reasonFor(status))};
}

bool isRedirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool isSuccess(unsigned status) {
  return status == 200 || status == 203 || status == 204;
}

// (Awaited sub-coroutines here borrow their arguments by reference: the caller's frame outlives
// them, and GCC 12 mishandles parameter temporaries with destructors in a co_await expression.)
asio::awaitable<Result<std::vector<tcp::endpoint>>> endpointsFor(const Url& url) {
  if (url.hostIsIp()) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (ec) co_return fail(ErrorCode::kInvalidArgument, "bad address {}", url.host);
    co_return std::vector<tcp::endpoint>{tcp::endpoint(address, url.port)};
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  const std::string service = std::to_string(url.port);
  auto [ec, results] =
      co_await resolver.async_resolve(url.host, service, asio::as_tuple(asio::use_awaitable));
  if (ec || results.empty()) {
    co_return fail(ErrorCode::kUnavailable, "cannot resolve {} for {}: {}", url.host,
                   shortUrl(url.str()), ec ? ec.message() : std::string("no address"));
  }
  std::vector<tcp::endpoint> out;
  for (const auto& entry : results) out.push_back(entry.endpoint());
  co_return out;
}

// Configures the client side of a TLS connection to `url`: SNI (for names) and verification of
// the chain and of the name or IP address.
Result<void> configureTls(TlsStream& stream, const Url& url) {
  SSL* native = stream.native_handle();
  if (!url.hostIsIp() && SSL_set_tlsext_host_name(native, url.host.c_str()) != 1) {
    return fail(ErrorCode::kInvalidArgument, "\"{}\" cannot be sent as a TLS server name",
                url.host);
  }
  SSL_set_verify(native, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(native);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = url.hostIsIp() ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
                                : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
  if (ok != 1) {
    return fail(ErrorCode::kInternal, "OpenSSL refused the expected host name {}", url.host);
  }
  return {};
}

Error tlsFailure(TlsStream& stream, const boost::system::error_code& ec, const Url& url,
                 const OriginCancel* cancel, std::chrono::milliseconds limit) {
  const long verify = SSL_get_verify_result(stream.native_handle());
  if (verify != X509_V_OK && !(cancel != nullptr && cancel->cancelled()) &&
      ec != beast::error::timeout) {
    return Error{
        ErrorCode::kPermissionDenied,
        fmt::format("the certificate of {} does not verify for {}: {} (a private CA can "
                    "be trusted with SSL_CERT_FILE=ca.pem)",
                    url.authority(), shortUrl(url.str()), X509_verify_cert_error_string(verify))};
  }
  return ioError(ec, "the TLS handshake for", url, cancel, limit);
}

struct HopContext {
  const HttpOriginOptions* options;
  const OriginCallbacks* callbacks;
  OriginCancel* cancel;
  size_t redirects;
};

template <typename Stream>
asio::awaitable<Result<Hop>> runHop(Stream& stream, const Url& url, HopContext ctx) {
  constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  const HttpOriginOptions& options = *ctx.options;
  auto& lowest = beast::get_lowest_layer(stream);
  Attachment attachment{ctx.cancel};
  if (ctx.cancel != nullptr) {
    ctx.cancel->attach(lowest.get_executor(), [&lowest] { lowest.close(); });
    if (ctx.cancel->cancelled()) co_return tl::unexpected(cancelledError(url));
  }

  // Connect (and TLS) within connect_timeout.
  const auto connect_deadline = Clock::now() + options.connect_timeout;
  THUNDER_CO_ASSIGN_OR_RETURN(const std::vector<tcp::endpoint> endpoints,
                              co_await endpointsFor(url));
  if (Clock::now() >= connect_deadline) {
    co_return fail(ErrorCode::kTimeout, "resolving {} for {} took longer than {} ms", url.host,
                   shortUrl(url.str()), options.connect_timeout.count());
  }
  lowest.expires_at(connect_deadline);
  auto [connect_ec, connected] =
      co_await lowest.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  if (connect_ec) {
    co_return tl::unexpected(
        ioError(connect_ec, "connecting for", url, ctx.cancel, options.connect_timeout));
  }
  if constexpr (kTls) {
    THUNDER_CO_TRY(configureTls(stream, url));
    auto [tls_ec] = co_await stream.async_handshake(ssl::stream_base::client,
                                                    asio::as_tuple(asio::use_awaitable));
    if (tls_ec) {
      co_return tl::unexpected(
          tlsFailure(stream, tls_ec, url, ctx.cancel, options.connect_timeout));
    }
  }

  // The request, and the response header within header_timeout.
  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.authority());
  request.set(http::field::user_agent, options.user_agent);
  request.set(http::field::accept, "*/*");
  request.set(http::field::accept_encoding, "identity");
  request.set(http::field::connection, "close");
  lowest.expires_after(options.header_timeout);
  auto [write_ec, written] =
      co_await http::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
  if (write_ec) {
    co_return tl::unexpected(
        ioError(write_ec, "sending the request for", url, ctx.cancel, options.header_timeout));
  }
  beast::flat_buffer buffer;
  buffer.reserve(options.slice_bytes);  // Beast reads max(512, free capacity) bytes per call
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto [header_ec, header_bytes] =
      co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (header_ec) {
    co_return tl::unexpected(ioError(header_ec, "reading the response header of", url, ctx.cancel,
                                     options.header_timeout));
  }

  auto& message = parser.get();
  const unsigned status = message.result_int();
  if (isRedirect(status)) {
    const std::string_view location = message[http::field::location];
    if (location.empty()) {
      co_return fail(ErrorCode::kUnavailable, "GET {}: the origin answered {} without a Location",
                     shortUrl(url.str()), status);
    }
    auto next = resolveReference(url, location);
    if (!next) {
      co_return tl::unexpected(next.error().withContext(
          fmt::format("GET {}: redirect {}", shortUrl(url.str()), status)));
    }
    Hop hop;
    hop.redirect = std::move(*next);
    co_return hop;
  }
  if (!isSuccess(status)) co_return tl::unexpected(statusError(status, url));
  const std::string_view encoding = message[http::field::content_encoding];
  if (!encoding.empty() && !equalsNoCase(encoding, "identity")) {
    co_return fail(ErrorCode::kUnavailable,
                   "GET {}: the origin sent Content-Encoding \"{}\" although only identity was "
                   "accepted",
                   shortUrl(url.str()), encoding.substr(0, 40));
  }

  Hop hop;
  OriginResponse& response = hop.response;
  response.status = status;
  response.url = url.str();
  response.redirects = ctx.redirects;
  if (const auto length = parser.content_length()) response.content_length = *length;
  response.content_type = std::string(message[http::field::content_type]);
  response.cache_control = std::string(message[http::field::cache_control]);
  response.age = std::string(message[http::field::age]);
  if (response.content_length && *response.content_length > options.max_body_bytes) {
    co_return fail(ErrorCode::kResourceExhausted,
                   "GET {}: the body ({} bytes) is larger than the limit of {} bytes",
                   shortUrl(url.str()), *response.content_length, options.max_body_bytes);
  }
  if (ctx.callbacks->on_response) THUNDER_CO_TRY(ctx.callbacks->on_response(response));

  // The body, slice by slice, each read within idle_timeout.
  std::vector<uint8_t> slice(options.slice_bytes);
  uint64_t received = 0;
  while (!parser.is_done()) {
    message.body().data = slice.data();
    message.body().size = slice.size();
    lowest.expires_after(options.idle_timeout);
    auto [ec, consumed] =
        co_await http::async_read_some(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec == http::error::need_buffer) ec = {};
    const size_t got = slice.size() - message.body().size;
    if (got > 0) {
      received += got;
      if (received > options.max_body_bytes) {
        co_return fail(ErrorCode::kResourceExhausted,
                       "GET {}: the body is larger than the limit of {} bytes", shortUrl(url.str()),
                       options.max_body_bytes);
      }
      THUNDER_CO_TRY(ctx.callbacks->on_body(std::span<const uint8_t>(slice.data(), got)));
    }
    if (ec) {
      co_return tl::unexpected(
          ioError(ec, "reading the body of", url, ctx.cancel, options.idle_timeout));
    }
  }
  boost::system::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return hop;
}

}  // namespace

Result<std::unique_ptr<HttpOrigin>> HttpOrigin::create(HttpOriginOptions options) {
  if (options.connect_timeout.count() <= 0 || options.header_timeout.count() <= 0 ||
      options.idle_timeout.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument, "origin timeouts must be positive");
  }
  if (options.max_body_bytes == 0 || options.max_header_bytes == 0 || options.slice_bytes == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "origin limits (max body, max header, slice size) must be positive");
  }
  auto tls = std::make_unique<Tls>();
  SSL_CTX_set_min_proto_version(tls->context.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  tls->context.set_default_verify_paths(ec);
  if (ec) {
    return fail(ErrorCode::kInternal, "cannot load the system's trusted certificates: {}",
                ec.message());
  }
  return std::unique_ptr<HttpOrigin>(new HttpOrigin(std::move(options), std::move(tls)));
}

HttpOrigin::HttpOrigin(HttpOriginOptions options, std::unique_ptr<Tls> tls)
    : options_(std::move(options)), tls_(std::move(tls)) {}

HttpOrigin::~HttpOrigin() = default;

asio::awaitable<Result<OriginResponse>> HttpOrigin::get(std::string_view url_text,
                                                        const OriginCallbacks& callbacks,
                                                        OriginCancel* cancel) {
  THUNDER_CO_ASSIGN_OR_RETURN(Url url, parseUrl(url_text));
  const auto executor = co_await asio::this_coro::executor;
  std::vector<std::string> chain{url.str()};
  for (size_t redirects = 0;;) {
    const HopContext ctx{&options_, &callbacks, cancel, redirects};
    Result<Hop> hop;
    if (url.scheme == Scheme::kHttps) {
      TlsStream stream(executor, tls_->context);
      hop = co_await runHop(stream, url, ctx);
    } else {
      PlainStream stream(executor);
      hop = co_await runHop(stream, url, ctx);
    }
    if (!hop) co_return tl::unexpected(std::move(hop).error());
    if (!hop->redirect) co_return std::move(hop->response);
    url = std::move(*hop->redirect);
    chain.push_back(url.str());
    if (++redirects > options_.max_redirects) {
      std::string path;
      for (const auto& step : chain) path += (path.empty() ? "" : " → ") + shortUrl(step);
      co_return fail(ErrorCode::kUnavailable, "GET {}: more than {} redirects ({})",
                     shortUrl(chain.front()), options_.max_redirects, path);
    }
    THUNDER_LOG(debug, "fetcher", "redirect {} → {}", shortUrl(chain[chain.size() - 2]),
                shortUrl(url.str()));
  }
}

}  // namespace thunder::fetcher
