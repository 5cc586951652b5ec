#include "content/verified_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "crypto/blake3_tree.h"

namespace thunder::content {
namespace {

using crypto::kGroupSize;

struct Blob {
  std::vector<uint8_t> data;
  std::vector<uint8_t> outboard;
  BlobId id;
};

Blob makeBlob(size_t size, uint32_t seed) {
  Blob blob;
  blob.data.resize(size);
  std::mt19937 rng(seed);
  for (auto& b : blob.data) b = static_cast<uint8_t>(rng());
  blob.outboard.resize(crypto::outboardSize(size));
  blob.id = *crypto::hashBlob(blob.data, blob.outboard);
  return blob;
}

std::vector<uint8_t> encode(const Blob& blob, const ByteRanges& ranges) {
  MemoryBlobSource source(blob.data, blob.outboard);
  std::vector<uint8_t> stream;
  auto result = encodeRanges(source, ranges, [&](std::span<const uint8_t> bytes) -> Result<void> {
    stream.insert(stream.end(), bytes.begin(), bytes.end());
    return {};
  });
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_EQ(stream.size(), encodedSize(blob.data.size(), ranges));
  return stream;
}

struct Decoded {
  Result<void> result;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> emitted;
  std::optional<uint64_t> verified_size;
};

// Feeds `stream` in pieces of `piece` bytes (0: all at once), then finish().
Decoded decode(const BlobId& id, const ByteRanges& ranges, std::span<const uint8_t> stream,
               size_t piece = 0) {
  Decoded out;
  RangeDecoder decoder(id, ranges, [&](uint64_t offset, std::span<const uint8_t> bytes) {
    out.emitted.emplace_back(offset, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    return Result<void>{};
  });
  out.result = {};
  const size_t step = piece == 0 ? std::max<size_t>(stream.size(), 1) : piece;
  for (size_t i = 0; i < stream.size() && out.result; i += step) {
    out.result = decoder.feed(stream.subspan(i, std::min(step, stream.size() - i)));
  }
  if (out.result) out.result = decoder.finish();
  out.verified_size = decoder.verifiedSize();
  return out;
}

// Every emitted byte is the blob's byte at that offset.
void expectEmittedBytesCorrect(const Blob& blob, const Decoded& decoded) {
  for (const auto& [offset, bytes] : decoded.emitted) {
    ASSERT_LE(offset + bytes.size(), blob.data.size());
    ASSERT_TRUE(std::equal(bytes.begin(), bytes.end(), blob.data.begin() + offset))
        << "unverified bytes emitted at offset " << offset;
  }
}

// The groups a request selects, computed directly from the documented rule.
std::vector<uint64_t> expectedGroups(uint64_t size, const ByteRanges& ranges) {
  const uint64_t groups = crypto::groupCount(size);
  std::vector<uint64_t> out;
  for (uint64_t g = 0; g < groups; ++g) {
    bool selected = ranges.intersects(g * kGroupSize, (g + 1) * kGroupSize);
    if (g + 1 == groups) {
      for (const ByteRange& r : ranges.ranges()) selected |= r.start >= size;
    }
    if (selected) out.push_back(g);
  }
  return out;
}

void checkRoundtrip(const Blob& blob, const ByteRanges& ranges) {
  SCOPED_TRACE("size " + std::to_string(blob.data.size()) + " ranges " + ranges.toString());
  const auto stream = encode(blob, ranges);
  const Decoded decoded = decode(blob.id, ranges, stream);
  ASSERT_TRUE(decoded.result) << decoded.result.error().message;
  expectEmittedBytesCorrect(blob, decoded);
  std::vector<uint64_t> groups;
  for (const auto& [offset, bytes] : decoded.emitted) {
    EXPECT_EQ(offset % kGroupSize, 0u);
    EXPECT_EQ(bytes.size(), crypto::groupLength(blob.data.size(), offset / kGroupSize));
    groups.push_back(offset / kGroupSize);
  }
  const auto expected = expectedGroups(blob.data.size(), ranges);
  if (blob.data.empty()) {
    EXPECT_TRUE(groups.empty());  // the empty group has no bytes to emit
  } else {
    EXPECT_EQ(groups, expected);
  }
  const bool last_selected =
      !expected.empty() && expected.back() + 1 == crypto::groupCount(blob.data.size());
  EXPECT_EQ(decoded.verified_size.has_value(), last_selected);
  if (decoded.verified_size) {
    EXPECT_EQ(*decoded.verified_size, blob.data.size());
  }

  // Byte-by-byte feeding gives the same emissions.
  if (stream.size() < 200000) {
    const Decoded by_byte = decode(blob.id, ranges, stream, 1);
    ASSERT_TRUE(by_byte.result) << by_byte.result.error().message;
    EXPECT_EQ(by_byte.emitted, decoded.emitted);
  }
  const Decoded odd = decode(blob.id, ranges, stream, 16385);
  ASSERT_TRUE(odd.result);
  EXPECT_EQ(odd.emitted, decoded.emitted);
}

ByteRanges range(uint64_t start, uint64_t end) {
  return *ByteRanges::fromStartEnd(start, end);
}

TEST(VerifiedStreamTest, RoundtripWholeOneManyEmptyAndPastEnd) {
  const size_t kSizes[] = {0,     1,     1024,      16383,         16384,
                           16385, 40000, 3 * 16384, 3 * 16384 + 5, (1 << 20) + 7};
  uint32_t seed = 1;
  for (size_t size : kSizes) {
    const Blob blob = makeBlob(size, seed++);
    checkRoundtrip(blob, ByteRanges::all());
    checkRoundtrip(blob, ByteRanges());
    checkRoundtrip(blob, range(0, 1));
    checkRoundtrip(blob, range(20000, 20010));
    checkRoundtrip(blob, range(size / 2, size / 2 + 1));
    checkRoundtrip(blob, range(size + 100, size + 200));  // past the end: the last group
    checkRoundtrip(blob, range(size, size + 1));
    ByteRanges many;
    ASSERT_TRUE(many.add(0, 1));
    ASSERT_TRUE(many.add(40000, 50000));
    ASSERT_TRUE(many.add(100000, 100001));
    ASSERT_TRUE(many.add(size + 5, std::numeric_limits<uint64_t>::max()));
    checkRoundtrip(blob, many);
  }
}

TEST(VerifiedStreamTest, EmptyRangesCarryOnlyTheUnverifiedSize) {
  const Blob blob = makeBlob(40000, 3);
  const auto stream = encode(blob, ByteRanges());
  ASSERT_EQ(stream.size(), 8u);
  const Decoded decoded = decode(blob.id, ByteRanges(), stream);
  ASSERT_TRUE(decoded.result);
  EXPECT_TRUE(decoded.emitted.empty());
  EXPECT_FALSE(decoded.verified_size.has_value());
}

TEST(VerifiedStreamTest, EmptyBlobVerifies) {
  const Blob blob = makeBlob(0, 1);
  const auto stream = encode(blob, ByteRanges::all());
  ASSERT_EQ(stream, std::vector<uint8_t>(8, 0));
  const Decoded decoded = decode(blob.id, ByteRanges::all(), stream);
  ASSERT_TRUE(decoded.result);
  EXPECT_EQ(decoded.verified_size, std::optional<uint64_t>(0));
  // The same 8 zero bytes do not verify as another (non-empty) blob.
  const Blob other = makeBlob(1, 1);
  EXPECT_FALSE(decode(other.id, ByteRanges::all(), stream).result);
}

// Flips every byte of the stream, one at a time: decoding fails, and every emitted byte is
// right (so no byte of the group holding the flip was emitted).
void checkEveryFlipDetected(const Blob& blob, const ByteRanges& ranges,
                            const std::vector<size_t>& positions) {
  const auto stream = encode(blob, ranges);
  for (size_t i : positions) {
    if (i >= stream.size()) continue;
    auto corrupt = stream;
    corrupt[i] ^= 0x01;
    const Decoded decoded = decode(blob.id, ranges, corrupt);
    expectEmittedBytesCorrect(blob, decoded);
    if (i < kStreamHeaderSize && decoded.result) {
      // A size that keeps the tree shape and the selected groups unchanged cannot be caught
      // when the last group is not requested (bao rule); it must then stay unproved.
      EXPECT_FALSE(decoded.verified_size.has_value()) << "forged size proved, flip at " << i;
      continue;
    }
    ASSERT_FALSE(decoded.result) << "flip at stream byte " << i << " of " << stream.size()
                                 << " went undetected (blob size " << blob.data.size() << ")";
    EXPECT_EQ(decoded.result.error().code, ErrorCode::kCorruption);
  }
}

std::vector<size_t> allPositions(size_t n) {
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = i;
  return out;
}

TEST(VerifiedStreamTest, EveryFlippedByteOfSmallBlobsIsDetected) {
  const size_t kSizes[] = {0, 1, 16384, 16385, 3 * 16384 + 5};
  for (size_t size : kSizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const Blob blob = makeBlob(size, 11);
    const size_t len = encodedSize(size, ByteRanges::all());
    checkEveryFlipDetected(blob, ByteRanges::all(), allPositions(len));
    checkEveryFlipDetected(blob, range(17000, 17001), allPositions(len));
  }
}

TEST(VerifiedStreamTest, SampledFlipsOfLargerBlobAreDetected) {
  const Blob blob = makeBlob((1 << 20) + 12345, 12);
  const size_t len = encodedSize(blob.data.size(), ByteRanges::all());
  std::vector<size_t> positions = allPositions(8 + 64 * 8);  // header and the first parents
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) positions.push_back(rng() % len);
  positions.push_back(len - 1);
  checkEveryFlipDetected(blob, ByteRanges::all(), positions);
}

TEST(VerifiedStreamTest, TruncatedStreamFailsAtEveryPrefix) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{3 * 16384 + 5}}) {
    const Blob blob = makeBlob(size, 13);
    for (const ByteRanges& ranges : {ByteRanges::all(), range(33000, 33001)}) {
      const auto stream = encode(blob, ranges);
      for (size_t cut = 0; cut < stream.size(); ++cut) {
        const Decoded decoded = decode(blob.id, ranges, std::span(stream).first(cut), 7);
        ASSERT_FALSE(decoded.result) << "prefix of " << cut << " bytes accepted";
        EXPECT_EQ(decoded.result.error().code, ErrorCode::kCorruption);
        expectEmittedBytesCorrect(blob, decoded);
      }
    }
  }
}

