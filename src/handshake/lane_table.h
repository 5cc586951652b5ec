// LaneTable: the node's lanes, a bounded set of resumable session slots per client key.
//
// A lane holds one session's state (service, bytes and compute delivered, last accepted DACK).
// A connection attaches to a lane by opening a new one (Hello "new") or resuming a detached one
// with its token (Hello "resume"); at most one connection is attached to a lane at a time. When
// the connection drops without a Termination the lane is detached and stays resumable until its
// token expires; a Termination releases it at once. Memory is bounded by max_lanes_total.
//
// The table owns all lane state; sessions borrow a lane's state through state() while attached.
// Not thread-safe: one event loop owns it (or the driver serializes calls).
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>

#include "base/result.h"
#include "base/strong_types.h"
#include "handshake/clock.h"
#include "handshake/dack.h"
#include "handshake/frame.h"
#include "handshake/types.h"

namespace thunder::handshake {

struct LaneTableOptions {
  uint32_t max_lanes_per_client = 24;
  size_t max_lanes_total = 100'000;
  // Validity of a resumption token from its issue. A connected session refreshes its token
  // (TokenRefresh) at half this time, so only a detached lane ever lets its token expire.
  Duration token_ttl = std::chrono::minutes(10);
};

struct LaneState {
  ServiceId service;
  SessionNonce session_nonce;
  uint64_t delivered_bytes = 0;  // payload bytes sent to the client in this lane session
  uint64_t delivered_compute_ms = 0;
  DackProgress acked;  // the last DACK accepted (counter and amounts)
  Dack last_dack;      // valid iff acked.counter > 0
};

// The result of attaching to a lane: its id, the current token and a copy of its state.
struct LaneGrant {
  LaneId lane = 0;
  SessionToken token;
  TimePoint token_expires_at;
  LaneState state;
};

class LaneTable {
 public:
  // Precondition (checked): every limit >= 1. `clock` must outlive the table.
  LaneTable(LaneTableOptions options, const Clock& clock);

  // Opens and attaches a new lane (lowest free id) for `client` serving `service`, with a fresh
  // random session nonce and token. kResourceExhausted if the client already holds
  // max_lanes_per_client lanes; kUnavailable if the table holds max_lanes_total lanes. Expired
  // detached lanes are freed first, so they do not count.
  Result<LaneGrant> open(const PublicKey& client, ServiceId service);

  // Attaches a detached lane and rotates its token (the presented one becomes invalid).
  // kPermissionDenied for an unknown lane, a wrong token (compared in constant time), an
  // expired token (the lane is freed) or another service; kAlreadyExists if a connection is
  // attached to it (the token stays valid).
  Result<LaneGrant> resume(const PublicKey& client, LaneId lane, const SessionToken& token,
                           ServiceId service);

  // Replaces the token of a lane (the old one becomes invalid). kNotFound if no such lane.
  Result<TokenRefresh> refreshToken(const PublicKey& client, LaneId lane);

  // The lane's mutable state, or nullptr. The pointer is valid until the lane is released or
  // expired; only the attached session may write through it.
  LaneState* state(const PublicKey& client, LaneId lane);

  // The connection of an attached lane dropped without a Termination: keep the lane until its
  // token expires. No-op for an unknown lane.
  void detach(const PublicKey& client, LaneId lane);

  // Frees the lane (termination). No-op for an unknown lane.
  void release(const PublicKey& client, LaneId lane);

  // Frees every detached lane whose token has expired; returns how many. Call periodically.
  size_t expire();

  size_t size() const { return total_; }
  size_t lanesOf(const PublicKey& client) const;

 private:
  struct Lane {
    LaneState state;
    SessionToken token;
    TimePoint token_expires_at;
    bool attached = false;
  };
  using ClientLanes = std::map<LaneId, Lane>;

  Lane* find(const PublicKey& client, LaneId lane);
  void erase(const PublicKey& client, LaneId lane);
  size_t expireClient(const PublicKey& client);
  SessionToken issueToken(Lane& lane);
  LaneGrant grant(LaneId id, const Lane& lane) const;

  LaneTableOptions options_;
  const Clock& clock_;
  std::unordered_map<PublicKey, ClientLanes> clients_;
  size_t total_ = 0;
};

}  // namespace thunder::handshake
