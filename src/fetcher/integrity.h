// Subresource Integrity (W3C SRI) metadata — "sha256-<base64>", "sha384-…", "sha512-…" — and
// the incremental hasher that checks a body against it while it streams.
//
// Integrity and the functions are plain values / pure (thread-safe). An IntegrityHasher is
// used by one thread at a time (the download that owns it); it wraps OpenSSL's EVP digests.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace thunder::fetcher {

enum class DigestAlgorithm { kSha256, kSha384, kSha512 };

// "sha256" / "sha384" / "sha512".
std::string_view digestName(DigestAlgorithm algorithm);
// 32 / 48 / 64.
size_t digestSize(DigestAlgorithm algorithm);

// "sha384-<standard base64>" for a digest, as SRI writes it.
std::string formatDigest(DigestAlgorithm algorithm, std::span<const uint8_t> digest);

// Parsed SRI metadata, reduced as the SRI spec says to the strongest algorithm present: the body
// matches when its digest under `algorithm` equals any of `digests`.
struct Integrity {
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
  std::vector<std::vector<uint8_t>> digests;

  bool matches(std::span<const uint8_t> digest) const;
  // The accepted digests as SRI tokens, space-separated.
  std::string str() const;
};

// Parses whitespace-separated tokens "alg-base64[?options]". Tokens of unknown algorithms are
// ignored (as in browsers); base64 may use either alphabet (+/ or -_) with or without padding.
// kInvalidArgument (naming the token) for a supported algorithm whose value is not base64 of the
// right length, or when no token of a supported algorithm is left.
Result<Integrity> parseIntegrity(std::string_view metadata);

// Incremental SHA-2 of one body.
class IntegrityHasher {
 public:
  // kInternal if OpenSSL cannot set up the digest.
  static Result<IntegrityHasher> create(DigestAlgorithm algorithm);
  ~IntegrityHasher();
  IntegrityHasher(IntegrityHasher&&) noexcept;
  IntegrityHasher& operator=(IntegrityHasher&&) noexcept;

  DigestAlgorithm algorithm() const { return algorithm_; }
  void update(std::span<const uint8_t> bytes);
  // The digest of everything passed to update(). Call once.
  std::vector<uint8_t> finish();

 private:
  struct Context;
  IntegrityHasher(DigestAlgorithm algorithm, std::unique_ptr<Context> context);
  DigestAlgorithm algorithm_;
  std::unique_ptr<Context> context_;
};

}  // namespace thunder::fetcher
