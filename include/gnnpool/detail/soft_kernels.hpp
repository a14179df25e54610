#ifndef GNNPOOL_DETAIL_SOFT_KERNELS_HPP
#define GNNPOOL_DETAIL_SOFT_KERNELS_HPP

/// \file
/// Internal kernels of the soft-clustering family (MinCut, DiffPool, DMoN): per-graph sums over
/// the stored entries of a block-diagonal CSR adjacency against a dense N x K assignment S, and
/// their vector-Jacobian products. Every loss of the family reduces to these O(E K + N K^2)
/// passes, so no policy forms an N x N matrix or pads a graph. Not part of the API.
///
/// Cost model: on graphs whose rows are scattered in memory (no locality), every pass over the
/// edges costs one random row access per stored entry; the kernels are arranged so that each
/// policy makes as few of those passes as possible: one gather pass in forward (A S, cached for
/// backward), and one scatter (A^T S) in backward.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/types.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/detail/rows.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace gnnpool::detail {

/// Graph b's rows of a row-major N x K matrix (K x n_b transposed views come from `.transpose()`).
template <typename Derived>
auto graph_rows(Derived& m, const IndexVector& offsets, Index b) {
  const auto lo = offsets[static_cast<std::size_t>(b)];
  return m.middleRows(lo, offsets[static_cast<std::size_t>(b) + 1] - lo);
}

/// Number of graphs of a selection.
template <typename Scalar>
Index num_graphs(const SoftSelection<Scalar>& sel) {
  return static_cast<Index>(sel.offsets.size()) - 1;
}

/// Checks that a soft selection fits the batch it was computed on: same node count and graph
/// boundaries, at least one cluster. Used by the public entry points of every soft policy.
template <typename Scalar>
void check_soft_selection(const SoftSelection<Scalar>& sel, Index num_nodes, const IndexVector& offsets,
                          std::string_view layer) {
  GNNPOOL_CHECK(sel.s.rows() == num_nodes, shape_error, layer, ": the assignment S is ",
                shape(sel.s.rows(), sel.s.cols()), " but the batch has ", num_nodes, " nodes");
  GNNPOOL_CHECK(sel.s.cols() >= 1, invalid_argument, layer,
                ": the assignment S has no cluster (K = 0)");
  GNNPOOL_CHECK(sel.offsets == offsets, invalid_argument, layer,
                ": the selection's graph offsets (", sel.offsets.size() - 1,
                " graphs) differ from the batch's (", offsets.size() - 1, " graphs)");
}

/// Checks that an N x K matrix handed between the policies of one soft pooler (the shared A S,
/// the deferred scatter's rows) has the shape of S; `what` names it in the message.
template <typename Scalar>
void check_like_selection(const Matrix<Scalar>& m, const SoftSelection<Scalar>& sel, std::string_view layer,
                          std::string_view what) {
  GNNPOOL_CHECK(m.rows() == sel.s.rows() && m.cols() == sel.s.cols(), shape_error, layer, ": ", what, " is ",
                shape(m.rows(), m.cols()), " but S is ", shape(sel.s.rows(), sel.s.cols()));
}

/// out += A^T T (T, out: N x K row-major, distinct), as a scatter over the CSR rows of A: for
/// every stored (i, j), out_j += c_b A_ij T_i, with c_b = alpha[b] for the graph b of row i (the
/// adjacency is block-diagonal, so j is in the same graph), or 1 when `alpha` is null. Several
/// times faster than Eigen's transposed sparse-dense product for K of a few tens, whose inner
/// update is not vectorised (`scatter_row`: T_i held in registers while row i's entries are
/// walked).
template <typename Scalar>
void add_transposed_product(const SparseMatrix<Scalar>& adj, const Matrix<Scalar>& t, Matrix<Scalar>& out,
                            const IndexVector& offsets, const Vector<Scalar>* alpha = nullptr) {
  GNNPOOL_ASSERT(&t != &out, "add_transposed_product: T and out alias");
  const Index k = t.cols();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Scalar* val = adj.valuePtr();
  // Graphs in parallel: the adjacency is block-diagonal, so a graph scatters into its own rows.
  // One graph runs serially: a fixed cut of its K columns into blocks of 8 made MinCut at S100k
  // 30 % slower on one thread (a pass over the edges per block, half-width vectors).
  parallel_graphs(offsets, [&](Index b_lo, Index b_hi) {
    for (Index b = b_lo; b < b_hi; ++b) {
      const Scalar c = alpha ? (*alpha)[b] : Scalar(1);
      if (c == Scalar(0)) continue;
      for (Index i = offsets[static_cast<std::size_t>(b)]; i < offsets[static_cast<std::size_t>(b) + 1]; ++i)
        scatter_row(t.data() + i * k, k, c, val, inner, outer[i], outer[i + 1], out.data(), k);
    }
  });
}

