#ifndef GNNPOOL_CONNECT_SOFT_HPP
#define GNNPOOL_CONNECT_SOFT_HPP

/// \file
/// `SoftConnect`: A' = S^T A S per graph, computed as S^T (A S) with one sparse-dense product over
/// the whole batch, then optionally PyG MinCut / DMoN's zero-diagonal symmetric normalisation.
/// Also `from_dense_batch`, which turns PyG's padded dense batch into gnnpool's unpadded one.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

namespace gnnpool {

/// What `SoftConnect` does to the raw pooled adjacency S^T A S.
enum class SoftConnectNormalization {
  /// A' = S^T A S, diagonal kept (DiffPool: PyG, Spektral, DGL).
  none,
  /// Zero diagonal, then A'_kl = A0_kl / ((sqrt(d_k) + eps) (sqrt(d_l) + eps)) with d the row sums
  /// of the zero-diagonal A0 and eps = 1e-15 added after the square root (PyG's
  /// dense_mincut_pool and DMoNPooling).
  symmetric,
  /// Zero diagonal, then A'_kl = A0_kl / (sqrt(c_k) sqrt(c_l)) with c = max(column sums of A0,
  /// 1e-8): tgp's `DenseConnect` on dense (batched) input, its default for every dense soft
  /// pooler (remove_self_loops, degree_norm, adj_transpose = True), and on sparse input.
  clamped_column_degree,
  /// As `clamped_column_degree` with the row sums (tgp's `DenseConnect` with adj_transpose =
  /// False on a dense input). tgp's sparse (unbatched) path takes the row sums of its
  /// A[source, target], i.e. the column sums of gnnpool's adj(target, source):
  /// `clamped_column_degree` reproduces it.
  clamped_row_degree,
};

/// Pooled adjacency of a soft assignment, graph by graph.
///
/// Forward:  P = A S (one CSR x dense product over the batch, O(E K));
///           R_b = S_b^T P_b (K x K per graph, O(n_b K^2));
///           none:      A'_b = R_b;
///           otherwise: A0 = R_b with zero diagonal, d_k = sum_l A0_kl (rows) or sum_l A0_lk
///                      (clamped_column_degree), r_k = rho(d_k), A'_kl = A0_kl r_k r_l, with
///                      rho(d) = 1 / (sqrt(d) + 1e-15) (symmetric) or 1 / sqrt(max(d, 1e-8)) (clamped).
/// Backward (G_b = dL/dA'_b, K x K):
///           dA0_kl = G_kl r_k r_l;  dr_k = sum_l (G_kl A0_kl + G_lk A0_lk) r_l  (A0 symmetric or
///           not: both index orders are summed);
///           dd_k = dr_k rho'(d_k), rho'(d) = -r^2 / (2 sqrt(d)) (symmetric) or -r^3 / 2
///           (clamped; 0 where the clamp is active);  dR_kl = dA0_kl + dd_k (rows) or + dd_l
///           (columns) for k != l, dR_kk = 0.   none: dR = G.
///           symmetric: dd_k is evaluated as -1/2 r_k rho_k (dr_k / d_k), rho_k = r_k sqrt(d_k) =
///           sqrt(d_k) / (sqrt(d_k) + eps) in [0, 1): the same number, but r_k^2 / sqrt(d_k)
///           overflows float at a tiny pooled degree (a cluster a saturated softmax leaves
///           almost empty, d_k ~ 1e-38) while the product it multiplies is tiny too. For a
///           symmetric A, A0_lk <= d_k bounds |dr_k| / d_k by 2 K max|G| max r and dd_k by about
///           K max|G| / eps^2. For a directed graph nothing bounds it (a supernode that sends
///           weight but receives almost none: A0_lk >> d_k; A' itself is then huge), and a
///           gradient that overflows Scalar is an invalid_argument rather than an inf.
///           clamped: r_k <= 1e4 under the clamp, so r_k^3 stays in range in float.
///           T = S dR (N x K);  dS += P dR^T + A^T T;  dA_ij += <T_i, S_j> on the stored entries (skipped when din.adj_needed is false)
///           (a sparse-dense product and one gather-only pass over the edges).
///
/// Degenerate input, deliberately different from PyG: a supernode with d_k <= 0 (a cluster
/// without outside edges, an edgeless graph, or negative weights) gets r'(d_k) = 0: its row and
/// column are 0 in forward (as in PyG) and its gradient through d_k is 0 where PyG's is inf/NaN.
/// d_k < 0 (negative weights only) is treated as 0 instead of PyG's NaN.
///
/// Output: CSR (B K) x (B K), block-diagonal, every block K x K dense with all K^2 entries
/// stored (zeros included, the diagonal of the normalised form too), rows in order, so the
/// structure depends only on (B, K) and a second pooler can take it as its input batch.
/// Cache: P = A S (N x K), R and r per graph. Cost: O(E K + N K^2) forward, and the same
/// backward; memory O(N K + B K^2). A dense A is simply a batch that stores every pair of its
/// graphs (`from_dense_batch`): the same code then costs O(sum_b n_b^2 K). Thread-safe (const).
template <typename Scalar_>
class SoftConnect {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> as;   ///< P = A S, N x K
    Matrix<Scalar> raw;  ///< R_b = S_b^T A_b S_b stacked, (B K) x K
    Vector<Scalar> r;    ///< rho(d), B K entries (normalised modes only)
    /// Backward workspace (dR and T = S dR), reused between calls so that repeated training steps
    /// do not allocate: a Cache serves one forward / backward pair at a time.
    mutable Matrix<Scalar> draw, t;
  };

