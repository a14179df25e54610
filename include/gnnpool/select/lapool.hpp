#ifndef GNNPOOL_SELECT_LAPOOL_HPP
#define GNNPOOL_SELECT_LAPOOL_HPP

/// \file
/// `LaPoolSelect`: LaPool's leaders and soft assignment (Noutahi et al., "Towards interpretable
/// sparse graph representation learning with Laplacian pooling", 2019), with tgp's semantics.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/nn/softmax.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace gnnpool {

/// LaPool's selection, tgp's `LaPoolSelect` (no parameters):
///
/// Leaders: v_i = |d_i x_i - (A x)_i|_2 (the Laplacian-smoothed signal, d_i = sum_j A_ij); node i
///   is a leader when v_i >= v_j for every neighbour j (A_ij != 0; ties make both leaders; a node
///   without neighbours is a leader). A graph without leader (impossible for a non-empty graph,
///   kept from tgp) makes all its nodes leaders. Graph b's leaders, in ascending node order, are
///   its clusters 0 .. L_b - 1; K = max_b L_b and the columns L_b .. K - 1 of graph b are 0
///   (tgp's padding of the cluster dimension: the pooled graph has K supernodes per graph, the
///   surplus ones with no feature and no edge). A batch without any node has no leader: K = 1,
///   one empty supernode per graph (as an empty graph keeps its K supernodes in the other soft
///   poolers), rather than an error.
/// Assignment: C_il = <x_i, x_l> / (|x_i| |x_l| + 1e-8) for the leaders l of i's graph;
///   S_i = softmax_l(C_il) for a non-leader, the one-hot of its own column for a leader.
/// Backward (leaders fixed, S does not depend on A's values): dC_il = S_il (dS_il - sum_m S_im dS_im)
///   over non-leader rows; with D = |x_i| |x_l| + eps, c = <x_i, x_l>:
///   dx_i += dC (x_l / D - c |x_l| x_i / (|x_i| D^2)),  dx_l += dC (x_i / D - c |x_i| x_l / (|x_l| D^2))
///   (x / |x| read as 0 at x = 0, as PyTorch's norm backward).
/// The paper's variant (sparsemax over leaders within a shortest-path radius) is not provided.
/// Shapes: X N x F, S N x K. Cache: each graph's leaders. Cost: O(E F) for v, O(sum_b n_b L_b F)
/// for S both ways (dense per graph, as tgp). Thread-safe (const).
template <typename Scalar_>
class LaPoolSelect {
 public:
  using Scalar = Scalar_;
  using Selection = SoftSelection<Scalar>;
  struct Cache {
    IndexVector leaders;        ///< leader nodes of every graph, graph by graph, ascending
    IndexVector leader_offsets; ///< B + 1: graph b's leaders are leaders[leader_offsets[b] ..)
    std::vector<char> is_leader;
    Vector<Scalar> norm;        ///< |x_i|
  };

  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    const Index n = in.num_nodes(), nb = in.num_graphs(), f = in.x.cols();
    // v = |D x - A x| row by row.
    Vector<Scalar> v(n);
    {
      const StorageIndex* outer = in.adj.outerIndexPtr();
      const StorageIndex* inner = in.adj.innerIndexPtr();
      const Scalar* val = in.adj.valuePtr();
      Vector<Scalar> row(f);
      for (Index i = 0; i < n; ++i) {
        row.setZero();
        Scalar d(0);
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          d += val[p];
          row -= val[p] * in.x.row(inner[p]).transpose();
        }
        row += d * in.x.row(i).transpose();
        v[i] = row.norm();
      }
      cache.is_leader.assign(static_cast<std::size_t>(n), 1);
      for (Index i = 0; i < n; ++i)
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (val[p] != Scalar(0) && v[inner[p]] > v[i]) cache.is_leader[static_cast<std::size_t>(i)] = 0;
    }
    cache.leaders.clear();
    cache.leader_offsets.assign(1, 0);
    Index k = 0;
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.offsets[static_cast<std::size_t>(b)], hi = in.offsets[static_cast<std::size_t>(b) + 1];
      bool any = false;
      for (Index i = lo; i < hi; ++i) any = any || cache.is_leader[static_cast<std::size_t>(i)];
      if (!any)
        for (Index i = lo; i < hi; ++i) cache.is_leader[static_cast<std::size_t>(i)] = 1;
      for (Index i = lo; i < hi; ++i)
        if (cache.is_leader[static_cast<std::size_t>(i)]) cache.leaders.push_back(i);
      cache.leader_offsets.push_back(static_cast<Index>(cache.leaders.size()));
      k = std::max(k, cache.leader_offsets[static_cast<std::size_t>(b) + 1] - cache.leader_offsets[static_cast<std::size_t>(b)]);
    }
    k = std::max<Index>(k, 1);  // no node in the whole batch: one empty supernode per graph
    cache.norm = in.x.rowwise().norm();
    sel.s.setZero(n, k);
    sel.offsets = in.offsets;
    const Scalar eps = static_cast<Scalar>(tgp_constants::eps);
    Matrix<Scalar> logits;
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.offsets[static_cast<std::size_t>(b)], hi = in.offsets[static_cast<std::size_t>(b) + 1];
      const Index first = cache.leader_offsets[static_cast<std::size_t>(b)];
      const Index count = cache.leader_offsets[static_cast<std::size_t>(b) + 1] - first;
      if (hi == lo) continue;
      logits.resize(1, count);
      for (Index i = lo; i < hi; ++i) {
        if (cache.is_leader[static_cast<std::size_t>(i)]) continue;
        for (Index c = 0; c < count; ++c) {
          const Index l = cache.leaders[static_cast<std::size_t>(first + c)];
          logits(0, c) = in.x.row(i).dot(in.x.row(l)) / (cache.norm[i] * cache.norm[l] + eps);
        }
        row_softmax<Scalar>(logits, logits, "LaPoolSelect");
        sel.s.row(i).head(count) = logits.row(0);
      }
      for (Index c = 0; c < count; ++c) sel.s(cache.leaders[static_cast<std::size_t>(first + c)], c) = Scalar(1);
    }
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Matrix<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& /*dparams*/) const {
    GNNPOOL_CHECK(dsel.rows() == sel.s.rows() && dsel.cols() == sel.s.cols(), shape_error,
                  "LaPoolSelect backward: dS is ", detail::shape(dsel.rows(), dsel.cols()), " but S is ",
                  detail::shape(sel.s.rows(), sel.s.cols()));
    const Index nb = in.num_graphs();
    const Scalar eps = static_cast<Scalar>(tgp_constants::eps);
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.offsets[static_cast<std::size_t>(b)], hi = in.offsets[static_cast<std::size_t>(b) + 1];
      const Index first = cache.leader_offsets[static_cast<std::size_t>(b)];
      const Index count = cache.leader_offsets[static_cast<std::size_t>(b) + 1] - first;
      for (Index i = lo; i < hi; ++i) {
        if (cache.is_leader[static_cast<std::size_t>(i)]) continue;
        const Scalar dot = sel.s.row(i).head(count).dot(dsel.row(i).head(count));
        const Scalar ni = cache.norm[i];
        for (Index c = 0; c < count; ++c) {
          const Scalar dc = sel.s(i, c) * (dsel(i, c) - dot);
          if (dc == Scalar(0)) continue;
          const Index l = cache.leaders[static_cast<std::size_t>(first + c)];
          const Scalar nl = cache.norm[l];
          const Scalar d = ni * nl + eps;
          const Scalar cos_num = in.x.row(i).dot(in.x.row(l));
          const Scalar gi = ni > Scalar(0) ? cos_num * nl / (ni * d * d) : Scalar(0);
          const Scalar gl = nl > Scalar(0) ? cos_num * ni / (nl * d * d) : Scalar(0);
          din.x.row(i) += dc * (in.x.row(l) / d - gi * in.x.row(i));
          din.x.row(l) += dc * (in.x.row(i) / d - gl * in.x.row(l));
        }
      }
    }
  }

  /// The leaders (a discrete decision of forward).
  static void discrete(const Cache& cache, std::vector<Index>& out) {
    out.insert(out.end(), cache.leaders.begin(), cache.leaders.end());
  }
};

}  // namespace gnnpool

#endif
