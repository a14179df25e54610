#ifndef GNNPOOL_MODEL_TAPE_HPP
#define GNNPOOL_MODEL_TAPE_HPP

/// \file
/// `Tape`: the model layer. A model is written as a PyG user writes one (call layers on values,
/// build a scalar loss, call one `backward`); the tape records every call at run time
/// (define-by-run) and replays the layers' own hand-written backward passes in reverse order.
/// It never differentiates Eigen expressions itself: the unit is a layer with its proven VJP.
///
///     Tape<S> tape(params);
///     tape.reset();                                  // every step; reuses last step's storage
///     auto [g, x] = tape.inputs(batch);               // a Graph and a Tensor, no gradient
///     auto h = relu(tape(conv1, g, x));               // any FeatureLayer / GraphLayer
///     auto p = tape(pool, g, h);                      // any PoolLayer: p.graph, p.x, p.selection
///     auto out = tape(readout, p.graph, relu(tape(conv2, p.graph, p.x)));
///     auto loss = cross_entropy(tape(head, out), labels) + p.aux_loss();
///     tape.backward(loss, grads);                     // ASSIGNS every tensor of grads
///
/// Values. A `Tensor` is a dense matrix (node features, logits, a readout), a `Graph` is the
/// structure and adjacency values of a batch (its offsets included), a `SelectionVar` is a
/// pooler's selection, a `Loss` is a scalar. Values live in the tape's nodes (or, for inputs, in
/// the caller's batch, which must outlive the step) and are never copied between layers: a
/// layer sees a `BatchRef` made of a Graph and a Tensor.
///
/// Gradients. A value requires a gradient when it depends on a parameter or on an input marked
/// `requires_grad`. Backward visits the nodes in reverse; a node whose outputs received no
/// gradient is skipped, and a layer is asked for an input gradient exactly when that input
/// requires one (a null target otherwise). So the gradient of a pooled adjacency that depends on
/// learned quantities (S^T A S of the soft poolers) reaches S without the user asking, and no
/// work is spent on one that cannot carry gradient (the input graph, TopK's induced subgraph).
/// A value read by several nodes (skip connections, U-Net sums, a graph read by a convolution
/// and a pooler) receives the sum of their gradients. A layer called several times in one step
/// (shared weights) contributes the sum of its calls to its parameter gradients; the
/// parameters of layers not called get 0.
///
/// Memory. `reset()` keeps the nodes: the node recorded at position k in the next step reuses
/// the caches and buffers of the node at position k when it has the same type, so memory is flat
/// over training steps. Cost: one virtual call and a few index look-ups per node.
///
/// Thread safety: a tape belongs to one thread; several tapes may record the same const layers
/// at the same time (layers are const).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/pool/pool.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace gnnpool {

template <typename Scalar>
class Tape;

namespace detail {

/// What every handle is: the tape it was recorded on and its index there.
template <typename Scalar, const char* Kind>
class TapeHandle {
 public:
  TapeHandle() = default;
  TapeHandle(Tape<Scalar>* tape, Index id) : m_tape(tape), m_id(id) {}
  Tape<Scalar>& tape() const {
    GNNPOOL_CHECK(m_tape != nullptr, invalid_argument, Kind, ": an empty handle (not recorded on a tape)");
    return *m_tape;
  }
  Index id() const { return m_id; }

 private:
  Tape<Scalar>* m_tape = nullptr;
  Index m_id = -1;
};

inline constexpr char tensor_kind[] = "Tensor";
inline constexpr char graph_kind[] = "Graph";
inline constexpr char loss_kind[] = "Loss";
inline constexpr char selection_kind[] = "SelectionVar";

}  // namespace detail

/// Handle of a dense value on a tape (node features, logits, a readout). Cheap to copy.
template <typename Scalar_>
class Tensor : public detail::TapeHandle<Scalar_, detail::tensor_kind> {
 public:
  using Scalar = Scalar_;
  using detail::TapeHandle<Scalar_, detail::tensor_kind>::TapeHandle;
  /// The forward value (valid until the tape's next reset).
  const Matrix<Scalar>& value() const { return this->tape().value(*this); }
  Index rows() const { return value().rows(); }
  Index cols() const { return value().cols(); }
  /// dL/d(this value) after `Tape::backward`, for a value no node produced (an input marked
  /// `requires_grad`); a node may consume the gradient of its own outputs.
  const Matrix<Scalar>& grad() const { return this->tape().grad(*this); }
};

/// Handle of a graph on a tape: the structure, the adjacency values and the graph offsets.
template <typename Scalar_>
class Graph : public detail::TapeHandle<Scalar_, detail::graph_kind> {
 public:
  using Scalar = Scalar_;
  using detail::TapeHandle<Scalar_, detail::graph_kind>::TapeHandle;
  const SparseMatrix<Scalar>& adj() const { return this->tape().adjacency(*this); }
  const IndexVector& offsets() const { return this->tape().offsets(*this); }
  Index num_nodes() const { return adj().rows(); }
  Index num_graphs() const { return static_cast<Index>(offsets().size()) - 1; }
  /// dL/d(adjacency values) after backward, one entry per stored entry, for an input graph
  /// marked `requires_grad` (as `Tensor::grad`).
  const Vector<Scalar>& grad() const { return this->tape().grad(*this); }
};

