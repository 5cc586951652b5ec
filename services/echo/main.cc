// thunder-service-echo: sends every byte a client sends straight back, until the client ends.
// The smallest complete service on the SDK (services/echo/README.md).
#include <thunder/sdk/sdk.h>

namespace sdk = thunder::sdk;

namespace {

boost::asio::awaitable<void> echo(sdk::Connection& connection) {
  for (;;) {
    auto chunk = co_await connection.read();
    if (!chunk || !*chunk) co_return;  // a broken channel, or the client ended
    const sdk::Bytes bytes = std::move(**chunk);
    if (!co_await connection.write(std::span<const uint8_t>(bytes))) co_return;
  }
}

}  // namespace

int main() {
  auto service = sdk::Service::fromEnvironment();
  if (!service) return sdk::reportStartupError(service.error());
  (*service)->onConnection(echo);
  return (*service)->run() ? 0 : 1;
}
