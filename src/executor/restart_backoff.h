// RestartBackoff: the supervisor's restart delay — capped exponential back-off that resets once a
// service instance has run stably. A plain value; one thread at a time.
//
//   delay after the n-th consecutive failure = min(initial * 2^(n-1), max)
//
// An instance that ran at least `stable_after` before it ended resets the count, so a service
// that crashes once a day restarts after `initial`, while a crash loop settles at `max`.
#pragma once

#include <chrono>
#include <cstdint>

namespace thunder::executor {

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30'000};
  std::chrono::milliseconds stable_after{10'000};
};

class RestartBackoff {
 public:
  explicit RestartBackoff(BackoffPolicy policy) : policy_(policy) {}

  // The delay before the next start, given how long the instance that just ended ran.
  std::chrono::milliseconds next(std::chrono::milliseconds ran_for);

  // Consecutive failures counted so far (0 after a reset).
  uint32_t failures() const { return failures_; }

 private:
  BackoffPolicy policy_;
  uint32_t failures_ = 0;
};

}  // namespace thunder::executor
