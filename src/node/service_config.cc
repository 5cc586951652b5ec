#include "node/service_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace thunder::node {
namespace {

constexpr uint32_t kEchoServiceId = 1;  // the built-in echo service (0, content, may be replaced)
constexpr size_t kMaxNameLength = 64;

std::string where(std::string_view source, const toml::node& node) {
  const auto& begin = node.source().begin;
  return begin.line ? fmt::format("{}:{}", source, begin.line) : std::string(source);
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string quoted(const std::string& s) {
  std::ostringstream out;
  out << toml::value<std::string>(s);
  return out.str();
}

// One [[services]] table.
Result<ServiceConfig> parseEntry(const toml::table& table, size_t index, std::string_view source) {
  ServiceConfig config;
  bool has_id = false;
  const std::string prefix = fmt::format("services[{}]", index);
  for (const auto& [key_name, value] : table) {
    const std::string_view key = key_name.str();
    auto integer = [&]() -> Result<uint64_t> {
      if (!value.is_integer()) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.{}' must be an integer",
                    where(source, value), prefix, key);
      }
      const int64_t v = *value.value<int64_t>();
      if (v < 0) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.{}' must not be negative",
                    where(source, value), prefix, key);
      }
      return static_cast<uint64_t>(v);
    };
    auto string = [&]() -> Result<std::string> {
      if (!value.is_string()) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.{}' must be a string",
                    where(source, value), prefix, key);
      }
      return *value.value<std::string>();
    };
    if (key == "id") {
      THUNDER_ASSIGN_OR_RETURN(uint64_t id, integer());
      if (id > UINT32_MAX) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.id' must be at most {}",
                    where(source, value), prefix, UINT32_MAX);
      }
      config.id = static_cast<uint32_t>(id);
      has_id = true;
    } else if (key == "name") {
      THUNDER_ASSIGN_OR_RETURN(config.name, string());
    } else if (key == "executable") {
      THUNDER_ASSIGN_OR_RETURN(std::string path, string());
      config.executable = path;
    } else if (key == "blob") {
      THUNDER_ASSIGN_OR_RETURN(std::string hex, string());
      auto id = BlobId::fromHex(hex);
      if (!id || hex.size() != 64) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: '{}.blob' must be a blob id (64 lowercase hex digits)",
                    where(source, value), prefix);
      }
      config.blob = *id;
    } else if (key == "memory_mb") {
      THUNDER_ASSIGN_OR_RETURN(config.memory_mb, integer());
    } else if (key == "cpu_seconds") {
      THUNDER_ASSIGN_OR_RETURN(uint64_t seconds, integer());
      if (seconds > 0) config.cpu_seconds = seconds;
    } else if (key == "max_files") {
      THUNDER_ASSIGN_OR_RETURN(config.max_files, integer());
    } else if (key == "max_processes") {
      THUNDER_ASSIGN_OR_RETURN(config.max_processes, integer());
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: unknown key '{}.{}' (known: id, name, executable, blob, memory_mb, "
                  "cpu_seconds, max_files, max_processes)",
                  where(source, value), prefix, key);
    }
  }
  if (!has_id) {
    return fail(ErrorCode::kInvalidArgument, "{}: '{}' has no 'id'", where(source, table), prefix);
  }
  if (config.name.empty()) {
    return fail(ErrorCode::kInvalidArgument, "{}: '{}' has no 'name'", where(source, table),
                prefix);
  }
  return config;
}

}  // namespace

Result<void> validateServicesConfig(const std::vector<ServiceConfig>& services) {
  std::set<uint32_t> ids;
  std::set<std::string> names;
  for (size_t i = 0; i < services.size(); ++i) {
    const ServiceConfig& s = services[i];
    if (s.id == kEchoServiceId) {
      return fail(ErrorCode::kInvalidArgument,
                  "services[{}].id: 1 is reserved for the built-in echo service; use 0 for a "
                  "content service (thunder-service-cdn) or 2 or more",
                  i);
    }
    if (!ids.insert(s.id).second) {
      return fail(ErrorCode::kInvalidArgument, "services[{}].id: {} is used twice", i, s.id);
    }
    if (!validName(s.name)) {
      return fail(ErrorCode::kInvalidArgument,
                  "services[{}].name: '{}' must be 1..{} characters of a-z, 0-9, '_' and '-'", i,
                  s.name, kMaxNameLength);
    }
    if (!names.insert(s.name).second) {
      return fail(ErrorCode::kInvalidArgument, "services[{}].name: '{}' is used twice", i, s.name);
    }
    const bool has_path = !s.executable.empty();
    if (has_path == s.blob.has_value()) {
      return fail(ErrorCode::kInvalidArgument,
                  "services[{}] ('{}'): set exactly one of 'executable' and 'blob'", i, s.name);
    }
    if (has_path && !s.executable.is_absolute()) {
      return fail(ErrorCode::kInvalidArgument,
                  "services[{}].executable: '{}' must be an absolute path", i,
                  s.executable.string());
    }
    if (s.memory_mb < 16 || s.memory_mb > (uint64_t{1} << 30)) {
      return fail(ErrorCode::kInvalidArgument,
                  "services[{}].memory_mb: {} is out of range (16 .. 2^30)", i, s.memory_mb);
    }
    if (s.max_files < 8) {
      return fail(ErrorCode::kInvalidArgument, "services[{}].max_files: {} is below 8", i,
                  s.max_files);
    }
    if (s.max_processes < 1) {
      return fail(ErrorCode::kInvalidArgument, "services[{}].max_processes must be at least 1", i);
    }
  }
  return {};
}