TEST(VerifiedStreamTest, TrailingBytesAreRefused) {
  const Blob blob = makeBlob(40000, 14);
  auto stream = encode(blob, ByteRanges::all());
  stream.push_back(0);
  const Decoded decoded = decode(blob.id, ByteRanges::all(), stream);
  ASSERT_FALSE(decoded.result);
  EXPECT_NE(decoded.result.error().message.find("after the end"), std::string::npos);
}

TEST(VerifiedStreamTest, StreamOfAnotherBlobIsRefused) {
  const Blob blob = makeBlob(40000, 15);
  const Blob other = makeBlob(40000, 16);
  const auto stream = encode(blob, ByteRanges::all());
  const Decoded decoded = decode(other.id, ByteRanges::all(), stream);
  ASSERT_FALSE(decoded.result);
  EXPECT_EQ(decoded.result.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(decoded.emitted.empty());
  EXPECT_NE(decoded.result.error().message.find(other.id.hex()), std::string::npos);
}

TEST(VerifiedStreamTest, LyingSizePrefixIsRefused) {
  for (size_t size : {size_t{1}, size_t{16384}, size_t{40000}, size_t{3 * 16384 + 5}}) {
    const Blob blob = makeBlob(size, 17);
    const uint64_t lies[] = {size + 1,
                             size - 1,
                             size + kGroupSize,
                             size * 2,
                             size + (1u << 20),
                             0,
                             std::numeric_limits<uint64_t>::max()};
    for (const ByteRanges& ranges : {ByteRanges::all(), range(size - 1, size)}) {
      const auto stream = encode(blob, ranges);
      for (uint64_t lie : lies) {
        auto forged = stream;
        for (int i = 0; i < 8; ++i) forged[i] = static_cast<uint8_t>(lie >> (8 * i));
        const Decoded decoded = decode(blob.id, ranges, forged);
        EXPECT_FALSE(decoded.result) << "size " << size << " claimed as " << lie;
        expectEmittedBytesCorrect(blob, decoded);
        EXPECT_FALSE(decoded.verified_size.has_value());
      }
    }
  }
}

TEST(VerifiedStreamTest, OverflowingRangesAreRefused) {
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  auto overflow = ByteRanges::fromStartLength(kMax - 5, 10);
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, ErrorCode::kInvalidArgument);
  auto reversed = ByteRanges::fromStartEnd(10, 5);
  ASSERT_FALSE(reversed);
  EXPECT_EQ(reversed.error().code, ErrorCode::kInvalidArgument);
  ByteRanges ranges;
  EXPECT_FALSE(ranges.addLength(1, kMax));
  EXPECT_TRUE(ranges.addLength(1, kMax - 1));
  EXPECT_EQ(ranges.ranges().back().end, kMax);
}

