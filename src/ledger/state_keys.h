// The keys of the ledger state (docs/protocol/ledger.md §4.1): one tag byte naming the table,
// then the record's id with integers big-endian, so keys sort by table, then by id. Every
// state key and value is a leaf of the state root (merkle.h). Pure functions, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "handshake/dack.h"
#include "ledger/records.h"
#include "ledger/types.h"

namespace thunder::ledger::keys {

enum class Table : uint8_t {
  kChainConfig = 0x01,
  kParams = 0x02,
  kPrice = 0x03,
  kSupply = 0x04,
  kEpoch = 0x05,
  kAccount = 0x10,
  kNode = 0x11,
  kService = 0x12,
  kLane = 0x20,
  kServedByNode = 0x21,
  kServedByService = 0x22,
  kEpochSummary = 0x30,
  kReward = 0x31,
};

// The one-byte prefix of a table: scan it to list the table.
std::string prefix(Table table);

std::string chainConfig();
std::string params();
std::string price(Commodity commodity);
std::string supply();
std::string epoch();
std::string account(const AccountId& account);
std::string node(const PublicKey& node);
std::string service(ServiceId service);
// 0x20 ‖ node_pk ‖ client_pk ‖ service u32 ‖ lane u32 ‖ session_nonce ‖ commodity u8.
std::string lane(const handshake::Dack& dack);
std::string servedByNode(const PublicKey& node);
std::string servedByService(ServiceId service);
std::string epochSummary(uint64_t epoch);
// 0x31 ‖ epoch u64; then the entries of one kind follow with kind u8 ‖ id.
std::string rewardsOf(uint64_t epoch);
std::string nodeReward(uint64_t epoch, const PublicKey& node);
std::string serviceReward(uint64_t epoch, ServiceId service);

// The id part of a key of a table whose id is a public key (kAccount, kNode, kServedByNode);
// nullopt if `key` is not such a key.
std::optional<PublicKey> publicKeyIn(std::string_view key, Table table);
// The id of a kService or kServedByService key.
std::optional<ServiceId> serviceIn(std::string_view key, Table table);

}  // namespace thunder::ledger::keys
