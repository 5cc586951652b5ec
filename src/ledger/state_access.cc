#include "ledger/state_access.h"

#include "ledger/state_keys.h"

namespace thunder::ledger {
namespace {

std::span<const uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<const std::string*> required(const StateReader& s, const std::string& key,
                                    std::string_view what) {
  const std::string* value = s.get(key);
  if (value == nullptr) {
    return fail(ErrorCode::kCorruption, "ledger state has no {} (not a ledger database?)", what);
  }
  return value;
}

template <typename T>
Result<T> context(Result<T> r, std::string_view what) {
  if (!r) return fail(r.error().withContext(what));
  return r;
}

}  // namespace

Result<ChainConfig> readChainConfig(const StateReader& s) {
  THUNDER_ASSIGN_OR_RETURN(const std::string* v, required(s, keys::chainConfig(), "chain config"));
  return decodeChainConfig(*v);
}

Result<Params> readParams(const StateReader& s) {
  THUNDER_ASSIGN_OR_RETURN(const std::string* v, required(s, keys::params(), "parameters"));
  return decodeParams(asBytes(*v));
}

Result<Supply> readSupply(const StateReader& s) {
  THUNDER_ASSIGN_OR_RETURN(const std::string* v, required(s, keys::supply(), "supply"));
  return decodeSupply(*v);
}

Result<EpochState> readEpoch(const StateReader& s) {
  THUNDER_ASSIGN_OR_RETURN(const std::string* v, required(s, keys::epoch(), "epoch state"));
  return decodeEpochState(*v);
}

void writeChainConfig(StateOverlay& s, const ChainConfig& v) {
  s.put(keys::chainConfig(), encodeChainConfig(v));
}

void writeParams(StateOverlay& s, const Params& v) {
  const std::vector<uint8_t> bytes = encodeParams(v);
  s.put(keys::params(), std::string(bytes.begin(), bytes.end()));
}

void writeSupply(StateOverlay& s, const Supply& v) {
  s.put(keys::supply(), encodeSupply(v));
}

void writeEpoch(StateOverlay& s, const EpochState& v) {
  s.put(keys::epoch(), encodeEpochState(v));
}

Result<uint64_t> readPrice(const StateReader& s, Commodity commodity) {
  const std::string* v = s.get(keys::price(commodity));
  if (v == nullptr) return 0;
  return decodeU64(*v, "price");
}

void writePrice(StateOverlay& s, Commodity commodity, uint64_t micro_price) {
  s.put(keys::price(commodity), encodeU64(micro_price));
}

Result<Account> readAccount(const StateReader& s, const AccountId& id) {
  const std::string* v = s.get(keys::account(id));
  if (v == nullptr) return Account{};
  return context(decodeAccount(*v), id.hex());
}

void writeAccount(StateOverlay& s, const AccountId& id, const Account& v) {
  if (v == Account{}) {
    s.erase(keys::account(id));
  } else {
    s.put(keys::account(id), encodeAccount(v));
  }
}

Result<std::optional<NodeRecord>> readNode(const StateReader& s, const PublicKey& node) {
  const std::string* v = s.get(keys::node(node));
  if (v == nullptr) return std::optional<NodeRecord>();
  THUNDER_ASSIGN_OR_RETURN(NodeRecord record, context(decodeNode(node, *v), node.hex()));
  return std::optional<NodeRecord>(std::move(record));
}

void writeNode(StateOverlay& s, const NodeRecord& v) {
  s.put(keys::node(v.node), encodeNode(v));
}

Result<std::vector<NodeRecord>> readNodes(const StateReader& s) {
  std::vector<NodeRecord> out;
  Result<void> status;
  s.scan(keys::prefix(keys::Table::kNode), [&](std::string_view key, std::string_view value) {
    if (!status) return;
    const auto node = keys::publicKeyIn(key, keys::Table::kNode);
    if (!node) {
      status = fail(ErrorCode::kCorruption, "ledger state: malformed node key");
      return;
    }
    auto record = decodeNode(*node, value);
    if (!record) {
      status = fail(record.error());
      return;
    }
    out.push_back(std::move(*record));
  });
  THUNDER_TRY(status);
  return out;
}

Result<std::optional<ServiceRecord>> readService(const StateReader& s, ServiceId service) {
  const std::string* v = s.get(keys::service(service));
  if (v == nullptr) return std::optional<ServiceRecord>();
  THUNDER_ASSIGN_OR_RETURN(ServiceRecord record, decodeService(service, *v));
  return std::optional<ServiceRecord>(std::move(record));
}

void writeService(StateOverlay& s, const ServiceRecord& v) {
  s.put(keys::service(v.service), encodeService(v));
}

Result<std::vector<ServiceRecord>> readServices(const StateReader& s) {
  std::vector<ServiceRecord> out;
  Result<void> status;
  s.scan(keys::prefix(keys::Table::kService), [&](std::string_view key, std::string_view value) {
    if (!status) return;
    const auto id = keys::serviceIn(key, keys::Table::kService);
    if (!id) {
      status = fail(ErrorCode::kCorruption, "ledger state: malformed service key");
      return;
    }
    auto record = decodeService(*id, value);
    if (!record) {
      status = fail(record.error());
      return;
    }
    out.push_back(std::move(*record));
  });
  THUNDER_TRY(status);
  return out;
}

Result<LaneRecord> readLane(const StateReader& s, const handshake::Dack& dack) {
  const std::string* v = s.get(keys::lane(dack));
  if (v == nullptr) return LaneRecord{};
  return decodeLane(*v);
}

void writeLane(StateOverlay& s, const handshake::Dack& dack, const LaneRecord& v) {
  if (v == LaneRecord{}) {
    s.erase(keys::lane(dack));
  } else {
    s.put(keys::lane(dack), encodeLane(v));
  }
}

namespace {

Result<Served> readServedAt(const StateReader& s, const std::string& key) {
  const std::string* v = s.get(key);
  if (v == nullptr) return Served{};
  return decodeServed(*v);
}

void writeServedAt(StateOverlay& s, std::string key, const Served& v) {
  if (v == Served{}) {
    s.erase(std::move(key));
  } else {
    s.put(std::move(key), encodeServed(v));
  }
}

}  // namespace

Result<Served> readServedByNode(const StateReader& s, const PublicKey& node) {
  return readServedAt(s, keys::servedByNode(node));
}

void writeServedByNode(StateOverlay& s, const PublicKey& node, const Served& v) {
  writeServedAt(s, keys::servedByNode(node), v);
}

Result<Served> readServedByService(const StateReader& s, ServiceId service) {
  return readServedAt(s, keys::servedByService(service));
}

void writeServedByService(StateOverlay& s, ServiceId service, const Served& v) {
  writeServedAt(s, keys::servedByService(service), v);
}

Result<std::optional<EpochSummary>> readEpochSummary(const StateReader& s, uint64_t epoch) {
  const std::string* v = s.get(keys::epochSummary(epoch));
  if (v == nullptr) return std::optional<EpochSummary>();
  THUNDER_ASSIGN_OR_RETURN(EpochSummary summary, decodeEpochSummary(epoch, *v));
  return std::optional<EpochSummary>(summary);
}

void writeEpochSummary(StateOverlay& s, const EpochSummary& v) {
  s.put(keys::epochSummary(v.epoch), encodeEpochSummary(v));
}

Result<std::vector<RewardEntry>> readRewards(const StateReader& s, uint64_t epoch) {
  std::vector<RewardEntry> out;
  Result<void> status;
  s.scan(keys::rewardsOf(epoch), [&](std::string_view key, std::string_view value) {
    if (!status) return;
    auto entry = decodeReward(key, value);
    if (!entry) {
      status = fail(entry.error());
      return;
    }
    out.push_back(std::move(*entry));
  });
  THUNDER_TRY(status);
  return out;
}

void writeReward(StateOverlay& s, const RewardEntry& v) {
  s.put(v.kind == RecipientKind::kNode ? keys::nodeReward(v.epoch, v.node)
                                       : keys::serviceReward(v.epoch, v.service),
        encodeReward(v));
}

}  // namespace thunder::ledger
