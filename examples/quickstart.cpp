// Quick start: build a batch of two small graphs, run one GCN layer, pool it with TopKPool
// (keep the best-scoring half of every graph), read every graph out to one row, and print the
// shapes along the way. Any other pooler of gnnpool is used the same way: swap the include and
// the `make_topk_pool` line (for example make_sag_pool, make_mincut_pool).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/pool/topk_pool.hpp>

#include <cstdio>
#include <vector>

namespace {

void print_shape(const char* what, gnnpool::Index rows, gnnpool::Index cols) {
  std::printf("  %-26s %ld x %ld\n", what, static_cast<long>(rows), static_cast<long>(cols));
}

/// A cycle of n nodes with features x_i = (i, 1, -i).
gnnpool::Batch<double> cycle(gnnpool::Index n) {
  gnnpool::Matrix<double> x(n, 3);
  gnnpool::EdgeList edges;
  for (gnnpool::Index i = 0; i < n; ++i) {
    x.row(i) << double(i), 1.0, -double(i);
    edges.emplace_back(i, (i + 1) % n);
  }
  return gnnpool::make_graph<double>(x, edges);  // symmetrised, weight 1
}

}  // namespace

int main() {
  using gnnpool::Index;

  // A batch is the disjoint union of its graphs: here a 6-cycle and a 4-cycle (10 nodes).
  const std::vector<gnnpool::Batch<double>> graphs{cycle(6), cycle(4)};
  const gnnpool::Batch<double> batch = gnnpool::concatenate<double>(graphs);

  // Layers register their parameters (PyG names) in one ParameterSet.
  gnnpool::ParameterSet<double> params;
  gnnpool::GCNConv<double> conv(params, "conv", 3, 8);
  const auto pool = gnnpool::make_topk_pool<double>(params, "pool", 8);  // ratio 0.5
  params.initialize(42);

  // h = relu(GCN(x)): one message-passing step.
  gnnpool::Batch<double> hidden = batch;
  gnnpool::GCNConv<double>::Cache conv_cache;
  conv.forward(params, batch.adj, batch.x, hidden.x, conv_cache);
  hidden.x = hidden.x.cwiseMax(0.0);

  // Pool: select the top half of each graph by score, gather their features, keep their edges.
  gnnpool::TopKPool<double>::Output pooled;
  gnnpool::TopKPool<double>::Cache pool_cache;
  pool.forward(params, hidden, pooled, pool_cache);

  // Global sum readout: one row per graph.
  gnnpool::Matrix<double> readout(pooled.batch.num_graphs(), pooled.batch.num_features());
  for (Index b = 0; b < pooled.batch.num_graphs(); ++b)
    readout.row(b) = pooled.batch.x.middleRows(pooled.batch.graph_begin(b), pooled.batch.graph_size(b)).colwise().sum();

  std::printf("gnnpool quick start: %ld graphs, %ld parameters\n", static_cast<long>(batch.num_graphs()),
              static_cast<long>(params.num_scalars()));
  print_shape("input x", batch.x.rows(), batch.x.cols());
  print_shape("input adjacency", batch.adj.rows(), batch.adj.cols());
  print_shape("GCN output", hidden.x.rows(), hidden.x.cols());
  print_shape("TopKPool output x", pooled.batch.x.rows(), pooled.batch.x.cols());
  print_shape("TopKPool output adjacency", pooled.batch.adj.rows(), pooled.batch.adj.cols());
  print_shape("readout", readout.rows(), readout.cols());
  std::printf("  kept nodes:");
  for (Index r : pooled.selection.representative) std::printf(" %ld", static_cast<long>(r));
  std::printf("\n  nodes per pooled graph:");
  for (Index b = 0; b < pooled.batch.num_graphs(); ++b) std::printf(" %ld", static_cast<long>(pooled.batch.graph_size(b)));
  std::printf("\n");
  return 0;
}
