// Scale curves (docs/scale.md, pictures by scripts/plot_scale.py): forward+backward time and
// peak memory of one pooler against the graph size, float, one thread, steady state
// (bench_support.hpp's time_pool: one untimed forward+backward first). The graphs are the
// random graphs of the other benchmarks (bench_support.hpp's cached_graph: N nodes, E = 10 N
// stored entries, F = 64).
//   BM_Sparse<P>/N:n     every sparse pooler at N = 10^4, 3*10^4, 10^5, 3*10^5, 10^6 with its
//                        defaults and the upstream gradients of bench_topk / bench_hard (SEP up
//                        to 10^5 only: its coding tree takes 9 s forward at 10^5).
//   BM_Soft<P>/N:n/K:k   the soft poolers on one unpadded sparse graph, with the scorers and
//                        upstream gradients of bench_soft / bench_balance's S100k cases: K = 4 .. 64
//                        at N = 10^5, and N = 10^4, 10^5, 10^6 at K = 16.
//   BM_Ref<SpMM>/N:n     the machine's own curve: one A S (S = N x 16), the pass over randomly
//                        placed rows that costs more per entry once S and x leave the caches.
// NDP is not here: on these graphs its Kron reduction fills in (5 s at N = 10^4, refused at 10^5;
// bench_ndp). Memory counters of every case, in MB: `peak_MB` = the process's peak resident size
// during the case (VmHWM after a reset), the cached input graph and the binary included;
// `graph_MB` = the input graph's own buffers (x and the CSR); `pool_MB` = `peak_MB` minus the
// resident size at the case's start (free heap returned first): what the pooler's outputs,
// caches, gradients and workspaces add. Run one process per N so that peak_MB holds one graph
// (docs/scale.md); CTest's smoke run keeps N = 10^4 only (benchmarks/CMakeLists.txt).

#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <type_traits>

namespace {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Linear;
using gnnpool::ParameterSet;
using gnnpool::bench::peak_megabytes;

constexpr Index features = 64;

/// The start of a case's memory accounting: free heap goes back to the kernel (glibc keeps it
/// otherwise, and a case reusing it would look smaller), the peak mark is reset, and the resident
/// size now is returned (right after the reset, VmHWM is VmRSS).
double start_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  gnnpool::bench::reset_peak();
  return peak_megabytes();
}

/// The memory counters of a case started with `start_memory` (see the file comment).
void memory_counters(benchmark::State& state, const Batch<float>& g, double start) {
  const double peak = peak_megabytes();
  const auto nnz = static_cast<double>(g.num_edges());
  const double graph_bytes = static_cast<double>(g.x.size()) * sizeof(float) +
                             nnz * (sizeof(float) + sizeof(gnnpool::StorageIndex)) +
                             static_cast<double>(g.num_nodes() + 1) * sizeof(gnnpool::StorageIndex);
  state.counters["peak_MB"] = peak;
  state.counters["pool_MB"] = peak - start;
  state.counters["graph_MB"] = graph_bytes / (1024.0 * 1024.0);
  state.counters["E"] = nnz;
}

/// A sparse pooler `Pool<float>` with its defaults (as bench_hard's BM_Pool), forward+backward.
template <template <typename> class Pool>
void BM_Sparse(benchmark::State& state) {
  const Batch<float>& g = gnnpool::bench::cached_graph<float>(state.range(0), features);
  ParameterSet<float> params;
  const Pool<float> pool(params, "", features);
  params.initialize(3);
  if constexpr (std::is_same_v<Pool<float>, gnnpool::PANPool<float>>) gnnpool::bench::pan_pyg_initialization(params);
  const double start = start_memory();
  const auto run = gnnpool::bench::time_pool(state, pool, params, g, true);
  memory_counters(state, g, start);
  state.counters["supernodes"] = static_cast<double>(run.out.batch.num_nodes());
}

/// MinCut and DiffPool with bench_soft's scorer (one Linear F -> K); the others with their
/// default scorer (a one-Linear MLP F -> K, as bench_soft's DMoN and bench_balance).
using MinCut = gnnpool::MinCutPool<float, Linear<float>>;
using DiffPool = gnnpool::DiffPool<float, Linear<float>>;
using DMoN = gnnpool::DMoNPool<float>;
using JustBalance = gnnpool::JustBalancePool<float>;
using AsymCheegerCut = gnnpool::AsymCheegerCutPool<float>;
using HOSC = gnnpool::HOSCPool<float>;

