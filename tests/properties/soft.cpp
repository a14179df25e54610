// Properties of the soft-clustering poolers (MinCut, DiffPool, DMoN):
// - the analytic oracles of pooling-anchors §5 (cut loss, orthogonality bounds, spectral loss =
//   -modularity, cluster loss bounds, entropy 0 / log K, link loss 0 iff A = S S^T);
// - two soft poolers chained, gradient-checked end to end (x, edge weights, both poolers' params);
// - PyG's padded dense formulas (re-implemented here, with masks) give gnnpool's unpadded results,
//   and a batch storing every pair gives the same numbers as the sparse one;
// - edgeless graphs: gnnpool finite where PyG's formulas give NaN;
// - node-permutation equivariance.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>

#include "support/soft.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_properties_soft {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SoftSelection;

namespace {

using Dense = Eigen::MatrixXd;

/// Two components: the triangle {0, 1, 2} and the path 3 - 4 - 5 - 6.
Batch<double> two_components() {
  return gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(7, 2, 1),
                                     EdgeList{{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {5, 6}});
}

SoftSelection<double> selection(const Batch<double>& b, const Matrix<double>& s) { return {s, b.offsets}; }

template <typename Loss>
double value(const Loss& loss, const Batch<double>& b, const SoftSelection<double>& sel) {
  return gnnpool::test::loss_value(loss, b, sel);
}

}  // namespace

TEST_CASE("Oracles: MinCut cut loss and orthogonality (pooling-anchors §5)", "[properties][soft][oracles]") {
  const auto g = two_components();
  Matrix<double> onehot = Matrix<double>::Zero(7, 2);
  onehot.block(0, 0, 3, 1).setOnes();
  onehot.block(3, 1, 4, 1).setOnes();
  CHECK(value(gnnpool::MinCutLoss<double>(), g, selection(g, onehot)) == Approx(-1.0).epsilon(1e-14));
  for (const Index k : {2, 3, 5}) {
    const Matrix<double> uniform = Matrix<double>::Constant(7, k, 1.0 / static_cast<double>(k));
    CHECK(value(gnnpool::MinCutLoss<double>(), g, selection(g, uniform)) == Approx(-1.0).epsilon(1e-14));
    CHECK(value(gnnpool::OrthogonalityLoss<double>(), g, selection(g, uniform)) ==
          Approx(std::sqrt(2.0 - 2.0 / std::sqrt(static_cast<double>(k)))).epsilon(1e-14));
  }
  // Balanced one-hot: S^T S = 2 I.
  Matrix<double> balanced = Matrix<double>::Zero(6, 3);
  for (Index i = 0; i < 6; ++i) balanced(i, i % 3) = 1;
  const auto g6 = gnnpool::make_graph<double>(Matrix<double>::Ones(6, 1), EdgeList{{0, 1}, {2, 3}, {4, 5}});
  CHECK(value(gnnpool::OrthogonalityLoss<double>(), g6, selection(g6, balanced)) == Approx(0.0).margin(1e-15));
}

