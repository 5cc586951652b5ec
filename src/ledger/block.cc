#include "ledger/block.h"

#include "base/wire.h"
#include "crypto/blake3.h"

namespace thunder::ledger {
namespace {

void writeTransactions(WireWriter& w, const Block& block) {
  w.u32(static_cast<uint32_t>(block.transactions.size()));
  for (const auto& tx : block.transactions) {
    w.u32(static_cast<uint32_t>(tx.size()));
    w.bytes(tx);
  }
}

Hash32 derive(std::string_view context, std::span<const uint8_t> bytes) {
  auto hasher = crypto::Blake3Hasher::deriveKey(context);
  hasher.update(bytes);
  return Hash32(hasher.finalize().bytes());
}

constexpr uint8_t kLastErrorCode = static_cast<uint8_t>(ErrorCode::kInternal);

}  // namespace

std::vector<uint8_t> encodeBlock(const Block& block) {
  WireWriter w;
  w.u8(kEncodingVersion);
  w.u64(block.height);
  w.bytes(block.prev_hash.bytes());
  w.u64(block.timestamp_ms);
  writeTransactions(w, block);
  return w.take();
}

Result<Block> decodeBlock(std::span<const uint8_t> bytes) {
  WireReader r(bytes, "block");
  Block block;
  THUNDER_ASSIGN_OR_RETURN(const uint8_t version, r.u8("version"));
  if (version != kEncodingVersion) {
    return fail(ErrorCode::kCorruption, "block: version {} (this node reads {})", version,
                kEncodingVersion);
  }
  THUNDER_ASSIGN_OR_RETURN(block.height, r.u64("height"));
  THUNDER_TRY(r.bytes("prev_hash", block.prev_hash.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(block.timestamp_ms, r.u64("timestamp"));
  THUNDER_ASSIGN_OR_RETURN(const uint32_t count, r.u32("transaction count"));
  if (count > kMaxBlockTransactions) {
    return fail(ErrorCode::kCorruption, "block: {} transactions (at most {})", count,
                kMaxBlockTransactions);
  }
  for (uint32_t i = 0; i < count; ++i) {
    THUNDER_ASSIGN_OR_RETURN(const uint32_t length, r.u32("transaction length"));
    if (length > kMaxTransactionSize) {
      return fail(ErrorCode::kCorruption, "block: transaction {} is {} bytes (at most {})", i,
                  length, kMaxTransactionSize);
    }
    THUNDER_ASSIGN_OR_RETURN(const auto tx, r.view("transaction", length));
    block.transactions.emplace_back(tx.begin(), tx.end());
  }
  THUNDER_TRY(r.expectEnd());
  return block;
}

Hash32 txListHash(const Block& block) {
  WireWriter w;
  writeTransactions(w, block);
  return derive(kTxListContext, w.view());
}

std::vector<uint8_t> encodeHeader(const BlockHeader& h) {
  WireWriter w;
  w.u64(h.height);
  w.bytes(h.prev_hash.bytes());
  w.u64(h.timestamp_ms);
  w.bytes(h.tx_hash.bytes());
  w.bytes(h.state_root.bytes());
  return w.take();
}

Result<BlockHeader> decodeHeader(std::span<const uint8_t> bytes) {
  WireReader r(bytes, "block header");
  BlockHeader h;
  THUNDER_ASSIGN_OR_RETURN(h.height, r.u64("height"));
  THUNDER_TRY(r.bytes("prev_hash", h.prev_hash.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(h.timestamp_ms, r.u64("timestamp"));
  THUNDER_TRY(r.bytes("tx_hash", h.tx_hash.mutableBytes()));
  THUNDER_TRY(r.bytes("state_root", h.state_root.mutableBytes()));
  THUNDER_TRY(r.expectEnd());
  return h;
}

Hash32 blockHash(const BlockHeader& header) {
  return derive(kBlockContext, encodeHeader(header));
}

std::vector<uint8_t> encodeReceipt(const Receipt& receipt) {
  WireWriter w;
  w.u64(receipt.height);
  w.u32(receipt.index);
  w.u8(static_cast<uint8_t>(receipt.status));
  if (receipt.error) {
    w.u8(static_cast<uint8_t>(receipt.error->code) + 1);
    const std::string& m = receipt.error->message;
    w.str16(std::string_view(m).substr(0, 1024));
  } else {
    w.u8(0);
  }
  w.u16(static_cast<uint16_t>(receipt.dacks.size()));
  for (const auto& d : receipt.dacks) {
    w.u8(static_cast<uint8_t>(d.result));
    w.u64(d.units);
    w.u64(d.charged);
  }
  return w.take();
}

Result<Receipt> decodeReceipt(const TxId& id, std::span<const uint8_t> bytes) {
  WireReader r(bytes, "receipt");
  Receipt out;
  out.id = id;
  THUNDER_ASSIGN_OR_RETURN(out.height, r.u64("height"));
  THUNDER_ASSIGN_OR_RETURN(out.index, r.u32("index"));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t status, r.u8("status"));
  if (status < 1 || status > 3) return fail(ErrorCode::kCorruption, "receipt: status {}", status);
  out.status = static_cast<TxStatus>(status);
  THUNDER_ASSIGN_OR_RETURN(const uint8_t code, r.u8("error code"));
  if (code > kLastErrorCode + 1) {
    return fail(ErrorCode::kCorruption, "receipt: error code {}", code);
  }
  if (code != 0) {
    THUNDER_ASSIGN_OR_RETURN(std::string message, r.str16("error message", 1024));
    out.error = Error{static_cast<ErrorCode>(code - 1), std::move(message)};
  }
  THUNDER_ASSIGN_OR_RETURN(const uint16_t count, r.u16("dack count"));
  for (uint16_t i = 0; i < count; ++i) {
    DackOutcome d;
    THUNDER_ASSIGN_OR_RETURN(const uint8_t result, r.u8("dack result"));
    if (result < 1 || result > static_cast<uint8_t>(DackResult::kInvalid)) {
      return fail(ErrorCode::kCorruption, "receipt: dack result {}", result);
    }
    d.result = static_cast<DackResult>(result);
    THUNDER_ASSIGN_OR_RETURN(d.units, r.u64("units"));
    THUNDER_ASSIGN_OR_RETURN(d.charged, r.u64("charged"));
    out.dacks.push_back(d);
  }
  THUNDER_TRY(r.expectEnd());
  return out;
}

}  // namespace thunder::ledger
