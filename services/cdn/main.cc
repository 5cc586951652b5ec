// thunder-service-cdn: serves content by reference as the node's content service (service 0)
// and over HTTP (services/cdn/README.md). Built only on the SDK.
#include <thunder/sdk/sdk.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "cdn_handler.h"

namespace asio = boost::asio;
namespace sdk = thunder::sdk;

namespace {

// Reports the handler's counters to the node (/metrics) once a second while they change; ends
// once the control channel has closed (the call fails).
asio::awaitable<void> reportMetrics(sdk::Service* service,
                                    const thunder::cdn::CdnHandler* handler) {
  asio::steady_timer timer(service->context());
  thunder::cdn::CdnStats reported;
  bool first = true;
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    const thunder::cdn::CdnStats now = handler->stats();
    if (!first && now.sessions == reported.sessions &&
        now.http_requests == reported.http_requests && now.not_found == reported.not_found &&
        now.bad_requests == reported.bad_requests &&
        now.bytes_by_reference == reported.bytes_by_reference) {
      continue;
    }
    const std::vector<sdk::MetricSample> samples = {
        {"sessions_total", sdk::MetricKind::kCounter, now.sessions},
        {"http_requests_total", sdk::MetricKind::kCounter, now.http_requests},
        {"not_found_total", sdk::MetricKind::kCounter, now.not_found},
        {"bad_requests_total", sdk::MetricKind::kCounter, now.bad_requests},
        {"bytes_by_reference_total", sdk::MetricKind::kCounter, now.bytes_by_reference}};
    const auto sent = co_await service->metrics(samples);
    if (!sent && sent.error().code == sdk::ErrorCode::kUnavailable) co_return;
    reported = now;
    first = false;
  }
}

}  // namespace

int main() {
  auto service = sdk::Service::fromEnvironment();
  if (!service) return sdk::reportStartupError(service.error());
  thunder::cdn::CdnHandler handler(**service);
  (*service)->onConnection(
      [&handler](sdk::Connection& connection) { return handler.serve(connection); });
  asio::co_spawn((*service)->context(), reportMetrics(service->get(), &handler), asio::detached);
  return (*service)->run() ? 0 : 1;
}
