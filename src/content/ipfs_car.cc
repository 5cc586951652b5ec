#include "content/ipfs_car.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace thunder::content::ipfs {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// The CARv2 pragma: varint(10) ‖ dag-cbor {"version": 2}.
constexpr uint8_t kCarV2Pragma[] = {0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02};
constexpr size_t kCarV2HeaderBytes = 40;  // characteristics(16) ‖ 3 × u64 LE
constexpr size_t kMaxHeaderKeys = 8;
constexpr uint64_t kCidTag = 42;

uint64_t loadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The tiny dag-cbor subset a CAR header needs: definite-length heads, text keys, unsigned ints,
// arrays, tag 42 over byte strings. Refuses anything else with a message naming it.
class CborCursor {
 public:
  explicit CborCursor(std::span<const uint8_t> in) : in_(in) {}

  struct Head {
    uint8_t major;
    uint64_t value;
  };

  Result<Head> head(std::string_view what) {
    if (pos_ >= in_.size()) return bad("truncated header reading {}", what);
    const uint8_t initial = in_[pos_++];
    const uint8_t major = initial >> 5;
    const uint8_t info = initial & 31;
    if (info < 24) return Head{major, info};
    if (info > 27) {
      return bad("indefinite-length or reserved CBOR item (0x{:02x}) reading {}", initial, what);
    }
    const size_t width = size_t{1} << (info - 24);
    if (in_.size() - pos_ < width) return bad("truncated header reading {}", what);
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) value = (value << 8) | in_[pos_++];
    return Head{major, value};
  }

  Result<Head> expect(uint8_t major, std::string_view what) {
    THUNDER_ASSIGN_OR_RETURN(const Head h, head(what));
    if (h.major != major) {
      return bad("expected CBOR major type {} for {}, got {}", major, what, h.major);
    }
    return h;
  }

  Result<std::span<const uint8_t>> bytes(uint64_t length, std::string_view what) {
    if (length > in_.size() - pos_) return bad("truncated header reading {}", what);
    const auto out = in_.subspan(pos_, length);
    pos_ += length;
    return out;
  }

  bool atEnd() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }

  template <typename... Args>
  static tl::unexpected<Error> bad(fmt::format_string<Args...> format, Args&&... args) {
    return fail(ErrorCode::kInvalidArgument, "invalid CAR header: {}",
                fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

struct CarHeader {
  uint64_t version = 0;
  std::vector<Cid> roots;
  bool has_roots = false;
};

Result<std::vector<Cid>> decodeRoots(CborCursor& cbor) {
  THUNDER_ASSIGN_OR_RETURN(const auto array, cbor.expect(4, "roots"));
  // Each root takes at least 4 bytes, so a count beyond that cannot be honest.
  if (array.value > cbor.remaining() / 4) {
    return CborCursor::bad("roots array of {} entries does not fit the header", array.value);
  }
  std::vector<Cid> roots;
  roots.reserve(array.value);
  for (uint64_t i = 0; i < array.value; ++i) {
    THUNDER_ASSIGN_OR_RETURN(const auto tag, cbor.expect(6, "root link tag"));
    if (tag.value != kCidTag)
      return CborCursor::bad("root {} has CBOR tag {}, not 42", i, tag.value);
    THUNDER_ASSIGN_OR_RETURN(const auto bstr, cbor.expect(2, "root link bytes"));
    THUNDER_ASSIGN_OR_RETURN(const auto link, cbor.bytes(bstr.value, "root link bytes"));
    if (link.empty() || link[0] != 0x00) {
      return CborCursor::bad("root {} link bytes lack the 0x00 multibase prefix", i);
    }
    auto cid = Cid::fromBytes(link.subspan(1));
    if (!cid) return CborCursor::bad("root {}: {}", i, cid.error().message);
    roots.push_back(std::move(*cid));
  }
  return roots;
}

Result<CarHeader> decodeHeader(std::span<const uint8_t> bytes) {
  CborCursor cbor(bytes);
  THUNDER_ASSIGN_OR_RETURN(const auto map, cbor.expect(5, "the header map"));
  if (map.value > kMaxHeaderKeys) return CborCursor::bad("map of {} keys", map.value);
  CarHeader header;
  bool has_version = false;
  for (uint64_t i = 0; i < map.value; ++i) {
    THUNDER_ASSIGN_OR_RETURN(const auto key_head, cbor.expect(3, "a map key"));
    THUNDER_ASSIGN_OR_RETURN(const auto key_bytes, cbor.bytes(key_head.value, "a map key"));
    const std::string_view key(reinterpret_cast<const char*>(key_bytes.data()), key_bytes.size());
    if (key == "version") {
      if (has_version) return CborCursor::bad("duplicate key \"version\"");
      THUNDER_ASSIGN_OR_RETURN(const auto v, cbor.expect(0, "version"));
      header.version = v.value;
      has_version = true;
    } else if (key == "roots") {
      if (header.has_roots) return CborCursor::bad("duplicate key \"roots\"");
      THUNDER_ASSIGN_OR_RETURN(header.roots, decodeRoots(cbor));
      header.has_roots = true;
    } else {
      std::string printable;
      for (char c : key.substr(0, 32)) printable += (c >= 0x20 && c < 0x7f) ? c : '?';
      return CborCursor::bad("unsupported key \"{}\"", printable);
    }
  }
  if (!cbor.atEnd()) return CborCursor::bad("{} bytes after the header map", cbor.remaining());
  if (!has_version) return CborCursor::bad("no \"version\"");
  return header;
}

void appendCborHead(std::vector<uint8_t>& out, uint8_t major, uint64_t value) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (value < 24) {
    out.push_back(m | static_cast<uint8_t>(value));
    return;
  }
  int width = 8;
  uint8_t info = 27;
  if (value <= 0xff) {
    width = 1;
    info = 24;
  } else if (value <= 0xffff) {
    width = 2;
    info = 25;
  } else if (value <= 0xffffffff) {
    width = 4;
    info = 26;
  }
  out.push_back(m | info);
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace

ByteReader spanByteReader(std::span<const uint8_t> bytes) {
  return [bytes, pos = size_t{0}](std::span<uint8_t> out) mutable -> Result<size_t> {
    const size_t n = std::min(out.size(), bytes.size() - pos);
    if (n > 0) std::memcpy(out.data(), bytes.data() + pos, n);
    pos += n;
    return n;
  };
}

// ---- CarReader ----

CarReader::CarReader(ByteReader reader, CarLimits limits)
    : reader_(std::move(reader)), limits_(limits) {}

const std::vector<Cid>& CarReader::roots() const {
  return roots_;
}

Result<CarReader> CarReader::open(ByteReader reader, CarLimits limits) {
  CarReader car(std::move(reader), limits);
  THUNDER_TRY(car.readHeader());
  return car;
}

Result<bool> CarReader::fill(size_t n) {
  // Inside a CARv2 only the data section counts as input. Reading up to `target` even when it
  // is short of `n` keeps error messages independent of how the ByteReader splits its input.
  size_t target = n;
  if (data_end_) target = static_cast<size_t>(std::min<uint64_t>(n, *data_end_ - consumed_));
  if (buffer_.size() - buffer_pos_ < target) {
    if (buffer_pos_ > 0) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(buffer_pos_));
      buffer_pos_ = 0;
    }
    while (buffer_.size() < target && !eof_) {
      const size_t old = buffer_.size();
      const size_t want = std::max(target - old, kReadChunk);
      buffer_.resize(old + want);
      auto got = reader_(std::span<uint8_t>(buffer_.data() + old, want));
      if (!got) {
        buffer_.resize(old);
        return tl::unexpected(std::move(got).error());
      }
      if (*got > want) {
        buffer_.resize(old);
        return fail(ErrorCode::kInternal, "CAR byte reader returned {} bytes for a {}-byte buffer",
                    *got, want);
      }
      buffer_.resize(old + *got);
      if (*got == 0) eof_ = true;
    }
  }
  return target == n && buffer_.size() - buffer_pos_ >= n;
}

