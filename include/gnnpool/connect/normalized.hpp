#ifndef GNNPOOL_CONNECT_NORMALIZED_HPP
#define GNNPOOL_CONNECT_NORMALIZED_HPP

/// \file
/// `NormalizedConnect<Inner>`: tgp's post-processing of a pooled adjacency (small-weight
/// filter, symmetric degree normalisation, per-graph max normalisation) around any connect
/// policy, with its backward.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/pool/pool.hpp>

#include <cmath>
#include <vector>

namespace gnnpool {

/// What `NormalizedConnect` does to the inner connect's output, in tgp's order
/// (`postprocess_adj_pool_sparse`).
struct NormalizedConnectOptions {
  /// 0. Diagonal entries (self loops of the supernodes) are removed (tgp's `remove_self_loops`,
  ///    for inner connects that keep them, e.g. an induced subgraph).
  bool remove_self_loops = false;
  /// 1. Entries with |w| <= drop_below are removed (tgp: 1e-8; a negative value keeps all).
  double drop_below = tgp_connect_constants::drop_below;
  /// 2. w_e <- w_e d_s^-1/2 d_t^-1/2 for the entry e of the edge s -> t, d_u = max(sum of the
  ///    weights of the edges leaving u, 1e-8) (tgp's `degree_norm`; SEP's default).
  bool degree_norm = false;
  /// 3. w_e <- w_e / max_{f in the same pooled graph} |w_f| (tgp's `edge_weight_norm`; MaxCut's
  ///    default). A pooled graph whose largest |w| is 0 is left as it is.
  bool max_norm = false;
};

/// Wraps a connect policy and post-processes its output as tgp's `SparseConnect` does.
///
/// Forward (entry e = (t, s) of the inner output A^0, the edge s -> t, in graph b):
///   keep e iff |A^0_e| > drop_below (and s != t with remove_self_loops);
///   degree_norm:  v_e = A^0_e r_s r_t,  r_u = max(d_u, 1e-8)^-1/2,  d_u = sum_{f leaves u} A^0_f;
///   max_norm:     out_e = v_e / m_b,  m_b = max_{f in b} |v_f|.
/// Backward, with g = dL/d(out):
///   max_norm:     dv_e = g_e / m_b, and dL/dm_b = -sum_{f in b} g_f v_f / m_b^2 goes to the
///                 entry e* that attains the maximum, times sign(v_{e*}). Ties (always present on
///                 a symmetric graph: v_st = v_ts) go to the FIRST maximal entry in (source,
///                 target) order, the entry torch_scatter's scatter_max picks, so gradients
///                 match tgp entry by entry (only the sum over tied entries is tie-rule free).
///   degree_norm:  dA^0_e = dv_e r_s r_t + dL/dd_s,  dL/dd_u = -1/2 d_u^-3/2 (sum_{e leaves u}
///                 dv_e A^0_e r_t + sum_{e enters u} dv_e A^0_e r_s) where d_u > 1e-8 (0 where
///                 the clamp is active);
///   then the inner connect's backward on dA^0 (0 on the dropped entries).
/// Shapes: as the inner connect. Cache: the inner cache, A^0, the kept positions (E'), r (M) and
/// the per-graph maxima with their entries. Cost: the inner connect plus O(M + E').
template <typename Inner>
class NormalizedConnect {
 public:
  using Scalar = typename Inner::Scalar;
  static constexpr bool reads_selection_values = detail::connect_reads_selection_values<Inner>();

  struct Cache {
    typename Inner::Cache inner;
    SparseMatrix<Scalar> raw;           ///< the inner connect's output A^0
    std::vector<StorageIndex> kept;     ///< position in A^0 of each output entry
    Vector<Scalar> degree_values;       ///< v (after degree_norm, before max_norm)
    Vector<Scalar> inv_sqrt_degree;     ///< r (degree_norm)
    std::vector<unsigned char> clamped; ///< d_u <= 1e-8 (degree_norm)
    Vector<Scalar> graph_max;           ///< m_b (max_norm)
    std::vector<StorageIndex> argmax;   ///< output entry attaining m_b, -1 for none
  };

