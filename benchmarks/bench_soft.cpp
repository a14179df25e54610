// Benchmarks of the soft-clustering poolers (MinCutPool, DiffPool, DMoNPool), forward and
// forward+backward, float and double, on the sizes of ../shared/reference/pyg-timings.md:
//   D32   = 32 random graphs of 100 nodes (average degree ~9.6), K = 25, F = 64. PyG runs its
//           dense ops on the padded [32, 100, 100] tensors; gnnpool keeps the batch sparse.
//           MinCut and DiffPool include the Linear F -> K that makes the logits (as PyG's row),
//           DMoN its one-layer MLP.
//   S100k = one random graph, N = 10^5, E = 10^6 stored entries, K = 16, F = 64: PyG cannot hold
//           it densely (N^2 = 10^10). Each pooler, and one composition with all six losses
//           (cut, orthogonality, link, entropy, modularity, cluster).
// Each case reports its model FLOP count as `FLOP/s` (see `flops`) and the peak resident memory
// during the case as `peak_MB` (VmHWM after a reset; it includes the graphs cached by earlier
// cases of the same process, so run one S100k case per process to read its own footprint).
// Machine limits from the same run: BM_Gemm (Eigen's GEMM FLOP/s; for D32 the FLOP/s ratio is
// the "fraction of machine limit" of docs/performance.md) and BM_SpMM (one A S: the S100k time
// goes to passes over randomly placed rows, see docs/performance.md).

#include <gnnpool/loss/cluster.hpp>
#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/loss/link.hpp>
#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/modularity.hpp>
#include <gnnpool/loss/orthogonality.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

