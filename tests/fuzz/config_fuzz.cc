// Fuzz target: the node's TOML config parser must turn any bytes into options or an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto options = thunder::node::parseConfig(text, "fuzz.toml");
  if (options) {
    // Whatever parses must render and parse back.
    auto again = thunder::node::parseConfig(thunder::node::renderConfig(*options), "rendered.toml");
    if (!again) __builtin_trap();
  }
  return 0;
}
