// Benchmarks of the sparse / hard poolers of tgp: NoPool, EdgeContraction, MaxCut (tgp's
// MaxCutPooling defaults), PAN, ASAP and SEP, forward and forward+backward, float and double,
// on the sizes of docs/reference/tgp-timings.md:
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries (unit weights), F = 64
//   S100k = N = 10^5, E = 10^6, F = 64
// fwd+bwd = forward, then backward of L = <x', W> + the auxiliary losses to x and every
// parameter (tgp's timing passes no edge weights, so nothing flows to A there; gnnpool computes
// dL/dA as part of every backward). Steady state: the backward is warmed before it is timed
// (bench_support.hpp's time_pool). SEP at S100k is forward only in float: its coding tree is
// the whole cost and the smoke run of CTest executes every case once. S1M (N = 10^6, E = 10^7,
// float; SEP forward only, minutes) shows that every pooler runs at that size; CTest's smoke
// run leaves it out (benchmarks/CMakeLists.txt: generating the graph alone takes seconds). BM_StreamCopy measures
// the machine's copy bandwidth in the same run (docs/performance.md).

#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <type_traits>

namespace {

using gnnpool::Index;
using gnnpool::ParameterSet;
constexpr Index features = 64;

/// One case: `Pool<Scalar>` with its default options on the cached S10k / S100k graph.
template <template <typename> class Pool, typename Scalar, bool Backward>
void BM_Pool(benchmark::State& state) {
  ParameterSet<Scalar> params;
  const Pool<Scalar> pool(params, "", features);
  params.initialize(3);
  if constexpr (std::is_same_v<Pool<Scalar>, gnnpool::PANPool<Scalar>>) gnnpool::bench::pan_pyg_initialization(params);
  const auto& g = gnnpool::bench::cached_graph<Scalar>(state.range(0), features);
  const auto run = gnnpool::bench::time_pool(state, pool, params, g, Backward);
  state.counters["supernodes"] = static_cast<double>(run.out.batch.num_nodes());
}

void BM_StreamCopy(benchmark::State& state) { gnnpool::bench::stream_copy(state); }

}  // namespace

#define GNNPOOL_BENCH_HARD_CASE(Pool, name, Scalar, Backward, pass) \
  BENCHMARK(BM_Pool<gnnpool::Pool, Scalar, Backward>)->Name("BM_" name "_" pass "<" #Scalar ">")->Unit(benchmark::kMillisecond)
#define GNNPOOL_BENCH_HARD(Pool, name)                                                      \
  GNNPOOL_BENCH_HARD_CASE(Pool, name, float, false, "fwd")->Arg(10000)->Arg(100000)->Arg(1000000);   \
  GNNPOOL_BENCH_HARD_CASE(Pool, name, float, true, "fwdbwd")->Arg(10000)->Arg(100000)->Arg(1000000); \
  GNNPOOL_BENCH_HARD_CASE(Pool, name, double, false, "fwd")->Arg(10000)->Arg(100000);     \
  GNNPOOL_BENCH_HARD_CASE(Pool, name, double, true, "fwdbwd")->Arg(10000)->Arg(100000)

BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond);
GNNPOOL_BENCH_HARD(NoPool, "NoPool");
GNNPOOL_BENCH_HARD(EdgeContractionPool, "EdgeContraction");
GNNPOOL_BENCH_HARD(MaxCutPool, "MaxCut");
GNNPOOL_BENCH_HARD(PANPool, "PAN");
GNNPOOL_BENCH_HARD(ASAPPool, "ASAP");
GNNPOOL_BENCH_HARD_CASE(SEPPool, "SEP", float, false, "fwd")->Arg(10000)->Arg(100000)->Arg(1000000);
GNNPOOL_BENCH_HARD_CASE(SEPPool, "SEP", float, true, "fwdbwd")->Arg(10000);
GNNPOOL_BENCH_HARD_CASE(SEPPool, "SEP", double, false, "fwd")->Arg(10000);
GNNPOOL_BENCH_HARD_CASE(SEPPool, "SEP", double, true, "fwdbwd")->Arg(10000);

BENCHMARK_MAIN();
