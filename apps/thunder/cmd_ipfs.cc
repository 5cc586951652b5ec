// thunder import|export: IPFS CARs in and out of the data dir's stores.
#include "cmd_ipfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cmd_content.h"
#include "content/file_util.h"
#include "content/ipfs_store.h"
#include "node/ipfs_ops.h"

namespace thunder::cli {
namespace {

using content_cmd::openStore;
using content_cmd::StoreAccess;

struct IpfsFlags {
  std::string target;  // import: FILE.car or -; export: CID[/path]
  std::string output;  // export -o
  std::string dag_scope = "all";
  std::string entity_bytes;
  bool no_pin = false;
  bool dups = false;
  bool json = false;
};

// Bytes-read progress on stderr when it is a terminal (import of a CAR of known size).
class ImportProgress {
 public:
  ImportProgress(bool enabled, uint64_t total)
      : enabled_(enabled && ::isatty(STDERR_FILENO) == 1 && total >= kMinBytes), total_(total) {}
  ~ImportProgress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void update(uint64_t done) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    shown_ = true;
    std::fprintf(
        stderr, "\rimporting: %llu / %llu MiB (%d%%)", static_cast<unsigned long long>(done >> 20),
        static_cast<unsigned long long>(total_ >> 20), static_cast<int>(done * 100 / total_));
  }

 private:
  static constexpr uint64_t kMinBytes = 16 << 20;
  bool enabled_;
  uint64_t total_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// The data dir's IpfsStore, opened directly (the stores' owner is this process).
struct OpenedIpfs {
  content_cmd::OpenedStore blobs;
  std::unique_ptr<content::ipfs::IpfsStore> ipfs;
};

Result<OpenedIpfs> openIpfs(const GlobalFlags& flags, content_cmd::OpenedStore blobs) {
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  OpenedIpfs opened{std::move(blobs), nullptr};
  THUNDER_ASSIGN_OR_RETURN(opened.ipfs, content::ipfs::IpfsStore::open(
                                            content::ipfs::ipfsDirIn(dir), *opened.blobs.store));
  return opened;
}

// A temp file the running node can read (stdin spooled), or create (an export's output).
struct TempDir {
  std::filesystem::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

Result<void> makeTempDir(TempDir& dir) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "thunder-ipfs.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return failErrno(errno, "cannot create a temp dir");
  }
  dir.path = tmpl;
  return {};
}

Result<void> copyFdTo(int from, int to) {
  std::vector<uint8_t> buffer(1 << 20);
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(const size_t n, content::readFull(from, buffer, "the CAR"));
    if (n == 0) return {};
    THUNDER_TRY(content::writeAll(to, std::span(buffer.data(), n), "standard output"));
  }
}

