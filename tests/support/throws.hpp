#ifndef GNNPOOL_TESTS_SUPPORT_THROWS_HPP
#define GNNPOOL_TESTS_SUPPORT_THROWS_HPP

// `require_throws_with`: the error-message check shared by the unit tests.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace gnnpool::test {

/// Runs f and requires an exception of type E whose message contains every fragment (the
/// layer, the argument and the sizes a message must name).
template <typename E, typename F>
void require_throws_with(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
  } catch (const E& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    for (const auto& frag : fragments) CHECK(what.find(frag) != std::string::npos);
    return;
  }
  FAIL("expected an exception");
}

}  // namespace gnnpool::test

#endif
