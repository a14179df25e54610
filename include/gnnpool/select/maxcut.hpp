#ifndef GNNPOOL_SELECT_MAXCUT_HPP
#define GNNPOOL_SELECT_MAXCUT_HPP

/// \file
/// `MaxCutSelect`: MaxCutPool's selection (Abate & Bianchi, "MaxCutPool", ICLR 2025; tgp
/// `MaxCutSelect`): a score network on the heterophilic propagation P = I - delta L_sym, top-k of
/// the scores, and every other node assigned to a nearby kept node.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/column_sums.hpp>
#include <gnnpool/detail/hash.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/select/topk.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Hyper-parameters of `MaxCutSelect` (tgp's constructor arguments of the same names).
struct MaxCutOptions {
  double ratio = 0.5;          ///< fraction of each graph's nodes kept, ceil(ratio n_g), in (0, 1]
  std::optional<Index> k{};    ///< or a fixed number of kept nodes per graph
  std::vector<Index> mp_units{32, 32, 32, 32};  ///< GCN widths (tgp MaxCutPooling's default)
  Activation mp_act = Activation::tanh;
  std::vector<Index> mlp_units{16, 16};  ///< Linear widths after the convolutions
  Activation mlp_act = Activation::relu;
  Activation act = Activation::tanh;     ///< of the final score
  double delta = 2.0;                    ///< P = I - delta L_sym
  /// Assign every node to a kept node (tgp's default); false keeps the top-k nodes only.
  bool assign_all_nodes = true;
  Index max_iter = 5;  ///< rounds of majority vote before the random fallback
  /// Fallback for the nodes no kept node reaches in max_iter rounds: explicit (node, kept node)
  /// pairs (tgp's draw, recorded as `debug_random_map`); nodes not listed get a kept node of
  /// their graph drawn from `seed` (a graph's draw depends on the seed and its size only, so a
  /// graph gets the same assignment alone and inside any batch).
  std::vector<std::pair<Index, Index>> random_map{};
  std::uint64_t seed = 0;
  /// tgp takes P's size from `max(edge_index) + 1`: nodes after the last node that has an edge
  /// (trailing isolated nodes of the batch) then miss P's diagonal, so their convolutions see no
  /// self term. true reproduces that; false (gnnpool) gives every node its diagonal 1 - delta.
  bool tgp_trailing_isolated = false;
};

namespace detail {

/// P = I - delta L_sym on the structure of A: PyG `get_laplacian(..., "sym")` followed by tgp's
/// `delta_gcn_matrix`. Self loops of A are ignored; d_u = sum of the weights of the edges
/// leaving u, r_u = d_u^-1/2 (0 for d_u = 0); P_ts = delta w_st r_s r_t for the edge s -> t,
/// P_uu = 1 - delta for the first `diagonal_nodes` nodes (0 for the others).
/// Stored on A's own structure: `values` on A's stored entries (0 on A's self loops, which P
/// replaces) and the diagonal apart, so the propagations read A's index arrays (no copy of the
/// structure with a diagonal entry inserted per row) and add the diagonal term from the row
/// itself; dL/dP comes on A's entries (on the self loops it is not used).
/// Backward (dP on A's entries -> dA): dw_e = dP_e delta r_s r_t + dL/dd_s with
/// dL/dd_u = -1/2 r_u^3 sum over the entries touching u of dP_e delta w_e r_(other end).
template <typename Scalar>
struct DeltaPropagation {
  Vector<Scalar> values;  ///< P's off-diagonal values on A's stored entries (CSR order)
  Vector<Scalar> diag;    ///< P's diagonal
  Vector<Scalar> r;       ///< d^-1/2 (0 where d = 0)

