#include "ledger/tx_builder.h"

#include "ledger/tx_codec.h"

namespace thunder::ledger {

SignedTransaction TxBuilder::sign(TxBody body) {
  Transaction tx{chain_id_, signer_, next_nonce_++, std::move(body)};
  return signTransaction(std::move(tx), key_);
}

std::vector<uint8_t> TxBuilder::signEncoded(TxBody body) {
  return encodeSignedTransaction(sign(std::move(body)));
}

SignedTransaction TxBuilder::transfer(const AccountId& to, Amount amount) {
  return sign(Transfer{to, amount});
}

SignedTransaction TxBuilder::deposit(Amount amount) {
  return sign(Deposit{amount});
}

SignedTransaction TxBuilder::withdraw(Amount amount) {
  return sign(Withdraw{amount});
}

SignedTransaction TxBuilder::mint(const AccountId& to, Amount amount) {
  return sign(Mint{to, amount});
}

SignedTransaction TxBuilder::stake(const PublicKey& node, Amount amount) {
  return sign(Stake{node, amount});
}

SignedTransaction TxBuilder::unstake(const PublicKey& node, Amount amount) {
  return sign(Unstake{node, amount});
}

SignedTransaction TxBuilder::withdrawUnstaked(const PublicKey& node) {
  return sign(WithdrawUnstaked{node});
}

SignedTransaction TxBuilder::registerNode(const AccountId& owner,
                                          std::vector<std::string> addresses,
                                          Participation participation) {
  return sign(RegisterNode{owner, participation, std::move(addresses)});
}

SignedTransaction TxBuilder::updateNode(const PublicKey& node, std::vector<std::string> addresses,
                                        Participation participation) {
  return sign(UpdateNode{node, participation, std::move(addresses)});
}

SignedTransaction TxBuilder::registerService(ServiceId service, const BlobId& executable,
                                             Commodity commodity) {
  return sign(RegisterService{service, executable, commodity});
}

SignedTransaction TxBuilder::updateService(ServiceId service, const BlobId& executable,
                                           Commodity commodity) {
  return sign(UpdateService{service, executable, commodity});
}

SignedTransaction TxBuilder::setPrice(Commodity commodity, uint64_t micro_price) {
  return sign(SetPrice{commodity, micro_price});
}

SignedTransaction TxBuilder::setParams(const Params& params) {
  return sign(SetParams{params});
}

SignedTransaction TxBuilder::submitDacks(std::vector<handshake::Dack> dacks) {
  return sign(SubmitDacks{std::move(dacks)});
}

SignedTransaction TxBuilder::endEpoch(uint64_t epoch) {
  return sign(EndEpoch{epoch});
}

}  // namespace thunder::ledger
