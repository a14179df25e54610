#ifndef GNNPOOL_MODEL_CHECK_HPP
#define GNNPOOL_MODEL_CHECK_HPP

/// \file
/// `check_model`: the whole-model gradient check. One call compares `Tape::backward` with
/// central finite differences of the model's loss for every parameter (and optionally the
/// inputs), through the one checker of testing/gradcheck.hpp.
///
///     auto result = check_model(params, [&](Tape<double>& tape) {
///       auto [g, x] = tape.inputs(batch);
///       ...
///       return loss;                       // a Loss recorded on `tape`
///     });
///     REQUIRE(result.ok);
///
/// The discrete decisions (ReLU masks, kept sets, matchings, pooled patterns, argmax) are read
/// from the recording (`Tape::discrete`), never listed by hand: when a perturbation flips one,
/// the point is a kink and the check redraws the parameters (`params.initialize`), jitters the
/// features of the checked input batches (ties between nodes, as in TopK, come from the data)
/// and starts again, up to `max_resamples` times.

#include <gnnpool/model/tape.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace gnnpool {

/// What `check_model` differentiates.
struct ModelCheckOptions {
  testing::GradCheckOptions check{};
  /// Entries checked per parameter tensor: all when <= 0 or >= the tensor's size, otherwise
  /// this many drawn at random (seeded by check.seed).
  Index entries_per_tensor = 0;
  /// Redraw the parameters (params.initialize) and add U(-0.05, 0.05) to the features of the
  /// checked inputs when a perturbation flips a discrete decision.
  bool resample = true;
};

/// Checks the gradient of the loss `build(tape)` returns with respect to every parameter of
/// `params` and, for each batch in `inputs`, its x and adjacency values (the build function must
/// pass those very batches to `tape.inputs`, which then records them as requiring a gradient).
template <typename Build>
testing::GradCheckResult check_model(ParameterSet<double>& params, Build&& build,
                                     std::vector<Batch<double>*> inputs = {}, const ModelCheckOptions& options = {}) {
  Tape<double> tape(params);
  ParameterSet<double> grads = params.zeros_like();
  testing::GradCheckProblem problem;
  // Which entries are variables: (slot, entry) pairs, one Variable each when sampling.
  std::vector<std::pair<Index, Index>> entries;
  std::mt19937_64 rng(options.check.seed);
  for (Index s = 0; s < params.size(); ++s) {
    const Index size = params[s].size();
    if (options.entries_per_tensor <= 0 || options.entries_per_tensor >= size) {
      problem.variables.push_back({"param:" + params.name(s), params[s].data(), size});
      entries.emplace_back(s, -1);
    } else {
      for (Index k = 0; k < options.entries_per_tensor; ++k) {
        const Index e = std::uniform_int_distribution<Index>(0, size - 1)(rng);
        problem.variables.push_back({"param:" + params.name(s) + "[" + std::to_string(e) + "]", params[s].data() + e, 1});
        entries.emplace_back(s, e);
      }
    }
  }
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    problem.variables.push_back({"input" + std::to_string(b) + ".x", inputs[b]->x.data(), inputs[b]->x.size()});
    problem.variables.push_back(
        {"input" + std::to_string(b) + ".adj", inputs[b]->adj.valuePtr(), inputs[b]->adj.nonZeros()});
  }
  auto record = [&] {
    tape.reset();
    tape.watch(inputs);
    return build(tape);
  };
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    const Loss<double> loss = record();
    outputs.push_back(loss.value());
    tape.discrete(discrete);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& out) {
    const Loss<double> loss = record();
    testing::poison(grads);
    tape.backward(loss, grads, upstream.at(0));
    std::size_t v = 0;
    for (const auto& [s, e] : entries) {
      if (e < 0) testing::copy_gradient(grads[s], out[v++]);
      else out[v++][0] = grads[s].data()[e];
    }
    for (const Batch<double>* b : inputs) {
      testing::copy_gradient(tape.input_grad_x(*b), out[v++]);
      testing::copy_gradient(tape.input_grad_adj(*b), out[v++]);
    }
  };
  if (options.resample)
    problem.resample = [&](std::uint64_t seed) {
      params.initialize(seed);
      std::mt19937_64 jitter(seed);
      std::uniform_real_distribution<double> u(-0.05, 0.05);
      for (Batch<double>* b : inputs)
        for (Index i = 0; i < b->x.size(); ++i) b->x.data()[i] += u(jitter);
    };
  return testing::check_gradients(problem, options.check);
}

}  // namespace gnnpool

#endif
