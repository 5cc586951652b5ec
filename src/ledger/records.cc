#include "ledger/records.h"

#include "base/wire.h"

namespace thunder::ledger {
namespace {

std::span<const uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string toString(WireWriter& w) {
  const auto v = w.view();
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Runs `read` over `bytes` and insists on consuming all of them.
template <typename T, typename Read>
Result<T> decodeAll(std::string_view bytes, std::string_view what, Read read) {
  WireReader r(asBytes(bytes), what);
  T out;
  THUNDER_TRY(read(r, out));
  THUNDER_TRY(r.expectEnd());
  return out;
}

void writeServed(WireWriter& w, const Served& v) {
  w.u64(v.revenue);
  w.u64(v.bandwidth_bytes);
  w.u64(v.compute_ms);
}

Result<void> readServed(WireReader& r, Served& v) {
  THUNDER_ASSIGN_OR_RETURN(v.revenue, r.u64("revenue"));
  THUNDER_ASSIGN_OR_RETURN(v.bandwidth_bytes, r.u64("bandwidth_bytes"));
  THUNDER_ASSIGN_OR_RETURN(v.compute_ms, r.u64("compute_ms"));
  return {};
}

uint64_t beAt(std::string_view key, size_t offset, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(key[offset + i]);
  return v;
}

}  // namespace

std::string encodeChainConfig(const ChainConfig& v) {
  WireWriter w;
  w.u64(v.chain_id);
  w.bytes(v.governance.bytes());
  w.bytes(v.faucet.bytes());
  w.u64(v.faucet_cap);
  return toString(w);
}

Result<ChainConfig> decodeChainConfig(std::string_view bytes) {
  return decodeAll<ChainConfig>(bytes, "chain config",
                                [](WireReader& r, ChainConfig& v) -> Result<void> {
                                  THUNDER_ASSIGN_OR_RETURN(v.chain_id, r.u64("chain_id"));
                                  THUNDER_TRY(r.bytes("governance", v.governance.mutableBytes()));
                                  THUNDER_TRY(r.bytes("faucet", v.faucet.mutableBytes()));
                                  THUNDER_ASSIGN_OR_RETURN(v.faucet_cap, r.u64("faucet_cap"));
                                  return Result<void>{};
                                });
}

std::string encodeSupply(const Supply& v) {
  WireWriter w;
  w.u64(v.total);
  w.u64(v.minted);
  return toString(w);
}

Result<Supply> decodeSupply(std::string_view bytes) {
  return decodeAll<Supply>(bytes, "supply", [](WireReader& r, Supply& v) -> Result<void> {
    THUNDER_ASSIGN_OR_RETURN(v.total, r.u64("total"));
    THUNDER_ASSIGN_OR_RETURN(v.minted, r.u64("minted"));
    return Result<void>{};
  });
}

std::string encodeEpochState(const EpochState& v) {
  WireWriter w;
  w.u64(v.epoch);
  w.u64(v.start_height);
  w.u64(v.start_time_ms);
  w.u64(v.revenue);
  return toString(w);
}

Result<EpochState> decodeEpochState(std::string_view bytes) {
  return decodeAll<EpochState>(bytes, "epoch state",
                               [](WireReader& r, EpochState& v) -> Result<void> {
                                 THUNDER_ASSIGN_OR_RETURN(v.epoch, r.u64("epoch"));
                                 THUNDER_ASSIGN_OR_RETURN(v.start_height, r.u64("start_height"));
                                 THUNDER_ASSIGN_OR_RETURN(v.start_time_ms, r.u64("start_time_ms"));
                                 THUNDER_ASSIGN_OR_RETURN(v.revenue, r.u64("revenue"));
                                 return Result<void>{};
                               });
}

std::string encodeAccount(const Account& v) {
  WireWriter w;
  w.u64(v.balance);
  w.u64(v.nonce);
  w.u64(v.deposit);
  return toString(w);
}

Result<Account> decodeAccount(std::string_view bytes) {
  return decodeAll<Account>(bytes, "account", [](WireReader& r, Account& v) -> Result<void> {
    THUNDER_ASSIGN_OR_RETURN(v.balance, r.u64("balance"));
    THUNDER_ASSIGN_OR_RETURN(v.nonce, r.u64("nonce"));
    THUNDER_ASSIGN_OR_RETURN(v.deposit, r.u64("deposit"));
    return Result<void>{};
  });
}

std::string encodeNode(const NodeRecord& v) {
  WireWriter w;
  w.bytes(v.owner.bytes());
  w.u64(v.stake);
  w.u64(v.locked);
  w.u64(v.unlock_at_ms);
  w.u8(static_cast<uint8_t>(v.participation));
  w.u64(v.registered_height);
  w.u8(static_cast<uint8_t>(v.addresses.size()));
  for (const auto& a : v.addresses) w.str8(a);
  return toString(w);
}

Result<NodeRecord> decodeNode(const PublicKey& node, std::string_view bytes) {
  auto out = decodeAll<NodeRecord>(bytes, "node", [](WireReader& r, NodeRecord& v) -> Result<void> {
    THUNDER_TRY(r.bytes("owner", v.owner.mutableBytes()));
    THUNDER_ASSIGN_OR_RETURN(v.stake, r.u64("stake"));
    THUNDER_ASSIGN_OR_RETURN(v.locked, r.u64("locked"));
    THUNDER_ASSIGN_OR_RETURN(v.unlock_at_ms, r.u64("unlock_at_ms"));
    THUNDER_ASSIGN_OR_RETURN(const uint8_t p, r.u8("participation"));
    if (p != uint8_t(Participation::kActive) && p != uint8_t(Participation::kInactive)) {
      return Result<void>(fail(ErrorCode::kCorruption, "node: unknown participation {}", p));
    }
    v.participation = static_cast<Participation>(p);
    THUNDER_ASSIGN_OR_RETURN(v.registered_height, r.u64("registered_height"));
    THUNDER_ASSIGN_OR_RETURN(const uint8_t count, r.u8("address count"));
    if (count > kMaxNodeAddresses) {
      return Result<void>(fail(ErrorCode::kCorruption, "node: {} addresses", count));
    }
    for (uint8_t i = 0; i < count; ++i) {
      THUNDER_ASSIGN_OR_RETURN(std::string a, r.str8("address", kMaxAddressLength));
      v.addresses.push_back(std::move(a));
    }
    return Result<void>{};
  });
  if (out) out->node = node;
  return out;
}

std::string encodeService(const ServiceRecord& v) {
  WireWriter w;
  w.bytes(v.owner.bytes());
  w.bytes(v.executable.bytes());
  w.u8(static_cast<uint8_t>(v.commodity));
  return toString(w);
}

Result<ServiceRecord> decodeService(ServiceId service, std::string_view bytes) {
  auto out = decodeAll<ServiceRecord>(
      bytes, "service", [](WireReader& r, ServiceRecord& v) -> Result<void> {
        THUNDER_TRY(r.bytes("owner", v.owner.mutableBytes()));
        THUNDER_TRY(r.bytes("executable", v.executable.mutableBytes()));
        THUNDER_ASSIGN_OR_RETURN(const uint8_t c, r.u8("commodity"));
        if (!isKnownCommodity(c)) {
          return Result<void>(fail(ErrorCode::kCorruption, "service: unknown commodity {}", c));
        }
        v.commodity = static_cast<Commodity>(c);
        return Result<void>{};
      });
  if (out) out->service = service;
  return out;
}

std::string encodeLane(const LaneRecord& v) {
  WireWriter w;
  w.u64(v.settled);
  w.u64(v.counter);
  return toString(w);
}

Result<LaneRecord> decodeLane(std::string_view bytes) {
  return decodeAll<LaneRecord>(bytes, "lane", [](WireReader& r, LaneRecord& v) -> Result<void> {
    THUNDER_ASSIGN_OR_RETURN(v.settled, r.u64("settled"));
    THUNDER_ASSIGN_OR_RETURN(v.counter, r.u64("counter"));
    return Result<void>{};
  });
}

std::string encodeServed(const Served& v) {
  WireWriter w;
  writeServed(w, v);
  return toString(w);
}

Result<Served> decodeServed(std::string_view bytes) {
  return decodeAll<Served>(bytes, "served", readServed);
}

std::string encodeEpochSummary(const EpochSummary& v) {
  WireWriter w;
  w.u64(v.start_height);
  w.u64(v.end_height);
  w.u64(v.start_time_ms);
  w.u64(v.end_time_ms);
  w.u64(v.revenue);
  w.u64(v.node_rewards);
  w.u64(v.service_rewards);
  w.u64(v.treasury);
  w.u32(v.nodes);
  w.u32(v.services);
  return toString(w);
}

Result<EpochSummary> decodeEpochSummary(uint64_t epoch, std::string_view bytes) {
  auto out = decodeAll<EpochSummary>(
      bytes, "epoch summary", [](WireReader& r, EpochSummary& v) -> Result<void> {
        THUNDER_ASSIGN_OR_RETURN(v.start_height, r.u64("start_height"));
        THUNDER_ASSIGN_OR_RETURN(v.end_height, r.u64("end_height"));
        THUNDER_ASSIGN_OR_RETURN(v.start_time_ms, r.u64("start_time_ms"));
        THUNDER_ASSIGN_OR_RETURN(v.end_time_ms, r.u64("end_time_ms"));
        THUNDER_ASSIGN_OR_RETURN(v.revenue, r.u64("revenue"));
        THUNDER_ASSIGN_OR_RETURN(v.node_rewards, r.u64("node_rewards"));
        THUNDER_ASSIGN_OR_RETURN(v.service_rewards, r.u64("service_rewards"));
        THUNDER_ASSIGN_OR_RETURN(v.treasury, r.u64("treasury"));
        THUNDER_ASSIGN_OR_RETURN(v.nodes, r.u32("nodes"));
        THUNDER_ASSIGN_OR_RETURN(v.services, r.u32("services"));
        return Result<void>{};
      });
  if (out) out->epoch = epoch;
  return out;
}

std::string encodeReward(const RewardEntry& v) {
  WireWriter w;
  w.bytes(v.account.bytes());
  writeServed(w, v.served);
  w.u64(v.reward);
  return toString(w);
}

Result<RewardEntry> decodeReward(std::string_view key, std::string_view bytes) {
  // 0x31 ‖ epoch u64 ‖ kind u8 ‖ node_pk[32] | service u32.
  constexpr size_t kHead = 1 + 8 + 1;
  RewardEntry out;
  if (key.size() == kHead + 32 && static_cast<uint8_t>(key[9]) == uint8_t(RecipientKind::kNode)) {
    out.kind = RecipientKind::kNode;
    std::memcpy(out.node.data(), key.data() + kHead, 32);
  } else if (key.size() == kHead + 4 &&
             static_cast<uint8_t>(key[9]) == uint8_t(RecipientKind::kService)) {
    out.kind = RecipientKind::kService;
    out.service = ServiceId(static_cast<uint32_t>(beAt(key, kHead, 4)));
  } else {
    return fail(ErrorCode::kCorruption, "reward: malformed key of {} bytes", key.size());
  }
  out.epoch = beAt(key, 1, 8);
  WireReader r(asBytes(bytes), "reward");
  THUNDER_TRY(r.bytes("account", out.account.mutableBytes()));
  THUNDER_TRY(readServed(r, out.served));
  THUNDER_ASSIGN_OR_RETURN(out.reward, r.u64("reward"));
  THUNDER_TRY(r.expectEnd());
  return out;
}

std::string encodeU64(uint64_t v) {
  WireWriter w;
  w.u64(v);
  return toString(w);
}

Result<uint64_t> decodeU64(std::string_view bytes, std::string_view what) {
  WireReader r(asBytes(bytes), what);
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, r.u64("value"));
  THUNDER_TRY(r.expectEnd());
  return v;
}

}  // namespace thunder::ledger
