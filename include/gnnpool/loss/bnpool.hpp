#ifndef GNNPOOL_LOSS_BNPOOL_HPP
#define GNNPOOL_LOSS_BNPOOL_HPP

/// \file
/// BN-Pool's three losses (Castellana & Bianchi; tgp's `BNPool`): the class-balanced edge
/// reconstruction ("quality", with the cluster connectivity K), the KL of the stick fractions to
/// their Dirichlet-process prior ("kl") and K's Gaussian prior ("K_prior").

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/soft_kernels.hpp>
#include <gnnpool/detail/special.hpp>
#include <gnnpool/select/stick_breaking.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Reconstruction loss of BN-Pool ("quality"; tgp's `weighted_bce_reconstruction_loss` with
/// balance_links, normalised by N_b^2), mean over graphs. With R_b = S_b K S_b^T (n_b x n_b,
/// logits) and the weighted adjacency A_b as target:
///
///   l_b = (1 / n_b^2) sum_{i,j in b} w_ij BCEWithLogits(R_ij, A_ij),
///   BCEWithLogits(r, a) = max(r, 0) - r a + log(1 + exp(-|r|)),
///   w_ij = c_b = max(n_b^2 - E_b, 1) / max(E_b, 1) where A_ij != 0 (E_b such entries), 1 elsewhere.
///
/// Every pair of the graph enters (the non-edges too), so the cost is O(n_b^2 K) per graph
/// (row by row: O(n_b K) memory, never an n_b x n_b matrix); tgp's negative sampling for large
/// sparse graphs is not provided.
/// Backward (g = w / B): dR_ij = g w_ij (sigmoid(R_ij) - A_ij) / n_b^2;  dS_b += dR S_b K^T +
/// dR^T S_b K;  dK += S_b^T dR S_b (ADDED: K is shared with `ConnectivityPriorLoss`);
/// dA_ij += -g w_ij R_ij / n_b^2 on the stored entries (the target's derivative; pairs that are
/// not stored have no gradient slot). The weights w are read as constants (the pattern of A is).
/// Cache: E_b and c_b. Thread-safe (const).
template <typename Scalar_>
class EdgeReconstructionLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Vector<Scalar> edge_scale;  ///< c_b
  };

  /// `k_slot`: the K x K cluster connectivity in the pooler's ParameterSet.
  EdgeReconstructionLoss(Index k_slot, Scalar weight = Scalar(1)) : m_k(k_slot), m_weight(weight) {}
  std::string_view name() const { return "quality"; }
  Scalar weight() const { return m_weight; }
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_k); }

  Scalar forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                 Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "EdgeReconstructionLoss");
    const Matrix<Scalar>& kmat = params[m_k];
    GNNPOOL_CHECK(kmat.rows() == sel.s.cols() && kmat.cols() == sel.s.cols(), shape_error,
                  "EdgeReconstructionLoss: K is ", detail::shape(kmat.rows(), kmat.cols()), " but S has ", sel.s.cols(),
                  " clusters");
    const Index nb = detail::num_graphs(sel);
    cache.edge_scale.resize(nb);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    Vector<Scalar> row;
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) {
        cache.edge_scale[b] = 0;
        continue;
      }
      const Scalar c = edge_scale(in, lo, n);
      cache.edge_scale[b] = c;
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      const Matrix<Scalar> t = sb * kmat;  // n x K
      Scalar sum(0);
      for (Index i = 0; i < n; ++i) {
        row.noalias() = sb * t.row(i).transpose();  // R_i. (R = T S^T: R_ij = <T_i, S_j>)
        sum += row_loss(in, lo, i, row, c, nullptr);
      }
      per_graph[b] = sum / (static_cast<Scalar>(n) * static_cast<Scalar>(n));
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                const Cache& cache, Scalar dloss, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel,
                ParameterSet<Scalar>& dparams) const {
    const Matrix<Scalar>& kmat = params[m_k];
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar g = dloss / static_cast<Scalar>(nb);
    Vector<Scalar> row, drow;
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) continue;
      const Scalar scale = g / (static_cast<Scalar>(n) * static_cast<Scalar>(n));
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      auto db = detail::graph_rows(dsel, sel.offsets, b);
      const Matrix<Scalar> t = sb * kmat;              // S K
      Matrix<Scalar> u = Matrix<Scalar>::Zero(n, k);   // dR^T S K, accumulated row by row
      Matrix<Scalar> dk = Matrix<Scalar>::Zero(k, k);
      for (Index i = 0; i < n; ++i) {
        row.noalias() = sb * t.row(i).transpose();
        drow.resize(n);
        row_loss(in, lo, i, row, cache.edge_scale[b], &drow);  // dl_ij / dR_ij, and dA on stored entries
        drow *= scale;
        for (StorageIndex p = in.adj.outerIndexPtr()[lo + i]; p < in.adj.outerIndexPtr()[lo + i + 1]; ++p) {
          const Index j = Index(in.adj.innerIndexPtr()[p]) - lo;
          const Scalar a = in.adj.valuePtr()[p];
          const Scalar w = a != Scalar(0) ? cache.edge_scale[b] : Scalar(1);
          din.adj[p] += -scale * w * row[j];
        }
        const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> ds_row = drow.transpose() * sb;  // (dR S)_i
        db.row(i).noalias() += ds_row * kmat.transpose();
        u.noalias() += drow * t.row(i);
        dk.noalias() += sb.row(i).transpose() * ds_row;
      }
      db.noalias() += u;
      dparams[m_k] += dk;
    }
  }

 private:
  /// c_b = max(n^2 - E, 1) / max(E, 1), E = the stored entries of the graph with A != 0.
  static Scalar edge_scale(const BatchRef<Scalar>& in, Index lo, Index n) {
    Index edges = 0;
    for (StorageIndex p = in.adj.outerIndexPtr()[lo]; p < in.adj.outerIndexPtr()[lo + n]; ++p)
      if (in.adj.valuePtr()[p] != Scalar(0)) ++edges;
    const Index pairs = n * n;
    return static_cast<Scalar>(std::max<Index>(pairs - edges, 1)) / static_cast<Scalar>(std::max<Index>(edges, 1));
  }

  /// sum_j w_ij BCE(R_ij, A_ij) over row i (R_i. in `row`), and dl/dR into *drow when given.
  static Scalar row_loss(const BatchRef<Scalar>& in, Index lo, Index i, const Vector<Scalar>& row, Scalar c,
                         Vector<Scalar>* drow) {
    Scalar sum(0);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    StorageIndex p = outer[lo + i];
    const StorageIndex end = outer[lo + i + 1];
    for (Index j = 0; j < row.size(); ++j) {
      Scalar a(0);
      while (p < end && Index(inner[p]) - lo < j) ++p;
      if (p < end && Index(inner[p]) - lo == j) a = val[p];
      const Scalar w = a != Scalar(0) ? c : Scalar(1);
      const Scalar r = row[j];
      sum += w * (std::max(r, Scalar(0)) - r * a + std::log1p(std::exp(-std::abs(r))));
      if (drow) (*drow)[j] = w * (Scalar(1) / (Scalar(1) + std::exp(-r)) - a);
    }
    return sum;
  }

  Index m_k;
  Scalar m_weight;
};

