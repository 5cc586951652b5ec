#include "ledger/genesis.h"

#include <set>

#include "base/wire.h"
#include "crypto/blake3.h"
#include "ledger/checked_math.h"
#include "ledger/records.h"
#include "ledger/state_access.h"

namespace thunder::ledger {
namespace {

Result<void> checkAddresses(const std::vector<std::string>& addresses, const PublicKey& node) {
  if (addresses.size() > kMaxNodeAddresses) {
    return fail(ErrorCode::kInvalidArgument, "genesis: node {} has {} addresses (at most {})",
                node.hex(), addresses.size(), kMaxNodeAddresses);
  }
  for (const auto& a : addresses) {
    bool ok = !a.empty() && a.size() <= kMaxAddressLength;
    for (const char c : a) ok = ok && c >= 0x21 && c <= 0x7e;
    if (!ok) {
      return fail(ErrorCode::kInvalidArgument,
                  "genesis: node {} address '{}' is empty, over {} bytes or not printable ASCII",
                  node.hex(), a, kMaxAddressLength);
    }
  }
  return {};
}

}  // namespace

Result<void> validateGenesis(const Genesis& g) {
  if (g.governance == AccountId{}) {
    return fail(ErrorCode::kInvalidArgument, "genesis: the governance key is not set");
  }
  THUNDER_TRY(validateParams(g.params).map_error([](Error e) { return e.withContext("genesis"); }));
  constexpr size_t kMaxList = UINT32_MAX;
  if (g.accounts.size() > kMaxList || g.nodes.size() > kMaxList || g.services.size() > kMaxList) {
    return fail(ErrorCode::kInvalidArgument, "genesis: a list is too long");
  }
  std::set<Commodity> prices;
  for (const auto& p : g.prices) {
    if (!isKnownCommodity(static_cast<uint8_t>(p.commodity))) {
      return fail(ErrorCode::kInvalidArgument, "genesis: unknown commodity {}",
                  static_cast<int>(p.commodity));
    }
    if (!prices.insert(p.commodity).second) {
      return fail(ErrorCode::kInvalidArgument, "genesis: two prices for commodity {}",
                  static_cast<int>(p.commodity));
    }
  }
  std::set<AccountId> accounts;
  for (const auto& a : g.accounts) {
    if (!accounts.insert(a.account).second) {
      return fail(ErrorCode::kInvalidArgument, "genesis: account {} is listed twice",
                  a.account.hex());
    }
  }
  std::set<PublicKey> nodes;
  for (const auto& n : g.nodes) {
    if (!nodes.insert(n.node).second) {
      return fail(ErrorCode::kInvalidArgument, "genesis: node {} is listed twice", n.node.hex());
    }
    THUNDER_TRY(checkAddresses(n.addresses, n.node));
  }
  std::set<uint32_t> services;
  for (const auto& s : g.services) {
    if (!services.insert(s.service.value()).second) {
      return fail(ErrorCode::kInvalidArgument, "genesis: service {} is listed twice",
                  s.service.value());
    }
    if (!isKnownCommodity(static_cast<uint8_t>(s.commodity))) {
      return fail(ErrorCode::kInvalidArgument, "genesis: service {} has an unknown commodity",
                  s.service.value());
    }
  }
  return {};
}

std::vector<uint8_t> encodeGenesis(const Genesis& g) {
  WireWriter w;
  w.u8(kEncodingVersion);
  w.u64(g.chain_id);
  w.u64(g.timestamp_ms);
  w.bytes(g.governance.bytes());
  w.bytes(g.faucet.bytes());
  w.u64(g.faucet_cap);
  writeParams(w, g.params);
  w.u8(static_cast<uint8_t>(g.prices.size()));
  for (const auto& p : g.prices) {
    w.u8(static_cast<uint8_t>(p.commodity));
    w.u64(p.micro_price);
  }
  w.u32(static_cast<uint32_t>(g.accounts.size()));
  for (const auto& a : g.accounts) {
    w.bytes(a.account.bytes());
    w.u64(a.balance);
    w.u64(a.deposit);
  }
  w.u32(static_cast<uint32_t>(g.nodes.size()));
  for (const auto& n : g.nodes) {
    w.bytes(n.node.bytes());
    w.bytes(n.owner.bytes());
    w.u64(n.stake);
    w.u8(static_cast<uint8_t>(n.participation));
    w.u8(static_cast<uint8_t>(n.addresses.size()));
    for (const auto& a : n.addresses) w.str8(a);
  }
  w.u32(static_cast<uint32_t>(g.services.size()));
  for (const auto& s : g.services) {
    w.u32(s.service.value());
    w.bytes(s.owner.bytes());
    w.bytes(s.executable.bytes());
    w.u8(static_cast<uint8_t>(s.commodity));
  }
  return w.take();
}

Hash32 genesisHash(const Genesis& genesis) {
  auto hasher = crypto::Blake3Hasher::deriveKey(kGenesisContext);
  hasher.update(encodeGenesis(genesis));
  return Hash32(hasher.finalize().bytes());
}

Result<void> writeGenesisState(StateOverlay& state, const Genesis& g) {
  THUNDER_TRY(validateGenesis(g));
  writeChainConfig(state, ChainConfig{g.chain_id, g.governance, g.faucet, g.faucet_cap});
  writeParams(state, g.params);
  for (const auto& p : g.prices) writePrice(state, p.commodity, p.micro_price);
  Supply supply;
  for (const auto& a : g.accounts) {
    THUNDER_ASSIGN_OR_RETURN(supply.total, checkedAdd(supply.total, a.balance, "genesis supply"));
    THUNDER_ASSIGN_OR_RETURN(supply.total, checkedAdd(supply.total, a.deposit, "genesis supply"));
    writeAccount(state, a.account, Account{a.balance, 0, a.deposit});
  }
  for (const auto& n : g.nodes) {
    THUNDER_ASSIGN_OR_RETURN(supply.total, checkedAdd(supply.total, n.stake, "genesis supply"));
    NodeRecord node;
    node.node = n.node;
    node.owner = n.owner;
    node.stake = n.stake;
    node.participation = n.participation;
    node.addresses = n.addresses;
    writeNode(state, node);
  }
  for (const auto& s : g.services) {
    writeService(state, ServiceRecord{s.service, s.owner, s.executable, s.commodity});
  }
  writeSupply(state, supply);
  writeEpoch(state, EpochState{0, 0, g.timestamp_ms, 0});
  return {};
}

crypto::SigningKey devKey(DevKey which) {
  std::string_view name;
  switch (which) {
    case DevKey::kGovernance: name = "governance"; break;
    case DevKey::kFaucet: name = "faucet"; break;
    case DevKey::kClient: name = "client"; break;
    case DevKey::kNodeOwner: name = "node owner"; break;
    case DevKey::kServiceOwner: name = "service owner"; break;
    case DevKey::kTreasury: name = "treasury"; break;
  }
  auto hasher = crypto::Blake3Hasher::deriveKey(kDevKeyContext);
  hasher.update({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
  const BlobId seed = hasher.finalize();
  return crypto::SigningKey::fromSeed(seed.bytes());
}

Genesis devGenesis(const PublicKey& local_node) {
  Genesis g;
  g.chain_id = kDevChainId;
  g.timestamp_ms = 0;
  g.governance = devKey(DevKey::kGovernance).publicKey();
  g.faucet = devKey(DevKey::kFaucet).publicKey();
  g.faucet_cap = 1'000'000'000'000'000;
  g.params = Params{};
  g.params.treasury = devKey(DevKey::kTreasury).publicKey();
  g.prices = {{Commodity::kBandwidthBytes, 1}, {Commodity::kComputeMs, 100}};
  g.accounts = {
      {devKey(DevKey::kClient).publicKey(), 1'000'000'000'000, 100'000'000'000},
      {devKey(DevKey::kNodeOwner).publicKey(), 1'000'000'000, 0},
  };
  g.nodes = {
      {local_node, devKey(DevKey::kNodeOwner).publicKey(), 1'000'000, Participation::kActive, {}}};
  const AccountId service_owner = devKey(DevKey::kServiceOwner).publicKey();
  g.services = {{ServiceId(0), service_owner, BlobId{}, Commodity::kBandwidthBytes},
                {ServiceId(1), service_owner, BlobId{}, Commodity::kBandwidthBytes}};
  return g;
}

}  // namespace thunder::ledger
