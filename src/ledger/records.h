// The records the ledger state holds, and their canonical value encodings
// (docs/protocol/ledger.md §4). Keys are in state_keys.h. A record that carries its own id
// (node key, service id, epoch) gets it from the key: the value does not repeat it.
// Decoders take bytes from the state store: kCorruption on any malformed value. Plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ledger/types.h"

namespace thunder::ledger {

// Fixed at genesis.
struct ChainConfig {
  uint64_t chain_id = 0;
  AccountId governance;   // may set prices and parameters, end epochs early
  AccountId faucet;       // may mint (all-zero: nobody)
  Amount faucet_cap = 0;  // most the faucet may ever mint in total
  friend bool operator==(const ChainConfig&, const ChainConfig&) = default;
};

// Every token that exists: the genesis allocations plus what the faucet minted.
struct Supply {
  Amount total = 0;
  Amount minted = 0;
  friend bool operator==(const Supply&, const Supply&) = default;
};

// The epoch in progress.
struct EpochState {
  uint64_t epoch = 0;
  uint64_t start_height = 0;
  uint64_t start_time_ms = 0;
  Amount revenue = 0;  // DACK payments collected this epoch, paid out at its end
  friend bool operator==(const EpochState&, const EpochState&) = default;
};

struct Account {
  Amount balance = 0;
  uint64_t nonce = 0;  // of the last transaction applied for it (0: none)
  Amount deposit = 0;  // client deposit, debited by DACK settlement
  friend bool operator==(const Account&, const Account&) = default;
};

struct NodeRecord {
  PublicKey node;  // from the key
  AccountId owner;
  Amount stake = 0;
  Amount locked = 0;          // unstaked, withdrawable from unlock_at_ms on
  uint64_t unlock_at_ms = 0;  // block time
  Participation participation = Participation::kActive;
  uint64_t registered_height = 0;
  std::vector<std::string> addresses;
  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

struct ServiceRecord {
  ServiceId service;  // from the key
  AccountId owner;
  BlobId executable;
  Commodity commodity = Commodity::kBandwidthBytes;
  friend bool operator==(const ServiceRecord&, const ServiceRecord&) = default;
};

// What was settled on one lane key (node, client, service, lane, session nonce, commodity).
struct LaneRecord {
  uint64_t settled = 0;  // cumulative commodity units paid for
  uint64_t counter = 0;  // counter of the DACK that last advanced `settled`
  friend bool operator==(const LaneRecord&, const LaneRecord&) = default;
};

// What a node or a service served in the current epoch.
struct Served {
  Amount revenue = 0;  // what clients paid for it: the weight of its reward
  uint64_t bandwidth_bytes = 0;
  uint64_t compute_ms = 0;
  friend bool operator==(const Served&, const Served&) = default;
};

struct EpochSummary {
  uint64_t epoch = 0;  // from the key
  uint64_t start_height = 0;
  uint64_t end_height = 0;  // the block holding the EndEpoch
  uint64_t start_time_ms = 0;
  uint64_t end_time_ms = 0;
  Amount revenue = 0;
  Amount node_rewards = 0;     // paid to node owners
  Amount service_rewards = 0;  // paid to service owners
  Amount treasury = 0;         // protocol share plus every rounding remainder
  uint32_t nodes = 0;          // nodes with a reward entry
  uint32_t services = 0;
  friend bool operator==(const EpochSummary&, const EpochSummary&) = default;
};

enum class RecipientKind : uint8_t { kNode = 1, kService = 2 };

struct RewardEntry {
  uint64_t epoch = 0;  // epoch, kind and node or service: from the key
  RecipientKind kind = RecipientKind::kNode;
  PublicKey node;     // kNode
  ServiceId service;  // kService
  AccountId account;  // who was paid: the node's or the service's owner
  Served served;
  Amount reward = 0;
  friend bool operator==(const RewardEntry&, const RewardEntry&) = default;
};

std::string encodeChainConfig(const ChainConfig& v);
Result<ChainConfig> decodeChainConfig(std::string_view bytes);
std::string encodeSupply(const Supply& v);
Result<Supply> decodeSupply(std::string_view bytes);
std::string encodeEpochState(const EpochState& v);
Result<EpochState> decodeEpochState(std::string_view bytes);
std::string encodeAccount(const Account& v);
Result<Account> decodeAccount(std::string_view bytes);
std::string encodeNode(const NodeRecord& v);
Result<NodeRecord> decodeNode(const PublicKey& node, std::string_view bytes);
std::string encodeService(const ServiceRecord& v);
Result<ServiceRecord> decodeService(ServiceId service, std::string_view bytes);
std::string encodeLane(const LaneRecord& v);
Result<LaneRecord> decodeLane(std::string_view bytes);
std::string encodeServed(const Served& v);
Result<Served> decodeServed(std::string_view bytes);
std::string encodeEpochSummary(const EpochSummary& v);
Result<EpochSummary> decodeEpochSummary(uint64_t epoch, std::string_view bytes);
std::string encodeReward(const RewardEntry& v);
// `key` is the reward's full state key (state_keys.h), which names epoch, kind and recipient.
Result<RewardEntry> decodeReward(std::string_view key, std::string_view bytes);
std::string encodeU64(uint64_t v);
Result<uint64_t> decodeU64(std::string_view bytes, std::string_view what);

}  // namespace thunder::ledger