/// Handle of a scalar on a tape: a loss, an auxiliary loss, a sum of them.
template <typename Scalar_>
class Loss : public detail::TapeHandle<Scalar_, detail::loss_kind> {
 public:
  using Scalar = Scalar_;
  using detail::TapeHandle<Scalar_, detail::loss_kind>::TapeHandle;
  Scalar value() const { return this->tape().value(*this); }
};

/// Handle of a pooler's selection on a tape (input of a lift).
template <typename Selection_>
class SelectionVar : public detail::TapeHandle<typename Selection_::Scalar, detail::selection_kind> {
 public:
  using Selection = Selection_;
  using Scalar = typename Selection::Scalar;
  using detail::TapeHandle<Scalar, detail::selection_kind>::TapeHandle;
  const Selection& value() const { return this->tape().template selection<Selection>(this->id()); }
};

/// What `tape.inputs(batch)` gives: `auto [g, x] = tape.inputs(batch);`.
template <typename Scalar>
struct TapeInputs {
  Graph<Scalar> graph;
  Tensor<Scalar> x;
};

/// What recording a pooler gives: the pooled graph and features, the selection and the
/// auxiliary losses.
template <typename Scalar, typename Selection>
struct Pooled {
  Graph<Scalar> graph;
  Tensor<Scalar> x;
  SelectionVar<Selection> selection;

  /// The auxiliary loss called `name`, unweighted ("link_loss", "mincut_loss", ...), to weight
  /// at the call site as in PyG: `ce + p.loss("link_loss") + 0.5 * p.loss("ent_loss")`.
  Loss<Scalar> loss(std::string_view name) const {
    for (std::size_t i = 0; i < m_names.size(); ++i)
      if (m_names[i] == name) return Loss<Scalar>(&graph.tape(), m_first_loss + static_cast<Index>(i));
    std::string known;
    for (const auto& n : m_names) known += (known.empty() ? "" : ", ") + n;
    detail::raise<invalid_argument>(detail::concat("Pooled::loss: the pooler reports no loss named '", name,
                                                   "' (it reports: ", known.empty() ? "none" : known, ")"));
  }
  /// sum_i w_i l_i over the auxiliary losses with the weights set at construction (the pooler's
  /// options); a zero constant for a pooler without losses.
  Loss<Scalar> aux_loss() const { return graph.tape().weighted_sum(m_first_loss, m_weights); }
  /// Names of the auxiliary losses, in the order the pooler reports them.
  const std::vector<std::string>& loss_names() const { return m_names; }

  // Filled by the tape.
  std::vector<std::string> m_names;
  std::vector<Scalar> m_weights;
  Index m_first_loss = 0;
};

namespace detail {

/// One recorded call. `backward` reads the gradients of the node's outputs from the tape and
/// delivers those of its inputs (and parameters) to it.
template <typename Scalar>
struct TapeNode {
  virtual ~TapeNode() = default;
  virtual void backward(Tape<Scalar>& tape) = 0;
  /// Appends the discrete decisions forward took (ReLU masks, kept sets, argmax, patterns).
  virtual void discrete(std::vector<Index>& /*out*/) const {}
  std::vector<Index> slots;  ///< parameter slots the layer's backward assigns
};

}  // namespace detail

template <typename Scalar_>
class Tape {
 public:
  using Scalar = Scalar_;

  /// The tape reads the parameters from `params` at every call; it must outlive the tape.
  explicit Tape(const ParameterSet<Scalar>& params) : m_params(&params) {}
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  const ParameterSet<Scalar>& parameters() const { return *m_params; }

  /// Starts a new step: forgets the values recorded so far (handles become invalid) and keeps
  /// their storage for the next recording.
  void reset() {
    m_count = 0;
    m_num_dense = m_num_graphs = m_num_scalars = m_num_selections = 0;
  }

  /// Number of nodes recorded since the last reset.
  Index size() const { return static_cast<Index>(m_count); }

  // -- inputs ----------------------------------------------------------------------------------

  /// The graph and the features of `batch` (which must outlive the step). With
  /// `requires_grad`, dL/dx and dL/dA are computed (read them with `grad()`).
  TapeInputs<Scalar> inputs(const Batch<Scalar>& batch, bool requires_grad = false) {
    check_batch(batch, "Tape::inputs");
    Watched* w = watched(batch);
    requires_grad = requires_grad || w != nullptr;
    TapeInputs<Scalar> in{graph(batch.adj, batch.offsets, requires_grad), input(batch.x, requires_grad)};
    if (w) {
      w->graph = in.graph.id();
      w->x = in.x.id();
    }
    return in;
  }

