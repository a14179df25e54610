// Tests of gnnpool/reduce/gather.hpp: gated gather with multiplier, its gradients to x and to
// the selection weights, and the errors of inconsistent input.

#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "select/score_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_reduce_gather {

using gnnpool::Batch;
using gnnpool::GatherReduce;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::ReducePolicy<GatherReduce<float>, HardSelection<float>>);
static_assert(gnnpool::ReducePolicy<GatherReduce<double>, HardSelection<double>>);

namespace {

/// 4 nodes, nodes 3 and 1 kept (in that order), weights (0.5, -2, 9, 0.25).
template <typename Scalar>
HardSelection<Scalar> keep_3_1() {
  HardSelection<Scalar> sel;
  sel.assignment = {-1, 1, -1, 0};
  sel.representative = {3, 1};
  sel.weight.resize(4);
  sel.weight << Scalar(0.5), Scalar(-2), Scalar(9), Scalar(0.25);
  sel.offsets = {0, 2};
  return sel;
}

template <typename Scalar>
Batch<Scalar> four_nodes() {
  Matrix<Scalar> x(4, 2);
  x << 1, 2, 3, 4, 5, 6, 7, 8;
  return gnnpool::make_graph<Scalar>(x, gnnpool::EdgeList{{0, 1}, {1, 3}});
}

}  // namespace

TEMPLATE_TEST_CASE("GatherReduce gathers representative rows gated by their weight, times the multiplier",
                   "[reduce][gather]", float, double) {
  const auto g = four_nodes<TestType>();
  const auto sel = keep_3_1<TestType>();
  Matrix<TestType> out;
  typename GatherReduce<TestType>::Cache cache;
  GatherReduce<TestType>().forward(g, sel, out, cache);
  Matrix<TestType> expected(2, 2);
  expected << TestType(1.75), 2, -6, -8;
  CHECK(out == expected);
  GatherReduce<TestType>(TestType(2)).forward(g, sel, out, cache);
  CHECK(out == TestType(2) * expected);
  GatherReduce<TestType>(TestType(3), false).forward(g, sel, out, cache);  // no gate
  expected << 21, 24, 9, 12;
  CHECK(out == expected);

  // Backward: dx only on kept rows, dw = c <dx', x>.
  Matrix<TestType> dout(2, 2);
  dout << 1, 0, 0, 1;
  gnnpool::BatchGrad<TestType> din{Matrix<TestType>::Zero(4, 2), {}};
  Vector<TestType> dsel = Vector<TestType>::Zero(4);
  GatherReduce<TestType>(TestType(2)).backward(g, sel, cache, dout, din, dsel);
  Matrix<TestType> dx(4, 2);
  dx << 0, 0, 0, -4, 0, 0, TestType(0.5), 0;
  CHECK(din.x == dx);
  Vector<TestType> dw(4);
  dw << 0, 8, 0, 14;
  CHECK(dsel == dw);
}

TEST_CASE("GatherReduce backward passes the gradient check for x and the weights", "[reduce][gather][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({7, 5}, 3.0, 3, 4, false);
  HardSelection<double> sel;
  sel.assignment = {2, -1, -1, 0, -1, -1, 1, -1, 3, -1, -1, -1};
  sel.representative = {3, 6, 0, 8};
  sel.offsets = {0, 3, 4};
  sel.weight = Vector<double>::LinSpaced(12, -1.5, 2.0);
  for (const bool gate : {true, false}) {
    const GatherReduce<double> reduce(-1.5, gate);
    gnnpool::testing::GradCheckProblem problem;
    problem.variables.push_back({"x", g.x.data(), g.x.size()});
    problem.variables.push_back({"weight", sel.weight.data(), sel.weight.size()});
    problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
      Matrix<double> x_out;
      GatherReduce<double>::Cache cache;
      reduce.forward(g, sel, x_out, cache);
      gnnpool::testing::append(x_out, out);
      return 0.0;
    };
    problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
      Matrix<double> dout = Eigen::Map<const Matrix<double>>(up.data(), 4, 3);
      gnnpool::BatchGrad<double> din{Matrix<double>::Zero(12, 3), {}};
      Vector<double> dsel = Vector<double>::Zero(12);
      GatherReduce<double>::Cache cache;
      reduce.backward(g, sel, cache, dout, din, dsel);
      gnnpool::testing::copy_gradient(din.x, grads[0]);
      gnnpool::testing::copy_gradient(dsel, grads[1]);
    };
    const auto result = gnnpool::testing::check_gradients(problem);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("GatherReduce rejects a non-finite multiplier and inconsistent selections", "[reduce][gather][errors]") {
  require_throws_with<gnnpool::invalid_argument>([] { (void)GatherReduce<double>(std::numeric_limits<double>::quiet_NaN()); },
                                                 {"GatherReduce", "multiplier must be finite"});
  const auto g = four_nodes<double>();
  auto sel = keep_3_1<double>();
  Matrix<double> out;
  GatherReduce<double>::Cache cache;
  sel.weight.resize(3);
  require_throws_with<gnnpool::shape_error>([&] { GatherReduce<double>().forward(g, sel, out, cache); },
                                            {"GatherReduce", "covers", "4 rows"});
  sel = keep_3_1<double>();
  sel.representative = {3, 7};
  require_throws_with<gnnpool::invalid_argument>([&] { GatherReduce<double>().forward(g, sel, out, cache); },
                                                 {"GatherReduce", "representative 7", "4 nodes"});
  sel = keep_3_1<double>();
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(4, 2), {}};
  Vector<double> dsel = Vector<double>::Zero(4);
  require_throws_with<gnnpool::shape_error>(
      [&] { GatherReduce<double>().backward(g, sel, cache, Matrix<double>::Zero(3, 2), din, dsel); },
      {"GatherReduce", "dx_out is 3 x 2", "expected 2 x 2"});
}