  /// P = A S of the last forward: the quadratic-form losses of the same `Pool` read it instead of
  /// forming A S again (see `detail::loss_forward`).
  static const Matrix<Scalar>& adjacency_product(const Cache& cache) { return cache.as; }

  /// ds += A^T rows (rows: N x K, ds: N x K), the scatter that this connect's backward and the
  /// quadratic-form losses defer to their `Pool` when it gives them a `deferred` matrix: one pass
  /// over the edges for all of them.
  static void add_transposed(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Matrix<Scalar>& rows,
                             Matrix<Scalar>& ds) {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "SoftConnect");
    detail::check_like_selection(rows, sel, "SoftConnect", "the deferred scatter");
    detail::check_like_selection(ds, sel, "SoftConnect", "dS");
    detail::add_transposed_product(in.adj, rows, ds, sel.offsets);
  }

  explicit SoftConnect(SoftConnectNormalization normalization = SoftConnectNormalization::none)
      : m_normalization(normalization) {}
  SoftConnectNormalization normalization() const { return m_normalization; }

  void forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, SparseMatrix<Scalar>& adj_out,
               Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "SoftConnect");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    detail::propagate<Scalar>(in.adj, in.adj.valuePtr(), nullptr, sel.s, cache.as);  // P = A S
    cache.raw.resize(nb * k, k);
    detail::parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b)
        detail::product_transpose_rows(detail::graph_rows(sel.s, sel.offsets, b),
                                       detail::graph_rows(cache.as, sel.offsets, b), cache.raw.middleRows(b * k, k));
    });
    allocate_blocks(nb, k, adj_out);
    Eigen::Map<Matrix<Scalar>> out(adj_out.valuePtr(), nb * k, k);  // row r of block b = CSR row b K + r
    if (m_normalization == SoftConnectNormalization::none) {
      out = cache.raw;
      cache.r.resize(0);
      return;
    }
    cache.r.resize(nb * k);
    for (Index b = 0; b < nb; ++b) {
      auto o = out.middleRows(b * k, k);
      o = cache.raw.middleRows(b * k, k);
      o.diagonal().setZero();
      for (Index q = 0; q < k; ++q) cache.r[b * k + q] = inverse_root(degree(o, q));
      const auto rb = cache.r.segment(b * k, k);
      o = (rb.asDiagonal() * o * rb.asDiagonal()).eval();
    }
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel,
                Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    GNNPOOL_CHECK(dadj_out.size() == nb * k * k, shape_error, "SoftConnect backward: dA' has ",
                  dadj_out.size(), " entries but the pooled adjacency stores ", nb * k * k);
    GNNPOOL_CHECK(cache.as.rows() == in.num_nodes() && cache.raw.rows() == nb * k, invalid_argument,
                  "SoftConnect backward: the cache does not come from a forward on this batch");
    const Eigen::Map<const Matrix<Scalar>> g(dadj_out.data(), nb * k, k);
    Matrix<Scalar>& draw = cache.draw;
    draw.resize(nb * k, k);
    if (m_normalization == SoftConnectNormalization::none) {
      draw = g;
    } else {
      for (Index b = 0; b < nb; ++b) {
        const auto gb = g.middleRows(b * k, k);
        const auto rb = cache.r.segment(b * k, k);
        Matrix<Scalar> a0 = cache.raw.middleRows(b * k, k);
        a0.diagonal().setZero();
        auto db = draw.middleRows(b * k, k);
        db = rb.asDiagonal() * gb * rb.asDiagonal();  // dA0 through the numerator
        // A'_kl = A0_kl r_k r_l: dr_k collects row k and column k.
        const Matrix<Scalar> ga = gb.cwiseProduct(a0);
        const Vector<Scalar> dr = ga * rb + ga.transpose() * rb;
        for (Index q = 0; q < k; ++q) {
          const Scalar dd = degree_gradient(dr[q], degree(a0, q), rb[q]);
          if (m_normalization == SoftConnectNormalization::clamped_column_degree) db.col(q).array() += dd;
          else db.row(q).array() += dd;  // d_k = sum_l A0_kl
        }
        db.diagonal().setZero();  // the diagonal was overwritten by 0: no gradient flows back
      }
    }
    // T = S dR per graph; dS += P dR^T + A^T T; dA_ij += <T_i, S_j> (a gather-only dot pass).
    Matrix<Scalar>& t = cache.t;
    t.resize(in.num_nodes(), k);
    detail::parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b) {
        const auto drb = draw.middleRows(b * k, k);
        detail::product_rows(detail::graph_rows(sel.s, sel.offsets, b), drb, detail::graph_rows(t, sel.offsets, b));
        detail::product_rows(detail::graph_rows(cache.as, sel.offsets, b), drb.transpose(),
                             detail::graph_rows(dsel, sel.offsets, b), true);
      }
    });
    if (deferred) {
      detail::check_like_selection(*deferred, sel, "SoftConnect backward", "the deferred scatter");
      *deferred += t;  // the caller scatters A^T deferred (`add_transposed`)
    } else {
      detail::add_transposed_product(in.adj, t, dsel, sel.offsets);
    }
    if (din.adj_needed) detail::edge_inner_products(in.adj, t, sel.s, din.adj, /*accumulate=*/true);
    if (m_normalization == SoftConnectNormalization::symmetric)
      GNNPOOL_CHECK(detail::all_finite(draw) && detail::all_finite(dsel) && detail::all_finite(din.adj), invalid_argument,
                    "SoftConnect backward: the gradient overflows this precision. A supernode with a tiny pooled "
                    "degree d sends weight it does not receive (a directed graph), so dL/dd ~ 1 / sqrt(d) is not "
                    "bounded; use normalization = none, or a symmetric adjacency");
  }

 private:
  /// d_q of the zero-diagonal block: its row sum, or its column sum (clamped_column_degree).
  template <typename Block>
  Scalar degree(const Block& a0, Index q) const {
    return m_normalization == SoftConnectNormalization::clamped_column_degree ? a0.col(q).sum() : a0.row(q).sum();
  }
  /// rho(d): 1 / (sqrt(d) + eps) with PyG's eps, d <= 0 read as 0 (symmetric); 1 / sqrt(max(d,
  /// 1e-8)) with tgp's eps (clamped).
  Scalar inverse_root(Scalar d) const {
    if (m_normalization == SoftConnectNormalization::symmetric) {
      const Scalar eps = static_cast<Scalar>(pyg_constants::sqrt_degree_eps);
      return Scalar(1) / ((d > Scalar(0) ? std::sqrt(d) : Scalar(0)) + eps);
    }
    return Scalar(1) / std::sqrt(std::max(d, static_cast<Scalar>(tgp_constants::eps)));
  }
  /// dd = dr rho'(d) given r = rho(d); 0 where rho is constant in d (d <= 0, or under the
  /// clamp). symmetric: -1/2 r rho (dr / d) with rho = r sqrt(d) in [0, 1), never r^2 / sqrt(d)
  /// (see the class comment).
  Scalar degree_gradient(Scalar dr, Scalar d, Scalar r) const {
    if (m_normalization == SoftConnectNormalization::symmetric) {
      if (!(d > Scalar(0))) return Scalar(0);
      const Scalar rho = r * std::sqrt(d);  // = sqrt(d) / (sqrt(d) + eps)
      return Scalar(-0.5) * (r * rho) * (dr / d);
    }
    return d >= static_cast<Scalar>(tgp_constants::eps) ? Scalar(-0.5) * (r * r * r) * dr : Scalar(0);
  }

  /// The block-diagonal CSR structure with dense K x K blocks; values left for the caller.
  static void allocate_blocks(Index nb, Index k, SparseMatrix<Scalar>& a) {
    const Index m = nb * k;
    GNNPOOL_CHECK(m * k <= static_cast<Index>(std::numeric_limits<StorageIndex>::max()), invalid_argument,
                  "SoftConnect: ", nb, " graphs x ", k, "^2 pooled entries exceed the 32-bit storage index");
    if (a.rows() == m && a.cols() == m && a.isCompressed() && a.nonZeros() == m * k) return;  // reuse
    a.resize(m, m);
    a.resizeNonZeros(m * k);
    StorageIndex* outer = a.outerIndexPtr();
    StorageIndex* inner = a.innerIndexPtr();
    for (Index r = 0; r <= m; ++r) outer[r] = static_cast<StorageIndex>(r * k);
    for (Index r = 0; r < m; ++r) {
      const Index first = (r / k) * k;
      for (Index c = 0; c < k; ++c) inner[r * k + c] = static_cast<StorageIndex>(first + c);
    }
  }

  SoftConnectNormalization m_normalization;
};

