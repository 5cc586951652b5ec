// Fuzz target: arbitrary bytes through CarReader (content/ipfs_car.h), with small limits.
// Must never crash or allocate beyond the limits; every block it returns verifies against its
// CID; errors are only kInvalidArgument or kCorruption; reading the input in small pieces gives
// exactly the same result as reading it at once; and a CAR it accepts, rewritten by CarWriter,
// reads back to the same roots and blocks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "content/ipfs_car.h"

namespace {

using namespace thunder::content::ipfs;

constexpr CarLimits kLimits{4096, 64 * 1024};

struct Outcome {
  std::vector<Cid> roots;
  std::vector<CarBlock> blocks;
  std::optional<thunder::Error> error;
};

Outcome readAll(ByteReader reader) {
  Outcome out;
  auto car = CarReader::open(std::move(reader), kLimits);
  if (!car) {
    out.error = car.error();
    return out;
  }
  out.roots = car->roots();
  while (true) {
    auto block = car->next();
    if (!block) {
      out.error = block.error();
      return out;
    }
    if (!*block) return out;
    if (!(*block)->cid.hash().verify((*block)->data)) std::abort();
    if ((*block)->data.size() > kLimits.max_block) std::abort();
    out.blocks.push_back(std::move(**block));
  }
}

bool sameBlocks(const Outcome& a, const Outcome& b) {
  if (a.roots != b.roots || a.blocks.size() != b.blocks.size()) return false;
  for (size_t i = 0; i < a.blocks.size(); ++i) {
    if (!(a.blocks[i].cid == b.blocks[i].cid) || a.blocks[i].data != b.blocks[i].data) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  const std::span<const uint8_t> bytes(input, size);
  const Outcome whole = readAll(spanByteReader(bytes));
  if (whole.error && whole.error->code != thunder::ErrorCode::kInvalidArgument &&
      whole.error->code != thunder::ErrorCode::kCorruption) {
    std::abort();
  }
  // The same input in pieces of 1..13 bytes.
  const size_t piece = size % 13 + 1;
  const Outcome pieces = readAll(
      [bytes, piece, pos = size_t{0}](std::span<uint8_t> out) mutable -> thunder::Result<size_t> {
        const size_t n = std::min({out.size(), piece, bytes.size() - pos});
        if (n > 0) std::memcpy(out.data(), bytes.data() + pos, n);
        pos += n;
        return n;
      });
  if (!sameBlocks(whole, pieces) || whole.error.has_value() != pieces.error.has_value()) {
    std::abort();
  }
  if (whole.error &&
      (whole.error->code != pieces.error->code || whole.error->message != pieces.error->message)) {
    std::abort();
  }
  if (whole.error) return 0;
  // Rewrite and read back.
  std::vector<uint8_t> rewritten;
  CarWriter writer([&rewritten](std::span<const uint8_t> b) -> thunder::Result<void> {
    rewritten.insert(rewritten.end(), b.begin(), b.end());
    return {};
  });
  if (!writer.writeHeader(whole.roots)) std::abort();
  for (const auto& block : whole.blocks) {
    if (!writer.writeBlock(block.cid, block.data)) std::abort();
  }
  const Outcome again = readAll(spanByteReader(rewritten));
  if (again.error || !sameBlocks(whole, again)) std::abort();
  return 0;
}
