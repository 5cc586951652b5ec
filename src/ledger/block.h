// Blocks, block headers and receipts: the ordered input of the state machine and what applying
// it produced (docs/protocol/ledger.md §9). A Block is what an Orderer decides; the Ledger
// applies it atomically and records its header, body and the receipts of admitted
// transactions beside the state (not part of the state root). Plain values, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/result.h"
#include "ledger/dack_settlement.h"
#include "ledger/state_machine.h"
#include "ledger/types.h"

namespace thunder::ledger {

struct Block {
  uint64_t height = 0;                             // previous height + 1
  Hash32 prev_hash;                                // hash of the previous block's header
  uint64_t timestamp_ms = 0;                       // not below the previous block's
  std::vector<std::vector<uint8_t>> transactions;  // signed transaction encodings, in order
  friend bool operator==(const Block&, const Block&) = default;
};

struct BlockHeader {
  uint64_t height = 0;
  Hash32 prev_hash;
  uint64_t timestamp_ms = 0;
  Hash32 tx_hash;     // BLAKE3-derive-key("thunder ledger v1 tx list", transactions section);
                      // for block 0 the genesis hash
  Hash32 state_root;  // after applying the block
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

// The outcome of one transaction of a block. Receipts of admitted transactions (applied or
// failed) are stored and can be looked up by id.
struct Receipt {
  TxId id;  // zero if the bytes did not decode
  uint64_t height = 0;
  uint32_t index = 0;  // position in the block
  TxStatus status = TxStatus::kRejected;
  std::optional<Error> error;
  std::vector<DackOutcome> dacks;
};

struct BlockResult {
  BlockHeader header;
  Hash32 hash;                    // blockHash(header)
  std::vector<Receipt> receipts;  // one per transaction, in order
};

// u8 version ‖ u64 height ‖ prev_hash ‖ u64 timestamp ‖ transactions section, where the
// section is u32 count ‖ count × (u32 length ‖ bytes).
std::vector<uint8_t> encodeBlock(const Block& block);
// kCorruption on truncation, trailing bytes, a transaction above kMaxTransactionSize or more
// than kMaxBlockTransactions.
Result<Block> decodeBlock(std::span<const uint8_t> bytes);
Hash32 txListHash(const Block& block);

std::vector<uint8_t> encodeHeader(const BlockHeader& header);
Result<BlockHeader> decodeHeader(std::span<const uint8_t> bytes);
// BLAKE3-derive-key("thunder ledger v1 block", encodeHeader(header)).
Hash32 blockHash(const BlockHeader& header);

std::vector<uint8_t> encodeReceipt(const Receipt& receipt);
Result<Receipt> decodeReceipt(const TxId& id, std::span<const uint8_t> bytes);

}  // namespace thunder::ledger
