// Tests of gnnpool/loss/link.hpp: LinkLoss against the dense ||A - S S^T||_F in every
// normalisation, its gradients, float vs double, A = S S^T and the errors.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/link.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_link {

using gnnpool::Index;
using gnnpool::LinkLoss;
using gnnpool::LinkLossNormalization;
using gnnpool::LinkLossOptions;
using gnnpool::Matrix;

namespace {

/// The dense reference: residual norms per graph and the five combinations.
double dense_link_loss(const gnnpool::Batch<double>& batch, const gnnpool::SoftSelection<double>& sel,
                       LinkLossNormalization norm, Index padded) {
  const Index nb = batch.num_graphs();
  std::vector<double> e(static_cast<std::size_t>(nb));
  double total = 0, pairs = 0, per_graph = 0, per_pair = 0;
  Index nmax = 0;
  for (Index b = 0; b < nb; ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const Matrix<double> a = Matrix<double>(batch.adj).block(lo, lo, n, n);
    const Matrix<double> s = sel.s.middleRows(lo, n);
    const double r = (a - s * s.transpose()).squaredNorm();
    total += r;
    pairs += static_cast<double>(n * n);
    per_graph += std::sqrt(r) / static_cast<double>(nb);
    if (n > 0) per_pair += std::sqrt(r) / static_cast<double>(n * n) / static_cast<double>(nb);
    nmax = std::max(nmax, n);
  }
  if (padded > 0) nmax = padded;
  switch (norm) {
    case LinkLossNormalization::pyg: return std::sqrt(total) / static_cast<double>(nb * nmax * nmax);
    case LinkLossNormalization::none: return std::sqrt(total);
    case LinkLossNormalization::total_pairs: return std::sqrt(total) / pairs;
    case LinkLossNormalization::per_graph: return per_graph;
    case LinkLossNormalization::per_graph_pairs: return per_pair;
  }
  return 0;
}

const std::vector<LinkLossNormalization> all_norms{LinkLossNormalization::pyg, LinkLossNormalization::none,
                                                   LinkLossNormalization::total_pairs, LinkLossNormalization::per_graph,
                                                   LinkLossNormalization::per_graph_pairs};

}  // namespace

TEST_CASE("LinkLoss equals the dense ||A - S S^T||_F in every normalisation", "[loss][link]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 51);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 52);
  for (const auto norm : all_norms)
    for (const Index padded : {Index(0), Index(9)}) {
      const LinkLoss<double> loss(1.0, LinkLossOptions{norm, padded});
      CHECK(loss.name() == "link_loss");
      const double expected = dense_link_loss(batch, sel, norm, norm == LinkLossNormalization::pyg ? padded : 0);
      CHECK(gnnpool::test::loss_value(loss, batch, sel) == Approx(expected).epsilon(1e-12));
    }
}

TEST_CASE("LinkLoss backward matches finite differences in every normalisation, float matches double",
          "[loss][link][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 61);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 62);
  for (const auto norm : all_norms) {
    INFO("normalisation " << static_cast<int>(norm));
    const auto check = gnnpool::test::check_loss_policy(
        [norm]<typename S>() { return LinkLoss<S>(S(0.8), LinkLossOptions{norm, 0}); }, batch, sel);
    INFO(check.gradients.log);
    CHECK(check.gradients.ok);
    CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEST_CASE("LinkLoss is 0 with a finite zero gradient when A = S S^T", "[loss][link][degenerate]") {
  // S one-hot: {0, 1} -> cluster 0, {2} -> cluster 1; A = S S^T stored densely (explicit zeros).
  Matrix<double> s(3, 2);
  s << 1, 0, 1, 0, 0, 1;
  const Matrix<double> a = s * s.transpose();
  const auto batch = gnnpool::from_dense_batch<double>(Matrix<double>::Ones(3, 1), a, {}, 1);
  gnnpool::SoftSelection<double> sel{s, batch.offsets};
  const LinkLoss<double> loss;
  LinkLoss<double>::Cache cache;
  CHECK(loss.forward(batch, sel, cache) == 0.0);
  gnnpool::BatchGrad<double> din;
  din.adj.setZero(batch.num_edges());
  Matrix<double> ds = Matrix<double>::Zero(3, 2);
  loss.backward(batch, sel, cache, 1.0, din, ds);
  CHECK(ds.isZero(0));
  CHECK(din.adj.isZero(0));
  // Perturbing A makes it positive.
  auto other = batch;
  other.adj.valuePtr()[0] = 0.5;
  CHECK(gnnpool::test::loss_value(loss, other, sel) > 0.0);
}

TEST_CASE("LinkLoss rejects a padded size below the largest graph", "[loss][link][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 2);
  LinkLoss<double>::Cache cache;
  const LinkLoss<double> loss(1.0, LinkLossOptions{LinkLossNormalization::pyg, 3});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { (void)loss.forward(batch, sel, cache); },
                                                                {"LinkLoss", "padded_size 3", "7 nodes"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { LinkLoss<double>(1.0, LinkLossOptions{LinkLossNormalization::pyg, -1}); }, {"LinkLoss", "-1"});
}

}  // namespace gnnpool_test_loss_link
