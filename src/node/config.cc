#include "node/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>

namespace thunder::node {
namespace {

enum class KeyType { kString, kInteger, kBoolean, kStringList };

// One configuration key: where it lives, what it means, and how it maps onto NodeOptions.
struct ConfigKey {
  std::string_view section;
  std::string_view name;
  std::string_view comment;
  KeyType type;
  std::function<std::string(const NodeOptions&)> render;       // TOML value text
  std::function<void(NodeOptions&, const toml::node&)> apply;  // type already checked
};

std::string quoted(const std::string& s) {
  std::ostringstream out;
  out << toml::value<std::string>(s);
  return out.str();
}

std::string quotedList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return out + "]";
}

std::vector<std::string> stringList(const toml::node& value) {
  std::vector<std::string> out;
  for (const auto& item : *value.as_array()) out.push_back(*item.value<std::string>());
  return out;
}

bool isStringList(const toml::node& value) {
  const toml::array* array = value.as_array();
  if (array == nullptr) return false;
  for (const auto& item : *array) {
    if (!item.is_string()) return false;
  }
  return true;
}

// An integer key in milliseconds of a std::chrono::milliseconds member.
#define THUNDER_MS_KEY(SECTION, NAME, COMMENT, MEMBER)                         \
  ConfigKey {                                                                  \
    SECTION, NAME, COMMENT, KeyType::kInteger,                                 \
        [](const NodeOptions& o) { return std::to_string(o.MEMBER.count()); }, \
        [](NodeOptions& o, const toml::node& v) {                              \
          o.MEMBER = std::chrono::milliseconds(*v.value<int64_t>());           \
        }                                                                      \
  }
// An integer key of an unsigned member.
#define THUNDER_COUNT_KEY(SECTION, NAME, COMMENT, MEMBER)                  \
  ConfigKey {                                                              \
    SECTION, NAME, COMMENT, KeyType::kInteger,                             \
        [](const NodeOptions& o) { return std::to_string(o.MEMBER); },     \
        [](NodeOptions& o, const toml::node& v) {                          \
          o.MEMBER = static_cast<decltype(o.MEMBER)>(*v.value<int64_t>()); \
        }                                                                  \
  }

const std::vector<ConfigKey>& configKeys() {
  static const std::vector<ConfigKey> keys = {
      {"node", "data_dir", "Where keys, content and state live. \"~\" is your home directory.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.data_dir.string()); },
       [](NodeOptions& o, const toml::node& v) { o.data_dir = *v.value<std::string>(); }},
      {"node", "shutdown_grace_ms",
       "How long a graceful shutdown may take before the node exits anyway.", KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.shutdown_grace.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.shutdown_grace = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"log", "level",
       "trace, debug, info, warn, error or off; per module: \"info,content=debug\".",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.log_level); },
       [](NodeOptions& o, const toml::node& v) { o.log_level = *v.value<std::string>(); }},
      {"runtime", "loop_threads", "Event-loop threads; 0 means one per CPU core.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.runtime.loop_threads); },
       [](NodeOptions& o, const toml::node& v) {
         o.runtime.loop_threads = static_cast<size_t>(*v.value<int64_t>());
       }},
      {"runtime", "blocking_threads", "Threads for blocking work (disk sync, hashing).",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.runtime.blocking_threads); },
       [](NodeOptions& o, const toml::node& v) {
         o.runtime.blocking_threads = static_cast<size_t>(*v.value<int64_t>());
       }},
      {"admin", "listen", "Admin HTTP API (/health, /metrics, /status). Keep it on loopback.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.admin.listen); },
       [](NodeOptions& o, const toml::node& v) { o.admin.listen = *v.value<std::string>(); }},
      {"admin", "max_connections", "Concurrent admin connections; more are closed at once.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.admin.max_connections); },
       [](NodeOptions& o, const toml::node& v) {
         o.admin.max_connections = static_cast<size_t>(*v.value<int64_t>());
       }},
      {"admin", "idle_timeout_ms", "An admin connection idle this long is closed.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.admin.idle_timeout.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.admin.idle_timeout = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"store", "quota_mb",
       "Cache quota of the blob store in MiB; unpinned blobs are evicted least recently used "
       "first. 0 = unlimited.",
       KeyType::kInteger, [](const NodeOptions& o) { return std::to_string(o.store.quota_mb); },
       [](NodeOptions& o, const toml::node& v) {
         o.store.quota_mb = static_cast<uint64_t>(*v.value<int64_t>());
       }},
      {"ledger", "enabled",
       "Run the ledger: settle DACKs and pay rewards per epoch (embedded dev chain).",
       KeyType::kBoolean, [](const NodeOptions& o) { return o.ledger.enabled ? "true" : "false"; },
       [](NodeOptions& o, const toml::node& v) { o.ledger.enabled = *v.value<bool>(); }},
      {"ledger", "block_interval_ms", "How often DACKs are submitted and a block is ordered.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.ledger.block_interval.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.ledger.block_interval = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"ledger", "epoch_ms",
       "Epoch length of the embedded dev chain (another value is another chain).",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.ledger.epoch.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.ledger.epoch = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"gateway", "listen",
       "The HTTP gateway (/b3/<id>, docs/gateway.md). Loopback by default; \"0.0.0.0:4280\" "
       "serves the network.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.gateway.listen); },
       [](NodeOptions& o, const toml::node& v) { o.gateway.listen = *v.value<std::string>(); }},
      {"gateway", "tls_certificate",
       "https://: PEM certificate chain file (leaf first) for the gateway; with tls_key, the "
       "gateway serves TLS only. Empty: plain http://.",
       KeyType::kString,
       [](const NodeOptions& o) { return quoted(o.gateway.tls_certificate_file); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.tls_certificate_file = *v.value<std::string>();
       }},
      {"gateway", "tls_key", "https://: PEM private key file of gateway.tls_certificate.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.gateway.tls_key_file); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.tls_key_file = *v.value<std::string>();
       }},
      {"gateway", "upload_token",
       "Bearer token that POST /b3 uploads must present; empty: uploads disabled.",
       KeyType::kString,
       [](const NodeOptions& o) { return quoted(o.gateway.upload_token.empty() ? "" : "(set)"); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.upload_token = *v.value<std::string>();
       }},
      {"gateway", "max_upload_mb", "Largest POST /b3 body in MiB (413 above it).",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.gateway.max_upload_mb); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.max_upload_mb = static_cast<uint64_t>(*v.value<int64_t>());
       }},
      {"gateway", "max_connections", "Open gateway connections; more are closed at once.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.gateway.max_connections); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.max_connections = static_cast<size_t>(*v.value<int64_t>());
       }},
      {"gateway", "idle_timeout_ms", "A keep-alive gateway connection idle this long is closed.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.gateway.idle_timeout.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.gateway.idle_timeout = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"sessions", "listen",
       "Client sessions (TLS 1.3). Loopback by default; \"0.0.0.0:4200\" serves the network.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.sessions.listen); },
       [](NodeOptions& o, const toml::node& v) { o.sessions.listen = *v.value<std::string>(); }},
      {"sessions", "ws_listen",
       "Client sessions over plain WebSocket (ws://HOST:PORT/thunder/v1), e.g. "
       "\"127.0.0.1:4201\"; empty: off. No TLS: for loopback and tests.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.sessions.ws_listen); },
       [](NodeOptions& o, const toml::node& v) { o.sessions.ws_listen = *v.value<std::string>(); }},
      {"sessions", "ws_certificate",
       "wss://: PEM certificate chain file (leaf first) for the WebSocket listener; with ws_key. "
       "Empty: plain ws://.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.sessions.ws_certificate); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.ws_certificate = *v.value<std::string>();
       }},
      {"sessions", "ws_key", "wss://: PEM private key file of sessions.ws_certificate.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.sessions.ws_key); },
       [](NodeOptions& o, const toml::node& v) { o.sessions.ws_key = *v.value<std::string>(); }},
      {"sessions", "quic_listen",
       "Client sessions over QUIC (UDP; quic://HOST:PORT, same node key pinning as TLS), e.g. "
       "\"0.0.0.0:4202\"; empty: off.",
       KeyType::kString, [](const NodeOptions& o) { return quoted(o.sessions.quic_listen); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.quic_listen = *v.value<std::string>();
       }},
      {"sessions", "lanes_per_client", "Concurrent or resumable sessions per client key.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.sessions.lanes_per_client); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.lanes_per_client =
             static_cast<uint32_t>(std::min<int64_t>(*v.value<int64_t>(), UINT32_MAX));
       }},
      {"sessions", "handshake_timeout_ms",
       "A connection must finish the TLS handshake, and then send its Hello, within this time.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.sessions.handshake_timeout.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.handshake_timeout = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"sessions", "idle_timeout_ms", "A session that receives nothing this long is ended.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.sessions.idle_timeout.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.idle_timeout = std::chrono::milliseconds(*v.value<int64_t>());
       }},
      {"sessions", "max_handshakes_per_ip",
       "Connections from one IP address still in the TLS handshake; more are closed at once.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.sessions.max_handshakes_per_ip); },
       [](NodeOptions& o, const toml::node& v) {
         o.sessions.max_handshakes_per_ip = static_cast<size_t>(*v.value<int64_t>());
       }},
      THUNDER_MS_KEY("gateway", "service_timeout_ms",
                     "How long /services/<id>/ waits for a service's answer head (then 504).",
                     gateway.service_timeout),
      {"ipfs", "gateways",
       "IPFS trustless gateways (base URLs) that CIDs missing here are fetched from, in order, "
       "each block verified. Empty: serve only what was imported.",
       KeyType::kStringList, [](const NodeOptions& o) { return quotedList(o.ipfs_gateways); },
       [](NodeOptions& o, const toml::node& v) { o.ipfs_gateways = stringList(v); }},
      THUNDER_MS_KEY("fetcher", "connect_timeout_ms",
                     "Origin requests: resolve + connect + TLS handshake within this.",
                     fetcher.connect_timeout),
      THUNDER_MS_KEY("fetcher", "header_timeout_ms",
                     "Origin requests: the response header within this after the request.",
                     fetcher.header_timeout),
      THUNDER_MS_KEY("fetcher", "idle_timeout_ms",
                     "Origin requests: the longest pause within a response body.",
                     fetcher.idle_timeout),
      THUNDER_COUNT_KEY("fetcher", "max_redirects", "Redirects followed per origin request.",
                        fetcher.max_redirects),
      {"fetcher", "max_body_mb", "Largest origin response body in MiB.", KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.fetcher.max_body_bytes >> 20); },
       [](NodeOptions& o, const toml::node& v) {
         // Saturates instead of wrapping, so that validation reports a huge value as too large.
         const auto mb = static_cast<uint64_t>(*v.value<int64_t>());
         o.fetcher.max_body_bytes = mb > (UINT64_MAX >> 20) ? UINT64_MAX : mb << 20;
       }},
      THUNDER_COUNT_KEY("fetcher", "max_concurrent", "Origin requests in flight at once.",
                        fetcher.max_concurrent),
      THUNDER_COUNT_KEY("fetcher", "max_concurrent_per_host",
                        "Origin requests in flight at once to one scheme://host:port.",
                        fetcher.max_concurrent_per_host),
      THUNDER_COUNT_KEY("fetcher", "max_queued",
                        "Fetches waiting for an origin slot; more are refused (503).",
                        fetcher.max_queued),
      {"fetcher", "default_ttl_s",
       "How long a URL stays mapped to its content when the origin sends no max-age.",
       KeyType::kInteger,
       [](const NodeOptions& o) { return std::to_string(o.fetcher.default_ttl.count()); },
       [](NodeOptions& o, const toml::node& v) {
         o.fetcher.default_ttl = std::chrono::seconds(*v.value<int64_t>());
       }},
  };
  return keys;
}

