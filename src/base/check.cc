#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace thunder::detail {

void checkFailed(const char* condition, const char* why, const char* file, int line) {
  std::fprintf(stderr, "thunder: internal check failed at %s:%d: %s (%s)\n", file, line, condition,
               why);
  std::fflush(stderr);
  std::abort();
}

}  // namespace thunder::detail
