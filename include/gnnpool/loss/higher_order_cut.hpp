#ifndef GNNPOOL_LOSS_HIGHER_ORDER_CUT_HPP
#define GNNPOOL_LOSS_HIGHER_ORDER_CUT_HPP

/// \file
/// `HigherOrderCutLoss`: HOSC's mix of the MinCut normalised cut of A and of a motif adjacency
/// M (Duval & Malliaros, "Higher-order clustering and pooling for graph neural networks", CIKM
/// 2022), computed on the sparse batch: M is never formed densely.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace gnnpool {

/// The motif adjacency M of `HigherOrderCutLoss`.
enum class MotifAdjacency {
  /// M = A^3 (weighted walks of length 3, a dense matrix in general): tgp's `HOSCPooling`. Never
  /// formed: t = tr(S^T A^3 S) = <S, A (A (A S))> and d = A (A (A 1)), O(E K).
  walks,
  /// M = A ⊙ A^2 on A's stored entries: M_ij = A_ij sum_k A_ik A_kj, the (weighted) number of
  /// triangles through edge ij: the paper's triangle motif. Same sparsity as A; computed by
  /// merging sorted neighbour lists, O(sum_i d_i^2). Needs a structurally symmetric A.
  triangles,
};

struct HigherOrderCutLossOptions {
  /// Weight of the motif term: (1 - alpha) cut(A) + alpha cut(M). tgp's default 0.5.
  double alpha = 0.5;
  MotifAdjacency motif = MotifAdjacency::walks;
  /// Added to every cut's denominator (tgp's eps).
  double eps = tgp_constants::eps;
};

