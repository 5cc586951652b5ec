#include "gateway/service_route.h"

#include <boost/asio/this_coro.hpp>
#include <optional>

#include "base/log.h"
#include "gateway/service_call.h"

namespace thunder::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether the comma-separated token list `list` contains `name` (case-insensitive).
bool listContains(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view token = trim(list.substr(0, comma));
    if (equalsNoCase(token, name)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// "7" → 7; digits only, at most 4294967295.
std::optional<uint32_t> parseServiceId(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(value);
}

// An answer of the gateway itself (not relayed from the service).
struct Refusal {
  unsigned status = 502;
  std::string message;
};

// Fields of the service's response the gateway never relays: hop-by-hop ones, the framing
// (the gateway re-frames the body) and the ones the connection sets itself.
bool dropResponseField(std::string_view name, std::string_view connection) {
  return isHopByHopField(name, connection) || equalsNoCase(name, "content-length") ||
         equalsNoCase(name, "date") || equalsNoCase(name, "server");
}

// A failure of the exchange before anything reached the client, as an answer.
Refusal refusalFor(const ServiceCall& call, const Error& error) {
  const uint32_t id = call.id().value();
  switch (error.code) {
    case ErrorCode::kTimeout:
      return {504, fmt::format("service {} did not answer in time: {}", id, error.message)};
    case ErrorCode::kResourceExhausted:
      return {503, fmt::format("service {} is overloaded: {}", id, error.message)};
    case ErrorCode::kCancelled:
      return {503, fmt::format("service {} could not answer: {}", id, error.message)};
    default:
      return {502, fmt::format("service {} failed before it answered: {}", id, error.message)};
  }
}

// Reads and parses the service's response head into call.parser().
asio::awaitable<std::optional<Refusal>> readResponseHead(ServiceCall& call) {
  auto& parser = call.parser();
  for (;;) {
    if (!call.pending().empty()) {
      beast::error_code ec;
      const std::string_view bytes = call.pending();
      const size_t n = parser.put(asio::const_buffer(bytes.data(), bytes.size()), ec);
      call.consume(n);
      if (!ec && parser.is_header_done()) co_return std::nullopt;
      if (ec == http::error::header_limit) {
        co_return Refusal{502, fmt::format("the response head of service {} is larger than {} "
                                           "bytes",
                                           call.id().value(), kMaxServiceResponseHead)};
      }
      if (ec && ec != http::error::need_more) {
        co_return Refusal{502, fmt::format("service {} sent a malformed response head: {}",
                                           call.id().value(), ec.message())};
      }
      if (n > 0) continue;
    }
    if (call.failure()) co_return refusalFor(call, *call.failure());
    if (call.ended()) {
      co_return Refusal{502, fmt::format("service {} ended the exchange without a complete "
                                         "response head",
                                         call.id().value())};
    }
    co_await call.waitMore(call.pending().size());
  }
}

// The body of a HEAD answer: never read (the connection sends no body for HEAD).
class NoBody final : public AsyncBody {
 public:
  asio::awaitable<Result<size_t>> read(std::span<uint8_t>) override { co_return size_t{0}; }
};

std::optional<uint64_t> parseLength(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// Copies the request head for the service (before the body is read: the Request's views die
// with the first readBody()). A refusal when it exceeds the IPC limits.
std::optional<Refusal> buildHead(const Request& request, std::string_view rest,
                                 ServiceRequestHead* head) {
  if (request.method_text.empty() || request.method_text.size() > kMaxServiceMethod) {
    return Refusal{501, fmt::format("method {} is not supported (at most {} bytes)",
                                    request.method_text.substr(0, 32), kMaxServiceMethod)};
  }
  head->method = std::string(request.method_text);
  head->path = rest.empty() ? std::string("/") : std::string(rest);
  head->query = std::string(request.query);
  if (head->path.size() > kMaxServicePath || head->query.size() > kMaxServiceQuery) {
    return Refusal{414, fmt::format("the path or query is too long for a service (at most {} "
                                    "bytes each)",
                                    kMaxServicePath)};
  }
  if (request.fields == nullptr) return std::nullopt;
  const std::string_view connection = (*request.fields)[http::field::connection];
  for (const auto& field : *request.fields) {
    const std::string_view name = field.name_string();
    if (isHopByHopField(name, connection) || equalsNoCase(name, "expect")) continue;
    if (equalsNoCase(name, "content-length") && request.framing != BodyFraming::kLength) continue;
    if (name.size() > kMaxServiceHeaderName || field.value().size() > kMaxServiceHeaderValue) {
      return Refusal{
          431, fmt::format("header field {} is too long for a service (names at most "
                           "{} bytes, values {})",
                           name.substr(0, 64), kMaxServiceHeaderName, kMaxServiceHeaderValue)};
    }
    if (head->headers.size() == kMaxServiceHeaders) {
      return Refusal{431, fmt::format("too many header fields for a service (at most {})",
                                      kMaxServiceHeaders)};
    }
    head->headers.emplace_back(std::string(name), std::string(field.value()));
  }
  return std::nullopt;
}

Refusal refusalForOpen(ServiceId id, const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound: return {404, error.message};
    case ErrorCode::kUnavailable:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kCancelled: return {503, error.message};
    case ErrorCode::kInvalidArgument:
      return {431,
              fmt::format("the request head does not fit a service's limits: {}", error.message)};
    default: return {502, fmt::format("cannot reach service {}: {}", id.value(), error.message)};
  }
}

// The answer for a client whose request body failed (as for uploads).
void answerClientError(const Error& error, const ServerState& state, Response& response) {
  response.closeAfter();
  switch (error.code) {
    case ErrorCode::kResourceExhausted:
      response.errorf(413, "the body is larger than the limit of {} MiB (gateway.max_upload_mb)",
                      state.options.max_upload_mb);
      break;
    case ErrorCode::kTimeout: response.error(408, error.message); break;
    case ErrorCode::kInvalidArgument: response.error(400, error.message); break;
    default: response.error(503, error.message); break;
  }
}

}  // namespace

bool isHopByHopField(std::string_view name, std::string_view connection) {
  static constexpr std::string_view kHopByHop[] = {"connection",
                                                   "keep-alive",
                                                   "proxy-connection",
                                                   "te",
                                                   "trailer",
                                                   "transfer-encoding",
                                                   "upgrade",
                                                   "proxy-authenticate",
                                                   "proxy-authorization"};
  for (const std::string_view hop : kHopByHop) {
    if (equalsNoCase(name, hop)) return true;
  }
  return !connection.empty() && listContains(connection, name);
}

bool isServiceRoute(std::string_view path) {
  return path.starts_with("/services/");
}

asio::awaitable<void> serveService(ServerState& state, const Request& request, BodyReader& body,
                                   Response& response) {
  constexpr std::string_view kPrefix = "/services/";
  const std::string_view after = request.path.substr(kPrefix.size());
  const size_t slash = after.find('/');
  const std::string_view id_text = after.substr(0, slash);
  const std::string_view rest =
      slash == std::string_view::npos ? std::string_view() : after.substr(slash);
  // A refusal before the body is read closes the connection (the connection sees the body
  // unread); nothing to do for it here.
  const bool has_body = request.framing != BodyFraming::kNone;
  if (id_text.empty()) {
    response.error(400, "missing service id: use /services/<id>/<path>");
    co_return;
  }
  const auto id_value = parseServiceId(id_text);
  if (!id_value) {
    response.errorf(400, "malformed service id \"{}\": expected a decimal number (/services/<id>/)",
                    id_text.substr(0, 64));
    co_return;
  }
  const ServiceId id{*id_value};
  const bool send_continue = has_body && !request.expect.empty();
  if (!request.expect.empty() && !equalsNoCase(request.expect, "100-continue")) {
    response.errorf(417, "unsupported Expect: {} (only 100-continue)",
                    request.expect.substr(0, 100));
    co_return;
  }
  ServiceRequestHead head;
  if (auto refusal = buildHead(request, rest, &head)) {
    response.error(refusal->status, refusal->message);
    co_return;
  }
  const bool head_request = request.head();
  if (state.backends.services == nullptr) {
    response.errorf(404, "no service {} is running on this node (it runs no services)", id.value());
    co_return;
  }
  auto opening = state.backends.services->open(id, std::move(head));
  auto opened = co_await std::move(opening);
  if (!opened) {
    THUNDER_LOG(debug, "gateway", "service {} refused a request: {}", id.value(),
                opened.error().message);
    const Refusal refusal = refusalForOpen(id, opened.error());
    response.error(refusal.status, refusal.message);
    if (refusal.status == 503) response.header("Retry-After", "1");
    co_return;
  }
  // From here on the request's views may die (the pump reads the body).
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto call = std::make_shared<ServiceCall>(executor, state, id, std::move(*opened));
  // Ends the exchange when the route returns without handing it to a response body.
  struct Finish {
    std::shared_ptr<ServiceCall> call;
    ~Finish() {
      if (call) call->finish();
    }
  } finish_unless_handed_over{call};
  if (head_request) call->parser().skip(true);
  call->start(body, has_body, send_continue);

  std::optional<Refusal> refusal = co_await readResponseHead(*call);
  if (refusal) call->finish();
  co_await call->waitPump();  // the body reader is the connection's: done with it before return

  if (const auto& client_error = call->clientError()) {
    answerClientError(*client_error, state, response);
    co_return;
  }
  if (refusal) {
    THUNDER_LOG(debug, "gateway", "{}", refusal->message);
    response.error(refusal->status, refusal->message);
    if (refusal->status == 503) response.header("Retry-After", "1");
    co_return;
  }
  const auto& message = call->parser().get();
  const unsigned status = message.result_int();
  if (status < 200 || status > 599) {
    response.errorf(502, "service {} answered with status {} (200..599 expected)", id.value(),
                    status);
    co_return;
  }
  response.setStatus(status);
  const std::string_view connection = message[http::field::connection];
  for (const auto& field : message) {
    if (dropResponseField(field.name_string(), connection)) continue;
    response.header(field.name_string(), field.value());
  }
  if (head_request) {
    response.setAsyncBody(std::make_unique<NoBody>(),
                          parseLength(message[http::field::content_length]));
  } else if (call->parser().is_done()) {
    // No body (204, 304, Content-Length: 0): an empty response.
  } else {
    // Content-Length from the service; chunked or until its end: unknown (chunked to the client).
    std::optional<uint64_t> length;
    const auto declared = call->parser().content_length();
    if (!call->parser().chunked() && declared) length = *declared;
    call->parser().eager(true);
    response.setAsyncBody(std::make_unique<ServiceBody>(std::move(finish_unless_handed_over.call)),
                          length);
  }
}

}  // namespace thunder::gateway
