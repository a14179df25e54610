// Tests of gnnpool/connect/cluster.hpp: A' = S^T A S without (or with) the diagonal against a
// dense oracle, dropped nodes, the gradient to the input edge weights, and bad selections.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_cluster {

using gnnpool::Batch;
using gnnpool::BatchGrad;
using gnnpool::ClusterConnect;
using gnnpool::ClusterConnectOptions;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::SparseMatrix;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

namespace {

/// A random assignment of each graph's nodes to clusters of that graph (some dropped).
template <typename Scalar>
HardSelection<Scalar> random_selection(const Batch<Scalar>& g, std::uint64_t seed, bool drop) {
  std::mt19937_64 rng(seed);
  HardSelection<Scalar> s;
  s.offsets = {0};
  for (Index b = 0; b < g.num_graphs(); ++b) {
    const Index first = s.offsets.back();
    const Index k = std::max<Index>(1, g.graph_size(b) / 3);
    for (Index i = g.graph_begin(b); i < g.graph_begin(b + 1); ++i) {
      const Index c = static_cast<Index>(rng() % static_cast<std::uint64_t>(k + (drop ? 1 : 0)));
      s.assignment.push_back(c == k ? -1 : first + c);
    }
    for (Index c = 0; c < k; ++c) s.representative.push_back(g.graph_begin(b));
    s.offsets.push_back(first + k);
  }
  s.weight.setOnes(g.num_nodes());
  return s;
}

/// Dense S^T A S from the assignment (oracle).
template <typename Scalar>
Matrix<double> dense_oracle(const Batch<Scalar>& g, const HardSelection<Scalar>& s, bool keep_diagonal) {
  const Index m = s.num_supernodes();
  Matrix<double> st = Matrix<double>::Zero(m, g.num_nodes());
  for (Index i = 0; i < g.num_nodes(); ++i)
    if (s.assignment[static_cast<std::size_t>(i)] >= 0) st(s.assignment[static_cast<std::size_t>(i)], i) = 1;
  Matrix<double> out = st * Matrix<double>(Matrix<Scalar>(g.adj).template cast<double>()) * st.transpose();
  if (!keep_diagonal) out.diagonal().setZero();
  return out;
}

}  // namespace

static_assert(gnnpool::ConnectPolicy<ClusterConnect<double>, HardSelection<double>>);
static_assert(gnnpool::ConnectPolicy<ClusterConnect<float>, HardSelection<float>>);

TEMPLATE_TEST_CASE("ClusterConnect sums the edges between clusters and drops self loops", "[connect][cluster]", float,
                   double) {
  // Path 0-1-2-3 with weights 1, 2, 3, clusters {0, 1}, {2, 3}: one edge of weight 2 between
  // them; the inner edges 1 and 3 vanish (or stay as self loops 2 and 6 with keep_self_loops).
  const auto g = gnnpool::test::weighted_graph<TestType>(4, EdgeList{{0, 1}, {1, 2}, {2, 3}}, {1, 2, 3});
  HardSelection<TestType> s;
  s.assignment = {0, 0, 1, 1};
  s.representative = {0, 2};
  s.offsets = {0, 2};
  s.weight.setOnes(4);
  SparseMatrix<TestType> out;
  typename ClusterConnect<TestType>::Cache cache;
  ClusterConnect<TestType>().forward(g, s, out, cache);
  CHECK(out.nonZeros() == 2);
  CHECK(out.coeff(0, 1) == TestType(2));
  CHECK(out.coeff(1, 0) == TestType(2));
  CHECK(out.isCompressed());
  ClusterConnect<TestType>(ClusterConnectOptions{true}).forward(g, s, out, cache);
  CHECK(out.nonZeros() == 4);
  CHECK(out.coeff(0, 0) == TestType(2));
  CHECK(out.coeff(1, 1) == TestType(6));
}

TEMPLATE_TEST_CASE("ClusterConnect equals the dense S^T A S on random batches with dropped nodes", "[connect][cluster]",
                   float, double) {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const auto g = gnnpool::test::random_cluster_batch<TestType>({20, 0, 13, 1}, 4.0, 1, seed);
    for (const bool drop : {false, true})
      for (const bool keep : {false, true}) {
        const auto s = random_selection(g, seed + 100, drop);
        SparseMatrix<TestType> out;
        typename ClusterConnect<TestType>::Cache cache;
        ClusterConnect<TestType>(ClusterConnectOptions{keep}).forward(g, s, out, cache);
        REQUIRE(out.rows() == s.num_supernodes());
        CHECK(gnnpool::test::max_relative_error(Matrix<TestType>(out).template cast<double>(), dense_oracle(g, s, keep)) < 1e-5);
        // Sorted, distinct columns in each row; block-diagonal over the selection's graphs.
        for (Index r = 0; r < out.rows(); ++r)
          for (auto p = out.outerIndexPtr()[r] + 1; p < out.outerIndexPtr()[r + 1]; ++p)
            CHECK(out.innerIndexPtr()[p - 1] < out.innerIndexPtr()[p]);
        Batch<TestType> pooled;
        pooled.adj = out;
        pooled.x.resize(out.rows(), 0);
        pooled.offsets = s.offsets;
        CHECK_NOTHROW(gnnpool::check_batch(pooled, "test"));
      }
  }
}

