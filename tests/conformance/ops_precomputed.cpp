// Conformance of the poolers whose selection tgp computes with scikit-learn and records: nmf
// (NMFPooling) and eigen (EigenPooling). The selection is taken as given (outputs.s, a constant in tgp as well) through
// `PrecomputedSoftSelect`; the handler checks reduce, connect, tgp's lift and the gradients of x
// and of every edge weight. It also factorises each graph with gnnpool's own deterministic NMF
// (`NMFSelect`) and checks that its objective |A - W H|_F^2 is at most scikit-learn's (for the
// recorded H, with the best W for it), so gnnpool's selection is at least as good by the method's
// own measure on the same graphs. eigen takes the recorded clustering and theta (its eigenvectors,
// whose basis is arbitrary inside a degenerate eigenspace), checks gnnpool's theta for that
// clustering wherever the eigenvalue is simple, and checks that gnnpool's own spectral
// clustering has a normalised cut at most scikit-learn's.
//
// Sparse input: x [N, F], edge_index, edge_weight, batch. Outputs x [B, K, F] and adj [B, K, K]
// are gnnpool's pooled rows b K .. (b+1) K and K x K blocks; lift_x [N, F]. tgp's adj[b, k, l]
// is its pooled A[source, target], i.e. gnnpool's block entry (l, k) (gnnpool stores the edge
// j -> i at adj(i, j)): the blocks are transposed for the comparison and for the loss weights.

#include "conformance/conformance.hpp"

