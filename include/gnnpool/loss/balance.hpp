#ifndef GNNPOOL_LOSS_BALANCE_HPP
#define GNNPOOL_LOSS_BALANCE_HPP

/// \file
/// The balance terms of the soft poolers that need no cut: `JustBalanceLoss`, JustBalance's
/// -tr(sqrt(S^T S)) (Bianchi 2023), and `AsymmetricNormLoss`, the asymmetric-norm balance of
/// AsymCheegerCut / TV-GNN (Hansen & Bianchi 2023). Both read S only: din is left untouched.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Which square root `JustBalanceLoss` takes of S^T S.
enum class BalanceSquareRoot {
  /// Entry by entry, of S^T S + eps (every entry): only the diagonal enters the trace, so
  /// tr = sum_k sqrt(|S_:k|^2 + eps), the sum of the column norms. tgp's `just_balance_loss`
  /// and the original code.
  elementwise,
  /// The matrix square root of S^T S + eps I: tr = sum_k sqrt(lambda_k + eps) over the
  /// eigenvalues of S^T S (the nuclear norm of S for eps = 0), the paper's formula read as a
  /// matrix function. Its backward is exact: d tr(sqrtm(M)) / dM = M^-1/2 / 2.
  matrix,
};

struct JustBalanceLossOptions {
  /// Divide graph b's term by sqrt(n_b K) (tgp's `normalize_loss`, default): the loss is then in
  /// [-1, 0) whatever the graph size.
  bool normalize = true;
  BalanceSquareRoot root = BalanceSquareRoot::elementwise;
  /// The guard added under the square root (tgp's eps).
  double eps = tgp_constants::eps;
};

/// Balance loss of JustBalancePool (Bianchi, "Simplifying clustering with graph neural
/// networks", NLDL 2023; tgp's `just_balance_loss`), mean over graphs:
///
///   l_b = -tr(sqrt(S_b^T S_b (+ eps))) / z_b,   z_b = sqrt(n_b K) (normalize) or 1.
///
/// elementwise: l_b = -sum_k sqrt(c_k + eps) / z_b, c_k = sum_i S_ik^2;
///   backward: dS_ik += g (-1 / z_b) S_ik / sqrt(c_k + eps).
/// matrix: M_b = S_b^T S_b + eps I = V diag(lambda) V^T, l_b = -sum_k sqrt(lambda_k) / z_b;
///   backward: dS_b += g (-1 / z_b) S_b M_b^-1/2, M^-1/2 = V diag(lambda^-1/2) V^T (exact: the
///   trace of a matrix function differentiates through f'(lambda) alone).
/// g = w / B. An empty graph counts as l_b = 0 (tgp divides by 0).
///
/// Analytic values (eps -> 0): -1 for a one-hot S with K equal clusters (the minimum), -1/sqrt(K)
/// (elementwise) or -1/K (matrix) for the uniform S = 1/K.
/// Cost: O(N K) (elementwise) or O(N K^2 + B K^3) (matrix) both ways. Cache: the per-graph
/// column norms, or M^-1/2 per graph. Thread-safe (const).
template <typename Scalar_>
class JustBalanceLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> inverse_root;  ///< elementwise: 1 / sqrt(c_k + eps), B x K; matrix: M_b^-1/2 stacked (B K) x K
    Vector<Scalar> scale;         ///< 1 / z_b (0 for an empty graph)
  };

  explicit JustBalanceLoss(Scalar weight = Scalar(1), JustBalanceLossOptions options = {})
      : m_weight(weight), m_options(options) {
    GNNPOOL_CHECK(std::isfinite(options.eps) && options.eps >= 0, invalid_argument,
                  "JustBalanceLoss: eps must be finite and >= 0, got ", options.eps);
  }
  std::string_view name() const { return "balance_loss"; }
  Scalar weight() const { return m_weight; }
  const JustBalanceLossOptions& options() const { return m_options; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "JustBalanceLoss");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar eps = static_cast<Scalar>(m_options.eps);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    cache.scale.setZero(nb);
    const bool matrix = m_options.root == BalanceSquareRoot::matrix;
    cache.inverse_root.setZero(matrix ? nb * k : nb, k);
    for (Index b = 0; b < nb; ++b) {
      const Index n = sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)];
      if (n == 0) continue;
      cache.scale[b] = m_options.normalize ? Scalar(1) / std::sqrt(static_cast<Scalar>(n) * static_cast<Scalar>(k))
                                           : Scalar(1);
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      Scalar trace(0);
      if (!matrix) {
        for (Index q = 0; q < k; ++q) {
          const Scalar root = std::sqrt(sb.col(q).squaredNorm() + eps);
          trace += root;
          cache.inverse_root(b, q) = root > Scalar(0) ? Scalar(1) / root : Scalar(0);
        }
      } else {
        Matrix<Scalar> m = sb.transpose() * sb;
        m.diagonal().array() += eps;
        const Eigen::SelfAdjointEigenSolver<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> eig(m);
        GNNPOOL_CHECK(eig.info() == Eigen::Success, invalid_argument,
                      "JustBalanceLoss: the eigendecomposition of S^T S failed for graph ", b);
        Vector<Scalar> inv(k);
        for (Index q = 0; q < k; ++q) {
          const Scalar lambda = std::max(eig.eigenvalues()[q], Scalar(0));
          const Scalar root = std::sqrt(lambda);
          trace += root;
          inv[q] = root > Scalar(0) ? Scalar(1) / root : Scalar(0);  // pseudo-inverse on the null space
        }
        cache.inverse_root.middleRows(b * k, k) =
            eig.eigenvectors() * inv.asDiagonal() * eig.eigenvectors().transpose();
      }
      per_graph[b] = -trace * cache.scale[b];
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    (void)in, (void)din;
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar g = dloss / static_cast<Scalar>(nb);
    for (Index b = 0; b < nb; ++b) {
      const Scalar c = -g * cache.scale[b];
      if (c == Scalar(0)) continue;
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      auto db = detail::graph_rows(dsel, sel.offsets, b);
      if (m_options.root == BalanceSquareRoot::matrix)
        db.noalias() += c * (sb * cache.inverse_root.middleRows(b * k, k));
      else
        db += c * (sb * cache.inverse_root.row(b).asDiagonal());
    }
  }

 private:
  Scalar m_weight;
  JustBalanceLossOptions m_options;
};

