// thunder dacks [--json] [--verify]: list (and re-verify) the DACKs waiting for settlement.
#include "cmd_dacks.h"

#include <nlohmann/json.hpp>

#include "handshake/dack_queue.h"

namespace thunder::cli {
namespace {

using handshake::Dack;
using handshake::DackQueue;

struct DacksFlags {
  bool json = false;
  bool verify = false;
};

std::string_view commodityName(handshake::Commodity commodity) {
  return commodity == handshake::Commodity::kComputeMs ? "compute_ms" : "bandwidth_bytes";
}

nlohmann::json dackJson(const Dack& d) {
  nlohmann::json commitment = {{"hash", d.commitment.hash.hex()}};
  if (d.commitment.kind == handshake::CommitmentKind::kContentRange) {
    commitment["kind"] = "content_range";
    commitment["range_start"] = d.commitment.range_start;
    commitment["range_end"] = d.commitment.range_end;
  } else {
    commitment["kind"] = "request_hash";
  }
  return {{"client_pk", d.scope.client_pk.hex()},
          {"node_pk", d.scope.node_pk.hex()},
          {"service", d.scope.service.value()},
          {"lane", d.scope.lane},
          {"session_nonce", d.scope.session_nonce.hex()},
          {"commodity", std::string(commodityName(d.commodity))},
          {"amount", d.amount},
          {"counter", d.counter},
          {"commitment", commitment},
          {"signature", d.signature.hex()}};
}

void printTable(const std::vector<Dack>& dacks) {
  if (dacks.empty()) {
    std::printf("no pending DACKs\n");
    return;
  }
  std::printf("%-64s  %7s  %5s  %-15s  %20s  %10s\n", "CLIENT", "SERVICE", "LANE", "COMMODITY",
              "AMOUNT", "COUNTER");
  for (const Dack& d : dacks) {
    std::printf(
        "%-64s  %7u  %5u  %-15s  %20llu  %10llu\n", d.scope.client_pk.hex().c_str(),
        d.scope.service.value(), d.scope.lane, std::string(commodityName(d.commodity)).c_str(),
        static_cast<unsigned long long>(d.amount), static_cast<unsigned long long>(d.counter));
  }
}

// The queue of the selected data dir, read-only; nullptr when the node has not created it yet.
Result<std::unique_ptr<DackQueue>> openQueue(const GlobalFlags& flags) {
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(ErrorCode::kNotFound, "no data dir at {} (create one with `thunder init`)",
                dir.string());
  }
  auto queue = DackQueue::open(
      {handshake::dackQueueDirIn(dir), handshake::DackQueueMode::kReadOnly, nullptr});
  if (!queue && queue.error().code == ErrorCode::kNotFound) {
    return std::unique_ptr<DackQueue>();
  }
  return queue;
}

int runDacks(const GlobalFlags& flags, const DacksFlags& opts) {
  auto queue = openQueue(flags);
  if (!queue) return reportError(queue.error());
  std::vector<Dack> dacks;
  std::optional<handshake::VerifyReport> report;
  std::optional<Error> list_error;
  if (*queue) {
    if (opts.verify) {
      auto verified = (*queue)->verifyAll();
      if (!verified) return reportError(verified.error());
      report = std::move(*verified);
    }
    auto listed = (*queue)->list();
    if (listed) {
      dacks = std::move(*listed);
    } else if (!report || report->ok()) {
      return reportError(listed.error());
    } else {
      list_error = listed.error();  // a corrupt entry; the report names it
    }
  } else if (opts.verify) {
    report.emplace();
  }

  if (opts.json) {
    nlohmann::json out = {{"dacks", nlohmann::json::array()}};
    for (const Dack& d : dacks) out["dacks"].push_back(dackJson(d));
    if (list_error) out["dacks"] = nullptr;
    if (report) {
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& p : report->problems) {
        problems.push_back({{"key", p.key_hex},
                            {"code", std::string(errorCodeName(p.error.code))},
                            {"message", p.error.message}});
      }
      out["checked"] = report->checked;
      out["problems"] = problems;
      out["ok"] = report->ok();
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    if (!list_error) printTable(dacks);
    if (report) {
      for (const auto& p : report->problems) {
        std::fprintf(stderr, "%s: %s\n", std::string(errorCodeName(p.error.code)).c_str(),
                     p.error.message.c_str());
      }
      std::printf("verified %llu DACKs; %zu problems\n",
                  static_cast<unsigned long long>(report->checked), report->problems.size());
    }
  }
  if (report && !report->ok()) {
    if (!opts.json) {
      std::fprintf(stderr, "thunder: the DACK queue has %zu bad entries\n",
                   report->problems.size());
    }
    return kExitCorruption;
  }
  return kExitOk;
}

}  // namespace

void addDacksCommand(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<DacksFlags>();
  CLI::App* cmd = app.add_subcommand(
      "dacks",
      "List the verified DACKs waiting for settlement (the latest per lane and commodity)");
  cmd->add_flag("--json", opts->json,
                "Print {\"dacks\": [...]} as JSON (with --verify: also \"checked\", \"problems\", "
                "\"ok\")");
  cmd->add_flag("--verify", opts->verify,
                "Re-check every stored DACK's client signature (exit 4 on a bad one)");
  cmd->footer(
      "Reads <data-dir>/dacks read-only, so it works beside a running node.\n"
      "Examples:\n"
      "  thunder dacks\n"
      "  thunder dacks --verify\n"
      "  thunder --data-dir /srv/thunder dacks --json");
  cmd->callback([&flags, opts, exit_code] { *exit_code = runDacks(flags, *opts); });
}

}  // namespace thunder::cli
