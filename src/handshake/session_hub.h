// SessionHub: the node-wide state every server session shares — the lane table, the Hello
// replay cache and the ServerContext that borrows them — behind one mutex.
//
// LaneTable and HelloReplayCache are not thread-safe, and the sessions of one node run on
// several loops, so every call on a ServerSession built from context() must run inside
// locked() (the session drivers do). The critical sections are short (the longest is a Hello:
// one Ed25519 verification and one signature). Owned by the node's session component; outlives
// every session. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include "crypto/signing.h"
#include "handshake/lane_table.h"
#include "handshake/replay_cache.h"
#include "handshake/server_session.h"

namespace thunder::handshake {

struct SessionHubOptions {
  LaneTableOptions lanes;
  ReplayCacheOptions replay;
  ServerOptions server;
};

class SessionHub {
 public:
  // Borrows the node key, the services and the clock; they must outlive the hub.
  SessionHub(const crypto::SigningKey& node_key, const ServiceRegistry& services,
             const Clock& clock, SessionHubOptions options);
  SessionHub(const SessionHub&) = delete;
  SessionHub& operator=(const SessionHub&) = delete;

  // What a ServerSession borrows. Only use the sessions inside locked().
  const ServerContext& context() const { return context_; }

  // Runs fn() holding the hub's lock and returns its result.
  template <typename F>
  decltype(auto) locked(F&& fn) {
    std::lock_guard lock(mutex_);
    return fn();
  }

  // Lanes held (attached or detached).
  size_t laneCount();
  // Frees detached lanes whose token expired; returns how many.
  size_t expireLanes();

  // Sessions whose driver is running (connections past TLS), for status and metrics.
  std::atomic<size_t>& activeSessions() { return active_sessions_; }
  size_t activeSessionCount() const { return active_sessions_.load(); }

 private:
  std::mutex mutex_;
  LaneTable lanes_;          // GUARDED_BY(mutex_)
  HelloReplayCache replay_;  // GUARDED_BY(mutex_)
  ServerContext context_;    // borrows lanes_ and replay_: GUARDED_BY(mutex_)
  std::atomic<size_t> active_sessions_{0};
};

}  // namespace thunder::handshake
