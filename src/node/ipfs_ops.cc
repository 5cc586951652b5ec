#include "node/ipfs_ops.h"

#include <fcntl.h>
#include <unistd.h>

#include "content/file_util.h"

namespace thunder::node {

using content::ipfs::CarExportOptions;
using content::ipfs::Cid;

nlohmann::json importReportJson(const content::ipfs::ImportReport& report) {
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& root : report.roots) {
    roots.push_back({{"cid", root.cid.toString()},
                     {"kind", std::string(content::ipfs::nodeKindName(root.kind))},
                     {"blob", root.blob ? nlohmann::json(root.blob->hex()) : nlohmann::json()},
                     {"size", root.size},
                     {"complete", root.complete}});
  }
  return {{"roots", roots}, {"blocks", report.blocks}, {"bytes", report.bytes}};
}

Result<nlohmann::json> importCarFd(content::ipfs::IpfsStore& store, int fd, content::PinState pin,
                                   std::function<void(uint64_t)> progress) {
  content::ipfs::ImportOptions options;
  options.pin = pin;
  options.progress = std::move(progress);
  auto reader = [fd](std::span<uint8_t> out) -> Result<size_t> {
    return content::readFull(fd, out, "the CAR");
  };
  THUNDER_ASSIGN_OR_RETURN(const auto report, store.importCar(reader, options));
  return importReportJson(report);
}

Result<nlohmann::json> importCarFile(content::ipfs::IpfsStore& store,
                                     const std::filesystem::path& path, content::PinState pin) {
  THUNDER_ASSIGN_OR_RETURN(auto fd, content::openFile(path, O_RDONLY));
  auto out = importCarFd(store, fd.get(), pin);
  if (!out) return fail(out.error().withContext(path.string()));
  return out;
}

Result<IpfsTarget> parseIpfsTarget(std::string_view text) {
  if (text.starts_with("/ipfs/")) text.remove_prefix(6);
  const size_t slash = text.find('/');
  auto cid = Cid::parse(text.substr(0, slash));
  if (!cid) {
    return fail(ErrorCode::kInvalidArgument, "\"{}\" is not a CID (e.g. bafy… or Qm…): {}",
                text.substr(0, slash), cid.error().message);
  }
  IpfsTarget target{*cid, {}};
  if (slash != std::string_view::npos) {
    std::string_view rest = text.substr(slash + 1);
    while (!rest.empty()) {
      const size_t next = rest.find('/');
      const std::string_view segment = rest.substr(0, next);
      if (!segment.empty()) target.segments.emplace_back(segment);
      if (next == std::string_view::npos) break;
      rest.remove_prefix(next + 1);
    }
  }
  return target;
}

Result<CarExportOptions> exportOptionsFromJson(const nlohmann::json& body) {
  CarExportOptions options;
  if (body.contains("dag_scope")) {
    if (!body["dag_scope"].is_string()) {
      return fail(ErrorCode::kInvalidArgument, "\"dag_scope\" must be all, entity or block");
    }
    THUNDER_ASSIGN_OR_RETURN(options.scope,
                             content::ipfs::parseDagScope(body["dag_scope"].get<std::string>()));
  }
  if (body.contains("entity_bytes") && !body["entity_bytes"].is_null()) {
    if (!body["entity_bytes"].is_string()) {
      return fail(ErrorCode::kInvalidArgument, "\"entity_bytes\" must be a string FROM:TO");
    }
    THUNDER_ASSIGN_OR_RETURN(
        options.bytes, content::ipfs::parseEntityBytes(body["entity_bytes"].get<std::string>()));
  }
  if (body.contains("dups")) {
    if (!body["dups"].is_boolean()) {
      return fail(ErrorCode::kInvalidArgument, "\"dups\" must be true or false");
    }
    options.dups = body["dups"].get<bool>();
  }
  return options;
}

Result<nlohmann::json> exportCarTo(content::ipfs::IpfsStore& store, const IpfsTarget& target,
                                   const CarExportOptions& options, int fd) {
  THUNDER_ASSIGN_OR_RETURN(auto stream, store.exportCar(target.cid, target.segments, options));
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t bytes = 0;
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(const size_t n, stream->read(buffer));
    if (n == 0) break;
    THUNDER_TRY(content::writeAll(fd, std::span(buffer.data(), n), "the CAR output"));
    bytes += n;
  }
  return nlohmann::json{{"root", target.cid.toString()}, {"bytes", bytes}};
}

}  // namespace thunder::node
