#include "executor/service_metrics.h"

#include <set>

namespace thunder::executor {
namespace {

MetricLabels with(MetricLabels labels, std::string key, std::string value) {
  labels.emplace_back(std::move(key), std::move(value));
  return labels;
}

}  // namespace

ServiceMetrics::ServiceMetrics(MetricsRegistry& registry, ServiceId id, const std::string& name,
                               size_t max_custom_names)
    : restarts(registry.counter("thunder_service_restarts_total",
                                "Service instances started after the first.",
                                {{"service", name}, {"service_id", std::to_string(id.value())}})),
      cpu_ms(registry.counter("thunder_service_cpu_milliseconds_total",
                              "CPU time used by the service's processes.",
                              {{"service", name}, {"service_id", std::to_string(id.value())}})),
      connections(registry.counter(
          "thunder_service_connections_total", "Client connections attached to the service.",
          {{"service", name}, {"service_id", std::to_string(id.value())}})),
      bytes_in(registry.counter("thunder_service_bytes_in_total",
                                "Client payload bytes delivered to the service.",
                                {{"service", name}, {"service_id", std::to_string(id.value())}})),
      bytes_out(registry.counter(
          "thunder_service_bytes_out_total",
          "Bytes the service sent to clients, blobs streamed by reference included.",
          {{"service", name}, {"service_id", std::to_string(id.value())}})),
      requests(registry.counter("thunder_service_requests_total",
                                "Control-channel requests received from the service.",
                                {{"service", name}, {"service_id", std::to_string(id.value())}})),
      control_protocol_errors(registry.counter(
          "thunder_service_protocol_errors_total",
          "IPC protocol violations by the service (the channel is closed).",
          {{"service", name}, {"service_id", std::to_string(id.value())}, {"channel", "control"}})),
      data_protocol_errors(registry.counter(
          "thunder_service_protocol_errors_total",
          "IPC protocol violations by the service (the channel is closed).",
          {{"service", name}, {"service_id", std::to_string(id.value())}, {"channel", "data"}})),
      log_dropped(registry.counter(
          "thunder_service_log_dropped_total", "Service log lines dropped by the rate limit.",
          {{"service", name}, {"service_id", std::to_string(id.value())}})),
      usage_rejected(
          registry.counter("thunder_service_usage_rejected_total",
                           "Usage proposals for connections the service does not own.",
                           {{"service", name}, {"service_id", std::to_string(id.value())}})),
      registry_(registry),
      labels_{{"service", name}, {"service_id", std::to_string(id.value())}},
      max_custom_names_(max_custom_names) {}

ServiceMetrics::~ServiceMetrics() {
  registry_.removeMetrics(this);
}

void ServiceMetrics::countExit(ExitKind kind) {
  registry_
      .counter("thunder_service_exits_total", "Service instances that ended, by reason.",
               with(labels_, "reason", std::string(exitKindName(kind))))
      .add();
}

Result<void> ServiceMetrics::recordCustom(const std::vector<ipc::MetricSample>& samples) {
  std::set<std::string> fresh;
  for (const auto& sample : samples) {
    auto it = custom_.find(sample.name);
    if (it == custom_.end()) {
      fresh.insert(sample.name);
    } else if (it->second.kind != sample.kind) {
      return fail(ErrorCode::kInvalidArgument, "metric '{}' was a {} and cannot change kind",
                  sample.name, it->second.kind == ipc::MetricKind::kCounter ? "counter" : "gauge");
    }
  }
  if (custom_.size() + fresh.size() > max_custom_names_) {
    return fail(ErrorCode::kResourceExhausted,
                "a service may export at most {} metric names ({} new in this request)",
                max_custom_names_, fresh.size());
  }
  for (const auto& sample : samples) {
    auto it = custom_.find(sample.name);
    if (it == custom_.end()) {
      Custom custom;
      custom.kind = sample.kind;
      MetricLabels labels = with(labels_, "name", sample.name);
      if (sample.kind == ipc::MetricKind::kCounter) {
        custom.counter =
            &registry_.counter("thunder_service_custom_counter_total",
                               "Counters a service exports (MetricsRequest).", std::move(labels));
      } else {
        custom.gauge = std::make_shared<std::atomic<uint64_t>>(0);
        registry_.gauge(
            "thunder_service_custom_gauge", "Gauges a service exports (MetricsRequest).",
            std::move(labels),
            [gauge = custom.gauge] { return static_cast<double>(gauge->load()); }, this);
      }
      it = custom_.emplace(sample.name, std::move(custom)).first;
    }
    Custom& custom = it->second;
    if (custom.kind == ipc::MetricKind::kCounter) {
      custom.counter->add(sample.value >= custom.last ? sample.value - custom.last : sample.value);
      custom.last = sample.value;
    } else {
      custom.gauge->store(sample.value);
    }
  }
  return {};
}

void ServiceMetrics::resetCustomBaselines() {
  for (auto& [name, custom] : custom_) custom.last = 0;
}

std::map<std::string, uint64_t> ServiceMetrics::customValues() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, custom] : custom_) {
    out[name] =
        custom.kind == ipc::MetricKind::kCounter ? custom.counter->value() : custom.gauge->load();
  }
  return out;
}

}  // namespace thunder::executor