Result<std::vector<ServiceConfig>> parseServicesConfig(const toml::node& services,
                                                       std::string_view source) {
  const toml::array* array = services.as_array();
  if (array == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: 'services' must be an array of tables ([[services]])",
                where(source, services));
  }
  std::vector<ServiceConfig> out;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = (*array)[i].as_table();
    if (table == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "{}: services[{}] must be a table ([[services]])",
                  where(source, (*array)[i]), i);
    }
    THUNDER_ASSIGN_OR_RETURN(ServiceConfig config, parseEntry(*table, i, source));
    out.push_back(std::move(config));
  }
  if (auto ok = validateServicesConfig(out); !ok) return fail(ok.error().withContext(source));
  return out;
}

Result<std::vector<ServiceConfig>> parseServicesToml(std::string_view toml_text,
                                                     std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, "{}:{}: {}", source, e.source().begin.line,
                e.description());
  }
  const toml::node* services = root.get("services");
  if (services == nullptr) return std::vector<ServiceConfig>{};
  return parseServicesConfig(*services, source);
}

std::string renderServicesConfig(const std::vector<ServiceConfig>& services) {
  if (services.empty()) {
    return "\n# Services the node runs in its sandbox (docs/services.md), one table each.\n"
           "# Content (id 0) is served by thunder-service-cdn when the node finds it next to the\n"
           "# thunder program or in $THUNDER_SERVICES_DIR (\"none\": the built-in service);\n"
           "# a table with id 0 names the program explicitly.\n"
           "# [[services]]\n"
           "# id = 7\n"
           "# name = \"hello\"\n"
           "# executable = \"/opt/thunder/services/hello\"   # or: blob = \"<64 hex>\"\n"
           "# memory_mb = 1024\n"
           "# cpu_seconds = 3600\n"
           "# max_files = 256\n"
           "# max_processes = 64\n";
  }
  std::string out;
  for (const ServiceConfig& s : services) {
    out += "\n[[services]]\n";
    out += fmt::format("id = {}\nname = {}\n", s.id, quoted(s.name));
    if (s.blob) {
      out += fmt::format("blob = \"{}\"\n", s.blob->hex());
    } else {
      out += fmt::format("executable = {}\n", quoted(s.executable.string()));
    }
    out += fmt::format("memory_mb = {}\n", s.memory_mb);
    if (s.cpu_seconds) out += fmt::format("cpu_seconds = {}\n", *s.cpu_seconds);
    out += fmt::format("max_files = {}\nmax_processes = {}\n", s.max_files, s.max_processes);
  }
  return out;
}

namespace {

// A regular file everyone may execute (the sandbox runs a service as an unprivileged user).
bool runnable(const std::filesystem::path& file, std::string& why) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    why = fmt::format("{}: not found", file.string());
    return false;
  }
  if (!std::filesystem::is_regular_file(status)) {
    why = fmt::format("{}: not a regular file", file.string());
    return false;
  }
  if ((status.permissions() & std::filesystem::perms::others_exec) ==
      std::filesystem::perms::none) {
    why = fmt::format("{}: not executable by others (chmod o+rx)", file.string());
    return false;
  }
  return true;
}

}  // namespace

CdnProgramSearch findCdnProgram(const std::filesystem::path& self_exe,
                                std::optional<std::string_view> services_dir) {
  CdnProgramSearch search;
  std::vector<std::filesystem::path> folders;
  if (services_dir) {
    if (*services_dir == "none") {
      search.detail = fmt::format("{}=none", kServicesDirVariable);
      return search;
    }
    folders.emplace_back(*services_dir);
  } else {
    if (self_exe.filename() != "thunder") {
      search.detail = fmt::format(
          "{} is not the thunder program, so its folders are not searched; set {} to the "
          "folder of {}",
          self_exe.string(), kServicesDirVariable, kCdnProgramName);
      return search;
    }
    const std::filesystem::path dir = self_exe.parent_path();
    folders = {dir, dir / ".." / "lib" / "thunder" / "services", dir / ".." / ".." / "services"};
  }
  std::vector<std::string> misses;
  for (const auto& folder : folders) {
    std::error_code ec;
    std::filesystem::path candidate = std::filesystem::absolute(folder / kCdnProgramName, ec);
    if (ec) candidate = folder / kCdnProgramName;
    candidate = candidate.lexically_normal();
    std::string why;
    if (runnable(candidate, why)) {
      search.program = candidate;
      search.detail =
          services_dir
              ? fmt::format("{} (from {})", candidate.string(), kServicesDirVariable)
              : fmt::format("{} (found next to {})", candidate.string(), self_exe.string());
      return search;
    }
    misses.push_back(std::move(why));
  }
  search.detail = fmt::format(
      "no usable {}: {}{}", kCdnProgramName, fmt::join(misses, "; "),
      services_dir ? std::string() : fmt::format(" (set {} to its folder)", kServicesDirVariable));
  return search;
}

ServiceConfig defaultCdnService(const std::filesystem::path& program,
                                const std::vector<ServiceConfig>& configured) {
  ServiceConfig cdn;
  cdn.id = 0;
  cdn.name = "cdn";
  const bool taken = std::any_of(configured.begin(), configured.end(),
                                 [](const ServiceConfig& s) { return s.name == "cdn"; });
  if (taken) cdn.name = "cdn-0";
  cdn.executable = program;
  return cdn;
}

}  // namespace thunder::node
