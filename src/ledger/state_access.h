// Typed reads and writes of the ledger state: each function maps one record to its key
// (state_keys.h) and value encoding (records.h). Reads take any StateReader; writes go to a
// StateOverlay. A stored value that does not decode is kCorruption naming the record.
// An account, served counter or lane that is absent reads as all zeros, and writing an
// all-zero one deletes its key, so "absent" and "zero" are the same state.
#pragma once

#include <optional>
#include <vector>

#include "base/result.h"
#include "handshake/dack.h"
#include "ledger/params.h"
#include "ledger/records.h"
#include "ledger/state_overlay.h"
#include "ledger/state_reader.h"

namespace thunder::ledger {

// Written once at genesis: kCorruption if absent.
Result<ChainConfig> readChainConfig(const StateReader& s);
Result<Params> readParams(const StateReader& s);
Result<Supply> readSupply(const StateReader& s);
Result<EpochState> readEpoch(const StateReader& s);
void writeChainConfig(StateOverlay& s, const ChainConfig& v);
void writeParams(StateOverlay& s, const Params& v);
void writeSupply(StateOverlay& s, const Supply& v);
void writeEpoch(StateOverlay& s, const EpochState& v);

// 0 if no price was ever set.
Result<uint64_t> readPrice(const StateReader& s, Commodity commodity);
void writePrice(StateOverlay& s, Commodity commodity, uint64_t micro_price);

Result<Account> readAccount(const StateReader& s, const AccountId& id);
void writeAccount(StateOverlay& s, const AccountId& id, const Account& v);

Result<std::optional<NodeRecord>> readNode(const StateReader& s, const PublicKey& node);
void writeNode(StateOverlay& s, const NodeRecord& v);
Result<std::vector<NodeRecord>> readNodes(const StateReader& s);

Result<std::optional<ServiceRecord>> readService(const StateReader& s, ServiceId service);
void writeService(StateOverlay& s, const ServiceRecord& v);
Result<std::vector<ServiceRecord>> readServices(const StateReader& s);

Result<LaneRecord> readLane(const StateReader& s, const handshake::Dack& dack);
void writeLane(StateOverlay& s, const handshake::Dack& dack, const LaneRecord& v);

Result<Served> readServedByNode(const StateReader& s, const PublicKey& node);
void writeServedByNode(StateOverlay& s, const PublicKey& node, const Served& v);
Result<Served> readServedByService(const StateReader& s, ServiceId service);
void writeServedByService(StateOverlay& s, ServiceId service, const Served& v);

Result<std::optional<EpochSummary>> readEpochSummary(const StateReader& s, uint64_t epoch);
void writeEpochSummary(StateOverlay& s, const EpochSummary& v);
// Reward entries of an epoch: nodes in key order, then services in id order.
Result<std::vector<RewardEntry>> readRewards(const StateReader& s, uint64_t epoch);
void writeReward(StateOverlay& s, const RewardEntry& v);

}  // namespace thunder::ledger
