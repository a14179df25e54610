#ifndef GNNPOOL_TORCH_FUNCTION_HPP
#define GNNPOOL_TORCH_FUNCTION_HPP

/// \file
/// gnnpool's layers as `torch::autograd::Function`s, generically: one wrapper for every
/// `PoolLayer` (`pool`), one for every `GraphLayer` (`graph_layer`: the readouts, and the graph
/// convolutions) and one for the functional soft poolers on PyG's padded dense batch
/// (`dense_soft_pool`). Each takes tensors in PyG's conventions, runs the layer's own forward,
/// and on `backward` the layer's own hand-written backward pass; parameters are torch tensors
/// (PyG's names and shapes) copied into the layer's `ParameterSet` per call, and their
/// gradients come back from the layer's gradient `ParameterSet`. A user's own layer that
/// satisfies the concept is wrapped the same way. Part of the optional PyTorch bridge
/// (docs/torch.md).
///
/// What is copied and what is not:
/// - x (and the dense x / logits of a padded batch without padding) is read in place through
///   an Eigen map; the pooled x, the pooled edge weights, the readout output and dL/dx are
///   handed to torch without a copy (tensors that own or view gnnpool's matrices).
/// - The adjacency is built as CSR from `edge_index` (the structure is cached per tensor,
///   tensor.hpp); the edge weights are copied into CSR order, and dL/d(edge_weight) is mapped
///   back to the input edge order.
/// - Copied per call: the parameters (small) and the selection output (backward reads it, so it
///   is not aliased). The upstream gradient of the pooled x is lent to the layer's backward
///   (`PoolOutputGrad::x_lent`), not copied.
/// - Buffers: a call's outputs, cache and backward buffers come from the buffer cache and go back
///   to it when the call ends; dL/dx is handed to torch in a matrix that returns to the cache
///   when torch frees it (`set_buffer_cache_capacity`, tensor.hpp). A step of a model then reuses
///   the previous step's memory, as the model layer's `Tape` does.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/torch/tensor.hpp>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/custom_function.h>

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool::pyg {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// A batch of graphs in PyG's sparse form. `edge_index` may be undefined for layers that do not
/// read the adjacency (readouts); `num_graphs` is PyG's `size` (default: max(batch) + 1).
struct GraphInput {
  at::Tensor x;                              ///< [N, F] float32 / float64, CPU, contiguous
  at::Tensor edge_index;                     ///< [2, E] int64 (row 0 sources, row 1 targets)
  c10::optional<at::Tensor> edge_weight{};   ///< [E], the dtype of x
  c10::optional<at::Tensor> batch{};         ///< [N] int64, sorted graph ids
  c10::optional<int64_t> num_graphs{};
};

/// What `pool` returns: the pooled batch in PyG's form, the selection, the auxiliary losses.
struct PoolResult {
  at::Tensor x;            ///< [N', F'], differentiable
  at::Tensor edge_index;   ///< [2, E'] int64, CSR order (sorted by target, then source)
  at::Tensor edge_weight;  ///< [E'] values of the pooled adjacency, differentiable
  at::Tensor batch;        ///< [N'] int64
  /// Hard selections (TopK, SAG, k-MIS, Graclus, NDP): the supernode of every input node (-1:
  /// dropped), the input node standing for every supernode, and the selection weight of every
  /// input node (TopK's score; differentiable).
  at::Tensor assignment, representative, weight;
  /// Soft selections (MinCut, DiffPool, DMoN): S [N, K] (differentiable).
  at::Tensor s;
  std::vector<std::string> loss_names;  ///< in the order the pooler reports them
  std::vector<at::Tensor> losses;       ///< 0-dim, differentiable, unweighted
};

namespace detail {

/// PyG's shape of a parameter with gnnpool shape rows x cols: 1-D for a bias (PyG's biases are
/// [out]), rows x cols otherwise.
inline std::vector<int64_t> torch_shape(const std::string& name, Index rows, Index cols) {
  const std::string_view last = std::string_view(name).substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  if (last == "bias" && rows == 1) return {cols};
  return {rows, cols};
}

inline std::string parameter_list(const ParameterSet<double>* d, const ParameterSet<float>* f, const std::vector<Index>& slots) {
  std::string s;
  for (const Index slot : slots) {
    if (!s.empty()) s += ", ";
    const std::string& name = d ? d->name(slot) : f->name(slot);
    const Index r = d ? (*d)[slot].rows() : (*f)[slot].rows();
    const Index c = d ? (*d)[slot].cols() : (*f)[slot].cols();
    s += name + " " + ::gnnpool::detail::shape(r, c);
  }
  return s.empty() ? "none" : s;
}

/// Copies `tensors` (one per slot, in slot order) into `params`; records their torch shapes.
template <typename Scalar>
void load_parameters(ParameterSet<Scalar>& params, const std::vector<Index>& slots, at::TensorList tensors,
                     std::string_view op, std::vector<std::vector<int64_t>>& sizes) {
  const ParameterSet<double>* d = nullptr;
  const ParameterSet<float>* f = nullptr;
  if constexpr (std::is_same_v<Scalar, double>) d = &params;
  else f = &params;
  GNNPOOL_CHECK(tensors.size() == slots.size(), shape_error, op, ": expected ", slots.size(),
                " parameter tensors (", parameter_list(d, f, slots), "), got ", tensors.size());
  sizes.clear();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const at::Tensor& t = tensors[i];
    Matrix<Scalar>& p = params[slots[i]];
    const std::string what = "parameter " + params.name(slots[i]);
    check_cpu_contiguous(t, op, what);
    GNNPOOL_CHECK(t.scalar_type() == scalar_type_of<Scalar>(), invalid_argument, op, ": ", what, " is ",
                  t.scalar_type(), " but x is ", scalar_type_of<Scalar>(), "; they must have the same dtype");
    GNNPOOL_CHECK(t.numel() == p.size() && t.dim() <= 2, shape_error, op, ": ", what, " has shape ",
                  sizes_of(t), ", expected ", ::gnnpool::detail::shape(p.rows(), p.cols()));
    std::copy(t.data_ptr<Scalar>(), t.data_ptr<Scalar>() + t.numel(), p.data());
    sizes.push_back(t.sizes().vec());
  }
}

/// The capsule the autograd context keeps the call in.
template <typename Call>
c10::intrusive_ptr<Call> call_of(AutogradContext* ctx) {
  return c10::static_intrusive_pointer_cast<Call>(ctx->saved_data["call"].toCapsule());
}

/// A defined upstream gradient as a contiguous tensor (expanded gradients, e.g. of a sum, are
/// materialised here).
inline at::Tensor contiguous_grad(const at::Tensor& g) { return g.is_contiguous() ? g : g.contiguous(); }

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// PoolLayer
// ---------------------------------------------------------------------------------------------

/// What one call of a layer keeps for its backward (the autograd node holds it): the layer, its
/// parameter values, x (mapped, not copied), the adjacency and the graph offsets.
template <typename L>
struct LayerCall : torch::CustomClassHolder {
  using Scalar = typename L::Scalar;
  std::shared_ptr<const L> layer;
  ParameterSet<Scalar> params;
  std::vector<Index> slots;
  std::vector<std::vector<int64_t>> parameter_sizes;
  at::Tensor x;
  std::shared_ptr<const EdgeStructure<Scalar>> structure;  ///< null for a layer without adjacency
  SparseMatrix<Scalar> weighted, empty;
  bool weighted_input = false;
  IndexVector offsets;

  const SparseMatrix<Scalar>& adjacency() const { return !structure ? empty : weighted_input ? weighted : structure->ones; }
  BatchRef<Scalar> batch() const { return BatchRef<Scalar>(map_matrix<Scalar>(x), adjacency(), offsets); }

  /// Checks the inputs and fills everything but the layer's outputs. Without `adjacency` the
  /// batch gets an empty N x N adjacency (readouts read x and the offsets only).
  void setup(std::shared_ptr<const L> l, ParameterSet<Scalar> p, const GraphInput& in, at::TensorList parameters,
             std::string_view op, bool read_adjacency) {
    check_floating(in.x, 2, op, "x");
    GNNPOOL_CHECK(in.x.scalar_type() == scalar_type_of<Scalar>(), invalid_argument, op, ": x is ", in.x.scalar_type(),
                  " but the layer was built for ", scalar_type_of<Scalar>());
    layer = std::move(l);
    params = std::move(p);
    layer->parameter_slots(slots);
    detail::load_parameters(params, slots, parameters, op, parameter_sizes);
    x = in.x;
    const Index n = in.x.size(0);
    offsets = graph_offsets(in.batch, n, in.num_graphs, op);
    if (!read_adjacency) {
      empty.resize(n, n);
      return;
    }
    GNNPOOL_CHECK(in.edge_index.defined(), invalid_argument, op, ": edge_index is required");
    structure = edge_structure<Scalar>(in.edge_index, n, op);
    if (in.edge_weight && in.edge_weight->defined()) {
      weighted_adjacency(*structure, *in.edge_weight, weighted, op);
      weighted_input = true;
    }
  }

  /// The torch gradients of the parameters (taken from `dparams`) into result[first...].
  void parameter_gradients(ParameterSet<Scalar>& dparams, variable_list& result, std::size_t first) const {
    for (std::size_t i = 0; i < slots.size(); ++i)
      result[first + i] = take(std::move(dparams[slots[i]]), parameter_sizes[i]);
  }
};

/// The buffers of one `PoolLayer` call, reused by a later call of the same layer type once
/// this one is over (detail::BufferCache).
template <typename L>
struct PoolBuffers {
  typename L::Output out;
  typename L::Cache cache;
  typename L::OutputGrad grad;
  BatchGrad<typename L::Scalar> din;  ///< din.x is handed to torch; din.adj stays
};

/// One call of a `PoolLayer`: its buffers come from the buffer cache and go back to it when the
/// call ends (the autograd node and every tensor viewing the outputs are gone).
template <typename L>
struct PoolCall final : LayerCall<L> {
  std::unique_ptr<PoolBuffers<L>> buffers = detail::BufferCache<PoolBuffers<L>>::instance().take();
  typename L::Output& out = buffers->out;
  typename L::Cache& cache = buffers->cache;
  PoolCall() = default;
  PoolCall(const PoolCall&) = delete;
  PoolCall& operator=(const PoolCall&) = delete;
  ~PoolCall() override { detail::BufferCache<PoolBuffers<L>>::instance().give(std::move(buffers)); }
};

/// The autograd function of a `PoolLayer` call. Inputs: the call, x, edge_weight (optional) and
/// the parameters; outputs: pooled x, pooled edge weights, the selection (hard: weight [N];
/// soft: S [N, K]) and one 0-dim tensor per auxiliary loss.
template <typename L>
struct PoolFunction : torch::autograd::Function<PoolFunction<L>> {
  using Scalar = typename L::Scalar;
  using Selection = typename L::Selection;
  static constexpr bool soft = std::derived_from<Selection, SoftSelection<Scalar>>;  // BN-Pool, EigenPool: derived

  static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<PoolCall<L>> call, const at::Tensor& x,
                               const c10::optional<at::Tensor>& /*edge_weight*/, at::TensorList /*parameters*/) {
    PoolCall<L>& c = *call;
    c.layer->forward(c.params, c.batch(), c.out, c.cache);
    const auto& pooled = c.out.batch;
    variable_list outs;
    outs.push_back(view_of(call, const_cast<Scalar*>(pooled.x.data()), {pooled.x.rows(), pooled.x.cols()}));
    outs.push_back(view_of(call, const_cast<Scalar*>(pooled.adj.valuePtr()), {pooled.adj.nonZeros()}));
    const auto options = at::TensorOptions().dtype(scalar_type_of<Scalar>());
    if constexpr (soft) {
      const Matrix<Scalar>& s = c.out.selection.s;
      outs.push_back(at::empty({s.rows(), s.cols()}, options));
      std::copy(s.data(), s.data() + s.size(), outs.back().template data_ptr<Scalar>());
    } else {
      const Vector<Scalar>& w = c.out.selection.weight;
      outs.push_back(at::empty({w.size()}, options));
      std::copy(w.data(), w.data() + w.size(), outs.back().template data_ptr<Scalar>());
    }
    for (const auto& loss : c.out.losses) outs.push_back(at::scalar_tensor(static_cast<double>(loss.value), options));
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    ctx->save_for_backward({x});  // x is read in place: torch refuses a backward after an in-place change
    ctx->set_materialize_grads(false);
    return outs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    (void)ctx->get_saved_variables();  // the version check of x
    const auto call = detail::call_of<PoolCall<L>>(ctx);
    PoolCall<L>& c = *call;
    const auto& pooled = c.out.batch;
    typename L::OutputGrad& g = c.buffers->grad;
    g.adj = Vector<Scalar>();  // empty: zero, unless torch sends one below
    g.selection = typename Selection::Gradient();
    g.x_lent.reset();
    at::Tensor gx;  // lent to the layer's backward (not copied): alive until it returns
    if (grads[0].defined()) {
      gx = detail::contiguous_grad(grads[0]);
      g.x_lent.emplace(map_matrix<Scalar>(gx));
    } else {
      g.x.setZero(pooled.x.rows(), pooled.x.cols());
    }
    if (grads[1].defined()) {
      const at::Tensor ga = detail::contiguous_grad(grads[1]);
      g.adj = Eigen::Map<const Vector<Scalar>>(ga.template data_ptr<Scalar>(), ga.numel());
    }
    if (grads[2].defined()) {
      const at::Tensor gs = detail::contiguous_grad(grads[2]);
      if constexpr (soft) g.selection = map_matrix<Scalar>(gs);
      else g.selection = Eigen::Map<const Vector<Scalar>>(gs.template data_ptr<Scalar>(), gs.numel());
    }
    const std::size_t losses = c.out.losses.size();
    g.losses.assign(losses, Scalar(0));
    for (std::size_t i = 0; i < losses; ++i)
      if (grads[3 + i].defined()) g.losses[i] = grads[3 + i].template item<Scalar>();
    BatchGrad<Scalar>& din = c.buffers->din;
    din.x = detail::gradient_matrix<Scalar>(c.x.size(0), c.x.size(1));
    // needs_input_grad counts the tensor inputs only: x is 0, edge_weight (when given) 1.
    din.adj_needed = c.weighted_input && ctx->needs_input_grad(1);
    ParameterSet<Scalar> dparams = c.params.zeros_like();
    c.layer->backward(c.params, c.batch(), c.out, c.cache, g, din, dparams);
    g.x_lent.reset();

    variable_list result(3 + c.slots.size());
    result[1] = take_gradient(std::move(din.x), {c.x.size(0), c.x.size(1)});
    if (din.adj_needed) result[2] = edge_weight_gradient(*c.structure, std::move(din.adj));
    c.parameter_gradients(dparams, result, 3);
    return result;
  }
};

