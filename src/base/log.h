// Logging on spdlog with one logger per category (the module name: "node", "content", ...).
//
//   THUNDER_LOG(info, "node", "admin endpoint listening on {}", endpoint);
//
// Logs go to stderr (stdout belongs to command output). The level is set once at start-up by
// configureLogging() from a filter such as "info" or "info,content=debug,net=warn".
// Thread-safe. Anything a remote peer can trigger logs at debug or is rate-limited.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "base/result.h"

namespace thunder::log {

// The level names THUNDER_LOG accepts.
namespace levels {
inline constexpr auto trace = spdlog::level::trace;
inline constexpr auto debug = spdlog::level::debug;
inline constexpr auto info = spdlog::level::info;
inline constexpr auto warn = spdlog::level::warn;
inline constexpr auto error = spdlog::level::err;
}  // namespace levels

// Parses and applies a filter: a default level optionally followed by category=level pairs,
// separated by commas. Levels: trace, debug, info, warn, error, off.
// kInvalidArgument (naming the bad part) on an unknown level or a malformed pair.
Result<void> configureLogging(std::string_view filter);

// The logger of a category, created on first use with the configured level.
std::shared_ptr<spdlog::logger> category(std::string_view name);

}  // namespace thunder::log

#define THUNDER_LOG(level, category_name, ...)                                   \
  do {                                                                           \
    static const auto thunder_logger_ = ::thunder::log::category(category_name); \
    if (thunder_logger_->should_log(::thunder::log::levels::level)) {            \
      thunder_logger_->log(::thunder::log::levels::level, __VA_ARGS__);          \
    }                                                                            \
  } while (false)
