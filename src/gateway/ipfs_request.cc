#include "gateway/ipfs_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "content/ipfs_unixfs.h"

namespace thunder::gateway {
namespace {

namespace ipfs = content::ipfs;

constexpr std::string_view kPrefix = "/ipfs";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// One element of an Accept header: "type/subtype; key=value; q=0.5".
struct MediaRange {
  std::string type;                                         // lower case
  std::vector<std::pair<std::string, std::string>> params;  // keys lower case, values unquoted
  double q = 1.0;

  const std::string* param(std::string_view key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

// Lenient: a malformed element is skipped (an Accept header never makes a request fail).
std::vector<MediaRange> parseAccept(std::string_view accept) {
  std::vector<MediaRange> out;
  while (!accept.empty() && out.size() < 64) {
    const size_t comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    MediaRange range;
    size_t semi = element.find(';');
    range.type = lower(trim(element.substr(0, semi)));
    if (range.type.empty()) continue;
    bool ok = true;
    while (semi != std::string_view::npos) {
      element.remove_prefix(semi + 1);
      semi = element.find(';');
      const std::string_view pair = trim(element.substr(0, semi));
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string key = lower(trim(pair.substr(0, eq)));
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "q") {
        char* end = nullptr;
        const std::string text(value);
        const double q = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !(q >= 0.0 && q <= 1.0)) {
          ok = false;
          break;
        }
        range.q = q;
      } else {
        range.params.emplace_back(std::move(key), std::string(value));
      }
    }
    if (ok) out.push_back(std::move(range));
  }
  return out;
}

// Applies a CAR `version` / `order` / `dups` value; `where` names its origin for the message.
Result<void> applyCarVersion(std::string_view value, std::string_view where) {
  if (value != "1") {
    return fail(ErrorCode::kInvalidArgument,
                "{} \"{}\" is not supported: this gateway sends CARv1 (version=1)", where,
                value.substr(0, 50));
  }
  return {};
}

Result<void> applyCarOrder(std::string_view value, std::string_view where) {
  if (value != "dfs" && value != "unk" && !value.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "{} \"{}\" is not supported (use dfs or unk; blocks are always sent in DFS order)",
                where, value.substr(0, 50));
  }
  return {};
}

Result<void> applyCarDups(std::string_view value, std::string_view where,
                          ipfs::CarExportOptions& options) {
  if (value == "y") {
    options.dups = true;
  } else if (value == "n") {
    options.dups = false;
  } else {
    return fail(ErrorCode::kInvalidArgument, "{} \"{}\" is not valid (use y or n)", where,
                value.substr(0, 50));
  }
  return {};
}

Result<void> carOptions(std::string_view query, const MediaRange* accepted,
                        ipfs::CarExportOptions& options) {
  if (accepted != nullptr) {
    if (const auto* v = accepted->param("version")) {
      THUNDER_TRY(applyCarVersion(*v, "Accept parameter version"));
    }
    if (const auto* v = accepted->param("order")) {
      THUNDER_TRY(applyCarOrder(*v, "Accept parameter order"));
    }
    if (const auto* v = accepted->param("dups")) {
      THUNDER_TRY(applyCarDups(*v, "Accept parameter dups", options));
    }
  }
  if (const auto v = queryParam(query, "car-version"))
    THUNDER_TRY(applyCarVersion(*v, "car-version"));
  if (const auto v = queryParam(query, "car-order")) THUNDER_TRY(applyCarOrder(*v, "car-order"));
  if (const auto v = queryParam(query, "car-dups"))
    THUNDER_TRY(applyCarDups(*v, "car-dups", options));
  const auto scope = queryParam(query, "dag-scope");
  if (scope) {
    auto parsed = ipfs::parseDagScope(*scope);
    if (!parsed) {
      return fail(ErrorCode::kInvalidArgument,
                  "dag-scope \"{}\" is not valid (use block, entity or all)", scope->substr(0, 50));
    }
    options.scope = *parsed;
  }
  if (const auto bytes = queryParam(query, "entity-bytes")) {
    auto parsed = ipfs::parseEntityBytes(*bytes);
    if (!parsed) {
      return fail(ErrorCode::kInvalidArgument, "entity-bytes \"{}\" is not valid: {}",
                  bytes->substr(0, 50), parsed.error().message);
    }
    if (scope && options.scope != ipfs::DagScope::kEntity) {
      return fail(ErrorCode::kInvalidArgument,
                  "entity-bytes needs dag-scope=entity (it implies it), not dag-scope={}",
                  ipfs::dagScopeName(options.scope));
    }
    options.scope = ipfs::DagScope::kEntity;
    options.bytes = *parsed;
  }
  return {};
}

}  // namespace