/// Runs the `PoolLayer` `layer` (whose parameters were registered in `params`) on a batch in
/// PyG's form, as an autograd operation: backward runs `layer->backward`. `parameters` are the
/// torch tensors of the layer's parameter slots, in `parameter_slots` order (their gradients
/// flow back to them). `op` names the operation in error messages.
template <typename L>
  requires PoolLayer<L>
PoolResult pool(std::shared_ptr<const L> layer, ParameterSet<typename L::Scalar> params, const GraphInput& in,
                at::TensorList parameters, std::string_view op) {
  auto call = c10::make_intrusive<PoolCall<L>>();
  PoolCall<L>& c = *call;
  c.setup(std::move(layer), std::move(params), in, parameters, op, true);
  variable_list outs = PoolFunction<L>::apply(call, in.x, in.edge_weight, parameters);

  PoolResult r;
  r.x = outs[0];
  r.edge_weight = outs[1];
  if constexpr (PoolFunction<L>::soft) {
    r.s = outs[2];
  } else {
    r.weight = outs[2];
    r.assignment = index_tensor(c.out.selection.assignment);
    r.representative = index_tensor(c.out.selection.representative);
  }
  for (std::size_t i = 0; i < c.out.losses.size(); ++i) {
    r.loss_names.push_back(c.out.losses[i].name);
    r.losses.push_back(outs[3 + i]);
  }
  r.edge_index = edge_index_tensor(c.out.batch.adj);
  r.batch = batch_tensor(c.out.batch.offsets);
  return r;
}

