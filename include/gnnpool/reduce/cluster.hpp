#ifndef GNNPOOL_REDUCE_CLUSTER_HPP
#define GNNPOOL_REDUCE_CLUSTER_HPP

/// \file
/// `ClusterReduce`: features of the supernodes of a hard selection by max / mean / sum over
/// each cluster, or the representative's features, with the selection weight applied before or
/// after (k-MIS score passthrough).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>

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
/// the cluster sizes (M) for mean. Cost: O(N F) both ways (max backward reads x twice), no
/// allocation per node.
template <typename Scalar_>
class ClusterReduce {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    Matrix<Scalar> pooled;        ///< y: the aggregate before the `after` multiplication
    std::vector<Index> count;     ///< cluster sizes (mean)
  };

  explicit ClusterReduce(ClusterReduceOptions options = {}) : m_options(options) {}

  const ClusterReduceOptions& options() const { return m_options; }

  void forward(const Batch<Scalar>& in, const Selection& sel, Matrix<Scalar>& x_out, Cache& cache) const {
    check(in, sel);
    const Index n = in.x.rows(), f = in.x.cols(), m = sel.num_supernodes();
    const bool before = m_options.passthrough == ScorePassthrough::before;
    auto z = [&](Index i) { return in.x.row(i) * (before ? sel.weight[i] : Scalar(1)); };
    switch (m_options.aggregation) {
      case ClusterAggregation::sum:
      case ClusterAggregation::mean: {
        x_out.setZero(m, f);
        if (m_options.aggregation == ClusterAggregation::mean) cache.count.assign(static_cast<std::size_t>(m), 0);
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c < 0) continue;
          if (before) x_out.row(c).noalias() += sel.weight[i] * in.x.row(i);
          else x_out.row(c) += in.x.row(i);
          if (m_options.aggregation == ClusterAggregation::mean) ++cache.count[static_cast<std::size_t>(c)];
        }
        if (m_options.aggregation == ClusterAggregation::mean)
          for (Index c = 0; c < m; ++c)
            x_out.row(c) /= static_cast<Scalar>(std::max<Index>(cache.count[static_cast<std::size_t>(c)], 1));
        break;
      }
      case ClusterAggregation::max: {
        x_out.setConstant(m, f, -numeric<Scalar>::infinity());
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c < 0) continue;
          if (before) x_out.row(c) = x_out.row(c).cwiseMax(z(i));
          else x_out.row(c) = x_out.row(c).cwiseMax(in.x.row(i));
        }
        // An empty cluster (possible only for selections with dropped nodes) reads 0, as PyG.
        for (Index k = 0; k < x_out.size(); ++k)
          if (x_out.data()[k] == -numeric<Scalar>::infinity()) x_out.data()[k] = Scalar(0);
        break;
      }
      case ClusterAggregation::representative: {
        x_out.resize(m, f);
        for (Index c = 0; c < m; ++c) x_out.row(c) = z(sel.representative[static_cast<std::size_t>(c)]);
        break;
      }
    }
    if (m_options.aggregation == ClusterAggregation::max || m_options.passthrough == ScorePassthrough::after)
      cache.pooled = x_out;
    if (m_options.passthrough == ScorePassthrough::after)
      for (Index c = 0; c < m; ++c) x_out.row(c) *= sel.weight[sel.representative[static_cast<std::size_t>(c)]];
  }

  /// Adds dL/dX into din.x and dL/dw into dsel.
  void backward(const Batch<Scalar>& in, const Selection& sel, const Cache& cache,
                const Matrix<Scalar>& dx_out, BatchGrad<Scalar>& din, typename Selection::Gradient& dsel) const {
    const Index n = in.x.rows(), f = in.x.cols(), m = sel.num_supernodes();
    GNNPOOL_CHECK(dx_out.rows() == m && dx_out.cols() == f, shape_error, "ClusterReduce: the gradient is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), " but the pooled x is ", detail::shape(m, f));
    const bool before = m_options.passthrough == ScorePassthrough::before;
    const bool after = m_options.passthrough == ScorePassthrough::after;
    // H = dL/dy: G scaled by the representative's weight under `after`.
    Matrix<Scalar> scaled;
    if (after) {
      scaled.resize(m, f);
      for (Index c = 0; c < m; ++c) {
        const Index r = sel.representative[static_cast<std::size_t>(c)];
        dsel[r] += dx_out.row(c).dot(cache.pooled.row(c));
        scaled.row(c) = sel.weight[r] * dx_out.row(c);
      }
    }
    const Matrix<Scalar>& h = after ? scaled : dx_out;
    // Applies dL/dz_i = g to x_i (and w_i under `before`).
    auto apply = [&](Index i, const auto& g) {
      if (before) {
        dsel[i] += g.dot(in.x.row(i));
        din.x.row(i).noalias() += sel.weight[i] * g;
      } else {
        din.x.row(i) += g;
      }
    };
    switch (m_options.aggregation) {
      case ClusterAggregation::sum:
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c >= 0) apply(i, h.row(c));
        }
        break;
      case ClusterAggregation::mean: {
        Matrix<Scalar> hm(m, f);
        for (Index c = 0; c < m; ++c)
          hm.row(c) = h.row(c) / static_cast<Scalar>(std::max<Index>(cache.count[static_cast<std::size_t>(c)], 1));
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c >= 0) apply(i, hm.row(c));
        }
        break;
      }
      case ClusterAggregation::max: {
        // Ties: count the members equal to the maximum, then share H_c among them.
        Matrix<Scalar> ties = Matrix<Scalar>::Zero(m, f);
        Matrix<Scalar> zi(1, f);
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c < 0) continue;
          zi = in.x.row(i) * (before ? sel.weight[i] : Scalar(1));
          ties.row(c).array() += (zi.array() == cache.pooled.row(c).array()).template cast<Scalar>();
        }
        Matrix<Scalar> share(m, f);
        share.array() = h.array() / ties.array().max(Scalar(1));
        Matrix<Scalar> g(1, f);
        for (Index i = 0; i < n; ++i) {
          const Index c = sel.assignment[static_cast<std::size_t>(i)];
          if (c < 0) continue;
          zi = in.x.row(i) * (before ? sel.weight[i] : Scalar(1));
          g.array() = (zi.array() == cache.pooled.row(c).array()).select(share.row(c).array(), Scalar(0));
          apply(i, g.row(0));
        }
        break;
      }
      case ClusterAggregation::representative:
        for (Index c = 0; c < m; ++c) apply(sel.representative[static_cast<std::size_t>(c)], h.row(c));
        break;
    }
  }

 private:
  void check(const Batch<Scalar>& in, const Selection& sel) const {
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
