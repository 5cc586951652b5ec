// The parsing half of ledger_json.h: JSON from untrusted callers into ledger values.
#include <charconv>
#include <limits>

#include "base/hex.h"
#include "ledger/ledger_json.h"
#include "ledger/tx_codec.h"

namespace thunder::ledger {
namespace {

using nlohmann::json;

// Field readers over untrusted JSON: kInvalidArgument naming the field.
Result<const json*> field(const json& j, std::string_view name) {
  if (!j.is_object()) return fail(ErrorCode::kInvalidArgument, "expected a JSON object");
  const auto it = j.find(name);
  if (it == j.end()) return fail(ErrorCode::kInvalidArgument, "missing field '{}'", name);
  return &*it;
}

Result<uint64_t> getU64(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const json* v, field(j, name));
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    uint64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return out;
  }
  return fail(ErrorCode::kInvalidArgument,
              "field '{}' must be an unsigned integer below 2^64 (number or decimal string)", name);
}

template <typename T>
Result<T> getUint(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, getU64(j, name));
  if (v > std::numeric_limits<T>::max()) {
    return fail(ErrorCode::kInvalidArgument, "field '{}' is above {}", name,
                uint64_t{std::numeric_limits<T>::max()});
  }
  return static_cast<T>(v);
}

Result<std::string> getString(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const json* v, field(j, name));
  if (!v->is_string())
    return fail(ErrorCode::kInvalidArgument, "field '{}' must be a string", name);
  return v->get<std::string>();
}

template <typename Bytes>
Result<Bytes> getHex(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const std::string s, getString(j, name));
  auto out = Bytes::fromHex(s);
  if (!out) {
    return fail(ErrorCode::kInvalidArgument, "field '{}': {} hex digits expected", name,
                2 * Bytes::kSize);
  }
  return *out;
}

Result<Commodity> getCommodity(const json& j, std::string_view name = "commodity") {
  THUNDER_ASSIGN_OR_RETURN(const std::string s, getString(j, name));
  return commodityFromName(s);
}

Result<Participation> getParticipation(const json& j) {
  THUNDER_ASSIGN_OR_RETURN(const std::string s, getString(j, "participation"));
  if (s == "active") return Participation::kActive;
  if (s == "inactive") return Participation::kInactive;
  return fail(ErrorCode::kInvalidArgument, "participation '{}' is not active or inactive", s);
}

