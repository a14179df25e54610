#ifndef GNNPOOL_DETAIL_SOFT_KERNELS_HPP
#define GNNPOOL_DETAIL_SOFT_KERNELS_HPP

/// \file
/// Internal kernels of the soft-clustering family (MinCut, DiffPool, DMoN): per-graph sums over
/// the stored entries of a block-diagonal CSR adjacency against a dense N x K assignment S, and
/// their vector-Jacobian products. Every loss of the family reduces to these O(E K + N K^2)
/// passes, so no policy forms an N x N matrix or pads a graph. Not part of the API.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/types.hpp>

#include <cmath>
#include <string_view>

namespace gnnpool::detail {

template <typename Scalar>
using RowMap = Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
template <typename Scalar>
using ConstRowMap = Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;

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

/// d_i = sum_j A_ij: weighted row sums (PyG's `einsum('ijk->ij', adj)`). O(E).
template <typename Scalar>
Vector<Scalar> row_sums(const SparseMatrix<Scalar>& adj) {
  Vector<Scalar> d(adj.rows());
  const StorageIndex* outer = adj.outerIndexPtr();
  const Scalar* val = adj.valuePtr();
  for (Index i = 0; i < adj.rows(); ++i) {
    Scalar acc(0);
    for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) acc += val[p];
    d[i] = acc;
  }
  return d;
}

/// t_b = tr(S_b^T A_b S_b) = sum over the stored entries (i, j) of graph b of A_ij <S_i, S_j>.
/// One pass over the edges, O(E K), no N x K temporary.
template <typename Scalar>
Vector<Scalar> graph_quadratic_form(const SparseMatrix<Scalar>& adj, const Matrix<Scalar>& s,
                                    const IndexVector& offsets) {
  const Index nb = static_cast<Index>(offsets.size()) - 1, k = s.cols();
  Vector<Scalar> t = Vector<Scalar>::Zero(nb);
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Scalar* val = adj.valuePtr();
  for (Index b = 0; b < nb; ++b) {
    Scalar acc(0);
    for (Index i = offsets[static_cast<std::size_t>(b)]; i < offsets[static_cast<std::size_t>(b) + 1]; ++i) {
      const ConstRowMap<Scalar> si(s.data() + i * k, k);
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        acc += val[p] * si.dot(ConstRowMap<Scalar>(s.data() + Index(inner[p]) * k, k));
    }
    t[b] = acc;
  }
  return t;
}

/// VJP of alpha_b * t_b (t from `graph_quadratic_form`) plus a per-row term of the degrees:
///   dS_i += alpha_b sum_j A_ij S_j,  dS_j += alpha_b A_ij S_i     (i.e. alpha_b (A + A^T) S)
///   dA_e += alpha_b <S_i, S_j> + row_term_i                         (e = stored entry (i, j))
/// `row_term` (N entries, or nullptr) is dL/dd_i for losses that read the degrees d_i = sum_j A_ij:
/// every stored entry of row i moves d_i one for one. Both outputs are ADDED. One edge pass.
template <typename Scalar>
void graph_quadratic_form_backward(const SparseMatrix<Scalar>& adj, const Matrix<Scalar>& s,
                                   const IndexVector& offsets, const Vector<Scalar>& alpha,
                                   const Vector<Scalar>* row_term, Matrix<Scalar>& ds, Vector<Scalar>& dadj) {
  const Index nb = static_cast<Index>(offsets.size()) - 1, k = s.cols();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Scalar* val = adj.valuePtr();
  for (Index b = 0; b < nb; ++b) {
    const Scalar a = alpha[b];
    for (Index i = offsets[static_cast<std::size_t>(b)]; i < offsets[static_cast<std::size_t>(b) + 1]; ++i) {
      const ConstRowMap<Scalar> si(s.data() + i * k, k);
      RowMap<Scalar> dsi(ds.data() + i * k, k);
      const Scalar r = row_term ? (*row_term)[i] : Scalar(0);
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
        const Index j = inner[p];
        const ConstRowMap<Scalar> sj(s.data() + j * k, k);
        dadj[p] += a * si.dot(sj) + r;
        const Scalar aw = a * val[p];
        dsi += aw * sj;
        RowMap<Scalar>(ds.data() + j * k, k) += aw * si;
      }
    }
  }
}

/// Per-graph Gram matrices P_b = S_b^T S_b stacked as a (B K) x K matrix. O(N K^2).
template <typename Scalar>
Matrix<Scalar> graph_gram(const SoftSelection<Scalar>& sel) {
  const Index nb = num_graphs(sel), k = sel.s.cols();
  Matrix<Scalar> p(nb * k, k);
  for (Index b = 0; b < nb; ++b) {
    const auto sb = graph_rows(sel.s, sel.offsets, b);
    p.middleRows(b * k, k).noalias() = sb.transpose() * sb;
  }
  return p;
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
