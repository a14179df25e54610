#ifndef GNNPOOL_CORE_PARALLEL_HPP
#define GNNPOOL_CORE_PARALLEL_HPP

/// \file
/// Optional multi-core execution (docs/parallel.md). gnnpool starts no thread of its own: its hot
/// loops run on OpenMP's threads when the code that includes gnnpool is compiled with OpenMP
/// (`-fopenmp`, CMake `OpenMP::OpenMP_CXX`; gnnpool's own targets: `GNNPOOL_WITH_OPENMP`), as
/// Eigen's do, and serially otherwise.
///
/// Results are bit-identical for any number of threads, and to a build without OpenMP:
/// - every loop is cut into a FIXED partition (chunks of rows or runs of whole graphs whose
///   bounds depend on the sizes of the data only, never on the number of threads);
/// - a loop whose chunks write disjoint outputs (a row per node, an edge, a graph) computes each
///   output exactly as the serial loop does, so its partition does not change a bit;
/// - a reduction (a sum over the rows of a graph, say dW = dYᵀ X) sums each chunk into its own
///   partial, and the partials are added in chunk order, by one thread.
/// Eigen's own multi-threaded products choose their blocking by the number of threads, so they
/// would break this: gnnpool's targets define EIGEN_DONT_PARALLELIZE, and a consumer who wants
/// the guarantee defines it too (gnnpool splits its large products itself, below).
///
/// Cost: one OpenMP region per parallel loop (a few microseconds); loops over fewer than two
/// chunks run inline, so small inputs never pay it.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gnnpool {

/// Whether this translation unit was compiled with OpenMP (gnnpool's loops may run in parallel).
inline constexpr bool openmp_enabled =
#ifdef _OPENMP
    true;
#else
    false;
#endif

