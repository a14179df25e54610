#ifndef GNNPOOL_NN_GRAPH_CONV_HPP
#define GNNPOOL_NN_GRAPH_CONV_HPP

/// \file
/// `GraphConv`: the graph convolution of Morris et al. (k-GNN), PyG's
/// `torch_geometric.nn.GraphConv` with aggr = 'add'.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/column_sums.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/nn/linear.hpp>

#include <gnnpool/core/batch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Graph convolution  y_i = W_rel (sum_{j -> i} w_ji x_j) + b + W_root x_i (a `GraphLayer`,
/// core/concepts.hpp).
///
/// In matrix form Y = (A X) W_rel^T + 1 b^T + X W_root^T, with adj(i, j) = w_ji the weight of
/// the edge j -> i (gnnpool's convention: row i lists what node i receives). Stored self loops
/// are ordinary edges; none is added.
///
/// Backward (upstream dY), Z = A X:
///
///     db = 1^T dY,   dW_root = dY^T X,   dW_rel = dY^T Z,   dZ = dY W_rel
///     dX = A^T dZ + dY W_root,           dadj_e (e = (i, j) stored) = <dZ_i, X_j>
///
/// The product is taken in the cheaper order: Z = A X then Z W_rel^T when in <= out (PyG's
/// order), H = X W_rel^T then A H when out < in; then dH = A^T dY, dW_rel = dH^T X,
/// dX = dH W_rel + dY W_root and dadj_e = <dY_i, H_j>.
///
/// Shapes: adj N x N (compressed CSR), X N x in, Y N x out, dadj nnz(adj). Backward skips dX
/// when din.x is null and dadj when din.adj is null.
/// Parameters: `<prefix>.lin_rel.weight` [out, in], `<prefix>.lin_rel.bias` [1, out] (if
/// `bias`), `<prefix>.lin_root.weight` [out, in]; initialised like PyTorch's Linear (PyG's
/// default). Cache: Z (or H) and the backward's workspace. Cost: O(N in out +
/// E min(in, out)) both ways, plus O(E min(in, out)) for dadj; adj is read in place.
///
/// Errors: `shape_error` when adj is not square, does not have one row per row of x, x does not
/// have `in` columns, or dy is not N x out; `invalid_argument` when adj is not compressed.
template <typename Scalar_>
class GraphConv {
 public:
  using Scalar = Scalar_;

  struct Cache {
    Matrix<Scalar> h;  ///< A X (aggregate_first) or X W_rel^T
    bool aggregate_first = true;
    /// Backward workspace, dL/d(A X) (N x in) or dL/d(X W_rel^T) (N x out), reused by the
    /// next call: a training step does not allocate.
    mutable Matrix<Scalar> dh;
  };

  GraphConv(ParameterSet<Scalar>& params, std::string_view prefix, Index in, Index out, bool bias = true)
      : m_name(layer_label(prefix, "GraphConv")), m_in(in), m_out(out),
        m_rel((check_sizes(prefix, in, out), params), join_name(prefix, "lin_rel"), in, out, bias),
        m_root(params, join_name(prefix, "lin_root"), in, out, false) {}

