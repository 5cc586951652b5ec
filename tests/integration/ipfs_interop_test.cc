// Interop with the reference IPFS tools from npm (tests/interop, installed by scripts/setup):
// - ipfs-car packs files and directory trees into CARs that `thunder import` must take (the
//   bytes then read back with `thunder cat`/`thunder get`), and unpacks the CARs that
//   `thunder export` and the gateway's `/ipfs/<cid>?format=car` write;
// - @helia/verified-fetch (verified_fetch.mjs) fetches from the node's Trustless Gateway
//   (`/ipfs/<cid>?format=raw`, verifying every block) and finds the node through Delegated
//   Routing (`/routing/v1/providers/<cid>`); a CID the node does not have makes it fail.
// The tools run on the Node.js 22 binary that the npm package `node` puts in node_modules/.bin.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "harness.h"

namespace thunder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kInterop = THUNDER_INTEROP_DIR;
const fs::path kNode = kInterop / "node_modules" / ".bin" / "node";
const fs::path kIpfsCar = kInterop / "node_modules" / "ipfs-car" / "bin.js";
const fs::path kVerifiedFetch = kInterop / "verified_fetch.mjs";

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string randomBytes(size_t size, std::mt19937_64& rng) {
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Concatenates with operator<< (GCC 12 warns falsely on "literal" + std::to_string(...)).
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Command {
  int exit_code = -1;  // 124: killed by the timeout
  std::string out;
  std::string err;
  std::string line;  // the command as run, for messages
};

std::string describe(const Command& c) {
  auto cut = [](const std::string& s) { return s.size() > 4000 ? s.substr(0, 4000) + "…" : s; };
  return concat("$ ", c.line, "\nexit ", c.exit_code, "\nstdout: ", cut(c.out),
                "\nstderr: ", cut(c.err), "\n");
}

// Runs `argv` under coreutils `timeout` with stdin from /dev/null; stdout goes to `stdout_file`
// when given (then `out` stays empty), else it is captured.
Command run(const std::vector<std::string>& argv, const fs::path& scratch,
            std::chrono::seconds timeout = 120s, const fs::path& stdout_file = {}) {
  static int sequence = 0;
  const auto out_file =
      stdout_file.empty() ? scratch / concat("cmd", ++sequence, ".out") : stdout_file;
  const auto err_file = scratch / concat("cmd", ++sequence, ".err");
  Command c;
  for (const auto& a : argv) {
    if (!c.line.empty()) c.line += ' ';
    c.line += quote(a);
  }
  const std::string shell = concat("timeout -k 5 ", timeout.count(), " ", c.line, " </dev/null >",
                                   quote(out_file.string()), " 2>", quote(err_file.string()));
  const int status = std::system(shell.c_str());
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stdout_file.empty()) c.out = readFile(out_file);
  c.err = readFile(err_file);
  return c;
}

// Relative path → bytes (files) or nullopt (directories), names starting with '.' left out
// (ipfs-car skips them).
using Tree = std::map<std::string, std::optional<std::string>>;

Tree readTree(const fs::path& root) {
  Tree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    const std::string rel = fs::relative(it->path(), root).string();
    tree[rel] = it->is_directory() ? std::nullopt : std::optional(readFile(it->path()));
  }
  return tree;
}

// Fails (naming the first difference) unless both trees hold the same paths and bytes.
void expectSameTree(const fs::path& want_root, const fs::path& got_root) {
  const Tree want = readTree(want_root), got = readTree(got_root);
  for (const auto& [path, bytes] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      ADD_FAILURE() << path << " is missing from " << got_root;
      continue;
    }
    EXPECT_EQ(bytes.has_value(), it->second.has_value()) << path << ": file vs directory";
    if (bytes && it->second) {
      EXPECT_EQ(bytes->size(), it->second->size()) << path;
      EXPECT_TRUE(*bytes == *it->second) << path << ": bytes differ";
    }
  }
  for (const auto& entry : got) {
    EXPECT_TRUE(want.contains(entry.first)) << entry.first << " is extra in " << got_root;
  }
}

