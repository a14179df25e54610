#ifndef GNNPOOL_TESTING_GRADCHECK_HPP
#define GNNPOOL_TESTING_GRADCHECK_HPP

/// \file
/// The one finite-difference gradient checker of gnnpool (installed, so users can check their
/// own layers and policies).
///
/// A layer is checked through a `GradCheckProblem`: the differentiable quantities (inputs that
/// carry gradient and every parameter) as `Variable`s, a `forward` that returns the outputs as
/// a flat list, and a `backward` that returns the VJP for an upstream gradient. The checker
/// draws a seeded random upstream G, sets f = <outputs, G> + extra (extra: the weighted
/// auxiliary losses, whose upstream gradient is their weight) and compares backward's gradient
/// with the central difference (f(v + h) - f(v - h)) / 2h for every entry of every variable,
/// h = cbrt(eps) * max(1, |v|). Per entry the error is |a - b| / max(1, |a|, |b|).
///
/// It also checks that backward ASSIGNS: every gradient buffer is NaN-filled before backward
/// runs (an entry left unwritten stays NaN and fails), and a second backward must give the same
/// numbers. Discrete decisions (kept nodes, argmax, matchings, output structure) reported by
/// forward are compared at v +- h: if one flips, the inputs are resampled through `resample`
/// (when given) and the check starts again, so ties never make a test flaky.
///
/// Double precision only: float implementations are checked against the double ones.
/// `check_pool`, `check_graph_layer`, `check_feature_layer` and `check_readout` build the problem
/// for any pooler / layer / readout; `check_model` (model/check.hpp) for a whole model.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace gnnpool::testing {

/// A differentiable quantity, perturbed in place by the checker.
struct Variable {
  std::string name;
  double* data;
  Index size;
};

struct GradCheckProblem {
  std::vector<Variable> variables;
  /// Runs forward at the current values: appends every output scalar to `outputs`, every
  /// discrete decision to `discrete`, and returns the part of the objective that has no
  /// upstream gradient (the weighted auxiliary losses; 0 if none).
  std::function<double(std::vector<double>& outputs, std::vector<Index>& discrete)> forward;
  /// Writes dL/d(variables[v]) into grads[v] for the upstream gradient `upstream` (one entry
  /// per output). grads[v] has variables[v].size entries, all NaN on entry.
  std::function<void(const std::vector<double>& upstream, std::vector<std::vector<double>>& grads)> backward;
  /// Optional: draws new input values (same shapes, same pointers) from `seed`.
  std::function<void(std::uint64_t seed)> resample;
};

struct GradCheckOptions {
  double tolerance = 1e-6;
  std::uint64_t seed = 1234;
  int max_resamples = 8;
  int log_worst = 8;
};

struct GradCheckResult {
  bool ok = false;
  double worst_error = 0;
  Index entries_checked = 0;
  std::string log;
};

