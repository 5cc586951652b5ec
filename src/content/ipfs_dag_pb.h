// dag-pb (IPLD codec 0x70): the protobuf PBNode/PBLink block format that UnixFS is written in.
// Strictness rules and bytes: docs/formats/ipfs.md "Codecs" (IPLD dag-pb spec).
//
// Pure functions over bytes (thread-safe). decodeDagPb() takes untrusted input: it never aborts,
// allocates at most what the block holds, and returns kCorruption "invalid dag-pb: …" naming the
// first rule broken. encodeDagPb() writes the single canonical form, so for any block accepted
// by decodeDagPb() that is canonical, encodeDagPb(decodeDagPb(b)) == b.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "content/ipfs_multiformats.h"

namespace thunder::content::ipfs {

struct PbLink {
  Cid hash;                         // required
  std::optional<std::string> name;  // any bytes (UnixFS checks names, see checkEntryName())
  std::optional<uint64_t> tsize;    // cumulative size of the linked DAG, as the writer claims

  friend bool operator==(const PbLink&, const PbLink&) = default;
};

struct PbNode {
  std::vector<PbLink> links;  // in block order (the encoder does not sort)
  std::optional<std::vector<uint8_t>> data;

  friend bool operator==(const PbNode&, const PbNode&) = default;
};

Result<PbNode> decodeDagPb(std::span<const uint8_t> block);  // strict per the dag-pb spec
std::vector<uint8_t> encodeDagPb(const PbNode& node);        // canonical (links then data)

}  // namespace thunder::content::ipfs
