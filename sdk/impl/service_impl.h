// Service::Impl: the loop, the control link, the live connections and the drain logic behind a
// Service. Everything here runs on `loop` except Service::stop(), which posts to it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "impl/control_link.h"
#include "impl/event.h"
#include "thunder/sdk/connection.h"
#include "thunder/sdk/service.h"

namespace thunder::sdk {

struct Service::Impl {
  Impl(Service& self, ServiceOptions options, ipc::UnixChannel control_channel);
  ~Impl();

  // The service's main coroutine: control channel, then drain; sets `result` and stops the
  // loop at the end.
  boost::asio::awaitable<void> main();
  void onDataChannel(uint64_t connection_id, UniqueFd fd);
  // Hellos and header on a new data channel, then the handler or the accept queue.
  boost::asio::awaitable<void> setUp(uint64_t connection_id, UniqueFd fd);
  boost::asio::awaitable<void> runHandler(std::unique_ptr<Connection> connection);
  // Hello and End overloaded on a channel we cannot take.
  boost::asio::awaitable<void> refuse(UniqueFd fd);
  // Called by ~Connection::Impl.
  void connectionGone(Connection::Impl* connection);
  void checkDrained();
  // Fire-and-forget log line to the node (problems the node should know about).
  void logDetached(LogLevel level, std::string text);

  Service& self;
  ServiceOptions options;
  std::unique_ptr<boost::asio::io_context> loop;
  std::unique_ptr<ControlLink> control;
  ConnectionHandler handler;

  std::set<Connection::Impl*> live;  // every Connection that exists
  size_t setting_up = 0;             // data channels between notice and header
  std::deque<std::unique_ptr<Connection>> accept_queue;
  std::deque<Event*> accept_waiters;

  bool control_done = false;   // the control channel has ended
  bool shutting_down = false;  // ~Impl is running: no more bookkeeping
  bool ran = false;
  std::optional<Event> drained;        // set when control_done and no connection is left
  std::optional<Result<void>> result;  // how main() ended
  std::optional<Error> control_error;  // why the control channel failed, if it did
};

}  // namespace thunder::sdk
