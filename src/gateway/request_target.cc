#include "gateway/request_target.h"

#include "content/directory.h"

namespace thunder::gateway {
namespace {

constexpr std::string_view kPrefix = "/b3";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

SplitTarget splitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool isBlobRoute(std::string_view path) {
  return path.starts_with(kPrefix) && (path.size() == kPrefix.size() || path[3] == '/');
}

Result<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? hexValue(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return fail(ErrorCode::kInvalidArgument, "bad percent-escape at byte {} of \"{}\"", i,
                  text.substr(0, 200));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string percentEncodeSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

Result<BlobPath> parseBlobPath(std::string_view path) {
  if (!isBlobRoute(path)) return fail(ErrorCode::kInvalidArgument, "not a /b3/ path");
  path.remove_prefix(kPrefix.size());
  if (path.empty() || path == "/") {
    return fail(ErrorCode::kInvalidArgument,
                "no blob id: use /b3/<id>, where <id> is the 64-hex-digit BLAKE3 hash");
  }
  path.remove_prefix(1);  // '/'
  const size_t slash = path.find('/');
  const std::string_view id_text = path.substr(0, slash);
  BlobPath out;
  if (id_text.size() != 2 * BlobId::kSize) {
    return fail(ErrorCode::kInvalidArgument,
                "malformed blob id \"{}\": expected 64 hex digits (a BLAKE3 hash, as b3sum prints)",
                id_text.substr(0, 100));
  }
  auto id = BlobId::fromHex(id_text);
  if (!id) {
    return fail(ErrorCode::kInvalidArgument,
                "malformed blob id \"{}\": expected 64 hex digits (a BLAKE3 hash, as b3sum prints)",
                id_text);
  }
  out.id = *id;
  if (slash == std::string_view::npos) return out;
  THUNDER_TRY(parsePathSegments(path.substr(slash + 1), path, &content::validateEntryName, SIZE_MAX,
                                out.segments, out.trailing_slash));
  return out;
}

Result<void> parsePathSegments(std::string_view rest, std::string_view path, SegmentCheck check,
                               size_t max_segments, std::vector<std::string>& segments,
                               TrailingSlash& trailing_slash) {
  if (rest.empty()) {
    trailing_slash = TrailingSlash::kYes;
    return {};
  }
  if (rest.back() == '/') {
    trailing_slash = TrailingSlash::kYes;
    rest.remove_suffix(1);
  }
  while (true) {
    const size_t next = rest.find('/');
    const std::string_view raw = rest.substr(0, next);
    if (raw.empty()) {
      return fail(ErrorCode::kInvalidArgument, "empty path segment (\"//\") in \"{}\"",
                  path.substr(0, 300));
    }
    if (segments.size() >= max_segments) {
      return fail(ErrorCode::kInvalidArgument, "the path has more than {} segments", max_segments);
    }
    THUNDER_ASSIGN_OR_RETURN(auto segment, percentDecode(raw));
    if (auto ok = check(segment); !ok) {
      return fail(ErrorCode::kInvalidArgument, "path segment \"{}\" is not allowed: {}",
                  raw.substr(0, 300), ok.error().message);
    }
    segments.push_back(std::move(segment));
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return {};
}

std::optional<std::string> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      if (eq == std::string_view::npos) return std::string();
      auto value = percentDecode(pair.substr(eq + 1));
      if (!value) return std::nullopt;
      return std::move(*value);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace thunder::gateway