const ConfigKey* findKey(std::string_view section, std::string_view name) {
  for (const ConfigKey& key : configKeys()) {
    if (key.section == section && key.name == name) return &key;
  }
  return nullptr;
}

bool hasSection(std::string_view section) {
  for (const ConfigKey& key : configKeys()) {
    if (key.section == section) return true;
  }
  return false;
}

std::string where(std::string_view source, const toml::node& node) {
  const auto& begin = node.source().begin;
  return begin.line ? fmt::format("{}:{}", source, begin.line) : std::string(source);
}

// [[origins]]: an array of tables {name, url}.
Result<std::vector<fetcher::OriginConfig>> parseOrigins(const toml::node& node,
                                                        std::string_view source) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: 'origins' must be an array of tables ([[origins]] with name and url)",
                where(source, node));
  }
  std::vector<fetcher::OriginConfig> out;
  for (const auto& item : *array) {
    const toml::table* table = item.as_table();
    if (table == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "{}: each [[origins]] entry must be a table",
                  where(source, item));
    }
    fetcher::OriginConfig origin;
    for (const auto& [key, value] : *table) {
      if ((key.str() != "name" && key.str() != "url") || !value.is_string()) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: [[origins]] takes the strings 'name' and 'url' (got '{}')",
                    where(source, value), key.str());
      }
      (key.str() == "name" ? origin.name : origin.base_url) = *value.value<std::string>();
    }
    if (origin.name.empty() || origin.base_url.empty()) {
      return fail(ErrorCode::kInvalidArgument, "{}: an [[origins]] entry needs a name and a url",
                  where(source, item));
    }
    for (const auto& other : out) {
      if (other.name == origin.name) {
        return fail(ErrorCode::kInvalidArgument, "{}: origin '{}' is defined twice",
                    where(source, item), origin.name);
      }
    }
    out.push_back(std::move(origin));
  }
  return out;
}

}  // namespace

