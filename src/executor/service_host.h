// ServiceHost: the supervisor of one configured service. It runs the service's program in the
// sandbox (spawnSandboxed) with its end of a control channel at fd 3 (THUNDER_CONTROL_FD=3),
// serves that channel (ControlSession), watches the process through its pidfd on the event loop,
// meters it (CPU time and memory from /proc, rusage at exit) and restarts it with capped
// exponential back-off when it ends, whatever the cause: exit, crash, a limit, a protocol error
// or a missed Hello. A service failure never blocks or crashes the node. A program given as a
// blob id is verified and materialised (service_program.h) before every start.
//
// The session side (ExecutedService) attaches client connections: attach() makes a data channel
// socketpair, posts the service's end to the control channel (DataChannel notice) and returns
// the node's end with a ConnectionRecord that counts the connection's usage.
//
// Threads: the host's work runs on one loop (context.executor); start(), stop() and the
// destructor are for the owner's thread (not that loop); status(), waitFor(), attach() and the
// connection queries are thread-safe. Borrowed: the store, the blocking pool, the metrics
// registry (must outlive the host).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_store.h"
#include "executor/control_session.h"
#include "executor/restart_backoff.h"
#include "executor/service_metrics.h"
#include "executor/service_spec.h"
#include "executor/service_status.h"
#include "ipc/unix_channel.h"

namespace thunder::executor {

struct ServiceHostContext {
  boost::asio::any_io_executor executor;  // the loop the host runs on
  boost::asio::thread_pool* blocking_pool = nullptr;
  content::BlobStore* store = nullptr;  // null: no blob requests, no blob programs
  PublicKey node_key;
  std::string node_version;
  MetricsRegistry* metrics = nullptr;
  // A private folder of the node for this service: bin/ (materialised programs), tmp/ (put-blob
  // scratch files).
  std::filesystem::path work_dir;
  // The node's CID → blob mapping for ResolveContent (control_session.h); empty: CIDs are
  // answered unavailable. Must stay callable while the host runs (from the blocking pool).
  CidResolver resolve_cid;
};

// Usage counters of one client connection, shared by the connection (its loop) and the host.
// Thread-safe.
class ConnectionRecord {
 public:
  ConnectionRecord(uint64_t connection_id, PublicKey client_key, uint32_t lane, uint64_t instance,
                   ServiceMetrics& metrics);

  uint64_t id() const { return connection_id_; }
  uint64_t instance() const { return instance_; }  // the service instance it was handed to

  void addIn(uint64_t bytes);
  void addOut(uint64_t bytes);
  void addProposal(ipc::Commodity commodity, uint64_t amount);
  void close();  // the connection is over (stops the wall clock)
  ConnectionUsage snapshot() const;

  // The connection's way to end itself with End shutdown when the service stops: set by the
  // connection while it runs (the hook posts to its own loop), cleared before it finishes.
  void setShutdownHook(std::function<void()> hook);
  void requestShutdown();
  // Called by addProposal() with the new cumulative compute ms after a compute proposal (on the
  // thread that added it): set by the connection while it runs to forward the total to its
  // session (the hook posts to its own loop), cleared before it finishes.
  void setComputeProposalHook(std::function<void(uint64_t proposed_compute_ms)> hook);

 private:
  const uint64_t connection_id_;
  const PublicKey client_key_;
  const uint32_t lane_;
  const uint64_t instance_;
  ServiceMetrics& metrics_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<uint64_t> proposed_bandwidth_{0};
  std::atomic<uint64_t> proposed_compute_ms_{0};
  std::atomic<int64_t> closed_after_us_{-1};
  mutable std::mutex hook_mutex_;
  std::function<void()> shutdown_hook_;                  // GUARDED_BY(hook_mutex_)
  std::function<void(uint64_t)> compute_proposal_hook_;  // GUARDED_BY(hook_mutex_)
};

// A client connection attached to a running service.
struct AttachedConnection {
  uint64_t connection_id = 0;
  ipc::UnixChannel channel;  // the node's end of the data channel
  std::shared_ptr<ConnectionRecord> record;
};

class ServiceHost final : private ControlHost {
 public:
  // Checks the spec (exactly one of executable / blob; an absolute path; a store for a blob)
  // and creates the work dir. kInvalidArgument naming the problem.
  static Result<std::unique_ptr<ServiceHost>> create(ServiceSpec spec, ServiceHostContext context,
                                                     SupervisorOptions options = {});
  ~ServiceHost() override;
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // Starts supervising: the first instance is spawned on the loop. Call once.
  void start();
  // Ends every client connection (End shutdown), closes the control channel, sends SIGTERM,
  // SIGKILL after options.stop_grace, and waits until the process is reaped. No restart after.
  // Idempotent. Blocks: not on the host's loop.
  void stop();
  // The first half of stop(), without waiting (to stop many services in parallel; then call
  // stop() on each). Idempotent.
  void requestStop();

