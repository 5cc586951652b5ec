#include "ledger/state_keys.h"

namespace thunder::ledger::keys {
namespace {

void appendBe(std::string& out, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void appendBytes(std::string& out, std::span<const uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string withKey(Table table, const PublicKey& key) {
  std::string out = prefix(table);
  appendBytes(out, key.bytes());
  return out;
}

std::string withService(Table table, ServiceId service) {
  std::string out = prefix(table);
  appendBe(out, service.value(), 4);
  return out;
}

}  // namespace

std::string prefix(Table table) {
  return std::string(1, static_cast<char>(table));
}

std::string chainConfig() {
  return prefix(Table::kChainConfig);
}

std::string params() {
  return prefix(Table::kParams);
}

std::string price(Commodity commodity) {
  std::string out = prefix(Table::kPrice);
  out.push_back(static_cast<char>(commodity));
  return out;
}

std::string supply() {
  return prefix(Table::kSupply);
}

std::string epoch() {
  return prefix(Table::kEpoch);
}

std::string account(const AccountId& account) {
  return withKey(Table::kAccount, account);
}

std::string node(const PublicKey& node) {
  return withKey(Table::kNode, node);
}

std::string service(ServiceId service) {
  return withService(Table::kService, service);
}

std::string lane(const handshake::Dack& dack) {
  std::string out = prefix(Table::kLane);
  out.reserve(1 + 32 + 32 + 4 + 4 + 32 + 1);
  appendBytes(out, dack.scope.node_pk.bytes());
  appendBytes(out, dack.scope.client_pk.bytes());
  appendBe(out, dack.scope.service.value(), 4);
  appendBe(out, dack.scope.lane, 4);
  appendBytes(out, dack.scope.session_nonce.bytes());
  out.push_back(static_cast<char>(dack.commodity));
  return out;
}

std::string servedByNode(const PublicKey& node) {
  return withKey(Table::kServedByNode, node);
}

std::string servedByService(ServiceId service) {
  return withService(Table::kServedByService, service);
}

std::string epochSummary(uint64_t epoch) {
  std::string out = prefix(Table::kEpochSummary);
  appendBe(out, epoch, 8);
  return out;
}

std::string rewardsOf(uint64_t epoch) {
  std::string out = prefix(Table::kReward);
  appendBe(out, epoch, 8);
  return out;
}

std::string nodeReward(uint64_t epoch, const PublicKey& node) {
  std::string out = rewardsOf(epoch);
  out.push_back(static_cast<char>(RecipientKind::kNode));
  appendBytes(out, node.bytes());
  return out;
}

std::string serviceReward(uint64_t epoch, ServiceId service) {
  std::string out = rewardsOf(epoch);
  out.push_back(static_cast<char>(RecipientKind::kService));
  appendBe(out, service.value(), 4);
  return out;
}

std::optional<PublicKey> publicKeyIn(std::string_view key, Table table) {
  if (key.size() != 1 + PublicKey::kSize || static_cast<uint8_t>(key[0]) != uint8_t(table)) {
    return std::nullopt;
  }
  PublicKey out;
  std::memcpy(out.data(), key.data() + 1, PublicKey::kSize);
  return out;
}

std::optional<ServiceId> serviceIn(std::string_view key, Table table) {
  if (key.size() != 1 + 4 || static_cast<uint8_t>(key[0]) != uint8_t(table)) return std::nullopt;
  uint32_t v = 0;
  for (int i = 1; i <= 4; ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return ServiceId(v);
}

}  // namespace thunder::ledger::keys