/// g_e = <L_i, R_j> for every stored entry e = (i, j) of adj (L, R: N x K row-major). One pass
/// that only gathers rows of R (no scatter), O(E K). This is dL/dA_e of every bilinear term
/// sum_e A_e <L_i, R_j> of the family.
/// With `accumulate` the products are added into g (which must hold nnz(adj) entries) instead.
template <typename Scalar>
void edge_inner_products(const SparseMatrix<Scalar>& adj, const Matrix<Scalar>& left, const Matrix<Scalar>& right,
                         Vector<Scalar>& g, bool accumulate = false) {
  const Index k = left.cols();
  if (!accumulate) g.resize(adj.nonZeros());
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  parallel_rows(adj.rows(), [&](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      const Scalar* li = left.data() + i * k;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
        const Scalar v = row_dot(li, right.data() + Index(inner[p]) * k, k);
        g[p] = accumulate ? g[p] + v : v;
      }
    }
  });
}

/// The forward state shared by the quadratic-form losses (MinCut, link, modularity):
/// P = A S, t_b = tr(S_b^T A_b S_b) = sum_{i in b} <S_i, P_i> and, when asked, d_i = sum_j A_ij.
/// One gather of the S rows (`propagate`) and one pass over N K; the per-edge products
/// <S_i, S_j>, which only dL/dA needs, are formed by the backward when it is asked for dA.
template <typename Scalar>
struct QuadraticForm {
  Matrix<Scalar> product;  ///< P = A S (N x K), for (A + A^T) S in backward
  Vector<Scalar> trace;    ///< t_b
  Vector<Scalar> degree;   ///< d_i (empty unless `degrees`)

  /// `shared`: A S already formed by the caller (the connect of the same pooler), copied instead
  /// of computed; its shape is checked, its values are trusted.
  void compute(const SparseMatrix<Scalar>& adj, const SoftSelection<Scalar>& sel, bool degrees,
               const Matrix<Scalar>* shared = nullptr) {
    if (degrees) degree = row_sums(adj);
    if (shared) {
      check_like_selection(*shared, sel, "QuadraticForm", "the shared product A S");
      product = *shared;
    } else {
      propagate<Scalar>(adj, adj.valuePtr(), nullptr, sel.s, product);
    }
    const Index k = sel.s.cols();
    trace.resize(num_graphs(sel));
    parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b) {
        Scalar acc(0);
        for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i)
          acc += row_dot(sel.s.data() + i * k, product.data() + i * k, k);
        trace[b] = acc;
      }
    });
  }
};

/// VJP of sum_b alpha_b t_b (t_b = tr(S_b^T A_b S_b) from `QuadraticForm`) plus a per-row term of
/// the degrees:
///   dS_b += alpha_b ((A + A^T) S)_b = alpha_b (P + A^T S)_b   (P = A S from the forward pass)
///   dA_e += alpha_b <S_i, S_j> + row_term_i                   (e = stored entry (i, j))
/// `row_term` (N entries, or nullptr) is dL/dd_i for losses that read d_i = sum_j A_ij: every stored
/// entry of row i moves d_i one for one. Both outputs are ADDED; A^T S is scattered straight into
/// dS (one pass over the edges, no temporary), or, when `deferred` is given (N x K), alpha_b S_i is
/// added to its rows and the caller scatters A^T deferred into dS once for every policy that
/// scatters through the same A (see `Pool::backward`). A null `dadj` skips dA (no caller needs it).
template <typename Scalar>
void graph_quadratic_form_backward(const SparseMatrix<Scalar>& adj, const SoftSelection<Scalar>& sel,
                                   const QuadraticForm<Scalar>& form, const Vector<Scalar>& alpha,
                                   const Vector<Scalar>* row_term, Matrix<Scalar>& ds, Vector<Scalar>* dadj,
                                   Matrix<Scalar>* deferred = nullptr) {
  const Matrix<Scalar>& s = sel.s;
  const Matrix<Scalar>& product = form.product;
  const IndexVector& offsets = sel.offsets;
  if (deferred) check_like_selection(*deferred, sel, "graph_quadratic_form_backward", "the deferred scatter");
  parallel_graph_rows(offsets, [&](Index b, Index lo, Index hi) {
    if (alpha[b] == Scalar(0)) return;
    ds.middleRows(lo, hi - lo).noalias() += alpha[b] * product.middleRows(lo, hi - lo);
    if (deferred) deferred->middleRows(lo, hi - lo).noalias() += alpha[b] * s.middleRows(lo, hi - lo);
  });
  if (!deferred) add_transposed_product(adj, s, ds, offsets, &alpha);
  if (!dadj) return;
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Index k = s.cols();
  Scalar* da = dadj->data();
  parallel_graph_rows(offsets, [&](Index b, Index lo, Index hi) {
    const Scalar a = alpha[b];
    for (Index i = lo; i < hi; ++i) {
      const Scalar r = row_term ? (*row_term)[i] : Scalar(0);
      const Scalar* si = s.data() + i * k;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        da[p] += a * row_dot(si, s.data() + Index(inner[p]) * k, k) + r;
    }
  });
}

