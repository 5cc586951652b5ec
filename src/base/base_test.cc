#include <gtest/gtest.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/result.h"
#include "base/strong_types.h"

namespace thunder {
namespace {

Result<int> parsePositive(int v) {
  if (v <= 0) return fail(ErrorCode::kInvalidArgument, "{} is not positive", v);
  return v;
}

Result<int> doubled(int v) {
  THUNDER_ASSIGN_OR_RETURN(const int p, parsePositive(v));
  return 2 * p;
}

Result<void> checked(int v) {
  THUNDER_TRY(parsePositive(v));
  return {};
}

TEST(Result, PropagatesErrorsAndValues) {
  EXPECT_EQ(doubled(21).value(), 42);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "-1 is not positive");
  EXPECT_TRUE(checked(1));
  EXPECT_FALSE(checked(0));
}

TEST(Result, ErrnoMapping) {
  EXPECT_EQ(failErrno(ENOENT, "open x").value().code, ErrorCode::kNotFound);
  EXPECT_EQ(failErrno(ENOSPC, "write").value().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(failErrno(EACCES, "open").value().message, "open: Permission denied");
  EXPECT_EQ(errorCodeName(ErrorCode::kCorruption), "corruption");
}

TEST(Hex, RoundTripAndErrors) {
  const std::vector<uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(toHex(bytes), "00abff10");
  EXPECT_EQ(fromHex("00ABff10").value(), bytes);
  EXPECT_FALSE(fromHex("abc"));
  EXPECT_FALSE(fromHex("zz"));
}

TEST(StrongTypes, BlobIdParsesExactLength) {
  const std::string hex(64, 'a');
  auto id = BlobId::fromHex(hex);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->hex(), hex);
  EXPECT_FALSE(BlobId::fromHex(hex.substr(1)));
  EXPECT_NE(*id, BlobId{});
  EXPECT_LT(BlobId{}, *id);
  EXPECT_EQ(ServiceId(3), ServiceId(3));
}

TEST(Log, FilterParsing) {
  EXPECT_TRUE(log::configureLogging("info"));
  EXPECT_TRUE(log::configureLogging("warn,content=debug,net=off"));
  EXPECT_EQ(log::category("content")->level(), spdlog::level::debug);
  EXPECT_EQ(log::category("other")->level(), spdlog::level::warn);
  EXPECT_FALSE(log::configureLogging("loud"));
  EXPECT_FALSE(log::configureLogging("info,=debug"));
  EXPECT_FALSE(log::configureLogging("info,content"));
  EXPECT_TRUE(log::configureLogging("info"));
}

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry registry;
  registry.counter("thunder_requests_total", "Requests.", {{"route", "health"}}).add(3);
  int owner = 0;
  registry.gauge(
      "thunder_up", "Up.", {{"component", "a\"b"}}, [] { return 1.0; }, &owner);
  const std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE thunder_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("thunder_requests_total{route=\"health\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("thunder_up{component=\"a\\\"b\"} 1\n"), std::string::npos);
  registry.removeMetrics(&owner);
  EXPECT_EQ(registry.render().find("thunder_up"), std::string::npos);
}

}  // namespace
}  // namespace thunder
