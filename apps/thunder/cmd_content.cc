// thunder put|get|cat|ls|pin|unpin|gc|fsck: the data dir's blob store from the command line.
#include "cmd_content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "content/directory_tree.h"
#include "node/store_ops.h"

namespace thunder::cli {
namespace content_cmd {

namespace {

std::string lockOwnerPid(const std::filesystem::path& dir) {
  std::ifstream in(dir / "LOCK");
  std::string pid;
  in >> pid;
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

Result<OpenedStore> openStore(const GlobalFlags& flags, StoreAccess access) {
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  std::error_code ec;
  if (access == StoreAccess::kRead &&
      !std::filesystem::exists(content::storeDirIn(dir) / "index", ec)) {
    return fail(ErrorCode::kNotFound, "no blob store in {} yet (`thunder put` creates it)",
                dir.string());
  }
  OpenedStore opened;
  content::StoreOptions options;
  options.root = content::storeDirIn(dir);
  auto lock = node::DataDir::open(dir);
  if (lock) {
    opened.lock = std::move(*lock);
  } else if (lock.error().code == ErrorCode::kUnavailable) {
    if (access == StoreAccess::kWrite) {
      return fail(ErrorCode::kUnavailable,
                  "the node (pid {}) owns the blob store in {} and does not answer on its admin "
                  "API; stop it first",
                  lockOwnerPid(dir), dir.string());
    }
    options.mode = content::OpenMode::kReadOnly;
  } else {
    return fail(lock.error());
  }
  THUNDER_ASSIGN_OR_RETURN(opened.store, content::FsBlobStore::open(std::move(options)));
  return opened;
}

Result<CliRange> parseRange(std::string_view text) {
  auto number = [&](std::string_view digits) -> Result<uint64_t> {
    if (digits.empty() || digits.size() > 19 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad range \"{}\": expected FIRST-LAST (bytes, inclusive) or FIRST-", text);
    }
    return std::stoull(std::string(digits));
  };
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return fail(number("").error());
  CliRange range;
  THUNDER_ASSIGN_OR_RETURN(range.first, number(text.substr(0, dash)));
  if (dash + 1 < text.size()) {
    THUNDER_ASSIGN_OR_RETURN(range.last, number(text.substr(dash + 1)));
    if (*range.last < range.first) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad range \"{}\": the last byte comes before the first", text);
    }
  }
  return range;
}

Result<std::pair<BlobId, std::string>> parseIdPath(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view hex = text.substr(0, slash);
  auto id = BlobId::fromHex(hex);
  if (!id) {
    return fail(ErrorCode::kInvalidArgument,
                "\"{}\" is not a blob id (64 hex digits, optionally /path)", hex);
  }
  return std::pair{
      *id, slash == std::string_view::npos ? std::string() : std::string(text.substr(slash + 1))};
}

}  // namespace content_cmd

namespace {

using namespace content_cmd;
using content::BlobInfo;
using content::EntryKind;

struct ContentFlags {
  std::string target;  // FILE|DIR|- or ID[/path]
  std::string output;  // -o
  std::string range;   // --range
  bool pin = false;
  bool json = false;
  bool raw = false;
};

void printJson(const nlohmann::json& value) {
  std::printf("%s\n", value.dump().c_str());
}

// Progress on stderr when it is a terminal and the input is large.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void update(uint64_t done, uint64_t total) {
    if (!enabled_ || (total != 0 && total < kMinBytes) || (total == 0 && done < kMinBytes)) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    shown_ = true;
    if (total != 0) {
      std::fprintf(stderr, "\r%llu / %llu MiB (%d%%)", static_cast<unsigned long long>(done >> 20),
                   static_cast<unsigned long long>(total >> 20),
                   static_cast<int>(done * 100 / total));
    } else {
      std::fprintf(stderr, "\r%llu MiB", static_cast<unsigned long long>(done >> 20));
    }
  }

 private:
  static constexpr uint64_t kMinBytes = 64 << 20;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// Whether a write command should go through the running node: the data dir is locked by a
// node process whose admin API answers.
bool nodeOwnsStore(const Error& open_error) {
  return open_error.code == ErrorCode::kUnavailable;
}

