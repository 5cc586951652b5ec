// Internal to the executor: ServiceHost's per-process state, shared by service_host.cc
// (supervision) and service_host_connections.cc (connections and control requests).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "executor/control_session.h"
#include "executor/sandbox.h"
#include "executor/service_host.h"
#include "executor/service_status.h"

namespace thunder::executor {

// One run of the service's program: its process, control session and metering state. Lives in
// ServiceHost::runInstance()'s frame; used on the host's loop only.
struct ServiceHost::Instance {
  Instance(const boost::asio::any_io_executor& executor, uint64_t n)
      : number(n), grace_timer(executor), meter_timer(executor) {}
  uint64_t number;
  std::optional<SandboxedProcess> process;
  std::unique_ptr<ControlSession> control;
  std::optional<ExitReason> kill_reason;
  boost::asio::steady_timer grace_timer;
  boost::asio::steady_timer meter_timer;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool exited = false;
  uint64_t cpu_ms = 0;  // last sample
  uint64_t peak_rss = 0;
  uint64_t peak_virtual = 0;
};

}  // namespace thunder::executor
