#ifndef GNNPOOL_READOUT_ATTENTION_HPP
#define GNNPOOL_READOUT_ATTENTION_HPP

/// \file
/// `AttentionReadout`: PyG's `AttentionalAggregation` (formerly `GlobalAttention`) with linear
/// gate and feature networks.

#include <gnnpool/core/numeric.hpp>
#include <gnnpool/detail/readout.hpp>
#include <gnnpool/detail/segment_softmax.hpp>
#include <gnnpool/nn/linear.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Softmax-attention readout (Li et al., "Gated Graph Sequence Neural Networks"; PyG
/// `AttentionalAggregation(gate_nn=Linear(F, 1), nn=Linear(F, F') or None)`).
///
/// Forward:  z_i = x_i w^T + b                     (gate_nn, one score per node)
///           alpha_i = exp(z_i - m_g) / (sum_{j in g} exp(z_j - m_g) + 1e-16),  m_g = max_{j in g} z_j
///           h_i = x_i W^T + c  (nn; h_i = x_i without it)
///           out.row(g) = sum_{i in g} alpha_i h_i.          x: N x F, out: B x F' (F' = F without nn)
/// The 1e-16 guard and the un-differentiated shift m_g are PyG's `softmax` (pyg_constants); the
/// guard never matters for a non-empty graph (the sum is >= 1). No sigmoid on the gate.
/// Backward: dh_i = alpha_i dout_g, dalpha_i = <dout_g, h_i>,
///           dz_i = alpha_i (dalpha_i - sum_{j in g} alpha_j dalpha_j),
///           dx = dh W + dz w (dx = dh + dz w without nn), dW = dh^T X, dc = 1^T dh,
///           dw = dz^T X, db = 1^T dz. dx and the four parameter gradients are assigned.
/// Parameters (PyG state_dict names under `prefix`): `gate_nn.weight` [1, F], `gate_nn.bias`
/// [1, 1], and with nn `nn.weight` [F', F], `nn.bias` [1, F']; PyTorch `Linear` initialisation.
/// An empty graph reads out as a zero row and gives no gradient. Reads `x` and `offsets` only.
/// Cache: the scores z and weights alpha (N each) and h (N x F', only with nn).
/// Cost: O(N F F') for nn (one GEMM forward, two backward), O(N F) for the rest; backward
/// allocates dz (N) and, with nn, dh (N x F') per call. Thread-safe (const).
/// Errors: `invalid_argument` for in_features or nn_out_features < 1; `shape_error` when x does
/// not have in_features columns, dout is not B x F', or the cache is from another batch; as
/// `SumReadout` for malformed offsets.
template <typename Scalar_>
class AttentionReadout {
 public:
  using Scalar = Scalar_;

  struct Cache {
    Matrix<Scalar> score;  ///< z, N x 1
    Matrix<Scalar> alpha;  ///< N x 1
    Matrix<Scalar> h;      ///< nn(x), N x F' (empty without nn)
    Index nodes = -1;
  };

  static constexpr std::string_view layer_name() { return "AttentionReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;

  /// `nn_out_features`: F' of the feature network nn = Linear(F, F'); none for PyG's nn=None.
  AttentionReadout(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features,
                   std::optional<Index> nn_out_features = std::nullopt)
      : m_name(layer_label(prefix, layer_name())), m_in(checked_in(in_features, nn_out_features)),
        m_gate(params, join_name(prefix, "gate_nn"), in_features, 1) {
    if (nn_out_features) m_nn.emplace(params, join_name(prefix, "nn"), in_features, *nn_out_features);
  }

  /// "prefix (AttentionReadout)".
  std::string_view name() const { return m_name; }
  void parameter_slots(std::vector<Index>& out) const {
    m_gate.parameter_slots(out);
    if (m_nn) m_nn->parameter_slots(out);
  }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_nn ? m_nn->out_features() : m_in; }
  bool has_nn() const { return m_nn.has_value(); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    detail::check_readout_forward(in, m_in, layer_name());
    cache.nodes = in.x.rows();
    typename Linear<Scalar>::Cache none;
    m_gate.forward(params, in.x, cache.score, none);
    cache.alpha.resize(in.x.rows(), 1);
    detail::segment_softmax(cache.score.data(), cache.alpha.data(), in.offsets.data(), in.num_graphs(),
                            static_cast<Scalar>(pyg_constants::softmax_denominator_eps));
    if (m_nn) {
      m_nn->forward(params, in.x, cache.h, none);
      detail::segment_weighted_sum<Scalar>(cache.h, cache.alpha.data(), in.offsets, out);
    } else {
      cache.h.resize(0, 0);
      detail::segment_weighted_sum<Scalar>(in.x, cache.alpha.data(), in.offsets, out);
    }
  }

  /// Assigns *din.x (N x F) when not null, and this readout's slots of dparams.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    detail::check_readout_backward(in, m_in, cache.nodes, m_in, dout, out_features(), layer_name());
    const typename Linear<Scalar>::Cache none;
    Matrix<Scalar> dz(in.x.rows(), 1), scratch;
    Matrix<Scalar>& dx = din.x ? *din.x : scratch;  // without nn, dh is dx: computed either way
    if (m_nn) {
      Matrix<Scalar> dh;
      detail::segment_weighted_sum_backward<Scalar>(cache.h, cache.alpha.data(), in.offsets, dout, dh, dz.data());
      m_nn->backward(params, in.x, none, dh, din.x, dparams);
    } else {
      detail::segment_weighted_sum_backward<Scalar>(in.x, cache.alpha.data(), in.offsets, dout, dx, dz.data());
    }
    detail::segment_softmax_backward(cache.alpha.data(), dz.data(), dz.data(), in.offsets.data(), in.num_graphs());
    if (din.x) detail::product_rows(dz, params[m_gate.weight_slot()], dx, true);
    m_gate.backward(params, in.x, none, dz, nullptr, dparams);
  }

 private:
  static Index checked_in(Index in_features, std::optional<Index> nn_out_features) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "AttentionReadout: in_features must be >= 1, got ",
                  in_features);
    GNNPOOL_CHECK(!nn_out_features || *nn_out_features >= 1, invalid_argument,
                  "AttentionReadout: nn_out_features must be >= 1 when given, got ", nn_out_features.value_or(0));
    return in_features;
  }

  std::string m_name;
  Index m_in;
  Linear<Scalar> m_gate;
  std::optional<Linear<Scalar>> m_nn;
};

}  // namespace gnnpool

#endif
