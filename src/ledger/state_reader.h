// StateReader: read access to a version of the ledger state (the committed StateStore, or a
// StateOverlay of pending changes above it). Not thread-safe; values returned by get() are
// valid until the reader or anything below it changes.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace thunder::ledger {

class StateReader {
 public:
  virtual ~StateReader() = default;
  // The value of a state key, or null if absent.
  virtual const std::string* get(std::string_view key) const = 0;
  // Calls fn(key, value) for every entry whose key starts with `prefix`, in key order.
  virtual void scan(std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& fn) const = 0;
};

}  // namespace thunder::ledger