// ---------------------------------------------------------------------------------------------
// GraphLayer (readouts, convolutions)
// ---------------------------------------------------------------------------------------------

namespace detail {

template <typename L>
constexpr bool layer_reads_adjacency() {
  if constexpr (requires { L::reads_adjacency; }) return L::reads_adjacency;
  else return true;
}

}  // namespace detail

/// The buffers of one `GraphLayer` call, reused as `PoolBuffers`.
template <typename L>
struct GraphLayerBuffers {
  Matrix<typename L::Scalar> y;
  typename L::Cache cache;
  Vector<typename L::Scalar> dadj;
};

/// One call of a `GraphLayer` (buffers as `PoolCall`).
template <typename L>
struct GraphLayerCall final : LayerCall<L> {
  std::unique_ptr<GraphLayerBuffers<L>> buffers = detail::BufferCache<GraphLayerBuffers<L>>::instance().take();
  Matrix<typename L::Scalar>& y = buffers->y;
  typename L::Cache& cache = buffers->cache;
  GraphLayerCall() = default;
  GraphLayerCall(const GraphLayerCall&) = delete;
  GraphLayerCall& operator=(const GraphLayerCall&) = delete;
  ~GraphLayerCall() override { detail::BufferCache<GraphLayerBuffers<L>>::instance().give(std::move(buffers)); }
};