/// HOSC's cut loss ("hosc_loss"), mean over graphs:
///
///   l_b = ((1 - alpha) c_b(A) + alpha c_b(M)) / K,   c_b(W) = -tr(S_b^T W_b S_b) / (tr(S_b^T D^W_b S_b) + eps),
///
/// D^W = diag(W 1) (row sums). Both use the input A, before any post-processing of the pooled
/// adjacency (tgp computes them from the raw S^T A S). A term with weight 0 is not computed.
///
/// Backward (w = upstream weight / (B K) times the term's mix; for c = -t / (q + eps):
/// a = -w / (q + eps), b = w t / (q + eps)^2):
///   walks:  dS += a (A^3 + A^3T) S + 2 b d3 ⊙ S, with A^3T S = A^T (A^T (A^T S)) (three scatters);
///           dA_ij += a [<S_i, (A^2 S)_j> + <(A^T S)_i, (A S)_j> + <(A^T A^T S)_i, S_j>]
///                  + b [v_i (A^2 1)_j + (A^T v)_i (A 1)_j + (A^T A^T v)_i],  v_i = |S_i|^2
///           (each of the three factors of A^3 in turn);
///   triangles: the cut of M (NormalizedCut) gives dM; then per wedge (i, k, j) of a stored
///           (i, j): dA_ij += dM_ij A_ik A_kj, dA_ik += dM_ij A_ij A_kj, dA_kj += dM_ij A_ij A_ik.
/// The first-order term's gradients are MinCutLoss's.
///
/// Analytic value: for a one-hot S aligned with the connected components, c(A) = c(M) = -1, so
/// l_b = -1 / K (the minimum; a graph whose M has no entry gives c(M) = 0).
/// Cost: walks O(E K) both ways, six sparse products forward and eight backward; triangles
/// O(sum_i d_i^2 + E K). Cache: A S, A^2 S, A^3 S (walks, 3 N x K) or M (triangles), the
/// degrees and the MinCut state. Thread-safe (const).
template <typename Scalar_>
class HigherOrderCutLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    detail::NormalizedCut<Scalar> first;  ///< c_b(A)
    // walks:
    Matrix<Scalar> p1, p2, p3;            ///< A S, A^2 S, A^3 S
    Vector<Scalar> d1, d2, d3;            ///< A 1, A^2 1, A^3 1
    Vector<Scalar> trace, volume;         ///< tr(S^T A^3 S), sum_i d3_i |S_i|^2 per graph
    // triangles:
    SparseMatrix<Scalar> motif;           ///< M with A's structure
    Vector<Scalar> wedge;                 ///< (A^2)_e per stored entry
    std::vector<StorageIndex> transpose;  ///< position of (j, i) for every stored (i, j)
    detail::NormalizedCut<Scalar> second; ///< c_b(M)
    Vector<Scalar> value;                 ///< c_b of the motif term (both motifs)
  };

  explicit HigherOrderCutLoss(Scalar weight = Scalar(1), HigherOrderCutLossOptions options = {})
      : m_weight(weight), m_options(options) {
    GNNPOOL_CHECK(std::isfinite(options.alpha) && options.alpha >= 0 && options.alpha <= 1, invalid_argument,
                  "HigherOrderCutLoss: alpha must be in [0, 1], got ", options.alpha);
    GNNPOOL_CHECK(std::isfinite(options.eps) && options.eps >= 0, invalid_argument,
                  "HigherOrderCutLoss: eps must be finite and >= 0, got ", options.eps);
  }
  std::string_view name() const { return "hosc_loss"; }
  Scalar weight() const { return m_weight; }
  const HigherOrderCutLossOptions& options() const { return m_options; }

  /// `adjacency_product`: A S of this batch and selection when the caller has it (the connect of
  /// the same `Pool`); otherwise the loss forms it.
  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache,
                 const Matrix<Scalar>* adjacency_product = nullptr) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "HigherOrderCutLoss");
    const Index nb = detail::num_graphs(sel);
    const Scalar eps = static_cast<Scalar>(m_options.eps), alpha = static_cast<Scalar>(m_options.alpha);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    if (alpha < Scalar(1)) {
      cache.first.forward(in.adj, sel, eps, adjacency_product);
      per_graph += (Scalar(1) - alpha) * cache.first.value;
    }
    if (alpha > Scalar(0)) {
      if (m_options.motif == MotifAdjacency::walks) walks_forward(in, sel, cache, adjacency_product);
      else triangles_forward(in, sel, cache);
      per_graph += alpha * cache.value;
    }
    return detail::graph_mean(per_graph) / static_cast<Scalar>(sel.s.cols());
  }

  /// `deferred` (N x K): the cut of A adds the rows it would scatter through A^T there and the
  /// caller scatters them (`Pool`); the motif term scatters its own.
  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel, Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = detail::num_graphs(sel);
    const Scalar eps = static_cast<Scalar>(m_options.eps), alpha = static_cast<Scalar>(m_options.alpha);
    const Scalar g = dloss / (static_cast<Scalar>(nb) * static_cast<Scalar>(sel.s.cols()));
    if (alpha < Scalar(1))
      cache.first.backward(in.adj, sel, Vector<Scalar>::Constant(nb, g * (Scalar(1) - alpha)), eps, dsel,
                               din.adj_needed ? &din.adj : nullptr, deferred);
    if (alpha > Scalar(0)) {
      if (m_options.motif == MotifAdjacency::walks) walks_backward(in, sel, cache, g * alpha, din, dsel);
      else triangles_backward(in, sel, cache, g * alpha, din, dsel);
    }
  }

 private:
  /// y = A^T x for a vector (a scatter over the CSR rows).
  static void transposed_vector_product(const SparseMatrix<Scalar>& a, const Vector<Scalar>& x, Vector<Scalar>& y) {
    y.setZero(a.cols());
    const StorageIndex* outer = a.outerIndexPtr();
    const StorageIndex* inner = a.innerIndexPtr();
    const Scalar* val = a.valuePtr();
    for (Index i = 0; i < a.rows(); ++i)
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) y[inner[p]] += val[p] * x[i];
  }

  void walks_forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache,
                     const Matrix<Scalar>* adjacency_product) const {
    const Index nb = detail::num_graphs(sel);
    const Scalar eps = static_cast<Scalar>(m_options.eps);
    if (adjacency_product) {
      detail::check_like_selection(*adjacency_product, sel, "HigherOrderCutLoss", "the shared product A S");
      cache.p1 = *adjacency_product;
    } else {
      detail::propagate<Scalar>(in.adj, in.adj.valuePtr(), nullptr, sel.s, cache.p1);
    }
    // Row gathers (`propagate`, rows in parallel), not Eigen's serial sparse products.
    detail::propagate<Scalar>(in.adj, in.adj.valuePtr(), nullptr, cache.p1, cache.p2);
    detail::propagate<Scalar>(in.adj, in.adj.valuePtr(), nullptr, cache.p2, cache.p3);
    cache.d1 = detail::row_sums(in.adj);
    cache.d2.noalias() = in.adj * cache.d1;
    cache.d3.noalias() = in.adj * cache.d2;
    cache.trace.setZero(nb);
    cache.volume.setZero(nb);
    cache.value.resize(nb);
    for (Index b = 0; b < nb; ++b) {
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        cache.trace[b] += sel.s.row(i).dot(cache.p3.row(i));
        cache.volume[b] += cache.d3[i] * sel.s.row(i).squaredNorm();
      }
      const Scalar q = cache.volume[b] + eps;
      cache.value[b] = q != Scalar(0) ? -cache.trace[b] / q : Scalar(0);
    }
  }

  void walks_backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar w,
                      BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index n = sel.s.rows(), k = sel.s.cols();
    const Scalar eps = static_cast<Scalar>(m_options.eps);
    // Per node: a_b (coefficient of the trace) times S, and b_b |S_i|^2 (of the volume).
    Matrix<Scalar> sa(n, k);
    Vector<Scalar> v(n);
    detail::parallel_graph_rows(sel.offsets, [&](Index b, Index lo, Index hi) {
      const Scalar q = cache.volume[b] + eps;
      const Scalar a = q != Scalar(0) ? -w / q : Scalar(0);
      const Scalar beta = q != Scalar(0) ? w * cache.trace[b] / (q * q) : Scalar(0);
      for (Index i = lo; i < hi; ++i) {
        sa.row(i) = a * sel.s.row(i);
        v[i] = beta * sel.s.row(i).squaredNorm();
        dsel.row(i) += a * cache.p3.row(i) + (Scalar(2) * beta * cache.d3[i]) * sel.s.row(i);
      }
    });
    // (A^3)^T S a: three scatters; U1 = A^T (a S), U2 = A^T U1, then dS += A^T U2.
    Matrix<Scalar> u1 = Matrix<Scalar>::Zero(n, k), u2 = Matrix<Scalar>::Zero(n, k);
    detail::add_transposed_product(in.adj, sa, u1, sel.offsets);
    detail::add_transposed_product(in.adj, u1, u2, sel.offsets);
    detail::add_transposed_product(in.adj, u2, dsel, sel.offsets);
    if (!din.adj_needed) return;
    // dA through each factor of A A A S and of A A A 1.
    detail::edge_inner_products(in.adj, sa, cache.p2, din.adj, /*accumulate=*/true);
    detail::edge_inner_products(in.adj, u1, cache.p1, din.adj, /*accumulate=*/true);
    detail::edge_inner_products(in.adj, u2, sel.s, din.adj, /*accumulate=*/true);
    Vector<Scalar> y1, y2;
    transposed_vector_product(in.adj, v, y1);
    transposed_vector_product(in.adj, y1, y2);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i)
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          din.adj[p] += v[i] * cache.d2[inner[p]] + y1[i] * cache.d1[inner[p]] + y2[i];
    });
  }

  /// Position of (j, i) for every stored (i, j); throws when A is not structurally symmetric.
  static void transpose_positions(const SparseMatrix<Scalar>& a, std::vector<StorageIndex>& out) {
    const StorageIndex* outer = a.outerIndexPtr();
    const StorageIndex* inner = a.innerIndexPtr();
    out.resize(static_cast<std::size_t>(a.nonZeros()));
    for (Index i = 0; i < a.rows(); ++i)
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
        const Index j = inner[p];
        const StorageIndex* first = inner + outer[j];
        const StorageIndex* last = inner + outer[j + 1];
        const StorageIndex* pos = std::lower_bound(first, last, static_cast<StorageIndex>(i));
        GNNPOOL_CHECK(pos != last && *pos == i, invalid_argument,
                      "HigherOrderCutLoss: the triangle motif needs a structurally symmetric adjacency, but (", i, ", ",
                      j, ") is stored and (", j, ", ", i, ") is not");
        out[static_cast<std::size_t>(p)] = static_cast<StorageIndex>(pos - inner);
      }
  }

  /// Calls f(e, p_ik, p_kj) for every wedge i - k - j of every stored e = (i, j): the common
  /// columns k of rows i and j (sorted merge), p_kj the position of (k, j) = transpose of (j, k).
  template <typename F>
  static void for_each_wedge(const SparseMatrix<Scalar>& a, const std::vector<StorageIndex>& transpose, F&& f) {
    const StorageIndex* outer = a.outerIndexPtr();
    const StorageIndex* inner = a.innerIndexPtr();
    for (Index i = 0; i < a.rows(); ++i)
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        const Index j = inner[e];
        StorageIndex p = outer[i], q = outer[j];
        while (p < outer[i + 1] && q < outer[j + 1]) {
          if (inner[p] < inner[q]) ++p;
          else if (inner[q] < inner[p]) ++q;
          else {
            f(e, p, transpose[static_cast<std::size_t>(q)]);
            ++p, ++q;
          }
        }
      }
  }

  void triangles_forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    transpose_positions(in.adj, cache.transpose);
    const Scalar* val = in.adj.valuePtr();
    cache.wedge.setZero(in.adj.nonZeros());
    for_each_wedge(in.adj, cache.transpose,
                   [&](StorageIndex e, StorageIndex ik, StorageIndex kj) { cache.wedge[e] += val[ik] * val[kj]; });
    cache.motif = in.adj;
    for (Index e = 0; e < in.adj.nonZeros(); ++e) cache.motif.valuePtr()[e] = val[e] * cache.wedge[e];
    cache.second.forward(cache.motif, sel, static_cast<Scalar>(m_options.eps));
    cache.value = cache.second.value;
  }

  void triangles_backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar w,
                          BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index nb = detail::num_graphs(sel);
    Vector<Scalar> dm = Vector<Scalar>::Zero(din.adj_needed ? in.adj.nonZeros() : 0);
    cache.second.backward(cache.motif, sel, Vector<Scalar>::Constant(nb, w), static_cast<Scalar>(m_options.eps), dsel,
                          din.adj_needed ? &dm : nullptr);
    if (!din.adj_needed) return;
    const Scalar* val = in.adj.valuePtr();
    for (Index e = 0; e < in.adj.nonZeros(); ++e) din.adj[e] += dm[e] * cache.wedge[e];
    for_each_wedge(in.adj, cache.transpose, [&](StorageIndex e, StorageIndex ik, StorageIndex kj) {
      din.adj[ik] += dm[e] * val[e] * val[kj];
      din.adj[kj] += dm[e] * val[e] * val[ik];
    });
  }

  Scalar m_weight;
  HigherOrderCutLossOptions m_options;
};

}  // namespace gnnpool

#endif
