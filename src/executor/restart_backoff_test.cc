#include "executor/restart_backoff.h"

#include <gtest/gtest.h>

namespace thunder::executor {
namespace {

using std::chrono::milliseconds;

TEST(RestartBackoffTest, DoublesUpToTheCap) {
  RestartBackoff backoff({milliseconds(100), milliseconds(30'000), milliseconds(10'000)});
  std::vector<int64_t> delays;
  for (int i = 0; i < 12; ++i) delays.push_back(backoff.next(milliseconds(5)).count());
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000,
                                          30000, 30000}));
  EXPECT_EQ(backoff.failures(), 12u);
}

TEST(RestartBackoffTest, AStableRunResetsTheCount) {
  RestartBackoff backoff({milliseconds(100), milliseconds(30'000), milliseconds(10'000)});
  for (int i = 0; i < 5; ++i) backoff.next(milliseconds(0));
  EXPECT_EQ(backoff.next(milliseconds(9'999)).count(), 3200);
  EXPECT_EQ(backoff.next(milliseconds(10'000)).count(), 100);
  EXPECT_EQ(backoff.failures(), 1u);
}

TEST(RestartBackoffTest, NeverOverflows) {
  RestartBackoff backoff({milliseconds(1), milliseconds(INT64_MAX / 2), milliseconds(10)});
  milliseconds last{0};
  for (int i = 0; i < 200; ++i) last = backoff.next(milliseconds(0));
  EXPECT_EQ(last.count(), INT64_MAX / 2);
}

}  // namespace
}  // namespace thunder::executor
