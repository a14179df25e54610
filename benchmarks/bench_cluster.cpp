// Benchmarks of the one-over-K poolers: Graclus (cluster only, and + max pooling), k-MIS
// (k = 1, linear scorer, PyG #6488 defaults) and precomputed pyramids, forward and
// forward+backward, on the sizes of ../shared/reference/pyg-timings.md:
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries, F = 64
//   S100k = N = 10^5, E = 10^6, F = 64
//   S1M   = N = 10^6, E = 10^7 (Graclus cluster only)
// Each case reports bytes/s for its minimal memory traffic (see `traffic`), and BM_StreamCopy
// measures the machine's copy bandwidth in the same run: the ratio of the two is the
// "fraction of machine limit" of docs/performance.md.

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 matrix-vector kernel at
// -O3 -march=native (the `_mm256_undefined_pd()` operand of `_mm512_extractf64x4_pd`).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace {

using gnnpool::Batch;
using gnnpool::Index;

constexpr Index features = 64;

/// One cached random graph per (scalar, size): generating 10^7 edges takes seconds.
template <typename Scalar>
const Batch<Scalar>& graph(Index n) {
  static std::map<Index, std::unique_ptr<Batch<Scalar>>> cache;
  auto& slot = cache[n];
  if (!slot) {
    const Index f = n >= 1000000 ? 1 : features;  // the 10^6 graph is for clustering only
    slot = std::make_unique<Batch<Scalar>>(gnnpool::testing::random_graph<Scalar>(n, 5 * n, f, 12345));
  }
  return *slot;
}

/// Minimal memory traffic of a pooler pass: the CSR structure (4 bytes per row pointer and per
/// column index) once, x read once, x' written once; backward reads dx' and x, writes dx.
template <typename Scalar>
std::int64_t traffic(const Batch<Scalar>& g, Index pooled_rows, Index f, bool backward) {
  const std::int64_t graph_bytes = 4 * (g.num_nodes() + 1 + g.num_edges());
  std::int64_t rows = g.num_nodes() + pooled_rows;
  if (backward) rows += 2 * g.num_nodes() + pooled_rows;
  return graph_bytes + static_cast<std::int64_t>(sizeof(Scalar)) * f * rows;
}

template <typename Scalar>
void BM_GraclusClusterOnly(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  const gnnpool::GraclusSelect<Scalar> select;
  gnnpool::HardSelection<Scalar> sel;
  typename gnnpool::GraclusSelect<Scalar>::Cache cache;
  for (auto _ : state) {
    select.forward({}, g, sel, cache);
    benchmark::DoNotOptimize(sel.assignment.data());
  }
  state.counters["clusters"] = static_cast<double>(sel.num_supernodes());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (4 * (g.num_nodes() + 1 + g.num_edges()) + 8 * g.num_nodes()));
}

template <typename Scalar, bool Backward>
void BM_GraclusMaxPool(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  const gnnpool::GraclusPool<Scalar> pool;
  typename gnnpool::GraclusPool<Scalar>::Output out;
  typename gnnpool::GraclusPool<Scalar>::Cache cache;
  typename gnnpool::GraclusPool<Scalar>::OutputGrad grad;
  gnnpool::BatchGrad<Scalar> din;
  gnnpool::ParameterSet<Scalar> params, dparams;
  pool.forward(params, g, out, cache);
  grad.x = gnnpool::testing::random_features<Scalar>(out.batch.x.rows(), features, 7);
  for (auto _ : state) {
    pool.forward(params, g, out, cache);
    if constexpr (Backward) pool.backward(params, g, out, cache, grad, din, dparams);
    benchmark::DoNotOptimize(out.batch.x.data());
  }
  state.counters["clusters"] = static_cast<double>(out.batch.num_nodes());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, out.batch.num_nodes(), features, Backward));
}

template <typename Scalar, bool Backward>
void BM_KMISPool(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  gnnpool::ParameterSet<Scalar> params;
  const gnnpool::KMISPool<Scalar> pool(params, "kmis", features);  // k = 1, linear, greedy, x[mis], before
  params.initialize(3);
  gnnpool::ParameterSet<Scalar> dparams = params.zeros_like();
  typename gnnpool::KMISPool<Scalar>::Output out;
  typename gnnpool::KMISPool<Scalar>::Cache cache;
  typename gnnpool::KMISPool<Scalar>::OutputGrad grad;
  gnnpool::BatchGrad<Scalar> din;
  pool.forward(params, g, out, cache);
  grad.x = gnnpool::testing::random_features<Scalar>(out.batch.x.rows(), features, 7);
  for (auto _ : state) {
    pool.forward(params, g, out, cache);
    if constexpr (Backward) pool.backward(params, g, out, cache, grad, din, dparams);
    benchmark::DoNotOptimize(out.batch.x.data());
  }
  state.counters["clusters"] = static_cast<double>(out.batch.num_nodes());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, out.batch.num_nodes(), features, Backward));
}

/// Max pooling with a precomputed one-level Graclus pyramid: what an epoch costs once the
/// selection and the coarse adjacency are stored.
template <typename Scalar, bool Backward>
void BM_PyramidMaxPool(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  const auto pyramid = gnnpool::build_pyramid(g, 1, gnnpool::make_coarsener(gnnpool::GraclusSelect<Scalar>()));
  const gnnpool::PyramidPool<Scalar> pool;
  Batch<Scalar> out;
  typename gnnpool::PyramidPool<Scalar>::Cache cache;
  gnnpool::Matrix<Scalar> dx;
  const gnnpool::Matrix<Scalar> dy = gnnpool::testing::random_features<Scalar>(pyramid.level_size(1), features, 7);
  for (auto _ : state) {
    pool.forward(pyramid, 0, g, out, cache);
    if constexpr (Backward) pool.backward(pyramid, 0, g, cache, dy, dx);
    benchmark::DoNotOptimize(out.x.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, pyramid.level_size(1), features, Backward));
}

/// The machine limit: memcpy of 64 MiB (read + write counted), the same run's bandwidth.
void BM_StreamCopy(benchmark::State& state) {
  const std::size_t bytes = std::size_t(64) << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(2 * bytes));
}

}  // namespace

BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusClusterOnly<float>)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<float, false>)->Name("BM_GraclusMaxPool_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<float, true>)->Name("BM_GraclusMaxPool_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<double, false>)->Name("BM_GraclusMaxPool_fwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<double, true>)->Name("BM_GraclusMaxPool_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<float, false>)->Name("BM_KMISPool_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<float, true>)->Name("BM_KMISPool_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<double, false>)->Name("BM_KMISPool_fwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<double, true>)->Name("BM_KMISPool_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PyramidMaxPool<float, false>)->Name("BM_PyramidMaxPool_fwd<float>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PyramidMaxPool<float, true>)->Name("BM_PyramidMaxPool_fwdbwd<float>")->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
