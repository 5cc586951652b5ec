#include "content/ipfs_unixfs.h"

#include <fmt/format.h>

#include <bit>
#include <limits>

namespace thunder::content::ipfs {
namespace {

constexpr uint64_t kMaxHamtFanout = 1024;

template <typename... Args>
tl::unexpected<Error> invalid(fmt::format_string<Args...> format, Args&&... args) {
  return fail(ErrorCode::kCorruption, "invalid UnixFS data: {}",
              fmt::format(format, std::forward<Args>(args)...));
}

// Protobuf reading for the UnixFS Data message (plain protobuf rules: unknown fields are
// skipped, a repeated scalar field may come packed or not, the last value of a scalar wins).
class ProtoReader {
 public:
  explicit ProtoReader(std::span<const uint8_t> in) : in_(in) {}
  bool atEnd() const { return pos_ == in_.size(); }

  Result<uint64_t> varint(std::string_view what) {
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ >= in_.size()) return invalid("truncated varint reading {}", what);
      const uint8_t b = in_[pos_++];
      if (i == 9 && b > 1) return invalid("varint overflows 64 bits reading {}", what);
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return value;
    }
    return invalid("varint longer than 10 bytes reading {}", what);
  }

  Result<std::span<const uint8_t>> bytes(std::string_view what) {
    THUNDER_ASSIGN_OR_RETURN(const uint64_t length, varint(what));
    return fixed(length, what);
  }

