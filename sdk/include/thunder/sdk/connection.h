// Connection: one client connection of a service (one data channel, docs/protocol/ipc.md §4).
//
// The SDK creates a Connection once the node's data channel is set up (Hellos exchanged, header
// read) and hands it to the connection handler (Service::onConnection) or to Service::accept().
// read() returns what the client sent, write() and streamBlob() answer it, end() finishes it.
//
// Threading: a Connection lives on its Service's loop. Call its methods from coroutines running
// on that loop only. At most one read() and one write-side call (write, streamBlob, end) may be
// in flight at a time; a second concurrent one fails with kInvalidArgument. Must not outlive its
// Service. Destroying a Connection that has not ended sends End normal (best effort).
//
// GCC 12: pass named objects to these coroutines, not temporaries with destructors built inside
// the co_await expression (string literals and spans are fine).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "thunder/sdk/types.h"

namespace thunder::sdk {

class Service;

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The connection header: ids, client key, transport, HTTP request head.
  const ConnectionInfo& info() const;
  uint64_t id() const { return info().connection_id; }
  bool isHttp() const { return info().http.has_value(); }
  // The service this connection belongs to, for node calls (openBlob, proposeUsage, ...).
  Service& service() const;

  // The next bytes the client sent (possibly empty: for an HTTP client an empty chunk marks the
  // end of the request body, ipc.md §4.2). std::nullopt once the node has ended the channel
  // (peerEnd() says why) or after end(). Errors: kUnavailable when the node closed the channel
  // without End; kCorruption when it sent something malformed (the channel is then closed);
  // kCancelled when the service is shutting down; kInvalidArgument if a read() is in flight.
  boost::asio::awaitable<Result<std::optional<Bytes>>> read();

  // Sends `bytes` to the client, split into Payloads of at most kMaxPayloadBytes, and resumes
  // once the node has taken them (back-pressure). Writing nothing sends nothing. Errors:
  // kInvalidArgument after end() or with another write in flight; kUnavailable if the node ended
  // or closed the channel; kCancelled when the service is shutting down.
  boost::asio::awaitable<Result<void>> write(std::span<const uint8_t> bytes);
  boost::asio::awaitable<Result<void>> write(std::string_view text);

  // Content by reference: the node sends `ranges` of `blob` to the client itself, in order, as
  // if written here at this point of the stream (ipc.md §4.3): their verified range stream
  // (StreamMode::kVerified) or their bytes (kRaw, e.g. an HTTP body after its head). More than
  // kMaxStreamRangesPerFrame ranges are sent as several frames (in kVerified mode, several
  // streams). kInvalidArgument for no range, a range of length 0 or one whose end overflows;
  // otherwise errors as write(). If the node does not have the blob (or, in kRaw mode, a range
  // runs past its end) it ends the connection with an error.
  boost::asio::awaitable<Result<void>> streamBlob(BlobId blob, std::span<const ByteRange> ranges,
                                                  StreamMode mode = StreamMode::kVerified);
  boost::asio::awaitable<Result<void>> streamBlob(BlobId blob, ByteRange range,
                                                  StreamMode mode = StreamMode::kVerified);

  // Sends End (the last message; a message over kMaxEndMessage bytes is cut). A second end(),
  // or end() after the node ended, does nothing. Errors as write(), except that it never fails
  // with kInvalidArgument after end().
  boost::asio::awaitable<Result<void>> end(EndReason reason = EndReason::kNormal,
                                           std::string_view message = {});

  // True once End was sent or received, or the connection was aborted.
  bool ended() const;
  // The End the node sent, if it sent one (e.g. kNormal when the client went away cleanly).
  const std::optional<EndInfo>& peerEnd() const;

  struct Impl;  // the SDK's implementation (sdk/impl/connection_impl.h)
  explicit Connection(std::unique_ptr<Impl> impl);
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace thunder::sdk
