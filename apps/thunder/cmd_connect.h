// thunder connect|fetch: the client side of a session (handshake/client_driver.h).
//
//   connect  a stdin/stdout bridge to any service of a node
//   fetch    a verified range stream from the node's content service (id 0), by blob id or CID
//
// Both authenticate the node by its pinned key (--node-key) and identify the client by a key
// file: --key FILE, default <data-dir>/keys/client.key, created on first use. DACKs are signed
// automatically as bytes arrive. Exit codes: 0 normal end; 3 node unreachable or refusing
// (busy, lane limit, shutdown); 4 node key mismatch or a verification failure; 5 blob not found
// on the node; 1 any other termination reason (named on stderr).
#pragma once

#include <CLI/CLI.hpp>

#include "cli.h"

namespace thunder::cli {

void addConnectCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code);

}  // namespace thunder::cli
