#ifndef GNNPOOL_CORE_CONCEPTS_HPP
#define GNNPOOL_CORE_CONCEPTS_HPP

/// \file
/// THE contracts of gnnpool, written once:
///
/// - the policy concepts, one per role of the Select-Reduce-Connect (SRC) form, which
///   `Pool<Select, Reduce, Connect, Losses...>` (pool/pool.hpp) composes;
/// - the layer concepts (`FeatureLayer`, `GraphLayer`, `PoolLayer`; lifts are `LiftPolicy`): what a layer
///   offers so that the model layer (model/tape.hpp) records a call to it with no glue. Every
///   layer of gnnpool satisfies one of them, and so does a user's layer that follows the same
///   shape; the whole-model gradient check (model/check.hpp) then checks it too.
///
/// Each requirement has its prose beside it.
///
/// Common rules for every policy
/// -----------------------------
/// - Exports `using Scalar` and a nested `struct Cache` (what backward needs from forward).
/// - `forward` is `const`, writes only its outputs and its caller-owned `Cache`: a policy
///   object holds hyper-parameters and parameter *slots* only, so two threads may run one
///   policy on different batches at the same time.
/// - `backward` is a vector-Jacobian product. For an upstream gradient G with the shape of the
///   output, it returns the gradient of f = <forward(inputs, params), G>, differentiating the
///   branch that forward took (kept set, argmax, matching: read from the cache).
/// - Inside a composition, policy backward passes ADD their contribution to the input
///   gradients (`BatchGrad` and the selection gradient) that `Pool::backward` zero-filled; the
///   public `Pool::backward` therefore ASSIGNS its outputs. Parameter gradients are ASSIGNED into
///   the policy's own slots of the gradient `ParameterSet`.
/// - Public entry points check their arguments (errors.hpp); policies may assume that
///   `Pool` has already checked the batch.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>

#include <concepts>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Select: S = select(X, A).
///
/// Requires `using Selection` (`HardSelection<Scalar>` or `SoftSelection<Scalar>`), and
/// - `void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                 Selection& sel, Cache& cache) const;`
///   fills `sel` for every graph of `in` (graph-major supernodes, `sel.offsets` per graph).
/// - `void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                  const Selection& sel, const Cache& cache,
///                  const typename Selection::Gradient& dsel,
///                  BatchGrad<Scalar>& din, ParameterSet<Scalar>& dparams) const;`
///   adds dL/dX (and dL/dA on the stored entries, when the scorer reads edge weights) into
///   `din`, and assigns the gradients of the policy's own parameters into `dparams`.
///   `dsel` holds dL/d(selection) summed over every consumer (reduce, connect, losses, the
///   caller).
/// - `void parameter_slots(std::vector<Index>& out) const;` appends the slots backward assigns
///   (none for a selector without parameters): the model layer and the gradient checks read
///   which parameters a pooler owns from it.
template <typename P>
concept SelectPolicy = requires(const P& p, const ParameterSet<typename P::Scalar>& params,
                                const BatchRef<typename P::Scalar>& in, typename P::Selection& sel,
                                typename P::Cache& cache,
                                const typename P::Selection::Gradient& dsel,
                                BatchGrad<typename P::Scalar>& din,
                                ParameterSet<typename P::Scalar>& dparams, std::vector<Index>& slots) {
  typename P::Scalar;
  typename P::Selection;
  typename P::Cache;
  p.parameter_slots(slots);
  { p.forward(params, in, sel, cache) } -> std::same_as<void>;
  { p.backward(params, in, std::as_const(sel), std::as_const(cache), dsel, din, dparams) } -> std::same_as<void>;
};

/// Reduce: X' = reduce(X, S).
///
/// - `void forward(const BatchRef<Scalar>& in, const Selection& sel, Matrix<Scalar>& x_out,
///                 Cache& cache) const;` x_out has one row per supernode.
/// - `void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache,
///                  const ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din,
///                  typename Selection::Gradient& dsel) const;` adds dL/dX into din.x and
///   dL/dS into dsel. dx_out is a view: the caller's gradient is read where it lies (the
///   PyTorch bridge lends torch's tensor).
template <typename P, typename Selection>
concept ReducePolicy = requires(const P& p, const BatchRef<typename P::Scalar>& in, const Selection& sel,
                                Matrix<typename P::Scalar>& x_out, typename P::Cache& cache,
                                const ConstMatrixRef<typename P::Scalar>& dx_out,
                                BatchGrad<typename P::Scalar>& din,
                                typename Selection::Gradient& dsel) {
  typename P::Scalar;
  typename P::Cache;
  { p.forward(in, sel, x_out, cache) } -> std::same_as<void>;
  { p.backward(in, sel, std::as_const(cache), dx_out, din, dsel) } -> std::same_as<void>;
};

