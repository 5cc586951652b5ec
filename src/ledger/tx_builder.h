// TxBuilder: builds and signs transactions for one signer with consecutive nonces (the CLI's
// and tests' helper). Get the first nonce from Ledger::account(signer).nonce + 1.
// Borrows the key, which must outlive the builder. Not thread-safe (it counts nonces).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/signing.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

class TxBuilder {
 public:
  TxBuilder(uint64_t chain_id, const crypto::SigningKey& key, uint64_t next_nonce)
      : chain_id_(chain_id), key_(key), signer_(key.publicKey()), next_nonce_(next_nonce) {}

  // Signs `body` with the next nonce and advances it.
  SignedTransaction sign(TxBody body);
  // Encodes as well (what a REST/JSON-RPC endpoint takes, in hex).
  std::vector<uint8_t> signEncoded(TxBody body);

  SignedTransaction transfer(const AccountId& to, Amount amount);
  SignedTransaction deposit(Amount amount);
  SignedTransaction withdraw(Amount amount);
  SignedTransaction mint(const AccountId& to, Amount amount);
  SignedTransaction stake(const PublicKey& node, Amount amount);
  SignedTransaction unstake(const PublicKey& node, Amount amount);
  SignedTransaction withdrawUnstaked(const PublicKey& node);
  SignedTransaction registerNode(const AccountId& owner, std::vector<std::string> addresses,
                                 Participation participation = Participation::kActive);
  SignedTransaction updateNode(const PublicKey& node, std::vector<std::string> addresses,
                               Participation participation);
  SignedTransaction registerService(ServiceId service, const BlobId& executable,
                                    Commodity commodity);
  SignedTransaction updateService(ServiceId service, const BlobId& executable, Commodity commodity);
  SignedTransaction setPrice(Commodity commodity, uint64_t micro_price);
  SignedTransaction setParams(const Params& params);
  SignedTransaction submitDacks(std::vector<handshake::Dack> dacks);
  SignedTransaction endEpoch(uint64_t epoch);

  const AccountId& signer() const { return signer_; }
  uint64_t nextNonce() const { return next_nonce_; }

 private:
  uint64_t chain_id_;
  const crypto::SigningKey& key_;
  AccountId signer_;
  uint64_t next_nonce_;
};

}  // namespace thunder::ledger
