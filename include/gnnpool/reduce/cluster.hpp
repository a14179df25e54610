#ifndef GNNPOOL_REDUCE_CLUSTER_HPP
#define GNNPOOL_REDUCE_CLUSTER_HPP

/// \file
/// `ClusterReduce`: features of the supernodes of a hard selection by max / mean / sum over
/// each cluster, or the representative's features, with the selection weight applied before or
/// after (k-MIS score passthrough).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

namespace gnnpool {

/// How the members of a cluster are combined.
enum class ClusterAggregation {
  max,             ///< PyG `max_pool` / scatter amax (an empty cluster gives 0)
  mean,            ///< PyG `avg_pool` / scatter mean (divides by max(count, 1))
  sum,             ///< scatter sum (tgp's S^T X)
  representative,  ///< the features of `representative[c]` (k-MIS `aggr_x=None`: x[mis])
};

/// Where the selection weight w (k-MIS: the score) multiplies the features.
enum class ScorePassthrough {
  none,    ///< weights ignored (Graclus)
  before,  ///< x_i <- w_i x_i, then aggregate
  after,   ///< aggregate, then x'_c <- w_{representative[c]} x'_c
};

/// "max", "mean" (or "avg"), "sum" (or "add"), "representative" (or "none").
inline ClusterAggregation parse_cluster_aggregation(std::string_view name) {
  if (name == "max") return ClusterAggregation::max;
  if (name == "mean" || name == "avg") return ClusterAggregation::mean;
  if (name == "sum" || name == "add") return ClusterAggregation::sum;
  if (name == "representative" || name == "none") return ClusterAggregation::representative;
  detail::raise<invalid_argument>(detail::concat("ClusterReduce: unknown aggregation '", name,
                                                 "' (expected max, mean, sum or representative)"));
}

/// "none", "before", "after".
inline ScorePassthrough parse_score_passthrough(std::string_view name) {
  if (name == "none") return ScorePassthrough::none;
  if (name == "before") return ScorePassthrough::before;
  if (name == "after") return ScorePassthrough::after;
  detail::raise<invalid_argument>(detail::concat("ClusterReduce: unknown score passthrough '", name,
                                                 "' (expected none, before or after)"));
}

struct ClusterReduceOptions {
  ClusterAggregation aggregation = ClusterAggregation::max;
  ScorePassthrough passthrough = ScorePassthrough::none;
};

/// Reduce of a hard selection: one output row per supernode.
///
/// Forward, with a(i) = assignment[i] (dropped nodes skipped), r(c) = representative[c], and
/// z_i = w_i x_i under `before`, z_i = x_i otherwise:
///   max:  y_c = max_{a(i)=c} z_i (column-wise; 0 for an empty cluster)
///   mean: y_c = sum_{a(i)=c} z_i / max(|c|, 1);   sum: y_c = sum_{a(i)=c} z_i
///   representative: y_c = z_{r(c)}
///   x'_c = w_{r(c)} y_c under `after`, x'_c = y_c otherwise.
/// Backward, with G = dL/dX' and H_c = w_{r(c)} G_c under `after` (G_c otherwise):
///   dL/dz_i = H_{a(i)} (sum), H_{a(i)} / |c| (mean), [i = r(c)] H_c (representative), and for
///   max, per column, H_c / t on each of the t members tied at the maximum, 0 elsewhere (PyTorch's
///   scatter_reduce amax; the same split as global_max);
///   dL/dx_i = w_i dL/dz_i and dL/dw_i = <dL/dz_i, x_i> under `before`, dL/dx_i = dL/dz_i otherwise;
///   under `after` also dL/dw_{r(c)} += <G_c, y_c>.
///
/// Shapes: x N x F, x' M x F (M = number of supernodes). Cache: y (M x F) under max or `after`,
/// the members of every cluster (2 N + M ints). Both passes run cluster by cluster, so each output
/// row (and each row of dL/dX') is touched once and each member row is read where it lies; fixed
/// chunks of 1 024 clusters run in parallel (docs/one-over-k.md: the same bytes for any number of
/// threads). Cost: O(N F + M) both ways (max backward reads a tied cluster's members twice), no
/// allocation per node.
template <typename Scalar_>
class ClusterReduce {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    Matrix<Scalar> pooled;                ///< y: the aggregate before the `after` multiplication
    std::vector<StorageIndex> start;      ///< members of cluster c: member[start[c] .. start[c+1])
    std::vector<StorageIndex> member;     ///< input nodes grouped by cluster, ascending within one
    std::vector<StorageIndex> rank;       ///< scratch: each node's place among its cluster's members
  };

