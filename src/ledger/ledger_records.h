// Keys of the Ledger's non-state records in its RocksDB database (docs/protocol/ledger.md
// §9.3): metadata, block headers and bodies by height, receipts by transaction id. Internal to
// the ledger module.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ledger/types.h"

namespace thunder::ledger::records {

inline constexpr std::string_view kFormat = "mformat";    // "thunder-ledger 1"
inline constexpr std::string_view kGenesis = "mgenesis";  // genesis hash (32 bytes)
inline constexpr std::string_view kHead = "mhead";        // header of the last applied block

inline std::string withHeight(char tag, uint64_t height) {
  std::string out(1, tag);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(height >> (8 * i)));
  return out;
}

// 'h' ‖ height u64 BE: the block header.
inline std::string headerKey(uint64_t height) {
  return withHeight('h', height);
}
// 'b' ‖ height u64 BE: the block (encodeBlock).
inline std::string blockKey(uint64_t height) {
  return withHeight('b', height);
}
// 'r' ‖ tx id: the receipt of an admitted transaction.
inline std::string receiptKey(const TxId& id) {
  std::string out(1, 'r');
  out.append(reinterpret_cast<const char*>(id.data()), TxId::kSize);
  return out;
}

inline std::span<const uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace thunder::ledger::records
