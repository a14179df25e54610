// Tests of gnnpool/select/soft_assign.hpp: SoftAssignSelect with every scorer (Linear, MLP,
// GCNConv, GraphConv, CallerLogits), temperature, gradients, float vs double, errors.

#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/select/soft_assign.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_soft_assign {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SoftAssignSelect;

namespace {

/// Gradient check of a select policy: variables x, adj values (graph scorers) and parameters;
/// output S; backward adds into din (zeroed here) and assigns the parameter gradients.
template <typename Select>
gnnpool::testing::GradCheckResult check_select(const Select& select, ParameterSet<double>& params,
                                               Batch<double>& batch, bool adj) {
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  if (adj) problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  gnnpool::testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    typename Select::Selection sel;
    typename Select::Cache cache;
    select.forward(params, batch, sel, cache);
    gnnpool::testing::append(sel.s, out);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    typename Select::Selection sel;
    typename Select::Cache cache;
    select.forward(params, batch, sel, cache);
    const Matrix<double> ds = Eigen::Map<const Matrix<double>>(up.data(), sel.s.rows(), sel.s.cols());
    gnnpool::BatchGrad<double> din;
    din.x.setZero(batch.x.rows(), batch.x.cols());
    din.adj.setZero(batch.adj.nonZeros());
    ParameterSet<double> dparams = params.zeros_like();
    gnnpool::testing::poison(dparams);
    select.backward(params, batch, sel, cache, ds, din, dparams);
    std::size_t v = 0;
    gnnpool::testing::copy_gradient(din.x, grads[v++]);
    if (adj) gnnpool::testing::copy_gradient(din.adj, grads[v++]);
    for (Index s = 0; s < dparams.size(); ++s) gnnpool::testing::copy_gradient(dparams[s], grads[v++]);
  };
  return gnnpool::testing::check_gradients(problem);
}

}  // namespace

TEMPLATE_TEST_CASE("SoftAssignSelect is softmax(Linear(x) / T) with the batch's offsets", "[select][soft_assign]", float,
                   double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 7);
  ParameterSet<TestType> params;
  gnnpool::Linear<TestType> lin(params, "assign", 3, 4);
  params.initialize(5);
  const SoftAssignSelect<gnnpool::Linear<TestType>> select(lin, TestType(0.5));
  CHECK(select.num_clusters() == 4);
  CHECK(select.temperature() == TestType(0.5));
  gnnpool::SoftSelection<TestType> sel;
  typename SoftAssignSelect<gnnpool::Linear<TestType>>::Cache cache;
  select.forward(params, batch, sel, cache);
  Matrix<TestType> logits;
  typename gnnpool::Linear<TestType>::Cache lin_cache;
  lin.forward(params, batch.x, logits, lin_cache);
  for (Index i = 0; i < batch.num_nodes(); ++i) {
    const Eigen::Array<double, 1, Eigen::Dynamic> e = (logits.row(i).template cast<double>().array() / 0.5).exp();
    CHECK(gnnpool::test::max_relative_error(sel.s.row(i), (e / e.sum()).matrix()) <
          gnnpool::numeric<TestType>::compare_tolerance());
  }
  CHECK(sel.offsets == batch.offsets);
  CHECK(sel.num_supernodes() == 4 * batch.num_graphs());
}

TEST_CASE("SoftAssignSelect backward matches finite differences for every scorer", "[select][soft_assign][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 17);
  {
    ParameterSet<double> params;
    const SoftAssignSelect select(gnnpool::Linear<double>(params, "lin", 3, 4), 0.7);
    params.initialize(1);
    const auto r = check_select(select, params, batch, false);
    INFO(r.log);
    CHECK(r.ok);
  }
  {
    ParameterSet<double> params;
    const SoftAssignSelect select(gnnpool::MLP<double>(params, "mlp", {3, 5, 4}, gnnpool::Activation::tanh));
    params.initialize(2);
    const auto r = check_select(select, params, batch, false);
    INFO(r.log);
    CHECK(r.ok);
  }
  {
    ParameterSet<double> params;
    const SoftAssignSelect select(gnnpool::GCNConv<double>(params, "gcn", 3, 4), 2.0);
    params.initialize(3);
    const auto r = check_select(select, params, batch, true);
    INFO(r.log);
    CHECK(r.ok);
  }
  {
    ParameterSet<double> params;
    const SoftAssignSelect select(gnnpool::GraphConv<double>(params, "conv", 3, 4));
    params.initialize(4);
    const auto r = check_select(select, params, batch, true);
    INFO(r.log);
    CHECK(r.ok);
  }
}

