// ServiceHost's connection table and the control requests it answers itself (ControlHost);
// the supervision is in service_host.cc.
#include <sys/socket.h>

#include <boost/asio/post.hpp>

#include "base/log.h"
#include "executor/service_host.h"
#include "executor/service_host_instance.h"

namespace thunder::executor {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Connection ids are unique per node run (docs/protocol/ipc.md §4.1), across services.
std::atomic<uint64_t> next_connection_id{1};

constexpr size_t kRecentlyClosedLimit = 256;

milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

// Printable log text: control characters (except tab) become '?', so a service cannot forge
// log lines or terminal escapes.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

// --- ConnectionRecord ---

ConnectionRecord::ConnectionRecord(uint64_t connection_id, PublicKey client_key, uint32_t lane,
                                   uint64_t instance, ServiceMetrics& metrics)
    : connection_id_(connection_id),
      client_key_(client_key),
      lane_(lane),
      instance_(instance),
      metrics_(metrics) {}

void ConnectionRecord::addIn(uint64_t bytes) {
  bytes_in_.fetch_add(bytes, std::memory_order_relaxed);
  metrics_.bytes_in.add(bytes);
}

void ConnectionRecord::addOut(uint64_t bytes) {
  bytes_out_.fetch_add(bytes, std::memory_order_relaxed);
  metrics_.bytes_out.add(bytes);
}

void ConnectionRecord::addProposal(ipc::Commodity commodity, uint64_t amount) {
  auto& total =
      commodity == ipc::Commodity::kComputeMs ? proposed_compute_ms_ : proposed_bandwidth_;
  uint64_t current = total.load();
  uint64_t next;
  do {
    next = current > UINT64_MAX - amount ? UINT64_MAX : current + amount;
  } while (!total.compare_exchange_weak(current, next));
  if (commodity != ipc::Commodity::kComputeMs) return;
  std::lock_guard lock(hook_mutex_);
  if (compute_proposal_hook_) compute_proposal_hook_(next);
}

void ConnectionRecord::close() {
  int64_t expected = -1;
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
  closed_after_us_.compare_exchange_strong(expected, elapsed);
}

ConnectionUsage ConnectionRecord::snapshot() const {
  ConnectionUsage usage;
  usage.connection_id = connection_id_;
  usage.client_key = client_key_;
  usage.lane = lane_;
  usage.bytes_in = bytes_in_.load();
  usage.bytes_out = bytes_out_.load();
  const int64_t closed = closed_after_us_.load();
  usage.active = closed < 0;
  usage.wall_ms = usage.active ? static_cast<uint64_t>(since(started_).count())
                               : static_cast<uint64_t>(closed / 1000);
  usage.proposed_bandwidth_bytes = proposed_bandwidth_.load();
  usage.proposed_compute_ms = proposed_compute_ms_.load();
  return usage;
}

void ConnectionRecord::setShutdownHook(std::function<void()> hook) {
  std::lock_guard lock(hook_mutex_);
  shutdown_hook_ = std::move(hook);
}

void ConnectionRecord::setComputeProposalHook(std::function<void(uint64_t)> hook) {
  std::lock_guard lock(hook_mutex_);
  compute_proposal_hook_ = std::move(hook);
}

void ConnectionRecord::requestShutdown() {
  std::lock_guard lock(hook_mutex_);
  if (shutdown_hook_) shutdown_hook_();
}

Result<AttachedConnection> ServiceHost::attach(const PublicKey& client_key, uint32_t lane) {
  std::unique_lock lock(mutex_);
  if (!accepting_) {
    std::string why = std::string(serviceStateName(status_.state));
    if (status_.last_exit) why += "; last exit: " + status_.last_exit->describe();
    return fail(ErrorCode::kUnavailable, "service {} ({}) is not running ({})", spec_.id.value(),
                spec_.name, why);
  }
  if (connections_.size() >= options_.max_connections) {
    return fail(ErrorCode::kResourceExhausted, "service {} ({}) has {} connections already",
                spec_.id.value(), spec_.name, connections_.size());
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return failErrno(errno, "socketpair for a data channel");
  }
  UniqueFd node_end(pair[0]), service_end(pair[1]);
  THUNDER_ASSIGN_OR_RETURN(ipc::UnixChannel channel,
                           ipc::UnixChannel::adopt(std::move(node_end), ipc::Channel::kData));
  const uint64_t id = next_connection_id.fetch_add(1);
  auto record =
      std::make_shared<ConnectionRecord>(id, client_key, lane, instance_number_, *metrics_);
  connections_.emplace(id, record);
  metrics_->connections.add();
  asio::post(context_.executor, [this, instance = instance_number_, id,
                                 fd = std::make_shared<UniqueFd>(std::move(service_end))] {
    deliverDataChannel(instance, id, std::move(*fd));
  });
  lock.unlock();
  status_changed_.notify_all();
  return AttachedConnection{id, std::move(channel), std::move(record)};
}

void ServiceHost::deliverDataChannel(uint64_t instance, uint64_t connection_id,
                                     UniqueFd service_end) {
  // A channel for an instance that has ended is dropped: the connection then sees its end.
  if (current_ == nullptr || current_->number != instance || current_->exited) return;
  current_->control->notifyDataChannel(connection_id, std::move(service_end));
}

void ServiceHost::detach(uint64_t connection_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(connection_id);
    if (it == connections_.end()) return;
    it->second->close();
    recently_closed_[connection_id] = it->second->snapshot();
    connections_.erase(it);
    while (recently_closed_.size() > kRecentlyClosedLimit)
      recently_closed_.erase(recently_closed_.begin());
  }
  status_changed_.notify_all();
}

