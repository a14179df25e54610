#ifndef GNNPOOL_SELECT_ASAP_HPP
#define GNNPOOL_SELECT_ASAP_HPP

/// \file
/// `ASAPSelect`: ASAP's selection (Ranjan et al., "ASAP: Adaptive Structure Aware Pooling";
/// PyG `ASAPooling`, tgp `ASAPooling`): master-query attention over each node's 1-hop cluster,
/// an LEConv fitness score, and the top-k clusters as a sparse selection.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/sparse_selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/segment_softmax.hpp>
#include <gnnpool/detail/self_loops.hpp>
#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/select/topk.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Hyper-parameters of `ASAPSelect`.
struct ASAPOptions {
  /// ratio or k (min_score is not supported), the fitness nonlinearity (sigmoid: PyG and tgp),
  /// and the node order of the kept clusters (score order by default, as both).
  TopKOptions topk{.nonlinearity = Activation::sigmoid};
  double negative_slope = 0.2;  ///< of the attention's leaky ReLU
  /// The LEConv fitness reads the edge weights (tgp); false counts every edge 1 (PyG, which
  /// calls its LEConv with edge_index only).
  bool fitness_edge_weights = true;
};

/// ASAP selection.
///
/// Forward, on Â = A with a self loop of weight 1 added to every node that has none (stored
/// loops keep their weight: PyG's `add_remaining_self_loops`), entries e = (i, j) for j -> i:
///   m_i     = max_{j -> i} x_j                      (column-wise, over Â's row i)
///   q_i     = lin(m_i)                              (Linear F -> F)
///   r_e     = leaky_relu(<att_q, q_i> + <att_x, x_j> + att_b, slope)   (att: 1 x 2F)
///   alpha_e = softmax over Â's row i of r           (PyG softmax)
///   c_i     = sum_{e in row i} alpha_e x_j          (the cluster of i; A's values not used)
///   phi_i   = sum_{e in row i} w_e (a_j - b_i) + l3_i,   a = lin1(c), b = lin2(c), l3 = lin3(c)
///             (LEConv; w = Â's values, or 1 without fitness_edge_weights)
///   fit     = act(phi) (sigmoid)
/// The top-k clusters of each graph by fitness (PyG topk: ceil(ratio n_g), score order, ties by
/// lower index) become the supernodes: supernode c with centre i has the members j of Â's row i
/// with C = alpha, and scale fit_i, so X' = S^T X gives fit_i c_i (tgp's and PyG's pooled x).
/// representative = the centres, assignment = the centres' supernodes (dropped elsewhere).
/// Backward, from dC and dscale: dfit at the centres; dphi = dfit act'(phi); LEConv: da_j +=
///   w_e dphi_i, db_i -= w_e dphi_i, dl3 = dphi, dw_e += dphi_i (a_j - b_i) (stored entries only;
///   the added loops are constants); dc = Linear backwards; dalpha_e = dC_e (centre rows) +
///   <dc_i, x_j>; dx_j += alpha_e dc_i; softmax and leaky ReLU backwards give dr; dq_i =
///   sum_{e in row i} dr_e att_q, dx_j += dr_e att_x, datt; dm = lin backward; the max passes
///   dm_i to the members equal to it, split evenly among ties (torch's amax).
/// Parameters (tgp's names under prefix): `lin.weight` [F, F], `lin.bias`, `att.weight` [1, 2F],
///   `att.bias` [1, 1], `select_scorer.lin1.weight` [1, F], `select_scorer.lin1.bias`,
///   `select_scorer.lin2.weight` (no bias), `select_scorer.lin3.weight`, `select_scorer.lin3.bias`.
/// Cache: Â and its map to A, m, q, r, alpha, c, [a, b, l3], phi (O(N F + E)), and the backward's
///   workspace (reused by the next call: training steps do not allocate).
/// Cost O((N + E) F) both ways plus the ranking; no N x N matrix.
/// Errors: feature width, options (min_score), non-finite fitness.
template <typename Scalar_>
class ASAPSelect {
 public:
  using Scalar = Scalar_;
  using Selection = SparseSelection<Scalar>;

