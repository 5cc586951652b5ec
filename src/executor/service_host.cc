#include "executor/service_host.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>

#include "base/log.h"
#include "executor/process_meter.h"
#include "executor/service_host_instance.h"
#include "executor/service_program.h"
#include "io/offload.h"

namespace thunder::executor {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

uint64_t toMs(std::chrono::microseconds us) {
  return static_cast<uint64_t>(us.count() / 1000);
}

Result<void> makePrivateDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failErrorCode(ec, "creating " + dir.string());
  if (::chmod(dir.c_str(), 0711) != 0) return failErrno(errno, "chmod " + dir.string());
  return {};
}

}  // namespace

// --- ServiceHost ---

Result<std::unique_ptr<ServiceHost>> ServiceHost::create(ServiceSpec spec,
                                                         ServiceHostContext context,
                                                         SupervisorOptions options) {
  if (spec.name.empty()) {
    return fail(ErrorCode::kInvalidArgument, "service {} has no name", spec.id.value());
  }
  const bool has_path = !spec.executable.empty();
  if (has_path == spec.blob.has_value()) {
    return fail(ErrorCode::kInvalidArgument,
                "service '{}' needs exactly one of an executable path and a blob id", spec.name);
  }
  if (has_path && !spec.executable.is_absolute()) {
    return fail(ErrorCode::kInvalidArgument, "service '{}': executable {} must be an absolute path",
                spec.name, spec.executable.string());
  }
  if (spec.blob && context.store == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "service '{}' is a blob but the node has no store",
                spec.name);
  }
  if (context.blocking_pool == nullptr || context.metrics == nullptr || !context.executor) {
    return fail(ErrorCode::kInvalidArgument, "service '{}': incomplete host context", spec.name);
  }
  THUNDER_TRY(makePrivateDir(context.work_dir));
  THUNDER_TRY(makePrivateDir(context.work_dir / "bin"));
  THUNDER_TRY(makePrivateDir(context.work_dir / "tmp"));
  return std::unique_ptr<ServiceHost>(
      new ServiceHost(std::move(spec), std::move(context), options));
}

ServiceHost::ServiceHost(ServiceSpec spec, ServiceHostContext context, SupervisorOptions options)
    : spec_(std::move(spec)),
      context_(std::move(context)),
      options_(options),
      metrics_(std::make_unique<ServiceMetrics>(*context_.metrics, spec_.id, spec_.name,
                                                options.max_custom_metrics)),
      backoff_(options.backoff),
      backoff_timer_(context_.executor),
      stop_timer_(context_.executor),
      log_tokens_(options.log_burst) {
  status_.id = spec_.id;
  status_.name = spec_.name;
  status_.program = spec_.blob ? "blob:" + spec_.blob->hex() : spec_.executable.string();
  const MetricLabels& labels = metrics_->labels();
  auto read = [this](auto field) {
    return [this, field] {
      std::lock_guard lock(mutex_);
      return static_cast<double>(field(*this));
    };
  };
  context_.metrics->gauge(
      "thunder_service_up", "1 while the service is running (its Hello done), else 0.", labels,
      read([](const ServiceHost& h) { return h.status_.state == ServiceState::kRunning ? 1 : 0; }),
      this);
  context_.metrics->gauge("thunder_service_memory_bytes",
                          "Resident memory of the service's main process (last sample).", labels,
                          read([](const ServiceHost& h) { return h.status_.memory_bytes; }), this);
  context_.metrics->gauge(
      "thunder_service_memory_peak_bytes", "Peak resident memory of any instance of the service.",
      labels, read([](const ServiceHost& h) { return h.status_.peak_memory_bytes; }), this);
  context_.metrics->gauge("thunder_service_connections_active",
                          "Client connections attached to the service now.", labels,
                          read([](const ServiceHost& h) { return h.connections_.size(); }), this);
}

ServiceHost::~ServiceHost() {
  stop();
  context_.metrics->removeMetrics(this);
}

void ServiceHost::start() {
  if (started_) return;
  started_ = true;
  asio::co_spawn(context_.executor, supervise(), asio::detached);
}

void ServiceHost::requestStop() {
  if (!started_ || stop_requested_) return;
  stop_requested_ = true;
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
  }
  asio::post(context_.executor, [this] { beginStop(); });
}

