// The canonical binary encoding of transactions, their digest (= id) and signatures
// (docs/protocol/ledger.md §3).
//
//   signed_tx = tx_body ‖ signature[64]
//   tx_body   = version u8 (1) ‖ chain_id u64 ‖ signer[32] ‖ nonce u64 ‖ kind u8 ‖ body
//   digest    = BLAKE3-derive-key("thunder ledger v1 tx", tx_body)
//
// Every value has exactly one encoding: decodeSignedTransaction() refuses anything
// encodeSignedTransaction() would not produce. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "crypto/signing.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

// tx_body: the bytes the digest covers.
std::vector<uint8_t> encodeTransaction(const Transaction& tx);
// tx_body ‖ signature. Precondition (checked): the body respects the decoding limits (at most
// kMaxDackBatchLimit DACKs, kMaxNodeAddresses addresses of 1..kMaxAddressLength printable bytes).
std::vector<uint8_t> encodeSignedTransaction(const SignedTransaction& stx);

// kInvalidArgument naming the field if `tx` breaks a precondition of the encoder (too many
// DACKs or addresses, an address empty, too long or not printable ASCII). Check values built
// from untrusted input (JSON) with this before encoding them.
Result<void> checkEncodable(const Transaction& tx);

// Parses untrusted bytes. kCorruption naming the field on: truncation, trailing bytes, a size
// above kMaxTransactionSize, an unknown version, kind, commodity or participation value, an
// address list or address over its limit or with a byte outside 0x21..0x7e, more than
// kMaxDackBatchLimit DACKs, or a DACK that handshake::parseDack() refuses.
Result<SignedTransaction> decodeSignedTransaction(std::span<const uint8_t> bytes);

// The signed message, which is also the transaction id.
TxId txDigest(const Transaction& tx);

// Signs `tx` with `key`. Precondition (checked): tx.signer == key.publicKey().
SignedTransaction signTransaction(Transaction tx, const crypto::SigningKey& key);

// kPermissionDenied if the signature does not verify for tx.signer.
Result<void> verifyTransactionSignature(const SignedTransaction& stx);

}  // namespace thunder::ledger
