// JSON forms of ledger values for the node's REST / JSON-RPC endpoint and the CLI
// (docs/protocol/ledger.md §10). Keys, hashes and signatures are lowercase hex; token amounts
// and prices are decimal strings (JSON numbers lose precision above 2^53); heights, nonces,
// epochs, ids and commodity units are numbers. Commodities, kinds and statuses are names
// ("bandwidth_bytes", "transfer", "applied"). The fromJson functions take untrusted input:
// kInvalidArgument naming the field on any problem; they never throw. Pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/records.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

nlohmann::json toJson(const Account& v);
nlohmann::json toJson(const NodeRecord& v);
nlohmann::json toJson(const ServiceRecord& v);
nlohmann::json toJson(const Params& v);
nlohmann::json toJson(const ChainConfig& v);
nlohmann::json toJson(const Supply& v);
nlohmann::json toJson(const EpochState& v);
nlohmann::json toJson(const EpochSummary& v);
nlohmann::json toJson(const RewardEntry& v);
nlohmann::json toJson(const Served& v);
nlohmann::json toJson(const LaneRecord& v);
nlohmann::json toJson(const DackOutcome& v);
nlohmann::json toJson(const Receipt& v);
nlohmann::json toJson(const BlockHeader& v);
nlohmann::json toJson(const BlockResult& v);
nlohmann::json toJson(const SupplyAudit& v);
nlohmann::json toJson(const Genesis& v);
// {"chain_id", "signer", "nonce", "kind", <kind's fields>}; DACKs as hex of their encoding.
nlohmann::json toJson(const Transaction& v);
// toJson(tx) plus "id" and "signature", and "hex": the canonical encoding to submit.
nlohmann::json toJson(const SignedTransaction& v);

Result<Params> paramsFromJson(const nlohmann::json& j);
Result<Genesis> genesisFromJson(const nlohmann::json& j);
// The inverse of toJson(Transaction).
Result<Transaction> transactionFromJson(const nlohmann::json& j);
// {"hex": "<signed transaction encoding>"} or that hex string alone; decoded strictly
// (kCorruption from decodeSignedTransaction()).
Result<SignedTransaction> signedTransactionFromJson(const nlohmann::json& j);

std::string_view commodityName(Commodity commodity);
Result<Commodity> commodityFromName(std::string_view name);

}  // namespace thunder::ledger