/// The autograd function of a `GraphLayer` call: inputs the call, x, edge_weight (optional),
/// the parameters; output y (one row per node for a convolution, per graph for a readout).
template <typename L>
struct GraphLayerFunction : torch::autograd::Function<GraphLayerFunction<L>> {
  using Scalar = typename L::Scalar;

  static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<GraphLayerCall<L>> call, const at::Tensor& x,
                               const c10::optional<at::Tensor>& /*edge_weight*/, at::TensorList /*parameters*/) {
    GraphLayerCall<L>& c = *call;
    c.layer->forward(c.params, c.batch(), c.y, c.cache);
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    ctx->save_for_backward({x});
    ctx->set_materialize_grads(false);
    return {view_of(call, c.y.data(), {c.y.rows(), c.y.cols()})};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    (void)ctx->get_saved_variables();
    const auto call = detail::call_of<GraphLayerCall<L>>(ctx);
    GraphLayerCall<L>& c = *call;
    variable_list result(3 + c.slots.size());
    if (!grads[0].defined()) return result;
    const at::Tensor gy = detail::contiguous_grad(grads[0]);
    const auto dy = map_matrix<Scalar>(gy);
    Matrix<Scalar> dx;
    Vector<Scalar>& dadj = c.buffers->dadj;
    // needs_input_grad counts the tensor inputs only: x is 0, edge_weight (when given) 1.
    const bool need_dx = ctx->needs_input_grad(0);
    const bool need_dadj = detail::layer_reads_adjacency<L>() && c.weighted_input && ctx->needs_input_grad(1);
    ParameterSet<Scalar> dparams = c.params.zeros_like();
    if (need_dx) dx = detail::gradient_matrix<Scalar>(c.x.size(0), c.x.size(1));
    c.layer->backward(c.params, c.batch(), c.cache, dy, BatchGradRef<Scalar>{need_dx ? &dx : nullptr, need_dadj ? &dadj : nullptr},
                      dparams);
    if (need_dx) result[1] = take_gradient(std::move(dx), {c.x.size(0), c.x.size(1)});
    if (need_dadj) result[2] = edge_weight_gradient(*c.structure, std::move(dadj));
    c.parameter_gradients(dparams, result, 3);
    return result;
  }
};

