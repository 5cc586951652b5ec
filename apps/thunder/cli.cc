#include "cli.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "net/http_client.h"
#include "node/admin_api.h"
#include "node/config.h"
#include "node/data_dir.h"

namespace thunder::cli {

int reportError(const Error& error) {
  std::fprintf(stderr, "thunder: %s\n", error.message.c_str());
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout: return kExitUnavailable;
    case ErrorCode::kCorruption: return kExitCorruption;
    case ErrorCode::kNotFound: return kExitNotFound;
    default: return kExitError;
  }
}

Result<node::NodeOptions> loadOptions(const GlobalFlags& flags) {
  node::NodeOptions options;
  if (!flags.config.empty()) {
    THUNDER_ASSIGN_OR_RETURN(options, node::loadConfigFile(flags.config));
  } else {
    const auto dir = node::resolveDataDir(
        flags.data_dir.empty() ? options.data_dir : std::filesystem::path(flags.data_dir));
    std::error_code ec;
    if (std::filesystem::exists(node::configFileIn(dir), ec)) {
      THUNDER_ASSIGN_OR_RETURN(options, node::loadConfigFile(node::configFileIn(dir)));
    }
  }
  if (!flags.data_dir.empty()) options.data_dir = flags.data_dir;
  options.data_dir = node::resolveDataDir(options.data_dir);
  THUNDER_TRY(node::validateOptions(options));
  return options;
}

Result<std::filesystem::path> selectedDataDir(const GlobalFlags& flags) {
  if (!flags.data_dir.empty()) return node::resolveDataDir(flags.data_dir);
  THUNDER_ASSIGN_OR_RETURN(auto options, loadOptions(flags));
  return options.data_dir;
}

Result<std::string> runningNodeAdmin(const std::filesystem::path& data_dir) {
  const auto file = node::runtimeFileIn(data_dir);
  std::ifstream in(file);
  if (!in) {
    return fail(ErrorCode::kUnavailable,
                "no node is running on data dir {} (start one with `thunder run`)",
                data_dir.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("admin") || !doc["admin"].is_string()) {
    return fail(ErrorCode::kCorruption, "{} is not a valid runtime file", file.string());
  }
  return doc["admin"].get<std::string>();
}

Result<nlohmann::json> callRunningNode(const GlobalFlags& flags, std::string_view route,
                                       const nlohmann::json& body) {
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  THUNDER_ASSIGN_OR_RETURN(const auto admin, runningNodeAdmin(dir));
  net::HttpRequest request;
  request.method = "POST";
  request.target = std::string(route);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body.dump();
  net::HttpClientOptions options;
  options.timeout = std::chrono::hours(24);  // a put of a large file takes as long as it takes
  THUNDER_ASSIGN_OR_RETURN(const auto response, net::httpRequest(admin, request, options));
  if (response.status != 200) return fail(node::errorFromResponse(response));
  auto answer = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) {
    return fail(ErrorCode::kCorruption, "the node at {} sent invalid JSON", admin);
  }
  return answer;
}

}  // namespace thunder::cli
