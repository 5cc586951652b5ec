// Content-Type for served blobs: by the extension of a directory entry's name, else by sniffing
// the first bytes for a few common, unambiguous formats. Types that a browser would run as active
// content (SVG, XML) are only ever given by extension, never sniffed. Every result is a static
// string. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace thunder::gateway {

inline constexpr std::string_view kOctetStream = "application/octet-stream";
// How many leading bytes sniffContentType() looks at.
inline constexpr size_t kSniffBytes = 512;

// The media type for the extension of `name` ("index.html" → "text/html; charset=utf-8"),
// case-insensitive; "" when the extension is unknown or absent.
std::string_view contentTypeForName(std::string_view name);

enum class SampleKind {
  kWholeBlob,  // `head` is the entire blob
  kPrefix,     // `head` is the first bytes of a longer blob (may end inside a UTF-8 sequence)
};

// Sniffs the first bytes of a blob: html, png, jpeg, gif, webp, pdf, wasm, json, utf-8 text;
// application/octet-stream otherwise (and for an empty blob).
std::string_view sniffContentType(std::span<const uint8_t> head, SampleKind kind);

}  // namespace thunder::gateway
