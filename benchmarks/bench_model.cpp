// The model layer's overhead: one training step's forward + backward of a 3-layer DiffPool
// model (GCNConv -> DiffPool -> GCNConv -> GCNConv -> mean -> Linear, cross-entropy + DiffPool's
// losses) on B = 32 graphs of 100 nodes, F = 64, K = 25, recorded on a Tape (BM_ModelTape) and
// chained by hand with the same layers (BM_ModelHandChained). BM_ModelTapeMemory runs 1000
// steps and reports the resident set size after the first 10 steps and after the last one.
//
// Reading: ModelTape / ModelHandChained is the cost of the recording (the target is <= 1.05);
// rss_growth_kib is the memory the recording gained over 990 steps (the target is ~0).

#include <gnnpool/gnnpool.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace {

using gnnpool::Index;

constexpr Index kGraphs = 32, kNodes = 100, kFeatures = 64, kClusters = 25, kClasses = 2;

template <typename Scalar>
struct Fixture {
  gnnpool::ParameterSet<Scalar> params;
  gnnpool::GCNConv<Scalar> conv1{params, "conv1", kFeatures, kFeatures};
  gnnpool::DiffPool<Scalar> pool{params, "pool", kFeatures, {.k = kClusters}};
  gnnpool::GCNConv<Scalar> conv2{params, "conv2", kFeatures, kFeatures};
  gnnpool::GCNConv<Scalar> conv3{params, "conv3", kFeatures, kFeatures};
  gnnpool::MeanReadout<Scalar> mean;
  gnnpool::Linear<Scalar> head{params, "head", kFeatures, kClasses};
  gnnpool::Batch<Scalar> batch;
  std::vector<Index> labels;
  gnnpool::ParameterSet<Scalar> grads;

  Fixture() {
    params.initialize(0);
    grads = params.zeros_like();
    const std::vector<Index> sizes(kGraphs, kNodes);
    batch = gnnpool::testing::random_batch<Scalar>(sizes, 8.0, kFeatures, 7);
    for (Index b = 0; b < kGraphs; ++b) labels.push_back(b % kClasses);
  }

  /// One step on the tape; returns the loss.
  Scalar tape_step(gnnpool::Tape<Scalar>& tape) {
    tape.reset();
    auto [g, x] = tape.inputs(batch);
    auto h1 = relu(tape(conv1, g, x));
    auto p = tape(pool, g, h1);
    auto h2 = relu(tape(conv2, p.graph, p.x));
    auto h3 = relu(tape(conv3, p.graph, h2));
    auto loss = cross_entropy(tape(head, tape(mean, p.graph, h3)), labels) + p.aux_loss();
    tape.backward(loss, grads);
    return loss.value();
  }
};

/// The same step with every backward called by hand (what the examples did before the model
/// layer), with its buffers kept between steps as the tape keeps its nodes.
template <typename Scalar>
struct HandChained {
  using M = gnnpool::Matrix<Scalar>;
  typename gnnpool::GCNConv<Scalar>::Cache c1, c2, c3;
  typename gnnpool::DiffPool<Scalar>::Output out;
  typename gnnpool::DiffPool<Scalar>::Cache pc;
  typename gnnpool::DiffPool<Scalar>::OutputGrad pg;
  gnnpool::BatchGrad<Scalar> din;
  typename gnnpool::MeanReadout<Scalar>::Cache mc;
  typename gnnpool::Linear<Scalar>::Cache lc;
  M z1, a1, z2, a2, z3, a3, pooled, logits, dlogits, dpooled, da3, dz3, da2, dz2, dz1;
  gnnpool::Vector<Scalar> dadj2, dadj3;

  Scalar step(Fixture<Scalar>& f) {
    using gnnpool::Activation;
    const auto& params = f.params;
    f.conv1.forward(params, f.batch, z1, c1);
    gnnpool::activation_forward<Scalar>(Activation::relu, z1, a1);
    const gnnpool::BatchRef<Scalar> level1(a1, f.batch);
    f.pool.forward(params, level1, out, pc);
    f.conv2.forward(params, out.batch, z2, c2);
    gnnpool::activation_forward<Scalar>(Activation::relu, z2, a2);
    const gnnpool::BatchRef<Scalar> level2(a2, out.batch);
    f.conv3.forward(params, level2, z3, c3);
    gnnpool::activation_forward<Scalar>(Activation::relu, z3, a3);
    const gnnpool::BatchRef<Scalar> level3(a3, out.batch);
    f.mean.forward(params, level3, pooled, mc);
    f.head.forward(params, pooled, logits, lc);
    const Scalar loss = gnnpool::softmax_cross_entropy<Scalar>(logits, f.labels, &dlogits) + out.weighted_loss();
    auto& grads = f.grads;
    f.head.backward(params, pooled, lc, dlogits, &dpooled, grads);
    f.mean.backward(params, level3, mc, dpooled, {&da3, nullptr}, grads);
    gnnpool::activation_backward<Scalar>(Activation::relu, z3, a3, da3, dz3);
    f.conv3.backward(params, level2, c3, dz3, {&da2, &dadj3}, grads);
    gnnpool::activation_backward<Scalar>(Activation::relu, z2, a2, da2, dz2);
    f.conv2.backward(params, out.batch, c2, dz2, {&pg.x, &dadj2}, grads);
    pg.adj = dadj2 + dadj3;  // the pooled adjacency is read by conv2 and conv3
    din.adj_needed = false;  // the input graph is data (the tape skips its dL/dA too)
    f.pool.backward(params, level1, out, pc, pg, din, grads);
    gnnpool::activation_backward<Scalar>(Activation::relu, z1, a1, din.x, dz1);
    f.conv1.backward(params, f.batch, c1, dz1, {nullptr, nullptr}, grads);
    return loss;
  }
};

template <typename Scalar>
void BM_ModelTape(benchmark::State& state) {
  Fixture<Scalar> f;
  gnnpool::Tape<Scalar> tape(f.params);
  f.tape_step(tape);  // untimed: the first step allocates every node's buffers (steady state)
  for (auto _ : state) benchmark::DoNotOptimize(f.tape_step(tape));
}

template <typename Scalar>
void BM_ModelHandChained(benchmark::State& state) {
  Fixture<Scalar> f;
  HandChained<Scalar> h;
  h.step(f);  // untimed, as in BM_ModelTape
  for (auto _ : state) benchmark::DoNotOptimize(h.step(f));
}

/// Resident set size in KiB (Linux /proc/self/statm; 0 elsewhere).
double rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return static_cast<double>(resident) * 4.0;
}

void BM_ModelTapeMemory(benchmark::State& state) {
  Fixture<float> f;
  gnnpool::Tape<float> tape(f.params);
  gnnpool::Adam<float> adam(f.params, {.lr = 1e-3});
  double start = 0;
  Index step = 0;
  for (auto _ : state) {
    f.tape_step(tape);
    adam.step(f.params, f.grads);
    if (++step == 10) start = rss_kib();
  }
  const double end = rss_kib();
  state.counters["rss_after_10_kib"] = start;
  state.counters["rss_after_all_kib"] = end;
  state.counters["rss_growth_kib"] = end - start;
  state.counters["nodes"] = static_cast<double>(tape.size());
}

}  // namespace

BENCHMARK(BM_ModelTape<float>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ModelHandChained<float>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ModelTape<double>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ModelHandChained<double>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ModelTapeMemory)->Iterations(1000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
