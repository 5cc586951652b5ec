// Runtime: the event loops every asynchronous Thunder component runs on, plus a blocking pool.
//
// The runtime owns N loops (one boost::asio::io_context each, run by exactly one thread) and a
// pool of threads for blocking or CPU-heavy work (fsync, hashing a large blob). A connection is
// accepted onto one loop and stays there; work crosses loops by posting. Coroutines are
// boost::asio::awaitable and take their parameters by value.
//
// Lifecycle: construct, start(), ..., stop() (idempotent; also done by the destructor). stop()
// lets queued handlers finish only if the components were stopped first; the node stops its
// components before the runtime. Thread-safe except start()/stop(), which the owner calls.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace thunder::io {

struct RuntimeOptions {
  size_t loop_threads = 0;      // 0: one loop per CPU core
  size_t blocking_threads = 2;  // threads for blocking work
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts one thread per loop. Must be called once.
  void start();
  // Stops every loop and the blocking pool and joins their threads. Idempotent.
  void stop();

  size_t loopCount() const { return loops_.size(); }
  boost::asio::io_context& loop(size_t index) { return *loops_.at(index); }
  // Loops in round-robin order, for spreading new connections.
  boost::asio::io_context& nextLoop();
  boost::asio::thread_pool& blockingPool() { return *blocking_; }

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::atomic<size_t> next_loop_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace thunder::io
