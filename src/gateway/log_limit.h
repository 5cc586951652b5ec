// Rate-limited warnings for what a remote client can trigger again and again (a request for a
// blob whose file the store cannot read, a failing upload): at most one line per second per call
// site, so a client cannot flood the log. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "base/log.h"

namespace thunder::gateway {

// True at most once per second for one `last` (milliseconds of the last allowed line).
inline bool logAllowed(std::atomic<int64_t>& last) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t previous = last.load(std::memory_order_relaxed);
  return now - previous >= 1000 &&
         last.compare_exchange_strong(previous, now, std::memory_order_relaxed);
}

}  // namespace thunder::gateway

#define THUNDER_GATEWAY_WARN(...)                               \
  do {                                                          \
    static std::atomic<int64_t> thunder_last_warn_{-1'000'000}; \
    if (::thunder::gateway::logAllowed(thunder_last_warn_)) {   \
      THUNDER_LOG(warn, "gateway", __VA_ARGS__);                \
    }                                                           \
  } while (false)
