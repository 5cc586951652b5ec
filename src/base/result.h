// Result<T>: the return type of every fallible Thunder function (tl::expected over Error).
//
//   Result<Config> loadConfig(const std::filesystem::path& file);
//
//   THUNDER_TRY(store.sync());                       // propagate an error, discard the value
//   THUNDER_ASSIGN_OR_RETURN(auto cfg, loadConfig(p)); // propagate or bind the value
//   return thunder::fail(ErrorCode::kNotFound, "no blob {}", id);
//
// Coroutines use THUNDER_CO_TRY / THUNDER_CO_ASSIGN_OR_RETURN, which co_return instead.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <string_view>
#include <system_error>
#include <tl/expected.hpp>
#include <utility>

#include "base/error.h"

namespace thunder {

template <typename T = void>
using Result = tl::expected<T, Error>;

// An error to return from a function returning Result<T>, with a fmt-style message.
template <typename... Args>
tl::unexpected<Error> fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

inline tl::unexpected<Error> fail(Error error) {
  return tl::unexpected(std::move(error));
}

// Maps an errno value to the closest ErrorCode.
ErrorCode errorCodeFromErrno(int errno_value);

// An error for a failed system call: "what: strerror(errno_value)", code from errno_value.
tl::unexpected<Error> failErrno(int errno_value, std::string_view what);

// An error from a std::error_code (e.g. std::filesystem, Boost.Asio).
tl::unexpected<Error> failErrorCode(const std::error_code& ec, std::string_view what);

}  // namespace thunder

#define THUNDER_CONCAT_INNER_(a, b) a##b
#define THUNDER_CONCAT_(a, b) THUNDER_CONCAT_INNER_(a, b)

#define THUNDER_TRY(expr)                                              \
  do {                                                                 \
    auto&& thunder_try_result_ = (expr);                               \
    if (!thunder_try_result_) {                                        \
      return ::tl::unexpected(std::move(thunder_try_result_).error()); \
    }                                                                  \
  } while (false)

#define THUNDER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)       \
  auto tmp = (expr);                                         \
  if (!tmp) return ::tl::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

#define THUNDER_ASSIGN_OR_RETURN(lhs, expr) \
  THUNDER_ASSIGN_OR_RETURN_IMPL_(THUNDER_CONCAT_(thunder_result_, __LINE__), lhs, expr)

#define THUNDER_CO_TRY(expr)                                              \
  do {                                                                    \
    auto&& thunder_try_result_ = (expr);                                  \
    if (!thunder_try_result_) {                                           \
      co_return ::tl::unexpected(std::move(thunder_try_result_).error()); \
    }                                                                     \
  } while (false)

#define THUNDER_CO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)       \
  auto tmp = (expr);                                            \
  if (!tmp) co_return ::tl::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

#define THUNDER_CO_ASSIGN_OR_RETURN(lhs, expr) \
  THUNDER_CO_ASSIGN_OR_RETURN_IMPL_(THUNDER_CONCAT_(thunder_result_, __LINE__), lhs, expr)