  /// Marks batches whose `inputs()` always require a gradient (the whole-model check reads it
  /// back with `input_grad_x` / `input_grad_adj`). Replaces the previous list.
  void watch(const std::vector<Batch<Scalar>*>& batches) {
    m_watched.clear();
    for (const Batch<Scalar>* b : batches) m_watched.push_back({b, -1, -1});
  }
  /// dL/dx of a watched batch after backward (zeros when the loss does not depend on it).
  const Matrix<Scalar>& input_grad_x(const Batch<Scalar>& batch) {
    const Watched* w = watched(batch);
    GNNPOOL_CHECK(w && w->x >= 0, invalid_argument, "Tape::input_grad_x: the batch was not watched and recorded");
    DenseSlot& s = dense(w->x);
    if (!s.has_grad) s.grad.setZero(batch.x.rows(), batch.x.cols());
    return s.grad;
  }
  /// dL/d(adjacency values) of a watched batch after backward (zeros when none).
  const Vector<Scalar>& input_grad_adj(const Batch<Scalar>& batch) {
    const Watched* w = watched(batch);
    GNNPOOL_CHECK(w && w->graph >= 0, invalid_argument, "Tape::input_grad_adj: the batch was not watched and recorded");
    GraphSlot& s = graph_slot(w->graph);
    if (!s.has_grad) s.grad.setZero(batch.adj.nonZeros());
    return s.grad;
  }
  /// A dense input (not copied; must outlive the step).
  Tensor<Scalar> input(const Matrix<Scalar>& x, bool requires_grad = false) {
    return Tensor<Scalar>(this, add_dense(&x, requires_grad));
  }
  /// A graph input (not copied; must outlive the step).
  Graph<Scalar> graph(const SparseMatrix<Scalar>& adj, const IndexVector& offsets, bool requires_grad = false) {
    return Graph<Scalar>(this, add_graph(&adj, &offsets, requires_grad));
  }
  /// A graph computed by the caller from recorded values (a renormalised pooled adjacency, say):
  /// stored in the tape, and a constant for differentiation (no gradient flows through it).
  Graph<Scalar> constant_graph(SparseMatrix<Scalar> adj, IndexVector offsets);
  /// A dense value computed by the caller, stored in the tape as a constant.
  Tensor<Scalar> constant(Matrix<Scalar> value);

  // -- recording layers --------------------------------------------------------------------------

  /// Y = layer(X) for a `FeatureLayer` (Linear, MLP).
  template <typename L>
    requires FeatureLayer<L> && std::same_as<typename L::Scalar, Scalar>
  Tensor<Scalar> operator()(const L& layer, Tensor<Scalar> x);

  /// Y = layer(G, X) for a `GraphLayer` (GCNConv, GraphConv, the readouts).
  template <typename L>
    requires GraphLayer<L> && std::same_as<typename L::Scalar, Scalar>
  Tensor<Scalar> operator()(const L& layer, Graph<Scalar> g, Tensor<Scalar> x);

  /// The pooled graph, features, selection and auxiliary losses of a `PoolLayer`.
  template <typename L>
    requires PoolLayer<L> && std::same_as<typename L::Scalar, Scalar>
  Pooled<Scalar, typename L::Selection> operator()(const L& pool, Graph<Scalar> g, Tensor<Scalar> x);

  /// A soft pooler with caller-computed assignment logits (`diff_pool_function()`, ...): the
  /// DiffPool paper's form, S = softmax(GNN_pool(X)), X' = S^T GNN_embed(X).
  template <typename F>
    requires requires { typename F::Composition; } && std::same_as<typename F::Scalar, Scalar>
  Pooled<Scalar, SoftSelection<Scalar>> operator()(const F& function, Graph<Scalar> g, Tensor<Scalar> x,
                                                   Tensor<Scalar> logits);

  /// X = lift(S, X') for a `LiftPolicy` (HardLift, SoftLift).
  template <typename L, typename Selection>
    requires LiftPolicy<L, Selection> && std::same_as<typename L::Scalar, Scalar>
  Tensor<Scalar> operator()(const L& lift, SelectionVar<Selection> selection, Tensor<Scalar> x_pooled);

  // -- backward --------------------------------------------------------------------------------

  /// Computes dL/d(parameters) into `grads` (ASSIGNED: every tensor, zero for parameters the
  /// loss does not depend on) and dL/d(every recorded value that requires a gradient), for the
  /// upstream gradient `seed` of the loss (1 for a loss). `grads` must have the layout of the
  /// parameters (`params.zeros_like()`).
  void backward(Loss<Scalar> loss, ParameterSet<Scalar>& grads, Scalar seed = Scalar(1));

  /// The discrete decisions of the recorded forward, in node order: what the whole-model
  /// gradient check compares at perturbed parameters (model/check.hpp).
  void discrete(std::vector<Index>& out) const {
    for (std::size_t k = 0; k < m_count; ++k) m_nodes[k]->discrete(out);
  }

  // -- values ----------------------------------------------------------------------------------

  const Matrix<Scalar>& value(const Tensor<Scalar>& t) const { return *dense(t).value; }
  Scalar value(const Loss<Scalar>& l) const { return scalar(l.id()).value; }
  const SparseMatrix<Scalar>& adjacency(const Graph<Scalar>& g) const { return *graph_slot(g.id()).adj; }
  const IndexVector& offsets(const Graph<Scalar>& g) const { return *graph_slot(g.id()).offsets; }
  template <typename Selection>
  const Selection& selection(Index id) const {
    return *static_cast<const Selection*>(selection_slot(id).value);
  }
  const Matrix<Scalar>& grad(const Tensor<Scalar>& t) const { return dense(t).grad; }
  const Vector<Scalar>& grad(const Graph<Scalar>& g) const { return graph_slot(g.id()).grad; }
  bool requires_grad(const Tensor<Scalar>& t) const { return dense(t).requires_grad; }
  bool requires_grad(const Graph<Scalar>& g) const { return graph_slot(g.id()).requires_grad; }
  bool requires_grad(const Loss<Scalar>& l) const { return scalar(l.id()).requires_grad; }