TEST_CASE("Oracles: DMoN spectral loss is -modularity, cluster loss bounds", "[properties][soft][oracles]") {
  const auto g = two_components();
  const Matrix<double> uniform = Matrix<double>::Constant(7, 3, 1.0 / 3.0);
  CHECK(value(gnnpool::ModularityLoss<double>(), g, selection(g, uniform)) == Approx(0.0).margin(1e-15));
  Matrix<double> onehot = Matrix<double>::Zero(7, 2);
  onehot.block(0, 0, 3, 1).setOnes();
  onehot.block(3, 1, 4, 1).setOnes();
  // vol = 6 + 6 = 12 (triangle: 3 edges, path: 3 edges); Q = 1 - (6/12)^2 - (6/12)^2 = 0.5.
  CHECK(value(gnnpool::ModularityLoss<double>(), g, selection(g, onehot)) == Approx(-0.5).epsilon(1e-14));
  // An unbalanced partition {0, 1, 2, 3} | {4, 5, 6} that cuts the edge (3, 4):
  // Q = sum_c (internal_c / vol - (vol_c / vol)^2).
  Matrix<double> other = Matrix<double>::Zero(7, 2);
  other.col(0).head(4).setOnes();
  other.col(1).tail(3).setOnes();
  const double vol0 = 7, vol1 = 5, internal0 = 2 * 3, internal1 = 2 * 2, vol = 12;
  const double q = (internal0 + internal1) / vol - (vol0 / vol) * (vol0 / vol) - (vol1 / vol) * (vol1 / vol);
  CHECK(value(gnnpool::ModularityLoss<double>(), g, selection(g, other)) == Approx(-q).epsilon(1e-14));
  // Cluster loss: 0 for balanced one-hot clusters, sqrt(K) - 1 for a single cluster.
  Matrix<double> balanced = Matrix<double>::Zero(6, 3);
  for (Index i = 0; i < 6; ++i) balanced(i, i % 3) = 1;
  const auto g6 = gnnpool::make_graph<double>(Matrix<double>::Ones(6, 1), EdgeList{{0, 1}});
  CHECK(value(gnnpool::ClusterLoss<double>(), g6, selection(g6, balanced)) == Approx(0.0).margin(1e-15));
  Matrix<double> single = Matrix<double>::Zero(6, 3);
  single.col(2).setOnes();
  CHECK(value(gnnpool::ClusterLoss<double>(), g6, selection(g6, single)) == Approx(std::sqrt(3.0) - 1.0).epsilon(1e-14));
}

TEST_CASE("Oracles: DiffPool entropy 0 / log K and link loss 0 iff A = S S^T", "[properties][soft][oracles]") {
  const auto g = two_components();
  Matrix<double> onehot = Matrix<double>::Zero(7, 2);
  onehot.block(0, 0, 3, 1).setOnes();
  onehot.block(3, 1, 4, 1).setOnes();
  const gnnpool::EntropyLoss<double> entropy(1.0, {gnnpool::EntropyLossReduction::nodes, 0});
  CHECK(value(entropy, g, selection(g, onehot)) == Approx(0.0).margin(1e-14));
  for (const Index k : {2, 4, 7})
    CHECK(value(entropy, g, selection(g, Matrix<double>::Constant(7, k, 1.0 / static_cast<double>(k)))) ==
          Approx(std::log(static_cast<double>(k))).epsilon(1e-12));
  // A = S S^T: two cliques with self loops, every pair stored.
  const Matrix<double> a = onehot * onehot.transpose();
  const auto dense = gnnpool::from_dense_batch<double>(Matrix<double>::Ones(7, 1), a, {}, 1);
  const gnnpool::LinkLoss<double> link;
  CHECK(value(link, dense, selection(dense, onehot)) == 0.0);
  // Sparse storage of the same A (zeros absent) gives the same value: the identity needs no dense A.
  const auto sparse = gnnpool::from_dense_batch<double>(Matrix<double>::Ones(7, 1), a, {}, 1, false);
  CHECK(value(link, sparse, selection(sparse, onehot)) == 0.0);
  // Any other A gives a positive loss.
  CHECK(value(link, g, selection(g, onehot)) > 0.0);
}