// A nested tree: files of 0 B, 1 B, sizes across the 1 MiB chunk boundary, names with a space
// and non-ASCII letters, three levels deep.
void makeTree(const fs::path& root, std::mt19937_64& rng) {
  fs::create_directories(root / "a" / "b" / "c");
  fs::create_directories(root / "docs");
  writeFile(root / "empty", "");
  writeFile(root / "one", randomBytes(1, rng));
  writeFile(root / "a" / "mid.bin", randomBytes(256 * 1024 + 1, rng));
  writeFile(root / "a" / "b" / "two chunks.bin", randomBytes(1024 * 1024 + 4097, rng));
  writeFile(root / "a" / "b" / "c" / "deep.txt", "deep inside\n");
  writeFile(root / "docs" / "café.md", "# ünïcödé\n");
  for (int i = 0; i < 5; ++i) {
    writeFile(root / "docs" / concat("n", i), randomBytes(rng() % 5000, rng));
  }
}

struct ImportedRoot {
  std::string cid;
  std::string blob;  // the content blob (a file's bytes or a directory manifest), if reported
  std::string kind;
};

class IpfsInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    auto version = run({kNode.string(), "--version"}, dir_.path(), 30s);
    if (version.exit_code != 0 || !version.out.starts_with("v22.") || !fs::exists(kIpfsCar) ||
        !fs::exists(kInterop / "node_modules" / "@helia" / "verified-fetch")) {
      FAIL() << "the IPFS interop tools are not installed in " << kInterop
             << "/node_modules (Node.js 22, ipfs-car, @helia/verified-fetch): run scripts/setup "
                "(it runs `npm ci` there)\n"
             << describe(version);
    }
  }

  void TearDown() override {
    if (!node_) return;
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(10s), 0) << node_->stderrText();
  }

  fs::path nodeDir() const { return dir_.path() / "node"; }
  fs::path path(const std::string& name) const { return dir_.path() / name; }

  Command ipfsCar(std::vector<std::string> args, std::chrono::seconds timeout = 120s) {
    args.insert(args.begin(), {kNode.string(), kIpfsCar.string()});
    return run(args, dir_.path(), timeout);
  }

  Command thunder(std::vector<std::string> args, const fs::path& stdout_file = {}) {
    args.insert(args.begin(), {thunderBinary(), "--data-dir", nodeDir().string()});
    return run(args, dir_.path(), 120s, stdout_file);
  }

  // `ipfs-car pack` → the root CID (also checked against `ipfs-car roots`).
  std::string pack(const fs::path& input, const fs::path& car, bool wrap) {
    std::vector<std::string> args{"pack", input.string(), "--output", car.string()};
    if (!wrap) args.push_back("--no-wrap");
    auto packed = ipfsCar(args);
    EXPECT_EQ(packed.exit_code, 0) << describe(packed);
    const std::string cid = trim(packed.out);
    auto roots = ipfsCar({"roots", car.string()});
    EXPECT_EQ(roots.exit_code, 0) << describe(roots);
    EXPECT_EQ(trim(roots.out), cid) << describe(roots);
    return cid;
  }

  // `thunder import CAR --json` → the root it reports for `cid`.
  ImportedRoot import(const fs::path& car, const std::string& cid) {
    auto imported = thunder({"import", car.string(), "--json"});
    EXPECT_EQ(imported.exit_code, 0) << describe(imported);
    ImportedRoot root;
    const json report = json::parse(imported.out, nullptr, /*allow_exceptions=*/false);
    if (report.is_discarded() || !report.contains("roots") || !report["roots"].is_array()) {
      ADD_FAILURE() << "`thunder import --json` printed no {\"roots\": [...]}\n"
                    << describe(imported);
      return root;
    }
    for (const auto& r : report["roots"]) {
      if (r.value("cid", "") != cid) continue;
      root.cid = cid;
      root.kind = r.value("kind", "");
      root.blob = r.contains("blob") && r["blob"].is_string() ? r["blob"].get<std::string>() : "";
      EXPECT_TRUE(r.value("complete", false)) << r.dump();
      EXPECT_EQ(root.blob.size(), 64u) << "no content blob id reported: " << r.dump();
    }
    EXPECT_EQ(root.cid, cid) << "import did not report root " << cid << ": " << imported.out;
    return root;
  }

  // `thunder export CID > out`, then ipfs-car checks the CAR: its root, and unpacked content.
  void exportAndUnpack(const std::string& cid, const fs::path& original) {
    const auto car = path("export-" + cid + ".car");
    auto exported = thunder({"export", cid}, car);
    ASSERT_EQ(exported.exit_code, 0) << describe(exported);
    auto roots = ipfsCar({"roots", car.string()});
    ASSERT_EQ(roots.exit_code, 0) << describe(roots);
    EXPECT_EQ(trim(roots.out), cid);
    auto blocks = ipfsCar({"blocks", car.string()});  // verifies every block's hash
    EXPECT_EQ(blocks.exit_code, 0) << describe(blocks);
    const auto out = path("unpacked-" + cid);
    auto unpacked = ipfsCar({"unpack", car.string(), "--output", out.string()});
    ASSERT_EQ(unpacked.exit_code, 0) << describe(unpacked);
    if (fs::is_directory(original)) {
      expectSameTree(original, out);
    } else {
      EXPECT_TRUE(readFile(out) == readFile(original)) << "unpacked bytes differ for " << cid;
    }
  }

  void startNode() {
    node_ = std::make_unique<Process>(std::vector<std::string>{
        "--data-dir", nodeDir().string(), "run", "--admin-listen", "127.0.0.1:0",
        "--sessions-listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    gateway_ = json::parse(*line).value("gateway", "");
    ASSERT_TRUE(gateway_.starts_with("http://127.0.0.1:")) << *line;
  }

  // GET `url` with curl: the status code; the body lands in `body_file`.
  int curl(const std::string& url, const fs::path& body_file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "curl", "-sS", "--max-time", "30", "-o", body_file.string(), "-w", "%{http_code}"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    auto c = run(args, dir_.path(), 60s);
    EXPECT_EQ(c.exit_code, 0) << describe(c);
    return std::atoi(c.out.c_str());
  }

  // verified_fetch.mjs against the node's gateway. Its own timeout (30 s unless `options` set
  // --timeout-ms) only guards against a hang: a local fetch takes about a second.
  Command verifiedFetch(const std::string& target, const fs::path& expected,
                        std::vector<std::string> options = {}) {
    std::vector<std::string> args{kNode.string(), kVerifiedFetch.string(), "--timeout-ms", "30000"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {gateway_, target, expected.string()});
    return run(args, dir_.path(), 180s);
  }

  // What the node answers for `cid` directly, for failure messages.
  std::string nodeView(const std::string& cid) {
    std::string view;
    for (const std::string& route :
         {"/ipfs/" + cid + "?format=raw", "/routing/v1/providers/" + cid}) {
      const auto body = path("view.body");
      const int status = curl(gateway_ + route, body);
      view += concat("GET ", route, " → ", status, " ", readFile(body).substr(0, 300), "\n");
    }
    return view;
  }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  std::string gateway_;
};

TEST_F(IpfsInterop, IpfsCarFilesOfSeveralSizes) {
  std::mt19937_64 rng(1);
  for (const size_t size : {size_t{0}, size_t{1}, size_t{256 * 1024 + 1}, size_t{3 << 20}}) {
    SCOPED_TRACE(concat("file of ", size, " bytes"));
    const auto file = path(concat("file", size));
    const std::string bytes = randomBytes(size, rng);
    writeFile(file, bytes);
    const auto car = path(concat("file", size, ".car"));
    const std::string cid = pack(file, car, /*wrap=*/false);
    ASSERT_FALSE(cid.empty());
    const ImportedRoot root = import(car, cid);
    ASSERT_EQ(root.blob.size(), 64u);
    auto cat = thunder({"cat", root.blob});
    ASSERT_EQ(cat.exit_code, 0) << describe(cat);
    EXPECT_EQ(cat.out.size(), size);
    EXPECT_TRUE(cat.out == bytes) << "thunder cat " << root.blob << " differs from the original";
    exportAndUnpack(cid, file);
  }
}

TEST_F(IpfsInterop, IpfsCarWrappedFile) {
  std::mt19937_64 rng(2);
  fs::create_directories(path("in"));
  const auto file = path("in") / "photo.jpg";
  writeFile(file, randomBytes(70'000, rng));
  const std::string cid = pack(file, path("wrapped.car"), /*wrap=*/true);
  const ImportedRoot root = import(path("wrapped.car"), cid);
  ASSERT_EQ(root.blob.size(), 64u);
  auto cat = thunder({"cat", root.blob + "/photo.jpg"});
  ASSERT_EQ(cat.exit_code, 0) << describe(cat);
  EXPECT_TRUE(cat.out == readFile(file));
  exportAndUnpack(cid, path("in"));
}

TEST_F(IpfsInterop, IpfsCarNestedDirectory) {
  std::mt19937_64 rng(3);
  const auto tree = path("tree");
  makeTree(tree, rng);
  const std::string cid = pack(tree, path("tree.car"), /*wrap=*/true);
  const ImportedRoot root = import(path("tree.car"), cid);
  ASSERT_EQ(root.blob.size(), 64u);
  auto got = thunder({"get", root.blob, "-o", path("got").string()});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  expectSameTree(tree, path("got"));
  auto deep = thunder({"cat", root.blob + "/a/b/c/deep.txt"});
  ASSERT_EQ(deep.exit_code, 0) << describe(deep);
  EXPECT_EQ(deep.out, "deep inside\n");
  exportAndUnpack(cid, tree);
}

// More than 1000 entries: ipfs-car writes the directory as a HAMT shard.
TEST_F(IpfsInterop, IpfsCarHamtShardedDirectory) {
  std::mt19937_64 rng(4);
  const auto tree = path("big");
  fs::create_directories(tree / "many");
  for (int i = 0; i < 1100; ++i) {
    writeFile(tree / "many" / concat("entry-", i), randomBytes(rng() % 100, rng));
  }
  writeFile(tree / "top.txt", "top\n");
  const std::string cid = pack(tree, path("big.car"), /*wrap=*/true);
  const ImportedRoot root = import(path("big.car"), cid);
  ASSERT_EQ(root.blob.size(), 64u);
  auto got = thunder({"get", root.blob, "-o", path("got").string()});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  expectSameTree(tree, path("got"));
  exportAndUnpack(cid, tree);

  // Through the gateway: resolved by the node, and walked by verified-fetch from raw blocks.
  startNode();
  const auto body = path("body");
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + cid + "/many/entry-5", body), 200);
  EXPECT_TRUE(readFile(body) == readFile(tree / "many" / "entry-5"));
  auto in_shard = verifiedFetch(cid + "/many/entry-777", tree / "many" / "entry-777");
  EXPECT_EQ(in_shard.exit_code, 0) << describe(in_shard) << nodeView(cid);
}

// The gateway's deserialized answers and CARs, read by curl and ipfs-car.
TEST_F(IpfsInterop, GatewayServesImportedContent) {
  std::mt19937_64 rng(5);
  const auto tree = path("tree");
  makeTree(tree, rng);
  const std::string dir_cid = pack(tree, path("tree.car"), /*wrap=*/true);
  import(path("tree.car"), dir_cid);
  const auto file = path("big.bin");
  writeFile(file, randomBytes(3 << 20, rng));
  const std::string file_cid = pack(file, path("big.car"), /*wrap=*/false);
  import(path("big.car"), file_cid);
  startNode();

  const auto body = path("body");
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + file_cid, body), 200) << readFile(body).substr(0, 300);
  EXPECT_TRUE(readFile(body) == readFile(file)) << "GET /ipfs/" << file_cid;
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + dir_cid + "/a/b/c/deep.txt", body), 200);
  EXPECT_EQ(readFile(body), "deep inside\n");
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + dir_cid + "/docs/caf%C3%A9.md", body), 200);
  EXPECT_EQ(readFile(body), "# ünïcödé\n");

  // A raw block, by ?format=raw and by Accept: a.mid.bin (under 1 MiB) is one raw leaf, so its
  // block is its bytes. `ipfs-car ls --verbose` prints "<cid>\t<size>\t./<path>" lines.
  auto listed = ipfsCar({"ls", path("tree.car").string(), "--verbose"});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  const size_t at = listed.out.find("\t./a/mid.bin");
  ASSERT_NE(at, std::string::npos) << listed.out;
  const size_t line_start = listed.out.rfind('\n', at) + 1;  // npos + 1 == 0 for the first line
  const std::string leaf =
      listed.out.substr(line_start, listed.out.find('\t', line_start) - line_start);
  ASSERT_TRUE(leaf.starts_with("bafkrei")) << listed.out;
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + leaf + "?format=raw", body), 200);
  EXPECT_TRUE(readFile(body) == readFile(tree / "a" / "mid.bin")) << "?format=raw of " << leaf;
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + leaf, body, {"-H", "Accept: application/vnd.ipld.raw"}),
            200);
  EXPECT_TRUE(readFile(body) == readFile(tree / "a" / "mid.bin")) << "Accept raw of " << leaf;

  // A whole-DAG CAR, by ?format=car and by Accept, unpacked by ipfs-car.
  for (const auto& [suffix, headers] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"?format=car", {}}, {"", {"-H", "Accept: application/vnd.ipld.car"}}}) {
    SCOPED_TRACE("GET /ipfs/" + dir_cid + suffix);
    const auto car = path("gateway.car");
    ASSERT_EQ(curl(gateway_ + "/ipfs/" + dir_cid + suffix, car, headers), 200)
        << readFile(car).substr(0, 300);
    auto roots = ipfsCar({"roots", car.string()});
    ASSERT_EQ(roots.exit_code, 0) << describe(roots);
    EXPECT_EQ(trim(roots.out), dir_cid);
    const auto out = path("gateway-unpacked");
    fs::remove_all(out);
    auto unpacked = ipfsCar({"unpack", car.string(), "--output", out.string()});
    ASSERT_EQ(unpacked.exit_code, 0) << describe(unpacked);
    expectSameTree(tree, out);
  }
}

