// Fuzz target: arbitrary bytes through the Hello, Welcome and DACK parsers (handshake/hello.h,
// handshake/dack.h) and, wrapped in a Hello frame, through a node's ServerSession with fake time.
// Must never crash; what parses must re-encode to the same bytes; a random Hello must never open
// a session (its signature cannot verify). Links thunder_handshake.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "handshake/dack.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "handshake/test_support.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto hello = parseHello(input);
  checkCanonical(hello, input, encodeHello);
  if (hello) {
    (void)verifyHello(*hello, TransportBinding::unbound());
  }
  auto welcome = parseWelcome(input);
  checkCanonical(welcome, input, encodeWelcome);
  if (welcome) (void)verifyWelcome(*welcome, Hash32{});
  auto dack = parseDack(input);
  checkCanonical(dack, input, encodeDack);
  if (dack) (void)verifyDack(*dack, dack->scope, {});

  if (size <= kHelloResumeSize) {
    testing::FakeNode node;
    auto session = node.accept(TransportBinding::unbound());
    const Actions out = session->onBytes(encodeFrame(FrameType::kHello, input));
    for (const auto& action : out) {
      if (std::holds_alternative<SessionOpened>(action)) std::abort();
    }
    if (session->state() != SessionState::kClosed || node.lanes.size() != 0) std::abort();
  }
  return 0;
}
