#ifndef GNNPOOL_REDUCE_GATHER_HPP
#define GNNPOOL_REDUCE_GATHER_HPP

/// \file
/// `GatherReduce`: the pooled features of a hard selection are the rows of its representative
/// nodes, gated by their selection weight (TopK / SAG: X' = X[perm] ⊙ score[perm]).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/rows.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace gnnpool {

/// Gated gather of representative rows.
///
/// Forward:  x'_r = c · w_{p_r} · x_{p_r}   (p = sel.representative, w = sel.weight,
///           c = multiplier; with `gate = false` the factor w is left out).
///           PyG order of operations: (x ⊙ w) first, then · c only when c ≠ 1.
/// Backward: dx_{p_r} += c · w_{p_r} · dx'_r,   dw_{p_r} += c · <dx'_r, x_{p_r}>  (gate only).
///           Nodes that represent no supernode receive nothing.
/// Shapes: in.x N x F, x_out M x F (M = sel.num_supernodes()), dsel N.
/// Cache: none. Cost O(M F) both ways (parallel over output rows; the backward when no two
/// supernodes share a representative), no allocation besides x_out; the rows of the
/// representatives are prefetched, since the score order makes their addresses unpredictable.
/// Thread safety: forward and backward are const.
template <typename Scalar_>
class GatherReduce {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  explicit GatherReduce(Scalar multiplier = Scalar(1), bool gate = true)
      : m_multiplier(multiplier), m_gate(gate) {
    GNNPOOL_CHECK(std::isfinite(multiplier), invalid_argument,
                  "GatherReduce: multiplier must be finite, got ", multiplier);
  }

  Scalar multiplier() const { return m_multiplier; }
  bool gate() const { return m_gate; }

