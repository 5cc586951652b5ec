// Shared pieces of the `thunder` command-line tool: exit codes, error printing, option loading.
// Each command lives in its own cmd_*.cc and registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "node/options.h"

namespace thunder::cli {

// Process exit codes (documented in docs/cli.md; scripts may rely on them).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // any other failure
  kExitUsage = 2,        // bad flags, bad config, bad input
  kExitUnavailable = 3,  // the node is not running / not reachable, or the data dir is in use
  kExitCorruption = 4,   // a file or stream failed verification
  kExitNotFound = 5,     // the named object does not exist
};

// Prints "thunder: <message>" on stderr and returns the exit code for the error.
int reportError(const Error& error);

// Global flags shared by the commands.
struct GlobalFlags {
  std::string data_dir;  // empty: from config, else ~/.thunder
  std::string config;    // empty: <data-dir>/config.toml if it exists
};

// The effective node options: config file (explicit, or the data dir's), then flags.
Result<node::NodeOptions> loadOptions(const GlobalFlags& flags);

// The data dir the flags select (resolved, absolute), reading the config file only if needed.
Result<std::filesystem::path> selectedDataDir(const GlobalFlags& flags);

// The admin address a running node wrote into its data dir (<data-dir>/node.json);
// kUnavailable when no node runs there.
Result<std::string> runningNodeAdmin(const std::filesystem::path& data_dir);

// POSTs a JSON body to a loopback-only route of the node running on the flags' data dir and
// returns its JSON answer; the node's error (code and message) when it refuses.
Result<nlohmann::json> callRunningNode(const GlobalFlags& flags, std::string_view route,
                                       const nlohmann::json& body);

// Each command adds its subcommand; the callback stores the exit code in *exit_code.
void addInitCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);
void addRunCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);
void addKeysCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);
void addStatusCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);
void addConfigCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code);
void addVersionCommand(CLI::App& app, int* exit_code);

}  // namespace thunder::cli
