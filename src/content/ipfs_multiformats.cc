#include "content/ipfs_multiformats.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "base/check.h"
#include "base/hex.h"
#include "crypto/blake3.h"

namespace thunder::content::ipfs {
namespace {

constexpr size_t kMaxVarintBytes = 9;
// Base58/base36 decoding is quadratic: longer text is refused before any work.
constexpr size_t kMaxBigBaseText = 1024;
constexpr size_t kMaxCidText = 1024;

constexpr std::string_view kBase32Lower = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase36Lower = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase36Upper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

std::string_view hashName(uint64_t code) {
  switch (code) {
    case kIdentity: return "identity";
    case 0x11: return "sha1";
    case kSha2_256: return "sha2-256";
    case kSha2_512: return "sha2-512";
    case kBlake3: return "blake3";
    case 0x1b: return "keccak-256";
    case 0xb220: return "blake2b-256";
    default: return "unknown";
  }
}

// An alphabet lookup table: value of each character or -1.
std::array<int8_t, 256> reverseAlphabet(std::string_view alphabet) {
  std::array<int8_t, 256> table;
  table.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

std::string base32Encode(std::span<const uint8_t> bytes, std::string_view alphabet) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<std::vector<uint8_t>> base32Decode(std::string_view text, std::string_view alphabet) {
  const auto table = reverseAlphabet(alphabet);
  const size_t tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    return fail(ErrorCode::kInvalidArgument, "base32 text of {} characters is not a valid length",
                text.size());
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int8_t v = table[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return fail(ErrorCode::kInvalidArgument, "invalid base32 character at offset {}", i);
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument, "base32 text has non-zero trailing bits");
  }
  return out;
}

// Radix conversion for base58btc and base36: leading zero bytes ↔ leading zero digits.
std::string bigBaseEncode(std::span<const uint8_t> bytes, std::string_view alphabet) {
  const uint32_t radix = static_cast<uint32_t>(alphabet.size());
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  std::vector<uint8_t> digits;  // little-endian digits in `radix`
  digits.reserve(bytes.size() * 2);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = bytes[i];
    for (auto& d : digits) {
      carry += static_cast<uint32_t>(d) << 8;
      d = static_cast<uint8_t>(carry % radix);
      carry /= radix;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % radix));
      carry /= radix;
    }
  }
  std::string out(zeros, alphabet[0]);
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(alphabet[*it]);
  return out;
}

Result<std::vector<uint8_t>> bigBaseDecode(std::string_view text, std::string_view alphabet,
                                           std::string_view name) {
  if (text.size() > kMaxBigBaseText) {
    return fail(ErrorCode::kInvalidArgument, "{} text of {} characters is longer than {}", name,
                text.size(), kMaxBigBaseText);
  }
  const auto table = reverseAlphabet(alphabet);
  const uint32_t radix = static_cast<uint32_t>(alphabet.size());
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == alphabet[0]) ++zeros;
  std::vector<uint8_t> bytes;  // little-endian base-256
  bytes.reserve(text.size());
  for (size_t i = zeros; i < text.size(); ++i) {
    const int8_t v = table[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return fail(ErrorCode::kInvalidArgument, "invalid {} character at offset {}", name, i);
    }
    uint32_t carry = static_cast<uint32_t>(v);
    for (auto& b : bytes) {
      carry += static_cast<uint32_t>(b) * radix;
      b = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<uint8_t> out(zeros, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

enum class HexCase { kLower, kUpper };

Result<std::vector<uint8_t>> hexDecodeCase(std::string_view text, HexCase hex_case) {
  const bool upper = hex_case == HexCase::kUpper;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    const bool letter = upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f');
    if (!digit && !letter) {
      return fail(ErrorCode::kInvalidArgument, "invalid base16 character at offset {}", i);
    }
  }
  if (text.size() % 2 != 0) {
    return fail(ErrorCode::kInvalidArgument, "base16 text has an odd number of digits");
  }
  return fromHex(text);
}

void sha256(std::span<const uint8_t> data, uint8_t out[32]) {
  crypto_hash_sha256(out, data.data(), data.size());
}

}  // namespace

Result<uint64_t> readVarint(std::span<const uint8_t> in, size_t& pos, std::string_view what) {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (pos >= in.size()) {
      return fail(ErrorCode::kInvalidArgument, "truncated varint reading {}", what);
    }
    const uint8_t byte = in[pos++];
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) {
        return fail(ErrorCode::kInvalidArgument, "non-minimal varint reading {}", what);
      }
      return value;
    }
  }
  return fail(ErrorCode::kInvalidArgument, "varint longer than 9 bytes reading {}", what);
}

