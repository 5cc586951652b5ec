// bench_hash_file FILE: prints the BLAKE3 hash of FILE computed by crypto::blake3File(), like
// `b3sum --no-names`. bench/run times it against `b3sum --num-threads 1` on the same file.
#include <cstdio>

#include "crypto/blake3.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_hash_file FILE\n");
    return 2;
  }
  auto id = thunder::crypto::blake3File(argv[1]);
  if (!id) {
    std::fprintf(stderr, "bench_hash_file: %s\n", id.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", id->hex().c_str());
  return 0;
}
