// StreamConnection: one established byte stream between a client and a node, whatever the
// transport (TLS over TCP: authenticated and encrypted; plain WebSocket: neither, the session
// layer authenticates the node; QUIC: one session per connection on its first stream). The session
// layer (handshake/) runs over this interface and never sees sockets or TLS objects.
//
// Ownership: whoever holds the unique_ptr owns the connection; destroying it closes it.
// Threads: a connection lives on one event loop (executor()). Every method, and the destructor,
// must be called on that loop. One readSome() and one writeAll() may be pending at the same time
// (full duplex); two concurrent reads, or two concurrent writes, are a bug.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace thunder::net {

// Output of a keying-material exporter: 32 bytes, equal on both ends of one connection and
// different (with overwhelming probability) between any two connections.
using ExportedKey = std::array<uint8_t, 32>;

// Whether a connection has a keying-material exporter the session can bind its handshake to.
enum class KeyingMaterial {
  kExported,  // TLS, QUIC: exportKeyingMaterial() works once the connection is established
  kNone,      // plain WebSocket: no channel secret; the session uses an unbound binding
};

class StreamConnection {
 public:
  virtual ~StreamConnection() = default;

  // Waits until at least one byte is available, then reads up to buffer.size() bytes and
  // returns how many. Returns 0 when the peer ended the stream cleanly (it closed the
  // connection). Errors: kCancelled once close() ran (locally, or by a listener's stop());
  // kUnavailable when the peer dropped the connection without ending it cleanly (reset,
  // truncation); kCorruption when received bytes fail authentication. After an error the
  // connection is unusable. Precondition: buffer is not empty; `buffer` outlives the call.
  virtual boost::asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer) = 0;

  // Writes all of `bytes` (returns once they are handed to the kernel). Errors as readSome().
  // There is no write timeout here: the session layer bounds slow peers with its own timers
  // and close().
  virtual boost::asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes) = 0;

  // The transport's keying-material exporter for `label` with an empty context (for TLS:
  // RFC 8446 section 7.5). kInvalidArgument for an empty label.
  virtual Result<ExportedKey> exportKeyingMaterial(std::string_view label) const = 0;

  // kNone when exportKeyingMaterial() cannot work on this transport (it then always fails).
  virtual KeyingMaterial keyingMaterial() const { return KeyingMaterial::kExported; }

  // "tls", "quic", "ws": what the connection header tells a service.
  virtual std::string_view transportName() const = 0;

  // The peer's address as "ip:port" ("[ip]:port" for IPv6).
  virtual std::string remoteAddress() const = 0;

  // The loop the connection lives on.
  virtual boost::asio::any_io_executor executor() const = 0;

  // Ends the stream (best effort: tells the peer, without waiting) and fails every pending and
  // later readSome()/writeAll() with kCancelled. Idempotent.
  virtual void close() = 0;
};

}  // namespace thunder::net