TEMPLATE_TEST_CASE("ClusterConnect sorts short and long pooled rows", "[connect][cluster]", float, double) {
  // Rows of up to 64 columns are sorted by counted ranks, longer ones by std::sort: a dense graph
  // of 600 nodes in 200 clusters gives rows of about 120 columns, one of 150 nodes rows of at
  // most 50.
  const auto g = gnnpool::test::random_cluster_batch<TestType>({600, 150}, 40.0, 1, 3);
  const auto s = random_selection(g, 7, false);
  SparseMatrix<TestType> out;
  typename ClusterConnect<TestType>::Cache cache;
  ClusterConnect<TestType>().forward(g, s, out, cache);
  CHECK(gnnpool::test::max_relative_error(Matrix<TestType>(out).template cast<double>(), dense_oracle(g, s, false)) < 1e-5);
  Index short_rows = 0, long_rows = 0;
  for (Index r = 0; r < out.rows(); ++r) {
    const auto len = out.outerIndexPtr()[r + 1] - out.outerIndexPtr()[r];
    (len > 64 ? long_rows : short_rows) += len > 1 ? 1 : 0;
    for (auto p = out.outerIndexPtr()[r] + 1; p < out.outerIndexPtr()[r + 1]; ++p)
      REQUIRE(out.innerIndexPtr()[p - 1] < out.innerIndexPtr()[p]);
  }
  CHECK(short_rows > 10);
  CHECK(long_rows > 10);
}

TEST_CASE("ClusterConnect backward: each input edge gets the gradient of the pooled edge it joined",
          "[connect][cluster][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({15, 9}, 4.0, 1, 3);
  const auto s = random_selection(g, 4, true);
  const ClusterConnect<double> connect;
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"adj", g.adj.valuePtr(), g.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>& discrete) {
    SparseMatrix<double> a;
    ClusterConnect<double>::Cache cache;
    connect.forward(g, s, a, cache);
    for (Index e = 0; e < a.nonZeros(); ++e) {
      out.push_back(a.valuePtr()[e]);
      discrete.push_back(a.innerIndexPtr()[e]);
    }
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    SparseMatrix<double> a;
    ClusterConnect<double>::Cache cache;
    connect.forward(g, s, a, cache);
    Vector<double> dout = Eigen::Map<const Vector<double>>(up.data(), static_cast<Index>(up.size()));
    BatchGrad<double> din;
    din.adj.setZero(g.adj.nonZeros());
    Vector<double> dsel;
    connect.backward(g, s, cache, dout, din, dsel);
    gnnpool::testing::copy_gradient(din.adj, grads[0]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("ClusterConnect rejects selections that do not fit the adjacency", "[connect][cluster][errors]") {
  const auto g = gnnpool::test::weighted_graph<double>(3, EdgeList{{0, 1}, {1, 2}}, {1, 1});
  HardSelection<double> s;
  s.assignment = {0, 0};
  s.representative = {0};
  s.offsets = {0, 1};
  SparseMatrix<double> out;
  ClusterConnect<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().forward(g, s, out, cache); },
                                            {"ClusterConnect", "2 assignments", "3 nodes"});
  s.assignment = {0, 0, 4};
  require_throws_with<gnnpool::invalid_argument>([&] { ClusterConnect<double>().forward(g, s, out, cache); },
                                                 {"ClusterConnect", "assignment[2] = 4", "1 supernodes"});
  s.assignment = {0, 0, 0};
  ClusterConnect<double>().forward(g, s, out, cache);
  cache.input_entries = 3;  // as if the cache came from another graph
  BatchGrad<double> din;
  din.adj.setZero(g.adj.nonZeros());
  Vector<double> dsel;
  require_throws_with<gnnpool::shape_error>(
      [&] { ClusterConnect<double>().backward(g, s, cache, Vector<double>(), din, dsel); },
      {"ClusterConnect", "cache holds 3 entries", "stores 4"});
  // A cache whose indices do not fit the graph (another forward's, tampered) is an error, not an
  // out-of-range read or write.
  s.assignment = {0, 0, 1};  // two clusters joined by the edge (1, 2)
  s.representative = {0, 2};
  s.offsets = {0, 2};
  ClusterConnect<double>().forward(g, s, out, cache);
  REQUIRE(out.nonZeros() == 2);
  const Vector<double> dout = Vector<double>::Zero(out.nonZeros());
  ClusterConnect<double>().backward(g, s, cache, dout, din, dsel);  // the cache of this forward: fine
  auto member = cache;
  member.member[0] = 7;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, member, dout, din, dsel); },
                                            {"ClusterConnect backward", "names node 7", "3 nodes", "same forward"});
  auto slot = cache;
  slot.bucket_slot.back() = 50;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, slot, dout, din, dsel); },
                                            {"ClusterConnect backward", "place 50 of pooled row 1", "same forward"});
  auto rows = cache;
  rows.row_start.back() = 9;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, rows, dout, din, dsel); },
                                            {"ClusterConnect backward", "hold 9 entries", "gradient has 2", "same forward"});
  auto order = cache;
  order.row_start[1] = 3;
  order.row_start[2] = 2;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, order, dout, din, dsel); },
                                            {"ClusterConnect backward", "pooled row 2", "before", "same forward"});
  auto range = cache;
  range.member_start.back() = 9;
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, range, dout, din, dsel); },
                                            {"ClusterConnect backward", "members", "same forward"});
  BatchGrad<double> short_din;
  short_din.adj.setZero(2);
  require_throws_with<gnnpool::shape_error>([&] { ClusterConnect<double>().backward(g, s, cache, dout, short_din, dsel); },
                                            {"ClusterConnect", "din.adj has 2 entries", "stores 4"});
}

}  // namespace gnnpool_test_connect_cluster
