// The byte buffers of a QUIC stream (internal to net/, used by QuicConnection):
//
//   QuicSendBuffer     bytes the application wrote, kept until the peer acknowledges them:
//                      ngtcp2 sends (and resends) STREAM frames straight from this memory, so a
//                      byte never moves between the write and its acknowledgement. Bounded: the
//                      writer waits while space() is 0.
//   QuicReceiveBuffer  stream bytes received in order and not yet read by the application. Its
//                      size is bounded by the flow-control window the connection advertises
//                      (the window grows only as the application reads).
//
// Plain data structures, no I/O; used on one loop.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace thunder::net {

class QuicSendBuffer {
 public:
  // Memory is allocated in blocks of kBlockBytes that never grow or move.
  static constexpr size_t kBlockBytes = 32 * 1024;

  explicit QuicSendBuffer(size_t capacity) : capacity_(capacity) {}

  // Bytes that may still be appended: capacity minus the written but unacknowledged ones.
  size_t space() const { return capacity_ - static_cast<size_t>(end_ - acked_); }
  // Copies up to space() bytes from the front of `bytes`; returns how many.
  size_t append(std::span<const uint8_t> bytes);

  // Fills `out` with the unsent bytes, from sentOffset() on, in order; returns the count used.
  size_t unsent(std::span<ngtcp2_vec> out) const;
  uint64_t unsentBytes() const { return end_ - sent_; }
  // `length` more bytes went into STREAM frames.
  void markSent(uint64_t length) { sent_ += length; }
  // The peer acknowledged [offset, offset + length): ngtcp2 reports acknowledged data in order
  // and without gaps, so offset is ackedOffset(). Frees the blocks that are fully acknowledged.
  void markAcked(uint64_t offset, uint64_t length);

  uint64_t ackedOffset() const { return acked_; }
  uint64_t sentOffset() const { return sent_; }
  uint64_t endOffset() const { return end_; }

 private:
  struct Block {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
  };

  size_t capacity_;
  std::deque<Block> blocks_;
  uint64_t front_ = 0;  // stream offset of blocks_.front().data[0]
  uint64_t acked_ = 0;
  uint64_t sent_ = 0;
  uint64_t end_ = 0;
};

class QuicReceiveBuffer {
 public:
  void append(std::span<const uint8_t> bytes);
  // Moves up to out.size() bytes to `out`; returns how many.
  size_t read(std::span<uint8_t> out);
  size_t size() const { return bytes_.size() - head_; }
  bool empty() const { return size() == 0; }

 private:
  std::vector<uint8_t> bytes_;
  size_t head_ = 0;  // bytes before it were read
};

}  // namespace thunder::net
