// thunder run: start a node and serve until Ctrl-C / SIGTERM.
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli.h"
#include "node/node.h"

namespace thunder::cli {
namespace {

struct RunFlags {
  std::string admin_listen;
  std::string gateway_listen;
  std::string sessions_listen;
  std::string log_level;
  bool json = false;
};

void printReady(const node::ReadyInfo& info, const RunFlags& run) {
  if (run.json) {
    nlohmann::json ready = {{"event", "ready"},
                            {"version", info.version},
                            {"node_key", info.node_key},
                            {"data_dir", info.data_dir},
                            {"admin", info.admin_address},
                            {"sessions", info.sessions_address},
                            {"quic", info.quic_url},
                            {"ws", info.ws_url},
                            {"gateway", info.gateway_url},
                            {"pid", ::getpid()}};
    std::printf("%s\n", ready.dump().c_str());
  } else {
    std::printf("thunder %s is running\n", info.version.c_str());
    if (info.key_created)
      std::printf("  new node key  %s (saved in the data dir)\n", info.node_key.c_str());
    else
      std::printf("  node key      %s\n", info.node_key.c_str());
    std::printf("  data dir      %s\n", info.data_dir.c_str());
    std::printf("  admin API     http://%s  (/health /metrics /status)\n",
                info.admin_address.c_str());
    std::printf("  sessions      %s  (TLS; service 0 serves content, `thunder status` lists all)\n",
                info.sessions_address.c_str());
    if (!info.quic_url.empty()) std::printf("  quic          %s\n", info.quic_url.c_str());
    if (!info.ws_url.empty()) std::printf("  websocket     %s\n", info.ws_url.c_str());
    std::printf("  gateway       %s  (/b3/<id>, /ipfs/<cid>, /services/<id>/)\n",
                info.gateway_url.c_str());
    std::printf("Press Ctrl-C to stop.\n");
  }
  std::fflush(stdout);
}

int runNode(const GlobalFlags& flags, const RunFlags& run) {
  auto options = loadOptions(flags);
  if (!options) return reportError(options.error());
  if (!run.admin_listen.empty()) options->admin.listen = run.admin_listen;
  if (!run.gateway_listen.empty()) options->gateway.listen = run.gateway_listen;
  if (!run.sessions_listen.empty()) options->sessions.listen = run.sessions_listen;
  if (!run.log_level.empty()) options->log_level = run.log_level;
  if (auto ok = node::validateOptions(*options); !ok) return reportError(ok.error());

  auto node = node::Node::create(std::move(options).value());
  if (!node) return reportError(node.error());
  if (auto ok = (*node)->run([&](const node::ReadyInfo& info) { printReady(info, run); }); !ok) {
    return reportError(ok.error());
  }
  if (!run.json) std::printf("thunder stopped\n");
  return kExitOk;
}

}  // namespace

void addRunCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto run = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Start a node (no config needed: embedded defaults)");
  cmd->add_option("--admin-listen", run->admin_listen,
                  "Admin API address, e.g. 127.0.0.1:4240 (port 0: any free port)");
  cmd->add_option("--sessions-listen", run->sessions_listen,
                  "Client session address, e.g. 0.0.0.0:4200 (port 0: any free port)");
  cmd->add_option("--gateway-listen", run->gateway_listen,
                  "HTTP gateway address, e.g. 0.0.0.0:4280 (port 0: any free port)");
  cmd->add_option("--log-level", run->log_level, "Log filter, e.g. info or info,node=debug");
  cmd->add_flag("--json", run->json, "Print one JSON line when ready (for scripts)");
  cmd->footer(
      "Examples:\n"
      "  thunder run\n"
      "  thunder run --admin-listen 127.0.0.1:0 --json\n"
      "  thunder --data-dir /tmp/node2 run --log-level debug");
  cmd->callback([&flags, run, exit_code] { *exit_code = runNode(flags, *run); });
}

}  // namespace thunder::cli
