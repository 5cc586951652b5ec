// ShutdownSignal: calls a function once when the process receives SIGINT or SIGTERM.
//
// Owned by whoever runs the process (the node); the callback runs on the given loop. SIGPIPE is
// ignored process-wide while a ShutdownSignal exists, so a peer closing a socket is an error
// value, not a death. Construct and destroy on any thread; the loop must outlive this object.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>

namespace thunder::io {

class ShutdownSignal {
 public:
  ShutdownSignal(boost::asio::io_context& loop, std::function<void(int signal_number)> on_signal);
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  boost::asio::signal_set signals_;
};

}  // namespace thunder::io
