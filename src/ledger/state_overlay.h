// StateOverlay: pending changes above a StateReader, as one block or one transaction makes
// them. Reads see the overlay's own writes first, then the base. A transaction executes in an
// overlay above the block's overlay; on success its writes are merged down (mergeInto), on
// failure the overlay is dropped, so a failed transaction leaves no trace.
// Borrows its base, which must not change while the overlay lives. Not thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "ledger/state_reader.h"
#include "ledger/state_store.h"

namespace thunder::ledger {

class StateOverlay final : public StateReader {
 public:
  explicit StateOverlay(const StateReader& base) : base_(base) {}
  // Not copyable: an overlay above another overlay is built from it as a StateReader
  // (StateOverlay child(static_cast<const StateReader&>(parent))).
  StateOverlay(const StateOverlay&) = delete;
  StateOverlay& operator=(const StateOverlay&) = delete;

  const std::string* get(std::string_view key) const override;
  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override;

  void put(std::string key, std::string value) { writes_[std::move(key)] = std::move(value); }
  void erase(std::string key) { writes_[std::move(key)] = std::nullopt; }

  // Moves this overlay's writes into `parent` (normally the overlay it was built on).
  void mergeInto(StateOverlay& parent) &&;
  // The writes, for StateStore::prepare(). Writes equal to the base are kept (harmless).
  WriteSet takeWrites() && { return std::move(writes_); }
  const WriteSet& writes() const { return writes_; }

 private:
  const StateReader& base_;
  WriteSet writes_;
};

}  // namespace thunder::ledger
