#ifndef GNNPOOL_POOL_SOFT_POOL_HPP
#define GNNPOOL_POOL_SOFT_POOL_HPP

/// \file
/// `SoftPool<Spec, Scorer>`: the one class body of every soft-clustering pooler (MinCut,
/// DiffPool, DMoN, JustBalance, AsymCheegerCut, HOSC). A pooler is a *spec* (its options, its
/// default scorer and the reduce / connect / loss policies its options select) plus a short
/// alias, e.g. `template <S, Scorer = MLP<S>> using MinCutPool = SoftPool<MinCutPoolSpec<S>, Scorer>`.
/// The spec also gives the functional form (`soft_pool_function<Spec>(options)`: logits from the
/// caller), so the pooler and its function can never disagree.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/pool/soft_function.hpp>
#include <gnnpool/select/soft_assign.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace gnnpool {

/// What a soft pooler's spec provides (see MinCutPoolSpec in pool/mincut_pool.hpp):
///
/// - `using Scalar`, `using Options` (with a `Scalar temperature` member);
/// - `static constexpr std::string_view name` ("MinCutPool") and `function_name` ("mincut_pool");
/// - `using DefaultScorer` and `static DefaultScorer make_scorer(ParameterSet<Scalar>&,
///   std::string_view prefix, Index in_channels, const Options&)`, which registers the default
///   scorer's parameters under the pooler's prefix;
/// - `static auto make_policies(const Options&)`: a `std::tuple<Reduce, Connect, Losses...>`.
template <typename Spec>
concept SoftPoolSpec = requires(ParameterSet<typename Spec::Scalar>& params, const typename Spec::Options& options) {
  typename Spec::Scalar;
  typename Spec::Options;
  typename Spec::DefaultScorer;
  { Spec::name } -> std::convertible_to<std::string_view>;
  { Spec::function_name } -> std::convertible_to<std::string_view>;
  { options.temperature } -> std::convertible_to<typename Spec::Scalar>;
  { Spec::make_scorer(params, std::string_view{}, Index{}, options) } -> std::same_as<typename Spec::DefaultScorer>;
  Spec::make_policies(options);
};

namespace detail {

template <typename Select, typename Policies>
struct pool_of_policies;
template <typename Select, typename... P>
struct pool_of_policies<Select, std::tuple<P...>> {
  using type = Pool<Select, P...>;
};

template <typename Policies>
struct function_of_policies;
template <typename... P>
struct function_of_policies<std::tuple<P...>> {
  using type = SoftPoolFunction<P...>;
};

template <typename Spec>
using spec_policies_t = decltype(Spec::make_policies(std::declval<const typename Spec::Options&>()));

/// tgp's `MLPSelect`: an MLP [in_channels, hidden..., k] with `act` between the layers (tgp's
/// default act=None: identity), registered as `<prefix>.selector.mlp.lins.<l>.{weight,bias}`
/// (tgp's state_dict names). The default scorer of the tgp poolers (JustBalance, ...).
template <typename Scalar, typename Options>
MLP<Scalar> tgp_selector_mlp(ParameterSet<Scalar>& params, std::string_view pooler, std::string_view prefix,
                             Index in_channels, const Options& options) {
  return MLP<Scalar>(params, join_name(join_name(prefix, "selector"), "mlp"),
                     soft_scorer_channels(pooler, prefix, in_channels, options.hidden, options.k), options.activation);
}

}  // namespace detail

/// A soft pooler: `Pool<SoftAssignSelect<Scorer>, Reduce, Connect, Losses...>` with the
/// policies its spec derives from the options.
///
///   S = softmax(scorer(X[, A]) / T);  X' = reduce(X, S);  A' = connect(A, S);  losses(A, S).
///
/// Backward: the composition's (pool/pool.hpp): the policies' VJPs give dL/dX, dL/dA on the
/// stored entries (so another soft pooler can follow) and the scorer's parameter gradients.
/// Per graph, no padding: O(E K + N K (K + F)) plus the scorer and the losses.
///
/// Construction: `(params, prefix, in_channels, options)` builds the spec's default scorer and
/// registers its parameters under `prefix` (PyG / tgp state_dict names); `(scorer, options,
/// prefix)` takes any scorer built by the caller (options.k and the scorer fields of the options
/// are then not read: K is the scorer's output width). `name()` is "prefix (MinCutPool)".
template <typename Spec, typename Scorer>
  requires SoftPoolSpec<Spec>
class SoftPool
    : public detail::pool_of_policies<SoftAssignSelect<Scorer>, detail::spec_policies_t<Spec>>::type {
 public:
  using Scalar = typename Spec::Scalar;
  using Options = typename Spec::Options;
  using Base = typename detail::pool_of_policies<SoftAssignSelect<Scorer>, detail::spec_policies_t<Spec>>::type;
  static_assert(std::same_as<Scalar, typename SoftAssignSelect<Scorer>::Scalar>,
                "SoftPool: the scorer must use the pooler's Scalar");

  /// The spec's default scorer, in_channels -> options.k, registered under `prefix`.
  SoftPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const Options& options)
    requires std::same_as<Scorer, typename Spec::DefaultScorer>
      : SoftPool(Spec::make_scorer(params, prefix, in_channels, options), options, prefix) {
    this->expect_features(in_channels);
  }

  /// Any scorer built by the caller (a `NodeScorer` or a `ScoringLayer`).
  explicit SoftPool(Scorer scorer, const Options& options = {}, std::string_view prefix = {})
      : SoftPool(layer_label(prefix, Spec::name), SoftAssignSelect<Scorer>(std::move(scorer), options.temperature),
                 Spec::make_policies(options), std::make_index_sequence<std::tuple_size_v<detail::spec_policies_t<Spec>>>{}) {}

  Index num_clusters() const { return this->select().num_clusters(); }

 private:
  template <typename Policies, std::size_t... I>
  SoftPool(std::string name, SoftAssignSelect<Scorer> select, Policies policies, std::index_sequence<I...>)
      : Base(std::move(name), std::move(select), std::get<I>(std::move(policies))...) {}
};

/// The functional form of a spec's pooler (logits from the caller): `SoftPoolFunction` over the
/// same policies.
template <typename Spec>
using soft_pool_function_t = typename detail::function_of_policies<detail::spec_policies_t<Spec>>::type;

/// `soft_pool_function<MinCutPoolSpec<double>>(options)`: the functional form with the
/// policies the options select.
template <typename Spec>
  requires SoftPoolSpec<Spec>
soft_pool_function_t<Spec> soft_pool_function(const typename Spec::Options& options) {
  return std::apply(
      [&](auto&&... policies) {
        return soft_pool_function_t<Spec>(std::string(Spec::function_name), options.temperature,
                                          std::move(policies)...);
      },
      Spec::make_policies(options));
}

}  // namespace gnnpool

#endif
