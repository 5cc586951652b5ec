// thunder status: ask the running node (its admin API) how it is.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "net/http_client.h"
#include "node/data_dir.h"

namespace thunder::cli {
namespace {

struct StatusFlags {
  std::string admin;  // explicit admin address; default: from <data-dir>/node.json
  bool json = false;
};

void printHuman(const nlohmann::json& status) {
  std::printf("thunder %s, up %.0f s\n", status.value("version", "?").c_str(),
              status.value("uptime_seconds", 0.0));
  std::printf("  node key   %s\n", status.value("node_key", "?").c_str());
  std::printf("  data dir   %s\n", status.value("data_dir", "?").c_str());
  if (status.contains("endpoints")) {
    for (const auto& [name, address] : status["endpoints"].items()) {
      std::printf("  %-10s %s\n", name.c_str(), address.get<std::string>().c_str());
    }
  }
  if (status.contains("store")) {
    const auto& store = status["store"];
    std::printf("  store      %llu blobs, %llu bytes (quota %s)\n", store.value("blobs", 0ULL),
                store.value("used_bytes", 0ULL),
                store.value("quota_bytes", 0ULL) == 0
                    ? "none"
                    : (std::to_string(store.value("quota_bytes", 0ULL)) + " bytes").c_str());
  }
  if (status.contains("components")) {
    for (const auto& c : status["components"]) {
      std::printf("  component  %s: %s\n", c.value("name", "?").c_str(),
                  c.value("state", "?").c_str());
    }
  }
}

int showStatus(const GlobalFlags& flags, const StatusFlags& opts) {
  std::string address = opts.admin;
  if (address.empty()) {
    auto dir = selectedDataDir(flags);
    if (!dir) return reportError(dir.error());
    auto found = runningNodeAdmin(*dir);
    if (!found) return reportError(found.error());
    address = *found;
  }
  auto response = net::httpGet(address, "/status");
  if (!response) {
    return reportError(response.error().withContext("cannot reach the node's admin API"));
  }
  if (response->status != 200) {
    return reportError(Error{ErrorCode::kUnavailable, fmt::format("the node at {} answered HTTP {}",
                                                                  address, response->status)});
  }
  auto status = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded()) {
    return reportError(Error{ErrorCode::kCorruption, fmt::format("{} sent invalid JSON", address)});
  }
  if (opts.json) {
    std::printf("%s\n", status.dump().c_str());
  } else {
    printHuman(status);
  }
  return kExitOk;
}

}  // namespace

void addStatusCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand("status", "Ask the running node for its status");
  cmd->add_option("--admin", opts->admin,
                  "Admin API address (default: found in the data dir of the running node)");
  cmd->add_flag("--json", opts->json, "Print the node's /status JSON");
  cmd->footer(
      "Exit code 3 when no node is running.\n"
      "Examples:\n"
      "  thunder status\n"
      "  thunder status --json | jq .node_key\n"
      "  thunder status --admin 127.0.0.1:4240");
  cmd->callback([&flags, opts, exit_code] { *exit_code = showStatus(flags, *opts); });
}

}  // namespace thunder::cli
