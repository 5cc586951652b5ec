// Genesis: the ledger's initial state (docs/protocol/ledger.md §8). It is deterministic: the
// same Genesis value always writes the same state and so the same state root, and its hash
// (over its canonical encoding) names the chain in block 0. devGenesis() is the embedded
// default for a single local node: well-known development keys, a funded test client, the
// local node registered and staked, default prices, one-minute epochs. Never use the dev keys
// for anything of value: their seeds are public.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/signing.h"
#include "ledger/params.h"
#include "ledger/state_overlay.h"
#include "ledger/types.h"

namespace thunder::ledger {

struct GenesisAccount {
  AccountId account;
  Amount balance = 0;
  Amount deposit = 0;
  friend bool operator==(const GenesisAccount&, const GenesisAccount&) = default;
};

struct GenesisNode {
  PublicKey node;
  AccountId owner;
  Amount stake = 0;
  Participation participation = Participation::kActive;
  std::vector<std::string> addresses;
  friend bool operator==(const GenesisNode&, const GenesisNode&) = default;
};

struct GenesisService {
  ServiceId service;
  AccountId owner;
  BlobId executable;
  Commodity commodity = Commodity::kBandwidthBytes;
  friend bool operator==(const GenesisService&, const GenesisService&) = default;
};

struct GenesisPrice {
  Commodity commodity = Commodity::kBandwidthBytes;
  uint64_t micro_price = 0;
  friend bool operator==(const GenesisPrice&, const GenesisPrice&) = default;
};

struct Genesis {
  uint64_t chain_id = 0;
  uint64_t timestamp_ms = 0;  // block 0's time: the first epoch starts here
  AccountId governance;
  AccountId faucet;  // all-zero: no faucet
  Amount faucet_cap = 0;
  Params params;
  std::vector<GenesisPrice> prices;
  std::vector<GenesisAccount> accounts;
  std::vector<GenesisNode> nodes;
  std::vector<GenesisService> services;
  friend bool operator==(const Genesis&, const Genesis&) = default;
};

// kInvalidArgument naming the problem: zero governance key, invalid params, a duplicate
// account / node / service / price, a bad node address, more than 2^32-1 entries of a list.
Result<void> validateGenesis(const Genesis& genesis);

// Canonical encoding (lists in the given order) and its BLAKE3 derive-key hash.
// Precondition: validateGenesis() passed.
std::vector<uint8_t> encodeGenesis(const Genesis& genesis);
Hash32 genesisHash(const Genesis& genesis);

// Writes the genesis state into an empty `state`. kInvalidArgument if validation fails or the
// allocations overflow the supply.
Result<void> writeGenesisState(StateOverlay& state, const Genesis& genesis);

// The well-known development keys (seed = BLAKE3-derive-key("thunder ledger v1 dev key", name)).
enum class DevKey { kGovernance, kFaucet, kClient, kNodeOwner, kServiceOwner, kTreasury };
crypto::SigningKey devKey(DevKey which);

inline constexpr uint64_t kDevChainId = 1337;

// The embedded single-node chain: chain id kDevChainId, genesis time 0, governance/faucet/
// treasury dev keys, faucet cap 10^15, one-minute epochs, prices 1 micro unit per byte and
// 100 micro units per compute ms, the dev client with balance 10^12 and deposit 10^11, the
// node owner with 10^9, `local_node` registered (owner kNodeOwner, stake 10^6) and the built-in
// services 0 (content) and 1 (echo), billing bandwidth, owned by kServiceOwner.
Genesis devGenesis(const PublicKey& local_node);

}  // namespace thunder::ledger
