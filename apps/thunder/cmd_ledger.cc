// thunder ledger ...: queries and signed transactions against the running node's ledger.
#include "cmd_ledger.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/hex.h"
#include "crypto/keystore.h"
#include "ledger/genesis.h"
#include "ledger/ledger_json.h"
#include "ledger/tx_builder.h"
#include "ledger/tx_codec.h"
#include "node/data_dir.h"

namespace thunder::cli {
namespace {

using nlohmann::json;

struct LedgerFlags {
  bool json = false;
  std::string key;      // signer key file
  std::string dev_key;  // or a well-known dev key by name
  std::string account;  // account: the account to show
  int64_t epoch = -1;   // rewards: one epoch
  uint64_t amount = 0;
  std::string to;  // transfer: recipient; stake: node
  std::string commodity = "bandwidth";
  uint64_t micro_price = 0;
};

int printJson(const json& value, bool as_json, const std::function<void(const json&)>& human) {
  if (as_json) {
    std::printf("%s\n", value.dump().c_str());
  } else {
    human(value);
  }
  return kExitOk;
}

Result<crypto::SigningKey> signerKey(const GlobalFlags& flags, const LedgerFlags& opts) {
  if (!opts.dev_key.empty()) {
    static const std::map<std::string, ledger::DevKey> kNames = {
        {"governance", ledger::DevKey::kGovernance},
        {"faucet", ledger::DevKey::kFaucet},
        {"client", ledger::DevKey::kClient},
        {"node-owner", ledger::DevKey::kNodeOwner},
        {"service-owner", ledger::DevKey::kServiceOwner}};
    auto it = kNames.find(opts.dev_key);
    if (it == kNames.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "--dev-key {}: expected governance, faucet, client, node-owner or service-owner",
                  opts.dev_key);
    }
    return ledger::devKey(it->second);
  }
  if (!opts.key.empty()) return crypto::readKeyFile(opts.key);
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  return crypto::readKeyFile(dir / "keys" / "client.key");
}

Result<ledger::Commodity> commodityOf(const std::string& name) {
  if (name == "bandwidth") return ledger::Commodity::kBandwidthBytes;
  if (name == "compute") return ledger::Commodity::kComputeMs;
  return fail(ErrorCode::kInvalidArgument, "commodity {}: expected bandwidth or compute", name);
}

// Signs the transaction `make` builds with the signer's next nonce, submits it and waits (up to
// 30 s) for the block that applies it; returns its receipt.
Result<json> submit(const GlobalFlags& flags, const LedgerFlags& opts,
                    const std::function<ledger::SignedTransaction(ledger::TxBuilder&)>& make) {
  THUNDER_ASSIGN_OR_RETURN(const auto key, signerKey(flags, opts));
  THUNDER_ASSIGN_OR_RETURN(const json status,
                           callRunningNode(flags, "/v0/ledger/status", json::object()));
  THUNDER_ASSIGN_OR_RETURN(
      const json account,
      callRunningNode(flags, "/v0/ledger/account", {{"account", key.publicKey().hex()}}));
  const uint64_t chain_id = status.value("chain_id", uint64_t{0});
  const uint64_t nonce = account.value("nonce", uint64_t{0});
  ledger::TxBuilder builder(chain_id, key, nonce + 1);
  const auto stx = make(builder);
  THUNDER_ASSIGN_OR_RETURN(const json queued,
                           callRunningNode(flags, "/v0/ledger/tx",
                                           {{"hex", toHex(ledger::encodeSignedTransaction(stx))}}));
  const std::string id = queued.value("id", "");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto receipt = callRunningNode(flags, "/v0/ledger/receipt", {{"id", id}});
    if (receipt) return *receipt;
    if (receipt.error().code != ErrorCode::kNotFound ||
        std::chrono::steady_clock::now() > deadline) {
      return tl::unexpected(receipt.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the next block
  }
}

int reportReceipt(const Result<json>& receipt, bool as_json) {
  if (!receipt) return reportError(receipt.error());
  const std::string status = receipt->value("status", "");
  printJson(*receipt, as_json, [](const json& r) {
    std::printf("%s at height %llu: %s\n", r.value("id", "").c_str(),
                static_cast<unsigned long long>(r.value("height", uint64_t{0})),
                r.value("status", "").c_str());
    if (r.contains("error") && !r["error"].is_null()) {
      std::printf("  %s\n", r["error"].dump().c_str());
    }
  });
  return status == "applied" ? kExitOk : kExitError;
}

void printEpochs(const json& epochs) {
  if (!epochs.is_array() || epochs.empty()) {
    std::printf("no epoch has ended yet\n");
    return;
  }
  for (const auto& e : epochs) {
    std::printf("epoch %llu: revenue %s, nodes %s, services %s, treasury %s\n",
                static_cast<unsigned long long>(e.value("epoch", uint64_t{0})),
                e.value("revenue", "0").c_str(), e.value("node_rewards", "0").c_str(),
                e.value("service_rewards", "0").c_str(), e.value("treasury", "0").c_str());
    for (const auto& r : e.value("rewards", json::array())) {
      std::printf("  %s %s\n", r.value("account", "").c_str(),
                  r.value("reward", json()).dump().c_str());
    }
  }
}

}  // namespace

void addLedgerCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<LedgerFlags>();
  CLI::App* ledger = app.add_subcommand("ledger", "The running node's ledger: query and transact");
  ledger->require_subcommand(1);
  ledger->footer(
      "Examples:\n"
      "  thunder ledger status\n"
      "  thunder ledger account                      # the data dir's client account\n"
      "  thunder ledger deposit 1000000              # balance -> deposit that pays for DACKs\n"
      "  thunder ledger price-set bandwidth 2 --dev-key governance\n"
      "  thunder rewards --json");
  auto add_signer = [opts](CLI::App* cmd) {
    cmd->add_option("--key", opts->key, "Signer key file (default: <data-dir>/keys/client.key)");
    cmd->add_option("--dev-key", opts->dev_key,
                    "Sign with a well-known dev-chain key: governance, faucet, client, "
                    "node-owner, service-owner");
    cmd->add_flag("--json", opts->json, "Print the receipt as JSON");
  };

