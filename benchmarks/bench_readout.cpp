// Benchmarks of the global readouts (gnnpool/readout/*.hpp) on PyG's G1000 size: 1000 graphs of
// 50 nodes, F = 64 (pyg-timings.md; SortPool k = 30 and Set2Set T = 3 as tgp-timings.md), float
// and double, forward and forward+backward.
//
// Machine limit: BM_ReadBandwidth reads the same N x F matrix once (column sums, the least a
// readout's forward must do), BM_WriteBandwidth writes it once, and BM_CopyBandwidth reads x and
// writes an N x F dx (the least forward+backward must do, with the same memory footprint).
// Every case reports SetBytesProcessed = the bytes of x, so a forward's bytes/s divided by
// BM_ReadBandwidth's (a forward+backward's divided by BM_CopyBandwidth's) is the fraction of
// the machine limit it reaches.

#include <gnnpool/readout/attention.hpp>
#include <gnnpool/readout/attention_sum.hpp>
#include <gnnpool/readout/gated_attention.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/set2set.hpp>
#include <gnnpool/readout/sort.hpp>
#include <gnnpool/readout/sum.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

constexpr Index kGraphs = 1000, kNodesPerGraph = 50, kFeatures = 64;

/// G1000: graphs stored one after the other, no edges (a readout reads x and offsets only).
template <typename Scalar>
gnnpool::Batch<Scalar> g1000() {
  gnnpool::Batch<Scalar> b;
  const Index n = kGraphs * kNodesPerGraph;
  b.x = gnnpool::testing::random_features<Scalar>(n, kFeatures, 42);
  b.adj.resize(n, n);
  b.adj.makeCompressed();
  b.offsets.resize(static_cast<std::size_t>(kGraphs + 1));
  for (Index g = 0; g <= kGraphs; ++g) b.offsets[static_cast<std::size_t>(g)] = g * kNodesPerGraph;
  return b;
}

template <typename Scalar>
void set_bytes(benchmark::State& state, const gnnpool::Batch<Scalar>& b) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * b.x.size() * static_cast<int64_t>(sizeof(Scalar)));
}

