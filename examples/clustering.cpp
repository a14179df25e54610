// Unsupervised node clustering with MinCutPool or DMoN: one graph convolution and a soft
// pooler trained on the pooler's auxiliary losses only (no labels). The clusters are the
// argmax of the assignment S; the labels, when the graph has them, are used only to score the
// result: NMI (the v-measure, as the MinCutPool paper), homogeneity, completeness, pairwise F1,
// and the label-free modularity and conductance.
//
//   mincut (MinCutPool paper, Clustering.py): GraphConvSkip(16) + ELU on D^-1/2 A D^-1/2,
//          MinCutPool(K = classes) with a linear assignment, Adam 5e-4, 10,000 iterations.
//   dmon   (DMoN paper, train.py): GCN(64) + SELU, DMoN(K = 16) with a linear assignment,
//          spectral + collapse losses (collapse weight 1), Adam 1e-3, 1,000 iterations.
//
// Graphs: --graph cora (default, data/cora), karate (data/karate), or --linqs DIR (any LINQS
// folder), or --edges FILE [--labels FILE] (an edge list and "node label" lines).

#include <gnnpool/gnnpool.hpp>

#include "common/cli.hpp"
#include "common/graphs.hpp"
#include "common/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

namespace {

using Scalar = double;
using examples::Index;
using Batch = gnnpool::Batch<Scalar>;
using Mat = gnnpool::Matrix<Scalar>;

struct Graph {
  std::string name;
  Batch graph;                // x: node features, adj: the binary symmetric adjacency
  std::vector<Index> labels;  // empty when the graph has none
  Index num_classes = 0;
};

/// Featureless graphs get one-hot node ids (up to 4096 nodes) or 128 seeded Gaussian features.
Mat featureless(Index n, std::uint64_t seed) {
  if (n <= 4096) return Mat::Identity(n, n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Mat x(n, 128);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = g(rng);
  return x;
}

Graph load_graph(examples::Options& opt, bool row_normalize, std::uint64_t seed) {
  const std::string name = opt.text("graph", "cora", "bundled graph: cora or karate");
  const std::string linqs = opt.text("linqs", "", "a LINQS folder (name.content + name.cites) instead");
  const std::string edges = opt.text("edges", "", "an edge-list file instead (SNAP style)");
  const std::string labels = opt.text("labels", "", "with --edges: 'node label' lines");
  Graph g;
  if (!edges.empty()) {
    auto e = gnnpool::read_edge_list<Scalar>(edges);
    g.name = edges;
    g.graph = std::move(e.graph);
    if (!labels.empty()) {
      auto y = gnnpool::read_node_labels(labels, e);
      g.labels = y.labels;
      g.num_classes = y.num_classes();
    }
    g.graph.x = featureless(g.graph.num_nodes(), seed);
  } else if (!linqs.empty() || name == "cora") {
    gnnpool::LinqsReadOptions o;
    o.row_normalize = row_normalize;  // MinCut: as its reference code's preprocess_features; DMoN: raw
    auto d = gnnpool::read_linqs<Scalar>(linqs.empty() ? std::string(GNNPOOL_DATA_DIR) + "/cora" : linqs, "", o);
    g.name = linqs.empty() ? "cora" : linqs;
    g.graph = std::move(d.graph);
    g.labels = d.labels;
    g.num_classes = d.num_classes();
  } else if (name == "karate") {
    const std::string dir = std::string(GNNPOOL_DATA_DIR) + "/karate";
    g.name = "karate";
    g.graph = gnnpool::read_adjacency_matrix<Scalar>(dir + "/karate.txt");
    const auto y = gnnpool::read_labels(dir + "/karate_labels.txt", g.graph.num_nodes());
    g.labels = y.labels;
    g.num_classes = y.num_classes();
    g.graph.x = featureless(g.graph.num_nodes(), seed);
  } else {
    throw std::invalid_argument("unknown --graph '" + name + "' (cora, karate; or use --linqs / --edges)");
  }
  return g;
}

/// The encoder: one graph convolution of the (sparse, bag-of-words) input features and its
/// activation, written as a user's own layer: it has the shape of gnnpool's `FeatureLayer`
/// (core/concepts.hpp), so the tape records it like any layer of the library. The features
/// never change, so the propagation P X is computed once and every product runs on sparse
/// matrices (a dense 2708 x 1433 product per step would cost 100x more):
///
///   Y = (P X) W_rel^T + b [+ X W_root^T],     H = act(Y)
///   dW_rel = dY^T (P X),  dW_root = dY^T X,  db = 1^T dY,  dX = P^T dY W_rel [+ dY W_root]
///
/// mincut: P = D^-1/2 A D^-1/2 with the root term: gnnpool's GraphConv on the normalised
///         adjacency, i.e. Spektral's GraphConvSkip, with ELU.
/// dmon:   P = D^-1/2 (A + I) D^-1/2 without root term: gnnpool's GCNConv (PyG's GCN), with SELU.
/// Parameters use the names of those layers: conv.lin_rel.weight, conv.lin_rel.bias,
/// conv.lin_root.weight (mincut); conv.lin.weight, conv.bias (dmon). The layer is bound to the
/// features it was built with: forward checks that it is given a matrix of their shape.
class Encoder {
 public:
  using Scalar = ::Scalar;
  struct Cache {
    Mat pre, out;
  };

  Encoder(gnnpool::ParameterSet<Scalar>& params, const std::string& method, const Batch& g, Index out)
      : m_gcs(method == "mincut") {
    const Index in = g.x.cols();
    m_x = g.x.sparseView();
    if (m_gcs) {
      m_p = examples::normalized_adjacency(g.adj);
      m_w_rel = params.add("conv.lin_rel.weight", out, in, gnnpool::Init::torch_linear, in);
      m_bias = params.add("conv.lin_rel.bias", 1, out, gnnpool::Init::torch_linear, in);
      m_w_root = params.add("conv.lin_root.weight", out, in, gnnpool::Init::torch_linear, in);
    } else {
      gnnpool::SparseMatrix<Scalar> eye(g.adj.rows(), g.adj.cols());
      eye.setIdentity();
      m_p = examples::normalized_adjacency(gnnpool::SparseMatrix<Scalar>(g.adj + eye));
      m_w_rel = params.add("conv.lin.weight", out, in, gnnpool::Init::glorot);
      m_bias = params.add("conv.bias", 1, out, gnnpool::Init::zeros);
    }
    m_px = m_p * m_x;
  }

  std::string_view name() const { return "conv (Encoder)"; }
  void parameter_slots(std::vector<Index>& out) const {
    out.push_back(m_w_rel);
    out.push_back(m_bias);
    if (m_gcs) out.push_back(m_w_root);
  }

  /// y = act(conv(x)).
  void forward(const gnnpool::ParameterSet<Scalar>& params, const gnnpool::ConstMatrixRef<Scalar>& x, Mat& y,
               Cache& cache) const {
    if (x.rows() != m_x.rows() || x.cols() != m_x.cols())
      throw gnnpool::shape_error("Encoder: it was built for features of " + gnnpool::detail::shape(m_x.rows(), m_x.cols()) +
                                 " but is given " + gnnpool::detail::shape(x.rows(), x.cols()));
    cache.pre.noalias() = m_px * params[m_w_rel].transpose();
    if (m_gcs) cache.pre.noalias() += m_x * params[m_w_root].transpose();
    cache.pre.rowwise() += params[m_bias].row(0);
    if (m_gcs) y = cache.pre.unaryExpr([](Scalar v) { return v > 0 ? v : std::expm1(v); });  // ELU
    else gnnpool::activation_forward<Scalar>(gnnpool::Activation::selu, cache.pre, y);
    cache.out = y;
  }
  /// Assigns the encoder's slots of grads (and *dx when asked) from dL/dy.
  void backward(const gnnpool::ParameterSet<Scalar>& params, const gnnpool::ConstMatrixRef<Scalar>& /*x*/,
                const Cache& cache, const gnnpool::ConstMatrixRef<Scalar>& dy, Mat* dx,
                gnnpool::ParameterSet<Scalar>& grads) const {
    Mat dpre;
    if (m_gcs) dpre = (cache.pre.array() > 0).select(dy.array(), dy.array() * (cache.out.array() + 1)).matrix();
    else gnnpool::activation_backward<Scalar>(gnnpool::Activation::selu, cache.pre, cache.out, dy, dpre);
    grads[m_w_rel] = (m_px.transpose() * dpre).transpose();
    if (m_gcs) grads[m_w_root] = (m_x.transpose() * dpre).transpose();
    grads[m_bias] = dpre.colwise().sum();
    if (dx) {
      const Mat g = dpre * params[m_w_rel];
      *dx = m_p.transpose() * g;
      if (m_gcs) dx->noalias() += dpre * params[m_w_root];
    }
  }

 private:
  bool m_gcs;
  gnnpool::SparseMatrix<Scalar> m_x, m_p, m_px;
  Index m_w_rel = -1, m_w_root = -1, m_bias = -1;
};
static_assert(gnnpool::FeatureLayer<Encoder>);

struct Result {
  std::vector<Index> clusters;
  double loss = 0;
};

/// Trains encoder + pooler on the auxiliary losses and returns argmax S.
template <typename PoolT>
Result train(const Graph& g, const gnnpool::SparseMatrix<Scalar>& pool_adj,
             const std::string& method, Index hidden, Index k, Index iterations, double lr, std::uint64_t seed,
             Index log_every, const PoolT& make_pool) {
  gnnpool::ParameterSet<Scalar> params;
  const Encoder encoder(params, method, g.graph, hidden);
  const auto pool = make_pool(params, hidden, k);
  params.initialize(seed);
  gnnpool::Adam<Scalar> adam(params, {.lr = lr});
  auto grads = params.zeros_like();
  gnnpool::Tape<Scalar> tape(params);
  auto record = [&] {  // no task loss: only the auxiliary losses
    tape.reset();
    auto x = tape.input(g.graph.x);
    return tape(pool, tape.graph(pool_adj, g.graph.offsets), tape(encoder, x));
  };
  auto argmax = [](const gnnpool::SoftSelection<Scalar>& sel) {
    std::vector<Index> c(static_cast<std::size_t>(sel.s.rows()));
    for (Index i = 0; i < sel.s.rows(); ++i) sel.s.row(i).maxCoeff(&c[static_cast<std::size_t>(i)]);
    return c;
  };
  examples::Stopwatch clock;
  Result r;
  for (Index it = 1; it <= iterations; ++it) {
    const auto p = record();
    const auto loss = p.aux_loss();
    tape.backward(loss, grads);
    adam.step(params, grads);
    r.loss = static_cast<double>(loss.value());
    if (it == 1 || it % log_every == 0 || it == iterations) {
      std::printf("  iter %5ld  loss %+.4f (", static_cast<long>(it), r.loss);
      for (std::size_t l = 0; l < p.loss_names().size(); ++l)
        std::printf("%s%s %+.4f", l ? ", " : "", p.loss_names()[l].c_str(),
                    static_cast<double>(p.loss(p.loss_names()[l]).value()));
      std::printf(")");
      if (!g.labels.empty()) std::printf("  NMI %.3f", examples::cluster_agreement(g.labels, argmax(p.selection.value())).v_measure);
      const double per = clock.seconds() / static_cast<double>(it);
      std::printf("  %s/iter  ETA %s\n", examples::format_duration(per).c_str(),
                  examples::format_duration(per * static_cast<double>(iterations - it)).c_str());
      std::fflush(stdout);
    }
  }
  // The final assignment, from the trained parameters.
  r.clusters = argmax(record().selection.value());
  return r;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Options opt(argc, argv,
                        "clustering: unsupervised node clustering with MinCutPool or DMoN (auxiliary losses only).\n"
                        "Usage: clustering [--method mincut|dmon] [--graph cora|karate | --linqs DIR | --edges FILE] ...");
  const std::string method = opt.text("method", "mincut", "mincut (MinCutPool paper protocol) or dmon (DMoN paper protocol)");
  if (method != "mincut" && method != "dmon") throw std::invalid_argument("--method must be mincut or dmon");
  const bool mincut = method == "mincut";
  const auto seed = static_cast<std::uint64_t>(opt.integer("seed", 0, "seed of the initialisation (run r uses seed + r)"));
  Graph g = load_graph(opt, mincut, seed);
  Index iterations = opt.integer("iterations", mincut ? 10000 : 1000, "Adam steps");
  const double lr = opt.real("lr", mincut ? 5e-4 : 1e-3, "Adam learning rate");
  const Index hidden = opt.integer("hidden", mincut ? 16 : 64, "channels of the graph convolution");
  Index k = opt.integer("clusters", mincut ? g.num_classes : 16, "clusters K (mincut: the number of classes)");
  const Index runs = opt.integer("runs", 1, "independent runs (seeds seed .. seed + runs - 1)");
  const double collapse = opt.real("collapse", 1.0, "dmon: weight of the collapse (cluster) loss");
  Index log_every = opt.integer("log-every", 0, "print a progress line every this many iterations (0: 20 lines)");
  const bool smoke = opt.flag("smoke", "5 iterations (CTest)");
  opt.finish();
  if (smoke && !opt.given("iterations")) iterations = 5;
  if (k < 1) k = 2;  // a graph without labels and no --clusters
  if (log_every <= 0) log_every = std::max<Index>(1, iterations / 20);
  if (iterations < 1 || runs < 1 || hidden < 1) throw std::invalid_argument("--iterations, --runs and --hidden must be >= 1");

  // MinCut: the losses see D^-1/2 A D^-1/2 (Clustering.py feeds A_norm to the layer); DMoN: A.
  const gnnpool::SparseMatrix<Scalar> pool_adj = mincut ? examples::normalized_adjacency(g.graph.adj) : g.graph.adj;

  std::printf("gnnpool node clustering\n");
  std::printf("  graph     %s: %ld nodes, %ld edges, %ld features, %s\n", g.name.c_str(), static_cast<long>(g.graph.num_nodes()),
              static_cast<long>(gnnpool::count_undirected_edges(g.graph.adj)), static_cast<long>(g.graph.num_features()),
              g.labels.empty() ? "no labels" : (std::to_string(g.num_classes) + " classes").c_str());
  if (mincut)
    std::printf("  model     GraphConvSkip(%ld) + ELU -> MinCutPool(k=%ld, linear assignment); losses: cut + orthogonality\n",
                static_cast<long>(hidden), static_cast<long>(k));
  else
    std::printf("  model     GCNConv(%ld) + SELU -> DMoN(k=%ld, linear assignment); losses: spectral + %g x collapse\n",
                static_cast<long>(hidden), static_cast<long>(k), collapse);
  std::printf("  training  Adam lr %g, %ld iterations, %ld run(s), seed %lu\n", lr, static_cast<long>(iterations),
              static_cast<long>(runs), static_cast<unsigned long>(seed));

  std::vector<double> nmi, hom, com, mod, cond, f1;
  examples::Stopwatch total;
  for (Index run = 0; run < runs; ++run) {
    if (runs > 1) std::printf("run %ld/%ld\n", static_cast<long>(run + 1), static_cast<long>(runs));
    const auto run_seed = seed + static_cast<std::uint64_t>(run);
    Result r;
    if (mincut) {
      r = train(g, pool_adj, method, hidden, k, iterations, lr, run_seed, log_every,
                [](gnnpool::ParameterSet<Scalar>& params, Index in, Index clusters) {
                  return gnnpool::MinCutPool<Scalar>(params, "pool", in, {.k = clusters});
                });
    } else {
      r = train(g, pool_adj, method, hidden, k, iterations, lr, run_seed, log_every,
                [collapse](gnnpool::ParameterSet<Scalar>& params, Index in, Index clusters) {
                  gnnpool::DMoNPoolOptions<Scalar> o;
                  o.k = clusters;
                  o.ortho_weight = 0;  // the paper's DMoN: spectral loss + collapse regularisation only
                  o.cluster_weight = static_cast<Scalar>(collapse);
                  return gnnpool::DMoNPool<Scalar>(params, "pool", in, o);
                });
    }
    mod.push_back(examples::modularity(g.graph.adj, r.clusters));
    cond.push_back(examples::conductance(g.graph.adj, r.clusters));
    if (!g.labels.empty()) {
      const auto a = examples::cluster_agreement(g.labels, r.clusters);
      nmi.push_back(a.v_measure);
      hom.push_back(a.homogeneity);
      com.push_back(a.completeness);
      f1.push_back(examples::pairwise_f1(g.labels, r.clusters));
    }
    std::vector<char> used(static_cast<std::size_t>(k), 0);
    for (Index c : r.clusters) used[static_cast<std::size_t>(c)] = 1;
    Index used_count = 0;
    for (char u : used) used_count += u;
    std::printf("run %ld: final loss %+.4f, %ld of %ld clusters used%s\n", static_cast<long>(run + 1), r.loss,
                static_cast<long>(used_count), static_cast<long>(k),
                g.labels.empty() ? "" : (", NMI " + std::to_string(nmi.back()).substr(0, 5)).c_str());
  }

  auto row = [&](const char* what, const std::vector<double>& v) {
    if (v.empty()) return;
    const auto m = examples::mean_std(v);
    if (runs > 1) std::printf("  %-18s %.3f +- %.3f\n", what, m.mean, m.std);
    else std::printf("  %-18s %.3f\n", what, m.mean);
  };
  std::printf("\n%s on %s (argmax of S, %ld run%s, seed %lu):\n", mincut ? "MinCutPool" : "DMoN", g.name.c_str(),
              static_cast<long>(runs), runs > 1 ? "s" : "", static_cast<unsigned long>(seed));
  row("NMI (v-measure)", nmi);
  row("homogeneity", hom);
  row("completeness", com);
  row("pairwise F1", f1);
  row("modularity", mod);
  row("conductance", cond);
  std::printf("  time               %s\n", examples::format_duration(total.seconds()).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "clustering: %s\n", e.what());
  return 1;
}
