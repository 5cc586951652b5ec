// OriginTable: named origins (OriginConfig) and the URL of a path under one, with no way for
// the path to leave its base (no "..", no encoded slashes or backslashes).
//
// Immutable after create(); thread-safe to read.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "fetcher/fetcher_options.h"

namespace thunder::fetcher {

class OriginTable {
 public:
  OriginTable() = default;

  // kInvalidArgument naming the origin for an empty or malformed name (allowed: letters, digits,
  // '-', '_', '.'), a duplicate name, or a base that is not an http(s) URL without query and
  // fragment.
  static Result<OriginTable> create(const std::vector<OriginConfig>& origins);

  // The URL of `path` under origin `name`: the base URL followed by the path's segments (empty
  // and "." segments dropped, bytes outside the URL grammar percent-encoded, a trailing '/'
  // kept) and its "?query" if any. kNotFound for an unknown name; kInvalidArgument for a ".."
  // segment (also when percent-encoded), a segment whose decoding holds '/' or '\', a malformed
  // escape, a control character or a '#'.
  Result<std::string> resolve(std::string_view name, std::string_view path) const;

  size_t size() const { return bases_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> bases_;  // name → base URL ending in '/'
};

}  // namespace thunder::fetcher
