// CdnHandler: what thunder-service-cdn does with each client connection (services/cdn/README.md).
//
// A client that came over a session (TLS, QUIC, WebSocket) speaks the content service protocol
// (docs/protocol/builtin-services.md "Content"): its first payload names a blob by id or CID and
// byte ranges; the handler resolves it with the node (Service::resolveBlob / resolveCid), answers
// the CID form with the resolved blob id, and has the node stream the verified range stream
// itself (Connection::streamBlob, content by reference). It then waits for the client to end the
// session after its final DACK — at most kClientEndGrace plus one second per MiB streamed —
// before it ends the connection itself. Errors end the connection with End error and the
// protocol's message ("not_found: …", "bad_request: …", "unavailable: …").
//
// A client that came over HTTP (the connection header carries the request head) gets an HTTP/1.1
// response: GET|HEAD /b3/<blob id> and /ipfs/<cid>, with Content-Type (sniffed from the first
// bytes), Content-Length, a strong ETag (the blob id), immutable caching, single byte ranges
// (206/416), If-None-Match (304), and the body sent by reference (raw bytes); 404/400/405/503
// with a one-line text body naming the cause.
//
// Threading: the Service's loop only. Borrows the Service, which must outlive the handler.
#pragma once

#include <thunder/sdk/sdk.h>

#include <chrono>
#include <cstdint>

namespace thunder::cdn {

// After the last stream byte, how long a session client has to end the session (the same
// grace as the built-in content service). The handler cannot see when the node sent the last
// byte, so it adds one second per MiB of the stream to this (a client slower than 1 MiB/s may be
// ended by the service before it ends the session itself; it still has every byte).
inline constexpr std::chrono::seconds kClientEndGrace{5};

// Counters, for the service's /metrics samples (main.cc reports them).
struct CdnStats {
  uint64_t sessions = 0;            // session requests answered with a stream
  uint64_t http_requests = 0;       // HTTP requests answered (any status)
  uint64_t not_found = 0;           // requests for content this node does not have
  uint64_t bad_requests = 0;        // malformed requests
  uint64_t bytes_by_reference = 0;  // content bytes the node was asked to send
};

class CdnHandler {
 public:
  explicit CdnHandler(sdk::Service& service) : service_(service) {}

  // Serves one connection to its end (a Service::onConnection handler).
  boost::asio::awaitable<void> serve(sdk::Connection& connection);

  const CdnStats& stats() const { return stats_; }

 private:
  boost::asio::awaitable<void> serveSession(sdk::Connection& connection);
  boost::asio::awaitable<void> serveHttp(sdk::Connection& connection);
  boost::asio::awaitable<void> awaitClientEnd(sdk::Connection& connection,
                                              std::chrono::milliseconds grace);

  sdk::Service& service_;
  CdnStats stats_;
};

}  // namespace thunder::cdn
