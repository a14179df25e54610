#ifndef GNNPOOL_READOUT_GATED_ATTENTION_HPP
#define GNNPOOL_READOUT_GATED_ATTENTION_HPP

/// \file
/// `GatedAttentionReadout`: Spektral's `GlobalAttentionPool` (sigmoid-gated, un-normalised).

#include <gnnpool/detail/readout.hpp>
#include <gnnpool/nn/linear.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Sigmoid-gated attention readout (Li et al., "Gated Graph Sequence Neural Networks";
/// Spektral `GlobalAttentionPool(channels)`, the readout of the SRC paper's experiments).
///
/// Forward:  f_i = x_i W_f^T + b_f,   s_i = sigmoid(x_i W_a^T + b_a)          (both 1 x F')
///           out.row(g) = sum_{i in g} s_i (.) f_i                x: N x F, out: B x F'
/// Unlike `AttentionReadout` nothing is normalised over the nodes: each channel has its own
/// gate in (0, 1), so the output grows with the graph like a sum.
/// Backward: df_i = s_i (.) dout_g, da_i = f_i (.) dout_g (.) s_i (.) (1 - s_i),
///           dx = df W_f + da W_a, dW_f = df^T X, db_f = 1^T df, dW_a = da^T X, db_a = 1^T da
///           (all assigned).
/// Parameters: `features_layer.weight` [F', F], `features_layer.bias` [1, F'],
/// `attn_layer.weight` [F', F], `attn_layer.bias` [1, F'] under `prefix`: Spektral's layer names,
/// in PyTorch's Linear layout, so Spektral's Keras `kernel` [F, F'] is the transpose of
/// `weight`. Initialised like PyTorch's Linear (Spektral uses glorot_uniform kernels and zero
/// biases: set them by name to reproduce a Spektral model).
/// An empty graph reads out as a zero row and gives no gradient. Reads `x` and `offsets` only.
/// Cache: f and s (N x F' each). Cost: O(N F F') (four GEMMs forward and backward), backward
/// allocates two N x F' temporaries per call. Thread-safe (const).
/// Errors: `invalid_argument` for in_features or channels < 1; `shape_error` when x does not
/// have in_features columns, dout is not B x F', or the cache is from another batch.
template <typename Scalar_>
class GatedAttentionReadout {
 public:
  using Scalar = Scalar_;

  struct Cache {
    Matrix<Scalar> features;  ///< f, N x F'
    Matrix<Scalar> gate;      ///< s = sigmoid(attn_layer(x)), N x F'
    Index nodes = -1;
  };

  static constexpr std::string_view layer_name() { return "GatedAttentionReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;

  GatedAttentionReadout(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, Index channels)
      : m_name(layer_label(prefix, layer_name())), m_in(checked_in(in_features, channels)),
        m_features(params, join_name(prefix, "features_layer"), in_features, channels),
        m_attention(params, join_name(prefix, "attn_layer"), in_features, channels) {}

  /// "prefix (GatedAttentionReadout)".
  std::string_view name() const { return m_name; }
  void parameter_slots(std::vector<Index>& out) const {
    m_features.parameter_slots(out);
    m_attention.parameter_slots(out);
  }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_features.out_features(); }

