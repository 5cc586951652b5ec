// Helpers shared by the handshake unit tests (header-only; not part of the library's API):
// deterministic keys, a fake service registry, a node context with fake time, and functions
// that pick actions out of an Actions list.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "crypto/signing.h"
#include "handshake/server_session.h"
#include "handshake/session.h"

namespace thunder::handshake::testing {

inline crypto::SigningKey keyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return crypto::SigningKey::fromSeed(seed);
}

class FakeServiceRegistry final : public ServiceRegistry {
 public:
  explicit FakeServiceRegistry(std::set<uint32_t> ids) : ids_(std::move(ids)) {}
  bool hasService(ServiceId service) const override { return ids_.contains(service.value()); }

 private:
  std::set<uint32_t> ids_;
};

// A node: key, fake clock, lane table, replay cache and registry (services 7 and 8).
struct FakeNode {
  explicit FakeNode(LaneTableOptions lane_options = {}, ServerOptions server_options = {})
      : lanes(lane_options, clock), replay({}, clock), context{node_key, lanes, replay,
                                                               services, clock, server_options} {}

  std::unique_ptr<ServerSession> accept(TransportBinding binding) {
    return std::make_unique<ServerSession>(context, std::move(binding));
  }

  crypto::SigningKey node_key = keyFromByte(0xA0);
  FakeClock clock;
  LaneTable lanes;
  HelloReplayCache replay;
  FakeServiceRegistry services{{7, 8}};
  ServerContext context;
};

inline std::vector<uint8_t> sentBytes(const Actions& actions) {
  std::vector<uint8_t> out;
  for (const auto& action : actions) {
    if (const auto* send = std::get_if<SendBytes>(&action)) {
      out.insert(out.end(), send->bytes.begin(), send->bytes.end());
    }
  }
  return out;
}

template <typename T>
std::vector<T> actionsOf(const Actions& actions) {
  std::vector<T> out;
  for (const auto& action : actions) {
    if (const auto* a = std::get_if<T>(&action)) out.push_back(*a);
  }
  return out;
}

template <typename T>
std::optional<T> firstOf(const Actions& actions) {
  auto all = actionsOf<T>(actions);
  if (all.empty()) return std::nullopt;
  return all.front();
}

inline void append(Actions& to, Actions from) {
  for (auto& a : from) to.push_back(std::move(a));
}

}  // namespace thunder::handshake::testing
