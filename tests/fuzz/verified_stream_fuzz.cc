// Fuzz target: arbitrary bytes fed to RangeDecoder for a fixed small blob. Must never crash,
// never emit a byte that differs from the blob, and never accept a stream it did not verify.
//
// Input layout: byte 0-1 range start (in 256-byte units), byte 2 range length (in 256-byte
// units, 0 = whole blob), byte 3 feed piece size (0 = all at once); the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "content/verified_stream.h"
#include "crypto/blake3_tree.h"

namespace {

using thunder::BlobId;
using thunder::content::ByteRanges;

struct Fixture {
  std::vector<uint8_t> data;
  BlobId id;

  Fixture() : data(40000) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
    std::vector<uint8_t> outboard(thunder::crypto::outboardSize(data.size()));
    id = *thunder::crypto::hashBlob(data, outboard);
  }
};

const Fixture& fixture() {
  static const Fixture kFixture;
  return kFixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (size < 4) return 0;
  const Fixture& blob = fixture();
  const uint64_t start = (uint64_t{input[0]} | uint64_t{input[1]} << 8) * 256;
  const uint64_t length = uint64_t{input[2]} * 256;
  const size_t piece = input[3];
  ByteRanges ranges = length == 0 ? ByteRanges::all() : *ByteRanges::fromStartLength(start, length);
  const auto stream = std::span(input + 4, size - 4);

  thunder::content::RangeDecoder decoder(
      blob.id, ranges, [&](uint64_t offset, std::span<const uint8_t> bytes) {
        if (offset > blob.data.size() || bytes.size() > blob.data.size() - offset ||
            std::memcmp(bytes.data(), blob.data.data() + offset, bytes.size()) != 0) {
          std::abort();  // emitted bytes that are not the blob's
        }
        return thunder::Result<void>{};
      });
  thunder::Result<void> result;
  const size_t step = piece == 0 ? std::max<size_t>(stream.size(), 1) : piece;
  for (size_t i = 0; i < stream.size() && result; i += step) {
    result = decoder.feed(stream.subspan(i, std::min(step, stream.size() - i)));
  }
  if (result) result = decoder.finish();
  if (result && decoder.verifiedSize() && *decoder.verifiedSize() != blob.data.size()) {
    std::abort();  // proved a wrong size
  }
  return 0;
}
