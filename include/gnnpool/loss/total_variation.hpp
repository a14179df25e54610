#ifndef GNNPOOL_LOSS_TOTAL_VARIATION_HPP
#define GNNPOOL_LOSS_TOTAL_VARIATION_HPP

/// \file
/// `TotalVariationLoss`: the graph total variation of S, AsymCheegerCut / TV-GNN's cut term.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace gnnpool {

/// Graph total variation loss of AsymCheegerCut / TV-GNN (Hansen & Bianchi, "Total Variation
/// Graph Neural Networks", ICML 2023; tgp's `totvar_loss`), mean over graphs:
///
///   l_b = sum_{e = (i, j) stored in graph b, A_e != 0} A_e |S_i - S_j|_1 / (2 max(E_b, 1)),
///
/// E_b = the number of stored entries of graph b with a non-zero weight (both directions of an
/// undirected edge count, as in tgp). Entries stored with weight 0 are not edges: they neither
/// count in E_b nor receive a gradient (tgp reads the pattern of the dense A as fixed).
///
/// Backward (g = w / B, c_b = g / (2 max(E_b, 1)), sigma = sign(S_i - S_j) entrywise, sign(0) = 0):
///   dS_i += c_b A_e sigma,  dS_j -= c_b A_e sigma,  dA_e += c_b |S_i - S_j|_1.
///
/// Analytic values: 0 for a one-hot S constant on every connected component; w for a single edge
/// of weight w between two nodes in different clusters (one-hot).
/// Cost: O(E K) both ways (a gather pass, its rows in parallel, and a serial scatter pass). Cache:
/// |S_i - S_j|_1 per stored entry and E_b. Thread-safe (const).
template <typename Scalar_>
class TotalVariationLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Vector<Scalar> distance;  ///< |S_i - S_j|_1 per stored entry (0 where A_e = 0)
    Vector<Scalar> scale;     ///< 1 / (2 max(E_b, 1)) per graph
  };

  explicit TotalVariationLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "total_variation_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "TotalVariationLoss");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    cache.distance.setZero(in.adj.nonZeros());
    cache.scale.resize(nb);
    Vector<Scalar> per_graph(nb);
    // The distances: every stored entry on its own, rows in parallel.
    detail::parallel_graph_rows(sel.offsets, [&](Index, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        const Scalar* si = sel.s.data() + i * k;
        // Block by block of S_i (held in registers), each entry's distance gains the block's part.
        detail::column_blocks<Scalar>(k, [&]<int W>(Index c) {
          using Block = Eigen::Array<Scalar, W, 1>;
          const Block sb = Eigen::Map<const Block>(si + c);
          for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
            if (val[p] != Scalar(0))
              cache.distance[p] += (sb - Eigen::Map<const Block>(sel.s.data() + Index(inner[p]) * k + c)).abs().sum();
        });
      }
    });
    // The sums, one pass over the entries in order.
    for (Index b = 0; b < nb; ++b) {
      Scalar sum(0);
      Index edges = 0;
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          if (val[p] == Scalar(0)) continue;
          sum += val[p] * cache.distance[p];
          ++edges;
        }
      }
      cache.scale[b] = Scalar(1) / (Scalar(2) * static_cast<Scalar>(std::max<Index>(edges, 1)));
      per_graph[b] = sum * cache.scale[b];
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar g = dloss / static_cast<Scalar>(nb);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    for (Index b = 0; b < nb; ++b) {
      const Scalar c = g * cache.scale[b];
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        const Scalar* si = sel.s.data() + i * k;
        Scalar* di = dsel.data() + i * k;
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          if (val[p] == Scalar(0)) continue;
          const Index j = inner[p];
          const Scalar* sj = sel.s.data() + j * k;
          Scalar* dj = dsel.data() + j * k;
          const Scalar w = c * val[p];
          for (Index q = 0; q < k; ++q) {
            const Scalar diff = si[q] - sj[q];
            const Scalar sigma = diff > Scalar(0) ? w : (diff < Scalar(0) ? -w : Scalar(0));
            di[q] += sigma;
            dj[q] -= sigma;
          }
          if (din.adj_needed) din.adj[p] += c * cache.distance[p];
        }
      }
    }
  }

 private:
  Scalar m_weight;
};

}  // namespace gnnpool

#endif