TEST_F(IpfsInterop, HeliaVerifiedFetchFromTheGateway) {
  std::mt19937_64 rng(6);
  const auto tree = path("tree");
  makeTree(tree, rng);
  const std::string dir_cid = pack(tree, path("tree.car"), /*wrap=*/true);
  import(path("tree.car"), dir_cid);
  const auto file = path("big.bin");
  writeFile(file, randomBytes(3 << 20, rng));
  const std::string file_cid = pack(file, path("big.car"), /*wrap=*/false);
  import(path("big.car"), file_cid);
  startNode();

  auto whole = verifiedFetch(file_cid, file);
  EXPECT_EQ(whole.exit_code, 0) << describe(whole) << nodeView(file_cid);
  auto inside = verifiedFetch(dir_cid + "/a/b/two chunks.bin", tree / "a" / "b" / "two chunks.bin");
  EXPECT_EQ(inside.exit_code, 0) << describe(inside) << nodeView(dir_cid);
  // The directory itself: its dag-pb listing, then every file below "a" and "docs".
  auto listing = verifiedFetch(dir_cid + "/a", tree / "a");
  EXPECT_EQ(listing.exit_code, 0) << describe(listing) << nodeView(dir_cid);
  auto docs = verifiedFetch(dir_cid + "/docs", tree / "docs");
  EXPECT_EQ(docs.exit_code, 0) << describe(docs) << nodeView(dir_cid);
  // Without a gateway configured: the client must find the node through /routing/v1/providers.
  auto routed = verifiedFetch(dir_cid + "/a/mid.bin", tree / "a" / "mid.bin", {"--via-routing"});
  EXPECT_EQ(routed.exit_code, 0) << describe(routed) << nodeView(dir_cid);
  auto routed_file = verifiedFetch(file_cid, file, {"--via-routing"});
  EXPECT_EQ(routed_file.exit_code, 0) << describe(routed_file) << nodeView(file_cid);
}