TEST_CASE("Two soft poolers chained: MinCut then DMoN, gradient-checked end to end", "[properties][soft][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 701);
  ParameterSet<double> params;
  const gnnpool::MinCutPool<double> first(params, "first", 3, {.k = 4, .hidden = {5}});
  gnnpool::DMoNPoolOptions<double> options;
  options.k = 2;
  options.cluster_weight = 0.5;
  const gnnpool::DMoNPool<double> second(params, "second", 3, options);
  params.initialize(702);
  using First = gnnpool::MinCutPool<double>;
  using Second = gnnpool::DMoNPool<double>;
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  gnnpool::testing::add_parameters(problem, params);
  auto run = [&](First::Output& o1, First::Cache& c1, Second::Output& o2, Second::Cache& c2) {
    first.forward(params, batch, o1, c1);
    second.forward(params, o1.batch, o2, c2);
  };
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    First::Output o1;
    First::Cache c1;
    Second::Output o2;
    Second::Cache c2;
    run(o1, c1, o2, c2);
    gnnpool::testing::append(o2.batch.x, out);
    for (Index e = 0; e < o2.batch.adj.nonZeros(); ++e) out.push_back(o2.batch.adj.valuePtr()[e]);
    return o1.weighted_loss() + o2.weighted_loss();
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    First::Output o1;
    First::Cache c1;
    Second::Output o2;
    Second::Cache c2;
    run(o1, c1, o2, c2);
    Second::OutputGrad g2;
    g2.x = Eigen::Map<const Matrix<double>>(up.data(), o2.batch.x.rows(), o2.batch.x.cols());
    g2.adj = Eigen::Map<const gnnpool::Vector<double>>(up.data() + o2.batch.x.size(), o2.batch.adj.nonZeros());
    gnnpool::BatchGrad<double> d2, d1;
    ParameterSet<double> dparams = params.zeros_like();
    gnnpool::testing::poison(dparams);
    second.backward(params, o1.batch, o2, c2, g2, d2, dparams);  // assigns the "second.*" slots
    // The first pooler's upstream: dL/d(its pooled x) and dL/d(its pooled adjacency values).
    First::OutputGrad g1;
    g1.x = d2.x;
    g1.adj = d2.adj;
    first.backward(params, batch, o1, c1, g1, d1, dparams);  // assigns the "first.*" slots
    gnnpool::testing::copy_gradient(d1.x, grads[0]);
    gnnpool::testing::copy_gradient(d1.adj, grads[1]);
    for (Index s = 0; s < dparams.size(); ++s) gnnpool::testing::copy_gradient(dparams[s], grads[static_cast<std::size_t>(s) + 2]);
  };
  const auto r = gnnpool::testing::check_gradients(problem);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(r.entries_checked > 100);
}

