#include "ledger/epoch_rewards.h"

#include <string>
#include <utility>
#include <vector>

#include "ledger/checked_math.h"
#include "ledger/state_access.h"
#include "ledger/state_keys.h"

namespace thunder::ledger {
namespace {

// Every served counter of one table, collected before anything is written.
Result<std::vector<std::pair<std::string, Served>>> collectServed(const StateReader& state,
                                                                  keys::Table table) {
  std::vector<std::pair<std::string, Served>> out;
  Result<void> status;
  state.scan(keys::prefix(table), [&](std::string_view key, std::string_view value) {
    if (!status) return;
    auto served = decodeServed(value);
    if (!served) {
      status = fail(served.error());
      return;
    }
    out.emplace_back(std::string(key), *served);
  });
  THUNDER_TRY(status);
  return out;
}

Result<void> credit(StateOverlay& state, const AccountId& account, Amount amount) {
  if (amount == 0) return {};
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(state, account));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedAdd(a.balance, amount, "reward"));
  writeAccount(state, account, a);
  return {};
}

Result<Amount> sumRevenue(const std::vector<std::pair<std::string, Served>>& served) {
  Amount sum = 0;
  for (const auto& [key, s] : served) {
    THUNDER_ASSIGN_OR_RETURN(sum, checkedAdd(sum, s.revenue, "served revenue"));
  }
  return sum;
}

// Pays `pool` to the recipients of one table in proportion to their revenue (out of
// `revenue`). Returns what was paid, which is at most `pool`.
Result<Amount> payRecipients(StateOverlay& state, uint64_t epoch, keys::Table table,
                             const std::vector<std::pair<std::string, Served>>& served, Amount pool,
                             Amount revenue) {
  Amount paid = 0;
  for (const auto& [key, s] : served) {
    RewardEntry entry;
    entry.epoch = epoch;
    entry.served = s;
    if (table == keys::Table::kServedByNode) {
      const auto node_pk = keys::publicKeyIn(key, table);
      if (!node_pk) return fail(ErrorCode::kCorruption, "ledger state: malformed served key");
      THUNDER_ASSIGN_OR_RETURN(const auto node, readNode(state, *node_pk));
      if (!node) {
        return fail(ErrorCode::kCorruption, "served counter of unregistered node {}",
                    node_pk->hex());
      }
      entry.kind = RecipientKind::kNode;
      entry.node = *node_pk;
      entry.account = node->owner;
    } else {
      const auto id = keys::serviceIn(key, table);
      if (!id) return fail(ErrorCode::kCorruption, "ledger state: malformed served key");
      THUNDER_ASSIGN_OR_RETURN(const auto service, readService(state, *id));
      if (!service) {
        return fail(ErrorCode::kCorruption, "served counter of unregistered service {}",
                    id->value());
      }
      entry.kind = RecipientKind::kService;
      entry.service = *id;
      entry.account = service->owner;
    }
    if (revenue > 0) {
      THUNDER_ASSIGN_OR_RETURN(entry.reward, mulDiv(pool, s.revenue, revenue, "reward"));
    }
    THUNDER_TRY(credit(state, entry.account, entry.reward));
    paid += entry.reward;  // Σ floor(pool * r_i / R) <= pool: cannot overflow
    writeReward(state, entry);
    state.erase(key);
  }
  return paid;
}

}  // namespace

bool epochDue(const EpochState& epoch, const Params& params, const BlockContext& block) {
  const bool by_blocks = params.epoch_length_blocks > 0 && block.height >= epoch.start_height &&
                         block.height - epoch.start_height >= params.epoch_length_blocks;
  const bool by_time = params.epoch_length_ms > 0 && block.timestamp_ms >= epoch.start_time_ms &&
                       block.timestamp_ms - epoch.start_time_ms >= params.epoch_length_ms;
  return by_blocks || by_time;
}

Result<EpochSummary> endEpoch(StateOverlay& state, const BlockContext& block) {
  THUNDER_ASSIGN_OR_RETURN(const EpochState epoch, readEpoch(state));
  THUNDER_ASSIGN_OR_RETURN(const Params params, readParams(state));
  THUNDER_ASSIGN_OR_RETURN(const auto by_node, collectServed(state, keys::Table::kServedByNode));
  THUNDER_ASSIGN_OR_RETURN(const auto by_service,
                           collectServed(state, keys::Table::kServedByService));
  const Amount revenue = epoch.revenue;
  THUNDER_ASSIGN_OR_RETURN(const Amount node_revenue, sumRevenue(by_node));
  THUNDER_ASSIGN_OR_RETURN(const Amount service_revenue, sumRevenue(by_service));
  if (node_revenue != revenue || service_revenue != revenue) {
    return fail(ErrorCode::kCorruption,
                "epoch {}: revenue {} but nodes served {} and services {} (corrupt state)",
                epoch.epoch, revenue, node_revenue, service_revenue);
  }

  EpochSummary summary;
  summary.epoch = epoch.epoch;
  summary.start_height = epoch.start_height;
  summary.end_height = block.height;
  summary.start_time_ms = epoch.start_time_ms;
  summary.end_time_ms = block.timestamp_ms;
  summary.revenue = revenue;
  summary.nodes = static_cast<uint32_t>(by_node.size());
  summary.services = static_cast<uint32_t>(by_service.size());

  THUNDER_ASSIGN_OR_RETURN(const Amount node_pool,
                           mulDiv(revenue, params.node_share_bps, kBasisPoints, "node pool"));
  THUNDER_ASSIGN_OR_RETURN(const Amount service_pool,
                           mulDiv(revenue, params.service_share_bps, kBasisPoints, "service pool"));
  if (service_pool > revenue || node_pool > revenue - service_pool) {
    return fail(ErrorCode::kCorruption, "epoch {}: reward shares exceed {} basis points",
                epoch.epoch, kBasisPoints);
  }
  const Amount protocol = revenue - node_pool - service_pool;
  THUNDER_ASSIGN_OR_RETURN(
      summary.node_rewards,
      payRecipients(state, epoch.epoch, keys::Table::kServedByNode, by_node, node_pool, revenue));
  THUNDER_ASSIGN_OR_RETURN(summary.service_rewards,
                           payRecipients(state, epoch.epoch, keys::Table::kServedByService,
                                         by_service, service_pool, revenue));
  summary.treasury =
      protocol + (node_pool - summary.node_rewards) + (service_pool - summary.service_rewards);
  THUNDER_TRY(credit(state, params.treasury, summary.treasury));
  writeEpochSummary(state, summary);
  writeEpoch(state, EpochState{epoch.epoch + 1, block.height, block.timestamp_ms, 0});
  return summary;
}

}  // namespace thunder::ledger
