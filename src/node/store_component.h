// StoreComponent: the node's blob store (<data-dir>/store) and, over it, the IPFS block index
// (<data-dir>/ipfs, content/ipfs_store.h) as a node component.
//
// Opens the FsBlobStore on start (collecting temp files an earlier crash left), then the
// IpfsStore; closes both on stop. Adds loopback-only admin routes through which the CLI works
// while the node owns the stores (docs/admin-api.md): POST /v0/store/put, /v0/store/pin,
// /v0/store/unpin, /v0/store/gc, /v0/ipfs/import, /v0/ipfs/export.
// Store work runs on the runtime's blocking pool. Metrics: thunder_store_blobs,
// thunder_store_used_bytes, thunder_store_quota_bytes.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/metrics.h"
#include "content/fs_blob_store.h"
#include "content/ipfs_store.h"
#include "io/runtime.h"
#include "node/admin_api.h"
#include "node/component.h"
#include "node/options.h"

namespace thunder::node {

class StoreComponent : public Component {
 public:
  // Routes are added to `admin` here, so construct this before the admin API starts.
  StoreComponent(io::Runtime& runtime, std::filesystem::path data_dir, StoreOptions options,
                 MetricsRegistry& metrics, AdminApi& admin);
  ~StoreComponent() override;

  std::string_view name() const override { return "store"; }
  Result<void> start() override;
  void stop() override;

  // The open store; null unless started. Borrowed: valid until stop().
  content::FsBlobStore* store() { return store_.get(); }
  // The IPFS blocks and CID mappings over store(); null unless started. Borrowed: valid until
  // stop().
  content::ipfs::IpfsStore* ipfs() { return ipfs_.get(); }
  // {"blobs", "used_bytes", "quota_bytes"} for /status (zeros when not started). Thread-safe.
  nlohmann::json statusJson() const;

 private:
  void addRoutes(AdminApi& admin);
  void addIpfsRoutes(AdminApi& admin);

  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  StoreOptions options_;
  MetricsRegistry& metrics_;
  std::unique_ptr<content::FsBlobStore> store_;
  std::unique_ptr<content::ipfs::IpfsStore> ipfs_;  // borrows *store_
  std::atomic<uint64_t> blob_count_{0};             // refreshed after each write route and at start
};

}  // namespace thunder::node