/// Runs the `GraphLayer` `layer` on a batch in PyG's form as an autograd operation. A readout
/// (`reads_adjacency = false`) needs no edge_index; a convolution does.
template <typename L>
  requires GraphLayer<L>
at::Tensor graph_layer(std::shared_ptr<const L> layer, ParameterSet<typename L::Scalar> params, const GraphInput& in,
                       at::TensorList parameters, std::string_view op) {
  auto call = c10::make_intrusive<GraphLayerCall<L>>();
  call->setup(std::move(layer), std::move(params), in, parameters, op, detail::layer_reads_adjacency<L>());
  return GraphLayerFunction<L>::apply(call, in.x, in.edge_weight, parameters)[0];
}

// ---------------------------------------------------------------------------------------------
// Functional soft poolers on PyG's padded dense batch
// ---------------------------------------------------------------------------------------------

/// What `dense_soft_pool` returns: PyG's padded outputs.
struct DenseSoftResult {
  at::Tensor x;    ///< [B, K, F]
  at::Tensor adj;  ///< [B, K, K]
  at::Tensor s;    ///< [B, Nmax, K]: softmax(logits), padded rows 0
  std::vector<std::string> loss_names;
  std::vector<at::Tensor> losses;  ///< 0-dim
};

/// One call of a functional soft pooler (`SoftPoolFunction`) on a padded batch. The unpadded
/// batch is built from the valid rows (PyG's mask): when no graph is padded, x and the logits
/// are read in place; otherwise their valid rows are copied. The adjacency becomes CSR: every
/// (valid, valid) pair is stored when adj requires a gradient (PyG's dense gradient), only the
/// non-zero entries otherwise.
template <typename F>
struct DenseSoftCall final : torch::CustomClassHolder {
  using Scalar = typename F::Scalar;
  std::shared_ptr<const F> function;
  Index graphs = 0, nmax = 0, features = 0, clusters = 0;
  bool full = true;
  at::Tensor x, logits;                     ///< the padded inputs (mapped when full)
  Matrix<Scalar> x_rows, logits_rows;       ///< their valid rows (when not full)
  IndexVector offsets;
  SparseMatrix<Scalar> adj;
  std::vector<int64_t> position;            ///< flat index in [B, Nmax, Nmax] of each stored entry
  typename F::Output out;
  typename F::Cache cache;