/// The normalised cut of the MinCut family on an adjacency M (A itself, or a motif adjacency
/// stored with A's structure): per graph c_b = -t_b / (q_b + eps), t_b = tr(S_b^T M_b S_b),
/// q_b = tr(S_b^T D_b S_b) = sum_i d_i |S_i|^2, d = M 1 (row sums). A graph whose q_b + eps is
/// below `numeric<Scalar>::tiny()` (with eps = 0: no edge, or a volume that would make the
/// 1/q_b gradient overflow) gets c_b = 0 and zero gradient. Backward forms w_b / q_b and
/// t_b / q_b before multiplying, never q_b^2 (which underflows in float while q_b is not 0).
template <typename Scalar>
struct NormalizedCut {
  QuadraticForm<Scalar> form;  ///< t_b, d_i, M S
  Vector<Scalar> volume;       ///< q_b
  Vector<Scalar> value;        ///< c_b

  void forward(const SparseMatrix<Scalar>& m, const SoftSelection<Scalar>& sel, Scalar eps,
               const Matrix<Scalar>* shared = nullptr) {
    const Index nb = num_graphs(sel);
    form.compute(m, sel, /*degrees=*/true, shared);
    volume.setZero(nb);
    for (Index b = 0; b < nb; ++b)
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i)
        volume[b] += form.degree[i] * sel.s.row(i).squaredNorm();
    value.resize(nb);
    for (Index b = 0; b < nb; ++b) {
      const Scalar q = volume[b] + eps;
      value[b] = counts(q) ? -form.trace[b] / q : Scalar(0);
    }
  }

  /// VJP of sum_b w_b c_b, ADDED into ds (N x K) and dm (one entry per stored entry of m):
  ///   dS_i += w_b (-(M + M^T) S / q_b + 2 t_b d_i S_i / q_b^2)_i,
  ///   dM_ij += w_b (-<S_i, S_j> / q_b + t_b |S_i|^2 / q_b^2)   (the second term: d_i moves with M_ij),
  /// q_b including eps. One scatter pass over the edges. A null `dm` skips dM.
  /// `deferred`: see `graph_quadratic_form_backward` (only when m is the adjacency the caller
  /// scatters through).
  void backward(const SparseMatrix<Scalar>& m, const SoftSelection<Scalar>& sel, const Vector<Scalar>& w, Scalar eps,
                Matrix<Scalar>& ds, Vector<Scalar>* dm, Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = num_graphs(sel);
    Vector<Scalar> alpha(nb), beta(nb);  // w_b dc_b/dt_b and w_b dc_b/dq_b
    for (Index b = 0; b < nb; ++b) {
      const Scalar q = volume[b] + eps;
      alpha[b] = counts(q) ? -w[b] / q : Scalar(0);
      beta[b] = counts(q) ? (w[b] / q) * (form.trace[b] / q) : Scalar(0);  // w t / q^2, q^2 never formed
    }
    // q_b = sum_i d_i |S_i|^2: dS_i += 2 beta d_i S_i, and dd_i = beta |S_i|^2 for each entry of row i.
    Vector<Scalar> row_term(sel.s.rows());
    for (Index b = 0; b < nb; ++b)
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        row_term[i] = beta[b] * sel.s.row(i).squaredNorm();
        ds.row(i) += (Scalar(2) * beta[b] * form.degree[i]) * sel.s.row(i);
      }
    graph_quadratic_form_backward(m, sel, form, alpha, &row_term, ds, dm, deferred);
  }

  /// Whether a graph's denominator q_b + eps is large enough to count (see the struct comment).
  static bool counts(Scalar q) { return std::abs(q) >= numeric<Scalar>::tiny(); }
};

/// Per-graph Gram matrices P_b = S_b^T S_b stacked as a (B K) x K matrix (resized). O(N K^2).
template <typename Scalar>
void graph_gram(const SoftSelection<Scalar>& sel, Matrix<Scalar>& p) {
  const Index nb = num_graphs(sel), k = sel.s.cols();
  p.resize(nb * k, k);
  parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
    for (Index b = b_lo; b < b_hi; ++b) {
      const auto sb = graph_rows(sel.s, sel.offsets, b);
      product_transpose_rows(sb, sb, p.middleRows(b * k, k));
    }
  });
}

/// Per-graph column sums u_b = S_b^T v (v = 1 when `v` is null), stacked as a B x K matrix.
template <typename Scalar>
Matrix<Scalar> graph_weighted_column_sums(const SoftSelection<Scalar>& sel, const Vector<Scalar>* v) {
  const Index nb = num_graphs(sel), k = sel.s.cols();
  Matrix<Scalar> u = Matrix<Scalar>::Zero(nb, k);
  for (Index b = 0; b < nb; ++b) {
    for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i)
      u.row(b) += (v ? (*v)[i] : Scalar(1)) * sel.s.row(i);
  }
  return u;
}

/// The batch reduction of every soft loss: the mean over the B graphs (B >= 1 by check_batch).
template <typename Scalar>
Scalar graph_mean(const Vector<Scalar>& per_graph) {
  return per_graph.size() == 0 ? Scalar(0) : per_graph.sum() / static_cast<Scalar>(per_graph.size());
}

}  // namespace gnnpool::detail

#endif
