// The content commands as a user runs them: put/get/cat/verify/encode/decode/ls/pin/gc/fsck on
// real `thunder` processes, checked against b3sum, with and without a running node, and a
// kill -9 in the middle of a large put.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "harness.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string randomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

void writeFile(const std::filesystem::path& file, const std::string& bytes) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
}

std::string readFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The reference: what b3sum prints for a file.
std::string b3sum(const std::filesystem::path& file) {
  const std::string cmd = "b3sum --no-names '" + file.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  char line[128] = {};
  const bool ok = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  return ok ? std::string(line, 64) : "";
}

class ContentCli : public ::testing::Test {
 protected:
  RunResult thunder(std::vector<std::string> args, std::optional<std::string> input = {}) {
    args.insert(args.begin(), {"--data-dir", data().string()});
    return runThunder(std::move(args), 120s, std::move(input));
  }
  std::filesystem::path data() const { return dir_.path() / "data"; }
  std::filesystem::path file(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
};

TEST_F(ContentCli, PutGetCatAgreeWithB3sum) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{16384}, size_t{16385}, size_t{300000}}) {
    const auto path = file("blob-" + std::to_string(size));
    const std::string bytes = randomBytes(size, static_cast<uint32_t>(size));
    writeFile(path, bytes);
    auto put = thunder({"put", path.string()});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    const std::string id = put.out.substr(0, 64);
    EXPECT_EQ(id, b3sum(path)) << size;

    auto got = thunder({"get", id, "-o", file("out").string()});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    EXPECT_EQ(readFile(file("out")), bytes);
    std::filesystem::remove(file("out"));
    EXPECT_EQ(thunder({"cat", id}).out, bytes);
    if (size > 20) {
      EXPECT_EQ(thunder({"cat", id, "--range", "10-19"}).out, bytes.substr(10, 10));
    }
    EXPECT_EQ(thunder({"verify", path.string(), "--id", id}).exit_code, 0);
  }
  // Standard input, and the same content twice is stored once.
  auto piped = thunder({"put", "-", "--json"}, std::string("hello thunder\n"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  auto again = thunder({"put", "-", "--json"}, std::string("hello thunder\n"));
  EXPECT_EQ(json::parse(again.out)["id"], json::parse(piped.out)["id"]);
  EXPECT_FALSE(json::parse(again.out)["stored"].get<bool>());
  auto ls = thunder({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).size(), 6u) << ls.out;
}

TEST_F(ContentCli, VerifyRefusesTheWrongId) {
  writeFile(file("a"), "some bytes");
  auto result = thunder({"verify", file("a").string(), "--id", std::string(64, '0')});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_FALSE(result.err.empty());
}

TEST_F(ContentCli, EncodeDecodeAndCorruptionStopsAtTheBadGroup) {
  const std::string bytes = randomBytes(200000, 7);
  writeFile(file("blob"), bytes);
  const std::string id = thunder({"put", file("blob").string()}).out.substr(0, 64);

  auto stream = thunder({"encode", id, "--range", "40000-99999"});
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_LE(stream.out.size(), 8 + 60000 + 32768 + 64 * 20);  // whole groups plus proofs
  auto decoded = thunder({"decode", "--id", id, "--range", "40000-99999"}, stream.out);
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, bytes.substr(40000, 60000));

  // Flip one byte deep in the stream: decode prints only bytes verified before it, then fails.
  std::string corrupt = stream.out;
  corrupt[corrupt.size() - 100] ^= 0x40;
  auto bad = thunder({"decode", "--id", id, "--range", "40000-99999"}, corrupt);
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_LT(bad.out.size(), 60000u);
  EXPECT_EQ(bad.out, bytes.substr(40000, bad.out.size()));  // nothing unverified got out
  EXPECT_NE(bad.err.find("does not match"), std::string::npos) << bad.err;

  // A stream for another id is refused before any byte is printed.
  auto other =
      thunder({"decode", "--id", std::string(64, 'a'), "--range", "40000-99999"}, stream.out);
  EXPECT_EQ(other.exit_code, 4);
  EXPECT_EQ(other.out, "");
}