template <typename PoolT>
PoolT soft_pooler(ParameterSet<float>& params, Index k) {
  if constexpr (std::is_same_v<PoolT, MinCut> || std::is_same_v<PoolT, DiffPool>) {
    return PoolT(Linear<float>(params, "assign", features, k));
  } else {
    typename PoolT::Options options;
    options.k = k;
    return PoolT(params, "", features, options);
  }
}

/// A soft pooler with K = range(1) clusters on the graph of N = range(0) nodes, forward+backward
/// with bench_support's soft upstream gradients (x' and every pooled edge weight).
template <typename PoolT>
void BM_Soft(benchmark::State& state) {
  const Batch<float>& g = gnnpool::bench::cached_graph<float>(state.range(0), features);
  ParameterSet<float> params;
  const PoolT pool = soft_pooler<PoolT>(params, state.range(1));
  const double start = start_memory();
  gnnpool::bench::run_soft_pool(state, pool, params, g, true);
  memory_counters(state, g, start);
}

/// The reference: one sparse x dense product A S with K = 16 (Eigen's kernel), linear in E by
/// construction; its time per stored entry shows what the memory hierarchy adds as N grows.
void BM_SpMM(benchmark::State& state) {
  const Batch<float>& g = gnnpool::bench::cached_graph<float>(state.range(0), features);
  const gnnpool::Matrix<float> s = gnnpool::testing::random_features<float>(g.num_nodes(), 16, 3);
  gnnpool::Matrix<float> p(g.num_nodes(), 16);
  const double start = start_memory();
  for (auto _ : state) benchmark::DoNotOptimize((p.noalias() = g.adj * s).data());
  memory_counters(state, g, start);
}

void sparse_sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("N")->Unit(benchmark::kMillisecond);
  for (const Index n : {10000, 30000, 100000, 300000, 1000000}) b->Arg(n);
}

void sep_sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("N")->Unit(benchmark::kMillisecond);
  for (const Index n : {10000, 30000, 100000}) b->Arg(n);
}

// {N, K}: K = 4 .. 64 at N = 10^5; N = 10^4, 10^5, 10^6 at K = 16.
void soft_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "K"})->Unit(benchmark::kMillisecond);
  b->Args({10000, 16});
  for (const Index k : {4, 8, 16, 32, 64}) b->Args({100000, k});
  b->Args({1000000, 16});
}

}  // namespace

#define GNNPOOL_BENCH_SCALE_SPARSE(Pool, label, sizes) \
  BENCHMARK_TEMPLATE(BM_Sparse, gnnpool::Pool)->Name("BM_Sparse<" label ">")->Apply(sizes)

GNNPOOL_BENCH_SCALE_SPARSE(TopKPool, "TopK", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(SAGPool, "SAG", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(GraclusPool, "Graclus", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(KMISPool, "KMIS", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(ASAPPool, "ASAP", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(PANPool, "PAN", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(EdgeContractionPool, "EdgeContraction", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(MaxCutPool, "MaxCut", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(NoPool, "NoPool", sparse_sizes);
GNNPOOL_BENCH_SCALE_SPARSE(SEPPool, "SEP", sep_sizes);
BENCHMARK_TEMPLATE(BM_Soft, MinCut)->Apply(soft_sizes);
BENCHMARK_TEMPLATE(BM_Soft, DiffPool)->Apply(soft_sizes);
BENCHMARK_TEMPLATE(BM_Soft, DMoN)->Apply(soft_sizes);
BENCHMARK_TEMPLATE(BM_Soft, JustBalance)->Apply(soft_sizes);
BENCHMARK_TEMPLATE(BM_Soft, AsymCheegerCut)->Apply(soft_sizes);
BENCHMARK_TEMPLATE(BM_Soft, HOSC)->Apply(soft_sizes);
BENCHMARK(BM_SpMM)->Name("BM_Ref<SpMM>")->Apply(sparse_sizes);

BENCHMARK_MAIN();