Result<NodeOptions> parseConfig(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, "{}:{}: {}", source, e.source().begin.line,
                e.description());
  }

  NodeOptions options;
  for (const auto& [section_key, section_node] : root) {
    const std::string_view section = section_key.str();
    if (section == "services") {
      THUNDER_ASSIGN_OR_RETURN(options.services, parseServicesConfig(section_node, source));
      continue;
    }
    if (section == "origins") {
      THUNDER_ASSIGN_OR_RETURN(options.fetcher.origins, parseOrigins(section_node, source));
      continue;
    }
    const toml::table* table = section_node.as_table();
    if (!hasSection(section)) {
      return fail(ErrorCode::kInvalidArgument, "{}: unknown section '{}'",
                  where(source, section_node), section);
    }
    if (!table) {
      return fail(ErrorCode::kInvalidArgument, "{}: '{}' must be a table ([{}])",
                  where(source, section_node), section, section);
    }
    for (const auto& [name_key, value] : *table) {
      const std::string_view name = name_key.str();
      const ConfigKey* key = findKey(section, name);
      if (!key) {
        return fail(ErrorCode::kInvalidArgument, "{}: unknown key '{}.{}'", where(source, value),
                    section, name);
      }
      const bool type_ok = key->type == KeyType::kString       ? value.is_string()
                           : key->type == KeyType::kBoolean    ? value.is_boolean()
                           : key->type == KeyType::kStringList ? isStringList(value)
                                                               : value.is_integer();
      if (!type_ok) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.{}' must be {}", where(source, value),
                    section, name,
                    key->type == KeyType::kString       ? "a string"
                    : key->type == KeyType::kBoolean    ? "true or false"
                    : key->type == KeyType::kStringList ? "an array of strings"
                                                        : "an integer");
      }
      if (key->type == KeyType::kInteger && *value.value<int64_t>() < 0) {
        return fail(ErrorCode::kInvalidArgument, "{}: '{}.{}' must not be negative",
                    where(source, value), section, name);
      }
      key->apply(options, value);
    }
  }
  if (auto ok = validateOptions(options); !ok) {
    return fail(ok.error().withContext(source));
  }
  return options;
}