  ConstMatrixRef<Scalar> x_view() const {
    if (full) return Eigen::Map<const Matrix<Scalar>>(x.data_ptr<Scalar>(), graphs * nmax, features);
    return x_rows;
  }
  ConstMatrixRef<Scalar> logits_view() const {
    if (full) return Eigen::Map<const Matrix<Scalar>>(logits.data_ptr<Scalar>(), graphs * nmax, clusters);
    return logits_rows;
  }
  /// Padded [B, Nmax, C] from valid rows `m` (N x C); zero-copy when full.
  at::Tensor pad(Matrix<Scalar>&& m, Index cols) const {
    if (full) return take(std::move(m), {graphs, nmax, cols});
    at::Tensor t = at::zeros({graphs, nmax, cols}, at::TensorOptions().dtype(scalar_type_of<Scalar>()));
    Scalar* p = t.data_ptr<Scalar>();
    for (Index b = 0; b < graphs; ++b) {
      const Index lo = offsets[static_cast<std::size_t>(b)], n = offsets[static_cast<std::size_t>(b) + 1] - lo;
      std::copy(m.data() + lo * cols, m.data() + (lo + n) * cols, p + b * nmax * cols);
    }
    return t;
  }
  /// The valid rows of a padded [B, Nmax, C] tensor.
  Matrix<Scalar> unpad(const at::Tensor& t, Index cols) const {
    const Scalar* p = t.data_ptr<Scalar>();
    if (full) return Eigen::Map<const Matrix<Scalar>>(p, graphs * nmax, cols);
    Matrix<Scalar> m(offsets.back(), cols);
    for (Index b = 0; b < graphs; ++b) {
      const Index lo = offsets[static_cast<std::size_t>(b)], n = offsets[static_cast<std::size_t>(b) + 1] - lo;
      std::copy(p + b * nmax * cols, p + (b * nmax + n) * cols, m.data() + lo * cols);
    }
    return m;
  }
};

template <typename F>
struct DenseSoftFunction : torch::autograd::Function<DenseSoftFunction<F>> {
  using Scalar = typename F::Scalar;

