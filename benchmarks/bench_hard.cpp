// Benchmarks of the sparse / hard poolers of tgp: NoPool, EdgeContraction, MaxCut (tgp's
// MaxCutPooling defaults), PAN, ASAP and SEP, forward and forward+backward, float and double,
// on the sizes of docs/reference/tgp-timings.md:
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries (unit weights), F = 64
//   S100k = N = 10^5, E = 10^6, F = 64
// fwd+bwd = forward, then backward of L = <x', W> + the auxiliary losses to x and every
// parameter (tgp's timing passes no edge weights, so nothing flows to A there; gnnpool computes
// dL/dA as part of every backward). SEP at S100k is forward only in float: its coding tree is
// the whole cost and the smoke run of CTest executes every case once. BM_StreamCopy measures
// the machine's copy bandwidth in the same run (docs/performance.md).

#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

namespace {

using gnnpool::Index;
using gnnpool::ParameterSet;
constexpr Index features = 64;

template <typename PoolT, bool Backward>
void run(benchmark::State& state, const PoolT& pool, ParameterSet<typename PoolT::Scalar>& params) {
  using Scalar = typename PoolT::Scalar;
  const auto& g = gnnpool::bench::cached_graph<Scalar>(state.range(0), features);
  params.initialize(3);
  ParameterSet<Scalar> dparams = params.zeros_like();
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  typename PoolT::OutputGrad grad;
  gnnpool::BatchGrad<Scalar> din;
  pool.forward(params, g, out, cache);
  grad.x = gnnpool::testing::random_features<Scalar>(out.batch.x.rows(), out.batch.x.cols(), 7);
  for (auto _ : state) {
    pool.forward(params, g, out, cache);
    if constexpr (Backward) pool.backward(params, g, out, cache, grad, din, dparams);
    benchmark::DoNotOptimize(out.batch.x.data());
  }
  state.counters["supernodes"] = static_cast<double>(out.batch.num_nodes());
}

template <typename Scalar, bool Backward>
void BM_NoPool(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::NoPool<Scalar>, Backward>(state, gnnpool::NoPool<Scalar>(p, "", features), p);
}
template <typename Scalar, bool Backward>
void BM_EdgeContraction(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::EdgeContractionPool<Scalar>, Backward>(state, gnnpool::EdgeContractionPool<Scalar>(p, "", features), p);
}
template <typename Scalar, bool Backward>
void BM_MaxCut(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::MaxCutPool<Scalar>, Backward>(state, gnnpool::MaxCutPool<Scalar>(p, "", features), p);
}
template <typename Scalar, bool Backward>
void BM_PAN(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::PANPool<Scalar>, Backward>(state, gnnpool::PANPool<Scalar>(p, "", features), p);
}
template <typename Scalar, bool Backward>
void BM_ASAP(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::ASAPPool<Scalar>, Backward>(state, gnnpool::ASAPPool<Scalar>(p, "", features), p);
}
template <typename Scalar, bool Backward>
void BM_SEP(benchmark::State& state) {
  ParameterSet<Scalar> p;
  run<gnnpool::SEPPool<Scalar>, Backward>(state, gnnpool::SEPPool<Scalar>(p, "", features), p);
}

void BM_StreamCopy(benchmark::State& state) { gnnpool::bench::stream_copy(state); }

}  // namespace

#define GNNPOOL_BENCH_HARD(name)                                                                                   \
  BENCHMARK(name<float, false>)->Name(#name "_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);  \
  BENCHMARK(name<float, true>)->Name(#name "_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond); \
  BENCHMARK(name<double, false>)->Name(#name "_fwd<double>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond); \
  BENCHMARK(name<double, true>)->Name(#name "_fwdbwd<double>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)

BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond);
GNNPOOL_BENCH_HARD(BM_NoPool);
GNNPOOL_BENCH_HARD(BM_EdgeContraction);
GNNPOOL_BENCH_HARD(BM_MaxCut);
GNNPOOL_BENCH_HARD(BM_PAN);
GNNPOOL_BENCH_HARD(BM_ASAP);
BENCHMARK(BM_SEP<float, false>)->Name("BM_SEP_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SEP<float, true>)->Name("BM_SEP_fwdbwd<float>")->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SEP<double, false>)->Name("BM_SEP_fwd<double>")->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SEP<double, true>)->Name("BM_SEP_fwdbwd<double>")->Arg(10000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
