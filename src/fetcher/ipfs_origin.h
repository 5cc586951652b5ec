// IpfsOrigin: fills the node's IPFS store from configured IPFS trustless gateways when a CID is
// missing (docs/fetcher.md "IPFS origins").
//
// A fetch asks each gateway in turn for `<gateway>/ipfs/<cid>?format=car&dag-scope=all` through
// the Fetcher (so concurrent requests for one CID share one download, and origin concurrency is
// bounded by the Fetcher's limits), reads the whole CAR once to verify every block's multihash
// and that the CAR's root is the CID asked for, and only then imports it into the IpfsStore
// (which checks links, sizes and names again and assembles UnixFS content). Nothing of a CAR that
// fails either check is imported. Imported blocks are unpinned: they are cache, evicted by the
// store's LRU within its quota. The downloaded CAR itself is removed from the store afterwards.
//
// Owned by the node; borrows the runtime, the fetcher and both stores, which outlive it.
// Thread-safe: fetch() may be awaited on any loop, any number at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "content/blob_store.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"
#include "fetcher/fetcher.h"
#include "io/runtime.h"

namespace thunder::fetcher {

struct IpfsOriginOptions {
  // Base URLs of IPFS trustless gateways ("https://gateway.example", "http://127.0.0.1:8080"),
  // tried in order. Empty: no IPFS origin (fetch() answers kNotFound at once).
  std::vector<std::string> gateways;
};

class IpfsOrigin {
 public:
  // kInvalidArgument naming a gateway URL that is not http(s)://host[:port][/path].
  static Result<std::unique_ptr<IpfsOrigin>> create(io::Runtime& runtime, Fetcher& fetcher,
                                                    content::BlobStore& blobs,
                                                    content::ipfs::IpfsStore& ipfs,
                                                    IpfsOriginOptions options);

  bool enabled() const { return !options_.gateways.empty(); }
  const IpfsOriginOptions& options() const { return options_; }

  // Fetches and imports the DAG of `cid` from the first gateway that serves a valid CAR for it.
  // kNotFound when no gateway is configured or none has it (the message lists each gateway's
  // answer); kCorruption when every gateway that answered sent bad data (the message names the
  // gateway and the block); other errors as the Fetcher's.
  boost::asio::awaitable<Result<content::ipfs::ImportReport>> fetch(content::ipfs::Cid cid);

 private:
  IpfsOrigin(io::Runtime& runtime, Fetcher& fetcher, content::BlobStore& blobs,
             content::ipfs::IpfsStore& ipfs, IpfsOriginOptions options);
  // On the blocking pool: verifies the stored CAR `car` for `cid`, then imports it.
  Result<content::ipfs::ImportReport> importStoredCar(const BlobId& car,
                                                      const content::ipfs::Cid& cid);

  io::Runtime& runtime_;
  Fetcher& fetcher_;
  content::BlobStore& blobs_;
  content::ipfs::IpfsStore& ipfs_;
  const IpfsOriginOptions options_;
};

}  // namespace thunder::fetcher
