// The IPC codec's encoding helpers are the shared ones of base/wire.h.
#pragma once

#include "base/wire.h"

namespace thunder::ipc {

using ::thunder::WireReader;
using ::thunder::WireWriter;

}  // namespace thunder::ipc
