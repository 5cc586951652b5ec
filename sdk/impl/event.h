// Event: a flag coroutines on one loop can wait for (set() wakes every waiter; later waits
// return at once until reset()). A steady_timer that never expires, cancelled to wake.
// Single loop only; not thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace thunder::sdk {

class Event {
 public:
  explicit Event(boost::asio::any_io_executor executor)
      : timer_(std::move(executor), boost::asio::steady_timer::time_point::max()) {}

  boost::asio::awaitable<void> wait() {
    while (!set_) {
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }
  void set() {
    set_ = true;
    timer_.cancel();
  }
  void reset() { set_ = false; }
  bool isSet() const { return set_; }

 private:
  boost::asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace thunder::sdk
