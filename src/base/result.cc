#include "base/result.h"

#include <cstring>

namespace thunder {

ErrorCode errorCodeFromErrno(int errno_value) {
  switch (errno_value) {
    case ENOENT:
    case ENOTDIR: return ErrorCode::kNotFound;
    case EEXIST:
    case ENOTEMPTY: return ErrorCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS: return ErrorCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EFBIG: return ErrorCode::kResourceExhausted;
    case EINVAL:
    case ENAMETOOLONG:
    case EISDIR: return ErrorCode::kInvalidArgument;
    case ETIMEDOUT: return ErrorCode::kTimeout;
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EAGAIN: return ErrorCode::kUnavailable;
    case ECANCELED: return ErrorCode::kCancelled;
    default: return ErrorCode::kIoError;
  }
}

tl::unexpected<Error> failErrno(int errno_value, std::string_view what) {
  return tl::unexpected(Error{errorCodeFromErrno(errno_value),
                              fmt::format("{}: {}", what, std::strerror(errno_value))});
}

tl::unexpected<Error> failErrorCode(const std::error_code& ec, std::string_view what) {
  const bool is_errno =
      ec.category() == std::generic_category() || ec.category() == std::system_category();
  return tl::unexpected(Error{is_errno ? errorCodeFromErrno(ec.value()) : ErrorCode::kIoError,
                              fmt::format("{}: {}", what, ec.message())});
}

}  // namespace thunder
