// Benchmarks of Node Decimation Pooling (docs/ndp.md; table in docs/performance.md, "## NDP"):
//   Grid:   one NDP level (NDPPool forward and forward+backward) on a 316 x 316 grid
//           (N = 99,856, E = 398,160 stored entries), F = 64; its select and connect steps
//           alone; the select with the bipartite closed form switched off (Lanczos).
//   Random: the graphs of ../shared/reference/pyg-timings.md (N nodes, E = 10 N stored entries):
//           NDPSelect (Lanczos) at N = 10^4, 10^5, and the Kron reduction of the NDP split at
//           N = 10^3 .. 10^4, where the fill-in makes the reduced graph nearly dense.
// Machine limits measured in the same run: BM_StreamCopy (copy bandwidth, for the grid cases,
// which are memory-bound) and BM_Gemm (dense double GEMM, for the Kron reduction of random
// graphs, which is a dense symmetric rank update once the fill is dense).

#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <map>
#include <memory>

namespace {

using gnnpool::Batch;
using gnnpool::Index;

constexpr Index features = 64;

/// The side x side grid with F = 64 features, generated once per (scalar, side).
template <typename Scalar>
const Batch<Scalar>& grid(Index side) {
  static std::map<Index, std::unique_ptr<Batch<Scalar>>> cache;
  auto& slot = cache[side];
  if (!slot) slot = std::make_unique<Batch<Scalar>>(gnnpool::testing::grid_graph<Scalar>(side, side, features, 12345));
  return *slot;
}

/// Minimal memory traffic of one NDP level: the CSR structure and values read once, x' written
/// (and the kept rows of x read) once; backward reads dx' and writes dx (N x F).
template <typename Scalar>
std::int64_t ndp_traffic(const Batch<Scalar>& g, Index kept, bool backward) {
  const auto s = static_cast<std::int64_t>(sizeof(Scalar));
  std::int64_t bytes = 4 * (g.num_nodes() + 1 + g.num_edges()) + s * g.num_edges() + 2 * s * features * kept;
  if (backward) bytes += s * features * (kept + g.num_nodes());
  return bytes;
}

template <typename Scalar, bool Backward>
void BM_NDPPoolGrid(benchmark::State& state) {
  const auto& g = grid<Scalar>(state.range(0));
  gnnpool::ParameterSet<Scalar> params;
  const gnnpool::NDPPool<Scalar> pool(params, "", g.num_features());
  const auto [out, cache] = gnnpool::bench::time_pool(state, pool, params, g, Backward);
  state.counters["kept"] = static_cast<double>(out.batch.num_nodes());
  state.counters["edges_out"] = static_cast<double>(out.batch.num_edges());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * ndp_traffic(g, out.batch.num_nodes(), Backward));
}

void BM_NDPSelectGrid(benchmark::State& state) {
  const auto& g = grid<double>(state.range(0));
  gnnpool::NDPSelectOptions options;
  options.bipartite_closed_form = state.range(1) != 0;
  const gnnpool::NDPSelect<double> select(options);
  gnnpool::HardSelection<double> sel;
  gnnpool::NDPSelect<double>::Cache cache;
  for (auto _ : state) {
    select.forward({}, g, sel, cache);
    benchmark::DoNotOptimize(sel.assignment.data());
  }
  state.counters["kept"] = static_cast<double>(sel.num_supernodes());
  state.counters["matvecs"] = static_cast<double>(cache.graphs.front().matrix_products);
}

void BM_KronGrid(benchmark::State& state) {
  const auto& g = grid<double>(state.range(0));
  const auto sel = gnnpool::NDPSelect<double>()(g);
  const gnnpool::KronConnect<double> connect;
  gnnpool::SparseMatrix<double> adj;
  gnnpool::KronConnect<double>::Cache cache;
  for (auto _ : state) {
    connect.forward(g, sel, adj, cache);
    benchmark::DoNotOptimize(adj.valuePtr());
  }
  state.counters["eliminated"] = static_cast<double>(cache.stats.eliminated);
  state.counters["edges_out"] = static_cast<double>(adj.nonZeros());
}

void BM_NDPSelectRandom(benchmark::State& state) {
  const auto& g = gnnpool::bench::cached_graph<double>(state.range(0), 1);
  const gnnpool::NDPSelect<double> select;
  gnnpool::HardSelection<double> sel;
  gnnpool::NDPSelect<double>::Cache cache;
  for (auto _ : state) {
    select.forward({}, g, sel, cache);
    benchmark::DoNotOptimize(sel.assignment.data());
  }
  state.counters["kept"] = static_cast<double>(sel.num_supernodes());
  state.counters["matvecs"] = static_cast<double>(cache.graphs.front().matrix_products);
  state.counters["cut"] = cache.graphs.front().cut;
}

/// Kron reduction + sparsification (KronConnect) of the NDP split of a random graph.
void BM_KronRandom(benchmark::State& state) {
  const auto& g = gnnpool::bench::cached_graph<double>(state.range(0), 1);
  const auto sel = gnnpool::NDPSelect<double>()(g);
  const gnnpool::KronConnect<double> connect;
  gnnpool::SparseMatrix<double> adj;
  gnnpool::KronConnect<double>::Cache cache;
  for (auto _ : state) {
    connect.forward(g, sel, adj, cache);
    benchmark::DoNotOptimize(adj.valuePtr());
  }
  const auto& st = cache.stats;
  const double kept = static_cast<double>(sel.num_supernodes());
  state.counters["kept"] = kept;
  state.counters["eliminated"] = static_cast<double>(st.eliminated);
  state.counters["factor_nnz"] = static_cast<double>(st.factor_nonzeros);
  state.counters["W_nnz"] = static_cast<double>(st.solve_nonzeros);
  state.counters["W_density"] = static_cast<double>(st.solve_nonzeros) / (kept * static_cast<double>(st.eliminated));
  state.counters["edges_out"] = static_cast<double>(adj.nonZeros());
  state.counters["flops"] = benchmark::Counter(st.product_flops, benchmark::Counter::kIsIterationInvariantRate);
}

/// The machine's dense double GEMM rate (Eigen, one thread): the limit of a dense rank update.
void BM_Gemm(benchmark::State& state) {
  const Index n = state.range(0);
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n), b = Eigen::MatrixXd::Random(n, n);
  Eigen::MatrixXd c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["flops"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_StreamCopy(benchmark::State& state) { gnnpool::bench::stream_copy(state); }

}  // namespace

BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPPoolGrid<float, false>)->Name("BM_NDPPoolGrid_fwd<float>")->Arg(316)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPPoolGrid<float, true>)->Name("BM_NDPPoolGrid_fwdbwd<float>")->Arg(316)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPPoolGrid<double, false>)->Name("BM_NDPPoolGrid_fwd<double>")->Arg(316)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPPoolGrid<double, true>)->Name("BM_NDPPoolGrid_fwdbwd<double>")->Arg(316)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPSelectGrid)->Args({316, 1})->Args({100, 0})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPSelectGrid)->Name("BM_NDPSelectGrid_lanczos")->Args({316, 0})->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KronGrid)->Arg(316)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NDPSelectRandom)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KronRandom)->Arg(1000)->Arg(2000)->Arg(4000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KronRandom)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
