#include "net/quic_buffers.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace thunder::net {

size_t QuicSendBuffer::append(std::span<const uint8_t> bytes) {
  size_t taken = 0;
  const size_t wanted = std::min(bytes.size(), space());
  while (taken < wanted) {
    if (blocks_.empty() || blocks_.back().size == kBlockBytes) {
      blocks_.push_back(Block{std::make_unique<uint8_t[]>(kBlockBytes), 0});
    }
    Block& block = blocks_.back();
    const size_t n = std::min(wanted - taken, kBlockBytes - block.size);
    std::memcpy(block.data.get() + block.size, bytes.data() + taken, n);
    block.size += n;
    taken += n;
  }
  end_ += taken;
  return taken;
}

size_t QuicSendBuffer::unsent(std::span<ngtcp2_vec> out) const {
  size_t count = 0;
  uint64_t block_start = front_;
  for (const Block& block : blocks_) {
    if (count == out.size()) break;
    const uint64_t block_end = block_start + block.size;
    if (block_end > sent_) {
      const uint64_t from = std::max(sent_, block_start);
      out[count++] = ngtcp2_vec{block.data.get() + (from - block_start),
                                static_cast<size_t>(block_end - from)};
    }
    block_start = block_end;
  }
  return count;
}

void QuicSendBuffer::markAcked(uint64_t offset, uint64_t length) {
  THUNDER_CHECK(offset + length <= sent_, "ngtcp2 acknowledged stream data that was never sent");
  acked_ = std::max(acked_, offset + length);
  // Free fully acknowledged blocks, but keep a partly filled last block for appends.
  while (!blocks_.empty() && front_ + blocks_.front().size <= acked_ &&
         (blocks_.size() > 1 || blocks_.front().size == kBlockBytes)) {
    front_ += blocks_.front().size;
    blocks_.pop_front();
  }
}

void QuicReceiveBuffer::append(std::span<const uint8_t> bytes) {
  if (head_ > 0 && head_ >= bytes_.size() / 2) {
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
}

size_t QuicReceiveBuffer::read(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), size());
  std::memcpy(out.data(), bytes_.data() + head_, n);
  head_ += n;
  if (head_ == bytes_.size()) {
    bytes_.clear();
    head_ = 0;
  }
  return n;
}

}  // namespace thunder::net
