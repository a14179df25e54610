#ifndef GNNPOOL_TESTS_SUPPORT_SOFT_HPP
#define GNNPOOL_TESTS_SUPPORT_SOFT_HPP

// Shared pieces of the soft-clustering tests (select/reduce/connect/loss/pool soft*, properties/
// soft): a batch with the awkward cases in it, a random soft assignment, the gradient check of a
// single soft policy (variables S, x, adj values) and the float-vs-double comparison.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <type_traits>
#include <vector>

namespace gnnpool::test {

/// Four graphs: a random weighted one (7 nodes), one with isolated nodes (6 nodes, 2 of them
/// isolated), a single node without edges, and two components of 3 and 2 nodes (5 nodes). Nodes
/// are not padded; the batch is what every soft policy must handle without NaN.
template <typename Scalar>
Batch<Scalar> soft_test_batch(Index features, std::uint64_t seed) {
  testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  std::vector<Batch<Scalar>> graphs;
  graphs.push_back(testing::random_graph<Scalar>(7, 12, features, seed, weighted));
  graphs.push_back(make_graph<Scalar>(testing::random_features<Scalar>(6, features, seed + 1),
                                      EdgeList{{0, 2}, {2, 3}, {3, 0}, {3, 5}}));
  graphs.push_back(make_graph<Scalar>(testing::random_features<Scalar>(1, features, seed + 2), EdgeList{}));
  graphs.push_back(make_graph<Scalar>(testing::random_features<Scalar>(5, features, seed + 3),
                                      EdgeList{{0, 1}, {1, 2}, {2, 0}, {3, 4}}));
  return concatenate<Scalar>(graphs);
}

/// S = softmax(logits) with logits U(-1.5, 1.5): every entry comfortably inside (0, 1).
template <typename Scalar>
SoftSelection<Scalar> soft_test_selection(const Batch<Scalar>& batch, Index k, std::uint64_t seed) {
  SoftSelection<Scalar> sel;
  Matrix<double> logits = testing::random_features<double>(batch.num_nodes(), k, seed) * 1.5;
  sel.s.resize(batch.num_nodes(), k);
  for (Index i = 0; i < logits.rows(); ++i) {
    const auto e = (logits.row(i).array() - logits.row(i).maxCoeff()).exp();
    sel.s.row(i) = (e / e.sum()).matrix().template cast<Scalar>();
  }
  sel.offsets = batch.offsets;
  return sel;
}

template <typename To, typename From>
Batch<To> cast_batch(const Batch<From>& b) {
  Batch<To> out;
  out.x = b.x.template cast<To>();
  out.adj = b.adj.template cast<To>();
  out.offsets = b.offsets;
  return out;
}

template <typename To, typename From>
SoftSelection<To> cast_selection(const SoftSelection<From>& s) {
  SoftSelection<To> out;
  out.s = s.s.template cast<To>();
  out.offsets = s.offsets;
  return out;
}

/// Which inputs of a soft policy carry gradient in a check.
struct SoftVariables {
  bool s = true;
  bool x = true;
  bool adj = true;
};

/// Gradient check of one soft policy (or any step) on (batch, sel), in double.
///
/// `forward(batch, sel, outputs)` appends the step's outputs and returns the part of the
/// objective with no upstream (0 for most steps). `backward(batch, sel, upstream, din, ds)`
/// runs forward again for its cache, then ADDS the VJP into din (x, adj) and ds, which this
/// function zero-fills: the policy contract inside a Pool.
template <typename Forward, typename Backward>
testing::GradCheckResult check_soft_step(Batch<double>& batch, SoftSelection<double>& sel, Forward forward,
                                         Backward backward, SoftVariables vars = {}) {
  testing::GradCheckProblem problem;
  if (vars.s) problem.variables.push_back({"s", sel.s.data(), sel.s.size()});
  if (vars.x) problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  if (vars.adj) problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>&) { return forward(batch, sel, outputs); };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    BatchGrad<double> din;
    din.x.setZero(batch.x.rows(), batch.x.cols());
    din.adj.setZero(batch.adj.nonZeros());
    Matrix<double> ds = Matrix<double>::Zero(sel.s.rows(), sel.s.cols());
    backward(batch, sel, upstream, din, ds);
    std::size_t v = 0;
    if (vars.s) testing::copy_gradient(ds, grads[v++]);
    if (vars.x) testing::copy_gradient(din.x, grads[v++]);
    if (vars.adj) testing::copy_gradient(din.adj, grads[v++]);
  };
  return testing::check_gradients(problem);
}

/// Everything one forward + backward of a soft step produces, in double for comparison.
struct SoftRun {
  std::vector<double> outputs;
  Matrix<double> ds, dx;
  Vector<double> dadj;
};

