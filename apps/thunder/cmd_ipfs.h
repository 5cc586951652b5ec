// IPFS commands of the `thunder` CLI: import (a CAR into the data dir's stores) and export (a
// Trustless Gateway CAR to stdout or a file), cmd_ipfs.cc.
//
// Like `thunder put`, they open the data dir's stores directly when no node runs (taking the
// data dir lock), and go through the running node's loopback admin API (/v0/ipfs/import,
// /v0/ipfs/export, docs/admin-api.md) when one owns them.
#pragma once

#include <CLI/CLI.hpp>

#include "cli.h"

namespace thunder::cli {

// Registers import and export on `app`; each callback stores its exit code in *exit_code.
void addIpfsCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code);

}  // namespace thunder::cli