namespace detail {

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace detail

/// Runs the check; see the file comment.
inline GradCheckResult check_gradients(GradCheckProblem& problem, const GradCheckOptions& options = {}) {
  GradCheckResult result;
  std::ostringstream log;
  log.precision(10);
  for (int attempt = 0; attempt <= options.max_resamples; ++attempt) {
    if (attempt > 0) {
      if (!problem.resample) break;
      problem.resample(options.seed + 1000003ULL * static_cast<std::uint64_t>(attempt));
    }
    std::vector<double> outputs;
    std::vector<Index> discrete;
    problem.forward(outputs, discrete);
    std::mt19937_64 rng(options.seed);
    std::normal_distribution<double> normal;
    std::vector<double> upstream(outputs.size());
    for (auto& g : upstream) g = normal(rng);

    auto run_backward = [&] {
      std::vector<std::vector<double>> grads(problem.variables.size());
      for (std::size_t v = 0; v < grads.size(); ++v)
        grads[v].assign(static_cast<std::size_t>(problem.variables[v].size), std::numeric_limits<double>::quiet_NaN());
      problem.backward(upstream, grads);
      return grads;
    };
    const auto analytic = run_backward();
    const auto again = run_backward();

    auto objective = [&](std::vector<Index>& disc) {
      std::vector<double> out;
      disc.clear();
      const double extra = problem.forward(out, disc);
      return detail::dot(out, upstream) + extra;
    };

    bool flipped = false;
    struct Bad { double err; std::string what; };
    std::vector<Bad> bad;
    double worst = 0;
    Index checked = 0;
    for (std::size_t v = 0; v < problem.variables.size() && !flipped; ++v) {
      const Variable& var = problem.variables[v];
      for (Index i = 0; i < var.size && !flipped; ++i) {
        const double x0 = var.data[i];
        const double h = numeric<double>::fd_step() * std::max(1.0, std::abs(x0));
        std::vector<Index> dp, dm;
        var.data[i] = x0 + h;
        const double fp = objective(dp);
        var.data[i] = x0 - h;
        const double fm = objective(dm);
        var.data[i] = x0;
        if (dp != discrete || dm != discrete) {
          flipped = true;
          log << "attempt " << attempt << ": a discrete choice flips when " << var.name << "[" << i
              << "] moves by " << h << (problem.resample ? "; resampling\n" : "\n");
          break;
        }
        const double numeric_grad = (fp - fm) / (2 * h);
        const double a = analytic[v][static_cast<std::size_t>(i)];
        const double b = again[v][static_cast<std::size_t>(i)];
        double err = std::abs(a - numeric_grad) / std::max({1.0, std::abs(a), std::abs(numeric_grad)});
        std::string what;
        if (!std::isfinite(a)) {
          err = std::numeric_limits<double>::infinity();
          what = "backward left it unassigned or non-finite";
        } else if (a != b) {
          err = std::numeric_limits<double>::infinity();
          what = "a second backward gave a different value (accumulates instead of assigning?)";
        }
        ++checked;
        worst = std::max(worst, err);
        if (err > options.tolerance) {
          std::ostringstream s;
          s.precision(12);
          s << var.name << "[" << i << "]: backward " << a << ", finite difference " << numeric_grad
            << ", error " << err << (what.empty() ? "" : " (" + what + ")");
          bad.push_back({err, s.str()});
        }
      }
    }
    if (flipped) continue;
    std::sort(bad.begin(), bad.end(), [](const Bad& p, const Bad& q) { return p.err > q.err; });
    result.ok = bad.empty() && checked > 0;
    result.worst_error = worst;
    result.entries_checked = checked;
    log << "checked " << checked << " entries of " << problem.variables.size()
        << " variables, worst error " << worst << " (tolerance " << options.tolerance << ")\n";
    for (std::size_t k = 0; k < bad.size() && k < static_cast<std::size_t>(options.log_worst); ++k)
      log << "  " << bad[k].what << "\n";
    if (bad.size() > static_cast<std::size_t>(options.log_worst))
      log << "  ... and " << bad.size() - static_cast<std::size_t>(options.log_worst) << " more\n";
    result.log = log.str();
    return result;
  }
  log << "gave up: discrete choices kept flipping after " << options.max_resamples << " resamples\n";
  result.ok = false;
  result.log = log.str();
  return result;
}

/// Adds every tensor of `params` as a variable named "param:<name>".
inline void add_parameters(GradCheckProblem& problem, ParameterSet<double>& params) {
  for (Index s = 0; s < params.size(); ++s)
    problem.variables.push_back({"param:" + params.name(s), params[s].data(), params[s].size()});
}

/// Adds the tensors `slots` of `params` as variables named "param:<name>".
inline void add_parameters(GradCheckProblem& problem, ParameterSet<double>& params, const std::vector<Index>& slots) {
  for (const Index s : slots)
    problem.variables.push_back({"param:" + params.name(s), params[s].data(), params[s].size()});
}

/// The parameter slots a layer owns (its `parameter_slots`), sorted.
template <typename L>
std::vector<Index> owned_slots(const L& layer) {
  std::vector<Index> slots;
  layer.parameter_slots(slots);
  std::sort(slots.begin(), slots.end());
  return slots;
}

/// Copies a gradient into the checker's buffer (flat, row-major).
template <typename Derived>
void copy_gradient(const Eigen::DenseBase<Derived>& g, std::vector<double>& out) {
  Index k = 0;
  for (Index r = 0; r < g.rows(); ++r)
    for (Index c = 0; c < g.cols(); ++c) out[static_cast<std::size_t>(k++)] = g(r, c);
}

/// NaN-fills every tensor of a gradient set so that a slot backward forgets stays NaN.
inline void poison(ParameterSet<double>& grads) {
  for (Index s = 0; s < grads.size(); ++s) grads[s].setConstant(std::numeric_limits<double>::quiet_NaN());
}

/// Appends a dense matrix to a flat output list.
template <typename Derived>
void append(const Eigen::DenseBase<Derived>& m, std::vector<double>& out) {
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c) out.push_back(static_cast<double>(m(r, c)));
}

