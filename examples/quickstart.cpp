// Quick start: build a small graph, run a layer on it, pool it, and print the shapes.
//
// Until the named poolers land, the "pooler" here is a Linear layer followed by a global sum
// readout written by hand. To switch to TopKPool once it exists, replace the include of
// nn/linear.hpp with pool/topk_pool.hpp and the block marked POOLER below with its forward call.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/nn/linear.hpp>

#include <cstdio>

namespace {

void print_shape(const char* what, gnnpool::Index rows, gnnpool::Index cols) {
  std::printf("  %-22s %ld x %ld\n", what, static_cast<long>(rows), static_cast<long>(cols));
}

}  // namespace

int main() {
  using Scalar = double;
  using gnnpool::Index;

  // Two 4-cycles joined by one edge: 8 nodes, 3 features each (x_i = (i, 1, -i)).
  gnnpool::Matrix<Scalar> x(8, 3);
  for (Index i = 0; i < x.rows(); ++i) x.row(i) << Scalar(i), Scalar(1), -Scalar(i);
  const gnnpool::EdgeList edges{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {4, 5}, {5, 6}, {6, 7}, {7, 4}, {3, 4}};
  gnnpool::Batch<Scalar> graph = gnnpool::make_graph<Scalar>(x, edges);  // symmetric, weight 1

  // Every layer registers its tensors (PyG names) in one ParameterSet, seeded for repeatability.
  gnnpool::ParameterSet<Scalar> params;
  gnnpool::Linear<Scalar> lin(params, "lin", 3, 4);
  params.initialize(42);

  // One message-passing step: H = relu(A X W^T + b).
  gnnpool::Matrix<Scalar> ax = graph.adj * graph.x;
  gnnpool::Matrix<Scalar> h;
  lin.forward(params, ax, h);
  h = h.cwiseMax(Scalar(0));

  // POOLER: a global sum readout, one row per graph of the batch.
  gnnpool::Matrix<Scalar> pooled(graph.num_graphs(), h.cols());
  for (Index b = 0; b < graph.num_graphs(); ++b)
    pooled.row(b) = h.middleRows(graph.graph_begin(b), graph.graph_size(b)).colwise().sum();

  std::printf("gnnpool quick start\n");
  print_shape("input x", graph.x.rows(), graph.x.cols());
  print_shape("input adjacency", graph.adj.rows(), graph.adj.cols());
  std::printf("  %-22s %ld (both directions of %zu edges)\n", "stored edges",
              static_cast<long>(graph.num_edges()), edges.size());
  print_shape("hidden h", h.rows(), h.cols());
  print_shape("pooled (sum readout)", pooled.rows(), pooled.cols());
  std::printf("  pooled row 0:");
  for (Index c = 0; c < pooled.cols(); ++c) std::printf(" %.4f", pooled(0, c));
  std::printf("\n");
  return 0;
}
