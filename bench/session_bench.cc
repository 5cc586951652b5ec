// Micro-benchmarks of the session handshake's signatures: DACK signing and verification (the
// node's per-DACK cost; items/s of BM_DackVerify is the verification rate of one core) and Hello
// verification (the node's per-session cost before the Welcome).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "crypto/signing.h"
#include "handshake/dack.h"
#include "handshake/hello.h"

namespace thunder::handshake {
namespace {

crypto::SigningKey keyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return crypto::SigningKey::fromSeed(seed);
}

DackScope scopeFor(const crypto::SigningKey& node, const crypto::SigningKey& client) {
  DackScope scope;
  scope.node_pk = node.publicKey();
  scope.client_pk = client.publicKey();
  scope.service = ServiceId{0};
  scope.lane = 3;
  scope.session_nonce.mutableBytes()[0] = 0x5A;
  return scope;
}

Commitment someCommitment() {
  Hash32 root;
  root.mutableBytes()[0] = 0xC3;
  return Commitment::contentRange(root, 0, 1ull << 30);
}

// 1024 distinct signed DACKs (increasing counters and amounts) of one lane.
std::vector<Dack> signedDacks(const crypto::SigningKey& client, const DackScope& scope) {
  std::vector<Dack> dacks;
  for (uint64_t i = 1; i <= 1024; ++i) {
    dacks.push_back(
        makeDack(client, scope, Commodity::kBandwidthBytes, i << 20, someCommitment(), i));
  }
  return dacks;
}

// verifyDack() of a signed DACK against the lane's previous progress: what the node does per
// DACK (scope, counter and amount checks, then one Ed25519 verification).
void BM_DackVerify(benchmark::State& state) {
  const auto node = keyFromByte(0xA0);
  const auto client = keyFromByte(0x01);
  const DackScope scope = scopeFor(node, client);
  const auto dacks = signedDacks(client, scope);
  size_t i = 0;
  for (auto _ : state) {
    const Dack& dack = dacks[i];
    DackProgress progress;
    progress.counter = dack.counter - 1;
    auto ok = verifyDack(dack, scope, progress);
    if (!ok) {
      state.SkipWithError("verifyDack refused a valid DACK");
      break;
    }
    benchmark::DoNotOptimize(ok);
    i = (i + 1) % dacks.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DackVerify);

// parseDack() + verifyDack(): the node's cost from the frame payload on.
void BM_DackParseAndVerify(benchmark::State& state) {
  const auto node = keyFromByte(0xA0);
  const auto client = keyFromByte(0x01);
  const DackScope scope = scopeFor(node, client);
  std::vector<std::vector<uint8_t>> encoded;
  for (const auto& dack : signedDacks(client, scope)) encoded.push_back(encodeDack(dack));
  size_t i = 0;
  for (auto _ : state) {
    auto dack = parseDack(encoded[i]);
    if (!dack) {
      state.SkipWithError("parseDack refused a valid DACK");
      break;
    }
    DackProgress progress;
    progress.counter = dack->counter - 1;
    auto ok = verifyDack(*dack, scope, progress);
    if (!ok) {
      state.SkipWithError("verifyDack refused a valid DACK");
      break;
    }
    benchmark::DoNotOptimize(ok);
    i = (i + 1) % encoded.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DackParseAndVerify);

// makeDack(): the client's cost per DACK (digest + one Ed25519 signature).
void BM_DackSign(benchmark::State& state) {
  const auto node = keyFromByte(0xA0);
  const auto client = keyFromByte(0x01);
  const DackScope scope = scopeFor(node, client);
  const Commitment commitment = someCommitment();
  uint64_t counter = 0;
  for (auto _ : state) {
    ++counter;
    auto dack =
        makeDack(client, scope, Commodity::kBandwidthBytes, counter << 20, commitment, counter);
    benchmark::DoNotOptimize(dack);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DackSign);

// verifyHello() of a signed Hello bound to a TLS exporter value: the node's signature check per
// new session.
void BM_HelloVerify(benchmark::State& state) {
  const auto client = keyFromByte(0x01);
  std::array<uint8_t, 32> exporter{};
  exporter.fill(0x42);
  const auto binding = TransportBinding::tlsExporter(exporter);
  std::vector<Hello> hellos;
  for (int i = 0; i < 256; ++i) {
    hellos.push_back(makeHello(client, ServiceId{1}, LaneRequest::newLane(),
                               fromUnixMs(1'700'000'000'000 + i), binding));
  }
  size_t i = 0;
  for (auto _ : state) {
    const bool ok = verifyHello(hellos[i], binding);
    if (!ok) {
      state.SkipWithError("verifyHello refused a valid Hello");
      break;
    }
    benchmark::DoNotOptimize(ok);
    i = (i + 1) % hellos.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_HelloVerify);

}  // namespace
}  // namespace thunder::handshake
