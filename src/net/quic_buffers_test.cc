#include "net/quic_buffers.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>

namespace thunder::net {
namespace {

std::vector<uint8_t> counting(size_t size, uint8_t first = 0) {
  std::vector<uint8_t> out(size);
  std::iota(out.begin(), out.end(), first);
  return out;
}

// The unsent bytes as ngtcp2 would see them, concatenated.
std::vector<uint8_t> unsentBytes(const QuicSendBuffer& buffer) {
  std::array<ngtcp2_vec, 64> vecs;
  const size_t count = buffer.unsent(vecs);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < count; ++i)
    out.insert(out.end(), vecs[i].base, vecs[i].base + vecs[i].len);
  return out;
}

TEST(QuicSendBufferTest, AppendStopsAtCapacityUntilBytesAreAcknowledged) {
  QuicSendBuffer buffer(100'000);
  const auto data = counting(150'000);
  EXPECT_EQ(buffer.append(data), 100'000u);
  EXPECT_EQ(buffer.space(), 0u);
  EXPECT_EQ(buffer.append(data), 0u);
  buffer.markSent(60'000);
  EXPECT_EQ(buffer.space(), 0u);  // sent is not acknowledged
  buffer.markAcked(0, 40'000);
  EXPECT_EQ(buffer.space(), 40'000u);
  EXPECT_EQ(buffer.append(std::span(data).subspan(100'000)), 40'000u);
  EXPECT_EQ(buffer.endOffset(), 140'000u);
  EXPECT_EQ(buffer.ackedOffset(), 40'000u);
}

TEST(QuicSendBufferTest, UnsentBytesComeInOrderAcrossBlocks) {
  QuicSendBuffer buffer(1 << 20);
  const auto data = counting(3 * QuicSendBuffer::kBlockBytes + 123, 5);
  ASSERT_EQ(buffer.append(data), data.size());
  EXPECT_EQ(unsentBytes(buffer), data);
  buffer.markSent(QuicSendBuffer::kBlockBytes + 10);
  EXPECT_EQ(unsentBytes(buffer),
            std::vector<uint8_t>(data.begin() + QuicSendBuffer::kBlockBytes + 10, data.end()));
  EXPECT_EQ(buffer.unsentBytes(), data.size() - QuicSendBuffer::kBlockBytes - 10);
}

TEST(QuicSendBufferTest, SentBytesStayPutWhileMoreAreAppended) {
  QuicSendBuffer buffer(1 << 20);
  const auto first = counting(1000);
  buffer.append(first);
  std::array<ngtcp2_vec, 4> vecs;
  ASSERT_EQ(buffer.unsent(vecs), 1u);
  const uint8_t* sent_at = vecs[0].base;
  buffer.markSent(1000);
  buffer.append(counting(5 * QuicSendBuffer::kBlockBytes));  // ngtcp2 may resend from sent_at
  EXPECT_EQ(std::vector<uint8_t>(sent_at, sent_at + 1000), first);
  buffer.markAcked(0, 1000);
  EXPECT_EQ(buffer.unsentBytes(), 5 * QuicSendBuffer::kBlockBytes);
}

TEST(QuicReceiveBufferTest, ReadsWhatWasAppendedInOrder) {
  QuicReceiveBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  const auto data = counting(10'000);
  buffer.append(std::span(data).first(6000));
  std::vector<uint8_t> out(4000);
  EXPECT_EQ(buffer.read(out), 4000u);
  buffer.append(std::span(data).subspan(6000));
  EXPECT_EQ(buffer.size(), 6000u);
  std::vector<uint8_t> rest(10'000);
  ASSERT_EQ(buffer.read(rest), 6000u);
  out.insert(out.end(), rest.begin(), rest.begin() + 6000);
  EXPECT_EQ(out, data);
  EXPECT_TRUE(buffer.empty());
}

}  // namespace
}  // namespace thunder::net
