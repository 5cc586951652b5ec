#include "handshake/session_hub.h"

namespace thunder::handshake {

SessionHub::SessionHub(const crypto::SigningKey& node_key, const ServiceRegistry& services,
                       const Clock& clock, SessionHubOptions options)
    : lanes_(options.lanes, clock),
      replay_(options.replay, clock),
      context_{node_key, lanes_, replay_, services, clock, options.server} {}

size_t SessionHub::laneCount() {
  return locked([this] { return lanes_.size(); });
}

size_t SessionHub::expireLanes() {
  return locked([this] { return lanes_.expire(); });
}

}  // namespace thunder::handshake