void printPut(const nlohmann::json& out, const ContentFlags& opts) {
  if (out.contains("warnings")) {
    for (const auto& warning : out["warnings"]) {
      std::fprintf(stderr, "thunder: warning: %s\n", warning.get<std::string>().c_str());
    }
  }
  if (opts.json) {
    printJson(out);
  } else {
    std::printf("%s\n", out["id"].get<std::string>().c_str());
  }
}

// put through the running node: it reads the file itself (stdin is spooled to a temp file).
int putThroughNode(const GlobalFlags& flags, const ContentFlags& opts) {
  std::filesystem::path path;
  std::string spool;
  if (opts.target == "-") {
    spool = (std::filesystem::temp_directory_path() / "thunder-put.XXXXXX").string();
    const int fd = ::mkstemp(spool.data());
    if (fd < 0) return reportError(failErrno(errno, "cannot create a temp file").value());
    content::UniqueFd out(fd);
    uint8_t buffer[1 << 16];
    uint64_t offset = 0;
    for (;;) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n == 0) break;
      if (n < 0 && errno == EINTR) continue;
      auto written = n < 0
                         ? failErrno(errno, "cannot read standard input")
                         : content::pwriteAll(out.get(), std::span(buffer, static_cast<size_t>(n)),
                                              offset, spool);
      if (!written) {
        ::unlink(spool.c_str());
        return reportError(written.error());
      }
      offset += static_cast<uint64_t>(n);
    }
    path = spool;
  } else {
    std::error_code ec;
    path = std::filesystem::absolute(opts.target, ec);
  }
  auto out = callRunningNode(flags, "/v0/store/put", {{"path", path.string()}, {"pin", opts.pin}});
  if (!spool.empty()) ::unlink(spool.c_str());
  if (!out) return reportError(out.error());
  printPut(*out, opts);
  return kExitOk;
}

int runPut(const GlobalFlags& flags, const ContentFlags& opts) {
  auto opened = openStore(flags, StoreAccess::kWrite);
  if (!opened && nodeOwnsStore(opened.error())) return putThroughNode(flags, opts);
  if (!opened) return reportError(opened.error());
  auto& store = *opened->store;
  Progress progress(!opts.json);
  content::PutOptions put_options;
  put_options.progress = [&progress](uint64_t done, uint64_t total) {
    progress.update(done, total);
  };
  const auto pin = opts.pin ? content::PinState::kPinned : content::PinState::kUnpinned;
  Result<nlohmann::json> out;
  if (opts.target == "-") {
    put_options.pin = pin;
    auto r = store.putStream(STDIN_FILENO, put_options);
    if (!r) return reportError(r.error());
    out = node::putResultJson(*r, pin);
  } else {
    out = node::putPath(store, opts.target, pin, put_options);
  }
  if (!out) return reportError(out.error());
  printPut(*out, opts);
  return kExitOk;
}

// The entry that "ID[/path]" names; a bare id is a directory if it parses as a manifest.
Result<content::DirectoryEntry> resolveTarget(content::BlobStore& store, std::string_view text,
                                              bool raw) {
  THUNDER_ASSIGN_OR_RETURN(auto id_path, parseIdPath(text));
  const auto& [id, path] = id_path;
  if (!path.empty()) return content::resolvePath(store, id, path);
  THUNDER_ASSIGN_OR_RETURN(BlobInfo info, store.stat(id));
  content::DirectoryEntry entry;
  entry.id = id;
  entry.size = info.size;
  entry.kind = EntryKind::kFile;
  if (!raw && info.state == content::BlobState::kComplete &&
      info.size <= content::kMaxManifestBytes) {
    auto head = store.read(id, 0, 8);
    if (head && content::looksLikeManifest(*head) && content::readManifest(store, id)) {
      entry.kind = EntryKind::kDirectory;
    }
  }
  return entry;
}

