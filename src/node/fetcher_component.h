// FetcherComponent: the node's origin fetcher (fetcher/fetcher.h) and IPFS origin
// (fetcher/ipfs_origin.h) as a node component (docs/fetcher.md).
//
// Starts after the store component (whose blob store and IPFS store it borrows) and before the
// gateway, which serves /origin/<name>/… through fetcher() and fetches CIDs missing from the IPFS
// store through ipfsOrigin(); stops after the gateway (the node stops components in reverse).
// Downloads are spooled in <data-dir>/store/tmp unless the options name a spool dir. Metrics:
// thunder_fetcher_* in the node's registry. start()/stop() on the node's control thread;
// fetcher() and ipfsOrigin() are thread-safe objects, valid between start() and stop().
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "fetcher/fetcher.h"
#include "fetcher/ipfs_origin.h"
#include "io/runtime.h"
#include "node/component.h"
#include "node/store_component.h"

namespace thunder::node {

class FetcherComponent : public Component {
 public:
  // `store` and `metrics` are borrowed and must outlive the component.
  FetcherComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                   fetcher::FetcherOptions options, std::vector<std::string> ipfs_gateways,
                   StoreComponent& store, MetricsRegistry& metrics);
  ~FetcherComponent() override;

  std::string_view name() const override { return "fetcher"; }
  // kUnavailable if the store is not open; Fetcher::create()'s and IpfsOrigin::create()'s
  // errors (a bad origin URL, an unusable spool dir).
  Result<void> start() override;
  void stop() override;

  fetcher::Fetcher* fetcher() { return fetcher_.get(); }
  fetcher::IpfsOrigin* ipfsOrigin() { return ipfs_origin_.get(); }

 private:
  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  fetcher::FetcherOptions options_;
  std::vector<std::string> ipfs_gateways_;
  StoreComponent& store_;
  MetricsRegistry& metrics_;
  std::unique_ptr<fetcher::Fetcher> fetcher_;
  std::unique_ptr<fetcher::IpfsOrigin> ipfs_origin_;
};

}  // namespace thunder::node