/// What `check_pool` differentiates.
struct PoolCheckOptions {
  bool adjacency = true;   ///< also check dL/dA on the stored entries (edge weights)
  bool selection = true;   ///< include the selection (scores / S) among the outputs
  GradCheckOptions check{};
};

/// Gradient check of a pooler (any `Pool<...>` or type with the same forward/backward).
/// Variables: batch.x, batch.adj's stored values (if `adjacency`), and the tensors of `params`
/// the pooler owns (its `parameter_slots`: a model's whole ParameterSet may be passed; the other
/// layers' tensors are neither varied nor expected to be written).
/// Outputs: pooled x, pooled adj values, the selection (weights or S); discrete decisions: the
/// hard assignment (if any) and the pooled adjacency's structure. Resampling redraws x.
template <typename PoolT>
GradCheckResult check_pool(const PoolT& pool, ParameterSet<double>& params, Batch<double>& batch,
                           const PoolCheckOptions& options = {}) {
  using Output = typename PoolT::Output;
  GradCheckProblem problem;
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  if (options.adjacency) problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  const std::vector<Index> slots = owned_slots(pool);
  add_parameters(problem, params, slots);
  auto selection_values = [](const Output& out) -> const auto& {
    if constexpr (requires { out.selection.s; }) return out.selection.s;
    else return out.selection.weight;
  };
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    Output out;
    typename PoolT::Cache cache;
    pool.forward(params, batch, out, cache);
    append(out.batch.x, outputs);
    for (Index e = 0; e < out.batch.adj.nonZeros(); ++e) outputs.push_back(out.batch.adj.valuePtr()[e]);
    if (options.selection) append(selection_values(out), outputs);
    if constexpr (requires { pool.discrete(out, cache, discrete); }) {
      pool.discrete(out, cache, discrete);  // the pooler's own list (its select policy's choices included)
    } else {
      if constexpr (requires { out.selection.assignment; })
        discrete.insert(discrete.end(), out.selection.assignment.begin(), out.selection.assignment.end());
      for (Index i = 0; i <= out.batch.adj.rows(); ++i) discrete.push_back(out.batch.adj.outerIndexPtr()[i]);
      for (Index e = 0; e < out.batch.adj.nonZeros(); ++e) discrete.push_back(out.batch.adj.innerIndexPtr()[e]);
    }
    return static_cast<double>(out.weighted_loss());
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    Output out;
    typename PoolT::Cache cache;
    pool.forward(params, batch, out, cache);
    typename PoolT::OutputGrad g;
    std::size_t k = 0;
    g.x.resize(out.batch.x.rows(), out.batch.x.cols());
    for (Index i = 0; i < g.x.size(); ++i) g.x.data()[i] = upstream[k++];
    g.adj.resize(out.batch.adj.nonZeros());
    for (Index e = 0; e < g.adj.size(); ++e) g.adj[e] = upstream[k++];
    if (options.selection) {
      const auto& sv = selection_values(out);
      g.selection.resize(sv.rows(), sv.cols());
      for (Index i = 0; i < g.selection.size(); ++i) g.selection.data()[i] = upstream[k++];
    }
    BatchGrad<double> din;
    din.x.setConstant(batch.x.rows(), batch.x.cols(), std::numeric_limits<double>::quiet_NaN());
    din.adj.setConstant(batch.adj.nonZeros(), std::numeric_limits<double>::quiet_NaN());
    ParameterSet<double> dparams = params.zeros_like();
    poison(dparams);
    pool.backward(params, batch, out, cache, g, din, dparams);
    std::size_t v = 0;
    copy_gradient(din.x, grads[v++]);
    if (options.adjacency) copy_gradient(din.adj, grads[v++]);
    for (const Index s : slots) copy_gradient(dparams[s], grads[v++]);
  };
  problem.resample = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (Index i = 0; i < batch.x.size(); ++i) batch.x.data()[i] = u(rng);
  };
  return check_gradients(problem, options.check);
}

