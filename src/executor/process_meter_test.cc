#include "executor/process_meter.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace thunder::executor {
namespace {

TEST(ProcessMeterTest, ParsesTheCpuFieldsAfterAnAwkwardCommand) {
  // utime 100, stime 50, cutime 7, cstime 3 (fields 14-17).
  const std::string line =
      "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 100 50 7 3 20 0 1 0 99 1000 10";
  auto ticks = parseStatCpuTicks(line);
  ASSERT_TRUE(ticks) << ticks.error().message;
  EXPECT_EQ(*ticks, 160u);
  EXPECT_FALSE(parseStatCpuTicks("1234 (x) S 1 2"));
  EXPECT_FALSE(parseStatCpuTicks("no command field"));
}

TEST(ProcessMeterTest, ParsesMemoryLines) {
  const ProcessSample sample = parseStatusMemory(
      "Name:\tx\nVmPeak:\t  20000 kB\nVmSize:\t 1 kB\nVmHWM:\t    3000 kB\nVmRSS:\t    2000 kB\n");
  EXPECT_EQ(sample.peak_virtual_bytes, 20000u * 1024);
  EXPECT_EQ(sample.peak_rss_bytes, 3000u * 1024);
  EXPECT_EQ(sample.rss_bytes, 2000u * 1024);
}

TEST(ProcessMeterTest, SamplesThisProcess) {
  volatile uint64_t spin = 0;
  for (int i = 0; i < 50'000'000; ++i) spin = spin + i;
  auto sample = sampleProcess(::getpid());
  ASSERT_TRUE(sample) << sample.error().message;
  EXPECT_GT(sample->rss_bytes, 0u);
  EXPECT_GE(sample->peak_rss_bytes, sample->rss_bytes);
  EXPECT_GT(sample->cpu_ms, 0u);
  auto gone = sampleProcess(0x3fffffff);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace thunder::executor
