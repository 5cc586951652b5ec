// Requests of the /ipfs/ route (internal to the gateway module; docs/gateway.md "IPFS"): the
// target "/ipfs/<cid>[/<path>][/]" split into a CID and percent-decoded UnixFS path segments, and
// the response format negotiated from `?format=` and `Accept` (a raw block, a CAR with its
// Trustless Gateway parameters, or deserialized UnixFS).
//
// Pure functions over untrusted text; thread-safe; never abort.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"
#include "gateway/request_target.h"

namespace thunder::gateway {

inline constexpr std::string_view kIpldRawType = "application/vnd.ipld.raw";
inline constexpr std::string_view kIpldCarType = "application/vnd.ipld.car";
// Most path segments accepted after the CID.
inline constexpr size_t kMaxIpfsSegments = 256;

// "/ipfs/<cid>[/<segment>...][/]".
struct IpfsPath {
  content::ipfs::Cid cid;
  std::string cid_text;  // as written in the URL
  // Decoded path segments below the CID (each a valid UnixFS entry name).
  std::vector<std::string> segments;
  TrailingSlash trailing_slash = TrailingSlash::kNo;
};

// Parses the path part of an /ipfs/ target. kInvalidArgument naming the problem: no CID, a
// malformed or unsupported CID (the message says why), a bad %-escape, an empty segment
// ("a//b"), a segment that decodes to "", ".", ".." or one containing '/' or NUL, more than
// kMaxIpfsSegments segments.
Result<IpfsPath> parseIpfsPath(std::string_view path);

// kUnsupported: a known Path Gateway format this gateway does not produce (tar, dag-json,
// dag-cbor, json, cbor, ipns-record), named in IpfsNegotiation::unsupported (answered with 501).
enum class IpfsFormat { kDeserialized, kRaw, kCar, kUnsupported };

// What an /ipfs/ request asks for.
struct IpfsNegotiation {
  IpfsFormat format = IpfsFormat::kDeserialized;
  // The format came from Accept, not from ?format= (the answer then carries Content-Location).
  bool from_accept = false;
  // kCar only: dag-scope, entity-bytes and car-dups (from the query, else Accept's parameters).
  content::ipfs::CarExportOptions car;
  std::string unsupported;  // kUnsupported: the format asked for
};

// Negotiates the format: `?format=raw|car` first (the spec's precedence), else the Accept media
// range with the highest q among application/vnd.ipld.raw and application/vnd.ipld.car, else
// deserialized. For a CAR: the Accept entry's `version`, `order` and `dups` parameters, then the
// query's `car-version`, `car-order`, `car-dups`, `dag-scope` and `entity-bytes`, which win.
// kInvalidArgument naming the parameter for an unknown format or a bad value (CAR version other
// than 1, order other than dfs/unk, dups other than y/n, dag-scope, entity-bytes, or entity-bytes
// with a dag-scope other than entity).
Result<IpfsNegotiation> negotiateIpfs(std::string_view query, std::string_view accept);

// The reply Content-Type of a CAR: "application/vnd.ipld.car; version=1; order=dfs; dups=n".
std::string carContentType(const content::ipfs::CarExportOptions& options);

}  // namespace thunder::gateway