/// Runs `step(batch, sel, upstream, run)` in Scalar: it fills run.outputs (forward) and, from
/// the given upstream (one entry per output), run.ds / run.dx / run.dadj (backward, added into
/// zeros). Used to compare float with double.
template <typename Scalar, typename Step>
SoftRun run_soft_step(const Batch<double>& batch64, const SoftSelection<double>& sel64, Step step) {
  const Batch<Scalar> batch = cast_batch<Scalar>(batch64);
  const SoftSelection<Scalar> sel = cast_selection<Scalar>(sel64);
  BatchGrad<Scalar> din;
  din.x.setZero(batch.x.rows(), batch.x.cols());
  din.adj.setZero(batch.adj.nonZeros());
  Matrix<Scalar> ds = Matrix<Scalar>::Zero(sel.s.rows(), sel.s.cols());
  SoftRun run;
  step(batch, sel, run.outputs, din, ds);
  run.ds = ds.template cast<double>();
  run.dx = din.x.template cast<double>();
  run.dadj = din.adj.template cast<double>();
  return run;
}

/// max relative error between a float run and a double run.
inline double float_double_gap(const SoftRun& f, const SoftRun& d) {
  const Eigen::Map<const Vector<double>> fo(f.outputs.data(), static_cast<Index>(f.outputs.size()));
  const Eigen::Map<const Vector<double>> do_(d.outputs.data(), static_cast<Index>(d.outputs.size()));
  return std::max({max_relative_error(fo, do_), max_relative_error(f.ds, d.ds), max_relative_error(f.dx, d.dx),
                   max_relative_error(f.dadj, d.dadj)});
}

/// A deterministic upstream gradient with `n` entries in [-1, 1].
inline std::vector<double> test_upstream(std::size_t n, std::uint64_t seed = 99) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> g(n);
  for (auto& v : g) v = u(rng);
  return g;
}

/// What `check_policy` found: the double-precision gradient check, and the largest relative gap
/// between a float and a double run of forward + backward.
struct PolicyCheck {
  testing::GradCheckResult gradients;
  double float_gap = 0;
};

/// Checks one soft policy built by `make.template operator()<Scalar>()`:
/// `fwd(policy, batch, sel, outputs, cache)` appends its outputs (as double),
/// `bwd(policy, batch, sel, cache, upstream, din, ds)` adds its VJP for an upstream given as a
/// Vector<Scalar> with one entry per output.
template <typename Make, typename Fwd, typename Bwd>
PolicyCheck check_policy(Make make, Fwd fwd, Bwd bwd, const Batch<double>& batch, const SoftSelection<double>& sel,
                         SoftVariables vars = {}) {
  PolicyCheck result;
  {
    Batch<double> b = batch;
    SoftSelection<double> s = sel;
    const auto policy = make.template operator()<double>();
    using Cache = typename std::decay_t<decltype(policy)>::Cache;
    result.gradients = check_soft_step(
        b, s,
        [&](const Batch<double>& bb, const SoftSelection<double>& ss, std::vector<double>& out) {
          Cache cache;
          fwd(policy, bb, ss, out, cache);
          return 0.0;
        },
        [&](const Batch<double>& bb, const SoftSelection<double>& ss, const std::vector<double>& up,
            BatchGrad<double>& din, Matrix<double>& ds) {
          Cache cache;
          std::vector<double> out;
          fwd(policy, bb, ss, out, cache);
          const Vector<double> g = Eigen::Map<const Vector<double>>(up.data(), static_cast<Index>(up.size()));
          bwd(policy, bb, ss, cache, g, din, ds);
        },
        vars);
  }
  auto step = [&]<typename Scalar>(const Batch<Scalar>& b, const SoftSelection<Scalar>& s, std::vector<double>& out,
                                   BatchGrad<Scalar>& din, Matrix<Scalar>& ds) {
    const auto policy = make.template operator()<Scalar>();
    typename std::decay_t<decltype(policy)>::Cache cache;
    fwd(policy, b, s, out, cache);
    const std::vector<double> up = test_upstream(out.size());
    const Vector<Scalar> g = Eigen::Map<const Vector<double>>(up.data(), static_cast<Index>(up.size())).template cast<Scalar>();
    bwd(policy, b, s, cache, g, din, ds);
  };
  result.float_gap = float_double_gap(run_soft_step<float>(batch, sel, step), run_soft_step<double>(batch, sel, step));
  return result;
}

/// `check_policy` for a LossPolicy: one output, its value.
template <typename Make>
PolicyCheck check_loss_policy(Make make, const Batch<double>& batch, const SoftSelection<double>& sel,
                              SoftVariables vars = {}) {
  return check_policy(
      make,
      [](const auto& loss, const auto& b, const auto& s, std::vector<double>& out, auto& cache) {
        out.push_back(static_cast<double>(loss.forward(b, s, cache)));
      },
      [](const auto& loss, const auto& b, const auto& s, const auto& cache, const auto& g, auto& din, auto& ds) {
        loss.backward(b, s, cache, g[0], din, ds);
      },
      batch, sel, vars);
}

/// The value of a loss policy on (batch, sel).
template <typename Loss>
typename Loss::Scalar loss_value(const Loss& loss, const Batch<typename Loss::Scalar>& batch,
                                 const SoftSelection<typename Loss::Scalar>& sel) {
  typename Loss::Cache cache;
  return loss.forward(batch, sel, cache);
}

