#ifndef GNNPOOL_CORE_ERRORS_HPP
#define GNNPOOL_CORE_ERRORS_HPP

/// \file
/// Error types and the two checking levels.
///
/// - `GNNPOOL_CHECK(cond, Error, parts...)` is always on. It guards public entry points
///   (shapes, arguments; O(N + E) at most) and throws `Error` with the message made of `parts`
///   streamed one after the other. The throw lives in a cold, non-inlined helper so that a check
///   costs one predictable branch.
/// - `GNNPOOL_ASSERT(cond, parts...)` guards internal invariants. It is off under `NDEBUG` or
///   `GNNPOOL_NO_DEBUG`, and throws `gnnpool::assertion_error` otherwise; a user may define
///   `GNNPOOL_ASSERT` before including gnnpool to route it elsewhere.

#include <sstream>
#include <stdexcept>
#include <string>

namespace gnnpool {

/// Base of gnnpool's run-time errors that are not argument errors (for example a corrupt file).
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An input has the wrong shape: the message names the layer, the argument, expected and actual sizes.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An argument has a value outside its domain (ratio, k, an index, a NaN weight, ...).
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A malformed input file; the message names the file, the line and what was expected.
class parse_error : public error {
 public:
  using error::error;
};

/// An internal invariant failed (a bug in gnnpool or a misuse its checks do not cover).
class assertion_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (void)(os << ... << parts);  // (void): no "statement has no effect" for an empty message
  return os.str();
}

template <typename Error>
[[noreturn, gnu::cold, gnu::noinline]] void raise(const std::string& message) {
  throw Error(message);
}

/// "rows x cols", the way every shape appears in messages.
inline std::string shape(long long rows, long long cols) {
  return concat(rows, " x ", cols);
}

}  // namespace detail
}  // namespace gnnpool

#define GNNPOOL_CHECK(cond, Error, ...)                                            \
  do {                                                                             \
    if (!(cond)) [[unlikely]]                                                      \
      ::gnnpool::detail::raise<Error>(::gnnpool::detail::concat(__VA_ARGS__));    \
  } while (false)

#ifndef GNNPOOL_ASSERT
#if defined(NDEBUG) || defined(GNNPOOL_NO_DEBUG)
// Unevaluated: the condition costs nothing, and variables used only by it are not "unused".
#define GNNPOOL_ASSERT(cond, ...) ((void)sizeof(!(cond)))
#else
#define GNNPOOL_ASSERT(cond, ...)                                                              \
  do {                                                                                         \
    if (!(cond)) [[unlikely]]                                                                  \
      ::gnnpool::detail::raise<::gnnpool::assertion_error>(                                   \
          ::gnnpool::detail::concat("gnnpool internal check failed: " #cond ": ", __VA_ARGS__)); \
  } while (false)
#endif
#endif

#endif