TEST(VerifiedStreamTest, ByteRangesNormalize) {
  ByteRanges r;
  ASSERT_TRUE(r.add(30, 40));
  ASSERT_TRUE(r.add(0, 10));
  ASSERT_TRUE(r.add(10, 12));  // adjacent: merged
  ASSERT_TRUE(r.add(50, 50));  // empty: ignored
  ASSERT_TRUE(r.add(35, 60));
  EXPECT_EQ(r.toString(), "[0, 12) [30, 60)");
  EXPECT_EQ(r.totalBytes(), 42u);
  EXPECT_TRUE(r.intersects(11, 30));
  EXPECT_FALSE(r.intersects(12, 30));
  EXPECT_TRUE(r.intersects(59, 100));
  EXPECT_FALSE(r.intersects(60, 100));
  ASSERT_TRUE(r.add(5, 45));
  EXPECT_EQ(r.toString(), "[0, 60)");
}

TEST(VerifiedStreamTest, OneMiBOutOf64MiBCostsLittleOverhead) {
  const Blob blob = makeBlob(64 << 20, 18);
  const uint64_t payload = 1 << 20;
  // Aligned: 64 groups under one node at depth 6 of a 4096-group tree: 6 parents above it,
  // 63 inside it.
  const ByteRanges aligned = range(16 << 20, (16 << 20) + payload);
  const auto stream = encode(blob, aligned);
  EXPECT_EQ(stream.size(), 8 + payload + 64 * (6 + 63));
  EXPECT_LE(stream.size(), payload * 101 / 100);
  const Decoded decoded = decode(blob.id, aligned, stream);
  ASSERT_TRUE(decoded.result) << decoded.result.error().message;
  EXPECT_EQ(decoded.emitted.size(), 64u);
  expectEmittedBytesCorrect(blob, decoded);

  // Unaligned: 65 groups (groups 1024..1088).
  const ByteRanges unaligned = range((16 << 20) + 5, (17 << 20) + 5);
  const uint64_t wire = encodedSize(blob.data.size(), unaligned);
  EXPECT_EQ(wire, 8 + 65 * kGroupSize + 64 * (6 + 63 + 6));  // group 1088: 6 more parents
  EXPECT_LE(wire, payload * 101 / 100 + 2 * kGroupSize);
}