namespace {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Linear;
using gnnpool::ParameterSet;

constexpr Index features = 64;

enum Size : int { d32 = 0, s100k = 1 };

Index clusters(Size size) { return size == d32 ? 25 : 16; }

/// One cached batch per (scalar, size).
template <typename Scalar>
const Batch<Scalar>& batch(Size size) {
  static std::unique_ptr<Batch<Scalar>> cache[2];
  auto& slot = cache[size];
  if (!slot) {
    if (size == d32) {
      const std::vector<Index> sizes(32, 100);
      slot = std::make_unique<Batch<Scalar>>(gnnpool::testing::random_batch<Scalar>(sizes, 9.6, features, 2024));
    } else {
      slot = std::make_unique<Batch<Scalar>>(gnnpool::testing::random_graph<Scalar>(100000, 500000, features, 2025));
    }
  }
  return *slot;
}

/// Model FLOP count (a multiply-add is 2): scorer X W^T (2 N F K), S^T X (2 N K F), A S (2 E K),
/// S^T (A S) (2 N K^2), per edge loss one pass with a dot product and an update (4 E K), one Gram
/// per Gram loss (2 N K^2). Backward doubles each product (gradients of both operands).
double flops(Index n, Index e, Index k, int edge_losses, int gram_losses, bool backward) {
  const double nn = static_cast<double>(n), ee = static_cast<double>(e), kk = static_cast<double>(k);
  const double f = static_cast<double>(features);
  const double forward = 2 * nn * f * kk + 2 * nn * kk * f + 2 * ee * kk + 2 * nn * kk * kk +
                         edge_losses * 4 * ee * kk + gram_losses * 2 * nn * kk * kk;
  return backward ? 3 * forward : forward;
}

/// Runs `pool` (forward, or forward + backward with all upstream gradients and the loss
/// weights) on `size` and reports time, FLOP/s and the peak memory.
template <typename Scalar, typename PoolT>
void run(benchmark::State& state, const PoolT& pool, ParameterSet<Scalar>& params, Size size, bool backward,
         int edge_losses, int gram_losses) {
  const Batch<Scalar>& in = batch<Scalar>(size);
  gnnpool::bench::run_soft_pool(state, pool, params, in, backward);
  const double model = flops(in.num_nodes(), in.num_edges(), clusters(size), edge_losses, gram_losses, backward);
  state.counters["FLOP/s"] = benchmark::Counter(model, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["nnz"] = static_cast<double>(in.num_edges());
}

template <typename Scalar>
void BM_MinCut(benchmark::State& state) {
  const auto size = static_cast<Size>(state.range(0));
  ParameterSet<Scalar> params;
  const gnnpool::MinCutPool<Scalar, Linear<Scalar>> pool(Linear<Scalar>(params, "assign", features, clusters(size)));
  run<Scalar>(state, pool, params, size, state.range(1) != 0, 1, 1);
}

template <typename Scalar>
void BM_DiffPool(benchmark::State& state) {
  const auto size = static_cast<Size>(state.range(0));
  ParameterSet<Scalar> params;
  const gnnpool::DiffPool<Scalar, Linear<Scalar>> pool(Linear<Scalar>(params, "assign", features, clusters(size)));
  run<Scalar>(state, pool, params, size, state.range(1) != 0, 1, 1);
}

template <typename Scalar>
void BM_DMoN(benchmark::State& state) {
  const auto size = static_cast<Size>(state.range(0));
  ParameterSet<Scalar> params;
  const gnnpool::DMoNPool<Scalar> pool(params, "", features, {.k = clusters(size)});
  run<Scalar>(state, pool, params, size, state.range(1) != 0, 1, 1);
}

/// Every loss of the family on one pooler: MinCut's reduce/connect, cut + orthogonality + link +
/// entropy + modularity + cluster.
template <typename Scalar>
void BM_AllLosses(benchmark::State& state) {
  const auto size = static_cast<Size>(state.range(0));
  ParameterSet<Scalar> params;
  const gnnpool::Pool pool("AllLosses",
                           gnnpool::SoftAssignSelect(Linear<Scalar>(params, "assign", features, clusters(size))),
                           gnnpool::SoftReduce<Scalar>(),
                           gnnpool::SoftConnect<Scalar>(gnnpool::SoftConnectNormalization::symmetric),
                           gnnpool::MinCutLoss<Scalar>(), gnnpool::OrthogonalityLoss<Scalar>(),
                           gnnpool::LinkLoss<Scalar>(), gnnpool::EntropyLoss<Scalar>(),
                           gnnpool::ModularityLoss<Scalar>(), gnnpool::ClusterLoss<Scalar>());
  run<Scalar>(state, pool, params, size, state.range(1) != 0, 3, 2);
}

/// The machine's GEMM throughput in this run: 256 x 256 x 256 with Eigen (the library's own
/// dense kernel), FLOP/s = 2 n^3 per product. The three matrices lie in one buffer: as three
/// separate 256 KB allocations (each its own page-aligned mapping) Eigen's float GEMM ran at a
/// quarter of its speed here (37 against 150 GFLOP/s), an artifact of their placement, which
/// made the limit swing from run to run.
template <typename Scalar>
void BM_Gemm(benchmark::State& state) {
  const Index n = 256;
  using Map = Eigen::Map<gnnpool::Matrix<Scalar>, Eigen::Aligned64>;
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> buffer(static_cast<std::size_t>(3 * n * n));
  Map a(buffer.data(), n, n), b(buffer.data() + n * n, n, n), c(buffer.data() + 2 * n * n, n, n);
  a = gnnpool::testing::random_features<Scalar>(n, n, 1);
  b = gnnpool::testing::random_features<Scalar>(n, n, 2);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(n * n * n), benchmark::Counter::kIsIterationInvariantRate);
}

/// The other machine limit, for the sparse case: one sparse x dense product A S (Eigen's kernel)
/// on the same graph with the same K, the least a pass over randomly placed rows costs.
template <typename Scalar>
void BM_SpMM(benchmark::State& state) {
  const auto size = static_cast<Size>(state.range(0));
  const Batch<Scalar>& in = batch<Scalar>(size);
  const gnnpool::Matrix<Scalar> s = gnnpool::testing::random_features<Scalar>(in.num_nodes(), clusters(size), 3);
  gnnpool::Matrix<Scalar> p(in.num_nodes(), clusters(size));
  for (auto _ : state) {
    p.noalias() = in.adj * s;
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(in.num_edges());
}

// Arguments: {size (0 = D32, 1 = S100k), backward (0/1)}.
void sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "bwd"});
  for (int size : {0, 1})
    for (int bwd : {0, 1}) b->Args({size, bwd});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK_TEMPLATE(BM_Gemm, float);
BENCHMARK_TEMPLATE(BM_Gemm, double);
BENCHMARK_TEMPLATE(BM_SpMM, float)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_SpMM, double)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_MinCut, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_MinCut, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_DiffPool, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_DiffPool, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_DMoN, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_DMoN, double)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_AllLosses, float)->Apply(sizes);
BENCHMARK_TEMPLATE(BM_AllLosses, double)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