  explicit NormalizedConnect(Inner inner = {}, NormalizedConnectOptions options = {})
      : m_inner(std::move(inner)), m_options(options) {}

  const Inner& inner() const { return m_inner; }
  const NormalizedConnectOptions& options() const { return m_options; }

  template <typename Selection>
  void forward(const BatchRef<Scalar>& in, const Selection& sel, SparseMatrix<Scalar>& adj_out, Cache& cache) const {
    m_inner.forward(in, sel, cache.raw, cache.inner);
    const SparseMatrix<Scalar>& raw = cache.raw;
    const Index m = raw.rows();
    const StorageIndex* outer = raw.outerIndexPtr();
    const StorageIndex* inner = raw.innerIndexPtr();
    const Scalar* val = raw.valuePtr();
    const Scalar drop = static_cast<Scalar>(m_options.drop_below);
    cache.kept.clear();
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(raw.nonZeros());
    StorageIndex* out_outer = adj_out.outerIndexPtr();
    StorageIndex* out_inner = adj_out.innerIndexPtr();
    Scalar* out_val = adj_out.valuePtr();
    StorageIndex nnz = 0;
    out_outer[0] = 0;
    for (Index t = 0; t < m; ++t) {
      for (StorageIndex p = outer[t]; p < outer[t + 1]; ++p) {
        if (!(std::abs(val[p]) > drop) || (m_options.remove_self_loops && inner[p] == t)) continue;
        cache.kept.push_back(p);
        out_inner[nnz] = inner[p];
        out_val[nnz] = val[p];
        ++nnz;
      }
      out_outer[t + 1] = nnz;
    }
    adj_out.data().resize(nnz);
    if (m_options.degree_norm) {
      Vector<Scalar> degree = Vector<Scalar>::Zero(m);
      for (StorageIndex e = 0; e < nnz; ++e) degree[out_inner[e]] += out_val[e];  // edges leaving the column node
      cache.inv_sqrt_degree.resize(m);
      cache.clamped.assign(static_cast<std::size_t>(m), 0);
      const auto floor = static_cast<Scalar>(tgp_connect_constants::degree_floor);
      for (Index u = 0; u < m; ++u) {
        // tgp clamps before the power: a node whose weights sum to <= 1e-8 uses 1e-8.
        const bool clamp = !(degree[u] > floor);
        cache.clamped[static_cast<std::size_t>(u)] = clamp ? 1 : 0;
        cache.inv_sqrt_degree[u] = Scalar(1) / std::sqrt(clamp ? floor : degree[u]);
      }
      const Scalar* r = cache.inv_sqrt_degree.data();
      for (Index t = 0; t < m; ++t)
        for (StorageIndex e = out_outer[t]; e < out_outer[t + 1]; ++e) out_val[e] *= r[out_inner[e]] * r[t];
    }
    if (m_options.max_norm) {
      cache.degree_values = Eigen::Map<const Vector<Scalar>>(out_val, nnz);
      const IndexVector& offsets = sel.offsets;
      const std::size_t graphs = offsets.size() - 1;
      cache.graph_max.setZero(static_cast<Index>(graphs));
      cache.argmax.assign(graphs, -1);
      for (std::size_t b = 0; b < graphs; ++b) {
        // First maximal entry in (source, target) order: scan sources in ascending order would
        // need the transpose; instead keep the best (|v|, source, target) seen.
        Scalar best = 0;
        StorageIndex best_e = -1, best_s = 0, best_t = 0;
        for (Index t = offsets[b]; t < offsets[b + 1]; ++t)
          for (StorageIndex e = out_outer[t]; e < out_outer[t + 1]; ++e) {
            const Scalar a = std::abs(out_val[e]);
            const StorageIndex s = out_inner[e];
            if (best_e < 0 || a > best || (a == best && (s < best_s || (s == best_s && t < best_t)))) {
              best = a;
              best_e = e;
              best_s = s;
              best_t = static_cast<StorageIndex>(t);
            }
          }
        cache.graph_max[static_cast<Index>(b)] = best;
        cache.argmax[b] = best_e;
        if (best_e < 0 || best == Scalar(0)) continue;
        for (StorageIndex e = out_outer[offsets[b]]; e < out_outer[offsets[b + 1]]; ++e) out_val[e] /= best;
      }
    }
  }

