#ifndef GNNPOOL_READOUT_ATTENTION_SUM_HPP
#define GNNPOOL_READOUT_ATTENTION_SUM_HPP

/// \file
/// `AttentionSumReadout`: Spektral's `GlobalAttnSumPool` (softmax of a linear node score).

#include <gnnpool/core/numeric.hpp>
#include <gnnpool/detail/readout.hpp>
#include <gnnpool/detail/segment_softmax.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Options of `AttentionSumReadout`.
struct AttentionSumOptions {
  /// Added to the softmax denominator. Spektral's disjoint (batched) mode adds 1e-9
  /// (`ops.unsorted_segment_softmax`); 0 reproduces its single-graph mode (`K.softmax`).
  double softmax_eps = spektral_constants::segment_softmax_denominator_eps;
};

/// Attention-sum readout (Spektral `GlobalAttnSumPool`): a softmax over each graph's nodes of
/// the linear score x_i a weights the node features themselves.
///
/// Forward:  z_i = x_i a,   alpha_i = exp(z_i - m_g) / (sum_{j in g} exp(z_j - m_g) + eps),
///           m_g = max_{j in g} z_j,   out.row(g) = sum_{i in g} alpha_i x_i.
///           x: N x F, a: F x 1, out: B x F.
/// The softmax is taken per graph, as Spektral >= 1.1 does (before 1.1, disjoint mode
/// normalised over the whole batch: Spektral issue #302; not reproduced).
/// Backward: dalpha_i = <dout_g, x_i>, dz_i = alpha_i (dalpha_i - sum_{j in g} alpha_j dalpha_j),
///           dx_i = alpha_i dout_g + dz_i a^T, da = X^T dz (assigned).
/// Parameter: `attn_kernel` [F, 1] under `prefix`, Spektral's name and shape, glorot-uniform
/// initialised as in Spektral.
/// An empty graph reads out as a zero row and gives no gradient. Reads `x` and `offsets` only.
/// Cache: the scores z and weights alpha (N each). Cost: O(N F) both ways; backward allocates
/// one N-vector per call. Thread-safe (const).
/// Errors: `invalid_argument` for in_features < 1 or a negative or non-finite softmax_eps;
/// `shape_error` when x does not have in_features columns, dout is not B x F, or the cache is
/// from another batch.
template <typename Scalar_>
class AttentionSumReadout {
 public:
  using Scalar = Scalar_;

  struct Cache {
    Matrix<Scalar> score;  ///< z, N x 1
    Matrix<Scalar> alpha;  ///< N x 1
    Index nodes = -1;
  };

  static constexpr std::string_view layer_name() { return "AttentionSumReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;

  AttentionSumReadout(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features,
                      const AttentionSumOptions& options = {})
      : m_name(layer_label(prefix, layer_name())), m_in(in_features), m_eps(static_cast<Scalar>(options.softmax_eps)) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "AttentionSumReadout: in_features must be >= 1, got ",
                  in_features);
    GNNPOOL_CHECK(std::isfinite(options.softmax_eps) && options.softmax_eps >= 0, invalid_argument,
                  "AttentionSumReadout: softmax_eps must be finite and >= 0, got ", options.softmax_eps);
    m_kernel = params.add(join_name(prefix, "attn_kernel"), in_features, 1, Init::glorot);
  }

  /// "prefix (AttentionSumReadout)".
  std::string_view name() const { return m_name; }
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_kernel); }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_in; }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    detail::check_readout_forward(in, m_in, layer_name());
    cache.nodes = in.x.rows();
    detail::assign_product(cache.score, in.x, params[m_kernel]);
    cache.alpha.resize(in.x.rows(), 1);
    detail::segment_softmax(cache.score.data(), cache.alpha.data(), in.offsets.data(), in.num_graphs(), m_eps);
    detail::segment_weighted_sum<Scalar>(in.x, cache.alpha.data(), in.offsets, out);
  }

  /// Assigns *din.x (N x F) when not null, and this readout's slot of dparams.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    detail::check_readout_backward(in, m_in, cache.nodes, m_in, dout, m_in, layer_name());
    Matrix<Scalar> dz(in.x.rows(), 1), scratch;
    Matrix<Scalar>& dx = din.x ? *din.x : scratch;  // the weighted-sum backward writes both
    detail::segment_weighted_sum_backward<Scalar>(in.x, cache.alpha.data(), in.offsets, dout, dx, dz.data());
    detail::segment_softmax_backward(cache.alpha.data(), dz.data(), dz.data(), in.offsets.data(), in.num_graphs());
    if (din.x) detail::product_rows(dz, params[m_kernel].transpose(), dx, true);
    detail::assign_product_transpose(dparams[m_kernel], in.x, dz);
  }

 private:
  std::string m_name;
  Index m_in;
  Scalar m_eps;
  Index m_kernel = -1;
};

}  // namespace gnnpool

#endif
