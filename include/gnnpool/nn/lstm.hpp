#ifndef GNNPOOL_NN_LSTM_HPP
#define GNNPOOL_NN_LSTM_HPP

/// \file
/// `LSTMCell`: one step of PyTorch's LSTM (`torch.nn.LSTMCell`, or one time step of a one-layer
/// `torch.nn.LSTM`), with its hand-written backward. The recurrent readout Set2Set is built on it.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/column_sums.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// One LSTM step on B rows, PyTorch's gate order (i, f, g, o):
///
/// Forward:  Z = X W_ih^T + b_ih + H W_hh^T + b_hh   (B x 4H: the four gates' pre-activations)
///           i = sigmoid(Z_i), f = sigmoid(Z_f), g = tanh(Z_g), o = sigmoid(Z_o)
///           C' = f ⊙ C + i ⊙ g,   H' = o ⊙ tanh(C').
/// Backward (given dH', dC'): dC~ = dC' + dH' ⊙ o ⊙ (1 - tanh(C')^2);
///           dZ_i = dC~ ⊙ g ⊙ i (1 - i),  dZ_f = dC~ ⊙ C ⊙ f (1 - f),  dZ_g = dC~ ⊙ i ⊙ (1 - g^2),
///           dZ_o = dH' ⊙ tanh(C') ⊙ o (1 - o);
///           dX = dZ W_ih, dH = dZ W_hh, dC = dC~ ⊙ f;
///           dW_ih = dZ^T X, dW_hh = dZ^T H, db_ih = db_hh = 1^T dZ.
/// Parameters: `<prefix>.weight_ih<suffix>` [4H, I], `<prefix>.weight_hh<suffix>` [4H, H],
/// `<prefix>.bias_ih<suffix>` and `<prefix>.bias_hh<suffix>` [1, 4H], suffix "" (LSTMCell) or
/// "_l0" (layer 0 of torch.nn.LSTM); all initialised U(-1/sqrt(H), 1/sqrt(H)) as PyTorch.
/// Shapes: X B x I, H and C B x H. Cache: the gates (activated) and tanh(C'), B x 5H.
/// Cost: O(B H (I + H)) both ways. Parameter gradients are ADDED (`backward` is called once per
/// time step of a recurrence, which sums them), unlike a layer's. Thread-safe (const).
template <typename Scalar_>
class LSTMCell {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> gates;   ///< B x 4H: i, f, g, o after their activations
    Matrix<Scalar> tanh_c;  ///< B x H: tanh(C')
  };

  LSTMCell(ParameterSet<Scalar>& params, std::string_view prefix, Index input_size, Index hidden_size,
           std::string_view suffix = "")
      : m_name(layer_label(prefix, "LSTMCell")), m_in(input_size), m_hidden(hidden_size) {
    GNNPOOL_CHECK(input_size >= 1 && hidden_size >= 1, invalid_argument, m_name,
                  ": input_size and hidden_size must be >= 1, got ", input_size, " and ", hidden_size);
    auto name = [&](const char* what) { return join_name(prefix, std::string(what) + std::string(suffix)); };
    m_weight_ih = params.add(name("weight_ih"), 4 * hidden_size, input_size, Init::torch_linear, hidden_size);
    m_weight_hh = params.add(name("weight_hh"), 4 * hidden_size, hidden_size, Init::torch_linear, hidden_size);
    m_bias_ih = params.add(name("bias_ih"), 1, 4 * hidden_size, Init::torch_linear, hidden_size);
    m_bias_hh = params.add(name("bias_hh"), 1, 4 * hidden_size, Init::torch_linear, hidden_size);
  }

  std::string_view name() const { return m_name; }
  Index input_size() const { return m_in; }
  Index hidden_size() const { return m_hidden; }
  void parameter_slots(std::vector<Index>& out) const {
    // push_back, not insert of an initializer list: GCC 12 at -O3 reports a false
    // -Wstringop-overflow inside vector::insert here (the Release build of the tests).
    for (const Index slot : {m_weight_ih, m_weight_hh, m_bias_ih, m_bias_hh}) out.push_back(slot);
  }

  /// (h_out, c_out) = step(x, (h, c)); the outputs must not alias the inputs.
  void forward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& h,
               const ConstMatrixRef<Scalar>& c, Matrix<Scalar>& h_out, Matrix<Scalar>& c_out, Cache& cache) const {
    GNNPOOL_CHECK(x.cols() == m_in && h.cols() == m_hidden && c.cols() == m_hidden && h.rows() == x.rows() &&
                      c.rows() == x.rows(),
                  shape_error, m_name, ": x is ", detail::shape(x.rows(), x.cols()), ", h ",
                  detail::shape(h.rows(), h.cols()), " and c ", detail::shape(c.rows(), c.cols()), "; expected B x ",
                  m_in, " and B x ", m_hidden);
    const Index hs = m_hidden, b = x.rows();
    Matrix<Scalar>& z = cache.gates;
    z.resize(b, 4 * hs);
    c_out.resize(b, hs);
    cache.tanh_c.resize(b, hs);
    h_out.resize(b, hs);
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> bias = params[m_bias_ih].row(0) + params[m_bias_hh].row(0);
    const auto& w_ih = params[m_weight_ih];
    const auto& w_hh = params[m_weight_hh];
    auto sigmoid = [](Scalar v) { return Scalar(1) / (Scalar(1) + std::exp(-v)); };
    // Every row is independent: fixed chunks of rows in parallel (the same bits for any number
    // of threads), each chunk's two products, gates and state in one pass.
    detail::parallel_rows(b, [&](Index lo, Index hi) {
      const Index m = hi - lo;
      auto zc = z.middleRows(lo, m);
      zc.noalias() = x.middleRows(lo, m) * w_ih.transpose();
      zc.noalias() += h.middleRows(lo, m) * w_hh.transpose();
      zc.rowwise() += bias;
      for (Index r = lo; r < hi; ++r) {
        for (Index q = 0; q < hs; ++q) {
          z(r, q) = sigmoid(z(r, q));                      // i
          z(r, hs + q) = sigmoid(z(r, hs + q));            // f
          z(r, 2 * hs + q) = std::tanh(z(r, 2 * hs + q));  // g
          z(r, 3 * hs + q) = sigmoid(z(r, 3 * hs + q));    // o
        }
      }
      c_out.middleRows(lo, m) = zc.middleCols(hs, hs).cwiseProduct(c.middleRows(lo, m)) +
                                zc.leftCols(hs).cwiseProduct(zc.middleCols(2 * hs, hs));
      cache.tanh_c.middleRows(lo, m) = c_out.middleRows(lo, m).array().tanh().matrix();
      h_out.middleRows(lo, m) = zc.rightCols(hs).cwiseProduct(cache.tanh_c.middleRows(lo, m));
    }, row_chunk);
  }

  /// From dh_out and dc_out: ASSIGNS dx, dh, dc (each may be null: not needed) and ADDS the
  /// parameter gradients into dparams. x, h, c are the forward's inputs.
  void backward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& h,
                const ConstMatrixRef<Scalar>& c, const Cache& cache, const ConstMatrixRef<Scalar>& dh_out,
                const ConstMatrixRef<Scalar>& dc_out, Matrix<Scalar>* dx, Matrix<Scalar>* dh, Matrix<Scalar>* dc,
                ParameterSet<Scalar>& dparams) const {
    const Index hs = m_hidden, b = x.rows();
    GNNPOOL_CHECK(dh_out.rows() == b && dh_out.cols() == hs && dc_out.rows() == b && dc_out.cols() == hs, shape_error,
                  m_name, " backward: dh' is ", detail::shape(dh_out.rows(), dh_out.cols()), " and dc' ",
                  detail::shape(dc_out.rows(), dc_out.cols()), ", expected ", detail::shape(b, hs));
    const Matrix<Scalar>& g = cache.gates;
    Matrix<Scalar> dz(b, 4 * hs);
    if (dx) dx->resize(b, m_in);
    if (dh) dh->resize(b, hs);
    if (dc) dc->resize(b, hs);
    // Rows in parallel (fixed chunks): the gates' gradients, then dX and dH of those rows.
    detail::parallel_rows(b, [&](Index lo, Index hi) {
      for (Index r = lo; r < hi; ++r)
        for (Index q = 0; q < hs; ++q) {
          const Scalar i = g(r, q), f = g(r, hs + q), gg = g(r, 2 * hs + q), o = g(r, 3 * hs + q);
          const Scalar t = cache.tanh_c(r, q);
          const Scalar dct = dc_out(r, q) + dh_out(r, q) * o * (Scalar(1) - t * t);
          if (dc) (*dc)(r, q) = dct * f;
          dz(r, q) = dct * gg * i * (Scalar(1) - i);
          dz(r, hs + q) = dct * c(r, q) * f * (Scalar(1) - f);
          dz(r, 2 * hs + q) = dct * i * (Scalar(1) - gg * gg);
          dz(r, 3 * hs + q) = dh_out(r, q) * t * o * (Scalar(1) - o);
        }
      const Index m = hi - lo;
      if (dx) dx->middleRows(lo, m).noalias() = dz.middleRows(lo, m) * params[m_weight_ih];
      if (dh) dh->middleRows(lo, m).noalias() = dz.middleRows(lo, m) * params[m_weight_hh];
    }, row_chunk);
    // Sums over the rows: at most max_partials fixed chunks of at least row_chunk rows, added in
    // chunk order.
    detail::product_transpose_rows(dz, x, dparams[m_weight_ih], true, row_chunk);
    detail::product_transpose_rows(dz, h, dparams[m_weight_hh], true, row_chunk);
    const Matrix<Scalar> dbias = detail::column_sums(dz);  // zeros for a batch without rows
    dparams[m_bias_ih] += dbias;
    dparams[m_bias_hh] += dbias;
  }

 private:
  /// Rows per chunk of the row-parallel loops: a chunk's products are large enough (256 rows of
  /// the B x (I + H) x 4H products) that packing the weights once per chunk costs little.
  static constexpr Index row_chunk = 256;

  std::string m_name;
  Index m_in, m_hidden;
  Index m_weight_ih = -1, m_weight_hh = -1, m_bias_ih = -1, m_bias_hh = -1;
};

}  // namespace gnnpool

#endif
