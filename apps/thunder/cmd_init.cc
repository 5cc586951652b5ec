// thunder init: write a commented config.toml and a node key into the data dir.
#include <nlohmann/json.hpp>

#include "cli.h"
#include "crypto/keystore.h"
#include "node/config.h"
#include "node/data_dir.h"

namespace thunder::cli {
namespace {

struct InitFlags {
  bool dev = false;
  bool json = false;
};

int initDataDir(const GlobalFlags& flags, const InitFlags& init) {
  node::NodeOptions options;
  options.data_dir = node::resolveDataDir(
      flags.data_dir.empty() ? options.data_dir : std::filesystem::path(flags.data_dir));
  if (init.dev) {
    // A development node: verbose logs, a quick shutdown, any free admin port.
    options.log_level = "debug";
    options.shutdown_grace = std::chrono::milliseconds(2'000);
    options.admin.listen = "127.0.0.1:0";
  }
  auto data_dir = node::DataDir::open(options.data_dir);
  if (!data_dir) return reportError(data_dir.error());

  const auto config_file = (*data_dir)->configFile();
  std::error_code ec;
  bool config_written = false;
  if (!std::filesystem::exists(config_file, ec)) {
    if (auto ok = node::writeFileAtomically(config_file, node::renderConfig(options), 0600); !ok) {
      return reportError(ok.error());
    }
    config_written = true;
  }

  bool key_created = false;
  auto key = crypto::readKeyFile((*data_dir)->keyFile());
  if (!key && key.error().code == ErrorCode::kNotFound) {
    auto fresh = crypto::SigningKey::generate();
    if (auto ok = crypto::writeNewKeyFile((*data_dir)->keyFile(), fresh); !ok) {
      return reportError(ok.error());
    }
    key = std::move(fresh);
    key_created = true;
  }
  if (!key) return reportError(key.error());

  if (init.json) {
    nlohmann::json out = {{"data_dir", options.data_dir.string()},
                          {"config", config_file.string()},
                          {"config_written", config_written},
                          {"node_key", key->publicKey().hex()},
                          {"key_created", key_created}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s %s\n", config_written ? "wrote" : "kept existing", config_file.c_str());
    std::printf("%s node key %s\n", key_created ? "created" : "kept existing",
                key->publicKey().hex().c_str());
    std::printf("Start the node with: thunder%s run\n",
                flags.data_dir.empty() ? "" : (" --data-dir " + flags.data_dir).c_str());
  }
  return kExitOk;
}

}  // namespace

void addInitCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto init = std::make_shared<InitFlags>();
  CLI::App* cmd =
      app.add_subcommand("init", "Create the data dir with a config file and a node key");
  cmd->add_flag("--dev", init->dev, "Development defaults: debug logs, any free admin port");
  cmd->add_flag("--json", init->json, "Print the result as JSON");
  cmd->footer(
      "Existing files are never overwritten.\n"
      "Examples:\n"
      "  thunder init\n"
      "  thunder --data-dir /tmp/dev init --dev");
  cmd->callback([&flags, init, exit_code] { *exit_code = initDataDir(flags, *init); });
}

}  // namespace thunder::cli
