// DACKs turn into money: a real node with a short epoch serves a fetch to its funded client; the
// node settles the client's signed DACKs on its ledger, the epoch ends, and the ledger shows the
// client's deposit debited and the node's and service's owners rewarded, conserving supply —
// with the built-in content service, and with thunder-service-cdn executing service 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "harness.h"
#include "net/http_client.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Ledger amounts are decimal strings in JSON (they may exceed 2^53).
uint64_t amount(const json& value) {
  return value.is_string() ? std::stoull(value.get<std::string>()) : value.get<uint64_t>();
}

class LedgerCli : public ::testing::Test {
 protected:
  // More of the node's config (e.g. [[services]]).
  virtual std::string moreConfig() const { return ""; }

  void SetUp() override {
    // Without a [[services]] table for id 0 the node would take thunder-service-cdn when it is
    // built; this fixture pins the built-in content service (LedgerCdnCli runs the CDN).
    ::setenv("THUNDER_SERVICES_DIR", "none", 1);
    const auto config = dir_.path() / "node.toml";
    std::ofstream(config) << "[ledger]\nblock_interval_ms = 100\nepoch_ms = 1000\n" << moreConfig();
    node_ = std::make_unique<Process>(
        std::vector<std::string>{"--config", config.string(), "--data-dir", nodeDir().string(),
                                 "run", "--admin-listen", "127.0.0.1:0", "--sessions-listen",
                                 "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
  }
  void TearDown() override {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(5s), 0);
  }
  std::filesystem::path nodeDir() const { return dir_.path() / "node"; }

  json query(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", nodeDir().string(), "ledger"});
    args.push_back("--json");
    auto result = runThunder(args, 60s);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out, nullptr, false);
  }

  // Polls the node's ledger until `done` holds (the node orders a block every 100 ms).
  json waitFor(const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      json status = query({"status"});
      if (done(status) || std::chrono::steady_clock::now() > deadline) return status;
      std::this_thread::sleep_for(100ms);  // polling a condition, not timing
    }
  }

  // Puts 2,000,000 random bytes, fetches them as the funded client, waits for the epoch that
  // pays for them and checks the payment: the client's debit, the node's and the service's
  // rewards, nothing left to settle.
  void fetchIsSettledAndRewarded();

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

// The same node with thunder-service-cdn executing service 0 (the content service).
class LedgerCdnCli : public LedgerCli {
 protected:
  std::string moreConfig() const override {
    return std::string("[[services]]\nid = 0\nname = \"cdn\"\nexecutable = \"") +
           THUNDER_SERVICE_CDN + "\"\n";
  }

  // Service 0 in the node's /status (empty if not listed).
  json cdn() {
    auto response = net::httpGet(ready_["admin"].get<std::string>(), "/status");
    if (!response) return json::object();
    const json status = json::parse(response->body, nullptr, false);
    if (status.is_object() && status.contains("services") && status["services"].is_array()) {
      for (const auto& s : status["services"]) {
        if (s.value("id", -1) == 0) return s;
      }
    }
    return json::object();
  }
  json waitForCdn(const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    json s = cdn();
    while (!done(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);  // polling a condition, not timing
      s = cdn();
    }
    return s;
  }
};

TEST_F(LedgerCli, AFetchIsSettledAndRewardedAfterAnEpoch) {
  fetchIsSettledAndRewarded();
}

TEST_F(LedgerCdnCli, AFetchThroughTheCdnServiceIsSettledAndRewarded) {
  const json running = waitForCdn([](const json& s) { return s.value("state", "") == "running"; });
  ASSERT_EQ(running.value("state", ""), "running") << running.dump(2);
  ASSERT_NO_FATAL_FAILURE(fetchIsSettledAndRewarded());
  // The CDN process served the fetch that was paid for.
  const json served = cdn();
  EXPECT_GE(served["connections"].value("total", 0), 1) << served.dump(2);
  EXPECT_GE(served.value("bytes_out", uint64_t{0}), 2'000'000u) << served.dump(2);
}

void LedgerCli::fetchIsSettledAndRewarded() {
  const std::string client_key = (nodeDir() / "keys" / "client.key").string();
  const json before = query({"account", "--key", client_key});
  ASSERT_GT(amount(before["deposit"]), 0u) << before;

  std::string bytes(2'000'000, '\0');
  std::mt19937 rng(5);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir_.path() / "blob";
  std::ofstream(file, std::ios::binary) << bytes;
  auto put = runThunder({"--data-dir", nodeDir().string(), "put", file.string()});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto fetched =
      runThunder({"--data-dir", (dir_.path() / "client").string(), "fetch", put.out.substr(0, 64),
                  "--from", ready_["sessions"], "--node-key", ready_["node_key"], "--key",
                  client_key, "-o", (dir_.path() / "copy").string()},
                 60s);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;

  // Settled, then paid out at the end of an epoch.
  const json status = waitFor([](const json& s) {
    for (const auto& e : s["recent_epochs"]) {
      if (amount(e["revenue"]) > 0) return true;
    }
    return false;
  });
  json paid;
  for (const auto& e : status["recent_epochs"]) {
    if (amount(e["revenue"]) > 0) paid = e;
  }
  ASSERT_FALSE(paid.is_null()) << status.dump(2);
  EXPECT_GE(status["dacks_settled"].get<uint64_t>(), 1u);
  // 2,000,000 bytes of data plus the stream's size prefix and parent nodes, at 1 micro unit per
  // byte (dev price): floor(bytes / 10^6) = 2 base units.
  const uint64_t revenue = amount(paid["revenue"]);
  EXPECT_EQ(revenue, 2u) << paid.dump(2);
  EXPECT_EQ(
      amount(paid["node_rewards"]) + amount(paid["service_rewards"]) + amount(paid["treasury"]),
      revenue)
      << paid.dump(2);
  const json after = query({"account", "--key", client_key});
  EXPECT_EQ(amount(before["deposit"]) - amount(after["deposit"]), revenue);

  // Nothing left to settle: the queue is empty.
  auto dacks = runThunder({"--data-dir", nodeDir().string(), "dacks", "--json"});
  ASSERT_EQ(dacks.exit_code, 0) << dacks.err;
  EXPECT_EQ(json::parse(dacks.out)["dacks"].size(), 0u) << dacks.out;

  // Rewards are listed by `thunder rewards` too.
  auto rewards = runThunder({"--data-dir", nodeDir().string(), "rewards", "--json"});
  ASSERT_EQ(rewards.exit_code, 0) << rewards.err;
  EXPECT_FALSE(json::parse(rewards.out).empty());
}

TEST_F(LedgerCli, GovernanceOnlyPriceChanges) {
  auto refused = runThunder({"--data-dir", nodeDir().string(), "ledger", "price-set", "bandwidth",
                             "5", "--key", (nodeDir() / "keys" / "client.key").string()},
                            60s);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  auto accepted = runThunder({"--data-dir", nodeDir().string(), "ledger", "price-set", "bandwidth",
                              "5", "--dev-key", "governance", "--json"},
                             60s);
  ASSERT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  EXPECT_EQ(json::parse(accepted.out)["status"], "applied");
}

}  // namespace
}  // namespace thunder::testing
