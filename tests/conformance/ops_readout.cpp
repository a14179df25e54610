// Conformance handlers of the global readouts: PyG global_add_pool, global_mean_pool,
// global_max_pool, AttentionalAggregation (gate_nn = Linear(F, 1), nn = None or Linear(F, F')),
// SortAggregation (sort_pool) and Set2Set (set2set).

#include "conformance/conformance.hpp"

#include <gnnpool/readout/attention.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/set2set.hpp>
#include <gnnpool/readout/sort.hpp>
#include <gnnpool/readout/sum.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

namespace gnnpool::conformance {
namespace {

/// Error floor of a parameter gradient (see Comparison::values): 1e-6 unless a handler knows
/// the gradient is a cancelling sum.
template <typename Readout>
using FloorOf = std::function<double(const std::string& name, const Batch<double>&, const typename Readout::Cache&,
                                     const Matrix<double>& dout)>;

/// Forward, backward with dout = loss_weights["x"], and every comparison the file allows:
/// the output, the loss recomputed from it, dL/dx and dL/d(param) for every file parameter.
template <typename Readout>
void run_readout(const Case& c, Comparison& cmp, const Readout& readout, ParameterSet<double>& params,
                 const FloorOf<Readout>& floor_of = {}) {
  const Batch<double> batch = c.sparse_batch();
  c.load_params(params);
  Matrix<double> out;
  typename Readout::Cache cache;
  readout.forward(params, batch, out, cache);
  cmp.matrix("output x", out, c.output("x"));

  const Tensor& weights = c.loss_weights.at("x");
  Matrix<double> dout = weights.matrix();
  if (dout.rows() != out.rows() || dout.cols() != out.cols()) {
    cmp.fail("loss_weights.x is " + std::to_string(dout.rows()) + " x " + std::to_string(dout.cols()) +
             " but the output is " + std::to_string(out.rows()) + " x " + std::to_string(out.cols()));
    return;
  }
  double loss = out.cwiseProduct(dout).sum();
  for (const auto& [name, aux] : c.aux_losses) loss += aux.scalar();
  cmp.scalar("loss", loss, c.loss);

  Matrix<double> dx;
  ParameterSet<double> dparams = params.zeros_like();
  readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  cmp.matrix("grad x", dx, c.grad("x"));
  for (const auto& [key, expected] : c.grads) {
    if (key.rfind("param:", 0) != 0) continue;
    const std::string name = key.substr(6);
    cmp.matrix("grad " + key, dparams.at(name), expected, floor_of ? floor_of(name, batch, cache, dout) : 1e-6);
  }
}

template <typename Readout>
void run_parameter_free(const Case& c, Comparison& cmp) {
  ParameterSet<double> params;
  run_readout(c, cmp, Readout{}, params);
}

void run_attention(const Case& c, Comparison& cmp) {
  const Index features = c.input("x").matrix().cols();
  std::optional<Index> nn_out;
  if (auto it = c.params.find("nn.weight"); it != c.params.end()) nn_out = it->second.shape.front();
  ParameterSet<double> params;
  const AttentionReadout<double> readout(params, "", features, nn_out);
  // dL/d(gate bias) = sum_i dz_i is 0 up to the 1e-16 guard (a softmax does not see a common
  // shift of its scores), so the file holds PyTorch's round-off: compare it on the scale of its
  // terms, sum_i |dz_i|, dz_i = alpha_i (dalpha_i - sum_{j in g} alpha_j dalpha_j).
  const auto floor_of = [&](const std::string& name, const Batch<double>& batch,
                            const AttentionReadout<double>::Cache& cache, const Matrix<double>& dout) {
    if (name != "gate_nn.bias") return 1e-6;
    const Matrix<double>& h = readout.has_nn() ? cache.h : batch.x;
    double terms = 0;
    for (Index g = 0; g < batch.num_graphs(); ++g) {
      const Index lo = batch.graph_begin(g), hi = batch.graph_begin(g + 1);
      const Vector<double> dalpha = h.middleRows(lo, hi - lo) * dout.row(g).transpose();
      const double mean = cache.alpha.col(0).segment(lo, hi - lo).dot(dalpha);
      terms += (cache.alpha.col(0).segment(lo, hi - lo).array() * (dalpha.array() - mean)).abs().sum();
    }
    return std::max(terms, 1e-6);
  };
  run_readout<AttentionReadout<double>>(c, cmp, readout, params, floor_of);
}

void run_sort(const Case& c, Comparison& cmp) {
  ParameterSet<double> params;
  run_readout(c, cmp, SortReadout<double>(static_cast<Index>(c.hyper_number("k", 0))), params);
}

void run_set2set(const Case& c, Comparison& cmp) {
  if (c.hyper_number("lstm_layers", 1) != 1) throw std::runtime_error(c.file + ": only a one-layer LSTM is supported");
  ParameterSet<double> params;
  const Set2SetReadout<double> readout(params, "", c.input("x").matrix().cols(),
                                       static_cast<Index>(c.hyper_number("processing_steps", 0)));
  run_readout(c, cmp, readout, params);
}

static Register sort({"sort_pool"}, run_sort);
static Register set2set({"set2set"}, run_set2set);
static Register add({"global_add"}, run_parameter_free<SumReadout<double>>);
static Register mean({"global_mean"}, run_parameter_free<MeanReadout<double>>);
static Register max({"global_max"}, run_parameter_free<MaxReadout<double>>);
static Register attention({"attn_gate", "attn_gate_nn"}, run_attention);

}  // namespace
}  // namespace gnnpool::conformance
