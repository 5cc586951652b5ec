#include "fetcher/url.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace thunder::fetcher {

namespace {

constexpr std::string_view kUnsafe = "\"<>\\^`{|}";

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Quotes a URL for an error message, shortened so that a hostile value cannot flood a log.
std::string quoted(std::string_view text) {
  constexpr size_t kMax = 200;
  if (text.size() <= kMax) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}…\"", text.substr(0, kMax));
}

bool isIpv4(const std::string& host) {
  in_addr addr{};
  return ::inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool isIpv6(const std::string& host) {
  in6_addr addr{};
  return ::inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

bool isRegNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

uint16_t defaultPort(Scheme scheme) {
  return scheme == Scheme::kHttps ? 443 : 80;
}

// Whether `text` starts with a URI scheme ("name:").
bool hasScheme(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(text[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    const char c = text[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string_view schemeName(Scheme scheme) {
  return scheme == Scheme::kHttps ? "https" : "http";
}

bool Url::hostIsIp() const {
  return isIpv4(host) || isIpv6(host);
}

std::string Url::authority() const {
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port == defaultPort(scheme)) return name;
  return fmt::format("{}:{}", name, port);
}

std::string Url::origin() const {
  return fmt::format("{}://{}", schemeName(scheme), authority());
}

std::string Url::str() const {
  return origin() + target;
}

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || !isHex(text[i + 1]) || !isHex(text[i + 2])) return std::nullopt;
    out.push_back(static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])));
    i += 2;
  }
  return out;
}

std::string encodeUrlBytes(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool valid_escape =
        c == '%' && i + 2 < text.size() && isHex(text[i + 1]) && isHex(text[i + 2]);
    if ((c == '%' && !valid_escape) || c <= 0x20 || c >= 0x7f ||
        kUnsafe.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string removeDotSegments(std::string_view path) {
  std::string in(path);
  std::string out;
  const auto drop_last_segment = [&out] {
    const size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.erase(0, 3);
    } else if (in.starts_with("./")) {
      in.erase(0, 2);
    } else if (in.starts_with("/./")) {
      in.erase(1, 2);  // "/./x" → "/x"
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.erase(1, 3);  // "/../x" → "/x"
      drop_last_segment();
    } else if (in == "/..") {
      in = "/";
      drop_last_segment();
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      const size_t next = in.find('/', 1);
      const size_t n = next == std::string::npos ? in.size() : next;
      out.append(in, 0, n);
      in.erase(0, n);
    }
  }
  return out;
}

Result<Url> parseUrl(std::string_view input) {
  const std::string_view text = trim(input);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return fail(ErrorCode::kInvalidArgument, "the URL {} contains a control character",
                  quoted(text));
    }
  }
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "{} is not an absolute http:// or https:// URL",
                quoted(text));
  }
  std::string scheme;
  for (const char c : text.substr(0, scheme_end)) scheme.push_back(lower(c));
  Url url;
  if (scheme == "https") {
    url.scheme = Scheme::kHttps;
  } else if (scheme != "http") {
    return fail(ErrorCode::kInvalidArgument,
                "{}: only http:// and https:// URLs can be fetched, not {}://", quoted(text),
                scheme.substr(0, 20));
  }
  std::string_view rest = text.substr(scheme_end + 3);
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: credentials in URLs (user:password@host) are not supported", quoted(text));
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "{}: unterminated IPv6 literal", quoted(text));
    }
    url.host = std::string(authority.substr(1, close - 1));
    for (char& c : url.host) c = lower(c);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      return fail(ErrorCode::kInvalidArgument, "{}: malformed host", quoted(text));
    }
    if (!after.empty()) port_text = after.substr(1);
    if (!isIpv6(url.host)) {
      return fail(ErrorCode::kInvalidArgument, "{}: [{}] is not an IPv6 address", quoted(text),
                  url.host.substr(0, 60));
    }
  } else {
    const size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (const char c : host) {
      const char l = lower(c);
      if (!isRegNameChar(l)) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: the host may contain only letters, digits, '-', '.', '_' and '~' "
                    "(internationalised names in punycode)",
                    quoted(text));
      }
      url.host.push_back(l);
    }
  }
  if (url.host.empty()) {
    return fail(ErrorCode::kInvalidArgument, "{} has no host", quoted(text));
  }
  url.port = defaultPort(url.scheme);
  if (!port_text.empty()) {
    uint32_t port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return fail(ErrorCode::kInvalidArgument, "{}: the port must be a number from 1 to 65535",
                  quoted(text));
    }
    url.port = static_cast<uint16_t>(port);
  }

  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    url.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  const size_t question = rest.find('?');
  const std::string_view path =
      question == 0 || rest.empty() ? std::string_view("/") : rest.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question);
  url.target = encodeUrlBytes(removeDotSegments(path)) + encodeUrlBytes(query);
  if (url.target.empty() || url.target.front() != '/') url.target = '/' + url.target;
  return url;
}

Result<Url> resolveReference(const Url& base, std::string_view input) {
  const std::string_view reference = trim(input);
  if (hasScheme(reference)) return parseUrl(reference);
  if (reference.starts_with("//")) {
    return parseUrl(fmt::format("{}:{}", schemeName(base.scheme), reference));
  }
  if (reference.empty()) return base;
  if (reference.starts_with('#')) {
    Url url = base;
    url.fragment = std::string(reference.substr(1));
    return url;
  }
  const size_t question = base.target.find('?');
  const std::string_view base_path = std::string_view(base.target).substr(0, question);
  if (reference.starts_with('/')) return parseUrl(base.origin() + std::string(reference));
  if (reference.starts_with('?')) {
    return parseUrl(base.origin() + std::string(base_path) + std::string(reference));
  }
  const size_t slash = base_path.rfind('/');
  const std::string_view directory = base_path.substr(0, slash + 1);
  return parseUrl(base.origin() + std::string(directory) + std::string(reference));
}

}  // namespace thunder::fetcher
