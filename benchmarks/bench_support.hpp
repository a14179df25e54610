#ifndef GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP
#define GNNPOOL_BENCHMARKS_BENCH_SUPPORT_HPP

// Pieces shared by the benchmark binaries: the cached random graphs of the PyG-timing sizes and
// the machine-limit reference (copy bandwidth) measured in the same run.

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
