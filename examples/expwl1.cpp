// Expressiveness of pooling on EXPWL1-style pairs (Bianchi & Lachi, "The expressive power of
// pooling in graph neural networks", NeurIPS 2023). The theorem: if the message passing (MP)
// before pooling maps two 1-WL-distinguishable graphs to different multisets of node embeddings,
// and the pooler's selection S has rows that all sum to one non-zero constant lambda and reduces
// X' = S^T X, then sum_rows X' = lambda sum_rows X, so the pooled graphs stay distinguishable.
//
// The paper's EXPWL1 dataset is not bundled, so the pairs are generated: G is a random connected
// graph (a random tree plus random edges, n in [20, 40], average degree 4), G' is G with one edge
// (u, v) moved to a non-edge (u, w) (same node and edge counts), and the pair is kept only when
// 1-WL colour refinement on the disjoint union tells G from G' (hence they are not isomorphic).
// Every pair then goes, with random weights and no training (the theorem's setting), through
//
//   x = 1 (F = 1) -> [ GraphConv (sum aggregation) + ReLU ] x layers -> pooler -> sum readout
//
// and the program counts, for every pooler the examples know (common/model.hpp), the pairs whose
// readouts differ before pooling and after it, and how many selections pass gnnpool::is_expressive.
// It exits with status 2 when a pooler whose selections all pass and whose reduce is S^T X loses
// a pair: that would contradict the theorem (the CTest smoke run checks it).

#include <gnnpool/gnnpool.hpp>

#include "common/cli.hpp"
#include "common/model.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace {

using Scalar = double;
using gnnpool::Index;
using Batch = gnnpool::Batch<Scalar>;
using Mat = gnnpool::Matrix<Scalar>;
using Row = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
using Edges = std::set<std::pair<Index, Index>>;  // undirected, stored as (min, max)

/// A draw in [0, k): `rng() % k` rather than std::uniform_int_distribution, whose output differs
/// between standard libraries, so that a seed gives the same pairs everywhere.
Index draw(std::mt19937_64& rng, Index k) { return static_cast<Index>(rng() % static_cast<std::uint64_t>(k)); }

struct Graph {
  Index n = 0;
  Edges edges;
};

/// A random tree (node i hangs from a random earlier node, so G is connected) plus random edges
/// until 2n edges: average degree 4.
Graph random_graph(std::mt19937_64& rng) {
  Graph g;
  g.n = 20 + draw(rng, 21);
  for (Index i = 1; i < g.n; ++i) g.edges.emplace(draw(rng, i), i);
  while (static_cast<Index>(g.edges.size()) < 2 * g.n) {
    const Index a = draw(rng, g.n), b = draw(rng, g.n);
    if (a != b) g.edges.emplace(std::min(a, b), std::max(a, b));
  }
  return g;
}

std::vector<std::vector<Index>> neighbours(const Graph& g) {
  std::vector<std::vector<Index>> nb(static_cast<std::size_t>(g.n));
  for (const auto& [a, b] : g.edges) {
    nb[static_cast<std::size_t>(a)].push_back(b);
    nb[static_cast<std::size_t>(b)].push_back(a);
  }
  return nb;
}

/// G with the edge (u, v) replaced by the non-edge (u, w), u a node with a non-neighbour.
Graph move_one_edge(const Graph& g, std::mt19937_64& rng) {
  const auto nb = neighbours(g);
  for (;;) {
    const Index u = draw(rng, g.n);
    const auto& adj = nb[static_cast<std::size_t>(u)];
    std::vector<Index> non;
    for (Index w = 0; w < g.n; ++w)
      if (w != u && std::find(adj.begin(), adj.end(), w) == adj.end()) non.push_back(w);
    if (non.empty()) continue;
    const Index v = adj[static_cast<std::size_t>(draw(rng, static_cast<Index>(adj.size())))];
    const Index w = non[static_cast<std::size_t>(draw(rng, static_cast<Index>(non.size())))];
    Graph h = g;
    h.edges.erase({std::min(u, v), std::max(u, v)});
    h.edges.emplace(std::min(u, w), std::max(u, w));
    return h;
  }
}

