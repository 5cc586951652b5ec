// Fuzz target: arbitrary bytes through the IPC codec (src/ipc/codec.h). Must never crash.
// Input: one byte choosing the channel (even: control, odd: data), then a stream of frames, each
// decoded with parseFrameHeader() + decodeBody() until the input ends or an error. Whatever
// decodes must be canonical: encodeFrame() gives back exactly the bytes that were parsed. The
// whole stream is also fed to decodeFrame() as one frame. Links thunder_ipc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ipc/codec.h"

namespace {

using namespace thunder::ipc;

void expectDecodeError(const thunder::Error& error) {
  if (error.code != thunder::ErrorCode::kCorruption &&
      error.code != thunder::ErrorCode::kInvalidArgument) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Channel channel = data[0] % 2 == 0 ? Channel::kControl : Channel::kData;
  std::span<const uint8_t> rest(data + 1, size - 1);

  if (auto whole = decodeFrame(channel, rest); !whole) expectDecodeError(whole.error());

  while (rest.size() >= kFrameHeaderSize) {
    auto header = parseFrameHeader(channel, rest.first(kFrameHeaderSize));
    if (!header) {
      expectDecodeError(header.error());
      return 0;
    }
    if (header->length > maxBody(header->type)) std::abort();
    if (header->fd_count != fdCount(header->type)) std::abort();
    const size_t frame_size = kFrameHeaderSize + header->length;
    if (rest.size() < frame_size) return 0;
    const auto frame = rest.first(frame_size);
    auto message = decodeBody(*header, frame.subspan(kFrameHeaderSize));
    if (!message) {
      expectDecodeError(message.error());
      return 0;
    }
    if (!allowedOn(typeOf(*message), channel)) std::abort();
    auto again = encodeFrame(*message);
    if (!again) std::abort();  // everything decodable must be encodable
    if (!std::equal(again->begin(), again->end(), frame.begin(), frame.end())) std::abort();
    rest = rest.subspan(frame_size);
  }
  return 0;
}
