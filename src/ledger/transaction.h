// Ledger transactions: what an account asks the state machine to do (docs/protocol/ledger.md §3).
//
// A Transaction is the signed part (chain id, signer, nonce, one body); a SignedTransaction adds
// the signer's Ed25519 signature over its digest. Encoding, decoding, digests and signatures are
// in tx_codec.h; the effects of each kind are in state_machine.h. Plain values, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/strong_types.h"
#include "handshake/dack.h"
#include "ledger/params.h"
#include "ledger/types.h"

namespace thunder::ledger {

// The kind byte of each body. Values are part of the encoding: never reuse one.
enum class TxKind : uint8_t {
  kTransfer = 1,
  kDeposit = 2,
  kWithdraw = 3,
  kMint = 4,
  kStake = 5,
  kUnstake = 6,
  kWithdrawUnstaked = 7,
  kRegisterNode = 8,
  kUpdateNode = 9,
  kRegisterService = 10,
  kUpdateService = 11,
  kSetPrice = 12,
  kSetParams = 13,
  kSubmitDacks = 14,
  kEndEpoch = 15,
};

// Moves `amount` from the signer's balance to `to`'s balance.
struct Transfer {
  AccountId to;
  Amount amount = 0;
  friend bool operator==(const Transfer&, const Transfer&) = default;
};
// Moves `amount` from the signer's balance into its client deposit (what DACKs are paid from).
struct Deposit {
  Amount amount = 0;
  friend bool operator==(const Deposit&, const Deposit&) = default;
};
// Moves `amount` from the signer's client deposit back to its balance.
struct Withdraw {
  Amount amount = 0;
  friend bool operator==(const Withdraw&, const Withdraw&) = default;
};
// Creates `amount` new tokens on `to`'s balance. Only the genesis faucet key, within its cap.
struct Mint {
  AccountId to;
  Amount amount = 0;
  friend bool operator==(const Mint&, const Mint&) = default;
};
// Moves `amount` from the signer's balance to the stake of `node`; the signer must own it.
struct Stake {
  PublicKey node;
  Amount amount = 0;
  friend bool operator==(const Stake&, const Stake&) = default;
};
// Moves `amount` of `node`'s stake to its locked funds (owner only); the lock restarts.
struct Unstake {
  PublicKey node;
  Amount amount = 0;
  friend bool operator==(const Unstake&, const Unstake&) = default;
};
// Moves all of `node`'s locked funds to the owner's balance once the lock has passed.
struct WithdrawUnstaked {
  PublicKey node;
  friend bool operator==(const WithdrawUnstaked&, const WithdrawUnstaked&) = default;
};
// Signed by the node key itself: registers the signer as a node owned by `owner`.
struct RegisterNode {
  AccountId owner;
  Participation participation = Participation::kActive;
  std::vector<std::string> addresses;  // e.g. "tls://203.0.113.5:4430"; printable ASCII
  friend bool operator==(const RegisterNode&, const RegisterNode&) = default;
};
// Signed by the node's owner or the node key: replaces participation and addresses.
struct UpdateNode {
  PublicKey node;
  Participation participation = Participation::kActive;
  std::vector<std::string> addresses;
  friend bool operator==(const UpdateNode&, const UpdateNode&) = default;
};
// Registers service `service` (an unused id) owned by the signer.
struct RegisterService {
  ServiceId service;
  BlobId executable;                                 // blob id of the service's executable
  Commodity commodity = Commodity::kBandwidthBytes;  // what its DACKs bill
  friend bool operator==(const RegisterService&, const RegisterService&) = default;
};
// The owner replaces the executable and commodity of its service.
struct UpdateService {
  ServiceId service;
  BlobId executable;
  Commodity commodity = Commodity::kBandwidthBytes;
  friend bool operator==(const UpdateService&, const UpdateService&) = default;
};
// Governance only: the price of one unit of `commodity`, in micro base units.
struct SetPrice {
  Commodity commodity = Commodity::kBandwidthBytes;
  uint64_t micro_price = 0;
  friend bool operator==(const SetPrice&, const SetPrice&) = default;
};
// Governance only: replaces all protocol parameters.
struct SetParams {
  Params params;
  friend bool operator==(const SetParams&, const SetParams&) = default;
};
// Signed by a registered, staked node: client-signed DACKs for that node to settle.
struct SubmitDacks {
  std::vector<handshake::Dack> dacks;
  friend bool operator==(const SubmitDacks&, const SubmitDacks&) = default;
};
// Ends epoch `epoch` (the current one) and pays its rewards. Anyone once the epoch is due;
// governance at any time.
struct EndEpoch {
  uint64_t epoch = 0;
  friend bool operator==(const EndEpoch&, const EndEpoch&) = default;
};

// Alternatives in TxKind order (index + 1 == kind).
using TxBody = std::variant<Transfer, Deposit, Withdraw, Mint, Stake, Unstake, WithdrawUnstaked,
                            RegisterNode, UpdateNode, RegisterService, UpdateService, SetPrice,
                            SetParams, SubmitDacks, EndEpoch>;

inline TxKind kindOf(const TxBody& body) {
  return static_cast<TxKind>(body.index() + 1);
}

struct Transaction {
  uint64_t chain_id = 0;
  AccountId signer;
  uint64_t nonce = 0;  // the signer's account nonce + 1
  TxBody body;
  friend bool operator==(const Transaction&, const Transaction&) = default;
};

struct SignedTransaction {
  Transaction tx;
  Signature signature;  // Ed25519 by tx.signer over txDigest(tx)
  friend bool operator==(const SignedTransaction&, const SignedTransaction&) = default;
};

// The lower-case name of a kind ("transfer", "submit_dacks", ...), for logs and JSON.
std::string_view txKindName(TxKind kind);

}  // namespace thunder::ledger