  // -- for ops and nodes (model/ops.hpp) ---------------------------------------------------------

  struct DenseSlot {
    const Matrix<Scalar>* value = nullptr;
    Matrix<Scalar> grad;
    bool requires_grad = false;
    bool has_grad = false;
  };
  struct GraphSlot {
    const SparseMatrix<Scalar>* adj = nullptr;
    const IndexVector* offsets = nullptr;
    Vector<Scalar> grad;
    bool requires_grad = false;
    bool has_grad = false;
  };
  struct ScalarSlot {
    Scalar value = 0;
    Scalar grad = 0;
    bool requires_grad = false;
    bool has_grad = false;
  };
  struct SelectionSlot {
    const void* value = nullptr;
    const std::type_info* type = nullptr;
    Vector<Scalar> hard_grad;
    Matrix<Scalar> soft_grad;
    bool requires_grad = false;
    bool has_grad = false;
  };

  /// The node at the next position, reused when the previous step recorded a node of the same
  /// type there (its caches and buffers keep their memory).
  template <typename Node>
  Node& next_node() {
    if (m_count < m_nodes.size()) {
      auto& slot = m_nodes[m_count];
      if (typeid(*slot) != typeid(Node)) slot = std::make_unique<Node>();
    } else {
      m_nodes.push_back(std::make_unique<Node>());
    }
    return static_cast<Node&>(*m_nodes[m_count++]);
  }

  Index add_dense(const Matrix<Scalar>* value, bool requires_grad) {
    DenseSlot& s = grow(m_dense, m_num_dense);
    s.value = value;
    s.requires_grad = requires_grad;
    s.has_grad = false;
    return m_num_dense - 1;
  }
  Index add_graph(const SparseMatrix<Scalar>* adj, const IndexVector* offsets, bool requires_grad) {
    GraphSlot& s = grow(m_graphs, m_num_graphs);
    s.adj = adj;
    s.offsets = offsets;
    s.requires_grad = requires_grad;
    s.has_grad = false;
    return m_num_graphs - 1;
  }
  Index add_scalar(Scalar value, bool requires_grad) {
    ScalarSlot& s = grow(m_scalars, m_num_scalars);
    s.value = value;
    s.requires_grad = requires_grad;
    s.has_grad = false;
    return m_num_scalars - 1;
  }
  template <typename Selection>
  Index add_selection(const Selection* value, bool requires_grad) {
    SelectionSlot& s = grow(m_selections, m_num_selections);
    s.value = value;
    s.type = &typeid(Selection);
    s.requires_grad = requires_grad;
    s.has_grad = false;
    return m_num_selections - 1;
  }

  DenseSlot& dense(Index id) { return m_dense[checked(id, m_num_dense, "Tensor")]; }
  const DenseSlot& dense(const Tensor<Scalar>& t) const {
    check_owner(t.tape());
    return m_dense[checked(t.id(), m_num_dense, "Tensor")];
  }
  GraphSlot& graph_slot(Index id) { return m_graphs[checked(id, m_num_graphs, "Graph")]; }
  const GraphSlot& graph_slot(Index id) const { return m_graphs[checked(id, m_num_graphs, "Graph")]; }
  ScalarSlot& scalar(Index id) { return m_scalars[checked(id, m_num_scalars, "Loss")]; }
  const ScalarSlot& scalar(Index id) const { return m_scalars[checked(id, m_num_scalars, "Loss")]; }
  SelectionSlot& selection_slot(Index id) { return m_selections[checked(id, m_num_selections, "SelectionVar")]; }
  const SelectionSlot& selection_slot(Index id) const {
    return m_selections[checked(id, m_num_selections, "SelectionVar")];
  }

  /// Hands dL/d(dense value id) computed in `g` to the tape: moved in (O(1), `g` gets the old
  /// buffer back for reuse) for the first contribution, added for the following ones.
  void deliver(Index id, Matrix<Scalar>& g) {
    DenseSlot& s = dense(id);
    if (!s.requires_grad) return;
    if (s.has_grad) {
      GNNPOOL_CHECK(s.grad.rows() == g.rows() && s.grad.cols() == g.cols(), shape_error,
                    "Tape: two gradients of one value differ in shape (", detail::shape(s.grad.rows(), s.grad.cols()),
                    " and ", detail::shape(g.rows(), g.cols()), ")");
      s.grad += g;
    } else {
      s.grad.swap(g);
      s.has_grad = true;
    }
  }
  void deliver_graph(Index id, Vector<Scalar>& g) {
    GraphSlot& s = graph_slot(id);
    if (!s.requires_grad) return;
    GNNPOOL_CHECK(g.size() == s.adj->nonZeros(), shape_error, "Tape: an adjacency gradient has ", g.size(),
                  " entries but the graph stores ", s.adj->nonZeros());
    if (s.has_grad) {
      s.grad += g;
    } else {
      s.grad.swap(g);
      s.has_grad = true;
    }
  }
  void deliver_scalar(Index id, Scalar g) {
    ScalarSlot& s = scalar(id);
    if (!s.requires_grad) return;
    s.grad = s.has_grad ? s.grad + g : g;
    s.has_grad = true;
  }
  template <typename Selection>
  void deliver_selection(Index id, typename Selection::Gradient& g) {
    SelectionSlot& s = selection_slot(id);
    if (!s.requires_grad) return;
    auto& mine = selection_grad<Selection>(s);
    if (s.has_grad) {
      mine += g;
    } else {
      mine.swap(g);
      s.has_grad = true;
    }
  }
  template <typename Selection>
  static auto& selection_grad(SelectionSlot& s) {
    if constexpr (std::derived_from<Selection, SoftSelection<Scalar>>) return s.soft_grad;
    else return s.hard_grad;
  }