/// gnnpool's unpadded batch from PyG's padded dense form: `x` is (B Nmax) x F (the [B, Nmax, F]
/// tensor flattened), `adj` is (B Nmax) x Nmax ([B, Nmax, Nmax] flattened, adj[b, i, j] = A(i, j)
/// of graph b, i.e. the weight of the edge j -> i), `mask` B Nmax booleans (empty: every row
/// valid). The valid rows of each graph must come first (PyG's to_dense_batch layout).
///
/// Every (valid, valid) pair of a graph is STORED, zeros included, so that dL/dA is returned for
/// all of them, as PyG's dense gradient is; pass `keep_zeros = false` to store only the
/// non-zero entries (the sparse path). Entries of padded rows or columns must be 0.
/// Throws `shape_error` on inconsistent sizes and `invalid_argument` on a mask with a hole or a
/// non-zero padded entry. Cost O(B Nmax^2).
template <typename Scalar>
Batch<Scalar> from_dense_batch(const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& adj,
                               std::span<const bool> mask, Index num_graphs, bool keep_zeros = true) {
  constexpr std::string_view layer = "from_dense_batch";
  GNNPOOL_CHECK(num_graphs >= 1, invalid_argument, layer, ": num_graphs must be >= 1, got ", num_graphs);
  GNNPOOL_CHECK(x.rows() % num_graphs == 0, shape_error, layer, ": x has ", x.rows(), " rows, not a multiple of ",
                num_graphs, " graphs");
  const Index nmax = x.rows() / num_graphs;
  GNNPOOL_CHECK(adj.rows() == num_graphs * nmax && adj.cols() == nmax, shape_error, layer, ": adj is ",
                detail::shape(adj.rows(), adj.cols()), ", expected ", detail::shape(num_graphs * nmax, nmax),
                " for ", num_graphs, " graphs of at most ", nmax, " nodes");
  GNNPOOL_CHECK(mask.empty() || static_cast<Index>(mask.size()) == num_graphs * nmax, shape_error, layer,
                ": mask has ", mask.size(), " entries, expected ", num_graphs * nmax);
  IndexVector offsets{0};
  for (Index b = 0; b < num_graphs; ++b) {
    Index n = 0;
    while (n < nmax && (mask.empty() || mask[static_cast<std::size_t>(b * nmax + n)])) ++n;
    for (Index i = n; i < nmax; ++i)
      GNNPOOL_CHECK(!mask[static_cast<std::size_t>(b * nmax + i)], invalid_argument, layer, ": graph ", b,
                    "'s mask has a hole at row ", n, " (valid rows must come first)");
    offsets.push_back(offsets.back() + n);
  }
  const Index total = offsets.back();
  Batch<Scalar> out;
  out.x.resize(total, x.cols());
  std::vector<Index> rows, cols;
  std::vector<Scalar> vals;
  for (Index b = 0; b < num_graphs; ++b) {
    const Index lo = offsets[static_cast<std::size_t>(b)], n = offsets[static_cast<std::size_t>(b) + 1] - lo;
    out.x.middleRows(lo, n) = x.middleRows(b * nmax, n);
    for (Index i = 0; i < nmax; ++i)
      for (Index j = 0; j < nmax; ++j) {
        const Scalar v = adj(b * nmax + i, j);
        if (i >= n || j >= n) {
          GNNPOOL_CHECK(v == Scalar(0), invalid_argument, layer, ": graph ", b, " has the weight ", v,
                        " on the padded pair (", i, ", ", j, ")");
          continue;
        }
        if (!keep_zeros && v == Scalar(0)) continue;
        rows.push_back(lo + i);
        cols.push_back(lo + j);
        vals.push_back(v);
      }
  }
  out.adj = detail::build_csr<Scalar>(total, rows, cols, vals, false);
  out.offsets = std::move(offsets);
  return out;
}

}  // namespace gnnpool

#endif