/// 1-WL colour refinement on the disjoint union of g and h, all nodes starting with one colour:
/// a node's next colour is the rank of (its colour, the sorted colours of its neighbours), until
/// the number of colours stops growing (the partition is stable). True when the colour
/// histograms of g and h then differ.
bool wl_distinguishes(const Graph& g, const Graph& h) {
  auto nb = neighbours(g);
  for (auto list : neighbours(h)) {
    for (auto& j : list) j += g.n;
    nb.push_back(std::move(list));
  }
  std::vector<Index> colour(nb.size(), 0);
  for (std::size_t classes = 1;;) {
    std::map<std::vector<Index>, Index> rank;
    std::vector<std::vector<Index>> signature(nb.size());
    for (std::size_t i = 0; i < nb.size(); ++i) {
      auto& s = signature[i];
      for (Index j : nb[i]) s.push_back(colour[static_cast<std::size_t>(j)]);
      std::sort(s.begin(), s.end());
      s.insert(s.begin(), colour[i]);
      rank.emplace(s, 0);
    }
    Index next = 0;
    for (auto& [s, r] : rank) r = next++;
    for (std::size_t i = 0; i < nb.size(); ++i) colour[i] = rank[signature[i]];
    if (rank.size() == classes) break;
    classes = rank.size();
  }
  const auto split = colour.begin() + g.n;
  std::vector<Index> cg(colour.begin(), split), ch(split, colour.end());
  std::sort(cg.begin(), cg.end());
  std::sort(ch.begin(), ch.end());
  return cg != ch;
}

Batch to_batch(const Graph& g) {
  gnnpool::EdgeList list(g.edges.begin(), g.edges.end());
  return gnnpool::make_graph<Scalar>(Mat::Ones(g.n, 1), list);  // symmetrised, unit weights
}

/// Two readouts differ: |a - b|_inf > 1e-9 max(1, |a|_inf).
bool differ(const Row& a, const Row& b) {
  return (a - b).cwiseAbs().maxCoeff() > 1e-9 * std::max(1.0, a.cwiseAbs().maxCoeff());
}

/// What the pooler's reduce computes from S and X: "S^T X" when the theorem's reduce, otherwise
/// what it does instead (a cluster max, a nonlinearity after S^T X, a representative's row).
template <typename Reduce>
std::string reduce_kind(const Reduce& r) {
  using gnnpool::ClusterAggregation;
  if constexpr (std::is_same_v<Reduce, gnnpool::SoftReduce<Scalar>>) {
    if (r.options().cluster_mean) return "S^T X / size";
    if (r.options().activation != gnnpool::Activation::identity)
      return std::string(gnnpool::activation_name(r.options().activation)) + "(S^T X)";
  } else if constexpr (std::is_same_v<Reduce, gnnpool::ClusterReduce<Scalar>>) {
    if (r.options().passthrough == gnnpool::ScorePassthrough::after) return "w_rep agg(X)";
    switch (r.options().aggregation) {
      case ClusterAggregation::max: return "cluster max";
      case ClusterAggregation::mean: return "cluster mean";
      case ClusterAggregation::representative: return "representative";
      case ClusterAggregation::sum: break;
    }
  } else if constexpr (std::is_same_v<Reduce, gnnpool::GatherReduce<Scalar>>) {
    if (r.multiplier() != Scalar(1)) return "c S^T X";
  }
  return "S^T X";  // GatherReduce and SparseReduce are S^T X with the selection's weights
}

struct Pair {
  Batch g, h;
  Mat xg, xh;  // the MP outputs
};

struct Tally {
  std::string reduce = "S^T X";
  Index expressive = 0, selections = 0, before = 0, after = 0, kept = 0;
};

