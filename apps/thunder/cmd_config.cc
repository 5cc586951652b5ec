// thunder config print: the effective configuration; thunder version.
#include <nlohmann/json.hpp>

#include "cli.h"
#include "node/config.h"
#include "node/node.h"

namespace thunder::cli {

void addConfigCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("config", "Inspect the configuration");
  cmd->require_subcommand(1);
  CLI::App* print = cmd->add_subcommand(
      "print", "Print the effective configuration (defaults, then the config file, then flags)");
  print->footer(
      "Examples:\n"
      "  thunder config print\n"
      "  thunder --config node.toml config print");
  print->callback([&flags, exit_code] {
    auto options = loadOptions(flags);
    if (!options) {
      *exit_code = reportError(options.error());
      return;
    }
    std::printf("%s", node::renderConfig(*options).c_str());
    *exit_code = kExitOk;
  });
}

void addVersionCommand(CLI::App& app, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("version", "Print the version");
  cmd->add_flag("--json", *json, "Print {\"version\": ...} as JSON");
  cmd->callback([json, exit_code] {
    if (*json) {
      std::printf("%s\n", nlohmann::json{{"version", node::thunderVersion()}}.dump().c_str());
    } else {
      std::printf("thunder %s\n", std::string(node::thunderVersion()).c_str());
    }
    *exit_code = kExitOk;
  });
}

}  // namespace thunder::cli
