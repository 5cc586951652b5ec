// HelloReplayCache: refuses a Hello whose nonce the node has already seen, and a Hello whose
// timestamp is too far from the node clock (so the cache only needs to remember one window).
//
// On TLS transports the transport binding already makes a Hello useless on another connection;
// this cache is what refuses a replay on transports without TLS binding. Memory is bounded by
// `capacity`: when full of unexpired nonces, new Hellos are refused (fail closed).
// Owned by the node, shared by all server sessions of one loop. Not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <unordered_set>

#include "base/result.h"
#include "handshake/clock.h"
#include "handshake/types.h"

namespace thunder::handshake {

struct ReplayCacheOptions {
  Duration max_clock_skew = std::chrono::minutes(5);  // accepted |hello timestamp - now|
  size_t capacity = 100'000;                          // nonces remembered at most
};

class HelloReplayCache {
 public:
  // `clock` must outlive the cache. Precondition (checked): capacity >= 1.
  HelloReplayCache(ReplayCacheOptions options, const Clock& clock);

  // Admits a Hello (whose signature was already verified) and remembers its nonce until its
  // timestamp leaves the window. kInvalidArgument if the timestamp is more than max_clock_skew
  // away from now; kAlreadyExists if the nonce was seen; kResourceExhausted if the cache is full.
  Result<void> admit(const HelloNonce& nonce, TimePoint hello_timestamp);

  size_t size() const { return nonces_.size(); }

 private:
  void prune(TimePoint now);

  ReplayCacheOptions options_;
  const Clock& clock_;
  std::unordered_set<HelloNonce> nonces_;
  std::multimap<TimePoint, HelloNonce> by_expiry_;
};

}  // namespace thunder::handshake
