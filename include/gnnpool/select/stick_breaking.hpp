#ifndef GNNPOOL_SELECT_STICK_BREAKING_HPP
#define GNNPOOL_SELECT_STICK_BREAKING_HPP

/// \file
/// `StickBreakingSelect`: BN-Pool's Bayesian non-parametric assignment (Castellana & Bianchi,
/// "BN-Pool: a Bayesian nonparametric approach for graph pooling"; tgp's `DPSelect`): Beta
/// stick fractions from a node scorer, a sample of them, and the stick-breaking weights.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/hash.hpp>
#include <gnnpool/detail/special.hpp>
#include <gnnpool/select/scorer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// How `StickBreakingSelect` draws the stick fractions z ~ Beta(alpha, beta).
enum class StickBreakingSampling {
  /// Training: z = I^-1_u(alpha, beta) (the Beta quantile function) for uniforms u from a
  /// counter-based stream of (seed, the cache's draw counter, node, stick): exact
  /// reparameterisation, and replayable: the quantiles are kept in the cache and z in the selection.
  quantiles,
  /// Replay: z is given by the caller (`given_samples`, N x (K - 1)), e.g. the draw recorded from
  /// PyTorch's `Beta.rsample()`.
  given,
  /// Evaluation: z = E[z] = alpha / (alpha + beta), deterministic and smooth.
  mean,
};

struct StickBreakingSelectOptions {
  StickBreakingSampling sampling = StickBreakingSampling::quantiles;
  std::uint64_t seed = 0;  ///< the quantile stream's seed
  /// true: every forward draws afresh (the cache's draw counter advances). false: every forward
  /// reads draw 0 of the stream, so the pooler is a deterministic function of its inputs (for
  /// whole-model gradient checks, whose tape reuses its caches, and to repeat one draw).
  bool redraw = true;
};

/// BN-Pool's selection: the soft assignment S (N x K) with the Beta parameters and the sample
/// it came from. `dalpha` and `dbeta` are where losses that read alpha and beta directly (the
/// KL term) ADD their gradients during the pooler's backward; `StickBreakingSelect::backward`
/// consumes and clears them (the Pool's selection gradient dL/dS covers S only).
template <typename Scalar>
struct StickBreakingSelection : SoftSelection<Scalar> {
  Matrix<Scalar> alpha, beta, z;  ///< N x (K - 1)
  mutable Matrix<Scalar> dalpha, dbeta;
};

namespace detail {

/// A uniform in (0, 1) from (seed, counter, index): mix64 of their mix, 53 bits.
inline double counter_uniform(std::uint64_t seed, std::uint64_t counter, std::uint64_t index) {
  return unit_double(mix64(seed ^ (counter * 0x9E3779B97F4A7C15ULL) ^ (index * 0xBF58476D1CE4E5B9ULL)), 0.5);
}

}  // namespace detail

/// The stick-breaking assignment of BN-Pool, tgp's `DPSelect` (K clusters per graph at most):
///
/// Forward:  Z = scorer(X[, A]) (N x 2(K-1));  [alpha | beta] = clamp(softplus(Z), 1e-3, 1e3)
///           (softplus as PyTorch: the identity above 20);
///           z ~ Beta(alpha, beta) (see `StickBreakingSampling`);
///           S_ik = z_ik prod_{j<k} (1 - z_ij) for k < K - 1, S_i,K-1 = prod_{j<K-1} (1 - z_ij)
///           (computed through logarithms, as tgp).
/// Backward: dz_ij = dS_ij P_ij - (sum_{k>j} dS_ik S_ik) / (1 - z_ij), P_ij = prod_{l<j} (1 - z_il);
///           dalpha, dbeta: the implicit reparameterisation gradient of the sample,
///           dz/dalpha = -(dI_z(alpha, beta)/dalpha) / pdf(z), likewise for beta (exact and
///           analytic, `detail::beta_sample_gradient`; the same for a quantile draw and for a given
///           sample; PyTorch approximates it, see docs), or the mean's derivative; plus the selection's dalpha / dbeta (the KL term);
///           dZ = [dalpha | dbeta] ⊙ clamp'(softplus(Z)) ⊙ softplus'(Z); the scorer's backward adds
///           dX (and dA) into din and assigns its parameter gradients.
/// Shapes: S N x K, alpha, beta, z N x (K - 1). Cache: the scorer's, the logits, the quantiles of
/// the last draw and the draw counter (incremented by every forward in `quantiles` mode unless `redraw` is off).
/// Cost: the scorer's, plus O(N K) special-function evaluations both ways. Thread-safe (const;
/// the stream's state is the caller's cache).
template <typename Scorer>
  requires NodeScorer<Scorer> || ScoringLayer<Scorer>
class StickBreakingSelect {
 public:
  using Impl = node_scorer_t<Scorer>;
  using Scalar = typename Impl::Scalar;
  using Selection = StickBreakingSelection<Scalar>;
  struct Cache {
    typename Impl::Cache scorer;
    Matrix<Scalar> logits;           ///< Z
    Matrix<Scalar> quantiles;        ///< u of the last draw (quantiles mode)
    std::uint64_t draws = 0;         ///< forwards drawn so far with this cache
    mutable Matrix<Scalar> dlogits;  ///< backward workspace
  };

