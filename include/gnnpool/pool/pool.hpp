#ifndef GNNPOOL_POOL_POOL_HPP
#define GNNPOOL_POOL_POOL_HPP

/// \file
/// `Pool<Select, Reduce, Connect, Losses...>`: the SRC composition that every named pooler is.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/core/parallel.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace gnnpool {

/// One auxiliary loss term reported by forward: it enters the objective as `weight * value`.
template <typename Scalar>
struct AuxLoss {
  std::string name;
  Scalar value;
  Scalar weight;
};

/// What a pooler returns: the pooled batch (same type as its input, so poolers chain), the
/// selection it made, and its auxiliary losses.
template <typename Scalar, typename Selection>
struct PoolOutput {
  Batch<Scalar> batch;
  Selection selection;
  std::vector<AuxLoss<Scalar>> losses;

  /// Value of the loss called `name` (throws `invalid_argument` when absent).
  Scalar loss(std::string_view name) const {
    for (const auto& l : losses)
      if (l.name == name) return l.value;
    detail::raise<invalid_argument>(detail::concat("PoolOutput: no auxiliary loss named '", name, "'"));
  }
  /// sum of weight * value over the auxiliary losses.
  Scalar weighted_loss() const {
    Scalar s(0);
    for (const auto& l : losses) s += l.weight * l.value;
    return s;
  }
};

/// Upstream gradient of a pooler: dL/d(pooled x), dL/d(pooled adj values, CSR order),
/// dL/d(selection) and dL/d(auxiliary loss i). An empty `adj` or `selection` means zero. An
/// empty `losses` means that each loss enters the objective with its weight (its upstream
/// gradient is `AuxLoss::weight`); otherwise it has one entry per auxiliary loss, in the order
/// forward reports them (the model layer passes the gradients its loss expression gives).
template <typename Scalar, typename Selection>
struct PoolOutputGrad {
  Matrix<Scalar> x{};
  Vector<Scalar> adj{};
  typename Selection::Gradient selection{};
  std::vector<Scalar> losses{};
  /// Instead of `x`: dL/d(pooled x) read where it already lies, not copied (the PyTorch bridge
  /// lends torch's gradient tensor: N' x F values saved per call). It must outlive `backward`;
  /// when set, `x` is not read.
  std::optional<Eigen::Map<const Matrix<Scalar>>> x_lent{};

  /// dL/d(pooled x): `x_lent` when set, `x` otherwise.
  Eigen::Map<const Matrix<Scalar>> x_grad() const {
    return x_lent ? *x_lent : Eigen::Map<const Matrix<Scalar>>(x.data(), x.rows(), x.cols());
  }
};

namespace detail {

/// A loss's forward: `forward(params, in, sel, cache)` for a loss with parameters, otherwise
/// `forward(in, sel, cache)`. When the connect's cache holds the product A S of the same batch
/// and selection (`Connect::adjacency_product(cache)`, SoftConnect) and the loss can take it
/// (`forward(in, sel, cache, &as)`: the quadratic-form losses), the loss reads it instead of
/// computing it again: the same values, one gather pass over the edges less per forward.
template <typename Loss, typename Connect, typename Scalar, typename Selection, typename LossCache,
          typename ConnectCache>
Scalar loss_forward(const Loss& loss, const Connect&, const ConnectCache& connect_cache,
                    const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                    LossCache& cache) {
  if constexpr (requires { loss.forward(params, in, sel, cache); }) return loss.forward(params, in, sel, cache);
  else if constexpr (requires { loss.forward(in, sel, cache, &Connect::adjacency_product(connect_cache)); })
    return loss.forward(in, sel, cache, &Connect::adjacency_product(connect_cache));
  else return loss.forward(in, sel, cache);
}

/// A loss's backward; a loss with parameters also ADDS its parameter gradients into dparams. A
/// loss that can defer its A^T scatter (the quadratic-form losses) gets `deferred` when the
/// caller has one (returns true: the caller scatters it), else scatters itself.
template <typename Loss, typename Scalar, typename Selection, typename LossCache, typename SelectionGrad>
bool loss_backward(const Loss& loss, const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
                   const Selection& sel, const LossCache& cache, Scalar dloss, BatchGrad<Scalar>& din,
                   SelectionGrad& dsel, ParameterSet<Scalar>& dparams, Matrix<Scalar>* deferred) {
  if constexpr (requires { loss.backward(params, in, sel, cache, dloss, din, dsel, dparams); }) {
    loss.backward(params, in, sel, cache, dloss, din, dsel, dparams);
  } else if constexpr (requires { loss.backward(in, sel, cache, dloss, din, dsel, deferred); }) {
    loss.backward(in, sel, cache, dloss, din, dsel, deferred);
    return deferred != nullptr;
  } else {
    loss.backward(in, sel, cache, dloss, din, dsel);
  }
  return false;
}

/// Whether a connect policy's output values depend on the selection's values (S, weights), not
/// only on which nodes it keeps: true unless the policy says otherwise with
/// `static constexpr bool reads_selection_values = false`.
template <typename Connect>
constexpr bool connect_reads_selection_values() {
  if constexpr (requires { Connect::reads_selection_values; }) return Connect::reads_selection_values;
  else return true;
}

}  // namespace detail

