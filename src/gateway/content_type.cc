#include "gateway/content_type.h"

#include <array>
#include <cstring>
#include <utility>

namespace thunder::gateway {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";

constexpr std::pair<std::string_view, std::string_view> kByExtension[] = {
    {"avif", "image/avif"},
    {"bin", kOctetStream},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", kHtml},
    {"html", kHtml},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", kJson},
    {"map", kJson},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"ogg", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"ttf", "font/ttf"},
    {"txt", kText},
    {"wasm", "application/wasm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
    {"zip", "application/zip"},
};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool startsWith(std::span<const uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() &&
         std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

bool startsWithNoCase(std::span<const uint8_t> bytes, std::string_view prefix) {
  if (bytes.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(static_cast<char>(bytes[i])) != prefix[i]) return false;
  }
  return true;
}

bool isWhitespace(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

std::span<const uint8_t> skipWhitespace(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size() && isWhitespace(bytes[i])) ++i;
  return bytes.subspan(i);
}

// HTML tags that start an HTML document in practice (a subset of the WHATWG sniffing table),
// followed by a space or '>'.
bool looksLikeHtml(std::span<const uint8_t> bytes) {
  static constexpr std::string_view kTags[] = {"<!doctype html", "<html",  "<head", "<body",
                                               "<script",        "<title", "<!--"};
  for (std::string_view tag : kTags) {
    if (!startsWithNoCase(bytes, tag)) continue;
    if (tag == "<!--") return true;
    if (bytes.size() == tag.size()) return true;
    const uint8_t next = bytes[tag.size()];
    if (next == '>' || isWhitespace(next)) return true;
  }
  return false;
}

// Printable UTF-8: valid sequences, no control bytes but tab, newlines, form feed and escape.
// A sequence cut by the end of a prefix sample is accepted.
bool looksLikeText(std::span<const uint8_t> bytes, SampleKind kind) {
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t c = bytes[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > bytes.size()) return kind == SampleKind::kPrefix;
    uint32_t cp = c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (bytes[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

bool looksLikeJson(std::span<const uint8_t> bytes) {
  if (bytes.empty() || (bytes[0] != '{' && bytes[0] != '[')) return false;
  const bool object = bytes[0] == '{';
  const auto rest = skipWhitespace(bytes.subspan(1));
  if (rest.empty()) return false;
  const uint8_t c = rest[0];
  if (object) return c == '"' || c == '}';
  return c == '{' || c == '[' || c == '"' || c == ']' || c == '-' || (c >= '0' && c <= '9') ||
         c == 't' || c == 'f' || c == 'n';
}

}  // namespace

std::string_view contentTypeForName(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return {};
  const std::string_view ext = name.substr(dot + 1);
  if (ext.size() > 16) return {};
  std::array<char, 16> buffer{};
  for (size_t i = 0; i < ext.size(); ++i) buffer[i] = lower(ext[i]);
  const std::string_view key(buffer.data(), ext.size());
  for (const auto& [extension, type] : kByExtension) {
    if (extension == key) return type;
  }
  return {};
}

std::string_view sniffContentType(std::span<const uint8_t> head, SampleKind kind) {
  if (head.size() > kSniffBytes) head = head.first(kSniffBytes);
  if (head.empty()) return kOctetStream;
  if (startsWith(head, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (startsWith(head, "\xff\xd8\xff")) return "image/jpeg";
  if (startsWith(head, "GIF87a") || startsWith(head, "GIF89a")) return "image/gif";
  if (head.size() >= 12 && startsWith(head, "RIFF") && startsWith(head.subspan(8), "WEBP")) {
    return "image/webp";
  }
  if (startsWith(head, "%PDF-")) return "application/pdf";
  if (startsWith(head, std::string_view("\0asm", 4))) return "application/wasm";
  std::span<const uint8_t> text = head;
  if (startsWith(text, "\xef\xbb\xbf")) text = text.subspan(3);  // UTF-8 byte order mark
  if (!looksLikeText(text, kind)) return kOctetStream;
  const auto body = skipWhitespace(text);
  if (looksLikeHtml(body)) return kHtml;
  if (looksLikeJson(body)) return kJson;
  return kText;
}

}  // namespace thunder::gateway
