// ANY /services/<id>/<path>: HTTP answered by a service (internal to the gateway module, apart
// from the ServiceRouter seam that node/ implements; docs/gateway.md "Services"), and
// GET|HEAD /origin/<name>/<path>: a configured origin's content through the fetcher
// (implemented in origin_route.cc; docs/gateway.md "Origins").
//
// The services route turns one client request into one ServiceExchange (docs/protocol/ipc.md
// §4.2): it sends the request head (method, the path after /services/<id>, query, the header
// fields without hop-by-hop ones), forwards the request body while it reads the service's
// response head, then streams the response body to the client as an AsyncBody, re-framed
// (Content-Length when the service gave one, else chunked). Run on the connection's loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "gateway/exchange.h"
#include "gateway/server_state.h"
#include "gateway/upload_route.h"

namespace thunder::gateway {

// The request head a service gets (the HTTP fields of the IPC ConnectionHeader, ipc.md §4.1).
struct ServiceRequestHead {
  std::string method;  // as received: "GET", "POST", …
  std::string path;    // the target's path after /services/<id>, from its '/'; "/" if empty;
                       // percent-encoding as received
  std::string query;   // after '?', without it; "" if none
  // The client's header fields in arrival order, without hop-by-hop fields (docs/gateway.md).
  std::vector<std::pair<std::string, std::string>> headers;
};

// One HTTP request/response exchange with a service: the request body goes in, the service's
// response comes out as the raw bytes of an HTTP/1.1 response (status line, fields, body in the
// service's framing; ipc.md §4.2). Used on the loop it was opened on: at most one writeBody() or
// endBody() and one read() in flight, possibly at the same time. Destroying it ends the
// exchange (the service is told that the client went away if it has not ended yet); it never
// blocks.
class ServiceExchange {
 public:
  virtual ~ServiceExchange() = default;

  // Sends the next request body bytes (not empty, at most 256 KiB) and returns once the
  // exchange has taken them (back-pressure). kUnavailable once the service has ended or failed
  // (it needs no more of the body), kCancelled after abort().
  virtual boost::asio::awaitable<Result<void>> writeBody(std::span<const uint8_t> bytes) = 0;
  // The end of the request body (sent at once for a request without one). Errors as writeBody().
  virtual boost::asio::awaitable<Result<void>> endBody() = 0;

  // Fills `out` (not empty) with the next bytes of the response and returns how many; 0 once the
  // service has ended normally. Errors: kUnavailable when the service closed the exchange, died
  // or ended it with an error; kResourceExhausted when it ended it as overloaded; kCancelled
  // when the service or the node is stopping, or after abort().
  virtual boost::asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) = 0;

  // Ends the exchange now (a timeout, a client that went away): pending and later calls fail
  // with kCancelled. Idempotent; may be called from any callback on the exchange's loop.
  virtual void abort() = 0;
};

// Implemented by the node (node/service_router.h): opens exchanges with its running services.
// Thread-safe: every gateway loop calls open().
class ServiceRouter {
 public:
  virtual ~ServiceRouter() = default;

  // Opens an exchange with service `id` for one request; the exchange lives on the calling
  // coroutine's loop. Errors (their messages reach the client): kNotFound when no service `id`
  // runs on this node; kUnavailable when it is configured but not running now (starting,
  // restarting) or the node is stopping; kResourceExhausted past its connection limit;
  // kInvalidArgument when the head exceeds the IPC limits.
  virtual boost::asio::awaitable<Result<std::unique_ptr<ServiceExchange>>> open(
      ServiceId id, ServiceRequestHead head) = 0;
};

// IPC limits of the request head (ipc.md §4.1), checked by the route before open().
inline constexpr size_t kMaxServiceMethod = 16;
inline constexpr size_t kMaxServicePath = 8192;
inline constexpr size_t kMaxServiceQuery = 8192;
inline constexpr size_t kMaxServiceHeaders = 128;
inline constexpr size_t kMaxServiceHeaderName = 255;
inline constexpr size_t kMaxServiceHeaderValue = 8192;
// The service's response head must be complete within this many bytes (ipc.md §4.2).
inline constexpr size_t kMaxServiceResponseHead = 65536;
// Response bytes the route reads ahead of the client (beyond the head buffer), e.g. while it
// still forwards the request body to a service that answered early.
inline constexpr size_t kServiceReadAhead = 64 * 1024;

// Whether a header field is hop-by-hop (never forwarded either way): Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate,
// Proxy-Authorization, or a name listed in `connection` (the message's Connection field).
bool isHopByHopField(std::string_view name, std::string_view connection);

// "/services/…".
bool isServiceRoute(std::string_view path);
// Answers ANY /services/<id>/<path> from ServerState::backends.services. The references must
// stay valid until the coroutine ends; the response body it sets keeps what it needs.
boost::asio::awaitable<void> serveService(ServerState& state, const Request& request,
                                          BodyReader& body, Response& response);

// "/origin/…".
bool isOriginRoute(std::string_view path);
// Answers GET|HEAD /origin/<name>/<path> from ServerState::backends.fetcher (origin_route.cc).
boost::asio::awaitable<void> serveOrigin(ServerState& state, const Request& request,
                                         Response& response);

}  // namespace thunder::gateway