namespace {

/// PyG's padded form of a batch: X_b (Nmax x F), A_b (Nmax x Nmax) and S_b = softmax(logits) with
/// padded rows zeroed, as dense_mincut_pool / dense_diff_pool / DMoNPooling see them.
struct Padded {
  std::vector<Dense> x, a, s;
  std::vector<Index> n;
  Index nmax = 0, k = 0;
};

Padded pad(const Batch<double>& b, const Matrix<double>& logits, Index nmax) {
  Padded p;
  p.nmax = nmax;
  p.k = logits.cols();
  const Dense a = Dense(Matrix<double>(b.adj));
  for (Index g = 0; g < b.num_graphs(); ++g) {
    const Index lo = b.graph_begin(g), n = b.graph_size(g);
    p.n.push_back(n);
    Dense x = Dense::Zero(nmax, b.x.cols()), ag = Dense::Zero(nmax, nmax), s = Dense::Zero(nmax, p.k);
    x.topRows(n) = b.x.middleRows(lo, n);
    ag.topLeftCorner(n, n) = a.block(lo, lo, n, n);
    for (Index i = 0; i < n; ++i) {
      const Eigen::RowVectorXd e = (logits.row(lo + i).array() - logits.row(lo + i).maxCoeff()).exp();
      s.row(i) = e / e.sum();
    }
    p.x.push_back(x);
    p.a.push_back(ag);
    p.s.push_back(s);
  }
  return p;
}

double selu(double v) {
  const double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
  return v > 0 ? scale * v : scale * alpha * std::expm1(v);
}

Dense normalise(Dense r) {
  r.diagonal().setZero();
  const Eigen::VectorXd d = (r.rowwise().sum().array().sqrt() + 1e-15).matrix();
  return d.cwiseInverse().asDiagonal() * r * d.cwiseInverse().asDiagonal();
}

double ortho(const Dense& s, Index k) {
  const Dense ss = s.transpose() * s;
  return (ss / ss.norm() - Dense::Identity(k, k) / std::sqrt(static_cast<double>(k))).norm();
}

/// PyG's three ops on the padded batch: pooled x and adj stacked (B K rows), and the losses.
struct Reference {
  Dense x, adj;
  std::map<std::string, double> losses;
};

Reference pyg_mincut(const Padded& p) {
  const auto nb = static_cast<Index>(p.x.size());
  Reference r{Dense(nb * p.k, p.x[0].cols()), Dense(nb * p.k, p.k), {}};
  for (Index b = 0; b < nb; ++b) {
    const Dense& s = p.s[static_cast<std::size_t>(b)];
    const Dense& a = p.a[static_cast<std::size_t>(b)];
    r.x.middleRows(b * p.k, p.k) = s.transpose() * p.x[static_cast<std::size_t>(b)];
    const Dense raw = s.transpose() * a * s;
    const Eigen::VectorXd d = a.rowwise().sum();
    r.losses["mincut_loss"] += -raw.trace() / (s.transpose() * d.asDiagonal() * s).trace() / static_cast<double>(nb);
    r.losses["ortho_loss"] += ortho(s, p.k) / static_cast<double>(nb);
    r.adj.middleRows(b * p.k, p.k) = normalise(raw);
  }
  return r;
}

Reference pyg_diffpool(const Padded& p) {
  const auto nb = static_cast<Index>(p.x.size());
  Reference r{Dense(nb * p.k, p.x[0].cols()), Dense(nb * p.k, p.k), {}};
  double link = 0, ent = 0;
  for (Index b = 0; b < nb; ++b) {
    const Dense& s = p.s[static_cast<std::size_t>(b)];
    const Dense& a = p.a[static_cast<std::size_t>(b)];
    r.x.middleRows(b * p.k, p.k) = s.transpose() * p.x[static_cast<std::size_t>(b)];
    r.adj.middleRows(b * p.k, p.k) = s.transpose() * a * s;
    link += (a - s * s.transpose()).squaredNorm();
    ent += -(s.array() * (s.array() + 1e-15).log()).sum();
  }
  const double numel = static_cast<double>(nb * p.nmax * p.nmax);
  r.losses["link_loss"] = std::sqrt(link) / numel;
  r.losses["ent_loss"] = ent / static_cast<double>(nb * p.nmax);
  return r;
}

Reference pyg_dmon(const Padded& p) {
  const auto nb = static_cast<Index>(p.x.size());
  Reference r{Dense(nb * p.k, p.x[0].cols()), Dense(nb * p.k, p.k), {}};
  for (Index b = 0; b < nb; ++b) {
    const Dense& s = p.s[static_cast<std::size_t>(b)];
    const Dense& a = p.a[static_cast<std::size_t>(b)];
    r.x.middleRows(b * p.k, p.k) = (s.transpose() * p.x[static_cast<std::size_t>(b)]).unaryExpr(&selu);
    const Dense raw = s.transpose() * a * s;
    Eigen::VectorXd d = a.rowwise().sum();
    const double m = d.sum() / 2;
    const Eigen::VectorXd ca = s.transpose() * d;
    r.losses["spectral_loss"] += -(raw - ca * ca.transpose() / 2 / m).trace() / 2 / m / static_cast<double>(nb);
    r.losses["ortho_loss"] += ortho(s, p.k) / static_cast<double>(nb);
    r.losses["cluster_loss"] += (s.colwise().sum().norm() / static_cast<double>(p.n[static_cast<std::size_t>(b)]) *
                                     std::sqrt(static_cast<double>(p.k)) -
                                 1) /
                                static_cast<double>(nb);
    r.adj.middleRows(b * p.k, p.k) = normalise(raw);
  }
  return r;
}

template <typename Output>
void compare(const Output& out, const Reference& ref) {
  CHECK(gnnpool::test::max_relative_error(out.batch.x, ref.x) < 1e-12);
  Dense adj(ref.adj.rows(), ref.adj.cols());
  const Index k = ref.adj.cols();
  for (Index r = 0; r < adj.rows(); ++r)
    for (Index c = 0; c < k; ++c) adj(r, c) = out.batch.adj.coeff(r, (r / k) * k + c);
  CHECK(gnnpool::test::max_relative_error(adj, ref.adj) < 1e-12);
  for (const auto& [name, v] : ref.losses) {
    INFO(name);
    CHECK(out.loss(name) == Approx(v).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("PyG's padded dense formulas equal gnnpool on the unpadded batch", "[properties][soft][pyg]") {
  // Graphs of 6, 11, 3 and 9 nodes (no edgeless graph: PyG would give NaN there).
  std::vector<Batch<double>> graphs;
  const std::vector<Index> sizes{6, 11, 3, 9};
  gnnpool::testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  for (std::size_t g = 0; g < sizes.size(); ++g)
    graphs.push_back(gnnpool::testing::random_graph<double>(sizes[g], 2 * sizes[g], 4, 800 + g, weighted));
  const Batch<double> batch = gnnpool::concatenate<double>(graphs);
  const Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 810) * 2.0;
  const Index nmax = 13;  // padded beyond the largest graph, as a collated PyG batch may be
  const Padded padded = pad(batch, logits, nmax);

  gnnpool::MinCutPoolFunction<double>::Output mc;
  gnnpool::MinCutPoolFunction<double>::Cache mcc;
  gnnpool::mincut_pool_function<double>().forward(batch, logits, mc, mcc);
  compare(mc, pyg_mincut(padded));

  gnnpool::DiffPoolOptions<double> diff_options;
  diff_options.link.padded_size = nmax;
  diff_options.entropy.padded_size = nmax;
  gnnpool::DiffPoolFunction<double>::Output dp;
  gnnpool::DiffPoolFunction<double>::Cache dpc;
  gnnpool::diff_pool_function<double>(diff_options).forward(batch, logits, dp, dpc);
  compare(dp, pyg_diffpool(padded));

  gnnpool::DMoNPoolFunction<double>::Output dm;
  gnnpool::DMoNPoolFunction<double>::Cache dmc;
  gnnpool::dmon_pool_function<double>().forward(batch, logits, dm, dmc);
  compare(dm, pyg_dmon(padded));
}

TEST_CASE("A batch storing every pair gives the sparse batch's outputs and gradients", "[properties][soft][dense]") {
  const auto sparse = gnnpool::test::soft_test_batch<double>(3, 901);
  // Dense storage: every pair of every graph, explicit zeros included.
  std::vector<Batch<double>> graphs;
  for (Index g = 0; g < sparse.num_graphs(); ++g) {
    const Index lo = sparse.graph_begin(g), n = sparse.graph_size(g);
    graphs.push_back(gnnpool::from_dense_batch<double>(sparse.x.middleRows(lo, n),
                                                       Matrix<double>(Matrix<double>(sparse.adj).block(lo, lo, n, n)), {}, 1));
  }
  const Batch<double> dense = gnnpool::concatenate<double>(graphs);
  REQUIRE(dense.num_edges() == 7 * 7 + 6 * 6 + 1 + 5 * 5);
  ParameterSet<double> params;
  const gnnpool::DMoNPool<double> pool(params, "", 3, {.k = 3});
  params.initialize(902);
  using P = gnnpool::DMoNPool<double>;
  P::Output os, od;
  P::Cache cs, cd;
  pool.forward(params, sparse, os, cs);
  pool.forward(params, dense, od, cd);
  CHECK(gnnpool::test::max_relative_error(os.batch.x, od.batch.x) < 1e-13);
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(os.batch.adj), Matrix<double>(od.batch.adj)) < 1e-13);
  for (std::size_t l = 0; l < os.losses.size(); ++l) CHECK(os.losses[l].value == Approx(od.losses[l].value).epsilon(1e-13));
  P::OutputGrad g;
  g.x = Matrix<double>::Constant(os.batch.x.rows(), os.batch.x.cols(), 0.3);
  g.adj = gnnpool::Vector<double>::Constant(os.batch.adj.nonZeros(), -0.2);
  gnnpool::BatchGrad<double> ds, dd;
  ParameterSet<double> gs = params.zeros_like(), gd = params.zeros_like();
  pool.backward(params, sparse, os, cs, g, ds, gs);
  pool.backward(params, dense, od, cd, g, dd, gd);
  CHECK(gnnpool::test::max_relative_error(ds.x, dd.x) < 1e-13);
  for (Index s = 0; s < params.size(); ++s) CHECK(gnnpool::test::max_relative_error(gs[s], gd[s]) < 1e-13);
  // dL/dA agrees on every entry the sparse batch stores.
  for (Index i = 0; i < sparse.num_nodes(); ++i)
    for (auto p = sparse.adj.outerIndexPtr()[i]; p < sparse.adj.outerIndexPtr()[i + 1]; ++p) {
      const auto* first = dense.adj.innerIndexPtr() + dense.adj.outerIndexPtr()[i];
      const auto* last = dense.adj.innerIndexPtr() + dense.adj.outerIndexPtr()[i + 1];
      const auto* pos = std::lower_bound(first, last, sparse.adj.innerIndexPtr()[p]);
      REQUIRE(pos != last);
      CHECK(ds.adj[p] == Approx(dd.adj[pos - dense.adj.innerIndexPtr()]).epsilon(1e-12).margin(1e-14));
    }
}

TEST_CASE("Edgeless graphs: gnnpool stays finite where PyG's formulas give NaN", "[properties][soft][degenerate]") {
  // Graph 1 has no edge: PyG's mincut (0/0), DMoN spectral (m = 0) and the normalised adjacency's
  // backward (sqrt'(0)) are NaN there; gnnpool counts those terms as 0.
  std::vector<Batch<double>> graphs{gnnpool::testing::random_graph<double>(5, 6, 3, 950),
                                    gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(4, 3, 951), EdgeList{})};
  const Batch<double> batch = gnnpool::concatenate<double>(graphs);
  const Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 2, 952);
  const Padded padded = pad(batch, logits, 5);
  CHECK(std::isnan(pyg_mincut(padded).losses["mincut_loss"]));
  CHECK(std::isnan(pyg_dmon(padded).losses["spectral_loss"]));

  const auto f = gnnpool::mincut_pool_function<double>();
  gnnpool::MinCutPoolFunction<double>::Output out;
  gnnpool::MinCutPoolFunction<double>::Cache cache;
  f.forward(batch, logits, out, cache);
  // Graph 0's term only, halved by the batch mean.
  Padded first = padded;
  first.x.resize(1), first.a.resize(1), first.s.resize(1), first.n.resize(1);
  CHECK(out.loss("mincut_loss") == Approx(pyg_mincut(first).losses["mincut_loss"] / 2).epsilon(1e-12));
  gnnpool::MinCutPoolFunction<double>::OutputGrad g;
  g.x = Matrix<double>::Ones(out.batch.x.rows(), out.batch.x.cols());
  g.adj = gnnpool::Vector<double>::Ones(out.batch.adj.nonZeros());
  gnnpool::BatchGrad<double> din;
  Matrix<double> dlogits;
  f.backward(batch, out, cache, g, din, dlogits);
  CHECK(dlogits.allFinite());
  CHECK(din.x.allFinite());
  CHECK(din.adj.allFinite());

  const auto d = gnnpool::dmon_pool_function<double>();
  gnnpool::DMoNPoolFunction<double>::Output dout;
  gnnpool::DMoNPoolFunction<double>::Cache dcache;
  d.forward(batch, logits, dout, dcache);
  for (const auto& l : dout.losses) CHECK(std::isfinite(l.value));
  CHECK(Matrix<double>(dout.batch.adj).allFinite());
}

