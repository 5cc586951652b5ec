// BLAKE3 throughput of crypto::blake3() (one-shot, SIMD back end chosen at run time) over
// in-memory buffers of 16 KiB (one chunk group), 1 MiB and 64 MiB. Reports bytes per second.
// Link with benchmark::benchmark_main (this file has no main()).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "crypto/blake3.h"

namespace thunder::crypto {
namespace {

void BM_Blake3(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 31 + (i >> 8));
  for (auto _ : state) {
    BlobId id = blake3(data);
    benchmark::DoNotOptimize(id);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}

BENCHMARK(BM_Blake3)->Arg(16 << 10)->Arg(1 << 20)->Arg(64 << 20);

}  // namespace
}  // namespace thunder::crypto
