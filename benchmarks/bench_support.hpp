#ifndef GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP
#define GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP

// Pieces shared by the benchmark binaries: the cached random graphs of the PyG-timing sizes, the
// peak-memory counter, the steady-state timing loop of a pooler and the machine-limit reference
// (copy bandwidth) measured in the same run.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

/// Resets the kernel's peak-RSS mark of this process (Linux: "5" > /proc/self/clear_refs), so
/// that `peak_megabytes` reports the peak of the current case; a no-op elsewhere.
inline void reset_peak() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

/// Peak resident memory since the last `reset_peak` (VmHWM), or of the whole process (getrusage)
/// when /proc is not available. Either way it includes every graph this process has cached.
inline double peak_megabytes() {
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    double kib = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) kib = std::strtod(line + 6, nullptr);
    std::fclose(f);
    if (kib >= 0) return kib / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// The upstream gradient of a timed pooler: random on x' (seed 7: the loss <x', G> of the PyG
/// timings), or 0.01 on x' and on every pooled edge weight (the soft poolers, whose benchmarks
/// also time the backward through the pooled adjacency). Auxiliary losses enter at their weights.
enum class Upstream { random_x, constant_x_and_adj };

/// The last output and cache of a timed pooler, for the case's counters.
template <typename PoolT>
struct PoolRun {
  typename PoolT::Output out;
  typename PoolT::Cache cache;
};

/// Times `pool`'s forward, or forward + backward to x and every parameter, in steady state. The
/// backward computes no dL/dA (`BatchGrad::adj_needed = false`): the input graph is data, as in
/// the PyG and tgp timings, whose autograd never differentiates the adjacency. Before the loop, one forward sizes the upstream gradient and, when the backward
/// is timed, one untimed backward allocates and first-touches its buffers and workspaces: a cold
/// first backward costs up to seven steady ones at S100k, and a short run times few iterations.
template <typename PoolT>
PoolRun<PoolT> time_pool(benchmark::State& state, const PoolT& pool, const ParameterSet<typename PoolT::Scalar>& params,
                         const Batch<typename PoolT::Scalar>& g, bool backward, Upstream upstream = Upstream::random_x) {
  using Scalar = typename PoolT::Scalar;
  PoolRun<PoolT> run;
  typename PoolT::OutputGrad grad;
  BatchGrad<Scalar> din;
  din.adj_needed = false;
  ParameterSet<Scalar> dparams = params.zeros_like();
  pool.forward(params, g, run.out, run.cache);
  if (upstream == Upstream::random_x) {
    grad.x = testing::random_features<Scalar>(run.out.batch.x.rows(), run.out.batch.x.cols(), 7);
  } else {
    grad.x = Matrix<Scalar>::Constant(run.out.batch.x.rows(), run.out.batch.x.cols(), Scalar(0.01));
    grad.adj = Vector<Scalar>::Constant(run.out.batch.adj.nonZeros(), Scalar(0.01));
  }
  if (backward) pool.backward(params, g, run.out, run.cache, grad, din, dparams);
  for (auto _ : state) {
    pool.forward(params, g, run.out, run.cache);
    if (backward) pool.backward(params, g, run.out, run.cache, grad, din, dparams);
    benchmark::DoNotOptimize(run.out.batch.x.data());
    benchmark::DoNotOptimize(din.x.data());
    benchmark::ClobberMemory();
  }
  return run;
}

/// A soft pooler timed as above with the constant upstream gradients, its parameters initialised
/// with seed 7, reporting the peak memory of the case (`peak_MB`).
template <typename Scalar, typename PoolT>
void run_soft_pool(benchmark::State& state, const PoolT& pool, ParameterSet<Scalar>& params, const Batch<Scalar>& in,
                   bool backward) {
  reset_peak();
  params.initialize(7);
  time_pool(state, pool, params, in, backward, Upstream::constant_x_and_adj);
  state.counters["peak_MB"] = peak_megabytes();
}

/// PAN's parameters as PyG / tgp initialise them (`<prefix>.p` = 1, `<prefix>.beta` = 0.5, prefix
/// ""), as in tgp's timing. With `ParameterSet::initialize`'s random weights every score of the
/// benchmark graphs saturated the tanh (all kept nodes scored exactly 1 in float), so the ties
/// kept the lowest node ids in ascending order: a selection whose sort and induced connect cost
/// far less than for distinct scores (docs/performance.md, footnote 11).
template <typename Scalar>
void pan_pyg_initialization(ParameterSet<Scalar>& params) {
  params.at("p").setOnes();
  params.at("beta").setConstant(Scalar(0.5));
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
