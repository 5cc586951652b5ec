#include "http_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace thunder::cdn {
namespace {

bool startsWith(std::span<const uint8_t> bytes, std::string_view prefix, size_t at = 0) {
  if (bytes.size() < at + prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Text that is valid UTF-8 (a sequence cut at the end of `head` is allowed) without NUL or
// other control characters than tab, CR, LF and form feed.
bool looksLikeText(std::span<const uint8_t> head) {
  size_t i = 0;
  while (i < head.size()) {
    const uint8_t b = head[i];
    if (b < 0x80) {
      if (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') return false;
      if (b == 0x7f) return false;
      ++i;
      continue;
    }
    size_t extra = 0;
    if ((b & 0xe0) == 0xc0 && b >= 0xc2) {
      extra = 1;
    } else if ((b & 0xf0) == 0xe0) {
      extra = 2;
    } else if ((b & 0xf8) == 0xf0 && b <= 0xf4) {
      extra = 3;
    } else {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= head.size()) return true;  // cut at the end of the sample
      if ((head[i + k] & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// The first non-blank bytes, lowercased (for markup checks).
std::string leadingLower(std::span<const uint8_t> head, size_t n) {
  size_t i = 0;
  if (startsWith(head, "\xef\xbb\xbf")) i = 3;  // UTF-8 byte order mark
  while (i < head.size() && std::isspace(head[i])) ++i;
  std::string out;
  for (; i < head.size() && out.size() < n; ++i) {
    out += static_cast<char>(std::tolower(head[i]));
  }
  return out;
}

}  // namespace

sdk::Result<HttpTarget> parseTarget(std::string_view path) {
  HttpTarget target;
  if (path.starts_with("/b3/")) {
    std::string_view id = path.substr(4);
    if (id.ends_with('/')) id.remove_suffix(1);
    if (id.find('/') != std::string_view::npos) {
      return fail(sdk::ErrorCode::kNotFound,
                  "paths inside a blob are not served by the CDN service: {} (ask for /b3/<blob "
                  "id>, or the gateway's /b3/<id>/<path> for directories)",
                  path);
    }
    auto parsed = sdk::BlobId::fromHex(std::string(id));
    if (!parsed || id.size() != 64) {
      return fail(sdk::ErrorCode::kInvalidArgument,
                  "'{}' is not a blob id: a BLAKE3 id is 64 hexadecimal digits", id);
    }
    target.blob = *parsed;
    return target;
  }
  if (path.starts_with("/ipfs/")) {
    std::string_view cid = path.substr(6);
    if (cid.ends_with('/')) cid.remove_suffix(1);
    if (cid.empty()) {
      return fail(sdk::ErrorCode::kInvalidArgument, "no CID after /ipfs/ (GET /ipfs/<cid>)");
    }
    if (cid.find('/') != std::string_view::npos) {
      return fail(sdk::ErrorCode::kNotFound,
                  "paths inside a CID are not served by the CDN service: {} (ask for "
                  "/ipfs/<cid> of the file itself, or the gateway's /ipfs/ route)",
                  path);
    }
    if (cid.size() > sdk::kMaxCidText ||
        !std::all_of(cid.begin(), cid.end(), [](char c) { return std::isalnum(c) != 0; })) {
      return fail(sdk::ErrorCode::kInvalidArgument,
                  "'{}' is not a CID: its text form is 1..{} letters and digits", cid,
                  sdk::kMaxCidText);
    }
    target.kind = HttpTarget::Kind::kCid;
    target.cid = std::string(cid);
    return target;
  }
  return fail(sdk::ErrorCode::kNotFound,
              "no such route: {} (the CDN service serves GET|HEAD /b3/<blob id> and "
              "/ipfs/<cid>)",
              path);
}

RangeRequest parseRange(std::optional<std::string_view> header, uint64_t size) {
  if (!header) return {};
  std::string_view value = trim(*header);
  if (!value.starts_with("bytes=")) return {};
  value = trim(value.substr(6));
  if (value.find(',') != std::string_view::npos) return {};  // several ranges: the whole body
  const size_t dash = value.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first_text = trim(value.substr(0, dash));
  const std::string_view last_text = trim(value.substr(dash + 1));
  if (first_text.empty()) {  // suffix range: the last N bytes
    const auto suffix = decimal(last_text);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {RangeKind::kUnsatisfiable, {}};
    const uint64_t length = std::min(*suffix, size);
    return {RangeKind::kPartial, {size - length, length}};
  }
  const auto first = decimal(first_text);
  if (!first) return {};
  std::optional<uint64_t> last;
  if (!last_text.empty()) {
    last = decimal(last_text);
    if (!last || *last < *first) return {};  // invalid: ignored (RFC 9110 §14.2)
  }
  if (*first >= size) return {RangeKind::kUnsatisfiable, {}};
  const uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return {RangeKind::kPartial, {*first, end - *first + 1}};
}

bool noneMatchHits(std::string_view if_none_match, std::string_view etag) {
  const std::string_view list = trim(if_none_match);
  if (list == "*") return true;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view tag = trim(list.substr(start, comma - start));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    start = comma + 1;
  }
  return false;
}

std::string_view sniffContentType(std::span<const uint8_t> head) {
  if (startsWith(head, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (startsWith(head, "\xff\xd8\xff")) return "image/jpeg";
  if (startsWith(head, "GIF87a") || startsWith(head, "GIF89a")) return "image/gif";
  if (startsWith(head, "RIFF") && startsWith(head, "WEBP", 8)) return "image/webp";
  if (startsWith(head, "%PDF-")) return "application/pdf";
  if (startsWith(head, "PK\x03\x04")) return "application/zip";
  if (startsWith(head, "\x1f\x8b")) return "application/gzip";
  if (startsWith(head, std::string_view("\0asm", 4))) return "application/wasm";
  if (startsWith(head, "ftyp", 4)) return "video/mp4";
  if (startsWith(head, "ID3") || (head.size() >= 2 && head[0] == 0xff && (head[1] & 0xe0) == 0xe0))
    return "audio/mpeg";
  if (startsWith(head, "OggS")) return "application/ogg";
  if (!looksLikeText(head)) return "application/octet-stream";
  const std::string lead = leadingLower(head, 64);
  if (lead.starts_with("<!doctype html") || lead.starts_with("<html") ||
      lead.starts_with("<head") || lead.starts_with("<body")) {
    return "text/html; charset=utf-8";
  }
  if (lead.starts_with("<svg") ||
      (lead.starts_with("<?xml") && leadingLower(head, 512).find("<svg") != std::string::npos)) {
    return "image/svg+xml";
  }
  if (lead.starts_with("<?xml")) return "application/xml";
  if (lead.starts_with("{") || lead.starts_with("[")) return "application/json";
  return "text/plain; charset=utf-8";
}

}  // namespace thunder::cdn