Result<std::span<const uint8_t>> CarReader::take(size_t n, std::string_view what) {
  THUNDER_ASSIGN_OR_RETURN(const bool ok, fill(n));
  if (!ok) {
    uint64_t left = buffer_.size() - buffer_pos_;
    if (data_end_) left = std::min<uint64_t>(left, *data_end_ - consumed_);
    return fail(ErrorCode::kInvalidArgument,
                "truncated CAR: {} needs {} bytes at offset {}, only {} left", what, n, consumed_,
                left);
  }
  const auto out = std::span<const uint8_t>(buffer_.data() + buffer_pos_, n);
  buffer_pos_ += n;
  consumed_ += n;
  return out;
}

Result<std::optional<uint64_t>> CarReader::readSectionVarint(std::string_view what, AtEnd at_end) {
  uint8_t bytes[9];
  for (size_t i = 0; i < sizeof bytes; ++i) {
    THUNDER_ASSIGN_OR_RETURN(const bool ok, fill(1));
    if (!ok) {
      if (i == 0 && at_end == AtEnd::kCleanEnd) return std::nullopt;
      return fail(ErrorCode::kInvalidArgument,
                  "truncated CAR: input ends inside the {} at offset {}", what, consumed_);
    }
    bytes[i] = buffer_[buffer_pos_++];
    ++consumed_;
    if ((bytes[i] & 0x80) == 0) {
      size_t pos = 0;
      auto value = readVarint(std::span<const uint8_t>(bytes, i + 1), pos, what);
      if (!value) return tl::unexpected(std::move(value).error());
      return *value;
    }
  }
  return fail(ErrorCode::kInvalidArgument, "CAR {} varint is longer than 9 bytes at offset {}",
              what, consumed_);
}

