// Component: a part of the node with a start/stop lifecycle (the admin API, the blob store, ...).
//
// The node constructs every component from its options, starts them in dependency order and
// stops them in reverse order. start() either succeeds fully or fails with a precise Error and
// leaves nothing running; stop() undoes start() and must return promptly (it is bounded by
// the node's shutdown grace). Both are called from the node's control thread, never a loop.
#pragma once

#include <string_view>

#include "base/result.h"

namespace thunder::node {

class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const = 0;
  virtual Result<void> start() = 0;
  virtual void stop() = 0;
};

}  // namespace thunder::node