  /// Runs `call` (a layer's backward writing the layer's slots of the gradient set) so that a
  /// layer called several times in one step contributes the sum of its calls.
  template <typename Call>
  void with_parameter_gradients(const std::vector<Index>& slots, Call&& call) {
    ParameterSet<Scalar>& grads = *m_grads;
    std::size_t saved = 0;
    for (const Index slot : slots)
      if (m_written[static_cast<std::size_t>(slot)]) {
        if (m_saved.size() <= saved) m_saved.emplace_back();
        m_saved[saved++].swap(grads[slot]);  // the earlier calls' sum, kept aside in O(1)
      }
    call(grads);
    saved = 0;
    for (const Index slot : slots) {
      auto& w = m_written[static_cast<std::size_t>(slot)];
      if (w) grads[slot] += m_saved[saved++];
      w = 1;
    }
  }

  /// A scalar node sum_i c_i l_i over losses first .. first + c.size() (Pooled::aux_loss).
  Loss<Scalar> weighted_sum(Index first, const std::vector<Scalar>& coefficients);
  /// sum_i c_i l_i over arbitrary losses (the + and * of model/ops.hpp).
  Loss<Scalar> combine(const std::vector<std::pair<Index, Scalar>>& terms);

 private:
  template <typename Slot>
  static Slot& grow(std::vector<Slot>& v, Index& n) {
    if (static_cast<std::size_t>(n) == v.size()) v.emplace_back();
    return v[static_cast<std::size_t>(n++)];
  }
  static std::size_t checked(Index id, Index n, const char* what) {
    GNNPOOL_CHECK(id >= 0 && id < n, invalid_argument, "Tape: a ", what, " handle (", id,
                  ") from before the last reset() or from another tape (", n, " recorded)");
    return static_cast<std::size_t>(id);
  }
  void check_owner(const Tape& other) const {
    GNNPOOL_CHECK(&other == this, invalid_argument, "Tape: a value recorded on another tape");
  }
  template <typename L>
  std::vector<Index>& node_slots(detail::TapeNode<Scalar>& node, const L& layer) {
    node.slots.clear();
    layer.parameter_slots(node.slots);
    for (const Index s : node.slots)
      GNNPOOL_CHECK(s >= 0 && s < m_params->size(), invalid_argument, layer.name(), ": parameter slot ", s,
                    " is not in the tape's ParameterSet (", m_params->size(),
                    " tensors): the layer was built on another set");
    return node.slots;
  }

  struct Watched {
    const Batch<Scalar>* batch;
    Index graph, x;
  };
  Watched* watched(const Batch<Scalar>& batch) {
    for (auto& w : m_watched)
      if (w.batch == &batch) return &w;
    return nullptr;
  }

  const ParameterSet<Scalar>* m_params;
  std::vector<Watched> m_watched;
  std::vector<std::unique_ptr<detail::TapeNode<Scalar>>> m_nodes;
  std::size_t m_count = 0;
  std::vector<DenseSlot> m_dense;
  std::vector<GraphSlot> m_graphs;
  std::vector<ScalarSlot> m_scalars;
  std::vector<SelectionSlot> m_selections;
  Index m_num_dense = 0, m_num_graphs = 0, m_num_scalars = 0, m_num_selections = 0;
  // Backward state.
  ParameterSet<Scalar>* m_grads = nullptr;
  std::vector<char> m_written;
  std::vector<Matrix<Scalar>> m_saved;
};

// ---------------------------------------------------------------------------------------------
// Nodes

namespace detail {

template <typename Scalar>
struct ConstantGraphNode final : TapeNode<Scalar> {
  SparseMatrix<Scalar> adj;
  IndexVector offsets;
  void backward(Tape<Scalar>&) override {}
};

template <typename Scalar>
struct ConstantNode final : TapeNode<Scalar> {
  Matrix<Scalar> value;
  void backward(Tape<Scalar>&) override {}
};

template <typename L>
struct FeatureNode final : TapeNode<typename L::Scalar> {
  using Scalar = typename L::Scalar;
  const L* layer = nullptr;
  Index x = -1, y = -1;
  Matrix<Scalar> out, dx;
  typename L::Cache cache;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    if (!ys.has_grad) return;
    const bool need_dx = t.dense(x).requires_grad;
    t.with_parameter_gradients(this->slots, [&](ParameterSet<Scalar>& grads) {
      layer->backward(t.parameters(), *t.dense(x).value, cache, ys.grad, need_dx ? &dx : nullptr, grads);
    });
    if (need_dx) t.deliver(x, dx);
  }
  void discrete(std::vector<Index>& out_decisions) const override {
    if constexpr (requires { layer->discrete(cache, out_decisions); }) layer->discrete(cache, out_decisions);
  }
};