void appendVarint(std::vector<uint8_t>& out, uint64_t value) {
  THUNDER_CHECK(value < (uint64_t{1} << 63), "multiformats varints hold at most 63 bits");
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

size_t varintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

// ---- Multihash ----

std::vector<uint8_t> Multihash::bytes() const {
  std::vector<uint8_t> out;
  out.reserve(varintSize(code) + varintSize(digest.size()) + digest.size());
  appendVarint(out, code);
  appendVarint(out, digest.size());
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

Result<Multihash> Multihash::parse(std::span<const uint8_t> in, size_t& pos) {
  Multihash mh;
  THUNDER_ASSIGN_OR_RETURN(mh.code, readVarint(in, pos, "multihash code"));
  THUNDER_ASSIGN_OR_RETURN(const uint64_t length, readVarint(in, pos, "multihash length"));
  if (length > kMaxDigestBytes) {
    return fail(ErrorCode::kInvalidArgument, "multihash digest of {} bytes is longer than {}",
                length, kMaxDigestBytes);
  }
  if (length > in.size() - pos) {
    return fail(ErrorCode::kInvalidArgument,
                "truncated multihash: digest of {} bytes but only {} left", length,
                in.size() - pos);
  }
  mh.digest.assign(in.begin() + static_cast<ptrdiff_t>(pos),
                   in.begin() + static_cast<ptrdiff_t>(pos + length));
  pos += length;
  return mh;
}

Result<Multihash> Multihash::compute(uint64_t code, std::span<const uint8_t> data) {
  Multihash mh;
  mh.code = code;
  switch (code) {
    case kIdentity:
      if (data.size() > kMaxDigestBytes) {
        return fail(ErrorCode::kInvalidArgument, "identity multihash of {} bytes is longer than {}",
                    data.size(), kMaxDigestBytes);
      }
      mh.digest.assign(data.begin(), data.end());
      return mh;
    case kSha2_256:
      mh.digest.resize(crypto_hash_sha256_BYTES);
      sha256(data, mh.digest.data());
      return mh;
    case kSha2_512:
      mh.digest.resize(crypto_hash_sha512_BYTES);
      crypto_hash_sha512(mh.digest.data(), data.data(), data.size());
      return mh;
    case kBlake3: {
      const BlobId id = crypto::blake3(data);
      mh.digest.assign(id.bytes().begin(), id.bytes().end());
      return mh;
    }
    default:
      return fail(kUnsupported, "unsupported multihash function 0x{:x} ({})", code, hashName(code));
  }
}

Result<void> Multihash::verify(std::span<const uint8_t> data) const {
  const auto mismatch = [&]() {
    return fail(ErrorCode::kCorruption, "block hash mismatch: {} bytes do not hash to {} {}",
                data.size(), hashName(code), toHex(digest));
  };
  if (code == kIdentity) {
    if (!std::equal(digest.begin(), digest.end(), data.begin(), data.end())) return mismatch();
    return {};
  }
  size_t max_len = 0;
  switch (code) {
    case kSha2_256: max_len = crypto_hash_sha256_BYTES; break;
    case kSha2_512: max_len = crypto_hash_sha512_BYTES; break;
    case kBlake3: max_len = kMaxDigestBytes; break;
    default:
      return fail(kUnsupported, "unsupported multihash function 0x{:x} ({})", code, hashName(code));
  }
  if (digest.size() < kMinDigestBytes || digest.size() > max_len) {
    return fail(ErrorCode::kInvalidArgument,
                "{} digest of {} bytes is outside the accepted {}..{} bytes", hashName(code),
                digest.size(), kMinDigestBytes, max_len);
  }
  std::array<uint8_t, kMaxDigestBytes> actual;
  if (code == kSha2_256) {
    sha256(data, actual.data());
  } else if (code == kSha2_512) {
    crypto_hash_sha512(actual.data(), data.data(), data.size());
  } else {
    crypto::Blake3Hasher hasher;
    hasher.update(data);
    hasher.finalizeXof(0, std::span<uint8_t>(actual.data(), digest.size()));
  }
  if (sodium_memcmp(actual.data(), digest.data(), digest.size()) != 0) return mismatch();
  return {};
}

// ---- Multibase ----

std::string multibaseEncode(Multibase base, std::span<const uint8_t> bytes) {
  std::string out(1, static_cast<char>(base));
  switch (base) {
    case Multibase::kBase16: out += toHex(bytes); break;
    case Multibase::kBase32: out += base32Encode(bytes, kBase32Lower); break;
    case Multibase::kBase32Upper: out += base32Encode(bytes, kBase32Upper); break;
    case Multibase::kBase36: out += bigBaseEncode(bytes, kBase36Lower); break;
    case Multibase::kBase58Btc: out += bigBaseEncode(bytes, kBase58Alphabet); break;
  }
  return out;
}

Result<std::vector<uint8_t>> multibaseDecode(std::string_view text) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "empty multibase string");
  const std::string_view body = text.substr(1);
  switch (text[0]) {
    case 'f': return hexDecodeCase(body, HexCase::kLower);
    case 'F': return hexDecodeCase(body, HexCase::kUpper);
    case 'b': return base32Decode(body, kBase32Lower);
    case 'B': return base32Decode(body, kBase32Upper);
    case 'k': return bigBaseDecode(body, kBase36Lower, "base36");
    case 'K': return bigBaseDecode(body, kBase36Upper, "base36");
    case 'z': return bigBaseDecode(body, kBase58Alphabet, "base58btc");
    default: break;
  }
  const auto c = static_cast<uint8_t>(text[0]);
  if (c < 0x20 || c >= 0x7f) {
    return fail(ErrorCode::kInvalidArgument, "invalid multibase prefix byte 0x{:02x}", c);
  }
  return fail(kUnsupported,
              "unsupported multibase prefix '{}' (supported: b B f F k K z, and CIDv0 Qm…)",
              text[0]);
}

