// thunder: the command-line tool of a Thunder node. See docs/cli.md and `thunder --help`.
#include <CLI/CLI.hpp>

#include "cli.h"
#include "cmd_connect.h"
#include "cmd_content.h"
#include "cmd_dacks.h"
#include "cmd_ipfs.h"
#include "cmd_ledger.h"
#include "node/node.h"

int main(int argc, char** argv) {
  using namespace thunder::cli;
  CLI::App app{
      "Thunder: a node of a decentralized edge network of verifiable, content-addressed "
      "services.\n"};
  app.footer(
      "Examples:\n"
      "  thunder init                 write ~/.thunder/config.toml and a node key\n"
      "  thunder run                  start a node on the defaults (Ctrl-C stops it)\n"
      "  thunder status               ask the running node how it is\n"
      "  thunder keys show            print the node's public key\n"
      "  thunder --data-dir /tmp/n1 run   a second node with its own data\n"
      "\nRun `thunder COMMAND --help` for the flags of a command.");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-V,--version", std::string(thunder::node::thunderVersion()));

  GlobalFlags flags;
  app.add_option("-d,--data-dir", flags.data_dir,
                 "Data directory (default: node.data_dir from the config, else ~/.thunder)");
  app.add_option("-c,--config", flags.config,
                 "Config file (default: <data-dir>/config.toml if it exists)");

  int exit_code = kExitOk;
  addInitCommand(app, flags, &exit_code);
  addRunCommand(app, flags, &exit_code);
  addKeysCommand(app, flags, &exit_code);
  addStatusCommand(app, flags, &exit_code);
  addConfigCommand(app, flags, &exit_code);
  addContentCommands(app, flags, &exit_code);
  addIpfsCommands(app, flags, &exit_code);
  addDacksCommand(app, flags, &exit_code);
  addConnectCommands(app, flags, &exit_code);
  addLedgerCommands(app, flags, &exit_code);
  addVersionCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}