TEST_CASE("SoftAssignSelect with CallerLogits returns dL/dlogits and no input gradient", "[select][soft_assign]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 27);
  const Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 8);
  const gnnpool::ConstMatrixRef<double> ref(logits);
  ParameterSet<double> none;
  const SoftAssignSelect select(gnnpool::CallerLogits<double>(&ref), 1.5);
  gnnpool::SoftSelection<double> sel;
  decltype(select)::Cache cache;
  select.forward(none, batch, sel, cache);
  CHECK(sel.s.rowwise().sum().isOnes(1e-14));
  // dL/dlogits by finite differences on the logits themselves.
  const Matrix<double> ds = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 9);
  Matrix<double> dlogits;
  const SoftAssignSelect back(gnnpool::CallerLogits<double>(nullptr, &dlogits), 1.5);
  gnnpool::BatchGrad<double> din;
  din.x.setZero(batch.num_nodes(), 3);
  ParameterSet<double> dnone;
  back.backward(none, batch, sel, cache, ds, din, dnone);
  CHECK(din.x.isZero(0));
  const double h = 1e-6;
  for (Index i = 0; i < logits.size(); i += 5) {
    Matrix<double> lp = logits, lm = logits;
    lp.data()[i] += h;
    lm.data()[i] -= h;
    auto value = [&](const Matrix<double>& l) {
      const gnnpool::ConstMatrixRef<double> r(l);
      gnnpool::SoftSelection<double> s;
      SoftAssignSelect(gnnpool::CallerLogits<double>(&r), 1.5).forward(none, batch, s, cache);
      return s.s.cwiseProduct(ds).sum();
    };
    CHECK(dlogits.data()[i] == Approx((value(lp) - value(lm)) / (2 * h)).margin(1e-8));
  }
}

TEST_CASE("SoftAssignSelect rejects bad temperatures, logits and gradients", "[select][soft_assign][errors]") {
  ParameterSet<double> params;
  gnnpool::Linear<double> lin(params, "lin", 3, 2);
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { SoftAssignSelect(lin, 0.0); },
                                                                {"SoftAssignSelect", "temperature", "0"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { SoftAssignSelect(lin, std::numeric_limits<double>::infinity()); }, {"SoftAssignSelect", "inf"});
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 1);
  const Matrix<double> logits = Matrix<double>::Zero(4, 2);
  const gnnpool::ConstMatrixRef<double> ref(logits);
  gnnpool::SoftSelection<double> sel;
  SoftAssignSelect<gnnpool::CallerLogits<double>>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { SoftAssignSelect(gnnpool::CallerLogits<double>(&ref)).forward(params, batch, sel, cache); },
      {"CallerLogits", "4 x 2", "19 nodes"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { SoftAssignSelect(gnnpool::CallerLogits<double>()).forward(params, batch, sel, cache); },
      {"CallerLogits", "no logits"});
  const SoftAssignSelect select(lin);
  params.initialize(1);
  SoftAssignSelect<gnnpool::Linear<double>>::Cache lcache;
  select.forward(params, batch, sel, lcache);
  gnnpool::BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { select.backward(params, batch, sel, lcache, Matrix<double>::Zero(3, 2), din, dparams); },
      {"SoftAssignSelect backward", "3 x 2", "19 x 2"});
  auto wrong = batch;
  wrong.x = Matrix<double>::Zero(19, 5);
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { select.forward(params, wrong, sel, lcache); },
                                                           {"Linear", "19 x 5", "3 input features"});
}

}  // namespace gnnpool_test_select_soft_assign