  /// One pass over the rows, in fixed blocks of `detail::row_grain` rows (in parallel): a block's
  /// f and s are computed (bias, GEMM, sigmoid) and summed into the graphs' rows while they are in
  /// cache, where separate passes read f and s back from memory twice. A graph that a block
  /// boundary cuts gets the sum of its later blocks' rows from a per-block partial, added in block
  /// order after the pass: the result does not depend on the number of threads.
  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    detail::check_readout_forward(in, m_in, layer_name());
    const Index n = in.x.rows(), c = out_features(), graphs = in.num_graphs();
    const IndexVector& offsets = in.offsets;
    cache.nodes = n;
    cache.features.resize(n, c);
    cache.gate.resize(n, c);
    out.setZero(graphs, c);
    const Index blocks = detail::chunk_count(n, detail::row_grain);
    Matrix<Scalar> head = Matrix<Scalar>::Zero(blocks, c);  // block k's rows of the graph it continues
    std::vector<Index> head_graph(static_cast<std::size_t>(blocks), -1);
    const auto affine = [&](const Linear<Scalar>& layer, Index lo, Index hi, auto&& y) {
      detail::assign_affine(y, in.x.middleRows(lo, hi - lo), params[layer.weight_slot()].transpose(),
                            layer.has_bias() ? params[layer.bias_slot()].data() : nullptr);
    };
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      auto f = cache.features.middleRows(lo, hi - lo);
      auto s = cache.gate.middleRows(lo, hi - lo);
      affine(m_features, lo, hi, f);
      affine(m_attention, lo, hi, s);
      s.array() = (Scalar(1) + (-s.array()).exp()).inverse();  // sigmoid, vectorised
      const Index k = lo / detail::row_grain;
      // The graph of row lo: the last one starting at or before it (empty graphs are skipped below).
      auto g = static_cast<Index>(std::upper_bound(offsets.begin(), offsets.end(), lo) - offsets.begin()) - 1;
      for (Index i = lo; i < hi; ++i) {
        while (offsets[static_cast<std::size_t>(g + 1)] <= i) ++g;
        const bool continues = offsets[static_cast<std::size_t>(g)] < lo;
        if (continues) head_graph[static_cast<std::size_t>(k)] = g;
        Scalar* o = continues ? head.data() + k * c : out.data() + g * c;
        const Scalar* fi = cache.features.data() + i * c;
        const Scalar* si = cache.gate.data() + i * c;
        for (Index q = 0; q < c; ++q) o[q] += si[q] * fi[q];
      }
    });
    for (Index k = 1; k < blocks; ++k)
      if (const Index g = head_graph[static_cast<std::size_t>(k)]; g >= 0) out.row(g) += head.row(k);
  }

  /// Assigns *din.x (N x F) when not null, and this readout's slots of dparams.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    const Index c = out_features();
    detail::check_readout_backward(in, m_in, cache.nodes, m_in, dout, c, layer_name());
    Matrix<Scalar> dfeatures(in.x.rows(), c), dlogits(in.x.rows(), c);
    detail::parallel_graphs(in.offsets, [&](Index g_lo, Index g_hi) {
      for (Index g = g_lo; g < g_hi; ++g) {
        const Scalar* d = dout.data() + g * dout.outerStride();
        for (Index i = detail::segment_begin(in.offsets, g); i < detail::segment_end(in.offsets, g); ++i) {
          const Scalar* fi = cache.features.data() + i * c;
          const Scalar* si = cache.gate.data() + i * c;
          Scalar* dfi = dfeatures.data() + i * c;
          Scalar* dai = dlogits.data() + i * c;
          for (Index k = 0; k < c; ++k) {
            dfi[k] = si[k] * d[k];
            dai[k] = fi[k] * d[k] * si[k] * (Scalar(1) - si[k]);
          }
        }
      }
    });
    const typename Linear<Scalar>::Cache none;
    m_features.backward(params, in.x, none, dfeatures, din.x, dparams);
    if (din.x) detail::product_rows(dlogits, params[m_attention.weight_slot()], *din.x, true);
    m_attention.backward(params, in.x, none, dlogits, nullptr, dparams);
  }

 private:
  static Index checked_in(Index in_features, Index channels) {
    GNNPOOL_CHECK(in_features >= 1 && channels >= 1, invalid_argument,
                  "GatedAttentionReadout: in_features and channels must be >= 1, got ", in_features, " and ",
                  channels);
    return in_features;
  }

  std::string m_name;
  Index m_in;
  Linear<Scalar> m_features;
  Linear<Scalar> m_attention;
};

}  // namespace gnnpool

#endif
