// Tests of gnnpool/reduce/soft.hpp: SoftReduce (S^T X per graph, SELU / cluster-mean options)
// against dense formulas, gradients, float vs double, errors.

#include <gnnpool/reduce/soft.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_reduce_soft {

using gnnpool::Activation;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::SoftReduce;
using gnnpool::SoftReduceOptions;

namespace {

const SoftReduceOptions all_options[] = {
    {Activation::identity, false}, {Activation::selu, false}, {Activation::identity, true},
    {Activation::selu, true},      {Activation::tanh, true}};

double selu(double v) {
  const double a = 1.6732632423543772848170429916717, s = 1.0507009873554804934193349852946;
  return v > 0 ? s * v : s * a * std::expm1(v);
}

}  // namespace

TEMPLATE_TEST_CASE("SoftReduce pools S^T X per graph, with SELU and the cluster mean as options", "[reduce][soft]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 131);
  const auto sel = gnnpool::test::soft_test_selection(batch, 2, 132);
  for (const auto& options : all_options) {
    const SoftReduce<TestType> reduce(options);
    Matrix<TestType> out;
    typename SoftReduce<TestType>::Cache cache;
    reduce.forward(batch, sel, out, cache);
    REQUIRE(out.rows() == 2 * batch.num_graphs());
    REQUIRE(out.cols() == 3);
    for (Index b = 0; b < batch.num_graphs(); ++b) {
      const Matrix<double> s = sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b)).template cast<double>();
      Matrix<double> z = s.transpose() * batch.x.middleRows(batch.graph_begin(b), batch.graph_size(b)).template cast<double>();
      if (options.cluster_mean) z = s.colwise().sum().cwiseInverse().asDiagonal() * z;
      if (options.activation == Activation::selu) z = z.unaryExpr(&selu);
      if (options.activation == Activation::tanh) z = z.array().tanh().matrix();
      CHECK(gnnpool::test::max_relative_error(out.middleRows(2 * b, 2), z) < gnnpool::numeric<TestType>::compare_tolerance());
    }
  }
}

TEST_CASE("SoftReduce backward matches finite differences for every option, float matches double",
          "[reduce][soft][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 141);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 142);
  for (const auto& options : all_options) {
    const auto check = gnnpool::test::check_policy(
        [options]<typename S>() { return SoftReduce<S>(options); },
        [](const auto& reduce, const auto& b, const auto& s, std::vector<double>& out, auto& cache) {
          Matrix<typename std::decay_t<decltype(b)>::Scalar> x;
          reduce.forward(b, s, x, cache);
          gnnpool::testing::append(x, out);
        },
        [](const auto& reduce, const auto& b, const auto& s, const auto& cache, const auto& g, auto& din, auto& ds) {
          using S = typename std::decay_t<decltype(b)>::Scalar;
          const Matrix<S> dx = Eigen::Map<const Matrix<S>>(g.data(), s.num_supernodes(), b.x.cols());
          reduce.backward(b, s, cache, dx, din, ds);
        },
        batch, sel, {.s = true, .x = true, .adj = false});
    INFO("activation " << gnnpool::activation_name(options.activation) << ", cluster_mean " << options.cluster_mean);
    INFO(check.gradients.log);
    CHECK(check.gradients.ok);
    CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEST_CASE("SoftReduce gives zero rows for an empty graph", "[reduce][soft][degenerate]") {
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(2, 3), gnnpool::EdgeList{{0, 1}});
  batch.offsets = {0, 0, 2};
  gnnpool::SoftSelection<double> sel{Matrix<double>::Constant(2, 2, 0.5), batch.offsets};
  for (const auto& options : all_options) {
    Matrix<double> out;
    SoftReduce<double>::Cache cache;
    SoftReduce<double>(options).forward(batch, sel, out, cache);
    CHECK(out.allFinite());
    if (options.activation != Activation::tanh) CHECK(out.topRows(2).isZero(0));
  }
}

TEST_CASE("SoftReduce rejects mismatched selections and gradients", "[reduce][soft][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 1);
  auto sel = gnnpool::test::soft_test_selection(batch, 2, 2);
  Matrix<double> out;
  SoftReduce<double>::Cache cache;
  const SoftReduce<double> reduce;
  reduce.forward(batch, sel, out, cache);
  gnnpool::BatchGrad<double> din;
  Matrix<double> ds;
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { reduce.backward(batch, sel, cache, Matrix<double>::Zero(8, 2), din, ds); },
      {"SoftReduce backward", "8 x 2", "8 x 3"});
  sel.s = Matrix<double>::Zero(3, 2);
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { reduce.forward(batch, sel, out, cache); },
                                                           {"SoftReduce", "3 x 2", "19 nodes"});
}

}  // namespace gnnpool_test_reduce_soft
