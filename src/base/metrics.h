// MetricsRegistry: counters and gauges rendered in the Prometheus text exposition format 0.0.4.
//
// The node owns one registry and lends it to components, which register their metrics at
// start-up. Counters are lock-free to update; gauges are read by a callback at scrape time.
// Thread-safe. A registered callback must stay valid until the registry is destroyed or the
// metric is removed with removeMetrics(owner).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace thunder {

// Label pairs in the order they are rendered, e.g. {{"component", "admin"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class MetricsRegistry {
 public:
  // Returns the counter for (name, labels), creating it on first use. The reference stays
  // valid for the registry's lifetime. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*.
  Counter& counter(const std::string& name, const std::string& help, MetricLabels labels = {});

  // Registers a gauge read at scrape time. `owner` groups metrics for removeMetrics().
  void gauge(const std::string& name, const std::string& help, MetricLabels labels,
             std::function<double()> read, const void* owner = nullptr);

  // Drops every gauge registered with `owner` (a component about to be destroyed).
  void removeMetrics(const void* owner);

  // The whole registry as Prometheus text, families sorted by name.
  std::string render() const;

 private:
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;  // set for counters
    std::function<double()> read;      // set for gauges
    const void* owner = nullptr;
  };
  struct Family {
    std::string help;
    std::string type;
    std::vector<Series> series;
  };

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mutex_)
};

}  // namespace thunder
