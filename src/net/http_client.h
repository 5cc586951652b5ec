// A blocking HTTP/1.1 client for small requests: the CLI asking a running node (`thunder
// status`) and tests. Each call opens one connection, sends one request, reads one response.
// Thread-safe (no shared state). Not for the data plane.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_message.h"

namespace thunder::net {

struct HttpClientOptions {
  std::chrono::milliseconds timeout{5'000};  // for the whole exchange
  size_t max_body_bytes = 16 * 1024 * 1024;
};

// Sends `request` to `address` ("127.0.0.1:4240"). kUnavailable when nothing listens there,
// kTimeout past the deadline, kCorruption for a malformed response.
Result<HttpResponse> httpRequest(std::string_view address, const HttpRequest& request,
                                 HttpClientOptions options = {});

// Shorthand for a GET.
Result<HttpResponse> httpGet(std::string_view address, std::string_view target,
                             HttpClientOptions options = {});

}  // namespace thunder::net