template <typename Scalar>
void BM_ReadBandwidth(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  for (auto _ : state) {
    // Column sums into local accumulators (registers): nothing but the read of x.
    Scalar sums[kFeatures] = {};
    const Scalar* x = b.x.data();
    for (Index i = 0; i < b.x.rows(); ++i)
      for (Index c = 0; c < kFeatures; ++c) sums[c] += x[i * kFeatures + c];
    benchmark::DoNotOptimize(sums);
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

template <typename Scalar>
void BM_WriteBandwidth(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  Matrix<Scalar> dx(b.x.rows(), b.x.cols());
  Scalar v = 0;
  for (auto _ : state) {
    std::fill(dx.data(), dx.data() + dx.size(), v);
    v += Scalar(1);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

template <typename Scalar>
void BM_CopyBandwidth(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  Matrix<Scalar> dx(b.x.rows(), b.x.cols());
  for (auto _ : state) {
    dx = b.x;
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

// The GEMM limit of the attention readouts with a feature network: Eigen's GEMMs of the shapes
// a Linear(F, F) does on N rows, forward (Y = X W^T) and forward+backward (+ dX = dY W,
// dW = dY^T X). AttentionReadout with nn does one such Linear, GatedAttentionReadout two. The
// products go through the row chunks of detail::product_rows / product_transpose_rows (fixed
// blocks of rows, each one Eigen GEMM), the fastest way found here: at N = 50 000 one Eigen
// product over all rows ran at 75 GFLOP/s where the chunks reach about 90 (the chunk's rows of X
// and Y stay in L2 between Eigen's packing and its kernel), so a limit taken from the single
// product was slower than the readouts themselves.
template <typename Scalar>
void BM_GemmForward(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  const Matrix<Scalar> w = gnnpool::testing::random_features<Scalar>(kFeatures, kFeatures, 5);
  Matrix<Scalar> y(b.x.rows(), kFeatures);
  for (auto _ : state) {
    gnnpool::detail::product_rows(b.x, w.transpose(), y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

template <typename Scalar>
void BM_GemmForwardBackward(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  const Matrix<Scalar> w = gnnpool::testing::random_features<Scalar>(kFeatures, kFeatures, 5);
  const Matrix<Scalar> dy = gnnpool::testing::random_features<Scalar>(b.x.rows(), kFeatures, 6);
  Matrix<Scalar> y(b.x.rows(), kFeatures), dx(b.x.rows(), kFeatures), dw(kFeatures, kFeatures);
  for (auto _ : state) {
    gnnpool::detail::product_rows(b.x, w.transpose(), y);
    gnnpool::detail::product_rows(dy, w, dx);
    gnnpool::detail::product_transpose_rows(dy, b.x, dw);
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::DoNotOptimize(dw.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

// Readout factories: build the layer into a parameter set (parameters U(-1/sqrt(F), 1/sqrt(F))).
template <typename Scalar>
struct Sum {
  static gnnpool::SumReadout<Scalar> make(ParameterSet<Scalar>&) { return {}; }
};
template <typename Scalar>
struct Mean {
  static gnnpool::MeanReadout<Scalar> make(ParameterSet<Scalar>&) { return {}; }
};
template <typename Scalar>
struct Max {
  static gnnpool::MaxReadout<Scalar> make(ParameterSet<Scalar>&) { return {}; }
};
template <typename Scalar>
struct AttnGate {
  static gnnpool::AttentionReadout<Scalar> make(ParameterSet<Scalar>& p) { return {p, "", kFeatures}; }
};
template <typename Scalar>
struct AttnGateNN {
  static gnnpool::AttentionReadout<Scalar> make(ParameterSet<Scalar>& p) { return {p, "", kFeatures, kFeatures}; }
};
template <typename Scalar>
struct GatedAttn {
  static gnnpool::GatedAttentionReadout<Scalar> make(ParameterSet<Scalar>& p) { return {p, "", kFeatures, kFeatures}; }
};
template <typename Scalar>
struct AttnSum {
  static gnnpool::AttentionSumReadout<Scalar> make(ParameterSet<Scalar>& p) { return {p, "", kFeatures}; }
};

/// PyG SortAggregation(k=30) and Set2Set(64, processing_steps=3), tgp-timings.md's G1000 rows.
template <typename Scalar>
struct SortPool {
  static gnnpool::SortReadout<Scalar> make(ParameterSet<Scalar>&) { return gnnpool::SortReadout<Scalar>(30); }
};
template <typename Scalar>
struct Set2Set {
  static gnnpool::Set2SetReadout<Scalar> make(ParameterSet<Scalar>& p) { return {p, "", kFeatures, 3}; }
};

template <template <typename> class Factory, typename Scalar>
void BM_Forward(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  ParameterSet<Scalar> params;
  const auto readout = Factory<Scalar>::make(params);
  params.initialize(7);
  Matrix<Scalar> out;
  typename decltype(readout)::Cache cache;
  for (auto _ : state) {
    readout.forward(params, b, out, cache);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

template <template <typename> class Factory, typename Scalar>
void BM_ForwardBackward(benchmark::State& state) {
  const auto b = g1000<Scalar>();
  ParameterSet<Scalar> params;
  const auto readout = Factory<Scalar>::make(params);
  params.initialize(7);
  ParameterSet<Scalar> dparams = params.zeros_like();
  Matrix<Scalar> out, dx;
  typename decltype(readout)::Cache cache;
  readout.forward(params, b, out, cache);
  const Matrix<Scalar> dout = gnnpool::testing::random_features<Scalar>(out.rows(), out.cols(), 3);
  readout.backward(params, b, cache, dout, {&dx, nullptr}, dparams);  // untimed: steady state
  for (auto _ : state) {
    readout.forward(params, b, out, cache);
    readout.backward(params, b, cache, dout, {&dx, nullptr}, dparams);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, b);
}

#define GNNPOOL_READOUT_BENCH(Factory)                       \
  BENCHMARK_TEMPLATE(BM_Forward, Factory, float);            \
  BENCHMARK_TEMPLATE(BM_Forward, Factory, double);           \
  BENCHMARK_TEMPLATE(BM_ForwardBackward, Factory, float);    \
  BENCHMARK_TEMPLATE(BM_ForwardBackward, Factory, double)

BENCHMARK_TEMPLATE(BM_ReadBandwidth, float);
BENCHMARK_TEMPLATE(BM_ReadBandwidth, double);
BENCHMARK_TEMPLATE(BM_WriteBandwidth, float);
BENCHMARK_TEMPLATE(BM_WriteBandwidth, double);
BENCHMARK_TEMPLATE(BM_CopyBandwidth, float);
BENCHMARK_TEMPLATE(BM_CopyBandwidth, double);
BENCHMARK_TEMPLATE(BM_GemmForward, float);
BENCHMARK_TEMPLATE(BM_GemmForward, double);
BENCHMARK_TEMPLATE(BM_GemmForwardBackward, float);
BENCHMARK_TEMPLATE(BM_GemmForwardBackward, double);
GNNPOOL_READOUT_BENCH(Sum);
GNNPOOL_READOUT_BENCH(Mean);
GNNPOOL_READOUT_BENCH(Max);
GNNPOOL_READOUT_BENCH(AttnGate);
GNNPOOL_READOUT_BENCH(AttnGateNN);
GNNPOOL_READOUT_BENCH(GatedAttn);
GNNPOOL_READOUT_BENCH(AttnSum);
GNNPOOL_READOUT_BENCH(SortPool);
GNNPOOL_READOUT_BENCH(Set2Set);

}  // namespace

BENCHMARK_MAIN();
