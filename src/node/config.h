// The node's TOML configuration file: parsing into NodeOptions and rendering back.
//
// Every key is optional and has the default of NodeOptions. Unknown keys, wrong types and bad
// values fail with the file, the key, the line and the reason. renderConfig() writes a commented
// file that parses back to the same options (used by `thunder init` and `thunder config print`).
// The keys are documented in docs/config.md.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"
#include "node/options.h"

namespace thunder::node {

// Parses TOML text; `source` names it in errors (a file path). The result is validated.
Result<NodeOptions> parseConfig(std::string_view toml_text, std::string_view source);

// Reads and parses a file. kNotFound if it does not exist.
Result<NodeOptions> loadConfigFile(const std::filesystem::path& file);

// Commented TOML for `options`.
std::string renderConfig(const NodeOptions& options);

}  // namespace thunder::node