int runGet(const GlobalFlags& flags, const ContentFlags& opts) {
  auto opened = openStore(flags, StoreAccess::kRead);
  if (!opened) return reportError(opened.error());
  auto& store = *opened->store;
  auto entry = resolveTarget(store, opts.target, opts.raw);
  if (!entry) return reportError(entry.error());
  if (opts.output.empty() || opts.output == "-") {
    if (entry->kind == EntryKind::kDirectory) {
      return reportError(Error{ErrorCode::kInvalidArgument,
                               fmt::format("{} is a directory: give a folder to create with -o "
                                           "(or --raw for the manifest bytes)",
                                           opts.target)});
    }
    auto n = content::copyBlobTo(store, entry->id, 0, UINT64_MAX, STDOUT_FILENO);
    if (!n) return reportError(n.error());
    return kExitOk;
  }
  auto r = content::exportTree(store, entry->id, entry->kind, opts.output);
  if (!r) return reportError(r.error());
  if (opts.json) {
    printJson({{"id", entry->id.hex()},
               {"path", opts.output},
               {"files", r->files},
               {"directories", r->directories},
               {"bytes", r->bytes}});
  }
  return kExitOk;
}

int runCat(const GlobalFlags& flags, const ContentFlags& opts) {
  auto opened = openStore(flags, StoreAccess::kRead);
  if (!opened) return reportError(opened.error());
  auto& store = *opened->store;
  CliRange range;
  if (!opts.range.empty()) {
    auto parsed = parseRange(opts.range);
    if (!parsed) return reportError(parsed.error());
    range = *parsed;
  }
  auto entry = resolveTarget(store, opts.target, opts.raw);
  if (!entry) return reportError(entry.error());
  if (entry->kind == EntryKind::kDirectory) {
    return reportError(Error{ErrorCode::kInvalidArgument,
                             fmt::format("{} is a directory (list it with `thunder ls {}`, or "
                                         "--raw for the manifest bytes)",
                                         opts.target, opts.target)});
  }
  auto n = content::copyBlobTo(store, entry->id, range.first, range.lengthFrom(), STDOUT_FILENO);
  if (!n) return reportError(n.error());
  return kExitOk;
}

nlohmann::json infoJson(const BlobInfo& info) {
  return {{"id", info.id.hex()},
          {"size", info.size},
          {"state", std::string(content::blobStateName(info.state))},
          {"pinned", info.pin == content::PinState::kPinned},
          {"verified_bytes", info.verified_bytes},
          {"created_us", info.created_us},
          {"last_access_us", info.last_access_us}};
}

int runLs(const GlobalFlags& flags, const ContentFlags& opts) {
  auto opened = openStore(flags, StoreAccess::kRead);
  if (!opened) return reportError(opened.error());
  auto& store = *opened->store;
  if (!opts.target.empty()) {  // list a directory
    auto entry = resolveTarget(store, opts.target, false);
    if (!entry) return reportError(entry.error());
    if (entry->kind != EntryKind::kDirectory) {
      return reportError(
          Error{ErrorCode::kInvalidArgument, fmt::format("{} is not a directory", opts.target)});
    }
    auto manifest = content::readManifest(store, entry->id);
    if (!manifest) return reportError(manifest.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : manifest->entries) {
      if (opts.json) {
        out.push_back({{"name", e.name},
                       {"kind", std::string(content::entryKindName(e.kind))},
                       {"size", e.size},
                       {"id", e.id.hex()}});
      } else {
        std::printf("%s  %-4s %12llu  %s%s\n", e.id.hex().c_str(),
                    std::string(content::entryKindName(e.kind)).c_str(),
                    static_cast<unsigned long long>(e.size), e.name.c_str(),
                    e.kind == EntryKind::kDirectory ? "/" : "");
      }
    }
    if (opts.json) printJson(out);
    return kExitOk;
  }
  auto all = store.list();
  if (!all) return reportError(all.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& info : *all) {
    if (opts.json) {
      out.push_back(infoJson(info));
    } else {
      std::printf("%s  %12llu  %-8s%s\n", info.id.hex().c_str(),
                  static_cast<unsigned long long>(info.size),
                  std::string(content::blobStateName(info.state)).c_str(),
                  info.pin == content::PinState::kPinned ? "  pinned" : "");
    }
  }
  if (opts.json) printJson(out);
  return kExitOk;
}

