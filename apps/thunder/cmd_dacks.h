// thunder dacks: the node's queue of verified DACKs awaiting settlement (cmd_dacks.cc).
//
// Opens <data-dir>/dacks read-only (a RocksDB secondary instance), so it works beside a running
// node and never changes the queue.
#pragma once

#include <CLI/CLI.hpp>

#include "cli.h"

namespace thunder::cli {

// Registers `thunder dacks [--json] [--verify]`; the callback stores its exit code in *exit_code.
void addDacksCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);

}  // namespace thunder::cli
