#include "handshake/replay_cache.h"

#include "base/check.h"

namespace thunder::handshake {

HelloReplayCache::HelloReplayCache(ReplayCacheOptions options, const Clock& clock)
    : options_(options), clock_(clock) {
  THUNDER_CHECK(options.capacity >= 1, "ReplayCacheOptions::capacity must be >= 1");
}

void HelloReplayCache::prune(TimePoint now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
    nonces_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

Result<void> HelloReplayCache::admit(const HelloNonce& nonce, TimePoint hello_timestamp) {
  const TimePoint now = clock_.now();
  const Duration skew = hello_timestamp > now ? hello_timestamp - now : now - hello_timestamp;
  if (skew > options_.max_clock_skew) {
    return fail(ErrorCode::kInvalidArgument,
                "hello timestamp is {} ms away from the node clock (limit {} ms); check the "
                "client clock",
                skew.count(), options_.max_clock_skew.count());
  }
  prune(now);
  if (nonces_.contains(nonce)) {
    return fail(ErrorCode::kAlreadyExists, "hello nonce {} was already used", nonce.hex());
  }
  if (nonces_.size() >= options_.capacity) {
    return fail(ErrorCode::kResourceExhausted, "hello replay cache is full ({} nonces)",
                options_.capacity);
  }
  nonces_.insert(nonce);
  // After this instant the timestamp check alone refuses the same Hello.
  by_expiry_.emplace(hello_timestamp + options_.max_clock_skew, nonce);
  return {};
}

}  // namespace thunder::handshake
