// Node: the composition root. Builds every component from one validated NodeOptions, starts them
// in dependency order, stops them in reverse, and owns everything it builds.
//
//   auto node = Node::create(options);        // validates, locks the data dir, loads keys
//   THUNDER_TRY((*node)->run(on_ready));       // blocks until SIGINT/SIGTERM or requestStop()
//
// run() and stop() are for the thread that owns the node; requestStop() and status() are
// thread-safe. There are no globals: tests build several nodes in one process.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/result.h"
#include "crypto/signing.h"
#include "io/runtime.h"
#include "node/component.h"
#include "node/data_dir.h"
#include "node/options.h"

namespace thunder::node {

// What run() reports once every component is up.
struct ReadyInfo {
  std::string version;
  std::string node_key;  // hex Ed25519 public key
  std::string data_dir;
  std::string admin_address;     // "127.0.0.1:4240"
  std::string sessions_address;  // "127.0.0.1:4200"
  std::string quic_url;          // "quic://127.0.0.1:4202"; empty unless sessions.quic_listen
  std::string ws_url;            // "ws[s]://127.0.0.1:4201/thunder/v1"; empty unless ws_listen
  std::string gateway_url;       // "http://127.0.0.1:4280"
  bool key_created = false;      // the key was generated on this start
};

class Node {
 public:
  // Validates the options, opens and locks the data dir, loads the node key or creates it on
  // first run. Errors name the cause: bad option (key name), data dir in use, corrupt key file.
  static Result<std::unique_ptr<Node>> create(NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Starts everything, calls on_ready, waits for SIGINT/SIGTERM or requestStop(), then stops
  // within options.shutdown_grace (past it, the process exits with status 1). A component that
  // fails to start stops the ones already started and its error is returned.
  Result<void> run(const std::function<void(const ReadyInfo&)>& on_ready);

  // Starts without waiting (tests, embedding). Pair with stop().
  Result<ReadyInfo> start();
  // Stops started components in reverse order, then the runtime. Idempotent.
  void stop();
  // Makes run() return. Thread-safe, callable from a signal handler's loop.
  void requestStop();

  // The /status document (JSON text). Thread-safe.
  std::string statusJson() const;
  MetricsRegistry& metrics() { return metrics_; }

 private:
  enum class State { kCreated, kStarting, kRunning, kStopping, kStopped, kFailed };

  Node(NodeOptions options, std::unique_ptr<DataDir> data_dir, crypto::SigningKey key,
       bool key_created);
  void registerMetrics();
  std::string_view componentState(size_t index) const;

  NodeOptions options_;
  std::unique_ptr<DataDir> data_dir_;
  crypto::SigningKey key_;
  bool key_created_;
  const std::chrono::steady_clock::time_point created_at_;
  MetricsRegistry metrics_;
  std::unique_ptr<io::Runtime> runtime_;
  std::vector<std::unique_ptr<Component>> components_;  // in start order
  class AdminApi* admin_ = nullptr;                     // borrowed from components_
  class StoreComponent* store_ = nullptr;               // borrowed from components_
  class SessionComponent* sessions_ = nullptr;          // borrowed from components_
  class GatewayComponent* gateway_ = nullptr;           // borrowed from components_
  class LedgerComponent* ledger_ = nullptr;             // borrowed from components_
  class ServiceComponent* services_ = nullptr;          // borrowed from components_

  std::atomic<size_t> started_count_{0};  // components_[0, started_count_) are running
  std::atomic<State> state_{State::kCreated};
  std::mutex stop_mutex_;
  std::condition_variable stop_requested_cv_;
  bool stop_requested_ = false;  // GUARDED_BY(stop_mutex_)
};

// The version string of this build.
std::string_view thunderVersion();

}  // namespace thunder::node
