// CAR import into a fresh IpfsStore over an FsBlobStore (everything durable when importCar
// returns), against the I/O floor of the same bytes measured in the same run:
//   BM_ImportCar/small   2000 raw blocks of 1 KiB under a dag-pb UnixFS file (174 links a node)
//   BM_ImportCar/large   a 64 MiB file in 256 KiB raw leaves
//   BM_FloorCopy/...     the CAR's bytes written to one file and fsynced (`cp` + `sync`)
//   BM_FloorFiles/...    each block written to a file of its own, then syncfs(2) once: the floor
//                        of a file-per-block layout
// Counters: blocks/s (CAR blocks) and bytes/s (CAR bytes). One iteration each (every one makes
// a store from scratch); the store lives in $TMPDIR (default /var/tmp), the disk being measured.
// Run: bench_ipfs_import [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "content/file_util.h"
#include "content/fs_blob_store.h"
#include "content/ipfs_car.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_store.h"
#include "content/ipfs_unixfs.h"

namespace {

using namespace thunder;
using namespace thunder::content;
using namespace thunder::content::ipfs;
namespace fs = std::filesystem;

constexpr size_t kLinksPerNode = 174;  // what kubo's balanced layout puts in a file node

struct Block {
  Cid cid;
  std::vector<uint8_t> data;
};

struct Dataset {
  std::vector<uint8_t> car;
  std::vector<Block> blocks;  // in CAR order (root first)
};

std::vector<uint8_t> pseudoRandom(size_t n, uint64_t seed) {
  std::vector<uint8_t> out(n);
  uint64_t x = 0x9e3779b97f4a7c15 ^ seed;
  for (auto& b : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

// A UnixFS file of `leaves` raw leaves of `leaf_size` bytes, in a balanced dag-pb tree.
Dataset makeFileCar(size_t leaves, size_t leaf_size) {
  Dataset out;
  struct Node {
    Cid cid;
    uint64_t size = 0;   // file bytes below it
    uint64_t tsize = 0;  // DAG bytes below it, its own block included
  };
  std::vector<Node> level;
  std::vector<Block> leaf_blocks;
  for (size_t i = 0; i < leaves; ++i) {
    auto data = pseudoRandom(leaf_size, i + 1);
    Block b{Cid::sha256Of(kRaw, data), std::move(data)};
    level.push_back(Node{b.cid, b.data.size(), b.data.size()});
    leaf_blocks.push_back(std::move(b));
  }
  std::vector<std::vector<Block>> inner_levels;
  while (level.size() > 1) {
    std::vector<Node> next;
    inner_levels.emplace_back();
    for (size_t at = 0; at < level.size(); at += kLinksPerNode) {
      UnixfsData u;
      u.type = UnixfsType::kFile;
      PbNode node;
      uint64_t size = 0, tsize = 0;
      for (size_t i = at; i < std::min(level.size(), at + kLinksPerNode); ++i) {
        node.links.push_back(PbLink{level[i].cid, std::string(), level[i].tsize});
        u.blocksizes.push_back(level[i].size);
        size += level[i].size;
        tsize += level[i].tsize;
      }
      u.filesize = size;
      node.data = encodeUnixfs(u);
      auto data = encodeDagPb(node);
      Block b{Cid::sha256Of(kDagPb, data), std::move(data)};
      next.push_back(Node{b.cid, size, tsize + b.data.size()});
      inner_levels.back().push_back(std::move(b));
    }
    level = std::move(next);
  }
  // Root first, then each level down (as a DFS-ordered CAR would start), leaves last.
  for (auto it = inner_levels.rbegin(); it != inner_levels.rend(); ++it) {
    for (auto& b : *it) out.blocks.push_back(std::move(b));
  }
  for (auto& b : leaf_blocks) out.blocks.push_back(std::move(b));
  CarWriter writer([&out](std::span<const uint8_t> bytes) {
    out.car.insert(out.car.end(), bytes.begin(), bytes.end());
    return Result<void>();
  });
  const std::vector<Cid> roots{level.front().cid};
  (void)writer.writeHeader(roots);
  for (const auto& b : out.blocks) (void)writer.writeBlock(b.cid, b.data);
  return out;
}

const Dataset& dataset(int64_t which) {
  static const Dataset small = makeFileCar(2000, 1024);
  static const Dataset large = makeFileCar(256, 256 << 10);
  return which == 0 ? small : large;
}

fs::path makeScratchDir() {
  const char* env = std::getenv("TMPDIR");
  std::string tmpl = (fs::path(env != nullptr ? env : "/var/tmp") / "ipfs-import-bench-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

void report(benchmark::State& state, const Dataset& d) {
  state.counters["blocks/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * d.blocks.size()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.car.size()));
  state.SetLabel(fmt::format("{} blocks, {} bytes", d.blocks.size(), d.car.size()));
}

void BM_ImportCar(benchmark::State& state, int which) {
  const Dataset& d = dataset(which);
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = makeScratchDir();
    StoreOptions options;
    options.root = dir / "store";
    auto blobs = FsBlobStore::open(options);
    if (!blobs) return state.SkipWithError(blobs.error().message.c_str());
    auto ipfs = IpfsStore::open(dir / "ipfs", **blobs);
    if (!ipfs) return state.SkipWithError(ipfs.error().message.c_str());
    state.ResumeTiming();

    auto imported = (*ipfs)->importCar(spanByteReader(d.car), ImportOptions{});

    state.PauseTiming();
    if (!imported) return state.SkipWithError(imported.error().message.c_str());
    if (imported->roots.empty() || !imported->roots[0].complete) {
      return state.SkipWithError("the imported root is not complete");
    }
    ipfs->reset();
    blobs->reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
    state.ResumeTiming();
  }
  report(state, d);
}
BENCHMARK_CAPTURE(BM_ImportCar, small, 0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ImportCar, large, 1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_FloorCopy(benchmark::State& state, int which) {
  const Dataset& d = dataset(which);
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = makeScratchDir();
    state.ResumeTiming();
    auto fd = openFile(dir / "copy.car", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd) return state.SkipWithError(fd.error().message.c_str());
    if (!pwriteAll(fd->get(), d.car, 0, "copy") || ::fsync(fd->get()) != 0) {
      return state.SkipWithError("write failed");
    }
    fd->reset();
    state.PauseTiming();
    std::error_code ec;
    fs::remove_all(dir, ec);
    state.ResumeTiming();
  }
  report(state, d);
}
BENCHMARK_CAPTURE(BM_FloorCopy, small, 0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_FloorCopy, large, 1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_FloorFiles(benchmark::State& state, int which) {
  const Dataset& d = dataset(which);
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = makeScratchDir();
    state.ResumeTiming();
    for (size_t i = 0; i < d.blocks.size(); ++i) {
      const auto path = dir / std::to_string(i);
      auto fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (!fd || !pwriteAll(fd->get(), d.blocks[i].data, 0, path.string())) {
        return state.SkipWithError("write failed");
      }
    }
    auto root = openFile(dir, O_RDONLY | O_DIRECTORY);
    if (!root || ::syncfs(root->get()) != 0) return state.SkipWithError("syncfs failed");
    state.PauseTiming();
    std::error_code ec;
    fs::remove_all(dir, ec);
    state.ResumeTiming();
  }
  report(state, d);
}
BENCHMARK_CAPTURE(BM_FloorFiles, small, 0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_FloorFiles, large, 1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