  struct Cache {
    SparseMatrix<Scalar> looped;            ///< Â
    std::vector<StorageIndex> source;       ///< entry of A behind each entry of Â (-1: added loop)
    Matrix<Scalar> max, query, cluster;     ///< m, q, c (N x F)
    Vector<Scalar> raw, alpha;              ///< r before the leaky ReLU, alpha (nnz(Â))
    Matrix<Scalar> score;                   ///< LEConv terms [a, b, l3] (N x 3)
    Vector<Scalar> phi, fit;                ///< N
    std::vector<StorageIndex> entry;        ///< Â entry of each selection entry
    /// Backward workspace, reused between calls so that repeated training steps do not allocate
    /// (N x F and nnz(Â) buffers: at N = 10⁴ glibc maps and faults them in again at every call):
    /// a Cache serves one forward / backward pair at a time.
    mutable Matrix<Scalar> dcluster, dquery, dmax, dfit, dphi, dscore;
    mutable Vector<Scalar> dalpha, du, dv;
  };

  ASAPSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, ASAPOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    constexpr std::string_view layer = "ASAPSelect";
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, layer, " '", prefix, "': in_features must be >= 1, got ",
                  in_features);
    check_topk_options(m_options.topk, layer);
    GNNPOOL_CHECK(!m_options.topk.min_score, invalid_argument, layer, ": min_score is not supported (use ratio or k)");
    GNNPOOL_CHECK(std::isfinite(m_options.negative_slope), invalid_argument, layer,
                  ": negative_slope must be finite, got ", m_options.negative_slope);
    m_lin.emplace(params, join_name(prefix, "lin"), in_features, in_features);
    m_att.emplace(params, join_name(prefix, "att"), 2 * in_features, 1);
    const std::string scorer = join_name(prefix, "select_scorer");
    m_lin1.emplace(params, join_name(scorer, "lin1"), in_features, 1);
    m_lin2.emplace(params, join_name(scorer, "lin2"), in_features, 1, /*bias=*/false);
    m_lin3.emplace(params, join_name(scorer, "lin3"), in_features, 1);
  }

  Index in_features() const { return m_in; }
  const ASAPOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& out) const {
    for (const auto* l : {&*m_lin, &*m_att, &*m_lin1, &*m_lin2, &*m_lin3}) l->parameter_slots(out);
  }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "ASAPSelect";
    check_features(in, m_in, layer);
    const Index n = in.num_nodes(), f = m_in;
    detail::with_diagonal(in.adj, /*replace_diagonal=*/false, n, Scalar(1), cache.looped, cache.source);
    const SparseMatrix<Scalar>& g = cache.looped;
    const StorageIndex* outer = g.outerIndexPtr();
    const StorageIndex* inner = g.innerIndexPtr();
    const Index nnz = g.nonZeros();
    const auto prefetch_row = [&](StorageIndex e) {
      detail::prefetch_row_ahead(in.x.data(), in.x.outerStride(), f, inner, e, StorageIndex(nnz), ahead);
    };
    // Master query: column-wise max over each cluster, then lin.
    cache.max.resize(n, f);
    for (Index i = 0; i < n; ++i) {
      auto m = cache.max.row(i);
      prefetch_row(outer[i]);
      m = in.x.row(inner[outer[i]]);  // every row of Â has its loop
      for (StorageIndex e = outer[i] + 1; e < outer[i + 1]; ++e) {
        prefetch_row(e);
        m = m.cwiseMax(in.x.row(inner[e]));
      }
    }
    typename Linear<Scalar>::Cache none;
    m_lin->forward(params, cache.max, cache.query, none);
    // Attention: r_e = <att_q, q_i> + <att_x, x_j> + b, leaky ReLU, softmax over each row.
    const Matrix<Scalar>& att = params[m_att->weight_slot()];
    const Vector<Scalar> u = cache.query * att.leftCols(f).transpose();
    const Vector<Scalar> v = in.x * att.rightCols(f).transpose();
    const Scalar bias = params[m_att->bias_slot()](0, 0);
    const auto slope = static_cast<Scalar>(m_options.negative_slope);
    cache.raw.resize(nnz);
    cache.alpha.resize(nnz);
    {
      // Raw pointers: through the vectors' operator[] the compiler must assume that the stores
      // may change u, v and the bias, and reloads them at every entry.
      const Scalar* up = u.data();
      const Scalar* vp = v.data();
      Scalar* raw = cache.raw.data();
      Scalar* act = cache.alpha.data();
      for (Index i = 0; i < n; ++i) {
        const Scalar ui = up[i];
        for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) raw[e] = ui + vp[inner[e]] + bias;
      }
      // The leaky ReLU as a separate pass over contiguous arrays: it vectorises, and the sign of
      // r, random, costs no branch mispredictions.
      for (Index e = 0; e < nnz; ++e) act[e] = (raw[e] > Scalar(0) ? Scalar(1) : slope) * raw[e];
    }
    detail::segment_softmax(cache.alpha.data(), cache.alpha.data(), outer, n,
                            static_cast<Scalar>(pyg_constants::softmax_denominator_eps));
    cache.cluster.setZero(n, f);
    for (Index i = 0; i < n; ++i)
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        prefetch_row(e);
        cache.cluster.row(i).noalias() += cache.alpha[e] * in.x.row(inner[e]);
      }
    // Fitness: LEConv on Â, then the nonlinearity.
    // The three F -> 1 linears as one N x F by F x 3 product (one pass over c).
    Matrix<Scalar> weights(f, 3);
    weights.col(0) = params[m_lin1->weight_slot()].row(0).transpose();
    weights.col(1) = params[m_lin2->weight_slot()].row(0).transpose();
    weights.col(2) = params[m_lin3->weight_slot()].row(0).transpose();
    detail::assign_product(cache.score, cache.cluster, weights);
    cache.score.col(0).array() += params[m_lin1->bias_slot()](0, 0);
    cache.score.col(2).array() += params[m_lin3->bias_slot()](0, 0);
    cache.phi.resize(n);
    const Scalar* w = g.valuePtr();
    const Matrix<Scalar>& sc = cache.score;
    for (Index i = 0; i < n; ++i) {
      Scalar acc = sc(i, 2);
      const Scalar bi = sc(i, 1);
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) acc += edge_weight(w, e) * (sc(inner[e], 0) - bi);
      cache.phi[i] = acc;
      GNNPOOL_CHECK(std::isfinite(acc), invalid_argument, layer, ": the fitness of node ", i,
                    " is not finite (the features, the edge weights or the weights hold a NaN or an infinity)");
    }
    Matrix<Scalar> fit;
    activation_forward<Scalar>(m_options.topk.nonlinearity, Matrix<Scalar>(cache.phi), fit);
    cache.fit = fit.col(0);
    // Top-k clusters, then the sparse selection: the centres' rows of Â.
    HardSelection<Scalar> kept;
    detail::rank_and_select(cache.fit, in.offsets, m_options.topk, kept);
    const Index m = kept.num_supernodes();
    sel.representative = std::move(kept.representative);
    sel.assignment = std::move(kept.assignment);
    sel.offsets = std::move(kept.offsets);
    sel.start.assign(1, 0);
    sel.node.clear();
    cache.entry.clear();
    for (Index c = 0; c < m; ++c) {
      const Index i = sel.representative[static_cast<std::size_t>(c)];
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        sel.node.push_back(inner[e]);
        cache.entry.push_back(e);
      }
      sel.start.push_back(static_cast<StorageIndex>(sel.node.size()));
    }
    const Index entries = sel.num_entries();
    sel.weight.resize(entries + m);
    for (Index k = 0; k < entries; ++k) sel.weight[k] = cache.alpha[cache.entry[static_cast<std::size_t>(k)]];
    for (Index c = 0; c < m; ++c) sel.weight[entries + c] = cache.fit[sel.representative[static_cast<std::size_t>(c)]];
  }

  /// Adds dL/dX into din.x and dL/dA into din.adj (through the LEConv weights); assigns every
  /// parameter's gradient.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = in.num_nodes(), f = m_in;
    GNNPOOL_CHECK(dsel.size() == sel.gradient_size() && cache.phi.size() == n, shape_error,
                  "ASAPSelect: the selection gradient has ", dsel.size(), " entries, the selection ",
                  sel.gradient_size(), " (backward needs the cache of the same forward)");
    const SparseMatrix<Scalar>& g = cache.looped;
    const StorageIndex* outer = g.outerIndexPtr();
    const StorageIndex* inner = g.innerIndexPtr();
    const Scalar* w = g.valuePtr();
    const Index entries = sel.num_entries();
    // From the selection: dalpha at the centres' rows, dfit at the centres.
    Vector<Scalar>& dalpha = cache.dalpha;
    dalpha.setZero(g.nonZeros());
    for (Index k = 0; k < entries; ++k) dalpha[cache.entry[static_cast<std::size_t>(k)]] += dsel[k];
    Matrix<Scalar>& dfit = cache.dfit;
    Matrix<Scalar>& dphi = cache.dphi;
    dfit.setZero(n, 1);
    for (Index c = 0; c < sel.num_supernodes(); ++c)
      dfit(sel.representative[static_cast<std::size_t>(c)], 0) += dsel[entries + c];
    activation_backward<Scalar>(m_options.topk.nonlinearity, Matrix<Scalar>(cache.phi), Matrix<Scalar>(cache.fit), dfit,
                                dphi);
    // LEConv: dscore = [da, db, dphi] (N x 3), then the three linears as one product each way.
    Matrix<Scalar>& dscore = cache.dscore;
    const Matrix<Scalar>& sc = cache.score;
    dscore.resize(n, 3);
    dscore.col(0).setZero();
    dscore.col(1).setZero();
    dscore.col(2) = dphi.col(0);
    for (Index i = 0; i < n; ++i) {
      const Scalar d = dphi(i, 0);
      Scalar dbi = 0;
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        const StorageIndex j = inner[e];
        const Scalar we = edge_weight(w, e);
        dscore(j, 0) += we * d;
        dbi -= we * d;
        const StorageIndex src = cache.source[static_cast<std::size_t>(e)];
        if (m_options.fitness_edge_weights && src >= 0 && din.adj_needed) din.adj[src] += d * (sc(j, 0) - sc(i, 1));
      }
      dscore(i, 1) = dbi;
    }
    Matrix<Scalar> weights(3, f);
    weights.row(0) = params[m_lin1->weight_slot()].row(0);
    weights.row(1) = params[m_lin2->weight_slot()].row(0);
    weights.row(2) = params[m_lin3->weight_slot()].row(0);
    Matrix<Scalar>& dcluster = cache.dcluster;
    detail::assign_product(dcluster, dscore, weights);
    Matrix<Scalar> dweights;
    detail::assign_product_transpose(dweights, dscore, cache.cluster);
    dparams[m_lin1->weight_slot()] = dweights.row(0);
    dparams[m_lin2->weight_slot()] = dweights.row(1);
    dparams[m_lin3->weight_slot()] = dweights.row(2);
    const Matrix<Scalar> dbias = detail::column_sums(dscore);
    dparams[m_lin1->bias_slot()].setConstant(1, 1, dbias(0, 0));
    dparams[m_lin3->bias_slot()].setConstant(1, 1, dbias(0, 2));
    typename Linear<Scalar>::Cache none;
    // Cluster features c_i = sum alpha_e x_j: dalpha_e += <dc_i, x_j> here; dx_j += alpha_e dc_i
    // is added in the last pass, which visits the same entries (one update of each row x_j per
    // entry instead of two).
    const Index nnz = g.nonZeros();
    const std::size_t row_bytes = sizeof(Scalar) * static_cast<std::size_t>(f);
    const auto prefetch_row = [&](StorageIndex e) {
      detail::prefetch_row_ahead(in.x.data(), in.x.outerStride(), f, inner, e, StorageIndex(nnz), ahead);
    };
    for (Index i = 0; i < n; ++i)
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        prefetch_row(e);
        dalpha[e] += dcluster.row(i).dot(in.x.row(inner[e]));
      }
    // Softmax, leaky ReLU, then the attention's two halves.
    detail::segment_softmax_backward(cache.alpha.data(), dalpha.data(), dalpha.data(), outer, n);
    const auto slope = static_cast<Scalar>(m_options.negative_slope);
    Vector<Scalar>& du = cache.du;
    Vector<Scalar>& dv = cache.dv;
    du.setZero(n);
    dv.setZero(n);
    {
      const Scalar* raw = cache.raw.data();
      Scalar* dr = dalpha.data();
      for (Index e = 0; e < nnz; ++e) dr[e] *= raw[e] > Scalar(0) ? Scalar(1) : slope;
      Scalar* dup = du.data();
      Scalar* dvp = dv.data();
      for (Index i = 0; i < n; ++i) {
        Scalar sum = 0;
        for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
          sum += dr[e];
          dvp[inner[e]] += dr[e];
        }
        dup[i] += sum;
      }
    }
    const Matrix<Scalar>& att = params[m_att->weight_slot()];
    Matrix<Scalar>& datt = dparams[m_att->weight_slot()];
    datt.resize(1, 2 * f);
    datt.leftCols(f).noalias() = du.transpose() * cache.query;
    datt.rightCols(f).noalias() = dv.transpose() * in.x;
    dparams[m_att->bias_slot()].setConstant(1, 1, du.sum());
    Matrix<Scalar>& dquery = cache.dquery;
    dquery.noalias() = du * att.leftCols(f);
    Matrix<Scalar>& dmax = cache.dmax;
    m_lin->backward(params, cache.max, none, dquery, &dmax, dparams);
    // Last pass over the entries: dx_j += alpha_e dc_i (the cluster features) + dm_i split among
    // the members tied at the column-wise max; dx_i += dv_i att_x (the attention's x half).
    // Plain loops over the F columns vectorise; the tie count's pass brings the cluster's rows
    // into L1 for the update.
    const Scalar* att_x = att.data() + f;  // att is 1 x 2F
    std::vector<Scalar> ties(static_cast<std::size_t>(f)), share(static_cast<std::size_t>(f));
    Scalar* tie = ties.data();
    Scalar* sh = share.data();
    for (Index i = 0; i < n; ++i) {
      const Scalar* top = cache.max.row(i).data();
      const Scalar* dci = dcluster.row(i).data();
      std::fill(ties.begin(), ties.end(), Scalar(0));
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        prefetch_row(e);
        detail::prefetch_bytes(din.x.row(inner[e]).data(), row_bytes);
        const Scalar* xj = in.x.row(inner[e]).data();
        for (Index c = 0; c < f; ++c) tie[c] += xj[c] == top[c] ? Scalar(1) : Scalar(0);
      }
      // Every column attains its maximum at least once, so ties >= 1.
      for (Index c = 0; c < f; ++c) sh[c] = dmax(i, c) / tie[c];
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        const Scalar* xj = in.x.row(inner[e]).data();
        Scalar* dj = din.x.row(inner[e]).data();
        const Scalar a = cache.alpha[e];
        for (Index c = 0; c < f; ++c) dj[c] += a * dci[c] + (xj[c] == top[c] ? sh[c] : Scalar(0));
      }
      Scalar* di = din.x.row(i).data();
      const Scalar dvi = dv[i];
      for (Index c = 0; c < f; ++c) di[c] += dvi * att_x[c];
    }
  }

 private:
  /// The passes over Â visit the rows x_j in the order of its entries, which the hardware
  /// prefetcher cannot predict: each asks for the row of the entry `ahead` positions on.
  static constexpr StorageIndex ahead = 4;

  Scalar edge_weight(const Scalar* w, StorageIndex e) const { return m_options.fitness_edge_weights ? w[e] : Scalar(1); }

  Index m_in;
  ASAPOptions m_options;
  std::optional<Linear<Scalar>> m_lin, m_att, m_lin1, m_lin2, m_lin3;
};

}  // namespace gnnpool

#endif