int runPin(const GlobalFlags& flags, const ContentFlags& opts, content::PinState pin) {
  auto id = parseIdPath(opts.target);
  if (!id) return reportError(id.error());
  Result<nlohmann::json> out;
  auto opened = openStore(flags, StoreAccess::kWrite);
  if (!opened && nodeOwnsStore(opened.error()) && id->second.empty()) {
    out = callRunningNode(flags,
                          pin == content::PinState::kPinned ? "/v0/store/pin" : "/v0/store/unpin",
                          {{"id", id->first.hex()}});
  } else if (!opened) {
    return reportError(opened.error());
  } else {
    auto& store = *opened->store;
    BlobId target = id->first;
    if (!id->second.empty()) {
      auto entry = content::resolvePath(store, id->first, id->second);
      if (!entry) return reportError(entry.error());
      target = entry->id;
    }
    out = node::setPinned(store, target, pin);
  }
  if (!out) return reportError(out.error());
  if (opts.json) printJson(*out);
  return kExitOk;
}

int runGc(const GlobalFlags& flags, const ContentFlags& opts) {
  Result<nlohmann::json> out;
  auto opened = openStore(flags, StoreAccess::kWrite);
  if (!opened && nodeOwnsStore(opened.error())) {
    out = callRunningNode(flags, "/v0/store/gc", nlohmann::json::object());
  } else if (!opened) {
    return reportError(opened.error());
  } else {
    out = node::collectGarbage(*opened->store);
  }
  if (!out) return reportError(out.error());
  if (opts.json) {
    printJson(*out);
  } else {
    std::printf(
        "evicted %llu blobs (%llu bytes); removed %llu temp files (%llu bytes) and %llu "
        "orphan files\n",
        (*out)["evicted_blobs"].get<unsigned long long>(),
        (*out)["evicted_bytes"].get<unsigned long long>(),
        (*out)["temp_files_removed"].get<unsigned long long>(),
        (*out)["temp_bytes_removed"].get<unsigned long long>(),
        (*out)["orphan_files_removed"].get<unsigned long long>());
  }
  return kExitOk;
}

int runFsck(const GlobalFlags& flags, const ContentFlags& opts) {
  auto opened = openStore(flags, StoreAccess::kRead);
  if (!opened) return reportError(opened.error());
  auto r = opened->store->fsck();
  if (!r) return reportError(r.error());
  if (opts.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : r->problems) {
      problems.push_back({{"kind", std::string(content::fsckProblemName(p.kind))},
                          {"blob", p.blob},
                          {"path", p.path},
                          {"message", p.message}});
    }
    printJson({{"blobs_checked", r->blobs_checked},
               {"bytes_checked", r->bytes_checked},
               {"partial_blobs", r->partial_blobs},
               {"problems", problems},
               {"ok", r->problems.empty()}});
  } else {
    for (const auto& p : r->problems) {
      std::fprintf(stderr, "%s: %s\n", std::string(content::fsckProblemName(p.kind)).c_str(),
                   p.message.c_str());
    }
    std::printf("checked %llu blobs (%llu bytes), %llu partial; %zu problems\n",
                static_cast<unsigned long long>(r->blobs_checked),
                static_cast<unsigned long long>(r->bytes_checked),
                static_cast<unsigned long long>(r->partial_blobs), r->problems.size());
  }
  if (!r->problems.empty()) {
    if (!opts.json)
      std::fprintf(stderr, "thunder: the blob store has %zu problems\n", r->problems.size());
    return kExitCorruption;
  }
  return kExitOk;
}

}  // namespace

void addContentCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<ContentFlags>();

  CLI::App* put =
      app.add_subcommand("put", "Store a file, a directory tree or stdin; print its blob id");
  put->add_option("path", opts->target, "File, directory, or - for stdin")->required();
  put->add_flag("--pin", opts->pin,
                "Pin what is stored (a directory: every blob in it) against eviction");
  put->add_flag("--json", opts->json, "Print {\"id\", \"size\", \"kind\", ...} as JSON");
  put->footer(
      "Symbolic links and special files inside a directory are skipped with a warning.\n"
      "Examples:\n"
      "  thunder put photo.jpg\n"
      "  thunder put ./site --pin\n"
      "  tar c dir | thunder put - --json");
  put->callback([&flags, opts, exit_code] { *exit_code = runPut(flags, *opts); });

  CLI::App* get = app.add_subcommand(
      "get", "Write a stored blob to stdout or a file, or a directory to a folder");
  get->add_option("id", opts->target, "Blob id, optionally followed by /path inside a directory")
      ->required();
  get->add_option("-o,--output", opts->output,
                  "File or folder to create (default: stdout, files only)");
  get->add_flag("--raw", opts->raw, "Treat a directory manifest as plain bytes");
  get->add_flag("--json", opts->json, "With -o: print what was written as JSON");
  get->footer(
      "Examples:\n"
      "  thunder get 3f5a...e1 > photo.jpg\n"
      "  thunder get 9c1d...07 -o ./site-copy\n"
      "  thunder get 9c1d...07/css/main.css -o main.css");
  get->callback([&flags, opts, exit_code] { *exit_code = runGet(flags, *opts); });

  CLI::App* cat =
      app.add_subcommand("cat", "Print a stored file (or a byte range of it) to stdout");
  cat->add_option("id", opts->target, "Blob id, optionally followed by /path inside a directory")
      ->required();
  cat->add_option("--range", opts->range, "Bytes FIRST-LAST (inclusive) or FIRST- (to the end)");
  cat->add_flag("--raw", opts->raw, "Print a directory manifest's bytes");
  cat->footer(
      "Examples:\n"
      "  thunder cat 3f5a...e1\n"
      "  thunder cat 9c1d...07/index.html\n"
      "  thunder cat 3f5a...e1 --range 0-1023");
  cat->callback([&flags, opts, exit_code] { *exit_code = runCat(flags, *opts); });

  CLI::App* ls =
      app.add_subcommand("ls", "List the blobs in the store, or the entries of a stored directory");
  ls->add_option("id", opts->target, "Directory blob id (optionally /path): list its entries");
  ls->add_flag("--json", opts->json, "Print a JSON array");
  ls->footer(
      "Examples:\n"
      "  thunder ls\n"
      "  thunder ls --json\n"
      "  thunder ls 9c1d...07/css");
  ls->callback([&flags, opts, exit_code] { *exit_code = runLs(flags, *opts); });

  CLI::App* pin =
      app.add_subcommand("pin", "Protect a blob (a directory: everything in it) from eviction");
  pin->add_option("id", opts->target, "Blob id, optionally /path")->required();
  pin->add_flag("--json", opts->json, "Print {\"id\", \"pinned\", \"blobs\"} as JSON");
  pin->footer("Example:\n  thunder pin 9c1d...07");
  pin->callback(
      [&flags, opts, exit_code] { *exit_code = runPin(flags, *opts, content::PinState::kPinned); });

  CLI::App* unpin =
      app.add_subcommand("unpin", "Let a blob (a directory: everything in it) be evicted again");
  unpin->add_option("id", opts->target, "Blob id, optionally /path")->required();
  unpin->add_flag("--json", opts->json, "Print {\"id\", \"pinned\", \"blobs\"} as JSON");
  unpin->footer("Example:\n  thunder unpin 9c1d...07");
  unpin->callback([&flags, opts, exit_code] {
    *exit_code = runPin(flags, *opts, content::PinState::kUnpinned);
  });

  CLI::App* gc = app.add_subcommand(
      "gc", "Evict unpinned blobs over the quota and remove leftovers of interrupted writes");
  gc->add_flag("--json", opts->json, "Print the report as JSON");
  gc->footer("Examples:\n  thunder gc\n  thunder gc --json");
  gc->callback([&flags, opts, exit_code] { *exit_code = runGc(flags, *opts); });

  CLI::App* fsck = app.add_subcommand(
      "fsck", "Re-verify every stored blob against its id (exit 4 on a problem)");
  fsck->add_flag("--json", opts->json, "Print the report as JSON");
  fsck->footer("Examples:\n  thunder fsck\n  thunder --data-dir /srv/thunder fsck --json");
  fsck->callback([&flags, opts, exit_code] { *exit_code = runFsck(flags, *opts); });

  addStreamCommands(app, flags, exit_code);
}

}  // namespace thunder::cli
