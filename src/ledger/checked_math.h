// Checked arithmetic on amounts: every ledger sum, difference and proportional share goes
// through these, so an overflow or an overdraft is an error, never a wrap-around.
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace thunder::ledger {

// a + b; kInvalidArgument "<what>: amount overflow" if it exceeds 2^64-1.
inline Result<uint64_t> checkedAdd(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return fail(ErrorCode::kInvalidArgument, "{}: amount overflow ({} + {})", what, a, b);
  }
  return out;
}

// a - b; kResourceExhausted "<what>: insufficient ..." if b > a.
inline Result<uint64_t> checkedSub(uint64_t a, uint64_t b, std::string_view what) {
  if (b > a) {
    return fail(ErrorCode::kResourceExhausted, "{}: insufficient funds (have {}, need {})", what, a,
                b);
  }
  return a - b;
}

// floor(a * b / d) computed in 128 bits. Precondition: d > 0. kInvalidArgument if the result
// does not fit 64 bits.
inline Result<uint64_t> mulDiv(uint64_t a, uint64_t b, uint64_t d, std::string_view what) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  const unsigned __int128 q = product / d;
  if (q > UINT64_MAX) {
    return fail(ErrorCode::kInvalidArgument, "{}: amount overflow ({} * {} / {})", what, a, b, d);
  }
  return static_cast<uint64_t>(q);
}

}  // namespace thunder::ledger
