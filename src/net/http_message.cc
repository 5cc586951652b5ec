#include "net/http_message.h"

#include <strings.h>

namespace thunder::net {

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

bool HttpRequest::fromLoopback() const {
  return remote_address.starts_with("127.") || remote_address.starts_with("[::1]:");
}

HttpResponse HttpResponse::text(unsigned status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", {}, std::move(body)};
}

HttpResponse HttpResponse::json(unsigned status, std::string body) {
  return HttpResponse{status, "application/json", {}, std::move(body)};
}

}  // namespace thunder::net