// ---- Cid ----

Cid::Cid(uint64_t version, uint64_t codec, Multihash hash)
    : version_(version), codec_(codec), hash_(std::move(hash)) {
  THUNDER_CHECK(version_ == 0 || version_ == 1, "CID version must be 0 or 1");
  THUNDER_CHECK(
      version_ == 1 || (codec_ == kDagPb && hash_.code == kSha2_256 && hash_.digest.size() == 32),
      "a CIDv0 is dag-pb with a 32-byte sha2-256 hash");
}

Result<Cid> Cid::fromBytes(std::span<const uint8_t> in, size_t& pos) {
  if (pos >= in.size()) return fail(ErrorCode::kInvalidArgument, "truncated CID: no bytes");
  if (in[pos] == kSha2_256) {  // CIDv0: a bare sha2-256 multihash
    THUNDER_ASSIGN_OR_RETURN(Multihash mh, Multihash::parse(in, pos));
    if (mh.digest.size() != 32) {
      return fail(ErrorCode::kInvalidArgument,
                  "CIDv0 must be a 32-byte sha2-256 multihash, digest has {} bytes",
                  mh.digest.size());
    }
    return Cid(0, kDagPb, std::move(mh));
  }
  THUNDER_ASSIGN_OR_RETURN(const uint64_t version, readVarint(in, pos, "CID version"));
  if (version != 1) {
    if (version == 0) {
      return fail(ErrorCode::kInvalidArgument, "binary CID with explicit version 0");
    }
    return fail(kUnsupported, "unsupported CID version {} (only 0 and 1)", version);
  }
  THUNDER_ASSIGN_OR_RETURN(const uint64_t codec, readVarint(in, pos, "CID codec"));
  THUNDER_ASSIGN_OR_RETURN(Multihash mh, Multihash::parse(in, pos));
  return Cid(1, codec, std::move(mh));
}