Result<void> CarReader::readHeader() {
  const auto readV1Header = [this]() -> Result<CarHeader> {
    const uint64_t start = consumed_;
    THUNDER_ASSIGN_OR_RETURN(const auto length,
                             readSectionVarint("header length", AtEnd::kTruncated));
    if (*length == 0) return fail(ErrorCode::kInvalidArgument, "invalid CAR header: zero length");
    if (*length > limits_.max_header) {
      return fail(ErrorCode::kInvalidArgument, "CAR header of {} bytes exceeds the {}-byte limit",
                  *length, limits_.max_header);
    }
    THUNDER_ASSIGN_OR_RETURN(const auto bytes, take(*length, "header"));
    auto header = decodeHeader(bytes);
    if (header && header->version == 2 &&
        (consumed_ - start != sizeof kCarV2Pragma ||
         !std::equal(bytes.begin(), bytes.end(), kCarV2Pragma + 1))) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid CAR header: version 2 without the exact CARv2 pragma");
    }
    return header;
  };

  THUNDER_ASSIGN_OR_RETURN(CarHeader header, readV1Header());
  if (header.version == 2) {
    // CARv2: fixed header, then the inner CARv1 at data_offset, data_size bytes long.
    THUNDER_ASSIGN_OR_RETURN(const auto v2, take(kCarV2HeaderBytes, "CARv2 header"));
    const uint64_t data_offset = loadLe64(v2.data() + 16);
    const uint64_t data_size = loadLe64(v2.data() + 24);
    if (data_offset < consumed_) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid CARv2 header: data offset {} lies inside the {}-byte header",
                  data_offset, consumed_);
    }
    if (data_size > UINT64_MAX - data_offset) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid CARv2 header: data offset {} + size {} overflows", data_offset,
                  data_size);
    }
    while (consumed_ < data_offset) {  // padding before the data: read past it in chunks
      const size_t skip =
          static_cast<size_t>(std::min<uint64_t>(data_offset - consumed_, kReadChunk));
      THUNDER_TRY(take(skip, "CARv2 padding before the data"));
    }
    data_end_ = data_offset + data_size;
    car_version_ = 2;
    THUNDER_ASSIGN_OR_RETURN(header, readV1Header());
    if (header.version != 1) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid CARv2: the inner CAR has version {}, expected 1", header.version);
    }
  } else if (header.version != 1) {
    return fail(kUnsupported, "unsupported CAR version {} (1 and 2 are read)", header.version);
  }
  if (!header.has_roots) {
    return fail(ErrorCode::kInvalidArgument, "invalid CAR header: no \"roots\"");
  }
  roots_ = std::move(header.roots);
  return {};
}

