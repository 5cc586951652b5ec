#include "handshake/session_service.h"

namespace thunder::handshake {

Result<void> SessionServices::add(std::unique_ptr<SessionService> service) {
  const uint32_t id = service->id().value();
  if (services_.contains(id)) {
    return fail(ErrorCode::kAlreadyExists, "service id {} is already taken by '{}'", id,
                services_.at(id)->name());
  }
  services_.emplace(id, std::move(service));
  return {};
}

SessionService* SessionServices::find(ServiceId id) const {
  auto it = services_.find(id.value());
  return it == services_.end() ? nullptr : it->second.get();
}

}  // namespace thunder::handshake
