#include "io/runtime.h"

#include "base/check.h"
#include "base/log.h"

namespace thunder::io {

Runtime::Runtime(RuntimeOptions options) {
  size_t loops = options.loop_threads;
  if (loops == 0) loops = std::max<size_t>(1, std::thread::hardware_concurrency());
  for (size_t i = 0; i < loops; ++i) {
    loops_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(loops_.back()->get_executor());
  }
  blocking_ =
      std::make_unique<boost::asio::thread_pool>(std::max<size_t>(1, options.blocking_threads));
}

Runtime::~Runtime() {
  stop();
}

void Runtime::start() {
  THUNDER_CHECK(!started_, "Runtime::start called twice");
  started_ = true;
  for (auto& loop : loops_) {
    threads_.emplace_back([ctx = loop.get()] {
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          // Handlers do not throw by convention; keep the loop alive if a library does.
          THUNDER_LOG(error, "io", "uncaught exception on an event loop: {}", e.what());
        }
      }
    });
  }
}

void Runtime::stop() {
  if (stopped_) return;
  stopped_ = true;
  guards_.clear();
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  blocking_->stop();
  blocking_->join();
}

boost::asio::io_context& Runtime::nextLoop() {
  return *loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

}  // namespace thunder::io