  /// "prefix (GraphConv)": names the layer in messages.
  std::string_view name() const { return m_name; }
  /// Appends the slots this layer registered (what its backward assigns).
  void parameter_slots(std::vector<Index>& out) const {
    m_rel.parameter_slots(out);
    m_root.parameter_slots(out);
  }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_out; }
  bool has_bias() const { return m_rel.has_bias(); }

  /// y (N x out) = lin_rel(A x) + lin_root(x) on in.adj and in.x; fills cache.
  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& y, Cache& cache) const {
    const SparseMatrix<Scalar>& adj = in.adj;
    const ConstMatrixRef<Scalar>& x = in.x;
    detail::check_graph_input(m_name, adj, x, m_in);
    const Matrix<Scalar>& w_rel = params[m_rel.weight_slot()];
    const Matrix<Scalar>& w_root = params[m_root.weight_slot()];
    const Scalar* bias = has_bias() ? params[m_rel.bias_slot()].data() : nullptr;
    cache.aggregate_first = m_in <= m_out;
    if (cache.aggregate_first) {
      detail::propagate<Scalar>(adj, adj.valuePtr(), nullptr, x, cache.h);
      // Each block of rows of y: the bias, then both products added while the block is in
      // cache (one pass over y, not three).
      y.resize(x.rows(), m_out);
      detail::parallel_rows(x.rows(), [&](Index lo, Index hi) {
        auto d = y.middleRows(lo, hi - lo);
        detail::assign_affine(d, cache.h.middleRows(lo, hi - lo), w_rel.transpose(), bias);
        d.noalias() += x.middleRows(lo, hi - lo) * w_root.transpose();
      });
    } else {
      detail::assign_product(cache.h, x, w_rel.transpose());
      detail::propagate<Scalar>(adj, adj.valuePtr(), nullptr, cache.h, y, bias);
      detail::product_rows(x, w_root.transpose(), y, true);
    }
  }

  /// Assigns *din.x (N x in) and *din.adj (nnz(adj)) where not null, and this layer's slots of
  /// dparams, from dy (N x out) and the cache of the forward on the same batch.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dy, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    const SparseMatrix<Scalar>& adj = in.adj;
    const ConstMatrixRef<Scalar>& x = in.x;
    detail::check_graph_input(m_name, adj, x, m_in);
    GNNPOOL_CHECK(dy.rows() == x.rows() && dy.cols() == m_out, shape_error, m_name, " backward: dy is ",
                  detail::shape(dy.rows(), dy.cols()), ", expected ", detail::shape(x.rows(), m_out));
    GNNPOOL_CHECK(cache.h.rows() == x.rows() && cache.h.cols() == (cache.aggregate_first ? m_in : m_out),
                  invalid_argument, m_name, " backward: the cache does not come from a forward on this graph");
    const Matrix<Scalar>& w_rel = params[m_rel.weight_slot()];
    const typename Linear<Scalar>::Cache none;
    Matrix<Scalar>& dh = cache.dh;
    if (cache.aggregate_first) {
      m_rel.backward(params, cache.h, none, dy, nullptr, dparams);
      if (din.x || din.adj) {
        detail::assign_product(dh, dy, w_rel);  // dL/d(A X)
        if (din.x) detail::propagate_transpose<Scalar>(adj, adj.valuePtr(), nullptr, dh, *din.x);
        if (din.adj) detail::edge_dots<Scalar>(adj, dh, x, *din.adj);
      }
    } else {
      detail::propagate_transpose<Scalar>(adj, adj.valuePtr(), nullptr, dy, dh);
      detail::assign_product_transpose(dparams[m_rel.weight_slot()], dh, x);
      if (has_bias()) dparams[m_rel.bias_slot()] = detail::column_sums(dy);
      if (din.adj) detail::edge_dots<Scalar>(adj, dy, cache.h, *din.adj);
    }
    m_root.backward(params, x, none, dy, nullptr, dparams);
    if (!din.x) return;
    const Matrix<Scalar>& w_root = params[m_root.weight_slot()];
    if (cache.aggregate_first) {
      detail::product_rows(dy, w_root, *din.x, true);
      return;
    }
    // dX = dH W_rel + dY W_root block by block of rows: one pass over dX while a block is in cache.
    din.x->resize(x.rows(), m_in);
    detail::parallel_rows(x.rows(), [&](Index lo, Index hi) {
      auto d = din.x->middleRows(lo, hi - lo);
      detail::block_product(d, dh.middleRows(lo, hi - lo), w_rel, false);
      detail::block_product(d, dy.middleRows(lo, hi - lo), w_root, true);
    });
  }

 private:
  static void check_sizes(std::string_view prefix, Index in, Index out) {
    GNNPOOL_CHECK(in >= 1 && out >= 1, invalid_argument, "GraphConv '", prefix,
                  "': in and out must be >= 1, got ", in, " and ", out);
  }

  std::string m_name;
  Index m_in, m_out;
  Linear<Scalar> m_rel, m_root;
};

}  // namespace gnnpool

#endif