  CLI::App* status = ledger->add_subcommand("status", "Height, state root, epoch, supply");
  status->add_flag("--json", opts->json, "JSON output");
  status->callback([&flags, opts, exit_code] {
    auto s = callRunningNode(flags, "/v0/ledger/status", json::object());
    if (!s) {
      *exit_code = reportError(s.error());
      return;
    }
    *exit_code = printJson(*s, opts->json, [](const json& v) {
      std::printf("chain %llu, height %llu\nstate root %s\n",
                  static_cast<unsigned long long>(v.value("chain_id", uint64_t{0})),
                  static_cast<unsigned long long>(v.value("height", uint64_t{0})),
                  v.value("state_root", "").c_str());
      std::printf("epoch %s\nsupply %s\n", v.value("epoch", json()).dump().c_str(),
                  v.value("supply", json()).dump().c_str());
      printEpochs(v.value("recent_epochs", json::array()));
    });
  });

  CLI::App* root = ledger->add_subcommand("state-root", "The state root (compare two nodes)");
  root->callback([&flags, exit_code] {
    auto s = callRunningNode(flags, "/v0/ledger/status", json::object());
    if (!s) {
      *exit_code = reportError(s.error());
      return;
    }
    std::printf("%s\n", s->value("state_root", "").c_str());
    *exit_code = kExitOk;
  });

  CLI::App* account = ledger->add_subcommand("account", "Balance, deposit and nonce of an account");
  account->add_option("account", opts->account, "Public key (default: the signer's)");
  add_signer(account);
  account->callback([&flags, opts, exit_code] {
    std::string who = opts->account;
    if (who.empty()) {
      auto key = signerKey(flags, *opts);
      if (!key) {
        *exit_code = reportError(key.error());
        return;
      }
      who = key->publicKey().hex();
    }
    auto a = callRunningNode(flags, "/v0/ledger/account", {{"account", who}});
    if (!a) {
      *exit_code = reportError(a.error());
      return;
    }
    *exit_code = printJson(*a, opts->json, [](const json& v) {
      std::printf("%s: balance %s, deposit %s, nonce %s\n", v.value("account", "").c_str(),
                  v.value("balance", json()).dump().c_str(),
                  v.value("deposit", json()).dump().c_str(),
                  v.value("nonce", json()).dump().c_str());
    });
  });

