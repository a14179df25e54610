#ifndef GNNPOOL_LOSS_ENTROPY_HPP
#define GNNPOOL_LOSS_ENTROPY_HPP

/// \file
/// `EntropyLoss`: DiffPool's assignment entropy, mean over nodes of -sum_k s log(s + eps).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/rows.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace gnnpool {

/// Which mean `EntropyLoss` takes of the node entropies H_i.
enum class EntropyLossReduction {
  /// sum_i H_i / (B Nmax): PyG's `dense_diff_pool` (the padded rows count, with H = 0). Nmax is
  /// the largest graph unless `EntropyLossOptions::padded_size` says otherwise.
  pyg,
  /// sum_i H_i / N: mean over the real nodes of the batch (tgp).
  nodes,
  /// (1/B) sum_b (1/n_b) sum_{i in b} H_i: mean per graph, then over graphs (Spektral / SRC).
  per_graph,
};

struct EntropyLossOptions {
  EntropyLossReduction reduction = EntropyLossReduction::pyg;
  Index padded_size = 0;  ///< Nmax of `pyg`; 0 = the largest graph of the batch
};

/// Entropy regulariser of DiffPool (PyG's `ent_loss`):
///
///   H_i = -sum_k S_ik log(S_ik + eps),  eps = 1e-15 (PyG's), L = a mean of the H_i (see options).
///
/// Backward (c_i = the weight of H_i in the mean, times the upstream weight):
///   dS_ik += -c_i (log(S_ik + eps) + S_ik / (S_ik + eps)).   No adjacency: din is untouched.
/// Values: 0 for a one-hot S, log K for a uniform S. An empty batch or graph contributes 0.
/// Cost: O(N K) both ways (vectorised logarithms); no cache, a temporary of one row chunk (up to
/// 1024 x K) per chunk. Thread-safe (const).
template <typename Scalar_>
class EntropyLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  explicit EntropyLoss(Scalar weight = Scalar(1), EntropyLossOptions options = {})
      : m_weight(weight), m_options(options) {
    GNNPOOL_CHECK(options.padded_size >= 0, invalid_argument, "EntropyLoss: padded_size must be >= 0, got ",
                  options.padded_size);
  }
  std::string_view name() const { return "ent_loss"; }
  Scalar weight() const { return m_weight; }
  const EntropyLossOptions& options() const { return m_options; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    (void)cache;
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "EntropyLoss");
    const Scalar eps = static_cast<Scalar>(pyg_constants::log_eps);
    const Vector<Scalar> w = node_weights(sel);
    const Index k = sel.s.cols();
    return detail::parallel_sum<Scalar>(sel.s.rows(), [&](Index lo, Index hi) {
      // s log(s + eps) over the chunk's rows as one flat array (Eigen's packet log: with a scalar
      // log per entry this loss took a fifth of DiffPool's time at D32), then each row's sum
      // times its node's weight.
      const Array<Scalar> t = terms(sel, lo, hi, [eps](const auto& s) { return s * (s + eps).log(); });
      Scalar sum(0);
      for (Index i = lo; i < hi; ++i) sum -= w[i] * detail::row_sum(t.data() + (i - lo) * k, k);
      return sum;
    });
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    (void)cache, (void)din;
    // The rows below are written through dS's raw data: its shape is checked first.
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "EntropyLoss backward");
    detail::check_like_selection(dsel, sel, "EntropyLoss backward", "dS");
    const Scalar eps = static_cast<Scalar>(pyg_constants::log_eps);
    const Vector<Scalar> w = node_weights(sel);
    const Index k = sel.s.cols();
    detail::parallel_rows(sel.s.rows(), [&](Index lo, Index hi) {
      const Array<Scalar> t = terms(sel, lo, hi, [eps](const auto& s) { return (s + eps).log() + s / (s + eps); });
      for (Index i = lo; i < hi; ++i)
        detail::row_axpy(-dloss * w[i], t.data() + (i - lo) * k, dsel.data() + i * k, k);
    });
  }

 private:
  template <typename T>
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;

  /// f(s) for the entries of rows [lo, hi) of S (contiguous: S is row-major), one flat array.
  template <typename F>
  static Array<Scalar> terms(const SoftSelection<Scalar>& sel, Index lo, Index hi, F f) {
    const Index k = sel.s.cols();
    const Eigen::Map<const Array<Scalar>> s(sel.s.data() + lo * k, (hi - lo) * k);
    return f(s);
  }

  /// The weight of each node's entropy in the reduction.
  Vector<Scalar> node_weights(const SoftSelection<Scalar>& sel) const {
    const Index nb = detail::num_graphs(sel), n = sel.s.rows();
    Vector<Scalar> w(n);
    switch (m_options.reduction) {
      case EntropyLossReduction::pyg: {
        Index largest = 0;
        for (Index b = 0; b < nb; ++b) largest = std::max(largest, graph_size(sel, b));
        const Index nmax = m_options.padded_size > 0 ? m_options.padded_size : largest;
        GNNPOOL_CHECK(nmax >= largest, invalid_argument, "EntropyLoss: padded_size ", nmax,
                      " is smaller than the largest graph of the batch (", largest, " nodes)");
        w.setConstant(nmax > 0 ? Scalar(1) / (static_cast<Scalar>(nb) * static_cast<Scalar>(nmax)) : Scalar(0));
        break;
      }
      case EntropyLossReduction::nodes: w.setConstant(n > 0 ? Scalar(1) / static_cast<Scalar>(n) : Scalar(0)); break;
      case EntropyLossReduction::per_graph:
        for (Index b = 0; b < nb; ++b)
          detail::graph_rows(w, sel.offsets, b)
              .setConstant(Scalar(1) / (static_cast<Scalar>(nb) * static_cast<Scalar>(std::max<Index>(graph_size(sel, b), 1))));
        break;
    }
    return w;
  }

  static Index graph_size(const SoftSelection<Scalar>& sel, Index b) {
    return sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)];
  }

  Scalar m_weight;
  EntropyLossOptions m_options;
};

}  // namespace gnnpool

#endif