#include <gnnpool/pool/eigen_pool.hpp>
#include <gnnpool/pool/nmf_pool.hpp>
#include <gnnpool/pool/soft_lift.hpp>
#include <gnnpool/select/nmf.hpp>
#include <gnnpool/select/precomputed.hpp>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace gnnpool::conformance {
namespace {

/// The values of a block-diagonal pooled adjacency (B blocks of K x K, row-major, as SoftConnect
/// stores them) with every block transposed: tgp's [B, K, K] source-target order from gnnpool's
/// target-source order and back (an involution).
std::vector<double> transposed_blocks(const double* values, Index count, Index k) {
  std::vector<double> out(static_cast<std::size_t>(count));
  for (Index b = 0; b < count / (k * k); ++b)
    for (Index r = 0; r < k; ++r)
      for (Index q = 0; q < k; ++q)
        out[static_cast<std::size_t>(b * k * k + q * k + r)] = values[b * k * k + r * k + q];
  return out;
}

/// Compares the pooled adjacency with tgp's and returns the upstream gradient of gnnpool's
/// stored values from tgp's loss weights of adj; adds sum(w_adj * adj) into `loss`.
Vector<double> compare_pooled_adj(const Case& c, const SparseMatrix<double>& pooled, Index k, Comparison& cmp,
                                  double& loss) {
  const std::vector<double> ours = transposed_blocks(pooled.valuePtr(), pooled.nonZeros(), k);
  cmp.values("adj", ours, c.output("adj"));
  const Tensor& wa = c.loss_weights.at("adj");
  if (static_cast<Index>(wa.size()) != pooled.nonZeros())
    throw std::runtime_error(c.file + ": loss_weights.adj has " + std::to_string(wa.size()) +
                             " entries, the pooled adjacency " + std::to_string(pooled.nonZeros()));
  const std::vector<double> w = transposed_blocks(wa.data.data(), pooled.nonZeros(), k);
  const Vector<double> grad = Eigen::Map<const Vector<double>>(w.data(), static_cast<Index>(w.size()));
  loss += grad.dot(Eigen::Map<const Vector<double>>(pooled.valuePtr(), pooled.nonZeros()));
  return grad;
}

/// Backward of L = sum(w_x x') + sum(w_adj adj') + sum(w_lift lift(x')) through the pooler and
/// its lift, compared with the case's gradients of x and of every edge weight. The selection is
/// a constant (as in tgp): the lift's gradient for it is dropped.
template <typename PoolT, typename LiftT>
void compare_gradients(const Case& c, const Batch<double>& batch, const PoolT& pool, const ParameterSet<double>& params,
                       const typename PoolT::Output& out, const typename PoolT::Cache& cache, const LiftT& lift,
                       const Matrix<double>& wx, const Vector<double>& wadj, const Matrix<double>& wl, Comparison& cmp) {
  typename PoolT::OutputGrad grad;
  grad.x = wx;
  grad.adj = wadj;
  Matrix<double> dx_pooled, dropped = Matrix<double>::Zero(out.selection.s.rows(), out.selection.s.cols());
  lift.backward(out.selection, out.batch.x, wl, dx_pooled, dropped);
  grad.x += dx_pooled;
  BatchGrad<double> din;
  ParameterSet<double> dparams;
  pool.backward(params, batch, out, cache, grad, din, dparams);
  cmp.matrix("grad x", din.x, c.grad("x"));
  compare_edge_weight_grad(c, batch, din.adj, cmp);
}

/// |A_b - W H|_F^2 with the best W >= 0 for the given H (HALS on W alone, to convergence).
double objective_for_h(const Batch<double>& batch, Index b, const Matrix<double>& ht) {
  const Index lo = batch.graph_begin(b), n = batch.graph_size(b), k = ht.cols();
  const Matrix<double> a = Matrix<double>(batch.adj).block(lo, lo, n, n).cwiseMax(0.0);
  Matrix<double> w = Matrix<double>::Constant(n, k, 0.1);
  const Matrix<double> p = a * ht, gram = ht.transpose() * ht;
  for (int it = 0; it < 5000; ++it) {
    const Matrix<double> before = w;
    for (Index r = 0; r < k; ++r)
      if (gram(r, r) > 0) w.col(r) = (w.col(r) + (p.col(r) - w * gram.col(r)) / gram(r, r)).cwiseMax(0.0);
    if ((w - before).norm() <= 1e-13 * std::max(1.0, w.norm())) break;
  }
  return (a - w * ht.transpose()).squaredNorm();
}

void run_nmf(const Case& c, Comparison& cmp) {
  if (c.hyper_number("remove_self_loops", 1) == 0 || c.hyper_number("degree_norm", 1) == 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0 || c.hyper_number("batched", 0) != 0)
    throw std::runtime_error(c.file + ": only tgp's default unbatched NMFPooling is supported");
  const Batch<double> batch = c.sparse_batch();
  SoftSelection<double> given;
  given.s = c.output("s").matrix();
  given.offsets = batch.offsets;
  // tgp's sparse path normalises by the row sums of its A[source, target]: gnnpool's column sums.
  const NMFPool<double, PrecomputedSoftSelect<double>> pool{PrecomputedSoftSelect<double>(&given)};
  ParameterSet<double> params;
  NMFPool<double, PrecomputedSoftSelect<double>>::Output out;
  NMFPool<double, PrecomputedSoftSelect<double>>::Cache cache;
  pool.forward(params, batch, out, cache);
  const SoftLift<double> lift;
  Matrix<double> lifted;
  lift.forward(out.selection, out.batch.x, lifted);
  cmp.matrix("x", out.batch.x, c.output("x"));
  cmp.matrix("lift_x", lifted, c.output("lift_x"));
  const Matrix<double> wx = c.loss_weights.at("x").matrix(), wl = c.loss_weights.at("lift_x").matrix();
  double loss = out.batch.x.cwiseProduct(wx).sum() + lifted.cwiseProduct(wl).sum();
  const Vector<double> wadj = compare_pooled_adj(c, out.batch.adj, given.s.cols(), cmp, loss);
  cmp.scalar("loss", loss, c.loss);

  // S from tgp's recorded H: softmax(H^T) of every factorised graph.
  if (c.outputs.count("debug_nmf_Ht")) {
    const Matrix<double> ht = c.output("debug_nmf_Ht").matrix();
    for (Index b = 0; b < batch.num_graphs(); ++b) {
      const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
      const Index kb = std::max<Index>(1, std::min(given.s.cols(), n));
      if (kb == 1 || kb >= n) continue;
      Matrix<double> s;
      row_softmax<double>(ht.block(lo, 0, n, kb), s);
      cmp.matrix("softmax(debug_nmf_Ht) of graph " + std::to_string(b), s,
                 [&] {
                   Tensor t;
                   for (Index i = 0; i < n; ++i)
                     for (Index q = 0; q < kb; ++q) t.data.push_back(given.s(lo + i, q));
                   t.shape = {n, kb};
                   return t;
                 }());
      // gnnpool's own factorisation is at least as good as scikit-learn's on this graph.
      const double theirs = objective_for_h(batch, b, ht.block(lo, 0, n, kb));
      const NMFFactors<double> ours = nmf_factorize(batch.adj, lo, n, kb);
      if (ours.objective > theirs * (1 + 1e-9) + 1e-12)
        cmp.fail("graph " + std::to_string(b) + ": gnnpool's NMF objective " + std::to_string(ours.objective) +
                 " is above scikit-learn's " + std::to_string(theirs));
    }
  }

  compare_gradients(c, batch, pool, params, out, cache, lift, wx, wadj, wl, cmp);
}

/// Compares gnnpool's theta for the given clustering with tgp's, mode by mode, where the mode's
/// eigenvalue is simple (a degenerate eigenspace has no unique basis: numpy's is as arbitrary
/// as gnnpool's).
void compare_theta(const Case& c, const Batch<double>& batch, const IndexVector& clusters, Index k, Index modes,
                   Comparison& cmp) {
  const Matrix<double> theirs = c.output("debug_theta").matrix();
  Matrix<double> ours = Matrix<double>::Zero(batch.num_nodes(), k * modes);
  std::vector<double> a, e;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const IndexVector local(clusters.begin() + lo, clusters.begin() + lo + n);
    eigen_pooling_matrix(batch.adj, lo, n, local, k, modes, ours);
    const Matrix<double> dense = Matrix<double>(batch.adj).block(lo, lo, n, n);
    for (Index q = 0; q < k; ++q) {
      std::vector<Index> nodes;
      for (Index i = 0; i < n; ++i)
        if (local[static_cast<std::size_t>(i)] == q) nodes.push_back(i);
      const Index size = static_cast<Index>(nodes.size());
      if (size < 2) {
        for (const Index i : nodes)
          for (Index m = 0; m < modes; ++m) a.push_back(ours(lo + i, m * k + q)), e.push_back(theirs(lo + i, m * k + q));
        continue;
      }
      Eigen::MatrixXd ac(size, size);
      for (Index r = 0; r < size; ++r)
        for (Index s2 = 0; s2 < size; ++s2) ac(r, s2) = dense(nodes[static_cast<std::size_t>(r)], nodes[static_cast<std::size_t>(s2)]);
      const Eigen::VectorXd d = ac.colwise().sum().transpose().array() + std::numeric_limits<double>::denorm_min();
      const Eigen::VectorXd rs = d.array().rsqrt();
      const Eigen::MatrixXd l = Eigen::MatrixXd::Identity(size, size) - rs.asDiagonal() * ac * rs.asDiagonal();
      const Eigen::VectorXd lambda = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>((l + l.transpose()) / 2).eigenvalues();
      for (Index m = 0; m < modes; ++m) {
        const Index j = std::min(m, size - 1);
        const bool simple = (j == 0 || lambda[j] - lambda[j - 1] > 1e-8) && (j == size - 1 || lambda[j + 1] - lambda[j] > 1e-8);
        if (!simple) continue;
        for (const Index i : nodes) a.push_back(ours(lo + i, m * k + q)), e.push_back(theirs(lo + i, m * k + q));
      }
    }
  }
  Tensor expected;
  expected.data = e;
  expected.shape = {static_cast<Index>(e.size())};
  cmp.values("theta (simple eigenvalues)", a, expected);
}