  auto add_rewards = [&flags, opts, exit_code](CLI::App* cmd) {
    cmd->add_option("--epoch", opts->epoch, "One epoch (default: the last five)");
    cmd->add_flag("--json", opts->json, "JSON output");
    cmd->callback([&flags, opts, exit_code] {
      json body = json::object();
      if (opts->epoch >= 0) body["epoch"] = static_cast<uint64_t>(opts->epoch);
      auto r = callRunningNode(flags, "/v0/ledger/rewards", body);
      if (!r) {
        *exit_code = reportError(r.error());
        return;
      }
      *exit_code = printJson(*r, opts->json, printEpochs);
    });
  };
  add_rewards(ledger->add_subcommand("rewards", "Revenue and rewards of the last epochs"));
  add_rewards(
      app.add_subcommand("rewards", "Revenue and rewards of the last epochs (= ledger rewards)"));

  CLI::App* deposit = ledger->add_subcommand("deposit", "Move balance into the client deposit");
  deposit->add_option("amount", opts->amount, "Base units")->required();
  add_signer(deposit);
  deposit->callback([&flags, opts, exit_code] {
    *exit_code = reportReceipt(
        submit(flags, *opts, [&](ledger::TxBuilder& b) { return b.deposit(opts->amount); }),
        opts->json);
  });

  CLI::App* withdraw = ledger->add_subcommand("withdraw", "Move deposit back to the balance");
  withdraw->add_option("amount", opts->amount, "Base units")->required();
  add_signer(withdraw);
  withdraw->callback([&flags, opts, exit_code] {
    *exit_code = reportReceipt(
        submit(flags, *opts, [&](ledger::TxBuilder& b) { return b.withdraw(opts->amount); }),
        opts->json);
  });

  CLI::App* transfer = ledger->add_subcommand("transfer", "Send balance to another account");
  transfer->add_option("to", opts->to, "Recipient public key")->required();
  transfer->add_option("amount", opts->amount, "Base units")->required();
  add_signer(transfer);
  transfer->callback([&flags, opts, exit_code] {
    auto to = PublicKey::fromHex(opts->to);
    if (!to) {
      *exit_code = reportError(to.error().withContext("recipient"));
      return;
    }
    *exit_code = reportReceipt(
        submit(flags, *opts, [&](ledger::TxBuilder& b) { return b.transfer(*to, opts->amount); }),
        opts->json);
  });

  CLI::App* stake = ledger->add_subcommand("stake", "Stake balance on a node");
  stake->add_option("node", opts->to, "Node public key")->required();
  stake->add_option("amount", opts->amount, "Base units")->required();
  add_signer(stake);
  stake->callback([&flags, opts, exit_code] {
    auto node = PublicKey::fromHex(opts->to);
    if (!node) {
      *exit_code = reportError(node.error().withContext("node"));
      return;
    }
    *exit_code = reportReceipt(
        submit(flags, *opts, [&](ledger::TxBuilder& b) { return b.stake(*node, opts->amount); }),
        opts->json);
  });

  CLI::App* price = ledger->add_subcommand("price-set", "Governance: set a commodity price");
  price->add_option("commodity", opts->commodity, "bandwidth or compute")->required();
  price->add_option("micro_price", opts->micro_price, "Micro base units per unit")->required();
  add_signer(price);
  price->callback([&flags, opts, exit_code] {
    auto commodity = commodityOf(opts->commodity);
    if (!commodity) {
      *exit_code = reportError(commodity.error());
      return;
    }
    *exit_code = reportReceipt(
        submit(flags, *opts,
               [&](ledger::TxBuilder& b) { return b.setPrice(*commodity, opts->micro_price); }),
        opts->json);
  });

  CLI::App* epoch = ledger->add_subcommand("epoch-end", "Governance: end the current epoch now");
  add_signer(epoch);
  epoch->callback([&flags, opts, exit_code] {
    auto s = callRunningNode(flags, "/v0/ledger/status", json::object());
    if (!s) {
      *exit_code = reportError(s.error());
      return;
    }
    const uint64_t current = (*s)["epoch"].value("epoch", uint64_t{0});
    *exit_code = reportReceipt(
        submit(flags, *opts, [&](ledger::TxBuilder& b) { return b.endEpoch(current); }),
        opts->json);
  });
}

}  // namespace thunder::cli
