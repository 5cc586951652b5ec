#include "node/admin_api.h"

#include <nlohmann/json.hpp>

#include "base/check.h"

namespace thunder::node {

using net::HttpRequest;
using net::HttpResponse;

namespace {

constexpr std::pair<ErrorCode, unsigned> kErrorStatus[] = {
    {ErrorCode::kInvalidArgument, 400},  {ErrorCode::kPermissionDenied, 403},
    {ErrorCode::kNotFound, 404},         {ErrorCode::kAlreadyExists, 409},
    {ErrorCode::kCorruption, 422},       {ErrorCode::kCancelled, 499},
    {ErrorCode::kInternal, 500},         {ErrorCode::kIoError, 500},
    {ErrorCode::kUnavailable, 503},      {ErrorCode::kTimeout, 504},
    {ErrorCode::kResourceExhausted, 507}};

}  // namespace

HttpResponse errorResponse(const Error& error) {
  unsigned status = 500;
  for (const auto& [code, http_status] : kErrorStatus) {
    if (code == error.code) status = http_status;
  }
  nlohmann::json body = {
      {"error", {{"code", std::string(errorCodeName(error.code))}, {"message", error.message}}}};
  return HttpResponse::json(status, body.dump() + "\n");
}

Error errorFromResponse(const HttpResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const std::string code = body["error"].value("code", "");
    const std::string message = body["error"].value("message", "");
    for (const auto& [candidate, http_status] : kErrorStatus) {
      if (errorCodeName(candidate) == code) return Error{candidate, message};
    }
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("the node answered HTTP {}: {}", response.status, response.body)};
}

AdminApi::AdminApi(io::Runtime& runtime, AdminOptions options, MetricsRegistry& metrics,
                   std::function<std::string()> status_json)
    : runtime_(runtime), options_(std::move(options)), metrics_(metrics) {
  addRoute("GET", "/health", RouteAccess::kAnyone,
           [](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
             co_return HttpResponse::text(200, "ok\n");
           });
  addRoute("GET", "/metrics", RouteAccess::kAnyone,
           [this](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
             co_return HttpResponse{
                 200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics_.render()};
           });
  addRoute(
      "GET", "/status", RouteAccess::kAnyone,
      [status_json = std::move(status_json)](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
        co_return HttpResponse::json(200, status_json() + "\n");
      });
}

AdminApi::~AdminApi() {
  stop();
}

void AdminApi::addRoute(std::string method, std::string path, RouteAccess access,
                        AdminHandler handler) {
  THUNDER_CHECK(!server_, "routes are added before the admin API starts");
  routes_.push_back(Route{std::move(method), std::move(path), access, std::move(handler)});
}

Result<void> AdminApi::start() {
  net::HttpServerOptions server_options;
  server_options.listen = options_.listen;
  server_options.max_connections = options_.max_connections;
  server_options.idle_timeout = options_.idle_timeout;
  server_options.max_body_bytes = 64 * 1024;
  auto server = net::HttpServer::start(
      runtime_, server_options, [this](HttpRequest request) { return handle(std::move(request)); });
  if (!server) return fail(server.error().withContext("admin API"));
  server_ = std::move(server).value();
  return {};
}

void AdminApi::stop() {
  if (server_) {
    server_->stop();
    server_.reset();
  }
}

std::string AdminApi::localAddress() const {
  return server_ ? server_->localAddress() : "";
}

boost::asio::awaitable<HttpResponse> AdminApi::handle(HttpRequest request) {
  const std::string path(request.path());
  const Route* path_match = nullptr;
  const Route* route = nullptr;
  for (const Route& r : routes_) {
    if (r.path != path) continue;
    path_match = &r;
    if (r.method == request.method || (r.method == "GET" && request.method == "HEAD")) {
      route = &r;
      break;
    }
  }
  metrics_
      .counter("thunder_admin_requests_total", "Requests to the admin API by route.",
               {{"route", path_match ? path : "other"}})
      .add();
  if (!path_match)
    co_return HttpResponse::text(404, "not found; try /health, /metrics or /status\n");
  if (!route) {
    auto response = HttpResponse::text(405, "method not allowed; use " + path_match->method + "\n");
    response.headers.emplace_back("Allow", path_match->method);
    co_return response;
  }
  if (route->access == RouteAccess::kLoopbackOnly && !request.fromLoopback()) {
    co_return HttpResponse::text(403, "this route only answers loopback clients\n");
  }
  HttpResponse response = co_await route->handler(std::move(request));
  response.headers.emplace_back("Cache-Control", "no-store");
  co_return response;
}

}  // namespace thunder::node
