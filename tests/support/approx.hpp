#ifndef GNNPOOL_TESTS_SUPPORT_APPROX_HPP
#define GNNPOOL_TESTS_SUPPORT_APPROX_HPP

// Helpers shared by the unit tests: relative comparison of Eigen objects and float-vs-double.

#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>

namespace gnnpool::test {

/// max|a - b| / max(1, max|b|): relative for large values, absolute for small ones.
template <typename A, typename B>
double max_relative_error(const Eigen::DenseBase<A>& a, const Eigen::DenseBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  if (a.size() == 0) return 0.0;
  const double diff = (a.derived().template cast<double>() - b.derived().template cast<double>()).cwiseAbs().maxCoeff();
  const double scale = std::max(1.0, b.derived().template cast<double>().cwiseAbs().maxCoeff());
  return diff / scale;
}

}  // namespace gnnpool::test

#endif
