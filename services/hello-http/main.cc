// thunder-service-hello-http: answers every HTTP request with a small HTML page naming the
// method and path, and every other connection with one text line (services/hello-http/README.md).
#include <thunder/sdk/sdk.h>

#include <string>

namespace sdk = thunder::sdk;

namespace {

// Escapes the characters that matter in HTML text.
std::string escapeHtml(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

boost::asio::awaitable<void> hello(sdk::Connection& connection) {
  if (!connection.isHttp()) {
    const std::string line =
        "hello from thunder (" + connection.info().transport + "); this service speaks HTTP\n";
    (void)co_await connection.write(line);
    co_return;  // the SDK ends the connection normally
  }
  const sdk::HttpRequestHead& request = *connection.info().http;
  const std::string target =
      request.query.empty() ? request.path : request.path + "?" + request.query;
  sdk::HttpResponse response;
  response.headers.push_back({"Content-Type", "text/html; charset=utf-8"});
  response.headers.push_back({"Cache-Control", "no-store"});
  response.body =
      "<!doctype html>\n<html><head><title>hello</title></head><body>\n<h1>Hello from "
      "Thunder</h1>\n<p>" +
      escapeHtml(request.method) + " " + escapeHtml(target) + "</p>\n</body></html>\n";
  // The body, if any, is not needed: answer at once (ipc.md §4.2 allows it).
  (void)co_await sdk::writeHttpResponse(connection, std::move(response));
}

}  // namespace

int main() {
  auto service = sdk::Service::fromEnvironment();
  if (!service) return sdk::reportStartupError(service.error());
  (*service)->onConnection(hello);
  return (*service)->run() ? 0 : 1;
}
