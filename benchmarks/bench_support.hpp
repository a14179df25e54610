#ifndef GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP
#define GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP

// Pieces shared by the benchmark binaries: the cached random graphs of the PyG-timing sizes, the
// steady-state timing loop of a pooler and the machine-limit reference (copy bandwidth) measured
// in the same run.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace gnnpool::bench {

/// One random graph with n nodes, 5 n undirected edges (E = 10 n stored entries, the S10k /
/// S100k sizes of ../shared/reference/pyg-timings.md) and `features` columns, generated once per
/// (Scalar, n, features) and cached: generating 10^7 edges takes seconds.
template <typename Scalar>
const Batch<Scalar>& cached_graph(Index n, Index features, std::uint64_t seed = 12345) {
  static std::map<std::pair<Index, Index>, std::unique_ptr<Batch<Scalar>>> cache;
  auto& slot = cache[{n, features}];
  if (!slot) slot = std::make_unique<Batch<Scalar>>(testing::random_graph<Scalar>(n, 5 * n, features, seed));
  return *slot;
}

/// The last output and cache of a timed pooler, for the case's counters.
template <typename PoolT>
struct PoolRun {
  typename PoolT::Output out;
  typename PoolT::Cache cache;
};

/// Times `pool`'s forward, or forward + backward to x and every parameter for a fixed random
/// upstream gradient of x' (seed 7), in steady state. Before the loop, one forward sizes the
/// gradient and, when the backward is timed, one untimed backward allocates and first-touches
/// its buffers: a cold first backward costs up to seven steady ones at S100k, and a short run
/// times only a few iterations.
template <bool Backward, typename PoolT>
PoolRun<PoolT> time_pool(benchmark::State& state, const PoolT& pool, const ParameterSet<typename PoolT::Scalar>& params,
                         const Batch<typename PoolT::Scalar>& g) {
  using Scalar = typename PoolT::Scalar;
  PoolRun<PoolT> run;
  typename PoolT::OutputGrad grad;
  BatchGrad<Scalar> din;
  ParameterSet<Scalar> dparams = params.zeros_like();
  pool.forward(params, g, run.out, run.cache);
  grad.x = testing::random_features<Scalar>(run.out.batch.x.rows(), run.out.batch.x.cols(), 7);
  if constexpr (Backward) pool.backward(params, g, run.out, run.cache, grad, din, dparams);
  for (auto _ : state) {
    pool.forward(params, g, run.out, run.cache);
    if constexpr (Backward) pool.backward(params, g, run.out, run.cache, grad, din, dparams);
    benchmark::DoNotOptimize(run.out.batch.x.data());
    benchmark::DoNotOptimize(din.x.data());
  }
  return run;
}

/// The machine limit for memory-bound kernels: memcpy of 64 MiB, read + write counted.
inline void stream_copy(benchmark::State& state) {
  const std::size_t bytes = std::size_t(64) << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(2 * bytes));
}

}  // namespace gnnpool::bench

#endif
