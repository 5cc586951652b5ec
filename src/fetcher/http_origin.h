// HttpOrigin: an HTTP/1.1 GET client for origins (Boost.Beast over TCP, OpenSSL for https).
// It follows redirects (http ↔ https allowed) up to a limit, enforces connect / header / idle
// timeouts and a body size limit, and hands the body of the final response to a callback in
// slices as it arrives — it never holds a whole body. https verifies the server's chain against
// the system trust store (or SSL_CERT_FILE / SSL_CERT_DIR, read when the HttpOrigin is created)
// and its name against the URL's host (DNS name or IP address). One connection per request
// (Connection: close); no pooling.
//
// An HttpOrigin is immutable after create() and may be used by any number of get() calls on any
// loops at once. get() runs on the loop of the coroutine that awaits it; its callbacks run there.
// OriginCancel lets another thread abort one get().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"

namespace thunder::fetcher {

struct HttpOriginOptions {
  std::chrono::milliseconds connect_timeout{10'000};  // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds header_timeout{30'000};   // request sent → response header complete
  std::chrono::milliseconds idle_timeout{30'000};     // longest pause within the body
  size_t max_redirects = 5;
  uint64_t max_body_bytes = 1ull << 30;
  size_t max_header_bytes = 64 * 1024;
  size_t slice_bytes = 64 * 1024;
  std::string user_agent = "thunder-fetcher/0.1";
};

// The final (2xx) response of a get().
struct OriginResponse {
  unsigned status = 0;
  std::string url;                         // after redirects, without fragment
  size_t redirects = 0;                    // followed to get here
  std::optional<uint64_t> content_length;  // when the origin declared it
  std::string content_type;                // as sent ("" if absent)
  std::string cache_control;               // as sent ("" if absent)
  std::string age;                         // as sent ("" if absent)
};

struct OriginCallbacks {
  // Called once with the final response's header, before any body byte. An error aborts the
  // get(), which returns that error.
  std::function<Result<void>(const OriginResponse&)> on_response;
  // Called with each slice of the body, in order (never empty). An error aborts the get().
  std::function<Result<void>(std::span<const uint8_t>)> on_body;
};

// Aborts a get() in progress from any thread. Create with std::make_shared; pass to one get().
class OriginCancel : public std::enable_shared_from_this<OriginCancel> {
 public:
  // The get() closes its connection and returns kCancelled (also if it has not started yet).
  // Thread-safe, idempotent.
  void cancel();
  bool cancelled() const;

  // For HttpOrigin (on the get()'s loop): while attached, cancel() posts `close` to `executor`.
  void attach(boost::asio::any_io_executor executor, std::function<void()> close);
  void detach();

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;                                // GUARDED_BY(mutex_)
  std::optional<boost::asio::any_io_executor> executor_;  // GUARDED_BY(mutex_)
  std::function<void()> close_;                           // GUARDED_BY(mutex_)
  uint64_t generation_ = 0;                               // GUARDED_BY(mutex_)
};

class HttpOrigin {
 public:
  // Loads the trust store. kInvalidArgument for unusable options; kInternal if OpenSSL fails.
  static Result<std::unique_ptr<HttpOrigin>> create(HttpOriginOptions options);
  ~HttpOrigin();
  HttpOrigin(const HttpOrigin&) = delete;
  HttpOrigin& operator=(const HttpOrigin&) = delete;

  const HttpOriginOptions& options() const { return options_; }

  // GETs `url` (its fragment is ignored), following 301/302/303/307/308 redirects, and streams
  // the body of the final response to `callbacks`. Returns that response once the whole body
  // was delivered. Errors (every message names the URL concerned):
  //   kInvalidArgument   a malformed URL or Location, or a scheme other than http(s)
  //   kUnavailable       cannot resolve / connect, the connection broke, more than
  //                      max_redirects redirects, a 3xx without Location, a status other than
  //                      200/203/204 not listed below, a Content-Encoding other than identity
  //   kNotFound          the origin answered 404 or 410
  //   kPermissionDenied  401 or 403; or the server's certificate does not verify (chain or name)
  //   kTimeout           connect_timeout, header_timeout or idle_timeout passed
  //   kResourceExhausted the body is (declared or turns out) larger than max_body_bytes
  //   kCorruption        a malformed HTTP response
  //   kCancelled         `cancel` was cancelled
  //   any error a callback returned.
  // `url`, `callbacks` and `cancel` (may be null) are borrowed until the get() completes.
  boost::asio::awaitable<Result<OriginResponse>> get(std::string_view url,
                                                     const OriginCallbacks& callbacks,
                                                     OriginCancel* cancel);

 private:
  struct Tls;
  HttpOrigin(HttpOriginOptions options, std::unique_ptr<Tls> tls);

  HttpOriginOptions options_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace thunder::fetcher
