// Coarsening pyramids: what Graclus, NDP and k-MIS do to a graph. Each method coarsens the
// graph level after level (gnnpool::build_pyramid); every level is written as a Graphviz file
// whose nodes are coloured by the supernode they merge into at the next level, so the files
// show the pyramid step by step. When Graphviz's `sfdp` (or `dot`) is installed, PNG images are
// rendered next to the .dot files.
//
// Graphs: --graph karate (default) or cora, --linqs DIR, --edges FILE.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/connect/kron.hpp>
#include <gnnpool/io/edge_list.hpp>
#include <gnnpool/io/linqs.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/select/kmis.hpp>
#include <gnnpool/select/ndp.hpp>

#include "common/cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

namespace {

using Scalar = double;
using gnnpool::Index;
using Batch = gnnpool::Batch<Scalar>;
using Pyramid = gnnpool::Pyramid<Scalar>;
namespace fs = std::filesystem;

Batch load_graph(examples::Options& opt, std::string& name) {
  name = opt.text("graph", "karate", "bundled graph: karate or cora");
  const std::string linqs = opt.text("linqs", "", "a LINQS folder instead");
  const std::string edges = opt.text("edges", "", "an edge-list file instead");
  if (!edges.empty()) {
    name = fs::path(edges).stem().string();
    return gnnpool::read_edge_list<Scalar>(edges).graph;
  }
  if (!linqs.empty() || name == "cora") {
    auto d = gnnpool::read_linqs<Scalar>(linqs.empty() ? std::string(GNNPOOL_DATA_DIR) + "/cora" : linqs);
    if (!linqs.empty()) name = fs::path(linqs).lexically_normal().filename().string();
    return std::move(d.graph);
  }
  if (name == "karate") return gnnpool::read_adjacency_matrix<Scalar>(std::string(GNNPOOL_DATA_DIR) + "/karate/karate.txt");
  throw std::invalid_argument("unknown --graph '" + name + "' (karate, cora; or use --linqs / --edges)");
}

Pyramid build(const std::string& method, const Batch& graph, Index levels, Index kmis_k, std::uint64_t seed) {
  if (method == "graclus") {
    gnnpool::GraclusOptions o;
    o.seed = seed;
    return gnnpool::build_pyramid(graph, levels, gnnpool::make_coarsener(gnnpool::GraclusSelect<Scalar>(o)));
  }
  if (method == "ndp") {
    gnnpool::NDPSelectOptions o;
    o.seed = seed;
    return gnnpool::build_pyramid(graph, levels,
                                  gnnpool::make_coarsener(gnnpool::NDPSelect<Scalar>(o), gnnpool::KronConnect<Scalar>()));
  }
  if (method == "kmis") {
    gnnpool::KMISOptions o;
    o.k = kmis_k;
    o.scorer = gnnpool::KMISScorer::degree;  // a feature-free score, so the levels can be precomputed
    o.seed = seed;
    return gnnpool::build_pyramid(graph, levels, gnnpool::make_coarsener(gnnpool::KMISSelect<Scalar>(o)));
  }
  throw std::invalid_argument("unknown --method '" + method + "' (graclus, ndp, kmis, all)");
}

/// Graphviz colour "h s v" for colour c of n, spread around the hue circle.
std::string colour(Index c, Index n) {
  char buf[40];
  const double golden = 0.6180339887498949;  // successive hues far apart even for large n
  const double h = std::fmod(static_cast<double>(c) * golden, 1.0);
  const double v = n > 12 && c % 2 ? 0.75 : 0.95;
  std::snprintf(buf, sizeof buf, "%.3f 0.55 %.2f", h, v);
  return buf;
}

/// The input node that stands for each node of level l (following `representative` down the
/// levels), so that a supernode carries the same label at every level.
std::vector<Index> level0_names(const Pyramid& p, Index l) {
  std::vector<Index> names(static_cast<std::size_t>(p.level_size(0)));
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = static_cast<Index>(i);
  for (Index k = 0; k < l; ++k) {
    const auto& rep = p.levels[static_cast<std::size_t>(k)].selection.representative;
    std::vector<Index> next(rep.size());
    for (std::size_t s = 0; s < rep.size(); ++s) next[s] = names[static_cast<std::size_t>(rep[s])];
    names = std::move(next);
  }
  return names;
}

/// Writes level l of the pyramid: its nodes (labelled by the input node that represents them)
/// coloured by their supernode at level l + 1, or all distinct at the top; edge width grows with
/// the weight when the weights differ.
void write_dot(const fs::path& file, const Pyramid& p, const Batch& input, Index l, const std::string& title) {
  const gnnpool::SparseMatrix<Scalar>& adj = l == 0 ? input.adj : p.levels[static_cast<std::size_t>(l - 1)].adj;
  const Index n = p.level_size(l);
  std::vector<Index> group(static_cast<std::size_t>(n));
  Index groups = n;
  if (l < p.num_levels()) {
    const auto& sel = p.levels[static_cast<std::size_t>(l)].selection;
    groups = sel.num_supernodes();
    for (Index i = 0; i < n; ++i) group[static_cast<std::size_t>(i)] = sel.assignment[static_cast<std::size_t>(i)];
  } else {
    for (Index i = 0; i < n; ++i) group[static_cast<std::size_t>(i)] = i;
  }
  double wmax = 0, wmin = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < adj.nonZeros(); ++i) {
    wmax = std::max(wmax, std::abs(static_cast<double>(adj.valuePtr()[i])));
    wmin = std::min(wmin, std::abs(static_cast<double>(adj.valuePtr()[i])));
  }
  const std::vector<Index> names = level0_names(p, l);
  std::ofstream out(file);
  if (!out) throw std::runtime_error("cannot write " + file.string());
  out << "graph level" << l << " {\n  label=\"" << title << "\"; labelloc=t; overlap=false; outputorder=edgesfirst;\n"
      << "  node [shape=circle, style=filled, fontsize=9, width=0.3, fixedsize=true];\n";
  for (Index i = 0; i < n; ++i) {
    const Index c = group[static_cast<std::size_t>(i)];
    // A node that no supernode takes (NDP's V-, a k-MIS node of no cluster) is drawn white and dashed.
    const std::string fill = c == gnnpool::HardSelection<Scalar>::dropped ? "white\", style=\"filled,dashed"
                                                                           : colour(c, groups);
    out << "  " << i << " [fillcolor=\"" << fill << "\", label=\"" << names[static_cast<std::size_t>(i)] << "\"];\n";
  }
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (gnnpool::SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it)
      if (it.col() < i || (it.col() > i && adj.coeff(it.col(), i) == Scalar(0))) {
        const double w = wmax > wmin ? std::abs(static_cast<double>(it.value())) / wmax : 0.3;
        out << "  " << it.col() << " -- " << i << " [penwidth=" << 0.4 + 2.6 * w << "];\n";
      }
  out << "}\n";
}