TEST_CASE("Soft pooling is invariant to a permutation of the nodes within each graph", "[properties][soft][permutation]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 990);
  // Reverse the node order inside every graph.
  const Index n = batch.num_nodes();
  Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, gnnpool::StorageIndex> perm(n);
  for (Index g = 0; g < batch.num_graphs(); ++g)
    for (Index i = 0; i < batch.graph_size(g); ++i)
      perm.indices()[batch.graph_begin(g) + i] = static_cast<gnnpool::StorageIndex>(batch.graph_begin(g + 1) - 1 - i);
  Batch<double> permuted;
  permuted.x = perm * batch.x;
  permuted.adj = batch.adj.twistedBy(perm);
  permuted.adj.makeCompressed();
  permuted.offsets = batch.offsets;
  ParameterSet<double> params;
  const gnnpool::DiffPool<double> pool(params, "", 3, {.k = 3});
  params.initialize(991);
  gnnpool::DiffPool<double>::Output a, b;
  gnnpool::DiffPool<double>::Cache ca, cb;
  pool.forward(params, batch, a, ca);
  pool.forward(params, permuted, b, cb);
  CHECK(gnnpool::test::max_relative_error(a.batch.x, b.batch.x) < 1e-13);
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(a.batch.adj), Matrix<double>(b.batch.adj)) < 1e-13);
  CHECK(a.loss("link_loss") == Approx(b.loss("link_loss")).epsilon(1e-13));
  CHECK(a.loss("ent_loss") == Approx(b.loss("ent_loss")).epsilon(1e-13));
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(perm * a.selection.s), b.selection.s) < 1e-13);
}

}  // namespace gnnpool_test_properties_soft
