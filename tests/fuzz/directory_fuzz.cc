// Fuzz target: arbitrary bytes through the directory manifest parser (content/directory.h).
// Must never crash; whatever it accepts must be canonical: re-encoding gives back exactly the
// input, and makeManifest() accepts the same entries unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "content/directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  const std::span<const uint8_t> bytes(input, size);
  auto manifest = thunder::content::parseManifest(bytes);
  if (!manifest) {
    if (manifest.error().code != thunder::ErrorCode::kCorruption) std::abort();
    return 0;
  }
  const auto encoded = thunder::content::encodeManifest(*manifest);
  if (encoded.size() != size || !std::equal(encoded.begin(), encoded.end(), input)) std::abort();
  auto rebuilt = thunder::content::makeManifest(manifest->entries);
  if (!rebuilt || !(*rebuilt == *manifest)) std::abort();
  for (const auto& entry : manifest->entries) {
    if (manifest->find(entry.name) != &entry) std::abort();
  }
  return 0;
}