  void build(const SparseMatrix<Scalar>& a, Scalar delta, Index diagonal_nodes, std::string_view layer) {
    const Index n = a.rows();
    const StorageIndex* outer = a.outerIndexPtr();
    const StorageIndex* inner = a.innerIndexPtr();
    const Scalar* val = a.valuePtr();
    // d_u: the column sums of A without its self loops (`scatter_columns`: fixed chunks, the same
    // sums for any number of threads).
    Vector<Scalar> degree = Vector<Scalar>::Zero(n);
    scatter_columns(a, [&](Index t, StorageIndex e) { return inner[e] != t ? val[e] : Scalar(0); }, degree.data());
    r.resize(n);
    for (Index u = 0; u < n; ++u) {
      GNNPOOL_CHECK(degree[u] >= Scalar(0), invalid_argument, layer, ": node ", u, " has the weighted degree ",
                    degree[u], "; the normalised Laplacian needs degrees >= 0");
      r[u] = degree[u] > Scalar(0) ? Scalar(1) / std::sqrt(degree[u]) : Scalar(0);
    }
    values.resize(a.nonZeros());
    parallel_rows(n, [&](Index lo, Index hi) {
      for (Index t = lo; t < hi; ++t)
        for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e)
          values[e] = inner[e] != t ? delta * val[e] * r[inner[e]] * r[t] : Scalar(0);
    });
    diag.resize(n);
    for (Index u = 0; u < n; ++u) diag[u] = u < diagonal_nodes ? Scalar(1) - delta : Scalar(0);
  }

  /// Adds dL/dA (A's entries) into dadj from dL/dP (dp, on A's entries).
  void backward(const SparseMatrix<Scalar>& a, Scalar delta, const Vector<Scalar>& dp, Vector<Scalar>& dadj) const {
    const Index n = a.rows();
    const StorageIndex* outer = a.outerIndexPtr();
    const StorageIndex* inner = a.innerIndexPtr();
    const Scalar* val = a.valuePtr();
    Vector<Scalar> dr = Vector<Scalar>::Zero(n);
    for (Index t = 0; t < n; ++t)
      for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) {
        const StorageIndex s = inner[e];
        if (s == t) continue;
        const Scalar g = dp[e] * delta;
        dadj[e] += g * r[s] * r[t];
        dr[s] += g * val[e] * r[t];
        dr[t] += g * val[e] * r[s];
      }
    // dL/dd_u = dL/dr_u * (-1/2) r_u^3, then to every entry leaving u (self loops excluded).
    for (Index u = 0; u < n; ++u) dr[u] *= Scalar(-0.5) * r[u] * r[u] * r[u];
    for (Index t = 0; t < n; ++t)
      for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e)
        if (inner[e] != t) dadj[e] += dr[inner[e]];
  }
};

}  // namespace detail