  Result<std::span<const uint8_t>> fixed(uint64_t length, std::string_view what) {
    if (length > in_.size() - pos_) {
      return invalid("{} of {} bytes runs past the end ({} left)", what, length, in_.size() - pos_);
    }
    const auto out = in_.subspan(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return out;
  }

  Result<void> skip(uint8_t wire, uint64_t field) {
    switch (wire) {
      case 0: return varint("an unknown field").map([](uint64_t) {});
      case 1: return fixed(8, "an unknown fixed64 field").map([](auto) {});
      case 2: return bytes("an unknown field").map([](auto) {});
      case 5: return fixed(4, "an unknown fixed32 field").map([](auto) {});
      default: return invalid("field {} has unsupported wire type {}", field, wire);
    }
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void appendVarint64(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

void appendVarintField(std::vector<uint8_t>& out, uint8_t field, uint64_t value) {
  out.push_back(static_cast<uint8_t>(field << 3));
  appendVarint64(out, value);
}

uint64_t rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

uint64_t finalMix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

uint64_t loadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<UnixfsData> decodeUnixfs(std::span<const uint8_t> bytes) {
  ProtoReader pb(bytes);
  UnixfsData d;
  bool has_type = false;
  while (!pb.atEnd()) {
    THUNDER_ASSIGN_OR_RETURN(const uint64_t key, pb.varint("a field tag"));
    const uint64_t field = key >> 3;
    const auto wire = static_cast<uint8_t>(key & 7);
    const auto expectWire = [&](uint8_t expected) -> Result<void> {
      if (wire != expected) {
        return invalid("field {} has wire type {}, expected {}", field, wire, expected);
      }
      return {};
    };
    switch (field) {
      case 1: {
        THUNDER_TRY(expectWire(0));
        THUNDER_ASSIGN_OR_RETURN(const uint64_t type, pb.varint("Type"));
        if (type > static_cast<uint64_t>(UnixfsType::kHamtShard)) {
          return invalid("unknown Type {}", type);
        }
        d.type = static_cast<UnixfsType>(type);
        has_type = true;
        break;
      }
      case 2: {
        THUNDER_TRY(expectWire(2));
        THUNDER_ASSIGN_OR_RETURN(const auto data, pb.bytes("Data"));
        d.data.emplace(data.begin(), data.end());
        break;
      }
      case 3: {
        THUNDER_TRY(expectWire(0));
        THUNDER_ASSIGN_OR_RETURN(d.filesize, pb.varint("filesize"));
        break;
      }
      case 4: {
        if (wire == 2) {  // packed
          THUNDER_ASSIGN_OR_RETURN(const auto packed, pb.bytes("blocksizes"));
          ProtoReader list(packed);
          while (!list.atEnd()) {
            THUNDER_ASSIGN_OR_RETURN(const uint64_t size, list.varint("blocksizes"));
            d.blocksizes.push_back(size);
          }
        } else {
          THUNDER_TRY(expectWire(0));
          THUNDER_ASSIGN_OR_RETURN(const uint64_t size, pb.varint("blocksizes"));
          d.blocksizes.push_back(size);
        }
        break;
      }
      case 5: {
        THUNDER_TRY(expectWire(0));
        THUNDER_ASSIGN_OR_RETURN(d.hash_type, pb.varint("hashType"));
        break;
      }
      case 6: {
        THUNDER_TRY(expectWire(0));
        THUNDER_ASSIGN_OR_RETURN(d.fanout, pb.varint("fanout"));
        break;
      }
      case 7: {
        THUNDER_TRY(expectWire(0));
        THUNDER_ASSIGN_OR_RETURN(const uint64_t mode, pb.varint("mode"));
        if (mode > std::numeric_limits<uint32_t>::max()) {
          return invalid("mode {} does not fit 32 bits", mode);
        }
        d.mode = static_cast<uint32_t>(mode);
        break;
      }
      case 8:  // mtime (UnixTime message): read past it
        THUNDER_TRY(expectWire(2));
        THUNDER_TRY(pb.bytes("mtime"));
        break;
      default:
        if (field == 0) return invalid("field number 0");
        THUNDER_TRY(pb.skip(wire, field));
        break;
    }
  }
  if (!has_type) return invalid("no Type field");
  return d;
}

std::vector<uint8_t> encodeUnixfs(const UnixfsData& d) {
  std::vector<uint8_t> out;
  appendVarintField(out, 1, static_cast<uint64_t>(d.type));
  if (d.data) {
    out.push_back(2 << 3 | 2);
    appendVarint64(out, d.data->size());
    out.insert(out.end(), d.data->begin(), d.data->end());
  }
  if (d.filesize) appendVarintField(out, 3, *d.filesize);
  for (uint64_t size : d.blocksizes) appendVarintField(out, 4, size);
  if (d.hash_type) appendVarintField(out, 5, *d.hash_type);
  if (d.fanout) appendVarintField(out, 6, *d.fanout);
  if (d.mode) appendVarintField(out, 7, *d.mode);
  return out;
}

Result<void> checkEntryName(std::string_view name) {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "empty entry name");
  if (name == "." || name == "..") {
    return fail(ErrorCode::kInvalidArgument, "entry name \"{}\" is not allowed", name);
  }
  if (name.find('/') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "entry name contains '/'");
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "entry name contains a NUL byte");
  }
  return {};
}

// MurmurHash3_x64_128 (Austin Appleby's public-domain algorithm), seed 0; returns h1, the first
// 64-bit half of the 128-bit result.
uint64_t murmur3X64_64(std::span<const uint8_t> bytes) {
  constexpr uint64_t c1 = 0x87c37b91114253d5ull;
  constexpr uint64_t c2 = 0x4cf5ad432745937full;
  uint64_t h1 = 0;
  uint64_t h2 = 0;
  const size_t blocks = bytes.size() / 16;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = loadLe64(bytes.data() + 16 * i);
    uint64_t k2 = loadLe64(bytes.data() + 16 * i + 8);
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl64(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl64(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = bytes.data() + 16 * blocks;
  const size_t rest = bytes.size() & 15;
  uint64_t k1 = 0;
  uint64_t k2 = 0;
  for (size_t i = rest; i > 8; --i) k2 ^= static_cast<uint64_t>(tail[i - 1]) << (8 * (i - 9));
  if (rest > 8) {
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  for (size_t i = std::min<size_t>(rest, 8); i > 0; --i) {
    k1 ^= static_cast<uint64_t>(tail[i - 1]) << (8 * (i - 1));
  }
  if (rest > 0) {
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= bytes.size();
  h2 ^= bytes.size();
  h1 += h2;
  h2 += h1;
  h1 = finalMix64(h1);
  h2 = finalMix64(h2);
  h1 += h2;
  return h1;
}

Result<unsigned> hamtBitWidth(uint64_t fanout) {
  if (fanout < 2 || fanout > kMaxHamtFanout || !std::has_single_bit(fanout)) {
    return fail(ErrorCode::kInvalidArgument,
                "HAMT fanout {} is not a power of two between 2 and {}", fanout, kMaxHamtFanout);
  }
  return static_cast<unsigned>(std::countr_zero(fanout));
}

Result<size_t> hamtLabelWidth(uint64_t fanout) {
  THUNDER_TRY(hamtBitWidth(fanout));
  return fmt::format("{:X}", fanout - 1).size();
}

Result<uint64_t> hamtBucket(std::string_view name, uint64_t fanout, size_t depth) {
  THUNDER_ASSIGN_OR_RETURN(const unsigned width, hamtBitWidth(fanout));
  if (depth >= 64 || (depth + 1) * width > 64) {
    return fail(ErrorCode::kInvalidArgument,
                "HAMT depth {} needs more than the 64 hash bits at fanout {}", depth, fanout);
  }
  const uint64_t hash = murmur3X64_64(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
  const unsigned shift = static_cast<unsigned>(64 - (depth + 1) * width);
  return (hash >> shift) & (fanout - 1);
}

std::string hamtLabel(uint64_t bucket, size_t width) {
  return fmt::format("{:0{}X}", bucket, width);
}

}  // namespace thunder::content::ipfs
