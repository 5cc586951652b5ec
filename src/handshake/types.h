// Small value types shared by the handshake messages, lanes and DACKs.
#pragma once

#include <cstdint>

#include "base/strong_types.h"

namespace thunder::handshake {

// The protocol version carried in Hello, Welcome and DACK. A peer refuses any other value.
inline constexpr uint16_t kProtocolVersion = 1;

// Encoded sizes of the signed messages (hello.h, dack.h), used as their frame limits.
inline constexpr size_t kHelloNewSize = 143;     // Hello with a new-lane request
inline constexpr size_t kHelloResumeSize = 179;  // Hello with a resume request
inline constexpr size_t kWelcomeSize = 198;
inline constexpr size_t kDackMaxSize = 236;  // a DACK with a content-range commitment

// A lane number, unique per client key on one node: 0 .. max_lanes_per_client-1.
using LaneId = uint32_t;

// Resumption token: 32 random bytes, unguessable; only its holder may resume the lane.
using SessionToken = FixedBytes<struct SessionTokenTag, 32>;
// Chosen by the node per lane session (random); every DACK of that session names it.
using SessionNonce = FixedBytes<struct SessionNonceTag, 32>;
// Chosen by the client per Hello (random); the node refuses a nonce it has already seen.
using HelloNonce = FixedBytes<struct HelloNonceTag, 32>;
// A 32-byte hash (transcript hashes, content roots, request hashes).
using Hash32 = FixedBytes<struct Hash32Tag, 32>;

}  // namespace thunder::handshake
