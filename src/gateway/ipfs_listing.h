// Directory pages of the /ipfs/ route (internal to the gateway module; docs/gateway.md "IPFS"):
// the entries of a UnixFS directory read from its dag-pb block (and, for a HAMT-sharded
// directory, from all its shards), and their HTML page. Entries come from the directory's own
// blocks only, so a directory lists even when some of its children are not stored, and every
// kind of entry (files, directories, symlinks, non-UnixFS links) shows.
//
// listIpfsDirectory() blocks (store reads): call it on the blocking pool. renderIpfsListing() is
// a pure function. Both thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"

namespace thunder::gateway {

// Most entries listed on one page (the rest is counted, not shown).
inline constexpr size_t kMaxListedEntries = 10'000;

struct IpfsEntry {
  std::string name;
  content::ipfs::Cid cid;
  std::optional<uint64_t> tsize;  // the DAG size the link claims
};

struct IpfsListing {
  std::vector<IpfsEntry> entries;  // sorted by name (bytewise); at most kMaxListedEntries
  size_t total = 0;                // entries seen (the directory's count when `complete`)
  bool complete = true;            // false: a HAMT walk stopped once the page was full
};

// The entries of directory `cid` of `kind` (kDirectory or kHamtDirectory). kNotFound naming a
// block (a HAMT shard) that is not stored; kCorruption for a block that is not valid dag-pb or
// UnixFS, a HAMT shard with a bad fanout, a link name without its bucket label, or shards nested
// deeper than the hash allows.
Result<IpfsListing> listIpfsDirectory(content::ipfs::IpfsStore& store,
                                      const content::ipfs::Cid& cid, content::ipfs::NodeKind kind);

// The HTML page of `listing` for `url_path` (the request path, ending with '/'); `cid` is the
// listed directory. With `parent` kYes a "../" link is shown. Names are HTML-escaped and links
// percent-encoded.
enum class ParentLink { kNo, kYes };
std::string renderIpfsListing(std::string_view url_path, const content::ipfs::Cid& cid,
                              const IpfsListing& listing, ParentLink parent);

}  // namespace thunder::gateway
