#ifndef GNNPOOL_SELECT_SAG_HPP
#define GNNPOOL_SELECT_SAG_HPP

/// \file
/// `SAGSelect`: self-attention graph pooling's selection (Lee et al., SAGPool; PyG
/// `SAGPooling`): top-k on a score computed by a one-channel graph convolution.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/select/topk.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

namespace gnnpool {

/// The graph convolution that computes SAG's attention score.
enum class SAGScorer {
  graph_conv,  ///< PyG's default: GraphConv, W_rel sum_j w_ji x_j + b + W_root x_i
  gcn,         ///< the SAGPool paper, Spektral and the SRC repository: GCNConv, Â X W (+ b)
};

/// Hyper-parameters of `SAGSelect`.
struct SAGOptions {
  /// ratio / k / min_score, score nonlinearity, multiplier and node order, as for TopK.
  TopKOptions topk{};
  SAGScorer scorer = SAGScorer::graph_conv;
  /// Bias of the scoring convolution (PyG: true; Spektral / SRC GCN: false).
  bool scorer_bias = true;
  /// PyG: the convolution's output g goes through `SelectTopK(1)`, whose learned 1 x 1 weight w
  /// enters as act(g w / |w|) = act(sign(w) g) (and as softmax(g w) with min_score). false:
  /// act(g) (softmax(g)) with no such weight (tgp, Spektral, the paper).
  bool select_weight = true;
  /// true: the scorer reads the adjacency's values as edge weights (and dL/dA flows back
  /// through it). false: every stored edge counts 1, as PyG's SAGPooling, which calls its GNN
  /// with edge_index only. Identical on unweighted graphs.
  bool edge_weights = true;
};

/// Top-k selection on a graph-convolution score.
///
/// Forward:  g = GNN(X, A)  (N x 1: GraphConv or GCNConv with one output channel),
///           then the TopK score head on g with the 1 x 1 weight w (see `detail::ScoreHead`):
///           s = act(g w / |w|)  (ratio / k)  or  s = softmax_graph(g w)  (min_score);
///           without `select_weight`, w = 1 and is not a parameter. The kept set, the order and
///           the `HardSelection` layout are those of `TopKSelect`.
/// Backward: dL/ds -> dL/dg, dL/dw (the score head; in ratio mode dL/dw = 0 up to rounding,
///           since only sign(w) matters) -> GNN backward: dL/dX added into din.x, dL/dA on the
///           stored entries added into din.adj (with `edge_weights`), GNN parameter gradients
///           assigned.
/// Parameters (PyG `SAGPooling.state_dict()` names under `prefix`): `gnn.lin_rel.weight`
///   [1, F], `gnn.lin_rel.bias` [1, 1], `gnn.lin_root.weight` [1, F] (GraphConv) or
///   `gnn.lin.weight` [1, F], `gnn.bias` [1, 1] (GCN); `select.weight` [1, 1] (select_weight).
/// Cache: the convolution's cache, g (N), the score head's cache (N), the backward's workspace
///   and a unit-weight copy of the adjacency's values when `edge_weights` is false. Cost: the
///   convolution (O(N F + E))
///   plus TopK's ranking; memory O(N + E).
/// Errors: those of TopKSelect (options, feature width, non-finite scores) and the
///   convolution's (a GCN degree that is negative).
template <typename Scalar_>
class SAGSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    typename GraphConv<Scalar>::Cache graph_conv;
    typename GCNConv<Scalar>::Cache gcn;
    typename detail::ScoreHead<Scalar>::Cache head;
    Matrix<Scalar> g;              ///< N x 1 convolution output
    SparseMatrix<Scalar> unit_adj;  ///< adjacency with unit weights (edge_weights = false)
    /// Backward workspace (the convolution's dL/dg, dL/dX and dL/dA), reused by the next call: a
    /// training step does not allocate (a fresh N x F dL/dX costs page faults at every step).
    mutable Matrix<Scalar> dg, dx;
    mutable Vector<Scalar> dadj, dz;
  };

  SAGSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, SAGOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "SAGSelect '", prefix,
                  "': in_features must be >= 1, got ", in_features);
    check_topk_options(m_options.topk, "SAGSelect");
    const std::string gnn = join_name(prefix, "gnn");
    if (m_options.scorer == SAGScorer::graph_conv)
      m_graph_conv.emplace(params, gnn, in_features, 1, m_options.scorer_bias);
    else
      m_gcn.emplace(params, gnn, in_features, 1, GCNConvOptions{true, true, m_options.scorer_bias});
    m_weight_name = join_name(prefix, "select.weight");
    if (m_options.select_weight) m_weight = params.add(m_weight_name, 1, 1, Init::torch_linear, 1);
  }

  Index in_features() const { return m_in; }
  const SAGOptions& options() const { return m_options; }
  /// Slot of `<prefix>.select.weight`, or -1 without `select_weight`.
  Index weight_slot() const { return m_weight; }
  /// Appends the slots this selector registered (the convolution's and select.weight).
  void parameter_slots(std::vector<Index>& out) const {
    if (m_graph_conv) m_graph_conv->parameter_slots(out);
    else m_gcn->parameter_slots(out);
    if (m_weight >= 0) out.push_back(m_weight);
  }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    check_features(in, m_in, "SAGSelect");
    if (!m_options.edge_weights) {
      cache.unit_adj = in.adj;
      std::fill(cache.unit_adj.valuePtr(), cache.unit_adj.valuePtr() + cache.unit_adj.nonZeros(), Scalar(1));
    }
    const SparseMatrix<Scalar>& adj = m_options.edge_weights ? in.adj : cache.unit_adj;
    const BatchRef<Scalar> graph(in.x, adj, in.offsets);
    if (m_graph_conv) m_graph_conv->forward(params, graph, cache.g, cache.graph_conv);
    else m_gcn->forward(params, graph, cache.g, cache.gcn);
    Vector<Scalar> score;
    detail::ScoreHead<Scalar>::forward(cache.g, select_weight(params), in.offsets, m_options.topk, "SAGSelect",
                                       m_weight_name, score, cache.head);
    detail::rank_and_select(score, in.offsets, m_options.topk, sel);
  }

  /// Adds dL/dX into din.x and (with edge_weights and din.adj_needed) dL/dA into din.adj; assigns the gradients of
  /// the convolution's parameters and of select.weight.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    GNNPOOL_CHECK(dsel.size() == in.x.rows() && sel.weight.size() == in.x.rows() && cache.g.rows() == in.x.rows(),
                  shape_error, "SAGSelect: the selection gradient has ", dsel.size(),
                  " entries but the batch has ", in.x.rows(), " nodes");
    GNNPOOL_CHECK(din.x.rows() == in.x.rows() && din.x.cols() == in.x.cols() && din.adj.size() == in.adj.nonZeros(),
                  shape_error, "SAGSelect: din is ", detail::shape(din.x.rows(), din.x.cols()), " with ",
                  din.adj.size(), " edge entries, expected ", detail::shape(in.x.rows(), in.x.cols()), " with ",
                  in.adj.nonZeros());
    Matrix<Scalar>& dg = cache.dg;
    dg.setZero(in.x.rows(), 1);
    Matrix<Scalar> dw(1, 1);
    detail::ScoreHead<Scalar>::backward(cache.g, select_weight(params), in.offsets, m_options.topk, sel.weight,
                                        cache.head, dsel, &dg, m_weight >= 0 ? &dw : nullptr, cache.dz);
    if (m_weight >= 0) dparams[m_weight] = dw;
    const SparseMatrix<Scalar>& adj = m_options.edge_weights ? in.adj : cache.unit_adj;
    const BatchRef<Scalar> graph(in.x, adj, in.offsets);
    Matrix<Scalar>& dx = cache.dx;
    Vector<Scalar>& dadj = cache.dadj;
    const BatchGradRef<Scalar> dgraph{&dx, m_options.edge_weights && din.adj_needed ? &dadj : nullptr};
    if (m_graph_conv) m_graph_conv->backward(params, graph, cache.graph_conv, dg, dgraph, dparams);
    else m_gcn->backward(params, graph, cache.gcn, dg, dgraph, dparams);
    detail::add_rows(din.x, dx);
    if (dgraph.adj) detail::add_rows(din.adj, dadj);
  }

 private:
  /// The 1 x 1 weight of the score head: select.weight, or the constant 1.
  Matrix<Scalar> select_weight(const ParameterSet<Scalar>& params) const {
    return m_weight >= 0 ? params[m_weight] : Matrix<Scalar>::Ones(1, 1);
  }

  Index m_in;
  SAGOptions m_options;
  std::optional<GraphConv<Scalar>> m_graph_conv;
  std::optional<GCNConv<Scalar>> m_gcn;
  std::string m_weight_name;
  Index m_weight = -1;
};

}  // namespace gnnpool

#endif
