// thunder ledger ... and thunder rewards: the running node's ledger through its admin API
// (cmd_ledger.cc, docs/admin-api.md "Ledger", docs/protocol/ledger.md).
//
// Queries (status, state-root, account, rewards) print JSON with --json. Transactions (deposit,
// withdraw, transfer, stake, price-set, epoch-end) are built and signed here with a key file
// (default: the data dir's client key; the node key with --node-key-signer), submitted to the
// node, and the command waits for the block that applies them and prints the receipt.
#pragma once

#include <CLI/CLI.hpp>

#include "cli.h"

namespace thunder::cli {

// Registers `thunder ledger ...` and `thunder rewards`.
void addLedgerCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code);

}  // namespace thunder::cli