/// Connect: A' = connect(A, S).
///
/// - `void forward(const BatchRef<Scalar>& in, const Selection& sel, SparseMatrix<Scalar>& adj_out,
///                 Cache& cache) const;` adj_out is block-diagonal over the output graphs
///   (supernode offsets of `sel`) and compressed.
/// - `void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache,
///                  const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din,
///                  typename Selection::Gradient& dsel) const;` `dadj_out` has one entry per
///   stored entry of adj_out (CSR order); adds dL/dA (stored entries of in.adj) into din.adj and
///   dL/dS into dsel.
template <typename P, typename Selection>
concept ConnectPolicy = requires(const P& p, const BatchRef<typename P::Scalar>& in, const Selection& sel,
                                 SparseMatrix<typename P::Scalar>& adj_out, typename P::Cache& cache,
                                 const Vector<typename P::Scalar>& dadj_out,
                                 BatchGrad<typename P::Scalar>& din,
                                 typename Selection::Gradient& dsel) {
  typename P::Scalar;
  typename P::Cache;
  { p.forward(in, sel, adj_out, cache) } -> std::same_as<void>;
  { p.backward(in, sel, std::as_const(cache), dadj_out, din, dsel) } -> std::same_as<void>;
};

/// Auxiliary loss: a scalar of (A, S), batch-reduced (mean over graphs unless said otherwise).
/// A loss may also read parameters (the second form below).
///
/// - `std::string_view name() const;` the key under which forward reports it (PyG's name).
/// - `typename P::Scalar weight() const;` its coefficient in the objective (0 switches it off).
/// - `Scalar forward(const BatchRef<Scalar>& in, const Selection& sel, Cache& cache) const;`
/// - `void backward(const BatchRef<Scalar>& in, const Selection& sel, const Cache& cache,
///                  Scalar dloss, BatchGrad<Scalar>& din, typename Selection::Gradient& dsel) const;`
///   adds dloss * d(loss)/dA into din.adj and dloss * d(loss)/dS into dsel.
template <typename P, typename Selection>
concept LossPolicy = requires(const P& p, const BatchRef<typename P::Scalar>& in, const Selection& sel,
                              typename P::Cache& cache, typename P::Scalar dloss,
                              BatchGrad<typename P::Scalar>& din,
                              typename Selection::Gradient& dsel, const ParameterSet<typename P::Scalar>& params,
                              ParameterSet<typename P::Scalar>& dparams, std::vector<Index>& slots) {
  typename P::Scalar;
  typename P::Cache;
  { p.name() } -> std::convertible_to<std::string_view>;
  { p.weight() } -> std::convertible_to<typename P::Scalar>;
  requires (requires {
    { p.forward(in, sel, cache) } -> std::convertible_to<typename P::Scalar>;
    { p.backward(in, sel, std::as_const(cache), dloss, din, dsel) } -> std::same_as<void>;
  }) || (requires {
    // A loss with parameters (BN-Pool's K): it reads them, ADDS their gradients (several losses
    // may share one; Pool zero-fills the losses' slots first) and lists its slots.
    p.parameter_slots(slots);
    { p.forward(params, in, sel, cache) } -> std::convertible_to<typename P::Scalar>;
    { p.backward(params, in, sel, std::as_const(cache), dloss, din, dsel, dparams) } -> std::same_as<void>;
  });
};

/// Lift (unpooling): X ~ lift(X', S), back to the input nodes.
///
/// - `void forward(const Selection& sel, const Matrix<Scalar>& x_pooled, Matrix<Scalar>& x_out) const;`
///   x_out has one row per input node of the selection.
/// - `void backward(const Selection& sel, const Matrix<Scalar>& x_pooled, const Matrix<Scalar>& dx_out,
///                  Matrix<Scalar>& dx_pooled, typename Selection::Gradient& dsel) const;` assigns
///   dx_pooled and adds dL/dS into dsel (leave it untouched where the lift does not read S's
///   values). x_pooled is the forward's input: a lift that weights X' by S needs it for dS
///   (SoftLift), one that only copies rows may ignore it (HardLift).
template <typename P, typename Selection>
concept LiftPolicy = requires(const P& p, const Selection& sel, const Matrix<typename P::Scalar>& xp,
                              Matrix<typename P::Scalar>& x_out,
                              typename Selection::Gradient& dsel) {
  typename P::Scalar;
  { p.forward(sel, xp, x_out) } -> std::same_as<void>;
  { p.backward(sel, xp, std::as_const(x_out), x_out, dsel) } -> std::same_as<void>;
};

