// LedgerComponent: the node's ledger (ledger/, docs/protocol/ledger.md) with local ordering,
// as a node component.
//
// On start it opens <data-dir>/ledger with the embedded development genesis (devGenesis() of
// the node key, plus the data dir's own client key funded like the dev client, so that
// `thunder fetch` from the same data dir pays for what it gets; epochs of ledger.epoch_ms) and
// runs one thread that, every ledger.block_interval_ms:
//   1. takes the latest verified DACK of each lane from the session layer's DackQueue and
//      submits them in one SubmitDacks transaction signed by the node key;
//   2. asks the LocalOrderer for the next block (which also ends the epoch when it is due, by an
//      EndEpoch the node key signs);
//   3. removes from the DackQueue exactly the entries whose settlement is final (paid, nothing
//      new, or refused for good); the others stay and are offered again after a pause.
// Admin routes (docs/admin-api.md): GET /v0/ledger, POST /v0/ledger/account, /v0/ledger/rewards,
// /v0/ledger/tx, /v0/ledger/receipt. Metrics: thunder_ledger_height, thunder_ledger_epoch,
// thunder_ledger_dacks_settled_total. start()/stop() on the node's control thread; the routes
// run on loop threads (the Ledger is thread-safe; blocking calls go to the blocking pool).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/metrics.h"
#include "crypto/signing.h"
#include "io/runtime.h"
#include "node/component.h"
#include "node/options.h"

namespace thunder::ledger {
class Ledger;
class LocalOrderer;
}  // namespace thunder::ledger

namespace thunder::node {

class AdminApi;
class SessionComponent;

class LedgerComponent : public Component {
 public:
  // Routes are added to `admin` here (construct before the admin API starts). `sessions` must
  // be started before this component (its DackQueue is read); everything is borrowed.
  LedgerComponent(io::Runtime& runtime, std::filesystem::path data_dir, LedgerOptions options,
                  const crypto::SigningKey& node_key, SessionComponent& sessions,
                  MetricsRegistry& metrics, AdminApi& admin);
  ~LedgerComponent() override;

  std::string_view name() const override { return "ledger"; }
  // Off (ledger.enabled = false): nothing happens. Errors: the Ledger's (another genesis in the
  // directory, corruption, I/O), a client key file that cannot be read or created.
  Result<void> start() override;
  void stop() override;

  // {"enabled", "chain_id", "height", "state_root", "epoch", "last_rewards"...} for /status.
  nlohmann::json statusJson() const;

 private:
  void addRoutes(AdminApi& admin);
  void run();
  void tick();
  Result<void> settle(uint64_t now_ms);
  nlohmann::json summaryJson(size_t epochs) const;

  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  LedgerOptions options_;
  const crypto::SigningKey& node_key_;
  SessionComponent& sessions_;
  MetricsRegistry& metrics_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::LocalOrderer> orderer_;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  // DACK versions offered but not final (e.g. an unfunded client), by their signature:
  // not offered again before this time.
  std::map<std::string, std::chrono::steady_clock::time_point> resting_;  // by signature hex
  std::atomic<uint64_t> height_{0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> settled_{0};
};

}  // namespace thunder::node