void ServiceHost::stop() {
  if (!started_ || stop_done_) return;
  requestStop();
  stop_done_ = true;
  supervise_done_future_.wait();
  // Whatever was posted to the loop before this point (data channels, timers) has run.
  std::promise<void> barrier;
  asio::post(context_.executor, [&barrier] { barrier.set_value(); });
  barrier.get_future().wait();
}

asio::awaitable<void> ServiceHost::supervise() {
  while (!stopping_) {
    const Clock::time_point began = Clock::now();
    co_await runInstance();
    if (stopping_) break;
    const milliseconds delay = backoff_.next(since(began));
    updateStatus([delay](ServiceStatus& s) {
      s.state = ServiceState::kBackoff;
      s.backoff = delay;
    });
    backoff_timer_.expires_after(delay);
    boost::system::error_code ignored;
    co_await backoff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  stop_timer_.cancel();
  updateStatus([](ServiceStatus& s) {
    s.state = ServiceState::kStopped;
    s.backoff = milliseconds(0);
  });
  supervise_done_.set_value();
}

asio::awaitable<Result<fs::path>> ServiceHost::resolveProgram() {
  if (!spec_.blob) co_return spec_.executable;
  content::BlobStore* store = context_.store;
  const BlobId* id = &*spec_.blob;
  const fs::path* dir = &context_.work_dir;
  co_return co_await io::offload(*context_.blocking_pool, [store, id, dir] {
    return materialiseServiceBlob(*store, *id, *dir / "bin");
  });
}

asio::awaitable<void> ServiceHost::runInstance() {
  uint64_t number = 0;
  updateStatus([&](ServiceStatus& s) {
    number = ++instance_number_;
    s.state = ServiceState::kStarting;
    s.backoff = milliseconds(0);
    s.pid.reset();
    if (++s.starts > 1) ++s.restarts;
  });
  if (number > 1) metrics_->restarts.add();
  metrics_->resetCustomBaselines();

  auto program = co_await resolveProgram();
  if (!program) {
    recordExit(ExitReason{ExitKind::kSpawnFailed, 0, program.error().message});
    co_return;
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    recordExit(
        ExitReason{ExitKind::kSpawnFailed, 0, failErrno(errno, "socketpair").value().message});
    co_return;
  }
  UniqueFd node_end(pair[0]), service_end(pair[1]);
  SandboxSpec sandbox;
  sandbox.executable = *program;
  sandbox.args = spec_.args;
  sandbox.env = {"THUNDER_CONTROL_FD=3"};
  sandbox.read_only_paths = spec_.read_only_paths;
  sandbox.fds = {{service_end.get(), 3}};
  sandbox.limits = spec_.limits;
  const SandboxSpec* wanted = &sandbox;
  auto spawned =
      co_await io::offload(*context_.blocking_pool, [wanted] { return spawnSandboxed(*wanted); });
  service_end.reset();
  if (!spawned) {
    recordExit(ExitReason{ExitKind::kSpawnFailed, 0, spawned.error().message});
    co_return;
  }
  Instance instance(context_.executor, number);
  instance.process.emplace(std::move(*spawned));
  auto channel = ipc::UnixChannel::adopt(std::move(node_end), ipc::Channel::kControl);
  if (!channel) {
    (void)instance.process->kill(SIGKILL);
    (void)instance.process->wait(milliseconds(60'000));
    recordExit(ExitReason{ExitKind::kSpawnFailed, 0, channel.error().message});
    co_return;
  }
  ControlContext control_context{spec_.id,       context_.node_key,      context_.node_version,
                                 context_.store, context_.blocking_pool, context_.work_dir / "tmp",
                                 options_,       &metrics_->requests,    context_.resolve_cid};
  instance.control = std::make_unique<ControlSession>(context_.executor, std::move(*channel),
                                                      std::move(control_context),
                                                      static_cast<ControlHost&>(*this));
  const pid_t pid = instance.process->pid();
  updateStatus([&](ServiceStatus& s) {
    s.pid = pid;
    s.sandbox = instance.process->report();
  });
  THUNDER_LOG(debug, "executor", "service {} (id {}): started pid {}", spec_.name, spec_.id.value(),
              pid);
  current_ = &instance;
  if (stopping_) beginStop();  // stop() arrived while the process was being spawned

  io::TaskGroup tasks(context_.executor);
  tasks.spawn(controlTask(instance));
  tasks.spawn(meterTask(instance));
  co_await waitForExit(instance);
  auto status = instance.process->wait(milliseconds(0));
  if (!status) status = instance.process->wait(milliseconds(60'000));  // not expected
  instance.exited = true;
  instance.control->close();
  instance.grace_timer.cancel();
  instance.meter_timer.cancel();
  co_await tasks.join();
  current_ = nullptr;

  ExitStatus exit = status.value_or(ExitStatus{ExitStatus::Kind::kSignaled, SIGKILL, {}});
  const uint64_t final_cpu = toMs(exit.usage.cpu_user + exit.usage.cpu_system);
  if (final_cpu > instance.cpu_ms) metrics_->cpu_ms.add(final_cpu - instance.cpu_ms);
  cpu_ms_finished_ += std::max(final_cpu, instance.cpu_ms);
  instance.peak_rss = std::max(instance.peak_rss, exit.usage.max_rss_bytes);
  const ExitReason reason = classifyExit(instance, exit);
  updateStatus([&](ServiceStatus& s) {
    accepting_ = false;
    running_since_.reset();
    s.pid.reset();
    s.memory_bytes = 0;
    s.cpu_ms = cpu_ms_finished_;
    s.peak_memory_bytes = std::max(s.peak_memory_bytes, instance.peak_rss);
  });
  recordExit(reason);
}

asio::awaitable<void> ServiceHost::waitForExit(Instance& instance) {
  // The pidfd becomes readable when the process exits; a duplicate is handed to the loop's
  // reactor (which closes it), the SandboxedProcess keeps its own.
  UniqueFd watch_fd(::fcntl(instance.process->pidfd(), F_DUPFD_CLOEXEC, 0));
  if (watch_fd.valid()) {
    boost::system::error_code ec;
    asio::posix::stream_descriptor watch(context_.executor);
    watch.assign(watch_fd.get(), ec);
    if (!ec) {
      watch_fd.release();
      co_await watch.async_wait(asio::posix::descriptor_base::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_return;
    }
  }
  // No descriptor to spare (or the reactor refused it): poll.
  asio::steady_timer poll(context_.executor);
  while (!instance.process->wait(milliseconds(0))) {
    poll.expires_after(milliseconds(50));
    boost::system::error_code ignored;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> ServiceHost::controlTask(Instance& instance) {
  const ControlEnd end = co_await instance.control->run();
  if (instance.exited || stopping_) co_return;
  switch (end.kind) {
    case ControlEnd::Kind::kProtocolError:
      metrics_->control_protocol_errors.add();
      updateStatus([](ServiceStatus& s) { ++s.protocol_errors; });
      killFor(instance, ExitReason{ExitKind::kProtocolError, 0, end.detail});
      break;
    case ControlEnd::Kind::kHelloTimeout:
      killFor(instance, ExitReason{ExitKind::kHelloTimeout, 0, end.detail});
      break;
    case ControlEnd::Kind::kPeerClosed: {
      // Usually the process is exiting; give it the grace to do so and report its own status.
      instance.grace_timer.expires_after(options_.exit_grace);
      boost::system::error_code ignored;
      co_await instance.grace_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (!instance.exited && !stopping_) {
        killFor(instance, ExitReason{ExitKind::kChannelClosed, 0,
                                     "closed its control channel and kept running"});
      }
      break;
    }
    case ControlEnd::Kind::kClosedByNode: break;
  }
}

asio::awaitable<void> ServiceHost::meterTask(Instance& instance) {
  const pid_t pid = instance.process->pid();
  while (!instance.exited) {
    auto sample = sampleProcess(pid);
    if (sample) {
      if (sample->cpu_ms > instance.cpu_ms) {
        metrics_->cpu_ms.add(sample->cpu_ms - instance.cpu_ms);
        instance.cpu_ms = sample->cpu_ms;
      }
      instance.peak_rss = std::max(instance.peak_rss, sample->peak_rss_bytes);
      instance.peak_virtual = std::max(instance.peak_virtual, sample->peak_virtual_bytes);
      const uint64_t cpu = cpu_ms_finished_ + instance.cpu_ms;
      const uint64_t rss = sample->rss_bytes;
      const uint64_t peak = instance.peak_rss;
      updateStatus([&](ServiceStatus& s) {
        s.cpu_ms = cpu;
        s.memory_bytes = rss;
        s.peak_memory_bytes = std::max(s.peak_memory_bytes, peak);
      });
    }
    instance.meter_timer.expires_after(options_.metering_interval);
    boost::system::error_code ignored;
    co_await instance.meter_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void ServiceHost::beginStop() {
  stopping_ = true;
  backoff_timer_.cancel();
  std::vector<std::shared_ptr<ConnectionRecord>> records;
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    for (const auto& [id, record] : connections_) records.push_back(record);
  }
  for (const auto& record : records) record->requestShutdown();
  if (current_ == nullptr || current_->exited) return;
  updateStatus([](ServiceStatus& s) { s.state = ServiceState::kStopping; });
  current_->control->close();
  (void)current_->process->kill(SIGTERM);
  stop_timer_.expires_after(options_.stop_grace);
  stop_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || current_ == nullptr || current_->exited) return;
    killFor(*current_, ExitReason{ExitKind::kStopped, SIGKILL,
                                  fmt::format("killed: still running {} ms after SIGTERM",
                                              options_.stop_grace.count())});
  });
}

void ServiceHost::killFor(Instance& instance, ExitReason reason) {
  if (instance.exited) return;
  if (!instance.kill_reason) {
    THUNDER_LOG(warn, "executor", "service {} (id {}): killing pid {}: {}", spec_.name,
                spec_.id.value(), instance.process->pid(), reason.describe());
    instance.kill_reason = std::move(reason);
  }
  (void)instance.process->kill(SIGKILL);
}

ExitReason ServiceHost::classifyExit(const Instance& instance, const ExitStatus& status) const {
  const int value = status.value;
  if (stopping_) {
    std::string detail = instance.kill_reason ? instance.kill_reason->detail
                                              : "stopped with the node (" + status.describe() + ")";
    return ExitReason{ExitKind::kStopped, value, std::move(detail)};
  }
  if (instance.kill_reason) return *instance.kill_reason;
  const bool signaled = status.kind == ExitStatus::Kind::kSignaled;
  const uint64_t cpu_ms = toMs(status.usage.cpu_user + status.usage.cpu_system);
  if (signaled && (value == SIGXCPU || (value == SIGKILL && spec_.limits.cpu_seconds &&
                                        cpu_ms >= *spec_.limits.cpu_seconds * 1000))) {
    return ExitReason{ExitKind::kCpuLimit, value,
                      fmt::format("{} ms of CPU time, limit {} s ({})", cpu_ms,
                                  spec_.limits.cpu_seconds.value_or(0), status.describe())};
  }
  const bool failed = signaled || value != 0;
  const uint64_t peak = std::max(instance.peak_rss, instance.peak_virtual);
  if (failed && spec_.limits.address_space_bytes &&
      peak >= *spec_.limits.address_space_bytes / 10 * 9) {
    return ExitReason{ExitKind::kMemoryLimit, value,
                      fmt::format("peak {} MiB of the {} MiB limit, then {}", peak >> 20,
                                  *spec_.limits.address_space_bytes >> 20, status.describe())};
  }
  return ExitReason{signaled ? ExitKind::kSignaled : ExitKind::kExited, value, {}};
}

void ServiceHost::recordExit(const ExitReason& reason) {
  metrics_->countExit(reason.kind);
  if (reason.kind == ExitKind::kStopped) {
    THUNDER_LOG(info, "executor", "service {} (id {}) stopped: {}", spec_.name, spec_.id.value(),
                reason.describe());
  } else {
    THUNDER_LOG(warn, "executor", "service {} (id {}) ended: {}", spec_.name, spec_.id.value(),
                reason.describe());
  }
  updateStatus([&](ServiceStatus& s) { s.last_exit = reason; });
}

void ServiceHost::updateStatus(const std::function<void(ServiceStatus&)>& change) {
  {
    std::lock_guard lock(mutex_);
    change(status_);
  }
  status_changed_.notify_all();
}

ServiceStatus ServiceHost::status() const {
  std::lock_guard lock(mutex_);
  ServiceStatus out = status_;
  out.connections_active = connections_.size();
  out.connections_total = metrics_->connections.value();
  out.bytes_in = metrics_->bytes_in.value();
  out.bytes_out = metrics_->bytes_out.value();
  out.requests = metrics_->requests.value();
  out.uptime = running_since_ ? since(*running_since_) : milliseconds(0);
  return out;
}

bool ServiceHost::waitFor(const std::function<bool(const ServiceStatus&)>& predicate,
                          milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (predicate(status())) return true;
    std::unique_lock lock(mutex_);
    if (status_changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      lock.unlock();
      return predicate(status());
    }
  }
}

}  // namespace thunder::executor