namespace detail {

/// The check of one layer: `input` holds the variables the layer's inputs contribute (x, and
/// the adjacency values for a graph layer), then the layer's own parameter slots.
/// `run(y, cache)` is its forward; `back(cache, dy, with_targets, input_grads, dparams)` its
/// backward, with the input-gradient targets or (with_targets = false) none, in which case the
/// parameter gradients must come out the same.
template <typename L, typename Run, typename Back>
GradCheckResult check_layer(const L& layer, ParameterSet<double>& params, std::vector<Variable> input, Run run,
                            Back back, const GradCheckOptions& options) {
  GradCheckProblem problem;
  problem.variables = std::move(input);
  const std::size_t inputs = problem.variables.size();
  const std::vector<Index> slots = owned_slots(layer);
  add_parameters(problem, params, slots);
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    Matrix<double> y;
    typename L::Cache cache;
    run(y, cache);
    append(y, outputs);
    if constexpr (requires { layer.discrete(cache, discrete); }) layer.discrete(cache, discrete);
    return 0.0;
  };
  bool nulls_agree = true;
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    Matrix<double> y;
    typename L::Cache cache;
    run(y, cache);
    Matrix<double> dy(y.rows(), y.cols());
    for (Index i = 0; i < dy.size(); ++i) dy.data()[i] = upstream[static_cast<std::size_t>(i)];
    ParameterSet<double> dparams = params.zeros_like(), only = params.zeros_like();
    poison(dparams);
    back(cache, dy, true, grads, dparams);
    poison(only);
    back(cache, dy, false, grads, only);
    for (const Index s : slots) nulls_agree = nulls_agree && only[s] == dparams[s];
    std::size_t v = inputs;
    for (const Index s : slots) copy_gradient(dparams[s], grads[v++]);
  };
  GradCheckResult r = check_gradients(problem, options);
  if (!nulls_agree) {
    r.ok = false;
    r.log += "backward without input-gradient targets gave other parameter gradients\n";
  }
  return r;
}

}  // namespace detail

