// Conditional request headers (RFC 9110 §13) for immutable, content-addressed representations:
// If-None-Match (→ 304) and If-Range (→ whether a Range is honoured). The gateway sends strong
// ETags ("<64 hex id>") and no Last-Modified, so a date in If-Range never matches.
//
// Pure functions over untrusted text; thread-safe; never abort.
#pragma once

#include <string_view>

namespace thunder::gateway {

// Whether an If-None-Match value matches `etag` (quoted, e.g. "\"ab12…\""): "*", or a
// comma-separated list of entity tags one of which equals it by the weak comparison (a W/
// prefix is ignored). A malformed list matches nothing.
bool ifNoneMatchMatches(std::string_view header, std::string_view etag);

// Whether an If-Range value lets the Range apply: a strong entity tag equal to `etag`. A weak
// tag, a date or anything else does not (the full representation is then sent).
bool ifRangeMatches(std::string_view header, std::string_view etag);

}  // namespace thunder::gateway
