// bench_gateway: serves files through the HTTP gateway for bench/run.d/gateway.sh.
//
//   bench_gateway --store DIR [--listen 127.0.0.1:0] [--loops N] FILE...
//
// Opens (creates) a blob store in DIR, puts each FILE, prints "url http://HOST:PORT" and one
// "<id> <file>" line per file on stdout, then serves GET /b3/<id> until SIGINT or SIGTERM.
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "content/fs_blob_store.h"
#include "gateway/gateway_server.h"
#include "io/runtime.h"
#include "io/shutdown_signal.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: bench_gateway --store DIR [--listen ADDR] [--loops N] FILE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace thunder;
  std::string store_dir;
  std::string listen = "127.0.0.1:0";
  size_t loops = 0;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--store" || arg == "--listen" || arg == "--loops") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--store") store_dir = value;
      if (arg == "--listen") listen = value;
      if (arg == "--loops") loops = static_cast<size_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (arg.starts_with("--")) {
      return usage();
    } else {
      files.push_back(arg);
    }
  }
  if (store_dir.empty()) return usage();
  (void)log::configureLogging("warn");

  content::StoreOptions store_options;
  store_options.root = store_dir;
  auto store = content::FsBlobStore::open(std::move(store_options));
  if (!store) {
    std::fprintf(stderr, "bench_gateway: %s\n", store.error().message.c_str());
    return 1;
  }
  std::vector<std::string> lines;
  for (const auto& file : files) {
    auto put = (*store)->putFile(file, {});
    if (!put) {
      std::fprintf(stderr, "bench_gateway: %s\n", put.error().message.c_str());
      return 1;
    }
    lines.push_back(put->id.hex() + " " + file);
  }

  io::Runtime runtime({.loop_threads = loops, .blocking_threads = 2});
  runtime.start();
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  io::ShutdownSignal signal(runtime.loop(0), [&](int) {
    std::lock_guard lock(mutex);
    stop = true;
    cv.notify_all();
  });
  gateway::GatewayOptions options;
  options.listen = listen;
  options.spool_dir = store_dir + "/tmp";
  auto server = gateway::GatewayServer::start(runtime, **store, options);
  if (!server) {
    std::fprintf(stderr, "bench_gateway: %s\n", server.error().message.c_str());
    return 1;
  }
  std::printf("url %s\n", (*server)->url().c_str());
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return stop; });
  }
  (*server)->stop();
  runtime.stop();
  return 0;
}