/// KL loss of BN-Pool ("kl"; tgp's `kl_loss` with the Beta posteriors, normalised by N_b^2), mean
/// over graphs:
///
///   l_b = (1 / n_b^2) sum_{i in b} sum_k KL(Beta(alpha_ik, beta_ik) || Beta(1, alpha_DP)),
///   KL(Beta(a, b) || Beta(c, d)) = ln B(c, d) - ln B(a, b) + (a - c) psi(a) + (b - d) psi(b)
///                                  + (c + d - a - b) psi(a + b).
///
/// Backward (g = w / B): dKL/da = (a - c) psi'(a) + (c + d - a - b) psi'(a + b), dKL/db = (b - d)
/// psi'(b) + (c + d - a - b) psi'(a + b); ADDED into the selection's dalpha / dbeta (the stick
/// select turns them into parameter gradients): the loss reads alpha and beta, not S.
/// tgp's "kl" includes its coefficient eta; gnnpool's weight is eta. Cost O(N K). Thread-safe.
template <typename Scalar_>
class StickBreakingKLLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  explicit StickBreakingKLLoss(Scalar weight = Scalar(1), Scalar alpha_dp = Scalar(1)) : m_weight(weight), m_alpha_dp(alpha_dp) {
    GNNPOOL_CHECK(std::isfinite(alpha_dp) && alpha_dp > Scalar(0), invalid_argument,
                  "StickBreakingKLLoss: alpha_DP must be positive and finite, got ", alpha_dp);
  }
  std::string_view name() const { return "kl"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const StickBreakingSelection<Scalar>& sel, Cache& /*cache*/) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "StickBreakingKLLoss");
    const Index nb = detail::num_graphs(sel);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) continue;
      double sum = 0;
      for (Index i = lo; i < lo + n; ++i)
        for (Index j = 0; j < sel.alpha.cols(); ++j) sum += kl(static_cast<double>(sel.alpha(i, j)), static_cast<double>(sel.beta(i, j)));
      per_graph[b] = static_cast<Scalar>(sum) / (static_cast<Scalar>(n) * static_cast<Scalar>(n));
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const StickBreakingSelection<Scalar>& sel, const Cache& /*cache*/,
                Scalar dloss, BatchGrad<Scalar>& /*din*/, Matrix<Scalar>& /*dsel*/) const {
    const Index nb = detail::num_graphs(sel), m = sel.alpha.cols();
    if (sel.dalpha.size() == 0) sel.dalpha.setZero(sel.alpha.rows(), m);
    if (sel.dbeta.size() == 0) sel.dbeta.setZero(sel.beta.rows(), m);
    const double c = 1, d = static_cast<double>(m_alpha_dp);
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) continue;
      const double scale = static_cast<double>(dloss) / (static_cast<double>(nb) * static_cast<double>(n * n));
      for (Index i = lo; i < lo + n; ++i)
        for (Index j = 0; j < m; ++j) {
          const double a = static_cast<double>(sel.alpha(i, j)), bb = static_cast<double>(sel.beta(i, j));
          const double common = (c + d - a - bb) * detail::trigamma(a + bb);
          sel.dalpha(i, j) += static_cast<Scalar>(scale * ((a - c) * detail::trigamma(a) + common));
          sel.dbeta(i, j) += static_cast<Scalar>(scale * ((bb - d) * detail::trigamma(bb) + common));
        }
    }
  }

 private:
  double kl(double a, double b) const {
    const double c = 1, d = static_cast<double>(m_alpha_dp);
    return detail::log_beta(c, d) - detail::log_beta(a, b) + (a - c) * detail::digamma(a) + (b - d) * detail::digamma(b) +
           (c + d - a - b) * detail::digamma(a + b);
  }

  Scalar m_weight;
  Scalar m_alpha_dp;
};