TEST_CASE("GatherReduce backward over several row chunks: distinct, shared and out-of-range representatives",
          "[reduce][gather][errors]") {
  // 3 000 nodes, 2 500 kept in a scrambled order: the backward's check runs over three chunks of
  // 1 024 output rows. Distinct representatives that own their supernode take the parallel
  // scatter; a representative shared by two rows takes the serial one; a bad one in the last
  // chunk is named by the rescan.
  const Index n = 3000, m = 2500, f = 3;
  Matrix<double> x(n, f);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < f; ++j) x(i, j) = std::sin(0.37 * double(i) + double(j));
  const auto g = gnnpool::make_graph<double>(x, gnnpool::EdgeList{{0, 1}});
  HardSelection<double> sel;
  sel.assignment.assign(static_cast<std::size_t>(n), HardSelection<double>::dropped);
  sel.representative.resize(static_cast<std::size_t>(m));
  sel.weight.resize(n);
  for (Index r = 0; r < m; ++r) {
    const Index i = (r * 7) % n;  // 7 is prime to 3 000: distinct nodes
    sel.representative[static_cast<std::size_t>(r)] = i;
    sel.assignment[static_cast<std::size_t>(i)] = r;
  }
  for (Index i = 0; i < n; ++i) sel.weight[i] = 0.5 + 0.25 * std::cos(double(i));
  sel.offsets = {0, m};
  Matrix<double> dx_out(m, f);
  for (Index r = 0; r < m; ++r)
    for (Index j = 0; j < f; ++j) dx_out(r, j) = std::cos(0.11 * double(r) - double(j));
  const double mult = 1.5;
  const auto expect = [&](const HardSelection<double>& s, Matrix<double>& dx, Vector<double>& dw) {
    dx.setZero(n, f);
    dw.setZero(n);
    for (Index r = 0; r < m; ++r) {
      const Index i = s.representative[static_cast<std::size_t>(r)];
      dx.row(i) += (mult * s.weight[i]) * dx_out.row(r);
      dw[i] += mult * dx_out.row(r).dot(x.row(i));
    }
  };
  GatherReduce<double>::Cache cache;
  Matrix<double> dx_ref;
  Vector<double> dw_ref;
  for (const bool shared : {false, true}) {
    if (shared) sel.representative[2400] = sel.representative[5];  // row 2 400 reuses row 5's node
    INFO("shared " << shared);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(n, f), {}};
    Vector<double> dsel = Vector<double>::Zero(n);
    GatherReduce<double>(mult).backward(g, sel, cache, dx_out, din, dsel);
    expect(sel, dx_ref, dw_ref);
    CHECK((din.x - dx_ref).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((dsel - dw_ref).cwiseAbs().maxCoeff() < 1e-12);
  }
  sel.representative[2300] = 5000;
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(n, f), {}};
  Vector<double> dsel = Vector<double>::Zero(n);
  require_throws_with<gnnpool::invalid_argument>(
      [&] { GatherReduce<double>(mult).backward(g, sel, cache, dx_out, din, dsel); },
      {"GatherReduce", "representative 5000", "3000 nodes"});
}

}  // namespace gnnpool_test_reduce_gather