Result<Cid> Cid::fromBytes(std::span<const uint8_t> in) {
  size_t pos = 0;
  THUNDER_ASSIGN_OR_RETURN(Cid cid, fromBytes(in, pos));
  if (pos != in.size()) {
    return fail(ErrorCode::kInvalidArgument, "{} trailing bytes after the CID", in.size() - pos);
  }
  return cid;
}

Result<Cid> Cid::parse(std::string_view text) {
  const auto decode = [text]() -> Result<Cid> {
    if (text.size() > kMaxCidText) {
      return fail(ErrorCode::kInvalidArgument, "text of {} characters is longer than {}",
                  text.size(), kMaxCidText);
    }
    std::vector<uint8_t> bytes;
    if (text.size() == 46 && text.starts_with("Qm")) {
      THUNDER_ASSIGN_OR_RETURN(bytes, bigBaseDecode(text, kBase58Alphabet, "base58btc"));
      if (bytes.size() != 34 || bytes[0] != kSha2_256 || bytes[1] != 32) {
        return fail(ErrorCode::kInvalidArgument, "CIDv0 text does not decode to a sha2-256 hash");
      }
    } else {
      THUNDER_ASSIGN_OR_RETURN(bytes, multibaseDecode(text));
      if (!bytes.empty() && bytes[0] == kSha2_256) {
        return fail(ErrorCode::kInvalidArgument,
                    "a CIDv0 must be written in bare base58btc (Qm…), not multibase");
      }
    }
    return fromBytes(bytes);
  };
  auto cid = decode();
  if (!cid) return fail(cid.error().withContext("invalid CID"));
  return cid;
}

Cid Cid::forBlob(const BlobId& id) {
  Multihash mh;
  mh.code = kBlake3;
  mh.digest.assign(id.bytes().begin(), id.bytes().end());
  return Cid(1, kRaw, std::move(mh));
}

Cid Cid::sha256Of(uint64_t codec, std::span<const uint8_t> block) {
  Multihash mh;
  mh.code = kSha2_256;
  mh.digest.resize(32);
  sha256(block, mh.digest.data());
  return Cid(1, codec, std::move(mh));
}

std::vector<uint8_t> Cid::bytes() const {
  if (version_ == 0) return hash_.bytes();
  std::vector<uint8_t> out;
  out.reserve(2 + varintSize(codec_) + 2 + hash_.digest.size());
  appendVarint(out, version_);
  appendVarint(out, codec_);
  appendVarint(out, hash_.code);
  appendVarint(out, hash_.digest.size());
  out.insert(out.end(), hash_.digest.begin(), hash_.digest.end());
  return out;
}

std::string Cid::toString() const {
  if (version_ == 0) return bigBaseEncode(hash_.bytes(), kBase58Alphabet);
  return multibaseEncode(Multibase::kBase32, bytes());
}

std::string Cid::toString(Multibase base) const {
  return multibaseEncode(base, toV1().bytes());
}

Cid Cid::toV1() const {
  return Cid(1, codec_, hash_);
}

std::optional<BlobId> Cid::blobId() const {
  if (hash_.code != kBlake3 || hash_.digest.size() != BlobId::kSize) return std::nullopt;
  return BlobId(std::span<const uint8_t, 32>(hash_.digest.data(), 32));
}

bool operator<(const Cid& a, const Cid& b) {
  const auto ab = a.bytes();
  const auto bb = b.bytes();
  return std::lexicographical_compare(ab.begin(), ab.end(), bb.begin(), bb.end());
}

size_t CidHash::operator()(const Cid& cid) const noexcept {
  // FNV-1a over version, codec, hash code and digest: no allocation.
  uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  mix(cid.version());
  mix(cid.codec());
  mix(cid.hash().code);
  for (uint8_t b : cid.hash().digest) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return static_cast<size_t>(h);
}

}  // namespace thunder::content::ipfs
