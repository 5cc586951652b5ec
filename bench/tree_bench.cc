// Micro-benchmarks of the BLAKE3 tree and the verified range stream (reports bytes/second):
//   BM_HashBlobWithOutboard/threads  root + pre-order outboard of 64 MiB in memory
//   BM_TreeHasherStreaming           the incremental hasher fed 1 MiB pieces
//   BM_VerifiedStreamDecode          RangeDecoder over the whole-blob stream of 64 MiB
//   BM_VerifiedStreamEncode          RangeEncoder from memory, whole blob
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "content/verified_stream.h"
#include "crypto/blake3_tree.h"

namespace {

using namespace thunder;

constexpr size_t kBlobSize = 64 << 20;

const std::vector<uint8_t>& blobData() {
  static const std::vector<uint8_t> data = [] {
    std::vector<uint8_t> d(kBlobSize);
    uint64_t x = 0x9e3779b97f4a7c15;
    for (auto& b : d) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      b = static_cast<uint8_t>(x);
    }
    return d;
  }();
  return data;
}

void BM_HashBlobWithOutboard(benchmark::State& state) {
  const auto& data = blobData();
  std::vector<uint8_t> outboard(crypto::outboardSize(data.size()));
  const auto parallelism = state.range(0) == 2 ? crypto::HashParallelism::kTwoThreads
                                               : crypto::HashParallelism::kSingleThread;
  for (auto _ : state) {
    auto root = crypto::hashBlob(data, outboard, parallelism);
    benchmark::DoNotOptimize(root);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_HashBlobWithOutboard)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TreeHasherStreaming(benchmark::State& state) {
  const auto& data = blobData();
  crypto::TreeHasher hasher;
  for (auto _ : state) {
    for (size_t i = 0; i < data.size(); i += 1 << 20) {
      hasher.update(std::span(data).subspan(i, 1 << 20));
    }
    auto result = hasher.finalize();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_TreeHasherStreaming)->Unit(benchmark::kMillisecond);

struct Encoded {
  BlobId id;
  std::vector<uint8_t> outboard;
  std::vector<uint8_t> stream;
};

const Encoded& encoded() {
  static const Encoded e = [] {
    Encoded out;
    const auto& data = blobData();
    out.outboard.resize(crypto::outboardSize(data.size()));
    out.id = *crypto::hashBlob(data, out.outboard);
    content::MemoryBlobSource source(data, out.outboard);
    (void)content::encodeRanges(source, content::ByteRanges::all(),
                                [&](std::span<const uint8_t> bytes) -> Result<void> {
                                  out.stream.insert(out.stream.end(), bytes.begin(), bytes.end());
                                  return {};
                                });
    return out;
  }();
  return e;
}

void BM_VerifiedStreamDecode(benchmark::State& state) {
  const Encoded& e = encoded();
  const size_t piece = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    uint64_t emitted = 0;
    content::RangeDecoder decoder(e.id, content::ByteRanges::all(),
                                  [&](uint64_t, std::span<const uint8_t> bytes) {
                                    emitted += bytes.size();
                                    return Result<void>{};
                                  });
    for (size_t i = 0; i < e.stream.size(); i += piece) {
      auto fed = decoder.feed(std::span(e.stream).subspan(i, std::min(piece, e.stream.size() - i)));
      if (!fed) state.SkipWithError(fed.error().message.c_str());
    }
    if (!decoder.finish() || emitted != kBlobSize) state.SkipWithError("decode failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBlobSize));
}
// 64 KiB pieces (a typical socket read) and 1 MiB pieces (zero-copy path).
BENCHMARK(BM_VerifiedStreamDecode)->Arg(64 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_VerifiedStreamEncode(benchmark::State& state) {
  const Encoded& e = encoded();
  content::MemoryBlobSource source(blobData(), e.outboard);
  std::vector<uint8_t> buffer(64 << 10);
  for (auto _ : state) {
    content::RangeEncoder encoder(source, content::ByteRanges::all());
    while (!encoder.done()) {
      auto n = encoder.read(buffer);
      if (!n) state.SkipWithError(n.error().message.c_str());
      benchmark::DoNotOptimize(buffer.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBlobSize));
}
BENCHMARK(BM_VerifiedStreamEncode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
