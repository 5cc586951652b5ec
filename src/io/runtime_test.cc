#include "io/runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <future>
#include <set>

#include "io/offload.h"
#include "io/shutdown_signal.h"

namespace thunder::io {
namespace {

TEST(Runtime, EachLoopRunsOnItsOwnThread) {
  Runtime runtime({.loop_threads = 3, .blocking_threads = 1});
  runtime.start();
  ASSERT_EQ(runtime.loopCount(), 3u);
  std::set<std::thread::id> ids;
  for (size_t i = 0; i < runtime.loopCount(); ++i) {
    std::promise<std::thread::id> p;
    boost::asio::post(runtime.loop(i), [&] { p.set_value(std::this_thread::get_id()); });
    ids.insert(p.get_future().get());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
  runtime.stop();
  runtime.stop();  // idempotent
}

TEST(Runtime, OffloadRunsOnPoolAndResumesOnLoop) {
  Runtime runtime({.loop_threads = 1, .blocking_threads = 1});
  runtime.start();
  std::promise<std::tuple<std::thread::id, std::thread::id, std::thread::id, int>> done;
  boost::asio::co_spawn(
      runtime.loop(0),
      [&]() -> boost::asio::awaitable<void> {
        const auto loop_thread = std::this_thread::get_id();
        std::thread::id pool_thread;
        int v = co_await offload(runtime.blockingPool(), [&] {
          pool_thread = std::this_thread::get_id();
          return 42;
        });
        done.set_value({loop_thread, pool_thread, std::this_thread::get_id(), v});
      },
      boost::asio::detached);
  auto [loop_thread, pool_thread, resumed_thread, v] = done.get_future().get();
  EXPECT_EQ(v, 42);
  EXPECT_NE(loop_thread, pool_thread);
  EXPECT_EQ(loop_thread, resumed_thread);
}

TEST(Runtime, OffloadKeepsCapturesAliveAndDestroysThemOnce) {
  Runtime runtime({.loop_threads = 1, .blocking_threads = 1});
  runtime.start();
  auto tracker = std::make_shared<int>(7);
  std::promise<std::string> done;
  boost::asio::co_spawn(
      runtime.loop(0),
      [&]() -> boost::asio::awaitable<void> {
        // A capture with a destructor and a result with a destructor. The function is a named
        // local: GCC 12 destroys temporaries with destructors inside a co_await expression twice.
        auto work = [tracker, label = std::string(100, 'x')] {
          return label + std::to_string(*tracker);
        };
        std::string text = co_await offload(runtime.blockingPool(), std::move(work));
        done.set_value(text);
      },
      boost::asio::detached);
  EXPECT_EQ(done.get_future().get(), std::string(100, 'x') + "7");
  runtime.stop();
  EXPECT_EQ(tracker.use_count(), 1);  // the copy in the capture was destroyed exactly once
}

TEST(Runtime, TimersFireInOrder) {
  Runtime runtime({.loop_threads = 1});
  runtime.start();
  std::promise<std::vector<int>> done;
  boost::asio::co_spawn(
      runtime.loop(0),
      [&]() -> boost::asio::awaitable<void> {
        std::vector<int> order;
        boost::asio::steady_timer a(co_await boost::asio::this_coro::executor);
        a.expires_after(std::chrono::milliseconds(1));
        co_await a.async_wait(boost::asio::use_awaitable);
        order.push_back(1);
        a.expires_after(std::chrono::milliseconds(0));
        co_await a.async_wait(boost::asio::use_awaitable);
        order.push_back(2);
        done.set_value(order);
      },
      boost::asio::detached);
  EXPECT_EQ(done.get_future().get(), (std::vector<int>{1, 2}));
}

TEST(ShutdownSignal, DeliversSigterm) {
  Runtime runtime({.loop_threads = 1});
  std::promise<int> got;
  ShutdownSignal signal(runtime.loop(0), [&](int n) { got.set_value(n); });
  runtime.start();
  ::kill(::getpid(), SIGTERM);
  EXPECT_EQ(got.get_future().get(), SIGTERM);
}

}  // namespace
}  // namespace thunder::io
