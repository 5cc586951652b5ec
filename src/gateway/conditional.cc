#include "gateway/conditional.h"

namespace thunder::gateway {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ifNoneMatchMatches(std::string_view header, std::string_view etag) {
  header = trim(header);
  if (header == "*") return true;
  while (!header.empty()) {
    header = trim(header);
    if (header.starts_with(',')) {
      header.remove_prefix(1);
      continue;
    }
    if (header.starts_with("W/")) header.remove_prefix(2);
    if (!header.starts_with('"')) return false;  // malformed: stop, match nothing more
    const size_t close = header.find('"', 1);
    if (close == std::string_view::npos) return false;
    if (header.substr(0, close + 1) == etag) return true;
    header.remove_prefix(close + 1);
  }
  return false;
}

bool ifRangeMatches(std::string_view header, std::string_view etag) {
  return trim(header) == etag;
}

}  // namespace thunder::gateway
