#include "crypto/random.h"

#include <sodium.h>

#include "base/check.h"

namespace thunder::crypto {

void ensureSodiumInitialized() {
  // A function-local static is initialised once, thread-safely, on first use.
  static const bool initialized = [] {
    // sodium_init() returns 0 on success, 1 if already initialised, -1 on failure.
    return sodium_init() >= 0;
  }();
  THUNDER_CHECK(initialized, "sodium_init() failed: libsodium has no usable entropy source");
}

void randomBytes(std::span<uint8_t> out) {
  ensureSodiumInitialized();
  randombytes_buf(out.data(), out.size());
}

}  // namespace thunder::crypto

namespace thunder::crypto::detail {

void wipe(void* data, size_t size) {
  sodium_memzero(data, size);
}

}  // namespace thunder::crypto::detail