/// Common rules for every layer
/// ----------------------------
/// - Exports `using Scalar` and a nested `struct Cache` (may be empty).
/// - `std::string_view name() const`: names the layer in messages ("conv1 (GCNConv)").
/// - `void parameter_slots(std::vector<Index>& out) const` appends the slots of the
///   ParameterSet that backward assigns (none for a layer without parameters). The model layer
///   uses it to sum the gradients of a layer called twice in one step (shared weights), and the
///   gradient checks to vary only what the layer owns.
/// - `forward` is const and fills the caller's Cache; `backward` reads it. A gradient target
///   passed as a pointer may be null: the caller needs no such gradient and the layer skips that
///   work. Non-null targets, and the layer's parameter slots, are ASSIGNED.
template <typename L>
concept Layer = requires(const L& l, std::vector<Index>& slots) {
  typename L::Scalar;
  typename L::Cache;
  { l.name() } -> std::convertible_to<std::string_view>;
  l.parameter_slots(slots);
};

/// A layer on node (or graph) features alone: Y = f(X) (Linear, MLP).
///
/// - `void forward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x,
///                 Matrix<Scalar>& y, Cache& cache) const;`
/// - `void backward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x,
///                  const Cache& cache, const ConstMatrixRef<Scalar>& dy, Matrix<Scalar>* dx,
///                  ParameterSet<Scalar>& dparams) const;`
template <typename L>
concept FeatureLayer = Layer<L> && requires(const L& l, const ParameterSet<typename L::Scalar>& params,
                                            const ConstMatrixRef<typename L::Scalar>& x,
                                            Matrix<typename L::Scalar>& y, typename L::Cache& cache,
                                            Matrix<typename L::Scalar>* dx,
                                            ParameterSet<typename L::Scalar>& dparams) {
  { l.forward(params, x, y, cache) } -> std::same_as<void>;
  { l.backward(params, x, std::as_const(cache), x, dx, dparams) } -> std::same_as<void>;
};

/// A layer on a batch that returns a dense matrix: graph convolutions (one row per node) and
/// global readouts (one row per graph).
///
/// - `void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                 Matrix<Scalar>& y, Cache& cache) const;`
/// - `void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                  const Cache& cache, const ConstMatrixRef<Scalar>& dy, BatchGradRef<Scalar> din,
///                  ParameterSet<Scalar>& dparams) const;`
/// Optional: `static constexpr bool reads_adjacency = false` for a layer that reads x and the
/// offsets only (readouts): it is then never given an adjacency gradient to fill.
template <typename L>
concept GraphLayer = Layer<L> && requires(const L& l, const ParameterSet<typename L::Scalar>& params,
                                          const BatchRef<typename L::Scalar>& in, Matrix<typename L::Scalar>& y,
                                          typename L::Cache& cache, BatchGradRef<typename L::Scalar> din,
                                          ParameterSet<typename L::Scalar>& dparams) {
  { l.forward(params, in, y, cache) } -> std::same_as<void>;
  { l.backward(params, in, std::as_const(cache), y, din, dparams) } -> std::same_as<void>;
};

namespace detail {

/// Whether a graph layer reads the adjacency values (`reads_adjacency`, true unless the layer says
/// otherwise): only then is it given an adjacency gradient to fill.
template <typename L>
constexpr bool reads_adjacency() {
  if constexpr (requires { L::reads_adjacency; }) return L::reads_adjacency;
  else return true;
}

}  // namespace detail

/// Global readout: one row per graph (the K = 1 case of pooling), B x F'. A `GraphLayer` that
/// reads x and the offsets only (`reads_adjacency = false`): backward writes din.x (when not
/// null) and never din.adj. An empty graph reads out as a row of zeros, never NaN.
template <typename P>
concept ReadoutPolicy = GraphLayer<P> && requires { requires !P::reads_adjacency; };

/// A pooler: `Pool<...>` and the named poolers built on it (TopKPool, MinCutPool, ...).
///
/// Requires `Output` (a `PoolOutput`: pooled batch, selection, auxiliary losses), `OutputGrad`
/// (a `PoolOutputGrad`), and
/// - `void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Output& out,
///                 Cache& cache) const;`
/// - `void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                  const Output& out, const Cache& cache, const OutputGrad& grad,
///                  BatchGrad<Scalar>& din, ParameterSet<Scalar>& dparams) const;` assigns din
///   (x and every stored entry of in.adj).
/// - `static constexpr bool adjacency_depends_on_selection`: whether the pooled adjacency's
///   values depend on the selection's values (so on x and the parameters).
template <typename L>
concept PoolLayer = Layer<L> && requires(const L& l, const ParameterSet<typename L::Scalar>& params,
                                         const BatchRef<typename L::Scalar>& in, typename L::Output& out,
                                         typename L::Cache& cache, const typename L::OutputGrad& grad,
                                         BatchGrad<typename L::Scalar>& din,
                                         ParameterSet<typename L::Scalar>& dparams) {
  { l.forward(params, in, out, cache) } -> std::same_as<void>;
  { l.backward(params, in, std::as_const(out), std::as_const(cache), grad, din, dparams) } -> std::same_as<void>;
  { L::adjacency_depends_on_selection } -> std::convertible_to<bool>;
};

}  // namespace gnnpool

#endif
