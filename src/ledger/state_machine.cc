#include "ledger/state_machine.h"

#include "ledger/checked_math.h"
#include "ledger/overloaded.h"
#include "ledger/state_access.h"
#include "ledger/tx_codec.h"

namespace thunder::ledger {
namespace {

using Outcomes = std::vector<DackOutcome>;

Result<void> positive(Amount amount, std::string_view what) {
  if (amount == 0)
    return fail(ErrorCode::kInvalidArgument, "{}: the amount must be positive", what);
  return {};
}

Result<void> requireGovernance(const StateReader& state, const AccountId& signer,
                               std::string_view what) {
  THUNDER_ASSIGN_OR_RETURN(const ChainConfig config, readChainConfig(state));
  if (signer != config.governance) {
    return fail(ErrorCode::kPermissionDenied, "{}: only the governance key {} may do this", what,
                config.governance.hex());
  }
  return {};
}

// The node `node`, which `signer` must own (or be, with NodeSigner::kOwnerOrNode).
enum class NodeSigner { kOwner, kOwnerOrNode };
Result<NodeRecord> ownedNode(const StateReader& state, const PublicKey& node,
                             const AccountId& signer, NodeSigner who, std::string_view what) {
  THUNDER_ASSIGN_OR_RETURN(auto record, readNode(state, node));
  if (!record) return fail(ErrorCode::kNotFound, "{}: node {} is not registered", what, node.hex());
  const bool allowed =
      signer == record->owner || (who == NodeSigner::kOwnerOrNode && signer == record->node);
  if (!allowed) {
    return fail(ErrorCode::kPermissionDenied, "{}: node {} is owned by {}, not the signer", what,
                node.hex(), record->owner.hex());
  }
  return std::move(*record);
}

Result<void> move(StateOverlay& state, const AccountId& from, const AccountId& to, Amount amount,
                  std::string_view what) {
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(state, from));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedSub(a.balance, amount, what));
  writeAccount(state, from, a);
  THUNDER_ASSIGN_OR_RETURN(Account b, readAccount(state, to));
  THUNDER_ASSIGN_OR_RETURN(b.balance, checkedAdd(b.balance, amount, what));
  writeAccount(state, to, b);
  return {};
}

Result<Outcomes> none(Result<void> r) {
  if (!r) return fail(std::move(r).error());
  return Outcomes{};
}

Result<void> doDeposit(StateOverlay& s, const AccountId& signer, Amount amount) {
  THUNDER_TRY(positive(amount, "deposit"));
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(s, signer));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedSub(a.balance, amount, "deposit"));
  THUNDER_ASSIGN_OR_RETURN(a.deposit, checkedAdd(a.deposit, amount, "deposit"));
  writeAccount(s, signer, a);
  return {};
}

Result<void> doWithdraw(StateOverlay& s, const AccountId& signer, Amount amount) {
  THUNDER_TRY(positive(amount, "withdraw"));
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(s, signer));
  THUNDER_ASSIGN_OR_RETURN(a.deposit, checkedSub(a.deposit, amount, "withdraw"));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedAdd(a.balance, amount, "withdraw"));
  writeAccount(s, signer, a);
  return {};
}

Result<void> doMint(StateOverlay& s, const AccountId& signer, const Mint& m) {
  THUNDER_TRY(positive(m.amount, "mint"));
  THUNDER_ASSIGN_OR_RETURN(const ChainConfig config, readChainConfig(s));
  if (config.faucet == AccountId{} || signer != config.faucet) {
    return fail(ErrorCode::kPermissionDenied, "mint: only the genesis faucet key may mint");
  }
  THUNDER_ASSIGN_OR_RETURN(Supply supply, readSupply(s));
  THUNDER_ASSIGN_OR_RETURN(const Amount minted, checkedAdd(supply.minted, m.amount, "mint"));
  if (minted > config.faucet_cap) {
    return fail(ErrorCode::kResourceExhausted,
                "mint: {} would exceed the faucet cap {} ({} already minted)", m.amount,
                config.faucet_cap, supply.minted);
  }
  THUNDER_ASSIGN_OR_RETURN(supply.total, checkedAdd(supply.total, m.amount, "mint"));
  supply.minted = minted;
  THUNDER_ASSIGN_OR_RETURN(Account to, readAccount(s, m.to));
  THUNDER_ASSIGN_OR_RETURN(to.balance, checkedAdd(to.balance, m.amount, "mint"));
  writeAccount(s, m.to, to);
  writeSupply(s, supply);
  return {};
}

Result<void> doStake(StateOverlay& s, const AccountId& signer, const Stake& b) {
  THUNDER_TRY(positive(b.amount, "stake"));
  THUNDER_ASSIGN_OR_RETURN(NodeRecord node,
                           ownedNode(s, b.node, signer, NodeSigner::kOwner, "stake"));
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(s, signer));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedSub(a.balance, b.amount, "stake"));
  THUNDER_ASSIGN_OR_RETURN(node.stake, checkedAdd(node.stake, b.amount, "stake"));
  writeAccount(s, signer, a);
  writeNode(s, node);
  return {};
}

