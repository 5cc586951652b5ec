#include "gateway/range_header.h"

#include <algorithm>
#include <limits>

#include "fmt/format.h"

namespace thunder::gateway {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Parses 1*DIGIT without overflow.
bool parseNumber(std::string_view digits, uint64_t* out) {
  if (digits.empty() || digits.size() > 20) return false;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    value = value * 10 + d;
  }
  *out = value;
  return true;
}

bool startsWithBytesUnit(std::string_view value) {
  constexpr std::string_view kUnit = "bytes=";
  if (value.size() < kUnit.size()) return false;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<RangeSpec>> parseRangeHeader(std::string_view value) {
  value = trim(value);
  if (!startsWithBytesUnit(value)) {
    return fail(ErrorCode::kInvalidArgument, "the Range header does not start with \"bytes=\"");
  }
  value.remove_prefix(6);
  std::vector<RangeSpec> specs;
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    if (!item.empty()) {
      if (specs.size() == kMaxRangeSpecs) {
        return fail(ErrorCode::kInvalidArgument, "the Range header has more than {} ranges",
                    kMaxRangeSpecs);
      }
      const size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        return fail(ErrorCode::kInvalidArgument, "range \"{}\" has no '-'", item);
      }
      const std::string_view left = item.substr(0, dash);
      const std::string_view right = item.substr(dash + 1);
      RangeSpec spec;
      if (left.empty()) {
        spec.kind = RangeSpec::Kind::kSuffix;
        if (!parseNumber(right, &spec.last)) {
          return fail(ErrorCode::kInvalidArgument, "bad suffix length in range \"{}\"", item);
        }
      } else {
        if (!parseNumber(left, &spec.first)) {
          return fail(ErrorCode::kInvalidArgument, "bad first byte in range \"{}\"", item);
        }
        if (right.empty()) {
          spec.kind = RangeSpec::Kind::kFrom;
        } else {
          spec.kind = RangeSpec::Kind::kFromTo;
          if (!parseNumber(right, &spec.last)) {
            return fail(ErrorCode::kInvalidArgument, "bad last byte in range \"{}\"", item);
          }
          if (spec.last < spec.first) {
            return fail(ErrorCode::kInvalidArgument, "range \"{}\" ends before it starts", item);
          }
        }
      }
      specs.push_back(spec);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  if (specs.empty()) return fail(ErrorCode::kInvalidArgument, "the Range header has no range");
  return specs;
}

ResolvedRanges resolveRanges(std::span<const RangeSpec> specs, uint64_t size) {
  ResolvedRanges out;
  out.ranges.reserve(specs.size());
  for (const RangeSpec& spec : specs) {
    content::ByteRange range;
    switch (spec.kind) {
      case RangeSpec::Kind::kFromTo:
        if (spec.first >= size) continue;
        range = {spec.first, std::min(spec.last, size - 1) + 1};
        break;
      case RangeSpec::Kind::kFrom:
        if (spec.first >= size) continue;
        range = {spec.first, size};
        break;
      case RangeSpec::Kind::kSuffix:
        if (spec.last == 0 || size == 0) continue;
        range = {size - std::min(spec.last, size), size};
        break;
    }
    out.ranges.push_back(range);
  }
  if (out.ranges.empty()) return out;
  out.outcome = RangeOutcome::kSatisfiable;
  // Merge (and sort) only when some ranges overlap or touch; otherwise keep the request's order.
  std::vector<content::ByteRange> sorted = out.ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  bool overlap = false;
  for (size_t i = 1; i < sorted.size(); ++i) overlap |= sorted[i].start <= sorted[i - 1].end;
  if (!overlap) return out;
  out.ranges.clear();
  for (const auto& range : sorted) {
    if (!out.ranges.empty() && range.start <= out.ranges.back().end) {
      out.ranges.back().end = std::max(out.ranges.back().end, range.end);
    } else {
      out.ranges.push_back(range);
    }
  }
  return out;
}

std::string contentRange(const content::ByteRange& range, uint64_t size) {
  return fmt::format("bytes {}-{}/{}", range.start, range.end - 1, size);
}

std::string formatEncodedRanges(const content::ByteRanges& ranges) {
  std::string out = "bytes=";
  bool first = true;
  for (const auto& range : ranges.ranges()) {
    if (!first) out.push_back(',');
    first = false;
    if (range.end == std::numeric_limits<uint64_t>::max()) {
      fmt::format_to(std::back_inserter(out), "{}-", range.start);
    } else {
      fmt::format_to(std::back_inserter(out), "{}-{}", range.start, range.end - 1);
    }
  }
  return out;
}

Result<content::ByteRanges> parseEncodedRanges(std::string_view value) {
  THUNDER_ASSIGN_OR_RETURN(auto specs, parseRangeHeader(value));
  content::ByteRanges out;
  for (const RangeSpec& spec : specs) {
    switch (spec.kind) {
      case RangeSpec::Kind::kFromTo:
        if (spec.last == std::numeric_limits<uint64_t>::max()) {
          return fail(ErrorCode::kInvalidArgument, "range end {} is too large", spec.last);
        }
        THUNDER_TRY(out.add(spec.first, spec.last + 1));
        break;
      case RangeSpec::Kind::kFrom:
        THUNDER_TRY(out.add(spec.first, std::numeric_limits<uint64_t>::max()));
        break;
      case RangeSpec::Kind::kSuffix:
        return fail(ErrorCode::kInvalidArgument,
                    "a suffix range cannot describe encoded ranges (it needs the size)");
    }
  }
  return out;
}

}  // namespace thunder::gateway
