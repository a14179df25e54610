// libFuzzer harness: the pooler API. Each input is decoded into a small batch (up to 4 graphs
// of up to 6 nodes, features and edge weights from tables of ordinary and extreme values: 0,
// tiny, subnormal, large), one pooler or readout of the zoo (tests/support/layer_zoo.hpp) and its
// hyper-parameters, in float or double; forward and backward then run with bounded upstream
// gradients. The outcome must be a gnnpool error (shape_error, invalid_argument, gnnpool::error)
// or finite outputs, losses and gradients; anything else aborts (fuzz_support.hpp).

#include "support/layer_zoo.hpp"

#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace gnnpool;

// Features: ordinary values, and the extremes a trained network can produce.
constexpr double feature_values[] = {0, 1, -1, 0.5, -2, 3.5, 100, -100, 1e4, -1e4, 1e-30, -1e-30, 1e-45, 0.25, 7, 1e-300};
// Edge weights (>= 0): unweighted, tiny (normal and subnormal in float or double), large.
constexpr double weight_values[] = {1, 1, 1, 0.5, 2, 0, 1e-30, 1e-45, 1e-38, 1e-20, 1e-8, 100, 1e4, 0.01, 1e-300, 1e-310};
constexpr double temperatures[] = {1, 1, 0.5, 0.1, 1e-3, 1e-6, 10};
constexpr double logit_scales[] = {1, 1, 10, 100, 1000, 3000};
constexpr double ratios[] = {0.5, 0.25, 0.75, 0.1, 0.9, 0.01, 0.99};
constexpr double cut_thresholds[] = {0.5, 0.5, 0, 1, 0.25};

test::ZooHyper decode_hyper(fuzz::Bytes& in) {
  test::ZooHyper h;
  h.ratio = in.pick_from(ratios);
  h.topk_k = static_cast<Index>(in.pick(4));
  h.min_score = in.pick(4) == 0 ? 0.3 : 0.0;
  h.sigmoid = in.flag();
  h.sag_gcn = in.flag();
  h.clusters = 1 + static_cast<Index>(in.pick(4));
  h.temperature = in.pick_from(temperatures);
  h.logit_scale = in.pick_from(logit_scales);
  h.normalize = !in.flag();
  h.cluster_mean = in.flag();
  h.graclus_weighting = static_cast<int>(in.pick(4));
  h.graclus_order = static_cast<int>(in.pick(3));
  h.aggregation = static_cast<int>(in.pick(4));
  const unsigned k = in.byte();
  h.kmis_k = k < 200 ? 1 + k % 4 : (k < 250 ? 1 + k : 1000 + k);  // mostly small, sometimes the bound
  h.kmis_scorer = static_cast<int>(in.pick(4));
  h.kmis_heuristic = static_cast<int>(in.pick(3));
  h.kmis_self_loops = in.flag();
  h.seed = in.byte();
  h.cut_threshold = in.pick_from(cut_thresholds);
  h.ndp_dense = in.flag();
  h.check_symmetric = in.pick(4) != 0;
  return h;
}

template <typename Scalar>
Batch<Scalar> decode_batch(fuzz::Bytes& in, Index features, bool directed) {
  const std::size_t graphs = 1 + in.pick(4);
  std::vector<Batch<Scalar>> parts;
  for (std::size_t g = 0; g < graphs; ++g) {
    const Index n = static_cast<Index>(in.pick(7));
    Matrix<Scalar> x(n, features);
    for (Index i = 0; i < x.size(); ++i) {
      const double v = in.pick_from(feature_values);
      x.data()[i] = static_cast<Scalar>(in.flag() ? -v : v);
    }
    EdgeList edges;
    std::vector<Scalar> weights;
    const std::size_t m = n == 0 ? 0 : in.pick(static_cast<std::size_t>(2 * n + 1));
    for (std::size_t e = 0; e < m; ++e) {
      edges.emplace_back(static_cast<Index>(in.pick(static_cast<std::size_t>(n))),
                         static_cast<Index>(in.pick(static_cast<std::size_t>(n))));
      weights.push_back(static_cast<Scalar>(in.pick_from(weight_values)));
    }
    EdgeListOptions o;
    o.symmetrize = !directed;
    parts.push_back(make_graph<Scalar>(std::move(x), edges, weights, o));
  }
  return concatenate<Scalar>(parts);
}

/// With GNNPOOL_FUZZ_VERBOSE set, what an input decodes to (to read a finding: run the
/// harness on the crash file alone).
template <typename Scalar>
void describe(int entry, const test::ZooHyper& h, const Batch<Scalar>& b) {
  std::fprintf(stderr, "entry %d (%s), clusters %ld, T %g, logit scale %g, cluster_mean %d, normalize %d, kmis k %ld\n",
               entry, sizeof(Scalar) == 4 ? "float" : "double", static_cast<long>(h.clusters), h.temperature,
               h.logit_scale, h.cluster_mean, h.normalize, static_cast<long>(h.kmis_k));
  for (Index g = 0; g < b.num_graphs(); ++g) std::fprintf(stderr, "graph %ld: nodes %ld..%ld\n", static_cast<long>(g),
                                                          static_cast<long>(b.graph_begin(g)), static_cast<long>(b.graph_begin(g + 1)) - 1);
  for (Index i = 0; i < b.num_nodes(); ++i) {
    std::fprintf(stderr, "x[%ld] =", static_cast<long>(i));
    for (Index j = 0; j < b.x.cols(); ++j) std::fprintf(stderr, " %g", static_cast<double>(b.x(i, j)));
    std::fprintf(stderr, " | A:");
    for (typename SparseMatrix<Scalar>::InnerIterator it(b.adj, i); it; ++it)
      std::fprintf(stderr, " (%ld) %g", static_cast<long>(it.col()), static_cast<double>(it.value()));
    std::fprintf(stderr, "\n");
  }
}

template <typename Scalar>
void run(fuzz::Bytes& in) {
  const int entry = static_cast<int>(in.pick(test::zoo_size));
  const Index features = 1 + static_cast<Index>(in.pick(3));
  const test::ZooHyper h = decode_hyper(in);
  const bool directed = !h.check_symmetric && in.flag();
  const std::uint64_t seed = in.byte();
  const Batch<Scalar> batch = decode_batch<Scalar>(in, features, directed);
  if (std::getenv("GNNPOOL_FUZZ_VERBOSE")) describe(entry, h, batch);
  ParameterSet<Scalar> params;
  std::vector<std::unique_ptr<test::ZooEntry<Scalar>>> zoo;
  if (!fuzz::expect_clean([&] { zoo = test::make_zoo<Scalar>(params, features, h, entry); }, true)) return;
  params.initialize(seed);
  std::vector<double> values;
  if (!fuzz::expect_clean([&] { values = zoo.front()->run(params, batch, seed); }, true)) return;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fuzz::finding(zoo.front()->name() + (sizeof(Scalar) == 4 ? " (float)" : " (double)") + ": value " +
                    std::to_string(i) + " of its outputs and gradients is " + std::to_string(values[i]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gnnpool::fuzz::Bytes in(data, size);
  gnnpool::fuzz::with_scalar(in.flag(), [&]<typename Scalar>() { run<Scalar>(in); });
  return 0;
}