Result<void> doUnstake(StateOverlay& s, const AccountId& signer, const Unstake& b,
                       const BlockContext& block) {
  THUNDER_TRY(positive(b.amount, "unstake"));
  THUNDER_ASSIGN_OR_RETURN(NodeRecord node,
                           ownedNode(s, b.node, signer, NodeSigner::kOwner, "unstake"));
  THUNDER_ASSIGN_OR_RETURN(const Params params, readParams(s));
  THUNDER_ASSIGN_OR_RETURN(node.stake, checkedSub(node.stake, b.amount, "unstake"));
  THUNDER_ASSIGN_OR_RETURN(node.locked, checkedAdd(node.locked, b.amount, "unstake"));
  THUNDER_ASSIGN_OR_RETURN(node.unlock_at_ms,
                           checkedAdd(block.timestamp_ms, params.unstake_lock_ms, "unlock time"));
  writeNode(s, node);
  return {};
}

Result<void> doWithdrawUnstaked(StateOverlay& s, const AccountId& signer, const WithdrawUnstaked& b,
                                const BlockContext& block) {
  THUNDER_ASSIGN_OR_RETURN(NodeRecord node,
                           ownedNode(s, b.node, signer, NodeSigner::kOwner, "withdraw_unstaked"));
  if (node.locked == 0) {
    return fail(ErrorCode::kInvalidArgument, "withdraw_unstaked: node {} has no unstaked funds",
                b.node.hex());
  }
  if (block.timestamp_ms < node.unlock_at_ms) {
    return fail(ErrorCode::kUnavailable, "withdraw_unstaked: funds are locked until {} (now {})",
                node.unlock_at_ms, block.timestamp_ms);
  }
  THUNDER_ASSIGN_OR_RETURN(Account a, readAccount(s, signer));
  THUNDER_ASSIGN_OR_RETURN(a.balance, checkedAdd(a.balance, node.locked, "withdraw_unstaked"));
  node.locked = 0;
  node.unlock_at_ms = 0;
  writeAccount(s, signer, a);
  writeNode(s, node);
  return {};
}

Result<void> doRegisterNode(StateOverlay& s, const AccountId& signer, const RegisterNode& b,
                            const BlockContext& block) {
  THUNDER_ASSIGN_OR_RETURN(const auto existing, readNode(s, signer));
  if (existing) {
    return fail(ErrorCode::kAlreadyExists, "register_node: node {} is already registered",
                signer.hex());
  }
  NodeRecord node;
  node.node = signer;
  node.owner = b.owner;
  node.participation = b.participation;
  node.registered_height = block.height;
  node.addresses = b.addresses;
  writeNode(s, node);
  return {};
}

Result<void> doUpdateNode(StateOverlay& s, const AccountId& signer, const UpdateNode& b) {
  THUNDER_ASSIGN_OR_RETURN(NodeRecord node,
                           ownedNode(s, b.node, signer, NodeSigner::kOwnerOrNode, "update_node"));
  node.participation = b.participation;
  node.addresses = b.addresses;
  writeNode(s, node);
  return {};
}

template <typename Body>
Result<void> doService(StateOverlay& s, const AccountId& signer, const Body& b, TxKind kind) {
  THUNDER_ASSIGN_OR_RETURN(const auto existing, readService(s, b.service));
  if (kind == TxKind::kRegisterService && existing) {
    return fail(ErrorCode::kAlreadyExists, "register_service: service {} is already registered",
                b.service.value());
  }
  if (kind == TxKind::kUpdateService) {
    if (!existing) {
      return fail(ErrorCode::kNotFound, "update_service: service {} is not registered",
                  b.service.value());
    }
    if (existing->owner != signer) {
      return fail(ErrorCode::kPermissionDenied, "update_service: service {} is owned by {}",
                  b.service.value(), existing->owner.hex());
    }
  }
  writeService(s, ServiceRecord{b.service, signer, b.executable, b.commodity});
  return {};
}

Result<void> doEndEpoch(StateOverlay& s, const AccountId& signer, const EndEpoch& b,
                        const BlockContext& block) {
  THUNDER_ASSIGN_OR_RETURN(const EpochState epoch, readEpoch(s));
  if (b.epoch != epoch.epoch) {
    return fail(ErrorCode::kInvalidArgument, "end_epoch: epoch {} is not the current epoch {}",
                b.epoch, epoch.epoch);
  }
  THUNDER_ASSIGN_OR_RETURN(const Params params, readParams(s));
  if (!epochDue(epoch, params, block)) {
    if (auto gov = requireGovernance(s, signer, "end_epoch"); !gov) {
      return fail(ErrorCode::kPermissionDenied,
                  "end_epoch: epoch {} is not due yet (began at height {}, time {}); only "
                  "governance may end it early",
                  epoch.epoch, epoch.start_height, epoch.start_time_ms);
    }
  }
  THUNDER_TRY(endEpoch(s, block));
  return {};
}

}  // namespace