Result<NodeOptions> loadConfigFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      return fail(ErrorCode::kNotFound,
                  "config file {} does not exist (create one with `thunder init`)", file.string());
    }
    return failErrno(errno, fmt::format("cannot read config file {}", file.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), file.string());
}

std::string renderConfig(const NodeOptions& options) {
  std::string out =
      "# Thunder node configuration. Every key is optional: the value shown here is the\n"
      "# default unless you changed it. Keys are documented in docs/config.md.\n";
  // Sections in the order they first appear in the key table, each with all of its keys.
  std::vector<std::string_view> sections;
  for (const ConfigKey& key : configKeys()) {
    if (std::find(sections.begin(), sections.end(), key.section) == sections.end()) {
      sections.push_back(key.section);
    }
  }
  for (const std::string_view section : sections) {
    out += fmt::format("\n[{}]\n", section);
    for (const ConfigKey& key : configKeys()) {
      if (key.section != section) continue;
      out += fmt::format("# {}\n{} = {}\n", key.comment, key.name, key.render(options));
    }
  }
  out += renderServicesConfig(options.services);
  out += "\n# Named HTTP origins served at /origin/<name>/<path> (docs/fetcher.md):\n";
  if (options.fetcher.origins.empty()) {
    out += "# [[origins]]\n# name = \"site\"\n# url = \"https://origin.example/\"\n";
  }
  for (const auto& origin : options.fetcher.origins) {
    out += fmt::format("[[origins]]\nname = {}\nurl = {}\n", quoted(origin.name),
                       quoted(origin.base_url));
  }
  return out;
}

}  // namespace thunder::node