Result<IpfsPath> parseIpfsPath(std::string_view path) {
  if (!path.starts_with(kPrefix) || (path.size() > kPrefix.size() && path[kPrefix.size()] != '/')) {
    return fail(ErrorCode::kInvalidArgument, "not an /ipfs/ path");
  }
  path.remove_prefix(kPrefix.size());
  if (path.empty() || path == "/") {
    return fail(ErrorCode::kInvalidArgument,
                "no CID: use /ipfs/<cid>[/<path>], e.g. /ipfs/bafkqaaa (the empty identity CID)");
  }
  path.remove_prefix(1);  // '/'
  const size_t slash = path.find('/');
  const std::string_view cid_text = path.substr(0, slash);
  IpfsPath out;
  auto cid = ipfs::Cid::parse(cid_text);
  if (!cid) {
    return fail(ErrorCode::kInvalidArgument, "malformed CID \"{}\": {}", cid_text.substr(0, 120),
                cid.error().message);
  }
  out.cid = std::move(*cid);
  out.cid_text = std::string(cid_text);
  if (slash == std::string_view::npos) return out;
  THUNDER_TRY(parsePathSegments(path.substr(slash + 1), path, &ipfs::checkEntryName,
                                kMaxIpfsSegments, out.segments, out.trailing_slash));
  return out;
}

Result<IpfsNegotiation> negotiateIpfs(std::string_view query, std::string_view accept) {
  IpfsNegotiation out;
  const std::vector<MediaRange> ranges = parseAccept(accept);
  // The Accept entry for a CAR (its parameters apply also under ?format=car).
  const MediaRange* car_range = nullptr;
  const MediaRange* best = nullptr;
  for (const auto& range : ranges) {
    if (range.q <= 0.0) continue;
    const bool raw = range.type == kIpldRawType;
    const bool car = range.type == kIpldCarType;
    if (car && (car_range == nullptr || range.q > car_range->q)) car_range = &range;
    if ((raw || car) && (best == nullptr || range.q > best->q)) best = &range;
  }

  const auto format = queryParam(query, "format");
  if (format && !format->empty()) {
    if (*format == "raw") {
      out.format = IpfsFormat::kRaw;
    } else if (*format == "car") {
      out.format = IpfsFormat::kCar;
    } else {
      static constexpr std::array<std::string_view, 6> kKnown = {"tar",  "dag-json", "dag-cbor",
                                                                 "json", "cbor",     "ipns-record"};
      if (std::find(kKnown.begin(), kKnown.end(), *format) != kKnown.end()) {
        out.format = IpfsFormat::kUnsupported;
        out.unsupported = *format;
        return out;
      }
      return fail(ErrorCode::kInvalidArgument,
                  "unknown format \"{}\" (use format=raw or format=car, or no format for the "
                  "deserialized file or directory)",
                  format->substr(0, 50));
    }
  } else if (best != nullptr) {
    out.format = best->type == kIpldRawType ? IpfsFormat::kRaw : IpfsFormat::kCar;
    out.from_accept = true;
  }
  if (out.format == IpfsFormat::kCar) THUNDER_TRY(carOptions(query, car_range, out.car));
  return out;
}

std::string carContentType(const ipfs::CarExportOptions& options) {
  return fmt::format("{}; version=1; order=dfs; dups={}", kIpldCarType, options.dups ? "y" : "n");
}

}  // namespace thunder::gateway