void run_eigen(const Case& c, Comparison& cmp) {
  if (c.hyper_number("remove_self_loops", 1) == 0 || c.hyper_number("degree_norm", 1) == 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0 || c.hyper_number("batched", 0) != 0 || c.hyper_number("normalized", 1) == 0)
    throw std::runtime_error(c.file + ": only tgp's default unbatched EigenPooling is supported");
  const Batch<double> batch = c.sparse_batch();
  const Index k = c.output("s").shape.back(), modes = static_cast<Index>(c.hyper_number("num_modes", 5));
  const IndexVector clusters = c.output("cluster").indices();
  const Matrix<double> theta = c.output("debug_theta").matrix();
  EigenPoolOptions o;
  o.select = {.k = k, .modes = modes, .given_clusters = &clusters, .given_theta = &theta};
  ParameterSet<double> params;
  const EigenPool<double> pool(params, "", batch.x.cols(), o);
  EigenPool<double>::Output out;
  EigenPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  const EigenLift<double> lift;
  Matrix<double> lifted;
  lift.forward(out.selection, out.batch.x, lifted);
  cmp.matrix("s", out.selection.s, c.output("s"));
  cmp.matrix("x", out.batch.x, c.output("x"));
  cmp.matrix("lift_x", lifted, c.output("lift_x"));
  compare_theta(c, batch, clusters, k, modes, cmp);
  const Matrix<double> wx = c.loss_weights.at("x").matrix(), wl = c.loss_weights.at("lift_x").matrix();
  const Matrix<double> wx2 = Eigen::Map<const Matrix<double>>(wx.data(), out.batch.x.rows(), out.batch.x.cols());
  double loss = out.batch.x.cwiseProduct(wx2).sum() + lifted.cwiseProduct(wl).sum();
  const Vector<double> wadj = compare_pooled_adj(c, out.batch.adj, k, cmp, loss);
  cmp.scalar("loss", loss, c.loss);

  // gnnpool's own spectral clustering cuts each graph at most as much as scikit-learn's.
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b), kb = std::max<Index>(1, std::min(k, n));
    if (kb == 1 || kb >= n) continue;
    const IndexVector theirs(clusters.begin() + lo, clusters.begin() + lo + n);
    const IndexVector ours = detail::spectral_clustering(batch.adj, lo, n, kb, EigenSelectOptions{});
    const double cut_ours = detail::normalized_cut(batch.adj, lo, n, ours, k);
    const double cut_theirs = detail::normalized_cut(batch.adj, lo, n, theirs, k);
    if (cut_ours > cut_theirs * (1 + 1e-9) + 1e-12)
      cmp.fail("graph " + std::to_string(b) + ": gnnpool's spectral clustering has the normalised cut " +
               std::to_string(cut_ours) + ", scikit-learn's " + std::to_string(cut_theirs));
  }

  compare_gradients(c, batch, pool, params, out, cache, lift, wx2, wadj, wl, cmp);
}

const Register nmf_registration({"nmf"}, run_nmf);
const Register eigen_registration({"eigen"}, run_eigen);

}  // namespace
}  // namespace gnnpool::conformance
