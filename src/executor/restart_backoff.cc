#include "executor/restart_backoff.h"

#include <algorithm>

namespace thunder::executor {

std::chrono::milliseconds RestartBackoff::next(std::chrono::milliseconds ran_for) {
  if (ran_for >= policy_.stable_after) failures_ = 0;
  if (failures_ < 63) ++failures_;
  const auto initial = std::max<int64_t>(policy_.initial.count(), 1);
  const auto cap = std::max<int64_t>(policy_.max.count(), initial);
  int64_t delay = initial;
  for (uint32_t i = 1; i < failures_ && delay < cap; ++i) delay *= 2;
  return std::chrono::milliseconds(std::min(delay, cap));
}

}  // namespace thunder::executor
