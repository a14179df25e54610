#ifndef GNNPOOL_NN_ADAM_HPP
#define GNNPOOL_NN_ADAM_HPP

/// \file
/// `Adam`: the optimiser of the examples, `torch.optim.Adam` (amsgrad = false).

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>

#include <cmath>
#include <cstdint>

namespace gnnpool {

/// Hyper-parameters of `Adam`, with PyTorch's defaults.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// L2 penalty added to the gradient (g + weight_decay p), as torch.optim.Adam; not AdamW's
  /// decoupled decay.
  double weight_decay = 0;
};

/// Adam (Kingma & Ba), step for step as `torch.optim.Adam` (amsgrad = false, maximize = false).
///
/// For every scalar p with gradient g, at step t = 1, 2, ...:
///
///     g <- g + weight_decay p
///     m <- beta1 m + (1 - beta1) g
///     v <- beta2 v + (1 - beta2) g^2
///     p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// m and v start at 0 and have the layout of the parameters (`zeros_like`). The bias
/// corrections are computed in double and applied in Scalar, like PyTorch's per-tensor path.
/// There is no backward: an optimiser is not differentiated. Cost O(number of scalars) per
/// step, no allocation.
///
/// Errors: the constructor throws `invalid_argument` for lr < 0, eps < 0, weight_decay < 0 or
/// a beta outside [0, 1) (PyTorch's checks); `step` throws `shape_error` when the parameters or
/// the gradients do not have the layout the optimiser was built for.
template <typename Scalar_>
class Adam {
 public:
  using Scalar = Scalar_;

  explicit Adam(const ParameterSet<Scalar>& params, AdamOptions options = {})
      : m_options(options), m_m(params.zeros_like()), m_v(params.zeros_like()) {
    GNNPOOL_CHECK(options.lr >= 0, invalid_argument, "Adam: lr must be >= 0, got ", options.lr);
    GNNPOOL_CHECK(options.eps >= 0, invalid_argument, "Adam: eps must be >= 0, got ", options.eps);
    GNNPOOL_CHECK(options.beta1 >= 0 && options.beta1 < 1, invalid_argument,
                  "Adam: beta1 must be in [0, 1), got ", options.beta1);
    GNNPOOL_CHECK(options.beta2 >= 0 && options.beta2 < 1, invalid_argument,
                  "Adam: beta2 must be in [0, 1), got ", options.beta2);
    GNNPOOL_CHECK(options.weight_decay >= 0, invalid_argument, "Adam: weight_decay must be >= 0, got ",
                  options.weight_decay);
  }

  const AdamOptions& options() const { return m_options; }
  /// Learning rate of the following steps (schedulers change it between steps).
  void set_lr(double lr) {
    GNNPOOL_CHECK(lr >= 0, invalid_argument, "Adam: lr must be >= 0, got ", lr);
    m_options.lr = lr;
  }
  /// Number of steps taken so far.
  std::int64_t steps() const { return m_step; }
  /// First and second moment estimates (layout of the parameters).
  const ParameterSet<Scalar>& first_moment() const { return m_m; }
  const ParameterSet<Scalar>& second_moment() const { return m_v; }

  /// Restores a saved state (a checkpoint: `first_moment()`, `second_moment()`, `steps()`).
  /// Throws `shape_error` when a moment does not have the optimiser's layout and
  /// `invalid_argument` for a negative step count.
  void set_state(const ParameterSet<Scalar>& m, const ParameterSet<Scalar>& v, std::int64_t steps) {
    GNNPOOL_CHECK(m.same_layout(m_m) && v.same_layout(m_v), shape_error,
                  "Adam::set_state: the moments (", m.size(), " and ", v.size(),
                  " tensors) do not have the layout the optimiser was built for (", m_m.size(), " tensors, ",
                  m_m.num_scalars(), " scalars)");
    GNNPOOL_CHECK(steps >= 0, invalid_argument, "Adam::set_state: the step count must be >= 0, got ", steps);
    for (Index s = 0; s < m_m.size(); ++s) {
      m_m[s] = m[s];
      m_v[s] = v[s];
    }
    m_step = steps;
  }

  /// Forgets the moments and the step count.
  void reset() {
    m_m.set_zero();
    m_v.set_zero();
    m_step = 0;
  }

  /// One update of every tensor of `params` from the matching tensor of `grads`.
  void step(ParameterSet<Scalar>& params, const ParameterSet<Scalar>& grads) {
    GNNPOOL_CHECK(params.same_layout(m_m), shape_error, "Adam::step: params (", params.size(),
                  " tensors, ", params.num_scalars(), " scalars) do not have the layout the optimiser was built for (",
                  m_m.size(), " tensors, ", m_m.num_scalars(), " scalars)");
    GNNPOOL_CHECK(grads.same_layout(m_m), shape_error, "Adam::step: grads (", grads.size(), " tensors, ",
                  grads.num_scalars(), " scalars) do not have the layout of the parameters (", m_m.size(),
                  " tensors, ", m_m.num_scalars(), " scalars)");
    ++m_step;
    const double t = static_cast<double>(m_step);
    const double bias1 = 1.0 - std::pow(m_options.beta1, t);
    const double bias2 = 1.0 - std::pow(m_options.beta2, t);
    const auto beta1 = static_cast<Scalar>(m_options.beta1);
    const auto beta2 = static_cast<Scalar>(m_options.beta2);
    const auto decay = static_cast<Scalar>(m_options.weight_decay);
    const auto step_size = static_cast<Scalar>(m_options.lr / bias1);
    const auto sqrt_bias2 = static_cast<Scalar>(std::sqrt(bias2));
    const auto eps = static_cast<Scalar>(m_options.eps);
    for (Index s = 0; s < params.size(); ++s) {
      auto p = params[s].array();
      auto m = m_m[s].array();
      auto v = m_v[s].array();
      const auto& raw = grads[s].array();
      for (Index i = 0; i < p.size(); ++i) {
        const Scalar g = raw(i) + decay * p(i);
        m(i) = beta1 * m(i) + (Scalar(1) - beta1) * g;
        v(i) = beta2 * v(i) + (Scalar(1) - beta2) * g * g;
        p(i) -= step_size * m(i) / (std::sqrt(v(i)) / sqrt_bias2 + eps);
      }
    }
  }

 private:
  AdamOptions m_options;
  ParameterSet<Scalar> m_m, m_v;
  std::int64_t m_step = 0;
};

}  // namespace gnnpool

#endif
