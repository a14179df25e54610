#ifndef GNNPOOL_POOL_SPARSE_LIFT_HPP
#define GNNPOOL_POOL_SPARSE_LIFT_HPP

/// \file
/// `SparseLift`: unpooling for a `SparseSelection` (ASAP), through its hard part (tgp) or
/// through the whole S.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/sparse_selection.hpp>
#include <gnnpool/core/types.hpp>

#include <string_view>

namespace gnnpool {

/// Which matrix `SparseLift` applies.
enum class SparseLiftMode {
  /// x_{r_c} = scale_c x'_c for the representative r_c of each supernode, 0 elsewhere: tgp's
  /// lift of ASAP (its SelectOutput is the kept centres with their fitness).
  representative,
  /// x = S x' = C diag(scale) x': every member gets its share of every supernode it belongs to.
  assignment,
};

/// Lift of a sparse selection.
///
/// Forward:  representative: x_{r_c} = scale_c x'_c;  assignment: x_j = sum_{e: node(e) = j}
///           C_e scale_{c(e)} x'_{c(e)}.
/// Backward: representative: dx'_c = scale_c dx_{r_c}, dscale_c += <dx_{r_c}, x'_c>;
///           assignment: dx'_c = scale_c sum_{e in c} C_e dx_{node(e)},
///           dC_e += scale_c <dx_{node(e)}, x'_c>, dscale_c += sum_{e in c} C_e <dx_{node(e)}, x'_c>.
///           dx_pooled is assigned, dsel added into.
/// Shapes: x_pooled M x F, x_out N x F, dsel num_entries + M. Cache: none. Cost O(nnz F).
template <typename Scalar_>
class SparseLift {
 public:
  using Scalar = Scalar_;

  explicit SparseLift(SparseLiftMode mode = SparseLiftMode::representative) : m_mode(mode) {}
  std::string_view name() const { return "SparseLift"; }
  SparseLiftMode mode() const { return m_mode; }

  void forward(const SparseSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    check(sel, x_pooled.rows());
    x_out.setZero(sel.num_nodes(), x_pooled.cols());
    for (Index c = 0; c < sel.num_supernodes(); ++c) {
      if (m_mode == SparseLiftMode::representative) {
        x_out.row(sel.representative[static_cast<std::size_t>(c)]) = sel.scale(c) * x_pooled.row(c);
        continue;
      }
      for (StorageIndex e = sel.start[static_cast<std::size_t>(c)]; e < sel.start[static_cast<std::size_t>(c) + 1]; ++e)
        x_out.row(sel.node[static_cast<std::size_t>(e)]).noalias() += (sel.weight[e] * sel.scale(c)) * x_pooled.row(c);
    }
  }

  void backward(const SparseSelection<Scalar>& sel, const Matrix<Scalar>& x_pooled, const Matrix<Scalar>& dx_out,
                Matrix<Scalar>& dx_pooled, Vector<Scalar>& dsel) const {
    check(sel, x_pooled.rows());
    GNNPOOL_CHECK(dx_out.rows() == sel.num_nodes() && dx_out.cols() == x_pooled.cols(), shape_error,
                  "SparseLift: dx_out is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(sel.num_nodes(), x_pooled.cols()));
    GNNPOOL_CHECK(dsel.size() == sel.gradient_size(), shape_error, "SparseLift: dsel has ", dsel.size(),
                  " entries, the selection ", sel.gradient_size());
    const Index nnz = sel.num_entries();
    dx_pooled.setZero(x_pooled.rows(), x_pooled.cols());
    for (Index c = 0; c < sel.num_supernodes(); ++c) {
      const Scalar scale = sel.scale(c);
      if (m_mode == SparseLiftMode::representative) {
        const auto g = dx_out.row(sel.representative[static_cast<std::size_t>(c)]);
        dx_pooled.row(c) = scale * g;
        dsel[nnz + c] += g.dot(x_pooled.row(c));
        continue;
      }
      for (StorageIndex e = sel.start[static_cast<std::size_t>(c)]; e < sel.start[static_cast<std::size_t>(c) + 1]; ++e) {
        const auto g = dx_out.row(sel.node[static_cast<std::size_t>(e)]);
        const Scalar dot = g.dot(x_pooled.row(c));
        dx_pooled.row(c).noalias() += (scale * sel.weight[e]) * g;
        dsel[e] += scale * dot;
        dsel[nnz + c] += sel.weight[e] * dot;
      }
    }
  }

 private:
  static void check(const SparseSelection<Scalar>& sel, Index pooled_rows) {
    GNNPOOL_CHECK(pooled_rows == sel.num_supernodes(), shape_error, "SparseLift: x_pooled has ", pooled_rows,
                  " rows but the selection has ", sel.num_supernodes(), " supernodes");
    GNNPOOL_CHECK(sel.weight.size() == sel.gradient_size(), shape_error, "SparseLift: the selection has ",
                  sel.weight.size(), " weights, expected ", sel.gradient_size());
  }

  SparseLiftMode m_mode;
};

}  // namespace gnnpool

#endif
