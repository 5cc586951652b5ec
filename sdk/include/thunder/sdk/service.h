// Service: a Thunder service process's connection to its node (docs/guide/writing-a-service.md).
//
//   int main() {
//     auto service = thunder::sdk::Service::fromEnvironment();
//     if (!service) return thunder::sdk::reportStartupError(service.error());
//     (*service)->onConnection([](thunder::sdk::Connection& c) -> boost::asio::awaitable<void> {
//       while (auto bytes = co_await c.read()) {
//         if (!*bytes) break;                  // the client ended
//         if (!co_await c.write(**bytes)) break;
//       }
//     });
//     return (*service)->run() ? 0 : 1;
//   }
//
// The node starts the service with its control channel (a Unix stream socket) at fd 3 and
// THUNDER_CONTROL_FD=3. The Service exchanges Hellos on it, then receives one data channel per
// client connection (DataChannel notices carrying a descriptor), sets each up (Hellos, connection
// header) and runs the handler on it as its own coroutine. Node calls (nodeInfo, openBlob, ...)
// are requests with correlation ids on the control channel: any number of coroutines may have
// calls outstanding; replies may come in any order; at most ServiceOptions::max_calls_in_flight
// are on the wire at once, the rest wait their turn.
//
// Failures stay local: a handler that throws, or a malformed data channel, ends only that
// connection (End error). When the node closes the control channel (it is stopping or gone;
// there is no reconnecting to an inherited socket: the supervisor starts a new process), the
// Service stops taking connections, lets running ones finish for up to drain_timeout, then aborts
// the rest (End shutdown) and run() returns; the process should exit 0.
//
// Threading: everything runs on one boost::asio::io_context, driven by run() on the calling
// thread; handlers and node calls must run on it (co_spawn onto context() for background work).
// Blocking inside a handler stalls every connection: offload blocking work to your own thread.
// stop() may be called from any thread. Owns the control channel and every data channel.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "thunder/sdk/connection.h"
#include "thunder/sdk/types.h"

namespace thunder::sdk {

// What SIGTERM and SIGINT do while run() runs.
enum class TermSignals {
  kStop,     // stop() the service: drain, then run() returns (a node stopping a service sends
             // SIGTERM right after closing the control channel)
  kDefault,  // the SDK installs no handler (the process's own disposition applies)
};

struct ServiceOptions {
  // More concurrent connections than this are refused at once with End overloaded.
  size_t max_connections = 1024;
  // Node calls on the wire at once (ipc.md §3: the reference client keeps 64).
  size_t max_calls_in_flight = 64;
  // How long running connections may continue after the control channel closed. A stopping
  // node kills the service 2 s after closing its control channel, so keep this below that.
  std::chrono::milliseconds drain_timeout{1'000};
  TermSignals term_signals = TermSignals::kStop;
};

// A connection handler: runs once per client connection, as its own coroutine. When it returns
// the SDK sends End normal (unless it already ended); if it throws, End error with the
// exception's message. The Connection is valid until the handler's coroutine finishes.
using ConnectionHandler = std::function<boost::asio::awaitable<void>(Connection&)>;

class Service {
 public:
  // The control channel from THUNDER_CONTROL_FD (how a node starts a service). kInvalidArgument
  // if the variable is missing or not a descriptor number (the process was not started by a
  // node: see the guide for running a service locally); errors of fromFd().
  static Result<std::unique_ptr<Service>> fromEnvironment(ServiceOptions options = {});
  // Takes ownership of `control_fd`, a connected AF_UNIX stream socket to the node (tests, or a
  // runner of your own). kInvalidArgument if it is not a stream socket.
  static Result<std::unique_ptr<Service>> fromFd(int control_fd, ServiceOptions options = {});

  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Registers the connection handler. Call before run(). Without a handler, connections wait
  // for accept() instead.
  void onConnection(ConnectionHandler handler);