template <typename L>
struct GraphNode final : TapeNode<typename L::Scalar> {
  using Scalar = typename L::Scalar;
  const L* layer = nullptr;
  Index g = -1, x = -1, y = -1;
  Matrix<Scalar> out, dx;
  Vector<Scalar> dadj;
  typename L::Cache cache;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    if (!ys.has_grad) return;
    const auto& gs = t.graph_slot(g);
    const bool need_dx = t.dense(x).requires_grad;
    const bool need_dadj = reads_adjacency<L>() && gs.requires_grad;
    const BatchRef<Scalar> in(*t.dense(x).value, *gs.adj, *gs.offsets);
    t.with_parameter_gradients(this->slots, [&](ParameterSet<Scalar>& grads) {
      layer->backward(t.parameters(), in, cache, ys.grad,
                      BatchGradRef<Scalar>{need_dx ? &dx : nullptr, need_dadj ? &dadj : nullptr}, grads);
    });
    if (need_dx) t.deliver(x, dx);
    if (need_dadj) t.deliver_graph(g, dadj);
  }
  void discrete(std::vector<Index>& out_decisions) const override {
    if constexpr (requires { layer->discrete(cache, out_decisions); }) layer->discrete(cache, out_decisions);
  }
};

/// Upstream gradients of a pooler's outputs, taken from the tape (moved, O(1)); zero (or
/// empty, which the pooler reads as zero) where an output got none.
template <typename Scalar, typename Output, typename OutputGrad>
bool gather_pool_gradients(Tape<Scalar>& t, const Output& out, Index x, Index g, Index sel, Index first_loss,
                           OutputGrad& grad) {
  using Selection = decltype(out.selection);
  auto& xs = t.dense(x);
  auto& gs = t.graph_slot(g);
  auto& ss = t.selection_slot(sel);
  bool any = xs.has_grad || gs.has_grad || ss.has_grad;
  grad.losses.assign(out.losses.size(), Scalar(0));
  for (std::size_t i = 0; i < out.losses.size(); ++i) {
    const auto& ls = t.scalar(first_loss + static_cast<Index>(i));
    if (ls.has_grad) {
      grad.losses[i] = ls.grad;
      any = true;
    }
  }
  if (!any) return false;
  if (xs.has_grad) {
    grad.x.swap(xs.grad);
    xs.has_grad = false;  // moved out: this node is the value's only producer
  } else {
    grad.x.setZero(out.batch.x.rows(), out.batch.x.cols());
  }
  if (gs.has_grad) {
    grad.adj.swap(gs.grad);
    gs.has_grad = false;
  } else {
    grad.adj.resize(0);
  }
  if (ss.has_grad) {
    grad.selection.swap(Tape<Scalar>::template selection_grad<Selection>(ss));
    ss.has_grad = false;
  } else {
    grad.selection.resize(0, 1);  // empty: zero
  }
  return true;
}

template <typename L>
struct PoolNode final : TapeNode<typename L::Scalar> {
  using Scalar = typename L::Scalar;
  using Selection = typename L::Selection;
  const L* layer = nullptr;
  Index g = -1, x = -1;
  Index out_x = -1, out_g = -1, out_sel = -1, first_loss = -1;
  typename L::Output out;
  typename L::Cache cache;
  typename L::OutputGrad grad;
  BatchGrad<Scalar> din;

  void backward(Tape<Scalar>& t) override {
    if (!gather_pool_gradients(t, out, out_x, out_g, out_sel, first_loss, grad)) return;
    const auto& gs = t.graph_slot(g);
    const BatchRef<Scalar> in(*t.dense(x).value, *gs.adj, *gs.offsets);
    din.adj_needed = gs.requires_grad;  // dL/dA only for a graph that carries a gradient
    t.with_parameter_gradients(this->slots, [&](ParameterSet<Scalar>& grads) {
      layer->backward(t.parameters(), in, out, cache, grad, din, grads);
    });
    t.deliver(x, din.x);
    if (din.adj_needed) t.deliver_graph(g, din.adj);
  }
  void discrete(std::vector<Index>& decisions) const override {
    if constexpr (requires { layer->discrete(out, cache, decisions); }) layer->discrete(out, cache, decisions);
    else if constexpr (requires { L::discrete(out, decisions); }) L::discrete(out, decisions);
  }
};

template <typename F>
struct SoftFunctionNode final : TapeNode<typename F::Scalar> {
  using Scalar = typename F::Scalar;
  const F* function = nullptr;
  Index g = -1, x = -1, logits = -1;
  Index out_x = -1, out_g = -1, out_sel = -1, first_loss = -1;
  typename F::Output out;
  typename F::Cache cache;
  typename F::OutputGrad grad;
  BatchGrad<Scalar> din;
  Matrix<Scalar> dlogits;

  void backward(Tape<Scalar>& t) override {
    if (!gather_pool_gradients(t, out, out_x, out_g, out_sel, first_loss, grad)) return;
    const auto& gs = t.graph_slot(g);
    const BatchRef<Scalar> in(*t.dense(x).value, *gs.adj, *gs.offsets);
    din.adj_needed = gs.requires_grad;
    function->backward(in, out, cache, grad, din, dlogits);
    t.deliver(x, din.x);
    if (din.adj_needed) t.deliver_graph(g, din.adj);
    t.deliver(logits, dlogits);
  }
};