std::optional<ConnectionUsage> ServiceHost::connectionUsage(uint64_t connection_id) const {
  std::lock_guard lock(mutex_);
  if (auto it = connections_.find(connection_id); it != connections_.end()) {
    return it->second->snapshot();
  }
  if (auto it = recently_closed_.find(connection_id); it != recently_closed_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::vector<ConnectionUsage> ServiceHost::activeConnections() const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionUsage> out;
  for (const auto& [id, record] : connections_) out.push_back(record->snapshot());
  return out;
}

void ServiceHost::countDataProtocolError() {
  metrics_->data_protocol_errors.add();
  updateStatus([](ServiceStatus& s) { ++s.protocol_errors; });
}

void ServiceHost::onControlReady() {
  pid_t pid = 0;
  updateStatus([&](ServiceStatus& s) {
    accepting_ = !stopping_;
    if (!stopping_) s.state = ServiceState::kRunning;
    running_since_ = Clock::now();
    pid = s.pid.value_or(0);
  });
  THUNDER_LOG(info, "executor", "service {} (id {}) running as pid {}", spec_.name,
              spec_.id.value(), pid);
}

Result<void> ServiceHost::proposeUsage(uint64_t connection_id, ipc::Commodity commodity,
                                       uint64_t amount) {
  std::shared_ptr<ConnectionRecord> record;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(connection_id);
    if (it != connections_.end() && it->second->instance() == instance_number_) {
      record = it->second;
    } else {
      ++status_.usage_rejected;
    }
  }
  if (!record) {
    metrics_->usage_rejected.add();
    status_changed_.notify_all();
    return fail(ErrorCode::kNotFound, "connection {} is not a connection of service {}",
                connection_id, spec_.id.value());
  }
  record->addProposal(commodity, amount);
  return {};
}

void ServiceHost::log(ipc::LogLevel level, std::string_view message) {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - log_refill_).count();
  log_refill_ = now;
  log_tokens_ = std::min(options_.log_burst, log_tokens_ + elapsed * options_.log_lines_per_second);
  if (log_tokens_ < 1) {
    metrics_->log_dropped.add();
    updateStatus([](ServiceStatus& s) { ++s.log_dropped; });
    return;
  }
  log_tokens_ -= 1;
  const std::string text = printable(message);
  switch (level) {
    case ipc::LogLevel::kTrace: THUNDER_LOG(trace, "executor", "[{}] {}", spec_.name, text); break;
    case ipc::LogLevel::kDebug: THUNDER_LOG(debug, "executor", "[{}] {}", spec_.name, text); break;
    case ipc::LogLevel::kInfo: THUNDER_LOG(info, "executor", "[{}] {}", spec_.name, text); break;
    case ipc::LogLevel::kWarn: THUNDER_LOG(warn, "executor", "[{}] {}", spec_.name, text); break;
    case ipc::LogLevel::kError: THUNDER_LOG(error, "executor", "[{}] {}", spec_.name, text); break;
  }
}

Result<void> ServiceHost::recordMetrics(const std::vector<ipc::MetricSample>& samples) {
  THUNDER_TRY(metrics_->recordCustom(samples));
  auto values = metrics_->customValues();
  updateStatus([&](ServiceStatus& s) { s.custom_metrics = std::move(values); });
  return {};
}

}  // namespace thunder::executor