TEST_F(ContentCli, DecodeStopsAtTheFirstBadGroupWhileTheSenderStillHoldsThePipe) {
  const std::string bytes = randomBytes(200000, 9);
  writeFile(file("blob"), bytes);
  const std::string id = thunder({"put", file("blob").string()}).out.substr(0, 64);
  std::string stream = thunder({"encode", id}).out;
  stream[1000] ^= 0x01;  // in the first group: nothing verified precedes it
  // Send the corrupt stream but keep stdin open: decode must not wait for more input. (The
  // write may fail once decode has exited and closed its end; that is the point.)
  Process decode({"--data-dir", data().string(), "decode", "--id", id}, StdinMode::kPipe);
  decode.writeStdin(stream);
  EXPECT_EQ(decode.wait(20s), 4);
  EXPECT_NE(decode.stderrText().find("does not match"), std::string::npos);
}

TEST_F(ContentCli, DirectoriesPutGetAndPathLookup) {
  writeFile(file("site/index.html"), "<h1>hi</h1>");
  writeFile(file("site/css/a.css"), "body{}");
  auto put = thunder({"put", file("site").string(), "--json"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = json::parse(put.out)["id"];
  EXPECT_EQ(thunder({"cat", id + "/css/a.css"}).out, "body{}");
  auto missing = thunder({"cat", id + "/nope.txt"});
  EXPECT_EQ(missing.exit_code, 5);
  ASSERT_EQ(thunder({"get", id, "-o", file("copy").string()}).exit_code, 0);
  EXPECT_EQ(readFile(file("copy/index.html")), "<h1>hi</h1>");
}

TEST_F(ContentCli, WritesGoThroughARunningNodeAndReadsWorkBesideIt) {
  Process node({"--data-dir", data().string(), "run", "--gateway-listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--json"});
  ASSERT_TRUE(node.readLine().has_value()) << node.stderrText();

  writeFile(file("blob"), randomBytes(50000, 3));
  auto put = thunder({"put", file("blob").string(), "--pin", "--json"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = json::parse(put.out)["id"];
  EXPECT_EQ(id, b3sum(file("blob")));
  EXPECT_TRUE(json::parse(put.out)["pinned"].get<bool>());
  auto piped = thunder({"put", "-"}, std::string("through the node"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;

  // Reads open the store read-only beside the node and see what it stored.
  EXPECT_EQ(thunder({"cat", piped.out.substr(0, 64)}).out, "through the node");
  auto ls = thunder({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).size(), 2u);
  EXPECT_EQ(thunder({"unpin", id}).exit_code, 0);
  EXPECT_EQ(thunder({"gc", "--json"}).exit_code, 0);
  auto missing = thunder({"put", file("does-not-exist").string()});
  EXPECT_EQ(missing.exit_code, 5) << missing.err;

  auto status = runThunder({"--data-dir", data().string(), "status", "--json"});
  EXPECT_EQ(json::parse(status.out)["store"]["blobs"], 2);
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(5s), 0);
}

TEST_F(ContentCli, KillDuringALargePutLeavesNoPartialBlob) {
  writeFile(file("small"), "kept");
  ASSERT_EQ(thunder({"put", file("small").string()}).exit_code, 0);

  // Feed 48 MiB of a larger blob through a pipe, then kill -9: when writeStdin returns, the
  // put has consumed all but one pipe buffer of it, so it is certainly in the middle.
  {
    Process put({"--data-dir", data().string(), "put", "-"}, StdinMode::kPipe);
    const std::string chunk = randomBytes(1 << 20, 11);
    for (int i = 0; i < 48; ++i) ASSERT_TRUE(put.writeStdin(chunk));
    put.signal(SIGKILL);
    EXPECT_EQ(put.wait(10s), 128 + SIGKILL);
  }
  auto ls = thunder({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  ASSERT_EQ(json::parse(ls.out).size(), 1u) << ls.out;  // only the small blob
  auto gc = thunder({"gc", "--json"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  auto fsck = thunder({"fsck", "--json"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_TRUE(json::parse(fsck.out)["ok"].get<bool>());
  size_t leftovers = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data() / "store" / "tmp")) {
    leftovers += e.is_regular_file();
  }
  EXPECT_EQ(leftovers, 0u);
}

TEST_F(ContentCli, FsckFindsAFlippedByte) {
  writeFile(file("blob"), randomBytes(40000, 5));
  const std::string id = thunder({"put", file("blob").string()}).out.substr(0, 64);
  for (const auto& e : std::filesystem::recursive_directory_iterator(data() / "store" / "blobs")) {
    if (e.path().filename().string().starts_with(id) && e.path().extension() == ".data") {
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(20000);
      f.put('\x01');
    }
  }
  auto fsck = thunder({"fsck"});
  EXPECT_EQ(fsck.exit_code, 4);
  EXPECT_NE(fsck.err.find(id), std::string::npos) << fsck.err;
}

}  // namespace
}  // namespace thunder::testing
