// Url: an http:// or https:// URL as the fetcher uses it — parsed, validated and normalised
// (lower-case scheme and host, default port, "/" for an empty path, bytes outside the URL
// grammar percent-encoded), plus RFC 3986 reference resolution for redirects.
//
// Plain values and pure functions: thread-safe, no I/O. Credentials in URLs (user:pass@) and
// other schemes are refused with kInvalidArgument naming the URL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace thunder::fetcher {

enum class Scheme { kHttp, kHttps };

// "http" / "https".
std::string_view schemeName(Scheme scheme);

struct Url {
  Scheme scheme = Scheme::kHttp;
  std::string host;          // lower-case; an IPv6 literal without its brackets
  uint16_t port = 80;        // explicit or the scheme's default (80, 443)
  std::string target = "/";  // path and optional "?query", as sent in the request line
  std::string fragment;      // after '#' (never sent); may carry "integrity=…"

  // Whether `host` is an IPv4 or IPv6 literal (no DNS; no TLS server name).
  bool hostIsIp() const;
  // The Host header value: host, with ":port" unless it is the default; IPv6 in brackets.
  std::string authority() const;
  // "scheme://authority" — the key of per-host limits.
  std::string origin() const;
  // "scheme://authority/target" without the fragment — the key of the URL cache.
  std::string str() const;
};

// Parses an absolute http(s) URL. kInvalidArgument (naming the URL and the problem) for another
// scheme, credentials, an empty or malformed host, a bad port, or control characters.
Result<Url> parseUrl(std::string_view text);

// Resolves `reference` (a Location header: absolute, "//host/…", "/path", "relative", "?q")
// against `base` (RFC 3986 §5.2, dot segments removed). kInvalidArgument as parseUrl().
Result<Url> resolveReference(const Url& base, std::string_view reference);

// RFC 3986 §5.2.4 remove_dot_segments on an absolute path ("/a/b/../c" → "/a/c").
std::string removeDotSegments(std::string_view path);

// Decodes %XX escapes. nullopt for a malformed escape ("%4", "%zz").
std::optional<std::string> percentDecode(std::string_view text);

// Percent-encodes the bytes of `text` that may not appear in a URL path or query (controls,
// space, non-ASCII, and "\"<>\\^`{|}"); leaves valid %XX escapes and everything else alone.
std::string encodeUrlBytes(std::string_view text);

}  // namespace thunder::fetcher