/// Largest relative gap between a float and a double forward + backward of a pooler.
/// `make.template operator()<Scalar>(params)` builds the pooler, registering its parameters in
/// `params`; the double set is initialised from `seed` and the float set is its cast. The
/// upstream gradient covers the pooled x, the pooled adjacency and the selection; the loss
/// weights are the pooler's own. Compared: pooled x and adj, S, every loss, dX, dA, dparams.
template <typename Make>
double pool_float_gap(Make make, const Batch<double>& batch, std::uint64_t seed) {
  auto run = [&]<typename Scalar>(ParameterSet<Scalar>& params) {
    const auto pool = make.template operator()<Scalar>(params);
    using PoolT = std::decay_t<decltype(pool)>;
    if constexpr (std::is_same_v<Scalar, double>) params.initialize(seed);
    return [&, pool](const ParameterSet<Scalar>& values) {
      const Batch<Scalar> b = cast_batch<Scalar>(batch);
      typename PoolT::Output out;
      typename PoolT::Cache cache;
      pool.forward(values, b, out, cache);
      typename PoolT::OutputGrad g;
      const auto up = test_upstream(static_cast<std::size_t>(out.batch.x.size() + out.batch.adj.nonZeros() + out.selection.s.size()));
      std::size_t k = 0;
      g.x.resize(out.batch.x.rows(), out.batch.x.cols());
      for (Index i = 0; i < g.x.size(); ++i) g.x.data()[i] = static_cast<Scalar>(up[k++]);
      g.adj.resize(out.batch.adj.nonZeros());
      for (Index i = 0; i < g.adj.size(); ++i) g.adj[i] = static_cast<Scalar>(up[k++]);
      g.selection.resize(out.selection.s.rows(), out.selection.s.cols());
      for (Index i = 0; i < g.selection.size(); ++i) g.selection.data()[i] = static_cast<Scalar>(up[k++]);
      BatchGrad<Scalar> din;
      ParameterSet<Scalar> dparams = values.zeros_like();
      pool.backward(values, b, out, cache, g, din, dparams);
      std::vector<double> flat;
      testing::append(out.batch.x, flat);
      for (Index e = 0; e < out.batch.adj.nonZeros(); ++e) flat.push_back(static_cast<double>(out.batch.adj.valuePtr()[e]));
      testing::append(out.selection.s, flat);
      for (const auto& l : out.losses) flat.push_back(static_cast<double>(l.value));
      testing::append(din.x, flat);
      testing::append(din.adj, flat);
      for (Index s = 0; s < dparams.size(); ++s) testing::append(dparams[s], flat);
      return flat;
    };
  };
  ParameterSet<double> pd;
  ParameterSet<float> pf;
  const auto run_double = run(pd);
  const auto run_float = run(pf);
  const ParameterSet<float> values = pd.template cast<float>();
  const std::vector<double> d = run_double(pd), f = run_float(values);
  if (d.size() != f.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t i = 0; i < d.size(); ++i) worst = std::max(worst, std::abs(f[i] - d[i]) / std::max(1.0, std::abs(d[i])));
  return worst;
}

/// Gradient check of a functional form (`SoftPoolFunction`): variables the logits, x and the
/// stored edge weights; outputs the pooled x, the pooled adjacency values and (with `selection`)
/// S; the weighted auxiliary losses enter the objective with their weights.
template <typename Function>
testing::GradCheckResult check_function(const Function& f, Batch<double>& batch, Matrix<double>& logits,
                                        bool selection) {
  testing::GradCheckProblem problem;
  problem.variables.push_back({"logits", logits.data(), logits.size()});
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    typename Function::Output o;
    typename Function::Cache c;
    f.forward(batch, logits, o, c);
    testing::append(o.batch.x, out);
    for (Index e = 0; e < o.batch.adj.nonZeros(); ++e) out.push_back(o.batch.adj.valuePtr()[e]);
    if (selection) testing::append(o.selection.s, out);
    return o.weighted_loss();
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    typename Function::Output o;
    typename Function::Cache c;
    f.forward(batch, logits, o, c);
    typename Function::OutputGrad g;
    std::size_t k = 0;
    g.x = Eigen::Map<const Matrix<double>>(up.data(), o.batch.x.rows(), o.batch.x.cols());
    k += static_cast<std::size_t>(o.batch.x.size());
    g.adj = Eigen::Map<const Vector<double>>(up.data() + k, o.batch.adj.nonZeros());
    k += static_cast<std::size_t>(o.batch.adj.nonZeros());
    if (selection) g.selection = Eigen::Map<const Matrix<double>>(up.data() + k, o.selection.s.rows(), o.selection.s.cols());
    BatchGrad<double> din;
    Matrix<double> dlogits;
    f.backward(batch, o, c, g, din, dlogits);
    testing::copy_gradient(dlogits, grads[0]);
    testing::copy_gradient(din.x, grads[1]);
    testing::copy_gradient(din.adj, grads[2]);
  };
  return testing::check_gradients(problem);
}

}  // namespace gnnpool::test

#endif