void printImport(const nlohmann::json& out, const IpfsFlags& opts) {
  for (const auto& root : out["roots"]) {
    if (!root["complete"].get<bool>()) {
      std::fprintf(stderr,
                   "thunder: warning: %s is incomplete: blocks under it are not in the CAR nor in "
                   "the store; import a CAR that has them to get its content\n",
                   root["cid"].get<std::string>().c_str());
    }
  }
  if (opts.json) {
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  for (const auto& root : out["roots"]) {
    std::printf("%s  %-14s %s  %llu%s\n", root["cid"].get<std::string>().c_str(),
                root["kind"].get<std::string>().c_str(),
                root["blob"].is_string() ? root["blob"].get<std::string>().c_str()
                                         : std::string(64, '-').c_str(),
                static_cast<unsigned long long>(root["size"].get<uint64_t>()),
                root["complete"].get<bool>() ? "" : "  incomplete");
  }
  if (::isatty(STDERR_FILENO) == 1) {
    std::fprintf(stderr, "imported %llu blocks (%llu bytes of CAR)\n",
                 static_cast<unsigned long long>(out["blocks"].get<uint64_t>()),
                 static_cast<unsigned long long>(out["bytes"].get<uint64_t>()));
  }
}

// Import through the running node: it reads the file itself (stdin is spooled to a temp file).
Result<nlohmann::json> importThroughNode(const GlobalFlags& flags, const IpfsFlags& opts) {
  std::filesystem::path path;
  TempDir spool;
  if (opts.target == "-") {
    THUNDER_TRY(makeTempDir(spool));
    path = spool.path / "stdin.car";
    THUNDER_ASSIGN_OR_RETURN(auto fd, content::openFile(path, O_WRONLY | O_CREAT | O_EXCL, 0600));
    THUNDER_TRY(copyFdTo(STDIN_FILENO, fd.get()));
  } else {
    std::error_code ec;
    path = std::filesystem::absolute(opts.target, ec);
  }
  return callRunningNode(flags, "/v0/ipfs/import",
                         {{"path", path.string()}, {"pin", !opts.no_pin}});
}

int runImport(const GlobalFlags& flags, const IpfsFlags& opts) {
  const auto pin = opts.no_pin ? content::PinState::kUnpinned : content::PinState::kPinned;
  auto blobs = openStore(flags, StoreAccess::kWrite);
  Result<nlohmann::json> out;
  if (!blobs && blobs.error().code == ErrorCode::kUnavailable) {
    out = importThroughNode(flags, opts);
  } else if (!blobs) {
    return reportError(blobs.error());
  } else {
    auto opened = openIpfs(flags, std::move(*blobs));
    if (!opened) return reportError(opened.error());
    content::UniqueFd file;
    int fd = STDIN_FILENO;
    uint64_t total = 0;
    if (opts.target != "-") {
      auto f = content::openFile(opts.target, O_RDONLY);
      if (!f) return reportError(f.error());
      file = std::move(*f);
      fd = file.get();
      struct stat st {};
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total = static_cast<uint64_t>(st.st_size);
    }
    ImportProgress progress(!opts.json, total);
    out = node::importCarFd(*opened->ipfs, fd, pin,
                            [&progress](uint64_t done) { progress.update(done); });
    if (!out && opts.target != "-") out = fail(out.error().withContext(opts.target));
  }
  if (!out) return reportError(out.error());
  printImport(*out, opts);
  return kExitOk;
}

Result<content::ipfs::CarExportOptions> exportOptions(const IpfsFlags& opts) {
  content::ipfs::CarExportOptions options;
  THUNDER_ASSIGN_OR_RETURN(options.scope, content::ipfs::parseDagScope(opts.dag_scope));
  if (!opts.entity_bytes.empty()) {
    THUNDER_ASSIGN_OR_RETURN(options.bytes, content::ipfs::parseEntityBytes(opts.entity_bytes));
  }
  options.dups = opts.dups;
  return options;
}

// Export through the running node: it writes the CAR to a file this process then copies.
Result<void> exportThroughNode(const GlobalFlags& flags, const IpfsFlags& opts, int out_fd,
                               const std::filesystem::path& output) {
  TempDir temp;
  std::filesystem::path file = output;
  if (output.empty()) {
    THUNDER_TRY(makeTempDir(temp));
    file = temp.path / "export.car";
  }
  nlohmann::json body = {{"target", opts.target},
                         {"dag_scope", opts.dag_scope},
                         {"dups", opts.dups},
                         {"output", file.string()}};
  if (!opts.entity_bytes.empty()) body["entity_bytes"] = opts.entity_bytes;
  auto answer = callRunningNode(flags, "/v0/ipfs/export", body);
  if (output.empty()) {
    // Copy what the node wrote, also a truncated CAR before a missing block (as without a node).
    if (auto fd = content::openFile(file, O_RDONLY)) THUNDER_TRY(copyFdTo(fd->get(), out_fd));
  }
  if (!answer) return fail(answer.error());
  return {};
}

int runExport(const GlobalFlags& flags, const IpfsFlags& opts) {
  auto target = node::parseIpfsTarget(opts.target);
  if (!target) return reportError(target.error());
  auto options = exportOptions(opts);
  if (!options) return reportError(options.error());
  std::filesystem::path output;
  if (!opts.output.empty() && opts.output != "-") {
    std::error_code ec;
    output = std::filesystem::absolute(opts.output, ec);
    if (std::filesystem::exists(output, ec)) {
      return reportError(
          Error{ErrorCode::kAlreadyExists,
                fmt::format("{} exists already; give a new file name to -o", output.string())});
    }
  } else if (::isatty(STDOUT_FILENO) == 1) {
    return reportError(Error{ErrorCode::kInvalidArgument,
                             "refusing to write a CAR to a terminal: redirect it (> out.car) or "
                             "give -o FILE"});
  }

  auto dir = selectedDataDir(flags);
  if (!dir) return reportError(dir.error());
  std::error_code ec;
  if (!std::filesystem::exists(content::ipfs::ipfsDirIn(*dir) / "CURRENT", ec)) {
    return reportError(
        Error{ErrorCode::kNotFound,
              fmt::format("no IPFS blocks in {} yet (`thunder import FILE.car` adds them)",
                          dir->string())});
  }
  auto blobs = openStore(flags, StoreAccess::kWrite);
  Result<void> done;
  if (!blobs && blobs.error().code == ErrorCode::kUnavailable) {
    done = exportThroughNode(flags, opts, STDOUT_FILENO, output);
  } else if (!blobs) {
    return reportError(blobs.error());
  } else {
    auto opened = openIpfs(flags, std::move(*blobs));
    if (!opened) return reportError(opened.error());
    content::UniqueFd file;
    int fd = STDOUT_FILENO;
    if (!output.empty()) {
      // Fails before creating the file when the root or a path block is missing.
      auto resolved = opened->ipfs->resolve(target->cid, target->segments);
      if (!resolved) return reportError(resolved.error());
      auto f = content::openFile(output, O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (!f) return reportError(f.error());
      file = std::move(*f);
      fd = file.get();
    }
    auto written = node::exportCarTo(*opened->ipfs, *target, *options, fd);
    if (written)
      done = {};
    else
      done = fail(written.error());
  }
  if (!done) {
    if (!output.empty()) {
      std::error_code ec;
      std::filesystem::remove(output, ec);  // no truncated CAR left behind under a real name
    }
    auto error = done.error();
    if (error.code == ErrorCode::kNotFound) {
      error.message += "; the CAR is incomplete (import a CAR with the missing blocks)";
    }
    return reportError(error);
  }
  return kExitOk;
}

}  // namespace

void addIpfsCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<IpfsFlags>();

  CLI::App* import = app.add_subcommand(
      "import", "Import an IPFS CAR: store its blocks, make each UnixFS root a blob");
  import->add_option("car", opts->target, "CAR file (v1, or v2 with a v1 inside), or - for stdin")
      ->required();
  import->add_flag("--no-pin", opts->no_pin,
                   "Do not pin what is imported (the store may then evict it)");
  import->add_flag("--json", opts->json,
                   "Print {\"roots\": [{\"cid\", \"kind\", \"blob\", \"size\", \"complete\"}], "
                   "\"blocks\", \"bytes\"}");
  import->footer(
      "Every block is verified against its CID. A UnixFS file becomes one blob, a directory a\n"
      "manifest blob (thunder get BLOB/path works). Missing blocks leave a root incomplete.\n"
      "Examples:\n"
      "  thunder import site.car\n"
      "  curl -s 'https://gw/ipfs/bafy...?format=car' | thunder import - --json");
  import->callback([&flags, opts, exit_code] { *exit_code = runImport(flags, *opts);
});

CLI::App* exp =
    app.add_subcommand("export", "Write a Trustless Gateway CAR of CID[/path] to stdout or a file");
exp->add_option("target", opts->target, "CID, optionally followed by /path (also /ipfs/CID/path)")
    ->required();
exp->add_option("--dag-scope", opts->dag_scope,
                "all (the whole DAG), entity (the file, or the directory's own blocks), block")
    ->check(CLI::IsMember({"all", "entity", "block"}));
exp->add_option("--entity-bytes", opts->entity_bytes,
                "Only the blocks of a file's bytes FROM:TO (inclusive; * = end; negative = from "
                "the end); implies --dag-scope entity");
exp->add_flag("--dups", opts->dups, "Repeat a block each time the DAG links to it");
exp->add_option("-o,--output", opts->output, "File to create (default: stdout)");
exp->footer(
    "Examples:\n"
    "  thunder export bafy... > dag.car\n"
    "  thunder export bafy.../docs/index.html --dag-scope entity -o page.car\n"
    "  thunder export bafy.../video.mp4 --entity-bytes 0:1048575 > head.car");
exp->callback([&flags, opts, exit_code] { *exit_code = runExport(flags, *opts); });
}  // namespace thunder::cli

}  // namespace thunder::cli
