// Lower-case hexadecimal encoding of byte strings.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace thunder {

std::string toHex(std::span<const uint8_t> bytes);

// Decodes exactly out.size() bytes from 2*out.size() hex digits (either case).
// kInvalidArgument on a wrong length or a non-hex character.
Result<void> fromHex(std::string_view hex, std::span<uint8_t> out);

// Decodes any even number of hex digits.
Result<std::vector<uint8_t>> fromHex(std::string_view hex);

}  // namespace thunder