Result<std::vector<std::string>> getStrings(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const json* v, field(j, name));
  if (!v->is_array()) return fail(ErrorCode::kInvalidArgument, "field '{}' must be an array", name);
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) {
      return fail(ErrorCode::kInvalidArgument, "field '{}' must hold strings", name);
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<const json*> getArray(const json& j, std::string_view name) {
  THUNDER_ASSIGN_OR_RETURN(const json* v, field(j, name));
  if (!v->is_array()) return fail(ErrorCode::kInvalidArgument, "field '{}' must be an array", name);
  return v;
}

Result<TxBody> bodyFromJson(const json& j, std::string_view kind) {
  if (kind == "transfer" || kind == "mint") {
    THUNDER_ASSIGN_OR_RETURN(const AccountId to, getHex<AccountId>(j, "to"));
    THUNDER_ASSIGN_OR_RETURN(const Amount a, getU64(j, "amount"));
    if (kind == "mint") return TxBody(Mint{to, a});
    return TxBody(Transfer{to, a});
  }
  if (kind == "deposit" || kind == "withdraw") {
    THUNDER_ASSIGN_OR_RETURN(const Amount a, getU64(j, "amount"));
    if (kind == "deposit") return TxBody(Deposit{a});
    return TxBody(Withdraw{a});
  }
  if (kind == "stake" || kind == "unstake") {
    THUNDER_ASSIGN_OR_RETURN(const PublicKey node, getHex<PublicKey>(j, "node"));
    THUNDER_ASSIGN_OR_RETURN(const Amount a, getU64(j, "amount"));
    if (kind == "stake") return TxBody(Stake{node, a});
    return TxBody(Unstake{node, a});
  }
  if (kind == "withdraw_unstaked") {
    THUNDER_ASSIGN_OR_RETURN(const PublicKey node, getHex<PublicKey>(j, "node"));
    return TxBody(WithdrawUnstaked{node});
  }
  if (kind == "register_node" || kind == "update_node") {
    const bool reg = kind == "register_node";
    THUNDER_ASSIGN_OR_RETURN(const PublicKey key, getHex<PublicKey>(j, reg ? "owner" : "node"));
    THUNDER_ASSIGN_OR_RETURN(const Participation p, getParticipation(j));
    THUNDER_ASSIGN_OR_RETURN(auto addresses, getStrings(j, "addresses"));
    if (reg) return TxBody(RegisterNode{key, p, std::move(addresses)});
    return TxBody(UpdateNode{key, p, std::move(addresses)});
  }
  if (kind == "register_service" || kind == "update_service") {
    THUNDER_ASSIGN_OR_RETURN(const uint32_t id, getUint<uint32_t>(j, "service"));
    THUNDER_ASSIGN_OR_RETURN(const BlobId exe, getHex<BlobId>(j, "executable"));
    THUNDER_ASSIGN_OR_RETURN(const Commodity c, getCommodity(j));
    if (kind == "register_service") return TxBody(RegisterService{ServiceId(id), exe, c});
    return TxBody(UpdateService{ServiceId(id), exe, c});
  }
  if (kind == "set_price") {
    THUNDER_ASSIGN_OR_RETURN(const Commodity c, getCommodity(j));
    THUNDER_ASSIGN_OR_RETURN(const uint64_t price, getU64(j, "micro_price"));
    return TxBody(SetPrice{c, price});
  }
  if (kind == "set_params") {
    THUNDER_ASSIGN_OR_RETURN(const json* p, field(j, "params"));
    THUNDER_ASSIGN_OR_RETURN(const Params params, paramsFromJson(*p));
    return TxBody(SetParams{params});
  }
  if (kind == "submit_dacks") {
    THUNDER_ASSIGN_OR_RETURN(const auto hexes, getStrings(j, "dacks"));
    SubmitDacks b;
    for (const auto& h : hexes) {
      auto bytes = fromHex(h);
      if (!bytes) return fail(ErrorCode::kInvalidArgument, "dacks: not hex");
      auto dack = handshake::parseDack(*bytes);
      if (!dack) return fail(ErrorCode::kInvalidArgument, "dacks: {}", dack.error().message);
      b.dacks.push_back(std::move(*dack));
    }
    return TxBody(std::move(b));
  }
  if (kind == "end_epoch") {
    THUNDER_ASSIGN_OR_RETURN(const uint64_t epoch, getU64(j, "epoch"));
    return TxBody(EndEpoch{epoch});
  }
  return fail(ErrorCode::kInvalidArgument, "unknown transaction kind '{}'", kind);
}

// Runs a parser, turning any nlohmann exception into kInvalidArgument.
template <typename T, typename F>
Result<T> guarded(F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, "malformed JSON value: {}", e.what());
  }
}

}  // namespace

Result<Commodity> commodityFromName(std::string_view name) {
  if (name == "bandwidth_bytes") return Commodity::kBandwidthBytes;
  if (name == "compute_ms") return Commodity::kComputeMs;
  return fail(ErrorCode::kInvalidArgument, "commodity '{}' is not bandwidth_bytes or compute_ms",
              name);
}

Result<Params> paramsFromJson(const json& j) {
  return guarded<Params>([&]() -> Result<Params> {
    Params p;
    THUNDER_ASSIGN_OR_RETURN(p.epoch_length_blocks, getU64(j, "epoch_length_blocks"));
    THUNDER_ASSIGN_OR_RETURN(p.epoch_length_ms, getU64(j, "epoch_length_ms"));
    THUNDER_ASSIGN_OR_RETURN(p.node_share_bps, getUint<uint16_t>(j, "node_share_bps"));
    THUNDER_ASSIGN_OR_RETURN(p.service_share_bps, getUint<uint16_t>(j, "service_share_bps"));
    THUNDER_ASSIGN_OR_RETURN(p.protocol_share_bps, getUint<uint16_t>(j, "protocol_share_bps"));
    THUNDER_ASSIGN_OR_RETURN(p.min_stake, getU64(j, "min_stake"));
    THUNDER_ASSIGN_OR_RETURN(p.unstake_lock_ms, getU64(j, "unstake_lock_ms"));
    THUNDER_ASSIGN_OR_RETURN(p.max_dack_batch, getUint<uint32_t>(j, "max_dack_batch"));
    THUNDER_ASSIGN_OR_RETURN(p.treasury, getHex<AccountId>(j, "treasury"));
    return p;
  });
}

