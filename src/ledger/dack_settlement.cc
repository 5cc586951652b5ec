#include "ledger/dack_settlement.h"

#include "ledger/checked_math.h"
#include "ledger/state_access.h"

namespace thunder::ledger {
namespace {

struct Payment {
  uint64_t settled = 0;  // the lane's new settled amount
  Amount charged = 0;
};

// What the client pays to move the lane from `settled` to `amount` units at `price` (micro
// units per unit), capped by `deposit`. Cost is computed on cumulative amounts so that many
// small settlements round like one: cost(a) = floor(a * price / 1e6), pay cost(new) - cost(old).
// When the deposit cannot pay it all, the lane advances to the most units it can pay for.
Result<Payment> pay(uint64_t settled, uint64_t amount, uint64_t price, Amount deposit) {
  if (price == 0) return Payment{amount, 0};
  THUNDER_ASSIGN_OR_RETURN(const uint64_t base, mulDiv(settled, price, kPriceDenominator, "cost"));
  THUNDER_ASSIGN_OR_RETURN(const uint64_t full, mulDiv(amount, price, kPriceDenominator, "cost"));
  if (full - base <= deposit) return Payment{amount, full - base};
  // The largest u with floor(u * price / 1e6) <= base + deposit.
  const unsigned __int128 budget = static_cast<unsigned __int128>(base) + deposit + 1;
  const unsigned __int128 units = (budget * kPriceDenominator - 1) / price;
  const uint64_t reachable = static_cast<uint64_t>(units < amount ? units : amount);
  THUNDER_ASSIGN_OR_RETURN(const uint64_t cost,
                           mulDiv(reachable, price, kPriceDenominator, "cost"));
  return Payment{reachable, cost - base};
}

Result<void> addServed(Served& served, Commodity commodity, uint64_t units, Amount charged) {
  THUNDER_ASSIGN_OR_RETURN(served.revenue, checkedAdd(served.revenue, charged, "served revenue"));
  uint64_t& counter =
      commodity == Commodity::kComputeMs ? served.compute_ms : served.bandwidth_bytes;
  THUNDER_ASSIGN_OR_RETURN(counter, checkedAdd(counter, units, "served units"));
  return {};
}

// Settles one DACK whose node is the submitter. Errors are kCorruption (state unreadable) only;
// everything a DACK can be wrong about is an outcome.
Result<DackOutcome> settleOne(StateOverlay& state, const handshake::Dack& dack) {
  DackOutcome out;
  if (dack.version != handshake::kProtocolVersion) return out;  // kInvalid
  THUNDER_ASSIGN_OR_RETURN(const auto service, readService(state, dack.scope.service));
  if (!service) {
    out.result = DackResult::kUnknownService;
    return out;
  }
  if (service->commodity != dack.commodity) {
    out.result = DackResult::kCommodityMismatch;
    return out;
  }
  if (auto ok = handshake::verifyDack(dack, dack.scope, handshake::DackProgress{}); !ok) {
    out.result = ok.error().code == ErrorCode::kPermissionDenied ? DackResult::kBadSignature
                                                                 : DackResult::kInvalid;
    return out;
  }
  THUNDER_ASSIGN_OR_RETURN(LaneRecord lane, readLane(state, dack));
  if (dack.amount <= lane.settled) {
    out.result = DackResult::kNothingNew;
    return out;
  }
  THUNDER_ASSIGN_OR_RETURN(const uint64_t price, readPrice(state, dack.commodity));
  THUNDER_ASSIGN_OR_RETURN(Account client, readAccount(state, dack.scope.client_pk));
  if (price > 0 && client.deposit == 0) {
    out.result = DackResult::kInsufficientDeposit;  // not billable, even for a rounded-off cost
    return out;
  }
  auto payment = pay(lane.settled, dack.amount, price, client.deposit);
  if (!payment) {
    out.result = DackResult::kInvalid;  // a cost beyond 2^64 base units
    return out;
  }
  if (payment->settled == lane.settled) {
    out.result = DackResult::kInsufficientDeposit;
    return out;
  }
  out.units = payment->settled - lane.settled;
  out.charged = payment->charged;

  // Compute every new value first, so an overflow leaves this DACK without any effect.
  const PublicKey& node = dack.scope.node_pk;
  THUNDER_ASSIGN_OR_RETURN(Served by_node, readServedByNode(state, node));
  THUNDER_ASSIGN_OR_RETURN(Served by_service, readServedByService(state, dack.scope.service));
  THUNDER_ASSIGN_OR_RETURN(EpochState epoch, readEpoch(state));
  const bool fits = addServed(by_node, dack.commodity, out.units, out.charged) &&
                    addServed(by_service, dack.commodity, out.units, out.charged) &&
                    checkedAdd(epoch.revenue, out.charged, "epoch revenue");
  if (!fits) return DackOutcome{};  // kInvalid, nothing settled
  epoch.revenue += out.charged;
  client.deposit -= out.charged;  // charged <= deposit by construction
  out.result = payment->settled == dack.amount ? DackResult::kPaid : DackResult::kPartiallyPaid;

  writeLane(state, dack, LaneRecord{payment->settled, dack.counter});
  writeAccount(state, dack.scope.client_pk, client);
  writeServedByNode(state, node, by_node);
  writeServedByService(state, dack.scope.service, by_service);
  writeEpoch(state, epoch);
  return out;
}

}  // namespace

std::string_view dackResultName(DackResult result) {
  switch (result) {
    case DackResult::kPaid: return "paid";
    case DackResult::kPartiallyPaid: return "partially_paid";
    case DackResult::kNothingNew: return "nothing_new";
    case DackResult::kInsufficientDeposit: return "insufficient_deposit";
    case DackResult::kWrongNode: return "wrong_node";
    case DackResult::kUnknownService: return "unknown_service";
    case DackResult::kCommodityMismatch: return "commodity_mismatch";
    case DackResult::kBadSignature: return "bad_signature";
    case DackResult::kInvalid: return "invalid";
  }
  return "unknown";
}

bool isFinal(DackResult result) {
  return result != DackResult::kPartiallyPaid && result != DackResult::kInsufficientDeposit;
}

Result<std::vector<DackOutcome>> settleDacks(StateOverlay& state, const PublicKey& submitter,
                                             std::span<const handshake::Dack> dacks) {
  THUNDER_ASSIGN_OR_RETURN(const Params params, readParams(state));
  if (dacks.empty()) return fail(ErrorCode::kInvalidArgument, "submit_dacks: the batch is empty");
  if (dacks.size() > params.max_dack_batch) {
    return fail(ErrorCode::kResourceExhausted,
                "submit_dacks: {} DACKs exceed the batch limit of {} (split the batch)",
                dacks.size(), params.max_dack_batch);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto node, readNode(state, submitter));
  if (!node) {
    return fail(ErrorCode::kPermissionDenied, "submit_dacks: {} is not a registered node",
                submitter.hex());
  }
  if (node->stake < params.min_stake) {
    return fail(ErrorCode::kPermissionDenied,
                "submit_dacks: node {} has stake {}, below the minimum {} (stake more)",
                submitter.hex(), node->stake, params.min_stake);
  }
  std::vector<DackOutcome> outcomes;
  outcomes.reserve(dacks.size());
  for (const auto& dack : dacks) {
    if (dack.scope.node_pk != submitter) {
      outcomes.push_back({DackResult::kWrongNode, 0, 0});
      continue;
    }
    THUNDER_ASSIGN_OR_RETURN(DackOutcome outcome, settleOne(state, dack));
    outcomes.push_back(outcome);
  }
  return outcomes;
}

}  // namespace thunder::ledger
