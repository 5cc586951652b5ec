#include "node/admin_api.h"

namespace thunder::node {

AdminApi::AdminApi(io::Runtime& runtime, AdminOptions options, MetricsRegistry& metrics,
                   std::function<std::string()> status_json)
    : runtime_(runtime),
      options_(std::move(options)),
      metrics_(metrics),
      status_json_(std::move(status_json)) {}

AdminApi::~AdminApi() {
  stop();
}

Result<void> AdminApi::start() {
  net::HttpServerOptions server_options;
  server_options.listen = options_.listen;
  server_options.max_connections = options_.max_connections;
  server_options.idle_timeout = options_.idle_timeout;
  server_options.max_body_bytes = 64 * 1024;
  auto server = net::HttpServer::start(runtime_, server_options,
                                       [this](const net::HttpRequest& r) { return handle(r); });
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

net::HttpResponse AdminApi::handle(const net::HttpRequest& request) {
  const std::string_view path = request.path();
  const bool known = path == "/health" || path == "/metrics" || path == "/status";
  metrics_
      .counter("thunder_admin_requests_total", "Requests to the admin API by route.",
               {{"route", known ? std::string(path) : "other"}})
      .add();
  if (!known) {
    return net::HttpResponse::text(404, "not found; try /health, /metrics or /status\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = net::HttpResponse::text(405, "only GET and HEAD\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  net::HttpResponse response;
  if (path == "/health") {
    response = net::HttpResponse::text(200, "ok\n");
  } else if (path == "/metrics") {
    response =
        net::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics_.render()};
  } else {
    response = net::HttpResponse::json(200, status_json_() + "\n");
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace thunder::node
