// Encoding helpers of the handshake protocol (docs/protocol/handshake.md): the shared
// little-endian ByteWriter/ByteReader of base/wire.h, and a constant-time comparison.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/wire.h"

namespace thunder::handshake {

// The handshake's names for the shared encoding helpers (base/wire.h).
using ByteWriter = ::thunder::WireWriter;
using ByteReader = ::thunder::WireReader;

// Constant-time equality of two byte strings of the same length (false if lengths differ).
bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace thunder::handshake
