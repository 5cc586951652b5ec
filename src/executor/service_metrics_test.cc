#include "executor/service_metrics.h"

#include <gtest/gtest.h>

namespace thunder::executor {
namespace {

ipc::MetricSample counter(std::string name, uint64_t value) {
  return {std::move(name), ipc::MetricKind::kCounter, value};
}
ipc::MetricSample gauge(std::string name, uint64_t value) {
  return {std::move(name), ipc::MetricKind::kGauge, value};
}

TEST(ServiceMetricsTest, CountersAreRunningTotalsSummedAcrossRestarts) {
  MetricsRegistry registry;
  ServiceMetrics metrics(registry, ServiceId{4}, "svc", 8);
  ASSERT_TRUE(metrics.recordCustom({counter("jobs", 5)}));
  ASSERT_TRUE(metrics.recordCustom({counter("jobs", 12)}));
  EXPECT_EQ(metrics.customValues().at("jobs"), 12u);
  metrics.resetCustomBaselines();  // a new instance counts from zero again
  ASSERT_TRUE(metrics.recordCustom({counter("jobs", 3)}));
  EXPECT_EQ(metrics.customValues().at("jobs"), 15u);
  EXPECT_NE(registry.render().find("thunder_service_custom_counter_total{service=\"svc\",service_"
                                   "id=\"4\",name=\"jobs\"} 15"),
            std::string::npos)
      << registry.render();
}

TEST(ServiceMetricsTest, GaugesAndKinds) {
  MetricsRegistry registry;
  ServiceMetrics metrics(registry, ServiceId{4}, "svc", 8);
  ASSERT_TRUE(metrics.recordCustom({gauge("depth", 9)}));
  ASSERT_TRUE(metrics.recordCustom({gauge("depth", 2)}));
  EXPECT_EQ(metrics.customValues().at("depth"), 2u);
  auto changed = metrics.recordCustom({counter("depth", 1)});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(registry.render().find("thunder_service_custom_gauge{service=\"svc\",service_id=\"4\","
                                   "name=\"depth\"} 2"),
            std::string::npos);
}

TEST(ServiceMetricsTest, CardinalityIsBounded) {
  MetricsRegistry registry;
  ServiceMetrics metrics(registry, ServiceId{4}, "svc", 3);
  ASSERT_TRUE(metrics.recordCustom({counter("a", 1), counter("b", 1)}));
  auto over = metrics.recordCustom({counter("a", 2), gauge("c", 1), gauge("d", 1)});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(metrics.customValues().at("a"), 1u);  // nothing of the refused request applied
  EXPECT_EQ(metrics.customValues().size(), 2u);
  ASSERT_TRUE(metrics.recordCustom({gauge("c", 1)}));
  EXPECT_FALSE(metrics.recordCustom({gauge("d", 1)}));
}

TEST(ServiceMetricsTest, GaugesLeaveTheRegistryWithTheService) {
  MetricsRegistry registry;
  {
    ServiceMetrics metrics(registry, ServiceId{4}, "svc", 3);
    ASSERT_TRUE(metrics.recordCustom({gauge("depth", 1)}));
  }
  EXPECT_EQ(registry.render().find("thunder_service_custom_gauge"), std::string::npos);
}

}  // namespace
}  // namespace thunder::executor
