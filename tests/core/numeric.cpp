// Tests of gnnpool/core/numeric.hpp: the scalar-aware tolerances and PyG's guard constants.

#include <gnnpool/core/numeric.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_numeric {

using gnnpool::numeric;

TEMPLATE_TEST_CASE("numeric<Scalar> derives every tolerance from the machine epsilon", "[core][numeric]", float, double) {
  using T = TestType;
  CHECK(numeric<T>::epsilon() == std::numeric_limits<T>::epsilon());
  CHECK(numeric<T>::compare_tolerance() == T(512) * std::numeric_limits<T>::epsilon());
  CHECK(numeric<T>::fd_step() == std::cbrt(std::numeric_limits<T>::epsilon()));
  CHECK(std::isinf(numeric<T>::infinity()));
  CHECK(numeric<T>::infinity() > 0);
  CHECK(std::isnan(numeric<T>::quiet_nan()));
  // Ordered from the finest to the coarsest, and all usable (below 1).
  CHECK(numeric<T>::epsilon() < numeric<T>::compare_tolerance());
  CHECK(numeric<T>::compare_tolerance() < numeric<T>::fd_step());
  CHECK(numeric<T>::fd_tolerance() > numeric<T>::epsilon());
  CHECK(numeric<T>::fd_tolerance() < T(1));
}

TEST_CASE("float tolerances are coarser than double ones", "[core][numeric]") {
  CHECK(numeric<float>::compare_tolerance() > numeric<double>::compare_tolerance());
  CHECK(numeric<float>::fd_step() > numeric<double>::fd_step());
  CHECK(numeric<float>::fd_tolerance() > numeric<double>::fd_tolerance());
  // In double the finite-difference tolerance is about 1e3 * eps^(2/3) ~ 3.7e-8.
  CHECK(numeric<double>::fd_tolerance() == Approx(1e3 * std::pow(std::numeric_limits<double>::epsilon(), 2.0 / 3.0)));
}

TEST_CASE("a central difference with fd_step meets fd_tolerance on smooth functions", "[core][numeric]") {
  // What the two constants promise together: the O(h^2) truncation plus the O(eps / h)
  // round-off stay below fd_tolerance for well-scaled functions.
  const double h0 = numeric<double>::fd_step();
  for (double x : {-2.0, -0.3, 0.0, 0.7, 3.5, 40.0}) {
    const double h = h0 * std::max(1.0, std::abs(x));
    const double fd_sin = (std::sin(x + h) - std::sin(x - h)) / (2 * h);
    const double fd_tanh = (std::tanh(x + h) - std::tanh(x - h)) / (2 * h);
    const double t = std::tanh(x);
    CHECK(std::abs(fd_sin - std::cos(x)) < numeric<double>::fd_tolerance());
    CHECK(std::abs(fd_tanh - (1 - t * t)) < numeric<double>::fd_tolerance());
  }
}

TEST_CASE("PyG's and Spektral's additive guards have their values", "[core][numeric]") {
  CHECK(gnnpool::pyg_constants::softmax_denominator_eps == 1e-16);
  CHECK(gnnpool::pyg_constants::sqrt_degree_eps == 1e-15);
  CHECK(gnnpool::pyg_constants::log_eps == 1e-15);
  CHECK(gnnpool::pyg_constants::min_score_margin == 1e-7);
  CHECK(gnnpool::spektral_constants::segment_softmax_denominator_eps == 1e-9);
}

TEMPLATE_TEST_CASE("detail::all_finite finds a NaN or an infinity at any position, and nothing in finite extremes",
                   "[core][numeric]", float, double) {
  using L = std::numeric_limits<TestType>;
  const TestType extremes[] = {L::max(), L::lowest(), L::min(), L::denorm_min(), TestType(-0.0), TestType(0)};
  for (const gnnpool::Index n : {0, 1, 7, 16, 33}) {
    std::vector<TestType> v(static_cast<std::size_t>(n));
    for (std::size_t q = 0; q < v.size(); ++q) v[q] = extremes[q % 6];
    CHECK(gnnpool::detail::all_finite(v.data(), n));
    for (const TestType bad : {L::quiet_NaN(), L::infinity(), -L::infinity()})
      for (std::size_t q = 0; q < v.size(); ++q) {
        const TestType kept = v[q];
        v[q] = bad;
        CHECK_FALSE(gnnpool::detail::all_finite(v.data(), n));
        v[q] = kept;
      }
  }
  gnnpool::Vector<TestType> m = gnnpool::Vector<TestType>::Ones(5);
  CHECK(gnnpool::detail::all_finite(m));
  m[4] = L::quiet_NaN();
  CHECK_FALSE(gnnpool::detail::all_finite(m));
}

}  // namespace gnnpool_test_core_numeric
