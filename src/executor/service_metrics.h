// ServiceMetrics: the /metrics series of one supervised service, all labelled
// {service="<name>", service_id="<id>"}, and the samples the service exports itself over IPC
// (MetricsRequest), bounded in cardinality.
//
//   thunder_service_restarts_total              starts after the first
//   thunder_service_exits_total{reason}         instance ends by ExitKind name
//   thunder_service_cpu_milliseconds_total      CPU time of all instances
//   thunder_service_connections_total           client connections attached
//   thunder_service_bytes_in_total / _out_total client payload bytes in / bytes out
//   thunder_service_requests_total              control requests received
//   thunder_service_protocol_errors_total{channel}  "control" or "data"
//   thunder_service_log_dropped_total           Log lines over the rate limit
//   thunder_service_usage_rejected_total        ProposeUsage for a connection it does not own
//   thunder_service_custom_counter_total{name}  the service's own counters (running totals of
//                                               each instance, summed across restarts)
//   thunder_service_custom_gauge{name}          the service's own gauges
// (gauges such as thunder_service_up, _memory_bytes and _connections_active are registered by
// ServiceHost, which reads them from its status.)
//
// Counters are lock-free. recordCustom() must be called from one thread at a time (the
// service's loop); the registry's gauges read atomics and are safe at any time until
// removeGauges(). The registry must outlive this object.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/result.h"
#include "base/strong_types.h"
#include "executor/service_status.h"
#include "ipc/message.h"

namespace thunder::executor {

class ServiceMetrics {
 public:
  ServiceMetrics(MetricsRegistry& registry, ServiceId id, const std::string& name,
                 size_t max_custom_names);
  ~ServiceMetrics();
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  MetricsRegistry& registry() { return registry_; }
  const MetricLabels& labels() const { return labels_; }

  Counter& restarts;
  Counter& cpu_ms;
  Counter& connections;
  Counter& bytes_in;
  Counter& bytes_out;
  Counter& requests;
  Counter& control_protocol_errors;
  Counter& data_protocol_errors;
  Counter& log_dropped;
  Counter& usage_rejected;

  // Counts an instance end.
  void countExit(ExitKind kind);

  // Applies the samples of one MetricsRequest. Counter samples are running totals of the
  // current instance: the delta since the last sample is added (a smaller value means the
  // instance restarted: all of it is added). kResourceExhausted when a new name would exceed
  // max_custom_names (nothing of the request is applied); kInvalidArgument if a name changes
  // kind.
  Result<void> recordCustom(const std::vector<ipc::MetricSample>& samples);

  // A new instance starts: its counters start from zero.
  void resetCustomBaselines();

  // name → the exported value (counter totals across restarts, gauge values).
  std::map<std::string, uint64_t> customValues() const;

 private:
  struct Custom {
    ipc::MetricKind kind = ipc::MetricKind::kCounter;
    Counter* counter = nullptr;                    // kCounter
    std::shared_ptr<std::atomic<uint64_t>> gauge;  // kGauge
    uint64_t last = 0;  // kCounter: the last running total of the current instance
  };

  MetricsRegistry& registry_;
  MetricLabels labels_;
  size_t max_custom_names_;
  std::map<std::string, Custom> custom_;
};

}  // namespace thunder::executor