  /// `k`: clusters (the scorer must give 2 (k - 1) logits); `given_samples`: z for `given` mode
  /// (N x (k - 1), must outlive the calls).
  StickBreakingSelect(Scorer scorer, Index k, StickBreakingSelectOptions options = {},
                      const Matrix<Scalar>* given_samples = nullptr)
      : m_scorer(std::move(scorer)), m_k(k), m_options(options), m_given(given_samples) {
    GNNPOOL_CHECK(k >= 2, invalid_argument, "StickBreakingSelect: k must be >= 2, got ", k);
    GNNPOOL_CHECK(m_scorer.out_features() == 2 * (k - 1), shape_error, "StickBreakingSelect: the scorer gives ",
                  m_scorer.out_features(), " logits per node, expected 2 (k - 1) = ", 2 * (k - 1));
    GNNPOOL_CHECK(options.sampling != StickBreakingSampling::given || given_samples != nullptr, invalid_argument,
                  "StickBreakingSelect: `given` sampling needs the samples");
  }

  const Scorer& scorer() const { return scorer_layer(m_scorer); }
  Index num_clusters() const { return m_k; }
  const StickBreakingSelectOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& out) const { m_scorer.parameter_slots(out); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    const Index n = in.num_nodes(), m = m_k - 1;
    m_scorer.forward(params, in, cache.logits, cache.scorer);
    GNNPOOL_CHECK(cache.logits.rows() == n && cache.logits.cols() == 2 * m, shape_error,
                  "StickBreakingSelect: the scorer returned ", detail::shape(cache.logits.rows(), cache.logits.cols()),
                  " logits for ", n, " nodes; expected ", detail::shape(n, 2 * m));
    sel.alpha.resize(n, m);
    sel.beta.resize(n, m);
    // Every element-wise loop here runs rows in parallel (each entry on its own).
    detail::parallel_rows(
        n,
        [&](Index lo, Index hi) {
          for (Index i = lo; i < hi; ++i)
            for (Index j = 0; j < m; ++j) {
              sel.alpha(i, j) = concentration(cache.logits(i, j));
              sel.beta(i, j) = concentration(cache.logits(i, m + j));
            }
        },
        elementwise_grain);
    switch (m_options.sampling) {
      case StickBreakingSampling::given:
        GNNPOOL_CHECK(m_given->rows() == n && m_given->cols() == m, shape_error,
                      "StickBreakingSelect: the given samples are ", detail::shape(m_given->rows(), m_given->cols()),
                      ", expected ", detail::shape(n, m));
        for (Index q = 0; q < m_given->size(); ++q)
          GNNPOOL_CHECK(m_given->data()[q] >= Scalar(0) && m_given->data()[q] <= Scalar(1), invalid_argument,
                        "StickBreakingSelect: given sample ", q, " = ", m_given->data()[q], " is outside [0, 1]");
        sel.z = *m_given;
        break;
      case StickBreakingSampling::quantiles:
        cache.quantiles.resize(n, m);
        sel.z.resize(n, m);
        // Every entry on its own (its uniform is a function of its index): rows in parallel.
        detail::parallel_rows(
            n,
            [&](Index lo, Index hi) {
              for (Index i = lo; i < hi; ++i)
                for (Index j = 0; j < m; ++j) {
                  const double u =
                      detail::counter_uniform(m_options.seed, cache.draws, static_cast<std::uint64_t>(i * m + j));
                  cache.quantiles(i, j) = static_cast<Scalar>(u);
                  sel.z(i, j) = static_cast<Scalar>(detail::incomplete_beta_inverse(
                      static_cast<double>(sel.alpha(i, j)), static_cast<double>(sel.beta(i, j)), u, last_step));
                }
            },
            sampling_grain);
        if (m_options.redraw) ++cache.draws;
        break;
      case StickBreakingSampling::mean:
        sel.z = (sel.alpha.array() / (sel.alpha.array() + sel.beta.array())).matrix();
        break;
    }
    // S through logarithms (tgp): log S_k = log z_k + sum_{j<k} log(1 - z_j).
    sel.s.resize(n, m_k);
    detail::parallel_rows(
        n,
        [&](Index lo, Index hi) {
          for (Index i = lo; i < hi; ++i) {
            Scalar acc(0);
            for (Index j = 0; j < m; ++j) {
              sel.s(i, j) = std::exp(std::log(sel.z(i, j)) + acc);
              acc += std::log1p(-sel.z(i, j));
            }
            sel.s(i, m) = std::exp(acc);
          }
        },
        elementwise_grain);
    sel.offsets = in.offsets;
    sel.dalpha.resize(0, 0);
    sel.dbeta.resize(0, 0);
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Matrix<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = sel.s.rows(), m = m_k - 1;
    GNNPOOL_CHECK(dsel.rows() == n && dsel.cols() == m_k, shape_error, "StickBreakingSelect backward: dS is ",
                  detail::shape(dsel.rows(), dsel.cols()), " but S is ", detail::shape(n, m_k));
    Matrix<Scalar>& dz = cache.dlogits;  // dz first, then dL/dlogits in place of [dalpha | dbeta]
    dz.setZero(n, 2 * m);
    detail::parallel_rows(n, [&](Index lo, Index hi) { sample_backward(sel, dsel, dz, lo, hi); }, sampling_grain);
    if (sel.dalpha.size() != 0) dz.leftCols(m) += sel.dalpha;
    if (sel.dbeta.size() != 0) dz.rightCols(m) += sel.dbeta;
    sel.dalpha.resize(0, 0);
    sel.dbeta.resize(0, 0);
    detail::parallel_rows(
        n,
        [&](Index lo, Index hi) {
          for (Index q = lo * 2 * m; q < hi * 2 * m; ++q) dz.data()[q] *= concentration_derivative(cache.logits.data()[q]);
        },
        elementwise_grain);
    m_scorer.backward(params, in, cache.scorer, dz, din, dparams);
  }

 private:
  /// Rows per parallel chunk of the sampling loops (each entry costs about a microsecond).
  static constexpr Index sampling_grain = 64;
  /// Rows per parallel chunk of the element-wise loops (a few exponentials and logarithms per entry).
  static constexpr Index elementwise_grain = 256;
  /// The quantile's last Halley step (`detail::incomplete_beta_inverse`): the precision of Scalar.
  static constexpr double last_step = std::is_same_v<Scalar, float> ? 1e-3 : 1e-7;

  /// clamp(softplus(z), 1e-3, 1e3), softplus as PyTorch's (threshold 20).
  static Scalar concentration(Scalar z) {
    const Scalar sp = z > Scalar(20) ? z : std::log1p(std::exp(z));
    return std::clamp(sp, static_cast<Scalar>(1e-3), static_cast<Scalar>(1e3));
  }
  /// Its derivative: softplus'(z) inside the clamp's range, 0 outside.
  static Scalar concentration_derivative(Scalar z) {
    const Scalar sp = z > Scalar(20) ? z : std::log1p(std::exp(z));
    if (sp < static_cast<Scalar>(1e-3) || sp > static_cast<Scalar>(1e3)) return Scalar(0);
    return z > Scalar(20) ? Scalar(1) : Scalar(1) / (Scalar(1) + std::exp(-z));
  }
  /// Rows [lo, hi) of dz = [dalpha | dbeta] (before the concentration's derivative) from dS.
  void sample_backward(const Selection& sel, const Matrix<Scalar>& dsel, Matrix<Scalar>& dz, Index lo, Index hi) const {
    const Index m = m_k - 1;
    std::vector<Scalar> p(static_cast<std::size_t>(m));
    for (Index i = lo; i < hi; ++i) {
      // suffix = sum_{k > j} dS_ik S_ik (the last column included).
      Scalar suffix = dsel(i, m) * sel.s(i, m);
      Scalar prefix(1);  // P_ij
      for (Index j = 0; j < m; ++j) {
        p[static_cast<std::size_t>(j)] = prefix;
        prefix *= Scalar(1) - sel.z(i, j);
      }
      for (Index j = m; j-- > 0;) {
        const Scalar one_minus = Scalar(1) - sel.z(i, j);
        Scalar g = dsel(i, j) * p[static_cast<std::size_t>(j)];
        if (one_minus > Scalar(0)) g -= suffix / one_minus;
        suffix += dsel(i, j) * sel.s(i, j);
        // dz -> dalpha, dbeta
        Scalar da(0), db(0);
        sample_gradient(sel.alpha(i, j), sel.beta(i, j), sel.z(i, j), da, db);
        dz(i, j) = g * da;
        dz(i, m + j) = g * db;
      }
    }
  }

  /// dz/dalpha and dz/dbeta of the sample z.
  void sample_gradient(Scalar alpha, Scalar beta, Scalar z, Scalar& da, Scalar& db) const {
    if (m_options.sampling == StickBreakingSampling::mean) {
      const Scalar sum = alpha + beta;
      da = beta / (sum * sum);
      db = -alpha / (sum * sum);
      return;
    }
    const double a = static_cast<double>(alpha), b = static_cast<double>(beta), x = static_cast<double>(z);
    if (!(x > 0 && x < 1)) {  // a sample at the boundary does not move
      da = db = Scalar(0);
      return;
    }
    double dza = 0, dzb = 0;
    detail::beta_sample_gradient(a, b, x, dza, dzb);
    da = static_cast<Scalar>(dza);
    db = static_cast<Scalar>(dzb);
  }

  Impl m_scorer;
  Index m_k;
  StickBreakingSelectOptions m_options;
  const Matrix<Scalar>* m_given = nullptr;
};

}  // namespace gnnpool

#endif