/// Runs `name` on every pair with one set of randomly initialised parameters.
Tally run_pooler(const std::string& name, const std::vector<Pair>& pairs, Index width,
                 const examples::PoolerSettings& settings, std::uint64_t seed) {
  gnnpool::ParameterSet<Scalar> params;
  const auto pooler = examples::make_pooler<Scalar>(name, params, "pool", width, settings);
  params.initialize(seed);
  Tally t;
  for (const Pair& p : pairs) {
    Row pooled[2];
    std::visit(
        [&](const auto& pool) {
          using P = std::decay_t<decltype(pool)>;
          if constexpr (std::is_same_v<P, examples::NoPool>) {  // S = I
            pooled[0] = p.xg.colwise().sum();
            pooled[1] = p.xh.colwise().sum();
            t.expressive += 2;
          } else {
            t.reduce = reduce_kind(pool.reduce());
            // G and G' are pooled as two batches, so nothing of one can leak into the other.
            for (int k = 0; k < 2; ++k) {
              const Batch& b = k == 0 ? p.g : p.h;
              typename P::Output out;
              typename P::Cache cache;
              pool.forward(params, gnnpool::BatchRef<Scalar>(k == 0 ? p.xg : p.xh, b), out, cache);
              pooled[k] = out.batch.x.colwise().sum();
              t.expressive += gnnpool::is_expressive(out.selection) ? 1 : 0;
            }
          }
        },
        pooler);
    t.selections += 2;
    const bool before = differ(p.xg.colwise().sum(), p.xh.colwise().sum());
    const bool after = differ(pooled[0], pooled[1]);
    t.before += before;
    t.after += after;
    t.kept += before && after;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Options opt(argc, argv,
                        "expwl1: do poolers keep 1-WL-distinguishable graph pairs distinguishable? (Bianchi & Lachi 2023)\n"
                        "Usage: expwl1 [--pairs M] [--seed S] [--layers L] [--pooler NAME] [--smoke]");
  Index num_pairs = opt.integer("pairs", 500, "pairs of 1-WL-distinguishable graphs to generate");
  const long seed_arg = opt.integer("seed", 0, "seed of the graphs, the MP weights and the pooler parameters");
  const Index layers = opt.integer("layers", 3, "GraphConv (sum) + ReLU layers before pooling");
  const Index hidden = opt.integer("hidden", 16, "width of the MP layers");
  const Index clusters = opt.integer("clusters", 5, "K of the soft poolers (mincut, diffpool, dmon, jb, acc, hosc)");
  const double ratio = opt.real("ratio", 0.25, "fraction of nodes kept by topk, sag, pan, asap, maxcut");
  std::string known;
  for (const auto& n : examples::pooler_names()) known += (known.empty() ? "" : ", ") + n;
  const std::string only = opt.text("pooler", "", "run this pooler only (" + known + ")");
  const bool smoke = opt.flag("smoke", "20 pairs (CTest)");
  opt.finish();
  if (smoke && !opt.given("pairs")) num_pairs = 20;
  if (num_pairs < 1 || layers < 1 || hidden < 1 || clusters < 1)
    throw std::invalid_argument("--pairs, --layers, --hidden and --clusters must be >= 1");
  if (seed_arg < 0) throw std::invalid_argument("--seed must be >= 0");
  if (!(ratio > 0 && ratio <= 1)) throw std::invalid_argument("--ratio must be in (0, 1]");
  const auto& names = examples::pooler_names();
  if (!only.empty() && std::find(names.begin(), names.end(), only) == names.end())
    throw std::invalid_argument("unknown --pooler '" + only + "' (known: " + known + ")");
  const auto seed = static_cast<std::uint64_t>(seed_arg);
  examples::Stopwatch clock;

  // The pairs, and 1-WL's verdict on every candidate.
  std::mt19937_64 rng(seed);
  std::vector<std::pair<Graph, Graph>> graphs;
  Index rejected = 0;
  while (static_cast<Index>(graphs.size()) < num_pairs) {
    Graph g = random_graph(rng);
    Graph h = move_one_edge(g, rng);
    if (wl_distinguishes(g, h)) graphs.emplace_back(std::move(g), std::move(h));
    else ++rejected;
  }

  // Message passing with random weights (seed + 1), the same for every graph.
  gnnpool::ParameterSet<Scalar> mp_params;
  std::vector<gnnpool::GraphConv<Scalar>> convs;
  for (Index l = 0; l < layers; ++l)
    convs.emplace_back(mp_params, "convs." + std::to_string(l), l == 0 ? 1 : hidden, hidden);
  mp_params.initialize(seed + 1);
  auto mp = [&](const Batch& b) {
    Mat h = b.x;
    for (const auto& conv : convs) {
      Mat y;
      typename gnnpool::GraphConv<Scalar>::Cache cache;
      conv.forward(mp_params, gnnpool::BatchRef<Scalar>(h, b), y, cache);
      h = y.cwiseMax(Scalar(0));
    }
    return h;
  };
  std::vector<Pair> pairs;
  for (const auto& [g, h] : graphs) {
    Pair p{to_batch(g), to_batch(h), {}, {}};
    p.xg = mp(p.g);
    p.xh = mp(p.h);
    pairs.push_back(std::move(p));
  }

  std::printf("gnnpool EXPWL1-style expressiveness check (generated pairs, random weights, no training)\n");
  std::printf("  pairs     %ld kept, %ld of %ld candidates rejected (1-WL could not tell G from G'), seed %lu\n",
              static_cast<long>(num_pairs), static_cast<long>(rejected), static_cast<long>(num_pairs + rejected),
              static_cast<unsigned long>(seed));
  std::printf("  model     x = 1 -> %ld x [GraphConv(%ld, sum) + ReLU] -> pooler (K = %ld, ratio %g) -> sum readout\n\n",
              static_cast<long>(layers), static_cast<long>(hidden), static_cast<long>(clusters), ratio);
  std::printf("%-9s %-16s %11s %7s %7s %7s %8s\n", "pooler", "reduce", "expressive", "before", "after", "kept",
              "kept %");

  examples::PoolerSettings hard;
  hard.ratio = ratio;
  hard.seed = seed + 2;  // Graclus' visiting order, NDP's split, MaxCut's random map
  examples::PoolerSettings soft = hard;
  soft.clusters = clusters;
  int violations = 0;
  for (const auto& name : names) {
    if (!only.empty() && name != only) continue;
    const Tally t = run_pooler(name, pairs, hidden, examples::is_soft_pooler(name) ? soft : hard, seed + 2);
    const bool theorem = t.expressive == t.selections && t.reduce == "S^T X";
    const bool violated = theorem && t.kept < t.before;
    violations += violated;
    std::printf("%-9s %-16s %10.1f%% %7ld %7ld %7ld %7.1f%%%s\n", name.c_str(), t.reduce.c_str(),
                100.0 * static_cast<double>(t.expressive) / static_cast<double>(t.selections), static_cast<long>(t.before),
                static_cast<long>(t.after), static_cast<long>(t.kept),
                t.before ? 100.0 * static_cast<double>(t.kept) / static_cast<double>(t.before) : 0.0,
                violated ? "  <- contradicts the theorem" : (theorem ? "  (theorem applies)" : ""));
  }
  std::printf("\n  before / after: pairs whose sum readouts differ before / after pooling; kept: both.\n");
  std::printf("  time      %s\n", examples::format_duration(clock.seconds()).c_str());
  if (violations) {
    std::fprintf(stderr, "expwl1: %d pooler(s) with expressive selections and an S^T X reduce lost a pair\n", violations);
    return 2;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "expwl1: %s\n", e.what());
  return 1;
}
