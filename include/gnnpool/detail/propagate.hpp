#ifndef GNNPOOL_DETAIL_PROPAGATE_HPP
#define GNNPOOL_DETAIL_PROPAGATE_HPP

/// \file
/// Sparse message passing on the structure of a CSR adjacency with caller-supplied values, used
/// by the graph convolutions of nn/ (not part of the API).
///
/// The operator is M = diag(d) + A_v, where A_v has the stored entries of `adj` with the values
/// `v[e]` (one per stored entry, CSR order) instead of adj's own, and d is an optional extra
/// diagonal (the self loops a layer adds without storing them). Reusing adj's index arrays
/// means no second sparse matrix is built and no storage order is copied.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/types.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/rows.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace gnnpool::detail {

/// Checks of a graph layer's (adj, x): adj square, compressed, with one row per row of x, and
/// x with `in_features` columns. O(1).
template <typename Scalar>
void check_graph_input(std::string_view layer, const SparseMatrix<Scalar>& adj, const ConstMatrixRef<Scalar>& x,
                       Index in_features) {
  GNNPOOL_CHECK(adj.rows() == adj.cols(), shape_error, layer, ": adj must be square, got ",
                shape(adj.rows(), adj.cols()));
  GNNPOOL_CHECK(adj.rows() == x.rows(), shape_error, layer, ": adj is ", shape(adj.rows(), adj.cols()),
                " but x has ", x.rows(), " rows (one per node)");
  GNNPOOL_CHECK(x.cols() == in_features, shape_error, layer, ": x is ", shape(x.rows(), x.cols()),
                " but the layer expects ", in_features, " input features");
  GNNPOOL_CHECK(adj.isCompressed(), invalid_argument, layer,
                ": adj must be in compressed CSR form (call makeCompressed())");
}

/// out.row(i) = diag_i in.row(i) (or 0) + sum over row i's entries e of values[e] in.row(inner[e]),
/// for `Width` columns starting at `col`, accumulated in registers (a fixed-size block: no load
/// and store of the output row per entry). The same operations in the same order as the
/// dynamic-size loop of `propagate`, so the same bits. `bias` (or null): added last.
template <int Width, typename Scalar>
void gather_row_block(const StorageIndex* inner, const Scalar* values, StorageIndex begin, StorageIndex end,
                      const Scalar* in, Index stride, const Scalar* diag_coef, Index i, Index col, Scalar* out,
                      const Scalar* bias) {
  using Block = Eigen::Array<Scalar, Width, 1>;
  Block acc;
  if (diag_coef)
    acc = *diag_coef * Eigen::Map<const Block>(in + i * stride + col);
  else
    acc.setZero();
  for (StorageIndex e = begin; e < end; ++e) acc += values[e] * Eigen::Map<const Block>(in + Index(inner[e]) * stride + col);
  if (bias) acc += Eigen::Map<const Block>(bias + col);
  Eigen::Map<Block>(out + col) = acc;
}

/// out = M in (+ 1 bias, when `bias` points at F scalars) (out resized; must not alias in). Row
/// i of out gathers the rows of `in` that row i of adj stores; the bias is added to each row as
/// it leaves the registers (a layer's bias costs no extra pass over out). O(nnz * F). Rows in
/// parallel (each row is written by one thread).
template <typename Scalar>
void propagate(const SparseMatrix<Scalar>& adj, const Scalar* values, const Scalar* diag,
               const ConstMatrixRef<Scalar>& in, Matrix<Scalar>& out, const Scalar* bias = nullptr) {
  const Index n = adj.rows(), f = in.cols();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  out.resize(n, f);
  if (f == 1) {
    // One feature (the scorers of SAG): scalar loop, no per-edge expression overhead.
    parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        Scalar acc = diag ? diag[i] * in(i, 0) : Scalar(0);
        for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) acc += values[e] * in(inner[e], 0);
        if (bias) acc += bias[0];
        out(i, 0) = acc;
      }
    }, 8 * row_grain);
    return;
  }
  // The rows of `in` come in the graph's random order: the row a few entries ahead is prefetched.
  // Each column block of the output row accumulates in registers (`gather_row_block`) while the
  // row's entries are walked. Rows of at least 64 bytes (16 floats, 8 doubles: a `lane`) take the
  // blocks of `line_blocks`, and a width that is not a multiple of the lane ends with a lane block
  // that overlaps the one before it, whose shared columns it computes again with the same
  // operations (so it writes the same bits); narrower rows take `column_blocks`.
  constexpr Index lane = 64 / Index(sizeof(Scalar));
  const Index stride = in.outerStride();
  parallel_rows(n, [&](Index lo, Index hi) {
    const StorageIndex end = outer[hi];
    for (Index i = lo; i < hi; ++i) {
      const StorageIndex b = outer[i], e_end = outer[i + 1];
      for (StorageIndex e = b; e < e_end; ++e) prefetch_row_ahead(in.data(), stride, f, inner, e, end);
      const Scalar* d = diag ? diag + i : nullptr;
      Scalar* o = out.data() + i * f;
      const auto gather = [&]<int Width>(Index c) {
        gather_row_block<Width>(inner, values, b, e_end, in.data(), stride, d, i, c, o, bias);
      };
      if (f < lane)
        column_blocks<Scalar>(f, gather);
      else if (line_blocks<Scalar>(f, gather) < f)
        gather.template operator()<int(lane)>(f - lane);
    }
  });
}

