// Error values: a small closed set of codes plus a human message.
//
// Thunder code does not throw. Fallible functions return thunder::Result<T> (result.h), whose
// error side is an Error. Messages name the cause and, where there is one, the fix; they are
// written for the operator who reads them in a log line or a CLI error.
#pragma once

#include <string>
#include <string_view>

namespace thunder {

enum class ErrorCode {
  kInvalidArgument,    // input (config, flags, wire bytes) is malformed or out of range
  kNotFound,           // the named object does not exist
  kAlreadyExists,      // refusing to overwrite an existing object
  kCorruption,         // stored or received bytes fail verification or cannot be parsed
  kIoError,            // the OS refused a read, write, bind, ...
  kPermissionDenied,   // the OS or a policy denied access
  kUnavailable,        // a peer or component is not reachable or not running (retry may help)
  kResourceExhausted,  // a limit was hit: quota, disk full, too many connections
  kTimeout,            // a deadline passed
  kCancelled,          // the operation was stopped on purpose (shutdown)
  kInternal,           // a bug surfaced as an error at a boundary that must not abort
};

// The stable lower-case name of a code, e.g. "not_found". Used in logs and --json output.
std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  // "message" alone; the code is for programs, the message for people.
  const std::string& what() const { return message; }

  // Returns a copy whose message is "context: message".
  Error withContext(std::string_view context) const;
};

}  // namespace thunder
