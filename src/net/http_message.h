// Plain HTTP request/response values exchanged between the HTTP server and its handler.
// Small, buffered messages (admin and control endpoints); streaming bodies are the gateway's.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace thunder::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = {};  // "GET"
  std::string target = {};  // "/status?verbose=1"
  HttpHeaders headers = {};
  std::string body = {};
  std::string remote_address = {};  // the peer, "127.0.0.1:51234" (set by the server)

  // The path part of the target, without the query.
  std::string_view path() const;
  // The first header with this name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  // Whether the peer is on a loopback address (127.0.0.0/8 or ::1).
  bool fromLoopback() const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HttpHeaders headers;
  std::string body;

  static HttpResponse text(unsigned status, std::string body);
  static HttpResponse json(unsigned status, std::string body);
};

}  // namespace thunder::net
