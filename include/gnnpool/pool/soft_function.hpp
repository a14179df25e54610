#ifndef GNNPOOL_POOL_SOFT_FUNCTION_HPP
#define GNNPOOL_POOL_SOFT_FUNCTION_HPP

/// \file
/// `SoftPoolFunction`: a soft pooler whose assignment logits come from the caller, the functional
/// form of PyG's `dense_mincut_pool(x, adj, s)` / `dense_diff_pool(x, adj, s)`.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/select/soft_assign.hpp>

#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace gnnpool {

namespace detail {

/// [in, hidden..., k]: the channel list of a soft pooler's scorer, checked (k >= 1).
inline std::vector<Index> soft_scorer_channels(std::string_view pooler, std::string_view prefix, Index in,
                                               const std::vector<Index>& hidden, Index k) {
  GNNPOOL_CHECK(k >= 1, invalid_argument, layer_label(prefix, pooler),
                ": the number of clusters k must be >= 1, got ", k, " (set options.k)");
  GNNPOOL_CHECK(in >= 1, invalid_argument, layer_label(prefix, pooler), ": in_channels must be >= 1, got ", in);
  std::vector<Index> channels{in};
  channels.insert(channels.end(), hidden.begin(), hidden.end());
  channels.push_back(k);
  return channels;
}

}  // namespace detail

/// `Pool<SoftAssignSelect<CallerLogits>, Reduce, Connect, Losses...>` driven by logits the
/// caller computed (with any network), returning dL/dlogits instead of parameter gradients.
///
/// Forward:  S = softmax(logits / T); X' = reduce(X, S); A' = connect(A, S); losses(A, S).
/// Backward: the composition's VJP; dlogits (N x K) = (S ⊙ (dS - rowsum(dS ⊙ S))) / T, with dS
///           summed over reduce, connect, the weighted losses and the caller's dL/dS; din.x and
///           din.adj are assigned as `Pool::backward` does.
/// Cache: the composition's. Cost: that of the policies. Thread-safe (const): the pointers to
/// the caller's logits live only for the duration of one call.
template <typename Reduce, typename Connect, typename... Losses>
class SoftPoolFunction {
 public:
  using Scalar = typename Reduce::Scalar;
  using Select = SoftAssignSelect<CallerLogits<Scalar>>;
  using Composition = Pool<Select, Reduce, Connect, Losses...>;
  using Output = typename Composition::Output;
  using OutputGrad = typename Composition::OutputGrad;
  using Cache = typename Composition::Cache;

  SoftPoolFunction(std::string name, Scalar temperature, Reduce reduce, Connect connect, Losses... losses)
      : m_name(std::move(name)), m_temperature(temperature), m_reduce(std::move(reduce)),
        m_connect(std::move(connect)), m_losses(std::move(losses)...) {
    (void)Select(CallerLogits<Scalar>(), temperature);  // validates the temperature now
  }

  const std::string& name() const { return m_name; }
  Scalar temperature() const { return m_temperature; }

  /// `logits`: N x K, one row per node of `in`.
  void forward(const BatchRef<Scalar>& in, const ConstMatrixRef<Scalar>& logits, Output& out, Cache& cache) const {
    compose(CallerLogits<Scalar>(&logits)).forward(m_no_params, in, out, cache);
  }

  /// ASSIGNS din (x: N x F, adj: one entry per stored entry of in.adj) and dlogits (N x K).
  void backward(const BatchRef<Scalar>& in, const Output& out, const Cache& cache, const OutputGrad& grad,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dlogits) const {
    ParameterSet<Scalar> no_grads;
    compose(CallerLogits<Scalar>(nullptr, &dlogits)).backward(m_no_params, in, out, cache, grad, din, no_grads);
  }

 private:
  Composition compose(CallerLogits<Scalar> logits) const {
    return std::apply(
        [&](const Losses&... losses) {
          return Composition(m_name, Select(std::move(logits), m_temperature), m_reduce, m_connect, losses...);
        },
        m_losses);
  }

  std::string m_name;
  Scalar m_temperature;
  Reduce m_reduce;
  Connect m_connect;
  std::tuple<Losses...> m_losses;
  ParameterSet<Scalar> m_no_params;
};

}  // namespace gnnpool

#endif