/// Chunks of `scatter_columns`: one per 64 K stored entries, at most 4 (a count from E only; the
/// partials cost (count - 1) N scalars, small next to the E entries the scatter reads).
inline Index scatter_chunks(Index nnz) { return std::clamp<Index>(nnz >> 16, 1, 4); }

/// out[j] += sum over the stored entries e = (i, j) of adj of term(i, e): a scalar scatter
/// along the columns (the transposed product with one feature). The rows are cut into
/// `scatter_chunks(E)` fixed chunks; the first scatters into out, every other into its own
/// zeroed partial of N scalars, in parallel, and the partials are then added to out in chunk
/// order (in parallel over j). The sums' order depends on N and E only, never on the number of
/// threads. term(i, e) is called once per entry, for the rows of a chunk in order, all of a
/// row's entries by one thread (so it may also write a per-row output). O(E + chunks N).
template <typename Scalar, typename Term>
void scatter_columns(const SparseMatrix<Scalar>& adj, Term&& term, Scalar* out) {
  const Index n = adj.rows(), chunks = scatter_chunks(adj.nonZeros());
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Index rows = (n + chunks - 1) / std::max<Index>(chunks, 1);
  std::vector<Scalar> partial(static_cast<std::size_t>((chunks - 1) * n));
  parallel_for(chunks, [&](Index c) {
    Scalar* dst = c == 0 ? out : partial.data() + (c - 1) * n;
    for (Index i = c * rows, hi = std::min(n, (c + 1) * rows); i < hi; ++i)
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) dst[inner[e]] += term(i, e);
  });
  if (chunks == 1) return;
  parallel_rows(n, [&](Index lo, Index hi) {
    for (Index c = 1; c < chunks; ++c) {
      const Scalar* p = partial.data() + (c - 1) * n;
      for (Index j = lo; j < hi; ++j) out[j] += p[j];
    }
  }, 16 * row_grain);
}

/// out = M^T in (out resized; must not alias in): row i of `in` is scattered to the rows adj
/// stores in row i. O(nnz * F). One feature: `scatter_columns` (parallel). Several: serial, since
/// a scatter cannot be cut by rows without two threads adding into one row, per-chunk N x F
/// partials would cost more memory traffic than the scatter, and a fixed cut of the feature
/// columns into blocks costs the serial run one pass over the edges per block (the same cut of
/// the soft poolers' scatter made MinCut at S100k 30 % slower on one thread).
template <typename Scalar>
void propagate_transpose(const SparseMatrix<Scalar>& adj, const Scalar* values, const Scalar* diag,
                         const ConstMatrixRef<Scalar>& in, Matrix<Scalar>& out) {
  const Index n = adj.rows(), f = in.cols();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  // The first pass over out (the diagonal term, or zeros) runs over row chunks in parallel, so
  // that only the scatter below is serial (each row is written once here: the same bits).
  if (diag) {
    out.resize(n, f);
    parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) row_scale(diag[i], in.data() + i * in.outerStride(), out.data() + i * f, f);
    }, std::max(row_grain, (Index(1) << 14) / std::max<Index>(f, 1)));
  } else {
    set_zero_rows(out, n, f);
  }
  if (f == 1) {
    scatter_columns(adj, [&](Index i, StorageIndex e) { return values[e] * in(i, 0); }, out.data());
    return;
  }
  // Row i of `in` is scattered along row i's entries (`scatter_row`: its column blocks held in
  // registers); the rows written come in the graph's random order and are prefetched.
  const Index stride = in.outerStride();
  for (Index i = 0; i < n; ++i)
    scatter_row(in.data() + i * stride, f, Scalar(1), values, inner, outer[i], outer[i + 1], out.data(), f, outer[n]);
}

/// g[e] = <a_i, b_j> for every stored entry e = (i, j) of adj: dL/dM_ij when M's output is
/// M b and a = dL/d(M b). g resized to nnz. O(nnz * F). Rows in parallel.
template <typename Scalar>
void edge_dots(const SparseMatrix<Scalar>& adj, const ConstMatrixRef<Scalar>& a, const ConstMatrixRef<Scalar>& b,
               Vector<Scalar>& g) {
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  g.resize(adj.nonZeros());
  parallel_rows(adj.rows(), [&](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i)
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) g[e] = a.row(i).dot(b.row(inner[e]));
  });
}

/// d_i = sum_j A_ij: the weighted row sums of a compressed CSR matrix (degrees; PyG's
/// `einsum('ijk->ij', adj)`). Rows of at most 16 entries that have 16 stored entries from their
/// start to the end of the value array (all but the last few rows) take `masked_row_sum`, one
/// masked vector per row with no branch on its length; longer rows take `row_sum`. Each row is
/// summed on its own, so the result does not depend on the number of threads. O(E).
template <typename Scalar>
Vector<Scalar> row_sums(const SparseMatrix<Scalar>& adj) {
  GNNPOOL_ASSERT(adj.isCompressed(), "row_sums: the adjacency must be compressed");
  Vector<Scalar> d(adj.rows());
  const StorageIndex* outer = adj.outerIndexPtr();
  const Scalar* val = adj.valuePtr();
  // The last entry a masked row may start at: its 16 loads stay inside the value array.
  const Index last_masked_start = Index(outer[adj.rows()]) - masked_row_width;
  parallel_rows(adj.rows(), [&](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      const Index begin = outer[i], k = Index(outer[i + 1]) - begin;
      d[i] = k <= masked_row_width && begin <= last_masked_start ? masked_row_sum(val + begin, k)
                                                                 : row_sum(val + begin, k);
    }
  });
  return d;
}

}  // namespace gnnpool::detail

#endif
