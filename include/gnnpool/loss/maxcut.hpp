#ifndef GNNPOOL_LOSS_MAXCUT_HPP
#define GNNPOOL_LOSS_MAXCUT_HPP

/// \file
/// `MaxCutLoss`: MaxCutPool's auxiliary loss z^T A z / vol (Abate & Bianchi 2025; tgp
/// `maxcut_loss`), which pushes the scores of adjacent nodes to opposite signs.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>

#include <string_view>

namespace gnnpool {

/// MaxCut loss, mean over the graphs of the batch:
///
///   L = (1/B) sum_b c_b / v_b,   c_b = sum_{e = (t, s) stored in b} w_e z_s z_t,
///   v_b = sum_{e in b} w_e (1 when the graph has no edge weight: tgp's guard),
///
/// with z = the selection weights (MaxCutSelect's node scores). Minimising it maximises the
/// weighted cut of the partition sign(z). Self loops count as tgp's sparse product counts them.
/// Backward (g = dloss / B): dz_s += g w_e z_t / v_b and dz_t += g w_e z_s / v_b for every entry,
///   dw_e += g (z_s z_t / v_b - c_b / v_b^2) (the second term only where v_b != 0).
/// Empty graphs count as 0 in the mean. Cost O(N + E) both ways. Cache: c_b, v_b.
template <typename Scalar_>
class MaxCutLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Vector<Scalar> cut, volume;  ///< c_b and v_b (before the guard)
  };

  explicit MaxCutLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "maxcut_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, Cache& cache) const {
    GNNPOOL_CHECK(sel.weight.size() == in.num_nodes(), shape_error, "MaxCutLoss: the selection has ",
                  sel.weight.size(), " weights for ", in.num_nodes(), " nodes");
    const Index nb = in.num_graphs();
    cache.cut.setZero(nb);
    cache.volume.setZero(nb);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    const Scalar* z = sel.weight.data();
    // Row sums in registers, then one update of the graph's sums per row: summing every entry
    // into cut[b] in memory chained each entry to the previous one's store.
    for (Index b = 0; b < nb; ++b) {
      Scalar cut(0), volume(0);
      for (Index t = in.graph_begin(b); t < in.graph_begin(b + 1); ++t) {
        Scalar row_cut(0), row_volume(0);
        for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) {
          row_cut += val[e] * z[inner[e]];
          row_volume += val[e];
        }
        cut += row_cut * z[t];
        volume += row_volume;
      }
      cache.cut[b] = cut;
      cache.volume[b] = volume;
    }
    if (nb == 0) return Scalar(0);
    Scalar total(0);
    for (Index b = 0; b < nb; ++b) total += cache.cut[b] / guarded(cache.volume[b]);
    return total / static_cast<Scalar>(nb);
  }

  /// Adds dloss * dL/dA into din.adj and dloss * dL/dz into dsel.
  void backward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Vector<Scalar>& dsel) const {
    const Index nb = in.num_graphs();
    if (nb == 0) return;
    const Scalar g = dloss / static_cast<Scalar>(nb);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    const Scalar* z = sel.weight.data();
    for (Index b = 0; b < nb; ++b) {
      const Scalar v = guarded(cache.volume[b]);
      const Scalar scale = g / v;
      const Scalar dvol = cache.volume[b] != Scalar(0) ? -g * cache.cut[b] / (v * v) : Scalar(0);
      for (Index t = in.graph_begin(b); t < in.graph_begin(b + 1); ++t) {
        const Scalar zt = scale * z[t];
        Scalar row(0);  // dz_t's share of row t, in a register (see forward)
        for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) {
          const StorageIndex s = inner[e];
          dsel[s] += val[e] * zt;
          row += val[e] * z[s];
        }
        dsel[t] += scale * row;
        if (din.adj_needed)
          for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) din.adj[e] += zt * z[inner[e]] + dvol;
      }
    }
  }

 private:
  static Scalar guarded(Scalar volume) { return volume == Scalar(0) ? Scalar(1) : volume; }

  Scalar m_weight;
};

}  // namespace gnnpool

#endif
