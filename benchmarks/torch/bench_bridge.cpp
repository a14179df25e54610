// The PyTorch bridge's overhead over calling gnnpool directly: the same layer, the same graph,
// the same upstream gradient, once through gnnpool's own forward / backward (`direct`) and once
// through the bridge's autograd op from libtorch (`bridge`: tensors in PyG's form, autograd
// backward). Forward + backward, float, one thread.
//   S100k: one random graph, N = 10^5, E = 10^6 stored entries, F = 64 (bench_support.hpp);
//   D32:   32 random graphs of 100 nodes, F = 64, K = 25 (bench_soft.cpp's batch).
// `bridge` reuses the edge_index conversion that the structure cache keeps (the convolutions and
// the pooler of one model share it, and so do the steps on one graph); `bridge_cold` turns the
// cache off, so every call builds the CSR from edge_index again (a new mini-batch every step).
// Every case runs one untimed backward before it is timed (steady state).
// docs/performance.md reports the ratios.

#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/testing/random_graph.hpp>
#include <gnnpool/torch/function.hpp>
#include <gnnpool/torch/modules.hpp>

#include "bench_support.hpp"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/csrc/autograd/autograd.h>

#include <memory>
#include <vector>

namespace {

namespace pyg = gnnpool::pyg;
using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::ParameterSet;
using S = float;

constexpr Index features = 64;

const Batch<S>& s100k() { return gnnpool::bench::cached_graph<S>(100000, features); }

const Batch<S>& d32() {
  static const Batch<S> b = [] {
    const std::vector<Index> sizes(32, 100);
    return gnnpool::testing::random_batch<S>(sizes, 9.6, features, 2024);
  }();
  return b;
}

/// The graph as PyG tensors: x mapped (no copy), edge_index in CSR order, batch.
struct Tensors {
  at::Tensor x, edge_index, batch;
};
Tensors tensors_of(const Batch<S>& g) {
  Tensors t;
  t.x = at::from_blob(const_cast<S*>(g.x.data()), {g.x.rows(), g.x.cols()}, at::kFloat).requires_grad_();
  const gnnpool::IndexVector ei = gnnpool::to_edge_index(g.adj);
  t.edge_index = at::tensor(std::vector<int64_t>(ei.begin(), ei.end())).reshape({2, -1});
  const gnnpool::IndexVector graph = g.graph_index();
  t.batch = at::tensor(std::vector<int64_t>(graph.begin(), graph.end()));
  return t;
}

/// gnnpool's own forward + backward of a pooler with a fixed upstream gradient of x', steady state.
template <typename PoolT>
void direct_pool(benchmark::State& state, const Batch<S>& g, const PoolT& pool, const ParameterSet<S>& params) {
  gnnpool::bench::time_pool(state, pool, params, g, true);
}

/// The bridge's forward + autograd backward with fixed upstream gradients: random for the
/// outputs (as `direct` has for x'), 1 for a scalar (the auxiliary losses, whose weights are 1
/// in `direct`).
template <typename Forward>
void bridge(benchmark::State& state, const Tensors& t, Forward forward, bool cold) {
  const auto previous = pyg::set_structure_cache_capacity(cold ? 0 : 4);
  std::vector<at::Tensor> grads;
  const std::vector<at::Tensor> first = forward(t);
  for (const at::Tensor& y : first) grads.push_back(y.dim() ? at::randn(y.sizes(), at::kFloat) : at::ones({}, at::kFloat));
  torch::autograd::backward(first, grads);  // untimed: steady state, as in `direct`
  t.x.mutable_grad().reset();
  for (auto _ : state) {
    torch::autograd::backward(forward(t), grads);
    benchmark::DoNotOptimize(t.x.grad().data_ptr());
    t.x.mutable_grad().reset();
  }
  pyg::set_structure_cache_capacity(previous);
}

using Outputs = std::vector<at::Tensor>;

template <typename Module>
void copy_parameters(const Module& module, const ParameterSet<S>& params) {
  torch::NoGradGuard no_grad;
  for (auto& p : module->named_parameters()) {
    const auto& v = params.at(p.key());
    p.value().copy_(at::from_blob(const_cast<S*>(v.data()), p.value().sizes(), at::kFloat));
  }
}

// --- TopK ------------------------------------------------------------------------------------

void BM_TopK_direct(benchmark::State& state) {
  ParameterSet<S> params;
  const gnnpool::TopKPool<S> pool(params, "", features, gnnpool::TopKOptions{});
  params.initialize(3);
  direct_pool(state, s100k(), pool, params);
}
void BM_TopK_bridge(benchmark::State& state) {
  ParameterSet<S> params;
  [[maybe_unused]] const gnnpool::TopKPool<S> same(params, "", features, gnnpool::TopKOptions{});
  params.initialize(3);
  pyg::TopKPooling pool{pyg::TopKPoolingOptions(features)};
  copy_parameters(pool, params);
  const Tensors t = tensors_of(s100k());
  bridge(state, t, [&](const Tensors& in) { return Outputs{pool(in.x, in.edge_index).x}; }, state.range(0) != 0);
}

// --- SAG (GraphConv, PyG's: the scorer reads edge_index only) ------------------------------

gnnpool::SAGOptions sag_options() {
  gnnpool::SAGOptions o;
  o.edge_weights = false;
  return o;
}
void BM_SAG_direct(benchmark::State& state) {
  ParameterSet<S> params;
  const gnnpool::SAGPool<S> pool(params, "", features, sag_options());
  params.initialize(3);
  direct_pool(state, s100k(), pool, params);
}
void BM_SAG_bridge(benchmark::State& state) {
  ParameterSet<S> params;
  [[maybe_unused]] const gnnpool::SAGPool<S> same(params, "", features, sag_options());
  params.initialize(3);
  pyg::SAGPooling pool{pyg::SAGPoolingOptions(features)};
  copy_parameters(pool, params);
  const Tensors t = tensors_of(s100k());
  bridge(state, t, [&](const Tensors& in) { return Outputs{pool(in.x, in.edge_index).x}; }, state.range(0) != 0);
}

// --- MinCut on the unpadded batch (S100k, K = 16) ---------------------------------------------

void BM_MinCut_direct(benchmark::State& state) {
  ParameterSet<S> params;
  const gnnpool::MinCutPool<S> pool(params, "", features, {.k = 16});
  params.initialize(3);
  direct_pool(state, s100k(), pool, params);
}
void BM_MinCut_bridge(benchmark::State& state) {
  ParameterSet<S> params;
  [[maybe_unused]] const gnnpool::MinCutPool<S> same(params, "", features, {.k = 16});
  params.initialize(3);
  pyg::MinCutPool pool(pyg::SoftPoolOptions(features, 16));
  copy_parameters(pool, params);
  const Tensors t = tensors_of(s100k());
  bridge(state, t, [&](const Tensors& in) {
    const auto out = pool(in.x, in.edge_index);
    return Outputs{out.x, out.aux_loss()};
  }, state.range(0) != 0);
}

// --- GCNConv (S100k, 64 -> 64) and the max readout ---------------------------------------------

void BM_GCN_direct(benchmark::State& state) {
  ParameterSet<S> params;
  const gnnpool::GCNConv<S> conv(params, "", features, features);
  params.initialize(3);
  const Batch<S>& g = s100k();
  typename gnnpool::GCNConv<S>::Cache cache;
  gnnpool::Matrix<S> y, dx;
  gnnpool::Vector<S> dadj;
  auto dparams = params.zeros_like();
  conv.forward(params, g, y, cache);
  const gnnpool::Matrix<S> dy = gnnpool::testing::random_features<S>(y.rows(), y.cols(), 7);
  conv.backward(params, g, cache, dy, {&dx, nullptr}, dparams);  // untimed: steady state
  for (auto _ : state) {
    conv.forward(params, g, y, cache);
    conv.backward(params, g, cache, dy, {&dx, nullptr}, dparams);
    benchmark::DoNotOptimize(dx.data());
  }
}
void BM_GCN_bridge(benchmark::State& state) {
  ParameterSet<S> params;
  [[maybe_unused]] const gnnpool::GCNConv<S> same(params, "", features, features);
  params.initialize(3);
  pyg::GCNConv conv(pyg::GCNConvOptions(features, features));
  copy_parameters(conv, params);
  const Tensors t = tensors_of(s100k());
  bridge(state, t, [&](const Tensors& in) { return Outputs{conv(in.x, in.edge_index)}; }, state.range(0) != 0);
}

void BM_MaxReadout_direct(benchmark::State& state) {
  const gnnpool::MaxReadout<S> readout;
  const ParameterSet<S> params;
  ParameterSet<S> dparams;
  const Batch<S>& g = d32();
  typename gnnpool::MaxReadout<S>::Cache cache;
  gnnpool::Matrix<S> y, dx;
  readout.forward(params, g, y, cache);
  const gnnpool::Matrix<S> dy = gnnpool::testing::random_features<S>(y.rows(), y.cols(), 7);
  readout.backward(params, g, cache, dy, {&dx, nullptr}, dparams);  // untimed: steady state
  for (auto _ : state) {
    readout.forward(params, g, y, cache);
    readout.backward(params, g, cache, dy, {&dx, nullptr}, dparams);
    benchmark::DoNotOptimize(dx.data());
  }
}
void BM_MaxReadout_bridge(benchmark::State& state) {
  const Tensors t = tensors_of(d32());
  bridge(state, t, [&](const Tensors& in) { return Outputs{pyg::global_max_pool(in.x, in.batch)}; }, false);
}

// --- dense MinCut on D32 (PyG's padded form: no padding, B = 32, Nmax = 100) ---------------

void BM_DenseMinCut_direct(benchmark::State& state) {
  const Batch<S>& g = d32();
  const auto fn = gnnpool::mincut_pool_function<S>();
  const gnnpool::Matrix<S> logits = gnnpool::testing::random_features<S>(g.num_nodes(), 25, 5);
  typename gnnpool::MinCutPoolFunction<S>::Output out;
  typename gnnpool::MinCutPoolFunction<S>::Cache cache;
  typename gnnpool::MinCutPoolFunction<S>::OutputGrad grad;
  gnnpool::BatchGrad<S> din;
  gnnpool::Matrix<S> dlogits;
  fn.forward(g, logits, out, cache);
  grad.x = gnnpool::testing::random_features<S>(out.batch.x.rows(), out.batch.x.cols(), 7);
  fn.backward(g, out, cache, grad, din, dlogits);  // untimed: steady state
  for (auto _ : state) {
    fn.forward(g, logits, out, cache);
    fn.backward(g, out, cache, grad, din, dlogits);
    benchmark::DoNotOptimize(din.x.data());
  }
}
void BM_DenseMinCut_bridge(benchmark::State& state) {
  const Batch<S>& g = d32();
  const at::Tensor x = at::from_blob(const_cast<S*>(g.x.data()), {32, 100, features}, at::kFloat).requires_grad_();
  // Dense [B, N, N] adjacency of the block-diagonal batch.
  at::Tensor dense = at::zeros({32, 100, 100}, at::kFloat);
  for (Index i = 0; i < g.adj.rows(); ++i)
    for (gnnpool::SparseMatrix<S>::InnerIterator it(g.adj, i); it; ++it)
      dense[i / 100][i % 100][it.col() % 100] = it.value();
  const at::Tensor s = at::randn({32, 100, 25}, at::kFloat).requires_grad_();
  const at::Tensor first = pyg::dense_mincut_pool(x, dense, s).x;
  const at::Tensor gy = at::randn(first.sizes(), at::kFloat);
  torch::autograd::backward({first}, {gy});  // untimed: steady state
  x.mutable_grad().reset();
  s.mutable_grad().reset();
  for (auto _ : state) {
    const at::Tensor y = pyg::dense_mincut_pool(x, dense, s).x;
    torch::autograd::backward({y}, {gy});
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.mutable_grad().reset();
    s.mutable_grad().reset();
  }
}

void setup(const benchmark::State&) { at::set_num_threads(1); }

}  // namespace

#define BRIDGE(name) BENCHMARK(name)->Name(#name)->Arg(0)->Arg(1)->ArgName("cold")->Setup(setup)->Unit(benchmark::kMillisecond)
#define DIRECT(name) BENCHMARK(name)->Name(#name)->Setup(setup)->Unit(benchmark::kMillisecond)

DIRECT(BM_TopK_direct);
BRIDGE(BM_TopK_bridge);
DIRECT(BM_SAG_direct);
BRIDGE(BM_SAG_bridge);
DIRECT(BM_MinCut_direct);
BRIDGE(BM_MinCut_bridge);
DIRECT(BM_GCN_direct);
BRIDGE(BM_GCN_bridge);
DIRECT(BM_MaxReadout_direct);
BENCHMARK(BM_MaxReadout_bridge)->Name("BM_MaxReadout_bridge")->Setup(setup)->Unit(benchmark::kMillisecond);
DIRECT(BM_DenseMinCut_direct);
BENCHMARK(BM_DenseMinCut_bridge)->Name("BM_DenseMinCut_bridge")->Setup(setup)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