/// The first Graphviz layout program found on PATH ("" if none).
std::string graphviz_program() {
  for (const char* prog : {"sfdp", "neato", "dot"})
    if (std::system((std::string("command -v ") + prog + " > /dev/null 2>&1").c_str()) == 0) return prog;
  return "";
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Options opt(argc, argv,
                        "coarsen: Graclus / NDP / k-MIS coarsening pyramids of a graph, written as Graphviz files.\n"
                        "Usage: coarsen [--method all|graclus|ndp|kmis] [--levels 3] [--graph karate|cora] [--out DIR]");
  std::string graph_name;
  const Batch graph = load_graph(opt, graph_name);
  const std::string method = opt.text("method", "all", "graclus, ndp, kmis or all");
  Index levels = opt.integer("levels", 3, "number of coarsening levels");
  const Index kmis_k = opt.integer("kmis-k", 1, "k of k-MIS (hops between the kept nodes)");
  const auto seed = static_cast<std::uint64_t>(opt.integer("seed", 0, "seed of Graclus's visiting order and NDP's random split"));
  const fs::path out_dir = opt.text("out", "coarsen_out", "output folder for the .dot (and .png) files");
  bool render = !opt.flag("no-render", "do not call Graphviz even when it is installed");
  const bool smoke = opt.flag("smoke", "2 levels, no rendering (CTest)");
  opt.finish();
  if (smoke) {
    if (!opt.given("levels")) levels = 2;
    render = false;
  }
  if (levels < 1) throw std::invalid_argument("--levels must be >= 1");
  const std::vector<std::string> methods =
      method == "all" ? std::vector<std::string>{"graclus", "ndp", "kmis"} : std::vector<std::string>{method};
  fs::create_directories(out_dir);
  const std::string prog = render ? graphviz_program() : "";

  std::printf("gnnpool coarsening pyramids of %s: %ld nodes, %ld edges\n", graph_name.c_str(),
              static_cast<long>(graph.num_nodes()), static_cast<long>(gnnpool::count_undirected_edges(graph.adj)));
  std::printf("%-8s %5s %8s %8s %9s\n", "method", "level", "nodes", "edges", "kept");
  for (const auto& m : methods) {
    examples::Stopwatch clock;
    const Pyramid p = build(m, graph, levels, kmis_k, seed);
    const double seconds = clock.seconds();
    for (Index l = 0; l <= p.num_levels(); ++l) {
      const auto& adj = l == 0 ? graph.adj : p.levels[static_cast<std::size_t>(l - 1)].adj;
      const Index n = p.level_size(l);
      const double kept = l == 0 ? 1.0 : static_cast<double>(n) / static_cast<double>(p.level_size(l - 1));
      std::printf("%-8s %5ld %8ld %8ld %8.1f%%\n", m.c_str(), static_cast<long>(l), static_cast<long>(n),
                  static_cast<long>(gnnpool::count_undirected_edges(adj)), 100 * kept);
      const fs::path file = out_dir / (m + "_level" + std::to_string(l) + ".dot");
      const bool any_dropped =
          l < p.num_levels() &&
          std::ranges::any_of(p.levels[static_cast<std::size_t>(l)].selection.assignment,
                              [](Index a) { return a == gnnpool::HardSelection<Scalar>::dropped; });
      write_dot(file, p, graph, l,
                graph_name + " - " + m + " level " + std::to_string(l) + " (" + std::to_string(n) + " nodes" +
                    (l < p.num_levels() ? ", coloured by next-level supernode" : "") +
                    (any_dropped ? ", white: dropped" : "") + "); labels: input node ids");
      if (!prog.empty()) {
        const fs::path png = fs::path(file).replace_extension(".png");
        const std::string cmd = prog + " -Tpng \"" + file.string() + "\" -o \"" + png.string() + "\"";
        if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "coarsen: '%s' failed\n", cmd.c_str());
      }
    }
    std::printf("%-8s (%ld levels in %s)\n", "", static_cast<long>(p.num_levels()),
                examples::format_duration(seconds).c_str());
  }
  std::printf("\nwrote %s/<method>_level<l>.dot%s\n", out_dir.string().c_str(),
              prog.empty() ? (render ? " (install Graphviz to also get PNG images: sfdp -Tpng FILE.dot -o FILE.png)" : "")
                           : (" and .png (rendered with " + prog + ")").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "coarsen: %s\n", e.what());
  return 1;
}
