// ExecutedServiceRouter: the gateway's ServiceRouter (gateway/service_route.h) over the node's
// sandboxed services (ServiceComponent). Each /services/<id>/… request becomes one
// executor::ExecutedConnection whose ConnectionHeader carries the HTTP request head (transport
// "http", no client key, lane 0; docs/protocol/ipc.md §4.1–4.2); the connection runs on the
// gateway connection's loop and talks to the gateway through an in-memory SessionIo: request
// body bytes go out as Payloads with back-pressure, the service's Payloads come back as the
// exchange's response bytes, End/failure end the exchange.
//
// Ownership: the router borrows the ServiceComponent, which must outlive it; every exchange's
// connection coroutine is tracked, and stop() waits for them (so no connection outlives the
// ServiceHost it borrows). Threads: open() from any gateway loop; stop() on the node's control
// thread (not a loop), after the gateway server stopped and before the services stop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>

#include "gateway/service_route.h"

namespace thunder::node {

class ServiceComponent;

class ExecutedServiceRouter final : public gateway::ServiceRouter {
 public:
  explicit ExecutedServiceRouter(ServiceComponent& services);
  ~ExecutedServiceRouter() override;
  ExecutedServiceRouter(const ExecutedServiceRouter&) = delete;
  ExecutedServiceRouter& operator=(const ExecutedServiceRouter&) = delete;

  // kNotFound "no service 7 is running on this node" when service 7 is not configured or is
  // stopped; kUnavailable when it is starting or restarting (the message names its state and
  // last exit) or the router is stopped; kResourceExhausted past the service's connection
  // limit; kInvalidArgument when the head exceeds the IPC limits.
  boost::asio::awaitable<Result<std::unique_ptr<gateway::ServiceExchange>>> open(
      ServiceId id, gateway::ServiceRequestHead head) override;

  // Refuses new exchanges, ends the open ones and waits until each connection to its service
  // has finished. Idempotent. Blocks: not on a loop.
  void stop();

  // Exchanges whose service connection is still running (for tests).
  size_t activeExchanges() const;

 private:
  struct Tracked;
  static boost::asio::awaitable<void> runConnection(ExecutedServiceRouter* router,
                                                    std::shared_ptr<Tracked> tracked);
  void finished(const std::shared_ptr<Tracked>& tracked);

  ServiceComponent& services_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::list<std::shared_ptr<Tracked>> running_;  // GUARDED_BY(mutex_)
  bool stopped_ = false;                         // GUARDED_BY(mutex_)
};

}  // namespace thunder::node