Result<Genesis> genesisFromJson(const json& j) {
  return guarded<Genesis>([&]() -> Result<Genesis> {
    Genesis g;
    THUNDER_ASSIGN_OR_RETURN(g.chain_id, getU64(j, "chain_id"));
    THUNDER_ASSIGN_OR_RETURN(g.timestamp_ms, getU64(j, "timestamp_ms"));
    THUNDER_ASSIGN_OR_RETURN(g.governance, getHex<AccountId>(j, "governance"));
    THUNDER_ASSIGN_OR_RETURN(g.faucet, getHex<AccountId>(j, "faucet"));
    THUNDER_ASSIGN_OR_RETURN(g.faucet_cap, getU64(j, "faucet_cap"));
    THUNDER_ASSIGN_OR_RETURN(const json* params, field(j, "params"));
    THUNDER_ASSIGN_OR_RETURN(g.params, paramsFromJson(*params));
    THUNDER_ASSIGN_OR_RETURN(const json* prices, getArray(j, "prices"));
    for (const auto& p : *prices) {
      GenesisPrice price;
      THUNDER_ASSIGN_OR_RETURN(price.commodity, getCommodity(p));
      THUNDER_ASSIGN_OR_RETURN(price.micro_price, getU64(p, "micro_price"));
      g.prices.push_back(price);
    }
    THUNDER_ASSIGN_OR_RETURN(const json* accounts, getArray(j, "accounts"));
    for (const auto& a : *accounts) {
      GenesisAccount account;
      THUNDER_ASSIGN_OR_RETURN(account.account, getHex<AccountId>(a, "account"));
      THUNDER_ASSIGN_OR_RETURN(account.balance, getU64(a, "balance"));
      THUNDER_ASSIGN_OR_RETURN(account.deposit, getU64(a, "deposit"));
      g.accounts.push_back(account);
    }
    THUNDER_ASSIGN_OR_RETURN(const json* nodes, getArray(j, "nodes"));
    for (const auto& n : *nodes) {
      GenesisNode node;
      THUNDER_ASSIGN_OR_RETURN(node.node, getHex<PublicKey>(n, "node"));
      THUNDER_ASSIGN_OR_RETURN(node.owner, getHex<AccountId>(n, "owner"));
      THUNDER_ASSIGN_OR_RETURN(node.stake, getU64(n, "stake"));
      THUNDER_ASSIGN_OR_RETURN(node.participation, getParticipation(n));
      THUNDER_ASSIGN_OR_RETURN(node.addresses, getStrings(n, "addresses"));
      g.nodes.push_back(std::move(node));
    }
    THUNDER_ASSIGN_OR_RETURN(const json* services, getArray(j, "services"));
    for (const auto& s : *services) {
      GenesisService service;
      THUNDER_ASSIGN_OR_RETURN(const uint32_t id, getUint<uint32_t>(s, "service"));
      service.service = ServiceId(id);
      THUNDER_ASSIGN_OR_RETURN(service.owner, getHex<AccountId>(s, "owner"));
      THUNDER_ASSIGN_OR_RETURN(service.executable, getHex<BlobId>(s, "executable"));
      THUNDER_ASSIGN_OR_RETURN(service.commodity, getCommodity(s));
      g.services.push_back(service);
    }
    THUNDER_TRY(validateGenesis(g));
    return g;
  });
}

Result<Transaction> transactionFromJson(const json& j) {
  return guarded<Transaction>([&]() -> Result<Transaction> {
    Transaction tx;
    THUNDER_ASSIGN_OR_RETURN(tx.chain_id, getU64(j, "chain_id"));
    THUNDER_ASSIGN_OR_RETURN(tx.signer, getHex<AccountId>(j, "signer"));
    THUNDER_ASSIGN_OR_RETURN(tx.nonce, getU64(j, "nonce"));
    THUNDER_ASSIGN_OR_RETURN(const std::string kind, getString(j, "kind"));
    THUNDER_ASSIGN_OR_RETURN(tx.body, bodyFromJson(j, kind));
    THUNDER_TRY(checkEncodable(tx));
    return tx;
  });
}

Result<SignedTransaction> signedTransactionFromJson(const json& j) {
  return guarded<SignedTransaction>([&]() -> Result<SignedTransaction> {
    std::string hex;
    if (j.is_string()) {
      hex = j.get<std::string>();
    } else {
      THUNDER_ASSIGN_OR_RETURN(hex, getString(j, "hex"));
    }
    auto bytes = fromHex(hex);
    if (!bytes)
      return fail(ErrorCode::kInvalidArgument, "transaction hex: {}", bytes.error().message);
    return decodeSignedTransaction(*bytes);
  });
}

}  // namespace thunder::ledger
