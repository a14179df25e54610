#ifndef GNNPOOL_POOL_HARD_LIFT_HPP
#define GNNPOOL_POOL_HARD_LIFT_HPP

/// \file
/// `HardLift`: unpooling for every hard selection (TopK, SAG, Graclus, k-MIS, NDP).

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/types.hpp>

#include <string_view>

namespace gnnpool {

/// Copies each supernode's pooled row back to the input nodes assigned to it; dropped nodes get
/// zeros.
///
/// Forward:  x_i = x'_{a_i} if a_i = sel.assignment[i] is a supernode, 0 if i was dropped.
///           For TopK / SAG (one node per supernode) this is Graph U-Net's unpooling
///           (PyG `GraphUNet`: up[perm] = x'); for Graclus / k-MIS / NDP every member of a
///           cluster receives the supernode's features.
/// Backward: dx'_s = sum_{i : a_i = s} dx_i (a scatter-add over the members). The selection's
///           weights are not read, so nothing flows to the selection.
/// Shapes: x_pooled M x F (M = sel.num_supernodes()), x_out N x F (N = sel.num_nodes()).
/// Cache: none. Cost O(N F) both ways. Thread safety: forward and backward are const.
template <typename Scalar_>
class HardLift {
 public:
  using Scalar = Scalar_;

  std::string_view name() const { return "HardLift"; }

  void forward(const HardSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    GNNPOOL_CHECK(x_pooled.rows() == sel.num_supernodes(), shape_error, "HardLift: x_pooled has ",
                  x_pooled.rows(), " rows but the selection has ", sel.num_supernodes(), " supernodes");
    const Index n = sel.num_nodes();
    x_out.resize(n, x_pooled.cols());
    for (Index i = 0; i < n; ++i) {
      const Index a = supernode(sel, i);
      if (a == HardSelection<Scalar>::dropped) x_out.row(i).setZero();
      else x_out.row(i) = x_pooled.row(a);
    }
  }

  /// The `LiftPolicy` form. Assigns dx_pooled (M x F); x_pooled is not needed and dsel is left
  /// untouched (the lift does not read the weights).
  void backward(const HardSelection<Scalar>& sel, const Matrix<Scalar>& /*x_pooled*/,
                const Matrix<Scalar>& dx_out, Matrix<Scalar>& dx_pooled, Vector<Scalar>& /*dsel*/) const {
    backward(sel, dx_out, dx_pooled);
  }

  /// The same without a selection gradient to pass along.
  void backward(const HardSelection<Scalar>& sel, const Matrix<Scalar>& dx_out, Matrix<Scalar>& dx_pooled) const {
    const Index n = sel.num_nodes();
    GNNPOOL_CHECK(dx_out.rows() == n, shape_error, "HardLift: dx_out has ", dx_out.rows(),
                  " rows but the selection covers ", n, " nodes");
    dx_pooled.setZero(sel.num_supernodes(), dx_out.cols());
    for (Index i = 0; i < n; ++i) {
      const Index a = supernode(sel, i);
      if (a != HardSelection<Scalar>::dropped) dx_pooled.row(a) += dx_out.row(i);
    }
  }

 private:
  static Index supernode(const HardSelection<Scalar>& sel, Index i) {
    const Index a = sel.assignment[static_cast<std::size_t>(i)];
    GNNPOOL_CHECK(a == HardSelection<Scalar>::dropped || (a >= 0 && a < sel.num_supernodes()),
                  invalid_argument, "HardLift: node ", i, " is assigned to supernode ", a, " but there are ",
                  sel.num_supernodes(), " supernodes");
    return a;
  }
};

}  // namespace gnnpool

#endif
