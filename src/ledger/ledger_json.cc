#include "ledger/ledger_json.h"

#include "base/hex.h"
#include "ledger/overloaded.h"
#include "ledger/tx_codec.h"

namespace thunder::ledger {
namespace {

using nlohmann::json;

std::string amount(Amount v) {
  return std::to_string(v);
}

std::string u128(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string out;
  while (v > 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return out;
}

std::string_view participationName(Participation p) {
  return p == Participation::kActive ? "active" : "inactive";
}

json addressesJson(const std::vector<std::string>& addresses) {
  json out = json::array();
  for (const auto& a : addresses) out.push_back(a);
  return out;
}

json errorJson(const std::optional<Error>& error) {
  if (!error) return nullptr;
  return {{"code", errorCodeName(error->code)}, {"message", error->message}};
}

json bodyJson(const TxBody& body) {
  return std::visit(Overloaded{
                        [](const Transfer& b) -> json {
                          return {{"to", b.to.hex()}, {"amount", amount(b.amount)}};
                        },
                        [](const Deposit& b) -> json {
                          return {{"amount", amount(b.amount)}};
                        },
                        [](const Withdraw& b) -> json {
                          return {{"amount", amount(b.amount)}};
                        },
                        [](const Mint& b) -> json {
                          return {{"to", b.to.hex()}, {"amount", amount(b.amount)}};
                        },
                        [](const Stake& b) -> json {
                          return {{"node", b.node.hex()}, {"amount", amount(b.amount)}};
                        },
                        [](const Unstake& b) -> json {
                          return {{"node", b.node.hex()}, {"amount", amount(b.amount)}};
                        },
                        [](const WithdrawUnstaked& b) -> json {
                          return {{"node", b.node.hex()}};
                        },
                        [](const RegisterNode& b) -> json {
                          return {{"owner", b.owner.hex()},
                                  {"participation", participationName(b.participation)},
                                  {"addresses", addressesJson(b.addresses)}};
                        },
                        [](const UpdateNode& b) -> json {
                          return {{"node", b.node.hex()},
                                  {"participation", participationName(b.participation)},
                                  {"addresses", addressesJson(b.addresses)}};
                        },
                        [](const RegisterService& b) -> json {
                          return {{"service", b.service.value()},
                                  {"executable", b.executable.hex()},
                                  {"commodity", commodityName(b.commodity)}};
                        },
                        [](const UpdateService& b) -> json {
                          return {{"service", b.service.value()},
                                  {"executable", b.executable.hex()},
                                  {"commodity", commodityName(b.commodity)}};
                        },
                        [](const SetPrice& b) -> json {
                          return {{"commodity", commodityName(b.commodity)},
                                  {"micro_price", amount(b.micro_price)}};
                        },
                        [](const SetParams& b) -> json {
                          return {{"params", toJson(b.params)}};
                        },
                        [](const SubmitDacks& b) -> json {
                          json dacks = json::array();
                          for (const auto& d : b.dacks)
                            dacks.push_back(toHex(handshake::encodeDack(d)));
                          return {{"dacks", dacks}};
                        },
                        [](const EndEpoch& b) -> json {
                          return {{"epoch", b.epoch}};
                        },
                    },
                    body);
}

}  // namespace

std::string_view commodityName(Commodity commodity) {
  return commodity == Commodity::kComputeMs ? "compute_ms" : "bandwidth_bytes";
}

json toJson(const Account& v) {
  return {{"balance", amount(v.balance)}, {"nonce", v.nonce}, {"deposit", amount(v.deposit)}};
}

json toJson(const NodeRecord& v) {
  return {{"node", v.node.hex()},
          {"owner", v.owner.hex()},
          {"stake", amount(v.stake)},
          {"locked", amount(v.locked)},
          {"unlock_at_ms", v.unlock_at_ms},
          {"participation", participationName(v.participation)},
          {"registered_height", v.registered_height},
          {"addresses", addressesJson(v.addresses)}};
}

json toJson(const ServiceRecord& v) {
  return {{"service", v.service.value()},
          {"owner", v.owner.hex()},
          {"executable", v.executable.hex()},
          {"commodity", commodityName(v.commodity)}};
}

json toJson(const Params& v) {
  return {{"epoch_length_blocks", v.epoch_length_blocks},
          {"epoch_length_ms", v.epoch_length_ms},
          {"node_share_bps", v.node_share_bps},
          {"service_share_bps", v.service_share_bps},
          {"protocol_share_bps", v.protocol_share_bps},
          {"min_stake", amount(v.min_stake)},
          {"unstake_lock_ms", v.unstake_lock_ms},
          {"max_dack_batch", v.max_dack_batch},
          {"treasury", v.treasury.hex()}};
}

json toJson(const ChainConfig& v) {
  return {{"chain_id", v.chain_id},
          {"governance", v.governance.hex()},
          {"faucet", v.faucet.hex()},
          {"faucet_cap", amount(v.faucet_cap)}};
}

json toJson(const Supply& v) {
  return {{"total", amount(v.total)}, {"minted", amount(v.minted)}};
}

json toJson(const EpochState& v) {
  return {{"epoch", v.epoch},
          {"start_height", v.start_height},
          {"start_time_ms", v.start_time_ms},
          {"revenue", amount(v.revenue)}};
}

json toJson(const EpochSummary& v) {
  return {{"epoch", v.epoch},
          {"start_height", v.start_height},
          {"end_height", v.end_height},
          {"start_time_ms", v.start_time_ms},
          {"end_time_ms", v.end_time_ms},
          {"revenue", amount(v.revenue)},
          {"node_rewards", amount(v.node_rewards)},
          {"service_rewards", amount(v.service_rewards)},
          {"treasury", amount(v.treasury)},
          {"nodes", v.nodes},
          {"services", v.services}};
}

json toJson(const Served& v) {
  return {{"revenue", amount(v.revenue)},
          {"bandwidth_bytes", v.bandwidth_bytes},
          {"compute_ms", v.compute_ms}};
}

json toJson(const RewardEntry& v) {
  json out = {{"epoch", v.epoch},
              {"account", v.account.hex()},
              {"served", toJson(v.served)},
              {"reward", amount(v.reward)}};
  if (v.kind == RecipientKind::kNode) {
    out["node"] = v.node.hex();
  } else {
    out["service"] = v.service.value();
  }
  return out;
}

json toJson(const LaneRecord& v) {
  return {{"settled", v.settled}, {"counter", v.counter}};
}

json toJson(const DackOutcome& v) {
  return {{"result", dackResultName(v.result)},
          {"final", isFinal(v.result)},
          {"units", v.units},
          {"charged", amount(v.charged)}};
}

json toJson(const Receipt& v) {
  json dacks = json::array();
  for (const auto& d : v.dacks) dacks.push_back(toJson(d));
  return {{"id", v.id.hex()},
          {"height", v.height},
          {"index", v.index},
          {"status", txStatusName(v.status)},
          {"error", errorJson(v.error)},
          {"dacks", dacks}};
}

json toJson(const BlockHeader& v) {
  return {{"height", v.height},
          {"prev_hash", v.prev_hash.hex()},
          {"timestamp_ms", v.timestamp_ms},
          {"tx_hash", v.tx_hash.hex()},
          {"state_root", v.state_root.hex()}};
}

json toJson(const BlockResult& v) {
  json receipts = json::array();
  for (const auto& r : v.receipts) receipts.push_back(toJson(r));
  return {{"header", toJson(v.header)}, {"hash", v.hash.hex()}, {"receipts", receipts}};
}

json toJson(const SupplyAudit& v) {
  return {{"recorded_total", amount(v.recorded_total)},
          {"balances", u128(v.balances)},
          {"deposits", u128(v.deposits)},
          {"stakes", u128(v.stakes)},
          {"epoch_revenue", amount(v.epoch_revenue)},
          {"balanced", v.balanced()}};
}

json toJson(const Genesis& v) {
  json prices = json::array();
  for (const auto& p : v.prices) {
    prices.push_back(
        {{"commodity", commodityName(p.commodity)}, {"micro_price", amount(p.micro_price)}});
  }
  json accounts = json::array();
  for (const auto& a : v.accounts) {
    accounts.push_back({{"account", a.account.hex()},
                        {"balance", amount(a.balance)},
                        {"deposit", amount(a.deposit)}});
  }
  json nodes = json::array();
  for (const auto& n : v.nodes) {
    nodes.push_back({{"node", n.node.hex()},
                     {"owner", n.owner.hex()},
                     {"stake", amount(n.stake)},
                     {"participation", participationName(n.participation)},
                     {"addresses", addressesJson(n.addresses)}});
  }
  json services = json::array();
  for (const auto& s : v.services) {
    services.push_back({{"service", s.service.value()},
                        {"owner", s.owner.hex()},
                        {"executable", s.executable.hex()},
                        {"commodity", commodityName(s.commodity)}});
  }
  return {{"chain_id", v.chain_id},
          {"timestamp_ms", v.timestamp_ms},
          {"governance", v.governance.hex()},
          {"faucet", v.faucet.hex()},
          {"faucet_cap", amount(v.faucet_cap)},
          {"params", toJson(v.params)},
          {"prices", prices},
          {"accounts", accounts},
          {"nodes", nodes},
          {"services", services}};
}

json toJson(const Transaction& v) {
  json out = bodyJson(v.body);
  out["chain_id"] = v.chain_id;
  out["signer"] = v.signer.hex();
  out["nonce"] = v.nonce;
  out["kind"] = txKindName(kindOf(v.body));
  return out;
}

json toJson(const SignedTransaction& v) {
  json out = toJson(v.tx);
  out["id"] = txDigest(v.tx).hex();
  out["signature"] = v.signature.hex();
  out["hex"] = toHex(encodeSignedTransaction(v));
  return out;
}

}  // namespace thunder::ledger
