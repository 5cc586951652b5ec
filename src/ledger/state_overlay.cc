#include "ledger/state_overlay.h"

#include <utility>
#include <vector>

namespace thunder::ledger {

const std::string* StateOverlay::get(std::string_view key) const {
  const auto it = writes_.find(key);
  if (it == writes_.end()) return base_.get(key);
  return it->second ? &*it->second : nullptr;
}

void StateOverlay::scan(std::string_view prefix,
                        const std::function<void(std::string_view, std::string_view)>& fn) const {
  auto w = writes_.lower_bound(prefix);
  auto in_prefix = [&] {
    return w != writes_.end() && std::string_view(w->first).starts_with(prefix);
  };
  // Emits the overlay's writes that sort before `key` (all remaining ones if key is null).
  auto flush_before = [&](const std::string_view* key) {
    while (in_prefix() && (key == nullptr || w->first < *key)) {
      if (w->second) fn(w->first, *w->second);
      ++w;
    }
  };
  base_.scan(prefix, [&](std::string_view key, std::string_view value) {
    flush_before(&key);
    if (in_prefix() && w->first == key) {  // overridden or deleted here
      if (w->second) fn(w->first, *w->second);
      ++w;
      return;
    }
    fn(key, value);
  });
  flush_before(nullptr);
}

void StateOverlay::mergeInto(StateOverlay& parent) && {
  for (auto& [key, value] : writes_) parent.writes_[key] = std::move(value);
  writes_.clear();
}

}  // namespace thunder::ledger