TEST_F(IpfsInterop, HeliaFailsForACidTheNodeDoesNotHave) {
  std::mt19937_64 rng(7);
  const auto file = path("absent.bin");
  writeFile(file, randomBytes(5000, rng));
  const std::string cid = pack(file, path("absent.car"), /*wrap=*/false);  // never imported
  startNode();

  const auto body = path("body");
  EXPECT_EQ(curl(gateway_ + "/ipfs/" + cid + "?format=raw", body), 404) << readFile(body);
  const int routing = curl(gateway_ + "/routing/v1/providers/" + cid, body);
  if (routing == 200) {  // allowed by the spec: an empty list
    const json providers = json::parse(readFile(body), nullptr, false);
    EXPECT_TRUE(!providers.is_discarded() && providers.value("Providers", json::array()).empty())
        << readFile(body);
  } else {
    EXPECT_EQ(routing, 404) << readFile(body);
  }
  // Found through routing only: no provider, so verified-fetch gives up by itself (exit 1),
  // long before the script's own timeout (exit 3).
  auto routed = verifiedFetch(cid, file, {"--via-routing", "--timeout-ms", "60000"});
  EXPECT_EQ(routed.exit_code, 1) << describe(routed);
  EXPECT_NE(routed.err.find("FAIL:"), std::string::npos) << describe(routed);
  // With the node as a gateway verified-fetch keeps asking until the caller's deadline (its
  // design: a block may appear later); it must end without any bytes.
  auto asked = verifiedFetch(cid, file, {"--timeout-ms", "8000"});
  EXPECT_NE(asked.exit_code, 0) << describe(asked);
  EXPECT_EQ(asked.out.find("ok file"), std::string::npos) << describe(asked);
}

}  // namespace
}  // namespace thunder::testing
