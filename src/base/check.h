// THUNDER_CHECK: asserts an invariant that only a bug can break. Always on (not tied to NDEBUG).
// Never use it on untrusted input: that gets an Error (result.h).
#pragma once

namespace thunder::detail {
[[noreturn]] void checkFailed(const char* condition, const char* why, const char* file, int line);
}  // namespace thunder::detail

#define THUNDER_CHECK(cond, why)                                        \
  do {                                                                  \
    if (!(cond)) [[unlikely]] {                                         \
      ::thunder::detail::checkFailed(#cond, (why), __FILE__, __LINE__); \
    }                                                                   \
  } while (false)
