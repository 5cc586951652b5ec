#include "content/ipfs_dag_pb.h"

#include <string_view>

namespace thunder::content::ipfs {
namespace {

constexpr uint8_t kWireVarint = 0;
constexpr uint8_t kWireBytes = 2;

template <typename... Args>
tl::unexpected<Error> invalid(fmt::format_string<Args...> format, Args&&... args) {
  return fail(ErrorCode::kCorruption, "invalid dag-pb: {}",
              fmt::format(format, std::forward<Args>(args)...));
}

// A protobuf reader over a borrowed span. Protobuf varints are up to 10 bytes (64 bits); like
// the Go and JS dag-pb decoders we accept non-minimal ones.
class PbCursor {
 public:
  explicit PbCursor(std::span<const uint8_t> in) : in_(in) {}

  bool atEnd() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

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
    if (length > in_.size() - pos_) {
      return invalid("{} of {} bytes runs past the end ({} left)", what, length, in_.size() - pos_);
    }
    const auto out = in_.subspan(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return out;
  }

  struct Tag {
    uint64_t field;
    uint8_t wire;
  };
  Result<Tag> tag(std::string_view message) {
    THUNDER_ASSIGN_OR_RETURN(const uint64_t key, varint(message));
    return Tag{key >> 3, static_cast<uint8_t>(key & 7)};
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

Result<PbLink> decodeLink(std::span<const uint8_t> bytes, size_t index) {
  PbCursor pb(bytes);
  PbLink link;
  bool has_hash = false;
  uint64_t last_field = 0;
  while (!pb.atEnd()) {
    THUNDER_ASSIGN_OR_RETURN(const auto tag, pb.tag("PBLink field tag"));
    if (tag.field < 1 || tag.field > 3) {
      return invalid("link {} has unknown field {}", index, tag.field);
    }
    if (tag.field == last_field) return invalid("link {} repeats field {}", index, tag.field);
    if (tag.field < last_field) {
      return invalid("link {} has field {} after field {} (must be in order Hash, Name, Tsize)",
                     index, tag.field, last_field);
    }
    last_field = tag.field;
    const uint8_t expected_wire = tag.field == 3 ? kWireVarint : kWireBytes;
    if (tag.wire != expected_wire) {
      return invalid("link {} field {} has wire type {}, expected {}", index, tag.field, tag.wire,
                     expected_wire);
    }
    if (tag.field == 1) {
      THUNDER_ASSIGN_OR_RETURN(const auto hash, pb.bytes("PBLink.Hash"));
      auto cid = Cid::fromBytes(hash);
      if (!cid) return invalid("link {} Hash is not a CID: {}", index, cid.error().message);
      link.hash = std::move(*cid);
      has_hash = true;
    } else if (tag.field == 2) {
      THUNDER_ASSIGN_OR_RETURN(const auto name, pb.bytes("PBLink.Name"));
      link.name.emplace(reinterpret_cast<const char*>(name.data()), name.size());
    } else {
      THUNDER_ASSIGN_OR_RETURN(link.tsize, pb.varint("PBLink.Tsize"));
    }
  }
  if (!has_hash) return invalid("link {} has no Hash", index);
  return link;
}

void appendPbVarint(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

void appendPbBytes(std::vector<uint8_t>& out, uint8_t field, std::span<const uint8_t> bytes) {
  out.push_back(static_cast<uint8_t>(field << 3 | kWireBytes));
  appendPbVarint(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

Result<PbNode> decodeDagPb(std::span<const uint8_t> block) {
  PbCursor pb(block);
  PbNode node;
  bool links_done = false;  // a link group ended (by Data): no more links may follow
  while (!pb.atEnd()) {
    THUNDER_ASSIGN_OR_RETURN(const auto tag, pb.tag("PBNode field tag"));
    if (tag.field != 1 && tag.field != 2) {
      return invalid("unknown PBNode field {} at offset {}", tag.field, pb.pos());
    }
    if (tag.wire != kWireBytes) {
      return invalid("PBNode field {} has wire type {}, expected 2", tag.field, tag.wire);
    }
    if (tag.field == 1) {
      if (node.data) return invalid("duplicate Data field");
      THUNDER_ASSIGN_OR_RETURN(const auto data, pb.bytes("PBNode.Data"));
      node.data.emplace(data.begin(), data.end());
      if (!node.links.empty()) links_done = true;
    } else {
      if (links_done) return invalid("Links after Data after Links (links must be contiguous)");
      THUNDER_ASSIGN_OR_RETURN(const auto bytes, pb.bytes("PBNode.Links"));
      THUNDER_ASSIGN_OR_RETURN(auto link, decodeLink(bytes, node.links.size()));
      node.links.push_back(std::move(link));
    }
  }
  return node;
}

std::vector<uint8_t> encodeDagPb(const PbNode& node) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> link_bytes;
  for (const PbLink& link : node.links) {
    link_bytes.clear();
    appendPbBytes(link_bytes, 1, link.hash.bytes());
    if (link.name) {
      appendPbBytes(link_bytes, 2,
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(link.name->data()),
                                             link.name->size()));
    }
    if (link.tsize) {
      link_bytes.push_back(3 << 3 | kWireVarint);
      appendPbVarint(link_bytes, *link.tsize);
    }
    appendPbBytes(out, 2, link_bytes);
  }
  if (node.data) appendPbBytes(out, 1, *node.data);
  return out;
}

}  // namespace thunder::content::ipfs
