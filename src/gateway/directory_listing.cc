#include "gateway/directory_listing.h"

#include <fmt/format.h>

#include "gateway/request_target.h"

namespace thunder::gateway {

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string renderListing(std::string_view url_path, const BlobId& directory,
                          const content::Manifest& manifest, ListingLevel level) {
  const std::string title = htmlEscape(url_path);
  std::string out;
  out.reserve(512 + manifest.entries.size() * 200);
  fmt::format_to(std::back_inserter(out),
                 "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                 "<title>Index of {0}</title>\n"
                 "<style>body{{font-family:sans-serif}}td{{padding:0 1em}}"
                 "code{{font-size:smaller;color:#666}}</style></head>\n"
                 "<body><h1>Index of {0}</h1>\n<p>directory <code>{1}</code>, {2} entries</p>\n"
                 "<table>\n<tr><th>name</th><th>size</th><th>blob</th></tr>\n",
                 title, directory.hex(), manifest.entries.size());
  if (level == ListingLevel::kSubdirectory) {
    out += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
  }
  for (const auto& entry : manifest.entries) {
    const bool dir = entry.kind == content::EntryKind::kDirectory;
    const std::string name = htmlEscape(entry.name);
    fmt::format_to(std::back_inserter(out),
                   "<tr><td><a href=\"./{}{}\">{}{}</a></td><td>{}</td><td><code>{}</code></td>"
                   "</tr>\n",
                   percentEncodeSegment(entry.name), dir ? "/" : "", name, dir ? "/" : "",
                   dir ? std::string("-") : std::to_string(entry.size), entry.id.hex());
  }
  out += "</table>\n</body></html>\n";
  return out;
}

}  // namespace thunder::gateway