  template <typename Selection>
  void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache, const Vector<Scalar>& dadj_out,
                BatchGrad<Scalar>& din, typename Selection::Gradient& dsel) const {
    const Index nnz = static_cast<Index>(cache.kept.size());
    GNNPOOL_CHECK(dadj_out.size() == nnz, shape_error, "NormalizedConnect: dadj_out has ", dadj_out.size(),
                  " entries but the pooled adjacency stores ", nnz);
    const SparseMatrix<Scalar>& raw = cache.raw;
    const Index m = raw.rows();
    // Rebuild the output's column indices and row of each entry from the kept positions.
    std::vector<StorageIndex> row(static_cast<std::size_t>(nnz)), col(static_cast<std::size_t>(nnz));
    {
      Index t = 0;
      for (Index e = 0; e < nnz; ++e) {
        const StorageIndex p = cache.kept[static_cast<std::size_t>(e)];
        while (raw.outerIndexPtr()[t + 1] <= p) ++t;
        row[static_cast<std::size_t>(e)] = static_cast<StorageIndex>(t);
        col[static_cast<std::size_t>(e)] = raw.innerIndexPtr()[p];
      }
    }
    Vector<Scalar> dv = dadj_out;
    if (m_options.max_norm) {
      const IndexVector& offsets = sel.offsets;
      const Scalar* v = cache.degree_values.data();
      std::size_t b = 0;
      Vector<Scalar> dmax = Vector<Scalar>::Zero(cache.graph_max.size());
      for (Index e = 0; e < nnz; ++e) {
        while (offsets[b + 1] <= row[static_cast<std::size_t>(e)]) ++b;
        const Scalar mb = cache.graph_max[static_cast<Index>(b)];
        if (mb == Scalar(0)) continue;
        dmax[static_cast<Index>(b)] -= dadj_out[e] * v[e] / (mb * mb);
        dv[e] = dadj_out[e] / mb;
      }
      for (Index g = 0; g < dmax.size(); ++g) {
        const StorageIndex e = cache.argmax[static_cast<std::size_t>(g)];
        if (e < 0 || cache.graph_max[g] == Scalar(0)) continue;
        dv[e] += v[e] >= Scalar(0) ? dmax[g] : -dmax[g];
      }
    }
    Vector<Scalar> draw = Vector<Scalar>::Zero(raw.nonZeros());
    if (m_options.degree_norm) {
      const Scalar* r = cache.inv_sqrt_degree.data();
      const Scalar* a0 = raw.valuePtr();
      Vector<Scalar> ddeg = Vector<Scalar>::Zero(m);
      for (Index e = 0; e < nnz; ++e) {
        const StorageIndex p = cache.kept[static_cast<std::size_t>(e)];
        const StorageIndex s = col[static_cast<std::size_t>(e)], t = row[static_cast<std::size_t>(e)];
        draw[p] = dv[e] * r[s] * r[t];
        // d(r_u)/d(d_u) = -1/2 r_u^3, through both ends of the entry.
        const Scalar ga = dv[e] * a0[p];
        ddeg[s] += ga * r[t];
        ddeg[t] += ga * r[s];
      }
      for (Index u = 0; u < m; ++u)
        ddeg[u] = cache.clamped[static_cast<std::size_t>(u)] ? Scalar(0) : Scalar(-0.5) * r[u] * r[u] * r[u] * ddeg[u];
      for (Index e = 0; e < nnz; ++e)
        draw[cache.kept[static_cast<std::size_t>(e)]] += ddeg[col[static_cast<std::size_t>(e)]];
    } else {
      for (Index e = 0; e < nnz; ++e) draw[cache.kept[static_cast<std::size_t>(e)]] = dv[e];
    }
    m_inner.backward(in, sel, cache.inner, draw, din, dsel);
  }

 private:
  Inner m_inner;
  NormalizedConnectOptions m_options;
};

}  // namespace gnnpool

#endif
