#include "cli.h"

#include <fmt/format.h>

#include <cstdio>

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

}  // namespace thunder::cli
