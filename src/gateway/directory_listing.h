// The HTML page listing a directory manifest (GET /b3/<dir>/... with a trailing slash when the
// directory has no index.html). Names are HTML-escaped and links percent-encoded, so a hostile
// manifest cannot inject markup. Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/strong_types.h"
#include "content/directory.h"

namespace thunder::gateway {

// `url_path` is the request path being listed (ends with '/'), shown as the title; `directory` the
// listed manifest's blob id; kRoot: the URL's root directory (no "../" link).
enum class ListingLevel { kRoot, kSubdirectory };
std::string renderListing(std::string_view url_path, const BlobId& directory,
                          const content::Manifest& manifest, ListingLevel level);

// `text` with &, <, >, " and ' replaced by character references.
std::string htmlEscape(std::string_view text);

}  // namespace thunder::gateway