std::string_view txStatusName(TxStatus status) {
  switch (status) {
    case TxStatus::kApplied: return "applied";
    case TxStatus::kFailed: return "failed";
    case TxStatus::kRejected: return "rejected";
  }
  return "unknown";
}

Result<void> checkAdmission(const StateReader& state, const SignedTransaction& stx,
                            uint64_t pending) {
  THUNDER_ASSIGN_OR_RETURN(const ChainConfig config, readChainConfig(state));
  if (stx.tx.chain_id != config.chain_id) {
    return fail(ErrorCode::kInvalidArgument, "transaction for chain {}, this ledger is chain {}",
                stx.tx.chain_id, config.chain_id);
  }
  THUNDER_TRY(verifyTransactionSignature(stx));
  THUNDER_ASSIGN_OR_RETURN(const Account account, readAccount(state, stx.tx.signer));
  const uint64_t last = account.nonce + pending;  // the last nonce used or queued
  if (stx.tx.nonce <= last) {
    return fail(ErrorCode::kInvalidArgument,
                "nonce {} was already used (account nonce {}, {} queued)", stx.tx.nonce,
                account.nonce, pending);
  }
  if (stx.tx.nonce != last + 1) {
    return fail(ErrorCode::kInvalidArgument, "nonce {} skips ahead (the next nonce is {})",
                stx.tx.nonce, last + 1);
  }
  return {};
}

Result<std::vector<DackOutcome>> executeTransaction(StateOverlay& s, const Transaction& tx,
                                                    const BlockContext& block) {
  const AccountId& signer = tx.signer;
  return std::visit(
      Overloaded{
          [&](const Transfer& b) -> Result<Outcomes> {
            THUNDER_TRY(positive(b.amount, "transfer"));
            return none(move(s, signer, b.to, b.amount, "transfer"));
          },
          [&](const Deposit& b) { return none(doDeposit(s, signer, b.amount)); },
          [&](const Withdraw& b) { return none(doWithdraw(s, signer, b.amount)); },
          [&](const Mint& b) { return none(doMint(s, signer, b)); },
          [&](const Stake& b) { return none(doStake(s, signer, b)); },
          [&](const Unstake& b) { return none(doUnstake(s, signer, b, block)); },
          [&](const WithdrawUnstaked& b) { return none(doWithdrawUnstaked(s, signer, b, block)); },
          [&](const RegisterNode& b) { return none(doRegisterNode(s, signer, b, block)); },
          [&](const UpdateNode& b) { return none(doUpdateNode(s, signer, b)); },
          [&](const RegisterService& b) {
            return none(doService(s, signer, b, TxKind::kRegisterService));
          },
          [&](const UpdateService& b) {
            return none(doService(s, signer, b, TxKind::kUpdateService));
          },
          [&](const SetPrice& b) -> Result<Outcomes> {
            THUNDER_TRY(requireGovernance(s, signer, "set_price"));
            writePrice(s, b.commodity, b.micro_price);
            return Outcomes{};
          },
          [&](const SetParams& b) -> Result<Outcomes> {
            THUNDER_TRY(requireGovernance(s, signer, "set_params"));
            THUNDER_TRY(validateParams(b.params));
            writeParams(s, b.params);
            return Outcomes{};
          },
          [&](const SubmitDacks& b) { return settleDacks(s, signer, b.dacks); },
          [&](const EndEpoch& b) { return none(doEndEpoch(s, signer, b, block)); },
      },
      tx.body);
}

TxOutcome applyTransaction(StateOverlay& block_state, std::span<const uint8_t> tx_bytes,
                           const BlockContext& block) {
  TxOutcome out;
  auto stx = decodeSignedTransaction(tx_bytes);
  if (!stx) {
    out.error = std::move(stx).error();
    return out;
  }
  out.id = txDigest(stx->tx);
  if (auto admitted = checkAdmission(block_state, *stx); !admitted) {
    out.error = std::move(admitted).error();
    return out;
  }
  auto account = readAccount(block_state, stx->tx.signer);
  if (!account) {
    out.error = std::move(account).error();
    return out;
  }
  account->nonce = stx->tx.nonce;
  writeAccount(block_state, stx->tx.signer, *account);

  StateOverlay tx_state(static_cast<const StateReader&>(block_state));
  auto executed = executeTransaction(tx_state, stx->tx, block);
  if (!executed) {
    out.status = TxStatus::kFailed;
    out.error = std::move(executed).error();
    return out;
  }
  std::move(tx_state).mergeInto(block_state);
  out.status = TxStatus::kApplied;
  out.dacks = std::move(*executed);
  return out;
}

}  // namespace thunder::ledger