/// MaxCut selection.
///
/// Forward (tgp `MaxCutSelect`, per batch):
///   P = I - delta L_sym (see `detail::DeltaPropagation`);
///   H = initial(X) (Linear F -> F);  H = mp_act(P H W_l^T + b_l) for each GCNConv l
///   (normalize = False: P as given);  H = mlp_act(Linear_j(H)) for each MLP layer;
///   z = act(final(H)) (Linear -> 1): the node scores, in [-1, 1] with tanh.
///   Kept nodes: the top ceil(ratio n_g) (or k) scores of each graph (ties: lower index),
///   numbered by ascending node index: supernode c of graph b is its c-th kept node.
///   assign_all_nodes: up to max_iter synchronous rounds in which every unassigned node takes
///   the supernode most of its assigned in-neighbours have (a count of edges, weights ignored;
///   ties: the lower supernode); then every node still unassigned takes the kept node
///   `random_map` names, or one drawn from `seed`. Otherwise the other nodes are dropped.
///   weight[i] = z_i for EVERY node (tgp: s_weight = scores): the reduce multiplies x_i by it
///   and the MaxCut loss reads it.
/// Backward: the assignment is piecewise constant; dL/dz (from reduce, loss and the caller) runs
///   back through act, the Linear layers, the convolutions (dL/dH, dL/dW, dL/db, and dL/dP on
///   P's entries) and the initial layer (dL/dX); dL/dP reaches dL/dA through L_sym's degree
///   normalisation.
/// First block fused: no activation lies between the initial layer (W0, b0) and the first
///   convolution (W1, b1), so (X W0^T + 1 b0^T) W1^T = X Wc^T + 1 u^T with Wc = W1 W0 (m1 x F)
///   and u = W1 b0: forward T = X Wc^T + 1 u^T, pre_1 = P T + 1 b1^T, and H0 = initial(X) is
///   never formed. Backward from G = dL/dpre_1: Y = P^T G, M = Y^T X (m1 x F), s = Y^T 1;
///   dW1 = M W0^T + s b0^T, db1 = G^T 1, dW0 = W1^T M, db0 = W1^T s, dX = Y Wc, dP_ij =
///   <G_i, T_j>. That is the same function and the same gradients as the two layers apart, with
///   N F m1 multiply-adds where they take N F (F + m1) forward, and 2 N F m1 where they take
///   2 N F (F + m1) backward (at tgp's F = 64, m1 = 32: 41 % of the score network's flops).
/// Parameters (tgp's names under `<prefix>.selector.score_net`): `initial_layer.{weight,bias}`,
///   `mp_convs.<l>.lin.weight` and `mp_convs.<l>.bias`, `mlp.<j>.{weight,bias}`,
///   `final_layer.{weight,bias}`.
/// Cache: P (its values on A's entries and its diagonal), every layer's cache and its values
///   before and after the activation (N x width each), and the backward's workspace (reused:
///   repeated steps do not allocate).
/// Cost: O(N F sum of widths + E sum of widths) both ways; the assignment O(max_iter (N + E log d)),
///   the top-k O(N log N).
/// Errors: options out of range (constructor), feature width, negative degrees, non-finite
///   scores, a `random_map` pair outside the node's graph or pointing at a node not kept.
template <typename Scalar_>
class MaxCutSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    detail::DeltaPropagation<Scalar> prop;
    Matrix<Scalar> h0;                           ///< initial(X), without convolutions only
    Matrix<Scalar> wc, u, t;                     ///< fused first block: W1 W0, W1 b0, X Wc^T + 1 u^T
    std::vector<Matrix<Scalar>> pre, post;       ///< per conv / MLP layer: before and after the activation
    std::vector<typename GCNConv<Scalar>::Cache> conv;
    Matrix<Scalar> raw;                          ///< final(H), N x 1
    /// Backward workspace (N x width each), reused by the next call: training steps do not
    /// allocate (fresh N x width matrices cost page faults at every step).
    mutable Matrix<Scalar> dz, dh, dpre, dbelow, dx, m;
    mutable Vector<Scalar> dp, dp_layer;
  };

  MaxCutSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, MaxCutOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    constexpr std::string_view layer = "MaxCutSelect";
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, layer, " '", prefix, "': in_features must be >= 1, got ",
                  in_features);
    if (m_options.k) GNNPOOL_CHECK(*m_options.k >= 1, invalid_argument, layer, ": k must be >= 1, got ", *m_options.k);
    else
      GNNPOOL_CHECK(m_options.ratio > 0 && m_options.ratio <= 1, invalid_argument, layer,
                    ": ratio must lie in (0, 1], got ", m_options.ratio);
    GNNPOOL_CHECK(std::isfinite(m_options.delta), invalid_argument, layer, ": delta must be finite, got ",
                  m_options.delta);
    GNNPOOL_CHECK(m_options.max_iter >= 0, invalid_argument, layer, ": max_iter must be >= 0, got ",
                  m_options.max_iter);
    const std::string net = join_name(prefix, "selector.score_net");
    m_initial.emplace(params, join_name(net, "initial_layer"), in_features, in_features);
    Index width = in_features;
    for (std::size_t l = 0; l < m_options.mp_units.size(); ++l) {
      m_convs.emplace_back(params, join_name(net, "mp_convs." + std::to_string(l)), width, m_options.mp_units[l],
                           GCNConvOptions{.add_self_loops = false, .normalize = false, .bias = true});
      width = m_options.mp_units[l];
    }
    for (std::size_t j = 0; j < m_options.mlp_units.size(); ++j) {
      m_mlp.emplace_back(params, join_name(net, "mlp." + std::to_string(j)), width, m_options.mlp_units[j]);
      width = m_options.mlp_units[j];
    }
    m_final.emplace(params, join_name(net, "final_layer"), width, 1);
  }

  Index in_features() const { return m_in; }
  const MaxCutOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& out) const {
    m_initial->parameter_slots(out);
    for (const auto& c : m_convs) c.parameter_slots(out);
    for (const auto& l : m_mlp) l.parameter_slots(out);
    m_final->parameter_slots(out);
  }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "MaxCutSelect";
    check_features(in, m_in, layer);
    const Index n = in.num_nodes();
    cache.prop.build(in.adj, static_cast<Scalar>(m_options.delta), propagation_nodes(in), layer);
    const std::size_t layers = m_convs.size() + m_mlp.size();
    cache.pre.resize(layers);
    cache.post.resize(layers);
    cache.conv.resize(m_convs.size());
    typename Linear<Scalar>::Cache none;
    const Matrix<Scalar>* h = &cache.h0;
    if (m_convs.empty()) m_initial->forward(params, in.x, cache.h0, none);
    else
      forward_first_block(params, in, cache);
    for (std::size_t l = 0; l < layers; ++l) {
      if (l == 0 && !m_convs.empty()) {
        activation_forward<Scalar>(m_options.mp_act, cache.pre[0], cache.post[0]);  // pre_1 from the fused block
      } else if (l < m_convs.size()) {
        m_convs[l].forward_operator(params, in.adj, cache.prop.values, &cache.prop.diag, *h, cache.pre[l],
                                    cache.conv[l]);
        activation_forward<Scalar>(m_options.mp_act, cache.pre[l], cache.post[l]);
      } else {
        m_mlp[l - m_convs.size()].forward(params, *h, cache.pre[l], none);
        activation_forward<Scalar>(m_options.mlp_act, cache.pre[l], cache.post[l]);
      }
      h = &cache.post[l];
    }
    m_final->forward(params, *h, cache.raw, none);
    Matrix<Scalar> z;
    activation_forward<Scalar>(m_options.act, cache.raw, z);
    Vector<Scalar> score = z.col(0);
    for (Index i = 0; i < n; ++i)
      GNNPOOL_CHECK(std::isfinite(score[i]), invalid_argument, layer, ": the score of node ", i,
                    " is not finite (its features or the weights hold a NaN or an infinity)");
    TopKOptions topk;
    topk.ratio = m_options.ratio;
    topk.k = m_options.k;
    topk.order = NodeOrder::node_index;
    if (!topk.k && m_options.ratio >= 1) topk.k = n;  // keep all (ratio 1)
    detail::rank_and_select(score, in.offsets, topk, sel);
    if (m_options.assign_all_nodes) assign_all(in, sel);
  }

  /// Adds dL/dX into din.x and (when din.adj_needed) dL/dA into din.adj; assigns every parameter
  /// of the score network.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = in.num_nodes();
    GNNPOOL_CHECK(dsel.size() == n && cache.raw.rows() == n && sel.weight.size() == n, shape_error,
                  "MaxCutSelect: the selection gradient has ", dsel.size(), " entries and the cache ", cache.raw.rows(),
                  " rows for a batch of ", n, " nodes (backward needs the cache of the same forward)");
    typename Linear<Scalar>::Cache none;
    Matrix<Scalar>& dz = cache.dz;
    Matrix<Scalar>& dh = cache.dh;
    Matrix<Scalar>& dpre = cache.dpre;
    Matrix<Scalar>& dbelow = cache.dbelow;
    Matrix<Scalar>& dx = cache.dx;
    Vector<Scalar>& dp = cache.dp;
    Vector<Scalar>& dp_layer = cache.dp_layer;
    const Matrix<Scalar> z = sel.weight;
    activation_backward<Scalar>(m_options.act, cache.raw, z, Matrix<Scalar>(dsel), dz);
    const std::size_t layers = m_convs.size() + m_mlp.size();
    const Matrix<Scalar>& top = layers == 0 ? cache.h0 : cache.post[layers - 1];
    m_final->backward(params, top, none, dz, &dh, dparams);
    if (din.adj_needed) dp.setZero(in.adj.nonZeros());
    // With convolutions the loop stops above the fused first block (layer 0).
    const std::size_t first = m_convs.empty() ? 0 : 1;
    for (std::size_t l = layers; l-- > first;) {
      const Matrix<Scalar>& below = l == 0 ? cache.h0 : cache.post[l - 1];
      if (l < m_convs.size()) {
        activation_backward<Scalar>(m_options.mp_act, cache.pre[l], cache.post[l], dh, dpre);
        m_convs[l].backward_operator(params, in.adj, cache.prop.values, &cache.prop.diag, below,
                                     cache.conv[l], dpre,
                                     BatchGradRef<Scalar>{&dbelow, din.adj_needed ? &dp_layer : nullptr}, dparams);
        if (din.adj_needed) dp += dp_layer;
      } else {
        activation_backward<Scalar>(m_options.mlp_act, cache.pre[l], cache.post[l], dh, dpre);
        m_mlp[l - m_convs.size()].backward(params, below, none, dpre, &dbelow, dparams);
      }
      dh.swap(dbelow);
    }
    if (m_convs.empty()) {
      m_initial->backward(params, in.x, none, dh, &dx, dparams);
      detail::add_rows(din.x, dx);
    } else {
      activation_backward<Scalar>(m_options.mp_act, cache.pre[0], cache.post[0], dh, dpre);
      backward_first_block(params, in, cache, din, dparams);
    }
    if (!m_convs.empty() && din.adj_needed)
      cache.prop.backward(in.adj, static_cast<Scalar>(m_options.delta), dp, din.adj);
  }

 private:
  /// The fused first block's forward (class comment): T = X Wc^T + 1 u^T, pre_1 = P T + 1 b1^T.
  void forward_first_block(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Cache& cache) const {
    const GCNConv<Scalar>& conv = m_convs.front();
    const Matrix<Scalar>& w1 = params[conv.weight_slot()];
    cache.wc.noalias() = w1 * params[m_initial->weight_slot()];
    if (m_initial->has_bias()) cache.u.noalias() = w1 * params[m_initial->bias_slot()].transpose();
    else
      cache.u.setZero(w1.rows(), 1);
    cache.t.resize(in.num_nodes(), w1.rows());
    detail::affine_rows(in.x, cache.wc.transpose(), cache.u.data(), cache.t);
    detail::propagate<Scalar>(in.adj, cache.prop.values.data(), cache.prop.diag.data(), cache.t, cache.pre[0],
                              conv.has_bias() ? params[conv.bias_slot()].data() : nullptr);
  }

  /// The fused first block's backward (class comment) from G = cache.dpre: assigns the slots of
  /// the initial layer and the first convolution, adds dL/dX = Y Wc into din.x (the product
  /// adds into it: no N x F temporary) and (adj_needed) dL/dP into cache.dp.
  void backward_first_block(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                            BatchGrad<Scalar>& din, ParameterSet<Scalar>& dparams) const {
    const GCNConv<Scalar>& conv = m_convs.front();
    const Matrix<Scalar>& g = cache.dpre;
    GNNPOOL_CHECK(cache.t.rows() == in.num_nodes() && cache.t.cols() == conv.out_features() &&
                      cache.wc.rows() == conv.out_features() && cache.wc.cols() == m_in &&
                      cache.prop.values.size() == in.adj.nonZeros() && cache.prop.diag.size() == in.num_nodes(),
                  invalid_argument, "MaxCutSelect backward: the cache does not come from a forward on this batch");
    const Scalar* pv = cache.prop.values.data();
    Matrix<Scalar>& y = cache.dbelow;
    detail::propagate_transpose<Scalar>(in.adj, pv, cache.prop.diag.data(), g, y);  // Y = P^T G
    detail::assign_product_transpose(cache.m, y, in.x);                     // M = Y^T X
    const Matrix<Scalar> s = detail::column_sums(y);                        // 1 x m1
    const Matrix<Scalar>& w0 = params[m_initial->weight_slot()];
    const Matrix<Scalar>& w1 = params[conv.weight_slot()];
    Matrix<Scalar>& dw1 = dparams[conv.weight_slot()];
    dw1.noalias() = cache.m * w0.transpose();
    if (m_initial->has_bias()) dw1.noalias() += s.transpose() * params[m_initial->bias_slot()];
    if (conv.has_bias()) dparams[conv.bias_slot()] = detail::column_sums(g);
    dparams[m_initial->weight_slot()].noalias() = w1.transpose() * cache.m;
    if (m_initial->has_bias()) dparams[m_initial->bias_slot()].noalias() = s * w1;
    GNNPOOL_CHECK(din.x.rows() == in.num_nodes() && din.x.cols() == m_in, shape_error,
                  "MaxCutSelect backward: the gradient of x is ", detail::shape(din.x.rows(), din.x.cols()),
                  ", expected ", detail::shape(in.num_nodes(), m_in));
    detail::product_rows(y, cache.wc, din.x, /*add=*/true);  // dX += Y Wc
    if (din.adj_needed) {
      detail::edge_dots<Scalar>(in.adj, g, cache.t, cache.dp_layer);
      cache.dp += cache.dp_layer;
    }
  }

  /// Nodes that get P's diagonal: all, or (tgp) up to the last node that has a stored entry.
  Index propagation_nodes(const BatchRef<Scalar>& in) const {
    if (!m_options.tgp_trailing_isolated) return in.num_nodes();
    Index last = -1;
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    for (Index t = 0; t < in.num_nodes(); ++t)
      if (outer[t + 1] > outer[t]) last = std::max<Index>({last, t, static_cast<Index>(inner[outer[t + 1] - 1])});
    return last + 1;
  }

  /// Majority-vote rounds, then the fallback (see the class comment). O(max_iter (N + E log d)).
  /// A round is synchronous (every node reads the assignment of the round before), so its nodes
  /// run in parallel over fixed chunks; a node collects its assigned in-neighbours' supernodes,
  /// sorts them (a few entries) and takes the longest run, the first (lowest) one on a tie: no
  /// per-supernode counter array, which each chunk would need its own of.
  void assign_all(const BatchRef<Scalar>& in, Selection& sel) const {
    constexpr std::string_view layer = "MaxCutSelect";
    const Index n = in.num_nodes();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    IndexVector& a = sel.assignment;
    IndexVector next(a.size());
    Index unassigned = 0;
    for (const Index c : a) unassigned += c < 0 ? 1 : 0;
    for (Index round = 0; round < m_options.max_iter && unassigned > 0; ++round) {
      unassigned -= detail::parallel_sum<Index>(n, [&](Index lo, Index hi) {
        std::vector<Index> votes;
        Index assigned = 0;
        for (Index t = lo; t < hi; ++t) {
          const Index own = a[static_cast<std::size_t>(t)];
          next[static_cast<std::size_t>(t)] = own;
          if (own >= 0) continue;
          votes.clear();
          for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) {
            const Index c = a[static_cast<std::size_t>(inner[e])];
            if (c >= 0) votes.push_back(c);
          }
          if (votes.empty()) continue;
          std::sort(votes.begin(), votes.end());
          Index best = votes[0];
          std::size_t most = 0;
          for (std::size_t k = 0; k < votes.size();) {
            std::size_t run = k + 1;
            while (run < votes.size() && votes[run] == votes[k]) ++run;
            if (run - k > most) {
              most = run - k;
              best = votes[k];
            }
            k = run;
          }
          next[static_cast<std::size_t>(t)] = best;
          ++assigned;
        }
        return assigned;
      });
      a.swap(next);
    }
    if (unassigned == 0) return;
    for (const auto& [node, kept] : m_options.random_map) {
      check_node_index(node, n, layer, "random_map node");
      check_node_index(kept, n, layer, "random_map kept node");
      const Index c = a[static_cast<std::size_t>(kept)];
      GNNPOOL_CHECK(c >= 0 && sel.representative[static_cast<std::size_t>(c)] == kept, invalid_argument, layer,
                    ": random_map sends node ", node, " to node ", kept, ", which is not a kept node");
      const Index g = graph_of(in.offsets, node);
      GNNPOOL_CHECK(g == graph_of(in.offsets, kept), invalid_argument, layer, ": random_map sends node ", node,
                    " to the kept node ", kept, " of another graph");
      if (a[static_cast<std::size_t>(node)] < 0) a[static_cast<std::size_t>(node)] = c;
    }
    for (Index b = 0; b + 1 < static_cast<Index>(in.offsets.size()); ++b) {
      const Index lo = sel.offsets[static_cast<std::size_t>(b)], hi = sel.offsets[static_cast<std::size_t>(b + 1)];
      std::mt19937_64 rng(m_options.seed ^ detail::mix64(static_cast<std::uint64_t>(in.graph_size(b))));
      for (Index i = in.offsets[static_cast<std::size_t>(b)]; i < in.offsets[static_cast<std::size_t>(b + 1)]; ++i)
        if (a[static_cast<std::size_t>(i)] < 0)
          a[static_cast<std::size_t>(i)] =
              lo + static_cast<Index>(detail::uniform_below(rng, static_cast<std::uint64_t>(hi - lo)));
    }
  }

  static Index graph_of(const IndexVector& offsets, Index node) {
    return static_cast<Index>(std::upper_bound(offsets.begin(), offsets.end(), node) - offsets.begin()) - 1;
  }

  Index m_in;
  MaxCutOptions m_options;
  std::optional<Linear<Scalar>> m_initial, m_final;
  std::vector<GCNConv<Scalar>> m_convs;
  std::vector<Linear<Scalar>> m_mlp;
};

}  // namespace gnnpool

#endif
