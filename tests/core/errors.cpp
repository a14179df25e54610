// Tests of gnnpool/core/errors.hpp: the exception hierarchy, GNNPOOL_CHECK's messages and
// GNNPOOL_ASSERT (throws assertion_error unless NDEBUG / GNNPOOL_NO_DEBUG).

#include <gnnpool/core/errors.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_errors {

using gnnpool::test::require_throws_with;

// DESIGN §7: argument errors are std::invalid_argument, so `catch (const std::invalid_argument&)`
// catches both kinds; file and internal errors are not.
static_assert(std::is_base_of_v<std::invalid_argument, gnnpool::shape_error>);
static_assert(std::is_base_of_v<std::invalid_argument, gnnpool::invalid_argument>);
static_assert(!std::is_base_of_v<gnnpool::shape_error, gnnpool::invalid_argument>);
static_assert(!std::is_base_of_v<gnnpool::invalid_argument, gnnpool::shape_error>);
static_assert(std::is_base_of_v<std::runtime_error, gnnpool::error>);
static_assert(std::is_base_of_v<gnnpool::error, gnnpool::parse_error>);
static_assert(std::is_base_of_v<std::logic_error, gnnpool::assertion_error>);
static_assert(!std::is_base_of_v<std::invalid_argument, gnnpool::assertion_error>);
static_assert(!std::is_base_of_v<std::invalid_argument, gnnpool::parse_error>);

namespace {

int g_evaluated = 0;

int counted(int v) {
  ++g_evaluated;
  return v;
}

void check_rows(long rows, long expected) {
  GNNPOOL_CHECK(rows == expected, gnnpool::shape_error, "TestLayer: x has ", rows,
                " rows but the adjacency is ", gnnpool::detail::shape(expected, expected));
}

}  // namespace

TEST_CASE("GNNPOOL_CHECK throws the requested type with the parts streamed into one sentence", "[core][errors]") {
  CHECK_NOTHROW(check_rows(3, 3));
  require_throws_with<gnnpool::shape_error>([] { check_rows(4, 3); },
                                            {"TestLayer: x has 4 rows but the adjacency is 3 x 3"});
  try {
    check_rows(4, 3);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "TestLayer: x has 4 rows but the adjacency is 3 x 3");
  }
  require_throws_with<gnnpool::invalid_argument>(
      [] { GNNPOOL_CHECK(0.5 > 1.0, gnnpool::invalid_argument, "TopK: ratio ", 1.5, " is not in (0, 1]"); },
      {"TopK: ratio 1.5 is not in (0, 1]"});
  require_throws_with<gnnpool::parse_error>(
      [] { GNNPOOL_CHECK(false, gnnpool::parse_error, "file.txt:", 12, ": expected 2 columns"); },
      {"file.txt:12: expected 2 columns"});
}

TEST_CASE("GNNPOOL_CHECK evaluates its message only on failure and is one statement", "[core][errors]") {
  g_evaluated = 0;
  GNNPOOL_CHECK(true, gnnpool::invalid_argument, "never built ", counted(1));
  CHECK(g_evaluated == 0);
  CHECK_THROWS_AS([] { GNNPOOL_CHECK(false, gnnpool::invalid_argument, "built ", counted(2)); }(),
                  gnnpool::invalid_argument);
  CHECK(g_evaluated == 1);

  // Usable as the body of an unbraced if / else (do { } while (false)).
  int branch = 0;
  if (branch == 0)
    GNNPOOL_CHECK(true, gnnpool::invalid_argument, "unused");
  else
    branch = 2;
  CHECK(branch == 0);
}

TEST_CASE("detail::shape and detail::concat format sizes the same way everywhere", "[core][errors]") {
  CHECK(gnnpool::detail::shape(3, 4) == "3 x 4");
  CHECK(gnnpool::detail::shape(0, 0) == "0 x 0");
  CHECK(gnnpool::detail::concat("a", 1, ' ', 2.5, std::string("b")) == "a1 2.5b");
  CHECK(gnnpool::detail::concat() == "");  // an empty message compiles without a warning
}

TEST_CASE("GNNPOOL_ASSERT guards internal invariants in debug builds only", "[core][errors]") {
  const int n = 3;
  CHECK_NOTHROW([&] { GNNPOOL_ASSERT(n == 3, "n is ", n); }());
#if defined(NDEBUG) || defined(GNNPOOL_NO_DEBUG)
  g_evaluated = 0;
  CHECK_NOTHROW([&] { GNNPOOL_ASSERT(n == 4, "n is ", counted(n)); }());
  CHECK(g_evaluated == 0);
#else
  require_throws_with<gnnpool::assertion_error>([&] { GNNPOOL_ASSERT(n == 4, "n is ", n); },
                                                {"gnnpool internal check failed", "n == 4", "n is 3"});
  CHECK_THROWS_AS([] { GNNPOOL_ASSERT(false, ""); }(), std::logic_error);
#endif
}

}  // namespace gnnpool_test_core_errors