template <typename L, typename Selection>
struct LiftNode final : TapeNode<typename L::Scalar> {
  using Scalar = typename L::Scalar;
  const L* lift = nullptr;
  Index sel = -1, x = -1, y = -1;
  Matrix<Scalar> out, dx;
  typename Selection::Gradient dsel;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    if (!ys.has_grad) return;
    const auto& ss = t.selection_slot(sel);
    const auto& s = *static_cast<const Selection*>(ss.value);
    if constexpr (std::derived_from<Selection, SoftSelection<Scalar>>) dsel.setZero(s.s.rows(), s.s.cols());
    else if constexpr (requires { s.gradient_size(); }) dsel.setZero(s.gradient_size());  // SparseSelection
    else dsel.setZero(s.num_nodes());
    lift->backward(s, *t.dense(x).value, ys.grad, dx, dsel);
    t.deliver(x, dx);
    t.template deliver_selection<Selection>(sel, dsel);
  }
};

template <typename Scalar>
struct CombineNode final : TapeNode<Scalar> {
  std::vector<std::pair<Index, Scalar>> terms;
  Index out = -1;
  void backward(Tape<Scalar>& t) override {
    const auto& os = t.scalar(out);
    if (!os.has_grad) return;
    for (const auto& [id, c] : terms) t.deliver_scalar(id, c * os.grad);
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Definitions

template <typename Scalar>
Graph<Scalar> Tape<Scalar>::constant_graph(SparseMatrix<Scalar> adj, IndexVector offsets) {
  auto& node = next_node<detail::ConstantGraphNode<Scalar>>();
  node.slots.clear();
  node.adj = std::move(adj);
  node.offsets = std::move(offsets);
  return Graph<Scalar>(this, add_graph(&node.adj, &node.offsets, false));
}

template <typename Scalar>
Tensor<Scalar> Tape<Scalar>::constant(Matrix<Scalar> value) {
  auto& node = next_node<detail::ConstantNode<Scalar>>();
  node.slots.clear();
  node.value = std::move(value);
  return Tensor<Scalar>(this, add_dense(&node.value, false));
}

template <typename Scalar>
template <typename L>
  requires FeatureLayer<L> && std::same_as<typename L::Scalar, Scalar>
Tensor<Scalar> Tape<Scalar>::operator()(const L& layer, Tensor<Scalar> x) {
  const bool x_grad = dense(x).requires_grad;
  const Matrix<Scalar>& xv = *dense(x).value;
  auto& node = next_node<detail::FeatureNode<L>>();
  const bool has_params = !node_slots(node, layer).empty();
  node.layer = &layer;
  node.x = x.id();
  layer.forward(*m_params, xv, node.out, node.cache);
  node.y = add_dense(&node.out, x_grad || has_params);
  return Tensor<Scalar>(this, node.y);
}

template <typename Scalar>
template <typename L>
  requires GraphLayer<L> && std::same_as<typename L::Scalar, Scalar>
Tensor<Scalar> Tape<Scalar>::operator()(const L& layer, Graph<Scalar> g, Tensor<Scalar> x) {
  check_owner(g.tape());
  const bool needs = dense(x).requires_grad || (detail::reads_adjacency<L>() && graph_slot(g.id()).requires_grad);
  const GraphSlot& gs = graph_slot(g.id());
  const BatchRef<Scalar> in(*dense(x).value, *gs.adj, *gs.offsets);
  auto& node = next_node<detail::GraphNode<L>>();
  const bool has_params = !node_slots(node, layer).empty();
  node.layer = &layer;
  node.g = g.id();
  node.x = x.id();
  layer.forward(*m_params, in, node.out, node.cache);
  node.y = add_dense(&node.out, needs || has_params);
  return Tensor<Scalar>(this, node.y);
}

namespace detail {

/// Registers a pooler's outputs on the tape and fills the handles.
template <typename Scalar, typename Selection, typename Node>
void register_pooled(Tape<Scalar>& t, Node& node, bool needs, bool graph_needs, Pooled<Scalar, Selection>& r) {
  node.out_x = t.add_dense(&node.out.batch.x, needs);
  node.out_g = t.add_graph(&node.out.batch.adj, &node.out.batch.offsets, graph_needs);
  node.out_sel = t.add_selection(&node.out.selection, needs);
  node.first_loss = -1;
  r.m_names.clear();
  r.m_weights.clear();
  for (std::size_t i = 0; i < node.out.losses.size(); ++i) {
    const Index id = t.add_scalar(node.out.losses[i].value, needs);
    if (i == 0) node.first_loss = id;
    r.m_names.push_back(node.out.losses[i].name);
    r.m_weights.push_back(node.out.losses[i].weight);
  }
  if (node.first_loss < 0) node.first_loss = 0;
  r.graph = Graph<Scalar>(&t, node.out_g);
  r.x = Tensor<Scalar>(&t, node.out_x);
  r.selection = SelectionVar<Selection>(&t, node.out_sel);
  r.m_first_loss = node.first_loss;
}

}  // namespace detail

template <typename Scalar>
template <typename L>
  requires PoolLayer<L> && std::same_as<typename L::Scalar, Scalar>
Pooled<Scalar, typename L::Selection> Tape<Scalar>::operator()(const L& pool, Graph<Scalar> g, Tensor<Scalar> x) {
  check_owner(g.tape());
  const bool in_grad = dense(x).requires_grad || graph_slot(g.id()).requires_grad;
  const GraphSlot& gs = graph_slot(g.id());
  const BatchRef<Scalar> in(*dense(x).value, *gs.adj, *gs.offsets);
  const bool graph_grad = graph_slot(g.id()).requires_grad;
  auto& node = next_node<detail::PoolNode<L>>();
  const bool has_params = !node_slots(node, pool).empty();
  const bool needs = in_grad || has_params;
  node.layer = &pool;
  node.g = g.id();
  node.x = x.id();
  pool.forward(*m_params, in, node.out, node.cache);
  Pooled<Scalar, typename L::Selection> r;
  detail::register_pooled(*this, node, needs, graph_grad || (L::adjacency_depends_on_selection && needs), r);
  return r;
}

template <typename Scalar>
template <typename F>
  requires requires { typename F::Composition; } && std::same_as<typename F::Scalar, Scalar>
Pooled<Scalar, SoftSelection<Scalar>> Tape<Scalar>::operator()(const F& function, Graph<Scalar> g,
                                                               Tensor<Scalar> x, Tensor<Scalar> logits) {
  check_owner(g.tape());
  const GraphSlot& gs = graph_slot(g.id());
  const bool needs = dense(x).requires_grad || gs.requires_grad || dense(logits).requires_grad;
  const BatchRef<Scalar> in(*dense(x).value, *gs.adj, *gs.offsets);
  auto& node = next_node<detail::SoftFunctionNode<F>>();
  node.slots.clear();
  node.function = &function;
  node.g = g.id();
  node.x = x.id();
  node.logits = logits.id();
  function.forward(in, *dense(logits).value, node.out, node.cache);
  Pooled<Scalar, SoftSelection<Scalar>> r;
  detail::register_pooled(*this, node, needs, needs, r);
  return r;
}

template <typename Scalar>
template <typename L, typename Selection>
  requires LiftPolicy<L, Selection> && std::same_as<typename L::Scalar, Scalar>
Tensor<Scalar> Tape<Scalar>::operator()(const L& lift, SelectionVar<Selection> selection, Tensor<Scalar> x_pooled) {
  check_owner(selection.tape());
  const auto& ss = selection_slot(selection.id());
  GNNPOOL_CHECK(*ss.type == typeid(Selection), invalid_argument, "Tape: a SelectionVar of another selection type");
  const bool needs = dense(x_pooled).requires_grad || ss.requires_grad;
  auto& node = next_node<detail::LiftNode<L, Selection>>();
  node.slots.clear();
  node.lift = &lift;
  node.sel = selection.id();
  node.x = x_pooled.id();
  lift.forward(*static_cast<const Selection*>(ss.value), *dense(x_pooled).value, node.out);
  node.y = add_dense(&node.out, needs);
  return Tensor<Scalar>(this, node.y);
}

template <typename Scalar>
Loss<Scalar> Tape<Scalar>::combine(const std::vector<std::pair<Index, Scalar>>& terms) {
  auto& node = next_node<detail::CombineNode<Scalar>>();
  node.slots.clear();
  node.terms = terms;
  Scalar value(0);
  bool needs = false;
  for (const auto& [id, c] : terms) {
    value += c * scalar(id).value;
    needs = needs || scalar(id).requires_grad;
  }
  node.out = add_scalar(value, needs);
  return Loss<Scalar>(this, node.out);
}

template <typename Scalar>
Loss<Scalar> Tape<Scalar>::weighted_sum(Index first, const std::vector<Scalar>& coefficients) {
  std::vector<std::pair<Index, Scalar>> terms;
  terms.reserve(coefficients.size());
  for (std::size_t i = 0; i < coefficients.size(); ++i) terms.emplace_back(first + static_cast<Index>(i), coefficients[i]);
  return combine(terms);
}

template <typename Scalar>
void Tape<Scalar>::backward(Loss<Scalar> loss, ParameterSet<Scalar>& grads, Scalar seed) {
  check_owner(loss.tape());
  GNNPOOL_CHECK(grads.same_layout(*m_params), shape_error, "Tape::backward: grads has ", grads.size(),
                " tensors but the parameters have ", m_params->size(),
                " (or other names / shapes); make it with params.zeros_like()");
  for (Index i = 0; i < m_num_dense; ++i) m_dense[static_cast<std::size_t>(i)].has_grad = false;
  for (Index i = 0; i < m_num_graphs; ++i) m_graphs[static_cast<std::size_t>(i)].has_grad = false;
  for (Index i = 0; i < m_num_scalars; ++i) m_scalars[static_cast<std::size_t>(i)].has_grad = false;
  for (Index i = 0; i < m_num_selections; ++i) m_selections[static_cast<std::size_t>(i)].has_grad = false;
  m_grads = &grads;
  m_written.assign(static_cast<std::size_t>(grads.size()), 0);
  ScalarSlot& root = scalar(loss.id());
  if (root.requires_grad) {
    root.grad = seed;
    root.has_grad = true;
  }
  for (std::size_t k = m_count; k-- > 0;) m_nodes[k]->backward(*this);
  for (Index s = 0; s < grads.size(); ++s)
    if (!m_written[static_cast<std::size_t>(s)]) grads[s].setZero();
  m_grads = nullptr;
}

}  // namespace gnnpool

#endif
