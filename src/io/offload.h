// offload(): runs a blocking function on the runtime's blocking pool from a coroutine and resumes
// on the coroutine's own loop with the function's result.
//
//   Result<BlobId> id = co_await io::offload(runtime.blockingPool(), [path] { return
//   hashFile(path); });
//
// The function must not throw; its result type must be movable.
//
// GCC 12 destroys temporaries that have destructors inside a co_await expression twice. Pass a
// named function object (`auto work = [...] {...}; co_await offload(pool, std::move(work));`),
// or a lambda capturing only pointers and trivially destructible values, never a temporary
// lambda with a std::string or shared_ptr capture. runtime_test.cc shows both.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace thunder::io {

template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> offload(boost::asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F>;
  // `fn` lives in this coroutine's frame, which stays put until the result resumes it, so the
  // pool borrows it by pointer; the co_await expression below holds no temporaries with
  // destructors.
  F* task = &fn;
  auto initiation = [&pool, task](auto handler) {
    boost::asio::post(pool, [task, handler = std::move(handler)]() mutable {
      R result = (*task)();
      auto home = boost::asio::get_associated_executor(handler);
      boost::asio::dispatch(home,
                            [handler = std::move(handler), result = std::move(result)]() mutable {
                              std::move(handler)(std::move(result));
                            });
    });
  };
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(R)>(
      initiation, boost::asio::use_awaitable);
}

}  // namespace thunder::io
