#include "gateway/ipfs_listing.h"

#include <fmt/format.h>

#include <algorithm>

#include "content/ipfs_dag_pb.h"
#include "content/ipfs_unixfs.h"
#include "gateway/directory_listing.h"
#include "gateway/request_target.h"

namespace thunder::gateway {
namespace {

namespace ipfs = content::ipfs;

// Shard levels: the HAMT hash has 64 bits, one level uses at least one.
constexpr size_t kMaxShardDepth = 64;

Result<ipfs::PbNode> readNode(ipfs::IpfsStore& store, const ipfs::Cid& cid, std::string_view what) {
  THUNDER_ASSIGN_OR_RETURN(auto block, store.getBlock(cid));
  if (!block) {
    return fail(ErrorCode::kNotFound, "{} {} is not stored on this node", what, cid.toString());
  }
  auto node = ipfs::decodeDagPb(*block);
  if (!node) {
    return fail(ErrorCode::kCorruption, "{} {}: {}", what, cid.toString(), node.error().message);
  }
  return std::move(*node);
}

class ListingBuilder {
 public:
  explicit ListingBuilder(ipfs::IpfsStore& store) : store_(store) {}

  // Adds an entry (counted; kept while the page has room).
  void add(std::string name, const ipfs::Cid& cid, std::optional<uint64_t> tsize) {
    ++listing_.total;
    if (full()) return;
    listing_.entries.push_back(IpfsEntry{std::move(name), cid, tsize});
  }
  bool full() const { return listing_.entries.size() >= kMaxListedEntries; }
  void markIncomplete() { listing_.complete = false; }

  Result<void> walkShard(const ipfs::Cid& cid, size_t depth) {
    if (depth >= kMaxShardDepth) {
      return fail(ErrorCode::kCorruption, "HAMT shard {} is nested deeper than {} levels",
                  cid.toString(), kMaxShardDepth);
    }
    THUNDER_ASSIGN_OR_RETURN(auto node, readNode(store_, cid, "HAMT shard"));
    if (!node.data) {
      return fail(ErrorCode::kCorruption, "HAMT shard {} has no UnixFS data", cid.toString());
    }
    auto data = ipfs::decodeUnixfs(*node.data);
    if (!data) {
      return fail(ErrorCode::kCorruption, "HAMT shard {}: {}", cid.toString(),
                  data.error().message);
    }
    if (data->type != ipfs::UnixfsType::kHamtShard || !data->fanout) {
      return fail(ErrorCode::kCorruption, "block {} under a HAMT directory is not a HAMT shard",
                  cid.toString());
    }
    auto width = ipfs::hamtLabelWidth(*data->fanout);
    if (!width) {
      return fail(ErrorCode::kCorruption, "HAMT shard {}: {}", cid.toString(),
                  width.error().message);
    }
    for (auto& link : node.links) {
      const std::string name = link.name.value_or(std::string());
      if (name.size() < *width) {
        return fail(ErrorCode::kCorruption,
                    "HAMT shard {}: link name \"{}\" is shorter than its {}-digit bucket label",
                    cid.toString(), name.substr(0, 100), *width);
      }
      if (full()) {
        // A huge sharded directory: stop reading shards once the page is full.
        markIncomplete();
        return {};
      }
      if (name.size() == *width) {
        THUNDER_TRY(walkShard(link.hash, depth + 1));
      } else {
        add(name.substr(*width), link.hash, link.tsize);
      }
    }
    return {};
  }

  IpfsListing take() {
    std::sort(listing_.entries.begin(), listing_.entries.end(),
              [](const IpfsEntry& a, const IpfsEntry& b) { return a.name < b.name; });
    return std::move(listing_);
  }

 private:
  ipfs::IpfsStore& store_;
  IpfsListing listing_;
};

std::string formatSize(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  if (bytes < 1024ull * 1024 * 1024) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024));
  }
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

}  // namespace

Result<IpfsListing> listIpfsDirectory(ipfs::IpfsStore& store, const ipfs::Cid& cid,
                                      ipfs::NodeKind kind) {
  ListingBuilder builder(store);
  if (kind == ipfs::NodeKind::kHamtDirectory) {
    THUNDER_TRY(builder.walkShard(cid, 0));
    return builder.take();
  }
  THUNDER_ASSIGN_OR_RETURN(auto node, readNode(store, cid, "directory"));
  for (auto& link : node.links)
    builder.add(link.name.value_or(std::string()), link.hash, link.tsize);
  return builder.take();
}

std::string renderIpfsListing(std::string_view url_path, const ipfs::Cid& cid,
                              const IpfsListing& listing, ParentLink parent) {
  const std::string title = htmlEscape(url_path);
  const std::string cid_text = cid.toString();
  std::string out;
  out.reserve(768 + listing.entries.size() * 300);
  fmt::format_to(std::back_inserter(out),
                 "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                 "<title>Index of {0}</title>\n"
                 "<style>body{{font-family:sans-serif}}td{{padding:0 1em}}"
                 "code,.cid{{font-size:smaller;color:#666}}</style></head>\n"
                 "<body><h1>Index of {0}</h1>\n"
                 "<p>directory <a class=\"cid\" href=\"/ipfs/{1}?format=car\">{1}</a>, "
                 "{2}{3} entries</p>\n"
                 "<table>\n<tr><th>name</th><th>DAG size</th><th>CID</th></tr>\n",
                 title, cid_text, listing.complete ? "" : "more than ", listing.total);
  if (parent == ParentLink::kYes) {
    out += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
  }
  for (const auto& entry : listing.entries) {
    const std::string child = entry.cid.toString();
    fmt::format_to(std::back_inserter(out),
                   "<tr><td><a href=\"./{}\">{}</a></td><td>{}</td>"
                   "<td><a class=\"cid\" href=\"/ipfs/{}\">{}</a></td></tr>\n",
                   percentEncodeSegment(entry.name), htmlEscape(entry.name),
                   entry.tsize ? formatSize(*entry.tsize) : std::string("-"), child, child);
  }
  out += "</table>\n";
  if (!listing.complete || listing.total > listing.entries.size()) {
    fmt::format_to(std::back_inserter(out), "<p>only the first {} entries are shown</p>\n",
                   listing.entries.size());
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace thunder::gateway
