// Tests of gnnpool/loss/cluster.hpp: ClusterLoss (DMoN's collapse regulariser) per graph, unlike
// PyG's batch bug #10148; gradients, float vs double, bounds, errors.

#include <gnnpool/loss/cluster.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_cluster {

using gnnpool::ClusterLoss;
using gnnpool::Index;
using gnnpool::Matrix;

TEMPLATE_TEST_CASE("ClusterLoss is the per-graph mean of sqrt(K) ||sum_i S_i|| / n_b - 1", "[loss][cluster]", float,
                   double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(2, 111);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 112);
  double expected = 0, pyg_bug = 0;
  const Index nb = batch.num_graphs();
  Eigen::VectorXd norms(nb), sizes(nb);
  for (Index b = 0; b < nb; ++b) {
    const Matrix<double> s = sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b)).template cast<double>();
    norms[b] = s.colwise().sum().norm();
    sizes[b] = static_cast<double>(batch.graph_size(b));
    expected += norms[b] / sizes[b] * 2.0 - 1.0;
  }
  expected /= static_cast<double>(nb);
  // PyG 2.8: norms [B] / mask.sum(dim=1) [B, 1] broadcasts to B x B before the mean.
  for (Index r = 0; r < nb; ++r)
    for (Index c = 0; c < nb; ++c) pyg_bug += (norms[c] / sizes[r] * 2.0 - 1.0) / static_cast<double>(nb * nb);
  const ClusterLoss<TestType> loss;
  CHECK(loss.name() == "cluster_loss");
  const double value = static_cast<double>(gnnpool::test::loss_value(loss, batch, sel));
  CHECK(value == Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
  CHECK(std::abs(value - pyg_bug) > 1e-3);  // the corrected value, not PyG's
}

TEST_CASE("ClusterLoss backward matches finite differences, float matches double", "[loss][cluster][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 121);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 122);
  const auto check = gnnpool::test::check_loss_policy([]<typename S>() { return ClusterLoss<S>(S(0.1)); }, batch, sel,
                                                      {.s = true, .x = false, .adj = false});
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("ClusterLoss counts an empty graph as 0", "[loss][cluster][degenerate]") {
  gnnpool::Batch<double> batch = gnnpool::make_graph<double>(Matrix<double>::Ones(2, 1), gnnpool::EdgeList{});
  batch.offsets = {0, 0, 2};
  gnnpool::SoftSelection<double> sel{Matrix<double>::Identity(2, 2), batch.offsets};
  ClusterLoss<double>::Cache cache;
  // (0 + 0) / 2: graph 0 empty, graph 1 balanced one-hot.
  CHECK(ClusterLoss<double>().forward(batch, sel, cache) == Approx(0.0).margin(1e-15));
  gnnpool::BatchGrad<double> din;
  Matrix<double> ds = Matrix<double>::Zero(2, 2);
  ClusterLoss<double>().backward(batch, sel, cache, 1.0, din, ds);
  CHECK(ds.allFinite());
}

TEST_CASE("ClusterLoss rejects a selection of another batch", "[loss][cluster][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  auto sel = gnnpool::test::soft_test_selection(batch, 2, 3);
  sel.offsets = {0, 10, 19};
  ClusterLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { (void)ClusterLoss<double>().forward(batch, sel, cache); },
                                                                {"ClusterLoss", "2 graphs", "4 graphs"});
}

}  // namespace gnnpool_test_loss_cluster
