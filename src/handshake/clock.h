// Clock: the time source of the handshake core, injected so that tests control time.
//
// Time is wall-clock milliseconds since the Unix epoch, because token expiries and Hello
// timestamps travel on the wire. SystemClock reads std::chrono::system_clock; FakeClock returns
// whatever the test set. Both are const-callable from one thread; FakeClock is not thread-safe.
#pragma once

#include <chrono>

namespace thunder::handshake {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Milliseconds since the Unix epoch, as sent on the wire.
inline uint64_t toUnixMs(TimePoint t) {
  return static_cast<uint64_t>(t.time_since_epoch().count());
}
inline TimePoint fromUnixMs(uint64_t ms) {
  return TimePoint(Duration(static_cast<int64_t>(ms)));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// A clock for tests: starts at `start` and moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = fromUnixMs(1'700'000'000'000)) : now_(start) {}
  TimePoint now() const override { return now_; }
  void set(TimePoint t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace thunder::handshake
