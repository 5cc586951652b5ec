#include "io/shutdown_signal.h"

#include <csignal>

namespace thunder::io {

ShutdownSignal::ShutdownSignal(boost::asio::io_context& loop,
                               std::function<void(int signal_number)> on_signal)
    : signals_(loop, SIGINT, SIGTERM) {
  std::signal(SIGPIPE, SIG_IGN);
  signals_.async_wait(
      [on_signal = std::move(on_signal)](const boost::system::error_code& ec, int signal_number) {
        if (!ec) on_signal(signal_number);
      });
}

ShutdownSignal::~ShutdownSignal() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

}  // namespace thunder::io
