// The HTTP status for a Thunder error code, for gateway answers (internal to the gateway module).
#pragma once

#include "base/error.h"

namespace thunder::gateway {

// kInvalidArgument 400, kPermissionDenied 403, kNotFound 404, kAlreadyExists 409,
// kCorruption 500 (the store's bytes failed), kResourceExhausted 507, kUnavailable and
// kCancelled 503, kTimeout 504, others 500.
unsigned statusForError(ErrorCode code);

}  // namespace thunder::gateway