/// Asymmetric-norm balance loss of AsymCheegerCut / TV-GNN (Hansen & Bianchi, ICML 2023; tgp's
/// `asym_norm_loss` on the real rows of every graph), mean over graphs. For graph b with n = n_b
/// nodes and K >= 2 clusters:
///
///   r = min(floor(n / K), n - 1);  q_k = the r-th largest entry of column k (0-based);
///   D_ik = S_ik - q_k;  |D|_rho = (K - 1) D if D >= 0, -D otherwise;
///   l_b = (n (K - 1) - sum_ik |D_ik|_rho) / (n (K - 1))   (in [0, 1]; 0 for a balanced one-hot S).
///
/// Backward (g = w / B, c = -g / (n (K - 1)), a_ik = K - 1 if D_ik >= 0 else -1):
///   dS_ik += c a_ik,  and the entry that is q_k gets -c sum_i a_ik (q_k moves with it: torch's sort
///   routes the quantile's gradient to the sorted element).
/// Ties in a column are ranked by lower node index first, so the quantile entry is deterministic.
/// K = 1 or an empty graph gives l_b = 0.
///
/// Analytic values: 0 for a one-hot S with K equal clusters, 1 for the uniform S = 1/K.
/// Cost: O(N K) both ways (a selection, not a sort, per column, on a contiguous copy of the
/// column). The (graph, column) pairs run in parallel, each summing its column alone; a graph's
/// value adds its column sums in column order. The backward is element-wise over row chunks, in
/// parallel, then the B K quantile entries. Cache: the quantile entry per (graph, column) and the
/// count of entries at or above it. Thread-safe (const).
template <typename Scalar_>
class AsymmetricNormLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    IndexVector quantile_row;  ///< B K entries: the node (batch row) whose value is q_k; -1 when unused
    IndexVector at_or_above;   ///< B K entries: how many D_ik >= 0 in the column (sum_i a_ik from it)
  };

  explicit AsymmetricNormLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "balance_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "AsymmetricNormLoss");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    cache.quantile_row.assign(static_cast<std::size_t>(nb * k), -1);
    cache.at_or_above.assign(static_cast<std::size_t>(nb * k), 0);
    if (k < 2) return detail::graph_mean(per_graph);
    Vector<Scalar> column_sum = Vector<Scalar>::Zero(nb * k);
    detail::parallel_for(nb * k, [&](Index task) {
      const Index b = task / k, q = task % k;
      const Index lo = sel.offsets[static_cast<std::size_t>(b)], n = sel.offsets[static_cast<std::size_t>(b) + 1] - lo;
      if (n == 0) return;
      const Index r = std::min(n / k, n - 1);
      // The column as (value, row) pairs: the selection then compares contiguous memory.
      std::vector<std::pair<Scalar, Index>> column(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) column[static_cast<std::size_t>(i)] = {sel.s(lo + i, q), lo + i};
      std::nth_element(column.begin(), column.begin() + r, column.end(), [](const auto& a, const auto& c) {
        return a.first > c.first || (a.first == c.first && a.second < c.second);
      });
      const auto [quantile, row] = column[static_cast<std::size_t>(r)];
      Scalar sum(0);
      Index above = 0;
      for (Index i = lo; i < lo + n; ++i) {
        const Scalar d = sel.s(i, q) - quantile;
        sum += d >= Scalar(0) ? Scalar(k - 1) * d : -d;
        above += d >= Scalar(0) ? 1 : 0;
      }
      cache.quantile_row[static_cast<std::size_t>(task)] = row;
      cache.at_or_above[static_cast<std::size_t>(task)] = above;
      column_sum[task] = sum;
    });
    for (Index b = 0; b < nb; ++b) {
      const Index n = sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)];
      if (n == 0) continue;
      Scalar sum(0);
      for (Index q = 0; q < k; ++q) sum += column_sum[b * k + q];
      const Scalar beta = static_cast<Scalar>(n) * static_cast<Scalar>(k - 1);
      per_graph[b] = (beta - sum) / beta;
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    (void)in, (void)din;
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    if (k < 2) return;
    // The cache's rows are read as indices of S: each must lie in its graph.
    GNNPOOL_CHECK(static_cast<Index>(cache.quantile_row.size()) == nb * k &&
                      static_cast<Index>(cache.at_or_above.size()) == nb * k,
                  shape_error, "AsymmetricNormLoss backward: the cache holds ", cache.quantile_row.size(),
                  " quantile entries for ", nb, " graphs of ", k, " clusters (backward needs the cache of the same forward)");
    for (Index b = 0; b < nb; ++b) {
      const Index lo = sel.offsets[static_cast<std::size_t>(b)], hi = sel.offsets[static_cast<std::size_t>(b) + 1];
      for (Index q = 0; q < k && hi > lo; ++q) {
        const Index row = cache.quantile_row[static_cast<std::size_t>(b * k + q)];
        const Index above = cache.at_or_above[static_cast<std::size_t>(b * k + q)];
        GNNPOOL_CHECK(row >= lo && row < hi && above >= 0 && above <= hi - lo, invalid_argument,
                      "AsymmetricNormLoss backward: the cache's quantile entry of graph ", b, ", column ", q, " is row ",
                      row, " (count ", above, "), outside the graph's rows ", lo, " .. ", hi - 1,
                      " (backward needs the cache of the same forward)");
      }
    }
    const Scalar g = dloss / static_cast<Scalar>(nb);
    const auto scale = [&](Index b) {
      const Index n = sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)];
      return -g / (static_cast<Scalar>(n) * static_cast<Scalar>(k - 1));
    };
    // dS_ik += c a_ik: every entry on its own, rows in parallel.
    detail::parallel_graph_rows(sel.offsets, [&](Index b, Index lo, Index hi) {
      const Scalar c = scale(b);
      const Index* rows = cache.quantile_row.data() + b * k;
      for (Index i = lo; i < hi; ++i)
        for (Index q = 0; q < k; ++q) {
          const Scalar quantile = sel.s(rows[q], q);
          dsel(i, q) += c * (sel.s(i, q) - quantile >= Scalar(0) ? Scalar(k - 1) : Scalar(-1));
        }
    });
    // The quantile entries: -c sum_i a_ik, the sum from the count (an exact integer).
    for (Index b = 0; b < nb; ++b) {
      const Index n = sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)];
      if (n == 0) continue;
      const Scalar c = scale(b);
      for (Index q = 0; q < k; ++q) {
        const Index above = cache.at_or_above[static_cast<std::size_t>(b * k + q)];
        const auto total = static_cast<Scalar>(above * (k - 1) - (n - above));
        dsel(cache.quantile_row[static_cast<std::size_t>(b * k + q)], q) -= c * total;
      }
    }
  }

 private:
  Scalar m_weight;
};

}  // namespace gnnpool

#endif