  explicit ClusterReduce(ClusterReduceOptions options = {}) : m_options(options) {}

  const ClusterReduceOptions& options() const { return m_options; }

  void forward(const BatchRef<Scalar>& in, const Selection& sel, Matrix<Scalar>& x_out, Cache& cache) const {
    check(in, sel);
    const Index f = in.x.cols(), m = sel.num_supernodes();
    group_members(sel, cache);
    const bool before = m_options.passthrough == ScorePassthrough::before;
    // Cluster by cluster: each output row is written once; members are read where they lie.
    x_out.resize(m, f);
    const bool keep =
        m_options.aggregation == ClusterAggregation::max || m_options.passthrough == ScorePassthrough::after;
    if (keep) cache.pooled.resize(m, f);
    const std::size_t row_bytes = static_cast<std::size_t>(f) * sizeof(Scalar);
    // Each output row reads only its own members: fixed chunks of clusters run in parallel.
    detail::parallel_rows(m, [&](Index c_lo, Index c_hi) {
      for (Index c = c_lo; c < c_hi; ++c) {
        const StorageIndex* first = cache.member.data() + cache.start[static_cast<std::size_t>(c)];
        const StorageIndex* last = cache.member.data() + cache.start[static_cast<std::size_t>(c) + 1];
        // Member rows lie anywhere in x: fetch those of a later cluster while this one is reduced.
        if (c + prefetch_distance < m) {
          if (m_options.aggregation == ClusterAggregation::representative)
            detail::prefetch_bytes(
                in.x.data() + sel.representative[static_cast<std::size_t>(c + prefetch_distance)] * in.x.outerStride(),
                row_bytes);
          else
            for (const StorageIndex* j =
                     cache.member.data() + cache.start[static_cast<std::size_t>(c + prefetch_distance)];
                 j != cache.member.data() + cache.start[static_cast<std::size_t>(c + prefetch_distance) + 1]; ++j)
              detail::prefetch_bytes(in.x.data() + static_cast<Index>(*j) * in.x.outerStride(), row_bytes);
        }
        auto out = x_out.row(c);
        switch (m_options.aggregation) {
          case ClusterAggregation::sum:
          case ClusterAggregation::mean:
            out.setZero();
            for (const StorageIndex* j = first; j != last; ++j) {
              if (before)
                out.noalias() += sel.weight[*j] * in.x.row(*j);
              else
                out += in.x.row(*j);
            }
            if (m_options.aggregation == ClusterAggregation::mean && last - first > 1)
              out /= static_cast<Scalar>(last - first);
            break;
          case ClusterAggregation::max:
            // An empty cluster (only with dropped nodes) reads 0, as PyG's scatter max.
            if (first == last) {
              out.setZero();
              break;
            }
            if (before)
              out.noalias() = sel.weight[*first] * in.x.row(*first);
            else
              out = in.x.row(*first);
            for (const StorageIndex* j = first + 1; j != last; ++j) {
              if (before)
                out = out.cwiseMax(sel.weight[*j] * in.x.row(*j));
              else
                out = out.cwiseMax(in.x.row(*j));
            }
            break;
          case ClusterAggregation::representative: {
            const Index r = sel.representative[static_cast<std::size_t>(c)];
            if (before)
              out.noalias() = sel.weight[r] * in.x.row(r);
            else
              out = in.x.row(r);
            break;
          }
        }
      }
      // The chunk's rows are still in cache: keep y for backward, then apply the `after` weights.
      if (keep) cache.pooled.middleRows(c_lo, c_hi - c_lo) = x_out.middleRows(c_lo, c_hi - c_lo);
      if (m_options.passthrough == ScorePassthrough::after)
        for (Index c = c_lo; c < c_hi; ++c) x_out.row(c) *= sel.weight[sel.representative[static_cast<std::size_t>(c)]];
    });
  }

