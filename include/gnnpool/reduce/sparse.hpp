#ifndef GNNPOOL_REDUCE_SPARSE_HPP
#define GNNPOOL_REDUCE_SPARSE_HPP

/// \file
/// `SparseReduce`: X' = S^T X for a `SparseSelection` (S = C diag(scale)).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/sparse_selection.hpp>

namespace gnnpool {

/// Reduce of a sparse selection.
///
/// Forward:  Y_c = sum_{e in c} C_e x_{node(e)},  X'_c = scale_c Y_c  (X' = S^T X).
/// Backward: dx_{node(e)} += scale_c C_e dX'_c;  dC_e += scale_c <x_{node(e)}, dX'_c>;
///           dscale_c += <Y_c, dX'_c>.
/// Shapes: x N x F, X' M x F, dsel num_entries + M. Cache: Y (M x F).
/// Cost O(nnz(C) F) both ways.
template <typename Scalar_>
class SparseReduce {
 public:
  using Scalar = Scalar_;
  using Selection = SparseSelection<Scalar>;
  struct Cache {
    Matrix<Scalar> unscaled;  ///< Y
  };

  void forward(const BatchRef<Scalar>& in, const Selection& sel, Matrix<Scalar>& x_out, Cache& cache) const {
    check(in, sel);
    const Index m = sel.num_supernodes(), f = in.x.cols();
    cache.unscaled.setZero(m, f);
    x_out.resize(m, f);
    for (Index c = 0; c < m; ++c) {
      auto y = cache.unscaled.row(c);
      for (StorageIndex e = sel.start[static_cast<std::size_t>(c)]; e < sel.start[static_cast<std::size_t>(c) + 1]; ++e)
        y.noalias() += sel.weight[e] * in.x.row(sel.node[static_cast<std::size_t>(e)]);
      x_out.row(c) = sel.scale(c) * y;
    }
  }

  /// Adds dL/dX into din.x and dL/d(C, scale) into dsel.
  void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache, const ConstMatrixRef<Scalar>& dx_out,
                BatchGrad<Scalar>& din, Vector<Scalar>& dsel) const {
    const Index m = sel.num_supernodes(), nnz = sel.num_entries();
    GNNPOOL_CHECK(dx_out.rows() == m && dx_out.cols() == in.x.cols() && cache.unscaled.rows() == m, shape_error,
                  "SparseReduce: dx_out is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(m, in.x.cols()));
    GNNPOOL_CHECK(dsel.size() == sel.gradient_size(), shape_error, "SparseReduce: dsel has ", dsel.size(),
                  " entries, the selection ", sel.gradient_size());
    for (Index c = 0; c < m; ++c) {
      const Scalar scale = sel.scale(c);
      dsel[nnz + c] += cache.unscaled.row(c).dot(dx_out.row(c));
      for (StorageIndex e = sel.start[static_cast<std::size_t>(c)]; e < sel.start[static_cast<std::size_t>(c) + 1]; ++e) {
        const StorageIndex j = sel.node[static_cast<std::size_t>(e)];
        dsel[e] += scale * in.x.row(j).dot(dx_out.row(c));
        din.x.row(j).noalias() += (scale * sel.weight[e]) * dx_out.row(c);
      }
    }
  }

 private:
  static void check(const BatchRef<Scalar>& in, const Selection& sel) {
    const Index n = in.x.rows(), m = sel.num_supernodes();
    GNNPOOL_CHECK(static_cast<Index>(sel.start.size()) == m + 1 && sel.weight.size() == sel.gradient_size() &&
                      sel.start.back() == sel.num_entries(),
                  shape_error, "SparseReduce: the selection has ", sel.start.size(), " supernode offsets, ",
                  sel.num_entries(), " entries and ", sel.weight.size(), " weights for ", m, " supernodes");
    for (const StorageIndex j : sel.node) check_node_index(j, n, "SparseReduce", "member node");
  }
};

}  // namespace gnnpool

#endif
