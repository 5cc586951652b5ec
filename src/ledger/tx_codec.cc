#include "ledger/tx_codec.h"

#include "base/check.h"
#include "base/wire.h"
#include "crypto/blake3.h"
#include "ledger/overloaded.h"

namespace thunder::ledger {
namespace {

bool addressOk(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddressLength) return false;
  for (const char c : address) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

void writeKeyed(WireWriter& w, const PublicKey& key, Amount amount) {
  w.bytes(key.bytes());
  w.u64(amount);
}

void writeAddresses(WireWriter& w, Participation participation,
                    const std::vector<std::string>& addresses) {
  THUNDER_CHECK(addresses.size() <= kMaxNodeAddresses, "too many node addresses to encode");
  w.u8(static_cast<uint8_t>(participation));
  w.u8(static_cast<uint8_t>(addresses.size()));
  for (const auto& a : addresses) {
    THUNDER_CHECK(addressOk(a), "node address is empty, too long or not printable ASCII");
    w.str8(a);
  }
}

void writeService(WireWriter& w, ServiceId service, const BlobId& executable, Commodity commodity) {
  w.u32(service.value());
  w.bytes(executable.bytes());
  w.u8(static_cast<uint8_t>(commodity));
}

void writeBody(WireWriter& w, const TxBody& body) {
  std::visit(
      Overloaded{
          [&](const Transfer& b) { writeKeyed(w, b.to, b.amount); },
          [&](const Deposit& b) { w.u64(b.amount); },
          [&](const Withdraw& b) { w.u64(b.amount); },
          [&](const Mint& b) { writeKeyed(w, b.to, b.amount); },
          [&](const Stake& b) { writeKeyed(w, b.node, b.amount); },
          [&](const Unstake& b) { writeKeyed(w, b.node, b.amount); },
          [&](const WithdrawUnstaked& b) { w.bytes(b.node.bytes()); },
          [&](const RegisterNode& b) {
            w.bytes(b.owner.bytes());
            writeAddresses(w, b.participation, b.addresses);
          },
          [&](const UpdateNode& b) {
            w.bytes(b.node.bytes());
            writeAddresses(w, b.participation, b.addresses);
          },
          [&](const RegisterService& b) { writeService(w, b.service, b.executable, b.commodity); },
          [&](const UpdateService& b) { writeService(w, b.service, b.executable, b.commodity); },
          [&](const SetPrice& b) {
            w.u8(static_cast<uint8_t>(b.commodity));
            w.u64(b.micro_price);
          },
          [&](const SetParams& b) { writeParams(w, b.params); },
          [&](const SubmitDacks& b) {
            THUNDER_CHECK(b.dacks.size() <= kMaxDackBatchLimit, "too many DACKs to encode");
            w.u16(static_cast<uint16_t>(b.dacks.size()));
            for (const auto& dack : b.dacks) {
              const std::vector<uint8_t> bytes = handshake::encodeDack(dack);
              w.u16(static_cast<uint16_t>(bytes.size()));
              w.bytes(bytes);
            }
          },
          [&](const EndEpoch& b) { w.u64(b.epoch); },
      },
      body);
}

void writeTransaction(WireWriter& w, const Transaction& tx) {
  w.u8(kEncodingVersion);
  w.u64(tx.chain_id);
  w.bytes(tx.signer.bytes());
  w.u64(tx.nonce);
  w.u8(static_cast<uint8_t>(kindOf(tx.body)));
  writeBody(w, tx.body);
}

Result<Commodity> readCommodity(WireReader& r) {
  THUNDER_ASSIGN_OR_RETURN(const uint8_t value, r.u8("commodity"));
  if (!isKnownCommodity(value)) {
    return fail(ErrorCode::kCorruption, "transaction: unknown commodity {}", value);
  }
  return static_cast<Commodity>(value);
}

Result<void> readKey(WireReader& r, std::string_view field, PublicKey& out) {
  return r.bytes(field, out.mutableBytes());
}

Result<void> readAddresses(WireReader& r, Participation& participation,
                           std::vector<std::string>& addresses) {
  THUNDER_ASSIGN_OR_RETURN(const uint8_t p, r.u8("participation"));
  if (p != static_cast<uint8_t>(Participation::kActive) &&
      p != static_cast<uint8_t>(Participation::kInactive)) {
    return fail(ErrorCode::kCorruption, "transaction: unknown participation {}", p);
  }
  participation = static_cast<Participation>(p);
  THUNDER_ASSIGN_OR_RETURN(const uint8_t count, r.u8("address count"));
  if (count > kMaxNodeAddresses) {
    return fail(ErrorCode::kCorruption, "transaction: {} node addresses (at most {})", count,
                kMaxNodeAddresses);
  }
  for (uint8_t i = 0; i < count; ++i) {
    THUNDER_ASSIGN_OR_RETURN(std::string a, r.str8("address", kMaxAddressLength));
    if (!addressOk(a)) {
      return fail(ErrorCode::kCorruption,
                  "transaction: node address {} is empty or not printable ASCII", i);
    }
    addresses.push_back(std::move(a));
  }
  return {};
}

template <typename Body>
Result<void> readService(WireReader& r, Body& b) {
  THUNDER_ASSIGN_OR_RETURN(const uint32_t id, r.u32("service"));
  b.service = ServiceId(id);
  THUNDER_TRY(r.bytes("executable", b.executable.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(b.commodity, readCommodity(r));
  return {};
}

Result<SubmitDacks> readDacks(WireReader& r) {
  SubmitDacks b;
  THUNDER_ASSIGN_OR_RETURN(const uint16_t count, r.u16("dack count"));
  if (count > kMaxDackBatchLimit) {
    return fail(ErrorCode::kCorruption, "transaction: {} DACKs (at most {})", count,
                kMaxDackBatchLimit);
  }
  b.dacks.reserve(count);
  for (uint16_t i = 0; i < count; ++i) {
    THUNDER_ASSIGN_OR_RETURN(const uint16_t length, r.u16("dack length"));
    if (length > handshake::kDackMaxSize) {
      return fail(ErrorCode::kCorruption, "transaction: DACK {} is {} bytes (at most {})", i,
                  length, handshake::kDackMaxSize);
    }
    THUNDER_ASSIGN_OR_RETURN(const auto bytes, r.view("dack", length));
    auto dack = handshake::parseDack(bytes);
    if (!dack) {
      return fail(ErrorCode::kCorruption, "transaction: DACK {}: {}", i, dack.error().message);
    }
    b.dacks.push_back(std::move(*dack));
  }
  return b;
}

Result<TxBody> readBody(WireReader& r, uint8_t kind) {
  switch (static_cast<TxKind>(kind)) {
    case TxKind::kTransfer: {
      Transfer b;
      THUNDER_TRY(readKey(r, "to", b.to));
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kDeposit: {
      Deposit b;
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kWithdraw: {
      Withdraw b;
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kMint: {
      Mint b;
      THUNDER_TRY(readKey(r, "to", b.to));
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kStake: {
      Stake b;
      THUNDER_TRY(readKey(r, "node", b.node));
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kUnstake: {
      Unstake b;
      THUNDER_TRY(readKey(r, "node", b.node));
      THUNDER_ASSIGN_OR_RETURN(b.amount, r.u64("amount"));
      return b;
    }
    case TxKind::kWithdrawUnstaked: {
      WithdrawUnstaked b;
      THUNDER_TRY(readKey(r, "node", b.node));
      return b;
    }
    case TxKind::kRegisterNode: {
      RegisterNode b;
      THUNDER_TRY(readKey(r, "owner", b.owner));
      THUNDER_TRY(readAddresses(r, b.participation, b.addresses));
      return b;
    }
    case TxKind::kUpdateNode: {
      UpdateNode b;
      THUNDER_TRY(readKey(r, "node", b.node));
      THUNDER_TRY(readAddresses(r, b.participation, b.addresses));
      return b;
    }
    case TxKind::kRegisterService: {
      RegisterService b;
      THUNDER_TRY(readService(r, b));
      return b;
    }
    case TxKind::kUpdateService: {
      UpdateService b;
      THUNDER_TRY(readService(r, b));
      return b;
    }
    case TxKind::kSetPrice: {
      SetPrice b;
      THUNDER_ASSIGN_OR_RETURN(b.commodity, readCommodity(r));
      THUNDER_ASSIGN_OR_RETURN(b.micro_price, r.u64("micro_price"));
      return b;
    }
    case TxKind::kSetParams: {
      SetParams b;
      THUNDER_ASSIGN_OR_RETURN(b.params, readParams(r));
      return b;
    }
    case TxKind::kSubmitDacks: {
      THUNDER_ASSIGN_OR_RETURN(SubmitDacks b, readDacks(r));
      return b;
    }
    case TxKind::kEndEpoch: {
      EndEpoch b;
      THUNDER_ASSIGN_OR_RETURN(b.epoch, r.u64("epoch"));
      return b;
    }
  }
  return fail(ErrorCode::kCorruption, "transaction: unknown kind {}", kind);
}

}  // namespace

std::string_view txKindName(TxKind kind) {
  switch (kind) {
    case TxKind::kTransfer: return "transfer";
    case TxKind::kDeposit: return "deposit";
    case TxKind::kWithdraw: return "withdraw";
    case TxKind::kMint: return "mint";
    case TxKind::kStake: return "stake";
    case TxKind::kUnstake: return "unstake";
    case TxKind::kWithdrawUnstaked: return "withdraw_unstaked";
    case TxKind::kRegisterNode: return "register_node";
    case TxKind::kUpdateNode: return "update_node";
    case TxKind::kRegisterService: return "register_service";
    case TxKind::kUpdateService: return "update_service";
    case TxKind::kSetPrice: return "set_price";
    case TxKind::kSetParams: return "set_params";
    case TxKind::kSubmitDacks: return "submit_dacks";
    case TxKind::kEndEpoch: return "end_epoch";
  }
  return "unknown";
}

Result<void> checkEncodable(const Transaction& tx) {
  const std::vector<std::string>* addresses = nullptr;
  if (const auto* b = std::get_if<RegisterNode>(&tx.body)) addresses = &b->addresses;
  if (const auto* b = std::get_if<UpdateNode>(&tx.body)) addresses = &b->addresses;
  if (addresses != nullptr) {
    if (addresses->size() > kMaxNodeAddresses) {
      return fail(ErrorCode::kInvalidArgument, "{} node addresses (at most {})", addresses->size(),
                  kMaxNodeAddresses);
    }
    for (const auto& a : *addresses) {
      if (!addressOk(a)) {
        return fail(ErrorCode::kInvalidArgument,
                    "node address '{}' is empty, over {} bytes or not printable ASCII", a,
                    kMaxAddressLength);
      }
    }
  }
  if (const auto* b = std::get_if<SubmitDacks>(&tx.body);
      b != nullptr && b->dacks.size() > kMaxDackBatchLimit) {
    return fail(ErrorCode::kInvalidArgument, "{} DACKs (at most {})", b->dacks.size(),
                kMaxDackBatchLimit);
  }
  return {};
}

std::vector<uint8_t> encodeTransaction(const Transaction& tx) {
  WireWriter w;
  writeTransaction(w, tx);
  return w.take();
}

std::vector<uint8_t> encodeSignedTransaction(const SignedTransaction& stx) {
  WireWriter w;
  writeTransaction(w, stx.tx);
  w.bytes(stx.signature.bytes());
  return w.take();
}

Result<SignedTransaction> decodeSignedTransaction(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxTransactionSize) {
    return fail(ErrorCode::kCorruption, "transaction: {} bytes (at most {})", bytes.size(),
                kMaxTransactionSize);
  }
  WireReader r(bytes, "transaction");
  SignedTransaction stx;
  THUNDER_ASSIGN_OR_RETURN(const uint8_t version, r.u8("version"));
  if (version != kEncodingVersion) {
    return fail(ErrorCode::kCorruption, "transaction: version {} (this node reads {})", version,
                kEncodingVersion);
  }
  THUNDER_ASSIGN_OR_RETURN(stx.tx.chain_id, r.u64("chain_id"));
  THUNDER_TRY(r.bytes("signer", stx.tx.signer.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(stx.tx.nonce, r.u64("nonce"));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("kind"));
  THUNDER_ASSIGN_OR_RETURN(stx.tx.body, readBody(r, kind));
  THUNDER_TRY(r.bytes("signature", stx.signature.mutableBytes()));
  THUNDER_TRY(r.expectEnd());
  return stx;
}

TxId txDigest(const Transaction& tx) {
  WireWriter w;
  writeTransaction(w, tx);
  auto hasher = crypto::Blake3Hasher::deriveKey(kTxContext);
  hasher.update(w.view());
  return TxId(hasher.finalize().bytes());
}

SignedTransaction signTransaction(Transaction tx, const crypto::SigningKey& key) {
  THUNDER_CHECK(tx.signer == key.publicKey(), "signTransaction: signer is not the key's");
  SignedTransaction stx{std::move(tx), {}};
  stx.signature = key.sign(txDigest(stx.tx).bytes());
  return stx;
}

Result<void> verifyTransactionSignature(const SignedTransaction& stx) {
  if (!crypto::verifySignature(stx.tx.signer, txDigest(stx.tx).bytes(), stx.signature)) {
    return fail(ErrorCode::kPermissionDenied, "transaction signature does not verify for signer {}",
                stx.tx.signer.hex());
  }
  return {};
}

}  // namespace thunder::ledger
