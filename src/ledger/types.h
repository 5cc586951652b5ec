// Small value types and protocol constants of the ledger (docs/protocol/ledger.md).
//
// Amounts are unsigned 64-bit counts of base token units; every sum and difference of amounts
// goes through checked_math.h. Plain values, usable from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/strong_types.h"
#include "handshake/dack.h"
#include "handshake/types.h"

namespace thunder::ledger {

// Base token units.
using Amount = uint64_t;
// A 32-byte BLAKE3 output: state roots, block hashes, genesis hash.
using Hash32 = handshake::Hash32;
// The id of a transaction: its signed digest (tx_codec.h).
using TxId = FixedBytes<struct TxIdTag, 32>;
// An account is named by its Ed25519 public key.
using AccountId = PublicKey;
// The commodities DACKs bill (shared with the handshake).
using Commodity = handshake::Commodity;

// Version byte of every ledger encoding (transactions, blocks, genesis).
inline constexpr uint8_t kEncodingVersion = 1;
// Prices are in micro base units per commodity unit: cost = floor(units * price / 1,000,000).
inline constexpr uint64_t kPriceDenominator = 1'000'000;
// Reward shares are in basis points; node + service + protocol shares sum to this.
inline constexpr uint32_t kBasisPoints = 10'000;
// Hard decoding limits (a stricter max_dack_batch is a governance parameter).
inline constexpr uint32_t kMaxDackBatchLimit = 4096;
inline constexpr size_t kMaxNodeAddresses = 8;
inline constexpr size_t kMaxAddressLength = 128;
// Largest encoded transaction: a full DACK batch with content-range commitments, plus room.
inline constexpr size_t kMaxTransactionSize =
    50 + 2 + kMaxDackBatchLimit * (2 + handshake::kDackMaxSize) + 64;
// Most transactions in one block.
inline constexpr uint32_t kMaxBlockTransactions = 10'000;

// BLAKE3 derive-key contexts (docs/protocol/ledger.md §2).
inline constexpr std::string_view kTxContext = "thunder ledger v1 tx";
inline constexpr std::string_view kLeafContext = "thunder ledger v1 state leaf";
inline constexpr std::string_view kNodeContext = "thunder ledger v1 state node";
inline constexpr std::string_view kEmptyContext = "thunder ledger v1 state empty";
inline constexpr std::string_view kBlockContext = "thunder ledger v1 block";
inline constexpr std::string_view kTxListContext = "thunder ledger v1 tx list";
inline constexpr std::string_view kGenesisContext = "thunder ledger v1 genesis";
inline constexpr std::string_view kDevKeyContext = "thunder ledger v1 dev key";

// Whether a registered node takes part in the network (routing, placement). Informational for
// settlement: a staked node is paid for what it served either way.
enum class Participation : uint8_t {
  kActive = 1,
  kInactive = 2,
};

inline bool isKnownCommodity(uint8_t value) {
  return value == static_cast<uint8_t>(Commodity::kBandwidthBytes) ||
         value == static_cast<uint8_t>(Commodity::kComputeMs);
}

}  // namespace thunder::ledger