  // Runs the service on this thread until the node closes the control channel and the last
  // connection has finished (or drain_timeout passed), or stop() was called. Returns success on
  // such a clean end; kInvalidArgument if the node's Hello has no common version; kCorruption
  // (or the codec's kInvalidArgument) if the node sent something malformed on the control
  // channel; kIoError on a socket error. Call once.
  Result<void> run();

  // Stops as if the node had closed the control channel (drain, then run() returns).
  // Thread-safe; idempotent.
  void stop();

  // The next client connection, when no handler is registered (a pull-style alternative to
  // onConnection). Once the control channel has ended and none is left waiting: kUnavailable if
  // the node closed it, or the error that ended it (as run() will return).
  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> accept();

  // The loop everything runs on (timers, co_spawn of your own coroutines).
  boost::asio::io_context& context();

  // ---- Node calls (ipc.md §3). Each fails with the node's error code and message ("node: ...")
  // when the node answers ErrorReply; kUnavailable once the control channel has closed;
  // kInvalidArgument for arguments outside the protocol's limits.

  // The node's key and version and this service's id.
  boost::asio::awaitable<Result<NodeInfo>> nodeInfo();
  // Opens [offset, offset + length) of a stored blob (length kToEnd: to its end; the node clips
  // a range running past the end). kNotFound for an unknown blob; kInvalidArgument for a range
  // starting past its end.
  boost::asio::awaitable<Result<OpenedBlob>> openBlob(BlobId blob, uint64_t offset = 0,
                                                      uint64_t length = kToEnd);
  // Stores `size` bytes read by the node from `fd`'s current position (a memfd, file or pipe;
  // the caller keeps its descriptor). Returns the blob's BLAKE3 id.
  boost::asio::awaitable<Result<BlobId>> putBlob(int fd, uint64_t size);
  // Proposes usage for a connection of this service (billable once the client signs a DACK).
  // kNotFound for a connection this service does not own.
  boost::asio::awaitable<Result<void>> proposeUsage(uint64_t connection_id, Commodity commodity,
                                                    uint64_t amount);
  // A log line in the node's log (the sandbox gives a service no stderr). Lines over
  // kMaxLogMessage bytes are cut. The node may rate-limit.
  boost::asio::awaitable<Result<void>> log(LogLevel level, std::string_view text);
  // Samples the node exports in /metrics under this service's id. kInvalidArgument for more
  // than kMaxMetricSamples samples or a bad name.
  boost::asio::awaitable<Result<void>> metrics(std::span<const MetricSample> samples);
  // Content by name (ipc.md §3.11): the blob id and size of a blob the node stores complete —
  // ready for Connection::streamBlob(). resolveBlob() checks a blob id (kNotFound if the node
  // does not store it complete); resolveCid() maps a CID's text form (CIDv0 "Qm…", CIDv1 in
  // base32/base58btc/base36/hex) to the blob holding its content through the node's IPFS index:
  // kInvalidArgument if the node cannot parse it (or it is over kMaxCidText bytes), kNotFound if
  // the node does not have it (or a block of it), kUnavailable if the node has no IPFS store.
  boost::asio::awaitable<Result<ResolvedContent>> resolveBlob(BlobId blob);
  boost::asio::awaitable<Result<ResolvedContent>> resolveCid(std::string_view cid);
  // Reserved: the node answers kUnavailable until origin fetching lands.
  boost::asio::awaitable<Result<FetchedBlob>> fetchOrigin(std::string_view url);
  // Reserved: the node answers kUnavailable until the ledger lands.
  boost::asio::awaitable<Result<uint64_t>> queryBalance(PublicKey client);

  struct Impl;  // sdk/impl/service_impl.h

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes "thunder service: <message>" to stderr (visible when run by hand; a sandboxed service
// has no stderr) and returns 1, for `return reportStartupError(...)` in main.
int reportStartupError(const Error& error);

}  // namespace thunder::sdk