  static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<DenseSoftCall<F>> call, const at::Tensor& x,
                               const at::Tensor& adj, const at::Tensor& logits) {
    DenseSoftCall<F>& c = *call;
    const BatchRef<Scalar> batch(c.x_view(), c.adj, c.offsets);
    c.function->forward(batch, c.logits_view(), c.out, c.cache);
    const Index b = c.graphs, k = c.clusters;
    const auto options = at::TensorOptions().dtype(scalar_type_of<Scalar>());
    variable_list outs;
    const auto& pooled = c.out.batch;
    outs.push_back(view_of(call, const_cast<Scalar*>(pooled.x.data()), {b, k, pooled.x.cols()}));
    if (pooled.adj.nonZeros() == b * k * k) {  // K x K dense blocks, row-major: PyG's [B, K, K]
      outs.push_back(view_of(call, const_cast<Scalar*>(pooled.adj.valuePtr()), {b, k, k}));
    } else {
      at::Tensor a = at::zeros({b, k, k}, options);
      Scalar* p = a.data_ptr<Scalar>();
      for (Index i = 0; i < pooled.adj.rows(); ++i)
        for (typename SparseMatrix<Scalar>::InnerIterator it(pooled.adj, i); it; ++it) p[i * k + it.col() % k] = it.value();
      outs.push_back(a);
    }
    Matrix<Scalar> s = c.out.selection.s;  // copied: backward reads the selection
    outs.push_back(c.pad(std::move(s), k));
    for (const auto& loss : c.out.losses) outs.push_back(at::scalar_tensor(static_cast<double>(loss.value), options));
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    ctx->save_for_backward({x, adj, logits});
    ctx->set_materialize_grads(false);
    return outs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    (void)ctx->get_saved_variables();
    const auto call = detail::call_of<DenseSoftCall<F>>(ctx);
    DenseSoftCall<F>& c = *call;
    const Index b = c.graphs, k = c.clusters;
    const auto& pooled = c.out.batch;
    typename F::OutputGrad g;
    at::Tensor gx;  // lent to the function's backward (not copied)
    if (grads[0].defined()) {
      gx = detail::contiguous_grad(grads[0]);
      g.x_lent.emplace(gx.data_ptr<Scalar>(), b * k, pooled.x.cols());
    } else {
      g.x.setZero(pooled.x.rows(), pooled.x.cols());
    }
    if (grads[1].defined()) {
      const at::Tensor ga = detail::contiguous_grad(grads[1]);
      const Scalar* p = ga.data_ptr<Scalar>();
      if (pooled.adj.nonZeros() == b * k * k) {
        g.adj = Eigen::Map<const Vector<Scalar>>(p, b * k * k);
      } else {
        g.adj.resize(pooled.adj.nonZeros());
        for (Index i = 0; i < pooled.adj.rows(); ++i)
          for (StorageIndex q = pooled.adj.outerIndexPtr()[i]; q < pooled.adj.outerIndexPtr()[i + 1]; ++q)
            g.adj[q] = p[i * k + pooled.adj.innerIndexPtr()[q] % k];
      }
    }
    if (grads[2].defined()) g.selection = c.unpad(detail::contiguous_grad(grads[2]), k);
    g.losses.assign(c.out.losses.size(), Scalar(0));
    for (std::size_t i = 0; i < g.losses.size(); ++i)
      if (grads[3 + i].defined()) g.losses[i] = grads[3 + i].template item<Scalar>();
    BatchGrad<Scalar> din;
    din.adj_needed = ctx->needs_input_grad(1);  // the tensor inputs are x, adj, logits
    Matrix<Scalar> dlogits;
    const BatchRef<Scalar> batch(c.x_view(), c.adj, c.offsets);
    c.function->backward(batch, c.out, c.cache, g, din, dlogits);
    variable_list result(4);
    result[1] = c.pad(std::move(din.x), c.features);
    if (din.adj_needed) {
      at::Tensor da = at::zeros({b, c.nmax, c.nmax}, at::TensorOptions().dtype(scalar_type_of<Scalar>()));
      Scalar* p = da.data_ptr<Scalar>();
      for (std::size_t e = 0; e < c.position.size(); ++e) p[c.position[e]] = din.adj[static_cast<Index>(e)];
      result[2] = da;
    }
    result[3] = c.pad(std::move(dlogits), k);
    return result;
  }
};