TEST(VerifiedStreamTest, FdSourceEqualsMemorySourceAndPullReadsAnySize) {
  const Blob blob = makeBlob(100000, 19);
  std::string dir = testing::TempDir() + "/verified_stream_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string data_path = dir + "/data", ob_path = dir + "/obao";
  const int data_fd = ::open(data_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  const int ob_fd = ::open(ob_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(data_fd, 0);
  ASSERT_GE(ob_fd, 0);
  ASSERT_EQ(::write(data_fd, blob.data.data(), blob.data.size()),
            static_cast<ssize_t>(blob.data.size()));
  ASSERT_EQ(::write(ob_fd, blob.outboard.data(), blob.outboard.size()),
            static_cast<ssize_t>(blob.outboard.size()));

  ByteRanges ranges;
  ASSERT_TRUE(ranges.add(1, 2));
  ASSERT_TRUE(ranges.add(70000, 80000));
  const auto expected = encode(blob, ranges);
  FdBlobSource source(data_fd, ob_fd, blob.data.size());
  RangeEncoder encoder(source, ranges);
  std::vector<uint8_t> pulled;
  std::mt19937 rng(1);
  while (!encoder.done()) {
    std::vector<uint8_t> buf(1 + rng() % 100);
    auto n = encoder.read(buf);
    ASSERT_TRUE(n) << n.error().message;
    pulled.insert(pulled.end(), buf.begin(), buf.begin() + *n);
  }
  EXPECT_EQ(pulled, expected);

  // A data file shorter than the size is reported, not read past.
  ASSERT_EQ(::ftruncate(data_fd, 50000), 0);
  FdBlobSource short_source(data_fd, ob_fd, blob.data.size());
  auto result = encodeRanges(short_source, ByteRanges::all(),
                             [](std::span<const uint8_t>) { return Result<void>{}; });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCorruption);
  ::close(data_fd);
  ::close(ob_fd);
}

TEST(VerifiedStreamTest, EmitErrorStopsDecodingAndSticks) {
  const Blob blob = makeBlob(40000, 20);
  const auto stream = encode(blob, ByteRanges::all());
  int calls = 0;
  RangeDecoder decoder(blob.id, ByteRanges::all(), [&](uint64_t, std::span<const uint8_t>) {
    ++calls;
    return Result<void>(fail(ErrorCode::kCancelled, "consumer went away"));
  });
  auto fed = decoder.feed(stream);
  ASSERT_FALSE(fed);
  EXPECT_EQ(fed.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(decoder.finish());
}

}  // namespace
}  // namespace thunder::content
