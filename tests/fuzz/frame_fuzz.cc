// Fuzz target: arbitrary bytes through the handshake frame decoder (handshake/frame.h) and the
// parsers of every frame body. Must never crash. The input length picks how the stream is cut
// into chunks (1..17 bytes), so split points are explored too. Whatever parses must be canonical:
// re-encoding gives back exactly the bytes that were parsed. Links thunder_handshake.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "handshake/dack.h"
#include "handshake/frame.h"
#include "handshake/hello.h"

namespace {

using namespace thunder::handshake;

template <typename Parsed, typename Encode>
void checkCanonical(const Parsed& parsed, std::span<const uint8_t> input, Encode encode) {
  if (!parsed) {
    if (parsed.error().code != thunder::ErrorCode::kCorruption) std::abort();
    return;
  }
  const std::vector<uint8_t> again = encode(*parsed);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) std::abort();
}

void checkBody(const Frame& frame) {
  const std::span<const uint8_t> p(frame.payload);
  switch (frame.type) {
    case FrameType::kHello: checkCanonical(parseHello(p), p, encodeHello); break;
    case FrameType::kWelcome: checkCanonical(parseWelcome(p), p, encodeWelcome); break;
    case FrameType::kDack: checkCanonical(parseDack(p), p, encodeDack); break;
    case FrameType::kTokenRefresh:
      checkCanonical(parseTokenRefresh(p), p, encodeTokenRefresh);
      break;
    case FrameType::kTermination: checkCanonical(parseTermination(p), p, encodeTermination); break;
    case FrameType::kUsageProposal:
      checkCanonical(parseUsageProposal(p), p, encodeUsageProposal);
      break;
    case FrameType::kPayload: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t chunk = size % 17 + 1;
  const std::span<const uint8_t> stream(data, size);
  const FrameLimits limits{64 * 1024};

  FrameDecoder decoder(limits);
  std::span<const uint8_t> rest = stream;
  size_t consumed = 0;
  std::vector<uint8_t> reencoded;
  while (!rest.empty()) {
    std::span<const uint8_t> piece = rest.first(std::min(chunk, rest.size()));
    rest = rest.subspan(piece.size());
    while (!piece.empty()) {
      const size_t before = piece.size();
      auto frame = decoder.next(piece);
      if (!frame) {
        const auto code = frame.error().code;
        if (code != thunder::ErrorCode::kCorruption &&
            code != thunder::ErrorCode::kInvalidArgument) {
          std::abort();
        }
        return 0;
      }
      consumed += before - piece.size();
      if (!*frame) continue;
      if ((*frame)->payload.size() > maxFramePayload((*frame)->type, limits)) std::abort();
      appendFrame(reencoded, (*frame)->type, (*frame)->payload);
      checkBody(**frame);
    }
  }
  // Everything decoded re-encodes to the bytes consumed up to the last frame boundary.
  if (decoder.atBoundary()) {
    if (consumed != stream.size() || reencoded.size() != stream.size()) std::abort();
    if (!std::equal(reencoded.begin(), reencoded.end(), stream.begin())) std::abort();
    auto whole = decodeFrame(stream, limits);
    (void)whole;
  } else if (decoder.finish()) {
    std::abort();  // a partial frame must be reported at end of stream
  }
  return 0;
}
