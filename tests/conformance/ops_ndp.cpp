// Conformance ops of Node Decimation Pooling: ndp_l1 and ndp_l2 (the SRC paper's reference code,
// cross-checked with torch-geometric-pool; tests/data/conformance/ndp/README.md). Every setting
// comes from the case's hyper; where a level's cut check fell back to a random split, the
// partition the reference drew (outputs.debug_partition_l<k>) is handed to NDPSelect.

#include "conformance/conformance.hpp"

#include <gnnpool/pool/ndp_pool.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace gnnpool::conformance {
namespace {

NDPSparsify parse_sparsify(const std::string& mode) {
  if (mode.rfind("every level", 0) == 0) return NDPSparsify::every_level;
  if (mode.find("once") != std::string::npos || mode.find("end") != std::string::npos) return NDPSparsify::at_end;
  throw std::runtime_error("unknown NDP sparsify mode '" + mode + "'");
}

/// (source, target, weight) of every stored edge, sorted: edge sets compared independently of
/// the storage order.
using WeightedEdges = std::vector<std::tuple<Index, Index, double>>;

WeightedEdges edges_of(const SparseMatrix<double>& adj) {
  WeightedEdges e;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (SparseMatrix<double>::InnerIterator it(adj, i); it; ++it) e.emplace_back(it.col(), i, it.value());
  std::sort(e.begin(), e.end());
  return e;
}

WeightedEdges edges_of(const Tensor& edge_index, const Tensor& edge_weight) {
  const IndexVector ei = edge_index.indices();
  const std::size_t m = ei.size() / 2;
  WeightedEdges e;
  for (std::size_t k = 0; k < m; ++k) e.emplace_back(ei[k], ei[m + k], edge_weight.data.at(k));
  std::sort(e.begin(), e.end());
  return e;
}

void compare_edges(const std::string& suffix, const Case& c, const SparseMatrix<double>& adj, Comparison& cmp) {
  if (!c.outputs.count("edge_index" + suffix)) return;
  const WeightedEdges actual = edges_of(adj);
  const WeightedEdges expected = edges_of(c.output("edge_index" + suffix), c.output("edge_weight" + suffix));
  IndexVector ai, ei;
  std::vector<double> aw;
  Tensor ew;
  for (const auto& [s, t, w] : actual) {
    ai.insert(ai.end(), {s, t});
    aw.push_back(w);
  }
  for (const auto& [s, t, w] : expected) {
    ei.insert(ei.end(), {s, t});
    ew.data.push_back(w);
  }
  cmp.indices("edge_index" + suffix + " (sorted)", ai, ei);
  if (ai == ei) cmp.values("edge_weight" + suffix, aw, ew);
  if (c.outputs.count("adj" + suffix)) cmp.matrix("adj" + suffix, Matrix<double>(adj), c.output("adj" + suffix));
}

IndexVector partition_of(const std::vector<signed char>& z) { return IndexVector(z.begin(), z.end()); }

void ndp(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  const auto levels = static_cast<Index>(c.hyper_number("levels", 1));
  if (levels < 1) throw std::runtime_error("hyper.levels must be >= 1");
  std::vector<NDPPoolOptions> options(static_cast<std::size_t>(levels));
  for (Index l = 1; l <= levels; ++l) {
    const std::string k = "_l" + std::to_string(l);
    NDPPoolOptions& o = options[static_cast<std::size_t>(l - 1)];
    o.select.cut_threshold = c.hyper_number("cut_threshold", 0.5);
    o.select.zero_tolerance = c.hyper_number("eig_zero_tol", 1e-10);
    o.connect.threshold = c.hyper_number("sparse_threshold", 1e-2);
    // SRC draws its random split with np.random.choice after np.random.seed(fallback_seed).
    o.select.random_split = NDPRandomSplit::numpy;
    o.select.seed = static_cast<std::uint64_t>(c.hyper_number("fallback_seed" + k, 0));
    const bool fell_back = c.outputs.count("debug_random_cut" + k) && c.output("debug_random_cut" + k).scalar() != 0;
    if (fell_back && c.outputs.count("debug_partition" + k))
      for (Index v : c.output("debug_partition" + k).indices()) o.select.fallback_partition.push_back(static_cast<int>(v));
  }
  const NDPMultiLevelPool<double> pool(options, parse_sparsify(c.hyper_string("sparsify", "every level")));
  NDPMultiLevelPool<double>::Output out;
  NDPMultiLevelPool<double>::Cache cache;
  pool.forward(in, out, cache);

  for (Index l = 1; l <= levels; ++l) {
    const std::string k = "_l" + std::to_string(l);
    const auto& level = out[static_cast<std::size_t>(l - 1)];
    const auto& sc = cache[static_cast<std::size_t>(l - 1)].select;
    const Batch<double>& level_in = l == 1 ? in : out[static_cast<std::size_t>(l - 2)].batch;
    if (c.outputs.count("node_index" + k))
      cmp.indices("node_index" + k, level.selection.representative, c.output("node_index" + k).indices());
    compare_edges(k, c, level.batch.adj, cmp);
    if (level.batch.num_graphs() == 1) {  // the debug outputs describe one graph
      const NDPGraphInfo& info = sc.graphs.front();
      if (c.outputs.count("debug_eigvec" + k)) cmp.values("debug_eigvec" + k, sc.eigenvector, c.output("debug_eigvec" + k));
      if (c.outputs.count("debug_eigval" + k)) cmp.scalar("debug_eigval" + k, info.eigenvalue, c.output("debug_eigval" + k).scalar());
      if (c.outputs.count("debug_cut" + k)) cmp.scalar("debug_cut" + k, info.cut, c.output("debug_cut" + k).scalar());
      if (c.outputs.count("debug_random_cut" + k))
        cmp.indices("debug_random_cut" + k, {info.random_split ? 1 : 0}, c.output("debug_random_cut" + k).indices());
    }
    if (c.outputs.count("debug_partition" + k))
      cmp.indices("debug_partition" + k, partition_of(sc.partition), c.output("debug_partition" + k).indices());
    if (c.outputs.count("debug_kron_L" + k)) {
      KronOptions unsparsified = pool.level(l - 1).connect().options();
      const SparseMatrix<double> reduced = kron_reduction(level_in, level.selection, unsparsified);
      cmp.matrix("debug_kron_L" + k, Matrix<double>(reduced), c.output("debug_kron_L" + k));
    }
  }

  const Batch<double>& pooled = out.back().batch;
  cmp.indices("node_index", pool.kept_nodes(out), c.output("node_index").indices());
  cmp.matrix("x", pooled.x, c.output("x"));
  cmp.indices("batch", pooled.graph_index(), c.output("batch").indices());
  compare_edges("", c, pooled.adj, cmp);

  const Matrix<double> lw = c.loss_weights.count("x") ? c.loss_weights.at("x").matrix() : Matrix<double>();
  if (lw.rows() != pooled.x.rows() || lw.cols() != pooled.x.cols()) {
    cmp.fail("loss_weights.x does not match the pooled x; backward skipped");
    return;
  }
  cmp.scalar("loss", (lw.array() * pooled.x.array()).sum(), c.loss);
  Matrix<double> dx;
  pool.backward(in, out, cache, lw, dx);
  cmp.matrix("grad x", dx, c.grad("x"));
}

static Register r({"ndp_l1", "ndp_l2"}, ndp);

}  // namespace
}  // namespace gnnpool::conformance