/// Gradient check of a `GraphLayer` (core/concepts.hpp: graph convolutions, readouts, a user's
/// layer of that shape). Variables: batch.x, the stored values of batch.adj (when `adjacency`
/// and the layer reads them) and the tensors of `params` the layer owns. Backward is also run
/// with null gradient targets: the parameter gradients must not change (a target is skipped
/// work, never a different result).
template <typename L>
GradCheckResult check_graph_layer(const L& layer, ParameterSet<double>& params, Batch<double>& batch,
                                  bool adjacency = true, const GradCheckOptions& options = {}) {
  if constexpr (requires { L::reads_adjacency; }) adjacency = adjacency && L::reads_adjacency;
  std::vector<Variable> input{{"x", batch.x.data(), batch.x.size()}};
  if (adjacency) input.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return detail::check_layer(
      layer, params, std::move(input), [&](Matrix<double>& y, typename L::Cache& c) { layer.forward(params, batch, y, c); },
      [&](const typename L::Cache& c, const Matrix<double>& dy, bool targets, std::vector<std::vector<double>>& grads,
          ParameterSet<double>& dparams) {
        Matrix<double> dx = Matrix<double>::Constant(batch.x.rows(), batch.x.cols(), nan);
        Vector<double> dadj = Vector<double>::Constant(batch.adj.nonZeros(), nan);
        const BatchGradRef<double> din = targets ? BatchGradRef<double>{&dx, adjacency ? &dadj : nullptr} : BatchGradRef<double>{};
        layer.backward(params, batch, c, dy, din, dparams);
        if (!targets) return;
        copy_gradient(dx, grads[0]);
        if (adjacency) copy_gradient(dadj, grads[1]);
      },
      options);
}

/// Gradient check of a `FeatureLayer` (Linear, MLP, a user's layer of that shape). Variables:
/// x and the tensors of `params` the layer owns; backward with a null dx must give the same
/// parameter gradients.
template <typename L>
GradCheckResult check_feature_layer(const L& layer, ParameterSet<double>& params, Matrix<double>& x,
                                    const GradCheckOptions& options = {}) {
  return detail::check_layer(
      layer, params, {{"x", x.data(), x.size()}}, [&](Matrix<double>& y, typename L::Cache& c) { layer.forward(params, x, y, c); },
      [&](const typename L::Cache& c, const Matrix<double>& dy, bool targets, std::vector<std::vector<double>>& grads,
          ParameterSet<double>& dparams) {
        Matrix<double> dx = Matrix<double>::Constant(x.rows(), x.cols(), std::numeric_limits<double>::quiet_NaN());
        layer.backward(params, x, c, dy, targets ? &dx : nullptr, dparams);
        if (targets) copy_gradient(dx, grads[0]);
      },
      options);
}

/// Gradient check of a global readout. Variables: batch.x and the tensors of `params` the
/// readout owns (its `parameter_slots`).
template <typename ReadoutT>
GradCheckResult check_readout(const ReadoutT& readout, ParameterSet<double>& params, Batch<double>& batch,
                              const GradCheckOptions& options = {}) {
  GradCheckProblem problem;
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  const std::vector<Index> slots = owned_slots(readout);
  add_parameters(problem, params, slots);
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    Matrix<double> out;
    typename ReadoutT::Cache cache;
    readout.forward(params, batch, out, cache);
    append(out, outputs);
    if constexpr (requires { cache.argmax; })
      discrete.insert(discrete.end(), cache.argmax.begin(), cache.argmax.end());
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    Matrix<double> out;
    typename ReadoutT::Cache cache;
    readout.forward(params, batch, out, cache);
    Matrix<double> g(out.rows(), out.cols());
    for (Index i = 0; i < g.size(); ++i) g.data()[i] = upstream[static_cast<std::size_t>(i)];
    Matrix<double> dx = Matrix<double>::Constant(batch.x.rows(), batch.x.cols(), std::numeric_limits<double>::quiet_NaN());
    ParameterSet<double> dparams = params.zeros_like();
    poison(dparams);
    readout.backward(params, batch, cache, g, BatchGradRef<double>{&dx, nullptr}, dparams);
    copy_gradient(dx, grads[0]);
    std::size_t v = 1;
    for (const Index s : slots) copy_gradient(dparams[s], grads[v++]);
  };
  problem.resample = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (Index i = 0; i < batch.x.size(); ++i) batch.x.data()[i] = u(rng);
  };
  return check_gradients(problem, options);
}

}  // namespace gnnpool::testing

#endif