/// The number of threads gnnpool's loops use (OpenMP's `omp_get_max_threads()`; 1 without OpenMP).
inline int num_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the number of threads of the calling thread's later parallel loops (OpenMP's
/// `omp_set_num_threads`; `OMP_NUM_THREADS` sets the default). Results do not depend on it.
/// Without OpenMP it only checks n. Throws invalid_argument when n < 1.
inline void set_num_threads(int n) {
  GNNPOOL_CHECK(n >= 1, invalid_argument, "set_num_threads: the number of threads must be >= 1, got ", n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

namespace detail {

/// Rows per chunk of the row-parallel loops and of the chunked products (about 256 KB of
/// float features at F = 64: a chunk stays in L2).
inline constexpr Index row_grain = 1024;

/// Nodes per run of whole graphs (`parallel_graphs`): a quarter of row_grain, so that a batch of
/// small graphs makes enough runs to share among threads (32 graphs of 100 nodes: 11 runs, not
/// 3, which two threads would split 2 : 1). Every per-graph loop writes disjoint outputs, so the
/// run sizes change no result.
inline constexpr Index graph_grain = 256;

/// The most partials a chunked reduction keeps (bounds its memory at this many outputs).
inline constexpr Index max_partials = 32;

/// Whether a `parallel_for` started here would run on more than one thread (OpenMP on, more
/// than one thread, not already inside a parallel region).
inline bool parallel_available() noexcept {
#ifdef _OPENMP
  return !omp_in_parallel() && omp_get_max_threads() > 1;
#else
  return false;
#endif
}

/// f(c) for every c in [0, count), in parallel when OpenMP is on, count >= 2 and the caller is
/// not already inside a parallel region. f must write outputs that no other c writes. The first
/// exception thrown by an f is rethrown here after the loop (none escapes an OpenMP region).
template <typename F>
void parallel_for(Index count, F&& f) {
#ifdef _OPENMP
  if (count >= 2 && parallel_available()) {
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
    for (Index c = 0; c < count; ++c) {
      try {
        f(c);
      } catch (...) {
#pragma omp critical(gnnpool_parallel_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  for (Index c = 0; c < count; ++c) f(c);
}

/// The number of chunks of `grain` items that cover n items.
inline Index chunk_count(Index n, Index grain) { return n <= 0 ? 0 : (n + grain - 1) / grain; }

/// The chunk size of a chunked reduction over n items: max(min_grain, ⌈n / max_partials⌉), so
/// that it never keeps more than `max_partials` partials and its cut depends on n only.
inline Index reduction_grain(Index n, Index min_grain = row_grain) {
  return std::max(min_grain, (n + max_partials - 1) / max_partials);
}

/// f(lo, hi) over the fixed row chunks [lo, hi) of [0, n) (chunks of `grain` rows).
template <typename F>
void parallel_rows(Index n, F&& f, Index grain = row_grain) {
  const Index chunks = chunk_count(n, grain);
  if (chunks <= 1) {
    if (n > 0) f(Index(0), n);
    return;
  }
  parallel_for(chunks, [&](Index c) { f(c * grain, std::min(n, (c + 1) * grain)); });
}

/// `parallel_rows` for a loop that also validates its rows: f(lo, hi) returns false when its
/// chunk holds a bad item. The error is raised after the loop, not inside it (there it would name
/// whichever bad item a thread met first): `report(lo)` runs serially from the start of each
/// failing chunk, in chunk order, and raises for the first bad item at or after lo, so the
/// message is the same for any number of threads. Costs one flag per chunk.
template <typename F, typename Report>
void parallel_rows_checked(Index n, F&& f, Report&& report, Index grain = row_grain) {
  std::vector<unsigned char> bad(static_cast<std::size_t>(chunk_count(n, grain)), 0);
  parallel_rows(n, [&](Index lo, Index hi) {
    if (!f(lo, hi)) bad[static_cast<std::size_t>(lo / grain)] = 1;
  }, grain);
  for (std::size_t c = 0; c < bad.size(); ++c)
    if (bad[c]) report(static_cast<Index>(c) * grain);
}

/// f(k_lo, k_hi) over consecutive runs of whole segments [k_lo, k_hi), segment k being the items
/// [start[k], start[k + 1]) (a graph's nodes, a CSR row's entries): a run closes once it holds
/// `grain` items or more, so the partition depends on the segment sizes only. Segments are never
/// split (their outputs are disjoint).
template <typename Offset, typename F>
void parallel_segments(const Offset* start, Index segments, F&& f, Index grain = row_grain) {
  if (segments <= 0) return;
  const auto at = [&](Index k) { return static_cast<Index>(start[k]); };
  if (segments == 1 || at(segments) - at(0) <= grain) {
    f(Index(0), segments);
    return;
  }
  std::vector<Index> runs{0};
  for (Index k = 0; k + 1 < segments; ++k)
    if (at(k + 1) - at(runs.back()) >= grain) runs.push_back(k + 1);
  runs.push_back(segments);
  parallel_for(static_cast<Index>(runs.size()) - 1,
               [&](Index c) { f(runs[static_cast<std::size_t>(c)], runs[static_cast<std::size_t>(c + 1)]); });
}

/// How many parts `parallel_parts` cuts `items` items into: one per thread when a parallel loop
/// can start here, at most one per `min_items` items, at least one.
inline Index part_count(Index items, Index min_items = row_grain) {
  if (!parallel_available()) return 1;
  return std::clamp<Index>(items / std::max<Index>(min_items, 1), 1, num_threads());
}

/// f(part, k_lo, k_hi) over `parts` consecutive runs of whole segments (segment k = items
/// [start[k], start[k + 1]), `start` non-decreasing) holding about equal numbers of items, one
/// run per part, in parallel. For a loop that needs a scratch per run too large to set up per
/// chunk (a sparse accumulator the size of the output): the caller keeps `parts` scratches. The
/// cut depends on the number of parts, so the loop must compute each segment's outputs alone, the
/// same way in any run (disjoint outputs, no reduction across segments): then the results do
/// not depend on it.
template <typename Offset, typename F>
void parallel_parts(const Offset* start, Index segments, Index parts, F&& f) {
  if (segments <= 0) return;
  if (parts <= 1) {
    f(Index(0), Index(0), segments);
    return;
  }
  const auto first = static_cast<Index>(start[0]), items = static_cast<Index>(start[segments]) - first;
  std::vector<Index> bound(static_cast<std::size_t>(parts) + 1, segments);
  bound[0] = 0;
  for (Index p = 1; p < parts; ++p) {
    const Index target = first + (items / parts) * p + std::min(p, items % parts);
    bound[static_cast<std::size_t>(p)] =
        std::max(bound[static_cast<std::size_t>(p - 1)],
                 static_cast<Index>(std::lower_bound(start, start + segments, target,
                                                     [](const Offset& a, Index t) { return static_cast<Index>(a) < t; }) -
                                    start));
  }
  parallel_for(parts, [&](Index p) {
    f(p, bound[static_cast<std::size_t>(p)], bound[static_cast<std::size_t>(p + 1)]);
  });
}

/// `parallel_segments` over the graphs of a batch with `offsets` (B + 1 node offsets).
template <typename F>
void parallel_graphs(const IndexVector& offsets, F&& f, Index grain = graph_grain) {
  parallel_segments(offsets.data(), static_cast<Index>(offsets.size()) - 1, std::forward<F>(f), grain);
}

/// f(b, lo, hi) over node ranges [lo, hi) that lie inside graph b, for a loop whose rows are
/// independent but read a per-graph constant: a batch of one graph is cut into row chunks
/// (`row_grain`), a batch of several into runs of whole graphs (`parallel_graphs`).
template <typename F>
void parallel_graph_rows(const IndexVector& offsets, F&& f) {
  const Index graphs = static_cast<Index>(offsets.size()) - 1;
  if (graphs == 1) {
    const Index first = offsets.front();
    parallel_rows(offsets.back() - first, [&](Index lo, Index hi) { f(Index(0), first + lo, first + hi); });
    return;
  }
  parallel_graphs(offsets, [&](Index b_lo, Index b_hi) {
    for (Index b = b_lo; b < b_hi; ++b)
      f(b, offsets[static_cast<std::size_t>(b)], offsets[static_cast<std::size_t>(b + 1)]);
  });
}

/// dst += src for two matrices (or vectors) of the same shape: fixed chunks of rows (at least
/// 64 K scalars each), in parallel. Element-wise, so the same bits for any number of threads.
template <typename Dst, typename Src>
void add_rows(Dst&& dst, const Src& src) {
  GNNPOOL_CHECK(dst.rows() == src.rows() && dst.cols() == src.cols(), shape_error, "gradient accumulation: adding ",
                shape(src.rows(), src.cols()), " into ", shape(dst.rows(), dst.cols()));
  const Index grain = std::max(row_grain, (Index(1) << 16) / std::max<Index>(dst.cols(), 1));
  parallel_rows(dst.rows(), [&](Index lo, Index hi) { dst.middleRows(lo, hi - lo) += src.middleRows(lo, hi - lo); },
                grain);
}

/// dst.setZero(rows, cols) for a matrix or vector (cols = 1), the zeros written in fixed chunks
/// of rows (at least 64 K scalars each) in parallel: a large gradient buffer is cleared by every
/// core, not by one.
template <typename Dense>
void set_zero_rows(Dense& dst, Index rows, Index cols = 1) {
  dst.resize(rows, cols);
  const Index grain = std::max(row_grain, (Index(1) << 16) / std::max<Index>(cols, 1));
  parallel_rows(rows, [&](Index lo, Index hi) { dst.middleRows(lo, hi - lo).setZero(); }, grain);
}

/// dst = src for a sparse matrix; a compressed one's index and value arrays are copied in fixed
/// chunks in parallel (data movement only: the same bytes), into dst's own storage when it is
/// large enough (a precomputed pyramid level's adjacency is copied out at every step).
template <typename Scalar>
void copy_sparse(const SparseMatrix<Scalar>& src, SparseMatrix<Scalar>& dst) {
  if (!src.isCompressed()) {
    dst = src;
    return;
  }
  const Index nnz = src.nonZeros();
  dst.resize(src.rows(), src.cols());
  dst.resizeNonZeros(nnz);
  std::copy(src.outerIndexPtr(), src.outerIndexPtr() + src.outerSize() + 1, dst.outerIndexPtr());
  parallel_rows(nnz, [&](Index lo, Index hi) {
    std::copy(src.innerIndexPtr() + lo, src.innerIndexPtr() + hi, dst.innerIndexPtr() + lo);
    std::copy(src.valuePtr() + lo, src.valuePtr() + hi, dst.valuePtr() + lo);
  }, Index(1) << 16);
}

/// Sorts items[0, n) by `less`, a strict order under which no two items are equivalent (ranking
/// keys that end in a node index), so the sorted sequence is unique and the same for any number of
/// threads. Fixed chunks of max(min_grain, ceil(n / 8)) items are sorted in parallel, then merged
/// pairwise, round by round (the merges of a round in parallel), through a scratch buffer of n
/// items. Work O(n log n); at T <= 8 threads the span is about (n / T) log(n / 8) + 2 n. Runs
/// `std::sort` when the loop would not be parallel anyway (one chunk, one thread, nested).
template <typename T, typename Less>
void parallel_sort(T* items, Index n, Less less, Index min_grain = 8192) {
  const Index grain = std::max(min_grain, (n + 7) / 8);
  const Index chunks = chunk_count(n, grain);
  if (chunks <= 1 || !parallel_available()) {
    std::sort(items, items + n, less);
    return;
  }
  parallel_for(chunks, [&](Index c) { std::sort(items + c * grain, items + std::min(n, (c + 1) * grain), less); });
  std::vector<T> buffer(static_cast<std::size_t>(n));
  T* src = items;
  T* dst = buffer.data();
  for (Index width = grain; width < n; width *= 2) {
    parallel_for(chunk_count(n, 2 * width), [&](Index pair) {
      const Index lo = 2 * pair * width, mid = std::min(n, lo + width), hi = std::min(n, lo + 2 * width);
      std::merge(src + lo, src + mid, src + mid, src + hi, dst + lo, less);
    });
    std::swap(src, dst);
  }
  if (src != items) std::copy(src, src + n, items);
}

/// d = lhs * rhs (or d += lhs * rhs when `add`) for one block of rows. An inner dimension of 1
/// (the outer product u wᵀ of a one-channel layer's input gradient, as in SAG's scorers) is
/// written row by row: Eigen's GEMM would zero d first and then add the product, two passes over
/// a destination that is the size of x.
template <typename Lhs, typename Rhs, typename Dst>
void block_product(Dst&& d, const Lhs& lhs, const Rhs& rhs, bool add) {
  if (lhs.cols() == 1) {
    if (add)
      d.noalias() += lhs.col(0) * rhs.row(0);
    else
      d.noalias() = lhs.col(0) * rhs.row(0);
  } else if (add) {
    d.noalias() += lhs * rhs;
  } else {
    d.noalias() = lhs * rhs;
  }
}

/// dst = lhs * rhs (or dst += lhs * rhs when `add`), with dst already lhs.rows() x rhs.cols():
/// one product (`block_product`) per fixed chunk of rows of lhs, the chunks in parallel. A row
/// of dst is computed by one chunk's product, so the result does not depend on the number of
/// threads.
template <typename Lhs, typename Rhs, typename Dst>
void product_rows(const Lhs& lhs, const Rhs& rhs, Dst&& dst, bool add = false) {
  parallel_rows(lhs.rows(), [&](Index lo, Index hi) {
    block_product(dst.middleRows(lo, hi - lo), lhs.middleRows(lo, hi - lo), rhs, add);
  });
}

/// d = lhs * rhs + 1 bias for one block of rows (`bias`: d.cols() scalars, or null for none,
/// then `block_product` alone): d is filled with the bias and the product is added into it,
/// where a product followed by a bias pass would zero d (Eigen's GEMM adds into its
/// destination), compute, and then read and write all of d again. The block is still in cache between the fill and the
/// product, so the bias costs no pass over memory. The same bits as the product then the bias
/// (the bias is added to the same sum, on the other side).
template <typename Lhs, typename Rhs, typename Scalar, typename Dst>
void assign_affine(Dst&& d, const Lhs& lhs, const Rhs& rhs, const Scalar* bias) {
  if (bias) d.rowwise() = Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(bias, d.cols());
  block_product(d, lhs, rhs, bias != nullptr);
}

/// dst = lhs * rhs + 1 bias (`assign_affine` on each fixed chunk of rows, the chunks in
/// parallel), with dst already lhs.rows() x rhs.cols(). Rows as in `product_rows`.
template <typename Lhs, typename Rhs, typename Scalar, typename Dst>
void affine_rows(const Lhs& lhs, const Rhs& rhs, const Scalar* bias, Dst&& dst) {
  parallel_rows(lhs.rows(), [&](Index lo, Index hi) {
    assign_affine(dst.middleRows(lo, hi - lo), lhs.middleRows(lo, hi - lo), rhs, bias);
  });
}

/// dst = aᵀ b (or dst += aᵀ b when `add`) for a: N x p, b: N x q, with dst already p x q: a
/// reduction over the N rows. The rows are cut into at most `max_partials` fixed chunks (of
/// max(min_grain, ⌈N / max_partials⌉) rows: sizes from N only); each chunk's product goes to its
/// own partial, in parallel, and the partials are added in chunk order. One chunk: one product,
/// as Eigen alone would compute it. Memory: the partials, at most max_partials p q scalars.
template <typename A, typename B, typename Dst>
void product_transpose_rows(const A& a, const B& b, Dst&& dst, bool add = false, Index min_grain = row_grain) {
  using Scalar = typename std::decay_t<Dst>::Scalar;
  const Index n = a.rows();
  const Index grain = reduction_grain(n, min_grain);
  const Index chunks = chunk_count(n, grain);
  if (chunks <= 1) {
    if (add)
      dst.noalias() += a.transpose() * b;
    else
      dst.noalias() = a.transpose() * b;
    return;
  }
  std::vector<Matrix<Scalar>> partial(static_cast<std::size_t>(chunks));
  parallel_for(chunks, [&](Index c) {
    const Index lo = c * grain, m = std::min(n, lo + grain) - lo;
    partial[static_cast<std::size_t>(c)].noalias() = a.middleRows(lo, m).transpose() * b.middleRows(lo, m);
  });
  if (!add) dst.setZero();
  for (const Matrix<Scalar>& p : partial) dst += p;
}

/// The sum over the rows [0, n) of the partial sums f(lo, hi) of fixed chunks: at most
/// `max_partials` chunks of max(row_grain, ⌈n / max_partials⌉) rows (sizes from n only), in
/// parallel, the partials added in chunk order. One chunk: f(0, n), the serial loop.
template <typename Scalar, typename F>
Scalar parallel_sum(Index n, F&& f) {
  const Index grain = reduction_grain(n);
  const Index chunks = chunk_count(n, grain);
  if (chunks <= 1) return n > 0 ? f(Index(0), n) : Scalar(0);
  Scalar partial[max_partials];
  parallel_for(chunks, [&](Index c) { partial[c] = f(c * grain, std::min(n, (c + 1) * grain)); });
  Scalar sum = partial[0];
  for (Index c = 1; c < chunks; ++c) sum += partial[c];
  return sum;
}

/// dst = lhs * rhs by `product_rows` (dst resized; it must not alias lhs or rhs).
template <typename Scalar, typename Lhs, typename Rhs>
void assign_product(Matrix<Scalar>& dst, const Lhs& lhs, const Rhs& rhs) {
  dst.resize(lhs.rows(), rhs.cols());
  product_rows(lhs, rhs, dst);
}

/// dst = aᵀ b by `product_transpose_rows` (dst resized; it must not alias a or b).
template <typename Scalar, typename A, typename B>
void assign_product_transpose(Matrix<Scalar>& dst, const A& a, const B& b) {
  dst.resize(a.cols(), b.cols());
  product_transpose_rows(a, b, dst);
}

}  // namespace detail
}  // namespace gnnpool

#endif
