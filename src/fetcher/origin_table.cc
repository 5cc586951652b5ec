#include "fetcher/origin_table.h"

#include "fetcher/url.h"

namespace thunder::fetcher {

namespace {

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<OriginTable> OriginTable::create(const std::vector<OriginConfig>& origins) {
  OriginTable table;
  for (const auto& origin : origins) {
    if (!validName(origin.name)) {
      return fail(ErrorCode::kInvalidArgument,
                  "origin name \"{}\" must be 1 to 64 letters, digits, '-', '_' or '.'",
                  origin.name.substr(0, 80));
    }
    auto url = parseUrl(origin.base_url);
    if (!url) return fail(url.error().withContext(fmt::format("origin \"{}\"", origin.name)));
    if (!url->fragment.empty() || url->target.find('?') != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "origin \"{}\": the base URL {} must not have a query or a fragment", origin.name,
                  origin.base_url);
    }
    std::string base = url->str();
    if (!base.ends_with('/')) base.push_back('/');
    if (!table.bases_.emplace(origin.name, std::move(base)).second) {
      return fail(ErrorCode::kInvalidArgument, "origin \"{}\" is configured twice", origin.name);
    }
  }
  return table;
}

Result<std::string> OriginTable::resolve(std::string_view name, std::string_view path) const {
  const auto it = bases_.find(name);
  if (it == bases_.end()) {
    std::string known;
    for (const auto& [n, base] : bases_) known += (known.empty() ? "" : ", ") + n;
    return fail(ErrorCode::kNotFound, "no origin is named \"{}\" (configured: {})",
                name.substr(0, 80), known.empty() ? "none" : known);
  }
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '#') {
      return fail(ErrorCode::kInvalidArgument,
                  "origin \"{}\": the path must not contain control characters or '#'", name);
    }
  }
  const size_t question = path.find('?');
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : path.substr(question);
  path = path.substr(0, question);

  std::string out = it->second;
  bool first = true;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(pos, end - pos);
    pos = end + 1;
    if (segment.empty()) continue;
    const auto decoded = percentDecode(segment);
    if (!decoded) {
      return fail(ErrorCode::kInvalidArgument, "origin \"{}\": malformed %-escape in \"{}\"", name,
                  segment.substr(0, 80));
    }
    if (*decoded == ".") continue;
    if (*decoded == ".." || decoded->find_first_of("/\\") != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "origin \"{}\": the path \"{}\" would leave the origin's base (\"..\" and "
                  "encoded slashes are refused)",
                  name, path.substr(0, 200));
    }
    if (!first) out.push_back('/');
    out += encodeUrlBytes(segment);
    first = false;
  }
  if (!first && path.ends_with('/')) out.push_back('/');
  out += encodeUrlBytes(query);
  return out;
}

}  // namespace thunder::fetcher
