#ifndef GNNPOOL_NN_MLP_HPP
#define GNNPOOL_NN_MLP_HPP

/// \file
/// `MLP`: a stack of `Linear` layers with an activation between them, PyG's
/// `torch_geometric.nn.MLP(channel_list, act, norm=None, dropout=0, plain_last=True)`.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/linear.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Multi-layer perceptron with L = channels.size() - 1 linear layers.
///
/// Forward:  H_0 = X;  Z_l = H_l W_l^T + b_l,  H_{l+1} = f(Z_l)  for l < L - 1;  Y = Z_{L-1}
///           (no activation after the last layer: PyG's plain_last = True).
/// Backward: G_{L-1} = dY;  for l = L-1 .. 0:  dW_l = G_l^T H_l,  db_l = 1^T G_l,
///           dH_l = G_l W_l,  G_{l-1} = dH_l ⊙ f'(Z_{l-1});  dX = dH_0.
/// Shapes: X N x channels[0], Y N x channels[L]. Parameters `<prefix>.lins.<l>.weight`
/// [channels[l+1], channels[l]] and `<prefix>.lins.<l>.bias` [1, channels[l+1]] (if `bias`),
/// initialised like PyTorch's Linear. Unlike PyG's default MLP there is no normalisation layer
/// and no dropout (PyG `norm=None, dropout=0.0`).
/// Cache: Z_l and H_{l+1} = f(Z_l) for every hidden layer l < L - 1.
/// Cost: O(N sum_l channels[l] channels[l+1]) both ways.
template <typename Scalar_>
class MLP {
 public:
  using Scalar = Scalar_;

  /// What backward needs: pre[l] = Z_l and post[l] = f(Z_l) for l < L - 1 (the output layer
  /// is written straight into y).
  struct Cache {
    std::vector<Matrix<Scalar>> pre;
    std::vector<Matrix<Scalar>> post;
  };

  MLP(ParameterSet<Scalar>& params, std::string_view prefix, std::vector<Index> channels,
      Activation act = Activation::relu, bool bias = true)
      : m_name(layer_label(prefix, "MLP")), m_channels(std::move(channels)), m_act(act) {
    GNNPOOL_CHECK(m_channels.size() >= 2, invalid_argument, "MLP '", prefix,
                  "': channels needs at least 2 entries (input and output), got ", m_channels.size());
    for (std::size_t l = 0; l < m_channels.size(); ++l)
      GNNPOOL_CHECK(m_channels[l] >= 1, invalid_argument, "MLP '", prefix, "': channels[", l,
                    "] must be >= 1, got ", m_channels[l]);
    const std::string lins = join_name(prefix, "lins");
    m_lins.reserve(m_channels.size() - 1);
    for (std::size_t l = 0; l + 1 < m_channels.size(); ++l)
      m_lins.emplace_back(params, join_name(lins, std::to_string(l)), m_channels[l], m_channels[l + 1], bias);
  }

  /// "prefix (MLP)": names the layer in messages.
  std::string_view name() const { return m_name; }
  /// Appends the slots of every layer (what backward assigns).
  void parameter_slots(std::vector<Index>& out) const {
    for (const auto& lin : m_lins) lin.parameter_slots(out);
  }
  /// The discrete decisions of a forward (the sign pattern of every hidden pre-activation,
  /// where ReLU and SELU have their kink), for the whole-model gradient check.
  void discrete(const Cache& cache, std::vector<Index>& out) const {
    if (m_act != Activation::relu && m_act != Activation::selu) return;
    for (const auto& z : cache.pre)
      for (Index i = 0; i < z.size(); ++i) out.push_back(z.data()[i] > Scalar(0));
  }
  Index in_features() const { return m_channels.front(); }
  Index out_features() const { return m_channels.back(); }
  Index num_layers() const { return static_cast<Index>(m_lins.size()); }
  const std::vector<Index>& channels() const { return m_channels; }
  Activation activation() const { return m_act; }
  const Linear<Scalar>& layer(Index l) const { return m_lins[static_cast<std::size_t>(l)]; }

  /// y (N x out_features) = MLP(x). Throws `shape_error` when x does not have in_features columns.
  void forward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, Matrix<Scalar>& y,
               Cache& cache) const {
    GNNPOOL_CHECK(x.cols() == in_features(), shape_error, m_name, ": x is ", detail::shape(x.rows(), x.cols()),
                  " but the MLP expects ", in_features(), " input features");
    const std::size_t hidden = m_lins.size() - 1;
    cache.pre.resize(hidden);
    cache.post.resize(hidden);
    typename Linear<Scalar>::Cache none;
    for (std::size_t l = 0; l < hidden; ++l) {
      m_lins[l].forward(params, l == 0 ? x : ConstMatrixRef<Scalar>(cache.post[l - 1]), cache.pre[l], none);
      activation_forward<Scalar>(m_act, cache.pre[l], cache.post[l]);
    }
    m_lins[hidden].forward(params, hidden == 0 ? x : ConstMatrixRef<Scalar>(cache.post[hidden - 1]), y, none);
  }

  /// Assigns *dx (N x in_features, when dx is not null) and this MLP's slots of dparams from dy
  /// (N x out_features).
  void backward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, const Cache& cache,
                const ConstMatrixRef<Scalar>& dy, Matrix<Scalar>* dx, ParameterSet<Scalar>& dparams) const {
    GNNPOOL_CHECK(x.cols() == in_features(), shape_error, m_name, " backward: x is ",
                  detail::shape(x.rows(), x.cols()), " but the MLP expects ", in_features(), " input features");
    GNNPOOL_CHECK(dy.rows() == x.rows() && dy.cols() == out_features(), shape_error, m_name, " backward: dy is ",
                  detail::shape(dy.rows(), dy.cols()), ", expected ", detail::shape(x.rows(), out_features()));
    const std::size_t hidden = m_lins.size() - 1;
    GNNPOOL_CHECK(cache.pre.size() == hidden && cache.post.size() == hidden &&
                      (hidden == 0 || cache.post[0].rows() == x.rows()),
                  invalid_argument, m_name, " backward: the cache does not come from a forward of this MLP on this x");
    const typename Linear<Scalar>::Cache none;
    if (hidden == 0) {
      m_lins[0].backward(params, x, none, dy, dx, dparams);
      return;
    }
    // g holds dL/dZ_l, dh holds dL/dH_l; the two buffers are reused down the stack.
    Matrix<Scalar> g, dh;
    m_lins[hidden].backward(params, cache.post[hidden - 1], none, dy, &dh, dparams);
    for (std::size_t l = hidden; l-- > 0;) {
      activation_backward<Scalar>(m_act, cache.pre[l], cache.post[l], dh, g);
      if (l == 0)
        m_lins[0].backward(params, x, none, g, dx, dparams);
      else
        m_lins[l].backward(params, cache.post[l - 1], none, g, &dh, dparams);
    }
  }

 private:
  std::string m_name;
  std::vector<Index> m_channels;
  Activation m_act;
  std::vector<Linear<Scalar>> m_lins;
};

}  // namespace gnnpool

#endif
