// Benchmarks of the tgp soft poolers (JustBalancePool, AsymCheegerCutPool, HOSCPool with both
// motifs), LaPool, BNPool, NMFPool and EigenPool, forward and forward+backward, float and double,
// on the sizes of docs/reference/tgp-timings.md:
//   D32   = 32 random graphs of 100 nodes (average degree ~9.6), K = 25, F = 64. tgp pads them
//           to x[32, 100, 64], adj[32, 100, 100]; gnnpool keeps the batch sparse.
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries, K = 25, F = 64 (tgp's unbatched
//           path with its sparse losses).
//   S100k = one random graph, N = 10^5, E = 10^6 stored entries, K = 25, F = 64 (tgp's dense
//           path cannot hold it; its unbatched path was not timed there).
// Each case includes the pooler's default scorer (tgp's one-Linear MLP F -> K) and reports the
// peak resident memory of the case (VmHWM after a reset) as `peak_MB`. LaPool's S is dense per
// graph (every node against every leader, as tgp): at S100k, 3 862 leaders, a 10^5 x 3 862
// block; it has an S100k case in float only, forward and forward+backward (minutes, gigabytes;
// left out of CTest's smoke run, as NMFPool's S10k and S100k forward: its forward includes the
// factorisation, as tgp's). BNPool's reconstruction loss reads every pair of a graph (O(n^2 K),
// as tgp's dense loss): D32 and S10k only; with sampled non-edges (BNPoolSampled, O(E K)) every size. EigenPool (dense eigensolver for graphs
// and clusters of at most 128 nodes, sparse subspace iteration above) every size, S100k in float. Machine limit of the same run: BM_SpMM, one A S product (the least a pass over
// randomly placed rows costs).

#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/pool/eigen_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/lapool.hpp>
#include <gnnpool/pool/nmf_pool.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

namespace {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::ParameterSet;

constexpr Index features = 64, clusters = 25;

enum Size : int { d32 = 0, s10k = 1, s100k = 2 };

template <typename Scalar>
const Batch<Scalar>& batch(Size size) {
  if (size == s10k) return gnnpool::bench::cached_graph<Scalar>(10000, features);
  if (size == s100k) return gnnpool::bench::cached_graph<Scalar>(100000, features);
  static std::unique_ptr<Batch<Scalar>> d;
  if (!d) {
    const std::vector<Index> sizes(32, 100);
    d = std::make_unique<Batch<Scalar>>(gnnpool::testing::random_batch<Scalar>(sizes, 9.6, features, 2024));
  }
  return *d;
}

/// Times `pool` on the case's size (bench_support.hpp) and reports K.
template <typename Scalar, typename PoolT>
void run(benchmark::State& state, const PoolT& pool, ParameterSet<Scalar>& params) {
  const Batch<Scalar>& in = batch<Scalar>(static_cast<Size>(state.range(0)));
  gnnpool::bench::run_soft_pool(state, pool, params, in, state.range(1) != 0);
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  pool.forward(params, in, out, cache);
  state.counters["K"] = static_cast<double>(out.selection.s.cols());
}

template <typename Scalar>
void BM_JustBalance(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::JustBalancePool<Scalar> pool(params, "", features, {.k = clusters});
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_AsymCheegerCut(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::AsymCheegerCutPool<Scalar> pool(params, "", features, {.k = clusters});
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_HOSC(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::HOSCPool<Scalar> pool(params, "", features, {.k = clusters});
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_HOSCTriangles(benchmark::State& state) {
  ParameterSet<Scalar> params;
  gnnpool::HOSCPoolOptions<Scalar> options;
  options.k = clusters;
  options.cut.motif = gnnpool::MotifAdjacency::triangles;
  const gnnpool::HOSCPool<Scalar> pool(params, "", features, options);
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_LaPool(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::LaPool<Scalar> pool(params, "", features);
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_BNPool(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::BNPool<Scalar> pool(params, "", features, {.k = clusters});
  run<Scalar>(state, pool, params);
}

/// BNPool with `ReconstructionPairs::sampled` (tgp's sparse BN-Pool: the edges and as many sampled
/// non-edges, O(E K)): the mode that runs at S100k.
template <typename Scalar>
void BM_BNPoolSampled(benchmark::State& state) {
  ParameterSet<Scalar> params;
  gnnpool::BNPoolOptions<Scalar> options{.k = clusters};
  options.reconstruction = gnnpool::ReconstructionPairs::sampled;
  const gnnpool::BNPool<Scalar> pool(params, "", features, options);
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_NMF(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::NMFPool<Scalar> pool(params, "", features, {.k = clusters});
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_EigenPool(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const gnnpool::EigenPool<Scalar> pool(params, "", features, {.select = {.k = clusters, .modes = 5}});
  run<Scalar>(state, pool, params);
}

template <typename Scalar>
void BM_SpMM(benchmark::State& state) {
  const Batch<Scalar>& in = batch<Scalar>(static_cast<Size>(state.range(0)));
  const gnnpool::Matrix<Scalar> s = gnnpool::testing::random_features<Scalar>(in.num_nodes(), clusters, 3);
  gnnpool::Matrix<Scalar> p(in.num_nodes(), clusters);
  for (auto _ : state) {
    p.noalias() = in.adj * s;
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
}

// Arguments: {size (0 = D32, 1 = S10k, 2 = S100k), backward (0/1)}.
void sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "bwd"});
  for (int size : {0, 1, 2})
    for (int bwd : {0, 1}) b->Args({size, bwd});
  b->Unit(benchmark::kMillisecond);
}
void small_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "bwd"});
  for (int size : {0, 1})
    for (int bwd : {0, 1}) b->Args({size, bwd});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK_TEMPLATE(BM_SpMM, float)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_SpMM, double)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_JustBalance, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_JustBalance, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_AsymCheegerCut, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_AsymCheegerCut, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_HOSC, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_HOSC, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_HOSCTriangles, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_HOSCTriangles, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_LaPool, float)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_LaPool, double)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_BNPool, float)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_BNPool, double)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_BNPoolSampled, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_BNPoolSampled, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_NMF, float)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_NMF, double)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_LaPool, float)->Args({s100k, 0})->Args({s100k, 1})->ArgNames({"size", "bwd"})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_NMF, float)->Args({s100k, 0})->ArgNames({"size", "bwd"})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_EigenPool, float)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_EigenPool, double)->Apply(small_sizes);
BENCHMARK_TEMPLATE(BM_EigenPool, float)->Args({s100k, 0})->Args({s100k, 1})->ArgNames({"size", "bwd"})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
