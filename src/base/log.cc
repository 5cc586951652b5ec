#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <map>
#include <mutex>
#include <string>

namespace thunder::log {
namespace {

// Process-wide logging state. spdlog keeps its registry globally; this is the one place where
// Thunder does the same, because a log line may come from any thread in any module.
struct LogState {
  std::mutex mutex;
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
};

LogState& state() {
  static LogState* s = new LogState();  // never destroyed: loggers may log during exit
  return *s;
}

Result<spdlog::level::level_enum> parseLevel(std::string_view text) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  for (const auto& [name, level] : kLevels) {
    if (text == name) return level;
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown log level '{}' (expected trace, debug, info, warn, error or off)", text);
}

spdlog::level::level_enum levelFor(const LogState& s, std::string_view name) {
  auto it = s.overrides.find(name);
  return it == s.overrides.end() ? s.default_level : it->second;
}

}  // namespace

Result<void> configureLogging(std::string_view filter) {
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  bool first = true;
  while (!filter.empty() || first) {
    const size_t comma = filter.find(',');
    std::string_view part = filter.substr(0, comma);
    filter = comma == std::string_view::npos ? std::string_view{} : filter.substr(comma + 1);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (!first) return fail(ErrorCode::kInvalidArgument, "'{}' must be category=level", part);
      THUNDER_ASSIGN_OR_RETURN(default_level, parseLevel(part));
    } else {
      const std::string_view name = part.substr(0, eq);
      if (name.empty()) return fail(ErrorCode::kInvalidArgument, "empty category in '{}'", part);
      THUNDER_ASSIGN_OR_RETURN(auto level, parseLevel(part.substr(eq + 1)));
      overrides[std::string(name)] = level;
    }
    first = false;
  }

  LogState& s = state();
  std::lock_guard lock(s.mutex);
  s.default_level = default_level;
  s.overrides = std::move(overrides);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->set_level(levelFor(s, logger->name()));
  });
  return {};
}

std::shared_ptr<spdlog::logger> category(std::string_view name) {
  LogState& s = state();
  std::lock_guard lock(s.mutex);
  if (auto existing = spdlog::get(std::string(name))) return existing;
  auto logger = std::make_shared<spdlog::logger>(std::string(name), s.sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
  logger->set_level(levelFor(s, name));
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace thunder::log