/// Prior loss of BN-Pool's cluster connectivity K ("K_prior"; tgp's
/// `cluster_connectivity_prior_loss` normalised by N_b^2):
///
///   P = sum_kl (K_kl - mu_kl)^2 / (2 var),  mu = mu0 on the diagonal, -mu0 off it;
///   value = (1 / B) sum_b P / (B n_b^2)   (tgp divides the replicated P by B, then averages);
///
/// Backward: dK += w (K - mu) / var (1 / B^2) sum_b 1 / n_b^2 (ADDED: K is shared with the
/// reconstruction loss). An empty graph contributes 0 (tgp divides by 0). Cost O(K^2 + B).
template <typename Scalar_>
class ConnectivityPriorLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Scalar factor = 0;  ///< (1 / B^2) sum_b 1 / n_b^2
  };

  ConnectivityPriorLoss(Index k_slot, Scalar weight = Scalar(1), Scalar mu = Scalar(10), Scalar var = Scalar(1))
      : m_k(k_slot), m_weight(weight), m_mu(mu), m_var(var) {
    GNNPOOL_CHECK(std::isfinite(var) && var > Scalar(0), invalid_argument,
                  "ConnectivityPriorLoss: K_var must be positive and finite, got ", var);
  }
  std::string_view name() const { return "K_prior"; }
  Scalar weight() const { return m_weight; }
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_k); }

  Scalar forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                 Cache& cache) const {
    (void)sel;
    const Index nb = in.num_graphs();
    Scalar inv(0);
    for (Index b = 0; b < nb; ++b) {
      const Index n = in.graph_size(b);
      if (n > 0) inv += Scalar(1) / (static_cast<Scalar>(n) * static_cast<Scalar>(n));
    }
    cache.factor = inv / (static_cast<Scalar>(nb) * static_cast<Scalar>(nb));
    return penalty(params[m_k]) * cache.factor;
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& /*in*/, const SoftSelection<Scalar>& /*sel*/,
                const Cache& cache, Scalar dloss, BatchGrad<Scalar>& /*din*/, Matrix<Scalar>& /*dsel*/,
                ParameterSet<Scalar>& dparams) const {
    const Matrix<Scalar>& k = params[m_k];
    const Scalar scale = dloss * cache.factor / m_var;
    for (Index r = 0; r < k.rows(); ++r)
      for (Index c = 0; c < k.cols(); ++c) dparams[m_k](r, c) += scale * (k(r, c) - mean(r, c));
  }

 private:
  Scalar mean(Index r, Index c) const { return r == c ? m_mu : -m_mu; }
  Scalar penalty(const Matrix<Scalar>& k) const {
    Scalar p(0);
    for (Index r = 0; r < k.rows(); ++r)
      for (Index c = 0; c < k.cols(); ++c) p += Scalar(0.5) * (k(r, c) - mean(r, c)) * (k(r, c) - mean(r, c)) / m_var;
    return p;
  }

  Index m_k;
  Scalar m_weight, m_mu, m_var;
};

}  // namespace gnnpool

#endif