/// The Select-Reduce-Connect composition (docs/concepts.md).
///
/// Forward:  S = select(X, A);  X' = reduce(X, S);  A' = connect(A, S);  l_i = loss_i(A, S).
/// Backward: with G = (G_X', G_A', G_S) and loss weights w_i, the VJP of
///           L = <X', G_X'> + <A', G_A'> + <S, G_S> + sum_i w_i l_i
///           is accumulated policy by policy (reduce, connect, losses add into dL/dS, dL/dX,
///           dL/dA), then select turns dL/dS into dL/dX, dL/dA and the parameter gradients.
///
/// Shapes: in.x N x F; out.batch.x M x F' (M supernodes); in.adj / out.batch.adj CSR.
/// Cache: the caches of the policies. Cost: the sum of the policies' costs plus O(N + E) for the
/// input checks. Thread safety: `forward` and `backward` are const.
template <typename Select, typename Reduce, typename Connect, typename... Losses>
  requires SelectPolicy<Select> && ReducePolicy<Reduce, typename Select::Selection> &&
           ConnectPolicy<Connect, typename Select::Selection> &&
           (LossPolicy<Losses, typename Select::Selection> && ...)
class Pool {
 public:
  using Scalar = typename Select::Scalar;
  using Selection = typename Select::Selection;
  using Output = PoolOutput<Scalar, Selection>;
  using OutputGrad = PoolOutputGrad<Scalar, Selection>;
  static_assert(std::is_same_v<Scalar, typename Reduce::Scalar> &&
                    std::is_same_v<Scalar, typename Connect::Scalar> &&
                    (std::is_same_v<Scalar, typename Losses::Scalar> && ...),
                "gnnpool::Pool: Select, Reduce, Connect and the losses must share one Scalar type");

  struct Cache {
    typename Select::Cache select;
    typename Reduce::Cache reduce;
    typename Connect::Cache connect;
    std::tuple<typename Losses::Cache...> losses;
    /// Backward workspace of the deferred A^T scatter (soft poolers; see `backward`), reused.
    mutable Matrix<Scalar> scatter;
  };

  /// Whether the pooled adjacency's values depend on the selection's values (and through them
  /// on x and the parameters): the soft poolers' S^T A S does, TopK's induced subgraph does not.
  /// The model layer uses it to know whether the pooled graph carries a gradient.
  static constexpr bool adjacency_depends_on_selection = detail::connect_reads_selection_values<Connect>();

  Pool(std::string name, Select select, Reduce reduce, Connect connect, Losses... losses)
      : m_name(std::move(name)), m_select(std::move(select)), m_reduce(std::move(reduce)),
        m_connect(std::move(connect)), m_losses(std::move(losses)...) {}

