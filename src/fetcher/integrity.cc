#include "fetcher/integrity.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace thunder::fetcher {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or URL-safe base64, padding optional. nullopt when malformed.
std::optional<std::vector<uint8_t>> decodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = base64Value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<uint8_t>(bits >> count));
      bits &= (1u << count) - 1;
    }
  }
  if (bits != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

std::string encodeBase64(std::span<const uint8_t> bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kBase64[(v >> shift) & 63]);
  }
  const size_t left = bytes.size() - i;
  if (left == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += {kBase64[(v >> 18) & 63], kBase64[(v >> 12) & 63], '=', '='};
  } else if (left == 2) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out += {kBase64[(v >> 18) & 63], kBase64[(v >> 12) & 63], kBase64[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<DigestAlgorithm> algorithmNamed(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "sha256") return DigestAlgorithm::kSha256;
  if (lower == "sha384") return DigestAlgorithm::kSha384;
  if (lower == "sha512") return DigestAlgorithm::kSha512;
  return std::nullopt;
}

const EVP_MD* evpDigest(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kSha256: return EVP_sha256();
    case DigestAlgorithm::kSha384: return EVP_sha384();
    case DigestAlgorithm::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}

}  // namespace

std::string_view digestName(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kSha256: return "sha256";
    case DigestAlgorithm::kSha384: return "sha384";
    case DigestAlgorithm::kSha512: return "sha512";
  }
  return "sha256";
}

size_t digestSize(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kSha256: return 32;
    case DigestAlgorithm::kSha384: return 48;
    case DigestAlgorithm::kSha512: return 64;
  }
  return 32;
}

std::string formatDigest(DigestAlgorithm algorithm, std::span<const uint8_t> digest) {
  return fmt::format("{}-{}", digestName(algorithm), encodeBase64(digest));
}

bool Integrity::matches(std::span<const uint8_t> digest) const {
  return std::any_of(digests.begin(), digests.end(), [&](const std::vector<uint8_t>& d) {
    return std::equal(d.begin(), d.end(), digest.begin(), digest.end());
  });
}

std::string Integrity::str() const {
  std::string out;
  for (const auto& digest : digests) {
    if (!out.empty()) out.push_back(' ');
    out += formatDigest(algorithm, digest);
  }
  return out;
}

Result<Integrity> parseIntegrity(std::string_view metadata) {
  Integrity best;
  bool found = false;
  size_t pos = 0;
  while (pos < metadata.size()) {
    const size_t start = metadata.find_first_not_of(" \t\r\n", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(metadata.find_first_of(" \t\r\n", start), metadata.size());
    pos = end;
    std::string_view token = metadata.substr(start, end - start);
    token = token.substr(0, token.find('?'));  // options are ignored
    const size_t dash = token.find('-');
    if (dash == std::string_view::npos) continue;
    const auto algorithm = algorithmNamed(token.substr(0, dash));
    if (!algorithm) continue;
    auto digest = decodeBase64(token.substr(dash + 1));
    if (!digest || digest->size() != digestSize(*algorithm)) {
      return fail(ErrorCode::kInvalidArgument,
                  "integrity \"{}\": the {} value must be the base64 of {} bytes",
                  token.substr(0, 120), digestName(*algorithm), digestSize(*algorithm));
    }
    if (!found || *algorithm > best.algorithm) {
      best.algorithm = *algorithm;
      best.digests.clear();
      found = true;
    }
    if (*algorithm == best.algorithm) best.digests.push_back(std::move(*digest));
  }
  if (!found) {
    return fail(ErrorCode::kInvalidArgument,
                "integrity \"{}\" has no sha256-, sha384- or sha512- value",
                metadata.substr(0, 120));
  }
  return best;
}

struct IntegrityHasher::Context {
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx;
};

Result<IntegrityHasher> IntegrityHasher::create(DigestAlgorithm algorithm) {
  auto context = std::make_unique<Context>();
  context->ctx.reset(EVP_MD_CTX_new());
  if (!context->ctx || EVP_DigestInit_ex(context->ctx.get(), evpDigest(algorithm), nullptr) != 1) {
    return fail(ErrorCode::kInternal, "OpenSSL cannot set up {}", digestName(algorithm));
  }
  return IntegrityHasher(algorithm, std::move(context));
}

IntegrityHasher::IntegrityHasher(DigestAlgorithm algorithm, std::unique_ptr<Context> context)
    : algorithm_(algorithm), context_(std::move(context)) {}
IntegrityHasher::~IntegrityHasher() = default;
IntegrityHasher::IntegrityHasher(IntegrityHasher&&) noexcept = default;
IntegrityHasher& IntegrityHasher::operator=(IntegrityHasher&&) noexcept = default;

void IntegrityHasher::update(std::span<const uint8_t> bytes) {
  EVP_DigestUpdate(context_->ctx.get(), bytes.data(), bytes.size());
}

std::vector<uint8_t> IntegrityHasher::finish() {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned size = 0;
  EVP_DigestFinal_ex(context_->ctx.get(), out.data(), &size);
  out.resize(size);
  return out;
}

}  // namespace thunder::fetcher
