// thunder keys show|generate: the node's Ed25519 identity.
#include <nlohmann/json.hpp>

#include "cli.h"
#include "crypto/keystore.h"
#include "node/data_dir.h"

namespace thunder::cli {
namespace {

struct KeysFlags {
  bool json = false;
  std::string out;  // generate: write here instead of the data dir
};

void printKey(const std::filesystem::path& file, const crypto::SigningKey& key, bool json) {
  if (json) {
    nlohmann::json out = {{"public_key", key.publicKey().hex()}, {"file", file.string()}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s\n", key.publicKey().hex().c_str());
  }
}

int showKey(const GlobalFlags& flags, const KeysFlags& keys) {
  auto dir = selectedDataDir(flags);
  if (!dir) return reportError(dir.error());
  const auto file = node::keyFileIn(*dir);
  auto key = crypto::readKeyFile(file);
  if (!key) {
    if (key.error().code == ErrorCode::kNotFound) {
      return reportError(Error{ErrorCode::kNotFound,
                               fmt::format("no node key at {} (create one with `thunder init` or "
                                           "`thunder keys generate`)",
                                           file.string())});
    }
    return reportError(key.error());
  }
  printKey(file, *key, keys.json);
  return kExitOk;
}

int generateKey(const GlobalFlags& flags, const KeysFlags& keys) {
  std::filesystem::path file = keys.out;
  if (file.empty()) {
    auto dir = selectedDataDir(flags);
    if (!dir) return reportError(dir.error());
    file = node::keyFileIn(*dir);
  }
  auto key = crypto::SigningKey::generate();
  if (auto ok = crypto::writeNewKeyFile(file, key); !ok) return reportError(ok.error());
  printKey(file, key, keys.json);
  return kExitOk;
}

}  // namespace

void addKeysCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto keys = std::make_shared<KeysFlags>();
  CLI::App* cmd = app.add_subcommand("keys", "Show or generate the node's Ed25519 key");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n"
      "  thunder keys show\n"
      "  thunder keys show --json\n"
      "  thunder keys generate --out client.key");

  CLI::App* show = cmd->add_subcommand("show", "Print the node's public key (hex)");
  show->add_flag("--json", keys->json, "Print {\"public_key\", \"file\"} as JSON");
  show->callback([&flags, keys, exit_code] { *exit_code = showKey(flags, *keys); });

  CLI::App* generate =
      cmd->add_subcommand("generate", "Create a new key file (never overwrites one that exists)");
  generate->add_option("-o,--out", keys->out,
                       "Key file to create (default: the data dir's node key)");
  generate->add_flag("--json", keys->json, "Print {\"public_key\", \"file\"} as JSON");
  generate->callback([&flags, keys, exit_code] { *exit_code = generateKey(flags, *keys); });
}

}  // namespace thunder::cli