  /// Names the pooler in messages ("pools.0 (TopKPool)").
  const std::string& name() const { return m_name; }
  /// Appends the parameter slots of the policies (what backward assigns).
  /// Appends each slot once (several losses may share a parameter: BN-Pool's K).
  void parameter_slots(std::vector<Index>& out) const {
    const std::size_t first = out.size();
    auto add = [&](const auto& policy) {
      if constexpr (requires { policy.parameter_slots(out); }) policy.parameter_slots(out);
    };
    add(m_select);
    add(m_reduce);
    add(m_connect);
    std::apply([&](const auto&... loss) { (add(loss), ...); }, m_losses);
    std::vector<Index> mine(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    out.resize(first);
    for (const Index s : mine)
      if (std::find(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), s) == out.end()) out.push_back(s);
  }
  /// The discrete decisions of a forward, for the whole-model gradient check: the hard
  /// assignment (if any) and the structure of the pooled adjacency.
  static void discrete(const Output& out, std::vector<Index>& decisions) {
    if constexpr (requires { out.selection.assignment; })
      decisions.insert(decisions.end(), out.selection.assignment.begin(), out.selection.assignment.end());
    const SparseMatrix<Scalar>& a = out.batch.adj;
    decisions.insert(decisions.end(), a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1);
    decisions.insert(decisions.end(), a.innerIndexPtr(), a.innerIndexPtr() + a.nonZeros());
  }
  /// The same, plus the choices the select policy reports from its cache (`discrete(cache,
  /// decisions)`: LaPool's leaders, ...), which need not show in the output's structure.
  void discrete(const Output& out, const Cache& cache, std::vector<Index>& decisions) const {
    discrete(out, decisions);
    if constexpr (requires { m_select.discrete(cache.select, decisions); }) m_select.discrete(cache.select, decisions);
  }
  const Select& select() const { return m_select; }
  const Reduce& reduce() const { return m_reduce; }
  const Connect& connect() const { return m_connect; }
  const std::tuple<Losses...>& losses() const { return m_losses; }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Output& out,
               Cache& cache) const {
    check_batch(in, m_name);
    if (m_in_features >= 0) check_features(in, m_in_features, m_name);
    m_select.forward(params, in, out.selection, cache.select);
    m_reduce.forward(in, out.selection, out.batch.x, cache.reduce);
    m_connect.forward(in, out.selection, out.batch.adj, cache.connect);
    out.batch.offsets = out.selection.offsets;
    if constexpr (std::derived_from<Selection, SoftSelection<Scalar>>) {
      for (auto& o : out.batch.offsets) o = 0;
      for (std::size_t b = 0; b < out.batch.offsets.size(); ++b)
        out.batch.offsets[b] = static_cast<Index>(b) * out.selection.num_clusters();
    }
    out.losses.clear();
    std::apply(
        [&](auto&... loss) {
          std::apply(
              [&](auto&... loss_cache) {
                (out.losses.push_back(AuxLoss<Scalar>{std::string(loss.name()),
                                                      detail::loss_forward(loss, m_connect, cache.connect, params, in,
                                                                           out.selection, loss_cache),
                                                      loss.weight()}),
                 ...);
              },
              cache.losses);
        },
        m_losses);
  }

  /// ASSIGNS din.x (N x F), din.adj (one entry per stored entry of in.adj; all zero when
  /// `din.adj_needed` is false, and its work skipped) and this pooler's parameter slots of dparams.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Output& out,
                const Cache& cache, const OutputGrad& grad, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Eigen::Map<const Matrix<Scalar>> dx_out = grad.x_grad();
    GNNPOOL_CHECK(dx_out.rows() == out.batch.x.rows() && dx_out.cols() == out.batch.x.cols(),
                  shape_error, m_name, ": the gradient of x is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), " but the pooled x is ",
                  detail::shape(out.batch.x.rows(), out.batch.x.cols()));
    GNNPOOL_CHECK(grad.adj.size() == 0 || grad.adj.size() == out.batch.adj.nonZeros(), shape_error,
                  m_name, ": the gradient of adj has ", grad.adj.size(),
                  " entries but the pooled adjacency stores ", out.batch.adj.nonZeros());
    detail::set_zero_rows(din.x, in.x.rows(), in.x.cols());
    detail::set_zero_rows(din.adj, in.adj.nonZeros());
    typename Selection::Gradient dsel;
    if (grad.selection.size() != 0) {
      GNNPOOL_CHECK(grad.selection.rows() == selection_rows(out.selection) &&
                        grad.selection.cols() == selection_cols(out.selection),
                    shape_error, m_name, ": the gradient of the selection is ",
                    detail::shape(grad.selection.rows(), grad.selection.cols()), ", expected ",
                    detail::shape(selection_rows(out.selection), selection_cols(out.selection)));
      dsel = grad.selection;
    } else {
      dsel.setZero(selection_rows(out.selection), selection_cols(out.selection));
    }
    GNNPOOL_CHECK(grad.losses.empty() || grad.losses.size() == sizeof...(Losses), shape_error, m_name,
                  ": the gradient has ", grad.losses.size(), " auxiliary-loss entries but the pooler has ",
                  sizeof...(Losses), " losses");
    m_reduce.backward(in, out.selection, cache.reduce, dx_out, din, dsel);
    // The soft connect and the quadratic-form losses each scatter rows through A^T into dS: when
    // the connect offers the scatter (`Connect::add_transposed`), they add their rows to one
    // N x K matrix instead, scattered once at the end (one pass over the edges, not one each).
    constexpr bool shared_scatter = requires { Connect::add_transposed(in, out.selection, cache.scatter, dsel); };
    Matrix<Scalar>* deferred = nullptr;
    bool scatter_pending = false;
    if constexpr (shared_scatter) {
      cache.scatter.setZero(dsel.rows(), dsel.cols());
      deferred = &cache.scatter;
    }
    // A connect that does not read the selection's values gives dL/dA only: skipped when no one needs it.
    if (grad.adj.size() != 0 && (adjacency_depends_on_selection || din.adj_needed)) {
      if constexpr (requires { m_connect.backward(in, out.selection, cache.connect, grad.adj, din, dsel, deferred); }) {
        m_connect.backward(in, out.selection, cache.connect, grad.adj, din, dsel, deferred);
        scatter_pending = deferred != nullptr;
      } else {
        m_connect.backward(in, out.selection, cache.connect, grad.adj, din, dsel);
      }
    }
    std::size_t next_loss = 0;
    // Losses with parameters ADD their gradients (they may share a parameter): zero their slots first.
    std::apply(
        [&](const auto&... loss) {
          auto zero = [&](const auto& l) {
            if constexpr (requires { l.parameter_slots(std::declval<std::vector<Index>&>()); }) {
              std::vector<Index> slots;
              l.parameter_slots(slots);
              for (const Index s : slots) dparams[s].setZero();
            }
          };
          (void)zero;
          (zero(loss), ...);
        },
        m_losses);
    std::apply(
        [&](auto&... loss) {
          std::apply(
              [&](auto&... loss_cache) {
                auto run = [&](const auto& l, const auto& c) {
                  const Scalar dloss = grad.losses.empty() ? l.weight() : grad.losses[next_loss];
                  ++next_loss;
                  if (dloss != Scalar(0) &&
                      detail::loss_backward(l, params, in, out.selection, c, dloss, din, dsel, dparams, deferred))
                    scatter_pending = true;
                };
                (void)run;  // unused when the pooler has no loss
                (run(loss, loss_cache), ...);
              },
              cache.losses);
        },
        m_losses);
    if constexpr (shared_scatter)
      if (scatter_pending) Connect::add_transposed(in, out.selection, cache.scatter, dsel);
    m_select.backward(params, in, out.selection, cache.select, dsel, din, dparams);
  }

 protected:
  /// The named poolers (TopKPool, ...) state the feature width they were built for.
  void expect_features(Index in_features) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, m_name, ": in_channels must be >= 1, got ", in_features);
    m_in_features = in_features;
  }

 private:
  static Index selection_rows(const Selection& s) {
    if constexpr (std::derived_from<Selection, SoftSelection<Scalar>>) return s.s.rows();
    else return s.weight.size();
  }
  static Index selection_cols(const Selection& s) {
    if constexpr (std::derived_from<Selection, SoftSelection<Scalar>>) return s.s.cols();
    else return 1;
  }

  std::string m_name;
  /// Width of x the named pooler was built for (-1: any); checked by forward.
  Index m_in_features = -1;
  Select m_select;
  Reduce m_reduce;
  Connect m_connect;
  std::tuple<Losses...> m_losses;
};

}  // namespace gnnpool

#endif
