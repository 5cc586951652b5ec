#include "node/options.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "base/log.h"
#include "net/endpoint.h"

namespace thunder::node {

namespace {

// A range check of one integer key: kInvalidArgument "<key>: <value> is out of range (lo to hi)".
Result<void> inRange(std::string_view key, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value < lo || value > hi) {
    return fail(ErrorCode::kInvalidArgument, "{}: {} is out of range ({} to {})", key, value, lo,
                hi);
  }
  return {};
}

bool isHttpUrl(std::string_view url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

// [fetcher], [[origins]], [ipfs] gateways and gateway.service_timeout_ms: checked with the rest
// of the configuration, so that `thunder config print` and every command catch them, not only
// the start of the fetcher.
Result<void> validateFetcherOptions(const NodeOptions& options) {
  const auto& f = options.fetcher;
  auto ms = [](std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count()); };
  THUNDER_TRY(
      inRange("gateway.service_timeout_ms", ms(options.gateway.service_timeout), 100, 3'600'000));
  THUNDER_TRY(inRange("fetcher.connect_timeout_ms", ms(f.connect_timeout), 10, 3'600'000));
  THUNDER_TRY(inRange("fetcher.header_timeout_ms", ms(f.header_timeout), 10, 3'600'000));
  THUNDER_TRY(inRange("fetcher.idle_timeout_ms", ms(f.idle_timeout), 10, 3'600'000));
  THUNDER_TRY(inRange("fetcher.max_redirects", f.max_redirects, 0, 20));
  THUNDER_TRY(inRange("fetcher.max_body_mb", f.max_body_bytes >> 20, 1, 1'048'576));
  THUNDER_TRY(inRange("fetcher.max_concurrent", f.max_concurrent, 1, 100'000));
  THUNDER_TRY(inRange("fetcher.max_concurrent_per_host", f.max_concurrent_per_host, 1, 100'000));
  THUNDER_TRY(inRange("fetcher.max_queued", f.max_queued, 0, 1'000'000));
  THUNDER_TRY(inRange("fetcher.default_ttl_s", static_cast<uint64_t>(f.default_ttl.count()), 0,
                      static_cast<uint64_t>(f.max_ttl.count())));
  for (const auto& origin : f.origins) {
    const bool name_ok =
        !origin.name.empty() && origin.name.size() <= 64 &&
        std::all_of(origin.name.begin(), origin.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    if (!name_ok) {
      return fail(ErrorCode::kInvalidArgument,
                  "origins: name '{}' must be 1 to 64 letters, digits, '-', '_' or '.' (it is the "
                  "<name> of /origin/<name>/…)",
                  origin.name);
    }
    if (!isHttpUrl(origin.base_url)) {
      return fail(ErrorCode::kInvalidArgument,
                  "origins: url '{}' of origin '{}' must be an http:// or https:// URL",
                  origin.base_url, origin.name);
    }
  }
  for (const auto& gateway : options.ipfs_gateways) {
    if (!isHttpUrl(gateway)) {
      return fail(ErrorCode::kInvalidArgument,
                  "ipfs.gateways: '{}' must be an http:// or https:// URL of an IPFS trustless "
                  "gateway",
                  gateway);
    }
  }
  return {};
}

}  // namespace

Result<void> validateOptions(const NodeOptions& options) {
  if (options.data_dir.empty()) {
    return fail(ErrorCode::kInvalidArgument, "node.data_dir: must not be empty");
  }
  if (options.shutdown_grace.count() < 100 || options.shutdown_grace.count() > 600'000) {
    return fail(ErrorCode::kInvalidArgument,
                "node.shutdown_grace_ms: {} is out of range (100 to 600000)",
                options.shutdown_grace.count());
  }
  if (auto ok = log::configureLogging(options.log_level); !ok) {
    return fail(ok.error().withContext("log.level"));
  }
  if (options.runtime.loop_threads > 256) {
    return fail(ErrorCode::kInvalidArgument, "runtime.loop_threads: {} is out of range (0 to 256)",
                options.runtime.loop_threads);
  }
  if (options.runtime.blocking_threads < 1 || options.runtime.blocking_threads > 256) {
    return fail(ErrorCode::kInvalidArgument,
                "runtime.blocking_threads: {} is out of range (1 to 256)",
                options.runtime.blocking_threads);
  }
  if (auto ok = net::parseEndpoint(options.admin.listen); !ok) {
    return fail(ok.error().withContext("admin.listen"));
  }
  if (options.admin.max_connections < 1 || options.admin.max_connections > 100'000) {
    return fail(ErrorCode::kInvalidArgument,
                "admin.max_connections: {} is out of range (1 to 100000)",
                options.admin.max_connections);
  }
  if (options.admin.idle_timeout.count() < 10) {
    return fail(ErrorCode::kInvalidArgument, "admin.idle_timeout_ms: {} is below 10",
                options.admin.idle_timeout.count());
  }
  if (options.store.quota_mb > (uint64_t{1} << 40)) {
    return fail(ErrorCode::kInvalidArgument, "store.quota_mb: {} is out of range (0 to 2^40)",
                options.store.quota_mb);
  }
  if (auto ok = net::parseEndpoint(options.sessions.listen); !ok) {
    return fail(ok.error().withContext("sessions.listen"));
  }
  if (!options.sessions.ws_listen.empty()) {
    if (auto ok = net::parseEndpoint(options.sessions.ws_listen); !ok) {
      return fail(ok.error().withContext("sessions.ws_listen"));
    }
  }
  if (options.sessions.ws_certificate.empty() != options.sessions.ws_key.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        "sessions.ws_certificate and sessions.ws_key: set both (wss://) or neither (ws://)");
  }
  if (!options.sessions.ws_certificate.empty() && options.sessions.ws_listen.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "sessions.ws_certificate is set but sessions.ws_listen is empty: set the address "
                "of the wss:// listener too");
  }
  if (!options.sessions.quic_listen.empty()) {
    if (auto ok = net::parseEndpoint(options.sessions.quic_listen); !ok) {
      return fail(ok.error().withContext("sessions.quic_listen"));
    }
  }
  if (auto ok = net::parseEndpoint(options.gateway.listen); !ok) {
    return fail(ok.error().withContext("gateway.listen"));
  }
  // The files themselves are read when the gateway starts (a key readable only by the node's
  // user must not break other commands that load this config).
  if (options.gateway.tls_certificate_file.empty() != options.gateway.tls_key_file.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.tls_certificate and gateway.tls_key: set both (https://) or neither "
                "(http://)");
  }
  if (options.gateway.max_upload_mb < 1 || options.gateway.max_upload_mb > 1048576) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.max_upload_mb: {} is out of range (1 to 1048576)",
                options.gateway.max_upload_mb);
  }
  if (options.gateway.max_connections < 1 || options.gateway.max_connections > 100000) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.max_connections: {} is out of range (1 to 100000)",
                options.gateway.max_connections);
  }
  if (options.gateway.idle_timeout.count() < 10 ||
      options.gateway.idle_timeout.count() > 86400000) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.idle_timeout_ms: {} is out of range (10 to 86400000)",
                options.gateway.idle_timeout.count());
  }
  if (const auto& token = options.gateway.upload_token; !token.empty()) {
    const bool printable =
        std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (token.size() < 16 || !printable) {
      return fail(ErrorCode::kInvalidArgument,
                  "gateway.upload_token: use at least 16 printable characters without spaces, "
                  "e.g. the output of `openssl rand -hex 24`");
    }
  }
  THUNDER_TRY(validateFetcherOptions(options));
  if (options.ledger.block_interval.count() < 10 ||
      options.ledger.block_interval.count() > 3600000) {
    return fail(ErrorCode::kInvalidArgument,
                "ledger.block_interval_ms: {} is out of range (10 to 3600000)",
                options.ledger.block_interval.count());
  }
  if (options.ledger.epoch.count() < 1000 || options.ledger.epoch.count() > 86400000LL * 365) {
    return fail(ErrorCode::kInvalidArgument,
                "ledger.epoch_ms: {} is out of range (1000 to one year)",
                options.ledger.epoch.count());
  }
  if (options.sessions.lanes_per_client < 1 || options.sessions.lanes_per_client > 1024) {
    return fail(ErrorCode::kInvalidArgument,
                "sessions.lanes_per_client: {} is out of range (1 to 1024)",
                options.sessions.lanes_per_client);
  }
  if (options.sessions.handshake_timeout.count() < 100 ||
      options.sessions.handshake_timeout.count() > 600'000) {
    return fail(ErrorCode::kInvalidArgument,
                "sessions.handshake_timeout_ms: {} is out of range (100 to 600000)",
                options.sessions.handshake_timeout.count());
  }
  if (options.sessions.idle_timeout.count() < 100 ||
      options.sessions.idle_timeout.count() > 86'400'000) {
    return fail(ErrorCode::kInvalidArgument,
                "sessions.idle_timeout_ms: {} is out of range (100 to 86400000)",
                options.sessions.idle_timeout.count());
  }
  if (options.sessions.max_handshakes_per_ip < 1 ||
      options.sessions.max_handshakes_per_ip > 100'000) {
    return fail(ErrorCode::kInvalidArgument,
                "sessions.max_handshakes_per_ip: {} is out of range (1 to 100000)",
                options.sessions.max_handshakes_per_ip);
  }
  THUNDER_TRY(validateServicesConfig(options.services));
  return {};
}

std::filesystem::path resolveDataDir(const std::filesystem::path& data_dir) {
  std::string text = data_dir.string();
  if (text == "~" || text.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    text = std::string(home && *home ? home : "/") + text.substr(1);
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(text, ec);
  return ec ? std::filesystem::path(text) : absolute.lexically_normal();
}

}  // namespace thunder::node
