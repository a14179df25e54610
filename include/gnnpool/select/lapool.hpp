#ifndef GNNPOOL_SELECT_LAPOOL_HPP
#define GNNPOOL_SELECT_LAPOOL_HPP

/// \file
/// `LaPoolSelect`: LaPool's leaders and soft assignment (Noutahi et al., "Towards interpretable
/// sparse graph representation learning with Laplacian pooling", 2019), with tgp's semantics.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
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
/// Shapes: X N x F, S N x K. Cache: each graph's leaders and |x_i|. Cost: O(E F) for v,
/// O(sum_b n_b L_b F) for S both ways (dense per graph, as tgp), as GEMMs over fixed chunks of a
/// graph's rows against its leaders: forward X_c X_L^T; backward the same product again (the
/// numerators are recomputed, not cached: an n_b x L_b matrix per graph), W X_L for the chunk's
/// rows and W^T X_c for the leaders (one L_b x F partial per chunk, added in chunk order), with
/// W_il = dC_il / D_il. Parallel over runs of graphs, or over the chunks of one graph; scratch
/// O(chunk L_b) per chunk. Thread-safe (const).
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
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        Vector<Scalar> row(f);
        for (Index i = lo; i < hi; ++i) {
          row.setZero();
          Scalar d(0);
          for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
            d += val[p];
            row -= val[p] * in.x.row(inner[p]).transpose();
          }
          row += d * in.x.row(i).transpose();
          v[i] = row.norm();
        }
      });
      cache.is_leader.resize(static_cast<std::size_t>(n));
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) {
          char leader = 1;
          for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
            if (val[p] != Scalar(0) && v[inner[p]] > v[i]) leader = 0;
          cache.is_leader[static_cast<std::size_t>(i)] = leader;
        }
      });
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
    // Per graph, per fixed chunk of its rows: the cosine numerators of the chunk against the
    // graph's leaders as one GEMM (X_c X_L^T), then the denominators and the row softmax.
    detail::parallel_graphs(in.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b) {
        const GraphLeaders g = leaders_of(in, cache, b);
        if (g.rows == 0) continue;
        detail::parallel_for(g.chunks, [&](Index c) {
          const Index r0 = g.lo + c * g.grain, m = std::min(g.lo + g.rows, r0 + g.grain) - r0;
          Matrix<Scalar> logits(m, g.count);
          logits.noalias() = in.x.middleRows(r0, m) * g.x.transpose();
          for (Index i = 0; i < m; ++i)
            for (Index q = 0; q < g.count; ++q) logits(i, q) /= cache.norm[r0 + i] * g.norm[q] + eps;
          row_softmax<Scalar>(logits, logits, "LaPoolSelect");
          for (Index i = 0; i < m; ++i)
            if (!cache.is_leader[static_cast<std::size_t>(r0 + i)]) sel.s.row(r0 + i).head(g.count) = logits.row(i);
        });
        for (Index q = 0; q < g.count; ++q) sel.s(g.node[static_cast<std::size_t>(q)], q) = Scalar(1);
      }
    });
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Matrix<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& /*dparams*/) const {
    GNNPOOL_CHECK(dsel.rows() == sel.s.rows() && dsel.cols() == sel.s.cols(), shape_error,
                  "LaPoolSelect backward: dS is ", detail::shape(dsel.rows(), dsel.cols()), " but S is ",
                  detail::shape(sel.s.rows(), sel.s.cols()));
    check_cache(in, sel, cache);
    const Scalar eps = static_cast<Scalar>(tgp_constants::eps);
    detail::parallel_graphs(in.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b) {
        const GraphLeaders g = leaders_of(in, cache, b);
        if (g.rows == 0) continue;
        // Per chunk: W = dC / D and alpha_i = sum_l dC_il gi_il give the chunk's own rows,
        // dX_c += W X_L - diag(alpha) X_c; the leaders' part W^T X_c and beta_l = sum_i dC_il gl_il
        // go to the chunk's partials, added in chunk order after the loop.
        std::vector<Matrix<Scalar>> partial(static_cast<std::size_t>(g.chunks));
        std::vector<Vector<Scalar>> beta(static_cast<std::size_t>(g.chunks));
        detail::parallel_for(g.chunks, [&](Index c) {
          const Index r0 = g.lo + c * g.grain, m = std::min(g.lo + g.rows, r0 + g.grain) - r0;
          const auto xc = in.x.middleRows(r0, m);
          Matrix<Scalar> w(m, g.count);
          w.noalias() = xc * g.x.transpose();  // the cosine numerators, overwritten by W
          Vector<Scalar> alpha = Vector<Scalar>::Zero(m);
          Vector<Scalar>& beta_c = beta[static_cast<std::size_t>(c)];
          beta_c.setZero(g.count);
          for (Index i = 0; i < m; ++i) {
            const Index row = r0 + i;
            if (cache.is_leader[static_cast<std::size_t>(row)]) {
              w.row(i).setZero();
              continue;
            }
            const Scalar dot = sel.s.row(row).head(g.count).dot(dsel.row(row).head(g.count));
            const Scalar ni = cache.norm[row];
            for (Index q = 0; q < g.count; ++q) {
              const Scalar dc = sel.s(row, q) * (dsel(row, q) - dot);
              const Scalar nl = g.norm[q];
              const Scalar d = ni * nl + eps;
              const Scalar cos_num = w(i, q);
              const Scalar gi = ni > Scalar(0) ? cos_num * nl / (ni * d * d) : Scalar(0);
              const Scalar gl = nl > Scalar(0) ? cos_num * ni / (nl * d * d) : Scalar(0);
              alpha[i] += dc * gi;
              beta_c[q] += dc * gl;
              w(i, q) = dc / d;
            }
          }
          auto dxc = din.x.middleRows(r0, m);
          dxc.noalias() += w * g.x;
          dxc -= alpha.asDiagonal() * xc;
          partial[static_cast<std::size_t>(c)].noalias() = w.transpose() * xc;
        });
        Matrix<Scalar> dxl = partial[0];
        Vector<Scalar> beta_sum = beta[0];
        for (std::size_t c = 1; c < partial.size(); ++c) {
          dxl += partial[c];
          beta_sum += beta[c];
        }
        dxl -= beta_sum.asDiagonal() * g.x;
        for (Index q = 0; q < g.count; ++q) din.x.row(g.node[static_cast<std::size_t>(q)]) += dxl.row(q);
      }
    });
  }

  /// The leaders (a discrete decision of forward).
  static void discrete(const Cache& cache, std::vector<Index>& out) {
    out.insert(out.end(), cache.leaders.begin(), cache.leaders.end());
  }

 private:
  /// The cache must describe this batch: backward indexes rows and columns with it.
  static void check_cache(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache) {
    const Index n = in.num_nodes();
    const auto un = static_cast<std::size_t>(n);
    bool ok = cache.leader_offsets.size() == in.offsets.size() && cache.is_leader.size() == un &&
              cache.norm.size() == n && sel.s.rows() == n && !cache.leader_offsets.empty() &&
              cache.leader_offsets.front() == 0 &&
              cache.leader_offsets.back() == static_cast<Index>(cache.leaders.size());
    for (std::size_t b = 0; ok && b + 1 < in.offsets.size(); ++b) {
      const Index first = cache.leader_offsets[b], last = cache.leader_offsets[b + 1];
      ok = first <= last && last - first <= sel.s.cols();
      for (Index q = first; ok && q < last; ++q) {
        const Index l = cache.leaders[static_cast<std::size_t>(q)];
        ok = l >= in.offsets[b] && l < in.offsets[b + 1];
      }
    }
    GNNPOOL_CHECK(ok, invalid_argument, "LaPoolSelect backward: the cache (", cache.leaders.size(), " leaders, ",
                  cache.leader_offsets.size(), " leader offsets, ", cache.norm.size(),
                  " norms) does not belong to this batch of ", n, " nodes and ", in.num_graphs(),
                  " graphs with S ", detail::shape(sel.s.rows(), sel.s.cols()));
  }

  /// Graph b's rows, its leaders (nodes, features X_L, norms) and the fixed row chunks both passes
  /// use: max(256, ceil(n_b / 32)) rows, so at most 32 chunks (and partials) per graph.
  struct GraphLeaders {
    Index lo = 0, rows = 0, count = 0, grain = 1, chunks = 0;
    const Index* node = nullptr;
    Matrix<Scalar> x;
    Vector<Scalar> norm;
  };
  static GraphLeaders leaders_of(const BatchRef<Scalar>& in, const Cache& cache, Index b) {
    GraphLeaders g;
    g.lo = in.offsets[static_cast<std::size_t>(b)];
    g.rows = in.offsets[static_cast<std::size_t>(b) + 1] - g.lo;
    const Index first = cache.leader_offsets[static_cast<std::size_t>(b)];
    g.count = cache.leader_offsets[static_cast<std::size_t>(b) + 1] - first;
    g.node = cache.leaders.data() + first;
    g.grain = std::max<Index>(256, (g.rows + 31) / 32);
    g.chunks = detail::chunk_count(g.rows, g.grain);
    g.x.resize(g.count, in.x.cols());
    g.norm.resize(g.count);
    for (Index q = 0; q < g.count; ++q) {
      g.x.row(q) = in.x.row(g.node[q]);
      g.norm[q] = cache.norm[g.node[q]];
    }
    return g;
  }
};

}  // namespace gnnpool

#endif
