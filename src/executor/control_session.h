// ControlSession: the node side of one service instance's control channel
// (docs/protocol/ipc.md §2–§3): the Hello within a deadline, then the service's requests,
// answered concurrently and out of order.
//
//   NodeInfo      node key, service id, node version
//   OpenBlob      a read-only descriptor of the stored blob and the range's place in it (never a
//                 path); store work on the blocking pool
//   PutBlob       exactly `size` bytes from the passed descriptor (bounded in size, time and
//                 concurrency) into the store
//   ResolveContent  a blob id → itself, a CID → the blob holding its content (through the
//                 node's CidResolver hook), each answered only for a blob stored complete
//   ProposeUsage  / Log / Metrics   handed to the ControlHost (the supervisor)
//   FetchOrigin, QueryBalance       ErrorReply unavailable (reserved for later issues)
//
// Anything else — a reply or notice type from the service, a second Hello, garbage, an
// oversized frame, more than max_in_flight unanswered requests — is a protocol error: the
// session closes the channel and run() reports it (the supervisor then kills and restarts the
// service). The node also sends DataChannel notices here (notifyDataChannel()).
//
// Lives on one loop: construct, run() and call everything else there. run() returns only once
// every coroutine it started has finished; the ControlHost and the context's store and pool are
// borrowed and must outlive it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/metrics.h"
#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_store.h"
#include "executor/service_spec.h"
#include "io/async_event.h"
#include "ipc/async_channel.h"
#include "ipc/message.h"

namespace thunder::executor {

// What the supervisor does with the requests that concern it. Called on the session's loop.
class ControlHost {
 public:
  virtual ~ControlHost() = default;
  // The service completed the control-channel Hello.
  virtual void onControlReady() = 0;
  // Adds a usage proposal to connection `connection_id`. kNotFound if this instance does not
  // own that connection.
  virtual Result<void> proposeUsage(uint64_t connection_id, ipc::Commodity commodity,
                                    uint64_t amount) = 0;
  // A log line of the service (the host rate-limits).
  virtual void log(ipc::LogLevel level, std::string_view message) = 0;
  // Metric samples. kResourceExhausted past the per-service name bound; kInvalidArgument if a
  // name changes kind.
  virtual Result<void> recordMetrics(const std::vector<ipc::MetricSample>& samples) = 0;
};

// The node's IPFS index as the executor sees it: a CID's text form → the blob holding that
// content. Called on the blocking pool (it may block, e.g. to assemble a file from its blocks).
// Errors: kInvalidArgument (not a CID the node parses), kNotFound (not here, or a block of it is
// missing), kUnavailable (the node has no IPFS store).
using CidResolver = std::function<Result<BlobId>(std::string_view cid)>;

// What the node offers a service (borrowed pointers must outlive the session).
struct ControlContext {
  ServiceId service_id;
  PublicKey node_key;
  std::string node_version;
  content::BlobStore* store = nullptr;  // null: blob requests get ErrorReply unavailable
  boost::asio::thread_pool* blocking_pool = nullptr;
  std::filesystem::path scratch_dir;  // put-blob scratch files (O_TMPFILE)
  SupervisorOptions options;
  Counter* requests_counter = nullptr;  // counts every request received, if set
  CidResolver resolve_cid;              // empty: CID requests get ErrorReply unavailable
};

struct ControlEnd {
  enum class Kind {
    kPeerClosed,     // the service closed the channel at a frame boundary
    kProtocolError,  // the node closed it: a protocol violation (detail says which)
    kHelloTimeout,   // the node closed it: no Hello within options.hello_timeout
    kClosedByNode,   // close() was called
  };
  Kind kind = Kind::kClosedByNode;
  std::string detail;
};

class ControlSession {
 public:
  ControlSession(boost::asio::any_io_executor executor, ipc::UnixChannel channel,
                 ControlContext context, ControlHost& host);
  ~ControlSession();
  ControlSession(const ControlSession&) = delete;
  ControlSession& operator=(const ControlSession&) = delete;

  // Serves the channel until it ends; returns why. Call once.
  boost::asio::awaitable<ControlEnd> run();

  // Sends a DataChannel notice carrying `service_end` (closed here once sent). Dropped once the
  // session is closing.
  void notifyDataChannel(uint64_t connection_id, UniqueFd service_end);

  // Ends the session (kClosedByNode unless it already ended otherwise). Idempotent.
  void close();

  bool ready() const { return hello_done_; }
  bool closing() const { return closing_; }
  uint64_t requests() const { return requests_; }
  size_t inFlight() const { return in_flight_; }

 private:
  struct Outgoing {
    ipc::Message message;
    UniqueFd fd;
    bool is_reply = false;
  };

  boost::asio::awaitable<void> readLoop();
  boost::asio::awaitable<void> writeLoop();
  void handle(ipc::Received received);
  void reply(ipc::Message message, UniqueFd fd = {});
  void replyError(uint32_t id, const Error& error);
  void endWith(ControlEnd::Kind kind, std::string detail);
  boost::asio::awaitable<void> openBlob(ipc::OpenBlobRequest request);
  boost::asio::awaitable<void> resolveContent(ipc::ResolveContentRequest request);
  boost::asio::awaitable<void> putBlob(ipc::PutBlobRequest request, UniqueFd source);
  boost::asio::awaitable<Result<BlobId>> storePut(uint64_t size, int source_fd);
  boost::asio::awaitable<Result<void>> copyPipe(int pipe, int scratch, uint64_t size);

  boost::asio::any_io_executor executor_;
  ipc::AsyncChannel channel_;
  ControlContext context_;
  ControlHost& host_;
  io::TaskGroup tasks_;
  io::AsyncEvent outbox_event_;
  boost::asio::steady_timer hello_timer_;
  std::deque<Outgoing> outbox_;
  std::set<boost::asio::posix::stream_descriptor*> pipes_;  // put-blob pipes being read
  std::optional<ControlEnd> end_;
  bool hello_done_ = false;
  bool closing_ = false;
  bool started_ = false;
  uint64_t requests_ = 0;
  size_t in_flight_ = 0;
  size_t puts_ = 0;
};

}  // namespace thunder::executor
