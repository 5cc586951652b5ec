// LoopEvent: a one-waiter wake-up for coroutines on one event loop (header-only). wait()
// suspends until notify(), or returns at once if notify() was called since the last wait().
// Used by the /services route and by ServiceRouter implementations (node/service_router.h) to
// hand bytes between coroutines of one exchange. Lives on one loop; every call is made there.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace thunder::gateway {

class LoopEvent {
 public:
  explicit LoopEvent(const boost::asio::any_io_executor& executor) : timer_(executor) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // At most one waiter at a time.
  boost::asio::awaitable<void> wait() {
    if (!pending_) {
      boost::system::error_code ignored;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    pending_ = false;
  }

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace thunder::gateway
