#include "base/metrics.h"

#include <fmt/format.h>

#include <cmath>

#include "base/check.h"

namespace thunder {
namespace {

bool validName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string renderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += fmt::format("{}=\"{}\"", labels[i].first, escapeLabel(labels[i].second));
  }
  return out + "}";
}

std::string renderValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  MetricLabels labels) {
  THUNDER_CHECK(validName(name), "metric names are chosen by code, not input");
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.help = help;
  family.type = "counter";
  for (Series& s : family.series) {
    if (s.labels == labels) return *s.counter;
  }
  family.series.push_back(Series{std::move(labels), std::make_unique<Counter>(), {}, nullptr});
  return *family.series.back().counter;
}

void MetricsRegistry::gauge(const std::string& name, const std::string& help, MetricLabels labels,
                            std::function<double()> read, const void* owner) {
  THUNDER_CHECK(validName(name), "metric names are chosen by code, not input");
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.help = help;
  family.type = "gauge";
  family.series.push_back(Series{std::move(labels), nullptr, std::move(read), owner});
}

void MetricsRegistry::removeMetrics(const void* owner) {
  std::lock_guard lock(mutex_);
  for (auto it = families_.begin(); it != families_.end();) {
    std::erase_if(it->second.series,
                  [&](const Series& s) { return s.owner == owner && !s.counter; });
    it = it->second.series.empty() ? families_.erase(it) : std::next(it);
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, family.type);
    for (const Series& s : family.series) {
      const std::string value =
          s.counter ? fmt::format("{}", s.counter->value()) : renderValue(s.read());
      out += fmt::format("{}{} {}\n", name, renderLabels(s.labels), value);
    }
  }
  return out;
}

}  // namespace thunder
