// AsyncEvent and TaskGroup: two small coroutine synchronization tools (header-only), used by
// the executor's connections and the gateway's service and origin exchanges.
//
// AsyncEvent is a one-waiter wake-up: wait() suspends until notify() (or returns at once if
// notify() was called since the last wait()). TaskGroup spawns child coroutines and lets the
// owner await them all (join()), so nothing a coroutine borrows is destroyed under it.
// Both live on one executor (loop) and are used only from coroutines running there.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <memory>

namespace thunder::io {

class AsyncEvent {
 public:
  explicit AsyncEvent(const boost::asio::any_io_executor& executor) : timer_(executor) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  boost::asio::awaitable<void> wait() {
    if (pending_) {
      pending_ = false;
      co_return;
    }
    boost::system::error_code ignored;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
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

class TaskGroup {
 public:
  explicit TaskGroup(const boost::asio::any_io_executor& executor)
      : executor_(executor), done_(std::make_shared<State>(executor)) {}

  // Starts `task` on the group's executor. The task must not throw.
  void spawn(boost::asio::awaitable<void> task) {
    ++done_->running;
    boost::asio::co_spawn(executor_, run(done_, std::move(task)), boost::asio::detached);
  }

  // Returns once every spawned task has finished.
  boost::asio::awaitable<void> join() {
    std::shared_ptr<State> state = done_;
    while (state->running > 0) co_await state->event.wait();
  }

  size_t running() const { return done_->running; }

 private:
  struct State {
    explicit State(const boost::asio::any_io_executor& executor) : event(executor) {}
    AsyncEvent event;
    size_t running = 0;
  };

  static boost::asio::awaitable<void> run(std::shared_ptr<State> state,
                                          boost::asio::awaitable<void> task) {
    co_await std::move(task);
    if (--state->running == 0) state->event.notify();
  }

  boost::asio::any_io_executor executor_;
  std::shared_ptr<State> done_;
};

}  // namespace thunder::io