  ServiceId id() const { return spec_.id; }
  const std::string& name() const { return spec_.name; }
  const SupervisorOptions& options() const { return options_; }
  content::BlobStore* store() const { return context_.store; }
  boost::asio::thread_pool* blockingPool() const { return context_.blocking_pool; }
  ServiceMetrics& metrics() { return *metrics_; }

  // A consistent snapshot. Thread-safe.
  ServiceStatus status() const;
  // Waits until `predicate(status())` holds (checked at every status change) or `timeout`
  // passes; returns whether it holds. Thread-safe; for tests and tools.
  bool waitFor(const std::function<bool(const ServiceStatus&)>& predicate,
               std::chrono::milliseconds timeout) const;

  // Attaches a client connection (see the file comment). kUnavailable when the service is not
  // running (the message names its state and last exit), kResourceExhausted past
  // options.max_connections, kIoError if no socketpair can be made.
  Result<AttachedConnection> attach(const PublicKey& client_key, uint32_t lane);
  // The connection is over: forget it.
  void detach(uint64_t connection_id);
  std::optional<ConnectionUsage> connectionUsage(uint64_t connection_id) const;
  std::vector<ConnectionUsage> activeConnections() const;
  // A data channel broke the protocol (counted in status and metrics).
  void countDataProtocolError();

 private:
  struct Instance;

  ServiceHost(ServiceSpec spec, ServiceHostContext context, SupervisorOptions options);

  boost::asio::awaitable<void> supervise();
  boost::asio::awaitable<void> runInstance();
  boost::asio::awaitable<Result<std::filesystem::path>> resolveProgram();
  boost::asio::awaitable<void> waitForExit(Instance& instance);
  boost::asio::awaitable<void> controlTask(Instance& instance);
  boost::asio::awaitable<void> meterTask(Instance& instance);
  void beginStop();
  void killFor(Instance& instance, ExitReason reason);
  void deliverDataChannel(uint64_t instance, uint64_t connection_id, UniqueFd service_end);
  ExitReason classifyExit(const Instance& instance, const ExitStatus& status) const;
  void recordExit(const ExitReason& reason);
  void updateStatus(const std::function<void(ServiceStatus&)>& change);

  // ControlHost (called on the loop by the instance's ControlSession).
  void onControlReady() override;
  Result<void> proposeUsage(uint64_t connection_id, ipc::Commodity commodity,
                            uint64_t amount) override;
  void log(ipc::LogLevel level, std::string_view message) override;
  Result<void> recordMetrics(const std::vector<ipc::MetricSample>& samples) override;

  const ServiceSpec spec_;
  const ServiceHostContext context_;
  const SupervisorOptions options_;
  std::unique_ptr<ServiceMetrics> metrics_;

  // Loop-only state.
  RestartBackoff backoff_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer stop_timer_;
  Instance* current_ = nullptr;
  bool stopping_ = false;
  uint64_t cpu_ms_finished_ = 0;  // CPU time of the instances that ended
  double log_tokens_;
  std::chrono::steady_clock::time_point log_refill_ = std::chrono::steady_clock::now();

  // Owner-thread state.
  bool started_ = false;
  bool stop_requested_ = false;
  bool stop_done_ = false;
  std::promise<void> supervise_done_;
  std::future<void> supervise_done_future_ = supervise_done_.get_future();

  // Shared state.
  mutable std::mutex mutex_;
  mutable std::condition_variable status_changed_;
  ServiceStatus status_;          // GUARDED_BY(mutex_)
  bool accepting_ = false;        // GUARDED_BY(mutex_): attach() allowed (Hello done, not stopping)
  uint64_t instance_number_ = 0;  // GUARDED_BY(mutex_): of the current instance
  std::optional<std::chrono::steady_clock::time_point> running_since_;  // GUARDED_BY(mutex_)
  std::map<uint64_t, std::shared_ptr<ConnectionRecord>> connections_;   // GUARDED_BY(mutex_)
  std::map<uint64_t, ConnectionUsage> recently_closed_;  // GUARDED_BY(mutex_), bounded
};

}  // namespace thunder::executor