  void forward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, Matrix<Scalar>& x_out, Cache&) const {
    check(in, sel);
    const Index m = sel.num_supernodes();
    const Index f = in.x.cols();
    const auto row_bytes = static_cast<std::size_t>(f) * sizeof(Scalar);
    x_out.resize(m, f);
    // Output rows in parallel (each is written once). The backward scatters into the rows of dX,
    // which two output rows may share in a general selection: parallel only when they do not.
    detail::parallel_rows(m, [&](Index r_lo, Index r_hi) {
      for (Index r = r_lo; r < r_hi; ++r) {
        // The representatives come in score order: fetch the rows a few iterations ahead.
        if (r + prefetch_distance < r_hi)
          detail::prefetch_bytes(
              in.x.data() + sel.representative[static_cast<std::size_t>(r + prefetch_distance)] * in.x.outerStride(),
              row_bytes);
        const Index i = sel.representative[static_cast<std::size_t>(r)];
        const Scalar* xi = in.x.data() + i * in.x.outerStride();
        Scalar* o = x_out.data() + r * f;
        detail::row_scale(m_gate ? sel.weight[i] : Scalar(1), xi, o, f);
        if (m_multiplier != Scalar(1)) std::for_each(o, o + f, [this](Scalar& v) { v *= m_multiplier; });
      }
    });
  }

  /// Adds dL/dX into din.x and dL/d(weight) into dsel.
  void backward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, const Cache&,
                const ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, Vector<Scalar>& dsel) const {
    const Index m = sel.num_supernodes();
    GNNPOOL_CHECK(dx_out.rows() == m && dx_out.cols() == in.x.cols(), shape_error,
                  "GatherReduce: dx_out is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(m, in.x.cols()));
    GNNPOOL_CHECK(dsel.size() == in.x.rows() && sel.weight.size() == in.x.rows(), shape_error,
                  "GatherReduce: dsel has ", dsel.size(), " entries and the selection weight ", sel.weight.size(),
                  " for ", in.x.rows(), " nodes");
    GNNPOOL_CHECK(din.x.rows() == in.x.rows() && din.x.cols() == in.x.cols(), shape_error, "GatherReduce: din.x is ",
                  detail::shape(din.x.rows(), din.x.cols()), ", expected ", detail::shape(in.x.rows(), in.x.cols()));
    const Index f = in.x.cols(), n = in.x.rows();
    const auto row_bytes = static_cast<std::size_t>(f) * sizeof(Scalar);
    // Each representative in range, and (when every one is its own supernode's node,
    // assignment[p_r] = r, as in TopK and SAG) no two share a row of dX: then the rows are
    // scattered in parallel, each by one thread, the same operations as the serial loop.
    // One pass over fixed chunks of output rows, in parallel: the range check (the first bad
    // representative is named by a serial rescan) and whether any row shares its node.
    const bool covers = sel.num_nodes() == n;
    std::vector<unsigned char> shared(static_cast<std::size_t>(detail::chunk_count(m, detail::row_grain)), 0);
    detail::parallel_rows_checked(
        m,
        [&](Index r_lo, Index r_hi) {
          bool in_range = true, own = covers;
          for (Index r = r_lo; r < r_hi; ++r) {
            const Index i = sel.representative[static_cast<std::size_t>(r)];
            if (i < 0 || i >= n) [[unlikely]] {
              in_range = false;
              continue;
            }
            if (!own) continue;
            // The assignment lookups are random (score order): fetched a few iterations ahead.
            if (r + 4 * prefetch_distance < r_hi) {
              const Index ahead = sel.representative[static_cast<std::size_t>(r + 4 * prefetch_distance)];
              if (ahead >= 0 && ahead < n) detail::prefetch_bytes(sel.assignment.data() + ahead, sizeof(Index));
            }
            own = sel.assignment[static_cast<std::size_t>(i)] == r;
          }
          if (!own) shared[static_cast<std::size_t>(r_lo / detail::row_grain)] = 1;
          return in_range;
        },
        [&](Index r_lo) {
          for (Index r = r_lo; r < m; ++r)
            check_node_index(sel.representative[static_cast<std::size_t>(r)], n, "GatherReduce", "representative");
        });
    const bool distinct = std::find(shared.begin(), shared.end(), 1) == shared.end();
    const auto scatter = [&](Index r_lo, Index r_hi) {
      for (Index r = r_lo; r < r_hi; ++r) {
        if (r + prefetch_distance < r_hi) {
          const Index ahead = sel.representative[static_cast<std::size_t>(r + prefetch_distance)];
          detail::prefetch_bytes(din.x.data() + ahead * f, row_bytes);
          if (m_gate) detail::prefetch_bytes(in.x.data() + ahead * in.x.outerStride(), row_bytes);
        }
        const Index i = sel.representative[static_cast<std::size_t>(r)];
        const Scalar w = m_gate ? sel.weight[i] : Scalar(1);
        const Scalar* dr = dx_out.data() + r * dx_out.outerStride();
        detail::row_axpy(m_multiplier * w, dr, din.x.data() + i * f, f);
        if (m_gate) dsel[i] += m_multiplier * detail::row_dot(dr, in.x.data() + i * in.x.outerStride(), f);
      }
    };
    if (distinct)
      detail::parallel_rows(m, scatter);
    else
      scatter(0, m);
  }

 private:
  void check(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel) const {
    GNNPOOL_CHECK(sel.weight.size() == in.x.rows() && sel.num_nodes() == in.x.rows(), shape_error,
                  "GatherReduce: the selection covers ", sel.num_nodes(), " nodes but x has ",
                  in.x.rows(), " rows");
    for (Index r = 0; r < sel.num_supernodes(); ++r)
      check_node_index(sel.representative[static_cast<std::size_t>(r)], in.x.rows(), "GatherReduce",
                       "representative");
  }

  /// Rows fetched ahead in the data-dependent (score-order) loops.
  static constexpr Index prefetch_distance = 8;

  Scalar m_multiplier;
  bool m_gate;
};

}  // namespace gnnpool

#endif
