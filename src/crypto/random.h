// Cryptographically secure randomness and the one-time libsodium initialisation.
//
// Every function in crypto/ that calls libsodium calls ensureSodiumInitialized() first, so users
// never need to. Both functions are thread-safe and may be called from any thread.
#pragma once

#include <cstdint>
#include <span>

namespace thunder::crypto {

// Initialises libsodium exactly once (thread-safe, idempotent). Aborts through THUNDER_CHECK if
// libsodium cannot initialise (no usable entropy source): nothing in crypto/ is safe without it.
void ensureSodiumInitialized();

// Fills `out` with bytes from the OS CSPRNG (libsodium randombytes_buf). Never fails.
void randomBytes(std::span<uint8_t> out);

}  // namespace thunder::crypto