/// Runs the functional soft pooler `function` (`mincut_pool_function()`, ...) on PyG's padded
/// batch: x [B, Nmax, F], adj [B, Nmax, Nmax] (adj[b, i, j] = weight of the edge j -> i), the
/// assignment logits [B, Nmax, K], and mask [B, Nmax] (valid rows first, as PyG's
/// `to_dense_batch`); 2-D inputs are one graph. Entries of adj on padded rows or columns must
/// be 0. Differentiable in x, adj and logits.
template <typename F>
DenseSoftResult dense_soft_pool(std::shared_ptr<const F> function, at::Tensor x, at::Tensor adj, at::Tensor logits,
                                const c10::optional<at::Tensor>& mask, std::string_view op) {
  using Scalar = typename F::Scalar;
  if (x.defined() && x.dim() == 2) x = x.unsqueeze(0);
  if (adj.defined() && adj.dim() == 2) adj = adj.unsqueeze(0);
  if (logits.defined() && logits.dim() == 2) logits = logits.unsqueeze(0);
  check_floating(x, 3, op, "x");
  check_floating(adj, 3, op, "adj");
  check_floating(logits, 3, op, "s");
  GNNPOOL_CHECK(x.scalar_type() == scalar_type_of<Scalar>(), invalid_argument, op, ": x is ", x.scalar_type(),
                " but the function was built for ", scalar_type_of<Scalar>());
  check_same_dtype(adj, x, op, "adj");
  check_same_dtype(logits, x, op, "s");
  auto call = c10::make_intrusive<DenseSoftCall<F>>();
  DenseSoftCall<F>& c = *call;
  c.function = std::move(function);
  c.graphs = x.size(0);
  c.nmax = x.size(1);
  c.features = x.size(2);
  c.clusters = logits.size(2);
  GNNPOOL_CHECK(adj.size(0) == c.graphs && adj.size(1) == c.nmax && adj.size(2) == c.nmax, shape_error, op, ": adj is ",
                detail::sizes_of(adj), " but x is ", detail::sizes_of(x), "; expected [", c.graphs, ", ", c.nmax, ", ",
                c.nmax, "]");
  GNNPOOL_CHECK(logits.size(0) == c.graphs && logits.size(1) == c.nmax && c.clusters >= 1, shape_error, op, ": s is ",
                detail::sizes_of(logits), " but x is ", detail::sizes_of(x), "; expected [", c.graphs, ", ", c.nmax,
                ", K] with K >= 1");
  c.x = x;
  c.logits = logits;
  c.offsets.assign(1, 0);
  if (mask && mask->defined()) {
    at::Tensor m = mask->dim() == 1 ? mask->unsqueeze(0) : *mask;
    check_cpu_contiguous(m, op, "mask");
    GNNPOOL_CHECK(m.scalar_type() == at::kBool, invalid_argument, op, ": mask must be a bool tensor, got ", m.scalar_type());
    GNNPOOL_CHECK(m.dim() == 2 && m.size(0) == c.graphs && m.size(1) == c.nmax, shape_error, op, ": mask is ",
                  detail::sizes_of(m), ", expected [", c.graphs, ", ", c.nmax, "]");
    const bool* v = m.data_ptr<bool>();
    for (Index g = 0; g < c.graphs; ++g) {
      Index n = 0;
      while (n < c.nmax && v[g * c.nmax + n]) ++n;
      for (Index i = n; i < c.nmax; ++i)
        GNNPOOL_CHECK(!v[g * c.nmax + i], invalid_argument, op, ": graph ", g, "'s mask has a hole at row ", n,
                      " (valid rows must come first, as to_dense_batch makes them)");
      c.full = c.full && n == c.nmax;
      c.offsets.push_back(c.offsets.back() + n);
    }
  } else {
    for (Index g = 0; g < c.graphs; ++g) c.offsets.push_back(c.offsets.back() + c.nmax);
  }
  if (!c.full) {
    c.x_rows = c.unpad(x, c.features);
    c.logits_rows = c.unpad(logits, c.clusters);
  }
  // CSR of the valid pairs, and where each stored entry lives in the padded tensor.
  const bool keep_zeros = adj.requires_grad();
  const Scalar* a = adj.data_ptr<Scalar>();
  const Index total = c.offsets.back();
  c.adj.resize(total, total);
  std::vector<StorageIndex> inner;
  std::vector<Scalar> values;
  std::vector<StorageIndex> outer(static_cast<std::size_t>(total) + 1, 0);
  for (Index g = 0; g < c.graphs; ++g) {
    const Index lo = c.offsets[static_cast<std::size_t>(g)], n = c.offsets[static_cast<std::size_t>(g) + 1] - lo;
    for (Index i = 0; i < c.nmax; ++i) {
      for (Index j = 0; j < c.nmax; ++j) {
        const int64_t at_ = (g * c.nmax + i) * c.nmax + j;
        const Scalar w = a[at_];
        if (i >= n || j >= n) {
          GNNPOOL_CHECK(w == Scalar(0), invalid_argument, op, ": graph ", g, " has the weight ", w,
                        " on the padded pair (", i, ", ", j, "); entries outside the mask must be 0");
          continue;
        }
        if (!keep_zeros && w == Scalar(0)) continue;
        inner.push_back(static_cast<StorageIndex>(lo + j));
        values.push_back(w);
        c.position.push_back(at_);
      }
      if (i < n) outer[static_cast<std::size_t>(lo + i) + 1] = static_cast<StorageIndex>(inner.size());
    }
  }
  c.adj.resizeNonZeros(static_cast<Index>(inner.size()));
  std::copy(outer.begin(), outer.end(), c.adj.outerIndexPtr());
  std::copy(inner.begin(), inner.end(), c.adj.innerIndexPtr());
  std::copy(values.begin(), values.end(), c.adj.valuePtr());

  variable_list outs = DenseSoftFunction<F>::apply(call, x, adj, logits);
  DenseSoftResult r;
  r.x = outs[0];
  r.adj = outs[1];
  r.s = outs[2];
  for (std::size_t i = 0; i < c.out.losses.size(); ++i) {
    r.loss_names.push_back(c.out.losses[i].name);
    r.losses.push_back(outs[3 + i]);
  }
  return r;
}

}  // namespace gnnpool::pyg

#endif
