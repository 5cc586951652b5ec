// Fuzz target: arbitrary bytes as CID text (Cid::parse, multibaseDecode) and as a binary CID
// (Cid::fromBytes, Multihash::parse) from content/ipfs_multiformats.h. Must never crash; errors
// are kInvalidArgument (or kUnsupported); an accepted CID prints and re-parses to itself in every
// base; binary parsing is canonical: bytes() reproduces exactly the bytes consumed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "content/ipfs_multiformats.h"

using namespace thunder::content::ipfs;

namespace {

void checkRoundTrips(const Cid& cid) {
  auto text = Cid::parse(cid.toString());
  if (!text || !(*text == cid)) std::abort();
  for (Multibase base : {Multibase::kBase16, Multibase::kBase32, Multibase::kBase32Upper,
                         Multibase::kBase36, Multibase::kBase58Btc}) {
    auto v1 = Cid::parse(cid.toString(base));
    if (!v1 || !(*v1 == cid.toV1())) std::abort();
  }
  auto binary = Cid::fromBytes(cid.bytes());
  if (!binary || !(*binary == cid)) std::abort();
}

bool allowedCode(thunder::ErrorCode code) {
  return code == thunder::ErrorCode::kInvalidArgument || code == kUnsupported;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  const std::span<const uint8_t> bytes(input, size);
  const std::string_view text(reinterpret_cast<const char*>(input), size);

  if (auto cid = Cid::parse(text)) {
    checkRoundTrips(*cid);
  } else if (!allowedCode(cid.error().code)) {
    std::abort();
  }
  if (auto decoded = multibaseDecode(text); !decoded && !allowedCode(decoded.error().code)) {
    std::abort();
  }

  size_t pos = 0;
  if (auto cid = Cid::fromBytes(bytes, pos)) {
    const auto canonical = cid->bytes();
    if (canonical.size() != pos || !std::equal(canonical.begin(), canonical.end(), input)) {
      std::abort();
    }
    checkRoundTrips(*cid);
  } else if (!allowedCode(cid.error().code)) {
    std::abort();
  }

  pos = 0;
  if (auto mh = Multihash::parse(bytes, pos)) {
    const auto canonical = mh->bytes();
    if (canonical.size() != pos || !std::equal(canonical.begin(), canonical.end(), input)) {
      std::abort();
    }
    (void)mh->verify(bytes.subspan(pos));
  }
  return 0;
}