Result<std::optional<CarBlock>> CarReader::next() {
  const uint64_t offset = consumed_;
  THUNDER_ASSIGN_OR_RETURN(const auto length,
                           readSectionVarint("section length", AtEnd::kCleanEnd));
  if (!length) return std::optional<CarBlock>();
  if (*length == 0) {
    return fail(ErrorCode::kInvalidArgument, "zero-length CAR section at offset {}", offset);
  }
  if (*length > limits_.max_block + kMaxCidBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "CAR section of {} bytes at offset {} exceeds the {}-byte block limit", *length,
                offset, limits_.max_block);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto section, take(*length, "section"));
  size_t pos = 0;
  auto cid = Cid::fromBytes(section, pos);
  if (!cid) {
    return fail(cid.error().code, "CAR section at offset {}: {}", offset, cid.error().message);
  }
  const auto data = section.subspan(pos);
  if (data.size() > limits_.max_block) {
    return fail(ErrorCode::kInvalidArgument,
                "CAR block {} of {} bytes exceeds the {}-byte block limit", cid->toString(),
                data.size(), limits_.max_block);
  }
  if (auto ok = cid->hash().verify(data); !ok) {
    return fail(ok.error().code, "CAR block {} at offset {}: {}", cid->toString(), offset,
                ok.error().message);
  }
  CarBlock block{std::move(*cid), std::vector<uint8_t>(data.begin(), data.end())};
  return std::optional<CarBlock>(std::move(block));
}

// ---- Writing ----

std::vector<uint8_t> encodeCarHeader(std::span<const Cid> roots) {
  std::vector<uint8_t> cbor;
  appendCborHead(cbor, 5, 2);
  appendCborHead(cbor, 3, 5);
  cbor.insert(cbor.end(), {'r', 'o', 'o', 't', 's'});
  appendCborHead(cbor, 4, roots.size());
  for (const Cid& root : roots) {
    const auto bytes = root.bytes();
    appendCborHead(cbor, 6, kCidTag);
    appendCborHead(cbor, 2, bytes.size() + 1);
    cbor.push_back(0x00);
    cbor.insert(cbor.end(), bytes.begin(), bytes.end());
  }
  appendCborHead(cbor, 3, 7);
  cbor.insert(cbor.end(), {'v', 'e', 'r', 's', 'i', 'o', 'n'});
  appendCborHead(cbor, 0, 1);
  std::vector<uint8_t> out;
  appendVarint(out, cbor.size());
  out.insert(out.end(), cbor.begin(), cbor.end());
  return out;
}

CarWriter::CarWriter(ByteWriter out) : out_(std::move(out)) {}

Result<void> CarWriter::writeHeader(std::span<const Cid> roots) {
  const auto header = encodeCarHeader(roots);
  THUNDER_TRY(out_(header));
  written_ += header.size();
  return {};
}

Result<void> CarWriter::writeBlock(const Cid& cid, std::span<const uint8_t> data) {
  const auto cid_bytes = cid.bytes();
  std::vector<uint8_t> prefix;
  prefix.reserve(9 + cid_bytes.size());
  appendVarint(prefix, cid_bytes.size() + data.size());
  prefix.insert(prefix.end(), cid_bytes.begin(), cid_bytes.end());
  THUNDER_TRY(out_(prefix));
  if (!data.empty()) THUNDER_TRY(out_(data));
  written_ += prefix.size() + data.size();
  return {};
}

}  // namespace thunder::content::ipfs