  /// Adds dL/dX into din.x and dL/dw into dsel.
  void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache,
                const ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, typename Selection::Gradient& dsel) const {
    const Index f = in.x.cols(), m = sel.num_supernodes();
    GNNPOOL_CHECK(dx_out.rows() == m && dx_out.cols() == f, shape_error, "ClusterReduce: the gradient is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), " but the pooled x is ", detail::shape(m, f));
    GNNPOOL_CHECK(static_cast<Index>(cache.start.size()) == m + 1, shape_error, "ClusterReduce: the cache holds ",
                  cache.start.size() - 1, " clusters but the selection has ", m,
                  " (backward needs the cache of the same forward)");
    const bool before = m_options.passthrough == ScorePassthrough::before;
    const bool after = m_options.passthrough == ScorePassthrough::after;
    // h = dL/dy_c: G_c, scaled by the representative's weight under `after`.
    // Applies dL/dz_j = grad to x_j (and w_j under `before`).
    auto apply = [&](Index j, const auto& grad) {
      if (before) {
        dsel[j] += grad.dot(in.x.row(j));
        din.x.row(j).noalias() += sel.weight[j] * grad;
      } else {
        din.x.row(j) += grad;
      }
    };
    const std::size_t row_bytes = static_cast<std::size_t>(f) * sizeof(Scalar);
    const Index xs = in.x.outerStride();  // x may be a view of some columns of a wider matrix
    auto run = [&](Index c_lo, Index c_hi) {
      Matrix<Scalar> h(1, f), ties(1, f), g(1, f);
      for (Index c = c_lo; c < c_hi; ++c) {
        const StorageIndex* first = cache.member.data() + cache.start[static_cast<std::size_t>(c)];
        const StorageIndex* last = cache.member.data() + cache.start[static_cast<std::size_t>(c) + 1];
        if (c + prefetch_distance < m)
          for (const StorageIndex* j =
                   cache.member.data() + cache.start[static_cast<std::size_t>(c + prefetch_distance)];
               j != cache.member.data() + cache.start[static_cast<std::size_t>(c + prefetch_distance) + 1]; ++j) {
            detail::prefetch_bytes(in.x.data() + static_cast<Index>(*j) * xs, row_bytes);
            detail::prefetch_bytes(din.x.data() + static_cast<Index>(*j) * f, row_bytes);
          }
        if (after) {
          const Index r = sel.representative[static_cast<std::size_t>(c)];
          dsel[r] += dx_out.row(c).dot(cache.pooled.row(c));
          h.noalias() = sel.weight[r] * dx_out.row(c);
        } else {
          h = dx_out.row(c);
        }
        switch (m_options.aggregation) {
          case ClusterAggregation::sum:
            for (const StorageIndex* j = first; j != last; ++j) apply(*j, h.row(0));
            break;
          case ClusterAggregation::mean:
            if (last - first > 1) h /= static_cast<Scalar>(last - first);
            for (const StorageIndex* j = first; j != last; ++j) apply(*j, h.row(0));
            break;
          case ClusterAggregation::max: {
            if (last - first == 1) {  // no tie possible
              apply(*first, h.row(0));
              break;
            }
            // Count the members equal to the maximum (z_j recomputed exactly as forward did),
            // then share h among them. Plain loops over the F columns: they vectorise.
            const Scalar* y = cache.pooled.data() + c * f;
            Scalar* tie = ties.data();
            Scalar* hp = h.data();
            Scalar* gp = g.data();
            std::fill(tie, tie + f, Scalar(0));
            for (const StorageIndex* j = first; j != last; ++j) {
              const Scalar wj = before ? sel.weight[*j] : Scalar(1);
              const Scalar* xj = in.x.data() + static_cast<Index>(*j) * xs;
              for (Index t = 0; t < f; ++t) tie[t] += (wj * xj[t] == y[t]) ? Scalar(1) : Scalar(0);
            }
            for (Index t = 0; t < f; ++t) hp[t] /= std::max(tie[t], Scalar(1));
            for (const StorageIndex* j = first; j != last; ++j) {
              const Scalar wj = before ? sel.weight[*j] : Scalar(1);
              const Scalar* xj = in.x.data() + static_cast<Index>(*j) * xs;
              for (Index t = 0; t < f; ++t) gp[t] = (wj * xj[t] == y[t]) ? hp[t] : Scalar(0);
              apply(*j, g.row(0));
            }
            break;
          }
          case ClusterAggregation::representative:
            apply(sel.representative[static_cast<std::size_t>(c)], h.row(0));
            break;
        }
      }
    };
    // The members of two clusters are disjoint, so with max, mean or sum and no `after` each
    // cluster writes only its own members' rows of dL/dX (and weights): fixed chunks of clusters
    // run in parallel. The representative aggregation and `after` write at representatives:
    // disjoint too when each lies in its own cluster (Graclus, k-MIS), serial otherwise (a
    // selection may name one node for two clusters).
    const bool own = m_options.aggregation != ClusterAggregation::representative && !after;
    const auto in_own_cluster = [&] {
      const auto n = static_cast<Index>(sel.assignment.size());
      for (Index c = 0; c < m; ++c) {
        const Index r = sel.representative[static_cast<std::size_t>(c)];
        if (r < 0 || r >= n || sel.assignment[static_cast<std::size_t>(r)] != c) return false;
      }
      return true;
    };
    if (own || in_own_cluster())
      detail::parallel_rows(m, run);
    else
      run(0, m);
  }

 private:
  /// How many clusters ahead the member rows are prefetched.
  static constexpr Index prefetch_distance = 8;

  /// Input nodes grouped by cluster (counting sort, ascending node order within a cluster): one
  /// serial pass counts and ranks each node among its cluster's members, then fixed chunks of
  /// nodes write the member lists in parallel.
  static void group_members(const Selection& sel, Cache& cache) {
    const std::size_t n = sel.assignment.size(), m = static_cast<std::size_t>(sel.num_supernodes());
    cache.start.assign(m + 1, 0);
    cache.rank.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      if (sel.assignment[i] >= 0) cache.rank[i] = cache.start[static_cast<std::size_t>(sel.assignment[i]) + 1]++;
    for (std::size_t c = 0; c < m; ++c) cache.start[c + 1] += cache.start[c];
    cache.member.resize(static_cast<std::size_t>(cache.start[m]));
    detail::parallel_rows(static_cast<Index>(n), [&](Index lo, Index hi) {
      for (auto i = static_cast<std::size_t>(lo); i < static_cast<std::size_t>(hi); ++i)
        if (sel.assignment[i] >= 0)
          cache.member[static_cast<std::size_t>(cache.start[static_cast<std::size_t>(sel.assignment[i])] + cache.rank[i])] =
              static_cast<StorageIndex>(i);
    }, Index(8192));
  }

  void check(const BatchRef<Scalar>& in, const Selection& sel) const {
    const Index n = in.x.rows(), m = sel.num_supernodes();
    GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, "ClusterReduce: the selection has ", sel.num_nodes(),
                  " assignments but x has ", n, " rows");
    GNNPOOL_CHECK(sel.weight.size() == n || m_options.passthrough == ScorePassthrough::none, shape_error,
                  "ClusterReduce: the selection has ", sel.weight.size(), " weights but x has ", n, " rows");
    for (Index c = 0; c < m; ++c)
      check_node_index(sel.representative[static_cast<std::size_t>(c)], n, "ClusterReduce", "representative");
    for (Index i = 0; i < n; ++i)
      GNNPOOL_CHECK(sel.assignment[static_cast<std::size_t>(i)] >= Selection::dropped &&
                        sel.assignment[static_cast<std::size_t>(i)] < m,
                    invalid_argument, "ClusterReduce: assignment[", i, "] = ", sel.assignment[static_cast<std::size_t>(i)],
                    " is out of range for ", m, " supernodes");
  }

  ClusterReduceOptions m_options;
};

}  // namespace gnnpool

#endif
